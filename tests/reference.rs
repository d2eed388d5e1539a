//! Reference data: the shipped local authorities and bank holidays, and the population,
//! statistical neighbour and benchmark files a council downloads (tests/fixtures/reference).

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn project_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn fixture(rel: &str) -> PathBuf {
    project_file("tests/fixtures/reference").join(rel)
}

/// Fields of one CSV line: commas inside double quotes stay in the field, `""` is a quote.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// A CSV file as rows of (column → value), read with the standard library only.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = csv_fields(lines.next().expect("a header"));
    lines
        .map(|l| {
            let f = csv_fields(l);
            assert_eq!(f.len(), header.len(), "{}: {l}", path.display());
            header.iter().cloned().zip(f).collect()
        })
        .collect()
}

/// Landing: the three downloaded files at the top, and an ONS-coded Nomis extract under 838/.
fn landing(tmp: &Path) -> (PathBuf, PathBuf) {
    let landing = tmp.join("landing");
    let warehouse = tmp.join("warehouse");
    land(
        &landing,
        &[fixture("population_dorset_2022_2023.csv"), fixture("statistical_neighbours_sn.csv"), fixture("benchmarks_referrals.csv")],
    );
    land(&landing.join("838"), &[fixture("838/nomis_mid_2021_population.csv")]);
    (landing, warehouse)
}

