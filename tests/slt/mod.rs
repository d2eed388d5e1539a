//! The sqllogictest adapter shared by the driver (`tests/sqllogictests.rs`, `cargo test --test
//! sqllogictests`) and `tests/models.rs`: a DataFusion session with Lantern's functions, every
//! declared table empty and writable, and `BUILD MODEL marts.<area>.<model>` / `BUILD MODELS` to
//! build shipped models from the rows a file inserted (`BUILD MODEL ONLY …`: those models alone,
//! reading tables the file created in the place of the models they read).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow::array::Array;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use lantern::model::Scratch;
use lantern::project::Project;
use sqllogictest::{DBOutput, DefaultColumnType, Record};

#[derive(Debug)]
pub struct SltError(pub String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

/// One .slt file's session.
pub struct Lantern {
    rt: tokio::runtime::Runtime,
    scratch: Scratch,
}

impl Lantern {
    pub fn new() -> Result<Self, SltError> {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| SltError(e.to_string()))?;
        let project = Project::embedded().map_err(|e| SltError(e.to_string()))?;
        let scratch = rt.block_on(Scratch::new(&project)).map_err(|e| SltError(e.to_string()))?;
        Ok(Lantern { rt, scratch })
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => DefaultColumnType::Integer,
        Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

/// A cell as the .slt files write it: NULL, (empty), floats to six decimals without trailing
/// zeros, everything else as Arrow displays it (dates ISO, booleans true/false).
fn cell(col: &dyn Array, row: usize) -> String {
    if col.is_null(row) {
        return "NULL".into();
    }
    let text = arrow::util::display::ArrayFormatter::try_new(col, &Default::default()).map(|f| f.value(row).to_string()).unwrap_or_default();
    match col.data_type() {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let v: f64 = text.parse().unwrap_or(f64::NAN);
            let s = format!("{v:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
            if s == "-0" { "0".into() } else { s }
        }
        _ if text.is_empty() => "(empty)".into(),
        _ => text,
    }
}

fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = vec![];
    for b in batches {
        for r in 0..b.num_rows() {
            out.push(b.columns().iter().map(|c| cell(c.as_ref(), r)).collect());
        }
    }
    out
}

impl sqllogictest::DB for Lantern {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let words: Vec<String> = sql.split_whitespace().map(|w| w.trim_end_matches(';').to_string()).collect();
        let first = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
        if first == "BUILD" {
            let what = words.get(1).map(|w| w.to_ascii_uppercase()).unwrap_or_default();
            // `BUILD MODEL ONLY x`: x alone, from the tables the file made in the place of its inputs
            let only = words.get(2).is_some_and(|w| w.eq_ignore_ascii_case("ONLY"));
            let names: Vec<&str> = words.iter().skip(if only { 3 } else { 2 }).map(|w| w.trim_end_matches(',')).filter(|w| !w.is_empty()).collect();
            if !(what == "MODELS" && names.is_empty() && !only || what == "MODEL" && !names.is_empty()) {
                return Err(SltError("write `BUILD MODEL [ONLY] marts.<area>.<model> [, …]` or `BUILD MODELS`".into()));
            }
            let built = if only { self.rt.block_on(self.scratch.build_only(&names)) } else { self.rt.block_on(self.scratch.build(&names)) };
            let built = built.map_err(|e| SltError(e.to_string()))?;
            return Ok(DBOutput::StatementComplete(built.iter().map(|(_, n)| *n as u64).sum()));
        }
        let ctx = &self.scratch.ctx;
        let batches = self.rt.block_on(async { ctx.sql(sql).await?.collect().await }).map_err(|e| SltError(e.strip_backtrace()))?;
        if matches!(first.as_str(), "CREATE" | "INSERT" | "DROP" | "SET" | "DELETE" | "UPDATE" | "COPY") {
            let n = batches
                .first()
                .filter(|b| b.num_rows() == 1 && b.num_columns() == 1)
                .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::UInt64Array>().map(|a| a.value(0)))
                .unwrap_or(0);
            return Ok(DBOutput::StatementComplete(n));
        }
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => self.rt.block_on(async { ctx.sql(sql).await.map(|df| df.schema().as_arrow().clone().into()) }).map_err(|e| SltError(e.strip_backtrace()))?,
        };
        Ok(DBOutput::Rows { types: schema.fields().iter().map(|f| column_type(f.data_type())).collect(), rows: rows(&batches) })
    }
}

