//! Delimited text, any encoding and delimiter, streamed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use encoding_rs::Encoding;

use super::encoding::DecodeReader;
use super::{FileFacts, RawRow, ReadError, RowStream, Segment};

struct CsvRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
}

impl RowStream for CsvRows {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<RawRow>>, ReadError> {
        let mut out = Vec::with_capacity(max.min(8192));
        while out.len() < max {
            let mut rec = csv::StringRecord::new();
            match self.reader.read_record(&mut rec) {
                Ok(true) => {
                    if rec.iter().all(|f| f.trim().is_empty()) {
                        continue; // blank lines carry no row
                    }
                    let line = rec.position().map_or(0, |p| p.line());
                    out.push(RawRow { line, fields: rec });
                }
                Ok(false) => break,
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

pub fn open(path: &Path, name: &str, encoding: &'static Encoding, bom_len: usize) -> Result<(Vec<Segment>, FileFacts), ReadError> {
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
        .from_reader(decoded()?);
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
    Ok((vec![Segment { name: name.to_string(), header, table: None, rows: Box::new(CsvRows { reader }) }], facts))
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
}
