//! Issue 3: one child's UPN seen by MOSAIC (SSDA903), Synergy (SEN2) and the school census becomes
//! one pseudonym, so the three `clean` tables join on the child — and the UPN itself is nowhere.

mod common;
use common::*;

use std::path::Path;

const UPN: &str = "J838201512031"; // valid check letter; the first person of the SEN2 Blade fixture

#[test]
fn a_upn_joins_mosaic_synergy_and_census_on_its_pseudonym() {
    let tmp = tempfile::tempdir().unwrap();
    let (landing, warehouse) = (tmp.path().join("landing/838"), tmp.path().join("warehouse"));
    std::fs::create_dir_all(&landing).unwrap();

    // MOSAIC: a 903 header with the child and one other
    std::fs::write(
        landing.join("header.csv"),
        format!("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n900001,1,14/05/2012,WBRI,{UPN},,\n900002,2,03/11/2016,MWBC,A838201612055,,\n"),
    )
    .unwrap();
    // Synergy: the SEN2 person module as COLLECT's Blade exports it
    let blade = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/synergy/blade/Blade-Export_25-01-2024_person.csv");
    let person = std::fs::read_to_string(&blade).unwrap();
    assert!(person.contains(UPN));
    std::fs::write(landing.join("Blade-Export_25-01-2024_person.csv"), person).unwrap();
    // School census: the first pupil of the shared fixture, given the child's UPN
    let census = std::fs::read_to_string(fixtures().join("school_census/2025_spring_pupilonroll.csv")).unwrap();
    let mut lines = census.lines();
    let header = lines.next().unwrap();
    let upn_at = header.split(',').position(|h| h == "upn").expect("a upn column");
    let mut row: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    row[upn_at] = UPN.to_string();
    std::fs::write(landing.join("2025_spring_pupilonroll.csv"), format!("{header}\n{}\n", row.join(","))).unwrap();

    let root = tmp.path().join("landing");
    ok(&["run", "mosaic", "synergy", "census", "--landing", root.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--as-of", "2025-03-31"]);
    for f in run_records(&warehouse)[0]["files"].as_array().unwrap() {
        assert_eq!(f["status"], "received", "{f}");
        assert_eq!(f["rows_quarantined"], 0, "{f}");
        assert_eq!(f["la"], "838", "{f}");
    }

    let joined = sql_json(
        &warehouse,
        "select h.\"CHILD\" as child, h.\"UPN\" as upn from clean.mosaic.ssda903_header h \
         join clean.synergy.sen2_person s on s.\"UPN\" = h.\"UPN\" \
         join clean.census.pupil_on_roll p on p.upn = h.\"UPN\"",
    );
    assert_eq!(joined.len(), 1, "exactly the one child joins across the three sources: {joined:?}");
    let pseudonym = joined[0]["upn"].as_str().unwrap();
    assert_ne!(pseudonym, UPN);
    assert_eq!(pseudonym.len(), 32, "a keyed pseudonym, not the UPN");

    // and the UPN itself is in no clean file
    for f in all_files(&warehouse.join("clean")) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!bytes.windows(UPN.len()).any(|w| w == UPN.as_bytes()), "{} holds the raw UPN", f.display());
    }
}
