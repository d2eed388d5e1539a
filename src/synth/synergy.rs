//! Synergy's SEN2 return, for each collection year: the requests for EHC needs assessment
//! received in the calendar year before the census, and every plan active on census day with
//! the request, assessment and plan it came from, its placement and its needs. Written as COLLECT
//! "Blade export" CSVs, one per module (`synergy/Blade-Export_<dd-mm-yyyy>_<module>.csv`, linked
//! by COLLECT's integer table ids, dates `yyyy-Mon-dd HH:MM:SS`), or as the XML Synergy produces
//! (`synergy/SEN2_<yyyy>.xml`: `Message/Persons/Person/Requests/…`, ISO dates, `0`/`1`), both
//! built from the same records. The Annex A SEND lists and the EHCP placement-cost export come
//! from [`super::ehcp`].
//!
//! The same children as MOSAIC and the school census: a child's UPN is the one the census
//! carries, and a plan in a special school names that school's URN.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::census::{blade, census_day, Term};
use super::defects::{DateStyle, Plan};
use super::mosaic::iso;
use super::people::{add_days, age_on, date, nc_year, Ehcp, Person, SchoolKind, World};
use super::rng::{self, chance, int};
use super::writer::{Encoding, Output, TableFile, XmlDoc};
use super::{Result, Sen2Shape};

/// Where a plan places the child on `d`: (URN, UKPRN, SENsetting).
pub fn setting(w: &World, e: &Ehcp, d: NaiveDate) -> (String, String, String) {
    let p = w.person(e.child);
    let age = age_on(p.dob, d);
    match e.setting {
        "special" => (e.special_school.map(|s| w.schools[s as usize].urn.to_string()).unwrap_or_default(), String::new(), if e.special_school.is_none() { "OLA".into() } else { String::new() }),
        "independent" => (format!("{}", 140_000 + (e.child % 700) * 13 % 9000), String::new(), String::new()),
        "fe" if age >= 19 && e.child.is_multiple_of(5) => (String::new(), String::new(), "NEET".into()),
        "fe" => (String::new(), format!("1{:07}", 3_000_000 + e.child % 40 * 1_117), String::new()),
        _ if age < 4 => (String::new(), String::new(), "EYP".into()),
        _ => {
            let nc = nc_year(p.dob, d);
            let s = if nc >= 7 { p.secondary } else { p.primary };
            let school = &w.schools[s as usize];
            if p.state_school && school.kind != SchoolKind::Pru {
                (school.urn.to_string(), String::new(), String::new())
            } else {
                (String::new(), String::new(), "OPA".into())
            }
        }
    }
}

/// The unique learner number of a young person of 16 or over on `d` (none younger).
pub fn uln(p: &Person, d: NaiveDate) -> String {
    if age_on(p.dob, d) >= 16 {
        format!("{:010}", 5_000_000_000u64 + p.id as u64 * 7)
    } else {
        String::new()
    }
}

pub fn write(w: &World, out: &mut Output, shape: Sen2Shape) -> Result<()> {
    for &y in &w.years {
        let ret = Sen2::build(w, y);
        match shape {
            Sen2Shape::Blade => ret.write_blade(w, out)?,
            Sen2Shape::Xml => ret.write_xml(w, out)?,
        }
        super::ehcp::write(w, out, y)?;
    }
    Ok(())
}

/// A placement of a plan: URN, UKPRN or SENsetting.
type Setting = (String, String, String);

struct Person2 {
    child: u32,
    upn: String,
    uln: String,
    upn_unknown: String,
    requests: Vec<Request>,
}

struct Request {
    received: NaiveDate,
    source: &'static str,
    outcome_date: Option<NaiveDate>,
    outcome: &'static str,
    mediation: bool,
    assessment: Option<Assessment>,
    active: Option<ActivePlan>,
}

struct Assessment {
    outcome: &'static str,
    date: Option<NaiveDate>,
    tribunal: bool,
    week20: bool,
    plan: Option<NamedPlan>,
}

