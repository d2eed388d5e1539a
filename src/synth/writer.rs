//! Files under `landing/<LA code>/`: CSV in UTF-8, UTF-8 with a byte-order mark or
//! Windows-1252, with defects applied row by row as the rows are written; and whole documents
//! (XML) written as they are. Every file is recorded for the manifest.

use std::path::{Path, PathBuf};

use super::defects::{Kind, Plan};
use super::rng::{self, Rng};
use super::{io_err, Defect, FileEntry, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

pub struct Output {
    landing: PathBuf,
    la: String,
    seed: u64,
    rate: f64,
    files: Vec<FileEntry>,
    defects: Vec<Defect>,
}

/// One CSV file being written.
pub struct CsvFile {
    rel: String,
    path: PathBuf,
    buf: Vec<u8>,
    encoding: Encoding,
    plan: Plan,
    rng: Rng,
    rate: f64,
    /// Line number of the next row (the header is line 1).
    line: u64,
    defects: Vec<Defect>,
    width: usize,
}

impl Output {
    pub fn new(landing: &Path, la: &str, seed: u64, rate: f64) -> Self {
        Output { landing: landing.to_path_buf(), la: la.to_string(), seed, rate, files: vec![], defects: vec![] }
    }

    /// Start a CSV at `landing/<la>/<rel>` with `header`; rows may get the defects `plan` allows.
    pub fn csv(&self, rel: &str, header: &[&str], plan: Plan, encoding: Encoding) -> CsvFile {
        let rel = format!("{}/{rel}", self.la);
        let mut f = CsvFile {
            path: self.landing.join(&rel),
            rng: rng::stream(self.seed, &self.la, &format!("defects:{rel}")),
            rel,
            buf: Vec::with_capacity(1 << 16),
            encoding,
            plan,
            rate: self.rate,
            line: 2,
            defects: vec![],
            width: header.len(),
        };
        f.put(header.iter().map(|s| s.to_string()).collect::<Vec<_>>().as_slice());
        f
    }

    /// Finish a CSV: encode, write, record.
    pub fn close(&mut self, f: CsvFile) -> Result<()> {
        let bytes: Vec<u8> = match f.encoding {
            Encoding::Utf8 => f.buf,
            Encoding::Utf8Bom => {
                let mut b = vec![0xEF, 0xBB, 0xBF];
                b.extend_from_slice(&f.buf);
                b
            }
            Encoding::Windows1252 => {
                let text = String::from_utf8(f.buf).expect("rows are text");
                let (enc, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
                enc.into_owned()
            }
        };
        if let Some(dir) = f.path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(&f.path, &bytes).map_err(io_err(&f.path))?;
        self.files.push(FileEntry { file: f.rel, rows: f.line - 2, bytes: bytes.len() as u64 });
        self.defects.extend(f.defects);
        Ok(())
    }

    /// Write a whole document (XML) of `rows` records.
    pub fn document(&mut self, rel: &str, text: &str, rows: u64) -> Result<()> {
        let rel = format!("{}/{rel}", self.la);
        let path = self.landing.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(&path, text).map_err(io_err(&path))?;
        self.files.push(FileEntry { file: rel, rows, bytes: text.len() as u64 });
        Ok(())
    }

    pub fn finish(self) -> (Vec<FileEntry>, Vec<Defect>) {
        (self.files, self.defects)
    }
}

impl CsvFile {
    fn put(&mut self, fields: &[String]) {
        let mut first = true;
        for f in fields {
            if !first {
                self.buf.push(b',');
            }
            first = false;
            debug_assert!(!f.contains('\n') && !f.contains('\r'), "a field with a line break would shift row numbers");
            if f.contains([',', '"']) || f.starts_with(' ') || f.ends_with(' ') {
                self.buf.push(b'"');
                self.buf.extend_from_slice(f.replace('"', "\"\"").as_bytes());
                self.buf.push(b'"');
            } else {
                self.buf.extend_from_slice(f.as_bytes());
            }
        }
        // LF, not CRLF: Lantern numbers CRLF rows one short (reported)
        self.buf.push(b'\n');
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
            self.defects.push(Defect { file: self.rel.clone(), row, column: a.column, rule: a.rule, kind: a.kind.name().into() });
        }
    }

    /// Write a data row as it is: no defect.
    pub fn clean_row(&mut self, fields: Vec<String>) {
        debug_assert_eq!(fields.len(), self.width, "{}: row width", self.rel);
        self.put(&fields);
        self.line += 1;
    }
}

