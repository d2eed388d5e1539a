//! Files under `landing/<LA code>/` (or the landing root, for files about many councils): CSV in
//! UTF-8, UTF-8 with a byte-order mark or Windows-1252, workbook sheets (XLSX) and XML documents,
//! with defects applied record by record as they are written. Every file is recorded for the
//! manifest, with the row Lantern will report for each defect: the spreadsheet row of a CSV or
//! sheet (header = row 1), the line of an XML record's opening tag.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use super::defects::{Applied, Kind, Plan};
use super::rng::{self, Rng};
use super::{io_err, Defect, FileEntry, Result, SynthError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

pub struct Output {
    landing: PathBuf,
    /// `<LA code>/`, or empty for files at the landing root.
    prefix: String,
    /// The council the defect streams are keyed on (`national` at the root).
    la: String,
    seed: u64,
    rate: f64,
    files: Vec<FileEntry>,
    defects: Vec<Defect>,
}

enum Sink {
    Csv { path: PathBuf, buf: Vec<u8>, encoding: Encoding },
    Sheet { name: String, rows: Vec<Vec<String>> },
}

/// One table being written: a CSV file or a workbook sheet.
pub struct TableFile {
    rel: String,
    sink: Sink,
    plan: Plan,
    rng: Rng,
    rate: f64,
    /// Row number of the next row (the header is row 1).
    line: u64,
    defects: Vec<Defect>,
    width: usize,
}

/// A workbook being written: its sheets, in order.
pub struct Workbook {
    rel: String,
    /// The date the workbook says it was created (kept fixed so that files are reproducible).
    created: NaiveDate,
    sheets: Vec<TableFile>,
}

/// An XML document being written, one element a line.
pub struct XmlDoc {
    rel: String,
    path: PathBuf,
    buf: String,
    /// Line number of the next line written.
    line: u64,
    rng: Rng,
    rate: f64,
    defects: Vec<Defect>,
    /// Records Lantern reads from the document (rows, for the manifest).
    rows: u64,
}

impl Output {
    pub fn new(landing: &Path, la: &str, seed: u64, rate: f64) -> Self {
        Output { landing: landing.to_path_buf(), prefix: format!("{la}/"), la: la.to_string(), seed, rate, files: vec![], defects: vec![] }
    }

    /// Files at the landing root: published data about many councils.
    pub fn national(landing: &Path, seed: u64, rate: f64) -> Self {
        Output { landing: landing.to_path_buf(), prefix: String::new(), la: "national".into(), seed, rate, files: vec![], defects: vec![] }
    }

    /// The share of records given a defect.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn defect_stream(&self, rel: &str) -> Rng {
        rng::stream(self.seed, &self.la, &format!("defects:{rel}"))
    }

    fn table(&self, rel: String, sink: Sink, header: &[&str], plan: Plan) -> TableFile {
        let mut f = TableFile { rng: self.defect_stream(&format!("{rel}#{}", sink_name(&sink))), rel, sink, plan, rate: self.rate, line: 1, defects: vec![], width: header.len() };
        f.put(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        f.line = 2;
        f
    }

    /// Start a CSV at `<prefix><rel>` with `header`; rows may get the defects `plan` allows.
    pub fn csv(&self, rel: &str, header: &[&str], plan: Plan, encoding: Encoding) -> TableFile {
        let rel = format!("{}{rel}", self.prefix);
        let sink = Sink::Csv { path: self.landing.join(&rel), buf: Vec::with_capacity(1 << 16), encoding };
        self.table(rel, sink, header, plan)
    }

    /// Start a workbook at `<prefix><rel>`, created on `created`.
    pub fn workbook(&self, rel: &str, created: NaiveDate) -> Workbook {
        Workbook { rel: format!("{}{rel}", self.prefix), created, sheets: vec![] }
    }

    /// Start sheet `name` of `wb` with `header`; rows may get the defects `plan` allows.
    pub fn sheet(&self, wb: &Workbook, name: &str, header: &[&str], plan: Plan) -> TableFile {
        self.table(wb.rel.clone(), Sink::Sheet { name: name.to_string(), rows: vec![] }, header, plan)
    }

    /// Start an XML document at `<prefix><rel>`.
    pub fn xml(&self, rel: &str) -> XmlDoc {
        let rel = format!("{}{rel}", self.prefix);
        XmlDoc { path: self.landing.join(&rel), rng: self.defect_stream(&rel), rel, buf: String::with_capacity(1 << 20), line: 1, rate: self.rate, defects: vec![], rows: 0 }
    }

    fn write_file(&mut self, rel: String, path: &Path, bytes: &[u8], rows: u64, defects: Vec<Defect>) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(path, bytes).map_err(io_err(path))?;
        self.files.push(FileEntry { file: rel, rows, bytes: bytes.len() as u64 });
        self.defects.extend(defects);
        Ok(())
    }

    /// Finish a CSV: encode, write, record.
    pub fn close(&mut self, f: TableFile) -> Result<()> {
        let rows = f.line - 2;
        let Sink::Csv { path, buf, encoding } = f.sink else { panic!("{}: a sheet is closed with its workbook", f.rel) };
        let bytes: Vec<u8> = match encoding {
            Encoding::Utf8 => buf,
            Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], &buf].concat(),
            Encoding::Windows1252 => {
                let text = String::from_utf8(buf).expect("rows are text");
                let (enc, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
                enc.into_owned()
            }
        };
        self.write_file(f.rel, &path, &bytes, rows, f.defects)
    }

    /// Finish a workbook: every sheet, dates as date cells, plain numbers as numbers.
    pub fn close_workbook(&mut self, wb: Workbook) -> Result<()> {
        let xerr = |e: rust_xlsxwriter::XlsxError| SynthError::Options(format!("{}: {e}", wb.rel));
        let mut book = rust_xlsxwriter::Workbook::new();
        let c = wb.created;
        let created = rust_xlsxwriter::ExcelDateTime::from_ymd(c.year() as u16, c.month() as u8, c.day() as u8).map_err(xerr)?;
        book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created).set_author("MOSAIC"));
        book.set_zip_compression_level(1);
        let date_format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let (mut rows, mut defects) = (0, vec![]);
        for f in &wb.sheets {
            let Sink::Sheet { name, rows: cells } = &f.sink else { unreachable!("sheets only") };
            let ws = book.add_worksheet();
            ws.set_name(name).map_err(xerr)?;
            for (r, row) in cells.iter().enumerate() {
                for (col, v) in row.iter().enumerate() {
                    let (r, col) = (r as u32, col as u16);
                    if r == 0 {
                        ws.write_string_with_format(r, col, v, &bold).map_err(xerr)?;
                    } else if v.is_empty() {
                    } else if let Some(d) = dmy_date(v) {
                        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).map_err(xerr)?;
                        ws.write_datetime_with_format(r, col, &d, &date_format).map_err(xerr)?;
                    } else if is_plain_number(v) {
                        ws.write_number(r, col, v.parse::<f64>().expect("a number")).map_err(xerr)?;
                    } else {
                        ws.write_string(r, col, v).map_err(xerr)?;
                    }
                }
            }
            rows += f.line - 2;
            defects.extend(f.defects.iter().cloned());
        }
        let bytes = book.save_to_buffer().map_err(xerr)?;
        let path = self.landing.join(&wb.rel);
        self.write_file(wb.rel, &path, &bytes, rows, defects)
    }

    /// Finish an XML document: write, record.
    pub fn close_xml(&mut self, d: XmlDoc) -> Result<()> {
        self.write_file(d.rel, &d.path, d.buf.as_bytes(), d.rows, d.defects)
    }

    pub fn finish(self) -> (Vec<FileEntry>, Vec<Defect>) {
        (self.files, self.defects)
    }
}

