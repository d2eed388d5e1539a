//! XLSX and ODS workbooks via calamine: one segment per sheet, header in the first non-empty row.
//! Date cells become ISO dates; formula cells give their cached values; error cells (`#N/A`) are blank.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::{FileFacts, RawRow, ReadError, RowStream, Segment};

struct SheetRows {
    rows: std::vec::IntoIter<RawRow>,
}

impl RowStream for SheetRows {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<RawRow>>, ReadError> {
        let chunk: Vec<RawRow> = self.rows.by_ref().take(max).collect();
        Ok(if chunk.is_empty() { None } else { Some(chunk) })
    }
}

fn cell_text(c: &Data, errors: &mut usize) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().format("%Y-%m-%d").to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => d.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(_) => {
            *errors += 1;
            String::new()
        }
    }
}

pub fn open(path: &Path) -> Result<(Vec<Segment>, FileFacts), ReadError> {
    let mut wb = open_workbook_auto(path).map_err(|e| ReadError::Workbook(e.to_string()))?;
    let format = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_else(|| "workbook".into());
    let mut facts = FileFacts { format, encoding: "n/a".into(), ..Default::default() };
    let mut segments = vec![];
    for sheet in wb.sheet_names().to_vec() {
        let range = wb.worksheet_range(&sheet).map_err(|e| ReadError::Workbook(format!("sheet {sheet}: {e}")))?;
        let (start_row, _) = range.start().unwrap_or((0, 0));
        let mut errors = 0usize;
        let mut rows = range.rows().enumerate();
        let mut header = None;
        for (i, r) in rows.by_ref() {
            let cells: Vec<String> = r.iter().map(|c| cell_text(c, &mut errors).trim().to_string()).collect();
            if cells.iter().any(|c| !c.is_empty()) {
                header = Some((i, cells));
                break;
            }
        }
        let Some((_, mut header)) = header else { continue };
        while header.last().is_some_and(|h| h.is_empty()) {
            header.pop();
        }
        let mut out = vec![];
        for (i, r) in rows {
            let cells: Vec<String> = r.iter().take(header.len()).map(|c| cell_text(c, &mut errors)).collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            out.push(RawRow { line: start_row as u64 + i as u64 + 1, fields: csv::StringRecord::from(cells) });
        }
        if errors > 0 {
            facts.warnings.push(format!("sheet {sheet}: {errors} cells held spreadsheet errors (such as #N/A) and were read as blank"));
        }
        segments.push(Segment { name: sheet, header, table: None, rows: Box::new(SheetRows { rows: out.into_iter() }) });
    }
    Ok((segments, facts))
}
