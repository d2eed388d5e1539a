//! Issue 8: the warehouse in object stores. Azurite (the Azure Storage emulator, from npm) and
//! moto's S3 server (from PyPI) run on loopback, started here; the same runs go into a warehouse
//! on local disk and into each store, and everything `lantern sql` sees — clean, quarantine and
//! every model — must be the same. A commit that fails part-way leaves the store as it was.

mod common;
use common::stores::*;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn run_args(landing: &Path) -> Vec<String> {
    ["run", "mosaic", "--landing", landing.to_str().unwrap(), "--la", "201", "--as-of", "2024-03-31"].iter().map(|s| s.to_string()).collect()
}

/// Numbers rounded to 9 significant digits: sums of floats may add in another order when the
/// files are listed in another order.
fn normalise(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => format!("{:.9e}", n.as_f64().unwrap()),
        // run_id (clean.dfe.cin_flags) names the run that last checked the file, so two runs of
        // the same landing differ there only
        serde_json::Value::Object(m) => format!("{{{}}}", m.iter().filter(|(k, _)| *k != "run_id").map(|(k, v)| format!("{k}:{}", normalise(v))).collect::<Vec<_>>().join(",")),
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(normalise).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Every table in clean, quarantine and marts, its rows normalised and sorted. `sql` runs
/// statements (separated by `;`) and gives each one's rows.
fn snapshot(sql: &dyn Fn(&str) -> Vec<Vec<serde_json::Value>>) -> BTreeMap<String, Vec<String>> {
    let tables = sql("select table_catalog || '.' || table_schema || '.' || table_name as t from information_schema.tables \
         where table_catalog in ('clean','quarantine','marts') and table_schema <> 'information_schema' order by 1");
    let names: Vec<String> = tables[0].iter().map(|t| t["t"].as_str().unwrap().to_string()).collect();
    let all = sql(&names.iter().map(|n| format!("select * from {n}")).collect::<Vec<_>>().join(";\n"));
    assert_eq!(all.len(), names.len());
    names
        .into_iter()
        .zip(all)
        .map(|(n, rows)| {
            let mut rows: Vec<String> = rows.iter().map(normalise).collect();
            rows.sort();
            (n, rows)
        })
        .collect()
}

/// The JSON arrays `lantern sql --format json` printed, one per statement.
fn results(stdout: &str) -> Vec<Vec<serde_json::Value>> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap().as_array().cloned().unwrap_or_default())
        .collect()
}

