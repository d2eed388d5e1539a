//! Defects: what a row of a table may be given, and the rule Lantern reports for it.
//!
//! Lantern's rule ids (src/validate): a cell that is not a valid date or number is
//! `<table>.<column>.type`; a value outside a code list `<table>.<column>.codes`; a required
//! column left blank `<table>.<column>.required`; a row whose key repeats an earlier row's
//! `<table>.key` (the later row is quarantined). A quarantined row's `_rule` lists every rule
//! it broke, so each defect is chosen to break exactly one: a row gets at most one defect, a
//! duplicate is a copy of a clean row, and tables that other tables refer to (the 903 header,
//! the coding map) get none, because quarantining one of their rows would also quarantine the
//! rows that refer to it.

use super::rng::{chance, int, Rng};

/// The date formats a table is written in, for choosing a date that will not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// dd/mm/yyyy
    Dmy,
    /// yyyy-Mon-dd HH:MM:SS (COLLECT Blade exports)
    Blade,
    /// yyyy-mm-dd (the CIN census and SEN2 XML)
    Iso,
}

/// Which defects each column of a table can carry.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The schema's table name (`ssda903_episodes`), the prefix of its rule ids.
    pub table: String,
    /// (field index, schema column name)
    pub dates: Vec<(usize, String)>,
    pub codes: Vec<(usize, String)>,
    pub required: Vec<(usize, String)>,
    /// Key field indices and the key as Lantern names it (`CHILD, DECOM`).
    pub key: Option<(Vec<usize>, String)>,
    pub style: Option<DateStyle>,
    /// The schema column name of each field of the file, in order.
    names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadDate,
    UnknownCode,
    BlankRequired,
    Duplicate,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::BadDate => "bad_date",
            Kind::UnknownCode => "unknown_code",
            Kind::BlankRequired => "blank_required",
            Kind::Duplicate => "duplicate_row",
        }
    }
}

/// A defect applied to a row: (kind, column, rule).
pub struct Applied {
    pub kind: Kind,
    pub column: String,
    pub rule: String,
}

