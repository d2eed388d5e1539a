//! `lantern run` checks each SSDA903 return it lands by the DfE's rules of its year, with last
//! year's return from the warehouse's raw archive (issue 18): the flags it keeps are the flags
//! `lantern validate --dfe --previous <last year's folder>` gives on the same return.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value as J;

/// (rule, table, file name, row, child pseudonym) of a flag.
type FlagKey = (String, String, String, String, String);

fn base(file: &str) -> String {
    Path::new(file).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// `lantern validate --dfe --year Y [--previous DIR] --report` on a return folder: its flags, the
/// child's own id replaced by the pseudonym a run gives it, and the ids themselves.
fn validate_flags(dir: &Path, year: &str, previous: Option<&Path>, report: &Path) -> (BTreeSet<FlagKey>, BTreeSet<String>) {
    let mut args = vec!["validate", "--dfe", "--year", year, "--report", report.to_str().unwrap()];
    if let Some(p) = previous {
        args.extend(["--previous", p.to_str().unwrap()]);
    }
    args.push(dir.to_str().unwrap());
    let out = common::lantern(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(report.exists(), "lantern validate wrote no report: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    if previous.is_some() {
        assert!(stdout.contains("last year's return from"), "{stdout}");
    }
    let protector = lantern::privacy::Protector::new(common::KEY.as_bytes()).unwrap();
    let mut r = csv::Reader::from_path(report).unwrap();
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), ["return", "rule", "type", "table", "file", "row", "child", "message"]);
    let (mut flags, mut ids) = (BTreeSet::new(), BTreeSet::new());
    for x in r.records() {
        let x = x.unwrap();
        let child = if x[6].is_empty() { String::new() } else { protector.pseudonym("la_child_id", &x[6]) };
        if !x[6].is_empty() {
            ids.insert(x[6].to_string());
        }
        flags.insert((x[1].to_string(), x[3].to_string(), base(&x[4]), x[5].to_string(), child));
    }
    (flags, ids)
}

/// The flags `clean.dfe.ssda903_flags` holds for a year, as `validate_flags` gives them.
fn stored_flags(warehouse: &Path, year: &str) -> Vec<J> {
    common::sql_json(
        warehouse,
        &format!("SELECT rule, type, table_name, file, \"row\", child, collection_year, \"return\", la, year FROM clean.dfe.ssda903_flags WHERE year = '{year}'"),
    )
}

fn keys(rows: &[J]) -> BTreeSet<FlagKey> {
    let s = |v: &J| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string())).unwrap_or_default();
    rows.iter().map(|x| (s(&x["rule"]), s(&x["table_name"]), base(&s(&x["file"])), s(&x["row"]), s(&x["child"]))).collect()
}

