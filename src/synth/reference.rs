//! Reference inputs a council downloads:
//!
//! * `<LA>/reference/mid_year_population.csv`: the ONS mid-year estimates of its children and
//!   young people by single year of age and sex, in the long layout of the DfE's republished
//!   estimates, counted from the simulated population, so that per-10,000 rates divide by the
//!   population the events were drawn from;
//! * `<LA>/reference/statistical_neighbours.csv`: its ten statistical neighbours in the layout of
//!   the DfE's children's services statistical neighbour benchmarking tool turned long (`LA
//!   number`, `SN rank`, `SN LA number` …). Dorset's are the tool's list (as in
//!   tests/fixtures/reference); any other council's are the ten nearest in a pool of English
//!   county and unitary councils by the generator's own distance (size of the 0-17 population
//!   and how urban the council is), not the DfE's;
//! * `reference/benchmarks.csv` at the landing root, once for all the councils generated: the
//!   Explore Education Statistics long layout (`time_period`, `geographic_level`, `old_la_code`,
//!   `indicator`, `value` …) with England, South West and statistical-neighbour-average rows for
//!   a handful of indicators, and a local authority row per council computed from its simulated
//!   returns. The England figures are of the size the DfE publishes (rounded from its
//!   statistical releases, for illustration); the regional and neighbour averages are fixed
//!   shares of them.

use std::collections::BTreeMap;

use super::defects::Plan;
use super::people::{add_years, age_on, date, year_end, World};
use super::writer::{Encoding, Output};
use super::{Result, YearSummary};

pub fn write(w: &World, out: &mut Output) -> Result<()> {
    write_population(w, out)?;
    write_neighbours(w, out)
}

fn write_population(w: &World, out: &mut Output) -> Result<()> {
    let cols = ["LA code", "LA name", "Year", "Sex", "Age", "Population"];
    let mut f = out.csv("reference/mid_year_population.csv", &cols, Plan::none(), Encoding::Utf8);
    for &y in &w.years {
        let mid = date(y - 1, 6, 30);
        let oldest = add_years(mid, -26);
        let mut counts = [[0u64; 26]; 2];
        for p in w.persons.iter().filter(|p| p.resident && !p.uasc && p.dob <= mid && p.dob > oldest) {
            let age = age_on(p.dob, mid) as usize;
            counts[usize::from(p.sex == 'F')][age] += 1;
        }
        for (sex, by_age) in ["1", "2"].iter().zip(counts) {
            for (age, n) in by_age.iter().enumerate() {
                f.clean_row(vec![w.council.la_code.into(), w.council.name.into(), (y - 1).to_string(), sex.to_string(), age.to_string(), n.to_string()]);
            }
        }
    }
    out.close(f)
}

/// English county and unitary councils the neighbours are chosen from: DfE code, name, 0-17
/// population relative to Dorset, and a rough share of the population in urban areas (the
/// generator's own figures, for a distance, not the DfE's measures).
const POOL: [(&str, &str, f64, f64); 24] = [
    ("838", "Dorset", 1.00, 0.45),
    ("933", "Somerset", 1.63, 0.40),
    ("839", "Bournemouth, Christchurch and Poole", 1.12, 0.95),
    ("878", "Devon", 2.05, 0.40),
    ("865", "Wiltshire", 1.57, 0.42),
    ("908", "Cornwall", 1.58, 0.30),
    ("916", "Gloucestershire", 1.97, 0.55),
    ("801", "Bristol, City of", 1.48, 1.00),
    ("879", "Plymouth", 0.76, 1.00),
    ("866", "Swindon", 0.73, 0.85),
    ("803", "South Gloucestershire", 0.86, 0.70),
    ("802", "North Somerset", 0.63, 0.65),
    ("800", "Bath and North East Somerset", 0.53, 0.65),
    ("880", "Torbay", 0.38, 0.95),
    ("893", "Shropshire", 0.88, 0.40),
    ("884", "Herefordshire, County of", 0.52, 0.30),
    ("815", "North Yorkshire", 1.75, 0.35),
    ("885", "Worcestershire", 1.71, 0.55),
    ("845", "East Sussex", 1.48, 0.55),
    ("921", "Isle of Wight", 0.35, 0.50),
    ("846", "Brighton and Hove", 0.68, 1.00),
    ("926", "Norfolk", 2.50, 0.45),
    ("935", "Suffolk", 2.20, 0.50),
    ("925", "Lincolnshire", 2.10, 0.40),
];

