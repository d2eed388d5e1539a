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
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            let line = rec.position().map(|p| p.line());
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
    Ok(ret)
}
