//! Delimited text, any encoding and delimiter, streamed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use encoding_rs::Encoding;

use super::encoding::DecodeReader;
use super::{FileFacts, RawRow, ReadError, RowStream, Segment};

struct CsvRows {
    reader: csv::Reader<LfReader>,
    seen: Arc<Seen>,
    field_bytes: usize,
}

/// How far the parser's input has got: bytes handed out and the last of them; and, for an
/// unclosed quote, the line its quoted field opened on (0 while every quote is closed).
#[derive(Default)]
struct Seen {
    bytes: AtomicU64,
    last: AtomicU8,
    open_quote_line: AtomicU64,
}

/// Where the parser stands in the text, as the csv crate's parser moves (quotes double to
/// escape; a quote that closes early followed by more text goes on as a plain field).
#[derive(Clone, Copy, PartialEq)]
enum QuoteState {
    FieldStart,
    InField,
    InQuotes,
    QuoteInQuotes,
}

/// Follows the quoting of LF-terminated text, to tell whether the file ends inside quotes.
struct QuoteTracker {
    delimiter: u8,
    state: QuoteState,
    line: u64,
    opened: u64,
}

impl QuoteTracker {
    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        let mut i = 0;
        while i < bytes.len() {
            // inside quotes only a quote changes the state, and inside a field only a delimiter
            // or a line break: skip to the next such byte, counting the lines passed
            let skip = match self.state {
                InQuotes => memchr::memchr(b'"', &bytes[i..]),
                InField => memchr::memchr3(self.delimiter, b'\n', b'\r', &bytes[i..]),
                _ => Some(0),
            };
            let k = skip.unwrap_or(bytes.len() - i);
            if k > 0 {
                self.line += bytes[i..i + k].iter().filter(|&&b| b == b'\n').count() as u64;
                i += k;
                continue;
            }
            let b = bytes[i];
            i += 1;
            self.state = match (self.state, b) {
                (FieldStart, b'"') => {
                    self.opened = self.line;
                    InQuotes
                }
                (InQuotes, b'"') => QuoteInQuotes,
                (InQuotes, _) => InQuotes,
                (QuoteInQuotes, b'"') => InQuotes,
                (_, b'\n' | b'\r') => FieldStart,
                (_, d) if d == self.delimiter => FieldStart,
                _ => InField,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }
}

/// Turns CRLF into LF so every record's terminator is one `\n` the parser consumes,
/// which makes "the line a record ends on" exact for both line-ending styles.
struct LfReader {
    inner: Box<dyn Read + Send>,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    held_cr: bool,
    seen: Arc<Seen>,
    quotes: QuoteTracker,
}

impl LfReader {
    fn new(inner: Box<dyn Read + Send>, delimiter: u8) -> Self {
        let quotes = QuoteTracker { delimiter, state: QuoteState::FieldStart, line: 1, opened: 0 };
        LfReader { inner, raw: vec![0; 128 * 1024], out: Vec::new(), pos: 0, held_cr: false, seen: Arc::default(), quotes }
    }
}

impl Read for LfReader {
    fn read(&mut self, dst: &mut [u8]) -> std::io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        while self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                if !std::mem::take(&mut self.held_cr) {
                    if self.quotes.state == QuoteState::InQuotes {
                        self.seen.open_quote_line.store(self.quotes.opened, Ordering::Relaxed);
                    }
                    return Ok(0);
                }
                self.out.push(b'\r'); // a lone CR at the very end
                self.quotes.feed(b"\r");
                break;
            }
            let raw = &self.raw[..n];
            if !self.held_cr && memchr::memchr(b'\r', raw).is_none() {
                self.out.extend_from_slice(raw); // LF line endings: nothing to change
            } else {
                for &b in raw {
                    if std::mem::take(&mut self.held_cr) && b != b'\n' {
                        self.out.push(b'\r');
                    }
                    if b == b'\r' {
                        self.held_cr = true;
                    } else {
                        self.out.push(b);
                    }
                }
            }
            self.quotes.feed(&self.out);
        }
        let k = dst.len().min(self.out.len() - self.pos);
        dst[..k].copy_from_slice(&self.out[self.pos..self.pos + k]);
        self.pos += k;
        self.seen.bytes.fetch_add(k as u64, Ordering::Relaxed);
        self.seen.last.store(dst[k - 1], Ordering::Relaxed);
        Ok(k)
    }
}