struct NamedPlan {
    start: NaiveDate,
    pb: bool,
    oa: bool,
    dp: bool,
    ceased: Option<(NaiveDate, &'static str)>,
    setting: Setting,
    resourced: bool,
}

struct ActivePlan {
    last_review: Option<NaiveDate>,
    review_outcome: &'static str,
    review_draft: Option<NaiveDate>,
    transfer_due: Option<NaiveDate>,
    setting: Setting,
    entry: NaiveDate,
    attendance: &'static str,
    resourced: bool,
    needs: Vec<&'static str>,
}

/// One year's SEN2 return, whatever the shape it is written in.
struct Sen2 {
    y: i32,
    census: NaiveDate,
    persons: Vec<Person2>,
}

/// Whether the SEN2 return with census day `census` lists `e`: a request received in the
/// calendar year before (`from`..=`to`), a plan active on the census day or one that ceased
/// since that calendar year began (one ceasing between 1 January and the census day is in this
/// return, ceased, and not only in the next).
pub fn in_return(e: &Ehcp, from: NaiveDate, to: NaiveDate, census: NaiveDate) -> bool {
    (e.request >= from && e.request <= to) || e.active_on(census) || e.ceased.is_some_and(|(c, _)| c >= from && c <= census && e.plan_start.is_some_and(|s| s <= census))
}

impl Sen2 {
    fn build(w: &World, y: i32) -> Self {
        let seed = w.seed;
        let la = w.council.la_code;
        let census = census_day(y, Term::Spring);
        let (from, to) = (date(y - 1, 1, 1), date(y - 1, 12, 31));
        // who is in the return: requests received last calendar year, plans active on census day
        // and plans that ceased since last calendar year began (with their CeaseDate: without
        // them a plan ceasing between two census days would seem to end on the first)
        let mut by_child: BTreeMap<u32, Vec<&Ehcp>> = BTreeMap::new();
        for e in &w.ehcps {
            if in_return(e, from, to, census) {
                by_child.entry(e.child).or_default().push(e);
            }
        }
        let mut persons = vec![];
        for (&c, plans) in &by_child {
            let p = w.person(c);
            if p.dob > census {
                continue;
            }
            let upn = p.upn_on(census).map(str::to_string).unwrap_or_default();
            let uln = if upn.is_empty() { uln(p, census) } else { String::new() };
            let upn_unknown = if upn.is_empty() && uln.is_empty() { p.upn_unknown_on(census).to_string() } else { String::new() };
            let mut requests = vec![];
            for (i, e) in plans.iter().enumerate() {
                let mut r = rng::item(seed, la, "sen2", (c as u64) << 8 | i as u64);
                let decided = e.decision <= census;
                let outcome = match (decided, e.assess) {
                    (false, _) => "",
                    (true, Some(true)) => "A",
                    (true, _) => "H",
                };
                let source = match e.request_source {
                    "PA" => "1",
                    "SC" => "3",
                    _ if age_on(p.dob, e.request) >= 16 => "2",
                    _ => "4",
                };
                let mut req = Request { received: e.request, source, outcome_date: decided.then_some(e.decision), outcome, mediation: chance(&mut r, 0.02), assessment: None, active: None };
                if outcome == "A" {
                    let (ass_outcome, ass_date) = match e.plan_start {
                        Some(s) if s <= census => ("Y", Some(s)),
                        Some(_) => ("", None),
                        None => {
                            let d = add_days(e.request, 7 * int(&mut r, 14, 20));
                            if d <= census {
                                ("N", Some(d))
                            } else {
                                ("", None)
                            }
                        }
                    };
                    // Week20: an exception to the 20-week time limit applies (SEN2 guide), once the plan is issued
                    let week20 = ass_outcome == "Y" && e.week20_exception();
                    let tribunal = chance(&mut r, 0.03);
                    let plan = e.plan_start.filter(|s| *s <= census).map(|start| {
                        let (pb, oa, dp) = (chance(&mut r, 0.12), chance(&mut r, 0.05), chance(&mut r, 0.04));
                        let resourced = e.setting == "mainstream" && chance(&mut r, 0.08);
                        NamedPlan { start, pb, oa, dp, ceased: e.ceased.filter(|(d, _)| *d <= census), setting: setting(w, e, start), resourced }
                    });
                    if let Some(np) = plan.as_ref().filter(|_| e.active_on(census)) {
                        let last_review = e.reviews.iter().rfind(|d| **d <= census).copied();
                        let review_outcome = if last_review.is_some() && chance(&mut r, 0.9) { "1" } else if last_review.is_some() { "2" } else { "" };
                        let review_draft = last_review.map(|d| add_days(d, int(&mut r, 10, 40))).filter(|d| *d <= census);
                        let entry = if e.setting == "special" || e.setting == "independent" { np.start } else { super::people::school_entry(p.dob, if nc_year(p.dob, census) >= 7 { 11 } else { 4 }).min(census) };
                        let attendance = if age_on(p.dob, census) >= 16 && chance(&mut r, 0.2) { "PT" } else { "FT" };
                        let mut needs = vec![e.need];
                        needs.extend(e.second_need);
                        req.active = Some(ActivePlan {
                            last_review,
                            review_outcome,
                            review_draft,
                            transfer_due: matches!(nc_year(p.dob, census), 6 | 11).then(|| date(y, 2, 15)),
                            setting: setting(w, e, census),
                            entry,
                            attendance,
                            resourced: np.resourced,
                            needs,
                        });
                    }
                    req.assessment = Some(Assessment { outcome: ass_outcome, date: ass_date, tribunal, week20, plan });
                }
                requests.push(req);
            }
            persons.push(Person2 { child: c, upn, uln, upn_unknown, requests });
        }
        Sen2 { y, census, persons }
    }

