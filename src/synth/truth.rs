//! The simulation's own truth: the value every indicator should have, worked out from the event
//! model (the [`World`]: what really happened to every simulated child), never from the files
//! the writers produce. `lantern generate` writes it as `truth.csv` beside `manifest.json`, and
//! `tests/truth.rs` loads generated councils and compares every published indicator with it.
//!
//! Each indicator follows its definition in the catalogue (`sql/*/indicator_catalogue.sql`):
//! the same windows (a month end counts what is open at the end of its last day; "12 months to
//! period end" runs from the first day of the month eleven months before to the month end), the
//! same working days (England and Wales bank holidays), the same population (the ONS mid-year
//! estimate the DfE uses for the period, here counted from the simulated residents). What the
//! definitions look back to before the window (a previous referral, a period of care's start) is
//! in the World, so the truth is the true figure; [`LOOKBACK_MONTHS`] says how far back each
//! definition looks, so that a comparison can leave out the periods whose answer lies before the
//! first return (no export holds it). [`WITHOUT_TRUTH`] lists the indicators not yet computed
//! here, with the reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};

use super::census::{census_day, Term};
use super::people::{add_years, age_on, date, leaver_status, year_end, year_start, CarePeriod, Cpp, Ehcp, Episode, LeaverStatus, Referral, World};
use super::synergy;
use super::{io_err, Result};
use crate::query::calendar::{from_date, Calendar};

/// The true value of one indicator for one council and period.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub la_code: String,
    pub indicator_id: &'static str,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The kind of period, as marts.indicators.indicator_values names it: 'month end',
    /// '12 months to period end', or the return or snapshot a per-return measure is read from.
    pub window: &'static str,
    pub numerator: f64,
    pub denominator: Option<f64>,
    /// As the marts work it out from numerator and denominator: a count is the numerator; a
    /// percent 100 x n / d; a rate per 10,000 10,000 x n / d; a mean n / d; none when d is 0.
    pub value: Option<f64>,
}

/// How a value is worked out from its numerator and denominator.
#[derive(Clone, Copy)]
enum Kind {
    Count,
    Percent,
    Per10k,
    Mean,
}

/// Indicators whose truth is not computed yet, and why: the comparison skips them, and says so.
pub const WITHOUT_TRUTH: &[(&str, &str)] = &[
    ("adoption_entry_to_placement_avg_days", "not yet: a mean over the adoptions in the window of the days since entering care, which for most of them lies before the first return (a look-back of years), with the DATE_PLACED-else-first-A3-A6 rule"),
    ("adoption_order_to_match_avg_days", "not yet: as adoption_entry_to_placement_avg_days (the World's Adoption has the order and match dates)"),
    ("ehcp_independent_special_pct", "not yet: the setting type is the placement-costs export's (synergy::setting on the plan's URN), not the plan's alone"),
    ("pupils_on_roll", CENSUS_WRITER),
    ("fsm_pct", CENSUS_WRITER),
    ("sen_support_pct", CENSUS_WRITER),
    ("ehcp_pupils_pct", CENSUS_WRITER),
    ("overall_absence_pct", CENSUS_WRITER),
    ("persistent_absence_pct", CENSUS_WRITER),
    ("suspension_rate", CENSUS_WRITER),
    ("permanent_exclusion_rate", CENSUS_WRITER),
    ("cin_pupils_persistent_absence_pct", CENSUS_WRITER),
    ("cla_pupils_persistent_absence_pct", CENSUS_WRITER),
    ("cin_cla_with_ehcp_pct", CENSUS_WRITER),
];

const CENSUS_WRITER: &str = "not yet: who is on roll on a census day, and a term's sessions, absence and exclusions, are drawn by the school census writer (census.rs) as it writes; the World holds no per-term record to compute them from";

