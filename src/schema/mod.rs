//! Declarative table schemas (`schemas/<source>/<table>.toml`) and shared code lists
//! (`schemas/codes/<set>.toml`). The engine knows types, formats, rules and partitions;
//! what a table *is* lives in these files. See `docs/schemas.md` for the format.

pub mod codes;
pub use codes::{CodeList, CodeSet, Codebook};

use serde::Deserialize;
use std::collections::BTreeMap;

/// One source table, as declared in `schemas/<source>/<table>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// Table name, unique within its source (`ssda903_episodes`).
    pub name: String,
    /// Filled from the folder the file sits in (`schemas/mosaic/…` → `mosaic`).
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Columns that identify a row within one partition; duplicates are quarantined.
    #[serde(default)]
    pub key: Vec<String>,
    /// Default date formats for date columns that give none (chrono syntax).
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// How a file is recognised as holding this table.
    #[serde(default)]
    pub detect: Detect,
    /// The partition below the council's folder: its column name and how its value is found.
    #[serde(default)]
    pub partition: Partition,
    /// Where the rows come from inside an XML document (tables flattened from XML).
    #[serde(default)]
    pub xml: Option<XmlRecord>,
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnSpec>,
    /// Columns computed from others after typing, in order: a SQL expression over the typed row
    /// whose result replaces the named column (e.g. a signed amount from debit and credit).
    #[serde(rename = "derive", default)]
    pub derives: Vec<Derive>,
    /// Cross-field rules: SQL boolean expressions over the typed row (after `derive`).
    #[serde(rename = "rule", default)]
    pub rules: Vec<RowRule>,
    /// Cross-table rules: values that must exist in another table of the same council.
    #[serde(rename = "reference", default)]
    pub references: Vec<Reference>,
    /// Columns a row takes from its parent row in another table of the same run, where blank.
    #[serde(rename = "inherit", default)]
    pub inherits: Vec<Inherit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// Regular expression on the file (or sheet) name that makes this table the likely match.
    #[serde(default)]
    pub name: Option<String>,
    /// Sheet names (regex) for workbooks.
    #[serde(default)]
    pub sheet: Option<String>,
    /// How many of the table's columns must be present for a header to match (default: all
    /// columns marked `required`, and at least half of all columns).
    #[serde(default)]
    pub min_columns: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Column name of the partition (`year`, `snapshot`, `census`).
    #[serde(default = "default_partition_column")]
    pub column: String,
    /// How the value is found: `collection_year` (year ending 31 March), `financial_year`
    /// (`2024-25`), `month` (YYYY-MM), `census_term` (YYYY-autumn|spring|summer), `as_of`
    /// (YYYY-MM-DD) or `latest` (the literal `latest`: each load replaces the last).
    #[serde(default = "default_partition_kind")]
    pub kind: PartitionKind,
    /// The partition value comes from this column of each row (parsed as `kind` says) rather
    /// than from the file's name or header; a file can then fill several partitions.
    #[serde(default)]
    pub from_column: Option<String>,
    /// Each row's council (DfE three-digit code) comes from this column: for files that cover
    /// many councils, such as the DfE's published section 251 outturn.
    #[serde(default)]
    pub la_column: Option<String>,
    /// A fixed council value, e.g. `national` for reference data that belongs to no council.
    #[serde(default)]
    pub la: Option<String>,
    /// A load replaces, in each partition it writes, only the earlier rows whose values of these
    /// columns it brings again (a ledger's `period`): files that each hold part of a partition
    /// add up. Empty: the table's key when the partition comes from a column (`from_column`),
    /// else the load replaces the partition whole (one file is the whole snapshot).
    #[serde(default)]
    pub replaces: Vec<String>,
}