    fn exported(&self) -> NaiveDate {
        add_days(self.census, 9)
    }

    /// COLLECT's Blade CSVs, one per module, linked by table ids.
    fn write_blade(&self, w: &World, out: &mut Output) -> Result<()> {
        let y = self.y;
        let la = w.council.la_code;
        let stem = format!("synergy/Blade-Export_{}", self.exported().format("%d-%m-%Y"));
        let native = format!("{la}SEN2");
        let source = format!("{}", 70_000 + y % 100 * 10);
        let sen2id = format!("{}", 48_000 + y % 100);
        let tf = |b: bool| if b { "true" } else { "false" }.to_string();
        let ob = |d: Option<NaiveDate>| d.map(blade).unwrap_or_default();

        // the return's header
        let cols = ["sen2tableid", "NativeId", "sen2orderseqcolumn", "sourceid", "collection", "year", "referencedate", "sourcelevel", "lea", "softwarecode", "release", "serialno", "datetime", "dmo", "dco", "dsco"];
        let mut f = out.csv(&format!("{stem}_sen2.csv"), &cols, Plan::none(), Encoding::Utf8);
        let stamp = self.exported().format("%Y-%b-%d 10:15:42").to_string();
        f.clean_row(vec![sen2id.clone(), native.clone(), "1".into(), source.clone(), "SEN2".into(), y.to_string(), blade(self.census), "L".into(), la.into(), "Synergy".into(), format!("{}.4.1", y - 1), "1".into(), stamp, String::new(), String::new(), String::new()]);
        out.close(f)?;

        // rows other modules refer to are written as they are: a defect would orphan their children
        let mut files = BladeFiles::open(out, &stem);
        let mut n = [0u32; 8];
        let base = (y as u32 % 100) * 100_000;
        let mut next = |module: usize, start: u32| {
            n[module] += 1;
            format!("{}", start + base + n[module])
        };
        for (pi, p2) in self.persons.iter().enumerate() {
            let p = w.person(p2.child);
            let person_id = next(0, 1_100_000);
            files.person.clean_row(vec![
                person_id.clone(),
                native.clone(),
                (pi + 1).to_string(),
                source.clone(),
                sen2id.clone(),
                p.surname(),
                p.forename(),
                blade(p.dob),
                p.sex.to_string(),
                p.ethnicity.into(),
                p.postcode.clone(),
                p2.upn.clone(),
                p2.uln.clone(),
                p2.upn_unknown.clone(),
            ]);
            for (i, rq) in p2.requests.iter().enumerate() {
                let req_id = next(1, 2_200_000);
                let row = vec![
                    req_id.clone(),
                    native.clone(),
                    (i + 1).to_string(),
                    source.clone(),
                    person_id.clone(),
                    blade(rq.received),
                    rq.source.into(),
                    tf(false),
                    ob(rq.outcome_date),
                    rq.outcome.into(),
                    tf(rq.mediation),
                    tf(false),
                    tf(false),
                ];
                if rq.assessment.is_some() || rq.active.is_some() {
                    files.requests.clean_row(row);
                } else {
                    files.requests.row(row);
                }
                if let Some(a) = &rq.assessment {
                    let ass_id = next(2, 3_300_000);
                    files.assessment.clean_row(vec![ass_id.clone(), native.clone(), "1".into(), source.clone(), req_id.clone(), a.outcome.into(), ob(a.date), tf(false), tf(a.tribunal), tf(false), tf(false), tf(a.week20)]);
                    if let Some(np) = &a.plan {
                        let plan_id = next(3, 4_400_000);
                        let (cease, reason) = (np.ceased.map(|c| c.0), np.ceased.map(|c| c.1.to_string()).unwrap_or_default());
                        files.namedplan.clean_row(vec![plan_id.clone(), native.clone(), "1".into(), source.clone(), ass_id, blade(np.start), String::new(), String::new(), tf(np.pb), tf(np.oa), tf(np.dp), ob(cease), reason]);
                        let (urn, ukprn, sensetting) = np.setting.clone();
                        let pd = next(4, 5_500_000);
                        files.plandetail.row(vec![pd, native.clone(), "1".into(), source.clone(), plan_id, urn, ukprn, sensetting, String::new(), "1".into(), tf(false), tf(np.resourced)]);
                    }
                }
                if let Some(ap) = &rq.active {
                    let ap_id = next(5, 6_600_000);
                    files.activeplans.clean_row(vec![
                        ap_id.clone(),
                        native.clone(),
                        "1".into(),
                        source.clone(),
                        req_id.clone(),
                        String::new(),
                        String::new(),
                        String::new(),
                        ob(ap.last_review),
                        ap.review_outcome.into(),
                        ob(ap.review_draft),
                        ob(ap.transfer_due),
                        String::new(),
                        ob(ap.last_review),
                    ]);
                    let (urn, ukprn, sensetting) = ap.setting.clone();
                    let pl = next(6, 7_700_000);
                    files.placementdetail.row(vec![
                        pl,
                        native.clone(),
                        "1".into(),
                        source.clone(),
                        ap_id.clone(),
                        urn,
                        ukprn,
                        sensetting,
                        String::new(),
                        "1".into(),
                        blade(ap.entry),
                        String::new(),
                        ap.attendance.into(),
                        tf(false),
                        tf(ap.resourced),
                        String::new(),
                        String::new(),
                    ]);
                    for (rank, nd) in ap.needs.iter().enumerate() {
                        let id = next(7, 8_800_000);
                        files.senneed.row(vec![id, native.clone(), (rank + 1).to_string(), source.clone(), ap_id.clone(), nd.to_string(), (rank + 1).to_string()]);
                    }
                }
            }
        }
        files.close(out)
    }

