//! What the council's EHC plans cost and where the children are, from Synergy's side:
//!
//! * [`placement`]: the High Needs top-up a plan draws in a month, its provider, setting type and
//!   ledger cost centre. The ledger ([`super::finance`]) posts a twelfth of the annual cost for
//!   every month a plan is active; the placement-cost export below lists the same placements at
//!   the same annual cost, so the export and the ledger agree;
//! * `synergy/ehcp_placement_costs_<yyyy>-03.csv`, each 31 March: every placement costed in the
//!   financial year, one row per plan and provider (a pupil moving to secondary school has two),
//!   with the council's own headers (`Synergy ID`, `Placement Type`, `Funding Source` …),
//!   money written `£1,480.00` or `1480.00`, weekly and/or annual cost;
//! * the Annex A SEND lists on each spring census day
//!   (`synergy/Annex_A_SEND_List_1_EHCP_<yyyy>-01.csv`, `…_List_2_SEN_Support_<yyyy>-01.csv`):
//!   every child with an active plan, and every pupil on SEN support in the census, with the
//!   template's headers (hyphens for en dashes) and codes written as codes, labels or
//!   `a) ASD: Autistic spectrum disorder`. Whether a child is known to children's social care
//!   comes from MOSAIC's referrals and care periods: the same children.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::census::{census_day, school_on, special_placements, support_need, Term};
use super::defects::{DateStyle, Plan};
use super::mosaic::{dmy, odmy};
use super::people::{add_days, age_on, date, nc_year, school_entry, Ehcp, Person, SchoolKind, World};
use super::rng::{self, chance, int, lognormal, unit, Rng};
use super::synergy::{setting, uln};
use super::writer::{Encoding, Output};
use super::Result;

/// The council's (Synergy) person id.
pub fn synergy_id(p: &Person) -> String {
    format!("SYN{:07}", p.id)
}

/// A plan's placement in one month, as the High Needs block pays for it.
pub struct Placement {
    /// Ledger cost centre.
    pub cc: &'static str,
    /// Annual top-up (£, in the prices of the financial year asked for).
    pub annual: f64,
    pub provider: String,
    /// As the council's export writes it (an alias in `sen2.setting_type`).
    pub setting_type: &'static str,
    pub urn: String,
    /// When the child started at this provider.
    pub entry: NaiveDate,
}

const INMSS: [&str; 5] = ["Witherslack Group", "Priory Education", "Outcomes First Group", "Aspris Children's Services", "Cambian Education"];

/// Where plan `e` places the child on `on` and what it costs in collection year `y` (whose
/// financial year ends 31 March `y`).
pub fn placement(w: &World, e: &Ehcp, y: i32, on: NaiveDate) -> Placement {
    let p = &w.params;
    let person = w.person(e.child);
    let start = e.plan_start.unwrap_or(e.request);
    // each plan's top-up sits a little above or below its setting's average, for its whole life
    let mut r = rng::item(w.seed, w.council.la_code, "ehcp-cost", (e.child as u64) << 20 | (e.request.num_days_from_ce() as u64 & 0xf_ffff));
    let factor = 0.85 + 0.3 * unit(&mut r);
    let prices = 1.035f64.powi(y - *w.years.last().expect("a year"));
    let (urn, _, _) = setting(w, e, on);
    let (cc, base, provider, setting_type, entry) = match e.setting {
        "special" => {
            let (name, academy) = e.special_school.map(|i| (w.schools[i as usize].name.clone(), i % 2 == 1)).unwrap_or_else(|| ("Special school".into(), false));
            (local_cc(&person.postcode, person.id), p.hn_cost_special, name, if academy { "Special academy" } else { "Maintained special" }, start)
        }
        "independent" => ("D1203", p.hn_cost_independent, INMSS[person.id as usize % INMSS.len()].to_string(), "Independent special", start),
        "fe" => ("D1202", p.hn_cost_fe, "Further education college".into(), "FE college", start),
        _ if age_on(person.dob, on) < 4 => (local_cc(&person.postcode, person.id), p.hn_cost_mainstream, "Early years provider".into(), "Early years", start),
        _ => {
            let secondary = nc_year(person.dob, on) >= 7;
            let s = if secondary { person.secondary } else { person.primary };
            let school = &w.schools[s as usize];
            let cc = if person.id.is_multiple_of(3) { "D1202" } else { local_cc(&person.postcode, person.id) };
            let kind = if person.id.is_multiple_of(11) {
                "Resourced provision"
            } else if school.kind == SchoolKind::Secondary || s % 3 == 0 {
                "Academy"
            } else {
                "Mainstream"
            };
            (cc, p.hn_cost_mainstream, school.name.clone(), kind, school_entry(person.dob, if secondary { 11 } else { 4 }).max(start))
        }
    };
    Placement { cc, annual: base * prices * factor, provider, setting_type, urn, entry: entry.min(on) }
}

