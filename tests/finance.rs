//! Issue 3: the finance sources — section 251 outturn, ledgers of two shapes, budgets, the
//! coding map, DSG allocations — and the bad lines that must go to quarantine.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn finance_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/finance").join(name)
}

fn run_finance(landing: &Path, warehouse: &Path) {
    ok(&["run", "finance", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "838", "--as-of", "2025-03-31"]);
}

fn strings(rows: &[serde_json::Value], key: &str) -> Vec<String> {
    rows.iter().map(|r| r[key].as_str().map(str::to_string).unwrap_or_else(|| r[key].to_string())).collect()
}

#[test]
fn s251_outturn_lands_with_its_characters_and_amounts_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing"), tmp.path().join("warehouse"));
    let file = fixtures().join("s251/outturn_1314.csv");
    land(&landing, std::slice::from_ref(&file));
    run_finance(&landing, &warehouse);

    // the expected values, read from the file by Python's csv module as Windows-1252
    let script = r#"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="cp1252", newline="")))
pick = [r for r in rows if (r["LA"], r["LineNumber"]) in {("201","1"), ("201","2"), ("201","13"), ("838","6"), ("933","16"), ("202","33")}]
print(json.dumps({"rows": len(rows), "las": len({r["LA"] for r in rows}), "pick": pick}))
"#;
    let out = python(&["-c", script, file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(want["rows"], 5472);

    let rec = &run_records(&warehouse)[0]["files"][0];
    assert_eq!(rec["rows_read"], 5472);
    assert_eq!(rec["rows_clean"], 5472);
    assert_eq!(rec["rows_quarantined"], 0);
    assert_eq!(rec["encoding"], "windows-1252");

    let n = sql_json(&warehouse, "select count(*) as n, count(distinct la) as las, min(financial_year) as fy from clean.finance.s251_outturn");
    assert_eq!(n[0]["n"], 5472);
    assert_eq!(n[0]["las"], want["las"]);
    assert_eq!(n[0]["fy"], "2013-14");

    for w in want["pick"].as_array().unwrap() {
        let (la, line) = (w["LA"].as_str().unwrap(), w["LineNumber"].as_str().unwrap());
        let got = sql_json(
            &warehouse,
            &format!(
                "select \"CYPServiceDescription\" as d, cast(\"TotalExpenditure\" as varchar) as total, cast(\"NetCurrentExpenditure\" as varchar) as net, \
                 cast(\"Income\" as varchar) as income, la from clean.finance.s251_outturn where \"LA\" = '{la}' and \"LineNumber\" = {line}"
            ),
        );
        assert_eq!(got.len(), 1, "LA {la} line {line}");
        let g = &got[0];
        assert_eq!(g["la"], la, "the row's council is its LA column");
        // description: the file's text without the line number in front and the trailing spaces
        let desc = w["CYPServiceDescription"].as_str().unwrap().trim();
        let desc = desc.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        assert_eq!(g["d"], desc, "LA {la} line {line}");
        // amounts exact to the penny, blanks stay blank
        for (col, key) in [("TotalExpenditure", "total"), ("NetCurrentExpenditure", "net"), ("Income", "income")] {
            let raw = w[col].as_str().unwrap().trim();
            if raw.is_empty() {
                assert!(g[key].is_null(), "LA {la} line {line} {col}");
            } else {
                let want_pence: i64 = (raw.parse::<f64>().unwrap() * 100.0).round() as i64;
                let got_pence: i64 = (g[key].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
                assert_eq!(got_pence, want_pence, "LA {la} line {line} {col}");
            }
        }
    }
    // the example in the issue, and the curly apostrophe decoded from byte 0x92
    let first = sql_json(&warehouse, "select cast(\"TotalExpenditure\" as varchar) as t from clean.finance.s251_outturn where \"LA\" = '201' and \"LineNumber\" = 1");
    assert_eq!(first[0]["t"], "548221.00");
    let curly = sql_json(&warehouse, "select \"CYPServiceDescription\" as d from clean.finance.s251_outturn where \"LA\" = '201' and \"LineNumber\" = 2");
    assert!(curly[0]["d"].as_str().unwrap().contains("Sure Start Children\u{2019}s Centres"), "{curly:?}");
}

fn ledger_rows(warehouse: &Path) -> Vec<serde_json::Value> {
    sql_json(
        warehouse,
        "select financial_year, period, cast(posting_date as varchar) as posting_date, cost_centre, account, cast(amount as varchar) as amount, \
         description, supplier, reference, child_ref, placement_ref, la from clean.finance.ledger_transactions order by reference, cost_centre",
    )
}

#[test]
fn two_ledger_shapes_land_identically_by_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let mut results = vec![];
    for shape in ["ledger_oracle_2024-25.csv", "ledger_unit4_2024-25.csv"] {
        let (landing, warehouse) = (tmp.path().join(shape).join("landing"), tmp.path().join(shape).join("warehouse"));
        land(&landing, &[finance_fixture("coding_map.csv"), finance_fixture(shape)]);
        run_finance(&landing, &warehouse);
        let rec = &run_records(&warehouse)[0];
        for f in rec["files"].as_array().unwrap() {
            assert_eq!(f["status"], "received", "{f}");
            assert_eq!(f["rows_quarantined"], 0, "{f}");
        }
        results.push(ledger_rows(&warehouse));
    }
    assert_eq!(results[0].len(), 7);
    assert_eq!(results[0], results[1], "the Oracle-shaped and Unit4-shaped ledgers must land the same rows");
    // debit-positive: the health contribution (a credit) is negative, spend positive
    let amounts: Vec<(String, String)> = results[0].iter().map(|r| (r["reference"].as_str().unwrap().to_string(), r["amount"].as_str().unwrap().to_string())).collect();
    assert!(amounts.contains(&("AR-000031".into(), "-450.00".into())), "{amounts:?}");
    assert!(amounts.contains(&("AP-000101".into(), "5150.00".into())), "{amounts:?}");
    // the financial year is one spelling whatever the ledger wrote (2024-25 and 2024/25)
    assert!(strings(&results[0], "financial_year").iter().all(|y| y == "2024-25"));
    // the child reference is a pseudonym, and the same one for the same child in both shapes
    let child = &results[0].iter().find(|r| r["reference"] == "AP-000101").unwrap()["child_ref"];
    assert_eq!(child.as_str().unwrap().len(), 32);
    assert_ne!(child, "100234");
}

#[test]
fn bad_ledger_lines_are_quarantined_and_nothing_else_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let warehouse = tmp.path().join("warehouse");
    // the coding map arrives in one run, the ledger in a later one: the check reads clean
    let first = tmp.path().join("first");
    land(&first, &[finance_fixture("coding_map.csv")]);
    run_finance(&first, &warehouse);
    let second = tmp.path().join("second");
    land(&second, &[finance_fixture("ledger_bad_2024-25.csv")]);
    run_finance(&second, &warehouse);

    let recs = run_records(&warehouse);
    let f = &recs[1]["files"][0];
    assert_eq!((f["rows_read"].as_u64(), f["rows_clean"].as_u64(), f["rows_quarantined"].as_u64()), (Some(5), Some(2), Some(3)), "{f}");

    let q = sql_json(&warehouse, "select _row, _rule, _column, _message from quarantine.finance.ledger_transactions order by _row");
    let rows: Vec<i64> = q.iter().map(|r| r["_row"].as_i64().unwrap()).collect();
    assert_eq!(rows, vec![3, 4, 5]);
    let msg = |i: usize| q[i]["_message"].as_str().unwrap().to_string();
    assert_eq!(q[0]["_column"], "amount");
    assert!(msg(0).contains("ledger_bad_2024-25.csv, row 3") && msg(0).contains("'1,234.5O' is not an amount"), "{}", msg(0));
    assert_eq!(q[1]["_column"], "period");
    assert!(msg(1).contains("row 4") && msg(1).contains("13 is outside 1–12"), "{}", msg(1));
    assert_eq!(q[2]["_column"], "cost_centre");
    assert!(msg(2).contains("row 5") && msg(2).contains("not in the coding map"), "{}", msg(2));

    let clean = sql_json(&warehouse, "select reference, cast(amount as varchar) as amount from clean.finance.ledger_transactions order by reference");
    assert_eq!(strings(&clean, "reference"), vec!["AP-000301", "AP-000351"]);
    assert_eq!(strings(&clean, "amount"), vec!["5150.00", "1020.40"]);
}