    /// The SEN2 XML: persons, each with its requests nested as the DfE's specification has them.
    fn write_xml(&self, w: &World, out: &mut Output) -> Result<()> {
        let y = self.y;
        let la = w.council.la_code;
        let mut x = out.xml(&format!("synergy/SEN2_{y}.xml"));
        x.raw(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n      <Collection>SEN2</Collection>\n      <Year>{y}</Year>\n      <ReferenceDate>{}</ReferenceDate>\n    </CollectionDetails>\n    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>{la}</LEA>\n      <SoftwareCode>Synergy</SoftwareCode>\n      <Release>{}.4.1</Release>\n      <SerialNo>1</SerialNo>\n      <DateTime>{}T10:15:42</DateTime>\n    </Source>\n  </Header>\n",
            iso(self.census),
            y - 1,
            iso(self.exported())
        ));
        // <Header> (line 3) is the sen2_header record
        x.record_at(3, None);
        let plans = XmlPlans::new();
        x.element(2, "Persons", |x| {
            for p2 in &self.persons {
                let p = w.person(p2.child);
                let mut values = vec![iso(p.dob), p.sex.to_string(), p.ethnicity.to_string()];
                let applied = x.defect(&plans.person, &mut values);
                x.node(4, "Person", applied, |x| {
                    x.leaves(6, &["Surname", "Forename"], &[p.surname(), p.forename()], false);
                    x.leaves(6, &["PersonBirthDate", "Sex", "Ethnicity"], &values, false);
                    x.leaves(6, &["PostCode", "UPN", "UniqueLearnerNumber", "UPNunknown"], &[p.postcode.clone(), p2.upn.clone(), p2.uln.clone(), p2.upn_unknown.clone()], false);
                    for rq in &p2.requests {
                        write_xml_request(x, &plans, rq);
                    }
                });
            }
        });
        x.raw("</Message>\n");
        out.close_xml(x)
    }
}