/// How many months before a period's start its definition looks beyond what the returns of the
/// period hold: a re-referral looks for a referral in the 12 months before the window (the CIN
/// census lists only the episodes open in its year); long-term stability for the start of a
/// period of care and placement 30 months before the month end (the 903 lists only the episodes
/// open in its year); an up-to-date review for a review in the 6 months before it (the 903 lists
/// only the year's reviews). A period whose look-back reaches before the first return asks for
/// what no export holds: a comparison leaves it out.
pub const LOOKBACK_MONTHS: &[(&str, u32)] = &[("re_referrals_12m_pct", 12), ("cla_long_term_stability_pct", 30), ("cla_reviews_in_time_pct", 6)];

/// The months `d` looks back for `indicator` (0 for most).
pub fn lookback_months(indicator: &str) -> u32 {
    LOOKBACK_MONTHS.iter().find(|(i, _)| *i == indicator).map_or(0, |(_, m)| *m)
}

/// Every indicator with a truth, for each month end of the world's window.
pub fn compute(w: &World) -> Vec<Truth> {
    let cal = Calendar::shipped();
    let mut out = Out { la: w.council.la_code.to_string(), rows: vec![] };
    let populations = Populations::of(w);
    // each child's referrals (episodes of need), for the definitions that look at a child's others
    let mut by_child: ByChild = HashMap::new();
    for r in &w.referrals {
        by_child.entry(r.child).or_default().push(r);
    }
    for d in month_ends(w.window_start, w.window_end) {
        let ws = window_start(d);
        let pop = populations.at(dfe_mid_year(d)).0;
        front_door(w, &cal, &by_child, &mut out, ws, d, pop);
        cin_cp(w, &by_child, &mut out, ws, d, pop);
        cla(w, &cal, &mut out, ws, d, pop);
        health(w, &mut out, d);
        care_leavers(w, &mut out, d);
    }
    send(w, &populations, &mut out);
    out.rows
}

/// Write `truth.csv`: one row per council, indicator and period.
pub fn write(rows: &[Truth], path: &Path) -> Result<()> {
    let mut s = String::from("la_code,indicator_id,period_start,period_end,window,numerator,denominator,value\n");
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for t in rows {
        s.push_str(&format!("{},{},{},{},{},{},{},{}\n", t.la_code, t.indicator_id, t.period_start, t.period_end, t.window, t.numerator, num(t.denominator), num(t.value)));
    }
    std::fs::write(path, s).map_err(io_err(path))
}

struct Out {
    la: String,
    rows: Vec<Truth>,
}

impl Out {
    /// A value over a month end or the 12 months to it (the window follows from the start).
    fn add(&mut self, id: &'static str, start: NaiveDate, end: NaiveDate, kind: Kind, n: f64, d: Option<f64>) {
        let window = if start.month() == end.month() && start.year() == end.year() { "month end" } else { "12 months to period end" };
        self.add_in(window, id, start, end, kind, n, d);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_in(&mut self, window: &'static str, id: &'static str, start: NaiveDate, end: NaiveDate, kind: Kind, n: f64, d: Option<f64>) {
        let value = match kind {
            Kind::Count => Some(n),
            Kind::Percent => d.filter(|d| *d > 0.0).map(|d| 100.0 * n / d),
            Kind::Per10k => d.filter(|d| *d > 0.0).map(|d| 10000.0 * n / d),
            Kind::Mean => d.filter(|d| *d > 0.0).map(|d| n / d),
        };
        self.rows.push(Truth { la_code: self.la.clone(), indicator_id: id, period_start: start, period_end: end, window, numerator: n, denominator: d, value });
    }
}

/// The last day of every month from `from`'s month to `to`'s.
fn month_ends(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = vec![];
    let mut m = date(from.year(), from.month(), 1);
    while m <= to {
        let next = m + Months::new(1);
        out.push(next.pred_opt().expect("a date"));
        m = next;
    }
    out
}

/// First day of the 12 months to the month end `d`.
fn window_start(d: NaiveDate) -> NaiveDate {
    date(d.year(), d.month(), 1) - Months::new(11)
}

/// `d` minus `n` calendar months, the day clamped to the month's length (as SQL's INTERVAL).
fn months_before(d: NaiveDate, n: u32) -> NaiveDate {
    d - Months::new(n)
}

fn months_after(d: NaiveDate, n: u32) -> NaiveDate {
    d + Months::new(n)
}

fn within(x: NaiveDate, from: NaiveDate, to: NaiveDate) -> bool {
    x >= from && x <= to
}

/// The mid-year (30 June) the DfE's population for a period ending `d` is estimated at: the one
/// inside the financial year of `d`.
fn dfe_mid_year(d: NaiveDate) -> i32 {
    if d.month() < 4 { d.year() - 1 } else { d.year() }
}

/// Residents aged 0-17 (the social care rates') and 0-25 (the EHC plan rate's) on 30 June of each
/// mid-year the generator writes (`reference::write_population`: the one before each collection
/// year), as `mid_year_population.csv` counts them.
struct Populations {
    by_year: BTreeMap<i32, (f64, f64)>,
}

impl Populations {
    fn of(w: &World) -> Self {
        let mut by_year = BTreeMap::new();
        for y in w.years.iter().map(|y| y - 1) {
            let mid = date(y, 6, 30);
            let ages: Vec<i32> = w.persons.iter().filter(|p| p.resident && !p.uasc && p.dob <= mid).map(|p| age_on(p.dob, mid)).collect();
            let aged = |hi: i32| ages.iter().filter(|a| **a <= hi).count() as f64;
            by_year.insert(y, (aged(17), aged(25)));
        }
        Populations { by_year }
    }

