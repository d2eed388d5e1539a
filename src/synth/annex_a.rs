//! Ofsted Annex A lists 1-11, drawn from MOSAIC at a snapshot date, each covering its lookback
//! window (six months for lists 1-8, twelve for adoption, current care leavers for list 9):
//!
//! * the window's last year at every month end, as a workbook a month
//!   (`annex_a/Annex_A_<yyyy>_<Mon>.xlsx`, sheets `List_1` … `List_11`: dates as date cells,
//!   numbers as numbers, the other cells text), the way councils keep a rolling Annex A ready
//!   for inspection;
//! * earlier years once, on 31 March, as one Windows-1252 CSV per list
//!   (`annex_a/Annex_A_<yyyy>_Mar_List_<n>.csv`).
//!
//! Either way codes are written the template's way about half the time (`a) 1A: Individual`),
//! list 1 uses alias headers (`Child ID`, `DOB`), and a team name carries a typographic
//! apostrophe. Lantern takes the month of each snapshot from the file name (`snapshot=2024-04`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::defects::{DateStyle, Plan};
use super::mosaic::{dmy, odmy, periods_in, place_code, rec_code};
use super::people::{add_days, add_months, add_years, age_on, leaver_status, year_end, Assessment, CarePeriod, Person, Referral, World};
use super::rng::{self, chance, int, weighted, Rng};
use super::writer::{Encoding, Output, TableFile, Workbook};
use super::Result;

/// Write the Annex A snapshots of collection year `y`: monthly workbooks for the window's last
/// year, a set of CSVs on 31 March for the others.
pub fn write_year(w: &World, out: &mut Output, y: i32, ix: &Index) -> Result<()> {
    if Some(&y) == w.years.last() {
        for (_, _, snap) in super::finance::periods(y) {
            let wb = out.workbook(&format!("annex_a/Annex_A_{}.xlsx", snap.format("%Y_%b")), add_days(snap, 3));
            let mut lists = Lists { out, book: Some(wb), stem: String::new() };
            write_snapshot(w, &mut lists, snap, ix)?;
            let wb = lists.book.take().expect("the workbook");
            out.close_workbook(wb)?;
        }
        Ok(())
    } else {
        let snap = year_end(y);
        let mut lists = Lists { out, book: None, stem: format!("annex_a/Annex_A_{}", snap.format("%Y_%b")) };
        write_snapshot(w, &mut lists, snap, ix)
    }
}

/// Each child's referrals and periods of care, in order (built once: the lists look them up for
/// every child at every snapshot).
pub struct Index<'a> {
    refs: BTreeMap<u32, Vec<&'a Referral>>,
    care: BTreeMap<u32, Vec<&'a CarePeriod>>,
}

impl<'a> Index<'a> {
    pub fn new(w: &'a World) -> Self {
        let mut refs: BTreeMap<u32, Vec<&Referral>> = BTreeMap::new();
        for rf in &w.referrals {
            refs.entry(rf.child).or_default().push(rf);
        }
        let mut care: BTreeMap<u32, Vec<&CarePeriod>> = BTreeMap::new();
        for cp in &w.care {
            care.entry(cp.child).or_default().push(cp);
        }
        Index { refs, care }
    }
}

/// Where a snapshot's lists go: sheets of a workbook, or a CSV each.
struct Lists<'a> {
    out: &'a mut Output,
    book: Option<Workbook>,
    stem: String,
}

impl Lists<'_> {
    fn start(&self, list: &List) -> TableFile {
        let names = list.names();
        let plan = (list.plan)(Plan::new(list.table, DateStyle::Dmy, &names));
        let mut header = names.clone();
        for (i, h) in list.header {
            header[*i] = h;
        }
        match &self.book {
            Some(wb) => self.out.sheet(wb, &format!("List_{}", list.n), &header, plan),
            None => self.out.csv(&format!("{}_List_{}.csv", self.stem, list.n), &header, plan, Encoding::Windows1252),
        }
    }

    fn done(&mut self, f: TableFile) -> Result<()> {
        match &mut self.book {
            Some(wb) => {
                wb.add(f);
                Ok(())
            }
            None => self.out.close(f),
        }
    }
}

