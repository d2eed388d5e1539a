//! MOSAIC's statutory exports, per council and collection year:
//!
//! * the SSDA903 return, as the CSV set `ssda903_<year>/*.csv` (header, episodes, reviews, uasc,
//!   oc2, oc3, ad1, placed_for_adoption, previous_permanence, missing, sw_episodes from 2024,
//!   DoLo; the headers of csc-validator-be-903, dates `dd/mm/yyyy`, as the fixtures) or as the
//!   XML `ssda903_<year>/SSDA903_<year>.xml` (`EXPSSDA903`, the DfE's CLA.xsd nesting: a `CHILD`
//!   with its `Header` — Uasc, adoption, Oc3, `AMISSING`, `AREVIEW`, `Permanence`, `Oc2`,
//!   `AD_PLACED` — and its `EPISODE`s), with the social worker episodes and DoLo, which that
//!   schema has no place for, as CSVs beside it. Both shapes are built from the same rows;
//! * `cin_census/CIN_Census_<year>.xml` — the CIN census in the shape of `BAR_cin_2022.xml`
//!   (`GenderCurrent` before the 2023 collection, `Sex` from it);
//! * the Ofsted Annex A lists ([`super::annex_a`]).
//!
//! Records are shown as they stood on the reporting date: an episode that ends after 31 March
//! has no DEC in that year's return. A few episodes end after the next one has started (the
//! overlaps real returns carry): Lantern lands them, and the manifest lists them with no rule,
//! to be repaired when the episodes are staged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use super::defects::{DateStyle, Plan};
use super::people::{add_days, add_years, age_on, leaver_status, year_end, year_start, CarePeriod, Episode, Person, Referral, World};
use super::rng::{self, chance, int, weighted, Rng};
use super::writer::{Encoding, Output, XmlDoc};
use super::{GenerateOptions, Result, Ssda903Shape};

/// The manifest's kind for an episode that overlaps the next, and what becomes of it.
pub const OVERLAP: &str = "overlapping_episode";
pub const REPAIRED: &str = "repaired in staging";

pub fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub fn odmy(d: Option<NaiveDate>) -> String {
    d.map(dmy).unwrap_or_default()
}

