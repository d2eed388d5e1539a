//! The pre-submission report: every flag as CSV or a workbook, and the summary per rule.
//! The report holds the child's id as the file has it (the council needs it to correct the case
//! record); it is written only where the user asks, and never logged.

use std::collections::BTreeMap;
use std::path::Path;

use super::{DfeError, Flag, RuleType};

/// The report's columns, in order.
pub const COLUMNS: [&str; 8] = ["return", "rule", "type", "table", "file", "row", "child", "message"];

fn cells(ret: &str, f: &Flag) -> [String; 8] {
    [
        ret.to_string(),
        f.rule.clone(),
        f.kind.as_str().to_string(),
        f.table.clone(),
        f.file.clone(),
        f.row.map(|r| r.to_string()).unwrap_or_default(),
        f.child.clone().unwrap_or_default(),
        f.message.clone(),
    ]
}

/// Writes `flags` to `path`: `.xlsx` as a workbook, anything else as CSV.
pub fn write(path: &Path, ret: &str, flags: &[Flag]) -> Result<(), DfeError> {
    write_returns(path, &BTreeMap::from([(ret.to_string(), flags.to_vec())]))
}

/// Writes the flags of several returns (by return: `cin`, `ssda903`) to `path`, as [`write`].
pub fn write_returns(path: &Path, by_return: &BTreeMap<String, Vec<Flag>>) -> Result<(), DfeError> {
    let flags: Vec<(&str, &Flag)> = by_return.iter().flat_map(|(r, fs)| fs.iter().map(move |f| (r.as_str(), f))).collect();
    let err = |e: String| DfeError::Report(format!("writing {}: {e}", path.display()));
    let xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        let xerr = |e: rust_xlsxwriter::XlsxError| err(e.to_string());
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let ws = book.add_worksheet();
        ws.set_name("DfE flags").map_err(xerr)?;
        for (c, h) in COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(xerr)?;
        }
        for (r, (ret, f)) in flags.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in cells(ret, f).iter().enumerate() {
                if c == 5 && !v.is_empty() {
                    ws.write_number(r, c as u16, v.parse::<f64>().unwrap_or_default()).map_err(xerr)?;
                } else {
                    ws.write_string(r, c as u16, v).map_err(xerr)?;
                }
            }
        }
        book.save(path).map_err(xerr)?;
    } else {
        let mut w = csv::Writer::from_path(path).map_err(|e| err(e.to_string()))?;
        w.write_record(COLUMNS).map_err(|e| err(e.to_string()))?;
        for (ret, f) in &flags {
            w.write_record(cells(ret, f)).map_err(|e| err(e.to_string()))?;
        }
        w.flush().map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// Per rule: type, how many flags, message — errors first, then queries, by code.
pub fn summary(flags: &[Flag]) -> Vec<(String, RuleType, usize, String)> {
    let mut by: BTreeMap<(u8, String), (RuleType, usize, String)> = BTreeMap::new();
    for f in flags {
        let k = (if f.kind == RuleType::Error { 0 } else { 1 }, f.rule.clone());
        by.entry(k).or_insert((f.kind, 0, f.message.clone())).1 += 1;
    }
    by.into_iter().map(|((_, code), (kind, n, msg))| (code, kind, n, msg)).collect()
}
