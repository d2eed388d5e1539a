//! The simulation's own truth (issue 21): `lantern generate` writes `truth.csv`, the value every
//! indicator should have, worked out from the simulated events (src/synth/truth.rs), not from
//! the files. Each test here generates councils in one shape, loads them with `lantern run`, and
//! compares every value published in marts.indicators.indicator_values with the truth.
//!
//! What is compared: every published value with coverage 'full' (the sources loaded cover its
//! period) of an indicator the truth computes, except a period whose definition looks back
//! before the first return (`truth::lookback_months`: a re-referral's previous referral, the
//! start of a placement for long-term stability, the latest review; no export holds what
//! happened before the first year). Numerator, denominator and value must be equal (the value
//! to 1e-9).
//!
//! When they are not, the difference is *explained* only when all of these hold, and is
//! otherwise *unexplained* (the test fails on any):
//! - the manifest lists defects in that council's files of the sources the indicator is read
//!   from (CIN census and Annex A lists 1 and 3 to 7 for the front door, children in need and
//!   protection; the SSDA903 and Annex A lists 8 to 11 for children in care; the SEN2 return for
//!   SEND);
//! - the period a defective file covers (a return's collection year, a snapshot's six months,
//!   twelve for lists 10 and 11; a SEN2 return's calendar year and census day) overlaps the
//!   value's period, widened back by its look-back;
//! - each defect quarantines one row (or, for an overlapping 903 episode, changes one), so one
//!   record of one child: numerator and denominator may each differ from the truth by at most
//!   the number of such defects (for a mean, whose numerator is a sum of days over records, the
//!   numerator by at most 366 days a defect).
//!
//! A clean shape (defect rate 0) has no defects, so every difference there is unexplained.
//! Indicators the truth does not compute yet are listed in `truth::WITHOUT_TRUTH`, with the
//! reason, and counted; a published indicator in neither list fails the test.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Months, NaiveDate};
use lantern::synth::truth::{lookback_months, WITHOUT_TRUTH};

/// One value: from truth.csv or from the mart.
#[derive(Debug, Clone, PartialEq)]
struct Value {
    la: String,
    indicator: String,
    period_start: NaiveDate,
    period_end: NaiveDate,
    numerator: Option<f64>,
    denominator: Option<f64>,
    value: Option<f64>,
}

/// A defect of the manifest, as the sources and the dates it can touch.
#[derive(Debug, Clone)]
struct DefectSpan {
    la: String,
    family: Family,
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// CIN census, Annex A lists 1 and 3 to 7
    ChildrenInNeed,
    /// SSDA903, Annex A lists 8 to 11
    InCare,
    /// SEN2
    Send,
    /// anything else (school census, finance, early help, Annex A SEND, placement costs)
    Other,
}

fn family_of(indicator: &str) -> Family {
    if indicator.starts_with("cla_") || indicator.starts_with("care_leavers") || indicator.starts_with("adoption_") {
        Family::InCare
    } else if indicator.starts_with("ehcp") || indicator.starts_with("ehcna") {
        Family::Send
    } else {
        Family::ChildrenInNeed
    }
}

#[derive(Debug, Default)]
struct Report {
    compared: usize,
    equal: usize,
    explained: usize,
    /// described without any child's identifier: council, indicator, period, values
    unexplained: Vec<String>,
    /// periods whose look-back reaches before the first return
    before_history: usize,
    /// truth values the marts do not publish with coverage 'full'
    not_covered: usize,
    /// published values of indicators without a truth yet
    without_truth: usize,
    /// published indicators neither computed nor listed in WITHOUT_TRUTH
    unlisted: BTreeSet<String>,
}

/// A mean's numerator is a sum of days (or working days) over records: one record can move it by
/// its own days, at most a year's.
const DAYS_PER_RECORD: f64 = 366.0;

fn is_mean(indicator: &str) -> bool {
    indicator.contains("_avg_")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| panic!("`{s}` is not a date"))
}

fn num(s: &str) -> Option<f64> {
    if s.is_empty() { None } else { Some(s.parse().unwrap_or_else(|_| panic!("`{s}` is not a number"))) }
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        _ => false,
    }
}

fn gap(a: Option<f64>, b: Option<f64>) -> f64 {
    (a.unwrap_or(0.0) - b.unwrap_or(0.0)).abs()
}

