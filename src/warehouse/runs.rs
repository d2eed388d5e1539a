//! Run records: `_runs/<run id>.json`, one per run — inputs, checksums, detected tables, rows
//! read / clean / quarantined, rules broken, timings, outcome.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub started: String,
    pub finished: String,
    pub seconds: f64,
    pub outcome: String,
    pub pipelines: Vec<String>,
    pub as_of: String,
    pub landing: String,
    pub warehouse: String,
    pub files: Vec<FileRecord>,
    pub partitions_written: Vec<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the landing folder.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: String,
    pub encoding: String,
    /// `received` (landed), `unknown` (no table matched), `unreadable` (file-level error).
    pub status: String,
    pub archived_as: String,
    pub la: Option<String>,
    pub tables: Vec<TableRecord>,
    pub rows_read: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableRecord {
    /// Sheet or segment name in the file.
    pub segment: String,
    pub table: String,
    pub partition: String,
    pub rows_read: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    /// Rules broken (rows quarantined), by rule id.
    pub rules_broken: BTreeMap<String, u64>,
    /// Warning rules broken (rows kept in `clean`), by rule id.
    #[serde(default)]
    pub rules_flagged: BTreeMap<String, u64>,
    /// The first few row numbers that broke or were flagged by each rule (no values).
    #[serde(default)]
    pub examples: BTreeMap<String, Vec<u64>>,
    pub unknown_columns: Vec<String>,
}

impl RunRecord {
    pub fn totals(&self) -> (u64, u64, u64) {
        self.files.iter().fold((0, 0, 0), |a, f| (a.0 + f.rows_read, a.1 + f.rows_clean, a.2 + f.rows_quarantined))
    }
}

/// All run records, oldest first.
pub fn list(warehouse: &Path) -> Vec<RunRecord> {
    let mut out: Vec<RunRecord> = super::walk_files(&warehouse.join("_runs"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect();
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    out
}
