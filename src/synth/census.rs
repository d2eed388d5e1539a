//! The school census as councils receive it from COLLECT: one "Blade export" CSV per module and
//! census (`school_census/<year>_<term>_<module>.csv`), with the fixtures' headers and dates
//! written `yyyy-Mon-dd HH:MM:SS`. Every census day in the window gets pupils on roll, pupils no
//! longer on roll since the last census, free school meals periods, exclusions and absence
//! sessions for the term before, and (spring) SEN needs.
//!
//! Pupils are the simulated population's children of school age at their schools; a pupil with
//! an EHC plan in a special school is on that school's roll and carries SEN provision `E`, so
//! the census, SEN2 and MOSAIC agree on the child (one UPN everywhere).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

use super::defects::{DateStyle, Plan};
use super::people::{add_days, age_on, date, nc_year, Person, School, SchoolKind, World};
use super::rng::{self, chance, int, weighted};
use super::writer::{Encoding, Output};
use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Term {
    Spring,
    Summer,
    Autumn,
}

impl Term {
    pub fn name(self) -> &'static str {
        match self {
            Term::Spring => "spring",
            Term::Summer => "summer",
            Term::Autumn => "autumn",
        }
    }
}

/// The n-th `weekday` of a month.
fn nth_weekday(y: i32, m: u32, weekday: Weekday, n: u32) -> NaiveDate {
    let mut d = date(y, m, 1);
    while d.weekday() != weekday {
        d = add_days(d, 1);
    }
    add_days(d, 7 * (n as i64 - 1))
}

/// Census day: the first Thursday of October, the third Thursday of January and of May.
pub fn census_day(y: i32, t: Term) -> NaiveDate {
    match t {
        Term::Autumn => nth_weekday(y, 10, Weekday::Thu, 1),
        Term::Spring => nth_weekday(y, 1, Weekday::Thu, 3),
        Term::Summer => nth_weekday(y, 5, Weekday::Thu, 3),
    }
}

/// The census days between `from` and `to`, in order.
pub fn census_days(from: NaiveDate, to: NaiveDate) -> Vec<(i32, Term, NaiveDate)> {
    let mut v = vec![];
    for y in from.year()..=to.year() {
        for t in [Term::Spring, Term::Summer, Term::Autumn] {
            let d = census_day(y, t);
            if d >= from && d <= to {
                v.push((y, t, d));
            }
        }
    }
    v
}

pub fn blade(d: NaiveDate) -> String {
    d.format("%Y-%b-%d 00:00:00").to_string()
}

fn ob(d: Option<NaiveDate>) -> String {
    d.map(blade).unwrap_or_default()
}

fn tf(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// A bijection on u32 that looks random: Blade ids stay unique without a lookup table.
fn scramble(x: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9E37_79B1);
    h ^= h >> 15;
    h = h.wrapping_mul(0x85EB_CA77);
    h ^= h >> 13;
    h
}

fn hash2(a: u32, b: u32) -> u32 {
    scramble(scramble(a) ^ b.wrapping_mul(0x27D4_EB2F))
}

fn nc_code(nc: i32) -> String {
    match nc {
        -2 => "N1".into(),
        -1 => "N2".into(),
        0 => "R".into(),
        n => n.to_string(),
    }
}

/// Where a child is on roll on `d`, if anywhere: (school, NC year).
pub fn school_on(w: &World, p: &Person, d: NaiveDate, special: &BTreeMap<u32, u16>) -> Option<(u16, i32)> {
    if !p.state_school || p.upn_issued.is_none_or(|i| i > d) {
        return None;
    }
    let nc = nc_year(p.dob, d);
    if let Some(&s) = special.get(&p.id) {
        if (0..=14).contains(&nc) {
            return Some((s, nc));
        }
    }
    match nc {
        -1 if p.nursery => Some((p.primary, nc)),
        0..=6 => Some((p.primary, nc)),
        7..=11 => {
            // a few secondary pupils are taught in a pupil referral unit
            if scramble(p.id).is_multiple_of(250) {
                let prus: Vec<&School> = w.schools.iter().filter(|s| s.kind == SchoolKind::Pru).collect();
                if !prus.is_empty() {
                    return Some((prus[(p.id as usize) % prus.len()].idx, nc));
                }
            }
            Some((p.secondary, nc))
        }
        12 | 13 if p.sixth_form => Some((p.secondary, nc)),
        _ => None,
    }
}

