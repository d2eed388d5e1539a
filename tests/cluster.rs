//! Issue 8: the same SQL on a Ballista cluster. A scheduler and two executors (`lantern
//! scheduler`, `lantern executor`) on loopback; the models built through the cluster on a
//! two-council warehouse equal the local build row for row, Lantern's functions included.

mod common;
use common::*;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Child processes killed when the test ends, however it ends.
struct Cluster(Vec<Child>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(args: &[&str], log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(args)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap()
}

fn rows(warehouse: &Path, sql: &str, cluster: Option<&str>) -> String {
    let mut args = vec!["sql", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv", "-e", sql];
    if let Some(c) = cluster {
        args.extend_from_slice(&["--cluster", c]);
    }
    ok(&args)
}

#[test]
fn models_built_on_a_cluster_equal_the_local_build_row_for_row() {
    let tmp = tempfile::tempdir().unwrap();
    let scheduler_port = free_port().to_string();
    let url = format!("df://127.0.0.1:{scheduler_port}");
    let mut cluster = Cluster(vec![spawn(&["scheduler", "--bind", "127.0.0.1", "--port", &scheduler_port], &tmp.path().join("scheduler.log"))]);
    let t0 = Instant::now();
    while std::net::TcpStream::connect(format!("127.0.0.1:{scheduler_port}")).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the scheduler did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    for i in 0..2 {
        let (flight, grpc) = (free_port().to_string(), free_port().to_string());
        let work = tmp.path().join(format!("executor{i}"));
        std::fs::create_dir_all(&work).unwrap();
        cluster.0.push(spawn(
            &["executor", "--scheduler", &format!("127.0.0.1:{scheduler_port}"), "--bind", "127.0.0.1", "--port", &flight, "--grpc-port", &grpc,
              "--work-dir", work.to_str().unwrap(), "--concurrent-tasks", "2"],
            &tmp.path().join(format!("executor{i}.log")),
        ));
    }

    // two councils, loaded and modelled locally
    let gen = tmp.path().join("gen");
    ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.05", "--councils", "2", "--seed", "3", "--defect-rate", "0"]);
    let local = gen.join("warehouse");
    ok(&["run", "--landing", gen.join("landing").to_str().unwrap(), "--warehouse", local.to_str().unwrap(), "mosaic", "synergy", "census", "finance", "reference"]);
    let on_cluster = tmp.path().join("cluster-warehouse");
    copy_dir(&local, &on_cluster);

    // wait for the scheduler to take queries (the executors register within seconds)
    let t0 = Instant::now();
    loop {
        let out = lantern(&["sql", "--warehouse", on_cluster.to_str().unwrap(), "--cluster", &url, "-e", "SELECT count(*) FROM clean.mosaic.ssda903_episodes"]);
        if out.status.success() {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "the cluster did not answer: {}\n{}", String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(tmp.path().join("scheduler.log")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(500));
    }

    // the indicator models again (and every model they read), through the cluster
    let out = ok(&["models", "--build", "--full", "--cluster", &url, "--warehouse", on_cluster.to_str().unwrap(),
        "--model", "marts.indicators.indicator_values", "--model", "marts.indicators.indicator_breakdowns"]);
    assert!(out.contains(" built") && out.contains("marts.social_care.front_door_values"), "{out}");

    for (mart, order) in [
        ("marts.indicators.indicator_values", "la_code, indicator_id, period_end, \"window\""),
        ("marts.indicators.indicator_breakdowns", "la_code, indicator_id, period_end, dimension, category"),
        ("marts.staging.care_episodes", "la_code, child_id, decom"),
        ("marts.education.pupils", "la_code, census, upn"),
    ] {
        let sql = format!("SELECT * FROM {mart} ORDER BY {order}");
        let a = rows(&local, &sql, None);
        let b = rows(&on_cluster, &sql, None);
        assert!(a.lines().count() > 2, "{mart} is empty locally");
        assert_eq!(a, b, "{mart} differs between the local and the cluster build");
    }
    let councils = rows(&on_cluster, "SELECT count(DISTINCT la_code) AS n FROM marts.indicators.indicator_values", None);
    assert!(councils.contains("\n2"), "{councils}");

    // and a query calling Lantern's functions on table columns, run by the executors
    let sql = "SELECT la_code, sum(working_days(start_date, authorisation_date)) AS wd, count(*) AS n FROM marts.staging.assessments \
               WHERE authorisation_date >= start_date GROUP BY la_code ORDER BY la_code";
    assert_eq!(rows(&local, sql, None), rows(&on_cluster, sql, Some(&url)));
    drop(cluster);
}

fn copy_dir(from: &Path, to: &Path) {
    for f in all_files(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}
