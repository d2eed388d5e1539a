//! Text → typed values, one cell at a time, with a reason when a cell cannot be read.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

pub const DATE_MIN_YEAR: i32 = 1900;
pub const DATE_MAX_YEAR: i32 = 2100;

/// Human spelling of a chrono format for messages: `%d/%m/%Y` → `dd/mm/yyyy`.
pub fn describe_format(f: &str) -> String {
    f.replace("%d", "dd")
        .replace("%m", "mm")
        .replace("%Y", "yyyy")
        .replace("%b", "Mon")
        .replace("%H", "HH")
        .replace("%M", "MM")
        .replace("%S", "SS")
}

/// The number the ASCII digits `b[r]` spell (None: a byte that is not a digit).
fn digits(b: &[u8], r: std::ops::Range<usize>) -> Option<u32> {
    b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32))
}

fn dmy_fast(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let num = |r| digits(b, r);
    NaiveDate::from_ymd_opt(num(6..10)? as i32, num(3..5)?, num(0..2)?)
}

/// `yyyy-mm-dd` exactly, as `%Y-%m-%d` reads it (None: anything else, left to chrono).
fn iso_fast(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r| digits(b, r);
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// `yyyy-Mon-dd HH:MM:SS` exactly (MOSAIC's `%Y-%b-%d %H:%M:%S`, month any case), the date
/// part (None: anything else, left to chrono).
fn ymon_d_hms_fast(s: &str) -> Option<NaiveDate> {
    const MONTHS: [&[u8; 3]; 12] = [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[8] != b'-' || b[11] != b' ' || b[14] != b':' || b[17] != b':' {
        return None;
    }
    let num = |r| digits(b, r);
    let mon = [b[5].to_ascii_lowercase(), b[6].to_ascii_lowercase(), b[7].to_ascii_lowercase()];
    let month = MONTHS.iter().position(|m| **m == mon)? as u32 + 1;
    if num(12..14)? > 23 || num(15..17)? > 59 || num(18..20)? > 59 {
        return None;
    }
    NaiveDate::from_ymd_opt(num(0..4)? as i32, month, num(9..11)?)
}

/// The hand-written reader of a format councils' exports use most, if it has one.
fn fast_reader(format: &str) -> Option<fn(&str) -> Option<NaiveDate>> {
    match format {
        "%d/%m/%Y" => Some(dmy_fast),
        "%Y-%m-%d" => Some(iso_fast),
        "%Y-%b-%d %H:%M:%S" => Some(ymon_d_hms_fast),
        _ => None,
    }
}

/// A date in `format` as chrono reads it: a date, or the date of a date and time.
fn chrono_date(s: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, format).ok().or_else(|| NaiveDateTime::parse_from_str(s, format).ok().map(|dt| dt.date()))
}

fn in_range(d: NaiveDate) -> Option<NaiveDate> {
    (DATE_MIN_YEAR..=DATE_MAX_YEAR).contains(&d.year()).then_some(d)
}

/// A date in one of `formats`, or ISO `yyyy-mm-dd` (workbook date cells arrive as ISO), with an
/// optional midnight time part.
pub fn parse_date(s: &str, formats: &[String]) -> Option<NaiveDate> {
    for f in formats {
        let d = fast_reader(f).and_then(|fast| fast(s)).or_else(|| chrono_date(s, f));
        if let Some(d) = d {
            return in_range(d);
        }
    }
    let iso = s.get(..10).and_then(|p| iso_fast(p).or_else(|| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()));
    match iso {
        Some(d) if s.len() == 10 || s[10..].starts_with(['T', ' ']) => in_range(d),
        _ => None,
    }
}

/// A workbook cell that held a date without a date format: days since 1899-12-30.
pub fn excel_serial_date(s: &str) -> Option<NaiveDate> {
    let f: f64 = s.parse().ok()?;
    if !(1.0..=73051.0).contains(&f) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(f.floor() as u64)).and_then(in_range)
}

