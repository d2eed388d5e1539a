//! SQL models: the sqllogictest files in tests/sql/ (functions and models on hand-made rows),
//! and the real binary building the shipped models into `marts/`, refreshing only what changed
//! and refusing broken models while leaving earlier marts as they were.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lantern::project::Project;

// ---------------------------------------------------------------------------------------------
// sqllogictest: the .slt files themselves run in the driver, tests/sqllogictests.rs (`cargo test
// --test sqllogictests`), on the adapter in tests/slt/. Here: the adapter and the driver's record
// loop catch what they must, so passing files prove something.

mod slt;

/// A wrong expected value fails, and every failing record of a file is reported with its line,
/// not just the first.
#[test]
fn sqllogictest_catches_a_wrong_value_and_reports_every_failing_record() {
    let wrong = "query I\nSELECT working_days(DATE '2024-03-28', DATE '2024-04-02')\n----\n3\n\n\
                 query I\nSELECT 1 + 1\n----\n2\n\n\
                 query T\nSELECT add_working_days(DATE '2024-12-02', 45)\n----\n2025-02-03\n";
    let (records, failures) = slt::run_script("wrong.slt", wrong);
    assert_eq!(records, 3);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].contains("wrong.slt:1") && failures[0].contains('3') && failures[0].contains('1'), "{}", failures[0]);
    assert!(failures[1].contains("wrong.slt:11") && failures[1].contains("2025-02-06"), "{}", failures[1]);
    let right = "query I\nSELECT working_days(DATE '2024-03-28', DATE '2024-04-02')\n----\n1\n";
    assert_eq!(slt::run_script("right.slt", right), (1, vec![]));
    // a column type that does not match fails too (I for a text column)
    let (_, failures) = slt::run_script("types.slt", "query I\nSELECT 'a'\n----\na\n");
    assert_eq!(failures.len(), 1, "{failures:#?}");
}

/// `--complete` rewrites a wrong expected result with the session's and keeps the comments.
#[test]
fn complete_rewrites_expected_results_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("case.slt");
    std::fs::write(&f, "# Good Friday and Easter Monday\nquery I\nSELECT working_days(DATE '2024-03-28', DATE '2024-04-02')\n----\n3\n\nstatement ok\nCREATE TABLE t AS VALUES (1)\n").unwrap();
    assert_eq!(slt::run_file(&f).1.len(), 1);
    slt::complete_file(&f).unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.starts_with("# Good Friday and Easter Monday\nquery I\n"), "{text}");
    assert!(text.contains("----\n1\n"), "{text}");
    assert_eq!(slt::run_file(&f), (2, vec![]));
}

// ---------------------------------------------------------------------------------------------
// The binary: `lantern run` builds models after its commit; `lantern models` lists them.

