//! Issue 21, through the whole ingest path: two years of SSDA903 CSV returns land in one run, and
//! in the later one a copy of two children's episodes breaks a rule and is quarantined. What the
//! earlier return says about those episodes must survive into the staged episodes and the
//! indicators. The expected values are worked out by hand in the comments (the same situation as
//! council 838 of tests/sql/messy_history.slt, here read from files).

mod common;
use common::*;

use std::path::Path;

const HEADER: &str = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB";
const EPISODES: &str = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN";

fn write(dir: &Path, name: &str, lines: &[&str]) {
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

fn value(warehouse: &Path, id: &str, period_end: &str) -> (Option<f64>, Option<f64>, Option<f64>, String) {
    let rows = sql_json(
        warehouse,
        &format!(
            "SELECT numerator, denominator, value, coverage FROM marts.indicators.indicator_values \
             WHERE la_code = '838' AND indicator_id = '{id}' AND period_end = DATE '{period_end}'"
        ),
    );
    assert_eq!(rows.len(), 1, "{id} at {period_end}: {} rows", rows.len());
    let r = &rows[0];
    (r["numerator"].as_f64(), r["denominator"].as_f64(), r["value"].as_f64(), r["coverage"].as_str().unwrap_or("").to_string())
}

#[test]
fn a_copy_quarantined_in_a_later_903_return_keeps_the_history_the_earlier_return_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing/838");
    std::fs::create_dir_all(&landing).unwrap();
    // A1, born 2010-06-01, in the same foster placement since 2011-03-01: open in 2024; in 2025
    //   the old episode's copy (closed 2024-06-01 by a change of legal status) has an impossible
    //   DECOM (30 February) and is quarantined; the new episode (RNE L, same placement) is clean.
    // B1, born 2012-01-01: residential 2022-01-10 to 2023-12-01, then a move to foster care (U4)
    //   open in 2024; in 2025 that episode's copy (closed 2024-08-01) has PLACE ZZ, no such code,
    //   and is quarantined; the next move (U1, 2024-08-01) is clean.
    // C1, born 2015-01-01, in care from 2023-09-01, open in 2024 and in no row of 2025.
    write(&landing, "ssda903_header_2024.csv", &[HEADER, "A1,1,01/06/2010,WBRI,,,", "B1,2,01/01/2012,WBRI,,,", "C1,1,01/01/2015,WBRI,,,"]);
    write(
        &landing,
        "ssda903_episodes_2024.csv",
        &[
            EPISODES,
            "A1,01/03/2011,S,C2,N1,U1,PR1,,,,,,",
            "B1,10/01/2022,S,C2,N1,K2,PR4,01/12/2023,X1,CARPL,,,",
            "B1,01/12/2023,P,C2,N1,U4,PR4,,,,,,",
            "C1,01/09/2023,S,C2,N1,U1,PR1,,,,,,",
        ],
    );
    write(&landing, "ssda903_header_2025.csv", &[HEADER, "A1,1,01/06/2010,WBRI,,,", "B1,2,01/01/2012,WBRI,,,"]);
    write(
        &landing,
        "ssda903_episodes_2025.csv",
        &[
            EPISODES,
            "A1,30/02/2011,S,C2,N1,U1,PR1,01/06/2024,X1,,,,",
            "A1,01/06/2024,L,E1,N1,U1,PR1,,,,,,",
            "B1,01/12/2023,P,C2,N1,ZZ,PR4,01/08/2024,X1,CARPL,,,",
            "B1,01/08/2024,P,C2,N1,U1,PR1,,,,,,",
        ],
    );
    let warehouse = tmp.path().join("warehouse");
    ok(&["run", "--landing", tmp.path().join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "mosaic", "reference"]);
    let w = warehouse.as_path();

    // the two broken copies, and only they, are quarantined (both in the 2025 return)
    let q = sql_json(w, "SELECT year, _column FROM quarantine.mosaic.ssda903_episodes ORDER BY _column");
    let q: Vec<(String, String)> = q.iter().map(|r| (r["year"].as_str().unwrap().into(), r["_column"].as_str().unwrap_or("").into())).collect();
    assert_eq!(q, vec![("2025".to_string(), "DECOM".to_string()), ("2025".to_string(), "PLACE".to_string())]);

    // the staged episodes: A1's 2011 episode (from 2024) ends 2024-06-01 (rule 1) and the 2024
    // one follows; B1's three episodes, the foster one ending 2024-08-01 (rule 1); C1's ends
    // 2024-04-01 (rule 2, E99): six, and no repair stretched an episode over a gap (rule 5)
    let eps = sql_json(
        w,
        "SELECT CAST(decom AS VARCHAR) AS decom, coalesce(CAST(dec AS VARCHAR), '-') AS dec, coalesce(repair, '-') AS repair \
         FROM marts.staging.care_episodes WHERE la_code = '838' ORDER BY decom",
    );
    let eps: Vec<String> = eps.iter().map(|r| format!("{} {} {}", r["decom"].as_str().unwrap(), r["dec"].as_str().unwrap(), r["repair"].as_str().unwrap())).collect();
    assert_eq!(
        eps,
        vec![
            "2011-03-01 2024-06-01 rule_1",
            "2022-01-10 2023-12-01 -",
            "2023-09-01 2024-04-01 rule_2",
            "2023-12-01 2024-08-01 rule_1",
            "2024-06-01 - -",
            "2024-08-01 - -",
        ]
    );
    // placements: A1 one since 2011 (the RNE L episode is the same placement); B1 three; C1 one
    let pl = sql_json(w, "SELECT CAST(placement_start AS VARCHAR) AS s, placement_type AS t FROM marts.staging.placements WHERE la_code = '838' ORDER BY placement_start");
    let pl: Vec<String> = pl.iter().map(|r| format!("{} {}", r["s"].as_str().unwrap(), r["t"].as_str().unwrap())).collect();
    assert_eq!(pl, vec!["2011-03-01 U1", "2022-01-10 K2", "2023-09-01 U1", "2023-12-01 U4", "2024-08-01 U1"]);

    // in care at 31 March 2024: A1, B1, C1; a month later C1 is not known to be: A1, B1
    assert_eq!(value(w, "cla_at_period_end", "2024-03-31"), (Some(3.0), None, Some(3.0), "full".into()));
    assert_eq!(value(w, "cla_at_period_end", "2024-04-30"), (Some(2.0), None, Some(2.0), "full".into()));
    // C1's end is inferred, not a leaving: nobody ceased in the 12 months to 31 March 2025
    assert_eq!(value(w, "cla_ceased", "2025-03-31"), (Some(0.0), None, Some(0.0), "full".into()));
    // 12 months to 30 September 2024: B1 had K2 (to 2023-12-01), U4 and U1, three; A1 one
    assert_eq!(value(w, "cla_3plus_placements_pct", "2024-09-30"), (Some(1.0), Some(2.0), Some(50.0), "full".into()));
    // 31 March 2025: A1 (14, in care and in one placement since 2011) is stable; B1 (13, in care
    // since January 2022) has been placed since August 2024
    assert_eq!(value(w, "cla_long_term_stability_pct", "2025-03-31"), (Some(1.0), Some(2.0), Some(50.0), "full".into()));
}