/// Compare the marts with the truth (see the module's documentation). `first_day`: the first
/// day the returns cover.
fn compare(truth: &[Value], mart: &[Value], defects: &[DefectSpan], first_day: NaiveDate) -> Report {
    let mut r = Report::default();
    let computed: BTreeSet<&str> = truth.iter().map(|t| t.indicator.as_str()).collect();
    let published: BTreeMap<(&str, &str, NaiveDate), &Value> = mart.iter().map(|m| ((m.la.as_str(), m.indicator.as_str(), m.period_end), m)).collect();
    for m in mart {
        if !computed.contains(m.indicator.as_str()) {
            if WITHOUT_TRUTH.iter().any(|(i, _)| *i == m.indicator) {
                r.without_truth += 1;
            } else {
                r.unlisted.insert(m.indicator.clone());
            }
        }
    }
    for t in truth {
        let Some(m) = published.get(&(t.la.as_str(), t.indicator.as_str(), t.period_end)) else {
            r.not_covered += 1;
            continue;
        };
        let lookback = lookback_months(&t.indicator);
        let reaches = t.period_start - Months::new(lookback);
        if reaches < first_day {
            r.before_history += 1;
            continue;
        }
        r.compared += 1;
        if same(t.numerator, m.numerator) && same(t.denominator, m.denominator) && same(t.value, m.value) {
            r.equal += 1;
            continue;
        }
        let family = family_of(&t.indicator);
        let k = defects.iter().filter(|d| d.la == t.la && d.family == family && d.from <= t.period_end && d.to >= reaches).count() as f64;
        let per_record = if is_mean(&t.indicator) { DAYS_PER_RECORD } else { 1.0 };
        if k > 0.0 && gap(t.numerator, m.numerator) <= k * per_record && gap(t.denominator, m.denominator) <= k {
            r.explained += 1;
        } else {
            r.unexplained.push(format!(
                "{} {} {}: truth {:?}/{:?} = {:?}, published {:?}/{:?} = {:?} ({k} defects in its sources and period)",
                t.la, t.indicator, t.period_end, t.numerator, t.denominator, t.value, m.numerator, m.denominator, m.value
            ));
        }
    }
    r
}

/// The period a defective file covers and the sources it belongs to, from its path under
/// landing/ and its rule (`838/ssda903_2024/episodes.csv`, `838/cin_census/CIN_Census_2024.xml`,
/// `838/annex_a/Annex_A_2024_Mar_List_3.csv` or `…_Apr.xlsx` with rule `annex_a_list_8_cla.…`,
/// `838/synergy/SEN2_2024.xml` or `Blade-Export_25-01-2024_…`).
fn defect_span(file: &str, rule: Option<&str>) -> DefectSpan {
    let (la, rest) = file.split_once('/').expect("a council folder");
    let year_at = |s: &str, at: &str| -> i32 {
        let i = s.find(at).unwrap_or_else(|| panic!("{at} in {s}")) + at.len();
        s[i..i + 4].parse().unwrap_or_else(|_| panic!("a year after {at} in {s}"))
    };
    let collection_year = |y: i32| (NaiveDate::from_ymd_opt(y - 1, 4, 1).unwrap(), NaiveDate::from_ymd_opt(y, 3, 31).unwrap());
    let (family, (from, to)) = if rest.starts_with("ssda903_") {
        (Family::InCare, collection_year(year_at(rest, "ssda903_")))
    } else if rest.starts_with("cin_census/") {
        (Family::ChildrenInNeed, collection_year(year_at(rest, "CIN_Census_")))
    } else if rest.starts_with("annex_a/") {
        let y = year_at(rest, "Annex_A_");
        let i = rest.find("Annex_A_").unwrap() + "Annex_A_".len() + 5;
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| rest[i..].starts_with(m)).expect("a month") as u32 + 1;
        let list: u32 = rule.and_then(|r| r.strip_prefix("annex_a_list_")).and_then(|r| r.split('_').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let start = NaiveDate::from_ymd_opt(y, month, 1).unwrap();
        let months_back = if list >= 10 { 11 } else { 5 };
        let family = match list {
            1 | 3..=7 => Family::ChildrenInNeed,
            8..=11 => Family::InCare,
            _ => Family::Other,
        };
        (family, (start - Months::new(months_back), start + Months::new(1) - chrono::Duration::days(1)))
    } else if rest.starts_with("synergy/SEN2_") || rest.starts_with("synergy/Blade-Export_") {
        // the XML is named by its return's year; the Blade export is dated (dd-mm-yyyy) in the
        // January of its return's year
        let y = match rest.strip_prefix("synergy/Blade-Export_") {
            Some(dated) => dated[6..10].parse().expect("a year"),
            None => year_at(rest, "SEN2_"),
        };
        (Family::Send, (NaiveDate::from_ymd_opt(y - 1, 1, 1).unwrap(), NaiveDate::from_ymd_opt(y, 1, 31).unwrap()))
    } else {
        (Family::Other, (NaiveDate::MIN, NaiveDate::MIN))
    };
    DefectSpan { la: la.to_string(), family, from, to }
}