#[test]
fn budgets_and_dsg_allocations_land_as_exact_money() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing"), tmp.path().join("warehouse"));
    land(&landing, &[finance_fixture("coding_map.csv"), finance_fixture("budgets_2024-25.csv"), finance_fixture("dsg_allocations_2024-25.csv")]);
    run_finance(&landing, &warehouse);
    let b = sql_json(
        &warehouse,
        "select cast(sum(original_budget) as varchar) as orig, cast(sum(coalesce(revised_budget, original_budget)) as varchar) as rev, \
         min(financial_year) as fy, arrow_typeof(sum(original_budget)) as t from clean.finance.budgets",
    );
    assert_eq!(b[0]["orig"], "33500000.00");
    assert_eq!(b[0]["rev"], "35100000.00");
    assert_eq!(b[0]["fy"], "2024-25");
    assert!(b[0]["t"].as_str().unwrap().starts_with("Decimal128"), "{b:?}");
    let d = sql_json(&warehouse, "select block, cast(allocation as varchar) as a from clean.finance.dsg_allocations order by block");
    let got: Vec<(String, String)> = d.iter().map(|r| (r["block"].as_str().unwrap().into(), r["a"].as_str().unwrap().into())).collect();
    assert_eq!(
        got,
        vec![("CSSB".into(), "3210455.00".into()), ("EYB".into(), "38760300.00".into()), ("HNB".into(), "61900010.00".into()), ("SB".into(), "114150120.00".into())]
    );
    let m = sql_json(&warehouse, "select service_line, dsg_block from clean.finance.coding_map where cost_centre = 'CC3001'");
    assert_eq!(m[0]["dsg_block"], "HNB");
}
