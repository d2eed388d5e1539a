//! MOSAIC's statutory exports, per council and collection year:
//!
//! * `ssda903_<year>/*.csv` — the SSDA903 CSV set (header, episodes, reviews, uasc, oc2, oc3,
//!   ad1, placed_for_adoption, previous_permanence, missing, sw_episodes from 2024, DoLo), the
//!   headers of csc-validator-be-903 and dates `dd/mm/yyyy`, as the fixtures;
//! * `cin_census/CIN_Census_<year>.xml` — the CIN census in the shape of `BAR_cin_2022.xml`
//!   (`GenderCurrent` before the 2023 collection, `Sex` from it);
//! * `annex_a/Annex_A_<year>_Mar_List_<n>.csv` — Ofsted Annex A lists 1-11 drawn on 31 March,
//!   one CSV per list, codes written the template's way (`a) 1A: Individual`), Windows-1252.
//!
//! Records are shown as they stood on the reporting date: an episode that ends after 31 March
//! has no DEC in that year's return.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use super::defects::{DateStyle, Plan};
use super::people::{add_days, add_months, add_years, age_on, year_end, year_start, CarePeriod, Person, Referral, World};
use super::rng::{self, chance, int, weighted, Rng};
use super::writer::{Encoding, Output};
use super::Result;

pub fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn odmy(d: Option<NaiveDate>) -> String {
    d.map(dmy).unwrap_or_default()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The placement code a return for collection year `y` uses: semi-independent living is H5
/// until 2024 and registered supported accommodation (K3) from 2025.
pub fn place_code(place: &str, y: i32) -> &str {
    match place {
        "SEMI" => {
            if y >= 2025 {
                "K3"
            } else {
                "H5"
            }
        }
        p => p,
    }
}

/// Reason-ceased codes valid in collection year `y` (E43/E44 until 2018, E45-E48 from 2019).
pub fn rec_code(rec: &str, y: i32) -> &str {
    match (rec, y <= 2018) {
        ("E45" | "E46", true) => "E43",
        ("E47" | "E48", true) => "E44",
        (r, _) => r,
    }
}

fn sex_903(p: &Person, y: i32) -> &'static str {
    match (p.sex, y >= 2025) {
        ('M', false) => "1",
        (_, false) => "2",
        ('M', true) => "M",
        (_, true) => "F",
    }
}

/// Care periods by child, in child order.
fn periods_in(w: &World, from: NaiveDate, to: NaiveDate) -> BTreeMap<u32, Vec<&CarePeriod>> {
    let mut m: BTreeMap<u32, Vec<&CarePeriod>> = BTreeMap::new();
    for c in &w.care {
        if c.start <= to && c.end >= from {
            m.entry(c.child).or_default().push(c);
        }
    }
    for v in m.values_mut() {
        v.sort_by_key(|c| c.start);
    }
    m
}

pub fn write(w: &World, out: &mut Output) -> Result<()> {
    for &y in &w.years {
        write_903(w, out, y)?;
        write_cin(w, out, y)?;
        write_annex_a(w, out, y)?;
    }
    Ok(())
}

fn csv_903(out: &Output, y: i32, file: &str, table: &str, cols: &[&str], plan: impl FnOnce(Plan) -> Plan) -> super::writer::CsvFile {
    let p = plan(Plan::new(table, DateStyle::Dmy, cols));
    // the 903 tool's sw_episodes fixture starts with a byte-order mark; so do ours
    let enc = if file == "sw_episodes.csv" { Encoding::Utf8Bom } else { Encoding::Utf8 };
    out.csv(&format!("ssda903_{y}/{file}"), cols, p, enc)
}