fn read_truth(path: &Path) -> Vec<Value> {
    let mut rd = csv::Reader::from_path(path).expect("truth.csv");
    rd.records()
        .map(|r| {
            let r = r.expect("a truth row");
            Value { la: r[0].into(), indicator: r[1].into(), period_start: date(&r[2]), period_end: date(&r[3]), numerator: num(&r[4]), denominator: num(&r[5]), value: num(&r[6]) }
        })
        .collect()
}

fn read_mart(warehouse: &Path) -> Vec<Value> {
    let rows = sql_json(
        warehouse,
        "SELECT la_code, indicator_id, CAST(period_start AS VARCHAR) AS ps, CAST(period_end AS VARCHAR) AS pe, numerator, denominator, value \
         FROM marts.indicators.indicator_values WHERE coverage = 'full'",
    );
    rows.iter()
        .map(|r| Value {
            la: r["la_code"].as_str().unwrap().into(),
            indicator: r["indicator_id"].as_str().unwrap().into(),
            period_start: date(r["ps"].as_str().unwrap()),
            period_end: date(r["pe"].as_str().unwrap()),
            numerator: r["numerator"].as_f64(),
            denominator: r["denominator"].as_f64(),
            value: r["value"].as_f64(),
        })
        .collect()
}

/// Generate in one shape at a small scale, load, compare; print the counts and fail on anything
/// unexplained, or on fewer values compared than expected (an Annex A-only council has full
/// coverage only at its snapshots' month ends and in the 12-month windows its monthly snapshots
/// cover).
fn check(shape: &str, args: &[&str], at_least_per_council: usize) -> Report {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut generate = vec!["generate", "--out", out.to_str().unwrap(), "--scale", "0.05", "--seed", "21"];
    generate.extend_from_slice(args);
    ok(&generate);
    let warehouse = tmp.path().join("warehouse");
    ok(&["run", "--landing", out.join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);

    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["truth"], "truth.csv");
    let defects: Vec<DefectSpan> = manifest["defects"].as_array().unwrap().iter().map(|d| defect_span(d["file"].as_str().unwrap(), d["rule"].as_str())).collect();
    let end_year = manifest["end_year"].as_i64().unwrap() as i32;
    let years = manifest["years"].as_i64().unwrap() as i32;
    let first_day = NaiveDate::from_ymd_opt(end_year - years, 4, 1).unwrap();

    let truth = read_truth(&out.join("truth.csv"));
    let councils: BTreeSet<&str> = truth.iter().map(|t| t.la.as_str()).collect();
    assert_eq!(councils.len(), manifest["councils"].as_array().unwrap().len(), "a truth for every council");
    let r = compare(&truth, &read_mart(&warehouse), &defects, first_day);
    println!(
        "{shape}: {} defects; {} values compared, {} equal, {} explained by injected defects, {} unexplained; \
         not compared: {} before the first return, {} not published with full coverage, {} of indicators without a truth",
        defects.len(),
        r.compared,
        r.equal,
        r.explained,
        r.unexplained.len(),
        r.before_history,
        r.not_covered,
        r.without_truth
    );
    assert!(r.unlisted.is_empty(), "{shape}: published indicators with no truth and no reason in truth::WITHOUT_TRUTH: {:?}", r.unlisted);
    assert!(r.unexplained.is_empty(), "{shape}: {} values differ from the truth with no injected defect to explain them:\n{}", r.unexplained.len(), r.unexplained.join("\n"));
    assert!(r.compared >= at_least_per_council * councils.len(), "{shape}: only {} values compared", r.compared);
    if defects.is_empty() {
        assert_eq!(r.explained, 0);
    }
    r
}

#[test]
fn returns_only_match_the_truth() {
    check("returns only", &["--social-care", "returns", "--defect-rate", "0"], 1500);
}

#[test]
fn annex_a_only_matches_the_truth() {
    check("Annex A only", &["--social-care", "annex-a", "--defect-rate", "0"], 300);
}

#[test]
fn returns_and_annex_a_match_the_truth() {
    check("returns and Annex A", &["--social-care", "both", "--defect-rate", "0"], 1500);
}

#[test]
fn ssda903_and_sen2_as_xml_match_the_truth() {
    check("903 and SEN2 as XML", &["--ssda903", "xml", "--sen2", "xml", "--defect-rate", "0"], 1500);
}

#[test]
fn one_percent_defects_are_all_explained() {
    let r = check("1% defects", &["--defect-rate", "0.01"], 1500);
    assert!(r.explained > 0, "at 1% some values should differ, each explained by a defect");
}

