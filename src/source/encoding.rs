//! What a file is and how its text is encoded: detected, not assumed.

use std::io::Read;
use std::path::Path;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::ReadError;

#[derive(Debug, Clone, Copy)]
pub enum Sniffed {
    /// XLSX or ODS (a zip container).
    Zip,
    /// Legacy binary .xls.
    Ole,
    Text { encoding: &'static Encoding, bom_len: usize, is_xml: bool },
}

/// Look at a file's bytes: container, BOM, UTF-16 without BOM, binary, and for text without a BOM,
/// UTF-8 if every byte sequence is valid UTF-8, else the legacy encoding chardetng guesses
/// (Windows-1252 for English exports).
pub fn sniff_file(path: &Path) -> Result<Sniffed, ReadError> {
    let mut f = std::fs::File::open(path)?;
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut f, &mut head)?;
    head.truncate(n);
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ReadError::Empty);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Sniffed::Zip);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Sniffed::Ole);
    }
    let (encoding, bom_len) = match Encoding::for_bom(&head) {
        Some((e, len)) => (e, len),
        None => {
            if looks_utf16(&head) {
                return Err(ReadError::Utf16NoBom);
            }
            if head.contains(&0) || control_share(&head) > 0.05 {
                return Err(ReadError::Binary);
            }
            (detect_8bit(path)?, 0)
        }
    };
    let is_xml = {
        let (text, _) = encoding.decode_without_bom_handling(&head[bom_len..]);
        text.trim_start().starts_with('<')
    };
    Ok(Sniffed::Text { encoding, bom_len, is_xml })
}

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn looks_utf16(b: &[u8]) -> bool {
    if b.len() < 4 {
        return false;
    }
    let pairs = b.len() / 2;
    let even_nuls = (0..pairs).filter(|i| b[2 * i] == 0).count();
    let odd_nuls = (0..pairs).filter(|i| b[2 * i + 1] == 0).count();
    let most = pairs * 3 / 10;
    (odd_nuls > most && even_nuls <= pairs / 20) || (even_nuls > most && odd_nuls <= pairs / 20)
}

fn control_share(b: &[u8]) -> f64 {
    let ctl = b.iter().filter(|&&c| c < 0x20 && !matches!(c, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    ctl as f64 / b.len().max(1) as f64
}

/// UTF-8 when the whole file is valid UTF-8; otherwise chardetng's guess over the file. Checking
/// UTF-8 is a fast pass; chardetng (slow, byte by byte) only reads a file that is not UTF-8.
fn detect_8bit(path: &Path) -> Result<&'static Encoding, ReadError> {
    if is_utf8_file(path)? {
        return Ok(UTF_8);
    }
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    loop {
        let n = read_full(&mut f, &mut buf)?;
        let last = n < buf.len();
        det.feed(&buf[..n], last);
        if last {
            break;
        }
    }
    let guess = det.guess(Some(b"uk"), chardetng::Utf8Detection::Allow);
    Ok(if guess == UTF_8 || guess == UTF_16LE || guess == UTF_16BE { encoding_rs::WINDOWS_1252 } else { guess })
}

/// Whether every byte sequence of the file is valid UTF-8 (a character may straddle two reads).
fn is_utf8_file(path: &Path) -> Result<bool, ReadError> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    loop {
        let n = read_full(&mut f, &mut buf[carry..])?;
        let last = carry + n < buf.len();
        let chunk = &buf[..carry + n];
        match std::str::from_utf8(chunk) {
            Ok(_) => carry = 0,
            // an incomplete character at the end of a full buffer: carried to the next read
            Err(e) if e.error_len().is_none() && !last => {
                let from = e.valid_up_to();
                let k = chunk.len() - from;
                buf.copy_within(from..from + k, 0);
                carry = k;
            }
            Err(_) => return Ok(false),
        }
        if last {
            return Ok(true);
        }
    }
}

/// A reader that turns bytes in any encoding into UTF-8, streaming.
pub struct DecodeReader<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    inbuf: Vec<u8>,
    in_start: usize,
    in_end: usize,
    outbuf: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    passthrough: bool,
}

impl<R: Read> DecodeReader<R> {
    /// `skip` bytes (a BOM) are dropped first.
    pub fn new(mut inner: R, encoding: &'static Encoding, skip: usize) -> std::io::Result<Self> {
        let mut bom = vec![0; skip];
        inner.read_exact(&mut bom)?;
        Ok(DecodeReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            inbuf: vec![0; 64 * 1024],
            in_start: 0,
            in_end: 0,
            outbuf: vec![0; 3 * 64 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            passthrough: encoding == UTF_8,
        })
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.passthrough {
            return self.inner.read(buf);
        }
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.outbuf[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.eof && self.in_start == self.in_end {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.inbuf)?;
                self.in_start = 0;
                self.in_end = n;
                if n == 0 {
                    self.eof = true;
                }
            }
            let (_, read, written, _) = self.decoder.decode_to_utf8(
                &self.inbuf[self.in_start..self.in_end],
                &mut self.outbuf,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && written == 0 && self.in_start == self.in_end {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> Result<Sniffed, ReadError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        std::fs::write(&p, bytes).unwrap();
        sniff_file(&p)
    }

    #[test]
    fn utf8_characters_straddling_two_reads_are_utf8_and_a_bad_byte_anywhere_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        for at in [(1 << 20) - 1, (1 << 20) - 2, 1 << 20, (2 << 20) - 1] {
            let mut b = vec![b'a'; at];
            b.extend("é€".as_bytes());
            b.extend(vec![b'b'; 10]);
            std::fs::write(&p, &b).unwrap();
            assert!(is_utf8_file(&p).unwrap(), "a character at byte {at}");
            let cut = b.len() - 11; // the last byte of '€' alone is not UTF-8
            b.remove(cut - 1);
            std::fs::write(&p, &b).unwrap();
            assert!(!is_utf8_file(&p).unwrap(), "a broken character at byte {at}");
        }
    }

    #[test]
    fn detects_encodings() {
        let enc = |b: &[u8]| match sniff_bytes(b).unwrap() {
            Sniffed::Text { encoding, bom_len, .. } => (encoding.name(), bom_len),
            other => panic!("{other:?}"),
        };
        assert_eq!(enc(b"\xEF\xBB\xBFCHILD,DOB\n1,2\n"), ("UTF-8", 3));
        assert_eq!(enc(b"CHILD,DOB\n1,2\n"), ("UTF-8", 0));
        assert_eq!(enc(b"LA,Desc\n201,Children\x92s services\n"), ("windows-1252", 0));
        assert_eq!(enc(b"\xFF\xFEC\x00H\x00\n\x00"), ("UTF-16LE", 2));
        assert!(matches!(sniff_bytes(b"C\x00H\x00I\x00L\x00D\x00,\x00D\x00"), Err(ReadError::Utf16NoBom)));
        assert!(matches!(sniff_bytes(b"\x00\x01\x02\x03\x04binary\x00\x00"), Err(ReadError::Binary)));
        assert!(matches!(sniff_bytes(b""), Err(ReadError::Empty)));
    }

    #[test]
    fn decodes_windows_1252_streaming() {
        let mut r = DecodeReader::new(&b"Children\x92s"[..], encoding_rs::WINDOWS_1252, 0).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "Children’s");
    }
}
