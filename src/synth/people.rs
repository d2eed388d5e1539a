//! One simulated population over time: children born, schooled, referred, assessed, protected,
//! looked after, leaving care; EHC needs assessments and plans. Every source's files are views
//! of this one world, so the same child carries the same MOSAIC id and UPN everywhere.
//!
//! The simulation runs month by month from a burn-in start (so that the stock of children in
//! care, on plans and leaving care is already realistic when the written window opens) to the
//! window's last day. Outcomes are decided when an event happens (an assessment's authorisation
//! date, a plan's end), and cut back when a later event overtakes them (a child on a plan who
//! comes into care). Writers show each record as it stood on their reporting date.

use std::collections::VecDeque;

use chrono::{Datelike, Duration, NaiveDate};

use super::params::Params;
use super::rng::{self, chance, count, day_between, int, lognormal, unit, weighted, Rng};
use super::{upn, Council, GenerateOptions, YearSummary};

/// Years simulated before the written window opens.
pub const BURN_IN_YEARS: i32 = 16;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// Whole years of age on `d`.
pub fn age_on(dob: NaiveDate, d: NaiveDate) -> i32 {
    let mut a = d.year() - dob.year();
    if (d.month(), d.day()) < (dob.month(), dob.day()) {
        a -= 1;
    }
    a
}

/// `d` plus `n` years (29 February becomes 28 February).
pub fn add_years(d: NaiveDate, n: i32) -> NaiveDate {
    d.with_year(d.year() + n).unwrap_or_else(|| date(d.year() + n, 2, 28))
}

pub fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    d + Duration::days(n)
}

/// `d` plus a (fractional) number of months, as days.
pub fn add_months(d: NaiveDate, months: f64) -> NaiveDate {
    d + Duration::days((months * 30.44).round() as i64)
}

/// 1 April starting collection year `y` (which ends 31 March `y`).
pub fn year_start(y: i32) -> NaiveDate {
    date(y - 1, 4, 1)
}

pub fn year_end(y: i32) -> NaiveDate {
    date(y, 3, 31)
}

/// 31 March ending the collection year `d` falls in.
pub fn year_end_of(d: NaiveDate) -> NaiveDate {
    year_end(if d.month() >= 4 { d.year() + 1 } else { d.year() })
}

/// The first working day (bank holidays counted, as the DfE's rules count them) of the
/// collection year `d` falls in.
fn first_working_day_of_year(d: NaiveDate) -> NaiveDate {
    use crate::query::calendar::{from_date, to_date, Calendar};
    let start = year_start(year_end_of(d).year());
    Calendar::shipped().add_working_days(from_date(start) - 1, 1).and_then(to_date).unwrap_or(start)
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: u32,
    pub dob: NaiveDate,
    /// 'M' or 'F'
    pub sex: char,
    pub ethnicity: &'static str,
    /// Lives in the council area (children from elsewhere only attend its schools).
    pub resident: bool,
    /// Arrived as an unaccompanied asylum-seeking child (no school history).
    pub uasc: bool,
    /// CIN census disability code, if any.
    pub disability: Option<&'static str>,
    pub postcode: String,
    /// Attends state schools (else independent school or home education).
    pub state_school: bool,
    pub nursery: bool,
    pub primary: u16,
    pub secondary: u16,
    pub sixth_form: bool,
    /// UPN and the day it was issued (first day at a state school).
    pub upn: Option<String>,
    pub upn_issued: Option<NaiveDate>,
    pub fsm: bool,
    pub sen_support: bool,
}

impl Person {
    /// The MOSAIC person id.
    pub fn mosaic_id(&self) -> String {
        format!("{}", 1_000_001 + self.id as u64 * 3)
    }

    /// The UPN as known on `d`.
    pub fn upn_on(&self, d: NaiveDate) -> Option<&str> {
        match (&self.upn, self.upn_issued) {
            (Some(u), Some(i)) if i <= d => Some(u.as_str()),
            _ => None,
        }
    }

