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
    /// The partition below `la=`: its column name and how its value is found.
    #[serde(default)]
    pub partition: Partition,
    /// Where the rows come from inside an XML document (tables flattened from XML).
    #[serde(default)]
    pub xml: Option<XmlRecord>,
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnSpec>,
    /// Cross-field rules: SQL boolean expressions over the typed row.
    #[serde(rename = "rule", default)]
    pub rules: Vec<RowRule>,
    /// Cross-table rules: values that must exist in another table of the same council.
    #[serde(rename = "reference", default)]
    pub references: Vec<Reference>,
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
    /// How the value is found: `collection_year` (year ending 31 March), `month` (YYYY-MM),
    /// `census_term` (YYYY-autumn|spring|summer) or `as_of` (YYYY-MM-DD).
    #[serde(default = "default_partition_kind")]
    pub kind: PartitionKind,
}

impl Default for Partition {
    fn default() -> Self {
        Partition { column: default_partition_column(), kind: default_partition_kind() }
    }
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
    Month,
    CensusTerm,
    AsOf,
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
pub struct RowRule {
    pub id: String,
    /// SQL boolean expression over the table's columns; a row breaks the rule when it is false.
    /// Null counts as passing (rules about presence use `required`).
    pub check: String,
    /// The column the message is about (for the quarantine record).
    #[serde(default)]
    pub column: Option<String>,
    pub message: String,
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
}
