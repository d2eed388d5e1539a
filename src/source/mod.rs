//! Read: export files in any of the shapes councils produce, as tables of text rows.
//! CSV in UTF-8 (with or without BOM), Windows-1252 or UTF-16 with a BOM, any delimiter;
//! XLSX/ODS workbooks (one table per sheet); XML documents flattened into tables.

pub mod encoding;
mod csvfile;
mod workbook;
pub mod xml;

use std::path::Path;

pub use encoding::Sniffed;

use crate::config::Limits;

/// One row as received: its row number in the file (spreadsheet row, or XML line) and its fields.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: u64,
    pub fields: csv::StringRecord,
}

/// A stream of rows under one header.
pub trait RowStream: Send {
    /// Up to `max` more rows; `Ok(None)` at the end.
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<RawRow>>, ReadError>;
}

/// One table found in a file: a CSV, a sheet, or the records of one XML path.
pub struct Segment {
    /// Sheet name, XML table, or the file name for CSV.
    pub name: String,
    pub header: Vec<String>,
    /// The table, when the format itself says (XML); otherwise detected from the header.
    pub table: Option<(String, String)>,
    pub rows: Box<dyn RowStream>,
}

/// Facts about a file found while reading it, for the run record.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FileFacts {
    pub format: String,
    pub encoding: String,
    /// Values from an XML document's header (`la`, `year`, …).
    pub context: std::collections::BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the file is empty")]
    Empty,
    #[error("the file looks like UTF-16 text without a byte-order mark; re-save it as UTF-8 (in Excel: Save As › CSV UTF-8)")]
    Utf16NoBom,
    #[error("the file is not text, a workbook or XML (it looks binary); check that the right file was exported")]
    Binary,
    #[error("no header row: the first line is blank")]
    NoHeader,
    #[error("the workbook cannot be opened: {0}")]
    Workbook(String),
    #[error("the XML is not well formed at line {line}: {message}")]
    Xml { line: u64, message: String },
    #[error("the XML document is not one Lantern knows (root element <{0}>); expected one declared in schemas/*/_documents.toml")]
    UnknownXml(String),
    #[error("row {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("row {line}: a quoted field opens here and is never closed before the end of the file; close the quote (\") or remove it, then send the file again (no rows were loaded, so none merged)")]
    UnclosedQuote { line: u64 },
    #[error("{0}; the file was not loaded (the limit is set under [limits] in lantern.toml)")]
    Limit(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The header row of a delimited text file, read from its first 64 KiB only: enough to order the
/// files of a run by the tables they hold before any is read (`None` for anything else). Header
/// names are ASCII, so no detection over the whole file is needed; the reading proper detects.
pub fn peek_header(path: &Path) -> Option<Vec<String>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path).ok()?.take(64 * 1024).read_to_end(&mut head).ok()?;
    let (encoding, bom_len) = encoding_rs::Encoding::for_bom(&head).unwrap_or((encoding_rs::UTF_8, 0));
    let (text, _) = encoding.decode_without_bom_handling(&head[bom_len..]);
    if text.trim_start().starts_with('<') || head.starts_with(b"PK\x03\x04") {
        return None;
    }
    csvfile::header_from(&text)
}

/// Open a file and list the tables it holds.
pub fn open(path: &Path, project: &crate::project::Project, limits: &Limits) -> Result<(Vec<Segment>, FileFacts), ReadError> {
    let sniffed = encoding::sniff_file(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    match sniffed {
        Sniffed::Zip => workbook::open(path, limits),
        Sniffed::Ole => Err(ReadError::Workbook(
            "old binary .xls workbooks are read too, but this one could not be recognised".into(),
        ))
        .or_else(|_| workbook::open(path, limits)),
        Sniffed::Text { encoding, bom_len, is_xml } => {
            if is_xml {
                xml::open(path, encoding, bom_len, project, limits)
            } else {
                csvfile::open(path, &name, encoding, bom_len, limits)
            }
        }
    }
}