impl Plan {
    /// A plan for table `table` whose fields hold the schema columns `names`, in order (the
    /// file's header may spell them differently: an alias header).
    pub fn new(table: &str, style: DateStyle, names: &[&str]) -> Self {
        Plan { table: table.to_string(), style: Some(style), names: names.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    /// No defects at all (tables other tables refer to).
    pub fn none() -> Self {
        Plan::default()
    }

    fn find(&self, col: &str) -> (usize, String) {
        let i = self.names.iter().position(|h| h == col).unwrap_or_else(|| panic!("{}: column {col} is not in the file", self.table));
        (i, col.to_string())
    }

    pub fn dates(mut self, cols: &[&str]) -> Self {
        let v: Vec<_> = cols.iter().map(|c| self.find(c)).collect();
        self.dates.extend(v);
        self
    }

    pub fn codes(mut self, cols: &[&str]) -> Self {
        let v: Vec<_> = cols.iter().map(|c| self.find(c)).collect();
        self.codes.extend(v);
        self
    }

    pub fn required(mut self, cols: &[&str]) -> Self {
        let v: Vec<_> = cols.iter().map(|c| self.find(c)).collect();
        self.required.extend(v);
        self
    }

    pub fn key(mut self, cols: &[&str]) -> Self {
        let idx = cols.iter().map(|c| self.find(c).0).collect();
        self.key = Some((idx, cols.join(", ")));
        self
    }

    /// A key of which the record holds only `cols`, the rest coming from its parents (an XML
    /// record under its child): `label` names the whole key, as Lantern does.
    pub fn key_as(mut self, cols: &[&str], label: &str) -> Self {
        let idx = cols.iter().map(|c| self.find(c).0).collect();
        self.key = Some((idx, label.to_string()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.dates.is_empty() && self.codes.is_empty() && self.required.is_empty() && self.key.is_none()
    }

    /// Maybe give `row` a defect (with probability `rate`). Returns what was done; a
    /// `Duplicate` leaves the row as it is and asks the writer to write it twice.
    pub fn apply(&self, r: &mut Rng, rate: f64, row: &mut [String]) -> Option<Applied> {
        if rate <= 0.0 || !chance(r, rate) {
            return None;
        }
        let mut kinds: Vec<Kind> = vec![];
        if !self.dates.is_empty() {
            kinds.push(Kind::BadDate);
        }
        if !self.codes.is_empty() {
            kinds.push(Kind::UnknownCode);
        }
        if !self.required.is_empty() {
            kinds.push(Kind::BlankRequired);
        }
        if let Some((idx, _)) = &self.key {
            if idx.iter().all(|&i| !row[i].trim().is_empty()) {
                kinds.push(Kind::Duplicate);
            }
        }
        if kinds.is_empty() {
            return None;
        }
        let kind = kinds[int(r, 0, kinds.len() as i64 - 1) as usize];
        let pick = |r: &mut Rng, v: &[(usize, String)]| v[int(r, 0, v.len() as i64 - 1) as usize].clone();
        Some(match kind {
            Kind::BadDate => {
                let (i, col) = pick(r, &self.dates);
                row[i] = bad_date(r, self.style.unwrap_or(DateStyle::Dmy));
                Applied { kind, rule: format!("{}.{col}.type", self.table), column: col }
            }
            Kind::UnknownCode => {
                let (i, col) = pick(r, &self.codes);
                row[i] = ["ZZ9", "XQ", "??", "N/K9"][int(r, 0, 3) as usize].to_string();
                Applied { kind, rule: format!("{}.{col}.codes", self.table), column: col }
            }
            Kind::BlankRequired => {
                let (i, col) = pick(r, &self.required);
                row[i] = String::new();
                Applied { kind, rule: format!("{}.{col}.required", self.table), column: col }
            }
            Kind::Duplicate => {
                let cols = self.key.as_ref().map(|k| k.1.clone()).unwrap_or_default();
                Applied { kind, rule: format!("{}.key", self.table), column: cols }
            }
        })
    }
}

/// A date that no parser should accept: an impossible day, a thirteenth month, a five-digit year.
pub fn bad_date(r: &mut Rng, style: DateStyle) -> String {
    let y = int(r, 2015, 2024);
    match (style, int(r, 0, 3)) {
        (DateStyle::Dmy, 0) => format!("31/02/{y}"),
        (DateStyle::Dmy, 1) => format!("{:02}/13/{y}", int(r, 1, 28)),
        (DateStyle::Dmy, 2) => format!("{:02}/{:02}/{y}1", int(r, 1, 28), int(r, 1, 12)),
        (DateStyle::Dmy, _) => format!("{:02}.{:02}.{y}", int(r, 1, 28), int(r, 1, 12)),
        (DateStyle::Blade, 0) => format!("{y}-Feb-30 00:00:00"),
        (DateStyle::Blade, 1) => format!("{y}-Sept-31 00:00:00"),
        (DateStyle::Blade, 2) => format!("{y}1-Mar-03 00:00:00"),
        (DateStyle::Blade, _) => format!("{:02}/{:02}/{y}", int(r, 13, 28), int(r, 13, 28)),
        (DateStyle::Iso, 0) => format!("{y}-02-30"),
        (DateStyle::Iso, 1) => format!("{y}-13-{:02}", int(r, 1, 28)),
        (DateStyle::Iso, 2) => format!("{y}-{:02}-32", int(r, 1, 12)),
        (DateStyle::Iso, _) => format!("{:02}.{:02}.{y}", int(r, 1, 28), int(r, 1, 12)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse::parse_date;

    #[test]
    fn bad_dates_do_not_parse() {
        let mut r = crate::synth::rng::stream(3, "838", "t");
        for _ in 0..200 {
            let d = bad_date(&mut r, DateStyle::Dmy);
            assert_eq!(parse_date(&d, &["%d/%m/%Y".to_string()]), None, "{d}");
            let d = bad_date(&mut r, DateStyle::Blade);
            assert_eq!(parse_date(&d, &["%Y-%b-%d %H:%M:%S".to_string()]), None, "{d}");
            let d = bad_date(&mut r, DateStyle::Iso);
            assert_eq!(parse_date(&d, &["%Y-%m-%d".to_string(), "%Y-%b-%d %H:%M:%S".to_string()]), None, "{d}");
        }
    }
}