fn write_903(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let (ys, ye) = (year_start(y), year_end(y));
    let kids = periods_in(w, ys, ye);
    let seed = w.seed;
    let la = w.council.la_code;

    // header: one row per child looked after during the year (referred to by every other table)
    let cols = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"];
    let mut f = out.csv(&format!("ssda903_{y}/header.csv"), &cols, Plan::none(), Encoding::Utf8);
    for &c in kids.keys() {
        let p = w.person(c);
        let upn = p.upn_on(ye).map(str::to_string).unwrap_or_else(|| p.upn_unknown_on(ye).to_string());
        let mut r = rng::item(seed, la, "903-mother", c as u64);
        let (mother, mc_dob) = if p.sex == 'F' && age_on(p.dob, ye) >= 12 {
            if age_on(p.dob, ye) >= 15 && chance(&mut r, 0.03) {
                ("1".to_string(), dmy(rng::day_between(&mut r, add_years(p.dob, 15), ye)))
            } else {
                ("0".to_string(), String::new())
            }
        } else {
            (String::new(), String::new())
        };
        f.clean_row(vec![p.mosaic_id(), sex_903(p, y).into(), dmy(p.dob), p.ethnicity.into(), upn, mother, mc_dob]);
    }
    out.close(f)?;

    // episodes
    let cols = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"];
    let mut f = csv_903(out, y, "episodes.csv", "ssda903_episodes", &cols, |p| {
        p.dates(&["DECOM", "DEC"])
            .codes(&["RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"])
            .required(&["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE"])
            .key(&["CHILD", "DECOM"])
    });
    for (&c, ps) in &kids {
        let id = w.person(c).mosaic_id();
        for cp in ps {
            for e in cp.episodes.iter().filter(|e| e.start <= ye && e.end >= ys) {
                let ended = e.end <= ye;
                f.row(vec![
                    id.clone(),
                    dmy(e.start),
                    e.rne.into(),
                    e.ls.into(),
                    cp.cin.into(),
                    place_code(e.place, y).into(),
                    e.provider.into(),
                    if ended { dmy(e.end) } else { String::new() },
                    if ended { rec_code(e.rec, y).into() } else { String::new() },
                    if ended { e.reason_change.unwrap_or("").into() } else { String::new() },
                    cp.home_post.clone(),
                    e.pl_post.clone(),
                    e.urn.clone(),
                ]);
            }
        }
    }
    out.close(f)?;

    // reviews
    let cols = ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"];
    let mut f = csv_903(out, y, "reviews.csv", "ssda903_reviews", &cols, |p| {
        p.dates(&["DOB", "REVIEW"]).codes(&["REVIEW_CODE"]).required(&["CHILD", "DOB", "REVIEW"]).key(&["CHILD", "REVIEW"])
    });
    for (&c, ps) in &kids {
        let p = w.person(c);
        for cp in ps {
            for &rv in cp.reviews.iter().filter(|d| **d >= ys && **d <= ye) {
                let mut r = rng::item(seed, la, "903-review", (c as u64) << 20 | (rv.num_days_from_ce() as u64 & 0xfffff));
                let code = if age_on(p.dob, rv) < 4 {
                    "PN0"
                } else {
                    weighted(&mut r, &[("PN1", 0.55), ("PN2", 0.08), ("PN3", 0.07), ("PN4", 0.06), ("PN5", 0.07), ("PN6", 0.09), ("PN7", 0.08)])
                };
                f.row(vec![p.mosaic_id(), dmy(p.dob), dmy(rv), code.into()]);
            }
        }
    }
    out.close(f)?;

    // UASC
    let cols = ["CHILD", "SEX", "DOB", "DUC"];
    let mut f = csv_903(out, y, "uasc.csv", "ssda903_uasc", &cols, |p| p.dates(&["DOB", "DUC"]).codes(&["SEX"]).required(&["CHILD", "SEX", "DOB", "DUC"]).key(&["CHILD"]));
    for &c in kids.keys() {
        let p = w.person(c);
        if p.uasc {
            f.row(vec![p.mosaic_id(), sex_903(p, y).into(), dmy(p.dob), dmy(add_years(p.dob, 18))]);
        }
    }
    out.close(f)?;

    // OC2: looked after continuously for 12 months at 31 March
    let cols = ["CHILD", "DOB", "SDQ_SCORE", "SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE", "INTERVENTION_RECEIVED", "INTERVENTION_OFFERED"];
    let mut f = csv_903(out, y, "oc2.csv", "ssda903_oc2", &cols, |p| {
        p.dates(&["DOB"])
            .codes(&["SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE"])
            .required(&["CHILD", "DOB"])
            .key(&["CHILD"])
    });
    for (&c, ps) in &kids {
        let Some(cp) = ps.iter().find(|cp| cp.open_on(ye) && cp.start <= add_days(ye, -365)) else { continue };
        let p = w.person(c);
        let age = age_on(p.dob, ye);
        let mut r = rng::item(seed, la, "903-oc2", (c as u64) * 10_000 + y as u64);
        let yn = |r: &mut Rng, q: f64| if chance(r, q) { "1".to_string() } else { "0".to_string() };
        let (score, reason) = if (4..=16).contains(&age) {
            if chance(&mut r, 0.88) {
                (((15.4 + 6.0 * rng::normal(&mut r)).round().clamp(0.0, 40.0) as i64).to_string(), String::new())
            } else {
                (String::new(), weighted(&mut r, &[("SDQ2", 0.3), ("SDQ3", 0.2), ("SDQ4", 0.3), ("SDQ5", 0.2)]).to_string())
            }
        } else {
            (String::new(), "SDQ1".to_string())
        };
        let teen = age >= 10;
        let misuse = teen && chance(&mut r, 0.05);
        let dental = cp.dental_checks.iter().any(|d| *d > add_days(ye, -365) && *d <= ye);
        f.row(vec![
            p.mosaic_id(),
            dmy(p.dob),
            score,
            reason,
            if teen { yn(&mut r, 0.03) } else { String::new() },
            if age < 5 { yn(&mut r, 0.9) } else { String::new() },
            yn(&mut r, 0.86),
            if dental { "1".into() } else { "0".into() },
            yn(&mut r, 0.9),
            if teen { (misuse as u8).to_string() } else { String::new() },
            if misuse { yn(&mut r, 0.6) } else { String::new() },
            if misuse { yn(&mut r, 0.8) } else { String::new() },
        ]);
    }
    out.close(f)?;

    // OC3: care leavers around their 17th-21st birthdays
    let cols = ["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"];
    let mut f = csv_903(out, y, "oc3.csv", "ssda903_oc3", &cols, |p| p.dates(&["DOB"]).codes(&["IN_TOUCH", "ACTIV", "ACCOM"]).required(&["CHILD", "DOB"]).key(&["CHILD"]));
    let mut leavers: BTreeMap<u32, NaiveDate> = BTreeMap::new();
    for a in 17..=21 {
        // birthdays in the year: born between ys - a years and ye - a years
        for (c, cp) in w.care_leavers_between(add_years(ys, -a), add_years(ye, -a)) {
            let b = add_years(w.person(c).dob, a);
            if cp.end <= b && b >= ys && b <= ye {
                leavers.entry(c).or_insert(b);
            }
        }
    }
    for (&c, &b) in &leavers {
        let p = w.person(c);
        let st = leaver_status(w, c, b, y);
        f.row(vec![p.mosaic_id(), dmy(p.dob), st.in_touch.into(), st.activity.into(), st.accommodation.into()]);
    }
    out.close(f)?;

    // AD1: adopted during the year
    let cols = ["CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"];
    let mut f = csv_903(out, y, "ad1.csv", "ssda903_ad1", &cols, |p| {
        p.dates(&["DOB", "DATE_INT", "DATE_MATCH"]).codes(&["FOSTER_CARE", "SEX_ADOPTR", "LS_ADOPTR"]).required(&["CHILD", "DOB"]).key(&["CHILD"])
    });
    for (&c, ps) in &kids {
        let Some(cp) = ps.iter().find(|cp| matches!(cp.reason, "E11" | "E12") && cp.end >= ys && cp.end <= ye) else { continue };
        let Some(a) = &cp.adoption else { continue };
        let p = w.person(c);
        f.row(vec![
            p.mosaic_id(),
            dmy(p.dob),
            dmy(a.decision),
            odmy(a.matched),
            if a.foster_carer { "1".into() } else { "0".into() },
            a.adopters.to_string(),
            a.sex_adoptr.into(),
            a.ls_adoptr.into(),
        ]);
    }
    out.close(f)?;

    // placed for adoption: decisions that the child should be placed for adoption
    let cols = ["CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"];
    let mut f = csv_903(out, y, "placed_for_adoption.csv", "ssda903_placed_for_adoption", &cols, |p| {
        p.dates(&["DOB", "DATE_PLACED", "DATE_PLACED_CEASED"]).codes(&["REASON_PLACED_CEASED"]).required(&["CHILD", "DOB", "DATE_PLACED"]).key(&["CHILD", "DATE_PLACED"])
    });
    for (&c, ps) in &kids {
        let p = w.person(c);
        for cp in ps {
            let Some(a) = &cp.adoption else { continue };
            if a.decision > ye {
                continue;
            }
            let (ceased, why) = match a.reversed {
                Some((d, rd)) if d <= ye => (dmy(d), rd.to_string()),
                _ if cp.end <= ye && matches!(cp.reason, "E11" | "E12") => (dmy(cp.end), String::new()),
                _ => (String::new(), String::new()),
            };
            f.row(vec![p.mosaic_id(), dmy(p.dob), dmy(a.decision), ceased, why]);
        }
    }
    out.close(f)?;

    // previous permanence: children who started a period of care in the year
    let cols = ["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"];
    let mut f = csv_903(out, y, "previous_permanence.csv", "ssda903_previous_permanence", &cols, |p| p.dates(&["DOB"]).codes(&["PREV_PERM"]).required(&["CHILD", "DOB"]).key(&["CHILD"]));
    for (&c, ps) in &kids {
        let Some(cp) = ps.iter().find(|cp| cp.start >= ys && cp.start <= ye) else { continue };
        let p = w.person(c);
        let mut r = rng::item(seed, la, "903-prevperm", c as u64);
        let date_perm = match cp.prev_perm {
            "P1" | "P2" | "P3" => {
                let d = rng::day_between(&mut r, add_years(p.dob, 1).min(cp.start), cp.start);
                match int(&mut r, 0, 2) {
                    0 => dmy(d),
                    1 => format!("zz/{:02}/{}", d.month(), d.year()),
                    _ => format!("zz/zz/{}", d.year()),
                }
            }
            _ => String::new(),
        };
        f.row(vec![p.mosaic_id(), dmy(p.dob), cp.prev_perm.into(), String::new(), date_perm]);
    }
    out.close(f)?;

    // missing and away from placement
    let cols = ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"];
    let mut f = csv_903(out, y, "missing.csv", "ssda903_missing", &cols, |p| {
        p.dates(&["DOB", "MIS_START", "MIS_END"]).codes(&["MISSING"]).required(&["CHILD", "DOB", "MISSING", "MIS_START"]).key(&["CHILD", "MIS_START"])
    });
    for (&c, ps) in &kids {
        let p = w.person(c);
        for cp in ps {
            for m in cp.missing.iter().filter(|m| m.start >= ys && m.start <= ye) {
                f.row(vec![p.mosaic_id(), dmy(p.dob), m.kind.into(), dmy(m.start), if m.end <= ye { dmy(m.end) } else { String::new() }]);
            }
        }
    }
    out.close(f)?;

    // social worker episodes (collected from the 2024 return)
    if y >= 2024 {
        let cols = ["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"];
        let mut f = csv_903(out, y, "sw_episodes.csv", "ssda903_sw_episodes", &cols, |p| {
            p.dates(&["DOB", "SW_DECOM", "SW_DEC"]).codes(&["SW_REASON"]).required(&["CHILD", "DOB", "SW_ID", "SW_DECOM"]).key(&["CHILD", "SW_DECOM"])
        });
        for (&c, ps) in &kids {
            let p = w.person(c);
            for cp in ps {
                for (i, (start, worker, _)) in cp.workers.iter().enumerate() {
                    let end = cp.workers.get(i + 1).map(|x| (x.0, x.2)).unwrap_or((cp.end, ""));
                    if *start > ye || end.0 < ys {
                        continue;
                    }
                    let (dec, why) = if end.0 <= ye { (dmy(end.0), end.1.to_string()) } else { (String::new(), String::new()) };
                    f.row(vec![p.mosaic_id(), dmy(p.dob), format!("SW{worker:04}"), dmy(*start), dec, why]);
                }
            }
        }
        out.close(f)?;
    }

    // deprivation of liberty orders
    let cols = ["CHILD", "DOB", "DOLO_START", "DOLO_END"];
    let mut f = csv_903(out, y, "DoLo.csv", "ssda903_dolo", &cols, |p| p.dates(&["DOB", "DOLO_START", "DOLO_END"]).required(&["CHILD", "DOB", "DOLO_START"]).key(&["CHILD", "DOLO_START"]));
    for (&c, ps) in &kids {
        let p = w.person(c);
        for cp in ps {
            if let Some((s, e)) = cp.dolo {
                if s <= ye && e >= ys {
                    f.row(vec![p.mosaic_id(), dmy(p.dob), dmy(s), if e <= ye { dmy(e) } else { String::new() }]);
                }
            }
        }
    }
    out.close(f)
}

