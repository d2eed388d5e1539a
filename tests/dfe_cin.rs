//! The DfE's CIN census rules in Lantern against the DfE's own tests (issue 17).
//!
//! The DfE's validator (`csc-validator-be-cin`, from PyPI at test time: its repository has no
//! licence, so none of its data is committed) ships each rule with a `test_validate` on small fake
//! tables. `../shared/tools/dfe/dfe_cases.py` runs those tests and records each call's input
//! tables and the rows the rule flagged; here every declared Lantern rule runs on the same input
//! and must flag the same rows, for every collection year's rule set.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use lantern::dfe::{self, Catalog, Return};
use serde_json::Value as J;

/// The DfE package, pinned: its rules and tests are what the cases hold. pandas 1.5 needs numpy 1.
const DFE_PACKAGES: [&str; 3] = ["csc-validator-be-cin==0.1.13", "pandas==1.5.3", "numpy<2"];

/// The DfE's rule sets and the collection year each is.
const RULESETS: [(&str, &str); 5] =
    [("cin2022_23", "2022/23"), ("cin2023_24", "2023/24"), ("cin2024_25", "2024/25"), ("cin2025_26", "2025/26"), ("cin2026_27", "2026/27")];

/// Where Lantern does what the rule says rather than what the DfE's tool does (docs/dfe.md):
/// rule → why. For these the expected rows come from the rule's raw issue lists.
const DELIBERATE: [(&str, &str); 1] = [("8540", "the DfE's tool files its rows under a misspelt column (ROW_ID_x) and never reports them")];

fn dfe_python() -> String {
    common::python_packages("dfe-cin-packages", &DFE_PACKAGES, &["cin_validator", "pandas"])
}

/// Extracts every rule's DfE test case of `ruleset` into `out` (once per test process).
fn extract(py: &str, ruleset: &str, out: &Path) -> PathBuf {
    common::dfe_cases::extract(py, "cin", ruleset, out)
}

/// A case's input tables as a `Return` in the catalog's declared columns.
fn case_return(catalog: &Catalog, tables: &serde_json::Map<String, J>) -> Return {
    let mut ret = Return { file: "case".into(), ..Default::default() };
    for (name, t) in tables {
        let decl = catalog.table(name).unwrap_or_else(|| panic!("a case reads table {name}, which rules/cin/tables.toml does not declare"));
        ret.tables.insert(name.clone(), common::dfe_cases::case_table(decl, t, str::to_string, ("true", "false")));
    }
    ret
}