    /// The estimate for `mid_year`, or as the models fall back when it is not loaded: the latest
    /// before it, else the earliest.
    fn at(&self, mid_year: i32) -> (f64, f64) {
        let before = self.by_year.range(..=mid_year).next_back();
        *before.or_else(|| self.by_year.iter().next()).expect("a mid-year").1
    }
}

fn working_days(cal: &Calendar, a: NaiveDate, b: NaiveDate) -> i64 {
    cal.working_days(from_date(a), from_date(b))
}

type ByChild<'a> = HashMap<u32, Vec<&'a Referral>>;

/// A child's referrals (none when the child has none).
fn of<'a>(by_child: &'a ByChild, child: u32) -> &'a [&'a Referral] {
    by_child.get(&child).map_or(&[], Vec::as_slice)
}

fn front_door(w: &World, cal: &Calendar, by_child: &ByChild, out: &mut Out, ws: NaiveDate, d: NaiveDate, pop: f64) {
    let end = w.window_end;
    // contacts: one per child, date and source
    let contacts: BTreeSet<(u32, NaiveDate, &str)> = w.contacts.iter().filter(|c| within(c.date, ws, d)).map(|c| (c.child, c.date, c.source)).collect();
    let referred = |child: u32, from: NaiveDate| {
        let to = crate::query::calendar::to_date(cal.add_working_days(from_date(from), 5).expect("a date")).expect("a date");
        of(by_child, child).iter().any(|r| within(r.date, from, to) && is_child(w, r.child, r.date))
    };
    let converted = contacts.iter().filter(|(c, day, _)| referred(*c, *day)).count() as f64;
    let n = contacts.len() as f64;
    out.add("contacts", ws, d, Kind::Count, n, None);
    out.add("contacts_rate_per_10k", ws, d, Kind::Per10k, n, Some(pop));
    out.add("contact_conversion_pct", ws, d, Kind::Percent, converted, Some(n));

    // referrals: one per child and referral date
    let mut refs: BTreeMap<(u32, NaiveDate), &Referral> = BTreeMap::new();
    for r in w.referrals.iter().filter(|r| within(r.date, ws, d) && is_child(w, r.child, r.date)) {
        refs.entry((r.child, r.date)).or_insert(r);
    }
    let n = refs.len() as f64;
    let re = refs.keys().filter(|(c, day)| of(by_child, *c).iter().any(|p| p.date < *day && p.date >= months_before(*day, 12))).count() as f64;
    let count = |f: &dyn Fn(&Referral) -> bool| refs.values().filter(|r| f(r)).count() as f64;
    out.add("referrals", ws, d, Kind::Count, n, None);
    out.add("referrals_rate_per_10k", ws, d, Kind::Per10k, n, Some(pop));
    out.add("re_referrals_12m_pct", ws, d, Kind::Percent, re, Some(n));
    out.add("referrals_nfa_pct", ws, d, Kind::Percent, count(&|r| r.nfa), Some(n));
    out.add("referrals_from_police_pct", ws, d, Kind::Percent, count(&|r| r.source == "6"), Some(n));
    out.add("referrals_from_health_pct", ws, d, Kind::Percent, count(&|r| r.source.starts_with('3')), Some(n));
    out.add("referrals_from_schools_pct", ws, d, Kind::Percent, count(&|r| r.source == "2A"), Some(n));

    // assessments authorised in the window: one per child and start date
    // (working days from start to authorisation, assessed as needing support)
    let mut assessed: BTreeMap<(u32, NaiveDate), (i64, bool)> = BTreeMap::new();
    for r in w.referrals.iter().filter(|r| is_child(w, r.child, r.date)) {
        if let Some(a) = r.assessment.as_ref().filter(|a| within(a.authorised, ws, d) && a.authorised <= end) {
            assessed.entry((r.child, a.start)).or_insert((working_days(cal, a.start, a.authorised), a.needs_support));
        }
    }
    let n = assessed.len() as f64;
    out.add("assessments", ws, d, Kind::Count, n, None);
    out.add("assessments_rate_per_10k", ws, d, Kind::Per10k, n, Some(pop));
    out.add("assessments_within_45wd_pct", ws, d, Kind::Percent, assessed.values().filter(|(wd, _)| *wd <= 45).count() as f64, Some(n));
    out.add("assessment_avg_working_days", ws, d, Kind::Mean, assessed.values().map(|(wd, _)| wd).sum::<i64>() as f64, Some(n));
    out.add("assessments_nfa_pct", ws, d, Kind::Percent, assessed.values().filter(|(_, support)| !support).count() as f64, Some(n));

    // section 47 enquiries started in the window, and conferences held in it
    let mut s47: BTreeMap<(u32, NaiveDate), bool> = BTreeMap::new();
    let mut icpcs: BTreeMap<(u32, NaiveDate), (i64, bool)> = BTreeMap::new();
    for r in w.referrals.iter().filter(|r| is_child(w, r.child, r.date)) {
        let Some(s) = &r.s47 else { continue };
        let icpc = s.icpc.filter(|i| *i <= end);
        if within(s.start, ws, d) {
            s47.entry((r.child, s.start)).or_insert(icpc.is_some());
        }
        if let Some(i) = icpc.filter(|i| within(*i, ws, d)) {
            let to_plan = of(by_child, r.child).iter().any(|p| p.cpp.as_ref().is_some_and(|c| within(c.start, i, i + chrono::Duration::days(45))));
            icpcs.entry((r.child, i)).or_insert((working_days(cal, s.start, i), to_plan));
        }
    }
    let n = s47.len() as f64;
    out.add("s47_enquiries", ws, d, Kind::Count, n, None);
    out.add("s47_rate_per_10k", ws, d, Kind::Per10k, n, Some(pop));
    out.add("s47_to_icpc_pct", ws, d, Kind::Percent, s47.values().filter(|x| **x).count() as f64, Some(n));
    let n = icpcs.len() as f64;
    out.add("icpc_within_15wd_pct", ws, d, Kind::Percent, icpcs.values().filter(|(wd, _)| *wd <= 15).count() as f64, Some(n));
    out.add("icpc_to_cpp_pct", ws, d, Kind::Percent, icpcs.values().filter(|(_, p)| *p).count() as f64, Some(n));
}

