//! Kill a run at many points of every stage (reading files, the commit, the models, the models'
//! commit, the record) and check what readers see: no record says `succeeded` for a run that was
//! killed, a folder reader (pyarrow) only ever finds whole Parquet files, a Lantern reader can
//! always query, and a run after the kills converges to the warehouse of an uninterrupted run.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, KEY};

fn start_run(landing: &Path, warehouse: &Path) -> Child {
    common::run_command(landing, warehouse, "2025-03-31")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A landing folder: the shared MOSAIC fixtures and the section 251 outturn (every stage runs:
/// both zones, several sources, the models).
fn landing(dir: &Path) {
    let mut files = common::mosaic_fixture_files();
    files.push(fixtures().join("s251/outturn_1314.csv"));
    common::land(dir, &files);
}

/// Every table of every zone with its row count, as `lantern sql` reads them.
fn table_counts(warehouse: &Path) -> Vec<(String, u64)> {
    let tables = common::sql_json(
        warehouse,
        "select table_catalog || '.' || table_schema || '.' || table_name as t from information_schema.tables \
         where table_catalog in ('clean', 'quarantine', 'marts') order by 1",
    );
    let names: Vec<String> = tables.iter().map(|t| t["t"].as_str().unwrap().to_string()).collect();
    let sql = names.iter().map(|t| format!("select '{t}' as t, count(*) as n from {t}")).collect::<Vec<_>>().join(" union all ");
    let mut counts: Vec<(String, u64)> =
        common::sql_json(warehouse, &sql).iter().map(|r| (r["t"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap())).collect();
    counts.sort();
    counts
}

/// What a folder reader finds: every Parquet file under the zones must open whole.
fn folder_reader_check(warehouse: &Path) {
    let script = r#"
import sys, pathlib, pyarrow.parquet as pq
root = pathlib.Path(sys.argv[1])
n = 0
for zone in ("clean", "quarantine", "marts", "published"):
    for f in sorted((root / zone).rglob("*.parquet")) if (root / zone).exists() else []:
        pq.read_table(f)
        n += 1
print(n)
"#;
    let out = common::python(&["-c", script, warehouse.to_str().unwrap()]);
    assert!(out.status.success(), "a folder reader found a broken file: {}", String::from_utf8_lossy(&out.stderr));
}

fn outcomes(warehouse: &Path) -> Vec<(String, String)> {
    let dir = warehouse.join("_runs");
    if !dir.exists() {
        return vec![];
    }
    common::run_records(warehouse).iter().map(|r| (r["run_id"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string())).collect()
}

/// Waits until `what` holds (checked every millisecond), or the run ends.
fn kill_when(child: &mut Child, limit: Duration, what: impl Fn(Instant) -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if what(t0) {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

fn any_entry(dir: &Path, pred: impl Fn(&str) -> bool) -> bool {
    common::all_files(dir).iter().any(|p| pred(&p.display().to_string()))
}

#[test]
fn a_run_killed_anywhere_is_never_recorded_as_succeeded_and_a_rerun_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let land = tmp.path().join("landing");
    landing(&land);

    // the reference: the same landing, uninterrupted
    // (twice, into fresh warehouses: the kill points are spread over the faster of the two, so a
    // first run slowed by a cold cache or a busy machine does not put them past the runs' end)
    let reference = tmp.path().join("reference");
    let mut took = std::time::Duration::MAX;
    for _ in 0..2 {
        let _ = std::fs::remove_dir_all(&reference);
        let t0 = Instant::now();
        let status = start_run(&land, &reference).wait().unwrap();
        took = took.min(t0.elapsed());
        assert_eq!(status.code(), Some(0));
    }
    println!("an uninterrupted run took {:.1}s", took.as_secs_f64());
    let want = table_counts(&reference);
    assert!(want.len() > 20 && want.iter().any(|(t, n)| t.starts_with("marts.") && *n > 0), "{want:?}");

    let warehouse = tmp.path().join("w");
    let staging = warehouse.join("_staging");
    let mut killed = 0;
    // kill points at moments spread over the run (ingest, models) …
    // (a run that ends before its time point, on a machine busier or quieter than when `took` was
    // measured, is tried again with the point moved earlier: `scale`)
    let scale = std::rc::Rc::new(std::cell::Cell::new(1.0f64));
    let mut points: Vec<(String, Box<dyn Fn(Instant) -> bool>)> = (1..=13)
        .map(|k| {
            let at = took.mul_f64(k as f64 / 14.0);
            let scale = scale.clone();
            (format!("at {:.0}% of the run", 100.0 * k as f64 / 14.0), Box::new(move |start: Instant| start.elapsed() >= at.mul_f64(scale.get())) as Box<dyn Fn(Instant) -> bool>)
        })
        .collect();
    // … and at the moments each stage's files appear
    let s = staging.clone();
    points.push(("while staging the first files".into(), Box::new(move |_| any_entry(&s, |p| p.ends_with(".parquet") && !p.contains("-models")))));
    let s = staging.clone();
    points.push(("when the run record is staged".into(), Box::new(move |_| any_entry(&s, |p| p.contains("/_runs/")))));
    let s = staging.clone();
    points.push(("during the commit (journal written)".into(), Box::new(move |_| any_entry(&s, |p| p.ends_with("/COMMIT") && !p.contains("-models")))));
    let w = warehouse.clone();
    points.push(("right after the commit".into(), Box::new(move |_| !outcomes(&w).is_empty() && !any_entry(&w.join("_staging"), |p| p.contains("/_runs/")))));
    let s = staging.clone();
    points.push(("while models are staged".into(), Box::new(move |_| any_entry(&s, |p| p.contains("-models/") && p.ends_with(".parquet")))));
    let s = staging.clone();
    points.push(("during the models' commit".into(), Box::new(move |_| any_entry(&s, |p| p.contains("-models/COMMIT")))));
    let w = warehouse.clone();
    points.push(("when the report is written".into(), Box::new(move |_| any_entry(&w.join("_reports"), |p| p.ends_with("latest.html")))));
    let w = warehouse.clone();
    points.push(("when the models' state is saved".into(), Box::new(move |_| any_entry(&w.join("_models"), |_| true) || any_entry(&w.join("_state"), |_| true))));

    for (name, point) in points {
        // each kill starts from an empty warehouse for the event points, so the stage is reached
        let _ = std::fs::remove_dir_all(&warehouse);
        let mut landed = false;
        scale.set(1.0);
        for _ in 0..4 {
            let _ = std::fs::remove_dir_all(&warehouse);
            let mut child = start_run(&land, &warehouse);
            if kill_when(&mut child, took * 3, &point) {
                landed = true;
                break;
            }
            // the run ended first: a time point is tried again earlier, an event point is not
            if !name.starts_with("at ") {
                break;
            }
            scale.set(scale.get() * 0.8);
        }
        if !landed {
            continue;
        }
        killed += 1;
        println!("killed {name} ({killed})");
        // straight after the kill, before any Lantern process tidies: a folder reader
        folder_reader_check(&warehouse);
        // a record says `succeeded` only if the run had in fact finished everything before the
        // kill (its report written, its data and marts complete); otherwise it says it did not
        let mut finished = false;
        for (run, outcome) in outcomes(&warehouse) {
            if outcome.starts_with("succeeded") {
                assert!(warehouse.join(format!("_reports/{run}.html")).exists(), "killed {name}: run {run} says {outcome} without its report");
                assert_eq!(table_counts(&warehouse), want, "killed {name}: run {run} says {outcome} but its tables are not complete");
                finished = true;
            }
        }
        // `lantern serve` finishes an interrupted commit as it starts (before it looks at its
        // schedules: the embedded pipelines have none, so it then stops with a message)
        if name.contains("commit") && any_entry(&staging, |p| p.ends_with("/COMMIT")) {
            use std::os::unix::process::CommandExt;
            let mut serve = Command::new(env!("CARGO_BIN_EXE_lantern"))
                .args(["serve", "--warehouse", warehouse.to_str().unwrap(), "--landing", land.to_str().unwrap()])
                .env("LANTERN_PSEUDONYM_KEY", KEY)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap();
            let t0 = Instant::now();
            while any_entry(&staging, |_| true) && t0.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(20));
            }
            // stop the daemon and any run it started, all at once
            Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", serve.id())]).status().unwrap();
            serve.wait().unwrap();
            assert!(!any_entry(&staging, |_| true), "killed {name}: lantern serve did not finish the journalled commit at start-up");
            folder_reader_check(&warehouse);
        }
        // a Lantern reader can query it (and `lantern runs` lists it) …
        let runs = common::ok(&["runs", "--warehouse", warehouse.to_str().unwrap()]);
        assert_eq!(runs.contains(" succeeded"), finished, "killed {name}: {runs}");
        // … and a run after the kill converges to the uninterrupted warehouse
        let status = start_run(&land, &warehouse).wait().unwrap();
        assert_eq!(status.code(), Some(0), "the run after the kill {name} failed");
        assert_eq!(table_counts(&warehouse), want, "after the kill {name}");
        assert!(!staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(), "killed {name}: staging left");
    }
    assert!(killed >= 20, "only {killed} kills landed before their run ended");
}
