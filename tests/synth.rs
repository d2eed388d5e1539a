//! Issue 4: the synthetic council. `lantern generate` is deterministic, writes files Lantern
//! ingests with exactly the defects its manifest lists quarantined and nothing else (in CSV,
//! workbook and XML files alike), supplies the SSDA903 and SEN2 returns in either shape with the
//! same events, looks like Dorset (SEED-FIGURES.md) at the scale asked for, and gives each
//! council its own `la_key=`.

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

fn run(landing: &Path, warehouse: &Path, pipelines: &[&str]) {
    let mut args = vec!["run"];
    args.extend_from_slice(pipelines);
    args.extend(["--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);
    ok(&args);
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

type Located = BTreeSet<(String, i64, String)>;

/// The manifest's defects that Lantern quarantines: (file, row, rule).
fn expected_quarantine(manifest: &serde_json::Value) -> Located {
    let defects = manifest["defects"].as_array().unwrap();
    let with_rule: Vec<&serde_json::Value> = defects.iter().filter(|d| !d["rule"].is_null()).collect();
    let want: Located = with_rule.iter().map(|d| (d["file"].as_str().unwrap().to_string(), d["row"].as_i64().unwrap(), d["rule"].as_str().unwrap().to_string())).collect();
    assert_eq!(want.len(), with_rule.len(), "one defect per row");
    for d in defects.iter().filter(|d| d["rule"].is_null()) {
        assert_eq!(d["kind"], "overlapping_episode", "{d}");
        assert_eq!(d["expected"], "repaired in staging", "{d}");
    }
    want
}

/// What Lantern quarantined: (file, row, rule).
fn quarantined(warehouse: &Path) -> Located {
    let q = tables(warehouse, "quarantine");
    assert!(!q.is_empty());
    let sql = q.iter().map(|t| format!("select _file, _row, _rule from {t}")).collect::<Vec<_>>().join(" union all ");
    sql_json(warehouse, &sql)
        .iter()
        .map(|r| (r["_file"].as_str().unwrap().to_string(), r["_row"].as_i64().unwrap(), r["_rule"].as_str().unwrap().to_string()))
        .collect()
}

fn assert_same(want: &Located, got: &Located) {
    let missed: Vec<_> = want.difference(got).take(10).collect();
    let extra: Vec<_> = got.difference(want).take(10).collect();
    assert!(missed.is_empty() && extra.is_empty(), "defects not quarantined: {missed:?}\nrows quarantined that no defect explains: {extra:?}");
}

/// Every file landed and rows read = clean + quarantined; the run's warnings are those `allowed` says.
fn assert_all_landed(warehouse: &Path, allowed: impl Fn(&str) -> bool) {
    let rec = &run_records(warehouse)[0];
    for f in rec["files"].as_array().unwrap() {
        assert_eq!(f["status"], "received", "{}: {}", f["file"], f["error"]);
        assert_eq!(f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap() + f["rows_quarantined"].as_u64().unwrap());
    }
    for w in rec["warnings"].as_array().into_iter().flatten() {
        assert!(allowed(w.as_str().unwrap()), "{w}");
    }
}

fn overlaps(manifest: &serde_json::Value) -> Vec<(String, i64)> {
    manifest["defects"].as_array().unwrap().iter().filter(|d| d["kind"] == "overlapping_episode").map(|d| (d["file"].as_str().unwrap().to_string(), d["row"].as_i64().unwrap())).collect()
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
    assert!(ha.keys().any(|k| k.ends_with(".xlsx")), "Annex A workbooks");
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
    run(&out.join("landing"), &warehouse, &[]);

    let want = expected_quarantine(&manifest);
    // the defects reach every kind and every source, workbooks and XML included
    let kinds: BTreeSet<&str> = manifest["defects"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["bad_date", "blank_required", "duplicate_row", "overlapping_episode", "unknown_code"]));
    for place in ["ssda903_", "annex_a/", ".xlsx", "cin_census/", "school_census/", "synergy/Blade", "synergy/Annex_A_SEND", "synergy/ehcp_placement_costs", "finance/"] {
        assert!(want.iter().any(|(f, _, _)| f.contains(place)), "no defect in {place}");
    }
    let got = quarantined(&warehouse);
    assert_same(&want, &got);
    // a duplicate row of a CSV names the row it repeats: the generator writes it just after
    let q = tables(&warehouse, "quarantine");
    let sql = q.iter().map(|t| format!("select _file, _row, _message from {t} where _rule like '%.key' and _file like '%.csv'")).collect::<Vec<_>>().join(" union all ");
    let dups = sql_json(&warehouse, &sql);
    assert!(dups.len() >= 5, "{} duplicate CSV rows", dups.len());
    for d in &dups {
        let (file, row, message) = (d["_file"].as_str().unwrap(), d["_row"].as_i64().unwrap(), d["_message"].as_str().unwrap());
        assert!(message.ends_with(&format!("the same as row {} of {file}", row - 1)), "{file} row {row}: {message}");
    }
    // overlapping episodes land in clean, for staging to repair
    let ov = overlaps(&manifest);
    assert!(!ov.is_empty());
    assert!(ov.iter().all(|(f, r)| f.ends_with("episodes.csv") && !got.iter().any(|g| &g.0 == f && g.1 == *r)));

    // nothing else went wrong: every file landed, rows read = clean + quarantined
    assert_all_landed(&warehouse, |_| false);

    // Annex A: a snapshot each 31 March, then one at every month end of the last year
    let snaps: Vec<String> = sql_json(&warehouse, "select distinct snapshot from clean.mosaic.annex_a_list_1_contacts order by snapshot").iter().map(|r| r["snapshot"].as_str().unwrap().to_string()).collect();
    let mut want_snaps: Vec<String> = (2021..=2024).map(|y| format!("{y}-03")).collect();
    want_snaps.extend((4..=12).map(|m| format!("2024-{m:02}")).chain((1..=3).map(|m| format!("2025-{m:02}"))));
    want_snaps.sort();
    want_snaps.dedup();
    assert_eq!(snaps, want_snaps);
    // every list, every month, from the workbooks
    let lists = sql_json(&warehouse, "select count(distinct snapshot) as n from clean.mosaic.annex_a_list_8_cla where snapshot >= '2024-04'");
    assert_eq!(lists[0]["n"], 12);

    // Synergy's lists and cost export, and the reference downloads, land for the council
    for (table, at_least) in [("synergy.annex_a_send_ehcp", 200), ("synergy.annex_a_send_sen_support", 500), ("synergy.ehcp_placement_costs", 200), ("reference.statistical_neighbours", 10), ("reference.benchmarks", 100)] {
        let n = sql_json(&warehouse, &format!("select count(*) as n from clean.{table}"))[0]["n"].as_i64().unwrap();
        assert!(n >= at_least, "clean.{table}: {n} rows");
    }
    let sn = sql_json(&warehouse, "select neighbour_la_code, rank from clean.reference.statistical_neighbours where la_code = '838' order by rank");
    assert_eq!(sn.len(), 10);
    assert_eq!(sn[0]["neighbour_la_code"], "865");
    let dorset = sql_json(&warehouse, "select value from clean.reference.benchmarks where indicator_id = 'cla_rate_per_10000' and area_level = 'Local authority' and area_code = '838' and time_period = '2025'");
    let rate = dorset[0]["value"].as_f64().unwrap();
    assert!((50.0..=80.0).contains(&rate), "children in care per 10,000: {rate}");
}

/// Lantern reports `_row` for an XML record as the line of its opening tag; the manifest agrees.
#[test]
fn xml_shapes_quarantine_is_exactly_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, warehouse) = (tmp.path().join("gen"), tmp.path().join("warehouse"));
    let args = ["--scale", "0.1", "--seed", "3", "--defect-rate", "0.01", "--ssda903", "xml", "--sen2", "xml", "--social-care", "returns"];
    let manifest = generate(&out, &args);
    let landing = out.join("landing/838");
    assert!(landing.join("ssda903_2025/SSDA903_2025.xml").is_file() && !landing.join("ssda903_2025/episodes.csv").exists());
    assert!(landing.join("synergy/SEN2_2025.xml").is_file() && !landing.join("synergy/Blade-Export_25-01-2025_person.csv").exists());
    assert!(!landing.join("annex_a").exists(), "--social-care returns: no Annex A");
    run(&out.join("landing"), &warehouse, &[]);

    let want = expected_quarantine(&manifest);
    for file in ["SSDA903_", "CIN_Census_", "SEN2_"] {
        for kind in ["bad_date", "unknown_code"] {
            assert!(manifest["defects"].as_array().unwrap().iter().any(|d| d["kind"] == kind && d["file"].as_str().unwrap().contains(file)), "no {kind} in {file}");
        }
    }
    assert_same(&want, &quarantined(&warehouse));
    // the record a defect names opens on its line
    for d in manifest["defects"].as_array().unwrap().iter().filter(|d| d["file"].as_str().unwrap().ends_with(".xml")) {
        let text = std::fs::read_to_string(out.join("landing").join(d["file"].as_str().unwrap())).unwrap();
        let line = text.lines().nth(d["row"].as_u64().unwrap() as usize - 1).unwrap().trim_start();
        assert!(line.starts_with('<') && !line.starts_with("</"), "{d}: {line}");
    }
    // overlapping episodes are marked in the XML too, on their <EPISODE> line
    let ov = overlaps(&manifest);
    assert!(!ov.is_empty());
    for (f, r) in &ov {
        let text = std::fs::read_to_string(out.join("landing").join(f)).unwrap();
        assert_eq!(text.lines().nth(*r as usize - 1).unwrap().trim(), "<EPISODE>");
    }
    // the engine checks a table's references before the same document's referred-to table has
    // landed, and says so; nothing else may go wrong
    assert_all_landed(&warehouse, |w| w.contains("was not checked") && w.contains("has no rows"));
    // same seed, same bytes in these shapes too
    let again = tmp.path().join("again");
    generate(&again, &args);
    assert_eq!(hashes(&out.join("landing")), hashes(&again.join("landing")));
}