/// A child in need: referred before their 18th birthday (the CIN census's children).
fn is_child(w: &World, child: u32, on: NaiveDate) -> bool {
    age_on(w.person(child).dob, on) < 18
}

fn cin_cp(w: &World, by_child: &ByChild, out: &mut Out, ws: NaiveDate, d: NaiveDate, pop: f64) {
    let end = w.window_end;
    let month_start = date(d.year(), d.month(), 1);
    let refs = || w.referrals.iter().filter(|r| is_child(w, r.child, r.date));
    let cin: BTreeSet<u32> = refs().filter(|r| r.date <= d && r.closure > d).map(|r| r.child).collect();
    let cpp: BTreeSet<u32> = refs().filter(|r| r.cpp.as_ref().is_some_and(|c| c.start <= d && c.end > d)).map(|r| r.child).collect();
    out.add("cin_at_period_end", month_start, d, Kind::Count, cin.len() as f64, None);
    out.add("cin_rate_per_10k", month_start, d, Kind::Per10k, cin.len() as f64, Some(pop));
    out.add("cpp_at_period_end", month_start, d, Kind::Count, cpp.len() as f64, None);
    out.add("cpp_rate_per_10k", month_start, d, Kind::Per10k, cpp.len() as f64, Some(pop));

    let plans: Vec<(u32, &Cpp)> = refs().filter_map(|r| r.cpp.as_ref().map(|c| (r.child, c))).collect();
    let started: Vec<&(u32, &Cpp)> = plans.iter().filter(|(_, c)| within(c.start, ws, d)).collect();
    let earlier_plan = |child: u32, start: NaiveDate| of(by_child, child).iter().any(|r| is_child(w, r.child, r.date) && r.cpp.as_ref().is_some_and(|e| e.start < start));
    let subsequent = started.iter().filter(|(child, c)| c.previous > 0 || earlier_plan(*child, c.start)).count() as f64;
    out.add("cpp_starts", ws, d, Kind::Count, started.len() as f64, None);
    out.add("cpp_second_or_subsequent_pct", ws, d, Kind::Percent, subsequent, Some(started.len() as f64));
    let ended: Vec<&(u32, &Cpp)> = plans.iter().filter(|(_, c)| within(c.end, ws, d) && c.end <= end).collect();
    let two_years = ended.iter().filter(|(_, c)| c.end >= months_after(c.start, 24)).count() as f64;
    out.add("cpp_ended_2yrs_plus_pct", ws, d, Kind::Percent, two_years, Some(ended.len() as f64));

    // reviews: plans open at the month end begun 3+ months before it; in time with a review in
    // the 6 months to it and, begun in those 6 months, a first review within 3 months of the start
    let (mut due, mut in_time) = (0.0, 0.0);
    for (_, c) in plans.iter().filter(|(_, c)| c.start <= months_before(d, 3) && c.end > d) {
        due += 1.0;
        let seen: Vec<NaiveDate> = c.reviews.iter().copied().filter(|r| *r <= d).collect();
        let (Some(first), Some(last)) = (seen.iter().min(), seen.iter().max()) else { continue };
        if *last >= months_before(d, 6) && (c.start <= months_before(d, 6) || *first <= months_after(c.start, 3)) {
            in_time += 1.0;
        }
    }
    out.add("cpp_reviews_in_time_pct", month_start, d, Kind::Percent, in_time, Some(due));
}