/// One Annex A list: its number, schema table, columns (after the child's demographics when
/// `demo`), the headers written differently from the schema's names, and its defects.
struct List {
    n: u32,
    table: &'static str,
    demo: bool,
    cols: &'static [&'static str],
    header: &'static [(usize, &'static str)],
    plan: fn(Plan) -> Plan,
}

const DEMO: [&str; 5] = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"];

impl List {
    fn names(&self) -> Vec<&'static str> {
        let demo: &[&'static str] = if self.demo { &DEMO } else { &[] };
        demo.iter().chain(self.cols).copied().collect()
    }
}

const LIST_1: List = List {
    n: 1,
    table: "annex_a_list_1_contacts",
    demo: true,
    cols: &["Date of Contact", "Contact Source"],
    header: &[(0, "Child ID"), (3, "DOB")],
    plan: |p| p.dates(&["Date of Birth", "Date of Contact"]).codes(&["Gender", "Ethnicity", "Contact Source"]).required(&["Child Unique ID", "Date of Contact"]).key(&["Child Unique ID", "Date of Contact", "Contact Source"]),
};

const LIST_2: List = List {
    n: 2,
    table: "annex_a_list_2_early_help",
    demo: true,
    cols: &["Assessment start date", "Assessment completion date", "Organisation completing assessment"],
    header: &[],
    plan: |p| p.dates(&["Date of Birth", "Assessment start date", "Assessment completion date"]).codes(&["Gender", "Ethnicity"]).required(&["Child Unique ID", "Assessment start date"]).key(&["Child Unique ID", "Assessment start date"]),
};

const LIST_3: List = List {
    n: 3,
    table: "annex_a_list_3_referrals",
    demo: true,
    cols: &["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"],
    header: &[],
    plan: |p| p.dates(&["Date of Birth", "Date of Referral"]).codes(&["Gender", "Ethnicity", "Referral Source", "Referral NFA?"]).required(&["Child Unique ID", "Date of Referral"]).key(&["Child Unique ID", "Date of Referral"]),
};

const LIST_4: List = List {
    n: 4,
    table: "annex_a_list_4_assessments",
    demo: true,
    cols: &[
        "Does the Child have a Disability",
        "Continuous Assessment Start Date",
        "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?",
        "Allocated Team",
        "Allocated Worker",
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Child Seen During Continuous Assessment"])
            .required(&["Child Unique ID", "Continuous Assessment Start Date"])
            .key(&["Child Unique ID", "Continuous Assessment Start Date"])
    },
};

const LIST_5: List = List {
    n: 5,
    table: "annex_a_list_5_s47",
    demo: true,
    cols: &[
        "Does the Child have a Disability",
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Number of Section 47 Enquiries in the last 12 months",
        "Number of ICPCs in the last 12 months",
        "Allocated Team",
        "Allocated Worker",
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Strategy discussion initiating Section 47 Enquiry Start Date", "Date of Initial Child Protection Conference"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Was an Initial Child Protection Conference deemed unnecessary?", "Did the Initial Child Protection Conference Result in a Child Protection Plan"])
            .required(&["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date"])
            .key(&["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date"])
    },
};

const LIST_6: List = List {
    n: 6,
    table: "annex_a_list_6_cin",
    demo: true,
    cols: &["Does the Child have a Disability", "CIN Start Date", "Primary Need Code", "Date Child Was Last Seen", "CIN Closure Date", "Reason for Closure", "Case Status", "Allocated Team", "Allocated Worker"],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "CIN Start Date", "Date Child Was Last Seen", "CIN Closure Date"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Primary Need Code", "Reason for Closure"])
            .required(&["Child Unique ID", "CIN Start Date"])
            .key(&["Child Unique ID"])
    },
};

const LIST_7: List = List {
    n: 7,
    table: "annex_a_list_7_cp",
    demo: true,
    cols: &[
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
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Child Protection Plan Start Date", "Date of the Last Statutory Visit", "Date of latest review conference", "Child Protection Plan End Date"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Initial Category of Abuse", "Latest Category of Abuse", "Was the Child Seen Alone?"])
            .required(&["Child Unique ID", "Child Protection Plan Start Date"])
            .key(&["Child Unique ID"])
    },
};

