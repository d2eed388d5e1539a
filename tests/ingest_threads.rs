//! The ingest core reads and checks files on several threads and settles them (keys,
//! references, writing) in the run's order: the warehouse a run writes must not depend on the
//! number of threads, byte for byte, row order included.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// Every file under `clean/` and `quarantine/` with its bytes, by path inside the warehouse;
/// the DfE flag tables apart (their `run_id` names the run), as their rows.
fn zones(warehouse: &Path) -> (BTreeMap<PathBuf, Vec<u8>>, Vec<serde_json::Value>) {
    let mut files = BTreeMap::new();
    for zone in ["clean", "quarantine"] {
        for f in all_files(&warehouse.join(zone)) {
            let rel = f.strip_prefix(warehouse).unwrap().to_path_buf();
            if !rel.starts_with("clean/dfe") {
                files.insert(rel, std::fs::read(&f).unwrap());
            }
        }
    }
    let mut flags = sql_json(warehouse, "select * from clean.dfe.cin_flags");
    flags.extend(sql_json(warehouse, "select * from clean.dfe.ssda903_flags"));
    for r in &mut flags {
        r.as_object_mut().map(|o| o.remove("run_id"));
    }
    // a query reads the flag files in any order
    flags.sort_by_key(|r| r.to_string());
    (files, flags)
}

fn run_with_threads(landing: &Path, warehouse: &Path, threads: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(["run", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"])
        .env("LANTERN_PSEUDONYM_KEY", "0123456789abcdef-threads-test-key")
        .env("LANTERN_READ_THREADS", threads)
        .env_remove("LANTERN_CONFIG")
        .output()
        .unwrap();
    // 0: clean; 1: some files were refused (the defects make none so here)
    assert!(out.status.code().is_some_and(|c| c <= 1), "run with {threads} thread(s): {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn one_thread_and_many_write_byte_identical_clean_and_quarantine() {
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    // two councils, every export shape (CSV, XLSX workbooks, XML), 2 % of rows given defects:
    // quarantined rows, duplicate keys across files, references to rows that failed
    ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.04", "--seed", "3", "--years", "2", "--councils", "2", "--defect-rate", "0.02", "--social-care", "both"]);
    let landing = gen.join("landing");
    let one = tmp.path().join("one");
    let many = tmp.path().join("many");
    run_with_threads(&landing, &one, "1");
    run_with_threads(&landing, &many, "6");
    let (a, flags_a) = zones(&one);
    let (b, flags_b) = zones(&many);
    assert!(a.keys().any(|p| p.starts_with("quarantine")), "the defects quarantine rows");
    assert!(a.len() > 100, "a landing of many files: {} files written", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same files");
    let differ: Vec<&PathBuf> = a.iter().filter(|(p, bytes)| b.get(*p) != Some(bytes)).map(|(p, _)| p).collect();
    assert!(differ.is_empty(), "files that differ between 1 and 6 threads: {differ:?}");
    assert!(!flags_a.is_empty(), "the CIN census raises DfE flags");
    assert!(flags_a.iter().any(|f| f["return"] == "ssda903"), "the 903 returns raise DfE flags");
    assert!(flags_a == flags_b, "the DfE flags differ: {} with 1 thread, {} with 6", flags_a.len(), flags_b.len());
    // and the run records agree on every file's counts
    let counts = |w: &Path| -> Vec<(String, u64, u64, u64)> {
        let rec = run_records(w).pop().unwrap();
        let mut v: Vec<_> = rec["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["file"].as_str().unwrap().to_string(), f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(counts(&one), counts(&many));
}