/// One SEN2 XML return: `plans` are (UPN, ReceivedDate, StartDate as written) of two children.
fn sen2_xml(year: u32, reference_date: &str, plans: &[(&str, &str, &str)]) -> String {
    let mut persons = String::new();
    for (i, (upn, received, start)) in plans.iter().enumerate() {
        persons.push_str(&format!(
            r#"
    <Person>
      <Surname>Made-up</Surname>
      <Forename>Child{i}</Forename>
      <PersonBirthDate>2012-05-14</PersonBirthDate>
      <Sex>M</Sex>
      <Ethnicity>WBRI</Ethnicity>
      <PostCode>DT1 2QX</PostCode>
      <UPN>{upn}</UPN>
      <Requests>
        <ReceivedDate>{received}</ReceivedDate>
        <RequestSource>1</RequestSource>
        <RYA>0</RYA>
        <RequestOutcomeDate>{received}</RequestOutcomeDate>
        <RequestOutcome>A</RequestOutcome>
        <RequestMediation>0</RequestMediation>
        <RequestTribunal>0</RequestTribunal>
        <Exported>0</Exported>
        <Assessment>
          <AssessmentOutcome>Y</AssessmentOutcome>
          <AssessmentOutcomeDate>{received}</AssessmentOutcomeDate>
          <AssessmentMediation>0</AssessmentMediation>
          <AssessmentTribunal>0</AssessmentTribunal>
          <OtherMediation>0</OtherMediation>
          <OtherTribunal>0</OtherTribunal>
          <Week20>0</Week20>
          <NamedPlan>
            <StartDate>{start}</StartDate>
            <PB>0</PB>
            <OA>0</OA>
            <DP>0</DP>
          </NamedPlan>
        </Assessment>
        <ActivePlans>
          <ReviewMeeting>2022-12-01</ReviewMeeting>
          <ReviewOutcome>1</ReviewOutcome>
        </ActivePlans>
      </Requests>
    </Person>"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails>
      <Collection>SEN2</Collection>
      <Year>{year}</Year>
      <ReferenceDate>{reference_date}</ReferenceDate>
    </CollectionDetails>
    <Source>
      <SourceLevel>L</SourceLevel>
      <LEA>838</LEA>
      <SoftwareCode>Synergy</SoftwareCode>
      <Release>2023.4.1</Release>
      <SerialNo>1</SerialNo>
      <DateTime>{reference_date}T10:15:42</DateTime>
    </Source>
  </Header>
  <Persons>{persons}
  </Persons>
</Message>
"#
    )
}

fn send_value(warehouse: &Path, id: &str, period_end: &str) -> (Option<f64>, Option<f64>, Option<f64>) {
    let rows = sql_json(
        warehouse,
        &format!("SELECT numerator, denominator, value FROM marts.send.indicator_values WHERE la_code = '838' AND indicator_id = '{id}' AND period_end = DATE '{period_end}'"),
    );
    assert_eq!(rows.len(), 1, "{id} at {period_end}: {} rows", rows.len());
    (rows[0]["numerator"].as_f64(), rows[0]["denominator"].as_f64(), rows[0]["value"].as_f64())
}

#[test]
fn a_named_plan_quarantined_in_the_latest_sen2_return_keeps_the_issue_date_earlier_returns_give() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing/838");
    std::fs::create_dir_all(&landing).unwrap();
    // X: requested 2022-03-01, plan issued 2022-06-15 (106 days: within 20 weeks); Y: requested
    // 2022-04-01, issued 2022-10-01 (183 days: late). Both in the 2023 and 2024 returns; in 2024
    // X's named plan has StartDate 2022-06-31, no such day, and is quarantined.
    let (x, y) = ("J838201512031", "Y838201612044");
    std::fs::write(landing.join("sen2_2023.xml"), sen2_xml(2023, "2023-01-19", &[(x, "2022-03-01", "2022-06-15"), (y, "2022-04-01", "2022-10-01")])).unwrap();
    std::fs::write(landing.join("sen2_2024.xml"), sen2_xml(2024, "2024-01-18", &[(x, "2022-03-01", "2022-06-31"), (y, "2022-04-01", "2022-10-01")])).unwrap();
    let warehouse = tmp.path().join("warehouse");
    ok(&["run", "--landing", tmp.path().join("landing").to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "synergy", "reference"]);
    let w = warehouse.as_path();

    let q = sql_json(w, "SELECT year, _column FROM quarantine.synergy.sen2_named_plan");
    assert_eq!(q.len(), 1, "one named plan quarantined: {} rows", q.len());
    assert_eq!((q[0]["year"].as_str(), q[0]["_column"].as_str()), (Some("2024"), Some("StartDate")));

    // 12 months to 31 December 2022: X in time, Y late: 1 of 2 (X's plan was lost before: 0 of 1)
    assert_eq!(send_value(w, "ehcp_issued_within_20wks_pct", "2022-12-31"), (Some(1.0), Some(2.0), Some(50.0)));
    // both plans are still active at the end of 2023: the 2024 return lists X (its active plan
    // and its quarantined named plan), so no end is inferred
    assert_eq!(send_value(w, "ehcp_at_period_end", "2023-12-31"), (Some(2.0), None, Some(2.0)));
    assert_eq!(send_value(w, "ehcna_requests", "2022-12-31"), (Some(2.0), None, Some(2.0)));
}
