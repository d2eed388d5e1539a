//! Synergy's SEN2 return as COLLECT "Blade export" CSVs, one per module
//! (`synergy/Blade-Export_<dd-mm-yyyy>_<module>.csv`), for each collection year: the requests
//! for EHC needs assessment received in the calendar year before the census, and every plan
//! active on census day with the request, assessment and plan it came from, its placement and
//! its needs. COLLECT's integer table ids link the modules; dates are `yyyy-Mon-dd HH:MM:SS`.
//!
//! The same children as MOSAIC and the school census: a child's UPN is the one the census
//! carries, and a plan in a special school names that school's URN.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::census::{blade, census_day, Term};
use super::defects::{DateStyle, Plan};
use super::people::{add_days, age_on, date, nc_year, Ehcp, SchoolKind, World};
use super::rng::{self, chance, int};
use super::writer::{Encoding, Output};
use super::Result;

fn tf(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn ob(d: Option<NaiveDate>) -> String {
    d.map(blade).unwrap_or_default()
}

/// Where a plan places the child on `d`: (URN, UKPRN, SENsetting).
fn setting(w: &World, e: &Ehcp, d: NaiveDate) -> (String, String, String) {
    let p = w.person(e.child);
    let age = age_on(p.dob, d);
    match e.setting {
        "special" => (e.special_school.map(|s| w.schools[s as usize].urn.to_string()).unwrap_or_default(), String::new(), if e.special_school.is_none() { "OLA".into() } else { String::new() }),
        "independent" => (format!("{}", 140_000 + (e.child % 700) * 13 % 9000), String::new(), String::new()),
        "fe" if age >= 19 && e.child % 5 == 0 => (String::new(), String::new(), "NEET".into()),
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

pub fn write(w: &World, out: &mut Output) -> Result<()> {
    for &y in &w.years {
        write_year(w, out, y)?;
    }
    Ok(())
}

struct Files {
    person: super::writer::CsvFile,
    requests: super::writer::CsvFile,
    assessment: super::writer::CsvFile,
    namedplan: super::writer::CsvFile,
    plandetail: super::writer::CsvFile,
    activeplans: super::writer::CsvFile,
    placementdetail: super::writer::CsvFile,
    senneed: super::writer::CsvFile,
}

fn write_year(w: &World, out: &mut Output, y: i32) -> Result<()> {
    let seed = w.seed;
    let la = w.council.la_code;
    let census = census_day(y, Term::Spring);
    let exported = add_days(census, 9);
    let stem = format!("synergy/Blade-Export_{}", exported.format("%d-%m-%Y"));
    let native = format!("{la}SEN2");
    let source = format!("{}", 70_000 + y % 100 * 10);
    let sen2id = format!("{}", 48_000 + y % 100);
    let (from, to) = (date(y - 1, 1, 1), date(y - 1, 12, 31));

    // the return's header
    let cols = ["sen2tableid", "NativeId", "sen2orderseqcolumn", "sourceid", "collection", "year", "referencedate", "sourcelevel", "lea", "softwarecode", "release", "serialno", "datetime", "dmo", "dco", "dsco"];
    let mut f = out.csv(&format!("{stem}_sen2.csv"), &cols, Plan::none(), Encoding::Utf8);
    f.clean_row(vec![sen2id.clone(), native.clone(), "1".into(), source.clone(), "SEN2".into(), y.to_string(), blade(census), "L".into(), la.into(), "Synergy".into(), format!("{}.4.1", y - 1), "1".into(), exported.format("%Y-%b-%d 10:15:42").to_string(), String::new(), String::new(), String::new()]);
    out.close(f)?;

    let blade_csv = |out: &Output, module: &str, table: &str, cols: &[&str], plan: fn(Plan) -> Plan| -> super::writer::CsvFile {
        let names: Vec<&str> = cols.iter().map(|c| schema_name(c)).collect();
        let p = plan(Plan::new(table, DateStyle::Blade, &names));
        out.csv(&format!("{stem}_{module}.csv"), cols, p, Encoding::Utf8)
    };
    let mut files = Files {
        // persons, assessments, named plans and active plans are referred to by other modules:
        // a defect in one would orphan its children, so they get none
        person: blade_csv(out, "person", "sen2_person", &["persontableid", "NativeId", "personorderseqcolumn", "sourceid", "sen2tableid", "surname", "forename", "personbirthdate", "sex", "ethnicity", "postcode", "upn", "uniquelearnernumber", "upnunknown"], |_| Plan::none()),
        requests: blade_csv(
            out,
            "requests",
            "sen2_requests",
            &["requeststableid", "NativeId", "requestsorderseqcolumn", "sourceid", "persontableid", "receiveddate", "requestsource", "rya", "requestoutcomedate", "requestoutcome", "requestmediation", "requesttribunal", "exported"],
            |p| p.dates(&["ReceivedDate"]).required(&["ReceivedDate"]).key(&["requeststableid"]),
        ),
        assessment: blade_csv(out, "assessment", "sen2_assessment", &["assessmenttableid", "NativeId", "assessmentorderseqcolumn", "sourceid", "requeststableid", "assessmentoutcome", "assessmentoutcomedate", "assessmentmediation", "assessmenttribunal", "othermediation", "othertribunal", "week20"], |_| Plan::none()),
        namedplan: blade_csv(out, "namedplan", "sen2_named_plan", &["namedplantableid", "NativeId", "namedplanorderseqcolumn", "sourceid", "assessmenttableid", "startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate", "ceasereason"], |_| Plan::none()),
        plandetail: blade_csv(out, "plandetail", "sen2_plan_detail", &["plandetailtableid", "NativeId", "plandetailorderseqcolumn", "sourceid", "namedplantableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank", "senunitindicator", "resourcedprovisionindicator"], |p| {
            p.key(&["plandetailtableid"])
        }),
        activeplans: blade_csv(out, "activeplans", "sen2_active_plans", &["activeplanstableid", "NativeId", "activeplansorderseqcolumn", "sourceid", "requeststableid", "transferla", "res", "wbp", "reviewmeeting", "reviewoutcome", "reviewdraft", "phasetransferduedate", "phasetransferfinaldate", "lastreview"], |_| Plan::none()),
        placementdetail: blade_csv(
            out,
            "placementdetail",
            "sen2_placement_detail",
            &["placementdetailtableid", "NativeId", "placementdetailorderseqcolumn", "sourceid", "activeplanstableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank", "entrydate", "leavingdate", "attendancepattern", "senunitindicator", "resourcedprovisionindicator", "res", "wbp"],
            |p| p.dates(&["EntryDate"]).key(&["placementdetailtableid"]),
        ),
        senneed: blade_csv(out, "senneed", "sen2_sen_need", &["senneedtableid", "NativeId", "senneedorderseqcolumn", "sourceid", "activeplanstableid", "sentype", "sentyperank"], |p| {
            p.codes(&["SENtype"]).required(&["SENtype", "SENtypeRank"]).key(&["senneedtableid"])
        }),
    };

    // who is in the return: requests received last calendar year, plans active on census day
    let mut by_child: BTreeMap<u32, Vec<&Ehcp>> = BTreeMap::new();
    for e in &w.ehcps {
        let requested = e.request >= from && e.request <= to;
        if requested || e.active_on(census) {
            by_child.entry(e.child).or_default().push(e);
        }
    }
    let (mut n_person, mut n_req, mut n_ass, mut n_plan, mut n_pd, mut n_ap, mut n_pl, mut n_need) = (0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    let base = (y as u32 % 100) * 100_000;
    for (&c, plans) in &by_child {
        let p = w.person(c);
        if p.dob > census {
            continue;
        }
        n_person += 1;
        let person_id = format!("{}", 1_100_000 + base + n_person);
        let upn = p.upn_on(census).map(str::to_string).unwrap_or_default();
        let uln = if upn.is_empty() && age_on(p.dob, census) >= 16 { format!("{:010}", 5_000_000_000u64 + c as u64 * 7) } else { String::new() };
        let unknown = if upn.is_empty() && uln.is_empty() { p.upn_unknown_on(census).to_string() } else { String::new() };
        files.person.clean_row(vec![
            person_id.clone(),
            native.clone(),
            n_person.to_string(),
            source.clone(),
            sen2id.clone(),
            p.surname(),
            p.forename(),
            blade(p.dob),
            p.sex.to_string(),
            p.ethnicity.into(),
            p.postcode.clone(),
            upn,
            uln,
            unknown,
        ]);
        for (i, e) in plans.iter().enumerate() {
            let mut r = rng::item(seed, la, "sen2", (c as u64) << 8 | i as u64);
            n_req += 1;
            let req_id = format!("{}", 2_200_000 + base + n_req);
            let decided = e.decision <= census;
            let outcome = match (decided, e.assess) {
                (false, _) => "",
                (true, Some(true)) => "A",
                (true, _) => "H",
            };
            let source_code = match e.request_source {
                "PA" => "1",
                "SC" => "3",
                _ => if age_on(p.dob, e.request) >= 16 { "2" } else { "4" },
            };
            files.requests.row(vec![
                req_id.clone(),
                native.clone(),
                (i + 1).to_string(),
                source.clone(),
                person_id.clone(),
                blade(e.request),
                source_code.into(),
                tf(false),
                if decided { blade(e.decision) } else { String::new() },
                outcome.into(),
                tf(chance(&mut r, 0.02)),
                tf(false),
                tf(false),
            ]);
            if outcome != "A" {
                continue;
            }
            n_ass += 1;
            let ass_id = format!("{}", 3_300_000 + base + n_ass);
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
            let week20 = e.plan_start.is_some_and(|s| (s - e.request).num_days() <= 140);
            files.assessment.clean_row(vec![ass_id.clone(), native.clone(), "1".into(), source.clone(), req_id.clone(), ass_outcome.into(), ob(ass_date), tf(false), tf(chance(&mut r, 0.03)), tf(false), tf(false), tf(ass_outcome == "Y" && week20)]);
            let Some(start) = e.plan_start.filter(|s| *s <= census) else { continue };
            n_plan += 1;
            let plan_id = format!("{}", 4_400_000 + base + n_plan);
            let ceased = e.ceased.filter(|(d, _)| *d <= census);
            files.namedplan.clean_row(vec![
                plan_id.clone(),
                native.clone(),
                "1".into(),
                source.clone(),
                ass_id.clone(),
                blade(start),
                String::new(),
                String::new(),
                tf(chance(&mut r, 0.12)),
                tf(chance(&mut r, 0.05)),
                tf(chance(&mut r, 0.04)),
                ob(ceased.map(|x| x.0)),
                ceased.map(|x| x.1.to_string()).unwrap_or_default(),
            ]);
            let (urn, ukprn, sensetting) = setting(w, e, start);
            n_pd += 1;
            let resourced = e.setting == "mainstream" && chance(&mut r, 0.08);
            files.plandetail.row(vec![format!("{}", 5_500_000 + base + n_pd), native.clone(), "1".into(), source.clone(), plan_id.clone(), urn, ukprn, sensetting, String::new(), "1".into(), tf(false), tf(resourced)]);
            if !e.active_on(census) {
                continue;
            }
            n_ap += 1;
            let ap_id = format!("{}", 6_600_000 + base + n_ap);
            let last_review = e.reviews.iter().filter(|d| **d <= census).next_back().copied();
            let age = age_on(p.dob, census);
            let transfer_due = if matches!(nc_year(p.dob, census), 6 | 11) { Some(date(y, 2, 15)) } else { None };
            files.activeplans.clean_row(vec![
                ap_id.clone(),
                native.clone(),
                "1".into(),
                source.clone(),
                req_id.clone(),
                String::new(),
                String::new(),
                String::new(),
                ob(last_review),
                if last_review.is_some() { if chance(&mut r, 0.9) { "1".into() } else { "2".into() } } else { String::new() },
                ob(last_review.map(|d| add_days(d, int(&mut r, 10, 40))).filter(|d| *d <= census)),
                ob(transfer_due),
                String::new(),
                ob(last_review),
            ]);
            let (urn, ukprn, sensetting) = setting(w, e, census);
            n_pl += 1;
            let entry = if e.setting == "special" || e.setting == "independent" { start } else { super::people::school_entry(p.dob, if nc_year(p.dob, census) >= 7 { 11 } else { 4 }).min(census) };
            files.placementdetail.row(vec![
                format!("{}", 7_700_000 + base + n_pl),
                native.clone(),
                "1".into(),
                source.clone(),
                ap_id.clone(),
                urn,
                ukprn,
                sensetting,
                String::new(),
                "1".into(),
                blade(entry),
                String::new(),
                if age >= 16 && chance(&mut r, 0.2) { "PT".into() } else { "FT".into() },
                tf(false),
                tf(resourced),
                String::new(),
                String::new(),
            ]);
            let mut needs = vec![e.need];
            if let Some(s) = e.second_need {
                needs.push(s);
            }
            for (rank, nd) in needs.iter().enumerate() {
                n_need += 1;
                files.senneed.row(vec![format!("{}", 8_800_000 + base + n_need), native.clone(), (rank + 1).to_string(), source.clone(), ap_id.clone(), nd.to_string(), (rank + 1).to_string()]);
            }
        }
    }
    let Files { person, requests, assessment, namedplan, plandetail, activeplans, placementdetail, senneed } = files;
    for f in [person, requests, assessment, namedplan, plandetail, activeplans, placementdetail, senneed] {
        out.close(f)?;
    }
    Ok(())
}