/// The SSDA903 CSV set and XML, and the SEN2 Blade CSVs and XML, carry the same events: what
/// lands from one shape is what lands from the other.
#[test]
fn both_shapes_carry_the_same_events() {
    let tmp = tempfile::tempdir().unwrap();
    let mut warehouses = vec![];
    for (s903, sen2) in [("csv", "blade"), ("xml", "xml")] {
        let (out, wh) = (tmp.path().join(s903), tmp.path().join(format!("wh-{s903}")));
        generate(&out, &["--scale", "0.05", "--seed", "5", "--defect-rate", "0", "--ssda903", s903, "--sen2", sen2, "--social-care", "returns"]);
        run(&out.join("landing"), &wh, &["mosaic", "synergy"]);
        warehouses.push(wh);
    }
    let rows = |wh: &Path, sql: &str| -> Vec<String> {
        let mut v: Vec<String> = sql_json(wh, sql).iter().map(|r| r.to_string()).collect();
        v.sort();
        v
    };
    for (table, cols) in [
        ("mosaic.ssda903_header", "*"),
        ("mosaic.ssda903_episodes", "*"),
        ("mosaic.ssda903_reviews", "*"),
        ("mosaic.ssda903_missing", "*"),
        ("synergy.sen2_header", "*"),
        ("synergy.sen2_person", "*"),
        ("synergy.sen2_requests", "*"),
        ("synergy.sen2_assessment", "*"),
        ("synergy.sen2_named_plan", "*"),
        ("synergy.sen2_plan_detail", "*"),
        ("synergy.sen2_active_plans", "*"),
        ("synergy.sen2_placement_detail", "*"),
        ("synergy.sen2_sen_need", "*"),
    ] {
        let sql = format!("select {cols} from clean.{table}");
        let (a, b) = (rows(&warehouses[0], &sql), rows(&warehouses[1], &sql));
        assert!(a.len() > 20 || table == "synergy.sen2_header", "{table}: {} rows", a.len());
        assert_eq!(a, b, "{table} differs between the shapes");
    }
}

