//! The DfE's validation rules for statutory returns, declaratively (issue 17).
//!
//! The flow: `rules/<return>/tables.toml` says how a return's file becomes the DfE's tables (the
//! tables the DfE's own validator builds: `ChildIdentifiers`, `CINdetails`, …); one TOML file per
//! rule holds its code, type, message, fields, tables, years and its logic as SQL over those
//! tables; `rules/<return>/rulesets.toml` says which rules each collection year runs (inherit,
//! add, change, remove). [`read`] turns a file into a [`Return`], [`check`] runs a rule set over
//! it in DataFusion and gives [`Flag`]s, [`report`] writes them as CSV or a workbook.
//!
//! A rule's SQL reads the tables by their lower-cased names (`cindetails`) with lower-cased
//! columns (`cinreferraldate`), plus `_row` (the row's index in its table) and the views
//! `tables.toml` declares (`census`: `collection_start`, `collection_end`), and `_tables` (`name`:
//! the tables the return has, as a CSV set may lack some). It returns one row per
//! flagged record: `table_name` (the DfE table) and `_row`. An LA-level rule (a check on the whole
//! return) returns any row when it fires. No rule logic lives in Rust.

mod csv_set;
mod engine;
pub mod report;
pub mod store;
mod xml;

use std::collections::{BTreeMap, BTreeSet};

use include_dir::{include_dir, Dir};
use serde::Deserialize;

pub use engine::{check, not_run, parse_date, query, return_year, Flag, Return, Row, TableData, Value};
pub use csv_set::{read_csv_set, read_set};
pub use xml::read;

static RULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

#[derive(Debug, thiserror::Error)]
pub enum DfeError {
    #[error("rules/{file}: {message}")]
    Rules { file: String, message: String },
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("rule {code} (rules/{file}): {message}")]
    Sql { code: String, file: String, message: String },
    #[error("{0}")]
    Report(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    Error,
    Query,
}

impl RuleType {
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleType::Error => "error",
            RuleType::Query => "query",
        }
    }
}

/// One DfE rule as declared in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The DfE's code, as the DfE writes it (`8825Q`).
    pub code: String,
    #[serde(rename = "type")]
    pub kind: RuleType,
    /// The DfE's message.
    pub message: String,
    /// The fields the DfE says the rule is about.
    pub fields: Vec<String>,
    /// The DfE tables the SQL reads.
    pub tables: Vec<String>,
    /// Collection years (`2024/25`) this version of the rule belongs to.
    pub years: Vec<String>,
    /// A check on the whole return (no row is flagged).
    #[serde(default)]
    pub la_level: bool,
    /// Tables the rule cannot run without (a reference list, last year's return): when the
    /// return lacks one, the rule is not run and the summary says why (the table's `missing`).
    /// `<meta table>.<column>` (`metadata.localAuthority`) names a value of the return's metadata
    /// the caller must give (the column's `missing`).
    #[serde(default)]
    pub requires: Vec<String>,
    pub sql: String,
    /// The file it came from, relative to `rules/`.
    #[serde(skip)]
    pub file: String,
}