const LIST_8: List = List {
    n: 8,
    table: "annex_a_list_8_cla",
    demo: true,
    cols: &[
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
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Date Started to be Looked After", "Start date of current legal status", "Date of Latest Statutory Review", "Date Ceased to be Looked After", "Start Date of Most Recent Placement"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Child's Category of Need", "Child's Legal Status", "Placement Type", "Placement Provider", "Reason Ceased to be Looked After"])
            .required(&["Child Unique ID", "Date Started to be Looked After"])
            .key(&["Child Unique ID"])
    },
};

const LIST_9: List = List {
    n: 9,
    table: "annex_a_list_9_care_leavers",
    demo: true,
    cols: &[
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
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Latest Pathway Plan Review Date", "Latest Date of Contact"])
            .codes(&["Gender", "Ethnicity", "UASC or formerly UASC if 18 or over (Y/N)", "Does the Child have a Disability", "Eligibility Category", "LA in Touch", "Suitability of Accommodation", "Activity Status"])
            .required(&["Child Unique ID"])
            .key(&["Child Unique ID"])
    },
};

const LIST_10: List = List {
    n: 10,
    table: "annex_a_list_10_adoption",
    demo: false,
    cols: &[
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
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date of Birth", "Date the Child Entered Care", "Date of Decision that Child Should be Placed for Adoption", "Date of Adoption Order"])
            .codes(&["Gender", "Ethnicity", "Does the Child have a Disability", "Reason Why Child No Longer Placed for Adoption"])
            .required(&["Child Unique ID"])
            .key(&["Child Unique ID"])
    },
};

const LIST_11: List = List {
    n: 11,
    table: "annex_a_list_11_adopters",
    demo: false,
    cols: &[
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
    ],
    header: &[],
    plan: |p| {
        p.dates(&["Date enquiry received", "Date Stage 1 started", "Date application approved"])
            .codes(&["Gender", "Ethnicity", "Disability", "Is the (prospective) adopter fostering for adoption?"])
            .required(&["Individual adopter identifier"])
            .key(&["Individual adopter identifier", "Date enquiry received"])
    },
};

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

fn gender(r: &mut Rng, p: &Person) -> String {
    let g = GENDER[int(r, 0, 1) as usize];
    if p.sex == 'M' { g.0 } else { g.1 }.to_string()
}

/// Team names as MOSAIC holds them; one with a typographic apostrophe, as Windows-1252 exports carry.
fn team(w: &World, t: u8) -> String {
    match w.teams.get(t as usize) {
        Some(&"Children Who Are Disabled") => "Children’s Disability Team".to_string(),
        Some(t) => t.to_string(),
        None => "Unallocated".to_string(),
    }
}

fn worker(n: u16) -> String {
    format!("Worker {n:03}")
}

/// A row of a list with the child's demographics first (age on `on`), then `rest`.
fn with_demographics(r: &mut Rng, p: &Person, on: NaiveDate, rest: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut row = vec![p.mosaic_id(), gender(r, p), p.ethnicity.to_string(), dmy(p.dob), age_years(p, on)];
    row.extend(rest);
    row
}