/// A placement: a run of a period's episodes with the same carer, from the period's start or a
/// change of carer (RNE P or B) up to the next; T, U and L change nothing here.
struct Placement<'a> {
    start: NaiveDate,
    end: NaiveDate,
    episodes: &'a [Episode],
}

fn placements(cp: &CarePeriod) -> Vec<Placement<'_>> {
    let mut out = vec![];
    let mut first = 0;
    for i in 1..=cp.episodes.len() {
        if i == cp.episodes.len() || matches!(cp.episodes[i].rne, "P" | "B") {
            let eps = &cp.episodes[first..i];
            out.push(Placement { start: eps[0].start, end: eps[eps.len() - 1].end, episodes: eps });
            first = i;
        }
    }
    out
}

fn cla(w: &World, cal: &Calendar, out: &mut Out, ws: NaiveDate, d: NaiveDate, pop: f64) {
    let end = w.window_end;
    let month_start = date(d.year(), d.month(), 1);
    let open: Vec<&CarePeriod> = w.care.iter().filter(|cp| cp.open_on(d)).collect();
    let children: BTreeSet<u32> = open.iter().map(|cp| cp.child).collect();
    out.add("cla_at_period_end", month_start, d, Kind::Count, children.len() as f64, None);
    out.add("cla_rate_per_10k", month_start, d, Kind::Per10k, children.len() as f64, Some(pop));
    out.add("cla_starts", ws, d, Kind::Count, w.care.iter().filter(|cp| within(cp.start, ws, d)).count() as f64, None);
    out.add("cla_ceased", ws, d, Kind::Count, w.care.iter().filter(|cp| within(cp.end, ws, d) && cp.end <= end).count() as f64, None);
    let uasc = open.iter().filter(|cp| {
        let p = w.person(cp.child);
        p.uasc && add_years(p.dob, 18) > d
    });
    out.add("cla_uasc_at_period_end", month_start, d, Kind::Count, uasc.count() as f64, None);

    let mut periods_of: HashMap<u32, Vec<&CarePeriod>> = HashMap::new();
    for cp in &w.care {
        periods_of.entry(cp.child).or_default().push(cp);
    }
    let (mut external, mut with_placement, mut three_plus, mut lts_due, mut lts_stable, mut review_due, mut reviewed) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for cp in &open {
        let p = w.person(cp.child);
        let pls = placements(cp);
        let Some(k) = pls.iter().position(|pl| pl.start <= d && pl.end > d) else { continue };
        let now = &pls[k];
        with_placement += 1.0;
        // (the 903 gives no PLACE_PROVIDER for an "other placement", Z1: the DfE's 178)
        if cp.episode_on(d).is_some_and(|e| e.place != "Z1" && matches!(e.provider, "PR4" | "PR5")) {
            external += 1.0;
        }
        let in_window: usize = periods_of[&cp.child].iter().map(|q| placements(q).iter().filter(|pl| pl.start <= d && pl.end >= ws).count()).sum();
        if in_window >= 3 {
            three_plus += 1.0;
        }
        // NI 063
        if age_on(p.dob, d) < 16 && cp.start <= months_before(d, 30) {
            lts_due += 1.0;
            let two_years_ago = months_before(d, 24);
            let adoptive = now.episodes.iter().filter(|e| e.start <= d).find(|e| matches!(e.place, "A3" | "A4" | "A5" | "A6"));
            let placed_for_adoption = now.episodes.iter().any(|e| e.start <= d && e.end > d && matches!(e.place, "A3" | "A4" | "A5" | "A6"));
            let before = if k > 0 { Some(pls[k - 1].start) } else { None };
            let adoption_rule = placed_for_adoption && adoptive.is_some_and(|a| a.start == now.start) && before.is_some_and(|b| b <= two_years_ago);
            if now.start <= two_years_ago || adoption_rule {
                lts_stable += 1.0;
            }
        }
        // reviews: in care 20+ working days, latest review in the 6 months to the month end
        let twenty = crate::query::calendar::to_date(cal.add_working_days(from_date(cp.start), 20).expect("a date")).expect("a date");
        if twenty <= d {
            review_due += 1.0;
            if cp.reviews.iter().filter(|r| **r >= cp.start && **r <= d).max().is_some_and(|r| *r >= months_before(d, 6)) {
                reviewed += 1.0;
            }
        }
    }
    out.add("cla_placed_external_pct", month_start, d, Kind::Percent, external, Some(with_placement));
    out.add("cla_3plus_placements_pct", ws, d, Kind::Percent, three_plus, Some(with_placement));
    out.add("cla_long_term_stability_pct", month_start, d, Kind::Percent, lts_stable, Some(lts_due));
    out.add("cla_reviews_in_time_pct", month_start, d, Kind::Percent, reviewed, Some(review_due));

    // went missing (M, not A) while in care in the window, of children looked after in it
    let mut looked_after = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for cp in w.care.iter().filter(|cp| cp.start <= d && cp.end >= ws) {
        looked_after.insert(cp.child);
        let (from, to) = (ws.max(cp.start), d.min(cp.end));
        if cp.missing.iter().any(|m| m.kind == "M" && within(m.start, from, to)) {
            missing.insert(cp.child);
        }
    }
    out.add("cla_missing_children_pct", ws, d, Kind::Percent, missing.len() as f64, Some(looked_after.len() as f64));
}

