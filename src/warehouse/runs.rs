//! Run records: `_runs/<run id>.json`, one per run — inputs, checksums, detected tables, rows
//! read / clean / quarantined, rules broken, timings, outcome.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use serde::{Deserialize, Serialize};

/// What the run record committed with a run's data says until the run has finished: a run
/// killed after its commit (while models build, or before its record is final) is seen as such.
pub const UNFINISHED: &str = "abandoned: stopped after its data was committed, before the models and the run record were finished";

pub fn new_run_id() -> String {
    // `lantern serve` names the runs it starts, to find their records
    if let Ok(id) = std::env::var("LANTERN_RUN_ID") {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return id;
        }
    }
    let r: u16 = rand::random();
    format!("{}-{r:04x}", Utc::now().format("%Y%m%dT%H%M%S%3fZ"))
}

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
    /// SQL models after the commit: each one built or found up to date (empty in records
    /// written before models existed).
    #[serde(default)]
    pub models: Vec<ModelRecord>,
    #[serde(default)]
    pub models_seconds: f64,
    /// How the run started: `manual`, `schedule`, `catch-up`, `retry N` (empty in older records).
    #[serde(default)]
    pub trigger: String,
    /// The pipelines' expectations (freshness, rows), each met or broken.
    #[serde(default)]
    pub expectations: Vec<ExpectationResult>,
    /// Newest input file per source: its modification time (RFC 3339).
    #[serde(default)]
    pub newest_input: BTreeMap<String, String>,
    /// Partitions this run added to rather than replaced (see `[partition] replaces`): what it
    /// kept of earlier loads and what it replaced.
    #[serde(default)]
    pub increments: Vec<IncrementRecord>,
    /// Returns of several files (an SSDA903 CSV set, or its XML with the CSVs beside it) checked
    /// by the DfE's rules, one each (a CIN census, one file, is in its file's record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dfe_returns: Vec<DfeSummary>,
}

/// One partition a load added to: earlier rows kept, and earlier rows replaced by the load's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IncrementRecord {
    pub partition: String,
    pub zone: String,
    /// The columns whose values decide which earlier rows are replaced.
    pub by: Vec<String>,
    pub kept: u64,
    pub replaced: u64,
}

/// One expectation of a pipeline, checked after its run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExpectationResult {
    pub pipeline: String,
    /// `freshness` or `rows`
    pub check: String,
    pub expected: String,
    pub actual: String,
    pub met: bool,
    /// `warn` or `fail`: what breaking it does to the run
    pub on_break: String,
}

/// One SQL model in a run: built (with why, rows and time) or up to date.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelRecord {
    /// `marts.<area>.<model>`
    pub model: String,
    /// `sql/<area>/<model>.sql`
    pub file: String,
    /// `built` or `up to date`
    pub status: String,
    /// Why it was built: `first build`, `SQL changed`, `inputs changed: …`, …
    #[serde(default)]
    pub reason: String,
    pub rows: u64,
    pub seconds: f64,
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
    /// A statutory return checked by the DfE's rules: the rules it broke (flags in `clean.dfe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dfe: Option<DfeSummary>,
    pub seconds: f64,
}

/// What a run record says of one return's DfE check: its rule set and, per rule broken, the
/// count and the first rows (numbers only, never a value).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DfeSummary {
    #[serde(rename = "return")]
    pub ret: String,
    pub collection_year: String,
    pub rules_checked: usize,
    pub errors: u64,
    pub queries: u64,
    /// rule → (type, flags, first rows)
    pub rules: BTreeMap<String, DfeRuleCount>,
    #[serde(default)]
    pub note: Option<String>,
    /// A return of several files: its folder as landed (`838/ssda903_2025`) and its files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Where last year's return came from, for the rules comparing with it, or that there was
    /// none (`2024 return from the warehouse (raw/…)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_year: Option<String>,
    /// Rules of the set not run, by code: no last year's return to compare with, or a reference
    /// list or the council's ONS code the run does not give them (the note says which).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
}

impl DfeSummary {
    /// One line for a terminal or a log: return, year, what it was, counts, where last year came
    /// from (no child's id: rules, counts and sources only).
    pub fn line(&self, what: &str) -> String {
        // the rules flagging most first, ten of them
        let mut by_count: Vec<(&String, &DfeRuleCount)> = self.rules.iter().collect();
        by_count.sort_by(|a, b| b.1.flags.cmp(&a.1.flags).then(a.0.cmp(b.0)));
        let mut rules: Vec<String> = by_count.iter().take(10).map(|(code, c)| format!("{code} ×{}", c.flags)).collect();
        if by_count.len() > 10 {
            rules.push(format!("… {} more rules", by_count.len() - 10));
        }
        let mut s = format!(
            "DfE {} rules {} ({what}): {} errors, {} queries{}{}",
            self.ret,
            self.collection_year,
            self.errors,
            self.queries,
            if rules.is_empty() { "" } else { ": " },
            rules.join(", ")
        );
        if let Some(l) = &self.last_year {
            s.push_str(&format!("; last year: {l}"));
        }
        if let Some(n) = &self.note {
            s.push_str(&format!("; {n}"));
        }
        s
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DfeRuleCount {
    #[serde(rename = "type")]
    pub kind: String,
    pub flags: u64,
    pub rows: Vec<u64>,
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

/// Rewrites a committed run record in place (write, then rename), as when models finish after
/// the commit; returns its path.
pub fn save(warehouse: &Path, record: &RunRecord) -> std::io::Result<std::path::PathBuf> {
    let dir = warehouse.join("_runs");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", record.run_id));
    let tmp = dir.join(format!(".{}.json.tmp", record.run_id));
    // a record that cannot be written whole (a full disk) leaves no partial copy behind
    if let Err(e) = write_json(&tmp, record).and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(path)
}

/// Writes a run record as pretty JSON straight into `path` (a record of thousands of files is
/// megabytes of JSON, never held whole in memory).
pub fn write_json(path: &Path, record: &RunRecord) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut out, record).map_err(std::io::Error::other)?;
    out.flush()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_before_models_still_read() {
        let old = r#"{"run_id":"r1","started":"s","finished":"f","seconds":1.0,"outcome":"succeeded","pipelines":[],"as_of":"2024-03-31","landing":"l","warehouse":"w","files":[],"partitions_written":[]}"#;
        let r: RunRecord = serde_json::from_str(old).unwrap();
        assert!(r.models.is_empty() && r.models_seconds == 0.0);
        let dir = tempfile::tempdir().unwrap();
        let mut r = r;
        r.models.push(ModelRecord { model: "marts.a.b".into(), status: "built".into(), rows: 3, ..Default::default() });
        save(dir.path(), &r).unwrap();
        let back = list(dir.path());
        assert_eq!((back.len(), back[0].models[0].rows), (1, 3));
    }
}