impl Default for Partition {
    fn default() -> Self {
        Partition { column: default_partition_column(), kind: default_partition_kind(), from_column: None, la_column: None, la: None, replaces: vec![] }
    }
}
/// The folder key of a partition column: `la` → `la_key`, `year` → `year_key`, so a table's
/// folders read `la_key=838/year_key=2024/`. The values are also columns inside the files (`la`,
/// `year`), where Power BI's one-file and folder connectors see them; a reader that infers Hive
/// partitions from the folders (DataFusion's `CREATE EXTERNAL TABLE`, DuckDB's
/// `hive_partitioning`, pyarrow datasets) adds each folder key as a column too, and a key named
/// like a column in the files would collide with it (DataFusion refuses the table; DuckDB puts
/// its own BIGINT in place of the files' text `la`).
pub fn folder_key(column: &str) -> String {
    format!("{column}_key")
}

/// The folder key of the council: every table's first partition level.
pub const LA_FOLDER_KEY: &str = "la_key";

/// The folders of one partition below its table: `la_key=838/year_key=2024`.
pub fn partition_folders(la: &str, column: &str, value: &str) -> String {
    format!("{LA_FOLDER_KEY}={la}/{}={value}", folder_key(column))
}

/// The partition a warehouse written before folder keys had their own names calls `rel`
/// (`clean/s/t/la=838/year=2024`, `clean/s/t/la=838`), under today's names
/// (`clean/s/t/la_key=838/year_key=2024`); `None` when `rel` names no such folder.
pub fn upgrade_partition_path(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.len() < 4 || !parts[3].starts_with("la=") {
        return None;
    }
    let keys = parts[3..].iter().map(|p| match p.split_once('=') {
        Some((k, v)) if !k.ends_with("_key") => Some(format!("{}={v}", folder_key(k))),
        _ => None,
    });
    let keys: Option<Vec<String>> = keys.collect();
    Some(format!("{}/{}", parts[..3].join("/"), keys?.join("/")))
}