impl CsvRows {
    /// The 1-based line a record starts on, as a spreadsheet would number it. The parser's own
    /// start position is taken before it skips empty lines, so count back from where the record
    /// ended: its terminator (unless it is the unterminated last line) and any quoted line breaks.
    fn start_line(&self, rec: &csv::StringRecord) -> u64 {
        let end = self.reader.position();
        let inside = rec.as_slice().bytes().filter(|&b| b == b'\n').count() as u64;
        let unterminated =
            end.byte() == self.seen.bytes.load(Ordering::Relaxed) && self.seen.last.load(Ordering::Relaxed) != b'\n';
        end.line().saturating_sub(inside + u64::from(!unterminated))
    }
}

impl RowStream for CsvRows {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<RawRow>>, ReadError> {
        let mut out = Vec::with_capacity(max.min(8192));
        // each row's record sized as the one before it: one allocation each, not a growing buffer
        let (mut bytes, mut fields) = (256, 16);
        while out.len() < max {
            let mut rec = csv::StringRecord::with_capacity(bytes, fields);
            match self.reader.read_record(&mut rec) {
                Ok(true) => {
                    if rec.iter().all(|f| f.trim().is_empty()) {
                        continue; // blank lines carry no row
                    }
                    // the input ended inside quotes: this and every later record is the merge
                    let opened = self.seen.open_quote_line.load(Ordering::Relaxed);
                    if opened > 0 {
                        return Err(ReadError::UnclosedQuote { line: opened });
                    }
                    let line = self.start_line(&rec);
                    if let Some(i) = rec.iter().position(|f| f.len() > self.field_bytes) {
                        return Err(ReadError::Limit(format!(
                            "row {line}: field {} is {} bytes long, over the limit of {} (field_bytes); often a quote left open",
                            i + 1,
                            rec[i].len(),
                            self.field_bytes
                        )));
                    }
                    (bytes, fields) = (rec.as_slice().len() + 16, rec.len());
                    out.push(RawRow { line, fields: rec });
                }
                Ok(false) => {
                    // the last quoted field never closed: its record swallowed every line after
                    // it, so the file is refused rather than loaded with rows merged
                    let opened = self.seen.open_quote_line.load(Ordering::Relaxed);
                    if opened > 0 {
                        return Err(ReadError::UnclosedQuote { line: opened });
                    }
                    break;
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(ReadError::Csv { line, message: e.to_string() });
                }
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

/// The delimiter that splits the header line into the most fields (outside quotes).
fn sniff_delimiter(line: &str) -> u8 {
    let mut best = (b',', 0usize);
    for d in [b',', b'\t', b';', b'|'] {
        let mut in_quotes = false;
        let mut n = 0;
        for b in line.bytes() {
            if b == b'"' {
                in_quotes = !in_quotes;
            } else if b == d && !in_quotes {
                n += 1;
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// The header of delimited text from the start of a file (`head`, decoded): the first record,
/// split by the delimiter its first line suggests, as `open` reads it.
pub fn header_from(head: &str) -> Option<Vec<String>> {
    let first = head.lines().next()?;
    if first.trim().is_empty() {
        return None;
    }
    let mut reader = csv::ReaderBuilder::new().delimiter(sniff_delimiter(first)).flexible(true).has_headers(false).from_reader(head.as_bytes());
    let mut rec = csv::StringRecord::new();
    reader.read_record(&mut rec).ok()?.then(|| rec.iter().map(|h| h.trim().to_string()).collect())
}

pub fn open(path: &Path, name: &str, encoding: &'static Encoding, bom_len: usize, limits: &super::Limits) -> Result<(Vec<Segment>, FileFacts), ReadError> {
    let decoded = || -> Result<Box<dyn Read + Send>, ReadError> {
        let f = std::fs::File::open(path)?;
        Ok(Box::new(DecodeReader::new(BufReader::with_capacity(256 * 1024, f), encoding, bom_len)?))
    };
    let mut first = String::new();
    BufReader::new(decoded()?).read_line(&mut first)?;
    if first.trim().is_empty() {
        return Err(ReadError::NoHeader);
    }
    let delimiter = sniff_delimiter(&first);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(256 * 1024)
        .from_reader(LfReader::new(decoded()?, delimiter));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ReadError::Csv { line: 1, message: e.to_string() })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let facts = FileFacts {
        format: match delimiter {
            b'\t' => "tsv".into(),
            b',' => "csv".into(),
            d => format!("csv ({})", d as char),
        },
        encoding: format!("{}{}", encoding.name(), if bom_len > 0 { " with BOM" } else { "" }),
        ..Default::default()
    };
    let seen = reader.get_ref().seen.clone();
    Ok((vec![Segment { name: name.to_string(), header, table: None, rows: Box::new(CsvRows { reader, seen, field_bytes: limits.field_bytes }) }], facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("a,b,c"), b',');
        assert_eq!(sniff_delimiter("a;b;c"), b';');
        assert_eq!(sniff_delimiter("a\tb\t\"x,y\""), b'\t');
    }

    fn lines_of(data: &str) -> Vec<(u64, Vec<String>)> {
        read_all(data).unwrap()
    }

    fn read_all(data: &str) -> Result<Vec<(u64, Vec<String>)>, ReadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, data).unwrap();
        let limits = super::super::Limits { field_bytes: 64, ..Default::default() };
        let (mut segs, _) = open(&path, "t.csv", encoding_rs::UTF_8, 0, &limits).unwrap();
        let mut got = Vec::new();
        while let Some(rows) = segs[0].rows.next_chunk(2)? {
            got.extend(rows.into_iter().map(|r| (r.line, r.fields.iter().map(str::to_string).collect())));
        }
        Ok(got)
    }

    #[test]
    fn a_quote_left_open_to_the_end_refuses_the_file_naming_its_line() {
        let header = "CHILD,SEX,DOB\n";
        let rows: String = (1..=9).map(|i| format!("{i},1,01/01/2010\n")).collect();
        let bad = format!("{header}10,1,01/01/2010\n\"11,1,01/01/2010\n{rows}");
        match read_all(&bad) {
            Err(ReadError::UnclosedQuote { line }) => assert_eq!(line, 3),
            other => panic!("expected an unclosed quote at line 3, got {other:?}"),
        }
        // CRLF, and the quote in the last column
        let bad = "A,B\r\n1,\"x\r\n2,y\r\n";
        assert!(matches!(read_all(bad), Err(ReadError::UnclosedQuote { line: 2 })), "{:?}", read_all(bad));
        // closed quotes, escaped quotes, quotes inside a plain field and line breaks in quotes load
        let good = "A,B\n1,\"say \"\"hi\"\"\"\n2,5'10\"\n3,\"two\nlines\"\n";
        let got = read_all(good).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1[1], "say \"hi\"");
        assert_eq!(got[1].1[1], "5'10\"");
        assert_eq!(got[2].1[1], "two\nlines");
    }

    #[test]
    fn a_field_past_the_limit_refuses_the_file() {
        let long = "x".repeat(65);
        match read_all(&format!("A,B\n1,2\n3,{long}\n")) {
            Err(ReadError::Limit(m)) => assert!(m.starts_with("row 3: field 2 is 65 bytes"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_carry_their_spreadsheet_line_for_any_line_ending() {
        let want = |last: &str| {
            vec![
                (2, vec!["a".to_string(), "b".into()]),
                (3, vec!["c".to_string(), "d\ne".into()]),
                (7, vec!["f".to_string(), last.into()]),
            ]
        };
        assert_eq!(lines_of("h1,h2\na,b\nc,\"d\ne\"\n\n\nf,g\n"), want("g"));
        assert_eq!(lines_of("h1,h2\r\na,b\r\nc,\"d\r\ne\"\r\n\r\n\r\nf,g\r\n"), want("g"));
        assert_eq!(lines_of("h1,h2\na,b\nc,\"d\ne\"\n\n\nf,g"), want("g"), "unterminated last line");
        assert_eq!(lines_of("h1,h2\r\na,b\r\nc,\"d\r\ne\"\r\n\r\n\r\nf,g"), want("g"));
        assert_eq!(lines_of("h1,h2\r\na,b\r\nc,\"d\ne\"\r\n\r\n\r\nf,\"g\r\"\r\n").len(), 3);
    }
}