    /// Why the UPN is not known on `d` (CIN census UPNunknown codes; 903 allows UN1-UN10).
    pub fn upn_unknown_on(&self, d: NaiveDate) -> &'static str {
        let age = age_on(self.dob, d);
        if self.uasc {
            "UN4"
        } else if age < 6 {
            "UN6"
        } else if age >= 16 {
            "UN1"
        } else if !self.state_school {
            "UN3"
        } else {
            "UN5"
        }
    }

    pub fn forename(&self) -> String {
        const M: [&str; 20] = ["Oliver", "George", "Harry", "Jack", "Noah", "Charlie", "Leo", "Jacob", "Oscar", "Alfie", "Freddie", "Arthur", "Theo", "Archie", "Henry", "Thomas", "Joshua", "William", "Max", "Lucas"];
        const F: [&str; 20] = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya", "Willow", "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte"];
        let i = (self.id.wrapping_mul(2_654_435_761) >> 7) as usize % 20;
        if self.sex == 'M' { M[i] } else { F[i] }.to_string()
    }

    pub fn surname(&self) -> String {
        const S: [&str; 30] = [
            "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
            "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
        ];
        S[(self.id.wrapping_mul(2_246_822_519) >> 9) as usize % 30].to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchoolKind {
    Primary,
    Secondary,
    Special,
    Pru,
}

#[derive(Debug, Clone)]
pub struct School {
    pub idx: u16,
    pub kind: SchoolKind,
    /// DfE establishment number (the 4 digits after the LA code).
    pub estab: u16,
    pub urn: u32,
    pub name: String,
    pub postcode: String,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub child: u32,
    pub date: NaiveDate,
    pub source: &'static str,
    pub referral: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub start: NaiveDate,
    pub authorised: NaiveDate,
    pub seen: bool,
    pub factors: Vec<&'static str>,
    /// Assessed as needing children's social care support.
    pub needs_support: bool,
}

#[derive(Debug, Clone)]
pub struct S47 {
    pub start: NaiveDate,
    pub icpc_target: NaiveDate,
    pub icpc: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Cpp {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub initial_category: &'static str,
    pub latest_category: &'static str,
    pub previous: u32,
    pub reviews: Vec<NaiveDate>,
    pub emergency: bool,
}

/// An episode of need: a referral and everything that follows until the case closes.
#[derive(Debug, Clone)]
pub struct Referral {
    pub child: u32,
    pub date: NaiveDate,
    pub source: &'static str,
    pub need: &'static str,
    pub nfa: bool,
    pub assessment: Option<Assessment>,
    pub s47: Option<S47>,
    pub cpp: Option<Cpp>,
    pub cin_plan: Option<(NaiveDate, NaiveDate)>,
    pub closure: NaiveDate,
    pub closure_reason: &'static str,
    pub team: u8,
    pub worker: u16,
    pub care: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Episode {
    pub start: NaiveDate,
    /// Last day of the episode (the next episode starts the same day); the period's end for the last.
    pub end: NaiveDate,
    pub rne: &'static str,
    pub ls: &'static str,
    pub place: &'static str,
    pub provider: &'static str,
    /// Index into `World::providers` for external placements.
    pub provider_id: Option<u16>,
    pub rec: &'static str,
    pub reason_change: Option<&'static str>,
    pub pl_post: String,
    pub urn: String,
    /// Weekly cost in the window's last year's prices (£).
    pub weekly_cost: f64,
    /// The carer or home (same carer across `T` and `U` changes).
    pub carer: u32,
}

#[derive(Debug, Clone)]
pub struct Missing {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub kind: &'static str,
    pub return_interview_offered: bool,
    pub return_interview_accepted: bool,
}

#[derive(Debug, Clone)]
pub struct Adoption {
    pub decision: NaiveDate,
    pub placement_order: Option<NaiveDate>,
    pub matched: Option<NaiveDate>,
    pub placed: Option<NaiveDate>,
    /// Decision reversed: date and RD code.
    pub reversed: Option<(NaiveDate, &'static str)>,
    pub foster_carer: bool,
    pub adopters: u8,
    pub sex_adoptr: &'static str,
    pub ls_adoptr: &'static str,
    pub family: u32,
}

/// A period of being looked after.
#[derive(Debug, Clone)]
pub struct CarePeriod {
    pub child: u32,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub reason: &'static str,
    pub cin: &'static str,
    pub uasc: bool,
    pub episodes: Vec<Episode>,
    pub reviews: Vec<NaiveDate>,
    pub missing: Vec<Missing>,
    /// Social worker episodes: (start, worker, reason for the change to this worker; FCONTA for
    /// the first).
    pub workers: Vec<(NaiveDate, u16, &'static str)>,
    pub adoption: Option<Adoption>,
    pub prev_perm: &'static str,
    pub home_post: String,
    pub referral: u32,
    pub health_assessments: Vec<NaiveDate>,
    pub dental_checks: Vec<NaiveDate>,
    /// Deprivation of liberty order, if any.
    pub dolo: Option<(NaiveDate, NaiveDate)>,
}

impl CarePeriod {
    /// Looked after on `d`: from the start day up to, not including, the day care ceased.
    pub fn open_on(&self, d: NaiveDate) -> bool {
        self.start <= d && self.end > d
    }

    pub fn episode_on(&self, d: NaiveDate) -> Option<&Episode> {
        self.episodes.iter().find(|e| e.start <= d && e.end > d)
    }
}

#[derive(Debug, Clone)]
pub struct EarlyHelp {
    pub child: u32,
    pub start: NaiveDate,
    pub completed: Option<NaiveDate>,
    pub organisation: &'static str,
}

#[derive(Debug, Clone)]
pub struct Ehcp {
    pub child: u32,
    pub request: NaiveDate,
    pub request_source: &'static str,
    /// Decision to assess (or not) and its date.
    pub assess: Option<bool>,
    pub decision: NaiveDate,
    pub plan_start: Option<NaiveDate>,
    pub setting: &'static str,
    pub special_school: Option<u16>,
    pub need: &'static str,
    pub second_need: Option<&'static str>,
    pub ceased: Option<(NaiveDate, &'static str)>,
    pub reviews: Vec<NaiveDate>,
}

impl Ehcp {
    pub fn active_on(&self, d: NaiveDate) -> bool {
        self.plan_start.is_some_and(|s| s <= d) && self.ceased.is_none_or(|(c, _)| c > d)
    }

    /// Issued more than 20 weeks (140 days) after the request.
    pub fn issued_late(&self) -> bool {
        self.plan_start.is_some_and(|s| (s - self.request).num_days() > 140)
    }

    /// An exception to the 20-week time limit applies (SEN2 Week20): said of a quarter of the
    /// plans issued late, chosen by child so no random draw moves.
    pub fn week20_exception(&self) -> bool {
        self.issued_late() && self.child.is_multiple_of(4)
    }
}

/// An adoption provider, IFA or children's home company that invoices the council.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub kind: &'static str,
}

/// Everything simulated for one council.
pub struct World {
    pub council: Council,
    pub seed: u64,
    pub params: Params,
    pub scale: f64,
    pub years: Vec<i32>,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub persons: Vec<Person>,
    pub schools: Vec<School>,
    pub contacts: Vec<Contact>,
    pub referrals: Vec<Referral>,
    pub care: Vec<CarePeriod>,
    pub early_help: Vec<EarlyHelp>,
    pub ehcps: Vec<Ehcp>,
    pub providers: Vec<Provider>,
    pub social_workers: u16,
    pub teams: Vec<&'static str>,
}

/// Mutable per-person state during the simulation.
#[derive(Clone, Default)]
struct State {
    open_until: Option<NaiveDate>,
    last_referral: Option<NaiveDate>,
    last_contact: Option<NaiveDate>,
    in_care_until: Option<NaiveDate>,
    cpps: u32,
    has_ehcp: bool,
}

const TEAMS: [&str; 8] = ["MASH", "Assessment North", "Assessment South", "Locality West", "Locality East", "Children in Care", "Care Leavers", "Children Who Are Disabled"];

fn postcode_areas(la: &str) -> &'static [&'static str] {
    match la {
        "838" => &["DT1", "DT2", "DT3", "DT4", "DT5", "DT6", "DT9", "DT10", "DT11", "BH16", "BH19", "BH20", "BH21", "BH31", "SP7", "SP8"],
        "933" => &["TA1", "TA2", "TA6", "TA8", "TA9", "TA20", "BA4", "BA5", "BA6", "BA11", "BA16", "BA20", "BA21"],
        "839" => &["BH1", "BH2", "BH4", "BH6", "BH7", "BH8", "BH9", "BH10", "BH11", "BH12", "BH14", "BH15", "BH23"],
        "878" => &["EX1", "EX2", "EX4", "EX8", "EX14", "EX31", "EX32", "EX39", "TQ9", "TQ12", "TQ13", "PL21"],
        "865" => &["SN8", "SN9", "SN10", "SN12", "SN13", "SN14", "SN15", "BA12", "BA13", "BA14", "SP1", "SP2", "SP4"],
        "908" => &["TR1", "TR7", "TR11", "TR14", "TR15", "TR18", "PL11", "PL14", "PL25", "PL26", "EX23"],
        "916" => &["GL1", "GL2", "GL3", "GL4", "GL5", "GL7", "GL10", "GL14", "GL16", "GL20", "GL50", "GL51", "GL52"],
        "801" => &["BS1", "BS2", "BS3", "BS4", "BS5", "BS6", "BS7", "BS10", "BS11", "BS13", "BS14", "BS16"],
        "879" => &["PL1", "PL2", "PL3", "PL4", "PL5", "PL6", "PL7", "PL9"],
        "866" => &["SN1", "SN2", "SN3", "SN4", "SN5", "SN25", "SN26"],
        "803" => &["BS15", "BS16", "BS30", "BS32", "BS34", "BS35", "BS36", "BS37"],
        "802" => &["BS20", "BS21", "BS22", "BS23", "BS24", "BS48", "BS49"],
        "800" => &["BA1", "BA2", "BA3", "BS31", "BS39", "BS40"],
        "880" => &["TQ1", "TQ2", "TQ3", "TQ4", "TQ5"],
        _ => &["XX1", "XX2"],
    }
}

/// Whether a postcode lies in council `la`'s area.
pub fn in_area(la: &str, postcode: &str) -> bool {
    let outward = postcode.split(' ').next().unwrap_or("");
    postcode_areas(la).contains(&outward)
}

/// Real postcodes by outward code, cut from the ONS Postcode Directory (`src/synth/data/`, Open
/// Government Licence v3.0; `tools/synth_postcodes.py` makes it): outward, postcode, lower-tier
/// LA, easting, northing. The DfE's validator derives a placement's LA, in or out of area and
/// distance from them, so a made-up postcode fails its 392c, 392a, 169 and 179.
const POSTCODES_CSV: &str = include_str!("data/postcodes.csv");

/// A real postcode in the district: its LA (ONS lower-tier code) and grid reference (metres).
pub struct RealPostcode {
    pub postcode: &'static str,
    pub lad: &'static str,
    pub easting: u32,
    pub northing: u32,
}

static POSTCODES: std::sync::LazyLock<std::collections::BTreeMap<&'static str, Vec<RealPostcode>>> = std::sync::LazyLock::new(|| {
    let mut m: std::collections::BTreeMap<&'static str, Vec<RealPostcode>> = std::collections::BTreeMap::new();
    for line in POSTCODES_CSV.lines().skip(1) {
        let f: Vec<&'static str> = line.split(',').collect();
        let n = |s: &str| s.parse().expect("the shipped postcode list parses");
        m.entry(f[0]).or_default().push(RealPostcode { postcode: f[1], lad: f[2], easting: n(f[3]), northing: n(f[4]) });
    }
    m
});

/// The shipped real postcode `pc`, if it is one.
pub fn real_postcode(pc: &str) -> Option<&'static RealPostcode> {
    let outward = pc.split(' ').next().unwrap_or("");
    POSTCODES.get(outward)?.iter().find(|p| p.postcode == pc)
}

/// A placement's postcode `pc`, or the next real one in its district when it is the child's home
/// postcode: only a placement with parents (P1) is at home (the DfE's 392d).
fn away_from(pc: String, home: &str) -> String {
    if pc != home {
        return pc;
    }
    let outward = pc.split(' ').next().unwrap_or("");
    match POSTCODES.get(outward).and_then(|v| v.iter().position(|p| p.postcode == pc).map(|i| &v[(i + 1) % v.len()])) {
        Some(next) if next.postcode != pc => next.postcode.to_string(),
        _ => pc,
    }
}

/// A postcode in one of `areas` (outward codes): a real one from the shipped list where it has
/// the district (the same draws pick it, so nothing else in the simulation moves), else a
/// made-up one of the district's shape.
pub fn postcode(r: &mut Rng, areas: &[&str]) -> String {
    const L: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    let a = areas[int(r, 0, areas.len() as i64 - 1) as usize];
    let d = int(r, 1, 9);
    let i1 = int(r, 0, L.len() as i64 - 1);
    let i2 = int(r, 0, L.len() as i64 - 1);
    if let Some(real) = POSTCODES.get(a).filter(|v| !v.is_empty()) {
        return real[((d * 400 + i1 * 20 + i2) as usize) % real.len()].postcode.to_string();
    }
    format!("{a} {d}{}{}", L[i1 as usize] as char, L[i2 as usize] as char)
}

/// Postcodes outside the council, for placements made out of area.
const OUT_OF_AREA: [&str; 12] = ["SO14", "SO15", "BA1", "EX4", "TA1", "SN1", "BS5", "GL1", "RG1", "SP10", "PO1", "B12"];

const DISABILITIES: [(&str, f64); 8] = [("AUT", 0.30), ("LD", 0.20), ("COMM", 0.15), ("BEH", 0.12), ("MOB", 0.08), ("PC", 0.05), ("HEAR", 0.05), ("VIS", 0.05)];

const FACTORS: [(&str, f64); 22] = [
    ("3A", 0.20), ("4A", 0.17), ("2A", 0.08), ("1A", 0.06), ("12A", 0.07), ("13A", 0.08), ("14A", 0.03), ("15A", 0.02), ("3B", 0.04), ("4B", 0.05), ("11A", 0.03),
    ("8D", 0.02), ("8E", 0.01), ("18B", 0.01), ("18C", 0.01), ("5A", 0.02), ("6A", 0.02), ("7A", 0.01), ("10A", 0.01), ("23A", 0.01), ("20", 0.03), ("21", 0.02),
];

const NEEDS: [(&str, f64); 9] = [("N1", 0.58), ("N2", 0.06), ("N3", 0.04), ("N4", 0.08), ("N5", 0.14), ("N6", 0.02), ("N7", 0.005), ("N8", 0.035), ("N0", 0.02)];

const SEN_TYPES: [(&str, f64); 12] = [("ASD", 0.32), ("SEMH", 0.20), ("SLCN", 0.15), ("MLD", 0.07), ("SLD", 0.06), ("SPLD", 0.04), ("PMLD", 0.02), ("PD", 0.04), ("HI", 0.02), ("VI", 0.01), ("MSI", 0.005), ("OTH", 0.065)];

const PROVIDER_NAMES: [&str; 24] = [
    "Keys Group", "Witherslack Group", "Outcomes First Group", "Priory Education", "Compass Community", "Nexus Fostering", "Orange Grove Fostering", "Foster Care Associates",
    "Capstone Foster Care", "Fostering People", "Horizon Care", "Aspris Children's Services", "Sandcastle Care", "Acorn Care", "Hexagon Care", "Homes2Inspire", "Juniper House",
    "Kingfisher Care", "Safehouses Ltd", "Step Ahead Care", "Barnardo's", "Action for Children", "Catch22", "St Christopher's Fellowship",
];

fn seasonal(month: u32) -> f64 {
    // fewer referrals in August and December (schools closed), more in spring and autumn
    const F: [f64; 12] = [1.02, 1.04, 1.08, 0.98, 1.04, 1.03, 0.98, 0.82, 0.98, 1.06, 1.07, 0.90];
    F[(month - 1) as usize]
}

struct Sim<'a> {
    p: &'a Params,
    k: f64,
    r: Rng,
    persons: Vec<Person>,
    st: Vec<State>,
    contacts: Vec<Contact>,
    referrals: Vec<Referral>,
    care: Vec<CarePeriod>,
    recent: VecDeque<(u32, NaiveDate)>,
    /// Persons born in the area or schooled in it, sorted by date of birth (arrivals come after).
    n_base: usize,
    open_cpps: Vec<u32>,
    open_refs: Vec<u32>,
    areas: &'static [&'static str],
    providers: Vec<Provider>,
    workers: u16,
    carers: u32,
    families: u32,
    /// Entrants to care so far (UASC apart) by age group (`ENTRY_AGES`).
    entrants: [u32; 5],
}

/// Age groups at entry to care (youngest, oldest, share of entrants, UASC apart).
const ENTRY_AGES: [(i32, i32, f64); 5] = [(0, 0, 0.20), (1, 4, 0.15), (5, 9, 0.17), (10, 15, 0.34), (16, 17, 0.14)];

/// The entry age group (`ENTRY_AGES`) of a child aged `age`.
fn band_of(age: i32) -> usize {
    ENTRY_AGES.iter().position(|b| age >= b.0 && age <= b.1).unwrap_or(ENTRY_AGES.len() - 1)
}

