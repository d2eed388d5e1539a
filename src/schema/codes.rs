//! Shared code lists (`schemas/codes/<set>.toml`): the codes, their labels, the aliases
//! councils write instead, and the collection years each code is valid in.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

use super::header_key;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeList {
    #[serde(default)]
    pub title: String,
    /// code → label
    pub codes: BTreeMap<String, String>,
    /// other spellings → code (matched ignoring case, spaces and punctuation)
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// code → collection years it is valid in
    #[serde(default)]
    pub valid: BTreeMap<String, Validity>,
    /// Whether `a) 1A: Individual`-style strings may be reduced to their code (default true).
    #[serde(default = "yes")]
    pub reduce: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validity {
    /// First collection year the code is valid in.
    pub from: Option<i32>,
    /// Last collection year the code is valid in.
    pub until: Option<i32>,
}

/// One file of code lists, e.g. `ssda903.toml` holding `rne`, `ls`, `place` …
pub type CodeSet = BTreeMap<String, CodeList>;

/// A code list made ready for matching.
#[derive(Debug, Clone)]
pub struct CompiledCodes {
    pub name: String,
    pub list: CodeList,
    /// The codes as written, hashed: most cells hold a code exactly.
    exact: foldhash::HashSet<String>,
    lookup: HashMap<String, String>,
}

/// All code lists, by `set.list` name.
#[derive(Debug, Clone, Default)]
pub struct Codebook {
    lists: HashMap<String, CompiledCodes>,
}

impl Codebook {
    pub fn insert_set(&mut self, set: &str, lists: CodeSet) {
        for (name, list) in lists {
            let full = format!("{set}.{name}");
            let mut lookup = HashMap::new();
            for (code, label) in &list.codes {
                lookup.insert(header_key(label), code.clone());
            }
            for (alias, code) in &list.aliases {
                lookup.insert(header_key(alias), code.clone());
            }
            // codes last, so that a code always wins over a label that spells the same
            for code in list.codes.keys() {
                lookup.insert(header_key(code), code.clone());
            }
            let exact = list.codes.keys().cloned().collect();
            self.lists.insert(full.clone(), CompiledCodes { name: full, list, exact, lookup });
        }
    }

    pub fn get(&self, name: &str) -> Option<&CompiledCodes> {
        self.lists.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.lists.keys()
    }
}

/// Why a value is not a code.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeError {
    Unknown,
    NotInYear { code: String, year: i32, validity: String },
}

impl CompiledCodes {
    /// Reduce a value as written to its code: exact code, alias, label, or
    /// `a) 1A: Individual` / `N1 - Abuse or neglect` style strings.
    pub fn normalise(&self, raw: &str, year: Option<i32>) -> Result<&str, CodeError> {
        let code = match self.exact.get(raw) {
            Some(k) => k.as_str(),
            None => self.lookup_code(raw).ok_or(CodeError::Unknown)?,
        };
        if let (Some(year), Some(v)) = (year, self.list.valid.get(code)) {
            let ok = v.from.is_none_or(|f| year >= f) && v.until.is_none_or(|u| year <= u);
            if !ok {
                let validity = match (v.from, v.until) {
                    (Some(f), Some(u)) => format!("valid {f}–{u}"),
                    (Some(f), None) => format!("valid from {f}"),
                    (None, Some(u)) => format!("withdrawn after {u}"),
                    (None, None) => String::new(),
                };
                return Err(CodeError::NotInYear { code: code.to_string(), year, validity });
            }
        }
        Ok(code)
    }

    fn lookup_code(&self, raw: &str) -> Option<&str> {
        let key = header_key(raw);
        // punctuation alone (`*`, `-`) is no code, even where a code is punctuation (`/`)
        if key.is_empty() {
            return None;
        }
        if let Some(c) = self.lookup.get(&key) {
            return Some(c);
        }
        if !self.list.reduce {
            return None;
        }
        // "a) 1A: Individual" → "1A: Individual"
        let mut s = raw.trim();
        if let Some(pos) = s.find(')') {
            let prefix = &s[..pos];
            if !prefix.is_empty() && prefix.len() <= 2 && prefix.chars().all(|c| c.is_ascii_alphabetic()) {
                s = s[pos + 1..].trim_start();
                if let Some(c) = self.lookup.get(&header_key(s)) {
                    return Some(c);
                }
            }
        }
        // "1A: Individual", "N1 - Abuse or neglect", "PR4 - Private provision", "E1: Placement order"
        let token = s.split([':', ' ', '\u{a0}', '-', '–']).next().unwrap_or("").trim();
        if !token.is_empty() {
            let tk = header_key(token);
            if self.list.codes.keys().any(|c| header_key(c) == tk) {
                return self.lookup.get(&tk).map(String::as_str);
            }
        }
        None
    }

    /// A short list of valid codes for messages.
    pub fn expected(&self) -> String {
        let codes: Vec<&str> = self.list.codes.keys().map(String::as_str).collect();
        if codes.len() <= 12 {
            codes.join(", ")
        } else {
            format!("{}, … ({} codes)", codes[..10].join(", "), codes.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Codebook {
        let set: CodeSet = toml::from_str(
            r#"
            [source]
            title = "Referral source"
            codes = { "1A" = "Individual", "2A" = "Schools", "6" = "Police" }
            [sex]
            codes = { M = "Male", F = "Female", U = "Unknown" }
            aliases = { "1" = "M", "2" = "F" }
            [place]
            codes = { K3 = "Registered supported accommodation", P2 = "Independent living", U1 = "Foster" }
            valid = { K3 = { from = 2025 }, P2 = { until = 2024 } }
            "#,
        )
        .unwrap();
        let mut b = Codebook::default();
        b.insert_set("t", set);
        b
    }

    #[test]
    fn reduces_annex_a_style_strings_to_codes() {
        let b = book();
        let src = b.get("t.source").unwrap();
        assert_eq!(src.normalise("a) 1A: Individual", None).unwrap(), "1A");
        assert_eq!(src.normalise("q) 6: Police", None).unwrap(), "6");
        assert_eq!(src.normalise("2a", None).unwrap(), "2A");
        assert_eq!(src.normalise("Schools", None).unwrap(), "2A");
        assert_eq!(src.normalise("Hospital", None), Err(CodeError::Unknown));
        let sex = b.get("t.sex").unwrap();
        assert_eq!(sex.normalise("b) Female", None).unwrap(), "F");
        assert_eq!(sex.normalise("1", None).unwrap(), "M");
    }

    #[test]
    fn codes_are_checked_against_the_collection_year() {
        let b = book();
        let place = b.get("t.place").unwrap();
        assert!(place.normalise("K3", Some(2024)).is_err());
        assert_eq!(place.normalise("K3", Some(2025)).unwrap(), "K3");
        assert_eq!(place.normalise("P2", Some(2024)).unwrap(), "P2");
        assert!(matches!(place.normalise("P2", Some(2025)), Err(CodeError::NotInYear { .. })));
        assert_eq!(place.normalise("P2", None).unwrap(), "P2");
    }
}