fn default_partition_column() -> String {
    "year".into()
}
fn default_partition_kind() -> PartitionKind {
    PartitionKind::CollectionYear
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionKind {
    CollectionYear,
    FinancialYear,
    Month,
    CensusTerm,
    AsOf,
    Latest,
}

/// Where a table's rows sit in an XML document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlRecord {
    /// Document kind, declared in `schemas/<source>/_documents.toml`.
    pub document: String,
    /// Slash-separated element path of one record, from the root (`Message/Children/Child`).
    pub record: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type", default)]
    pub data_type: ColumnType,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// Other header spellings councils use (matched ignoring case, spaces and punctuation).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Date formats for this column (chrono syntax); falls back to the table's.
    #[serde(default)]
    pub formats: Vec<String>,
    /// Code list, `set.list` in `schemas/codes/set.toml`.
    #[serde(default)]
    pub codes: Option<String>,
    /// Regular expression whose first match is removed from the value before any check (e.g.
    /// `'^\s*\d+\s*'` for line numbers written inside descriptions).
    #[serde(default)]
    pub strip: Option<String>,
    /// Regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Message for a pattern mismatch (why the value is wrong).
    #[serde(default)]
    pub pattern_message: Option<String>,
    /// Inclusive bounds for numbers.
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// What a failed code, pattern or range check does: `error` (default) quarantines the row,
    /// `warning` keeps it in `clean` and counts the rule in the run record (`rules_flagged`).
    #[serde(default)]
    pub severity: Severity,
    /// Privacy treatment: `pseudonym:<kind>`, `drop`, `month`, `outward_postcode`.
    #[serde(default)]
    pub protect: Option<String>,
    /// For XML tables: element path relative to the record, or absolute from the root when it
    /// starts with `/`. `.` is the record element's own text.
    #[serde(default)]
    pub xml: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    #[default]
    String,
    Integer,
    /// Money and other exact decimals: Decimal128(18, 2).
    Decimal,
    Float,
    Date,
    Timestamp,
    Boolean,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derive {
    /// A declared column; the result is cast to its type.
    pub column: String,
    /// SQL expression over the table's columns.
    pub sql: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowRule {
    pub id: String,
    /// SQL boolean expression over the table's columns; a row breaks the rule when it is false.
    /// Null counts as passing (rules about presence use `required`).
    pub check: String,
    /// The column the message is about (for the quarantine record).
    #[serde(default)]
    pub column: Option<String>,
    pub message: String,
    /// `error` (default) quarantines a row that breaks the rule; `warning` flags it and keeps it.
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub id: String,
    pub columns: Vec<String>,
    /// `table` (same source) or `source.table`.
    pub table: String,
    /// Columns in the referenced table (default: the same names).
    #[serde(default)]
    pub to: Vec<String>,
    pub message: String,
    /// Where the values are looked for: `partition` (default: the same council and partition,
    /// as a 903 episode's child in that year's header) or `council` (any partition of the same
    /// council, as a ledger line's cost centre in the coding map). When the run brings no rows
    /// of the referenced table, the values already in `clean` are used.
    #[serde(default)]
    pub scope: RefScope,
}

/// A parent row's columns copied onto this row: a child row that names its parent only by an
/// export's own link ids (a Blade CSV's `persontableid`) gets the parent's natural keys (UPN,
/// ULN), as the same row nested under its parent in an XML export gets them by absolute path.
/// The parent table's rows must be read in the same run and partition; files are read parents
/// first. A row whose parent is not found keeps its blanks (a `[[reference]]` says whether
/// that is an error).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inherit {
    /// Link columns in this table.
    pub columns: Vec<String>,
    /// The parent: `table` (same source) or `source.table`.
    pub table: String,
    /// Link columns in the parent (default: the same names).
    #[serde(default)]
    pub to: Vec<String>,
    /// Columns copied from the parent row into the same-named columns of this row, where blank.
    pub copy: Vec<String>,
}

impl Inherit {
    pub fn parent_columns(&self) -> &[String] {
        if self.to.is_empty() {
            &self.columns
        } else {
            &self.to
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefScope {
    #[default]
    Partition,
    Council,
}

/// XML document kinds (`schemas/<source>/_documents.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlDocument {
    pub name: String,
    #[serde(default)]
    pub source: String,
    /// Root element name.
    pub root: String,
    /// Optional `path = value` that must hold (e.g. the collection name in the header).
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    /// Paths (from the root) whose text gives the file's context: `la`, `year`, `date`.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct DocumentsFile {
    #[serde(rename = "xml", default)]
    pub xml: Vec<XmlDocument>,
}

impl TableSchema {
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.source, self.name)
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns a header must contain for a file to be recognised as this table.
    pub fn min_columns(&self) -> usize {
        self.detect.min_columns.unwrap_or_else(|| {
            let required = self.columns.iter().filter(|c| c.required).count();
            required.max(self.columns.len().div_ceil(2)).max(1)
        })
    }

    pub fn formats_for<'a>(&'a self, col: &'a ColumnSpec) -> &'a [String] {
        if col.formats.is_empty() {
            &self.date_formats
        } else {
            &col.formats
        }
    }
}

/// Header matching key: lower case, letters and digits only (`Date of Birth` → `dateofbirth`).
pub fn header_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys_ignore_case_space_and_punctuation() {
        assert_eq!(header_key("Date of Birth"), "dateofbirth");
        assert_eq!(header_key("\u{feff}CHILD"), "child");
        assert_eq!(header_key("Referral NFA?"), "referralnfa");
    }

    #[test]
    fn old_partition_folders_take_the_folder_keys() {
        assert_eq!(partition_folders("838", "census", "2024-autumn"), "la_key=838/census_key=2024-autumn");
        assert_eq!(upgrade_partition_path("clean/mosaic/t/la=838/year=2024").as_deref(), Some("clean/mosaic/t/la_key=838/year_key=2024"));
        assert_eq!(upgrade_partition_path("quarantine/finance/l/la=201/financial_year=2024-25").as_deref(), Some("quarantine/finance/l/la_key=201/financial_year_key=2024-25"));
        assert_eq!(upgrade_partition_path("clean/mosaic/t/la=838").as_deref(), Some("clean/mosaic/t/la_key=838"));
        assert_eq!(upgrade_partition_path("clean/mosaic/t/la_key=838/year_key=2024"), None);
        assert_eq!(upgrade_partition_path("marts/social_care/x"), None);
        assert_eq!(upgrade_partition_path("raw/mosaic/received=x/r"), None);
    }
}
