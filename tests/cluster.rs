//! Issue 8: the same SQL on a Ballista cluster. A scheduler and two executors (`lantern
//! scheduler`, `lantern executor`, child processes of this test) on loopback; the indicator
//! models and every model they read, built through the cluster on a two-council warehouse, equal
//! the local build row for row, Lantern's functions (working days, ages …) included. A query that
//! fails on an executor, or outlives the job timeout, fails the command instead of hanging it.

mod common;
use common::stores::{Kind, Store};
use common::*;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for any one model of the small warehouse on a busy two-core machine, short enough
/// that a stalled job fails the test in minutes.
const JOB_TIMEOUT: &str = "180s";

/// The scheduler and executors: killed when the test ends, however it ends.
struct Cluster {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
    /// The environment of every process: the S3 server's endpoint and credentials.
    env: Vec<(String, String)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Cluster {
    fn spawn(&mut self, args: &[&str], log: PathBuf) {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_lantern"))
            .args(args)
            .env("LANTERN_LOG", "info")
            .env("LANTERN_PSEUDONYM_KEY", KEY)
            .env_remove("LANTERN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        self.children.push(child);
        self.logs.push(log);
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.logs[i]).unwrap_or_default()
    }

    /// The last lines of every log, for a failure message.
    fn tails(&self) -> String {
        let mut s = String::new();
        for (i, path) in self.logs.iter().enumerate() {
            let text = self.log(i);
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            s += &format!("\n--- {} (last 30 lines)\n{}", path.display(), lines[lines.len().saturating_sub(30)..].join("\n"));
        }
        s
    }

    /// Fails the test, with the cluster's logs, when a child has exited.
    fn check_running(&mut self) {
        for i in 0..self.children.len() {
            if let Ok(Some(status)) = self.children[i].try_wait() {
                panic!("{} exited ({status}){}", self.logs[i].display(), self.tails());
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `lantern` with the job timeout set (LANTERN_CLUSTER_JOB_TIMEOUT).
fn client(args: &[&str], timeout: &str) -> Output {
    let mut cmd = client_command(args);
    cmd.env("LANTERN_CLUSTER_JOB_TIMEOUT", timeout);
    cmd.output().expect("run lantern")
}

fn client_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lantern"));
    cmd.args(args)
        .env("LANTERN_PSEUDONYM_KEY", KEY)
        .env_remove("LANTERN_PSEUDONYM_KEY_FILE")
        .env_remove("LANTERN_CONFIG")
        .env_remove("LANTERN_WAREHOUSE")
        .env_remove("LANTERN_CLUSTER")
        .env_remove("LANTERN_CLUSTER_JOB_TIMEOUT");
    cmd
}

/// Every mart under `warehouse/marts`, as `marts.<area>.<model>`.
fn marts(warehouse: &Path) -> Vec<String> {
    // every model's output: the marts and the published zone
    let mut out = vec![];
    for zone in ["marts", "published"] {
        for area in std::fs::read_dir(warehouse.join(zone)).unwrap().flatten() {
            for model in std::fs::read_dir(area.path()).unwrap().flatten() {
                out.push(format!("{zone}.{}.{}", area.file_name().to_string_lossy(), model.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

/// Each mart's rows as CSV lines (header first, rows sorted: the same rows in any order compare
/// equal, any other difference does not), read by one local `lantern sql`.
fn contents(warehouse: &Path, marts: &[String]) -> BTreeMap<String, Vec<String>> {
    let file = warehouse.with_extension("compare.sql");
    contents_by(&file, marts, &|script| ok(&["sql", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv", "-f", script]))
}

/// The same, the SQL script at `file` given to `sql` (which runs `lantern sql -f` on it).
fn contents_by(file: &Path, marts: &[String], sql: &dyn Fn(&str) -> String) -> BTreeMap<String, Vec<String>> {
    let script: String = marts.iter().map(|m| format!("SELECT '@@ {m}' AS mart;\nSELECT * FROM {m};\n")).collect();
    std::fs::write(file, script).unwrap();
    let text = sql(file.to_str().unwrap());
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("@@ ") {
            current = Some(m.to_string());
            out.insert(m.to_string(), vec![]);
        } else if line == "mart" {
            continue; // the marker's header
        } else if let Some(m) = &current {
            out.get_mut(m).unwrap().push(line.to_string());
        }
    }
    for rows in out.values_mut() {
        if rows.len() > 1 {
            rows[1..].sort();
        }
    }
    out
}

#[test]
fn models_built_on_a_cluster_equal_the_local_build_row_for_row() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let scheduler_port = free_port().to_string();
    let scheduler = format!("127.0.0.1:{scheduler_port}");
    let url = format!("df://{scheduler}");
    // an S3-compatible server too: the last part builds through the cluster into a warehouse there
    let store = Store::start(Kind::S3);
    let mut cluster = Cluster { children: vec![], logs: vec![], env: store.env() };
    cluster.spawn(&["scheduler", "--bind", "127.0.0.1", "--port", &scheduler_port], tmp.path().join("scheduler.log"));
    for i in 0..2 {
        let (flight, grpc) = (free_port().to_string(), free_port().to_string());
        let work = tmp.path().join(format!("executor{i}"));
        std::fs::create_dir_all(&work).unwrap();
        #[rustfmt::skip]
        cluster.spawn(
            &["executor", "--scheduler", &scheduler, "--bind", "127.0.0.1", "--port", &flight, "--grpc-port", &grpc,
              "--work-dir", work.to_str().unwrap(), "--concurrent-tasks", "2"],
            tmp.path().join(format!("executor{i}.log")),
        );
    }

    // two councils, loaded and modelled locally (while the executors register)
    let gen = tmp.path().join("gen");
    ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.05", "--councils", "2", "--seed", "3", "--defect-rate", "0"]);
    let local = gen.join("warehouse");
    #[rustfmt::skip]
    ok(&["run", "--landing", gen.join("landing").to_str().unwrap(), "--warehouse", local.to_str().unwrap(),
         "mosaic", "synergy", "census", "finance", "reference"]);
    let on_cluster = tmp.path().join("cluster-warehouse");
    copy_dir(&local, &on_cluster);

    // both executors registered with the scheduler
    let t0 = Instant::now();
    while cluster.log(0).matches("register executor request").count() < 2 {
        cluster.check_running();
        assert!(t0.elapsed() < Duration::from_secs(120), "two executors did not register{}", cluster.tails());
        std::thread::sleep(Duration::from_millis(200));
    }
    let prepared = started.elapsed();

    // every model again, through the cluster
    let t0 = Instant::now();
    let out = client(&["models", "--build", "--full", "--json", "--cluster", &url, "--warehouse", on_cluster.to_str().unwrap()], JOB_TIMEOUT);
    let build_time = t0.elapsed();
    assert!(out.status.success(), "the build on the cluster failed:\n{}{}", String::from_utf8_lossy(&out.stderr), cluster.tails());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let built: Vec<&str> =
        report["models"].as_array().unwrap().iter().filter(|m| m["status"] == "built").map(|m| m["model"].as_str().unwrap()).collect();
    for m in ["marts.indicators.indicator_values", "marts.indicators.indicator_breakdowns", "marts.social_care.front_door_values", "marts.reference.months"] {
        assert!(built.contains(&m), "{m} was not built on the cluster: {built:?}");
    }
    // the executors did the work, both of them
    for i in [1, 2] {
        assert!(cluster.log(i).contains("Execute task"), "executor {i} ran no task{}", cluster.tails());
    }

    // the same marts, the same rows (front_door_values counts assessments in working days;
    // reference.months and social_care.cla_values call working_days and add_working_days)
    let names = marts(&local);
    assert_eq!(names, marts(&on_cluster));
    assert!(names.len() >= built.len() && built.iter().all(|m| names.iter().any(|n| n == m)), "{names:?}\n{built:?}");
    let (a, b) = (contents(&local, &names), contents(&on_cluster, &names));
    for m in &names {
        let (x, y) = (&a[m], &b[m]);
        if x != y {
            let first = x.iter().zip(y).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            panic!(
                "{m} differs between the local and the cluster build ({} and {} lines); first difference:\n  local:   {}\n  cluster: {}",
                x.len(),
                y.len(),
                x.get(first).map_or("(none)", String::as_str),
                y.get(first).map_or("(none)", String::as_str)
            );
        }
    }
    for m in ["marts.indicators.indicator_values", "marts.social_care.front_door_values", "marts.staging.assessments"] {
        assert!(a[m].len() > 10, "{m} has almost no rows: the comparison would prove little");
    }
    let councils = ok(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--format", "csv", "-e", "SELECT count(DISTINCT la_code) AS n FROM marts.indicators.indicator_values"]);
    assert_eq!(councils.trim(), "n\n2");

    // a query calling Lantern's functions on table columns, run by the executors
    let sql = "SELECT la_code, sum(working_days(start_date, authorisation_date)) AS wd, count(*) AS n FROM marts.staging.assessments \
               WHERE authorisation_date >= start_date GROUP BY la_code ORDER BY la_code";
    let here = ok(&["sql", "--warehouse", local.to_str().unwrap(), "--format", "csv", "-e", sql]);
    let there = client(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--format", "csv", "--cluster", &url, "-e", sql], JOB_TIMEOUT);
    assert!(there.status.success(), "{}{}", String::from_utf8_lossy(&there.stderr), cluster.tails());
    assert_eq!(here, String::from_utf8_lossy(&there.stdout));
    assert_eq!(here.lines().count(), 3, "{here}");

    // a task that fails on an executor fails the query, at once
    let t0 = Instant::now();
    let bad = "SELECT la_code, CAST(concat(child_id, 'x') AS INT) AS n FROM marts.staging.assessments";
    let out = client(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--cluster", &url, "-e", bad], JOB_TIMEOUT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("failed") && stderr.contains("Cannot cast"), "{stderr}");
    assert!(t0.elapsed() < Duration::from_secs(60), "a failed job took {:?} to fail the query", t0.elapsed());

    // a query that outlives the job timeout (here `[cluster] job_timeout` in lantern.toml) fails,
    // naming the setting, and the cluster still works
    let settings = tmp.path().join("settings");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(settings.join("lantern.toml"), format!("[cluster]\nurl = \"{url}\"\njob_timeout = \"0.001s\"\n")).unwrap();
    let out = client_command(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--cluster", &url, "-e", sql]).current_dir(&settings).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("job_timeout") && stderr.contains("within 1ms"), "{stderr}");
    let again = client(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--format", "csv", "--cluster", &url, "-e", sql], JOB_TIMEOUT);
    assert_eq!(here, String::from_utf8_lossy(&again.stdout), "{}", String::from_utf8_lossy(&again.stderr));

    // the same landing into a warehouse in the S3-compatible store, its models built on the
    // cluster: the executors read the store (credentials from their environment) and the marts
    // equal the local build
    let work = tmp.path().join("store-work");
    let tasks = |c: &Cluster| c.log(1).matches("Execute task").count() + c.log(2).matches("Execute task").count();
    let tasks_before = tasks(&cluster);
    #[rustfmt::skip]
    let out = store.lantern(&work, &["run", "--landing", gen.join("landing").to_str().unwrap(), "mosaic", "synergy", "census", "finance", "reference"],
                            &[("LANTERN_CLUSTER", url.as_str()), ("LANTERN_CLUSTER_JOB_TIMEOUT", JOB_TIMEOUT)]);
    assert!(out.status.success(), "the run into the store with models on the cluster failed:\n{}{}", String::from_utf8_lossy(&out.stderr), cluster.tails());
    assert!(tasks(&cluster) > tasks_before + 50, "the models of the run into the store were not built on the cluster");
    let reader = tmp.path().join("store-reader");
    let in_store = contents_by(&tmp.path().join("store-compare.sql"), &names, &|script| {
        let out = store.lantern(&reader, &["sql", "--format", "csv", "-f", script], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    });
    for m in &names {
        assert!(a[m] == in_store[m], "{m} differs between the local build and the cluster's build into the S3 store ({} and {} lines)", a[m].len(), in_store[m].len());
    }

    cluster.check_running();
    eprintln!(
        "cluster test: {:?} to start the cluster and load the warehouse, {build_time:?} to build {} models on the cluster, {:?} in all",
        prepared,
        built.len(),
        started.elapsed()
    );
    drop(cluster);
}

fn copy_dir(from: &Path, to: &Path) {
    for f in all_files(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}