/// A care leaver's situation around `on`: in touch, main activity, accommodation (903 OC3 codes
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

impl World {
    /// Care periods after which a young person born between `from` and `to` became a care
    /// leaver (the eligibility of `care_leavers_on`, without the date).
    pub fn care_leavers_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<(u32, &CarePeriod)> {
        let mut best: BTreeMap<u32, &CarePeriod> = BTreeMap::new();
        for cp in &self.care {
            let p = self.person(cp.child);
            if p.dob < from || p.dob > to {
                continue;
            }
            if age_on(p.dob, cp.end) < 16 || matches!(cp.reason, "E11" | "E12" | "E45" | "E46" | "E47" | "E48" | "E41" | "E2" | "E3" | "E15" | "E16") {
                continue;
            }
            if (cp.end - cp.start.max(add_years(p.dob, 14))).num_days() < 91 {
                continue;
            }
            let e = best.entry(cp.child).or_insert(cp);
            if e.end < cp.end {
                *e = cp;
            }
        }
        best.into_iter().collect()
    }
}

// ---------------------------------------------------------------- CIN census

fn write_cin(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let (ys, ye) = (year_start(y), year_end(y));
    let mut by_child: BTreeMap<u32, Vec<&Referral>> = BTreeMap::new();
    for rf in &w.referrals {
        if rf.date <= ye && rf.closure >= ys && age_on(w.person(rf.child).dob, rf.date) < 18 {
            by_child.entry(rf.child).or_default().push(rf);
        }
    }
    let mut x = String::with_capacity(1 << 20);
    let la = w.council.la_code;
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n      <Collection>CIN</Collection>\n      <Year>{y}</Year>\n      <ReferenceDate>{}</ReferenceDate>\n    </CollectionDetails>\n    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>{la}</LEA>\n      <SoftwareCode>Local Authority</SoftwareCode>\n      <Release>ver 3.1.21</Release>\n      <SerialNo>001</SerialNo>\n      <DateTime>{}T09:00:00</DateTime>\n    </Source>\n  </Header>\n  <Children>\n",
        iso(ye),
        iso(add_days(ye, 40))
    );
    let mut rows = 0u64;
    let el = |x: &mut String, ind: usize, name: &str, v: &str| {
        let _ = writeln!(x, "{:ind$}<{name}>{v}</{name}>", "", ind = ind);
    };
    for (&c, refs) in &by_child {
        let p = w.person(c);
        rows += 1;
        x.push_str("    <Child>\n      <ChildIdentifiers>\n");
        el(&mut x, 8, "LAchildID", &p.mosaic_id());
        match p.upn_on(ye) {
            Some(u) => el(&mut x, 8, "UPN", u),
            None => el(&mut x, 8, "UPNunknown", p.upn_unknown_on(ye)),
        }
        el(&mut x, 8, "PersonBirthDate", &iso(p.dob));
        if y >= 2023 {
            el(&mut x, 8, "Sex", &p.sex.to_string());
        } else {
            el(&mut x, 8, "GenderCurrent", if p.sex == 'M' { "1" } else { "2" });
        }
        x.push_str("      </ChildIdentifiers>\n      <ChildCharacteristics>\n");
        el(&mut x, 8, "Ethnicity", p.ethnicity);
        x.push_str("        <Disabilities>\n");
        el(&mut x, 10, "Disability", p.disability.unwrap_or("NONE"));
        x.push_str("        </Disabilities>\n      </ChildCharacteristics>\n");
        for rf in refs {
            x.push_str("      <CINdetails>\n");
            el(&mut x, 8, "CINreferralDate", &iso(rf.date));
            el(&mut x, 8, "ReferralSource", rf.source);
            el(&mut x, 8, "PrimaryNeedCode", rf.need);
            if rf.closure <= ye {
                el(&mut x, 8, "CINclosureDate", &iso(rf.closure));
                el(&mut x, 8, "ReasonForClosure", rf.closure_reason);
            }
            if let Some(ic) = rf.s47.as_ref().and_then(|s| s.icpc).filter(|d| *d <= ye) {
                el(&mut x, 8, "DateOfInitialCPC", &iso(ic));
            }
            el(&mut x, 8, "ReferralNFA", if rf.nfa { "1" } else { "0" });
            if let Some(a) = rf.assessment.as_ref().filter(|a| a.start <= ye) {
                x.push_str("        <Assessments>\n");
                el(&mut x, 10, "AssessmentActualStartDate", &iso(a.start));
                if a.authorised <= ye {
                    el(&mut x, 10, "AssessmentAuthorisationDate", &iso(a.authorised));
                    x.push_str("          <FactorsIdentifiedAtAssessment>\n");
                    for f in &a.factors {
                        el(&mut x, 12, "AssessmentFactors", f);
                    }
                    x.push_str("          </FactorsIdentifiedAtAssessment>\n");
                }
                x.push_str("        </Assessments>\n");
            }
            if let Some((s, e)) = rf.cin_plan.filter(|(s, _)| *s <= ye) {
                x.push_str("        <CINPlanDates>\n");
                el(&mut x, 10, "CINPlanStartDate", &iso(s));
                if e <= ye {
                    el(&mut x, 10, "CINPlanEndDate", &iso(e));
                }
                x.push_str("        </CINPlanDates>\n");
            }
            if let Some(s) = rf.s47.as_ref().filter(|s| s.start <= ye) {
                x.push_str("        <Section47>\n");
                el(&mut x, 10, "S47ActualStartDate", &iso(s.start));
                el(&mut x, 10, "InitialCPCtarget", &iso(s.icpc_target));
                match s.icpc {
                    Some(ic) if ic <= ye => el(&mut x, 10, "DateOfInitialCPC", &iso(ic)),
                    Some(_) => {}
                    None => {
                        // the enquiry concluded without a conference once the target has passed
                        if s.icpc_target <= ye {
                            el(&mut x, 10, "ICPCnotRequired", "1");
                        }
                    }
                }
                x.push_str("        </Section47>\n");
            }
            if let Some(cp) = rf.cpp.as_ref().filter(|c| c.start <= ye) {
                x.push_str("        <ChildProtectionPlans>\n");
                el(&mut x, 10, "CPPstartDate", &iso(cp.start));
                if cp.end <= ye {
                    el(&mut x, 10, "CPPendDate", &iso(cp.end));
                }
                el(&mut x, 10, "InitialCategoryOfAbuse", cp.initial_category);
                el(&mut x, 10, "LatestCategoryOfAbuse", cp.latest_category);
                el(&mut x, 10, "NumberOfPreviousCPP", &cp.previous.to_string());
                let reviews: Vec<&NaiveDate> = cp.reviews.iter().filter(|d| **d <= ye).collect();
                if !reviews.is_empty() {
                    x.push_str("          <Reviews>\n");
                    for d in reviews {
                        el(&mut x, 12, "CPPreviewDate", &iso(*d));
                    }
                    x.push_str("          </Reviews>\n");
                }
                x.push_str("        </ChildProtectionPlans>\n");
            }
            x.push_str("      </CINdetails>\n");
        }
        x.push_str("    </Child>\n");
    }
    x.push_str("  </Children>\n</Message>\n");
    out.document(&format!("cin_census/CIN_Census_{y}.xml"), &x, rows)
}

