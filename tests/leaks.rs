//! The leak scan: a generated council with defects, and rows whose fields shifted (a field deleted
//! by hand from three rows of three files), loaded; then every file outside `raw/` (Parquet read
//! by pyarrow, run records, reports), the run's logs and `lantern sql` exports of every quarantine
//! table are searched for the UPNs the landing holds and for the shifted rows' dates of birth.
//! Every value of a month-protected column in `quarantine` must be a first of the month.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    common::all_files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "csv")).collect()
}

#[test]
fn no_identifier_or_full_date_of_birth_leaves_the_raw_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let gen = tmp.path().join("gen");
    common::ok(&["generate", "--out", gen.to_str().unwrap(), "--scale", "0.02", "--seed", "11", "--defect-rate", "0.05"]);
    let landing = gen.join("landing");

    // a field deleted from three rows of three files that hold UPNs and dates of birth
    let dob_cols = Regex::new(r"(?i)^(DOB|dob|PersonBirthDate|BirthDate|date_of_birth)$").unwrap();
    let mut shifted_dobs: BTreeSet<String> = BTreeSet::new();
    let mut edited = 0;
    for f in csv_files(&landing) {
        if edited == 3 {
            break;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let Some(header) = lines.first().cloned() else { continue };
        let cols: Vec<&str> = header.split(',').collect();
        let (Some(upn), Some(dob)) = (cols.iter().position(|c| c.eq_ignore_ascii_case("upn")), cols.iter().position(|c| dob_cols.is_match(c))) else { continue };
        if lines.len() < 10 || upn == 0 {
            continue;
        }
        for line in lines.iter_mut().skip(2).step_by(3).take(3) {
            let mut cells: Vec<&str> = line.split(',').collect();
            if cells.len() != cols.len() {
                continue;
            }
            shifted_dobs.insert(cells[dob].to_string());
            cells.remove(upn.min(dob) - 1);
            *line = cells.join(",");
        }
        std::fs::write(&f, format!("{}\n", lines.join("\n"))).unwrap();
        edited += 1;
    }
    assert_eq!(edited, 3, "three CSVs with UPN and DOB columns to edit");
    shifted_dobs.retain(|d| d.len() >= 8);
    assert!(shifted_dobs.len() >= 5, "{shifted_dobs:?}");

    // every UPN in the landing folder's text files
    let upn_re = Regex::new(r"\b[A-HJKMNP-RT-Z][0-9]{11}[0-9A-HJKMNP-RT-Z]\b").unwrap();
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for f in common::all_files(&landing) {
        if let Ok(text) = std::fs::read_to_string(&f) {
            secrets.extend(upn_re.find_iter(&text).map(|m| m.as_str().to_string()));
        }
    }
    assert!(secrets.len() > 1000, "only {} UPNs found in the landing folder", secrets.len());
    secrets.extend(shifted_dobs.iter().cloned());

    let warehouse = tmp.path().join("w");
    let out = common::lantern(&["run", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    let mut texts: Vec<(String, String)> = vec![
        ("the run's standard output".into(), String::from_utf8_lossy(&out.stdout).to_string()),
        ("the run's log".into(), String::from_utf8_lossy(&out.stderr).to_string()),
    ];

    // lantern sql exports of every quarantine table
    let tables = common::sql_json(&warehouse, "select table_schema || '.' || table_name as t from information_schema.tables where table_catalog = 'quarantine'");
    assert!(tables.len() >= 10, "{tables:?}");
    for t in &tables {
        let name = format!("quarantine.{}", t["t"].as_str().unwrap());
        let file = tmp.path().join(format!("{name}.csv"));
        common::ok(&["sql", "--warehouse", warehouse.to_str().unwrap(), "-e", &format!("select * from {name}"), "--format", "csv", "--output", file.to_str().unwrap()]);
        texts.push((format!("lantern sql export of {name}"), std::fs::read_to_string(&file).unwrap()));
    }
    // every other file outside raw/: text as it is, Parquet through pyarrow
    let mut parquet = vec![];
    for f in common::all_files(&warehouse) {
        let rel = f.strip_prefix(&warehouse).unwrap();
        if rel.starts_with("raw") {
            continue;
        }
        if f.extension().is_some_and(|e| e == "parquet") {
            parquet.push(f.display().to_string());
        } else if let Ok(text) = std::fs::read_to_string(&f) {
            texts.push((rel.display().to_string(), text));
        }
    }
    for (what, text) in &texts {
        let found: Vec<&String> = secrets.iter().filter(|s| text.contains(s.as_str())).take(5).collect();
        assert!(found.is_empty(), "{what} holds {} identifier(s) or date(s) of birth", found.len());
    }
    let secrets_file = tmp.path().join("secrets.txt");
    std::fs::write(&secrets_file, secrets.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap();
    let list_file = tmp.path().join("parquet.txt");
    std::fs::write(&list_file, parquet.join("\n")).unwrap();
    let script = r#"
import sys, re, pyarrow.parquet as pq
secrets = set(open(sys.argv[1]).read().split("\n"))
dates = [x for x in secrets if "/" in x or "-" in x]
upn = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")
found, files = 0, 0
for path in open(sys.argv[2]).read().split("\n"):
    t = pq.read_table(path)
    files += 1
    for name in t.column_names:
        for v in t.column(name).to_pylist():
            if not isinstance(v, str):
                continue
            if v in secrets or any(m in secrets for m in upn.findall(v)) or any(d in v for d in dates):
                found += 1
                print("leak in", path.split("/w/")[-1], name, file=sys.stderr)
print(files, found)
"#;
    let out = common::python(&["-c", script, secrets_file.to_str().unwrap(), list_file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let nums: Vec<u64> = said.split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert!(nums[0] > 50, "only {} Parquet files scanned", nums[0]);
    assert_eq!(nums[1], 0, "Parquet cells hold identifiers or dates of birth: {}", String::from_utf8_lossy(&out.stderr).lines().take(10).collect::<Vec<_>>().join("\n"));

    // the quarantine's month-protected columns hold firsts of the month only
    let project = lantern::project::Project::embedded().unwrap();
    for t in &project.tables {
        let months: Vec<&str> = t.columns.iter().filter(|c| c.protect.as_deref() == Some("month")).map(|c| c.name.as_str()).collect();
        if months.is_empty() || !tables.iter().any(|x| x["t"].as_str() == Some(&format!("{}.{}", t.source, t.name))) {
            continue;
        }
        for c in months {
            let rows = common::sql_json(
                &warehouse,
                &format!("select count(*) as n from quarantine.{}.{} where \"{c}\" is not null and \"{c}\" not like '%-01' and \"{c}\" !~ '^[0-9a-f]{{32}}$'", t.source, t.name),
            );
            assert_eq!(rows[0]["n"].as_u64(), Some(0), "quarantine.{}.{}.{c} holds full dates", t.source, t.name);
        }
    }
}
