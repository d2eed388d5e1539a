//! The Synergy source: the SEN2 return lands in the same tables, with the same values, whether it
//! comes as the XML Synergy produces or as COLLECT's Blade CSVs; Annex A SEND lists and the EHCP
//! placement-cost export land too, and their bad rows (only those) go to quarantine, naming the
//! column. Fixtures: tests/fixtures/synergy (hand-written; the Blade CSVs hold the XML's data).

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

fn synergy_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/synergy").join(name)
}

fn blade_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(synergy_fixture("blade")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    assert_eq!(v.len(), 9, "one Blade CSV per SEN2 module: {v:?}");
    v
}

fn run_synergy(landing: &Path, warehouse: &Path) {
    ok(&["run", "synergy", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "838", "--as-of", "2024-03-31"]);
}

/// The SEN2 tables and the rows the fixture holds in each.
const SEN2_TABLES: [(&str, usize); 9] = [
    ("sen2_header", 1),
    ("sen2_person", 6),
    ("sen2_requests", 7),
    ("sen2_assessment", 6),
    ("sen2_named_plan", 4),
    ("sen2_plan_detail", 5),
    ("sen2_active_plans", 3),
    ("sen2_placement_detail", 5),
    ("sen2_sen_need", 7),
];

/// COLLECT's own columns: they link a Blade export's modules and have no place in the XML.
fn is_blade_id(column: &str) -> bool {
    column.ends_with("tableid") || column.ends_with("orderseqcolumn") || column == "NativeId" || column == "sourceid"
}

/// Columns an XML load copies from the record's ancestors (absolute `xml` paths).
fn xml_parent_keys(table: &str) -> &'static [&'static str] {
    match table {
        "sen2_header" | "sen2_person" => &[],
        "sen2_requests" => &["UPN", "UniqueLearnerNumber"],
        _ => &["UPN", "UniqueLearnerNumber", "ReceivedDate"],
    }
}

fn clean_rows(warehouse: &Path, table: &str) -> Vec<Map<String, Value>> {
    sql_json(warehouse, &format!("select * from clean.synergy.{table}"))
        .into_iter()
        .map(|v| match v {
            Value::Object(m) => m,
            other => panic!("not a row: {other}"),
        })
        .collect()
}

fn sorted(mut rows: Vec<Map<String, Value>>) -> Vec<Map<String, Value>> {
    rows.sort_by_key(|r| Value::Object(r.clone()).to_string());
    rows
}

/// Every file of the last run landed, all its rows clean, and rows read = clean + quarantined.
fn assert_all_clean(warehouse: &Path) -> Value {
    let rec = run_records(warehouse).pop().unwrap();
    for f in rec["files"].as_array().unwrap() {
        assert_eq!(f["status"], "received", "{f}");
        let (read, clean, quar) = (f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap());
        assert_eq!(read, clean + quar, "{f}");
        assert!(read > 0, "{f}");
        assert_eq!(quar, 0, "{f}");
        for t in f["tables"].as_array().unwrap() {
            assert_eq!(t["rules_flagged"].as_object().map_or(0, |m| m.len()), 0, "no rule should flag the fixture: {t}");
        }
    }
    rec
}