fn run(landing: &Path, warehouse: &Path) -> String {
    common::ok(&["run", "mosaic", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-06-30"])
}

/// A landing folder holding the given return folders of council 838.
fn landing(dir: &Path, returns: &[&Path]) -> PathBuf {
    for r in returns {
        let to = dir.join("838").join(r.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(r).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    dir.to_path_buf()
}

/// The run record's summary of the one 903 return it checked.
fn summary(warehouse: &Path) -> J {
    let records = common::run_records(warehouse);
    let last = records.last().unwrap();
    let returns = last["dfe_returns"].as_array().unwrap_or_else(|| panic!("no dfe_returns in the run record: {last}"));
    assert_eq!(returns.len(), 1, "{returns:?}");
    returns[0].clone()
}

#[test]
fn a_903_return_is_checked_with_last_years_return_from_the_warehouse() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-run-903.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let gen = work.join("generated");
    common::ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.1", "--seed", "5", "--years", "2", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let (y24, y25) = (gen.join("landing/838/ssda903_2024"), gen.join("landing/838/ssda903_2025"));
    assert!(y24.is_dir() && y25.is_dir(), "the generator wrote the 2024 and 2025 returns");

    // year N-1 first, into an empty warehouse: no last year's return there
    let warehouse = work.join("warehouse");
    let out = run(&landing(&work.join("landing-2024"), &[&y24]), &warehouse);
    assert!(out.contains("DfE ssda903 rules 2023/24 (838/ssda903_2024)"), "{out}");
    assert!(out.contains("last year: no last year's return in the warehouse (council 838, 2023)"), "{out}");
    let s24 = summary(&warehouse);
    let not_run: BTreeSet<String> = s24["not_run"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    // the rules comparing with last year (reading a <Table>_last table) are not run, 1001 and
    // 1002 among them (they raise flags on these returns when last year's is given, below)
    assert!(not_run.contains("1001") && not_run.contains("1002") && not_run.len() >= 20, "{not_run:?}");
    let last_year_rules = s24["last_year"].as_str().unwrap().rsplit_once(": the ").unwrap().1.split(' ').next().unwrap().parse::<usize>().unwrap();
    assert!((20..=not_run.len()).contains(&last_year_rules), "{s24}");
    let (want24, _) = validate_flags(&y24, "2024", None, &work.join("validate-2024.csv"));
    let got24 = keys(&stored_flags(&warehouse, "2024"));
    assert!(got24.iter().all(|f| !not_run.contains(&f.0)), "a rule not run left flags");
    // the same flags as the pre-submission check without last year, but for the rules not run
    let want24: BTreeSet<FlagKey> = want24.into_iter().filter(|f| !not_run.contains(&f.0)).collect();
    assert_eq!(got24, want24);
    // every rule of the DfE's 2023/24 set (312, all declared) is checked or listed as not run
    assert_eq!(s24["rules_checked"].as_u64().unwrap() as usize + not_run.len(), 312, "the 2023/24 rule set: {s24}");

    // year N: last year's return is read from the warehouse's raw archive
    let out = run(&landing(&work.join("landing-2025"), &[&y25]), &warehouse);
    assert!(out.contains("last year: 2024 return from the warehouse (raw/mosaic/received="), "{out}");
    assert!(out.contains("/838/ssda903_2024)"), "{out}");
    let s25 = summary(&warehouse);
    // with last year's return, only rules needing a reference list the run does not give are not run
    let not_run25: BTreeSet<String> = s25.get("not_run").and_then(|n| n.as_array()).into_iter().flatten().map(|c| c.as_str().unwrap().to_string()).collect();
    assert!(!not_run25.contains("1001") && !not_run25.contains("1002"), "{s25}");
    assert!(not_run25.is_empty() || s25["note"].as_str().unwrap().contains(&format!("{} rules need a reference list", not_run25.len())), "{s25}");
    assert_eq!(s25["rules_checked"].as_u64().unwrap() as usize + not_run25.len(), 305, "the 2024/25 rule set: {s25}");
    assert_eq!(s25["collection_year"], "2024/25");
    assert_eq!(s25["folder"], "838/ssda903_2025");
    assert_eq!(s25["files"].as_array().unwrap().len(), std::fs::read_dir(&y25).unwrap().count());
    let (want25, ids) = validate_flags(&y25, "2025", Some(&y24), &work.join("validate-2025.csv"));
    let want25: BTreeSet<FlagKey> = want25.into_iter().filter(|f| !not_run25.contains(&f.0)).collect();
    let rows25 = stored_flags(&warehouse, "2025");
    let got25 = keys(&rows25);
    // warehouse-last-year ≡ files-last-year: the same rule, table, file, row and child, flag for flag
    assert_eq!(got25, want25, "the flags kept are those `lantern validate --previous` gives");
    assert_eq!(rows25.len(), want25.len(), "one row per flag");
    let rules25: BTreeSet<&str> = want25.iter().map(|f| f.0.as_str()).collect();
    assert!(rules25.contains("1001") || rules25.contains("1002"), "a rule comparing with last year flags this return: {rules25:?}");
    let total: u64 = s25["rules"].as_object().unwrap().values().map(|r| r["flags"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, want25.len());
    println!("2024: {} flags ({} rules not run); 2025: {} flags from rules {rules25:?}", got24.len(), not_run.len(), got25.len());
    for x in &rows25 {
        assert_eq!((&x["return"], &x["collection_year"], &x["la"], &x["year"]), (&J::from("ssda903"), &J::from("2024/25"), &J::from("838"), &J::from("2025")));
        assert!(!ids.contains(x["child"].as_str().unwrap_or("")), "a child's own id is in clean.dfe.ssda903_flags");
    }
    // each flag's child joins to the return's clean rows (the 903 tables' CHILD pseudonym)
    let joined = common::sql_json(
        &warehouse,
        "SELECT count(*) AS n, count(c.\"CHILD\") AS matched FROM clean.dfe.ssda903_flags f LEFT JOIN (SELECT DISTINCT la, year, \"CHILD\" FROM \
         (SELECT la, year, \"CHILD\" FROM clean.mosaic.ssda903_episodes UNION ALL SELECT la, year, \"CHILD\" FROM clean.mosaic.ssda903_header \
         UNION ALL SELECT la, year, \"CHILD\" FROM clean.mosaic.ssda903_sw_episodes UNION ALL SELECT la, year, \"CHILD\" FROM clean.mosaic.ssda903_oc3)) c \
         ON c.\"CHILD\" = f.child AND c.la = f.la AND c.year = f.year WHERE f.child IS NOT NULL",
    );
    assert!(joined[0]["n"].as_i64().unwrap() > 0);
    assert_eq!(joined[0]["n"], joined[0]["matched"], "every flag's child is a child of the return's clean rows");
    let text = common::ok(&["runs", "--warehouse", warehouse.to_str().unwrap()]);
    assert!(text.contains("DfE ssda903 rules 2024/25 (838/ssda903_2025)") && text.contains("last year: 2024 return from the warehouse"), "{text}");

    // 2025's episodes sent again alone: the return is checked as the warehouse then holds it (the
    // other tables as they landed before, read from the raw archive), so with the same flags
    let resend = work.join("landing-resend/838/ssda903_2025");
    std::fs::create_dir_all(&resend).unwrap();
    std::fs::copy(y25.join("episodes.csv"), resend.join("episodes.csv")).unwrap();
    let out = run(&work.join("landing-resend"), &warehouse);
    assert!(out.contains("last year: 2024 return from the warehouse (raw/mosaic/received="), "{out}");
    let s = summary(&warehouse);
    assert!(s["note"].as_str().unwrap().starts_with("tables not in this landing read from the warehouse, as it holds them: ssda903_ad1, ssda903_dolo"), "{s}");
    assert_eq!(s["files"].as_array().unwrap().len(), std::fs::read_dir(&y25).unwrap().count(), "{s}");
    assert_eq!(keys(&stored_flags(&warehouse, "2025")), want25, "a table sent again alone: the same flags");

    // both years in one landing, into a new warehouse: last year's return from the landing, and
    // the same flags
    let both = work.join("warehouse-both");
    let out = run(&landing(&work.join("landing-both"), &[&y24, &y25]), &both);
    assert!(out.contains("last year: 2024 return landed in this run (838/ssda903_2024)"), "{out}");
    assert_eq!(keys(&stored_flags(&both, "2025")), want25);
    assert_eq!(keys(&stored_flags(&both, "2024")), got24);
    let _ = std::fs::remove_dir_all(&work);
}

/// A return the DfE's reader cannot read (a column it does not know) is reported with why; its
/// rows land all the same, the run succeeds, and the flags of the version sent before go.
#[test]
fn a_903_return_that_cannot_be_checked_is_reported_and_still_lands() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-run-903-bad.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let gen = work.join("generated");
    common::ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.05", "--seed", "7", "--years", "1", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let l = landing(&work.join("landing"), &[&gen.join("landing/838/ssda903_2025")]);
    // first as sent: checked, its flags kept
    let warehouse = work.join("warehouse");
    run(&l, &warehouse);
    let flags = warehouse.join("clean/dfe/ssda903_flags/la_key=838/year_key=2025");
    assert!(flags.is_dir() && !stored_flags(&warehouse, "2025").is_empty(), "the return raises DfE flags");
    // then again with a column the DfE's reader does not know
    let header = l.join("838/ssda903_2025/header.csv");
    let text = std::fs::read_to_string(&header).unwrap();
    let lines: Vec<String> = text.lines().enumerate().map(|(i, x)| format!("{x},{}", if i == 0 { "NOTES" } else { "" })).collect();
    std::fs::write(&header, lines.join("\n") + "\n").unwrap();
    let out = run(&l, &warehouse);
    let rec = common::run_records(&warehouse).pop().unwrap();
    assert_eq!(rec["outcome"], "succeeded");
    assert!(rec.get("dfe_returns").is_none(), "{rec}");
    let warnings: Vec<&str> = rec["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    let w = warnings.iter().find(|w| w.contains("SSDA903 return 838/ssda903_2025")).unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(w.contains("could not be checked") && w.contains("header.csv: its columns match none of the ssda903 tables"), "{w}");
    assert!(out.contains("warning: SSDA903 return 838/ssda903_2025"), "{out}");
    let rows = text.lines().count() as i64 - 1;
    let n = common::sql_json(&warehouse, "SELECT count(*) AS n FROM clean.mosaic.ssda903_header");
    assert_eq!(n[0]["n"].as_i64().unwrap(), rows, "every header row lands in clean");
    // the flags of the return as sent before do not outlive it
    assert!(!flags.exists(), "the earlier version's DfE flags are still in the warehouse");
    let _ = std::fs::remove_dir_all(&work);
}

/// The same with the warehouse in an S3-compatible store (moto's server on loopback): the second
/// run, from a work folder of its own, finds last year's return through the run records and reads
/// it from the store's raw archive.
#[test]
fn last_years_return_is_read_from_a_warehouse_in_an_object_store() {
    use common::stores::{Kind, Store};
    let store = Store::start(Kind::S3);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dfe-run-903-s3.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let gen = work.join("generated");
    common::ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.05", "--seed", "8", "--years", "2", "--end-year", "2025", "--defect-rate", "0", "--social-care", "returns"]);
    let (y24, y25) = (gen.join("landing/838/ssda903_2024"), gen.join("landing/838/ssda903_2025"));
    let run = |landing: &Path, work_dir: &Path| {
        let out = store.lantern(work_dir, &["run", "mosaic", "--landing", landing.to_str().unwrap(), "--as-of", "2025-06-30"], &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "lantern run failed\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let out = run(&landing(&work.join("landing-2024"), &[&y24]), &work.join("work-1"));
    assert!(out.contains("last year: no last year's return in the warehouse (council 838, 2023)"), "{out}");
    // a second machine: nothing of the first run's in its work folder
    let out = run(&landing(&work.join("landing-2025"), &[&y25]), &work.join("work-2"));
    assert!(out.contains("last year: 2024 return from the warehouse (raw/mosaic/received="), "{out}");
    let q = "SELECT rule, type, table_name, file, \"row\", child FROM clean.dfe.ssda903_flags WHERE year = '2025'";
    let out = store.lantern(&work.join("reader"), &["sql", "-e", q, "--format", "json"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<J> = serde_json::from_slice::<J>(&out.stdout).unwrap().as_array().cloned().unwrap_or_default();
    let (want, _) = validate_flags(&y25, "2025", Some(&y24), &work.join("validate-2025.csv"));
    assert!(!want.is_empty(), "the 2025 return raises DfE flags");
    assert_eq!(keys(&rows), want, "the flags kept are those `lantern validate --previous` gives");
    println!("S3: 2025 {} flags from rules {:?}", want.len(), want.iter().map(|f| f.0.as_str()).collect::<BTreeSet<_>>());
    let _ = std::fs::remove_dir_all(&work);
}