/// A runner with a fresh session per connection, column types checked strictly.
pub fn runner() -> sqllogictest::Runner<Lantern, impl sqllogictest::MakeConnection<Conn = Lantern>> {
    let mut r = sqllogictest::Runner::new(|| async { Lantern::new() });
    r.with_column_validator(sqllogictest::strict_column_validator);
    r
}

/// Every record of a script, run one after another; each failing record is reported (with its
/// file and line), not just the first. Returns (records run, failures).
pub fn run_records(records: Vec<Record<DefaultColumnType>>) -> (usize, Vec<String>) {
    let mut runner = runner();
    let (mut n, mut failures) = (0, vec![]);
    for record in records {
        match &record {
            Record::Halt { .. } => break,
            Record::Statement { .. } | Record::Query { .. } => n += 1,
            _ => {}
        }
        if let Err(e) = futures::executor::block_on(runner.run_async(record)) {
            failures.push(e.display(false).to_string());
        }
    }
    (n, failures)
}

pub fn run_file(path: &Path) -> (usize, Vec<String>) {
    match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(records) => run_records(records),
        Err(e) => (0, vec![format!("{}: does not parse: {e}", path.display())]),
    }
}

pub fn run_script(name: &str, script: &str) -> (usize, Vec<String>) {
    match sqllogictest::parse_with_name::<DefaultColumnType>(script, name) {
        Ok(records) => run_records(records),
        Err(e) => (0, vec![format!("{name}: does not parse: {e}")]),
    }
}

/// Rewrites the expected results of a file in place with what the session gives (`--complete`).
pub fn complete_file(path: &Path) -> Result<(), String> {
    let mut runner = runner();
    futures::executor::block_on(runner.update_test_file(
        path,
        " ",
        sqllogictest::default_validator,
        sqllogictest::default_normalizer,
        sqllogictest::strict_column_validator,
    ))
    .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// tests/sql/*.slt, sorted.
pub fn slt_files() -> Vec<PathBuf> {
    let dir = root().join("tests/sql");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "slt")).collect();
    v.sort();
    v
}

/// Every model of the shipped project by its table name: `sql/dsg/forecast.sql` → `marts.dsg.forecast`,
/// `sql/published/dsg/forecast.sql` → `published.dsg.forecast`.
pub fn model_names() -> BTreeSet<String> {
    // every model the shipped project holds: marts.<area>.<model> and published.<area>.<model>
    let project = Project::embedded().expect("the shipped project loads");
    lantern::model::ModelSet::load(&project).expect("the shipped models load").models.into_iter().map(|m| m.name).collect()
}

/// The models a `query` record of the file reads (its SQL names `marts.<area>.<model>`): a model
/// counts as tested only where a query checks its rows, not where it is merely built.
pub fn models_queried(path: &Path, models: &BTreeSet<String>) -> BTreeSet<String> {
    let Ok(records) = sqllogictest::parse_file::<DefaultColumnType>(path) else { return BTreeSet::new() };
    let mut out = BTreeSet::new();
    for r in records {
        if let Record::Query { sql, .. } = r {
            let sql = sql.to_ascii_lowercase();
            for m in models {
                // a whole name: `marts.send.indicator_values` is not `marts.send.indicator_values_x`
                let mut from = 0;
                while let Some(i) = sql[from..].find(m.as_str()) {
                    let end = from + i + m.len();
                    if !sql[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                        out.insert(m.clone());
                        break;
                    }
                    from = end;
                }
            }
        }
    }
    out
}