fn b(v: bool) -> String {
    if v { "1" } else { "0" }.to_string()
}

fn od(d: Option<NaiveDate>) -> String {
    d.map(iso).unwrap_or_default()
}

/// A request of the SEN2 XML (`Requests`) with its assessment and active plan.
fn write_xml_request(x: &mut XmlDoc, plans: &XmlPlans, rq: &Request) {
    let mut outcome_date = vec![od(rq.outcome_date)];
    let applied = x.defect(&plans.request, &mut outcome_date);
    x.node(6, "Requests", applied, |x| {
        x.leaves(8, &["ReceivedDate", "RequestSource", "RYA"], &[iso(rq.received), rq.source.into(), b(false)], false);
        x.leaves(8, &["RequestOutcomeDate"], &outcome_date, false);
        x.leaves(8, &["RequestOutcome", "RequestMediation", "RequestTribunal", "Exported"], &[rq.outcome.into(), b(rq.mediation), b(false), b(false)], false);
        if let Some(a) = &rq.assessment {
            let mut date = vec![od(a.date)];
            let applied = x.defect(&plans.assessment, &mut date);
            x.node(8, "Assessment", applied, |x| {
                x.leaves(10, &["AssessmentOutcome", "AssessmentOutcomeDate"], &[a.outcome.into(), date.remove(0)], false);
                x.leaves(10, &["AssessmentMediation", "AssessmentTribunal", "OtherMediation", "OtherTribunal", "Week20"], &[b(false), b(a.tribunal), b(false), b(false), b(a.week20)], false);
                if let Some(np) = &a.plan {
                    let mut dates = vec![iso(np.start), od(np.ceased.map(|c| c.0))];
                    let applied = x.defect(&plans.named_plan, &mut dates);
                    x.node(10, "NamedPlan", applied, |x| {
                        x.leaves(12, &["StartDate", "PB", "OA", "DP", "CeaseDate", "CeaseReason"], &[dates[0].clone(), b(np.pb), b(np.oa), b(np.dp), dates[1].clone(), np.ceased.map(|c| c.1.to_string()).unwrap_or_default()], false);
                        let (urn, ukprn, sensetting) = np.setting.clone();
                        let tags = ["URN", "UKPRN", "SENsetting", "PlacementRank", "SENunitIndicator", "ResourcedProvisionIndicator"];
                        x.record(12, "PlanDetail", &Plan::none(), &tags, vec![urn, ukprn, sensetting, "1".into(), b(false), b(np.resourced)], false);
                    });
                }
            });
        }
        if let Some(ap) = &rq.active {
            let mut dates = vec![od(ap.last_review), od(ap.review_draft), od(ap.transfer_due), od(ap.last_review)];
            let applied = x.defect(&plans.active, &mut dates);
            x.node(8, "ActivePlans", applied, |x| {
                x.leaves(10, &["ReviewMeeting", "ReviewOutcome", "ReviewDraft", "PhaseTransferDueDate", "LastReview"], &[dates[0].clone(), ap.review_outcome.into(), dates[1].clone(), dates[2].clone(), dates[3].clone()], false);
                let (urn, ukprn, sensetting) = ap.setting.clone();
                let tags = ["URN", "UKPRN", "SENsetting", "PlacementRank", "EntryDate", "AttendancePattern", "SENunitIndicator", "ResourcedProvisionIndicator"];
                x.record(10, "PlacementDetail", &plans.placement, &tags, vec![urn, ukprn, sensetting, "1".into(), iso(ap.entry), ap.attendance.into(), b(false), b(ap.resourced)], false);
                for (rank, nd) in ap.needs.iter().enumerate() {
                    x.record(10, "SENneed", &plans.need, &["SENtype", "SENtypeRank"], vec![nd.to_string(), (rank + 1).to_string()], false);
                }
            });
        }
    });
}

