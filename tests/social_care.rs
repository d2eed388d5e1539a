//! Social care indicators on generated councils: they land where the generator was calibrated,
//! every required id is there for every month, and a council that supplies the CIN census and
//! the 903 gets the same values as one that supplies Annex A snapshots of the same events.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;

/// Generate a council with `--social-care shape` and run the social care and reference pipelines
/// (which build every model); returns the warehouse.
fn council(dir: &Path, scale: &str, shape: &str) -> std::path::PathBuf {
    let out = dir.join(shape);
    ok(&["generate", "--out", out.to_str().unwrap(), "--scale", scale, "--seed", "7", "--defect-rate", "0", "--social-care", shape]);
    let warehouse = out.join("warehouse");
    ok(&["run", "--landing", out.join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "mosaic", "reference"]);
    warehouse
}

/// indicator id → period end → value, for the council's social care indicators.
fn values(warehouse: &Path) -> BTreeMap<String, BTreeMap<String, Option<f64>>> {
    let rows = sql_json(warehouse, "SELECT indicator_id, CAST(period_end AS VARCHAR) AS period_end, value FROM marts.indicators.indicator_values");
    let mut out: BTreeMap<String, BTreeMap<String, Option<f64>>> = BTreeMap::new();
    for r in rows {
        out.entry(r["indicator_id"].as_str().unwrap().to_string())
            .or_default()
            .insert(r["period_end"].as_str().unwrap().to_string(), r["value"].as_f64());
    }
    out
}

const FRONT_DOOR: [&str; 20] = [
    "contacts", "contacts_rate_per_10k", "contact_conversion_pct", "referrals", "referrals_rate_per_10k", "re_referrals_12m_pct",
    "referrals_nfa_pct", "referrals_from_police_pct", "referrals_from_health_pct", "referrals_from_schools_pct", "assessments",
    "assessments_rate_per_10k", "assessments_within_45wd_pct", "assessment_avg_working_days", "assessments_nfa_pct", "s47_enquiries",
    "s47_rate_per_10k", "s47_to_icpc_pct", "icpc_within_15wd_pct", "icpc_to_cpp_pct",
];
const MONTHLY_CARE: [&str; 20] = [
    "cin_at_period_end", "cin_rate_per_10k", "cpp_at_period_end", "cpp_rate_per_10k", "cpp_starts", "cpp_second_or_subsequent_pct",
    "cpp_ended_2yrs_plus_pct", "cpp_reviews_in_time_pct", "cla_at_period_end", "cla_rate_per_10k", "cla_starts", "cla_ceased",
    "cla_3plus_placements_pct", "cla_long_term_stability_pct", "cla_placed_external_pct", "cla_uasc_at_period_end",
    "cla_missing_children_pct", "cla_reviews_in_time_pct", "adoption_entry_to_placement_avg_days", "adoption_order_to_match_avg_days",
];
/// Only said at a 903 return's 31 March (OC2, OC3) or an Annex A snapshot's month end.
const AT_RETURNS: [&str; 5] = ["cla_health_assessment_pct", "cla_dental_check_pct", "care_leavers_in_touch_pct", "care_leavers_suitable_accommodation_pct", "care_leavers_eet_pct"];

