//! `lantern serve`: runs on schedule, no overlap (skipped ticks recorded), missed runs after
//! downtime by policy, SIGTERM during a run, timeouts with retries and an alert.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Timelike, Utc};
use common::{fixtures, KEY};
use serde_json::Value;

struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    warehouse: PathBuf,
}

/// A project whose only scheduled pipeline is mosaic, with this schedule and `[policy]`; a
/// landing folder with two 903 files; settings with `[serve]` extra lines.
fn site(schedule: &str, policy: &str, serve: &str) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    common::ok(&["init", root.join("project").to_str().unwrap()]);
    let p = root.join("project/pipelines/mosaic.toml");
    let toml = std::fs::read_to_string(&p).unwrap().replace("schedule = \"0 2 * * *\"", &format!("schedule = \"{schedule}\""));
    std::fs::write(&p, format!("{toml}\n[policy]\n{policy}\n")).unwrap();
    common::land(&root.join("landing"), &[fixtures().join("ssda903/header.csv"), fixtures().join("ssda903/placed_for_adoption_errors.csv")]);
    let config = root.join("lantern.toml");
    std::fs::write(
        &config,
        format!("landing = \"landing\"\nwarehouse = \"warehouse\"\nproject = \"project\"\nla_code = \"201\"\n\n[serve]\npipelines = [\"mosaic\"]\n{serve}\n"),
    )
    .unwrap();
    Site { warehouse: root.join("warehouse"), _dir: dir, root, config }
}

fn lantern(site: &Site, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lantern"));
    c.arg("--config")
        .arg(&site.config)
        .args(args)
        .current_dir(&site.root)
        .env("LANTERN_PSEUDONYM_KEY", KEY)
        .env_remove("LANTERN_PSEUDONYM_KEY_FILE")
        .env_remove("LANTERN_WAREHOUSE")
        .env_remove("LANTERN_LA_CODE")
        .env_remove("FAILPOINTS")
        .env("LANTERN_LOG", "info");
    c
}

fn serve(site: &Site, fault: Option<&str>) -> Child {
    let mut c = lantern(site, &["serve"]);
    if let Some(f) = fault {
        c.env("FAILPOINTS", f);
    }
    let log = std::fs::File::create(site.root.join("serve.log")).unwrap();
    c.stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

fn records(site: &Site) -> Vec<Value> {
    if !site.warehouse.join("_runs").is_dir() {
        return vec![];
    }
    let mut v = common::run_records(&site.warehouse);
    v.sort_by(|a, b| a["started"].as_str().cmp(&b["started"].as_str()));
    v
}

fn wait_for(what: &str, site: &Site, timeout: Duration, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}; log:\n{}", log(site));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log(site: &Site) -> String {
    std::fs::read_to_string(site.root.join("serve.log")).unwrap_or_default()
}