#[test]
fn five_percent_defects_are_all_explained() {
    let r = check("5% defects", &["--defect-rate", "0.05"], 1500);
    assert!(r.explained > 0, "at 5% some values should differ, each explained by a defect");
}

#[test]
fn three_councils_match_the_truth() {
    check("three councils", &["--councils", "3", "--defect-rate", "0"], 1500);
}

/// The comparison can fail: a truth one off, with no defect or with a defect elsewhere, is
/// unexplained; within a defect's reach it is explained; a look-back before the data is skipped.
#[test]
fn the_comparison_catches_a_wrong_value() {
    let d = |s: &str| date(s);
    let v = |ind: &str, start: &str, end: &str, n: f64, den: Option<f64>| Value {
        la: "838".into(),
        indicator: ind.into(),
        period_start: d(start),
        period_end: d(end),
        numerator: Some(n),
        denominator: den,
        value: Some(match den {
            Some(x) => 100.0 * n / x,
            None => n,
        }),
    };
    let mart = vec![v("cla_at_period_end", "2023-03-01", "2023-03-31", 40.0, None), v("referrals_nfa_pct", "2022-05-01", "2023-04-30", 10.0, Some(100.0))];
    let first = d("2020-04-01");
    // right
    let r = compare(&mart, &mart, &[], first);
    assert_eq!((r.compared, r.equal, r.explained, r.unexplained.len()), (2, 2, 0, 0));
    // one child too many in care, a share one off: no defects, both unexplained
    let wrong = vec![v("cla_at_period_end", "2023-03-01", "2023-03-31", 41.0, None), v("referrals_nfa_pct", "2022-05-01", "2023-04-30", 11.0, Some(100.0))];
    let r = compare(&wrong, &mart, &[], first);
    assert_eq!((r.equal, r.unexplained.len()), (0, 2));
    assert!(r.unexplained[0].contains("cla_at_period_end 2023-03-31"), "{:?}", r.unexplained);
    // a 903 defect in the 2023 return explains the month end in it, not the referrals (other sources)
    let in_care = defect_span("838/ssda903_2023/episodes.csv", Some("ssda903_episodes.DECOM.type"));
    let r = compare(&wrong, &mart, &[in_care.clone()], first);
    assert_eq!((r.explained, r.unexplained.len()), (1, 1));
    // a 903 defect in another council's or another year's return explains nothing
    let elsewhere = DefectSpan { la: "933".into(), ..in_care.clone() };
    let later = defect_span("838/ssda903_2025/episodes.csv", Some("ssda903_episodes.DECOM.type"));
    let r = compare(&wrong, &mart, &[elsewhere, later], first);
    assert_eq!(r.unexplained.len(), 2);
    // one defect cannot explain two children
    let two_off = vec![v("cla_at_period_end", "2023-03-01", "2023-03-31", 42.0, None)];
    let r = compare(&two_off, &mart, &[in_care], first);
    assert_eq!(r.unexplained.len(), 1);
    // a CIN census defect of the year explains the referrals; an Annex A list 8 snapshot does not
    let census = defect_span("838/cin_census/CIN_Census_2023.xml", Some("cin_details.ReferralSource.codes"));
    let list_8 = defect_span("838/annex_a/Annex_A_2023_Mar.xlsx", Some("annex_a_list_8_cla.key"));
    assert_eq!(list_8.family, Family::InCare);
    let r = compare(&wrong[1..], &mart, &[list_8], first);
    assert_eq!(r.unexplained.len(), 1);
    let r = compare(&wrong[1..], &mart, &[census], first);
    assert_eq!((r.explained, r.unexplained.len()), (1, 0));
    // a re-referral share whose 12 months of look-back start before the data is not compared
    let early = vec![v("re_referrals_12m_pct", "2020-05-01", "2021-04-30", 1.0, Some(10.0))];
    let published = vec![v("re_referrals_12m_pct", "2020-05-01", "2021-04-30", 0.0, Some(10.0))];
    let r = compare(&early, &published, &[], first);
    assert_eq!((r.compared, r.before_history), (0, 1));
    // a published indicator with neither a truth nor a reason is reported
    let r = compare(&[], &[v("a_new_indicator", "2023-03-01", "2023-03-31", 1.0, None)], &[], first);
    assert!(r.unlisted.contains("a_new_indicator"));
    // SEN2: a Blade export of January 2024 covers 2023 and its census day
    let sen2 = defect_span("838/synergy/Blade-Export_25-01-2024_namedplan.csv", None);
    assert_eq!((sen2.family, sen2.from, sen2.to), (Family::Send, d("2023-01-01"), d("2024-01-31")));
}
