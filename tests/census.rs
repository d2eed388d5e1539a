//! The DfE school census (COLLECT Blade export CSVs) end to end, on the shared fixtures
//! (../shared/fixtures/school_census: autumn 2024 and spring 2025 modules).

mod common;
use common::*;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Which table each Blade module lands in.
const MODULES: &[(&str, &str)] = &[
    ("pupilonroll", "pupil_on_roll"),
    ("pupilnolongeronroll", "pupil_no_longer_on_roll"),
    ("fsmperiodsonroll", "fsm_periods"),
    ("fsmperiod", "fsm_periods"),
    ("termlyexclusionsonroll", "exclusions_on_roll"),
    ("termlyexclusionsoffroll", "exclusions_off_roll"),
    ("termlysessiondetailsonroll", "sessions_on_roll"),
    ("termlysessiondetailsoffroll", "sessions_off_roll"),
    ("summerhalfterm2sessiondetailsonroll", "summer_sessions_on_roll"),
    ("summerhalfterm2sessiondetailsoffroll", "summer_sessions_off_roll"),
    ("senneeds", "sen_needs"),
    ("addressesoffroll", "addresses_off_roll"),
];

fn census_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("school_census")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 18, "{files:?}");
    files
}

/// `2025_spring_fsmperiod.csv` → (`2025-spring`, `fsm_periods`)
fn census_and_table(file: &str) -> (String, &'static str) {
    let stem = file.trim_end_matches(".csv");
    let mut parts = stem.splitn(3, '_');
    let (year, term, module) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let table = MODULES.iter().find(|(m, _)| *m == module).unwrap_or_else(|| panic!("no table for module {module}")).1;
    (format!("{year}-{term}"), table)
}

/// Runs the census pipeline alone (other pipelines load shipped reference data on every run).
fn run(landing: &Path, warehouse: &Path) -> String {
    ok(&["run", "census", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "201", "--as-of", "2025-03-31"])
}

/// Rows per file as Python's csv module counts them.
fn python_counts(files: &[PathBuf]) -> BTreeMap<String, u64> {
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["tests/tools/count_rows.py"];
    args.extend(paths.iter().map(String::as_str));
    let out = python(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let by_path: BTreeMap<String, u64> = serde_json::from_slice(&out.stdout).unwrap();
    by_path.into_iter().map(|(p, n)| (Path::new(&p).file_name().unwrap().to_string_lossy().to_string(), n)).collect()
}

fn file_record<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["files"].as_array().unwrap().iter().find(|f| f["file"] == name).unwrap_or_else(|| panic!("{name} missing from the run record"))
}

/// Scans every Parquet string cell under the folders for the fixtures' pupil identifiers (UPN,
/// former UPN, ULN, names, the pupil table ids) and full postcodes: a cell equal to one, or holding
/// a hyphenated one (the fixture ids are `8hex-…`), is a leak. One pass over the cells, so it stays
/// fast with tens of thousands of identifiers.
const SCAN: &str = r#"
import csv, glob, json, pathlib, sys
import pyarrow as pa, pyarrow.parquet as pq
fixtures, folders = sys.argv[1], sys.argv[2:]
ID_COLS = ["upn", "formerupn", "uniquelearnernumber", "surname", "forename", "middlenames",
           "preferredsurname", "formersurname", "pupilonrolltableid", "pupilnolongeronrolltableid", "postcode"]
ids = set()
for f in glob.glob(fixtures + "/*.csv"):
    with open(f, newline="", encoding="utf-8-sig") as h:
        for row in csv.DictReader(h):
            for c in ID_COLS:
                v = (row.get(c) or "").strip().upper()
                if v:
                    ids.add(v)
hyphenated = {i for i in ids if "-" in i}
shapes = {(i.index("-"), len(i)) for i in hyphenated}
leaks, cells = set(), 0
for folder in folders:
    for f in sorted(pathlib.Path(folder).rglob("*.parquet")):
        t = pq.read_table(f)
        for name in t.column_names:
            if not pa.types.is_string(t.schema.field(name).type):
                continue
            for v in t.column(name).to_pylist():
                if v is None:
                    continue
                cells += 1
                s = v.strip().upper()
                hit = s in ids
                p = s.find("-")
                while not hit and p >= 0:
                    hit = any(s[p - o:p - o + n] in hyphenated for o, n in shapes if p >= o)
                    p = s.find("-", p + 1)
                if hit:
                    leaks.add(f"{f.relative_to(folder)}: column {name}")
print(json.dumps({"ids": len(ids), "cells": cells, "leaks": sorted(leaks)[:50]}))
sys.exit(1 if leaks or cells == 0 or len(ids) < 1000 else 0)
"#;