/// The Blade CSVs of the modules under the header.
struct BladeFiles {
    person: TableFile,
    requests: TableFile,
    assessment: TableFile,
    namedplan: TableFile,
    plandetail: TableFile,
    activeplans: TableFile,
    placementdetail: TableFile,
    senneed: TableFile,
}

/// The schema's spelling of a Blade header (Blade headers are lower case; Lantern matches them
/// ignoring case and names its rules by the schema's column).
fn schema_name(h: &str) -> &str {
    match h {
        "receiveddate" => "ReceivedDate",
        "entrydate" => "EntryDate",
        "sentype" => "SENtype",
        "sentyperank" => "SENtypeRank",
        other => other,
    }
}

impl BladeFiles {
    fn open(out: &Output, stem: &str) -> Self {
        let csv = |module: &str, table: &str, cols: &[&str], plan: fn(Plan) -> Plan| -> TableFile {
            let names: Vec<&str> = cols.iter().map(|c| schema_name(c)).collect();
            out.csv(&format!("{stem}_{module}.csv"), cols, plan(Plan::new(table, DateStyle::Blade, &names)), Encoding::Utf8)
        };
        BladeFiles {
            person: csv("person", "sen2_person", &["persontableid", "NativeId", "personorderseqcolumn", "sourceid", "sen2tableid", "surname", "forename", "personbirthdate", "sex", "ethnicity", "postcode", "upn", "uniquelearnernumber", "upnunknown"], |_| Plan::none()),
            requests: csv(
                "requests",
                "sen2_requests",
                &["requeststableid", "NativeId", "requestsorderseqcolumn", "sourceid", "persontableid", "receiveddate", "requestsource", "rya", "requestoutcomedate", "requestoutcome", "requestmediation", "requesttribunal", "exported"],
                |p| p.dates(&["ReceivedDate"]).required(&["ReceivedDate"]).key(&["requeststableid"]),
            ),
            assessment: csv("assessment", "sen2_assessment", &["assessmenttableid", "NativeId", "assessmentorderseqcolumn", "sourceid", "requeststableid", "assessmentoutcome", "assessmentoutcomedate", "assessmentmediation", "assessmenttribunal", "othermediation", "othertribunal", "week20"], |_| Plan::none()),
            namedplan: csv("namedplan", "sen2_named_plan", &["namedplantableid", "NativeId", "namedplanorderseqcolumn", "sourceid", "assessmenttableid", "startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate", "ceasereason"], |_| Plan::none()),
            plandetail: csv("plandetail", "sen2_plan_detail", &["plandetailtableid", "NativeId", "plandetailorderseqcolumn", "sourceid", "namedplantableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank", "senunitindicator", "resourcedprovisionindicator"], |p| {
                p.key(&["plandetailtableid"])
            }),
            activeplans: csv("activeplans", "sen2_active_plans", &["activeplanstableid", "NativeId", "activeplansorderseqcolumn", "sourceid", "requeststableid", "transferla", "res", "wbp", "reviewmeeting", "reviewoutcome", "reviewdraft", "phasetransferduedate", "phasetransferfinaldate", "lastreview"], |_| Plan::none()),
            placementdetail: csv(
                "placementdetail",
                "sen2_placement_detail",
                &["placementdetailtableid", "NativeId", "placementdetailorderseqcolumn", "sourceid", "activeplanstableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank", "entrydate", "leavingdate", "attendancepattern", "senunitindicator", "resourcedprovisionindicator", "res", "wbp"],
                |p| p.dates(&["EntryDate"]).key(&["placementdetailtableid"]),
            ),
            senneed: csv("senneed", "sen2_sen_need", &["senneedtableid", "NativeId", "senneedorderseqcolumn", "sourceid", "activeplanstableid", "sentype", "sentyperank"], |p| {
                p.codes(&["SENtype"]).required(&["SENtype", "SENtypeRank"]).key(&["senneedtableid"])
            }),
        }
    }