fn sink_name(s: &Sink) -> &str {
    match s {
        Sink::Csv { .. } => "",
        Sink::Sheet { name, .. } => name,
    }
}

/// A valid `dd/mm/yyyy` date.
fn dmy_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    NaiveDate::parse_from_str(v, "%d/%m/%Y").ok()
}

/// A number Excel gives back as written: no sign, no leading zero, no exponent, 15 digits at most.
fn is_plain_number(v: &str) -> bool {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !v.ends_with('.') && digits(int) && (int == "0" || !int.starts_with('0')) && (frac.is_empty() || digits(frac) && !frac.ends_with('0')) && v.len() <= 15
}

fn defect(rel: &str, row: u64, a: Applied) -> Defect {
    Defect { file: rel.to_string(), row, column: a.column, rule: Some(a.rule), kind: a.kind.name().into(), expected: Some("quarantined".into()) }
}

impl Workbook {
    pub fn add(&mut self, f: TableFile) {
        debug_assert!(matches!(f.sink, Sink::Sheet { .. }), "{}: only sheets go in a workbook", f.rel);
        self.sheets.push(f);
    }
}

impl TableFile {
    fn put(&mut self, fields: &[String]) {
        let buf = match &mut self.sink {
            Sink::Sheet { rows, .. } => {
                rows.push(fields.to_vec());
                return;
            }
            Sink::Csv { buf, .. } => buf,
        };
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            debug_assert!(!f.contains('\n') && !f.contains('\r'), "a field with a line break would shift row numbers");
            if f.contains([',', '"']) || f.starts_with(' ') || f.ends_with(' ') {
                buf.push(b'"');
                buf.extend_from_slice(f.replace('"', "\"\"").as_bytes());
                buf.push(b'"');
            } else {
                buf.extend_from_slice(f.as_bytes());
            }
        }
        // LF, not CRLF, as the fixtures
        buf.push(b'\n');
    }

    /// Write a data row, perhaps with a defect.
    pub fn row(&mut self, mut fields: Vec<String>) {
        debug_assert_eq!(fields.len(), self.width, "{}: row width", self.rel);
        let applied = if self.plan.is_empty() { None } else { self.plan.apply(&mut self.rng, self.rate, &mut fields) };
        self.put(&fields);
        let line = self.line;
        self.line += 1;
        if let Some(a) = applied {
            let row = if a.kind == Kind::Duplicate {
                self.put(&fields);
                self.line += 1;
                line + 1
            } else {
                line
            };
            self.defects.push(defect(&self.rel, row, a));
        }
    }

    /// Write a data row as it is: no defect.
    pub fn clean_row(&mut self, fields: Vec<String>) {
        debug_assert_eq!(fields.len(), self.width, "{}: row width", self.rel);
        self.put(&fields);
        self.line += 1;
    }

    /// Write a data row that Lantern lands as it is but that is wrong in a way only a later
    /// step repairs (an episode overlapping the next): listed in the manifest with no rule.
    pub fn noted_row(&mut self, fields: Vec<String>, column: &str, kind: &str, expected: &str) {
        self.defects.push(Defect { file: self.rel.clone(), row: self.line, column: column.into(), rule: None, kind: kind.into(), expected: Some(expected.into()) });
        self.clean_row(fields);
    }
}