/// Dorset's ten, as the benchmarking tool lists them.
const DORSET: [&str; 10] = ["865", "933", "893", "884", "878", "908", "815", "885", "845", "921"];

/// A council's ten statistical neighbours, closest first: (code, name, distance).
pub fn neighbours(la: &str) -> Vec<(&'static str, &'static str, f64)> {
    let me = POOL.iter().find(|c| c.0 == la).copied().unwrap_or((".", ".", 1.0, 0.5));
    let dist = |c: &(&str, &str, f64, f64)| ((c.2 / me.2).ln().powi(2) + (2.0 * (c.3 - me.3)).powi(2)).sqrt();
    let mut v: Vec<(&'static str, &'static str, f64)> = POOL.iter().filter(|c| c.0 != la).map(|c| (c.0, c.1, dist(c))).collect();
    if la == "838" {
        v.retain(|c| DORSET.contains(&c.0));
        v.sort_by_key(|c| DORSET.iter().position(|d| *d == c.0));
    } else {
        v.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(b.0)));
        v.truncate(10);
    }
    v
}

fn write_neighbours(w: &World, out: &mut Output) -> Result<()> {
    let cols = ["LA number", "LA name", "SN rank", "SN LA number", "SN LA name", "Similarity", "Distance score"];
    let mut f = out.csv("reference/statistical_neighbours.csv", &cols, Plan::none(), Encoding::Utf8);
    for (i, (code, name, d)) in neighbours(w.council.la_code).into_iter().enumerate() {
        let band = match i {
            0..=1 => "Very close",
            2..=5 => "Close",
            _ => "Somewhat close",
        };
        f.clean_row(vec![w.council.la_code.into(), w.council.name.into(), (i + 1).to_string(), code.into(), name.into(), band.into(), format!("{d:.3}")]);
    }
    out.close(f)
}

