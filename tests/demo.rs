//! `lantern demo`, the README's first command: a synthetic council through every pipeline and
//! model, a summary whose figures are read back from the warehouse and agree with what the
//! generator simulated, and a folder it may clear only if it made it.

mod common;
use common::*;

/// The number at the end of the summary line that starts with `label`.
fn figure(stdout: &str, label: &str) -> f64 {
    let line = stdout.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no line {label:?} in\n{stdout}"));
    line.split_whitespace().last().unwrap().parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn near(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(want > 0.0, "{what}: the generator simulated none");
    assert!((got - want).abs() <= tolerance * want, "{what}: {got} read back, {want} simulated");
}

#[test]
fn the_demo_loads_a_council_and_says_where_to_look() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let stdout = ok(&["demo", "--dir", dir.to_str().unwrap(), "--scale", "0.05", "--seed", "5"]);

    // every source landed, nothing unreadable
    for source in ["mosaic", "synergy", "census", "finance", "reference"] {
        let line = stdout.lines().find(|l| l.starts_with(source)).unwrap_or_else(|| panic!("no {source} line in\n{stdout}"));
        let n: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
        assert!(n[0] > 0 && n[1] > 0, "{line}");
        assert_eq!(n[1], n[2] + n[3], "rows read = clean + quarantined: {line}");
    }
    let rec = &run_records(&dir.join("warehouse"))[0];
    assert!(rec["files"].as_array().unwrap().iter().all(|f| f["status"] == "received"), "{}", rec["files"]);

    // headline figures read back from the warehouse agree with the simulation (a few rows carry
    // injected defects and are quarantined, hence the tolerance)
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let years = manifest["councils"][0]["years"].as_array().unwrap();
    let last = years.iter().find(|y| y["year"] == 2025).unwrap_or_else(|| panic!("no 2025 in {years:?}"));
    let sim = |k: &str| last[k].as_f64().unwrap_or_else(|| panic!("manifest year lacks {k}: {last}"));
    near(figure(&stdout, "children in care on 31 March 2025"), sim("cla_31_march"), 0.05, "children in care");
    near(figure(&stdout, "children on a protection plan on 31 March 2025"), sim("cpp_open_31_march"), 0.05, "protection plans");
    near(figure(&stdout, "pupils on roll, spring 2025 census"), sim("pupils_spring"), 0.02, "pupils");
    assert!(figure(&stdout, "EHC plans in the January 2025 SEN2 return") > 0.0);
    assert!(figure(&stdout, "children's services net spend 2024-25, £m") > 0.0);

    // every indicator in the catalogue has values; the monthly social care ones for every month
    // of the council's five years
    let warehouse = dir.join("warehouse");
    let missing = sql_json(&warehouse, "SELECT c.indicator_id FROM marts.indicators.indicator_catalogue c \
        LEFT JOIN (SELECT DISTINCT indicator_id FROM marts.indicators.indicator_values WHERE value IS NOT NULL) v USING (indicator_id) \
        WHERE v.indicator_id IS NULL");
    assert!(missing.is_empty(), "indicators without a value: {missing:?}");
    let ids = sql_json(&warehouse, "SELECT count(*) AS n FROM marts.indicators.indicator_catalogue");
    assert!(ids[0]["n"].as_i64().unwrap() >= 62, "{ids:?}");
    let months = sql_json(&warehouse, "SELECT indicator_id, count(DISTINCT period_end) AS months FROM marts.indicators.indicator_values \
        WHERE indicator_id IN ('referrals', 're_referrals_12m_pct', 'cin_at_period_end', 'cpp_at_period_end', 'cla_at_period_end', \
        'cla_rate_per_10k', 'assessments_within_45wd_pct', 'icpc_within_15wd_pct') GROUP BY indicator_id");
    assert_eq!(months.len(), 8, "{months:?}");
    assert!(months.iter().all(|r| r["months"] == 60), "{months:?}");

    for hint in ["lantern sql --warehouse", "read_parquet(", "Power BI", "manifest.json"] {
        assert!(stdout.contains(hint), "the summary should say {hint:?}:\n{stdout}");
    }

    // the same folder again is fine; a folder the demo did not make is refused and left alone
    ok(&["demo", "--dir", dir.to_str().unwrap(), "--scale", "0.02"]);
    assert_eq!(run_records(&dir.join("warehouse")).len(), 1, "a second demo starts a fresh warehouse");
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("budget.xlsx"), "x").unwrap();
    let out = lantern(&["demo", "--dir", mine.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not made by `lantern demo`"));
    assert!(mine.join("budget.xlsx").exists());
}

/// `benches/models.py` (docs/benchmarks.md) on a small council: every model runs in Lantern, the
/// models DuckDB runs give Lantern's rows, and no spill folder is left in the warehouse; then
/// every table opens in DataFusion, DuckDB and pyarrow.
#[test]
fn the_model_benchmark_runs_and_duckdb_gives_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    ok(&["demo", "--dir", dir.to_str().unwrap(), "--scale", "0.05", "--seed", "7"]);
    let warehouse = dir.join("warehouse");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/models.py");
    let out = python(&[script.to_str().unwrap(), "--binary", env!("CARGO_BIN_EXE_lantern"), "--warehouse", warehouse.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for model in ["marts.education.pupils", "marts.send.ehc_plans", "marts.reference.months"] {
        assert!(stdout.lines().any(|l| l.starts_with(model)), "{model} missing from\n{stdout}");
    }
    // DuckDB runs every model with the script's dialect rewrites (docs/benchmarks.md), and every
    // one gives Lantern's rows but marts.finance.budget_lines, where a few projections round a
    // half-penny double to the other penny
    assert!(!stdout.contains("DuckDB could not run"), "{stdout}");
    let differ: Vec<&str> = stdout.lines().filter(|l| l.starts_with("results differ for ") && !l.starts_with("results differ for marts.finance.budget_lines:")).collect();
    assert!(differ.is_empty(), "{stdout}");
    assert!(!warehouse.join("_tmp").exists(), "the spill folder should go with the session");

    // every clean, quarantine, mart and published table opens as the analysts' own tools
    // document it (DataFusion's CREATE EXTERNAL TABLE, DuckDB and pyarrow with Hive
    // partitioning), with the files' rows and column types: the folder keys never collide with
    // the columns inside the files
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/open_tables.py");
    let out = python_with_datafusion(&[script.to_str().unwrap(), warehouse.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let opened: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let tables = sql_json(&warehouse, "SELECT count(*) AS n FROM information_schema.tables \
        WHERE table_catalog IN ('clean', 'quarantine', 'marts', 'published') AND table_schema <> 'information_schema'");
    assert_eq!(opened["tables"], tables[0]["n"], "every table Lantern lists, opened: {stdout}");
}