/// Run the whole simulation for one council.
pub fn simulate(council: &Council, params: &Params, opts: &GenerateOptions) -> World {
    let seed = opts.seed;
    let la = council.la_code;
    let k = opts.scale * council.size;
    let years: Vec<i32> = ((opts.end_year - opts.years as i32 + 1)..=opts.end_year).collect();
    let window_start = year_start(years[0]);
    let window_end = year_end(opts.end_year);
    let sim_start = date(window_start.year() - BURN_IN_YEARS, 4, 1);
    let areas = postcode_areas(la);

    let schools = make_schools(&mut rng::stream(seed, la, "schools"), params, k, la, areas);
    let persons = make_persons(&mut rng::stream(seed, la, "persons"), params, k, sim_start, window_end, areas, &schools, la);

    let providers: Vec<Provider> = PROVIDER_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| Provider { name: n.to_string(), kind: if i < 5 || (10..20).contains(&i) { "residential" } else if i < 10 { "ifa" } else { "voluntary" } })
        .collect();
    let n = persons.len();
    let mut sim = Sim {
        p: params,
        k,
        r: rng::stream(seed, la, "social-care"),
        persons,
        st: vec![State::default(); n],
        contacts: vec![],
        referrals: vec![],
        care: vec![],
        recent: VecDeque::new(),
        n_base: n,
        open_cpps: vec![],
        open_refs: vec![],
        areas,
        providers,
        workers: ((160.0 * k).round() as u16).max(8),
        carers: 0,
        families: 0,
        entrants: [0; 5],
    };
    sim.run(sim_start, window_end);
    let early_help = make_early_help(&mut rng::stream(seed, la, "early-help"), &sim, window_start, window_end);
    let ehcps = make_ehcps(&mut rng::stream(seed, la, "send"), params, k, &mut sim, &schools, window_start, window_end);
    let Sim { persons, contacts, referrals, care, providers, workers, .. } = sim;
    World {
        council: *council,
        seed,
        params: params.clone(),
        scale: opts.scale,
        years,
        window_start,
        window_end,
        persons,
        schools,
        contacts,
        referrals,
        care,
        early_help,
        ehcps,
        providers,
        social_workers: workers,
        teams: TEAMS.to_vec(),
    }
}