/// Health assessments and dental checks of children looked after continuously for 12 months, in
/// the 12 months to the month end: as Annex A list 8 says them at a snapshot's month end (in care
/// at the month end, since the same day a year before or earlier: the catalogue's "period began
/// 12+ months before the month end") and the 903 OC2 at 31 March (in care since the collection
/// year's first day, 1 April, or earlier: the DfE's continuously looked after, no period of care
/// starting after that day).
fn health(w: &World, out: &mut Out, d: NaiveDate) {
    let year_ago = months_before(d, 12);
    let start = year_ago + chrono::Duration::days(1);
    let in_year = |dates: &[NaiveDate]| dates.iter().any(|x| *x > year_ago && *x <= d);
    let mut windows = vec![("Annex A list 8 at month end", year_ago)];
    if d.month() == 3 {
        windows.push(("SSDA903 OC2 at 31 March", start));
    }
    for (window, since) in windows {
        let cohort: Vec<&CarePeriod> = w.care.iter().filter(|cp| cp.open_on(d) && cp.start <= since).collect();
        let health = cohort.iter().filter(|cp| in_year(&cp.health_assessments)).count() as f64;
        let dental = cohort.iter().filter(|cp| in_year(&cp.dental_checks)).count() as f64;
        let n = Some(cohort.len() as f64);
        out.add_in(window, "cla_health_assessment_pct", start, d, Kind::Percent, health, n);
        out.add_in(window, "cla_dental_check_pct", start, d, Kind::Percent, dental, n);
    }
}