#[test]
fn sen2_xml_and_blade_csvs_land_the_same_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let (lx, lc) = (tmp.path().join("landing_xml"), tmp.path().join("landing_blade"));
    land(&lx, &[synergy_fixture("sen2_2024.xml")]);
    land(&lc, &blade_files());
    let (wx, wc) = (tmp.path().join("warehouse_xml"), tmp.path().join("warehouse_blade"));
    run_synergy(&lx, &wx);
    run_synergy(&lc, &wc);

    let rec_x = assert_all_clean(&wx);
    let xml_file = &rec_x["files"][0];
    assert_eq!(xml_file["rows_read"], 44, "{xml_file}");
    assert!(xml_file["format"].as_str().unwrap().contains("sen2"), "{xml_file}");
    let rec_c = assert_all_clean(&wc);
    assert_eq!(rec_c["files"].as_array().unwrap().len(), 9);
    assert!(rec_c["warnings"].as_array().is_none_or(|w| w.is_empty()), "every Blade reference was checked: {}", rec_c["warnings"]);
    // each Blade file went to its own module's table
    let mut seen: Vec<String> = rec_c["files"].as_array().unwrap().iter().map(|f| f["tables"][0]["table"].as_str().unwrap().to_string()).collect();
    seen.sort();
    let mut want: Vec<String> = SEN2_TABLES.iter().map(|(t, _)| format!("synergy.{t}")).collect();
    want.sort();
    assert_eq!(seen, want);

    // identical tables: the Blade rows got their parents' keys by `[[inherit]]`, the XML rows by
    // nesting, and COLLECT's link ids are not kept
    for (table, n) in SEN2_TABLES {
        let (x, c) = (clean_rows(&wx, table), clean_rows(&wc, table));
        assert_eq!(x.len(), n, "{table} from XML");
        for r in x.iter().chain(&c) {
            assert!(!r.keys().any(|k| is_blade_id(k)), "{table}: a row keeps a Blade id: {r:?}");
            assert_eq!(r["la"], "838");
            assert_eq!(r["year"], "2024", "the collection year is the partition");
        }
        for key in xml_parent_keys(table) {
            assert!(c.iter().all(|r| r.contains_key(*key) || *key == "UniqueLearnerNumber"), "{table}: a Blade row lacks its parent's {key}");
        }
        assert_eq!(sorted(x), sorted(c), "{table}: the XML and the Blade CSVs must land the same rows");
    }
    let schemas = |w: &Path| -> Vec<Value> {
        sql_json(w, "select table_name, column_name, data_type from information_schema.columns where table_catalog = 'clean' and table_schema = 'synergy' and table_name like 'sen2%' order by 1, ordinal_position")
    };
    assert_eq!(schemas(&wx), schemas(&wc), "the same columns and types");

    // values as the return means them, whichever shape they came in
    let person = sql_json(&wx, "select \"Sex\", \"Ethnicity\", cast(\"PersonBirthDate\" as varchar) as dob, \"PostCode\", \"UPN\" from clean.synergy.sen2_person where \"Ethnicity\" = 'BAFR'");
    assert_eq!(person.len(), 1);
    assert_eq!(person[0]["dob"], "2006-04-01", "dates of birth are kept to the month");
    assert_eq!(person[0]["PostCode"], "BH15", "postcodes are kept to their district");
    assert_eq!(person[0]["UPN"].as_str().unwrap().len(), 32, "UPNs are pseudonyms");
    assert!(person[0].get("Surname").is_none());
    let needs = sql_json(&wc, "select \"SENtype\" as t from clean.synergy.sen2_sen_need where \"SENtypeRank\" = 1 order by 1");
    let needs: Vec<&str> = needs.iter().map(|r| r["t"].as_str().unwrap()).collect();
    assert_eq!(needs, ["ASD", "MLD", "SLD"]);
    let bools = sql_json(&wc, "select count(*) as n from clean.synergy.sen2_assessment where \"Week20\" and \"AssessmentOutcome\" = 'Y'");
    assert_eq!(bools[0]["n"], 1, "Blade true/false and XML 1/0 are the same booleans");
    let ceased = sql_json(&wx, "select cast(\"CeaseDate\" as varchar) as d, \"CeaseReason\" as r from clean.synergy.sen2_named_plan where \"CeaseDate\" is not null");
    assert_eq!(ceased, vec![serde_json::json!({"d": "2023-08-31", "r": "4"})]);

    // nothing identifying left the raw archive
    let mut ids: Vec<String> = vec![];
    for f in blade_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        for line in lines {
            for (h, v) in header.iter().zip(line.split(',')) {
                if matches!(*h, "surname" | "forename" | "upn" | "uniquelearnernumber" | "postcode") || h.ends_with("tableid") {
                    ids.push(v.to_string());
                }
            }
        }
    }
    ids.retain(|s| !s.is_empty());
    assert!(ids.len() > 60, "{} identifiers", ids.len());
    let ids_file = tmp.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    for w in [&wx, &wc] {
        let out = python(&["tests/tools/scan_ids.py", ids_file.to_str().unwrap(), w.join("clean").to_str().unwrap()]);
        assert!(out.status.success(), "identifier scan of {}: {}{}", w.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn blade_csvs_are_recognised_by_their_columns_whatever_their_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (named, renamed) = (tmp.path().join("named"), tmp.path().join("renamed"));
    land(&named, &blade_files());
    std::fs::create_dir_all(&renamed).unwrap();
    for (i, f) in blade_files().iter().enumerate() {
        // numbered in reverse so that no module comes in its usual order
        std::fs::copy(f, renamed.join(format!("synergy_export_2024_{:02}.csv", 20 - i))).unwrap();
    }
    let (wn, wr) = (tmp.path().join("wn"), tmp.path().join("wr"));
    run_synergy(&named, &wn);
    run_synergy(&renamed, &wr);
    for (table, n) in SEN2_TABLES {
        let a = sorted(clean_rows(&wn, table));
        assert_eq!(a.len(), n, "{table}");
        assert_eq!(a, sorted(clean_rows(&wr, table)), "{table}");
    }
}

#[test]
fn annex_a_send_and_placement_costs_land_and_only_their_bad_rows_are_quarantined() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing"), tmp.path().join("warehouse"));
    let files = [
        "Annex_A_SEND_List_1_EHCP_2024-02.csv",
        "Annex_A_SEND_List_2_SEN_Support_2024-02.csv",
        "ehcp_placement_costs_2024-02.csv",
        "sen2_2024.xml",
    ];
    land(&landing, &files.map(synergy_fixture));
    run_synergy(&landing, &warehouse);

    let rec = run_records(&warehouse).pop().unwrap();
    let mut counts = BTreeMap::new();
    for f in rec["files"].as_array().unwrap() {
        assert_eq!(f["status"], "received", "{f}");
        let (read, clean, quar) = (f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap());
        assert_eq!(read, clean + quar, "{f}");
        counts.insert(f["file"].as_str().unwrap().to_string(), (f["tables"][0]["table"].as_str().unwrap().to_string(), read, clean, quar));
    }
    assert_eq!(counts["Annex_A_SEND_List_1_EHCP_2024-02.csv"], ("synergy.annex_a_send_ehcp".into(), 4, 3, 1));
    assert_eq!(counts["Annex_A_SEND_List_2_SEN_Support_2024-02.csv"], ("synergy.annex_a_send_sen_support".into(), 3, 3, 0));
    assert_eq!(counts["ehcp_placement_costs_2024-02.csv"], ("synergy.ehcp_placement_costs".into(), 8, 6, 2));
    assert_eq!(counts["sen2_2024.xml"].3, 0);

    // exactly the bad placement-cost lines, each with the column it broke
    let q = sql_json(&warehouse, "select _row, _rule, _column, _message from quarantine.synergy.ehcp_placement_costs order by _row");
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!((q[0]["_row"].as_i64(), q[0]["_column"].as_str()), (Some(6), Some("weekly_cost")), "{q:?}");
    let m0 = q[0]["_message"].as_str().unwrap();
    assert!(m0.contains("weekly_cost") && m0.contains("1,234.5O") && m0.contains("row 6"), "{m0}");
    assert_eq!((q[1]["_row"].as_i64(), q[1]["_column"].as_str()), (Some(9), Some("setting_type")), "{q:?}");
    let m1 = q[1]["_message"].as_str().unwrap();
    assert!(m1.contains("setting_type") && m1.contains("Hospital school") && m1.contains("sen2.setting_type"), "{m1}");
    // and the Annex A SEND row whose plan date does not exist
    let q = sql_json(&warehouse, "select _row, _column, _message from quarantine.synergy.annex_a_send_ehcp");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["_row"], 5);
    assert_eq!(q[0]["_column"], "Date initial EHC plan issued");
    assert!(q[0]["_message"].as_str().unwrap().contains("31/02/2023"), "{q:?}");

    // money is exact Decimal128, whatever the export wrote (£, thousands commas)
    let money = sql_json(
        &warehouse,
        "select cast(sum(weekly_cost) as varchar) as w, cast(sum(annual_cost) as varchar) as a, arrow_typeof(min(weekly_cost)) as t, \
         count(*) as n, snapshot from clean.synergy.ehcp_placement_costs group by snapshot",
    );
    assert_eq!(money.len(), 1, "{money:?}");
    assert_eq!(money[0]["w"], "2491.75");
    assert_eq!(money[0]["a"], "135349.50");
    assert_eq!(money[0]["t"], "Decimal128(18, 2)");
    assert_eq!(money[0]["snapshot"], "2024-02");
    let blocks = sql_json(&warehouse, "select setting_type as s, funding_block as f, count(*) as n from clean.synergy.ehcp_placement_costs group by 1, 2 order by 1, 2");
    let blocks: Vec<(String, String, i64)> =
        blocks.iter().map(|r| (r["s"].as_str().unwrap().into(), r["f"].as_str().unwrap().into(), r["n"].as_i64().unwrap())).collect();
    let want: Vec<(String, String, i64)> = [("FE", "HNB", 1), ("ISS", "CSC", 1), ("ISS", "HNB", 1), ("MRP", "HNB", 2), ("SLA", "HNB", 1)]
        .iter()
        .map(|(s, f, n)| (s.to_string(), f.to_string(), *n))
        .collect();
    assert_eq!(blocks, want, "setting and funding labels read as their codes");

    // Annex A SEND codes as the template writes them reduce to the codes
    let needs = sql_json(
        &warehouse,
        "select \"SEN primary need\" as n, \"Gender\" as g from clean.synergy.annex_a_send_ehcp \
         union all select \"SEN primary need\", \"Gender\" from clean.synergy.annex_a_send_sen_support order by 1",
    );
    let needs: Vec<(&str, &str)> = needs.iter().map(|r| (r["n"].as_str().unwrap(), r["g"].as_str().unwrap())).collect();
    assert_eq!(needs, [("ASD", "M"), ("MLD", "M"), ("NSA", "M"), ("SLCN", "F"), ("SLD", "F"), ("SPLD", "M")]);

    // the same child joins across the SEN2 return, Annex A SEND and the cost export
    let joined = sql_json(
        &warehouse,
        "select count(distinct p.\"UPN\") as n from clean.synergy.sen2_person p \
         join clean.synergy.annex_a_send_ehcp a on a.\"UPN\" = p.\"UPN\" \
         join clean.synergy.ehcp_placement_costs c on c.person_id = a.\"Unique ID\" and c.upn = p.\"UPN\"",
    );
    assert_eq!(joined[0]["n"], 3, "children 1, 4 and 5 are in all three");
    let on_support = sql_json(
        &warehouse,
        "select count(*) as n from clean.synergy.annex_a_send_sen_support s join clean.synergy.sen2_requests r on r.\"UPN\" = s.\"UPN\"",
    );
    assert_eq!(on_support[0]["n"], 3, "the two children on SEN support with requests in the return (one made two)");

    // nothing identifying reached clean or quarantine
    let mut ids: Vec<String> = vec![];
    for f in &files[..3] {
        let text = std::fs::read_to_string(synergy_fixture(f)).unwrap();
        for line in text.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            ids.extend(cells.iter().take(3).map(|s| s.to_string()));
        }
    }
    ids.retain(|s| s.len() >= 8);
    assert!(ids.len() >= 20, "{ids:?}");
    let ids_file = tmp.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    let out = python(&["tests/tools/scan_ids.py", ids_file.to_str().unwrap(), warehouse.join("clean").to_str().unwrap(), warehouse.join("quarantine").to_str().unwrap()]);
    assert!(out.status.success(), "identifier scan: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