// ---------------------------------------------------------------- Annex A

const GENDER: [(&str, &str); 2] = [("a) Male", "b) Female"), ("Male", "Female")];

/// Codes written the Annex A template's way, `a) 1A: Individual`, about half the time.
fn lettered(r: &mut Rng, code: &str, label: &str, letter: usize) -> String {
    if chance(r, 0.5) {
        let l = (b'a' + (letter % 26) as u8) as char;
        format!("{l}) {code}: {label}")
    } else {
        code.to_string()
    }
}

fn source_label(code: &str) -> &'static str {
    match code {
        "1A" => "Individual",
        "1B" => "Individual: family member/relative/carer",
        "1C" => "Individual: acquaintance",
        "1D" => "Individual: self",
        "2A" => "Schools",
        "2B" => "Education services",
        "3A" => "Health services: GP",
        "3B" => "Health services: health visitor",
        "3C" => "Health services: school nurse",
        "3D" => "Health services: other primary health services",
        "3E" => "Health services: A&E",
        "3F" => "Health services: other",
        "4" => "Housing",
        "5A" => "LA services: social care",
        "5B" => "LA services: other internal",
        "5C" => "LA services: external",
        "5D" => "LA services: early help",
        "6" => "Police",
        "7" => "Other legal agency",
        "8" => "Other",
        "9" => "Anonymous",
        _ => "Unknown",
    }
}

fn need_label(code: &str) -> &'static str {
    match code {
        "N0" => "Not stated",
        "N1" => "Abuse or neglect",
        "N2" => "Child's disability",
        "N3" => "Parental illness or disability",
        "N4" => "Family in acute stress",
        "N5" => "Family dysfunction",
        "N6" => "Socially unacceptable behaviour",
        "N7" => "Low income",
        "N8" => "Absent parenting",
        _ => "Cases other than children in need",
    }
}

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

fn age_years(p: &Person, on: NaiveDate) -> String {
    age_on(p.dob, on).max(0).to_string()
}

/// Team names as MOSAIC holds them; one with a typographic apostrophe, as Windows-1252 exports carry.
fn team(w: &World, t: u8) -> String {
    match w.teams.get(t as usize) {
        Some(&"Children Who Are Disabled") => "Children’s Disability Team".to_string(),
        Some(t) => t.to_string(),
        None => "Unallocated".to_string(),
    }
}

fn annex_csv(out: &Output, y: i32, list: u32, table: &str, header: &[&str], names: &[&str], plan: impl FnOnce(Plan) -> Plan) -> super::writer::CsvFile {
    let p = plan(Plan::new(table, DateStyle::Dmy, names));
    out.csv(&format!("annex_a/Annex_A_{y}_Mar_List_{list}.csv"), header, p, Encoding::Windows1252)
}