#[test]
fn social_care_option_chooses_the_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = |out: &Path| -> BTreeSet<String> {
        std::fs::read_dir(out.join("landing/838")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect()
    };
    let a = tmp.path().join("a");
    generate(&a, &["--scale", "0.02", "--years", "1", "--social-care", "annex-a"]);
    assert_eq!(dirs(&a), BTreeSet::from(["annex_a", "finance", "reference", "school_census", "synergy"].map(String::from)));
    let r = tmp.path().join("r");
    generate(&r, &["--scale", "0.02", "--years", "1", "--social-care", "returns"]);
    assert_eq!(dirs(&r), BTreeSet::from(["cin_census", "finance", "reference", "school_census", "ssda903_2025", "synergy"].map(String::from)));
}

#[test]
fn three_councils_three_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, warehouse) = (tmp.path().join("gen"), tmp.path().join("warehouse"));
    generate(&out, &["--scale", "0.04", "--councils", "3", "--defect-rate", "0"]);
    run(&out.join("landing"), &warehouse, &[]);
    let want = BTreeSet::from(["838".to_string(), "839".to_string(), "933".to_string()]);
    // the generated sources (reference data ships with Lantern, partitioned la_key=national)
    let clean: Vec<String> = tables(&warehouse, "clean").into_iter().filter(|t| !t.starts_with("clean.reference.")).collect();
    assert!(clean.len() >= 40, "{clean:?}");
    for t in &clean {
        let parts: Vec<&str> = t.split('.').collect();
        let dir = warehouse.join("clean").join(parts[1]).join(parts[2]);
        let las: BTreeSet<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().trim_start_matches("la_key=").to_string()).collect();
        assert!(las.is_subset(&want), "{t}: {las:?}");
        // tables every council has rows in, whatever the scale
        if ["ssda903_episodes", "ssda903_header", "cin_details", "annex_a_list_1_contacts", "pupil_on_roll", "sen2_person", "annex_a_send_ehcp", "ehcp_placement_costs", "ledger_transactions", "budgets", "coding_map", "dsg_allocations"].contains(&parts[2]) {
            assert_eq!(las, want, "{t}");
            let rows = sql_json(&warehouse, &format!("select la, count(*) as n from {t} group by la order by la"));
            assert_eq!(rows.iter().map(|r| r["la"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>(), want, "{t}");
        }
    }
    // each council's statistical neighbours; one set of benchmarks with a row for each council
    let sn = sql_json(&warehouse, "select la_code, count(*) as n from clean.reference.statistical_neighbours group by la_code order by la_code");
    assert_eq!(sn.iter().map(|r| (r["la_code"].as_str().unwrap().to_string(), r["n"].as_i64().unwrap())).collect::<Vec<_>>(), want.iter().map(|l| (l.clone(), 10)).collect::<Vec<_>>());
    let la_rows = sql_json(&warehouse, "select distinct area_code from clean.reference.benchmarks where area_level = 'Local authority' order by area_code");
    assert_eq!(la_rows.iter().map(|r| r["area_code"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>(), want);
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

/// A sheet of a workbook, as rows of header → cell text (dates as dd/mm/yyyy).
fn read_sheet(path: &Path, sheet: &str) -> Vec<BTreeMap<String, String>> {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = wb.worksheet_range(sheet).unwrap();
    let text = |c: &Data| match c {
        Data::DateTime(d) => d.as_datetime().unwrap().format("%d/%m/%Y").to_string(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string(),
    };
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(text).collect();
    rows.map(|r| header.iter().cloned().zip(r.iter().map(text)).collect()).collect()
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

/// `£1,480.00`, `1480.00` or empty (the £ of a UTF-8 file read as Windows-1252 is `Â£`).
fn pounds(s: &str) -> Option<f64> {
    let t = s.replace(['Â', '£', ','], "");
    (!t.is_empty()).then(|| t.parse().unwrap())
}

/// The council's yearly figures, computed from the files it wrote, against SEED-FIGURES.md
/// (Dorset): contacts 8,107 (FD1), referrals 2,899 (FD2), re-referrals 19 % (FD10), 270 on
/// child protection plans (CP1), 435 in care (CC2-CC4), about 275 care leavers (CL1), about
/// 3,000 EHCPs (SEN2), about 60,000 pupils in about 160 schools (ED48), residential placements
/// about £5,150 a week (FI4), a children's services net budget about £75m (FI1, FI2), a High
/// Needs Block about £42m and a cumulative DSG deficit about £39m (FI12). Counts and money scale
/// with --scale.
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
        // Annex A lists on 31 March cover the six months before: twice their rows make a year.
        // The last year's March list is a sheet of that month's workbook.
        let list = |n: u32| {
            if y == 2025 {
                read_sheet(&la.join("annex_a/Annex_A_2025_Mar.xlsx"), &format!("List_{n}"))
            } else {
                read_csv(&la.join(format!("annex_a/Annex_A_{y}_Mar_List_{n}.csv")))
            }
        };
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
    // the EHCP list of Annex A SEND holds the plans SEN2 counts
    let send = read_csv(&la.join("synergy/Annex_A_SEND_List_1_EHCP_2025-01.csv"));
    within("children on the Annex A SEND EHCP list", send.len() as f64, *ehcps.last().unwrap());

    // placement mix (CC15: 69 % fostered) from the last return
    let eps = read_csv(&la.join("ssda903_2025/episodes.csv"));
    let open: Vec<_> = eps.iter().filter(|e| e["DEC"].is_empty()).collect();
    let fostered = open.iter().filter(|e| e["PLACE"].starts_with('U')).count() as f64 / open.len() as f64;
    within("share of children in care fostered", fostered, 0.69);

    // money, from the ledger: residential unit cost in the last year, the High Needs deficit
    let ledger = |y: i32| read_csv(&la.join(format!("finance/ledger_{}-{:02}.csv", y - 1, y % 100)));
    let last = ledger(2025);
    let (mut cost, mut days) = (0.0, 0.0);
    for l in &last {
        if l["Cost Centre"] == "C3101" && l["Narrative"].starts_with("Residential placement") {
            let dates: Vec<&str> = l["Narrative"].rsplitn(4, ' ').collect();
            let (to, from) = (dmy(dates[0]), dmy(dates[2]));
            cost += l["Amount"].parse::<f64>().unwrap();
            days += ((to - from).num_days() + 1) as f64;
        }
    }
    within("average weekly cost of a residential placement", cost / days * 7.0, 5_150.0);
    let amount = |l: &BTreeMap<String, String>| l["Amount"].parse::<f64>().unwrap();
    let net_spend: f64 = last.iter().filter(|l| l["Cost Centre"].starts_with('C')).map(amount).sum();
    within("children's services net spend (£m)", net_spend / 1e6, 75.0 * scale);
    let budget: f64 = read_csv(&la.join("finance/budgets.csv")).iter().filter(|b| b["Fin Year"] == "2024/25" && b["Cost Centre"].starts_with('C')).map(|b| b["Original Budget"].parse::<f64>().unwrap()).sum();
    within("children's services net budget (£m)", budget / 1e6, 75.0 * scale);
    let hnb: f64 = read_csv(&la.join("finance/dsg_allocations.csv")).iter().filter(|a| a["Financial Year"] == "2024/25" && a["DSG Block"] == "High Needs Block").map(|a| a["Allocation Before Deductions"].parse::<f64>().unwrap()).sum();
    within("High Needs Block (£m)", hnb / 1e6, 42.3 * scale);
    let mut deficit = 0.0;
    for y in years {
        deficit += ledger(y).iter().filter(|l| l["Cost Centre"].starts_with('D')).map(amount).sum::<f64>();
    }
    within("cumulative High Needs deficit (£m)", deficit / 1e6, 39.1 * scale);

    // the EHCP placement-cost export accounts for the ledger's plan top-ups: a twelfth of each
    // placement's annual cost for every month it was open on the 15th
    let costs = read_csv(&la.join("synergy/ehcp_placement_costs_2025-03.csv"));
    let mids: Vec<chrono::NaiveDate> = (0..12u32).map(|i| if i < 9 { chrono::NaiveDate::from_ymd_opt(2024, 4 + i, 15) } else { chrono::NaiveDate::from_ymd_opt(2025, i - 8, 15) }.unwrap()).collect();
    let mut from_export = 0.0;
    for c in &costs {
        let annual = pounds(&c["Annual Cost"]).unwrap_or_else(|| pounds(&c["Weekly Cost"]).unwrap() * 52.0);
        let (start, end) = (dmy(&c["Start Date"]), (!c["End Date"].is_empty()).then(|| dmy(&c["End Date"])));
        let months = mids.iter().filter(|m| **m >= start && end.is_none_or(|e| **m <= e)).count();
        from_export += annual * months as f64 / 12.0;
    }
    let top_ups: f64 = last.iter().filter(|l| l["Narrative"] == "High needs top-up").map(amount).sum();
    assert!((from_export / top_ups - 1.0).abs() < 0.005, "placement-cost export £{from_export:.0} against ledger top-ups £{top_ups:.0}");
}
