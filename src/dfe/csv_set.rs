//! A return sent as a set of CSV files (the SSDA903: one file per table) → the DfE's tables, as
//! `tables.toml` declares them. Each file is recognised by its header, as the DfE's reader does:
//! the table whose `csv` columns are exactly the file's (in any order). Empty cells are blank; a
//! row keeps the line a spreadsheet shows it at (header = 1).

use std::io::Read;
use std::path::PathBuf;

use super::engine::{Return, Row, TableData, Value};
use super::{Catalog, DfeError};
use crate::source::encoding::{sniff_file, DecodeReader, Sniffed};

/// Reads the CSV files of one return; `name` is how the return is named (its folder), each
/// table's flags name its own file.
pub fn read_csv_set(paths: &[PathBuf], name: &str, catalog: &Catalog) -> Result<Return, DfeError> {
    let mut ret = Return { file: name.to_string(), ..Default::default() };
    for path in paths {
        let file = path.display().to_string();
        let err = |message: String| DfeError::Read { file: file.clone(), message };
        let (encoding, bom_len) = match sniff_file(path).map_err(|e| err(e.to_string()))? {
            Sniffed::Text { encoding, bom_len, is_xml: false } => (encoding, bom_len),
            _ => return Err(err(format!("not a CSV file: the DfE's {} rules read the return's CSV files (or its XML)", catalog.name))),
        };
        let mut text = String::new();
        DecodeReader::new(std::fs::File::open(path).map_err(|e| err(e.to_string()))?, encoding, bom_len)
            .map_err(|e| err(e.to_string()))?
            .read_to_string(&mut text)
            .map_err(|e| err(e.to_string()))?;
        let mut r = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().map_err(|e| err(e.to_string()))?.iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
        let mut sorted = header.clone();
        sorted.sort();
        let decl = catalog
            .tables
            .iter()
            .find(|t| {
                t.csv.as_ref().is_some_and(|c| {
                    let mut c = c.clone();
                    c.sort();
                    c == sorted
                })
            })
            .ok_or_else(|| err(format!("its columns match none of the {} tables the DfE's reader knows", catalog.name)))?;
        if ret.tables.contains_key(&decl.name) {
            return Err(err(format!("a second file of table {} (the other: {})", decl.name, ret.table_files[&decl.name])));
        }
        let at: Vec<Option<usize>> = decl.columns.iter().map(|c| header.iter().position(|h| *h == c.name)).collect();
        let mut rows = vec![];
        // a record's line counted from its byte offset: the csv reader's own count misses the
        // line ends of a file ending its lines in CRLF, whose records it starts at the LF (so the
        // byte at the offset counts too)
        let (mut seen_at, mut seen_lines) = (0usize, 1u64);
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            let line = rec.position().map(|p| {
                let at = (p.byte() as usize + 1).min(text.len());
                seen_lines += text.as_bytes()[seen_at..at].iter().filter(|b| **b == b'\n').count() as u64;
                seen_at = at;
                seen_lines
            });
            let values = at
                .iter()
                .map(|a| match a.and_then(|a| rec.get(a)) {
                    Some(v) if !v.is_empty() => Value::Text(if catalog.upper { v.to_uppercase() } else { v.to_string() }),
                    _ => Value::Null,
                })
                .collect();
            rows.push(Row { index: i as i64, line, values });
        }
        ret.tables.insert(decl.name.clone(), TableData { rows });
        ret.table_files.insert(decl.name.clone(), file);
    }
    members(&mut ret, catalog);
    Ok(ret)
}

/// Columns declared `member = "<table>"`: `1` when the row's child has a row in that table of the
/// set, `0` when not; left blank when the set has no such table.
fn members(ret: &mut Return, catalog: &Catalog) {
    let child_at = |name: &str| catalog.table(name).and_then(|d| d.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&catalog.child)));
    for decl in &catalog.tables {
        for (ci, col) in decl.columns.iter().enumerate() {
            let Some(other) = &col.member else { continue };
            let (Some(mine), Some(theirs)) = (child_at(&decl.name), child_at(other)) else { continue };
            let Some(them) = ret.tables.get(other) else { continue };
            let text = |v: Option<&Value>| match v {
                Some(Value::Text(s)) => Some(s.clone()),
                _ => None,
            };
            let children: std::collections::HashSet<String> = them.rows.iter().filter_map(|r| text(r.values.get(theirs))).collect();
            if let Some(t) = ret.tables.get_mut(&decl.name) {
                for r in &mut t.rows {
                    let is = text(r.values.get(mine)).is_some_and(|c| children.contains(&c));
                    if let Some(v) = r.values.get_mut(ci) {
                        *v = Value::Text(if is { "1" } else { "0" }.into());
                    }
                }
            }
        }
    }
}

/// An SSDA903 return as a folder holds it: the XML (`xml`, when there is one: the tables its
/// `record`s make) and CSV files, each a table the XML does not have (the DfE's XML has no place
/// for social worker episodes or DoLOs), or the whole return as a CSV set. `name` names the return.
pub fn read_set(xml: Option<&std::path::Path>, csvs: &[PathBuf], name: &str, catalog: &Catalog) -> Result<Return, DfeError> {
    let mut ret = read_csv_set(csvs, name, catalog)?;
    let Some(path) = xml else { return Ok(ret) };
    let file = path.display().to_string();
    let x = super::xml::read(path, &file, catalog)?;
    for decl in catalog.tables.iter().filter(|t| t.record.is_some()) {
        if let Some(other) = ret.table_files.get(&decl.name) {
            return Err(DfeError::Read { file: other.clone(), message: format!("table {} is in the XML return too ({file})", decl.name) });
        }
        if let Some(t) = x.tables.get(&decl.name) {
            ret.tables.insert(decl.name.clone(), t.clone());
            ret.table_files.insert(decl.name.clone(), file.clone());
        }
    }
    if ret.year.is_none() {
        ret.year = x.year;
    }
    Ok(ret)
}