/// Care leavers in the DfE's age groups (19 to 21, the headline ids; 17 to 18), in touch, in
/// suitable accommodation (not known is not), in education, employment or training (activity F* or
/// P*). The 903 OC3 at 31 March: the young people whose 17th to 21st birthday fell in the
/// collection year after they left care, as they were on that birthday, by the age they turned in
/// it; one who left care on the birthday itself is not a care leaver on it (the DfE's 1016: care
/// leaver information is not required for a young person whose care ended on or after the
/// birthday). Annex A list 9 at a month end: the care leavers of the day, as they are on it.
fn care_leavers(w: &World, out: &mut Out, d: NaiveDate) {
    let y = if d.month() >= 4 { d.year() + 1 } else { d.year() };
    let start = months_before(d, 12) + chrono::Duration::days(1);
    let mut per_window: Vec<(&'static str, Vec<(i32, LeaverStatus)>)> = vec![];
    let day: Vec<(i32, LeaverStatus)> = w.care_leavers_on(d).into_iter().map(|(c, _)| (age_on(w.person(c).dob, d), leaver_status(w, c, d, y))).collect();
    per_window.push(("Annex A list 9 at month end", day));
    if d.month() == 3 {
        let (ys, ye) = (year_start(y), year_end(y));
        let mut oc3: BTreeMap<u32, NaiveDate> = BTreeMap::new();
        for a in 17..=21 {
            for (c, cp) in w.care_leavers_between(add_years(ys, -a), add_years(ye, -a)) {
                let birthday = add_years(w.person(c).dob, a);
                if cp.end < birthday && within(birthday, ys, ye) {
                    oc3.entry(c).or_insert(birthday);
                }
            }
        }
        per_window.push(("SSDA903 OC3 at 31 March", oc3.into_iter().map(|(c, b)| (age_on(w.person(c).dob, ye), leaver_status(w, c, b, y))).collect()));
    }
    for (window, leavers) in per_window {
        for (ids, ages) in [(["care_leavers_in_touch_pct", "care_leavers_suitable_accommodation_pct", "care_leavers_eet_pct"], 19..=21), (["care_leavers_in_touch_17_18_pct", "care_leavers_suitable_accommodation_17_18_pct", "care_leavers_eet_17_18_pct"], 17..=18)] {
            let group: Vec<&LeaverStatus> = leavers.iter().filter(|(a, _)| ages.contains(a)).map(|(_, s)| s).collect();
            let n = Some(group.len() as f64);
            let in_touch = group.iter().filter(|s| s.in_touch == "YES").count() as f64;
            let suitable = group.iter().filter(|s| s.in_touch == "YES" && s.suitable).count() as f64;
            let eet = group.iter().filter(|s| s.activity.starts_with('F') || s.activity.starts_with('P')).count() as f64;
            out.add_in(window, ids[0], start, d, Kind::Percent, in_touch, n);
            out.add_in(window, ids[1], start, d, Kind::Percent, suitable, n);
            out.add_in(window, ids[2], start, d, Kind::Percent, eet, n);
        }
    }
}

/// SEND: the months SEN2 returns cover, January of the year before the first to December of the
/// year before the last. SEN2 keys a plan or request on the UPN: one that no return lists with a
/// UPN cannot be keyed, and the catalogue leaves it out.
fn send(w: &World, populations: &Populations, out: &mut Out) {
    let (y1, yn) = (w.years[0], w.years[w.years.len() - 1]);
    let keyed = |e: &Ehcp| {
        let p = w.person(e.child);
        w.years.iter().any(|&y| {
            let census = census_day(y, Term::Spring);
            p.dob <= census && p.upn_on(census).is_some() && synergy::in_return(e, date(y - 1, 1, 1), date(y - 1, 12, 31), census)
        })
    };
    let ehcps: Vec<&Ehcp> = w.ehcps.iter().filter(|e| keyed(e)).collect();
    // per return: plans active on its census day issued 12 months or more before it, reviewed in
    // the 12 months to it (the plans that return lists with a UPN)
    for &y in &w.years {
        let census = census_day(y, Term::Spring);
        let year_ago = months_before(census, 12);
        let listed = w.ehcps.iter().filter(|e| e.active_on(census) && w.person(e.child).dob <= census && w.person(e.child).upn_on(census).is_some());
        let due: Vec<&Ehcp> = listed.filter(|e| e.plan_start.is_some_and(|s| s <= year_ago)).collect();
        let reviewed = due.iter().filter(|e| e.reviews.iter().filter(|r| **r <= census).max().is_some_and(|r| *r >= year_ago)).count() as f64;
        out.add_in("SEN2 census day", "ehcp_annual_review_in_time_pct", census, census, Kind::Percent, reviewed, Some(due.len() as f64));
    }
    for d in month_ends(date(y1 - 1, 1, 1), date(yn - 1, 12, 31)) {
        let month_start = date(d.year(), d.month(), 1);
        let ws = window_start(d);
        let plans = ehcps.iter().filter(|e| e.active_on(d)).count() as f64;
        out.add("ehcp_at_period_end", month_start, d, Kind::Count, plans, None);
        // the rate: plans of 0-25 year olds per 10,000 aged 0-25 (the latest mid-year not after the month's year)
        let young = ehcps.iter().filter(|e| e.active_on(d) && age_on(w.person(e.child).dob, d) <= 25).count() as f64;
        out.add("ehcp_rate_per_10k", month_start, d, Kind::Per10k, young, Some(populations.at(d.year()).1));
        let requests: BTreeSet<(u32, NaiveDate)> = ehcps.iter().filter(|e| within(e.request, ws, d)).map(|e| (e.child, e.request)).collect();
        out.add("ehcna_requests", ws, d, Kind::Count, requests.len() as f64, None);
        // plans issued in the window with no Week20 exception, and those issued within 20 weeks
        let issued: Vec<&&Ehcp> = ehcps.iter().filter(|e| e.plan_start.is_some_and(|s| within(s, ws, d)) && !e.week20_exception()).collect();
        let in_time = issued.iter().filter(|e| !e.issued_late()).count() as f64;
        out.add("ehcp_issued_within_20wks_pct", ws, d, Kind::Percent, in_time, Some(issued.len() as f64));
    }
}