/// SIGTERM, then the exit status (within `timeout`).
fn terminate(site: &Site, child: &mut Child, timeout: Duration) -> i32 {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            panic!("lantern serve did not exit within {timeout:?} of SIGTERM; log:\n{}", log(site));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn time(v: &Value, field: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v[field].as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn outcome(v: &Value) -> &str {
    v["outcome"].as_str().unwrap()
}

/// Every file under the warehouse's data zones with its size and content hash.
fn snapshot(wh: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for zone in ["raw", "clean", "quarantine", "marts", "published"] {
        for f in common::all_files(&wh.join(zone)) {
            out.push((f.strip_prefix(wh).unwrap().display().to_string(), std::fs::read(&f).unwrap()));
        }
    }
    out
}

#[test]
fn runs_start_on_their_ticks_and_a_slow_run_is_not_overlapped() {
    // a tick every 3 seconds; each run pauses 4 seconds before its commit
    let site = site("*/3 * * * * *", "retries = 0", "");
    let mut child = serve(&site, Some("before-commit=sleep(4000)"));
    wait_for("three runs", &site, Duration::from_secs(90), || records(&site).iter().filter(|r| outcome(r) == "succeeded").count() >= 3);
    assert_eq!(terminate(&site, &mut child, Duration::from_secs(30)), 0, "log:\n{}", log(&site));
    let all = records(&site);
    let runs: Vec<&Value> = all.iter().filter(|r| !outcome(r).starts_with("skipped")).collect();
    let skipped: Vec<&Value> = all.iter().filter(|r| outcome(r).starts_with("skipped")).collect();
    assert!(runs.len() >= 3, "{all:#?}");
    for r in &runs {
        // a run that was going at SIGTERM finishes within the grace period (5 minutes by default)
        assert_eq!((outcome(r), r["trigger"].as_str().unwrap()), ("succeeded", "schedule"), "{r}");
    }
    // on time: the daemon starts each run within a second of its tick (seconds divisible by 3)
    let starts: Vec<Value> = log(&site)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "run starting")
        .collect();
    assert_eq!(starts.len(), runs.len(), "one start per run");
    for v in &starts {
        let s = time(v, "timestamp");
        let since_tick = (s.second() % 3) as f64 + s.nanosecond() as f64 / 1e9;
        assert!(since_tick < 1.0, "run started {since_tick:.2}s after its tick: {v}");
        assert!(runs.iter().any(|r| r["run_id"] == v["fields"]["run"]), "{v}");
    }
    // never two at once: each run starts after the previous one finished
    for w in runs.windows(2) {
        assert!(time(w[1], "started") >= time(w[0], "finished"), "overlapping runs: {} and {}", w[0], w[1]);
    }
    // the ticks that came during a run were recorded as skipped, with the reason
    assert!(!skipped.is_empty(), "{all:#?}");
    for s in &skipped {
        assert!(outcome(s).ends_with("not started because its previous run was still going"), "{s}");
        assert_eq!(s["pipelines"], serde_json::json!(["mosaic"]));
    }
    // `lantern runs --json` shows them for monitoring
    let out = lantern(&site, &["runs", "--json"]).output().unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), all.len());
}

#[test]
fn sigterm_during_a_run_abandons_it_and_leaves_the_warehouse_unchanged() {
    let site = site("*/2 * * * * *", "retries = 0", "grace = \"1s\"");
    assert!(lantern(&site, &["run", "mosaic"]).output().unwrap().status.success());
    let before = snapshot(&site.warehouse);
    assert!(!before.is_empty());
    // new input that a finished run would load
    std::fs::copy(fixtures().join("ssda903/missing.csv"), site.root.join("landing/missing.csv")).unwrap();
    let mut child = serve(&site, Some("before-commit=sleep(60000)"));
    // wait until a run has staged its output and holds the lock
    wait_for("a run in progress", &site, Duration::from_secs(60), || {
        std::fs::read_to_string(site.warehouse.join("_lock")).unwrap_or_default().contains("lantern run mosaic")
            && common::all_files(&site.warehouse.join("_staging")).iter().any(|f| f.extension().is_some_and(|e| e == "parquet"))
    });
    assert_eq!(terminate(&site, &mut child, Duration::from_secs(30)), 0, "log:\n{}", log(&site));
    let all = records(&site);
    let last = all.last().unwrap();
    assert_eq!(outcome(last), "abandoned: lantern serve was stopped (warehouse unchanged)", "{all:#?}");
    assert_eq!(last["trigger"], "schedule");
    assert_eq!(all.iter().filter(|r| outcome(r) == "succeeded").count(), 1, "only the run before serve");
    assert!(snapshot(&site.warehouse) == before, "the abandoned run changed the warehouse");
    assert!(common::all_files(&site.warehouse.join("_staging")).is_empty(), "its staging was discarded");
    assert!(site.warehouse.join(format!("_reports/{}.html", last["run_id"].as_str().unwrap())).is_file());
}

