//! The SSDA903 XML (`EXPSSDA903`) lands in the same tables, with the same values, as the CSV set.

mod common;
use common::*;

use std::path::Path;

/// Builds an EXPSSDA903 document from the first `n` children of the fixture CSVs.
fn xml_from_csv(n: usize) -> (String, Vec<String>) {
    let fx = fixtures().join("ssda903");
    let read = |f: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(fx.join(f)).unwrap().trim_start_matches('\u{feff}').lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
    };
    let header = read("header.csv");
    let episodes = read("episodes.csv");
    let children: Vec<Vec<String>> = header[1..=n].to_vec();
    let ids: Vec<String> = children.iter().map(|c| c[0].clone()).collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EXPSSDA903>\n");
    for c in &children {
        x.push_str("  <CHILD>\n    <HEADER>\n");
        for (i, tag) in ["CHILDID", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"].iter().enumerate() {
            x.push_str(&format!("      <{tag}>{}</{tag}>\n", c.get(i).map(String::as_str).unwrap_or("")));
        }
        x.push_str("    </HEADER>\n");
        for e in episodes[1..].iter().filter(|e| e[0] == c[0]) {
            x.push_str("    <EPISODE>\n");
            for (i, tag) in ["DECOM", "RNE", "LS", "CIN", "PL", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"].iter().enumerate() {
                x.push_str(&format!("      <{tag}>{}</{tag}>\n", e.get(i + 1).map(String::as_str).unwrap_or("")));
            }
            x.push_str("    </EPISODE>\n");
        }
        x.push_str("  </CHILD>\n");
    }
    x.push_str("</EXPSSDA903>\n");
    (x, ids)
}

fn rows(warehouse: &Path, table: &str, cols: &str) -> Vec<serde_json::Value> {
    let mut rows = sql_json(warehouse, &format!("select {cols} from clean.mosaic.{table}"));
    rows.sort_by_key(|r| r.to_string());
    rows
}

#[test]
fn xml_and_csv_give_the_same_clean_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (xml, ids) = xml_from_csv(40);
    // XML landing
    let xml_landing = tmp.path().join("xml");
    std::fs::create_dir_all(&xml_landing).unwrap();
    std::fs::write(xml_landing.join("ssda903_2024.xml"), xml).unwrap();
    // CSV landing with the same children
    let csv_landing = tmp.path().join("csv");
    std::fs::create_dir_all(&csv_landing).unwrap();
    for f in ["header.csv", "episodes.csv"] {
        let text = std::fs::read_to_string(fixtures().join("ssda903").join(f)).unwrap();
        let mut lines = text.lines();
        let mut out = vec![lines.next().unwrap().to_string()];
        out.extend(lines.filter(|l| ids.iter().any(|id| l.split(',').next() == Some(id.as_str()))).map(str::to_string));
        std::fs::write(csv_landing.join(f.replace(".csv", "_2024.csv")), out.join("\n") + "\n").unwrap();
    }
    let (wx, wc) = (tmp.path().join("wx"), tmp.path().join("wc"));
    for (landing, wh) in [(&xml_landing, &wx), (&csv_landing, &wc)] {
        ok(&["run", "mosaic", "--landing", landing.to_str().unwrap(), "--warehouse", wh.to_str().unwrap(), "--la", "838"]);
    }
    let header_cols = "CHILD, SEX, DOB, ETHNIC, UPN, la, year";
    let episode_cols = "CHILD, DECOM, RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN, la, year";
    let hx = rows(&wx, "ssda903_header", header_cols);
    assert!(hx.len() > 30, "{} header rows", hx.len());
    assert_eq!(hx, rows(&wc, "ssda903_header", header_cols));
    let ex = rows(&wx, "ssda903_episodes", episode_cols);
    assert!(ex.len() >= 40, "{} episodes", ex.len());
    assert_eq!(ex, rows(&wc, "ssda903_episodes", episode_cols));
    assert_eq!(ex[0]["year"], "2024");
}