/// How a file becomes a table: one row per `record` element of an XML return, or one row per
/// line of the CSV whose header has exactly the `csv` columns (in any order), or the one row of
/// the return's metadata (`meta`: the collection year and the like, which the caller gives).
/// A table with none of these is empty unless a caller fills it (a previous year's return).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    pub name: String,
    /// Path of the record element from the root (`Message/Children/Child/CINdetails`).
    #[serde(default)]
    pub record: Option<String>,
    /// The header (column names) of the CSV file that holds this table.
    #[serde(default)]
    pub csv: Option<Vec<String>>,
    /// The return's metadata as one row, each column by its name.
    #[serde(default)]
    pub meta: bool,
    /// XML: a `record` element makes a row only when one of these holds: `PATH` (relative to the
    /// record, or `/`-prefixed from the root) has a value, or `PATH=VALUE` has that value. None:
    /// every record makes a row.
    #[serde(default)]
    pub when: Option<Vec<String>>,
    /// What to do when a rule `requires` this table and the return lacks it (`load the Ofsted
    /// providers list`): the summary says "not run: …" for the rule.
    #[serde(default)]
    pub missing: Option<String>,
    pub columns: Vec<ColumnDecl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Text,
    Date,
    /// Every value of a repeated element, in order (null when none).
    List,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDecl {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Kind,
    /// Element path: relative to the record, `/`-prefixed from the root, or `.` for the record's own text.
    #[serde(default)]
    pub xml: Option<String>,
    /// The 1-based position of this element (`.`) or of an enclosing one (path from the root)
    /// among its parent's children of the same name: the DfE's generated ids (`CINdetailsID`).
    #[serde(default)]
    pub seq: Option<String>,
    /// A date column read by exactly this layout (`%d/%m/%Y`): anything else is no date. The
    /// text as read is also given, as the column `<name>_raw`.
    #[serde(default)]
    pub format: Option<String>,
    /// A CSV set: `1` when the row's child has a row in this table of the set, `0` when not;
    /// blank when the set has no file of that table (the SSDA903 header's `UASC`, as the DfE's
    /// reader adds it).
    #[serde(default)]
    pub member: Option<String>,
    /// A `meta` table's column a rule may `require`: what to do when the caller gives no value.
    #[serde(default)]
    pub missing: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDecl {
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TablesFile {
    /// The element whose text is the collection year (`2025` for 2024/25), when the file says it.
    #[serde(default)]
    year: Option<String>,
    /// The column naming the child (`LAchildID`, `CHILD`): the report's `child`.
    #[serde(default = "default_child")]
    child: String,
    /// Values are upper-cased as read (as the DfE's 903 reader does).
    #[serde(default)]
    upper: bool,
    table: Vec<TableDecl>,
    #[serde(default)]
    view: Vec<ViewDecl>,
}

fn default_child() -> String {
    "LAchildID".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesetDecl {
    year: String,
    #[serde(default)]
    inherit: Option<String>,
    /// Folder (under the return's folder) holding the files of the rules added or changed.
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    change: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesetsFile {
    ruleset: Vec<RulesetDecl>,
}

/// A return's declarations: its tables, views, rules and rule sets per collection year.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// `cin`, `ssda903`
    pub name: String,
    pub year_path: Option<String>,
    /// The column naming the child.
    pub child: String,
    /// Values are upper-cased as read.
    pub upper: bool,
    pub tables: Vec<TableDecl>,
    pub views: Vec<ViewDecl>,
    /// Every rule file.
    pub rules: Vec<Rule>,
    /// Collection year (`2024/25`) → indexes into `rules`, by code.
    pub rulesets: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Catalog {
    /// The shipped declarations of a return (`cin`), embedded in the binary.
    pub fn shipped(ret: &str) -> Result<Catalog, DfeError> {
        let mut files = BTreeMap::new();
        let mut dirs = vec![RULES.get_dir(ret).ok_or_else(|| DfeError::Rules { file: ret.into(), message: "no such return".into() })?];
        while let Some(d) = dirs.pop() {
            dirs.extend(d.dirs());
            for f in d.files() {
                let text = f.contents_utf8().ok_or_else(|| DfeError::Rules { file: f.path().display().to_string(), message: "not UTF-8".into() })?;
                files.insert(f.path().display().to_string(), text.to_string());
            }
        }
        Catalog::from_files(ret, &files)
    }

    /// The declarations of a return read from a `rules/` folder (an edited copy).
    pub fn from_dir(root: &std::path::Path, ret: &str) -> Result<Catalog, DfeError> {
        let mut files = BTreeMap::new();
        let mut dirs = vec![root.join(ret)];
        while let Some(d) = dirs.pop() {
            let rd = std::fs::read_dir(&d).map_err(|e| DfeError::Rules { file: d.display().to_string(), message: e.to_string() })?;
            for e in rd {
                let p = e.map_err(|e| DfeError::Rules { file: d.display().to_string(), message: e.to_string() })?.path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                    let text = std::fs::read_to_string(&p).map_err(|e| DfeError::Rules { file: rel.clone(), message: e.to_string() })?;
                    files.insert(rel, text);
                }
            }
        }
        Catalog::from_files(ret, &files)
    }

    /// The declarations of a return from its files, by path under `rules/` (`cin/tables.toml`).
    pub fn from_files(ret: &str, files: &BTreeMap<String, String>) -> Result<Catalog, DfeError> {
        let bad = |file: &str, message: String| DfeError::Rules { file: file.to_string(), message };
        let text_of = |path: &str| files.get(path).map(String::as_str).ok_or_else(|| bad(path, "missing".into()));
        let tables_path = format!("{ret}/tables.toml");
        let tables: TablesFile = toml::from_str(text_of(&tables_path)?).map_err(|e| bad(&tables_path, e.to_string()))?;
        let sets_path = format!("{ret}/rulesets.toml");
        let sets: RulesetsFile = toml::from_str(text_of(&sets_path)?).map_err(|e| bad(&sets_path, e.to_string()))?;
        let mut rules: Vec<Rule> = vec![];
        let mut rulesets: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for set in &sets.ruleset {
            let mut current = match &set.inherit {
                Some(y) => rulesets.get(y).cloned().ok_or_else(|| bad(&sets_path, format!("{} inherits {y}, which is not declared before it", set.year)))?,
                None => BTreeMap::new(),
            };
            // the rule files of this year's folder: each adds or changes one rule
            let mut files_of_year: BTreeMap<String, usize> = BTreeMap::new();
            if let Some(dir) = &set.dir {
                let prefix = format!("{ret}/{dir}/");
                let in_dir: Vec<(&String, &String)> =
                    files.iter().filter(|(p, _)| p.starts_with(&prefix) && p.ends_with(".toml") && !p[prefix.len()..].contains('/')).collect();
                if in_dir.is_empty() {
                    return Err(bad(&sets_path, format!("{}: no rule files in {ret}/{dir}", set.year)));
                }
                for (file, text) in in_dir {
                    let mut rule: Rule = toml::from_str(text).map_err(|e| bad(file, e.to_string()))?;
                    rule.file = file.clone();
                    let stem = file[prefix.len()..].trim_end_matches(".toml");
                    if stem != rule.code {
                        return Err(bad(file, format!("declares rule {} but is named {stem}.toml", rule.code)));
                    }
                    if rule.code.ends_with('Q') != (rule.kind == RuleType::Query) {
                        return Err(bad(file, "codes ending in Q are queries, the others errors".into()));
                    }
                    files_of_year.insert(rule.code.clone(), rules.len());
                    rules.push(rule);
                }
            }
            for code in &set.remove {
                if current.remove(code).is_none() {
                    return Err(bad(&sets_path, format!("{} removes {code}, which it does not inherit", set.year)));
                }
            }
            for code in &set.change {
                if !current.contains_key(code) {
                    return Err(bad(&sets_path, format!("{} changes {code}, which it does not inherit", set.year)));
                }
            }
            for code in &set.add {
                if current.contains_key(code) {
                    return Err(bad(&sets_path, format!("{} adds {code}, which it already inherits (say change)", set.year)));
                }
            }
            // the first year adds every file of its folder; later years say what each file does
            let listed: BTreeSet<&String> =
                if set.inherit.is_none() { files_of_year.keys().collect() } else { set.add.iter().chain(&set.change).collect() };
            let listed: BTreeSet<String> = listed.into_iter().cloned().collect();
            for (code, i) in files_of_year {
                if !listed.contains(&code) {
                    return Err(bad(&rules[i].file, format!("{} neither adds nor changes {code} in rulesets.toml", set.year)));
                }
                current.insert(code, i);
            }
            for code in &listed {
                if !current.contains_key(code) || set.remove.contains(code) {
                    return Err(bad(&sets_path, format!("{}: no file for rule {code} in its folder", set.year)));
                }
            }
            rulesets.insert(set.year.clone(), current);
        }
        // each rule file names the years it is in: they must be the years the rule sets give it
        for (i, rule) in rules.iter().enumerate() {
            let given: Vec<&String> = rulesets.iter().filter(|(_, m)| m.values().any(|&j| j == i)).map(|(y, _)| y).collect();
            let declared: Vec<&String> = rule.years.iter().collect();
            if given != declared {
                return Err(bad(&rule.file, format!("years = {declared:?}, but rulesets.toml gives it {given:?}")));
            }
            for t in &rule.tables {
                if !tables.table.iter().any(|d| &d.name == t) {
                    return Err(bad(&rule.file, format!("reads table {t}, which tables.toml does not declare")));
                }
            }
            for t in &rule.requires {
                let ok = match t.split_once('.') {
                    // a metadata value
                    Some((table, col)) => {
                        rule.tables.iter().any(|x| x == table)
                            && tables.table.iter().any(|d| d.name == table && d.meta && d.columns.iter().any(|c| c.name == col && c.missing.is_some()))
                    }
                    None => rule.tables.contains(t) && tables.table.iter().any(|d| &d.name == t && d.missing.is_some()),
                };
                if !ok {
                    return Err(bad(&rule.file, format!("requires {t}: a table among its tables with `missing` in tables.toml, or a `meta` table's column with `missing`")));
                }
            }
        }
        Ok(Catalog { name: ret.to_string(), year_path: tables.year, child: tables.child, upper: tables.upper, tables: tables.table, views: tables.view, rules, rulesets })
    }

    /// The rules of a collection year (`2024/25`), by code.
    pub fn ruleset(&self, year: &str) -> Option<Vec<&Rule>> {
        self.rulesets.get(year).map(|m| m.values().map(|&i| &self.rules[i]).collect())
    }

    pub fn years(&self) -> Vec<String> {
        self.rulesets.keys().cloned().collect()
    }

    pub fn table(&self, name: &str) -> Option<&TableDecl> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The collection year whose rule set checks a return: `forced` (already a collection year such as
/// `2024/25`), else the file's own (`file_year`, the year it ends, as its header says), else the
/// nearest published one (the earliest for an older return, the latest for a newer), with a note
/// saying so.
pub fn ruleset_year(catalog: &Catalog, forced: Option<&str>, file_year: Option<&str>) -> (String, Option<String>) {
    if let Some(y) = forced {
        return (y.to_string(), None);
    }
    let years = catalog.years();
    let found = file_year.and_then(collection_year);
    match found {
        Some(y) if catalog.ruleset(&y).is_some() => (y, None),
        _ => {
            let near = if found.as_deref() < years.first().map(String::as_str) { years.first() } else { years.last() };
            let near = near.cloned().expect("at least one rule set");
            let note = format!("collection year {} has no DfE rule set; checked by {near}'s", found.as_deref().unwrap_or("unknown"));
            (near, Some(note))
        }
    }
}

/// Last year's return as the `<Table>_last` tables of `catalog` (each with the file it came
/// from): what the rules comparing with last year read.
pub fn as_last_year(prev: Return, catalog: &Catalog) -> Return {
    let mut last = Return::default();
    for (name, data) in prev.tables {
        let to = format!("{name}_last");
        if catalog.table(&to).is_some() {
            last.table_files.insert(to.clone(), prev.table_files.get(&name).cloned().unwrap_or_else(|| prev.file.clone()));
            last.tables.insert(to, data);
        }
    }
    last
}

/// Whether `rule` reads last year's return (a `<Table>_last` table): the rules comparing with
/// last year.
pub fn reads_last_year(rule: &Rule) -> bool {
    rule.tables.iter().any(|t| t.ends_with("_last"))
}

/// `2025` (the year a collection ends, as the CIN census header and `--year` say it) → `2024/25`.
pub fn collection_year(end_year: &str) -> Option<String> {
    let y: i32 = end_year.trim().parse().ok()?;
    Some(format!("{}/{:02}", y - 1, y.rem_euclid(100)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_cin_rules_load_and_each_year_has_its_set() {
        let c = Catalog::shipped("cin").unwrap();
        assert_eq!(c.years(), vec!["2022/23", "2023/24", "2024/25", "2025/26", "2026/27"]);
        for y in c.years() {
            let set = c.ruleset(&y).unwrap();
            assert!(!set.is_empty(), "{y} has no rules");
            let codes: BTreeSet<&str> = set.iter().map(|r| r.code.as_str()).collect();
            assert_eq!(codes.len(), set.len(), "{y}: a code twice");
        }
    }

    #[test]
    fn the_shipped_903_rules_load_and_each_year_has_its_set() {
        let c = Catalog::shipped("ssda903").unwrap();
        assert_eq!(c.years(), vec!["2022/23", "2023/24", "2024/25", "2025/26", "2026/27"]);
        assert_eq!(c.child, "CHILD");
        for y in c.years() {
            assert!(!c.ruleset(&y).unwrap().is_empty(), "{y} has no rules");
        }
    }

    #[test]
    fn collection_years_from_the_header_year() {
        assert_eq!(collection_year("2025").as_deref(), Some("2024/25"));
        assert_eq!(collection_year("2000").as_deref(), Some("1999/00"));
        assert_eq!(collection_year("x"), None);
    }
}