/// Starts serve after a downtime (its state says the last tick it saw was before 1 January
/// 2023, on a schedule of midnight each 1 January) and waits for `n` records.
fn after_downtime(missed: &str, n: usize) -> (Site, Vec<Value>) {
    let site = site("0 0 1 1 *", &format!("missed = \"{missed}\""), "");
    std::fs::create_dir_all(site.warehouse.join("_serve")).unwrap();
    std::fs::write(site.warehouse.join("_serve/state.json"), r#"{"mosaic": "2022-12-31T00:00:00+00:00"}"#).unwrap();
    let mut child = serve(&site, None);
    wait_for("the catch-up", &site, Duration::from_secs(120), || records(&site).len() >= n);
    std::thread::sleep(Duration::from_millis(500)); // nothing more should come
    assert_eq!(terminate(&site, &mut child, Duration::from_secs(60)), 0);
    let state: Value = serde_json::from_slice(&std::fs::read(site.warehouse.join("_serve/state.json")).unwrap()).unwrap();
    assert_eq!(state["mosaic"], format!("{}-01-01T00:00:00+00:00", Utc::now().year()), "the last missed tick is remembered");
    let r = records(&site);
    (site, r)
}

#[test]
fn missed_runs_after_downtime_follow_the_policy() {
    // 1 January 2023, 2024, … up to this year's: missed while serve was down (London midnight
    // on 1 January is UTC midnight)
    let missed = (Utc::now().year() - 2022) as usize;
    let (_, each) = after_downtime("each", missed);
    assert_eq!(each.len(), missed, "{each:#?}");
    for (k, r) in each.iter().enumerate() {
        assert_eq!(outcome(r), "succeeded");
        let trigger = r["trigger"].as_str().unwrap();
        assert!(trigger.starts_with(&format!("catch-up {}/{missed} ({}-01-01T00:00:00", k + 1, 2023 + k)), "{trigger}");
    }
    let (_, once) = after_downtime("once", 1);
    assert_eq!(once.len(), 1, "{once:#?}");
    assert_eq!((outcome(&once[0]), once[0]["trigger"].as_str().unwrap()), ("succeeded", format!("catch-up ({missed} missed)").as_str()));
    let (site, skip) = after_downtime("skip", 1);
    assert_eq!(skip.len(), 1, "{skip:#?}");
    assert_eq!(outcome(&skip[0]), format!("skipped: {missed} scheduled run(s) missed while lantern serve was not running (policy skip)"));
    assert!(!site.warehouse.join("clean").exists(), "nothing was loaded");
}

#[test]
fn a_run_over_its_timeout_is_abandoned_retried_and_alerted() {
    let site = site("*/2 * * * * *", "timeout = \"2s\"\nretries = 1\nretry_delay = \"1s\"", "");
    let alert = site.root.join("alert.json");
    let mut cfg = std::fs::read_to_string(&site.config).unwrap();
    cfg.push_str(&format!("\n[alert]\ncommand = \"cat > '{}'\"\n", alert.display()));
    std::fs::write(&site.config, cfg).unwrap();
    let mut child = serve(&site, Some("before-commit=sleep(60000)"));
    wait_for("the alert", &site, Duration::from_secs(60), || std::fs::read_to_string(&alert).is_ok_and(|s| s.ends_with('}')));
    assert_eq!(terminate(&site, &mut child, Duration::from_secs(30)), 0);
    let all: Vec<Value> = records(&site).into_iter().filter(|r| !outcome(r).starts_with("skipped")).collect();
    assert!(all.len() >= 2, "{all:#?}");
    assert_eq!(outcome(&all[0]), "abandoned: timed out after 2s (warehouse unchanged)");
    assert_eq!(all[1]["trigger"], "schedule (retry 1)");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&alert).unwrap()).unwrap();
    assert_eq!((v["run_id"].clone(), v["outcome"].as_str().unwrap()), (all[1]["run_id"].clone(), "abandoned: timed out after 2s (warehouse unchanged)"));
    assert!(!site.warehouse.join("clean").exists());
}

#[test]
fn a_second_daemon_on_the_same_warehouse_refuses_to_start() {
    let site = site("0 2 * * *", "", "");
    let mut first = serve(&site, None);
    wait_for("the first daemon", &site, Duration::from_secs(30), || log(&site).contains("scheduled"));
    let second = lantern(&site, &["serve"]).output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another lantern serve is running on this warehouse"));
    assert_eq!(terminate(&site, &mut first, Duration::from_secs(10)), 0);
    assert!(records(&site).is_empty(), "nothing ran: the next tick is at 02:00");
}