#[test]
fn every_census_file_lands_counted_partitioned_and_protected() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing"), tmp.path().join("warehouse"));
    let files = census_files();
    land(&landing, &files);
    run(&landing, &warehouse);
    let records = run_records(&warehouse);
    assert_eq!(records.len(), 1);
    let rec = &records[0];

    // every file: recognised as its module's table, every row read, read = clean + quarantined,
    // and read = what Python's csv module counts
    let expected = python_counts(&files);
    assert_eq!(rec["files"].as_array().unwrap().len(), expected.len());
    for (name, want) in &expected {
        let f = file_record(rec, name);
        let (census, table) = census_and_table(name);
        assert_eq!(f["status"], "received", "{name}: {f}");
        let (read, clean, quarantined) = (f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap());
        assert_eq!(read, *want, "{name}: rows read");
        assert_eq!(read, clean + quarantined, "{name}: read = clean + quarantined");
        // the fixtures are valid exports: every coded column was checked against their values
        assert_eq!(quarantined, 0, "{name}: valid rows quarantined: {}", f["tables"]);
        let tables = f["tables"].as_array().unwrap();
        assert_eq!(tables.len(), 1, "{name}");
        assert_eq!(tables[0]["table"], format!("census.{table}"), "{name}");
        assert_eq!(tables[0]["partition"], format!("la_key=201/census_key={census}"), "{name}");
        assert_eq!(tables[0]["unknown_columns"], serde_json::json!([]), "{name}");
    }

    // UPNs (hex strings in the fixtures) are flagged on every pupil row, not quarantined
    for name in ["2024_autumn_pupilonroll.csv", "2025_spring_pupilonroll.csv"] {
        let f = file_record(rec, name);
        let flagged = &f["tables"][0]["rules_flagged"];
        assert_eq!(flagged["pupil_on_roll.upn.pattern"], expected[name], "{name}: {flagged}");
        assert!(f["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("not a UPN")), "{name}: {}", f["warnings"]);
    }

    // the clean tables answer SQL, per census term
    let per_census = sql_json(&warehouse, "select census, count(*) as n from clean.census.pupil_on_roll group by census order by census");
    assert_eq!(
        per_census,
        vec![
            serde_json::json!({"census": "2024-autumn", "n": expected["2024_autumn_pupilonroll.csv"]}),
            serde_json::json!({"census": "2025-spring", "n": expected["2025_spring_pupilonroll.csv"]}),
        ]
    );
    let fsm = sql_json(&warehouse, "select census, count(*) as n from clean.census.fsm_periods group by census order by census");
    assert_eq!(
        fsm,
        vec![
            serde_json::json!({"census": "2024-autumn", "n": expected["2024_autumn_fsmperiodsonroll.csv"]}),
            serde_json::json!({"census": "2025-spring", "n": expected["2025_spring_fsmperiod.csv"]}),
        ]
    );
    let la = sql_json(&warehouse, "select distinct la from clean.census.sessions_on_roll");
    assert_eq!(la, vec![serde_json::json!({"la": "201"})]);
    // pseudonymised Blade ids still join child modules to their pupils
    let joined = sql_json(
        &warehouse,
        "select count(*) as n from clean.census.fsm_periods f join clean.census.pupil_on_roll p \
         on f.sourceid = p.sourceid and f.pupilonrolltableid = p.pupilonrolltableid and f.census = p.census",
    );
    assert_eq!(joined[0]["n"], expected["2024_autumn_fsmperiodsonroll.csv"] + expected["2025_spring_fsmperiod.csv"]);
    // codes: FIXD (fixed period) is read as SUSP; SEN provision keeps its codes
    let cats = sql_json(&warehouse, "select distinct category from clean.census.exclusions_on_roll order by 1");
    assert_eq!(cats, serde_json::json!([{"category": "LNCH"}, {"category": "PERM"}, {"category": "SUSP"}]).as_array().unwrap().clone());
    let sen = sql_json(&warehouse, "select distinct senprovision from clean.census.pupil_on_roll where senprovision is not null order by 1");
    let sen: Vec<&str> = sen.iter().map(|r| r["senprovision"].as_str().unwrap()).collect();
    assert_eq!(sen, ["A", "E", "K", "N", "P", "S"], "legacy S/A/P are kept beside E/K/N");
    // typed columns come back typed; names are gone; dates of birth are coarsened; postcodes too
    let types = sql_json(
        &warehouse,
        "select column_name, data_type from information_schema.columns where table_catalog = 'clean' and table_schema = 'census' \
         and table_name = 'pupil_on_roll' and column_name in ('dob', 'termlysessionspossible', 'hoursatsetting', 'schoollunchtaken', 'upn', 'surname', 'census') order by 1",
    );
    assert_eq!(
        types,
        serde_json::json!([
            {"column_name": "census", "data_type": "Utf8"},
            {"column_name": "dob", "data_type": "Date32"},
            {"column_name": "hoursatsetting", "data_type": "Float64"},
            {"column_name": "schoollunchtaken", "data_type": "Boolean"},
            {"column_name": "termlysessionspossible", "data_type": "Int64"},
            {"column_name": "upn", "data_type": "Utf8"}
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let dob = sql_json(&warehouse, "select count(*) as n, count(dob) as d, sum(case when extract(day from dob) = 1 then 1 else 0 end) as firsts from clean.census.pupil_on_roll");
    assert_eq!(dob[0]["n"], dob[0]["d"], "{dob:?}");
    assert_eq!(dob[0]["n"], dob[0]["firsts"], "dates of birth not coarsened to the month: {dob:?}");
    let pc = sql_json(&warehouse, "select count(*) as n, max(length(postcode)) as longest from clean.census.addresses_off_roll where postcode like '% %'");
    assert_eq!(pc[0]["n"], 0, "{pc:?}");

    // every Parquet file reads back as Power BI-like readers expect
    let out = python(&["tests/tools/read_back.py", warehouse.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // no pupil identifier, name or full postcode from the fixtures in any Parquet written
    let out = python(&[
        "-c",
        SCAN,
        fixtures().join("school_census").to_str().unwrap(),
        warehouse.join("clean").to_str().unwrap(),
        warehouse.join("quarantine").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "identifier scan: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // nor in the run record beside the data
    let rec_text = std::fs::read_to_string(all_files(&warehouse.join("_runs")).pop().unwrap()).unwrap();
    let upns = fixture_upns();
    for (p, _) in rec_text.match_indices('-') {
        for (before, len) in [(8, 12), (8, 10)] {
            if let Some(s) = p.checked_sub(before).and_then(|a| rec_text.get(a..a + len)) {
                assert!(!upns.contains(s), "the run record names a UPN");
            }
        }
    }
}

/// UPNs, former UPNs and ULNs of the pupil modules. They come before any quoted field of a row,
/// so a plain split on commas finds them.
fn fixture_upns() -> HashSet<String> {
    let mut out = HashSet::new();
    for f in census_files().iter().filter(|p| p.to_string_lossy().contains("pupil")) {
        let text = std::fs::read_to_string(f).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let idx: Vec<usize> = ["upn", "formerupn", "uniquelearnernumber"].iter().map(|c| header.iter().position(|h| h == c).unwrap()).collect();
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            for &i in &idx {
                out.insert(f[i].to_string());
            }
        }
    }
    assert!(out.len() > 10_000, "{}", out.len());
    out
}

#[test]
fn an_unknown_sen_provision_code_quarantines_that_row_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing"), tmp.path().join("warehouse"));
    std::fs::create_dir_all(&landing).unwrap();
    let name = "2025_spring_pupilonroll.csv";
    let src = fixtures().join("school_census").join(name);
    let text = std::fs::read_to_string(&src).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let sp = header.iter().position(|h| *h == "senprovision").unwrap();
    let upn_col = header.iter().position(|h| *h == "upn").unwrap();
    // a row without quoted fields, holding a valid code, a little way into the file
    let at = (100..lines.len()).find(|&i| !lines[i].contains('"') && !lines[i].split(',').nth(sp).unwrap().is_empty()).unwrap();
    let mut fields: Vec<String> = lines[at].split(',').map(str::to_string).collect();
    assert_eq!(fields.len(), header.len());
    let raw_upn = fields[upn_col].clone();
    fields[sp] = "Q".into();
    lines[at] = fields.join(",");
    std::fs::write(landing.join(name), lines.join("\n") + "\n").unwrap();
    run(&landing, &warehouse);

    let rows = python_counts(&[src])[name];
    let rec = &run_records(&warehouse)[0];
    let f = file_record(rec, name);
    assert_eq!(f["status"], "received");
    assert_eq!((f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap()), (rows, rows - 1, 1));
    assert_eq!(f["tables"][0]["rules_broken"], serde_json::json!({"pupil_on_roll.senprovision.codes": 1}));

    let q = sql_json(&warehouse, "select _file, _row, _rule, _column, _message, senprovision, upn, census from quarantine.census.pupil_on_roll");
    assert_eq!(q.len(), 1, "{q:?}");
    let line = at as u64 + 1; // physical line: the header is line 1
    assert_eq!(q[0]["_file"], name);
    assert_eq!(q[0]["_row"], line);
    assert_eq!(q[0]["_rule"], "pupil_on_roll.senprovision.codes");
    assert_eq!(q[0]["_column"], "senprovision");
    assert_eq!(q[0]["senprovision"], "Q", "quarantine keeps the value as received");
    assert_eq!(q[0]["census"], "2025-spring");
    let msg = q[0]["_message"].as_str().unwrap();
    for part in [name, &format!("row {line}"), "senprovision", "'Q'", "census.sen_provision", "E, K, N"] {
        assert!(msg.contains(part), "message {msg:?} lacks {part:?}");
    }
    // the quarantined row is protected like a clean one
    let upn = q[0]["upn"].as_str().unwrap();
    assert_ne!(upn, raw_upn);
    assert_eq!(upn.len(), 32, "{upn}");

    let clean = sql_json(&warehouse, "select count(*) as n from clean.census.pupil_on_roll");
    assert_eq!(clean[0]["n"], rows - 1);
}
