//! Issue 4: the synthetic council. `lantern generate` is deterministic, writes files Lantern
//! ingests with exactly the defects its manifest lists quarantined and nothing else, looks like
//! Dorset (SEED-FIGURES.md) at the scale asked for, and gives each council its own `la=`.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

fn generate(out: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["generate", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    ok(&all);
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// Every file under `dir`, relative path → SHA-256.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    all_files(dir)
        .into_iter()
        .map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))))
        .collect()
}

/// `zone.source.table` names of the tables a zone of the warehouse holds.
fn tables(warehouse: &Path, zone: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for f in all_files(&warehouse.join(zone)) {
        let rel = f.strip_prefix(warehouse.join(zone)).unwrap();
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect();
        if parts.len() > 2 && f.extension().is_some_and(|e| e == "parquet") {
            out.insert(format!("{zone}.{}.{}", parts[0], parts[1]));
        }
    }
    out.into_iter().collect()
}

#[test]
fn same_seed_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    let args = ["--scale", "0.05", "--seed", "7", "--councils", "2", "--defect-rate", "0.01"];
    generate(&a, &args);
    generate(&b, &args);
    let (ha, hb) = (hashes(&a), hashes(&b));
    assert!(ha.len() > 200, "every source's files, for two councils: {}", ha.len());
    assert!(ha.keys().any(|k| k.starts_with("landing/933/")), "the second council is Somerset");
    assert_eq!(ha, hb, "two runs with one seed must write identical files");
    // another seed is another council
    generate(&c, &["--scale", "0.05", "--seed", "8", "--councils", "2", "--defect-rate", "0.01"]);
    let hc = hashes(&c);
    let same = ha.iter().filter(|(k, v)| hc.get(*k) == Some(v)).count();
    assert!(same < ha.len() / 4, "a different seed changes the data ({same} of {} files identical)", ha.len());
}

#[test]
fn quarantine_is_exactly_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, warehouse) = (tmp.path().join("gen"), tmp.path().join("warehouse"));
    let manifest = generate(&out, &["--scale", "0.1", "--seed", "3", "--defect-rate", "0.01"]);
    ok(&["run", "--landing", out.join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);

    let defects = manifest["defects"].as_array().unwrap();
    let want: BTreeSet<(String, i64, String)> =
        defects.iter().map(|d| (d["file"].as_str().unwrap().to_string(), d["row"].as_i64().unwrap(), d["rule"].as_str().unwrap().to_string())).collect();
    assert_eq!(want.len(), defects.len(), "one defect per row");
    // the defects reach every kind and every source
    let kinds: BTreeSet<&str> = defects.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["bad_date", "blank_required", "duplicate_row", "unknown_code"]));
    for folder in ["ssda903_", "annex_a/", "school_census/", "synergy/", "finance/"] {
        assert!(want.iter().any(|(f, _, _)| f.contains(folder)), "no defect in {folder}");
    }

    let q = tables(&warehouse, "quarantine");
    assert!(!q.is_empty());
    let sql = q.iter().map(|t| format!("select _file, _row, _rule from {t}")).collect::<Vec<_>>().join(" union all ");
    let got: BTreeSet<(String, i64, String)> = sql_json(&warehouse, &sql)
        .iter()
        .map(|r| (r["_file"].as_str().unwrap().to_string(), r["_row"].as_i64().unwrap(), r["_rule"].as_str().unwrap().to_string()))
        .collect();
    let missed: Vec<_> = want.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(&want).take(10).collect();
    assert!(missed.is_empty() && extra.is_empty(), "defects not quarantined: {missed:?}\nrows quarantined that no defect explains: {extra:?}");

    // nothing else went wrong: every file landed, rows read = clean + quarantined
    let rec = &run_records(&warehouse)[0];
    for f in rec["files"].as_array().unwrap() {
        assert_eq!(f["status"], "received", "{}: {}", f["file"], f["error"]);
        assert_eq!(f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap() + f["rows_quarantined"].as_u64().unwrap());
    }
    assert_eq!(rec["warnings"].as_array().map_or(0, |w| w.len()), 0, "{}", rec["warnings"]);
}