/// What the DfE would publish about one generated council: its figures year by year.
pub struct Published {
    la_code: &'static str,
    name: &'static str,
    /// (collection year, indicator, numerator, denominator)
    figures: Vec<(i32, &'static str, f64, f64)>,
}

impl Published {
    pub fn of(w: &World, summary: &[YearSummary]) -> Self {
        let mut figures = vec![];
        for s in summary {
            let children = w.children_0_17(year_end(s.year)) as f64;
            figures.push((s.year, "cin_referrals_per_10000", s.referrals as f64, children));
            figures.push((s.year, "re_referrals_pct", s.re_referrals_12m as f64, s.referrals as f64));
            figures.push((s.year, "cpp_rate_per_10000", s.cpp_open_31_march as f64, children));
            figures.push((s.year, "cla_rate_per_10000", s.cla_31_march as f64, children));
            if s.pupils_spring > 0 {
                figures.push((s.year, "ehcp_pct_pupils", s.ehcps_january as f64, s.pupils_spring as f64));
            }
        }
        Published { la_code: w.council.la_code, name: w.council.name, figures }
    }
}

/// An indicator: id, name, unit, multiplier of numerator/denominator, England by collection
/// year (2019-2025), and the South West's and the statistical neighbours' shares of England.
struct Indicator {
    id: &'static str,
    name: &'static str,
    unit: &'static str,
    per: f64,
    england: [f64; 7],
    region: f64,
    neighbours: f64,
}

const INDICATORS: [Indicator; 7] = [
    Indicator { id: "cin_referrals_per_10000", name: "Referrals to children's social care per 10,000 children", unit: "per 10000", per: 10_000.0, england: [544.5, 534.8, 494.3, 538.4, 544.5, 556.1, 556.1], region: 0.92, neighbours: 0.90 },
    Indicator { id: "re_referrals_pct", name: "Re-referrals within 12 months", unit: "%", per: 100.0, england: [22.6, 22.6, 22.7, 21.5, 22.4, 22.4, 22.4], region: 1.03, neighbours: 1.0 },
    Indicator { id: "cin_rate_per_10000", name: "Children in need at 31 March per 10,000 children", unit: "per 10000", per: 10_000.0, england: [334.2, 323.7, 321.2, 334.3, 342.7, 332.9, 332.9], region: 0.93, neighbours: 0.92 },
    Indicator { id: "cpp_rate_per_10000", name: "Children on a child protection plan at 31 March per 10,000 children", unit: "per 10000", per: 10_000.0, england: [43.7, 42.8, 41.4, 42.1, 43.2, 41.6, 41.6], region: 0.95, neighbours: 0.97 },
    Indicator { id: "cla_rate_per_10000", name: "Children looked after at 31 March per 10,000 children", unit: "per 10000", per: 10_000.0, england: [65.0, 67.0, 67.0, 70.0, 71.0, 70.0, 70.0], region: 0.92, neighbours: 0.94 },
    Indicator { id: "assessments_within_45_days_pct", name: "Assessments completed within 45 working days", unit: "%", per: 100.0, england: [83.1, 84.4, 87.6, 84.5, 81.9, 82.4, 82.4], region: 1.02, neighbours: 1.03 },
    Indicator { id: "ehcp_pct_pupils", name: "Pupils with an EHC plan", unit: "%", per: 100.0, england: [3.1, 3.3, 3.7, 4.0, 4.3, 4.8, 5.3], region: 0.98, neighbours: 1.05 },
];

/// `reference/benchmarks.csv` at the landing root: England, South West, and for each council
/// its own figures and its statistical neighbours' average, for every year any council covers.
pub fn write_benchmarks(councils: &[Published], out: &mut Output) -> Result<()> {
    let cols = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code", "region_name", "old_la_code", "la_name", "indicator", "indicator_name", "value", "numerator", "denominator", "unit"];
    let mut f = out.csv("reference/benchmarks.csv", &cols, Plan::none(), Encoding::Utf8);
    let years: std::collections::BTreeSet<i32> = councils.iter().flat_map(|c| c.figures.iter().map(|x| x.0)).collect();
    let own: BTreeMap<(&str, i32, &str), (f64, f64)> = councils.iter().flat_map(|c| c.figures.iter().map(move |&(y, id, n, d)| ((c.la_code, y, id), (n, d)))).collect();
    for &y in &years {
        let e = |ind: &Indicator| ind.england[(y.clamp(2019, 2025) - 2019) as usize];
        let row = |level: &str, region: bool, la: (&str, &str), ind: &Indicator, value: String, num: String, den: String| -> Vec<String> {
            let (rc, rn) = if region { ("E12000009", "South West") } else { ("", "") };
            vec![y.to_string(), "Reporting year".into(), level.into(), "E92000001".into(), "England".into(), rc.into(), rn.into(), la.0.into(), la.1.into(), ind.id.into(), ind.name.into(), value, num, den, ind.unit.into()]
        };
        for ind in &INDICATORS {
            f.clean_row(row("National", false, ("", ""), ind, format!("{:.1}", e(ind)), String::new(), String::new()));
            f.clean_row(row("Regional", true, ("", ""), ind, format!("{:.1}", e(ind) * ind.region), String::new(), String::new()));
        }
        for c in councils {
            for ind in &INDICATORS {
                if let Some(&(n, d)) = own.get(&(c.la_code, y, ind.id)) {
                    let value = if d > 0.0 { format!("{:.1}", n / d * ind.per) } else { "z".into() };
                    f.clean_row(row("Local authority", true, (c.la_code, c.name), ind, value, format!("{n:.0}"), format!("{d:.0}")));
                }
                f.clean_row(row("Statistical neighbours", true, (c.la_code, c.name), ind, format!("{:.1}", e(ind) * ind.neighbours), String::new(), String::new()));
            }
        }
    }
    out.close(f)
}