fn demographics(r: &mut Rng, p: &Person, on: NaiveDate) -> Vec<String> {
    let g = GENDER[int(r, 0, 1) as usize];
    vec![p.mosaic_id(), if p.sex == 'M' { g.0 } else { g.1 }.to_string(), p.ethnicity.to_string(), dmy(p.dob), age_years(p, on)]
}

const DEMO: [&str; 5] = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"];

fn with_demo(rest: &[&'static str]) -> Vec<&'static str> {
    DEMO.iter().copied().chain(rest.iter().copied()).collect()
}

fn write_annex_a(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let snap = year_end(y);
    let six = add_days(add_months(snap, -6.0), 1);
    let twelve = add_days(add_years(snap, -1), 1);
    let seed = w.seed;
    let la = w.council.la_code;
    let mut r = rng::stream(seed, la, &format!("annex-a-{y}"));
    let refs_by_child = {
        let mut m: BTreeMap<u32, Vec<&Referral>> = BTreeMap::new();
        for rf in &w.referrals {
            m.entry(rf.child).or_default().push(rf);
        }
        m
    };
    let within = |d: NaiveDate, from: NaiveDate| d >= from && d <= snap;

    // list 1: contacts
    let names = with_demo(&["Date of Contact", "Contact Source"]);
    let header = {
        let mut h = names.clone();
        h[0] = "Child ID";
        h[3] = "DOB";
        h
    };
    let mut f = annex_csv(out, y, 1, "annex_a_list_1_contacts", &header, &names, |p| {
        p.dates(&["Date of Birth", "Date of Contact"]).codes(&["Gender", "Ethnicity", "Contact Source"]).required(&["Child Unique ID", "Date of Contact"]).key(&["Child Unique ID", "Date of Contact", "Contact Source"])
    });
    let mut contacts: Vec<_> = w.contacts.iter().filter(|c| within(c.date, six)).collect();
    contacts.sort_by_key(|c| (c.date, c.child));
    for (i, c) in contacts.iter().enumerate() {
        let p = w.person(c.child);
        let mut row = demographics(&mut r, p, c.date);
        row.push(dmy(c.date));
        row.push(lettered(&mut r, c.source, source_label(c.source), i));
        f.row(row);
    }
    out.close(f)?;

    // list 2: early help assessments
    let names = with_demo(&["Assessment start date", "Assessment completion date", "Organisation completing assessment"]);
    let mut f = annex_csv(out, y, 2, "annex_a_list_2_early_help", &names, &names, |p| {
        p.dates(&["Date of Birth", "Assessment start date", "Assessment completion date"]).codes(&["Gender", "Ethnicity"]).required(&["Child Unique ID", "Assessment start date"]).key(&["Child Unique ID", "Assessment start date"])
    });
    for e in w.early_help.iter().filter(|e| e.start <= snap && (e.start >= six || e.completed.is_none_or(|c| c >= six))) {
        let p = w.person(e.child);
        let mut row = demographics(&mut r, p, snap);
        row.push(dmy(e.start));
        row.push(odmy(e.completed.filter(|c| *c <= snap)));
        row.push(e.organisation.into());
        f.row(row);
    }
    out.close(f)?;

    // list 3: referrals
    let names = with_demo(&["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"]);
    let mut f = annex_csv(out, y, 3, "annex_a_list_3_referrals", &names, &names, |p| {
        p.dates(&["Date of Birth", "Date of Referral"]).codes(&["Gender", "Ethnicity", "Referral Source", "Referral NFA?"]).required(&["Child Unique ID", "Date of Referral"]).key(&["Child Unique ID", "Date of Referral"])
    });
    let mut refs: Vec<&Referral> = w.referrals.iter().filter(|rf| within(rf.date, six)).collect();
    refs.sort_by_key(|rf| (rf.date, rf.child));
    for (i, rf) in refs.iter().enumerate() {
        let p = w.person(rf.child);
        let before = refs_by_child[&rf.child].iter().filter(|o| o.date < rf.date && o.date >= add_years(rf.date, -1)).count();
        let mut row = demographics(&mut r, p, rf.date);
        row.push(dmy(rf.date));
        row.push(lettered(&mut r, rf.source, source_label(rf.source), i));
        row.push(yn(rf.nfa));
        row.push(before.to_string());
        row.push(team(w, rf.team));
        row.push(format!("Worker {:03}", rf.worker));
        f.row(row);
    }
    out.close(f)?;

    // list 4: assessments
    let names = with_demo(&[
        "Does the Child have a Disability",
        "Continuous Assessment Start Date",
        "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?",
        "Allocated Team",
        "Allocated Worker",
    ]);
    let mut f = annex_csv(out, y, 4, "annex_a_list_4_assessments", &names, &names, |p| {
        p.dates(&["Date of Birth", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Child Seen During Continuous Assessment"])
            .required(&["Child Unique ID", "Continuous Assessment Start Date"])
            .key(&["Child Unique ID", "Continuous Assessment Start Date"])
    });
    let mut ass: Vec<(&Referral, &super::people::Assessment)> =
        w.referrals.iter().filter_map(|rf| rf.assessment.as_ref().map(|a| (rf, a))).filter(|(_, a)| a.start <= snap && (a.start >= six || a.authorised >= six)).collect();
    ass.sort_by_key(|(rf, a)| (a.start, rf.child));
    for (rf, a) in ass {
        let p = w.person(rf.child);
        let done = a.authorised <= snap;
        let mut row = demographics(&mut r, p, a.start);
        row.push(yn(p.disability.is_some()));
        row.push(dmy(a.start));
        row.push(yn(a.seen));
        row.push(if done { dmy(a.authorised) } else { String::new() });
        row.push(if done { yn(a.needs_support) } else { String::new() });
        row.push(team(w, rf.team));
        row.push(format!("Worker {:03}", rf.worker));
        f.row(row);
    }
    out.close(f)?;

    // list 5: section 47 enquiries and ICPCs
    let names = with_demo(&[
        "Does the Child have a Disability",
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Number of Section 47 Enquiries in the last 12 months",
        "Number of ICPCs in the last 12 months",
        "Allocated Team",
        "Allocated Worker",
    ]);
    let mut f = annex_csv(out, y, 5, "annex_a_list_5_s47", &names, &names, |p| {
        p.dates(&["Date of Birth", "Strategy discussion initiating Section 47 Enquiry Start Date", "Date of Initial Child Protection Conference"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Was an Initial Child Protection Conference deemed unnecessary?", "Did the Initial Child Protection Conference Result in a Child Protection Plan"])
            .required(&["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date"])
            .key(&["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date"])
    });
    let mut s47s: Vec<&Referral> = w.referrals.iter().filter(|rf| rf.s47.as_ref().is_some_and(|s| s.start <= snap && (s.start >= six || s.icpc.is_some_and(|i| i >= six)))).collect();
    s47s.sort_by_key(|rf| (rf.s47.as_ref().unwrap().start, rf.child));
    for rf in s47s {
        let s = rf.s47.as_ref().unwrap();
        let p = w.person(rf.child);
        let icpc = s.icpc.filter(|d| *d <= snap);
        let concluded = icpc.is_some() || s.icpc_target <= snap;
        let prior: Vec<&&Referral> = refs_by_child[&rf.child].iter().filter(|o| o.s47.as_ref().is_some_and(|x| x.start < s.start && x.start >= add_years(s.start, -1))).collect();
        let prior_icpc = prior.iter().filter(|o| o.s47.as_ref().unwrap().icpc.is_some()).count();
        let mut row = demographics(&mut r, p, s.start);
        row.push(yn(p.disability.is_some()));
        row.push(dmy(s.start));
        row.push(if concluded { yn(s.icpc.is_none()) } else { String::new() });
        row.push(odmy(icpc));
        row.push(if icpc.is_some() { yn(rf.cpp.as_ref().is_some_and(|c| c.start <= snap)) } else { String::new() });
        row.push(prior.len().to_string());
        row.push(prior_icpc.to_string());
        row.push(team(w, rf.team));
        row.push(format!("Worker {:03}", rf.worker));
        f.row(row);
    }
    out.close(f)?;

    // list 6: children in need (one row per child, most recent episode)
    let names = with_demo(&["Does the Child have a Disability", "CIN Start Date", "Primary Need Code", "Date Child Was Last Seen", "CIN Closure Date", "Reason for Closure", "Case Status", "Allocated Team", "Allocated Worker"]);
    let mut f = annex_csv(out, y, 6, "annex_a_list_6_cin", &names, &names, |p| {
        p.dates(&["Date of Birth", "CIN Start Date", "Date Child Was Last Seen", "CIN Closure Date"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Primary Need Code", "Reason for Closure"])
            .required(&["Child Unique ID", "CIN Start Date"])
            .key(&["Child Unique ID"])
    });
    for (&c, rfs) in &refs_by_child {
        let Some(rf) = rfs.iter().rev().find(|rf| !rf.nfa && rf.date <= snap && rf.closure >= six && rf.assessment.is_some()) else { continue };
        let p = w.person(c);
        if age_on(p.dob, rf.date) >= 18 {
            continue;
        }
        let closed = rf.closure <= snap;
        let status = if rf.care.is_some_and(|i| w.care[i as usize].open_on(snap)) {
            "Child in care"
        } else if rf.cpp.as_ref().is_some_and(|x| x.start <= snap && x.end > snap) {
            "Child protection plan"
        } else if closed {
            "Closed"
        } else if rf.cin_plan.is_some_and(|(s, _)| s <= snap) {
            "Child in need plan"
        } else {
            "Open assessment"
        };
        let seen = add_days(rf.closure.min(snap), -int(&mut r, 0, 40)).max(rf.date);
        let mut row = demographics(&mut r, p, snap);
        row.push(yn(p.disability.is_some()));
        row.push(dmy(rf.date));
        row.push(lettered(&mut r, rf.need, need_label(rf.need), 13));
        row.push(dmy(seen));
        row.push(if closed { dmy(rf.closure) } else { String::new() });
        row.push(if closed { rf.closure_reason.to_string() } else { String::new() });
        row.push(status.into());
        row.push(team(w, rf.team));
        row.push(format!("Worker {:03}", rf.worker));
        f.row(row);
    }
    out.close(f)?;

    // list 7: child protection (one row per child, most recent plan)
    let names = with_demo(&[
        "Does the Child have a Disability",
        "Child Protection Plan Start Date",
        "Initial Category of Abuse",
        "Latest Category of Abuse",
        "Date of the Last Statutory Visit",
        "Was the Child Seen Alone?",
        "Date of latest review conference",
        "Child Protection Plan End Date",
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
        "Number of Previous Child Protection Plans",
        "Allocated Team",
        "Allocated Worker",
    ]);
    let mut f = annex_csv(out, y, 7, "annex_a_list_7_cp", &names, &names, |p| {
        p.dates(&["Date of Birth", "Child Protection Plan Start Date", "Date of the Last Statutory Visit", "Date of latest review conference", "Child Protection Plan End Date"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Initial Category of Abuse", "Latest Category of Abuse", "Was the Child Seen Alone?"])
            .required(&["Child Unique ID", "Child Protection Plan Start Date"])
            .key(&["Child Unique ID"])
    });
    for (&c, rfs) in &refs_by_child {
        let Some((rf, cpp)) = rfs.iter().rev().filter_map(|rf| rf.cpp.as_ref().map(|x| (rf, x))).find(|(_, x)| x.start <= snap && x.end >= six) else { continue };
        let p = w.person(c);
        let ended = cpp.end <= snap;
        let visit = add_days(cpp.end.min(snap), -(if chance(&mut r, 0.94) { int(&mut r, 0, 27) } else { int(&mut r, 28, 60) })).max(cpp.start);
        let review = cpp.reviews.iter().filter(|d| **d <= snap).next_back().copied();
        let cat = |r: &mut Rng, code: &str| -> String {
            if chance(r, 0.3) {
                match code {
                    "NEG" => "Neglect",
                    "EMO" => "Emotional abuse",
                    "PHY" => "Physical abuse",
                    "SAB" => "Sexual abuse",
                    _ => "Multiple/not recommended",
                }
                .to_string()
            } else {
                code.to_string()
            }
        };
        let mut row = demographics(&mut r, p, snap);
        row.push(yn(p.disability.is_some()));
        row.push(dmy(cpp.start));
        row.push(cat(&mut r, cpp.initial_category));
        row.push(cat(&mut r, cpp.latest_category));
        row.push(dmy(visit));
        row.push(yn(chance(&mut r, 0.8)));
        row.push(odmy(review));
        row.push(if ended { dmy(cpp.end) } else { String::new() });
        row.push(yn(cpp.emergency));
        row.push(cpp.previous.to_string());
        row.push(team(w, rf.team));
        row.push(format!("Worker {:03}", rf.worker));
        f.row(row);
    }
    out.close(f)?;

    // list 8: children in care (one row per child, most recent period)
    let names = with_demo(&[
        "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)",
        "Does the Child have a Disability",
        "Date Started to be Looked After",
        "Child's Category of Need",
        "Is this a second or subsequent period of being a Looked After Child within the last 12 months (Y/N)",
        "Start date of current legal status",
        "Child's Legal Status",
        "Date of Latest Statutory Review",
        "Date of Last Social Work Visit",
        "What is the permanence plan for this child?",
        "Date of Last IRO Visit / Contact to the Child",
        "Date of Last Health Assessment",
        "Date of Last Dental Check",
        "Number of Placements in the Last 12 months",
        "Date Ceased to be Looked After",
        "Reason Ceased to be Looked After",
        "Start Date of Most Recent Placement",
        "Placement Type",
        "Placement Provider",
        "Placement postcode",
        "URN of Placement",
        "Placement Location",
        "LA of Placement",
        "Number of Episodes the Child has been 'Missing' from their Placement in the last 12 months",
        "Number of Episodes the Child has been 'Absent' from their Placement in the last 12 months",
        "Was the child offered a Return Interview after their last missing episode (Y/N)?",
        "Did the child accept a Return Interview after their last missing episode (Y/N)?",
        "Allocated Team",
        "Allocated Worker",
    ]);
    let mut f = annex_csv(out, y, 8, "annex_a_list_8_cla", &names, &names, |p| {
        p.dates(&["Date of Birth", "Date Started to be Looked After", "Start date of current legal status", "Date of Latest Statutory Review", "Date Ceased to be Looked After", "Start Date of Most Recent Placement"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Child's Category of Need", "Child's Legal Status", "Placement Type", "Placement Provider", "Reason Ceased to be Looked After"])
            .required(&["Child Unique ID", "Date Started to be Looked After"])
            .key(&["Child Unique ID"])
    });
    for (&c, ps) in &periods_in(w, six, snap) {
        let cp = *ps.last().unwrap();
        if cp.start > snap {
            continue;
        }
        let p = w.person(c);
        let on = if cp.end <= snap { add_days(cp.end, -1).max(cp.start) } else { snap };
        let Some(ep) = cp.episode_on(on).or(cp.episodes.last()) else { continue };
        let ls_start = cp.episodes.iter().rev().filter(|e| e.start <= ep.start).take_while(|e| e.ls == ep.ls).last().map_or(ep.start, |e| e.start);
        let place_start = cp.episodes.iter().rev().filter(|e| e.start <= ep.start).take_while(|e| e.carer == ep.carer).last().map_or(ep.start, |e| e.start);
        let placements_12m = {
            let mut carers: Vec<u32> = w.care.iter().filter(|o| o.child == c).flat_map(|o| o.episodes.iter()).filter(|e| e.start <= snap && e.end > twelve).map(|e| e.carer).collect();
            carers.dedup();
            carers.len()
        };
        let second = ps.len() > 1 || w.care.iter().any(|o| o.child == c && o.end < cp.start && o.end >= add_years(cp.start, -1));
        let review = cp.reviews.iter().filter(|d| **d <= snap).next_back().copied();
        let health = cp.health_assessments.iter().filter(|d| **d <= snap).next_back().copied();
        let dental = cp.dental_checks.iter().filter(|d| **d <= snap).next_back().copied();
        let sw_visit = add_days(on, -int(&mut r, 0, 42)).max(cp.start);
        let iro = review.map(|d| add_days(d, -int(&mut r, 0, 14)).max(cp.start));
        let missing: Vec<_> = cp.missing.iter().filter(|m| m.start <= snap && m.start >= twelve).collect();
        let n_missing = missing.iter().filter(|m| m.kind == "M").count();
        let n_absent = missing.iter().filter(|m| m.kind == "A").count();
        let last_missing = missing.iter().filter(|m| m.kind == "M").next_back();
        let plan = match cp.reason {
            "E11" | "E12" => "Adoption",
            "E45" | "E46" | "E47" | "E48" => "Special guardianship order",
            "E41" => "Child arrangements order",
            "E4A" | "E4B" | "E13" => "Return to family",
            _ if age_on(p.dob, snap) >= 16 => "Independent living",
            _ => "Long-term fostering",
        };
        let ended = cp.end <= snap;
        let in_area = super::people::in_area(la, &ep.pl_post);
        let mut row = demographics(&mut r, p, snap);
        row.push(yn(cp.uasc));
        row.push(yn(p.disability.is_some()));
        row.push(dmy(cp.start));
        row.push(cp.cin.into());
        row.push(yn(second));
        row.push(dmy(ls_start));
        row.push(ep.ls.into());
        row.push(odmy(review));
        row.push(dmy(sw_visit));
        row.push(plan.into());
        row.push(odmy(iro));
        row.push(odmy(health));
        row.push(odmy(dental));
        row.push(placements_12m.to_string());
        row.push(if ended { dmy(cp.end) } else { String::new() });
        row.push(if ended { rec_code(cp.reason, y).into() } else { String::new() });
        row.push(dmy(place_start));
        row.push(place_code(ep.place, y).into());
        row.push(ep.provider.into());
        row.push(ep.pl_post.clone());
        row.push(if ep.urn.starts_with("SC") { ep.urn.clone() } else { String::new() });
        row.push(if in_area { "In LA boundary" } else { "Out of LA boundary" }.into());
        row.push(if in_area { la.to_string() } else { String::new() });
        row.push(n_missing.to_string());
        row.push(n_absent.to_string());
        row.push(last_missing.map(|m| yn(m.return_interview_offered)).unwrap_or_default());
        row.push(last_missing.map(|m| yn(m.return_interview_accepted)).unwrap_or_default());
        row.push(if chance(&mut r, 0.5) { "Children in Care".into() } else { team(w, 5) });
        row.push(format!("Worker {:03}", cp.workers.iter().filter(|x| x.0 <= snap).next_back().map_or(0, |x| x.1)));
        f.row(row);
    }
    out.close(f)?;

    // list 9: care leavers
    let names = with_demo(&[
        "UASC or formerly UASC if 18 or over (Y/N)",
        "Does the Child have a Disability",
        "Allocated Team",
        "Allocated Worker",
        "Allocated Personal Advisor",
        "Eligibility Category",
        "Latest Pathway Plan Review Date",
        "LA in Touch",
        "Latest Date of Contact",
        "Type of Accommodation",
        "Suitability of Accommodation",
        "Activity Status",
    ]);
    let mut f = annex_csv(out, y, 9, "annex_a_list_9_care_leavers", &names, &names, |p| {
        p.dates(&["Date of Birth", "Latest Pathway Plan Review Date", "Latest Date of Contact"])
            .codes(&["Gender", "Ethnicity", "UASC or formerly UASC if 18 or over (Y/N)", "Does the Child have a Disability", "Eligibility Category", "LA in Touch", "Suitability of Accommodation", "Activity Status"])
            .required(&["Child Unique ID"])
            .key(&["Child Unique ID"])
    });
    for (c, cp) in w.care_leavers_on(snap) {
        let p = w.person(c);
        let st = leaver_status(w, c, snap, y);
        let age = age_on(p.dob, snap);
        let contact = if st.in_touch == "YES" { Some(add_days(snap, -int(&mut r, 0, 56)).max(cp.end)) } else { None };
        let mut row = demographics(&mut r, p, snap);
        row.push(yn(cp.uasc));
        row.push(yn(p.disability.is_some()));
        row.push("Care Leavers".into());
        row.push(format!("Worker {:03}", int(&mut r, 1, w.social_workers as i64)));
        row.push(format!("PA {:02}", int(&mut r, 1, 25)));
        row.push(if age < 18 { "Relevant" } else { "Former relevant" }.into());
        row.push(dmy(add_days(snap, -int(&mut r, 0, 180)).max(cp.end)));
        row.push(if st.in_touch == "YES" && chance(&mut r, 0.5) { "Yes".into() } else { st.in_touch.to_string() });
        row.push(odmy(contact));
        row.push(st.accommodation_label.into());
        row.push(if st.in_touch != "YES" { String::new() } else if st.suitable { "Suitable".into() } else { "Not suitable".into() });
        row.push(st.activity.into());
        f.row(row);
    }
    out.close(f)?;

    // list 10: adoption (decisions, placements, orders and reversals in the last 12 months)
    let names = [
        "Child Unique ID",
        "Family identifier",
        "Gender",
        "Ethnicity",
        "Date of Birth",
        "Age of Child (Years)",
        "Does the Child have a Disability",
        "Date the Child Entered Care",
        "Date of Decision that Child Should be Placed for Adoption",
        "Date of Placement Order",
        "Date of Matching Child and Prospective Adopters",
        "Date Placed for Adoption",
        "Date of Adoption Order",
        "Date of Decision that Child Should No Longer be Placed for Adoption",
        "Reason Why Child No Longer Placed for Adoption",
        "Date the child was placed for fostering in FFA or concurrent planning placement",
    ];
    let mut f = annex_csv(out, y, 10, "annex_a_list_10_adoption", &names, &names, |p| {
        p.dates(&["Date of Birth", "Date the Child Entered Care", "Date of Decision that Child Should be Placed for Adoption", "Date of Adoption Order"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Reason Why Child No Longer Placed for Adoption"])
            .required(&["Child Unique ID"])
            .key(&["Child Unique ID"])
    });
    let mut adopted: BTreeMap<u32, &CarePeriod> = BTreeMap::new();
    for cp in &w.care {
        let Some(a) = &cp.adoption else { continue };
        let events = [Some(a.decision), a.placed, a.reversed.map(|x| x.0), matches!(cp.reason, "E11" | "E12").then_some(cp.end)];
        if a.decision <= snap && events.iter().flatten().any(|d| *d >= twelve && *d <= snap) {
            adopted.insert(cp.child, cp);
        }
    }
    for (&c, cp) in &adopted {
        let a = cp.adoption.as_ref().unwrap();
        let p = w.person(c);
        let show = |d: Option<NaiveDate>| odmy(d.filter(|x| *x <= snap));
        let order = matches!(cp.reason, "E11" | "E12").then_some(cp.end);
        let rev = a.reversed.filter(|x| x.0 <= snap);
        let g = GENDER[int(&mut r, 0, 1) as usize];
        f.row(vec![
            p.mosaic_id(),
            if a.family > 0 { format!("F{:05}", a.family) } else { String::new() },
            if p.sex == 'M' { g.0 } else { g.1 }.to_string(),
            p.ethnicity.into(),
            dmy(p.dob),
            age_years(p, snap),
            yn(p.disability.is_some()),
            dmy(cp.start),
            dmy(a.decision),
            show(a.placement_order),
            show(a.matched),
            show(a.placed),
            show(order),
            rev.map(|x| dmy(x.0)).unwrap_or_default(),
            rev.map(|x| x.1.to_string()).unwrap_or_default(),
            String::new(),
        ]);
    }
    out.close(f)?;

    // list 11: adopters in contact with the agency in the last 12 months
    let names = [
        "Individual adopter identifier",
        "Family identifier",
        "Gender",
        "Ethnicity",
        "Disability",
        "Is the (prospective) adopter fostering for adoption?",
        "Date enquiry received",
        "Date Stage 1 started",
        "Date Stage 1 ended",
        "Date Stage 2 started",
        "Date Stage 2 ended",
        "Date application submitted",
        "Date application approved",
        "Date adopter matched with child(ren)",
        "Date child/children placed with adopter(s)",
        "No. of children placed",
        "Date of Adoption Order",
        "Date of leaving adoption process",
        "Reason for leaving adoption process",
    ];
    let mut f = annex_csv(out, y, 11, "annex_a_list_11_adopters", &names, &names, |p| {
        p.dates(&["Date enquiry received", "Date Stage 1 started", "Date application approved"])
            .codes(&["Gender", "Ethnicity", "Disability", "Is the (prospective) adopter fostering for adoption?"])
            .required(&["Individual adopter identifier"])
            .key(&["Individual adopter identifier", "Date enquiry received"])
    });
    for cp in &w.care {
        let Some(a) = &cp.adoption else { continue };
        let (Some(matched), Some(placed)) = (a.matched, a.placed) else { continue };
        let order = cp.end;
        let mut ar = rng::item(seed, la, "adopters", a.family as u64);
        let enquiry = add_days(matched, -int(&mut ar, 300, 560));
        let s1 = add_days(enquiry, int(&mut ar, 14, 40));
        let s1e = add_days(s1, int(&mut ar, 50, 70));
        let s2 = add_days(s1e, int(&mut ar, 1, 20));
        let s2e = add_days(s2, int(&mut ar, 100, 130));
        let submitted = add_days(s2, int(&mut ar, 60, 100)).min(s2e);
        let approved = add_days(s2e, int(&mut ar, 20, 40)).min(add_days(matched, -1));
        let last = order.min(snap);
        if enquiry > snap || last < twelve {
            continue;
        }
        let show = |d: NaiveDate| if d <= snap { dmy(d) } else { String::new() };
        let sexes: Vec<char> = match a.sex_adoptr {
            "M1" => vec!['M'],
            "F1" => vec!['F'],
            "MM" => vec!['M', 'M'],
            "FF" => vec!['F', 'F'],
            _ => vec!['M', 'F'],
        };
        for (i, s) in sexes.iter().enumerate() {
            let eth = weighted(&mut ar, &[("WBRI", 0.9), ("WOTH", 0.05), ("MOTH", 0.03), ("AIND", 0.02)]);
            f.row(vec![
                format!("A{:05}{}", a.family, i + 1),
                format!("F{:05}", a.family),
                if *s == 'M' { "Male" } else { "Female" }.to_string(),
                eth.into(),
                yn(chance(&mut ar, 0.04)),
                yn(a.foster_carer),
                dmy(enquiry),
                show(s1),
                show(s1e),
                show(s2),
                show(s2e),
                show(submitted),
                show(approved),
                show(matched),
                show(placed),
                if placed <= snap { "1".into() } else { String::new() },
                if matches!(cp.reason, "E11" | "E12") && order <= snap { dmy(order) } else { String::new() },
                String::new(),
                String::new(),
            ]);
        }
    }
    out.close(f)
}