#[test]
fn three_councils_three_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, warehouse) = (tmp.path().join("gen"), tmp.path().join("warehouse"));
    generate(&out, &["--scale", "0.04", "--councils", "3", "--defect-rate", "0"]);
    ok(&["run", "--landing", out.join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);
    let want = BTreeSet::from(["838".to_string(), "839".to_string(), "933".to_string()]);
    // the generated sources (reference data ships with Lantern, partitioned la=national)
    let clean: Vec<String> = tables(&warehouse, "clean").into_iter().filter(|t| !t.starts_with("clean.reference.")).collect();
    assert!(clean.len() >= 40, "{clean:?}");
    for t in &clean {
        let parts: Vec<&str> = t.split('.').collect();
        let dir = warehouse.join("clean").join(parts[1]).join(parts[2]);
        let las: BTreeSet<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().trim_start_matches("la=").to_string()).collect();
        assert!(las.is_subset(&want), "{t}: {las:?}");
        // tables every council has rows in, whatever the scale
        if ["ssda903_episodes", "ssda903_header", "cin_details", "annex_a_list_1_contacts", "pupil_on_roll", "sen2_person", "ledger_transactions", "budgets", "coding_map", "dsg_allocations"].contains(&parts[2]) {
            assert_eq!(las, want, "{t}");
            let rows = sql_json(&warehouse, &format!("select la, count(*) as n from {t} group by la order by la"));
            assert_eq!(rows.iter().map(|r| r["la"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>(), want, "{t}");
        }
    }
}

// ------------------------------------------------------------------------------ calibration

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    let text = text.trim_start_matches('\u{feff}').trim_start_matches("ï»¿").to_string();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| headers.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn within(name: &str, got: f64, target: f64) {
    let lo = target * 0.85;
    let hi = target * 1.15;
    assert!(got >= lo && got <= hi, "{name}: {got:.1} is not within ±15% of {target:.1}");
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn dmy(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%d/%m/%Y").unwrap()
}

/// The council's yearly figures, computed from the files it wrote, against SEED-FIGURES.md
/// (Dorset): contacts 8,107 (FD1), referrals 2,899 (FD2), re-referrals 19 % (FD10), 270 on
/// child protection plans (CP1), 435 in care (CC2-CC4), about 275 care leavers (CL1), about
/// 3,000 EHCPs (SEN2), about 60,000 pupils in about 160 schools, residential placements about
/// £5,150 a week (FI4), a cumulative DSG deficit about £39m (FI12). Counts scale with --scale.
#[test]
fn calibrated_to_dorset() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gen");
    let scale = 0.5;
    generate(&out, &["--scale", "0.5", "--seed", "11", "--defect-rate", "0"]);
    let la = out.join("landing/838");
    let years = 2021..=2025;

    let (mut contacts, mut referrals, mut rereferral, mut cpp, mut cla, mut leavers, mut ehcps, mut pupils, mut schools) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for y in years.clone() {
        // Annex A lists cover the six months before 31 March: twice their rows make a year
        let list = |n: u32| read_csv(&la.join(format!("annex_a/Annex_A_{y}_Mar_List_{n}.csv")));
        contacts.push(2.0 * list(1).len() as f64);
        let refs = list(3);
        referrals.push(2.0 * refs.len() as f64);
        rereferral.push(refs.iter().filter(|r| r["Number of Referrals in Last 12 Months"] != "0").count() as f64 / refs.len() as f64);
        cpp.push(list(7).iter().filter(|r| r["Child Protection Plan End Date"].is_empty()).count() as f64);
        leavers.push(list(9).len() as f64);
        // in care on 31 March: children with an episode the return leaves open
        let open: BTreeSet<String> = read_csv(&la.join(format!("ssda903_{y}/episodes.csv"))).into_iter().filter(|e| e["DEC"].is_empty()).map(|e| e["CHILD"].clone()).collect();
        cla.push(open.len() as f64);
        let sen2 = std::fs::read_dir(la.join("synergy")).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().ends_with(&format!("-{y}_activeplans.csv"))).unwrap();
        ehcps.push(read_csv(&sen2).len() as f64);
        let roll = read_csv(&la.join(format!("school_census/{y}_spring_pupilonroll.csv")));
        pupils.push(roll.len() as f64);
        schools.push(roll.iter().map(|r| r["NativeId"].clone()).collect::<BTreeSet<_>>().len() as f64);
    }
    within("contacts a year", mean(&contacts), 8_100.0 * scale);
    within("referrals a year", mean(&referrals), 2_900.0 * scale);
    within("re-referral rate", mean(&rereferral), 0.19);
    within("children on a child protection plan at 31 March", mean(&cpp), 270.0 * scale);
    within("children in care at 31 March", mean(&cla), 435.0 * scale);
    within("care leavers at 31 March", mean(&leavers), 275.0 * scale);
    within("EHCPs in the last January", *ehcps.last().unwrap(), 3_000.0 * scale);
    assert!(ehcps.windows(2).all(|w| w[1] > w[0]), "EHCPs grow every year: {ehcps:?}");
    within("pupils in the spring census", mean(&pupils), 60_000.0 * scale);
    within("schools", mean(&schools), 160.0 * scale);

    // placement mix (CC15: 69 % fostered) from the last return
    let eps = read_csv(&la.join("ssda903_2025/episodes.csv"));
    let open: Vec<_> = eps.iter().filter(|e| e["DEC"].is_empty()).collect();
    let fostered = open.iter().filter(|e| e["PLACE"].starts_with('U')).count() as f64 / open.len() as f64;
    assert!((0.60..=0.80).contains(&fostered), "share fostered {fostered:.2}");

    // money, from the ledger: residential unit cost in the last year, the High Needs deficit
    let ledger = |y: i32| read_csv(&la.join(format!("finance/ledger_{}-{:02}.csv", y - 1, y % 100)));
    let (mut cost, mut days) = (0.0, 0.0);
    for l in ledger(2025) {
        if l["Cost Centre"] == "C3101" && l["Narrative"].starts_with("Residential placement") {
            let dates: Vec<&str> = l["Narrative"].rsplitn(4, ' ').collect();
            let (to, from) = (dmy(dates[0]), dmy(dates[2]));
            cost += l["Amount"].parse::<f64>().unwrap();
            days += ((to - from).num_days() + 1) as f64;
        }
    }
    within("average weekly cost of a residential placement", cost / days * 7.0, 5_150.0);
    let mut deficit = 0.0;
    for y in years {
        deficit += ledger(y).iter().filter(|l| l["Cost Centre"].starts_with('D')).map(|l| l["Amount"].parse::<f64>().unwrap()).sum::<f64>();
    }
    within("cumulative High Needs deficit (£m)", deficit / 1e6, 39.1 * scale);
}