pub fn parse_timestamp(s: &str, formats: &[String]) -> Option<NaiveDateTime> {
    for f in formats {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt);
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

pub fn parse_integer(s: &str) -> Option<i64> {
    let t = s.replace(',', "");
    t.parse::<i64>().ok().or_else(|| {
        let f: f64 = t.parse().ok()?;
        (f.fract() == 0.0 && f.abs() < 9e15).then_some(f as i64)
    })
}

pub fn parse_float(s: &str) -> Option<f64> {
    s.replace(',', "").parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Exact money: `1,234.50`, `-12`, `(12.30)`, `£5`, into hundredths. More than two decimal places
/// are accepted only when the extra digits are zero.
pub fn parse_decimal(s: &str, scale: u32) -> Option<i128> {
    let mut t = s.trim();
    let mut neg = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        neg = true;
        t = inner.trim();
    }
    if let Some(rest) = t.strip_prefix('-') {
        neg = !neg;
        t = rest.trim_start();
    } else if let Some(rest) = t.strip_prefix('+') {
        t = rest;
    }
    t = t.strip_prefix('£').unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // thousands separators only in groups of three
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() > 1 && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let digits: String = groups.concat();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (keep, extra) = frac.split_at(frac.len().min(scale as usize));
    if extra.chars().any(|c| c != '0') {
        return None;
    }
    let mut v: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    for i in 0..scale as usize {
        v = v.checked_mul(10)? + keep.as_bytes().get(i).map_or(0, |b| (b - b'0') as i128);
    }
    Some(if neg { -v } else { v })
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "t" => Some(true),
        "0" | "false" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_council_formats() {
        let dmy = vec!["%d/%m/%Y".to_string()];
        assert_eq!(parse_date("15/02/2016", &dmy), NaiveDate::from_ymd_opt(2016, 2, 15));
        assert_eq!(parse_date("2016-02-15", &dmy), NaiveDate::from_ymd_opt(2016, 2, 15));
        assert_eq!(parse_date("02/01/20251", &dmy), None);
        assert_eq!(parse_date("31/02/2016", &dmy), None);
        assert_eq!(parse_date("29/02/2024", &dmy), NaiveDate::from_ymd_opt(2024, 2, 29));
        let blade = vec!["%Y-%b-%d %H:%M:%S".to_string()];
        assert_eq!(parse_date("2020-Apr-25 00:00:00", &blade), NaiveDate::from_ymd_opt(2020, 4, 25));
        assert_eq!(describe_format("%d/%m/%Y"), "dd/mm/yyyy");
        assert_eq!(excel_serial_date("44090"), NaiveDate::from_ymd_opt(2020, 9, 16));
        assert_eq!(excel_serial_date("abc"), None);
    }

    /// The hand-written fast paths read what chrono reads, and nothing chrono would refuse: every
    /// day of 1999–2001 and 2024 in each format, and cells that are nearly dates.
    #[test]
    fn fast_date_paths_agree_with_chrono() {
        let mut cells: Vec<String> = vec![];
        let mut d = NaiveDate::from_ymd_opt(1999, 1, 1).unwrap();
        while d < NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() {
            if d.year() < 2002 || d.year() == 2024 {
                cells.push(d.format("%Y-%m-%d").to_string());
                cells.push(d.format("%d/%m/%Y").to_string());
                cells.push(d.format("%Y-%b-%d 00:00:00").to_string());
                cells.push(d.format("%Y-%b-%d 23:59:59").to_string().to_uppercase());
            }
            d = d.succ_opt().unwrap();
        }
        for odd in [
            "2024-02-30", "2024-13-01", "2024-1-05", "2024/01/05", "0000-01-01", "2024-00-10", "abcd-ef-gh", "2024-Feb-30 00:00:00",
            "2024-Foo-01 00:00:00", "2024-feb-01 24:00:00", "2024-feb-01 23:60:00", "2024-feb-01 23:00:60", "2024-feb-01T00:00:00",
            "2024-Feb-1 00:00:00 ", "31/04/2024", "1/04/2024", "+2024-01-01",
        ] {
            cells.push(odd.to_string());
        }
        for c in &cells {
            for f in ["%Y-%m-%d", "%d/%m/%Y", "%Y-%b-%d %H:%M:%S"] {
                if let Some(got) = fast_reader(f).expect("a fast reader")(c) {
                    assert_eq!(Some(got), chrono_date(c, f), "{c} as {f}");
                }
            }
        }
        // and they do read the ordinary cells
        assert!(cells.iter().filter(|c| iso_fast(c).is_some() || dmy_fast(c).is_some() || ymon_d_hms_fast(c).is_some()).count() >= 4 * 4 * 365);
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(parse_decimal("548221", 2), Some(54822100));
        assert_eq!(parse_decimal("1,234.50", 2), Some(123450));
        assert_eq!(parse_decimal("(12.3)", 2), Some(-1230));
        assert_eq!(parse_decimal("-0.05", 2), Some(-5));
        assert_eq!(parse_decimal("1,234.5O", 2), None);
        assert_eq!(parse_decimal("12,34", 2), None);
        assert_eq!(parse_decimal("1.005", 2), None);
        assert_eq!(parse_decimal("1.500", 2), Some(150));
    }
}