impl XmlDoc {
    fn push(&mut self, s: &str) {
        self.line += s.bytes().filter(|&b| b == b'\n').count() as u64;
        self.buf.push_str(s);
    }

    /// Text written as it is (a prolog, a comment), counting its lines.
    pub fn raw(&mut self, s: &str) {
        self.push(s);
    }

    /// `<tag>` on a line of its own; returns its line.
    pub fn open(&mut self, indent: usize, tag: &str) -> u64 {
        let line = self.line;
        self.push(&format!("{:indent$}<{tag}>\n", ""));
        line
    }

    pub fn close(&mut self, indent: usize, tag: &str) {
        self.push(&format!("{:indent$}</{tag}>\n", ""));
    }

    /// `<tag>`, what `body` writes, `</tag>`.
    pub fn element(&mut self, indent: usize, tag: &str, body: impl FnOnce(&mut XmlDoc)) {
        self.open(indent, tag);
        body(self);
        self.close(indent, tag);
    }

    /// A record that holds other elements: `<tag>` (the record's row, with its defect if any),
    /// what `body` writes, `</tag>`.
    pub fn node(&mut self, indent: usize, tag: &str, applied: Option<Applied>, body: impl FnOnce(&mut XmlDoc)) {
        let line = self.open(indent, tag);
        self.record_at(line, applied);
        body(self);
        self.close(indent, tag);
    }