/// Rows the DfE's raw issue lists hold (under any ROW_ID column): for the deliberate differences.
fn raw_rows(expected: &J) -> BTreeSet<(String, i64)> {
    let mut out = BTreeSet::new();
    for list in ["type2", "type3"] {
        for t in expected["raw"][list].as_array().into_iter().flatten() {
            let cols: Vec<&str> = t["row_df"]["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            for r in t["row_df"]["rows"].as_array().unwrap() {
                for (i, c) in cols.iter().enumerate() {
                    if c.starts_with("ROW_ID") {
                        for x in r[i].as_array().cloned().unwrap_or_else(|| vec![r[i].clone()]) {
                            out.insert((t["table"].as_str().unwrap().to_string(), x.as_i64().unwrap()));
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_declared_cin_rule_flags_the_rows_its_dfe_test_expects() {
    let py = dfe_python();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-cases.{}", std::process::id()));
    let catalog = common::dfe_cases::checkout_catalog("cin");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut passed, mut failures, mut report) = (0, vec![], vec![]);
    for (ruleset, year) in RULESETS {
        let dir = extract(&py, ruleset, &out);
        let declared = catalog.ruleset(year).unwrap_or_else(|| panic!("no Lantern rule set for {year}"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.ends_with("_summary.json")).collect();
        files.sort();
        let mut dfe_codes = BTreeSet::new();
        let mut missing = vec![];
        for f in &files {
            let case: J = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            let code = case["rule_code"].as_str().unwrap().to_string();
            dfe_codes.insert(code.clone());
            let Some(&rule) = declared.iter().find(|r| r.code == code) else {
                missing.push(code);
                continue;
            };
            assert_eq!(rule.kind.as_str(), case["rule_type"].as_str().unwrap(), "{year} {code}: type");
            assert_eq!(rule.message.trim(), case["message"].as_str().unwrap().trim(), "{year} {code}: the message is not the DfE's");
            let cases = case["cases"].as_array().unwrap();
            assert!(!cases.is_empty(), "{year} {code}: the DfE's test made no call to capture");
            for (n, c) in cases.iter().enumerate() {
                let ret = case_return(&catalog, c["input"]["tables"].as_object().unwrap());
                let flags = match rt.block_on(dfe::check(&catalog, &ret, &[rule])) {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{year} {code} case {n}: {e}"));
                        continue;
                    }
                };
                let e = &c["expected"];
                let ok = if e["la_level"].as_bool() == Some(true) || rule.la_level {
                    let want = e["la_level"].as_bool() == Some(true);
                    let got = !flags.is_empty();
                    (got == want).then_some(()).ok_or(format!("LA-level: fired {got}, the DfE's {want}"))
                } else {
                    let want: BTreeSet<(String, i64)> = if DELIBERATE.iter().any(|(d, _)| *d == code) {
                        raw_rows(e)
                    } else {
                        e["flagged"].as_array().unwrap().iter().map(|x| (x[0].as_str().unwrap().to_string(), x[1].as_i64().unwrap())).collect()
                    };
                    let got: BTreeSet<(String, i64)> = flags.iter().map(|f| (f.table.clone(), f.index.unwrap_or(-1))).collect();
                    (got == want).then_some(()).ok_or(format!("flagged {got:?}, the DfE's {want:?}"))
                };
                match ok {
                    Ok(()) => passed += 1,
                    Err(m) => failures.push(format!("{year} {code} case {n}: {m}")),
                }
            }
        }
        let extra: Vec<&str> = declared.iter().map(|r| r.code.as_str()).filter(|c| !dfe_codes.contains(*c)).collect();
        assert!(extra.is_empty(), "{year}: Lantern declares rules the DfE's {ruleset} does not have: {extra:?}");
        report.push(format!(
            "{year}: {} of the DfE's {} rules declared, {} not yet: {}",
            dfe_codes.len() - missing.len(),
            dfe_codes.len(),
            missing.len(),
            missing.join(" ")
        ));
    }
    let _ = std::fs::remove_dir_all(&out);
    println!("DfE CIN test cases passed: {passed}, failed: {}", failures.len());
    for r in &report {
        println!("{r}");
    }
    assert!(failures.is_empty(), "{} DfE test cases fail:\n{}", failures.len(), failures.join("\n"));
    assert!(passed > 0, "no DfE test case ran");
}

/// On files, where Lantern and the DfE's tool differ on purpose (docs/dfe.md): (rule, table or
/// `*`, the collection years (their end) it applies to or `*`, why). Flags of these are left out of
/// the comparison.
const DELIBERATE_ON_FILES: [(&str, &str, &str, &str); 9] = [
    ("8540", "*", "*", "the DfE's tool never reports this rule's rows"),
    ("8565", "ChildProtectionPlans", "*", "the DfE's tool checks a plan written into its code, not the return's"),
    ("8869", "*", "*", "the DfE's tool compares the list of factors with the text 21"),
    ("8945Q", "*", "*", "the DfE's tool compares the list of factors with the text 18A"),
    ("8950Q", "*", "*", "the DfE's tool compares the list of factors with the text 19A"),
    ("8870Q", "*", "*", "the DfE's tool reads the ICPC target date as dd-mm-yyyy only"),
    ("*", "Reviews", "*", "the DfE's tool keeps one review date per <Reviews> block, at its line; Lantern every date, at its own line"),
    ("8565", "CINdetails", "*", "an episode flagged for a plan ending after closure (the DfE's tool never sees the return's plans)"),
    ("2886Q", "", "2023 2024", "the DfE's 2022/23 version reads `isna() | GenderCurrent == 0` as `(isna() | GenderCurrent) == 0`, so never counts a missing gender"),
];

fn deliberate(rule: &str, table: &str, year: &str) -> bool {
    DELIBERATE_ON_FILES
        .iter()
        .any(|(r, t, y, _)| (*r == rule || *r == "*") && (*t == table || *t == "*") && (*y == "*" || y.split(' ').any(|y| y == year)))
}

/// (rule, table, row) of a flags CSV, by the names of its rule, table and row columns.
fn flag_set(csv_path: &Path, rule: &str, table: &str, row: &str) -> BTreeSet<(String, String, String)> {
    let mut r = csv::Reader::from_path(csv_path).unwrap_or_else(|e| panic!("{}: {e}", csv_path.display()));
    let h = r.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|x| x == n).unwrap_or_else(|| panic!("{}: no column {n} in {h:?}", csv_path.display()));
    let (ri, ti, wi) = (at(rule), at(table), at(row));
    r.records().map(|x| x.unwrap()).map(|x| (x[ri].to_string(), x[ti].to_string(), x[wi].to_string())).collect()
}

/// Lines of the `<Child>` blocks that hold a date not written `yyyy-mm-dd` (the generator's
/// injected defects: `03.10.2023`, `2021-13-05`). The DfE's tool lets pandas guess each one
/// (`03.10.2023` month first, as 10 March; `2021-13-05` as 13 May); Lantern reads `dd.mm.yyyy` and
/// `dd/mm/yyyy` day first, as English returns write them, and leaves a date that is not one blank
/// (the schema's own check refuses it, naming its row). Dates before 1678 or after 2261 are outside
/// what pandas' timestamps hold, and the DfE's tool blanks them (`1066-04-13`). Flags inside these
/// blocks may differ: the deliberate difference "dates pandas reads otherwise" (docs/dfe.md).
fn children_with_other_date_layouts(file: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(file).unwrap();
    let date = regex::Regex::new(r"<(\w*(?:Date|target))>([^<]*)</").unwrap();
    let iso = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
    let (mut out, mut start, mut bad) = (vec![], 0u64, false);
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.contains("<Child>") {
            (start, bad) = (n, false);
        }
        if let Some(c) = date.captures(line) {
            let v = c[2].trim();
            // pandas' timestamps hold 1678 to 2261 only: the DfE's tool blanks other years
            let year: i32 = v.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
            bad |= !iso.is_match(v) || !(1678..=2261).contains(&year);
        }
        if line.contains("</Child>") && bad {
            out.push((start, n));
        }
    }
    out
}

/// Rules the DfE's tool is known to stop on with an exception when an assessment's factors are
/// a list (an XML return) and the rule has something to flag: each keys pandas' `groupby` /
/// `drop_duplicates` on a column of lists ("TypeError: unhashable type: 'list'").
const DFE_CRASHES: [&str; 4] = ["8614", "8873Q", "8897Q", "8898"];

/// Rules `dfe_validate.py` records as failed on a file; each must be a known crash.
fn dfe_crashes(json: &Path) -> BTreeSet<String> {
    let j: J = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let failed: BTreeSet<String> =
        j["rules"].as_array().unwrap().iter().filter(|r| r["status"] == "failed").map(|r| r["rule_code"].as_str().unwrap().to_string()).collect();
    for r in &failed {
        assert!(DFE_CRASHES.contains(&r.as_str()), "the DfE's tool failed on rule {r}, not a known crash: {}", json.display());
    }
    failed
}

/// Runs both tools on `file` by the rule set of the collection ending in `year`; gives the
/// differences outside the deliberate ones, and how many flags each raised.
fn side_by_side(py: &str, file: &Path, year: &str, work: &Path) -> (Vec<String>, usize, usize) {
    std::fs::create_dir_all(work).unwrap();
    let script = common::fixtures().join("../tools/dfe/dfe_validate.py");
    let o = Command::new("python3")
        .arg(&script)
        .args(["--year", year, "--cin"])
        .arg(file)
        .arg("--out")
        .arg(work.join("dfe"))
        .env("PYTHONPATH", py)
        .output()
        .expect("python3 runs the DfE's validator");
    assert!(o.status.success(), "the DfE's validator on {}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    let report = work.join("lantern.csv");
    let out = common::lantern(&["validate", "--dfe", "--year", year, "--report", report.to_str().unwrap(), file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(report.exists(), "no report from lantern validate --dfe:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let dfe: BTreeSet<_> = flag_set(&work.join("dfe.csv"), "rule_code", "table", "row_number_in_file");
    let ours: BTreeSet<_> = flag_set(&report, "rule", "table", "row");
    let keep = |s: &BTreeSet<(String, String, String)>| -> BTreeSet<(String, String, String)> { s.iter().filter(|(r, t, _)| !deliberate(r, t, year)).cloned().collect() };
    let (d, l) = (keep(&dfe), keep(&ours));
    let guessed = children_with_other_date_layouts(file);
    let in_guessed = |row: &str| row.parse::<u64>().is_ok_and(|n| guessed.iter().any(|(a, b)| (*a..=*b).contains(&n)));
    // rules the DfE's tool stopped on with an exception: it reports nothing for them on this file
    let crashed = dfe_crashes(&work.join("dfe.json"));
    let compared = |(r, _, row): &&(String, String, String)| !in_guessed(row) && !crashed.contains(r);
    let mut diffs: Vec<String> = d.difference(&l).filter(compared).map(|x| format!("only the DfE's tool: {x:?}")).collect();
    diffs.extend(l.difference(&d).filter(compared).map(|x| format!("only Lantern: {x:?}")));
    if !crashed.is_empty() {
        println!("{}: the DfE's tool stopped with an exception on {crashed:?}; their flags are not compared", file.display());
    }
    (diffs, dfe.len(), ours.len())
}

/// Both tools on each file; every difference outside the deliberate ones fails.
fn compare(py: &str, files: &[(PathBuf, &str)], work: &Path) {
    let mut all = vec![];
    for (i, (file, year)) in files.iter().enumerate() {
        let (diffs, dfe, ours) = side_by_side(py, file, year, &work.join(i.to_string()));
        println!("{}: the DfE's tool {dfe} flags, Lantern {ours}; {} differences outside the deliberate ones", file.display(), diffs.len());
        all.extend(diffs.into_iter().map(|d| format!("{}: {d}", file.display())));
    }
    assert!(all.is_empty(), "{} differences:\n{}", all.len(), all.join("\n"));
}

#[test]
fn lantern_and_the_dfe_validator_flag_the_same_rows_on_files() {
    let py = dfe_python();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-side-by-side.{}", std::process::id()));
    // the shared fixture (its own year, 2021/22, has no DfE rule set: both tools take 2022/23's)
    // and three generated councils with 1 % defects
    let mut files = vec![(common::fixtures().join("cin_census/BAR_cin_2022.xml"), "2023")];
    for seed in ["5", "6", "7"] {
        let gen = work.join(format!("generated-{seed}"));
        common::ok(&[
            "generate", "--out", gen.to_str().unwrap(), "--scale", "0.03", "--seed", seed, "--years", "1", "--end-year", "2025",
            "--defect-rate", "0.01", "--social-care", "returns",
        ]);
        let generated: Vec<PathBuf> = common::all_files(&gen).into_iter().filter(|p| p.to_string_lossy().contains("CIN_Census_2025.xml")).collect();
        assert_eq!(generated.len(), 1, "one generated CIN census: {generated:?}");
        files.push((generated[0].clone(), "2025"));
    }
    compare(&py, &files, &work);
    let _ = std::fs::remove_dir_all(&work);
}

/// The DfE repository's own `fake_data/*.xml`. They are not in its PyPI package and the repository
/// has no licence (so they cannot be committed), and CI's network reaches package registries only:
/// run with `LANTERN_DFE_FAKE_DATA=<checkout>/fake_data cargo test --test dfe_cin -- --ignored`.
#[test]
#[ignore = "needs the DfE repository's fake_data folder: set LANTERN_DFE_FAKE_DATA"]
fn on_the_dfe_validators_own_fake_data() {
    let dir = PathBuf::from(std::env::var("LANTERN_DFE_FAKE_DATA").expect("LANTERN_DFE_FAKE_DATA names the DfE repository's fake_data folder"));
    let py = dfe_python();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-fake-data.{}", std::process::id()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "xml")).collect();
    files.sort();
    assert!(!files.is_empty(), "no XML in {}", dir.display());
    // each by the rule set the DfE's own test run uses for it: 2022/23 (their <Year> is 2023 or older)
    let files: Vec<(PathBuf, &str)> = files.into_iter().map(|f| (f, "2023")).collect();
    compare(&py, &files, &work);
    let _ = std::fs::remove_dir_all(&work);
}

/// The `<Child>` block (first and last line) holding each line of a CIN census file.
fn child_blocks(file: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(file).unwrap();
    let (mut out, mut start) = (vec![], 0u64);
    for (i, line) in text.lines().enumerate() {
        if line.contains("<Child>") {
            start = i as u64 + 1;
        }
        if line.contains("</Child>") {
            out.push((start, i as u64 + 1));
        }
    }
    out
}

/// The DfE's flags on `file` by its rule set of `year`, as (rule, row).
fn dfe_flags(py: &str, file: &Path, year: &str, out: &Path) -> Vec<(String, String)> {
    let o = Command::new("python3")
        .arg(common::fixtures().join("../tools/dfe/dfe_validate.py"))
        .args(["--year", year, "--cin"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .env("PYTHONPATH", py)
        .output()
        .expect("python3 runs the DfE's validator");
    assert!(o.status.success(), "the DfE's validator on {}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    flag_set(&out.with_extension("csv"), "rule_code", "table", "row_number_in_file").into_iter().map(|(r, _, row)| (r, row)).collect()
}

#[test]
fn a_generated_cin_census_raises_no_dfe_flag_but_at_its_injected_defects() {
    let py = dfe_python();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-generated.{}", std::process::id()));
    // five clean years of a council a third of Dorset's size (about 7,000 CIN census episodes a
    // year): nothing for the DfE's tool or Lantern to flag, in any year's rule set
    let clean = work.join("clean");
    common::ok(&["generate", "--out", clean.to_str().unwrap(), "--scale", "0.3", "--seed", "11", "--years", "5", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let mut files: Vec<PathBuf> = common::all_files(&clean).into_iter().filter(|p| p.to_string_lossy().contains("/cin_census/")).collect();
    files.sort();
    assert_eq!(files.len(), 5, "five CIN censuses: {files:?}");
    for (i, f) in files.iter().enumerate() {
        // the years before 2022/23 have no rule set: both tools take 2022/23's
        let year = (2021 + i as i32).max(2023).to_string();
        let dfe = dfe_flags(&py, f, &year, &work.join(format!("dfe-{i}")));
        assert!(dfe.is_empty(), "{}: the DfE's tool flags {dfe:?}", f.display());
        let report = work.join(format!("lantern-{i}.csv"));
        let out = common::lantern(&["validate", "--dfe", "--year", &year, "--report", report.to_str().unwrap(), f.to_str().unwrap()]);
        assert!(out.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&out.stdout));
        let ours = flag_set(&report, "rule", "table", "row");
        assert!(ours.is_empty(), "{}: Lantern flags {ours:?}", f.display());
    }
    // with 1 % defects: every flag of either tool lies in a child whose record the manifest says
    // was given a defect
    let messy = work.join("messy");
    common::ok(&["generate", "--out", messy.to_str().unwrap(), "--scale", "0.05", "--seed", "6", "--years", "1", "--end-year", "2025", "--defect-rate", "0.01", "--social-care", "returns"]);
    let file = common::all_files(&messy).into_iter().find(|p| p.to_string_lossy().contains("CIN_Census_2025.xml")).unwrap();
    let manifest: J = serde_json::from_slice(&std::fs::read(messy.join("manifest.json")).unwrap()).unwrap();
    let blocks = child_blocks(&file);
    let block = |row: u64| blocks.iter().copied().find(|(a, b)| (*a..=*b).contains(&row));
    let defective: BTreeSet<(u64, u64)> = manifest["defects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"].as_str().unwrap().ends_with("cin_census/CIN_Census_2025.xml"))
        .filter_map(|d| block(d["row"].as_u64().unwrap()))
        .collect();
    assert!(!defective.is_empty(), "the manifest lists no defect in the CIN census");
    let report = work.join("messy.csv");
    common::lantern(&["validate", "--dfe", "--year", "2025", "--report", report.to_str().unwrap(), file.to_str().unwrap()]);
    let ours: Vec<(String, String)> = flag_set(&report, "rule", "table", "row").into_iter().map(|(r, _, row)| (r, row)).collect();
    let dfe = dfe_flags(&py, &file, "2025", &work.join("dfe-messy"));
    assert!(!ours.is_empty() && !dfe.is_empty(), "the injected defects raise DfE flags (Lantern {}, the DfE's tool {})", ours.len(), dfe.len());
    for (tool, flags) in [("Lantern", &ours), ("the DfE's tool", &dfe)] {
        let stray: Vec<&(String, String)> =
            flags.iter().filter(|(_, row)| row.parse::<u64>().ok().and_then(block).is_none_or(|b| !defective.contains(&b))).collect();
        assert!(stray.is_empty(), "{tool} flags records with no injected defect: {stray:?}");
    }
    println!("defects in {} children; Lantern {} flags, the DfE's tool {}", defective.len(), ours.len(), dfe.len());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn lantern_run_keeps_every_dfe_flag_in_the_warehouse_pseudonymised() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-run.{}", std::process::id()));
    let gen = work.join("generated");
    common::ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.05", "--seed", "6", "--years", "1", "--end-year", "2025", "--defect-rate", "0.01", "--social-care", "returns"]);
    let file = common::all_files(&gen).into_iter().find(|p| p.to_string_lossy().contains("CIN_Census_2025.xml")).unwrap();
    // what the pre-submission check says of the same file, with the children's own ids
    let report = work.join("report.csv");
    common::lantern(&["validate", "--dfe", "--report", report.to_str().unwrap(), file.to_str().unwrap()]);
    let mut r = csv::Reader::from_path(&report).unwrap();
    let checked: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(checked.len() > 3, "the defects raise DfE flags: {}", checked.len());
    let want: BTreeSet<(String, String, String)> = checked.iter().map(|x| (x[1].to_string(), x[3].to_string(), x[5].to_string())).collect();
    let ids: BTreeSet<String> = checked.iter().map(|x| x[6].to_string()).filter(|c| !c.is_empty()).collect();

    let warehouse = work.join("warehouse");
    common::ok(&["run", "--landing", gen.join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap()]);
    let rows = common::sql_json(&warehouse, "SELECT rule, type, table_name, \"row\", child, collection_year, \"return\", run_id FROM clean.dfe.cin_flags");
    let got: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|x| (x["rule"].as_str().unwrap().to_string(), x["table_name"].as_str().unwrap().to_string(), x["row"].as_i64().map(|r| r.to_string()).unwrap_or_default()))
        .collect();
    assert_eq!(got, want, "the warehouse holds the flags the pre-submission check reports");
    assert!(rows.iter().all(|x| x["collection_year"] == "2024/25" && x["return"] == "cin"));
    // no child's own id: each is the pseudonym the census tables carry
    for x in &rows {
        let c = x["child"].as_str().unwrap_or("");
        assert!(!ids.contains(c), "a child's own id is in clean.dfe.cin_flags");
    }
    let joined = common::sql_json(
        &warehouse,
        "SELECT count(*) AS n, count(c.\"LAchildID\") AS matched FROM clean.dfe.cin_flags f \
         LEFT JOIN (SELECT DISTINCT \"LAchildID\" FROM (SELECT \"LAchildID\" FROM clean.mosaic.cin_children \
         UNION ALL SELECT \"LAchildID\" FROM quarantine.mosaic.cin_children)) c ON c.\"LAchildID\" = f.child WHERE f.child IS NOT NULL",
    );
    assert!(joined[0]["n"].as_i64().unwrap() > 0);
    // (a child whose own record was given a defect is in quarantine, pseudonymised the same way)
    assert_eq!(joined[0]["n"], joined[0]["matched"], "every flag's child is a child of the census tables");
    // the run record and `lantern runs` count them per rule
    let runs: J = serde_json::from_str(&common::ok(&["runs", "--warehouse", warehouse.to_str().unwrap(), "--json"])).unwrap();
    let f = runs[0]["files"].as_array().unwrap().iter().find(|f| f["file"].as_str().unwrap().ends_with("CIN_Census_2025.xml")).unwrap();
    let total: u64 = f["dfe"]["rules"].as_object().unwrap().values().map(|r| r["flags"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, checked.len());
    assert_eq!(f["dfe"]["errors"].as_u64().unwrap() + f["dfe"]["queries"].as_u64().unwrap(), total);
    let text = common::ok(&["runs", "--warehouse", warehouse.to_str().unwrap()]);
    assert!(text.contains("DfE cin rules 2024/25"), "{text}");
    // the flagged rows still land in clean: the census tables hold every record the file has
    let children = common::sql_json(&warehouse, "SELECT count(*) AS n FROM clean.mosaic.cin_children");
    assert!(children[0]["n"].as_i64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&work);
}