fn make_schools(r: &mut Rng, p: &Params, k: f64, la: &str, areas: &[&str]) -> Vec<School> {
    let n = |x: f64| ((x * k).round() as usize).max(1);
    let mut out = vec![];
    let la_num: u32 = la.parse().unwrap_or(999);
    const PLACES: [&str; 16] = ["Abbey", "Bridport", "Castle", "Downs", "Elm", "Ferndown", "Gillingham", "Heath", "Ivy", "Juniper", "Kingston", "Lytchett", "Marsh", "Northbrook", "Oakfield", "Purbeck"];
    for (kind, count, base) in [
        (SchoolKind::Primary, n(p.schools_primary), 2000u16),
        (SchoolKind::Secondary, n(p.schools_secondary), 4000),
        (SchoolKind::Special, n(p.schools_special), 7000),
        (SchoolKind::Pru, n(p.schools_pru), 1100),
    ] {
        for i in 0..count {
            let idx = out.len() as u16;
            let place = PLACES[(i * 7 + kind as usize) % PLACES.len()];
            let name = match kind {
                SchoolKind::Primary => format!("{place} Primary School {}", i + 1),
                SchoolKind::Secondary => format!("{place} Academy {}", i + 1),
                SchoolKind::Special => format!("{place} Special School {}", i + 1),
                SchoolKind::Pru => format!("{place} Learning Centre {}", i + 1),
            };
            out.push(School {
                idx,
                kind,
                estab: base + (i as u16 % 999) + 1,
                urn: 100_000 + (la_num % 900) * 1000 + idx as u32,
                name,
                postcode: postcode(r, areas),
            });
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn make_persons(r: &mut Rng, p: &Params, k: f64, sim_start: NaiveDate, end: NaiveDate, areas: &[&str], schools: &[School], la: &str) -> Vec<Person> {
    let first = sim_start.year() - 19;
    let primaries: Vec<u16> = schools.iter().filter(|s| s.kind == SchoolKind::Primary).map(|s| s.idx).collect();
    let secondaries: Vec<u16> = schools.iter().filter(|s| s.kind == SchoolKind::Secondary).map(|s| s.idx).collect();
    let mut persons = vec![];
    for y in first..=end.year() {
        // births vary a little from year to year, and fell slowly over the 2010s
        let trend = 1.0 + 0.006 * (2016 - y).clamp(-12, 12) as f64;
        for (resident, base) in [(true, p.births_resident), (false, p.births_cross_border)] {
            let n = count(r, base * k * trend);
            for _ in 0..n {
                let dob = day_between(r, date(y, 1, 1), date(y, 12, 31));
                let sex = if chance(r, p.share_male) { 'M' } else { 'F' };
                let ethnicity = weighted(r, &p.ethnicity);
                let disability = if chance(r, 0.035) { Some(weighted(r, &DISABILITIES)) } else { None };
                let state_school = chance(r, 0.94);
                let nursery = chance(r, 0.45);
                let primary = primaries[int(r, 0, primaries.len() as i64 - 1) as usize];
                let secondary = secondaries[int(r, 0, secondaries.len() as i64 - 1) as usize];
                let sixth_form = chance(r, 0.55);
                let fsm = chance(r, p.fsm * 1.15);
                let sen_support = chance(r, p.sen_support * if sex == 'M' { 1.3 } else { 0.7 });
                persons.push(Person {
                    id: 0,
                    dob,
                    sex,
                    ethnicity,
                    resident,
                    uasc: false,
                    disability,
                    postcode: postcode(r, areas),
                    state_school,
                    nursery,
                    primary,
                    secondary,
                    sixth_form,
                    upn: None,
                    upn_issued: None,
                    fsm,
                    sen_support,
                });
            }
        }
    }
    persons.sort_by_key(|p| p.dob);
    // UPNs: issued on the first day at a state school (nursery at 3, else reception at 4),
    // numbered by the first school and the calendar year of entry
    let mut serials: std::collections::HashMap<(u16, i32), u16> = std::collections::HashMap::new();
    for (i, person) in persons.iter_mut().enumerate() {
        person.id = i as u32;
        if !person.state_school {
            continue;
        }
        let entry_age = if person.nursery { 3 } else { 4 };
        let entry = school_entry(person.dob, entry_age);
        let school = schools[person.primary as usize].estab;
        let serial = serials.entry((person.primary, entry.year())).or_insert(0);
        *serial += 1;
        if *serial > 999 {
            continue;
        }
        person.upn = Some(upn::make(la, school, entry.year(), *serial));
        person.upn_issued = Some(entry);
    }
    persons
}

/// The first school day of the academic year in which a child born `dob` is `age` on 31 August.
pub fn school_entry(dob: NaiveDate, age: i32) -> NaiveDate {
    let b = add_years(dob, age);
    let y = if b <= date(b.year(), 8, 31) { b.year() } else { b.year() + 1 };
    rng::working_day_on_or_after(date(y, 9, 4))
}

/// National curriculum year on `d` for a child born `dob`: -2 = N1, -1 = N2, 0 = reception,
/// 1-13; None below nursery age.
pub fn nc_year(dob: NaiveDate, d: NaiveDate) -> i32 {
    let ay = if d.month() >= 9 { d.year() } else { d.year() - 1 };
    age_on(dob, date(ay, 8, 31)) - 4
}

impl Sim<'_> {
    fn run(&mut self, from: NaiveDate, to: NaiveDate) {
        let mut m = from;
        while m <= to {
            let month_end = add_days(date(if m.month() == 12 { m.year() + 1 } else { m.year() }, if m.month() == 12 { 1 } else { m.month() + 1 }, 1), -1).min(to);
            let f = seasonal(m.month()) / 12.0;
            let mut events: Vec<(NaiveDate, u8)> = vec![];
            for _ in 0..count(&mut self.r, self.p.referrals * self.k * f) {
                events.push((day_between(&mut self.r, m, month_end), 0));
            }
            for _ in 0..count(&mut self.r, (self.p.contacts - self.p.referrals) * self.k * f) {
                events.push((day_between(&mut self.r, m, month_end), 1));
            }
            for _ in 0..count(&mut self.r, self.p.cla_entrants * self.k / 12.0) {
                events.push((day_between(&mut self.r, m, month_end), 2));
            }
            events.sort();
            let mut pruned = None;
            for (d, kind) in events {
                // the open plans and referrals are pruned once a day, not once an event: pruning
                // is linear in what is open, so per event it made the simulation quadratic in --scale
                if pruned != Some(d) {
                    self.prune(d);
                    pruned = Some(d);
                }
                match kind {
                    0 => {
                        if let Some(c) = self.pick_referral_child(d) {
                            let source = weighted(&mut self.r, &self.p.referral_sources);
                            self.referral(c, d, source);
                        }
                    }
                    1 => self.contact(d),
                    _ => self.care_entry(d),
                }
            }
            m = add_days(month_end, 1);
        }
    }

    fn prune(&mut self, d: NaiveDate) {
        while self.recent.front().is_some_and(|(_, rd)| *rd < add_days(d, -365)) {
            self.recent.pop_front();
        }
        let refs = &self.referrals;
        self.open_cpps.retain(|&i| refs[i as usize].cpp.as_ref().is_some_and(|c| c.end > d));
        self.open_refs.retain(|&i| refs[i as usize].closure > d);
    }

    fn free(&self, c: u32, d: NaiveDate) -> bool {
        let s = &self.st[c as usize];
        s.open_until.is_none_or(|u| u < d) && s.in_care_until.is_none_or(|u| u < d)
    }

    /// A resident child aged `lo..=hi` on `d`, chosen at random.
    fn pick_age(&mut self, d: NaiveDate, lo: i32, hi: i32) -> Option<u32> {
        let oldest = add_days(add_years(d, -(hi + 1)), 1);
        let youngest = add_years(d, -lo);
        let base = &self.persons[..self.n_base];
        let a = base.partition_point(|p| p.dob < oldest);
        let b = base.partition_point(|p| p.dob <= youngest.min(d));
        if b <= a {
            return None;
        }
        for _ in 0..20 {
            let i = int(&mut self.r, a as i64, b as i64 - 1) as usize;
            if self.persons[i].resident {
                return Some(i as u32);
            }
        }
        None
    }

    fn pick_referral_child(&mut self, d: NaiveDate) -> Option<u32> {
        if chance(&mut self.r, self.p.re_referral) && !self.recent.is_empty() {
            for _ in 0..30 {
                let i = int(&mut self.r, 0, self.recent.len() as i64 - 1) as usize;
                let (c, _) = self.recent[i];
                let ok = self.free(c, d)
                    && age_on(self.persons[c as usize].dob, d) < 18
                    && self.st[c as usize].last_referral.is_some_and(|l| l >= add_days(d, -365) && l < d);
                if ok {
                    return Some(c);
                }
            }
        }
        for _ in 0..60 {
            let (lo, hi) = weighted(&mut self.r, &self.p.referral_ages);
            let Some(c) = self.pick_age(d, lo as i32, hi as i32) else { continue };
            let s = &self.st[c as usize];
            if self.free(c, d) && s.last_referral.is_none_or(|l| l < add_days(d, -365)) && s.last_contact != Some(d) {
                return Some(c);
            }
        }
        None
    }

    fn contact(&mut self, d: NaiveDate) {
        let source = weighted(&mut self.r, &self.p.contact_sources);
        let mut child = None;
        for _ in 0..30 {
            let c = if chance(&mut self.r, 0.3) && !self.recent.is_empty() {
                let i = int(&mut self.r, 0, self.recent.len() as i64 - 1) as usize;
                self.recent[i].0
            } else {
                let (lo, hi) = weighted(&mut self.r, &self.p.referral_ages);
                match self.pick_age(d, lo as i32, hi as i32) {
                    Some(c) => c,
                    None => continue,
                }
            };
            if self.st[c as usize].last_contact != Some(d) && age_on(self.persons[c as usize].dob, d) < 18 {
                child = Some(c);
                break;
            }
        }
        if let Some(c) = child {
            self.st[c as usize].last_contact = Some(d);
            self.contacts.push(Contact { child: c, date: d, source, referral: None });
        }
    }

    /// A referral for child `c` on `d`, with everything that follows it decided now.
    fn referral(&mut self, c: u32, d: NaiveDate, source: &'static str) -> u32 {
        let p = self.p;
        let r = &mut self.r;
        let idx = self.referrals.len() as u32;
        let need = weighted(r, &NEEDS);
        let team = if self.persons[c as usize].disability.is_some() && chance(r, 0.5) { 7 } else { int(r, 0, 4) as u8 };
        let worker = int(r, 1, self.workers as i64) as u16;
        let mut rf = Referral {
            child: c,
            date: d,
            source,
            need,
            nfa: false,
            assessment: None,
            s47: None,
            cpp: None,
            cin_plan: None,
            closure: d,
            // a referral with no further action has no assessment: closed RC7, as RC8 and RC9 are
            // "closed after assessment" (the DfE's 8825Q queries RC8/RC9 with no assessment)
            closure_reason: "RC7",
            team,
            worker,
            care: None,
        };
        if chance(r, p.referral_nfa) {
            rf.nfa = true;
            // a referral before the first working day of its collection year was open when the
            // year began, so cannot be "no further action" (the DfE's 8569Q): one dated on the
            // days of April before that (a weekend, Easter Monday) is recorded on that working day
            let first = first_working_day_of_year(d);
            if d < first {
                rf.date = first;
                rf.closure = first;
            }
        } else {
            let start = rng::working_day_on_or_after(add_days(d, int(r, 0, 3)));
            let days = lognormal(r, p.assessment_days_median, p.assessment_days_sigma).round().clamp(2.0, 110.0) as i64;
            let authorised = rng::add_working_days(start, days);
            let nf = int(r, 1, 3);
            let mut factors: Vec<&'static str> = vec![];
            for _ in 0..nf {
                let f = weighted(r, &FACTORS);
                if !factors.contains(&f) {
                    factors.push(f);
                }
            }
            // 21 is "no factors identified": never beside another factor (the DfE's 8869)
            if factors.len() > 1 {
                factors.retain(|f| *f != "21");
            }
            let mut end = authorised;
            let mut support = false;
            if chance(r, p.s47) {
                let s_start = start;
                let target = rng::add_working_days(s_start, 15);
                let icpc = if chance(r, p.s47_to_icpc) {
                    let wd = if chance(r, p.icpc_in_15_days) { int(r, 4, 15) } else { int(r, 16, 28) };
                    Some(rng::add_working_days(s_start, wd))
                } else {
                    None
                };
                rf.s47 = Some(S47 { start: s_start, icpc_target: target, icpc });
                support = true;
                if let Some(ic) = icpc {
                    if chance(r, p.icpc_to_cpp) {
                        let months = if chance(r, p.cpp_short) { 0.8 + 2.1 * unit(r) } else { lognormal(r, p.cpp_long_median_months, p.cpp_long_sigma).clamp(3.0, 40.0) };
                        let cpp_end = add_months(ic, months);
                        let mut reviews = vec![];
                        let mut rv = rng::working_day_on_or_after(add_months(ic, 2.6 + 0.3 * unit(r)));
                        while rv < cpp_end {
                            reviews.push(rv);
                            rv = rng::working_day_on_or_after(add_months(rv, 5.6 + 0.4 * unit(r)));
                        }
                        let cat = weighted(r, &p.abuse_categories);
                        let latest = if chance(r, 0.1) { weighted(r, &p.abuse_categories) } else { cat };
                        rf.cpp = Some(Cpp { start: ic, end: cpp_end, initial_category: cat, latest_category: latest, previous: self.st[c as usize].cpps, reviews, emergency: chance(r, 0.03) });
                        self.st[c as usize].cpps += 1;
                        end = cpp_end.max(authorised);
                        if chance(r, 0.6) {
                            let plan_end = add_months(cpp_end, lognormal(r, 4.0, 0.5).clamp(1.0, 12.0));
                            rf.cin_plan = Some((cpp_end, plan_end));
                            end = plan_end;
                        }
                    } else if chance(r, 0.5) {
                        let plan_end = add_months(ic, lognormal(r, 6.0, 0.5).clamp(1.0, 18.0));
                        rf.cin_plan = Some((ic.max(authorised), plan_end.max(add_days(authorised, 7))));
                        end = rf.cin_plan.unwrap().1;
                    }
                } else if chance(r, 0.35) {
                    let plan_end = add_months(authorised, lognormal(r, 6.0, 0.5).clamp(1.0, 18.0));
                    rf.cin_plan = Some((authorised, plan_end));
                    end = plan_end;
                }
            } else if chance(r, p.cin_plan) {
                support = true;
                let plan_end = add_months(authorised, lognormal(r, 7.0, 0.55).clamp(1.0, 24.0));
                rf.cin_plan = Some((authorised, plan_end));
                end = plan_end;
            }
            // the episode stays open until its conference has been held (the DfE's 8565)
            if let Some(ic) = rf.s47.as_ref().and_then(|s| s.icpc) {
                end = end.max(ic);
            }
            let seen = chance(r, p.assessment_child_seen);
            let further = rf.cin_plan.is_some() || rf.cpp.is_some() || rf.s47.is_some();
            // an episode that went on to an enquiry or a plan did find factors (the DfE's 8873Q:
            // a lone "21" goes with closure RC8 or RC9); one picked by the child, not a new draw
            if further && factors == ["21"] {
                factors = vec![FACTORS[c as usize % (FACTORS.len() - 1)].0];
            }
            // an assessment still open at a year end has not run past 45 working days of that
            // year (the DfE's 8670Q queries one with no end date by then)
            let mut authorised = authorised;
            // an assessment beside an enquiry that concludes in a later collection year is
            // authorised when the enquiry concludes: the census that has the enquiry has the
            // assessment (the DfE's 2991Q) and none has an assessment authorised before its year
            // (8696)
            if let Some(s) = rf.s47.as_ref() {
                let concluded = s.icpc.unwrap_or(s.icpc_target).max(s.start);
                if concluded > year_end_of(authorised) {
                    authorised = concluded;
                    end = end.max(authorised);
                }
            }
            let fy_end = year_end_of(start);
            if authorised > fy_end && start < rng::add_working_days(fy_end, -44) {
                authorised = rng::add_working_days(fy_end, -1);
                end = end.max(authorised);
            }
            rf.assessment = Some(Assessment { start, authorised, seen, factors, needs_support: support || rf.cin_plan.is_some() });
            let closure = if rf.cin_plan.is_some() || rf.cpp.is_some() { end } else { add_days(end, int(r, 0, 5)) };
            let rc9 = !(rf.cin_plan.is_some() || rf.cpp.is_some()) && chance(r, 0.45);
            // activity after an assessment (an enquiry, a plan) is never closed RC8/RC9 (the DfE's
            // 2990); one closed after assessment closes in the year the assessment ends, so the
            // census that has the closure has the assessment (8825Q, 8696)
            let auth_fy_end = year_end_of(authorised);
            (rf.closure, rf.closure_reason) = if further {
                (closure, "RC7")
            } else {
                (closure.min(auth_fy_end), if rc9 { "RC9" } else { "RC8" })
            };
        }
        let s = &mut self.st[c as usize];
        s.open_until = Some(rf.closure);
        s.last_referral = Some(d);
        s.last_contact = Some(d);
        self.recent.push_back((c, d));
        if rf.cpp.is_some() {
            self.open_cpps.push(idx);
        }
        if rf.closure > d {
            self.open_refs.push(idx);
        }
        self.contacts.push(Contact { child: c, date: d, source, referral: Some(idx) });
        self.referrals.push(rf);
        idx
    }

    fn care_entry(&mut self, d: NaiveDate) {
        let p = self.p;
        // where the child comes from: a new arrival, a child on a plan, a child in need
        let uasc = chance(&mut self.r, p.uasc_share);
        let mut chosen: Option<(u32, u32)> = None; // (child, referral)
        if uasc {
            let dob = day_between(&mut self.r, add_years(d, -18), add_years(d, -15));
            let dob = dob.min(add_days(add_years(d, -15), -1)).max(add_days(add_years(d, -18), 2));
            let id = self.persons.len() as u32;
            let sex = if chance(&mut self.r, 0.92) { 'M' } else { 'F' };
            let eth = weighted(&mut self.r, &[("BAFR", 0.4), ("AOTH", 0.35), ("OOTH", 0.2), ("WOTH", 0.05)]);
            self.persons.push(Person {
                id,
                dob,
                sex,
                ethnicity: eth,
                resident: true,
                uasc: true,
                disability: None,
                postcode: postcode(&mut self.r, self.areas),
                state_school: false,
                nursery: false,
                primary: 0,
                secondary: 0,
                sixth_form: false,
                upn: None,
                upn_issued: None,
                fsm: false,
                sen_support: false,
            });
            self.st.push(State::default());
            let rf = self.referral_forced(id, d, "5C");
            chosen = Some((id, rf));
        } else {
            // the age at entry follows the national mix (under 1 18 %, 1-4 13 %, 5-9 15 %,
            // 10-15 36 %, 16-17 18 % of entrants, UASC apart); the child is one already on a
            // plan or open to social care when there is one of that age, else newly referred.
            // An age group that this entrant would put a whole entrant ahead of its share is not
            // drawn, so that a small council's few entrants keep the mix too (and with it its
            // adoptions, which come from the youngest). Some group is always behind its share.
            let n = self.entrants.iter().sum::<u32>() as f64 + 1.0;
            let bands: Vec<(usize, f64)> = ENTRY_AGES.iter().enumerate().filter(|(i, b)| (self.entrants[*i] as f64) < b.2 * n).map(|(i, b)| (i, b.2)).collect();
            let band = weighted(&mut self.r, &bands);
            let (lo, hi) = (ENTRY_AGES[band].0, ENTRY_AGES[band].1);
            let fits = |s: &Self, c: u32| {
                let a = age_on(s.persons[c as usize].dob, d);
                a >= lo && a <= hi && s.st[c as usize].in_care_until.is_none_or(|u| u < d)
            };
            if chance(&mut self.r, p.cla_from_cpp) && !self.open_cpps.is_empty() {
                for _ in 0..25 {
                    let i = self.open_cpps[int(&mut self.r, 0, self.open_cpps.len() as i64 - 1) as usize];
                    let rf = &self.referrals[i as usize];
                    if rf.cpp.as_ref().is_some_and(|x| x.start < d) && fits(self, rf.child) {
                        chosen = Some((rf.child, i));
                        break;
                    }
                }
            }
            if chosen.is_none() && !self.open_refs.is_empty() {
                for _ in 0..25 {
                    let i = self.open_refs[int(&mut self.r, 0, self.open_refs.len() as i64 - 1) as usize];
                    let rf = &self.referrals[i as usize];
                    let pending = rf.s47.as_ref().is_some_and(|s| s.icpc.is_some_and(|x| x >= d)) || rf.cpp.as_ref().is_some_and(|x| x.start >= d);
                    if rf.date < d && !pending && fits(self, rf.child) {
                        chosen = Some((rf.child, i));
                        break;
                    }
                }
            }
            if chosen.is_none() {
                for _ in 0..30 {
                    if let Some(c) = self.pick_age(d, lo, hi) {
                        if self.free(c, d) && self.st[c as usize].last_referral.is_none_or(|l| l < d) && self.st[c as usize].last_contact != Some(d) {
                            let source = weighted(&mut self.r, &[("6", 0.4), ("5A", 0.3), ("3E", 0.1), ("2A", 0.2)]);
                            let rf = self.referral_forced(c, d, source);
                            chosen = Some((c, rf));
                            break;
                        }
                    }
                }
            }
        }
        let Some((c, rf_idx)) = chosen else { return };
        if !uasc {
            self.entrants[band_of(age_on(self.persons[c as usize].dob, d))] += 1;
        }
        let ci = self.care.len() as u32;
        let period = self.care_period(c, d, uasc, rf_idx);
        let end = period.end;
        let reason = period.reason;
        // the episode of need stays open while the child is looked after
        let rf = &mut self.referrals[rf_idx as usize];
        if let Some(cpp) = rf.cpp.as_mut() {
            if cpp.end > d {
                cpp.end = d.max(add_days(cpp.start, 1));
                cpp.reviews.retain(|x| *x < cpp.end);
            }
        }
        if let Some((s, e)) = rf.cin_plan {
            if s >= d {
                rf.cin_plan = None;
            } else if e > d {
                rf.cin_plan = Some((s, d));
            }
        }
        // an assessment that led to care found factors: never a lone "21" (the DfE's 8873Q)
        if let Some(a) = rf.assessment.as_mut().filter(|a| a.factors == ["21"]) {
            a.factors = vec![FACTORS[c as usize % (FACTORS.len() - 1)].0];
        }
        // never closed before its assessment is authorised (the DfE's 8565); a child who comes
        // into care on the episode was assessed as needing support, whatever the assessment first
        // concluded (its closure is no longer RC8 or RC9, which is what the census says of it)
        rf.closure = rf.closure.max(end).max(rf.assessment.as_ref().map_or(end, |a| a.authorised));
        if let Some(a) = rf.assessment.as_mut() {
            a.needs_support = true;
        }
        rf.closure_reason = match reason {
            "E11" | "E12" => "RC1",
            "E45" | "E46" | "E47" | "E48" => "RC4",
            "E41" => "RC3",
            "E3" => "RC5",
            "E7" => "RC6",
            _ => "RC7",
        };
        rf.care = Some(ci);
        // the episode stays open until its closure, which its assessment may hold past the end
        // of care: no new referral before then (the DfE's 8820, overlapping episodes)
        let closure = rf.closure;
        if !self.open_refs.contains(&rf_idx) {
            self.open_refs.push(rf_idx);
        }
        let s = &mut self.st[c as usize];
        s.in_care_until = Some(end);
        s.open_until = Some(s.open_until.map_or(closure, |u| u.max(closure)));
        self.care.push(period);
    }

    /// A referral that must lead to care: assessed the same day, kept open.
    fn referral_forced(&mut self, c: u32, d: NaiveDate, source: &'static str) -> u32 {
        let idx = self.referrals.len() as u32;
        let start = d;
        let days = int(&mut self.r, 5, 35);
        let need = if self.persons[c as usize].uasc { "N8" } else { weighted(&mut self.r, &NEEDS) };
        let factors = if self.persons[c as usize].uasc { vec!["8C"] } else { vec![weighted(&mut self.r, &FACTORS)] };
        // an assessment that leads to care found factors: never a lone "21" (the DfE's 8873Q)
        let factors = if factors == ["21"] { vec![FACTORS[c as usize % (FACTORS.len() - 1)].0] } else { factors };
        let rf = Referral {
            child: c,
            date: d,
            source,
            need,
            nfa: false,
            assessment: Some(Assessment { start, authorised: rng::add_working_days(start, days), seen: true, factors, needs_support: true }),
            s47: None,
            cpp: None,
            cin_plan: None,
            closure: d,
            closure_reason: "RC7",
            team: int(&mut self.r, 0, 4) as u8,
            worker: int(&mut self.r, 1, self.workers as i64) as u16,
            care: None,
        };
        let s = &mut self.st[c as usize];
        s.last_referral = Some(d);
        s.last_contact = Some(d);
        self.recent.push_back((c, d));
        self.contacts.push(Contact { child: c, date: d, source, referral: Some(idx) });
        self.referrals.push(rf);
        idx
    }

    fn placement_for(&mut self, age: i32, uasc: bool, prefer_connected: bool) -> (&'static str, &'static str) {
        let r = &mut self.r;
        let foster = |r: &mut Rng, connected: bool| -> (&'static str, &'static str) {
            if connected {
                ("U3", "PR1")
            } else {
                let prov = weighted(r, &[("PR1", self.p.foster_in_house), ("PR4", (1.0 - self.p.foster_in_house) * 0.85), ("PR5", (1.0 - self.p.foster_in_house) * 0.15)]);
                ("U6", prov)
            }
        };
        let connected = prefer_connected || chance(r, 0.22);
        if uasc {
            // supported accommodation only from 16 (the DfE's 371)
            if age < 16 {
                return weighted(r, &[(("U6", "PR4"), 0.55), (("U6", "PR1"), 0.30), (("K2", "PR4"), 0.15)]);
            }
            return weighted(r, &[(("SEMI", "PR4"), 0.55), (("U6", "PR4"), 0.25), (("U6", "PR1"), 0.12), (("K2", "PR4"), 0.08)]);
        }
        match age {
            0 => {
                if chance(r, 0.05) {
                    ("R3", "PR4")
                } else if chance(r, self.p.placed_with_parents) {
                    ("P1", "PR0")
                } else {
                    foster(r, connected)
                }
            }
            1..=9 => {
                if chance(r, self.p.placed_with_parents * 1.25) {
                    ("P1", "PR0")
                } else if age >= 7 && chance(r, self.p.residential_7_9) {
                    ("K2", "PR4")
                } else {
                    foster(r, connected)
                }
            }
            10..=15 => {
                let f = foster(r, connected);
                let res = self.p.residential_10_15;
                weighted(
                    r,
                    &[
                        (f, 0.85 - res - self.p.placed_with_parents),
                        (("K2", "PR4"), res * 0.74),
                        (("K2", "PR1"), res * 0.17),
                        (("K2", "PR5"), res * 0.09),
                        (("P1", "PR0"), self.p.placed_with_parents),
                        (("R1", "PR4"), 0.02),
                        (("S1", "PR4"), 0.02),
                        (("K1", "PR2"), 0.01),
                        (("Z1", "PR4"), 0.02),
                    ],
                )
            }
            _ => {
                let f = foster(r, connected);
                let res = self.p.residential_16_plus;
                weighted(
                    r,
                    &[
                        (f, 0.65 - res),
                        (("SEMI", "PR4"), 0.22),
                        (("SEMI", "PR5"), 0.06),
                        (("K2", "PR4"), res * 0.85),
                        (("K2", "PR1"), res * 0.15),
                        (("P1", "PR0"), 0.04),
                        (("R5", "PR3"), 0.01),
                        (("Z1", "PR4"), 0.02),
                    ],
                )
            }
        }
    }

    fn weekly_cost(&mut self, place: &str, provider: &str) -> f64 {
        let p = self.p;
        let base = match (place, provider) {
            ("K2" | "R1" | "Z1", "PR1") => p.weekly_residential_in_house,
            ("K2" | "R1", _) => p.weekly_residential_private,
            ("Z1", _) => p.weekly_residential_private * 1.6,
            ("K1", _) => p.weekly_secure,
            ("S1", _) => p.weekly_residential_school,
            ("SEMI", _) => p.weekly_semi_independent,
            ("U1" | "U2" | "U3", _) => p.weekly_connected,
            ("U4" | "U5" | "U6", "PR1") => p.weekly_foster_in_house,
            ("U4" | "U5" | "U6", _) => p.weekly_ifa,
            ("R3", _) => 3_200.0,
            ("R2" | "R5" | "P1" | "A3" | "A4" | "A5" | "A6", _) => 0.0,
            _ => 0.0,
        };
        if base == 0.0 {
            return 0.0;
        }
        // a tight spread around the average: private residential's mean stays at the average
        let sigma: f64 = if place == "K2" || place == "R1" { 0.22 } else { 0.15 };
        (base * (sigma * super::rng::normal(&mut self.r) - sigma * sigma / 2.0).exp() / 10.0).round() * 10.0
    }

    fn provider_id(&mut self, place: &str, provider: &str) -> Option<u16> {
        if !matches!(provider, "PR4" | "PR5") {
            return None;
        }
        let wanted = match place {
            "U4" | "U5" | "U6" => "ifa",
            _ if provider == "PR5" => "voluntary",
            _ => "residential",
        };
        // the big providers take a third of the market
        let ids: Vec<u16> = self.providers.iter().enumerate().filter(|(_, p)| p.kind == wanted).map(|(i, _)| i as u16).collect();
        if ids.is_empty() {
            return None;
        }
        let i = if chance(&mut self.r, 0.35) { 0 } else { int(&mut self.r, 0, ids.len() as i64 - 1) as usize };
        Some(ids[i])
    }

    fn new_carer(&mut self) -> u32 {
        self.carers += 1;
        self.carers
    }

    fn care_period(&mut self, c: u32, d: NaiveDate, uasc: bool, referral: u32) -> CarePeriod {
        let person = self.persons[c as usize].clone();
        let age = age_on(person.dob, d);
        let eighteen = add_years(person.dob, 18);
        let last_day = eighteen;
        let r = &mut self.r;
        // how the period ends, and when
        let outcome = if uasc {
            weighted(r, &[("to18", 0.85), ("other", 0.15)])
        } else {
            match age {
                0 => weighted(r, &[("adopt", 0.34), ("sgo", 0.20), ("home", 0.24), ("to18", 0.20), ("cao", 0.02)]),
                1..=4 => weighted(r, &[("adopt", 0.22), ("sgo", 0.20), ("home", 0.32), ("to18", 0.23), ("cao", 0.03)]),
                5..=9 => weighted(r, &[("sgo", 0.16), ("home", 0.30), ("to18", 0.50), ("cao", 0.04)]),
                10..=15 => weighted(r, &[("home", 0.33), ("to18", 0.58), ("other", 0.06), ("sgo", 0.03)]),
                _ => weighted(r, &[("to18", 0.80), ("home", 0.16), ("other", 0.04)]),
            }
        };
        let mut end = match outcome {
            "adopt" => add_months(d, 15.0 + 14.0 * unit(r)),
            "sgo" => add_months(d, lognormal(r, 18.0, 0.45).clamp(6.0, 60.0)),
            "cao" => add_months(d, lognormal(r, 12.0, 0.4).clamp(4.0, 36.0)),
            "home" => add_days(d, (lognormal(r, 220.0, 1.0).clamp(2.0, 2500.0)) as i64),
            "other" => add_days(d, (lognormal(r, 120.0, 0.9).clamp(3.0, 1500.0)) as i64),
            _ => last_day,
        };
        if end > last_day {
            end = last_day;
        }
        if end <= d {
            end = add_days(d, 1);
        }
        let outcome = if end == last_day && outcome != "to18" { "to18" } else { outcome };
        let reason: &'static str = match outcome {
            "adopt" => if chance(r, 0.7) { "E11" } else { "E12" },
            "sgo" => weighted(r, &[("E45", 0.35), ("E46", 0.15), ("E47", 0.35), ("E48", 0.15)]),
            "cao" => "E41",
            "home" => weighted(r, &[("E4A", 0.75), ("E4B", 0.08), ("E13", 0.17)]),
            "other" => {
                if uasc {
                    weighted(r, &[("E15", 0.4), ("E8", 0.4), ("E3", 0.2)])
                } else {
                    weighted(r, &[("E3", 0.35), ("E8", 0.35), ("E9", 0.15), ("E16", 0.05), ("E2", 0.01), ("E7", 0.09)])
                }
            }
            _ => weighted(r, &[("E17", 0.22), ("E5", 0.30), ("E6", 0.10), ("E8", 0.30), ("E7", 0.03), ("E4A", 0.05)]),
        };

        // legal status changes: (date, ls)
        let mut ls_events: Vec<(NaiveDate, &'static str)> = vec![];
        let first_ls = if uasc {
            "V2"
        } else if age < 10 {
            weighted(r, &[("C1", 0.58), ("V2", 0.30), ("L1", 0.05), ("L2", 0.07)])
        } else {
            weighted(r, &[("V2", 0.60), ("C1", 0.34), ("L1", 0.03), ("J1", 0.03)])
        };
        ls_events.push((d, first_ls));
        let mut cur = first_ls;
        let mut t = d;
        if matches!(cur, "L1" | "L2") {
            // police protection lasts at most 72 hours (the DfE's 361), an emergency protection
            // order up to 8 days
            t = add_days(t, if cur == "L1" { int(r, 1, 3) } else { int(r, 2, 8) });
            cur = "C1";
            ls_events.push((t, cur));
        }
        if cur == "J1" {
            // remand: the period ends when the remand does
            end = end.min(add_days(d, int(r, 10, 90)));
        }
        if cur == "V2" && age < 12 && chance(r, 0.35) {
            t = add_months(t, 2.0 + 4.0 * unit(r));
            cur = "C1";
            ls_events.push((t, cur));
        }
        if cur == "C1" {
            t = add_months(t, 5.0 + 5.0 * unit(r));
            cur = "C2";
            ls_events.push((t, cur));
        }
        let reason = if first_ls == "J1" { "E14" } else { reason };
        // adoption: a decision, a placement order, a match and a placement before the order
        let mut adoption = None;
        let mut adoptive_placement: Option<NaiveDate> = None;
        if outcome == "adopt" {
            let decision = add_months(d, 5.0 + 4.0 * unit(r)).min(add_days(end, -120));
            let decision = decision.max(add_days(d, 14));
            let po = add_months(decision, 2.0 + 2.0 * unit(r)).min(add_days(end, -90)).max(add_days(decision, 1));
            let placed = add_days(end, -(int(r, 90, 200))).max(add_days(po, 7));
            let matched = add_days(placed, -int(r, 7, 28)).max(po);
            // the placement order replaces any order still to come (the DfE's 408: placed for
            // adoption under E1)
            ls_events.retain(|(x, _)| *x < po);
            ls_events.push((po, "E1"));
            adoptive_placement = Some(placed);
            let adopters = if chance(r, 0.8) { 2 } else { 1 };
            let sex_adoptr = if adopters == 1 { if chance(r, 0.85) { "F1" } else { "M1" } } else { weighted(r, &[("MF", 0.85), ("MM", 0.08), ("FF", 0.07)]) };
            let ls_adoptr = if adopters == 1 { "L0" } else if sex_adoptr == "MF" { weighted(r, &[("L11", 0.75), ("L3", 0.25)]) } else { weighted(r, &[("L12", 0.5), ("L2", 0.3), ("L3", 0.2)]) };
            self.families += 1;
            adoption = Some(Adoption {
                decision,
                placement_order: Some(po),
                matched: Some(matched),
                placed: Some(placed),
                reversed: None,
                foster_carer: chance(r, 0.12),
                adopters,
                sex_adoptr,
                ls_adoptr,
                family: self.families,
            });
        } else if age < 4 && outcome != "home" && chance(r, 0.15) {
            // a decision to place for adoption, later reversed
            let decision = add_months(d, 5.0 + 4.0 * unit(r));
            let reversed = add_months(decision, 3.0 + 6.0 * unit(r));
            if reversed < end {
                adoption = Some(Adoption {
                    decision,
                    placement_order: None,
                    matched: None,
                    placed: None,
                    reversed: Some((reversed, weighted(r, &[("RD1", 0.3), ("RD2", 0.2), ("RD3", 0.3), ("RD4", 0.2)]))),
                    foster_carer: false,
                    adopters: 0,
                    sex_adoptr: "",
                    ls_adoptr: "",
                    family: 0,
                });
            }
        }
        ls_events.retain(|(x, _)| *x < end);

        // placements: (date, place, provider, same carer as before)
        let mut pl_events: Vec<(NaiveDate, &'static str, &'static str, bool)> = vec![];
        let sgo_or_relative = matches!(outcome, "sgo" | "cao");
        // a child accommodated under section 20 alone (V2) is not placed with parents (the DfE's
        // 378): a placement with parents waits for an order, and until then the child is fostered
        // in-house (legal status only moves away from V2)
        let ls_at = |x: NaiveDate| ls_events.iter().rfind(|e| e.0 <= x).map_or(first_ls, |e| e.1);
        let not_home_under_s20 = |x: NaiveDate, pp: (&'static str, &'static str)| if pp.0 == "P1" && ls_at(x) == "V2" { ("U6", "PR1") } else { pp };
        let (mut place, mut prov) = not_home_under_s20(d, self.placement_for(age, uasc, sgo_or_relative));
        pl_events.push((d, place, prov, false));
        let mut t = d;
        let mut long_term_done = false;
        loop {
            let rate = match place {
                "K2" | "R1" | "Z1" | "K1" | "S1" => self.p.moves_residential,
                "SEMI" => self.p.moves_semi,
                "P1" => 0.3,
                _ => self.p.moves_foster,
            };
            // the first weeks are the least stable
            let rate = if t == d { rate * 1.8 } else { rate };
            let gap = (-(1.0 - unit(&mut self.r)).ln() / rate.max(0.01) * 365.0) as i64 + 1;
            let next = add_days(t, gap.max(7));
            // a foster placement becomes long-term after about a year, with the same carer
            if !long_term_done && matches!(outcome, "to18" | "sgo") && matches!(place, "U6" | "U3") && add_days(t, 365) < next.min(end) {
                let lt = add_days(t, int(&mut self.r, 300, 420));
                if lt < end {
                    let np = if place == "U6" { "U4" } else { "U1" };
                    pl_events.push((lt, np, prov, true));
                    place = np;
                    t = lt;
                    long_term_done = true;
                    continue;
                }
            }
            if next >= end {
                break;
            }
            let a = age_on(person.dob, next);
            if adoptive_placement.is_some_and(|ap| next >= add_days(ap, -30)) {
                break;
            }
            let (np, npv) = if a >= 16 && chance(&mut self.r, 0.45) {
                ("SEMI", if chance(&mut self.r, 0.8) { "PR4" } else { "PR5" })
            } else {
                not_home_under_s20(next, self.placement_for(a, uasc, false))
            };
            pl_events.push((next, np, npv, false));
            place = np;
            prov = npv;
            t = next;
            long_term_done = long_term_done || matches!(np, "U4" | "U1");
        }
        if let Some(ap) = adoptive_placement {
            // placed under a placement order: with the current foster carer (A5) or not (A6)
            let with_foster_carer = adoption.as_ref().is_some_and(|a| a.foster_carer);
            let code = if with_foster_carer { "A5" } else { "A6" };
            let prov = weighted(&mut self.r, &[("PR1", 0.55), ("PR2", 0.25), ("PR5", 0.20)]);
            pl_events.push((ap, code, prov, with_foster_carer));
        }
        pl_events.sort_by_key(|e| e.0);

        // episodes: one per change of legal status or placement
        let mut dates: Vec<NaiveDate> = ls_events.iter().map(|e| e.0).chain(pl_events.iter().map(|e| e.0)).filter(|x| *x < end).collect();
        dates.sort();
        dates.dedup();
        let cin = if uasc { "N8" } else { weighted(&mut self.r, &[("N1", 0.64), ("N2", 0.04), ("N3", 0.03), ("N4", 0.06), ("N5", 0.13), ("N6", 0.02), ("N7", 0.005), ("N8", 0.075)]) };
        // an unaccompanied asylum-seeking child has no home in England: no home postcode and so no
        // placement distance (the DfE's 406)
        let home_post = if uasc { String::new() } else { person.postcode.clone() };
        let mut episodes: Vec<Episode> = vec![];
        let mut carer = self.new_carer();
        let mut cur_ls = first_ls;
        let mut cur_place = pl_events[0].1;
        let mut cur_prov = pl_events[0].2;
        let out_of_area = |r: &mut Rng| chance(r, 0.43);
        for (i, &x) in dates.iter().enumerate() {
            let ls_change = ls_events.iter().rev().find(|e| e.0 == x).map(|e| e.1);
            let pl_change = pl_events.iter().rev().find(|e| e.0 == x);
            let mut rne = "S";
            if i > 0 {
                let ls_changed = ls_change.is_some_and(|l| l != cur_ls);
                let pl_changed = pl_change.is_some();
                let same_carer = pl_change.is_some_and(|e| e.3);
                rne = match (ls_changed, pl_changed, same_carer) {
                    (true, false, _) => "L",
                    (false, true, false) => "P",
                    (false, true, true) => "T",
                    (true, true, false) => "B",
                    (true, true, true) => "U",
                    (false, false, _) => continue,
                };
            }
            if let Some(l) = ls_change {
                cur_ls = l;
            }
            if let Some(e) = pl_change {
                if !e.3 || i == 0 {
                    carer = self.new_carer();
                }
                cur_place = e.1;
                cur_prov = e.2;
            }
            if let Some(prev) = episodes.last_mut() {
                prev.end = x;
                prev.rec = "X1";
                if rne != "L" {
                    prev.reason_change = Some(if rne == "T" || rne == "U" {
                        "PLACE"
                    } else {
                        weighted(&mut self.r, &[("CARPL", 0.40), ("CREQB", 0.14), ("CREQO", 0.08), ("CHILD", 0.07), ("LAREQ", 0.05), ("ALLEG", 0.03), ("STAND", 0.03), ("CLOSE", 0.04), ("APPRR", 0.02), ("OTHER", 0.14)])
                    });
                }
            }
            let same = rne == "L" || rne == "T" || rne == "U";
            let (pl_post, urn, provider_id, weekly) = match episodes.last() {
                Some(prev) if same => (prev.pl_post.clone(), prev.urn.clone(), prev.provider_id, prev.weekly_cost),
                _ => {
                    // the council's own provision (PR1) other than foster care is in its area (the DfE's 1015)
                    let own_home = cur_prov == "PR1" && !matches!(cur_place, "A3" | "A4" | "A5" | "A6" | "U1" | "U2" | "U3" | "U4" | "U5" | "U6" | "SEMI");
                    let pc = if cur_place == "P1" {
                        home_post.clone()
                    } else if out_of_area(&mut self.r) && !own_home {
                        away_from(postcode(&mut self.r, &OUT_OF_AREA), &home_post)
                    } else {
                        away_from(postcode(&mut self.r, self.areas), &home_post)
                    };
                    let urn = match cur_place {
                        // a residential care home (R1) is registered with the CQC, not Ofsted (the DfE's 222)
                        "K2" | "K1" | "S1" | "SEMI" => format!("SC{:06}", 400_000 + (carer * 7919) % 500_000),
                        _ => "XXXXXXX".to_string(),
                    };
                    let pid = self.provider_id(cur_place, cur_prov);
                    let w = self.weekly_cost(cur_place, cur_prov);
                    (pc, urn, pid, w)
                }
            };
            episodes.push(Episode {
                start: x,
                end,
                rne,
                ls: cur_ls,
                place: cur_place,
                provider: cur_prov,
                provider_id,
                rec: reason,
                reason_change: None,
                pl_post,
                urn,
                weekly_cost: weekly,
                carer,
            });
        }
        if let Some(last) = episodes.last_mut() {
            last.end = end;
            last.rec = reason;
        }

        // reviews: within 20 working days, then 3 months, then every 6 months
        let mut reviews = vec![];
        let mut rv = rng::add_working_days(d, int(&mut self.r, 10, 20));
        let mut gap = 3.0;
        while rv <= end {
            reviews.push(rv);
            rv = rng::working_day_on_or_after(add_months(rv, gap - 0.3 * unit(&mut self.r)));
            gap = 6.0;
        }
        // missing episodes, year by year of the period
        let mut missing = vec![];
        let mut y0 = d;
        while y0 < end {
            let y1 = add_days(add_years(y0, 1), -1).min(end);
            let a = age_on(person.dob, y0);
            let in_res = episodes.iter().any(|e| e.start <= y1 && e.end >= y0 && matches!(e.place, "K2" | "R1" | "SEMI" | "Z1"));
            let pr = if a >= 12 {
                if in_res { self.p.missing_teen_residential } else { self.p.missing_teen_other }
            } else if a >= 8 {
                self.p.missing_young * 3.0
            } else {
                0.0
            };
            if chance(&mut self.r, pr) {
                let k = 1 + (-(1.0 - unit(&mut self.r)).ln() / 0.45) as i64;
                let mut starts: Vec<NaiveDate> = (0..k.min(12)).map(|_| day_between(&mut self.r, y0, y1)).collect();
                starts.sort();
                starts.dedup();
                for (i, &s) in starts.iter().enumerate() {
                    // back before the next time missing (the DfE's 574) and before care ends (580)
                    let back_by = starts.get(i + 1).map_or(add_days(end, -1), |n| add_days(*n, -1).min(add_days(end, -1))).max(s);
                    let e = add_days(s, weighted(&mut self.r, &[(0i64, 0.45), (1, 0.35), (2, 0.12), (4, 0.08)])).min(back_by);
                    let offered = chance(&mut self.r, 0.93);
                    let m = Missing { start: s, end: e, kind: if chance(&mut self.r, 0.8) { "M" } else { "A" }, return_interview_offered: offered, return_interview_accepted: offered && chance(&mut self.r, 0.7) };
                    // (none that begins the day care ends: the same draws, so nothing else moves)
                    if s < end {
                        missing.push(m);
                    }
                }
            }
            y0 = add_days(y1, 1);
        }
        // social workers: one at the start (allocated at first contact, FCONTA), changing about once
        // every 20 months, each change with its reason
        let mut workers = vec![(d, int(&mut self.r, 1, self.workers as i64) as u16, "FCONTA")];
        let mut t = d;
        loop {
            t = add_days(t, (lognormal(&mut self.r, 500.0, 0.6)) as i64 + 30);
            if t >= end {
                break;
            }
            let w = int(&mut self.r, 1, self.workers as i64) as u16;
            let why = weighted(&mut self.r, &[("LEFTRL", 0.30), ("MANAGE", 0.20), ("TSPROC", 0.18), ("ORGRST", 0.08), ("ABSENC", 0.06), ("CHCHAN", 0.06), ("PCCHAN", 0.06), ("OTHERS", 0.06)]);
            workers.push((t, w, why));
        }
        // health assessments and dental checks, about yearly
        let mut health = vec![];
        let mut dental = vec![];
        let mut h = add_days(d, int(&mut self.r, 10, 28));
        while h <= end {
            health.push(h);
            h = add_days(h, int(&mut self.r, 170, 390));
        }
        let mut dd = add_days(d, int(&mut self.r, 30, 300));
        while dd <= end {
            dental.push(dd);
            dd = add_days(dd, int(&mut self.r, 180, 500));
        }
        let dolo = if age >= 13 && chance(&mut self.r, 0.015) {
            let s = day_between(&mut self.r, d, end);
            Some((s, add_days(s, int(&mut self.r, 30, 200)).min(end)))
        } else {
            None
        };
        let prev_perm = if self.st[c as usize].in_care_until.is_some() {
            "Z1"
        } else {
            weighted(&mut self.r, &[("Z1", 0.88), ("P4", 0.02), ("P1", 0.03), ("P2", 0.04), ("P3", 0.03)])
        };
        CarePeriod {
            child: c,
            start: d,
            end,
            reason,
            cin,
            uasc,
            episodes,
            reviews,
            missing,
            workers,
            adoption,
            prev_perm,
            home_post,
            referral,
            health_assessments: health,
            dental_checks: dental,
            dolo,
        }
    }
}

fn make_early_help(r: &mut Rng, sim: &Sim, from: NaiveDate, to: NaiveDate) -> Vec<EarlyHelp> {
    let mut out = vec![];
    let persons = &sim.persons[..sim.n_base];
    let mut d = add_days(from, -365);
    while d <= to {
        for _ in 0..count(r, 1_500.0 * sim.k / 52.0) {
            let day = add_days(d, int(r, 0, 6)).min(to);
            let oldest = add_years(day, -18);
            let a = persons.partition_point(|p| p.dob <= oldest);
            let b = persons.partition_point(|p| p.dob <= day);
            if b <= a {
                continue;
            }
            let c = int(r, a as i64, b as i64 - 1) as u32;
            if !persons[c as usize].resident || persons[c as usize].uasc {
                continue;
            }
            let completed = if chance(r, 0.85) { Some(add_days(day, int(r, 10, 70))) } else { None };
            let organisation = weighted(r, &[("Family Hub", 0.35), ("School", 0.30), ("Health Visiting", 0.15), ("Early Help Team", 0.15), ("Voluntary sector", 0.05)]);
            out.push(EarlyHelp { child: c, start: day, completed, organisation });
        }
        d = add_days(d, 7);
    }
    // one assessment per child per start day
    out.sort_by_key(|e| (e.child, e.start));
    out.dedup_by_key(|e| (e.child, e.start));
    out.sort_by_key(|e| (e.start, e.child));
    out
}

#[allow(clippy::too_many_arguments)]
fn make_ehcps(r: &mut Rng, p: &Params, k: f64, sim: &mut Sim, schools: &[School], from: NaiveDate, to: NaiveDate) -> Vec<Ehcp> {
    let specials: Vec<u16> = schools.iter().filter(|s| s.kind == SchoolKind::Special).map(|s| s.idx).collect();
    let mut out: Vec<Ehcp> = vec![];
    let sim_from = add_years(from, -1);
    let setting_for = |r: &mut Rng, age: i32| -> &'static str {
        if age >= 16 && chance(r, 0.55) {
            return "fe";
        }
        let s = weighted(r, &p.ehcp_settings);
        if s == "fe" {
            if age >= 16 { "fe" } else { "mainstream" }
        } else if s == "mainstream" && age >= 11 && chance(r, 0.25) {
            "special"
        } else {
            s
        }
    };
    let new_plan = |r: &mut Rng, sim: &mut Sim, request: NaiveDate, plan_start: Option<NaiveDate>, assess: Option<bool>, decision: NaiveDate, child: u32, out: &mut Vec<Ehcp>| {
        let age = age_on(sim.persons[child as usize].dob, plan_start.unwrap_or(request));
        let setting = setting_for(r, age);
        let special_school = if setting == "special" && !specials.is_empty() { Some(specials[int(r, 0, specials.len() as i64 - 1) as usize]) } else { None };
        let need = weighted(r, &SEN_TYPES);
        let second = if chance(r, 0.35) { Some(weighted(r, &SEN_TYPES)).filter(|s| *s != need) } else { None };
        if plan_start.is_some() {
            sim.st[child as usize].has_ehcp = true;
        }
        out.push(Ehcp {
            child,
            request,
            request_source: weighted(r, &[("SC", 0.45), ("PA", 0.45), ("OT", 0.10)]),
            assess,
            decision,
            plan_start,
            setting,
            special_school,
            need,
            second_need: second,
            ceased: None,
            reviews: vec![],
        });
    };
    // the stock of plans when the simulation opens
    let n0 = count(r, p.ehcp_stock_start * k);
    let mut made = 0;
    let mut tries = 0;
    while made < n0 && tries < n0 * 20 {
        tries += 1;
        let age = weighted(r, &[((3, 4), 0.05), ((5, 10), 0.36), ((11, 15), 0.37), ((16, 19), 0.17), ((20, 24), 0.05)]);
        let Some(c) = sim.pick_age(sim_from, age.0, age.1) else { continue };
        if sim.st[c as usize].has_ehcp || sim.persons[c as usize].uasc {
            continue;
        }
        let dob = sim.persons[c as usize].dob;
        let start = day_between(r, add_years(dob, 2).max(add_years(sim_from, -9)), add_days(sim_from, -1));
        let request = add_days(start, -int(r, 120, 200));
        new_plan(r, sim, request, Some(start), Some(true), add_days(request, 42), c, &mut out);
        made += 1;
    }
    // requests, decisions and plans month by month
    let mut d = sim_from;
    while d <= to {
        for _ in 0..count(r, p.ehc_requests * k / 12.0) {
            let day = add_days(d, int(r, 0, 27));
            let age = weighted(r, &[((2, 4), 0.22), ((5, 10), 0.44), ((11, 15), 0.27), ((16, 19), 0.07)]);
            let Some(c) = sim.pick_age(day, age.0, age.1) else { continue };
            if sim.st[c as usize].has_ehcp || sim.persons[c as usize].uasc {
                continue;
            }
            let decision = rng::add_working_days(day, int(r, 20, 35));
            let assess = chance(r, p.ehc_assess);
            let plan = if assess && chance(r, p.ehc_plan) {
                let weeks = if chance(r, 0.55) { int(r, 14, 20) } else { int(r, 21, 40) };
                Some(add_days(day, weeks * 7))
            } else {
                None
            };
            new_plan(r, sim, day, plan, Some(assess), decision, c, &mut out);
        }
        d = add_days(d, 28);
    }
    // plans cease: some each year, most of the rest at 19-25
    for e in out.iter_mut() {
        let Some(start) = e.plan_start else { continue };
        let dob = sim.persons[e.child as usize].dob;
        let mut t = start;
        let mut reviews = vec![];
        loop {
            t = add_days(t, int(r, 330, 380));
            let age = age_on(dob, t);
            let hazard = if age >= 19 { 0.30 } else { p.ehcp_cease };
            if age >= 25 {
                e.ceased = Some((t, "7"));
                break;
            }
            if chance(r, hazard) {
                let reason = if age >= 19 { weighted(r, &[("3", 0.4), ("4", 0.3), ("7", 0.3)]) } else { weighted(r, &[("1", 0.45), ("2", 0.35), ("6", 0.2)]) };
                e.ceased = Some((add_days(t, -int(r, 0, 200)).max(add_days(start, 30)), reason));
                break;
            }
            reviews.push(t);
            if t > to {
                break;
            }
        }
        e.reviews = reviews.into_iter().filter(|x| e.ceased.is_none_or(|(c, _)| *x < c)).collect();
    }
    out.sort_by_key(|e| (e.request, e.child));
    out
}

impl World {
    pub fn person(&self, id: u32) -> &Person {
        &self.persons[id as usize]
    }

    /// Resident children aged 0-17 on `d`.
    pub fn children_0_17(&self, d: NaiveDate) -> u64 {
        let oldest = add_years(d, -18);
        self.persons.iter().filter(|p| p.resident && !p.uasc && p.dob > oldest && p.dob <= d).count() as u64
    }

    /// Care leavers on `d` whom the council supports (Annex A list 9): looked after for 13 weeks
    /// or more since their 14th birthday, with some of it at 16 or over, left care at 16 or
    /// later, and now aged 17 to 21 (the DfE's care leaver cohort, as in the 903 OC3).
    pub fn care_leavers_on(&self, d: NaiveDate) -> Vec<(u32, &CarePeriod)> {
        let mut by_child: std::collections::BTreeMap<u32, Vec<&CarePeriod>> = std::collections::BTreeMap::new();
        for cp in &self.care {
            if cp.start <= d {
                by_child.entry(cp.child).or_default().push(cp);
            }
        }
        let mut out: Vec<(u32, &CarePeriod)> = vec![];
        for (&c, periods) in &by_child {
            if periods.iter().any(|cp| cp.open_on(d)) {
                continue;
            }
            let p = self.person(c);
            let age = age_on(p.dob, d);
            if !(17..=21).contains(&age) {
                continue;
            }
            let fourteen = add_years(p.dob, 14);
            let eligible = periods.iter().filter(|cp| {
                cp.end <= d
                    && age_on(p.dob, cp.end) >= 16
                    && !matches!(cp.reason, "E11" | "E12" | "E45" | "E46" | "E47" | "E48" | "E41" | "E2" | "E3" | "E15" | "E16")
                    && (cp.end - cp.start.max(fourteen)).num_days() >= 91
            });
            if let Some(cp) = eligible.max_by_key(|cp| cp.end) {
                out.push((c, *cp));
            }
        }
        out
    }

    /// Headline figures per collection year of the window.
    pub fn summary(&self) -> Vec<YearSummary> {
        let mut out = vec![];
        for &y in &self.years {
            let (ys, ye) = (year_start(y), year_end(y));
            let in_year = |d: NaiveDate| d >= ys && d <= ye;
            let mut s = YearSummary { year: y, ..Default::default() };
            s.contacts = self.contacts.iter().filter(|c| in_year(c.date)).count() as u64;
            let mut last: std::collections::HashMap<u32, NaiveDate> = std::collections::HashMap::new();
            let mut refs: Vec<&Referral> = self.referrals.iter().collect();
            refs.sort_by_key(|r| (r.date, r.child));
            for r in refs {
                if in_year(r.date) {
                    s.referrals += 1;
                    if last.get(&r.child).is_some_and(|l| *l >= add_days(r.date, -365) && *l < r.date) {
                        s.re_referrals_12m += 1;
                    }
                    if r.assessment.is_some() {
                        s.assessments += 1;
                    }
                    if r.s47.is_some() {
                        s.s47 += 1;
                    }
                }
                if let Some(c) = &r.cpp {
                    if in_year(c.start) {
                        s.cpp_started += 1;
                    }
                    if c.start <= ye && c.end > ye {
                        s.cpp_open_31_march += 1;
                    }
                }
                last.insert(r.child, r.date);
            }
            s.cla_started = self.care.iter().filter(|c| in_year(c.start)).count() as u64;
            s.cla_31_march = self.care.iter().filter(|c| c.open_on(ye)).count() as u64;
            s.care_leavers_31_march = self.care_leavers_on(ye).len() as u64;
            let jan = date(y, 1, 18);
            s.ehcps_january = self.ehcps.iter().filter(|e| e.active_on(jan)).count() as u64;
            s.schools = self.schools.len() as u64;
            out.push(s);
        }
        out
    }
}

/// A care leaver's situation around `on`: in touch, main activity, accommodation (903 Oc3 codes
/// valid in collection year `y`).
pub struct LeaverStatus {
    pub in_touch: &'static str,
    pub activity: &'static str,
    pub accommodation: &'static str,
    pub suitable: bool,
    pub accommodation_label: &'static str,
}

pub fn leaver_status(w: &World, child: u32, on: NaiveDate, y: i32) -> LeaverStatus {
    let age = age_on(w.person(child).dob, on);
    let mut r = rng::item(w.seed, w.council.la_code, "leaver", (child as u64) * 100 + age.max(0) as u64);
    let p = &w.params;
    let in_touch = if chance(&mut r, p.leaver_in_touch) { "YES" } else { weighted(&mut r, &[("NO", 0.4), ("REFU", 0.35), ("NREQ", 0.15), ("RHOM", 0.1)]) };
    if in_touch != "YES" {
        return LeaverStatus { in_touch, activity: "0", accommodation: "0", suitable: true, accommodation_label: "Not known" };
    }
    let eet = chance(&mut r, if age <= 18 { p.leaver_eet + 0.12 } else { p.leaver_eet });
    let activity = if eet {
        if y <= 2021 {
            weighted(&mut r, &[("F1", 0.10), ("P1", 0.02), ("F2", 0.45), ("P2", 0.08), ("F3", 0.25), ("P3", 0.10)])
        } else {
            weighted(&mut r, &[("F1", 0.10), ("P1", 0.02), ("F2", 0.45), ("P2", 0.08), ("F4", 0.06), ("P4", 0.02), ("F5", 0.17), ("P5", 0.10)])
        }
    } else {
        weighted(&mut r, &[("G4", 0.25), ("G5", 0.60), ("G6", 0.15)])
    };
    let (kind, label) = weighted(
        &mut r,
        &[(("U", "Independent living"), 0.38), (("D", "Semi-independent accommodation"), 0.22), (("Z", "With former foster carers"), 0.14), (("B", "With parents or relatives"), 0.12), (("E", "Supported lodgings"), 0.06), (("K", "Ordinary lodgings"), 0.03), (("V", "Emergency accommodation"), 0.02), (("X", "In custody"), 0.01), (("Y", "Other accommodation"), 0.02)],
    );
    // staying put with former foster carers begins at 18: at 17 the young person is in supported
    // lodgings instead (the DfE's 3001)
    let (kind, label) = if kind == "Z" && age < 18 { ("E", "Supported lodgings") } else { (kind, label) };
    let suitable = !matches!(kind, "V" | "X") && chance(&mut r, p.leaver_suitable + 0.02);
    let code: &'static str = match (kind, suitable) {
        ("U", true) => "U1",
        ("U", false) => "U2",
        ("D", true) => "D1",
        ("D", false) => "D2",
        ("Z", true) => "Z1",
        ("Z", false) => "Z2",
        ("B", true) => "B1",
        ("B", false) => "B2",
        ("E", true) => "E1",
        ("E", false) => "E2",
        ("K", true) => "K1",
        ("K", false) => "K2",
        ("V", _) => "V2",
        ("X", _) => "X2",
        (_, true) => "Y1",
        (_, false) => "Y2",
    };
    LeaverStatus { in_touch, activity, accommodation: code, suitable: suitable && !matches!(kind, "V" | "X"), accommodation_label: label }
}