pub fn iso(d: NaiveDate) -> String {
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
pub fn periods_in(w: &World, from: NaiveDate, to: NaiveDate) -> BTreeMap<u32, Vec<&CarePeriod>> {
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

pub fn write(w: &World, out: &mut Output, opts: &GenerateOptions) -> Result<()> {
    let index = super::annex_a::Index::new(w);
    for &y in &w.years {
        if opts.social_care.returns() {
            let ret = Return903::build(w, y, out.rate());
            match opts.ssda903 {
                Ssda903Shape::Csv => ret.write_csv(out, &[])?,
                Ssda903Shape::Xml => ret.write_xml(out)?,
            }
            write_cin(w, out, y)?;
        }
        if opts.social_care.annex_a() {
            super::annex_a::write_year(w, out, y, &index)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- SSDA903

/// One table of the SSDA903 CSV set: its file, schema table, columns and the defects its rows
/// may carry.
struct Table903 {
    file: &'static str,
    table: &'static str,
    cols: &'static [&'static str],
    plan: fn(Plan) -> Plan,
}

/// The tables of the return, in the order of TABLES_903.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Header,
    Episodes,
    Reviews,
    Uasc,
    Oc2,
    Oc3,
    Ad1,
    Placed,
    Permanence,
    Missing,
    Sw,
    Dolo,
}
use T::*;

const ALL_903: [T; 12] = [Header, Episodes, Reviews, Uasc, Oc2, Oc3, Ad1, Placed, Permanence, Missing, Sw, Dolo];

const TABLES_903: [Table903; 12] = [
    // referred to by every other table: no defects
    Table903 { file: "header.csv", table: "ssda903_header", cols: &["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"], plan: |_| Plan::none() },
    Table903 {
        file: "episodes.csv",
        table: "ssda903_episodes",
        cols: &["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"],
        plan: |p| p.dates(&["DECOM", "DEC"]).codes(&["RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"]).required(&["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE"]).key(&["CHILD", "DECOM"]),
    },
    Table903 {
        file: "reviews.csv",
        table: "ssda903_reviews",
        cols: &["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
        plan: |p| p.dates(&["DOB", "REVIEW"]).codes(&["REVIEW_CODE"]).required(&["CHILD", "DOB", "REVIEW"]).key(&["CHILD", "REVIEW"]),
    },
    Table903 { file: "uasc.csv", table: "ssda903_uasc", cols: &["CHILD", "SEX", "DOB", "DUC"], plan: |p| p.dates(&["DOB", "DUC"]).codes(&["SEX"]).required(&["CHILD", "SEX", "DOB", "DUC"]).key(&["CHILD"]) },
    Table903 {
        file: "oc2.csv",
        table: "ssda903_oc2",
        cols: &["CHILD", "DOB", "SDQ_SCORE", "SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE", "INTERVENTION_RECEIVED", "INTERVENTION_OFFERED"],
        plan: |p| p.dates(&["DOB"]).codes(&["SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE"]).required(&["CHILD", "DOB"]).key(&["CHILD"]),
    },
    Table903 { file: "oc3.csv", table: "ssda903_oc3", cols: &["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"], plan: |p| p.dates(&["DOB"]).codes(&["IN_TOUCH", "ACTIV", "ACCOM"]).required(&["CHILD", "DOB"]).key(&["CHILD"]) },
    Table903 {
        file: "ad1.csv",
        table: "ssda903_ad1",
        cols: &["CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"],
        plan: |p| p.dates(&["DOB", "DATE_INT", "DATE_MATCH"]).codes(&["FOSTER_CARE", "SEX_ADOPTR", "LS_ADOPTR"]).required(&["CHILD", "DOB"]).key(&["CHILD"]),
    },
    Table903 {
        file: "placed_for_adoption.csv",
        table: "ssda903_placed_for_adoption",
        cols: &["CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"],
        plan: |p| p.dates(&["DOB", "DATE_PLACED", "DATE_PLACED_CEASED"]).codes(&["REASON_PLACED_CEASED"]).required(&["CHILD", "DOB", "DATE_PLACED"]).key(&["CHILD", "DATE_PLACED"]),
    },
    Table903 {
        file: "previous_permanence.csv",
        table: "ssda903_previous_permanence",
        cols: &["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"],
        plan: |p| p.dates(&["DOB"]).codes(&["PREV_PERM"]).required(&["CHILD", "DOB"]).key(&["CHILD"]),
    },
    Table903 {
        file: "missing.csv",
        table: "ssda903_missing",
        cols: &["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
        plan: |p| p.dates(&["DOB", "MIS_START", "MIS_END"]).codes(&["MISSING"]).required(&["CHILD", "DOB", "MISSING", "MIS_START"]).key(&["CHILD", "MIS_START"]),
    },
    Table903 {
        file: "sw_episodes.csv",
        table: "ssda903_sw_episodes",
        cols: &["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
        plan: |p| p.dates(&["DOB", "SW_DECOM", "SW_DEC"]).codes(&["SW_REASON"]).required(&["CHILD", "DOB", "SW_ID", "SW_DECOM"]).key(&["CHILD", "SW_DECOM"]),
    },
    Table903 {
        file: "DoLo.csv",
        table: "ssda903_dolo",
        cols: &["CHILD", "DOB", "DOLO_START", "DOLO_END"],
        plan: |p| p.dates(&["DOB", "DOLO_START", "DOLO_END"]).required(&["CHILD", "DOB", "DOLO_START"]).key(&["CHILD", "DOLO_START"]),
    },
];

/// The XML elements of the records Lantern reads from an `EXPSSDA903` document besides the
/// header, with the schema column each holds (the child and DOB come from the `Header`), and
/// the defects they may carry.
struct Record903 {
    tag: &'static str,
    /// (element, schema column), in the order of the DfE's CLA.xsd
    fields: &'static [(&'static str, &'static str)],
    plan: fn(Plan) -> Plan,
}

const EPISODE_XML: Record903 = Record903 {
    tag: "EPISODE",
    fields: &[
        ("DECOM", "DECOM"),
        ("RNE", "RNE"),
        ("LS", "LS"),
        ("CIN", "CIN"),
        ("PL", "PLACE"),
        ("PL_POST", "PL_POST"),
        ("HOME_POST", "HOME_POST"),
        ("URN", "URN"),
        ("PLACE_PROVIDER", "PLACE_PROVIDER"),
        ("DEC", "DEC"),
        ("REC", "REC"),
        ("REASON_PLACE_CHANGE", "REASON_PLACE_CHANGE"),
    ],
    plan: |p| p.dates(&["DECOM", "DEC"]).codes(&["RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"]).required(&["DECOM", "RNE", "LS", "CIN", "PLACE"]).key_as(&["DECOM"], "CHILD, DECOM"),
};

const REVIEW_XML: Record903 = Record903 {
    tag: "AREVIEW",
    fields: &[("REVIEW", "REVIEW"), ("REVIEW_CODE", "REVIEW_CODE")],
    plan: |p| p.dates(&["REVIEW"]).codes(&["REVIEW_CODE"]).required(&["REVIEW"]).key_as(&["REVIEW"], "CHILD, REVIEW"),
};

const MISSING_XML: Record903 = Record903 {
    tag: "AMISSING",
    fields: &[("MISSING", "MISSING"), ("MIS_START", "MIS_START"), ("MIS_END", "MIS_END")],
    plan: |p| p.dates(&["MIS_START", "MIS_END"]).codes(&["MISSING"]).required(&["MISSING", "MIS_START"]).key_as(&["MIS_START"], "CHILD, MIS_START"),
};

impl Record903 {
    fn plan(&self, table: T) -> Plan {
        let names: Vec<&str> = self.fields.iter().map(|f| f.1).collect();
        (self.plan)(Plan::new(TABLES_903[table as usize].table, DateStyle::Dmy, &names))
    }

    fn tags(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.0).collect()
    }

    /// The record's values from a row of the CSV table.
    fn values(&self, table: T, row: &[String]) -> Vec<String> {
        self.fields.iter().map(|f| field(table, row, f.1).to_string()).collect()
    }
}

/// The value of column `col` in a row of CSV table `table`.
fn field<'a>(table: T, row: &'a [String], col: &str) -> &'a str {
    let t = &TABLES_903[table as usize];
    let i = t.cols.iter().position(|c| *c == col).unwrap_or_else(|| panic!("{} has no column {col}", t.table));
    &row[i]
}

/// One year's SSDA903 return: each table's rows by child, in child order, whatever the shape
/// it is written in.
struct Return903 {
    y: i32,
    tables: Vec<BTreeMap<u32, Vec<Vec<String>>>>,
    /// Episodes (child, index among the child's episodes) that end after the next one starts.
    overlaps: BTreeSet<(u32, usize)>,
}

impl Return903 {
    fn build(w: &World, y: i32, rate: f64) -> Self {
        let (ys, ye) = (year_start(y), year_end(y));
        let kids = periods_in(w, ys, ye);
        let seed = w.seed;
        let la = w.council.la_code;
        let mut t: Vec<BTreeMap<u32, Vec<Vec<String>>>> = vec![BTreeMap::new(); TABLES_903.len()];
        let mut overlaps = BTreeSet::new();
        // episodes that could overlap the next and were not drawn to: (child, row, late end)
        let mut could_overlap: Vec<(u32, usize, NaiveDate)> = vec![];
        let mut add = |table: T, c: u32, row: Vec<String>| t[table as usize].entry(c).or_default().push(row);

        for (&c, ps) in &kids {
            let p = w.person(c);
            let (id, dob) = (p.mosaic_id(), dmy(p.dob));

            // header: one row per child looked after during the year; MOTHER is asked of a girl
            // looked after other than in short breaks (V3/V4) alone (the DfE's 393, 399)
            let not_only_breaks = ps.iter().flat_map(|cp| &cp.episodes).any(|e| e.start <= ye && e.end >= ys && !matches!(e.ls, "V3" | "V4"));
            add(Header, c, header_row(w, p, y, not_only_breaks));

            // episodes, as they stood on 31 March
            let mut k = 0;
            for cp in ps {
                for (i, e) in cp.episodes.iter().enumerate().filter(|(_, e)| e.start <= ye && e.end >= ys) {
                    let ended = e.end <= ye;
                    let mut dec = if ended { dmy(e.end) } else { String::new() };
                    // now and then the episode is closed after the next one has started
                    if let Some(next) = cp.episodes.get(i + 1).filter(|_| ended && rate > 0.0) {
                        let mut r = rng::item(seed, la, "903-overlap", (c as u64) << 24 | (e.start.num_days_from_ce() as u64 & 0xff_ffff));
                        let hit = chance(&mut r, rate);
                        let late = add_days(next.start, int(&mut r, 1, 21)).min(add_days(next.end, -1)).min(ye);
                        if late > next.start {
                            if hit {
                                dec = dmy(late);
                                overlaps.insert((c, k));
                            } else {
                                could_overlap.push((c, k, late));
                            }
                        }
                    }
                    add(
                        Episodes,
                        c,
                        vec![
                            id.clone(),
                            dmy(e.start),
                            e.rne.into(),
                            e.ls.into(),
                            cp.cin.into(),
                            place_code(e.place, y).into(),
                            // an "other placement" (Z1) has no provider code (the DfE's 178)
                            if e.place == "Z1" { String::new() } else { e.provider.into() },
                            dec,
                            if ended { rec_code(e.rec, y).into() } else { String::new() },
                            if ended { e.reason_change.unwrap_or("").into() } else { String::new() },
                            cp.home_post.clone(),
                            e.pl_post.clone(),
                            // semi-independent living (H5) was registered with Ofsted from 28
                            // October 2023: no URN in a return before then or for a placement that
                            // ended before (the DfE's 222), its URN for one open then (230), on
                            // each of the placement's episodes, those before a change of legal
                            // status alone (RNE L) too (the DfE's 434: the placement is unchanged)
                            if place_code(e.place, y) == "H5" && placement_end(&cp.episodes, i).min(ye) < NaiveDate::from_ymd_opt(2023, 10, 28).expect("a date") { "XXXXXXX".into() } else { e.urn.clone() },
                        ],
                    );
                    k += 1;
                }
            }

            // reviews
            for cp in ps {
                for &rv in cp.reviews.iter().filter(|d| **d >= ys && **d <= ye) {
                    let mut r = rng::item(seed, la, "903-review", (c as u64) << 20 | (rv.num_days_from_ce() as u64 & 0xfffff));
                    let code = if age_on(p.dob, rv) < 4 {
                        "PN0"
                    } else {
                        weighted(&mut r, &[("PN1", 0.55), ("PN2", 0.08), ("PN3", 0.07), ("PN4", 0.06), ("PN5", 0.07), ("PN6", 0.09), ("PN7", 0.08)])
                    };
                    add(Reviews, c, vec![id.clone(), dob.clone(), dmy(rv), code.into()]);
                }
            }

            // Uasc
            if p.uasc {
                add(Uasc, c, vec![id.clone(), sex_903(p, y).into(), dob.clone(), dmy(add_years(p.dob, 18))]);
            }

            // Oc2: looked after continuously for 12 months at 31 March: in care since the
            // collection year's first day, 1 April, or before (the DfE's continuously looked after:
            // no period of care starting after it; its 191)
            if let Some(cp) = ps.iter().find(|cp| cp.open_on(ye) && cp.start <= ys) {
                add(Oc2, c, oc2_row(w, p, cp, y));
            }

            // Ad1: adopted during the year
            if let Some(a) = ps.iter().find(|cp| matches!(cp.reason, "E11" | "E12") && cp.end >= ys && cp.end <= ye).and_then(|cp| cp.adoption.as_ref()) {
                let bit = |b: bool| if b { "1" } else { "0" }.to_string();
                add(Ad1, c, vec![id.clone(), dob.clone(), dmy(a.decision), odmy(a.matched), bit(a.foster_carer), a.adopters.to_string(), a.sex_adoptr.into(), a.ls_adoptr.into()]);
            }

            // placed for adoption: decisions that the child should be placed for adoption
            for cp in ps {
                // (a decision reversed before the year is last year's news: the DfE's 118)
                let Some(a) = cp.adoption.as_ref().filter(|a| a.decision <= ye && a.reversed.is_none_or(|(d, _)| d >= ys)) else { continue };
                // DATE_PLACED_CEASED is the decision that the child should no longer be placed, with
                // its reason: never an adoption (the DfE's 119, 525)
                let (ceased, why) = match a.reversed {
                    Some((d, rd)) if d <= ye => (dmy(d), rd.to_string()),
                    _ => (String::new(), String::new()),
                };
                add(Placed, c, vec![id.clone(), dob.clone(), dmy(a.decision), ceased, why]);
            }

            // previous permanence: children who started a period of care in the year
            if let Some(cp) = ps.iter().find(|cp| cp.start >= ys && cp.start <= ye) {
                let mut r = rng::item(seed, la, "903-prevperm", c as u64);
                let date_perm = match cp.prev_perm {
                    // any option but none (Z1) has its date, even if the option is not known (P4; the DfE's 630)
                    "P1" | "P2" | "P3" | "P4" => {
                        // the order was made before care began (the DfE's 632)
                        let d = rng::day_between(&mut r, add_years(p.dob, 1).min(add_days(cp.start, -1)), add_days(cp.start, -1));
                        // a part-known date only when all of its month (year) is before care began,
                        // as the DfE's 632 reads it at its latest
                        let month_before = d.month() != cp.start.month() || d.year() != cp.start.year();
                        match int(&mut r, 0, 2) {
                            1 if month_before => format!("zz/{:02}/{}", d.month(), d.year()),
                            2 if d.year() < cp.start.year() => format!("zz/zz/{}", d.year()),
                            _ => dmy(d),
                        }
                    }
                    _ => String::new(),
                };
                // the LA that made the order: this council (the DfE's 630 asks for it with any
                // previous permanence option)
                let la_perm = if cp.prev_perm == "Z1" { String::new() } else { la.to_string() };
                add(Permanence, c, vec![id.clone(), dob.clone(), cp.prev_perm.into(), la_perm, date_perm]);
            }

            // missing and away from placement
            for cp in ps {
                for m in cp.missing.iter().filter(|m| m.start >= ys && m.start <= ye) {
                    add(Missing, c, vec![id.clone(), dob.clone(), m.kind.into(), dmy(m.start), if m.end <= ye { dmy(m.end) } else { String::new() }]);
                }
            }

            // social worker episodes (collected from the 2024 return)
            for cp in ps.iter().filter(|_| y >= 2024) {
                for (i, (start, worker, why)) in cp.workers.iter().enumerate() {
                    let end = cp.workers.get(i + 1).map(|x| x.0).unwrap_or(cp.end);
                    if *start > ye || end < ys {
                        continue;
                    }
                    // SW_REASON is why this episode began (the DfE's SW13STG1, SW01bSTG1, SW03STG1)
                    let dec = if end <= ye { dmy(end) } else { String::new() };
                    add(Sw, c, vec![id.clone(), dob.clone(), format!("SW{worker:04}"), dmy(*start), dec, why.to_string()]);
                }
            }

            // deprivation of liberty orders
            for (s, e) in ps.iter().filter_map(|cp| cp.dolo).filter(|(s, e)| *s <= ye && *e >= ys) {
                add(Dolo, c, vec![id.clone(), dob.clone(), dmy(s), if e <= ye { dmy(e) } else { String::new() }]);
            }
        }

        // Oc3: care leavers around their 17th-21st birthdays (looked after this year or not)
        let mut leavers: BTreeMap<u32, NaiveDate> = BTreeMap::new();
        for a in 17..=21 {
            // birthdays in the year: born between ys - a years and ye - a years
            for (c, cp) in w.care_leavers_between(add_years(ys, -a), add_years(ye, -a)) {
                let b = add_years(w.person(c).dob, a);
                if cp.end < b && b >= ys && b <= ye {
                    leavers.entry(c).or_insert(b);
                }
            }
        }
        for (&c, &b) in &leavers {
            let p = w.person(c);
            // the header lists every child of the return, care leavers too (the DfE's INT06)
            // (with no motherhood details: the DfE's 628)
            if !kids.contains_key(&c) {
                add(Header, c, header_row(w, p, y, false));
            }
            let st = leaver_status(w, c, b, y);
            add(Oc3, c, vec![p.mosaic_id(), dmy(p.dob), st.in_touch.into(), st.activity.into(), st.accommodation.into()]);
        }
        // with defects, every return carries at least one overlap, as it does a defect of every
        // other kind: a small council's few episodes may draw none (one an episode's draw, the
        // same in both shapes; an episode ends in one return only)
        if overlaps.is_empty() && !could_overlap.is_empty() {
            let mut r = rng::item(seed, la, "903-overlap-return", y as u64);
            let (c, k, late) = could_overlap[int(&mut r, 0, could_overlap.len() as i64 - 1) as usize];
            if let Some(row) = t[Episodes as usize].get_mut(&c).and_then(|rows| rows.get_mut(k)) {
                row[7] = dmy(late);
                overlaps.insert((c, k));
            }
        }
        Return903 { y, tables: t, overlaps }
    }

    /// The CSV set (every table but those in `skip`).
    fn write_csv(&self, out: &mut Output, skip: &[T]) -> Result<()> {
        let y = self.y;
        for (&table, t) in ALL_903.iter().zip(&TABLES_903) {
            if skip.contains(&table) || (table == Sw && y < 2024) {
                continue;
            }
            let plan = (t.plan)(Plan::new(t.table, DateStyle::Dmy, t.cols));
            // the 903 tool's sw_episodes fixture starts with a byte-order mark; so do ours
            let enc = if table == Sw { Encoding::Utf8Bom } else { Encoding::Utf8 };
            let mut f = out.csv(&format!("ssda903_{y}/{}", t.file), t.cols, plan, enc);
            for (&c, rows) in &self.tables[table as usize] {
                for (k, row) in rows.iter().enumerate() {
                    if table == Episodes && self.overlaps.contains(&(c, k)) {
                        f.noted_row(row.clone(), "DEC", OVERLAP, REPAIRED);
                    } else {
                        f.row(row.clone());
                    }
                }
            }
            out.close(f)?;
        }
        Ok(())
    }

    /// The `EXPSSDA903` document for the children of the header, and, as CSVs, the tables the
    /// XML schema has no place for (social worker episodes, DoLo).
    fn write_xml(&self, out: &mut Output) -> Result<()> {
        let y = self.y;
        let mut x = out.xml(&format!("ssda903_{y}/SSDA903_{y}.xml"));
        x.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EXPSSDA903>\n");
        let none = Plan::none();
        let (episode, review, missing) = (EPISODE_XML.plan(Episodes), REVIEW_XML.plan(Reviews), MISSING_XML.plan(Missing));
        let rows = |table: T, c: u32| self.tables[table as usize].get(&c).map(Vec::as_slice).unwrap_or(&[]);
        let first = |table: T, c: u32| rows(table, c).first();
        for (&c, header) in &self.tables[Header as usize] {
            let h = |col: &str| field(Header, &header[0], col).to_string();
            // the parts of the header the CSV set keeps in tables of their own: (element, items)
            let part = |x: &mut XmlDoc, tag: &str, items: &[&str], row: &[String]| x.element(6, tag, |x| x.leaves(8, items, &row[2..], false));
            x.element(2, "CHILD", |x| {
                x.node(4, "HEADER", None, |x| {
                    x.leaves(6, &["CHILDID", "UPN", "SEX", "DOB", "ETHNIC"], &[h("CHILD"), h("UPN"), h("SEX"), h("DOB"), h("ETHNIC")], true);
                    let duc = first(Uasc, c).map(|r| field(Uasc, r, "DUC").to_string());
                    x.leaf(6, "UASC", if duc.is_some() { "1" } else { "0" });
                    if let Some(d) = duc {
                        x.leaf(6, "DUC", &d);
                    }
                    if let Some(r) = first(Ad1, c) {
                        x.leaves(6, &TABLES_903[Ad1 as usize].cols[2..], &r[2..], false);
                    }
                    if let Some(r) = first(Oc3, c) {
                        x.leaves(6, &TABLES_903[Oc3 as usize].cols[2..], &r[2..], false);
                    }
                    for r in rows(Missing, c) {
                        x.record(6, MISSING_XML.tag, &missing, &MISSING_XML.tags(), MISSING_XML.values(Missing, r), false);
                    }
                    for r in rows(Reviews, c) {
                        x.record(6, REVIEW_XML.tag, &review, &REVIEW_XML.tags(), REVIEW_XML.values(Reviews, r), true);
                    }
                    x.leaves(6, &["MOTHER", "MC_DOB"], &[h("MOTHER"), h("MC_DOB")], false);
                    if let Some(r) = first(Permanence, c) {
                        part(x, "PERMANENCE", &TABLES_903[Permanence as usize].cols[2..], r);
                    }
                    if let Some(r) = first(Oc2, c) {
                        part(x, "OC2", &TABLES_903[Oc2 as usize].cols[2..], r);
                    }
                    for r in rows(Placed, c) {
                        part(x, "AD_PLACED", &TABLES_903[Placed as usize].cols[2..], r);
                    }
                });
                for (k, r) in rows(Episodes, c).iter().enumerate() {
                    let values = EPISODE_XML.values(Episodes, r);
                    if self.overlaps.contains(&(c, k)) {
                        let line = x.line();
                        x.note(line, "DEC", OVERLAP, REPAIRED);
                        x.record(4, EPISODE_XML.tag, &none, &EPISODE_XML.tags(), values, true);
                    } else {
                        x.record(4, EPISODE_XML.tag, &episode, &EPISODE_XML.tags(), values, true);
                    }
                }
            });
        }
        x.raw("</EXPSSDA903>\n");
        out.close_xml(x)?;
        self.write_csv(out, &[Header, Episodes, Reviews, Uasc, Oc2, Oc3, Ad1, Placed, Permanence, Missing])
    }
}

/// The last day of the placement episode `i` of `episodes` is in: its end, or that of the last of
/// the episodes after it that change the legal status alone (RNE L).
fn placement_end(episodes: &[Episode], i: usize) -> NaiveDate {
    episodes[i + 1..].iter().take_while(|n| n.rne == "L").last().map_or(episodes[i].end, |n| n.end)
}

/// The 903's code for a child without a UPN (UN1-UN5; the school census's UN6 is not one of them,
/// the DfE's 168): UN1 only before school age, as the DfE's 209 counts it (4 by 31 August before
/// the collection year's previous April), then UN5 for a child whose school's records are
/// incomplete, UN3 for one educated otherwise, an asylum-seeking child not in a maintained school
/// too. A child's code only moves from UN1 to another (the DfE's 208). Never UN4: the DfE's 210
/// keeps it for a child looked after for a week or less at 31 March, and its code flags every
/// episode of a UN4 child that starts in the year's last week, so such a child fails either way.
fn upn_unknown_903(p: &Person, y: i32) -> &'static str {
    let school_age = add_years(p.dob, 4) <= NaiveDate::from_ymd_opt(y - 2, 8, 31).expect("a date");
    match p.upn_unknown_on(year_end(y)) {
        _ if !school_age => "UN1",
        _ if p.state_school => "UN5",
        _ => "UN3",
    }
}

/// A child's header row in the return for collection year `y`; MOTHER and MC_DOB for a girl when
/// `mother` (asked of every girl looked after, whatever her age).
fn header_row(w: &World, p: &Person, y: i32, mother: bool) -> Vec<String> {
    let ye = year_end(y);
    let upn = p.upn_on(ye).map(str::to_string).unwrap_or_else(|| upn_unknown_903(p, y).to_string());
    let mut r = rng::item(w.seed, w.council.la_code, "903-mother", p.id as u64);
    // a girl's first child is born on one day whichever return asks (the DfE's 624)
    let first_child = if chance(&mut r, 0.03) { Some(rng::day_between(&mut r, add_years(p.dob, 15), add_years(p.dob, 18))) } else { None };
    let (mother, mc_dob) = if p.sex == 'F' && mother {
        if let Some(d) = first_child.filter(|d| *d <= ye) {
            ("1".to_string(), dmy(d))
        } else {
            ("0".to_string(), String::new())
        }
    } else {
        (String::new(), String::new())
    };
    vec![p.mosaic_id(), sex_903(p, y).into(), dmy(p.dob), p.ethnicity.into(), upn, mother, mc_dob]
}

/// Oc2 for a child looked after for the 12 months to 31 March.
fn oc2_row(w: &World, p: &Person, cp: &CarePeriod, y: i32) -> Vec<String> {
    let ye = year_end(y);
    let age = age_on(p.dob, ye);
    let mut r = rng::item(w.seed, w.council.la_code, "903-oc2", (p.id as u64) * 10_000 + y as u64);
    let yn = |r: &mut Rng, q: f64| if chance(r, q) { "1".to_string() } else { "0".to_string() };
    let (score, reason) = if (4..=16).contains(&age) {
        if chance(&mut r, 0.88) {
            (((15.4 + 6.0 * rng::normal(&mut r)).round().clamp(0.0, 40.0) as i64).to_string(), String::new())
        } else {
            (String::new(), weighted(&mut r, &[("SDQ2", 0.3), ("SDQ3", 0.2), ("SDQ4", 0.3), ("SDQ5", 0.2)]).to_string())
        }
    } else if age < 4 {
        // no SDQ item at all under 4 (the DfE's 188)
        (String::new(), String::new())
    } else {
        (String::new(), "SDQ1".to_string())
    };
    let teen = age >= 10;
    let misuse = teen && chance(&mut r, 0.05);
    // in the 12 months to 31 March (a year before it excluded), as the simulated checks say
    let in_year = |dates: &[NaiveDate]| dates.iter().any(|d| *d > add_years(ye, -1) && *d <= ye);
    let (dental, health) = (in_year(&cp.dental_checks), in_year(&cp.health_assessments));
    let convicted = if teen { yn(&mut r, 0.03) } else { String::new() };
    let health_check = if age < 5 { yn(&mut r, 0.9) } else { String::new() };
    let immunisations = yn(&mut r, 0.86);
    let received = if misuse { yn(&mut r, 0.6) } else { String::new() };
    let offered = if misuse { yn(&mut r, 0.8) } else { String::new() };
    vec![
        p.mosaic_id(),
        dmy(p.dob),
        score,
        reason,
        convicted,
        health_check,
        immunisations,
        if dental { "1".into() } else { "0".into() },
        if health { "1".into() } else { "0".into() },
        // the four health items are asked at every age (the DfE's 191, 182, 547): no substance
        // misuse problem is identified under 10
        (misuse as u8).to_string(),
        // whether an intervention was offered is asked only when none was received (158)
        received.clone(),
        if received == "1" { String::new() } else { offered },
    ]
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

/// The defects a CIN census record may carry. Values a record passes down to its children
/// (`CINreferralDate`, `AssessmentActualStartDate`, `CPPstartDate`) are left alone: a bad one
/// would quarantine the children too.
struct CinPlans {
    child: Plan,
    disability: Plan,
    details: Plan,
    assessment: Plan,
    factor: Plan,
    plan: Plan,
    s47: Plan,
    cpp: Plan,
    review: Plan,
}

/// One episode of need of the CIN census (`CINdetails`) with everything below it. As the DfE
/// asks, a module that ended before the collection year (`ys`..`ye`) is left out (an assessment
/// authorised, a conference held, a plan ended before `ys`: the DfE's 8696, 8715, 4013, 8930);
/// the census of its own year has it. The initial conference is written once, in its Section47
/// (2884); the CINdetails-level date is for a conference with no enquiry, which never happens here.
fn write_cin_details(x: &mut XmlDoc, plans: &CinPlans, rf: &Referral, ys: NaiveDate, ye: NaiveDate) {
    let on = |d: Option<NaiveDate>| d.filter(|d| *d <= ye).map(iso).unwrap_or_default();
    let s47 = rf.s47.as_ref().filter(|s| s.start <= ye && s.icpc.unwrap_or(s.icpc_target).max(s.start) >= ys);
    let closed = rf.closure <= ye;
    let mut details = vec![
        rf.source.to_string(),
        rf.need.to_string(),
        if closed { iso(rf.closure) } else { String::new() },
        if closed { rf.closure_reason.to_string() } else { String::new() },
        String::new(),
        if rf.nfa { "1" } else { "0" }.to_string(),
    ];
    let applied = x.defect(&plans.details, &mut details);
    x.node(6, "CINdetails", applied, |x| {
        x.leaf(8, "CINreferralDate", &iso(rf.date));
        x.leaves(8, &CIN_DETAILS, &details, false);
        if let Some(a) = rf.assessment.as_ref().filter(|a| a.start <= ye && a.authorised >= ys) {
            let mut authorised = vec![on(Some(a.authorised))];
            let applied = x.defect(&plans.assessment, &mut authorised);
            x.node(8, "Assessments", applied, |x| {
                x.leaf(10, "AssessmentActualStartDate", &iso(a.start));
                x.leaves(10, &["AssessmentAuthorisationDate"], &authorised, false);
                if a.authorised <= ye {
                    x.element(10, "FactorsIdentifiedAtAssessment", |x| {
                        for f in &a.factors {
                            x.value_record(12, "AssessmentFactors", &plans.factor, f.to_string());
                        }
                    });
                }
            });
        }
        if let Some((s, e)) = rf.cin_plan.filter(|(s, e)| *s <= ye && *e >= ys) {
            x.record(8, "CINPlanDates", &plans.plan, &["CINPlanStartDate", "CINPlanEndDate"], vec![iso(s), on(Some(e))], false);
        }
        if let Some(s) = s47 {
            // the enquiry concluded without a conference once the target has passed or the
            // episode closed (the DfE's 8868)
            let not_required = s.icpc.is_none() && (s.icpc_target <= ye || closed);
            let values = vec![iso(s.start), iso(s.icpc_target), on(s.icpc), if not_required { "1".into() } else { String::new() }];
            x.record(8, "Section47", &plans.s47, &CIN_S47, values, false);
        }
        if let Some(cp) = rf.cpp.as_ref().filter(|c| c.start <= ye && c.end >= ys) {
            let mut values = vec![on(Some(cp.end)), cp.initial_category.into(), cp.latest_category.into(), cp.previous.to_string()];
            let applied = x.defect(&plans.cpp, &mut values);
            x.node(8, "ChildProtectionPlans", applied, |x| {
                x.leaf(10, "CPPstartDate", &iso(cp.start));
                x.leaves(10, &CIN_CPP, &values, false);
                let reviews: Vec<&NaiveDate> = cp.reviews.iter().filter(|d| **d <= ye).collect();
                if !reviews.is_empty() {
                    x.element(10, "Reviews", |x| {
                        for d in reviews {
                            x.value_record(12, "CPPreviewDate", &plans.review, iso(*d));
                        }
                    });
                }
            });
        }
    });
}

impl CinPlans {
    fn new(sex: &str) -> Self {
        let p = |table: &str, names: &[&str]| Plan::new(table, DateStyle::Iso, names);
        CinPlans {
            child: p("cin_children", &["PersonBirthDate", sex, "Ethnicity"]).dates(&["PersonBirthDate"]).codes(&[sex, "Ethnicity"]),
            disability: p("cin_disabilities", &["Disability"]).codes(&["Disability"]).required(&["Disability"]).key_as(&["Disability"], "LAchildID, Disability"),
            details: p("cin_details", &CIN_DETAILS).dates(&["CINclosureDate", "DateOfInitialCPC"]).codes(&["ReferralSource", "PrimaryNeedCode", "ReasonForClosure", "ReferralNFA"]),
            assessment: p("cin_assessments", &["AssessmentAuthorisationDate"]).dates(&["AssessmentAuthorisationDate"]),
            factor: p("cin_assessment_factors", &["AssessmentFactors"])
                .codes(&["AssessmentFactors"])
                .required(&["AssessmentFactors"])
                .key_as(&["AssessmentFactors"], "LAchildID, CINreferralDate, AssessmentActualStartDate, AssessmentFactors"),
            plan: p("cin_plans", &["CINPlanStartDate", "CINPlanEndDate"])
                .dates(&["CINPlanStartDate", "CINPlanEndDate"])
                .required(&["CINPlanStartDate"])
                .key_as(&["CINPlanStartDate"], "LAchildID, CINreferralDate, CINPlanStartDate"),
            s47: p("cin_section47", &CIN_S47)
                .dates(&["S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC"])
                .codes(&["ICPCnotRequired"])
                .required(&["S47ActualStartDate"])
                .key_as(&["S47ActualStartDate"], "LAchildID, CINreferralDate, S47ActualStartDate"),
            cpp: p("cin_cp_plans", &CIN_CPP).dates(&["CPPendDate"]).codes(&["InitialCategoryOfAbuse", "LatestCategoryOfAbuse"]),
            review: p("cin_cp_reviews", &["CPPreviewDate"]).dates(&["CPPreviewDate"]).required(&["CPPreviewDate"]).key_as(&["CPPreviewDate"], "LAchildID, CINreferralDate, CPPstartDate, CPPreviewDate"),
        }
    }
}

/// A second disability code for one disabled child in four (by id), or for any when `needed`,
/// different from the first.
fn second_disability(first: &str, id: u32, needed: bool) -> Option<&'static str> {
    const CODES: [&str; 8] = ["AUT", "LD", "COMM", "BEH", "MOB", "PC", "HEAR", "VIS"];
    let h = id.wrapping_mul(2_654_435_761) >> 9;
    if !h.is_multiple_of(4) && !needed {
        return None;
    }
    let others: Vec<&'static str> = CODES.iter().copied().filter(|c| *c != first).collect();
    Some(others[(h / 8) as usize % others.len()])
}

const CIN_DETAILS: [&str; 6] = ["ReferralSource", "PrimaryNeedCode", "CINclosureDate", "ReasonForClosure", "DateOfInitialCPC", "ReferralNFA"];
const CIN_S47: [&str; 4] = ["S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired"];
const CIN_CPP: [&str; 4] = ["CPPendDate", "InitialCategoryOfAbuse", "LatestCategoryOfAbuse", "NumberOfPreviousCPP"];

fn write_cin(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let (ys, ye) = (year_start(y), year_end(y));
    let mut by_child: BTreeMap<u32, Vec<&Referral>> = BTreeMap::new();
    for rf in &w.referrals {
        if rf.date <= ye && rf.closure >= ys && age_on(w.person(rf.child).dob, rf.date) < 18 {
            by_child.entry(rf.child).or_default().push(rf);
        }
    }
    let la = w.council.la_code;
    let mut x = out.xml(&format!("cin_census/CIN_Census_{y}.xml"));
    x.raw(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n      <Collection>CIN</Collection>\n      <Year>{y}</Year>\n      <ReferenceDate>{}</ReferenceDate>\n    </CollectionDetails>\n    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>{la}</LEA>\n      <SoftwareCode>Local Authority</SoftwareCode>\n      <Release>ver 3.1.21</Release>\n      <SerialNo>001</SerialNo>\n      <DateTime>{}T09:00:00</DateTime>\n    </Source>\n  </Header>\n  <Children>\n",
        iso(ye),
        iso(add_days(ye, 40))
    ));
    // the DfE's rules read GenderCurrent (1/2) up to the 2023/24 collection and Sex (M/F) from 2024/25
    let sex_tag = if y >= 2025 { "Sex" } else { "GenderCurrent" };
    let plans = CinPlans::new(sex_tag);
    let mut listed_two = false;
    for (&c, refs) in &by_child {
        let p = w.person(c);
        let sex = if y >= 2025 { p.sex.to_string() } else { if p.sex == 'M' { "1" } else { "2" }.to_string() };
        let mut child = vec![iso(p.dob), sex, p.ethnicity.to_string()];
        // the simulation gives a child one disability; the census lists a second for one disabled
        // child in four (by id) and for the first in the file, as councils record more than one
        // where they can (the DfE's 2888Q queries a return where no child has two)
        let second = p.disability.and_then(|d| second_disability(d, p.id, !listed_two));
        listed_two |= second.is_some();
        let applied = x.defect(&plans.child, &mut child);
        x.node(4, "Child", applied, |x| {
            x.element(6, "ChildIdentifiers", |x| {
                x.leaf(8, "LAchildID", &p.mosaic_id());
                match p.upn_on(ye) {
                    Some(u) => x.leaf(8, "UPN", u),
                    // UN1 ("over compulsory school age") is queried for a child of school age
                    // (the DfE's 8770Q): a child without a UPN who left a state school says
                    // its sources are incomplete (UN5), one educated otherwise UN3
                    None => x.leaf(
                        8,
                        "UPNunknown",
                        match p.upn_unknown_on(ye) {
                            "UN1" if p.state_school => "UN5",
                            "UN1" => "UN3",
                            code => code,
                        },
                    ),
                }
                x.leaves(8, &["PersonBirthDate", sex_tag], &child[..2], false);
            });
            x.element(6, "ChildCharacteristics", |x| {
                x.leaf(8, "Ethnicity", &child[2]);
                x.element(8, "Disabilities", |x| {
                    x.value_record(10, "Disability", &plans.disability, p.disability.unwrap_or("NONE").to_string());
                    if let Some(second) = second {
                        x.value_record(10, "Disability", &plans.disability, second.to_string());
                    }
                });
            });
            for rf in refs {
                write_cin_details(x, &plans, rf, ys, ye);
            }
        });
    }
    x.raw("  </Children>\n</Message>\n");
    out.close_xml(x)
}