#[test]
fn a_council_supplying_both_shapes_gets_every_indicator_for_every_month_near_its_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    let warehouse = council(tmp.path(), "0.5", "both");
    let v = values(&warehouse);

    // five collection years, 2021 to 2025: April 2020 to March 2025, every month
    let months: Vec<String> = v["referrals"].keys().cloned().collect();
    assert_eq!(months.len(), 60, "{months:?}");
    assert_eq!((months[0].as_str(), months[59].as_str()), ("2020-04-30", "2025-03-31"));
    for id in FRONT_DOOR.iter().chain(MONTHLY_CARE.iter()) {
        let got: Vec<&String> = v.get(*id).unwrap_or_else(|| panic!("{id} missing")).keys().collect();
        // contacts come only from Annex A list 1, whose first snapshot (March 2021) lists October 2020 on
        let want: Vec<&String> = if id.starts_with("contact") { months.iter().filter(|m| m.as_str() >= "2020-10-31").collect() } else { months.iter().collect() };
        assert!(want.iter().all(|m| got.contains(m)), "{id}: months {got:?}");
    }
    for id in AT_RETURNS {
        let got = &v[id];
        for year in 2021..=2025 {
            assert!(got.contains_key(&format!("{year}-03-31")), "{id} at 31 March {year}: {got:?}");
        }
        // and monthly in the year with monthly Annex A snapshots
        assert!(got.keys().filter(|m| m.as_str() > "2024-03-31").count() >= 12, "{id}: {got:?}");
    }
    let catalogue = sql_json(&warehouse, "SELECT indicator_id, definition, polarity FROM marts.indicators.indicator_catalogue");
    for id in FRONT_DOOR.iter().chain(MONTHLY_CARE.iter()).chain(AT_RETURNS.iter()) {
        let row = catalogue.iter().find(|r| r["indicator_id"] == *id).unwrap_or_else(|| panic!("{id} not in the catalogue"));
        assert!(row["definition"].as_str().unwrap().len() > 40, "{row}");
    }

    // calibrated to Dorset (docs/synth.md): re-referrals 19 %, assessments in 45 working days
    // about 91 %, about 65 children in care per 10,000
    let at = |id: &str| v[id]["2025-03-31"].unwrap_or_else(|| panic!("{id} has no value at 2025-03-31"));
    let within = |id: &str, lo: f64, hi: f64| {
        let x = at(id);
        assert!((lo..=hi).contains(&x), "{id} = {x}, expected {lo}..{hi}");
    };
    within("re_referrals_12m_pct", 15.0, 23.0);
    within("assessments_within_45wd_pct", 85.0, 97.0);
    within("cla_rate_per_10k", 55.0, 75.0);
    within("referrals_rate_per_10k", 370.0, 500.0);
    within("contact_conversion_pct", 30.0, 42.0);
    within("icpc_within_15wd_pct", 75.0, 98.0);

    // the comparison sets the council beside England, its region and its neighbours
    let cmp = sql_json(&warehouse, "SELECT indicator_id, england, region, statistical_neighbours FROM marts.indicators.indicator_comparison WHERE reporting_year = 2025 AND indicator_id = 'cla_rate_per_10k'");
    assert_eq!(cmp.len(), 1, "{cmp:?}");
    assert!(cmp[0]["england"].as_f64().is_some() && cmp[0]["region"].as_f64().is_some() && cmp[0]["statistical_neighbours"].as_f64().is_some(), "{cmp:?}");
}

#[test]
fn census_and_903_or_annex_a_snapshots_of_the_same_events_give_the_same_indicators() {
    let tmp = tempfile::tempdir().unwrap();
    let returns = values(&council(tmp.path(), "0.2", "returns"));
    let annex_a = values(&council(tmp.path(), "0.2", "annex-a"));

    // Annex A snapshots are monthly in the last year and each lists the six months before it, so
    // both shapes see every event of the 12-month windows ending October 2024 to March 2025
    let months = ["2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31"];
    let exact = [
        "referrals", "referrals_rate_per_10k", "re_referrals_12m_pct", "referrals_nfa_pct", "referrals_from_police_pct",
        "referrals_from_health_pct", "referrals_from_schools_pct", "assessments", "assessments_rate_per_10k",
        "assessments_within_45wd_pct", "assessment_avg_working_days", "s47_enquiries", "s47_rate_per_10k", "s47_to_icpc_pct",
        "icpc_within_15wd_pct", "icpc_to_cpp_pct", "cpp_at_period_end", "cpp_rate_per_10k", "cpp_starts",
        "cpp_second_or_subsequent_pct", "cpp_reviews_in_time_pct", "cla_at_period_end", "cla_rate_per_10k", "cla_starts",
        "cla_ceased", "cla_uasc_at_period_end", "cla_reviews_in_time_pct",
    ];
    // Annex A lists 6 and 7 carry one row per child (the latest episode or plan): an earlier
    // episode that closed after the last snapshot showing it, once a newer one replaced it, ends
    // at that snapshot's month end instead of its closure date. Within 3 %.
    let close = ["cin_at_period_end", "cin_rate_per_10k", "cpp_ended_2yrs_plus_pct"];
    let mut compared = 0;
    for id in exact.iter().chain(close.iter()) {
        for m in months {
            let a = returns[*id][m].unwrap_or_else(|| panic!("{id} {m}: no value from the returns"));
            let b = annex_a[*id][m].unwrap_or_else(|| panic!("{id} {m}: no value from Annex A"));
            if exact.contains(id) {
                assert!((a - b).abs() < 1e-9, "{id} at {m}: {a} from CIN census and 903, {b} from Annex A");
            } else {
                assert!((a - b).abs() <= 0.03 * a.abs().max(1.0), "{id} at {m}: {a} from CIN census and 903, {b} from Annex A");
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 30 * 6);
    // contacts exist only in Annex A: a council supplying returns has none, not zero
    assert!(!returns.contains_key("contacts") && annex_a["contacts"]["2025-03-31"].unwrap() > 0.0);
}