fn write_snapshot(w: &World, lists: &mut Lists, snap: NaiveDate, ix: &Index) -> Result<()> {
    let refs_by_child = &ix.refs;
    let six = add_days(add_months(snap, -6.0), 1);
    let twelve = add_days(add_years(snap, -1), 1);
    // codes are those of the collection year the snapshot falls in
    let y = if snap.month() >= 4 { snap.year() + 1 } else { snap.year() };
    let mut r = rng::stream(w.seed, w.council.la_code, &format!("annex-a-{snap}"));
    let within = |d: NaiveDate, from: NaiveDate| d >= from && d <= snap;

    // list 1: contacts
    let mut f = lists.start(&LIST_1);
    let mut contacts: Vec<_> = w.contacts.iter().filter(|c| within(c.date, six)).collect();
    contacts.sort_by_key(|c| (c.date, c.child));
    for (i, c) in contacts.iter().enumerate() {
        let p = w.person(c.child);
        let source = lettered(&mut r, c.source, source_label(c.source), i);
        f.row(with_demographics(&mut r, p, c.date, [dmy(c.date), source]));
    }
    lists.done(f)?;

    // list 2: early help assessments
    let mut f = lists.start(&LIST_2);
    for e in w.early_help.iter().filter(|e| e.start <= snap && (e.start >= six || e.completed.is_none_or(|c| c >= six))) {
        let rest = [dmy(e.start), odmy(e.completed.filter(|c| *c <= snap)), e.organisation.into()];
        f.row(with_demographics(&mut r, w.person(e.child), snap, rest));
    }
    lists.done(f)?;

    // list 3: referrals
    let mut f = lists.start(&LIST_3);
    let mut refs: Vec<&Referral> = w.referrals.iter().filter(|rf| within(rf.date, six)).collect();
    refs.sort_by_key(|rf| (rf.date, rf.child));
    for (i, rf) in refs.iter().enumerate() {
        let before = refs_by_child[&rf.child].iter().filter(|o| o.date < rf.date && o.date >= add_years(rf.date, -1)).count();
        let source = lettered(&mut r, rf.source, source_label(rf.source), i);
        let rest = [dmy(rf.date), source, yn(rf.nfa), before.to_string(), team(w, rf.team), worker(rf.worker)];
        f.row(with_demographics(&mut r, w.person(rf.child), rf.date, rest));
    }
    lists.done(f)?;

    // list 4: assessments
    let mut f = lists.start(&LIST_4);
    let mut ass: Vec<(&Referral, &Assessment)> = w.referrals.iter().filter_map(|rf| rf.assessment.as_ref().map(|a| (rf, a))).filter(|(_, a)| a.start <= snap && (a.start >= six || a.authorised >= six)).collect();
    ass.sort_by_key(|(rf, a)| (a.start, rf.child));
    for (rf, a) in ass {
        let p = w.person(rf.child);
        let done = a.authorised <= snap;
        let rest = [
            yn(p.disability.is_some()),
            dmy(a.start),
            yn(a.seen),
            if done { dmy(a.authorised) } else { String::new() },
            if done { yn(a.needs_support) } else { String::new() },
            team(w, rf.team),
            worker(rf.worker),
        ];
        f.row(with_demographics(&mut r, p, a.start, rest));
    }
    lists.done(f)?;

    // list 5: section 47 enquiries and ICPCs
    let mut f = lists.start(&LIST_5);
    let mut s47s: Vec<&Referral> = w.referrals.iter().filter(|rf| rf.s47.as_ref().is_some_and(|s| s.start <= snap && (s.start >= six || s.icpc.is_some_and(|i| i >= six)))).collect();
    s47s.sort_by_key(|rf| (rf.s47.as_ref().unwrap().start, rf.child));
    for rf in s47s {
        let s = rf.s47.as_ref().unwrap();
        let p = w.person(rf.child);
        let icpc = s.icpc.filter(|d| *d <= snap);
        let concluded = icpc.is_some() || s.icpc_target <= snap;
        let prior: Vec<&&Referral> = refs_by_child[&rf.child].iter().filter(|o| o.s47.as_ref().is_some_and(|x| x.start < s.start && x.start >= add_years(s.start, -1))).collect();
        let prior_icpc = prior.iter().filter(|o| o.s47.as_ref().unwrap().icpc.is_some()).count();
        let rest = [
            yn(p.disability.is_some()),
            dmy(s.start),
            if concluded { yn(s.icpc.is_none()) } else { String::new() },
            odmy(icpc),
            if icpc.is_some() { yn(rf.cpp.as_ref().is_some_and(|c| c.start <= snap)) } else { String::new() },
            prior.len().to_string(),
            prior_icpc.to_string(),
            team(w, rf.team),
            worker(rf.worker),
        ];
        f.row(with_demographics(&mut r, p, s.start, rest));
    }
    lists.done(f)?;

    // list 6: children in need (one row per child, most recent episode)
    let mut f = lists.start(&LIST_6);
    for (&c, rfs) in refs_by_child {
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
        let need = lettered(&mut r, rf.need, need_label(rf.need), 13);
        let rest = [
            yn(p.disability.is_some()),
            dmy(rf.date),
            need,
            dmy(seen),
            if closed { dmy(rf.closure) } else { String::new() },
            if closed { rf.closure_reason.to_string() } else { String::new() },
            status.into(),
            team(w, rf.team),
            worker(rf.worker),
        ];
        f.row(with_demographics(&mut r, p, snap, rest));
    }
    lists.done(f)?;

    // list 7: child protection (one row per child, most recent plan)
    let mut f = lists.start(&LIST_7);
    for (&c, rfs) in refs_by_child {
        let Some((rf, cpp)) = rfs.iter().rev().filter_map(|rf| rf.cpp.as_ref().map(|x| (rf, x))).find(|(_, x)| x.start <= snap && x.end >= six) else { continue };
        let p = w.person(c);
        let ended = cpp.end <= snap;
        let visit = add_days(cpp.end.min(snap), -(if chance(&mut r, 0.94) { int(&mut r, 0, 27) } else { int(&mut r, 28, 60) })).max(cpp.start);
        let review = cpp.reviews.iter().rfind(|d| **d <= snap).copied();
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
        let (initial, latest) = (cat(&mut r, cpp.initial_category), cat(&mut r, cpp.latest_category));
        let rest = [
            yn(p.disability.is_some()),
            dmy(cpp.start),
            initial,
            latest,
            dmy(visit),
            yn(chance(&mut r, 0.8)),
            odmy(review),
            if ended { dmy(cpp.end) } else { String::new() },
            yn(cpp.emergency),
            cpp.previous.to_string(),
            team(w, rf.team),
            worker(rf.worker),
        ];
        f.row(with_demographics(&mut r, p, snap, rest));
    }
    lists.done(f)?;

    // list 8: children in care (one row per child, most recent period)
    let mut f = lists.start(&LIST_8);
    for (&c, ps) in &periods_in(w, six, snap) {
        let cp = *ps.last().unwrap();
        if cp.start > snap {
            continue;
        }
        if let Some(rest) = list_8_row(w, &mut r, &ix.care[&c], cp, ps.len(), snap, y) {
            f.row(with_demographics(&mut r, w.person(c), snap, rest));
        }
    }
    lists.done(f)?;

    // list 9: care leavers
    let mut f = lists.start(&LIST_9);
    for (c, cp) in w.care_leavers_on(snap) {
        let p = w.person(c);
        let st = leaver_status(w, c, snap, y);
        let age = age_on(p.dob, snap);
        let contact = if st.in_touch == "YES" { Some(add_days(snap, -int(&mut r, 0, 56)).max(cp.end)) } else { None };
        let rest = [
            yn(cp.uasc),
            yn(p.disability.is_some()),
            "Care Leavers".into(),
            worker(int(&mut r, 1, w.social_workers as i64) as u16),
            format!("PA {:02}", int(&mut r, 1, 25)),
            if age < 18 { "Relevant" } else { "Former relevant" }.into(),
            dmy(add_days(snap, -int(&mut r, 0, 180)).max(cp.end)),
            if st.in_touch == "YES" && chance(&mut r, 0.5) { "Yes".into() } else { st.in_touch.to_string() },
            odmy(contact),
            st.accommodation_label.into(),
            if st.in_touch != "YES" { String::new() } else if st.suitable { "Suitable".into() } else { "Not suitable".into() },
            st.activity.into(),
        ];
        f.row(with_demographics(&mut r, p, snap, rest));
    }
    lists.done(f)?;

    // list 10: adoption (decisions, placements, orders and reversals in the last 12 months)
    let mut f = lists.start(&LIST_10);
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
        f.row(vec![
            p.mosaic_id(),
            if a.family > 0 { format!("F{:05}", a.family) } else { String::new() },
            gender(&mut r, p),
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
    lists.done(f)?;

    // list 11: adopters in contact with the agency in the last 12 months
    let mut f = lists.start(&LIST_11);
    for cp in &w.care {
        let Some(a) = &cp.adoption else { continue };
        let (Some(matched), Some(placed)) = (a.matched, a.placed) else { continue };
        let order = cp.end;
        let mut ar = rng::item(w.seed, w.council.la_code, "adopters", a.family as u64);
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
        let sexes: &[char] = match a.sex_adoptr {
            "M1" => &['M'],
            "F1" => &['F'],
            "MM" => &['M', 'M'],
            "FF" => &['F', 'F'],
            _ => &['M', 'F'],
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
    lists.done(f)
}

/// List 8 after the demographics, for a child whose periods of care are `all` and whose most
/// recent is `cp` (one of `periods` in the list's six months).
fn list_8_row(w: &World, r: &mut Rng, all: &[&CarePeriod], cp: &CarePeriod, periods: usize, snap: NaiveDate, y: i32) -> Option<Vec<String>> {
    let la = w.council.la_code;
    let twelve = add_days(add_years(snap, -1), 1);
    let p = w.person(cp.child);
    let on = if cp.end <= snap { add_days(cp.end, -1).max(cp.start) } else { snap };
    let ep = cp.episode_on(on).or(cp.episodes.last())?;
    let ls_start = cp.episodes.iter().rev().filter(|e| e.start <= ep.start).take_while(|e| e.ls == ep.ls).last().map_or(ep.start, |e| e.start);
    let place_start = cp.episodes.iter().rev().filter(|e| e.start <= ep.start).take_while(|e| e.carer == ep.carer).last().map_or(ep.start, |e| e.start);
    let placements_12m = {
        let mut carers: Vec<u32> = all.iter().flat_map(|o| o.episodes.iter()).filter(|e| e.start <= snap && e.end > twelve).map(|e| e.carer).collect();
        carers.dedup();
        carers.len()
    };
    let second = periods > 1 || all.iter().any(|o| o.end < cp.start && o.end >= add_years(cp.start, -1));
    let last_on = |v: &[NaiveDate]| v.iter().rfind(|d| **d <= snap).copied();
    let review = last_on(&cp.reviews);
    let sw_visit = add_days(on, -int(r, 0, 42)).max(cp.start);
    let iro = review.map(|d| add_days(d, -int(r, 0, 14)).max(cp.start));
    let missing: Vec<_> = cp.missing.iter().filter(|m| m.start <= snap && m.start >= twelve).collect();
    let n_missing = missing.iter().filter(|m| m.kind == "M").count();
    let n_absent = missing.iter().filter(|m| m.kind == "A").count();
    let last_missing = missing.iter().rfind(|m| m.kind == "M");
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
    let team = if chance(r, 0.5) { "Children in Care".into() } else { team(w, 5) };
    Some(vec![
        yn(cp.uasc),
        yn(p.disability.is_some()),
        dmy(cp.start),
        cp.cin.into(),
        yn(second),
        dmy(ls_start),
        ep.ls.into(),
        odmy(review),
        dmy(sw_visit),
        plan.into(),
        odmy(iro),
        odmy(last_on(&cp.health_assessments)),
        odmy(last_on(&cp.dental_checks)),
        placements_12m.to_string(),
        if ended { dmy(cp.end) } else { String::new() },
        if ended { rec_code(cp.reason, y).into() } else { String::new() },
        dmy(place_start),
        place_code(ep.place, y).into(),
        ep.provider.into(),
        ep.pl_post.clone(),
        if ep.urn.starts_with("SC") { ep.urn.clone() } else { String::new() },
        if in_area { "In LA boundary" } else { "Out of LA boundary" }.into(),
        if in_area { la.to_string() } else { String::new() },
        n_missing.to_string(),
        n_absent.to_string(),
        last_missing.map(|m| yn(m.return_interview_offered)).unwrap_or_default(),
        last_missing.map(|m| yn(m.return_interview_accepted)).unwrap_or_default(),
        team,
        worker(cp.workers.iter().rfind(|x| x.0 <= snap).map_or(0, |x| x.1)),
    ])
}
