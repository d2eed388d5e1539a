//! Issue 20: Delta Lake tables (`format = "delta"`, LANTERN_FORMAT=delta, `--format delta`).
//! Read back with the `deltalake` Python package (delta-rs, as Fabric and Power BI's
//! DeltaLake.Table read: through the log only) and compared row for row with a Parquet warehouse
//! of the same council; read by Lantern's own DataFusion through the logs; and a commit stopped
//! part-way through its Delta logs leaves every table readable at a whole version.
//! (On Azurite and the S3 server: tests/object_stores.rs.)

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn lantern_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lantern"));
    c.args(args).env("LANTERN_PSEUDONYM_KEY", KEY).env_remove("LANTERN_CONFIG").env_remove("LANTERN_WAREHOUSE").env_remove("LANTERN_FORMAT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run lantern")
}

fn must(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed\nstdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every table `lantern sql` sees (`zone/source/table`) and its row count.
fn counts(warehouse: &Path) -> BTreeMap<String, u64> {
    let names: Vec<String> = sql_json(
        warehouse,
        "select table_catalog || '/' || table_schema || '/' || table_name as t from information_schema.tables \
         where table_catalog in ('clean','quarantine','marts','published') and table_schema <> 'information_schema' order by 1",
    )
    .iter()
    .map(|r| r["t"].as_str().unwrap().to_string())
    .collect();
    assert!(!names.is_empty());
    let q = names.iter().map(|n| format!("select '{n}' as t, count(*) as n from {}", n.replace('/', "."))).collect::<Vec<_>>().join(" union all ");
    sql_json(warehouse, &q).iter().map(|r| (r["t"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap())).collect()
}

/// Parquet files in the table zones under `dir`.
fn parquet_files(dir: &Path) -> Vec<String> {
    all_files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet") && !p.components().any(|c| c.as_os_str() == "_delta_log" || c.as_os_str() == "_staging"))
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().to_string())
        .filter(|p| ["clean/", "quarantine/", "marts/", "published/"].iter().any(|z| p.starts_with(z)))
        .collect()
}

#[test]
fn the_demo_written_as_delta_reads_row_for_row_as_the_parquet_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, delta) = (tmp.path().join("plain"), tmp.path().join("delta"));
    must(lantern_env(&["demo", "--dir", plain.to_str().unwrap(), "--scale", "0.05", "--seed", "5"], &[]), "the Parquet demo");
    must(lantern_env(&["demo", "--dir", delta.to_str().unwrap(), "--scale", "0.05", "--seed", "5"], &[("LANTERN_FORMAT", "delta")]), "LANTERN_FORMAT=delta lantern demo");
    let (plain, delta) = (plain.join("warehouse"), delta.join("warehouse"));

    // every table is a Delta table with the Parquet warehouse's columns, types and rows
    let out = python_delta(
        &["tests/tools/delta_compare.py", plain.to_str().unwrap(), delta.to_str().unwrap(), "--ignore", "run_id"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success() && report["problems"].as_array().unwrap().is_empty(), "{report:#}");
    assert!(report["tables"].as_u64().unwrap() > 100 && report["rows"].as_u64().unwrap() > 10_000, "{report}");

    // Lantern's own DataFusion reads the logs: the same tables with the same rows
    let (a, b) = (counts(&plain), counts(&delta));
    assert_eq!(a, b, "lantern sql reads the Delta warehouse differently");
    // and the power BI-safe profile holds for the files the logs list
    let out = python(&["tests/tools/read_back.py", delta.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn run(landing: &Path, warehouse: &Path, env: &[(&str, &str)]) -> Output {
    lantern_env(&["run", "mosaic", "--landing", landing.to_str().unwrap(), "--la", "201", "--as-of", "2024-03-31", "--warehouse", warehouse.to_str().unwrap()], env)
}

#[test]
fn a_delta_commit_stopped_part_way_leaves_every_table_readable_and_the_next_writer_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = mosaic_landings(tmp.path());
    let (wh, reference) = (tmp.path().join("warehouse"), tmp.path().join("reference"));
    let delta = [("LANTERN_FORMAT", "delta")];
    // what the second landing gives, written as plain Parquet
    must(run(&a, &reference, &[]), "the reference run");
    must(run(&b, &reference, &[]), "the reference run");
    let want_b = counts(&reference);

    must(run(&a, &wh, &delta), "the first Delta run");
    let want_a = counts(&wh);
    let tables: Vec<String> = want_a.keys().cloned().collect();
    let base = wh.to_str().unwrap();
    let first = delta_read(base, &tables, &[]);
    for (t, n) in &want_a {
        assert_eq!(first[t]["rows"].as_u64(), Some(*n), "{t}: {}", first[t]);
    }
    assert_ne!(want_a, want_b, "the second landing must change the warehouse for the test to mean anything");

    // the second run stops before its third table's Delta commit: the run fails, and a reader
    // that knows only Delta reads every table whole, at the old version or the new
    let out = run(&b, &wh, &[("LANTERN_FORMAT", "delta"), ("FAILPOINTS", "delta-commit=2*off->return")]);
    assert!(!out.status.success(), "a run whose Delta commit stopped reported success");
    assert!(String::from_utf8_lossy(&out.stderr).contains("failpoint delta-commit"), "{}", String::from_utf8_lossy(&out.stderr));
    let mid = delta_read(base, &tables, &[]);
    let (mut moved, mut stayed) = (0, 0);
    for t in &tables {
        let v = &mid[t];
        assert!(v.get("error").is_none(), "{t}: {v}");
        let version = v["version"].as_u64().unwrap();
        if version == first[t]["version"].as_u64().unwrap() {
            assert_eq!(v["rows"], first[t]["rows"], "{t}: at the old version with other rows");
            stayed += 1;
        } else {
            assert_eq!(v["rows"].as_u64(), Some(want_b.get(t).copied().unwrap_or(0)), "{t}: at a new version with rows the run did not write");
            moved += 1;
        }
    }
    assert!(moved >= 1 && stayed >= 1, "the fault should fall between two tables' commits ({moved} moved, {stayed} stayed)");

    // the next process to open the warehouse finishes the journalled commit (the models were
    // not built: the run stopped before them)
    let recovered = counts(&wh);
    for (t, n) in want_b.iter().filter(|(t, _)| t.starts_with("clean/") || t.starts_with("quarantine/")) {
        assert_eq!(recovered.get(t), Some(n), "{t}: the interrupted commit was not finished");
    }
    let done = delta_read(base, &tables, &[]);
    for t in tables.iter().filter(|t| t.starts_with("clean/")) {
        assert_eq!(done[t]["rows"].as_u64(), Some(want_b.get(t).copied().unwrap_or(0)), "{t}: {}", done[t]);
    }

    // the run again: every log lists what the second landing gives, and no replaced file is
    // left beside them
    must(run(&b, &wh, &delta), "the second Delta run, again");
    assert_eq!(counts(&wh), want_b, "the Delta warehouse differs from the Parquet one");
    let last = delta_read(base, &tables, &[]);
    let mut listed = vec![];
    for t in &tables {
        let v = &last[t];
        assert_eq!(v["rows"].as_u64(), Some(want_b.get(t).copied().unwrap_or(0)), "{t}: {v}");
        listed.extend(v["files"].as_array().unwrap().iter().map(|f| format!("{t}/{}", f.as_str().unwrap())));
    }
    listed.sort();
    assert_eq!(parquet_files(&wh), listed, "Parquet files on disk that no Delta log lists (or the reverse)");

    // written as Parquet again, a table loses its log and reads as a folder
    must(run(&a, &wh, &[]), "a Parquet run over the Delta warehouse");
    assert_eq!(counts(&wh), want_a);
    assert!(!wh.join("clean/mosaic/ssda903_episodes/_delta_log").exists());
}