/// The same two runs into a warehouse on local disk: what every store must hold after each.
fn on_disk() -> &'static (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    static S: OnceLock<(BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>)> = OnceLock::new();
    S.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = mosaic_landings(tmp.path());
        let wh = tmp.path().join("warehouse");
        let whs = wh.to_str().unwrap();
        let sql = |q: &str| results(&ok(&["sql", "--warehouse", whs, "-e", q, "--format", "json"]));
        let mut args = run_args(&a);
        args.extend(["--warehouse".into(), whs.into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let first = snapshot(&sql);
        let mut args = run_args(&b);
        args.extend(["--warehouse".into(), whs.into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        (first, snapshot(&sql))
    })
}

/// Every table's Delta log in the store, read by the `deltalake` package: it lists exactly the
/// files the manifest lists for the table, with the rows `want` has for it.
fn assert_delta_agrees(store: &Store, reader: &Path, want: &BTreeMap<String, Vec<String>>) {
    let manifest = store.manifest(reader);
    let tables: Vec<String> = want.keys().map(|t| t.replace('.', "/")).collect();
    let got = delta_read(store.url(), &tables, &store.env());
    for t in &tables {
        let v = &got[t];
        assert!(v.get("error").is_none(), "{:?}: {t}: {v}", store.kind);
        assert_eq!(v["rows"].as_u64(), Some(want[&t.replace('/', ".")].len() as u64), "{:?}: {t}", store.kind);
        let mut listed: Vec<String> = manifest["partitions"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|files| files.as_array().unwrap().iter())
            .filter_map(|f| f["path"].as_str().unwrap().strip_prefix(&format!("{t}/")).map(str::to_string))
            .collect();
        listed.sort();
        let files: Vec<String> = v["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
        assert_eq!(files, listed, "{:?}: {t}: the Delta log and the manifest list different files", store.kind);
    }
}

fn end_to_end(kind: Kind, delta: bool) {
    let store = Store::start(kind);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = mosaic_landings(tmp.path());
    let work = tmp.path().join("work");
    let run = |landing: &Path, env: &[(&str, &str)]| {
        let args = run_args(landing);
        let mut env = env.to_vec();
        if delta {
            env.push(("LANTERN_FORMAT", "delta"));
        }
        store.lantern(&work, &args.iter().map(String::as_str).collect::<Vec<_>>(), &env)
    };
    let must = |out: Output| {
        assert!(out.status.success(), "{kind:?}: lantern failed\nstdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // `lantern sql` from a work folder of its own: what any other machine reading the store sees
    let reader = tmp.path().join("reader");
    let sql = |q: &str| results(&must(store.lantern(&reader, &["sql", "-e", q, "--format", "json"], &[])));
    let (disk_a, disk_b) = on_disk();
    assert_ne!(disk_a, disk_b, "the second landing must change the warehouse for the fault test to mean anything");

    // ingest and models, then everything read back from the store equals the local warehouse
    must(run(&a, &[]));
    let first = snapshot(&sql);
    assert!(first.keys().any(|t| t.starts_with("marts.")) && first.len() > 40, "{:?}", first.keys());
    assert_eq!(&first, disk_a, "{kind:?}: the warehouse in the store differs from the one on disk");
    store.assert_tidy(&reader);
    if delta {
        assert_delta_agrees(&store, &reader, disk_a);
    }
    let v1 = store.manifest(&reader)["version"].as_u64().unwrap();

    // the warehouse as Lantern wrote it before folder keys had names of their own
    // (`la=201/year=2024`); readers see the same tables
    store.py("legacy");
    assert!(store.objects().keys().any(|p| p.contains("/la=201/")), "{kind:?}: the store was not made legacy");
    assert_eq!(&snapshot(&sql), disk_a, "{kind:?}: the legacy layout reads differently");

    // the same landing again: the same warehouse, and replaced files removed; the first writer
    // renamed the legacy folders (a partition left under its old name would count twice)
    must(run(&a, &[]));
    assert_eq!(&snapshot(&sql), disk_a, "{kind:?}: re-running the same landing changed the warehouse");
    store.assert_tidy(&reader);
    let old: Vec<String> = store.objects().into_keys().filter(|p| p.contains("/la=")).collect();
    assert!(old.is_empty(), "{kind:?}: objects left under the old folder names: {old:?}");

    // the store fails at the 20th request of the next commit (of some 50 uploads): the run fails,
    // saying so, and the warehouse is as it was
    let before = store.manifest(&reader);
    let objects_before = store.objects();
    let out = run(&b, &[("FAILPOINTS", "store-commit-request=19*off->return")]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{kind:?}: a commit whose store failed reported success");
    assert!(stderr.contains("request 20 of the commit") && stderr.contains(store.url()), "{kind:?}: {stderr}");
    let after = store.manifest(&reader);
    assert_eq!(after["version"], before["version"], "{kind:?}: a failed commit moved the manifest");
    assert_eq!(&snapshot(&sql), disk_a, "{kind:?}: a failed commit changed what readers see");
    let uploaded = store.objects().into_keys().filter(|p| !objects_before.contains_key(p)).count();
    assert!(uploaded > 0, "{kind:?}: the fault came before any upload had finished, so it proves little");
    if delta {
        assert_delta_agrees(&store, &reader, disk_a);
        // the run stops after the manifest, before its third table's Delta commit: Lantern's
        // readers see the new version; a Delta reader reads every table whole, old or new
        let out = run(&b, &[("FAILPOINTS", "delta-commit=2*off->return")]);
        assert!(!out.status.success(), "{kind:?}: a run whose Delta commit stopped reported success");
        let tables: Vec<String> = disk_a.keys().map(|t| t.replace('.', "/")).collect();
        let mid = delta_read(store.url(), &tables, &store.env());
        for t in &tables {
            let rows = mid[t]["rows"].as_u64();
            let old = disk_a[&t.replace('/', ".")].len() as u64;
            let new = disk_b.get(&t.replace('/', ".")).map(|r| r.len() as u64);
            assert!(mid[t].get("error").is_none() && (rows == Some(old) || rows == new), "{kind:?}: {t}: {}", mid[t]);
        }
    }

    // the run again, without the fault: it completes, and the files the failed commit left are gone
    must(run(&b, &[]));
    assert_eq!(&snapshot(&sql), disk_b, "{kind:?}: after the re-run the store differs from the disk");
    store.assert_tidy(&reader);
    if delta {
        assert_delta_agrees(&store, &reader, disk_b);
    }
    assert!(store.manifest(&reader)["version"].as_u64().unwrap() > v1);

    // the run records are in the store: a new reader lists them all, the failed one too
    let runs = must(store.lantern(&tmp.path().join("another"), &["runs", "--json"], &[]));
    let runs: serde_json::Value = serde_json::from_str(runs.trim()).unwrap();
    let outcomes: Vec<String> = runs.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap_or_default().to_string()).collect();
    // in Delta, the run that stopped between the manifest and the logs had committed its data
    // (with its record, which therefore reads as abandoned) and then failed
    let failed = if delta { 2 } else { 1 };
    assert_eq!(outcomes.len(), if delta { 6 } else { 4 }, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.starts_with("failed")).count(), failed, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.starts_with("abandoned: stopped after its data was committed")).count(), failed - 1, "{outcomes:?}");
    assert!(outcomes.last().unwrap().starts_with("succeeded"), "{outcomes:?}");
}

/// A warehouse on disk with the partition folders Lantern wrote before folder keys had names
/// of their own (`la=201/year=2024`, colliding with the files' `la` and `year` columns for any
/// reader that infers Hive partitions): readers see the same tables, and the next run renames
/// every folder and replaces what it loads, with no partition left behind to count twice.
#[test]
fn a_warehouse_on_disk_with_the_old_folder_names_is_renamed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = mosaic_landings(tmp.path());
    let wh = tmp.path().join("warehouse");
    let whs = wh.to_str().unwrap();
    let sql = |q: &str| results(&ok(&["sql", "--warehouse", whs, "-e", q, "--format", "json"]));
    let run = |landing: &Path| {
        let mut args = run_args(landing);
        args.extend(["--warehouse".into(), whs.into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    };
    let (disk_a, disk_b) = on_disk();
    run(&a);
    // the old names: `la_key=201` → `la=201`, `year_key=2024` → `year=2024`, deepest first
    let keyed = |wh: &Path| -> Vec<PathBuf> {
        let dirs: std::collections::BTreeSet<PathBuf> = all_files(wh)
            .iter()
            .flat_map(|f| f.ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>())
            .filter(|d| d.file_name().is_some_and(|n| n.to_string_lossy().split_once('=').is_some_and(|(k, _)| k.ends_with("_key"))))
            .collect();
        let mut v: Vec<PathBuf> = dirs.into_iter().collect();
        v.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        v
    };
    let renamed = keyed(&wh);
    assert!(renamed.len() > 20, "{renamed:?}");
    for d in &renamed {
        let name = d.file_name().unwrap().to_string_lossy().replacen("_key=", "=", 1);
        std::fs::rename(d, d.with_file_name(name)).unwrap();
    }
    assert!(wh.join("clean/mosaic/ssda903_episodes/la=201").is_dir());
    assert_eq!(&snapshot(&sql), disk_a, "the legacy layout reads differently");

    run(&b);
    assert_eq!(&snapshot(&sql), disk_b, "after the run the legacy warehouse differs from a new one");
    let old: Vec<PathBuf> = all_files(&wh)
        .into_iter()
        .filter(|f| f.components().any(|c| c.as_os_str().to_string_lossy().split_once('=').is_some_and(|(k, _)| ["la", "year"].contains(&k))))
        .collect();
    assert!(old.is_empty(), "files left under the old folder names: {old:?}");
    assert!(keyed(&wh).len() >= renamed.len() / 2, "{:?}", keyed(&wh));
}

#[test]
fn the_warehouse_on_an_s3_compatible_server_matches_local_disk_and_survives_a_failed_commit() {
    end_to_end(Kind::S3, false);
}

#[test]
fn the_warehouse_on_azurite_matches_local_disk_and_survives_a_failed_commit() {
    end_to_end(Kind::Azure, false);
}

/// The same runs written as Delta tables: every table's log agrees with the manifest, and a
/// `deltalake` reader reads every table whole after a commit that stopped in the store or
/// between the manifest and the logs.
#[test]
fn delta_tables_on_an_s3_compatible_server_match_local_disk_and_survive_failed_commits() {
    end_to_end(Kind::S3, true);
}

#[test]
fn delta_tables_on_azurite_match_local_disk_and_survive_failed_commits() {
    end_to_end(Kind::Azure, true);
}

#[test]
fn a_store_that_cannot_be_reached_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens here
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(["sql", "--warehouse", "s3://lantern/warehouse", "-e", "select 1"])
        .env("LANTERN_WORK_DIR", tmp.path())
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("LANTERN_STORE_RETRY_SECONDS", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("s3://lantern/warehouse") && stderr.contains("cannot open the warehouse"), "{stderr}");
}
