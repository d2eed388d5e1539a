//! XLSX and ODS workbooks via calamine: one segment per sheet, header in the first non-empty row.
//! Date cells become ISO dates; formula cells give their cached values; error cells (`#N/A`) are blank.

use std::path::Path;

use calamine::{open_workbook_auto, Data, DataType, Reader, Sheets};

use super::{FileFacts, Limits, RawRow, ReadError, RowStream, Segment};

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

/// Refuses a workbook whose parts would unpack past the limit, before any part is unpacked.
fn check_unpacked_size(path: &Path, limits: &Limits) -> Result<(), ReadError> {
    let Ok(mut zip) = zip::ZipArchive::new(std::fs::File::open(path)?) else {
        return Ok(()); // not a zip (an old .xls): calamine says what it is
    };
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| ReadError::Workbook(e.to_string()))?;
        total = total.saturating_add(entry.size());
    }
    if total > limits.workbook_bytes {
        return Err(ReadError::Limit(format!(
            "the workbook unpacks to {total} bytes, over the limit of {} (workbook_bytes)",
            limits.workbook_bytes
        )));
    }
    Ok(())
}

/// One sheet as sparse rows (row index → its cells by column), read cell by cell so a sheet
/// that declares or spans more than the limit is refused before it is laid out in memory.
fn xlsx_sheet<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Xlsx<RS>,
    sheet: &str,
    limits: &Limits,
) -> Result<Vec<(u32, Vec<(u32, Data)>)>, ReadError> {
    let mut cells = wb.worksheet_cells_reader(sheet).map_err(|e| ReadError::Workbook(format!("sheet {sheet}: {e}")))?;
    let (mut rows, mut text_bytes) = (std::collections::BTreeMap::<u32, Vec<(u32, Data)>>::new(), 0u64);
    let (mut lo, mut hi) = ((u32::MAX, u32::MAX), (0u32, 0u32));
    while let Some(cell) = cells.next_cell().map_err(|e| ReadError::Workbook(format!("sheet {sheet}: {e}")))? {
        if cell.get_value().is_empty() {
            continue;
        }
        let (r, c) = cell.get_position();
        (lo, hi) = ((lo.0.min(r), lo.1.min(c)), (hi.0.max(r), hi.1.max(c)));
        let span = u64::from(hi.0 - lo.0 + 1) * u64::from(hi.1 - lo.1 + 1);
        if span > limits.sheet_cells {
            return Err(ReadError::Limit(format!(
                "sheet {sheet}: its cells span {} rows by {} columns, over the limit of {} cells (sheet_cells)",
                hi.0 - lo.0 + 1,
                hi.1 - lo.1 + 1,
                limits.sheet_cells
            )));
        }
        let value: Data = cell.get_value().clone().into();
        if let Data::String(t) = &value {
            text_bytes += t.len() as u64;
            if t.len() > limits.field_bytes || text_bytes > limits.workbook_bytes {
                return Err(ReadError::Limit(format!(
                    "sheet {sheet}, row {}: the cell text is over the limit ({} bytes in one cell, field_bytes; {} in all, workbook_bytes)",
                    r + 1,
                    limits.field_bytes,
                    limits.workbook_bytes
                )));
            }
        }
        rows.entry(r).or_default().push((c, value));
    }
    Ok(rows.into_iter().collect())
}

pub fn open(path: &Path, limits: &Limits) -> Result<(Vec<Segment>, FileFacts), ReadError> {
    check_unpacked_size(path, limits)?;
    let mut wb = open_workbook_auto(path).map_err(|e| ReadError::Workbook(e.to_string()))?;
    let format = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_else(|| "workbook".into());
    let mut facts = FileFacts { format, encoding: "n/a".into(), ..Default::default() };
    let mut segments = vec![];
    for sheet in wb.sheet_names().to_vec() {
        // (row number, cells by column from the first used column)
        let sparse: Vec<(u32, Vec<(u32, Data)>)> = match &mut wb {
            Sheets::Xlsx(x) => xlsx_sheet(x, &sheet, limits)?,
            other => {
                let range = other.worksheet_range(&sheet).map_err(|e| ReadError::Workbook(format!("sheet {sheet}: {e}")))?;
                let (r0, c0) = range.start().unwrap_or((0, 0));
                range
                    .rows()
                    .enumerate()
                    .map(|(i, r)| (r0 + i as u32, r.iter().enumerate().map(|(j, v)| (c0 + j as u32, v.clone())).collect()))
                    .collect()
            }
        };
        let first_col = sparse.iter().flat_map(|(_, cells)| cells.iter().map(|c| c.0)).min().unwrap_or(0);
        let mut errors = 0usize;
        let mut cells_of = |cells: &[(u32, Data)], width: Option<usize>| -> Vec<String> {
            let last = cells.iter().map(|c| (c.0 - first_col) as usize + 1).max().unwrap_or(0);
            let mut out = vec![String::new(); width.unwrap_or(last)];
            for (c, v) in cells {
                if let Some(slot) = out.get_mut((c - first_col) as usize) {
                    *slot = cell_text(v, &mut errors);
                }
            }
            out
        };
        let mut rows = sparse.iter();
        let mut header = None;
        for (_, r) in rows.by_ref() {
            let cells: Vec<String> = cells_of(r, None).into_iter().map(|c| c.trim().to_string()).collect();
            if cells.iter().any(|c| !c.is_empty()) {
                header = Some(cells);
                break;
            }
        }
        let Some(mut header) = header else { continue };
        while header.last().is_some_and(|h| h.is_empty()) {
            header.pop();
        }
        let mut out = vec![];
        for (row, r) in rows {
            let cells = cells_of(r, Some(header.len()));
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            out.push(RawRow { line: u64::from(*row) + 1, fields: csv::StringRecord::from(cells) });
        }
        if errors > 0 {
            facts.warnings.push(format!("sheet {sheet}: {errors} cells held spreadsheet errors (such as #N/A) and were read as blank"));
        }
        segments.push(Segment { name: sheet, header, table: None, rows: Box::new(SheetRows { rows: out.into_iter() }) });
    }
    Ok((segments, facts))
}