/// The maintained-school top-up cost centre of the child's locality.
pub fn local_cc(postcode: &str, id: u32) -> &'static str {
    let h = postcode.bytes().fold(id, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    ["D1201N", "D1201S", "D1201E", "D1201W"][(h % 4) as usize]
}

/// The middle of each month of collection year `y`'s financial year, when the ledger charges a
/// plan that is active that day.
fn mid_months(y: i32) -> Vec<NaiveDate> {
    super::finance::periods(y).into_iter().map(|(_, first, _)| add_days(first, 14)).collect()
}

pub fn write(w: &World, out: &mut Output, y: i32) -> Result<()> {
    write_costs(w, out, y)?;
    write_send_lists(w, out, y)
}

fn money(r: &mut Rng, x: f64) -> String {
    let pence = (x * 100.0).round() as i64;
    if chance(r, 0.5) {
        let pounds = (pence / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in pounds.chars().enumerate() {
            if i > 0 && (pounds.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("£{grouped}.{:02}", pence % 100)
    } else {
        format!("{}.{:02}", pence / 100, pence % 100)
    }
}

/// The placement-cost export at the end of financial year `y`.
fn write_costs(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let header = ["Synergy ID", "UPN", "Establishment URN", "Placement Type", "Provider Name", "Weekly Cost", "Annual Cost", "Funding Source", "Start Date", "End Date"];
    let names = ["person_id", "upn", "placement_urn", "setting_type", "provider", "weekly_cost", "annual_cost", "funding_block", "start_date", "end_date"];
    let plan = Plan::new("ehcp_placement_costs", DateStyle::Dmy, &names)
        .dates(&["start_date", "end_date"])
        .codes(&["setting_type", "funding_block"])
        .required(&["person_id", "start_date", "setting_type"])
        .key(&["person_id", "start_date", "setting_type", "provider", "funding_block"]);
    let mut f = out.csv(&format!("synergy/ehcp_placement_costs_{y}-03.csv"), &header, plan, Encoding::Utf8);
    let mut r = rng::stream(w.seed, w.council.la_code, &format!("ehcp-costs-{y}"));
    let fy_end = date(y, 3, 31);
    let mut plans: Vec<&Ehcp> = w.ehcps.iter().filter(|e| mid_months(y).iter().any(|mid| e.active_on(*mid))).collect();
    plans.sort_by_key(|e| (e.child, e.plan_start));
    for e in plans {
        let p = w.person(e.child);
        // consecutive months at one provider make a row
        let mut runs: Vec<Placement> = vec![];
        for mid in mid_months(y).into_iter().filter(|mid| e.active_on(*mid)) {
            let pl = placement(w, e, y, mid);
            if runs.last().is_none_or(|l| l.provider != pl.provider || l.setting_type != pl.setting_type) {
                runs.push(pl);
            }
        }
        let ceased = e.ceased.map(|c| c.0).filter(|c| *c <= fy_end);
        for (i, pl) in runs.iter().enumerate() {
            let end = match runs.get(i + 1) {
                Some(next) => Some(add_days(next.entry, -1)),
                None => ceased.map(|c| add_days(c, -1)),
            };
            let weekly = pl.annual / 52.0;
            let (wk, yr) = match e.setting {
                "independent" | "fe" => (money(&mut r, weekly), if chance(&mut r, 0.5) { money(&mut r, pl.annual) } else { String::new() }),
                _ => (if chance(&mut r, 0.3) { money(&mut r, weekly) } else { String::new() }, money(&mut r, pl.annual)),
            };
            let funding = ["High Needs", "HNB", "High Needs Block"][int(&mut r, 0, 2) as usize];
            f.row(vec![synergy_id(p), p.upn_on(pl.entry).unwrap_or("").to_string(), pl.urn.clone(), pl.setting_type.into(), pl.provider.clone(), wk, yr, funding.into(), dmy(pl.entry), odmy(end)]);
        }
    }
    out.close(f)
}

/// Annex A SEND lists 1 (EHC plans) and 2 (SEN support) on the spring census day of year `y`.
fn write_send_lists(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let day = census_day(y, Term::Spring);
    let la = w.council.la_code;
    let mut r = rng::stream(w.seed, la, &format!("annex-a-send-{y}"));
    let special = special_placements(w, day);
    let known = known_to_social_care(w, day);

    let plan = |p: Plan| p.dates(&["Date of birth", "Date initial EHC plan issued", "Date updated EHC plan issued", "Date EHC plan last reviewed"]).codes(&["Gender", "Ethnicity", "SEN primary need", "Elective home education", "Pupil Premium", "Known to children's social care?", "Does the child or young person have a disability?"]).required(&["Unique ID", "Date initial EHC plan issued"]).key(&["Unique ID"]);
    let mut f = send_list(out, &format!("synergy/Annex_A_SEND_List_1_EHCP_{y}-01.csv"), "annex_a_send_ehcp", &EHCP_PLAN, &EHCP_SCHOOL, plan);
    let mut active: Vec<&Ehcp> = w.ehcps.iter().filter(|e| e.active_on(day)).collect();
    active.sort_by_key(|e| e.child);
    active.dedup_by_key(|e| e.child);
    for e in active {
        let p = w.person(e.child);
        let start = e.plan_start.expect("an active plan has started");
        let reviewed = e.reviews.iter().rfind(|d| **d <= day).copied();
        let updated = reviewed.filter(|_| chance(&mut r, 0.3)).map(|d| add_days(d, int(&mut r, 14, 60)).min(day));
        let (urn, _, sensetting) = setting(w, e, day);
        let age = age_on(p.dob, day);
        let phase = match e.setting {
            "special" => "Special",
            "independent" => "Independent special",
            "fe" => "Post-16",
            _ if age < 4 => "Early years",
            _ if nc_year(p.dob, day) >= 12 => "Sixth form",
            _ if nc_year(p.dob, day) >= 7 => "Secondary",
            _ => "Primary",
        };
        let ehe = sensetting == "EHE";
        let mut row = person_columns(&mut r, p, day);
        row.extend([dmy(start), odmy(updated), odmy(reviewed), need_text(&mut r, e.need), urn, phase.into(), String::new(), yn(ehe)]);
        row.extend(school_measures(&mut r, (5..=18).contains(&age), 0.09));
        row.extend(care_columns(p, &known));
        row.push(yn(p.disability.is_some() || matches!(e.need, "PD" | "HI" | "VI" | "MSI" | "PMLD")));
        f.row(row);
    }
    out.close(f)?;

    let plan = |p: Plan| p.dates(&["Date of birth"]).codes(&["Gender", "Ethnicity", "SEN primary need", "Pupil Premium", "Known to children's social care?"]).required(&["Unique ID"]).key(&["Unique ID"]);
    let mut f = send_list(out, &format!("synergy/Annex_A_SEND_List_2_SEN_Support_{y}-01.csv"), "annex_a_send_sen_support", &[], &SUPPORT_SCHOOL, plan);
    let with_plan: std::collections::BTreeSet<u32> = w.ehcps.iter().filter(|e| e.active_on(day)).map(|e| e.child).collect();
    for p in w.persons.iter().filter(|p| p.sen_support && !with_plan.contains(&p.id)) {
        let Some((s, nc)) = school_on(w, p, day, &special) else { continue };
        if nc < 0 {
            continue;
        }
        let school = &w.schools[s as usize];
        let phase = match school.kind {
            SchoolKind::Primary => "Primary",
            SchoolKind::Secondary if nc >= 12 => "Sixth form",
            SchoolKind::Secondary => "Secondary",
            SchoolKind::Special => "Special",
            SchoolKind::Pru => "Pupil referral unit",
        };
        let need = support_need(w, p.id);
        let mut row = person_columns(&mut r, p, day);
        row.extend([need_text(&mut r, need), school.urn.to_string(), phase.into(), String::new()]);
        row.extend(school_measures(&mut r, true, 0.07));
        row.extend(care_columns(p, &known));
        row.push(yn(p.disability.is_some()));
        f.row(row);
    }
    out.close(f)
}

/// The Annex A SEND template's columns: the child, the plan (list 1), the need and school, the
/// social care and disability questions.
const SEND_PERSON: [&str; 6] = ["Unique ID", "UPN", "ULN", "Date of birth", "Gender", "Ethnicity"];
const EHCP_PLAN: [&str; 3] = ["Date initial EHC plan issued", "Date updated EHC plan issued", "Date EHC plan last reviewed"];
const EHCP_SCHOOL: [&str; 5] = ["SEN primary need", "Main education establishment – URN", "Main education establishment – phase", "Subsidiary education establishment – phase (dual registration)", "Elective home education"];
const SUPPORT_SCHOOL: [&str; 4] = ["SEN primary need", "Main education establishment – URN", "Main education establishment – phase", "Subsidiary education establishment – phase (dual registration)"];
const SEND_REST: [&str; 7] = ["Suspensions", "Permanent exclusions", "Absence", "Pupil Premium", "Known to children's social care?", "Which children's social care team?", "Does the child or young person have a disability?"];

/// Start an Annex A SEND list: the template's headers with a hyphen for each en dash, as councils' copies have them.
fn send_list(out: &Output, rel: &str, table: &str, plan_cols: &[&str], school: &[&str], plan: impl FnOnce(Plan) -> Plan) -> super::writer::TableFile {
    let names: Vec<&str> = SEND_PERSON.iter().chain(plan_cols).chain(school).chain(&SEND_REST).copied().collect();
    let header: Vec<String> = names.iter().map(|c| c.replace('–', "-")).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    out.csv(rel, &header, plan(Plan::new(table, DateStyle::Dmy, &names)), Encoding::Utf8)
}

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

/// Unique ID, UPN, ULN, date of birth, gender, ethnicity.
fn person_columns(r: &mut Rng, p: &Person, on: NaiveDate) -> Vec<String> {
    let upn = p.upn_on(on).unwrap_or("").to_string();
    let uln = if upn.is_empty() { uln(p, on) } else { String::new() };
    let gender = match (p.sex, int(r, 0, 2)) {
        ('M', 0) => "a) Male",
        ('M', 1) => "M",
        ('M', _) => "Male",
        (_, 0) => "b) Female",
        (_, 1) => "F",
        _ => "Female",
    };
    vec![synergy_id(p), upn, uln, dmy(p.dob), gender.into(), p.ethnicity.into()]
}

fn need_label(code: &str) -> &'static str {
    match code {
        "SPLD" => "Specific learning difficulty",
        "MLD" => "Moderate learning difficulty",
        "SLD" => "Severe learning difficulty",
        "PMLD" => "Profound and multiple learning difficulty",
        "SEMH" => "Social, emotional and mental health",
        "SLCN" => "Speech, language and communication needs",
        "HI" => "Hearing impairment",
        "VI" => "Vision impairment",
        "MSI" => "Multi-sensory impairment",
        "PD" => "Physical disability",
        "ASD" => "Autistic spectrum disorder",
        "NSA" => "SEN support but no specialist assessment of type of need",
        _ => "Other difficulty or disability",
    }
}

/// A need as the template writes it (`a) ASD: Autistic spectrum disorder`), as its label, or as its code.
fn need_text(r: &mut Rng, code: &str) -> String {
    match int(r, 0, 2) {
        0 => format!("{}) {code}: {}", (b'a' + (code.len() as u8 * 3) % 26) as char, need_label(code)),
        1 => need_label(code).into(),
        _ => code.into(),
    }
}

/// Suspensions, permanent exclusions and absence (% of sessions) in the school year so far,
/// for a pupil of school age; blank otherwise.
fn school_measures(r: &mut Rng, school_age: bool, absence: f64) -> [String; 3] {
    if !school_age {
        return [String::new(), String::new(), String::new()];
    }
    let suspensions = if chance(r, 0.12) { int(r, 1, 4) } else { 0 };
    let permanent = i64::from(chance(r, 0.004));
    let rate = (lognormal(r, absence * 100.0, 0.6)).min(95.0);
    [suspensions.to_string(), permanent.to_string(), format!("{rate:.1}")]
}

/// Children known to children's social care on `d` (an open referral or a period of care), with
/// the team that holds them.
fn known_to_social_care(w: &World, d: NaiveDate) -> BTreeMap<u32, String> {
    let mut m = BTreeMap::new();
    for rf in w.referrals.iter().filter(|rf| rf.date <= d && rf.closure > d) {
        m.insert(rf.child, w.teams.get(rf.team as usize).copied().unwrap_or("Unallocated").to_string());
    }
    for cp in w.care.iter().filter(|cp| cp.open_on(d)) {
        m.insert(cp.child, "Children in Care".to_string());
    }
    m
}

/// Pupil premium (free school meals or looked after), known to social care, which team.
fn care_columns(p: &Person, known: &BTreeMap<u32, String>) -> [String; 3] {
    let team = known.get(&p.id);
    let in_care = team.is_some_and(|t| t == "Children in Care");
    [yn(p.fsm || in_care), yn(team.is_some()), team.cloned().unwrap_or_default()]
}