    /// `<tag>value</tag>` on a line of its own (value escaped); `<tag/>` when empty.
    pub fn leaf(&mut self, indent: usize, tag: &str, value: &str) {
        if value.is_empty() {
            self.push(&format!("{:indent$}<{tag}/>\n", ""));
        } else {
            let v = escape(value);
            self.push(&format!("{:indent$}<{tag}>{v}</{tag}>\n", ""));
        }
    }

    /// The leaves of a record, element `tags[i]` holding `values[i]`; empty values are left out
    /// unless `empty` (a schema that always carries the element).
    pub fn leaves(&mut self, indent: usize, tags: &[&str], values: &[String], empty: bool) {
        for (t, v) in tags.iter().zip(values) {
            if empty || !v.is_empty() {
                self.leaf(indent, t, v);
            }
        }
    }

    /// Maybe give a record's values a defect (never a duplicate: see `record`).
    pub fn defect(&mut self, plan: &Plan, values: &mut [String]) -> Option<Applied> {
        if plan.is_empty() {
            return None;
        }
        plan.apply(&mut self.rng, self.rate, values)
    }

    /// A record Lantern reads starts on `line` (with the defect it was given, if any).
    pub fn record_at(&mut self, line: u64, applied: Option<Applied>) {
        self.rows += 1;
        if let Some(a) = applied {
            self.defects.push(defect(&self.rel, line, a));
        }
    }

    /// A record with no children: `<tag>` and its leaves, perhaps with a defect, perhaps twice.
    pub fn record(&mut self, indent: usize, tag: &str, plan: &Plan, tags: &[&str], mut values: Vec<String>, empty: bool) {
        let applied = self.defect(plan, &mut values);
        let dup = applied.as_ref().is_some_and(|a| a.kind == Kind::Duplicate);
        let mut line = self.open(indent, tag);
        self.leaves(indent + 2, tags, &values, empty);
        self.close(indent, tag);
        if dup {
            self.rows += 1;
            line = self.open(indent, tag);
            self.leaves(indent + 2, tags, &values, empty);
            self.close(indent, tag);
        }
        self.record_at(line, applied);
    }

    /// A record whose element is its value (`<CPPreviewDate>2024-01-05</CPPreviewDate>`).
    pub fn value_record(&mut self, indent: usize, tag: &str, plan: &Plan, value: String) {
        let mut values = vec![value];
        let applied = self.defect(plan, &mut values);
        let mut line = self.line;
        self.leaf(indent, tag, &values[0]);
        if applied.as_ref().is_some_and(|a| a.kind == Kind::Duplicate) {
            self.rows += 1;
            line = self.line;
            self.leaf(indent, tag, &values[0]);
        }
        self.record_at(line, applied);
    }

    /// Write a record that Lantern lands as it is but that is wrong in a way only a later step
    /// repairs: listed in the manifest with no rule.
    pub fn note(&mut self, line: u64, column: &str, kind: &str, expected: &str) {
        self.defects.push(Defect { file: self.rel.clone(), row: line, column: column.into(), rule: None, kind: kind.into(), expected: Some(expected.into()) });
    }

    /// The line the next element will start on.
    pub fn line(&self) -> u64 {
        self.line
    }
}

fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains(['&', '<', '>']) {
        v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").into()
    } else {
        v.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_those_excel_gives_back_as_written() {
        for v in ["0", "7", "113456", "6.5", "15.4"] {
            assert!(is_plain_number(v), "{v}");
        }
        for v in ["", "012", "1E5", "-3", "1.50", "7.", "F00012", "Worker 012", "1,234"] {
            assert!(!is_plain_number(v), "{v}");
        }
        assert_eq!(dmy_date("31/03/2025"), NaiveDate::from_ymd_opt(2025, 3, 31));
        assert_eq!(dmy_date("31/02/2025"), None);
        assert_eq!(dmy_date("1/3/2025"), None);
    }
}