/// Primary needs of pupils on SEN support (national SEN statistics, SEN support pupils, 2021).
const SUPPORT_NEEDS: [(&str, f64); 11] = [("SLCN", 0.24), ("SEMH", 0.20), ("MLD", 0.17), ("SPLD", 0.14), ("ASD", 0.11), ("NSA", 0.05), ("OTH", 0.04), ("PD", 0.02), ("HI", 0.01), ("VI", 0.01), ("SLD", 0.01)];

/// The primary need of a pupil on SEN support, as the spring census gives it.
pub fn support_need(w: &World, pupil: u32) -> &'static str {
    weighted(&mut rng::item(w.seed, w.council.la_code, "sen-type", pupil as u64), &SUPPORT_NEEDS)
}

/// Pupils with an EHC plan in a special school on `d`.
pub fn special_placements(w: &World, d: NaiveDate) -> BTreeMap<u32, u16> {
    w.ehcps.iter().filter(|e| e.active_on(d)).filter_map(|e| e.special_school.map(|s| (e.child, s))).collect()
}

fn sen_provision(p: &Person, d: NaiveDate, ehcp: &BTreeMap<u32, &'static str>) -> &'static str {
    if ehcp.contains_key(&p.id) {
        "E"
    } else if p.sen_support && nc_year(p.dob, d) >= 0 {
        "K"
    } else {
        "N"
    }
}

pub fn write(w: &World, out: &mut Output) -> Result<Vec<(i32, u64)>> {
    let days = census_days(w.window_start, w.window_end);
    let mut prev: Option<BTreeMap<u32, (u16, i32)>> = None;
    let mut prev_day: Option<NaiveDate> = None;
    let mut spring_counts = vec![];
    for (ti, &(y, term, day)) in days.iter().enumerate() {
        let special = special_placements(w, day);
        let ehcp: BTreeMap<u32, &'static str> = w.ehcps.iter().filter(|e| e.active_on(day)).map(|e| (e.child, e.need)).collect();
        let mut roll: BTreeMap<u32, (u16, i32)> = BTreeMap::new();
        for p in &w.persons {
            if let Some(x) = school_on(w, p, day, &special) {
                roll.insert(p.id, x);
            }
        }
        let term_start = prev_day.unwrap_or(add_days(day, -110));
        let n = write_term(w, out, y, term, day, term_start, ti as u32, &roll, prev.as_ref(), &ehcp)?;
        if term == Term::Spring {
            spring_counts.push((y, n));
        }
        prev = Some(roll);
        prev_day = Some(day);
    }
    Ok(spring_counts)
}

struct Ids {
    term: u32,
}

impl Ids {
    fn pupil(&self, person: u32, school: u16) -> String {
        format!("{:08x}-{:03x}", scramble(person), school)
    }
    fn source(&self, person: u32) -> String {
        format!("{:08x}", hash2(person, self.term + 1))
    }
    fn census(&self, school: u16) -> String {
        format!("{:08x}", hash2(0x00C0_FFEE ^ school as u32, self.term + 7))
    }
    fn child(&self, module: u32, n: u32) -> String {
        format!("{:08x}", hash2(n, (module << 16) ^ (self.term + 1)))
    }
}

#[allow(clippy::too_many_arguments)]
fn write_term(
    w: &World,
    out: &mut Output,
    y: i32,
    term: Term,
    day: NaiveDate,
    term_start: NaiveDate,
    ti: u32,
    roll: &BTreeMap<u32, (u16, i32)>,
    prev: Option<&BTreeMap<u32, (u16, i32)>>,
    ehcp: &BTreeMap<u32, &'static str>,
) -> Result<u64> {
    let p = &w.params;
    let seed = w.seed;
    let la = w.council.la_code;
    let ids = Ids { term: ti };
    let stem = format!("school_census/{y}_{}", term.name());
    let mut r = rng::stream(seed, la, &format!("census-{y}-{}", term.name()));
    let cla: BTreeMap<u32, bool> = w.care.iter().filter(|c| c.open_on(day)).map(|c| (c.child, true)).collect();
    // post looked-after arrangements: adopted (A), special guardianship (G), child arrangements (C)
    let plaa: BTreeMap<u32, &'static str> = w
        .care
        .iter()
        .filter(|c| c.end <= day)
        .filter_map(|c| match c.reason {
            "E11" | "E12" => Some((c.child, "A")),
            "E45" | "E46" | "E47" | "E48" => Some((c.child, "G")),
            "E41" => Some((c.child, "C")),
            _ => None,
        })
        .collect();
    let sessions_possible = match term {
        Term::Autumn => 136,
        Term::Spring => 120,
        Term::Summer => 110,
    };
    // termly sessions fields were dropped from pupil on roll in the 2025 census
    let with_termly_absence = y < 2025;

    // pupils on roll
    let mut cols: Vec<&str> = vec!["pupilonrolltableid", "NativeId", "dob", "surname", "forename", "middlenames", "preferredsurname", "formersurname", "upn", "formerupn", "uniquelearnernumber", "sex", "entrydate", "pupilonrollorderseqcolumn", "sourceid", "schoolcensustableid", "hoursatsetting", "schoollunchtaken", "parttime", "topupfunding", "termlysessionspossible"];
    if with_termly_absence {
        cols.extend(["termlysessionsauthorised", "termlysessionsunauthorised"]);
    }
    cols.extend(["senunitindicator", "resourcedprovisionindicator", "fundedhours", "ethnicity", "yssa", "servicechild", "language", "classtype", "enrolstatus", "boarder", "plaa", "senprovision", "ncyearactual", "eyppr"]);
    if y >= 2023 {
        cols.push("youngcarer");
    }
    let plan = Plan::new("pupil_on_roll", DateStyle::Blade, &cols)
        .dates(&["dob", "entrydate"])
        .codes(&["sex", "enrolstatus", "ncyearactual", "senprovision", "plaa", "servicechild"])
        .required(&["pupilonrolltableid", "NativeId", "pupilonrollorderseqcolumn", "sourceid", "schoolcensustableid"])
        .key(&["pupilonrolltableid"]);
    let mut f = out.csv(&format!("{stem}_pupilonroll.csv"), &cols, plan, Encoding::Utf8);

    struct Absence {
        person: u32,
        school: u16,
        reasons: Vec<(&'static str, u32)>,
    }
    let mut absences: Vec<Absence> = vec![];
    let mut exclusions: Vec<(u32, u16, NaiveDate, u32, &'static str, &'static str, &'static str)> = vec![];
    let mut n = 0u64;
    // schools in order, pupils by id within each
    let mut by_school: BTreeMap<u16, Vec<(u32, i32)>> = BTreeMap::new();
    for (&pid, &(s, nc)) in roll {
        by_school.entry(s).or_default().push((pid, nc));
    }
    for (&s, pupils) in &by_school {
        let school = &w.schools[s as usize];
        for &(pid, nc) in pupils {
            let person = w.person(pid);
            n += 1;
            let upn = person.upn.clone().unwrap_or_default();
            let uln = if nc >= 10 { format!("{:010}", 1_000_000_000u64 + (scramble(pid ^ 0x5A5A) as u64 % 8_999_999_999)) } else { String::new() };
            // entry to this school: start of nursery or reception, or of year 7 for secondary
            let entry = match school.kind {
                SchoolKind::Secondary | SchoolKind::Pru => super::people::school_entry(person.dob, 11),
                SchoolKind::Special => super::people::school_entry(person.dob, (age_on(person.dob, day) - 1).clamp(4, 18)),
                SchoolKind::Primary => person.upn_issued.unwrap_or(day),
            };
            let entry = entry.min(day);
            let sen = sen_provision(person, day, ehcp);
            let in_care = cla.contains_key(&pid);
            // absence this term: most pupils a little, a few a lot
            let mut mult = 1.0;
            if person.fsm {
                mult *= 1.7;
            }
            if sen == "E" {
                mult *= 1.6;
            } else if sen == "K" {
                mult *= 1.3;
            }
            if nc >= 9 {
                mult *= 1.25;
            }
            let rate = (p.absence_rate * mult * rng::lognormal(&mut r, 0.75, 0.8)).min(0.9);
            let absent = (sessions_possible as f64 * rate).round() as u32;
            let mut reasons: Vec<(&'static str, u32)> = vec![];
            if absent > 0 {
                let mut left = absent;
                for (code, share) in [("I", 0.58), ("M", 0.08), ("O", 0.12), ("G", 0.07), ("C", 0.05), ("N", 0.04), ("U", 0.02), ("R", 0.01)] {
                    let k = ((absent as f64) * share * (0.5 + rng::unit(&mut r))).round() as u32;
                    let k = k.min(left);
                    if k > 0 {
                        reasons.push((code, k));
                        left -= k;
                    }
                }
                if left > 0 {
                    reasons.push(("I", left));
                    // merge into one I row
                    let total_i: u32 = reasons.iter().filter(|x| x.0 == "I").map(|x| x.1).sum();
                    reasons.retain(|x| x.0 != "I");
                    reasons.insert(0, ("I", total_i));
                }
            }
            let authorised: u32 = reasons.iter().filter(|x| matches!(x.0, "I" | "M" | "C" | "R")).map(|x| x.1).sum();
            let unauthorised: u32 = absent - authorised.min(absent);
            // suspensions in the term before the census
            if nc >= 0 && !matches!(school.kind, SchoolKind::Pru) {
                let mut ex = p.suspensions_per_100 / 100.0 / 3.0 * if nc >= 7 { 2.2 } else { 0.35 };
                if person.fsm {
                    ex *= 2.4;
                }
                if sen != "N" {
                    ex *= 2.2;
                }
                if in_care {
                    ex *= 2.0;
                }
                if chance(&mut r, ex.min(0.8)) {
                    let k = 1 + (rng::unit(&mut r) * 2.2) as u32;
                    let mut starts: Vec<NaiveDate> = (0..k).map(|_| rng::working_day_on_or_after(rng::day_between(&mut r, term_start, add_days(day, -1)))).filter(|d| *d < day).collect();
                    starts.sort();
                    starts.dedup();
                    for st in starts {
                        let perm = nc >= 7 && chance(&mut r, p.permanent_exclusions / (p.suspensions_per_100 * 600.0).max(1.0) * 1.5);
                        let category = if perm { "PERM" } else if chance(&mut r, 0.05) { "LNCH" } else if y <= 2020 { "FIXD" } else { "SUSP" };
                        let reason = weighted(&mut r, &[("DB", 0.33), ("PA", 0.12), ("VA", 0.14), ("PP", 0.12), ("VP", 0.08), ("DA", 0.04), ("DM", 0.04), ("BU", 0.02), ("OW", 0.02), ("MT", 0.03), ("SM", 0.01), ("TH", 0.02), ("RA", 0.01)]);
                        let sessions = if category == "LNCH" { 1 } else { int(&mut r, 1, 10) as u32 };
                        exclusions.push((pid, s, st, sessions, category, reason, sen));
                    }
                }
            }
            let fsm_now = person.fsm && nc >= -1;
            let mut row = vec![
                ids.pupil(pid, s),
                format!("SCH{}", school.estab),
                blade(person.dob),
                person.surname(),
                person.forename(),
                String::new(),
                String::new(),
                String::new(),
                upn,
                String::new(),
                uln,
                person.sex.to_string(),
                blade(entry),
                "1".into(),
                ids.source(pid),
                ids.census(s),
                if nc < 0 { "15.0".into() } else { String::new() },
                tf((0..=2).contains(&nc) || fsm_now && chance(&mut r, 0.85) || chance(&mut r, 0.4)),
                tf(nc < 0 && chance(&mut r, 0.6)),
                tf(sen == "E" && school.kind != SchoolKind::Special && chance(&mut r, 0.7)),
                if nc >= 0 { sessions_possible.to_string() } else { String::new() },
            ];
            if with_termly_absence {
                row.push(if nc >= 0 { authorised.to_string() } else { String::new() });
                row.push(if nc >= 0 { unauthorised.to_string() } else { String::new() });
            }
            let ethnicity = if term == Term::Spring { census_ethnicity(person) } else { String::new() };
            row.extend([
                tf(false),
                tf(sen != "N" && chance(&mut r, 0.03)),
                if nc < 0 { "15.0".into() } else { String::new() },
                ethnicity,
                if nc >= 12 { "Yes".into() } else { String::new() },
                if scramble(pid ^ 0x77) % 100 < 2 { "Y".into() } else { "N".into() },
                if matches!(person.ethnicity, "WBRI" | "WIRI" | "MWBC" | "BCRB") || scramble(pid ^ 0x33) % 10 < 7 { "ENG".into() } else { ["POL", "ROM", "BNG", "URD", "PNJ", "ARA", "POR", "LIT"][scramble(pid) as usize % 8].into() },
                if nc < 0 { "N".into() } else { "O".into() },
                if school.kind == SchoolKind::Pru { "M".into() } else { "C".into() },
                "N".into(),
                plaa.get(&pid).copied().unwrap_or("N").to_string(),
                sen.into(),
                nc_code(nc),
                if nc < 0 && fsm_now { "Y".into() } else { String::new() },
            ]);
            if y >= 2023 {
                row.push(if scramble(pid ^ 0x99) % 100 < 2 { "S".into() } else { "N".into() });
            }
            f.row(row);
            if !reasons.is_empty() && nc >= 0 {
                absences.push(Absence { person: pid, school: s, reasons });
            }
        }
    }
    out.close(f)?;

    // pupils no longer on roll: on roll at a school at the last census, not there now
    if let Some(prev) = prev {
        let cols = ["pupilnolongeronrolltableid", "NativeId", "dob", "surname", "forename", "upn", "formerupn", "uniquelearnernumber", "sex", "entrydate", "leavingdate", "pupilnolongeronrollorderseqcolumn", "sourceid", "schoolcensustableid", "parttime", "termlysessionspossible", "ncyearleaving", "boarder", "language"];
        let plan = Plan::new("pupil_no_longer_on_roll", DateStyle::Blade, &cols)
            .dates(&["dob", "entrydate", "leavingdate"])
            .codes(&["sex", "ncyearleaving", "boarder"])
            .required(&["pupilnolongeronrolltableid", "NativeId", "pupilnolongeronrollorderseqcolumn", "sourceid", "schoolcensustableid"])
            .key(&["pupilnolongeronrolltableid", "pupilnolongeronrollorderseqcolumn"]);
        let mut f = out.csv(&format!("{stem}_pupilnolongeronroll.csv"), &cols, plan, Encoding::Utf8);
        let mut left: Vec<(u16, u32, i32)> = prev.iter().filter(|(pid, (s, _))| roll.get(pid).is_none_or(|(s2, _)| s2 != s)).map(|(&pid, &(s, nc))| (s, pid, nc)).collect();
        left.sort();
        for (s, pid, nc) in left {
            let person = w.person(pid);
            let school = &w.schools[s as usize];
            // year-end leavers leave in July; others on a school day since the last census
            let summer_end = date(if day.month() >= 9 { day.year() } else { day.year() - 1 }, 7, 22);
            let leaving = if term == Term::Autumn && summer_end >= term_start { summer_end } else { rng::day_between(&mut r, term_start, add_days(day, -1)) };
            let entry = person.upn_issued.unwrap_or(leaving).min(leaving);
            f.row(vec![
                ids.pupil(pid, s),
                format!("SCH{}", school.estab),
                blade(person.dob),
                person.surname(),
                person.forename(),
                person.upn.clone().unwrap_or_default(),
                String::new(),
                String::new(),
                person.sex.to_string(),
                blade(entry),
                blade(leaving),
                "1".into(),
                ids.source(pid ^ 0x8000_0000),
                ids.census(s),
                tf(false),
                if nc >= 0 { (sessions_possible / 2).to_string() } else { String::new() },
                nc_code(nc),
                "N".into(),
                "ENG".into(),
            ]);
        }
        out.close(f)?;
    }

    // free school meals periods
    let module = if term == Term::Autumn { "fsmperiodsonroll" } else { "fsmperiod" };
    let (tid, seq) = if term == Term::Autumn { ("fsmperiodsonrolltableid", "fsmperiodsonrollorderseqcolumn") } else { ("fsmperiodtableid", "fsmperiodorderseqcolumn") };
    let cols = ["pupilonrolltableid", "NativeId", tid, seq, "sourceid", "fsmstartdate", "fsmenddate", "ukcountry"];
    let plan = Plan::new("fsm_periods", DateStyle::Blade, &["pupilonrolltableid", "NativeId", "fsmperiodtableid", "fsmperiodorderseqcolumn", "sourceid", "fsmstartdate", "fsmenddate", "ukcountry"])
        .dates(&["fsmstartdate"])
        .codes(&["ukcountry"])
        .required(&["pupilonrolltableid", "NativeId", "fsmperiodtableid", "sourceid"])
        .key(&["sourceid", "fsmperiodtableid"]);
    let mut f = out.csv(&format!("{stem}_{module}.csv"), &cols, plan, Encoding::Utf8);
    let mut k = 0u32;
    for (&pid, &(s, nc)) in roll {
        let person = w.person(pid);
        if !person.fsm || nc < -1 {
            continue;
        }
        let school = &w.schools[s as usize];
        // eligible since a day fixed for the pupil, renewed in periods
        let since = add_days(person.upn_issued.unwrap_or(day), (scramble(pid ^ 0xF5) % 1400) as i64).min(add_days(day, -1));
        let mut periods = vec![(since, None)];
        if scramble(pid ^ 0xF6).is_multiple_of(5) && since < add_days(day, -200) {
            // an earlier period that ended
            let e = add_days(since, -int(&mut r, 30, 200));
            periods.insert(0, (add_days(e, -int(&mut r, 90, 600)), Some(e)));
        }
        for (i, (st, en)) in periods.into_iter().enumerate() {
            k += 1;
            f.row(vec![ids.pupil(pid, s), format!("SCH{}", school.estab), ids.child(1, k), (i + 1).to_string(), ids.source(pid), blade(st), ob(en), "ENG".into()]);
        }
    }
    out.close(f)?;

    // exclusions in the term before the census
    let cols = ["pupilonrolltableid", "NativeId", "termlyexclusionsonrolltableid", "termlyexclusionsonrollorderseqcolumn", "sourceid", "startdate", "sessions", "reason1", "reason2", "reason3", "category", "senprovision"];
    let plan = Plan::new("exclusions_on_roll", DateStyle::Blade, &cols)
        .dates(&["startdate"])
        .codes(&["reason1", "category", "senprovision"])
        .required(&["pupilonrolltableid", "NativeId", "termlyexclusionsonrolltableid", "sourceid"])
        .key(&["sourceid", "termlyexclusionsonrolltableid"]);
    let mut f = out.csv(&format!("{stem}_termlyexclusionsonroll.csv"), &cols, plan, Encoding::Utf8);
    let mut seqs: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, (pid, s, st, sessions, category, reason, sen)) in exclusions.iter().enumerate() {
        let school = &w.schools[*s as usize];
        let seq = seqs.entry(*pid).or_insert(0);
        *seq += 1;
        f.row(vec![ids.pupil(*pid, *s), format!("SCH{}", school.estab), ids.child(2, i as u32), seq.to_string(), ids.source(*pid), blade(*st), sessions.to_string(), reason.to_string(), String::new(), String::new(), category.to_string(), sen.to_string()]);
    }
    out.close(f)?;

    // absence sessions by reason, term before the census
    let cols = ["pupilonrolltableid", "NativeId", "termlysessiondetailsonrolltableid", "termlysessiondetailsonrollorderseqcolumn", "sourceid", "sessions", "attendancereason"];
    let plan = Plan::new("sessions_on_roll", DateStyle::Blade, &cols)
        .codes(&["attendancereason"])
        .required(&["pupilonrolltableid", "NativeId", "termlysessiondetailsonrolltableid", "sourceid"])
        .key(&["sourceid", "termlysessiondetailsonrolltableid"]);
    let mut f = out.csv(&format!("{stem}_termlysessiondetailsonroll.csv"), &cols, plan, Encoding::Utf8);
    let mut k = 0u32;
    for a in &absences {
        let school = &w.schools[a.school as usize];
        for (i, (code, n)) in a.reasons.iter().enumerate() {
            k += 1;
            f.row(vec![ids.pupil(a.person, a.school), format!("SCH{}", school.estab), ids.child(3, k), (i + 1).to_string(), ids.source(a.person), n.to_string(), code.to_string()]);
        }
    }
    out.close(f)?;

    // SEN needs, spring census
    if term == Term::Spring {
        let cols = ["pupilonrolltableid", "NativeId", "senneedstableid", "senneedsorderseqcolumn", "sourceid", "sentyperank", "sentype"];
        let plan = Plan::new("sen_needs", DateStyle::Blade, &cols).required(&["pupilonrolltableid", "NativeId", "senneedstableid", "senneedsorderseqcolumn", "sourceid"]).key(&["sourceid", "senneedstableid"]);
        let mut f = out.csv(&format!("{stem}_senneeds.csv"), &cols, plan, Encoding::Utf8);
        let mut k = 0u32;
        for (&pid, &(s, nc)) in roll {
            let person = w.person(pid);
            let sen = sen_provision(person, day, ehcp);
            if sen == "N" || nc < 0 {
                continue;
            }
            let school = &w.schools[s as usize];
            let mut pr = rng::item(seed, la, "sen-type", pid as u64);
            let need = ehcp.get(&pid).copied().unwrap_or_else(|| weighted(&mut pr, &SUPPORT_NEEDS));
            let mut needs = vec![need];
            if chance(&mut pr, 0.3) {
                let second = weighted(&mut pr, &[("SLCN", 0.3), ("SEMH", 0.3), ("MLD", 0.2), ("SPLD", 0.2)]);
                if second != need {
                    needs.push(second);
                }
            }
            for (i, nd) in needs.iter().enumerate() {
                k += 1;
                f.row(vec![ids.pupil(pid, s), format!("SCH{}", school.estab), ids.child(4, k), (i + 1).to_string(), ids.source(pid), format!("{}.0", i + 1), nd.to_string()]);
            }
        }
        out.close(f)?;
    }
    Ok(n)
}

/// The census's extended ethnicity code: the main code, or one of its sub-codes.
fn census_ethnicity(p: &Person) -> String {
    let h = scramble(p.id ^ 0xE7) % 100;
    match p.ethnicity {
        "WBRI" if h < 8 => "WENG".into(),
        "WBRI" if h < 10 => "WCOR".into(),
        "WOTH" if h < 30 => "WPOR".into(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_days_are_thursdays_in_term() {
        assert_eq!(census_day(2024, Term::Autumn), date(2024, 10, 3));
        assert_eq!(census_day(2025, Term::Spring), date(2025, 1, 16));
        assert_eq!(census_day(2024, Term::Summer), date(2024, 5, 16));
        let days = census_days(date(2024, 4, 1), date(2025, 3, 31));
        assert_eq!(days.iter().map(|d| d.1).collect::<Vec<_>>(), vec![Term::Summer, Term::Autumn, Term::Spring]);
    }

    #[test]
    fn blade_dates() {
        assert_eq!(blade(date(2020, 4, 25)), "2020-Apr-25 00:00:00");
    }

    #[test]
    fn scramble_is_a_bijection_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            assert!(seen.insert(scramble(i)));
        }
    }
}