fn run_reference(warehouse: &Path, landing: &Path, project: Option<&Path>) -> std::process::Output {
    std::fs::create_dir_all(landing).unwrap();
    let mut args = vec!["run", "reference", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2024-03-31"];
    if let Some(p) = project {
        args.extend(["--project", p.to_str().unwrap()]);
    }
    lantern(&args)
}

fn ok_run(warehouse: &Path, landing: &Path, project: Option<&Path>) -> String {
    let out = run_reference(warehouse, landing, project);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "lantern run failed\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Models in the last run record: name → (status, rows).
fn last_models(warehouse: &Path) -> BTreeMap<String, (String, u64)> {
    let rec = run_records(warehouse).pop().unwrap();
    rec["models"].as_array().unwrap().iter().map(|m| (m["model"].as_str().unwrap().to_string(), (m["status"].as_str().unwrap().to_string(), m["rows"].as_u64().unwrap()))).collect()
}

/// Every file under marts/ with its bytes.
fn marts_snapshot(warehouse: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    // the models' output: marts/ and the published zone
    let files = [all_files(&warehouse.join("marts")), all_files(&warehouse.join("published"))].concat();
    files.into_iter().map(|p| (p.strip_prefix(warehouse).unwrap().to_path_buf(), std::fs::read(&p).unwrap())).collect()
}

/// Councils in the shipped list whose code is in use (no valid_to), counted from the CSV.
fn current_councils() -> usize {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/reference/data/local_authorities.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let valid_to = header.iter().position(|h| *h == "valid_to").unwrap();
    let mut codes = std::collections::BTreeSet::new();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        // names hold commas inside quotes ("Bristol, City of"): count fields from the right
        let f: Vec<&str> = l.split(',').collect();
        let from_right = header.len() - valid_to;
        if f[f.len() - from_right].is_empty() {
            codes.insert(f[0].to_string());
        }
    }
    codes.len()
}

/// How many models the project ships (sql/<area>/<model>.sql).
fn shipped_models() -> usize {
    all_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sql")).iter().filter(|p| p.extension().is_some_and(|e| e == "sql")).count()
}

#[test]
fn run_builds_the_shipped_models_into_bi_safe_marts_and_refreshes_only_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (warehouse, landing) = (tmp.path().join("warehouse"), tmp.path().join("landing"));
    let out = ok_run(&warehouse, &landing, None);
    let shipped = shipped_models();
    assert!(out.contains(&format!("models: {shipped} built")), "{out}");

    let councils = current_councils();
    assert!((140..=160).contains(&councils), "{councils} councils");
    let n = sql_json(&warehouse, "select count(*) as n, count(distinct la_code) as codes from marts.reference.councils");
    assert_eq!((n[0]["n"].as_u64(), n[0]["codes"].as_u64()), (Some(councils as u64), Some(councils as u64)));
    let dorset = sql_json(&warehouse, "select name, region from marts.reference.councils where la_code = '838'");
    assert_eq!((dorset[0]["name"].as_str(), dorset[0]["region"].as_str()), (Some("Dorset"), Some("South West")));
    assert!(sql_json(&warehouse, "select * from marts.reference.councils where la_code = '835'").is_empty(), "a retired code is listed");
    let regions = sql_json(&warehouse, "select count(*) as n, sum(councils) as total from marts.reference.regions");
    assert_eq!((regions[0]["n"].as_u64(), regions[0]["total"].as_u64()), (Some(9), Some(councils as u64)));
    // March 2024: 21 weekdays less Good Friday; December 2024: 22 weekdays less Christmas and Boxing Day
    let m = sql_json(&warehouse, "select month, working_days, bank_holidays, financial_year, collection_year from marts.reference.months where month in ('2024-03', '2024-12') order by month");
    assert_eq!(m.len(), 2);
    assert_eq!((m[0]["working_days"].as_i64(), m[0]["bank_holidays"].as_i64(), m[0]["financial_year"].as_str(), m[0]["collection_year"].as_i64()), (Some(20), Some(1), Some("2023-24"), Some(2024)));
    assert_eq!((m[1]["working_days"].as_i64(), m[1]["bank_holidays"].as_i64()), (Some(20), Some(2)));
    assert_eq!(sql_json(&warehouse, "select count(*) as n from marts.reference.months")[0]["n"].as_u64(), Some(192));

    // the Parquet profile Power BI reads, checked by pyarrow
    let script = r#"
import sys, pyarrow.parquet as pq, pyarrow as pa, glob
for f in sorted(glob.glob(sys.argv[1] + '/marts/**/*.parquet', recursive=True)):
    s = pq.read_schema(f)
    md = pq.ParquetFile(f).metadata
    assert md.format_version == '1.0', (f, md.format_version)
    assert s.metadata is None or b'ARROW:schema' not in s.metadata, f
    for fld in s:
        t = fld.type
        assert not (pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_nested(t)), (f, fld)
        if pa.types.is_timestamp(t):
            assert t.unit == 'us' and t.tz == 'UTC', (f, fld)
    print(f.split('/marts/')[1], ','.join(f'{x.name}:{x.type}' for x in s))
"#;
    let out = python(&["-c", script, warehouse.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("reference/months/part-00000.parquet month:string,month_start:date32[day],month_end:date32[day],financial_year:string,collection_year:int32,working_days:int32,bank_holidays:int64"), "{text}");
    assert!(text.contains("reference/regions/part-00000.parquet region:string,region_code:string,councils:int64"), "{text}");

    let built = last_models(&warehouse);
    assert_eq!(built["marts.reference.councils"], ("built".to_string(), councils as u64));
    assert_eq!(built["marts.reference.months"], ("built".to_string(), 192));

    // the same landing again: the reference tables are rewritten with the same rows, so nothing
    // is rebuilt and the marts are the same files
    let before = marts_snapshot(&warehouse);
    let out = ok_run(&warehouse, &landing, None);
    assert!(out.contains(&format!("models: 0 built, {shipped} up to date")), "{out}");
    assert!(last_models(&warehouse).values().all(|(s, _)| s == "up to date"));
    assert_eq!(marts_snapshot(&warehouse), before);

    // a council's edited reference list: councils and regions are rebuilt, months is not
    let project = tmp.path().join("project");
    ok(&["init", project.to_str().unwrap()]);
    let csv = project.join("schemas/reference/data/local_authorities.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("838,")).collect();
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    ok_run(&warehouse, &landing, Some(&project));
    let after = last_models(&warehouse);
    assert_eq!(after["marts.reference.councils"], ("built".to_string(), councils as u64 - 1));
    assert_eq!(after["marts.reference.regions"].0, "built");
    assert_eq!(after["marts.reference.months"].0, "up to date");
    let sw = sql_json(&warehouse, "select councils from marts.reference.regions where region = 'South West'");
    let sw_before = sql_json(&warehouse, "select count(*) as n from marts.reference.councils where region = 'South West'");
    assert_eq!(sw[0]["councils"].as_i64(), sw_before[0]["n"].as_i64());

    // the functions are in `lantern sql` too
    let f = sql_json(&warehouse, "select working_days(date '2024-12-02', date '2025-02-06') as wd, add_working_days(date '2024-03-18', 15) as due, age_on(date '2008-02-29', date '2026-02-28') as age, census_term(date '2025-01-16') as term");
    assert_eq!((f[0]["wd"].as_i64(), f[0]["due"].as_str(), f[0]["age"].as_i64(), f[0]["term"].as_str()), (Some(45), Some("2024-04-10"), Some(17), Some("2025-spring")));

    // the function the demo calls: everything rebuilt when asked, with the same rows
    let project_def = Project::load(Some(&project)).unwrap();
    let wh = lantern::warehouse::Warehouse::open(warehouse.to_str().unwrap()).unwrap();
    let report = lantern::model::build_all(&project_def, &wh, &lantern::model::BuildOptions { full: true, ..Default::default() }).unwrap();
    assert_eq!(report.models.len(), shipped);
    assert!(report.models.iter().all(|m| m.reason == "rebuild asked for"));
    let got: Vec<(&str, &str, u64)> =
        report.models.iter().filter(|m| m.model.starts_with("marts.reference.")).map(|m| (m.model.as_str(), m.reason.as_str(), m.rows)).collect();
    assert_eq!(
        got,
        [("marts.reference.councils", "rebuild asked for", councils as u64 - 1), ("marts.reference.months", "rebuild asked for", 192), ("marts.reference.regions", "rebuild asked for", 9)]
    );

    // `lantern models` lists them with their inputs and last build
    let list = ok(&["models", "--warehouse", warehouse.to_str().unwrap(), "--project", project.to_str().unwrap()]);
    assert!(list.contains("marts.reference.regions  [reference]  sql/reference/regions.sql"), "{list}");
    assert!(list.contains("inputs: marts.reference.councils"), "{list}");
    assert!(list.contains("inputs: clean.reference.bank_holidays\n"), "{list}");
    assert!(list.contains(&format!("{} rows", councils - 1)), "{list}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["models", "--json", "--warehouse", warehouse.to_str().unwrap()])).unwrap();
    let councils_info = json.as_array().unwrap().iter().find(|m| m["model"] == "marts.reference.councils").unwrap();
    assert_eq!(councils_info["grain"], "one row per council (DfE LA code) with children's services responsibilities today");
    assert_eq!(councils_info["inputs"], serde_json::json!(["clean.reference.local_authorities"]));
}

/// A project copy with one more model file.
fn project_with(tmp: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let project = tmp.join(name);
    ok(&["init", project.to_str().unwrap()]);
    for (rel, sql) in files {
        let p = project.join("sql").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, sql).unwrap();
    }
    project
}

const HEAD: &str = "-- name: {name}\n-- grain: one row per council\n-- description: a model for a test\n";

fn model(name: &str, body: &str) -> String {
    HEAD.replace("{name}", name) + body
}

#[test]
fn a_broken_model_fails_the_run_naming_file_and_line_and_leaves_the_marts_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let (warehouse, landing) = (tmp.path().join("warehouse"), tmp.path().join("landing"));
    ok_run(&warehouse, &landing, None);
    let before = marts_snapshot(&warehouse);
    assert_eq!(before.len(), shipped_models());

    // each project also changes councils.sql, so that it would be rebuilt before the failure
    let changed_councils = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/reference/councils.sql")).unwrap().replace("WHERE valid_to IS NULL", "WHERE valid_to IS NULL AND la_code <> '838'");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "typo",
            model("marts.checks.typo", "SELECT la_code\nFROM clean.reference.local_authoritys\n"),
            vec!["sql/checks/typo.sql:5: marts.checks.typo reads clean.reference.local_authoritys, which is neither a table", "did you mean clean.reference.local_authorities?"],
        ),
        (
            "cycle",
            model("marts.checks.cycle", "SELECT la_code\nFROM marts.checks.cycle_too\n"),
            vec!["models read each other in a cycle: marts.checks.cycle (sql/checks/cycle.sql:5 reads marts.checks.cycle_too) → marts.checks.cycle_too (sql/checks/cycle_too.sql:5 reads marts.checks.cycle) → marts.checks.cycle"],
        ),
        (
            "type",
            model("marts.checks.type", "SELECT la_code,\n       name * 2 AS doubled\nFROM marts.reference.councils\n"),
            vec!["sql/checks/type.sql:5: marts.checks.type does not plan", "Utf8 * Int64"],
        ),
        (
            "function",
            model("marts.checks.function", "SELECT la_code,\n       upper(name, 3) AS shouting\nFROM marts.reference.councils\n"),
            vec!["sql/checks/function.sql:5: marts.checks.function does not plan", "upper"],
        ),
        (
            "unnamed",
            model("marts.checks.unnamed", "SELECT la_code, upper(name)\nFROM marts.reference.councils\n"),
            vec!["sql/checks/unnamed.sql: marts.checks.unnamed: output column `upper(marts.reference.councils.name)` needs a name: add `AS some_name`"],
        ),
        (
            "column",
            model("marts.checks.column", "SELECT la_code,\n       region_nam\nFROM marts.reference.councils\n"),
            vec!["sql/checks/column.sql:5: marts.checks.column does not plan", "region_nam"],
        ),
        (
            "runtime",
            model("marts.checks.runtime", "SELECT la_code, CAST(name AS INT) AS n\nFROM marts.reference.councils\n"),
            vec!["sql/checks/runtime.sql: marts.checks.runtime failed while running", "Cannot cast string"],
        ),
    ];
    for (case, sql, expect) in cases {
        let mut files = vec![(format!("checks/{case}.sql"), sql), ("reference/councils.sql".to_string(), changed_councils.clone())];
        if case == "cycle" {
            files.push(("checks/cycle_too.sql".into(), model("marts.checks.cycle_too", "SELECT la_code\nFROM marts.checks.cycle\n")));
        }
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let project = project_with(tmp.path(), case, &refs);
        let out = run_reference(&warehouse, &landing, Some(&project));
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
        for e in expect {
            assert!(stderr.contains(e), "{case}: expected `{e}` in:\n{stderr}");
        }
        assert_eq!(marts_snapshot(&warehouse), before, "{case}: the marts changed");
        let staging = warehouse.join("_staging");
        assert!(!staging.exists() || staging.read_dir().unwrap().next().is_none(), "{case}: staging left behind");
        let rec = run_records(&warehouse).pop().unwrap();
        assert!(rec["outcome"].as_str().unwrap().starts_with("failed"), "{case}: {}", rec["outcome"]);
        assert!(rec["error"].as_str().unwrap().contains("sql/checks/"), "{case}: {}", rec["error"]);
    }
    // and the Dorset row is still in the mart the failed runs would have rebuilt
    assert_eq!(sql_json(&warehouse, "select count(*) as n from marts.reference.councils where la_code = '838'")[0]["n"].as_u64(), Some(1));
}