fn run(landing: &Path, warehouse: &Path) -> String {
    ok(&["run", "reference", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"])
}

fn strings(rows: &[serde_json::Value], col: &str) -> Vec<String> {
    rows.iter().map(|r| r[col].as_str().unwrap_or_else(|| panic!("{col} in {r}")).to_string()).collect()
}

fn num(v: &serde_json::Value) -> i64 {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn reference_data_loads_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = landing(tmp.path());
    run(&landing, &warehouse);

    // --- the run record: every file accounted for, row by row
    let records = run_records(&warehouse);
    assert_eq!(records.len(), 1);
    let files = records[0]["files"].as_array().unwrap();
    let by_name: BTreeMap<String, &serde_json::Value> =
        files.iter().map(|f| (f["file"].as_str().unwrap().replace('\\', "/"), f)).collect();
    for (name, f) in &by_name {
        assert_eq!(f["status"], "received", "{name}: {f}");
        let (read, clean, quarantined) = (f["rows_read"].as_u64().unwrap(), f["rows_clean"].as_u64().unwrap(), f["rows_quarantined"].as_u64().unwrap());
        assert_eq!(read, clean + quarantined, "{name}: read = clean + quarantined");
        assert!(read > 0, "{name} read no rows");
    }
    let find = |suffix: &str| -> &serde_json::Value {
        by_name.iter().find(|(n, _)| n.ends_with(suffix)).map(|(_, f)| *f).unwrap_or_else(|| panic!("{suffix} missing from {:?}", by_name.keys()))
    };
    let las_csv = read_csv(&project_file("schemas/reference/data/local_authorities.csv"));
    let holidays_csv = read_csv(&project_file("schemas/reference/data/bank_holidays.csv"));
    // the shipped files load whole, with no landing copy needed
    for (suffix, rows) in [("reference/data/local_authorities.csv", las_csv.len()), ("reference/data/bank_holidays.csv", holidays_csv.len())] {
        let f = find(suffix);
        assert_eq!(f["rows_read"].as_u64().unwrap(), rows as u64, "{suffix}");
        assert_eq!(f["rows_quarantined"], 0, "{suffix}: {f}");
    }
    assert_eq!(find("population_dorset_2022_2023.csv")["rows_quarantined"], 1, "the 'All ages' total row");
    assert_eq!(find("statistical_neighbours_sn.csv")["rows_quarantined"], 1, "the rank 11 row");
    assert_eq!(find("benchmarks_referrals.csv")["rows_quarantined"], 1, "the Ward row");
    let nomis = find("nomis_mid_2021_population.csv");
    assert_eq!(nomis["rows_quarantined"], 0);
    // ONS codes load into the council whose folder the file sits in, and the run record says so
    assert_eq!(nomis["tables"][0]["partition"], "la_key=838/year_key=2021");
    assert_eq!(nomis["tables"][0]["rules_flagged"]["population.ons_code_routed_by_file"], 5, "{nomis}");

    // --- local authorities: the current ones, as the shipped CSV has them
    let current: BTreeSet<String> = las_csv.iter().filter(|r| r["valid_to"].is_empty()).map(|r| r["la_code"].clone()).collect();
    assert_eq!(current.len(), las_csv.iter().filter(|r| r["valid_to"].is_empty()).count(), "one current row per council");
    assert!((150..=160).contains(&current.len()), "{} current councils", current.len());
    let n = sql_json(&warehouse, "select count(*) as n, count(distinct la_code) as d from clean.reference.local_authorities where valid_to is null");
    assert_eq!(num(&n[0]["n"]), current.len() as i64);
    assert_eq!(num(&n[0]["d"]), current.len() as i64);
    let codes = sql_json(&warehouse, "select la_code from clean.reference.local_authorities where valid_to is null order by la_code");
    assert_eq!(strings(&codes, "la_code").into_iter().collect::<BTreeSet<_>>(), current);

    let dorset = sql_json(&warehouse, "select name, ons_code, region, la, version from clean.reference.local_authorities where la_code = '838'");
    assert_eq!(dorset, vec![serde_json::json!({"name": "Dorset", "ons_code": "E06000059", "region": "South West", "la": "national", "version": "latest"})]);
    for (code, region) in [("201", "London"), ("202", "London"), ("839", "South West"), ("933", "South West"), ("940", "East Midlands"), ("943", "North West")] {
        let r = sql_json(&warehouse, &format!("select distinct region from clean.reference.local_authorities where la_code = '{code}'"));
        assert_eq!(strings(&r, "region"), vec![region.to_string()], "{code}");
    }
    // history resolves: the councils of the DfE's 2013-14 outturn are the ones valid on 31 March 2014
    let outturn = std::fs::read(fixtures().join("s251/outturn_1314.csv")).unwrap();
    let in_1314: BTreeSet<String> = outturn
        .split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|l| l.split(|b| *b == b',').next())
        .map(|c| String::from_utf8_lossy(c).trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(in_1314.len(), 152);
    let valid_1314 = sql_json(
        &warehouse,
        "select la_code from clean.reference.local_authorities \
         where (valid_from is null or valid_from <= date '2014-03-31') and (valid_to is null or valid_to >= date '2014-03-31')",
    );
    assert_eq!(strings(&valid_1314, "la_code").into_iter().collect::<BTreeSet<_>>(), in_1314);
    let successors = sql_json(&warehouse, "select replaced_by from clean.reference.local_authorities where la_code = '909'");
    assert_eq!(strings(&successors, "replaced_by"), vec!["942;943".to_string()]);

    // --- bank holidays
    let per_year = sql_json(&warehouse, "select cast(date_part('year', \"date\") as bigint) as y, count(*) as n from clean.reference.bank_holidays group by 1 order by 1");
    let per_year: BTreeMap<i64, i64> = per_year.iter().map(|r| (num(&r["y"]), num(&r["n"]))).collect();
    let want: BTreeMap<i64, i64> = (2015..=2030).map(|y| (y, match y { 2022 => 10, 2023 => 9, _ => 8 })).collect();
    assert_eq!(per_year, want);
    let days = |year: i32| -> BTreeSet<String> {
        let r = sql_json(&warehouse, &format!("select cast(\"date\" as varchar) as d from clean.reference.bank_holidays where date_part('year', \"date\") = {year}"));
        strings(&r, "d").into_iter().collect()
    };
    let y2020 = days(2020);
    assert!(y2020.contains("2020-05-08") && !y2020.contains("2020-05-04"), "{y2020:?}");
    let y2022 = days(2022);
    for d in ["2022-06-02", "2022-06-03", "2022-09-19", "2022-12-27"] {
        assert!(y2022.contains(d), "{d} missing from {y2022:?}");
    }
    assert!(!y2022.contains("2022-05-30"), "{y2022:?}");
    assert!(days(2023).contains("2023-05-08"));
    let gf = sql_json(&warehouse, "select name, division from clean.reference.bank_holidays where \"date\" = date '2027-03-26'");
    assert_eq!(gf, vec![serde_json::json!({"name": "Good Friday", "division": "england-and-wales"})]);

    // --- population: each council and year holds the fixture's rows, summed
    let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in read_csv(&fixture("population_dorset_2022_2023.csv")) {
        if r["Age"].parse::<i64>().is_ok() {
            *want.entry((r["LA code"].clone(), r["Year"].clone())).or_default() += r["Population"].parse::<i64>().unwrap();
        }
    }
    for r in read_csv(&fixture("838/nomis_mid_2021_population.csv")) {
        *want.entry(("838".into(), r["DATE"].clone())).or_default() += r["OBS_VALUE"].parse::<i64>().unwrap();
    }
    let got = sql_json(&warehouse, "select la, year, sum(\"count\") as n from clean.reference.population group by la, year order by la, year");
    let got: BTreeMap<(String, String), i64> =
        got.iter().map(|r| ((r["la"].as_str().unwrap().to_string(), r["year"].as_str().unwrap().to_string()), num(&r["n"]))).collect();
    assert_eq!(got, want);
    let ages = sql_json(&warehouse, "select min(age) as lo, max(age) as hi, count(*) as n from clean.reference.population where year = '2023'");
    assert_eq!((num(&ages[0]["lo"]), num(&ages[0]["hi"]), num(&ages[0]["n"])), (0, 25, 52));
    let sexes = sql_json(&warehouse, "select year, sex, count(*) as n from clean.reference.population group by year, sex order by year, sex");
    let sexes: Vec<(String, String, i64)> =
        sexes.iter().map(|r| (r["year"].as_str().unwrap().into(), r["sex"].as_str().unwrap().into(), num(&r["n"]))).collect();
    assert_eq!(
        sexes,
        vec![
            ("2021".into(), "T".into(), 5),
            ("2022".into(), "F".into(), 26),
            ("2022".into(), "M".into(), 26),
            ("2023".into(), "F".into(), 26),
            ("2023".into(), "M".into(), 26)
        ]
    );

    // --- statistical neighbours: Dorset's ten, in rank order, under Dorset
    let sn = sql_json(&warehouse, "select neighbour_la_code, rank, la, version from clean.reference.statistical_neighbours where la_code = '838' order by rank");
    assert_eq!(sn.len(), 10);
    assert_eq!(sn.iter().map(|r| num(&r["rank"])).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    assert_eq!(sn[0]["neighbour_la_code"], "865");
    assert!(sn.iter().all(|r| r["la"] == "838" && r["version"] == "latest"));
    let bad = sql_json(&warehouse, "select la, _rule from quarantine.reference.statistical_neighbours");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["la"], "839");

    // --- benchmarks: national data, one partition per year, area codes from the EES layout
    let b = sql_json(&warehouse, "select year, area_level, area_code, value from clean.reference.benchmarks order by year, area_level, area_code");
    let b: Vec<(String, String, String, Option<f64>)> = b
        .iter()
        .map(|r| (r["year"].as_str().unwrap().into(), r["area_level"].as_str().unwrap().into(), r["area_code"].as_str().unwrap().into(), r["value"].as_f64()))
        .collect();
    assert_eq!(
        b,
        vec![
            ("2022-23".into(), "England".into(), "E92000001".into(), Some(544.5)),
            ("2022-23".into(), "Local authority".into(), "838".into(), Some(455.0)),
            ("2022-23".into(), "Region".into(), "E12000009".into(), Some(497.2)),
            ("2023-24".into(), "England".into(), "E92000001".into(), Some(556.1)),
            ("2023-24".into(), "Local authority".into(), "420".into(), None),
            ("2023-24".into(), "Local authority".into(), "838".into(), Some(471.3)),
            ("2023-24".into(), "Region".into(), "E12000009".into(), Some(503.8)),
            ("2023-24".into(), "Statistical neighbours".into(), "838".into(), Some(488.7)),
        ]
    );
    let names = sql_json(&warehouse, "select distinct area_level, area_name from clean.reference.benchmarks where area_code in ('E92000001', 'E12000009', '838') order by 1");
    assert_eq!(
        names,
        vec![
            serde_json::json!({"area_level": "England", "area_name": "England"}),
            serde_json::json!({"area_level": "Local authority", "area_name": "Dorset"}),
            serde_json::json!({"area_level": "Region", "area_name": "South West"}),
            serde_json::json!({"area_level": "Statistical neighbours", "area_name": "Dorset"}),
        ]
    );
    let la = sql_json(&warehouse, "select distinct la from clean.reference.benchmarks");
    assert_eq!(strings(&la, "la"), vec!["national".to_string()]);
}

#[test]
fn a_second_run_replaces_the_latest_reference_data() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = landing(tmp.path());
    run(&landing, &warehouse);
    let count = |t: &str| num(&sql_json(&warehouse, &format!("select count(*) as n from clean.reference.{t}"))[0]["n"]);
    let first: Vec<i64> = ["local_authorities", "bank_holidays", "population", "statistical_neighbours", "benchmarks"].iter().map(|t| count(t)).collect();
    run(&landing, &warehouse);
    let second: Vec<i64> = ["local_authorities", "bank_holidays", "population", "statistical_neighbours", "benchmarks"].iter().map(|t| count(t)).collect();
    assert_eq!(first, second, "a reload must replace the partitions, not add to them");
    assert_eq!(run_records(&warehouse).len(), 2);
}