    fn close(self, out: &mut Output) -> Result<()> {
        let BladeFiles { person, requests, assessment, namedplan, plandetail, activeplans, placementdetail, senneed } = self;
        for f in [person, requests, assessment, namedplan, plandetail, activeplans, placementdetail, senneed] {
            out.close(f)?;
        }
        Ok(())
    }
}

/// The defects SEN2 XML records may carry: dates and codes the record holds itself (the person's
/// UPN and a request's received date are copied onto the records below them, so stay clean).
struct XmlPlans {
    person: Plan,
    request: Plan,
    assessment: Plan,
    named_plan: Plan,
    active: Plan,
    placement: Plan,
    need: Plan,
}

impl XmlPlans {
    fn new() -> Self {
        let p = |table: &str, names: &[&str]| Plan::new(table, DateStyle::Iso, names);
        XmlPlans {
            person: p("sen2_person", &["PersonBirthDate", "Sex", "Ethnicity"]).dates(&["PersonBirthDate"]).codes(&["Sex", "Ethnicity"]).required(&["PersonBirthDate"]),
            request: p("sen2_requests", &["RequestOutcomeDate"]).dates(&["RequestOutcomeDate"]),
            assessment: p("sen2_assessment", &["AssessmentOutcomeDate"]).dates(&["AssessmentOutcomeDate"]),
            named_plan: p("sen2_named_plan", &["StartDate", "CeaseDate"]).dates(&["StartDate", "CeaseDate"]),
            active: p("sen2_active_plans", &["ReviewMeeting", "ReviewDraft", "PhaseTransferDueDate", "LastReview"]).dates(&["ReviewMeeting", "ReviewDraft", "PhaseTransferDueDate", "LastReview"]),
            placement: p("sen2_placement_detail", &["URN", "UKPRN", "SENsetting", "PlacementRank", "EntryDate", "AttendancePattern", "SENunitIndicator", "ResourcedProvisionIndicator"]).dates(&["EntryDate"]),
            need: p("sen2_sen_need", &["SENtype", "SENtypeRank"]).codes(&["SENtype"]).required(&["SENtype", "SENtypeRank"]),
        }
    }
}
