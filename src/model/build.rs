//! Building models: the session they read, which ones need a refresh, the plan check, the
//! Power BI-safe output, the staged write and the swap.
//!
//! A build first checks every model: its inputs exist, it plans (names and types resolve) and
//! its output columns suit Power BI. Then it runs the models whose inputs changed, in order,
//! into `_staging/<build id>/marts/…`, each reading the staged output of those before it, and
//! commits them together through the warehouse's journal. Any failure discards the staging:
//! every mart stays as it was. `_models/state.json` keeps each model's fingerprint (its SQL,
//! and the files of its inputs or the fingerprints of the models it reads).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::query::calendar::{Calendar, SHIPPED_CSV};
use super::spec::{line_in_message, Model};
use super::{ModelError, ModelSet};
use crate::project::Project;
use crate::query;
use crate::warehouse::runs::{ModelRecord, RunRecord};
use crate::warehouse::{walk_files, PartWriter, TableData, Warehouse};

/// Where the project keeps its bank holiday list.
pub const HOLIDAYS_FILE: &str = "reference/data/bank_holidays.csv";

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Rebuild every model, changed or not.
    pub full: bool,
    /// The run this build follows (recorded in the state; names the staging folder).
    pub run_id: Option<String>,
    /// Run the models' SQL on this Ballista cluster (df://HOST:PORT) instead of in process.
    pub cluster: Option<String>,
    /// Build only these models (marts.<area>.<model>) and the models they read; all when empty.
    pub only: Vec<String>,
    /// Set (by SIGTERM or SIGINT) to stop before the next model; nothing of the build is swapped in.
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// What a build did, model by model, in build order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelReport {
    pub build_id: String,
    pub seconds: f64,
    pub models: Vec<ModelRecord>,
}

impl ModelReport {
    pub fn built(&self) -> usize {
        self.models.iter().filter(|m| m.status == "built").count()
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "models: {} built, {} up to date ({:.1}s)\n",
            self.built(),
            self.models.len() - self.built(),
            self.seconds
        );
        for m in self.models.iter().filter(|m| m.status == "built") {
            s.push_str(&format!("  {:<55} {:>9} rows {:>6.2}s  {}\n", m.model, m.rows, m.seconds, m.reason));
        }
        s
    }
}

/// A model as `lantern models` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub model: String,
    pub area: String,
    pub file: String,
    pub grain: String,
    pub description: String,
    pub inputs: Vec<String>,
    pub last_build: Option<Built>,
}

/// The last build of a model, kept in `_models/state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Built {
    pub fingerprint: String,
    pub sql_hash: String,
    /// Fingerprint of each input when it was built.
    pub inputs: BTreeMap<String, String>,
    pub built_at: String,
    pub build_id: String,
    #[serde(default)]
    pub run_id: Option<String>,
    pub rows: u64,
    pub seconds: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    models: BTreeMap<String, Built>,
    /// Content hashes of input Parquet files by path (relative to the warehouse), with the size
    /// and modification time they were hashed at: a file rewritten with the same bytes keeps
    /// its hash, and an untouched file is not read again.
    #[serde(default)]
    files: BTreeMap<String, FileHash>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileHash {
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

fn state_path(w: &Warehouse) -> PathBuf {
    w.root.join("_models").join("state.json")
}

fn load_state(w: &Warehouse) -> State {
    std::fs::read(state_path(w)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save_state(w: &Warehouse, state: &State) -> Result<(), ModelError> {
    w.write_file("_models/state.json", &serde_json::to_vec_pretty(state).expect("serialisable"))
        .map_err(|e| ModelError::Io { path: state_path(w).display().to_string(), message: e.to_string() })
}

/// A table's fingerprint: on disk from its files ([`table_fingerprint`]); in a store from the
/// content hashes the manifest keeps.
fn data_fingerprint(root: &Path, data: &TableData, old: &BTreeMap<String, FileHash>, new: &mut BTreeMap<String, FileHash>) -> Result<String, ModelError> {
    match data {
        TableData::Dir(dir) => table_fingerprint(root, dir, old, new),
        TableData::Files(files) => {
            let listing: String = files.iter().map(|f| format!("{}|{}\n", f.path, f.sha256)).collect();
            Ok(short_hash(&[listing.as_bytes()]))
        }
    }
}

fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(&h.finalize()[..8])
}

/// The content of a table folder's Parquet files: their names and content hashes (read again
/// only when a file's size or modification time changed since `old`).
fn table_fingerprint(root: &Path, dir: &Path, old: &BTreeMap<String, FileHash>, new: &mut BTreeMap<String, FileHash>) -> Result<String, ModelError> {
    let mut listing = String::new();
    for f in walk_files(dir).into_iter().filter(|f| f.extension().is_some_and(|e| e == "parquet")) {
        let io = |e: std::io::Error| ModelError::Io { path: f.display().to_string(), message: e.to_string() };
        let meta = std::fs::metadata(&f).map_err(io)?;
        let mtime_ns = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let key = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        let hash = match old.get(&key) {
            Some(h) if h.size == meta.len() && h.mtime_ns == mtime_ns => h.clone(),
            _ => {
                let mut h = Sha256::new();
                let mut file = std::fs::File::open(&f).map_err(io)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = std::io::Read::read(&mut file, &mut buf).map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                FileHash { size: meta.len(), mtime_ns, sha256: hex::encode(h.finalize()) }
            }
        };
        let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
        listing.push_str(&format!("{rel}|{}\n", hash.sha256));
        new.insert(key, hash);
    }
    Ok(short_hash(&[listing.as_bytes()]))
}

/// The calendar the project's working-day functions use: its own bank holiday list when it
/// differs from the shipped one.
pub fn project_calendar(project: &Project) -> Result<Arc<Calendar>, ModelError> {
    match project.data.get(HOLIDAYS_FILE) {
        Some(text) if text != SHIPPED_CSV => Calendar::from_csv(text)
            .map(Arc::new)
            .map_err(|e| ModelError::Io { path: format!("schemas/{HOLIDAYS_FILE}"), message: e.to_string() }),
        _ => Ok(Calendar::shipped()),
    }
}

/// A session with Lantern's settings and the project's calendar, no tables yet, spilling into
/// `spill` (else the system's temporary folder) when its memory pool is full.
pub(crate) fn context_for(project: &Project, spill: Option<&Path>) -> Result<SessionContext, ModelError> {
    let ctx = query::context_spilling_to(spill).map_err(|e| ModelError::Io {
        path: spill.map_or_else(|| "the temporary folder".into(), |p| p.display().to_string()),
        message: e.strip_backtrace(),
    })?;
    let cal = project_calendar(project)?;
    if !Arc::ptr_eq(&cal, &Calendar::shipped()) {
        query::udf::register_with(&ctx, cal);
    }
    Ok(ctx)
}

fn split3(name: &str) -> (&str, &str, &str) {
    let mut it = name.splitn(3, '.');
    (it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""))
}

pub(crate) fn register(ctx: &SessionContext, name: &str, provider: Arc<dyn TableProvider>) -> Result<(), DataFusionError> {
    let (zone, source, table) = split3(name);
    query::register_table(ctx, zone, source, table, provider)
}

/// The line of a DataFusion error: its diagnostic's span, else a parser position in its text.
fn error_line(e: &DataFusionError) -> u64 {
    e.diagnostic()
        .and_then(|d| d.span.or_else(|| d.notes.iter().find_map(|n| n.span)))
        .map(|s| s.start.line)
        .filter(|l| *l > 0)
        .or_else(|| line_in_message(&e.to_string()))
        .unwrap_or(0)
}

/// The first line of the SELECT (comments aside) that calls `function`.
fn line_calling(sql: &str, function: &str) -> Option<u64> {
    let f = function.to_lowercase();
    sql.lines().enumerate().find_map(|(i, l)| {
        let code = l.split("--").next().unwrap_or("").to_lowercase();
        let at = code.match_indices(&f).find(|(p, _)| {
            let before = code[..*p].chars().last();
            let after = code[p + f.len()..].trim_start().chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after == Some('(')
        });
        at.map(|_| i as u64 + 1)
    })
}

/// Plans a model: table names, column names, functions and types resolved.
pub(crate) async fn plan(ctx: &SessionContext, m: &Model) -> Result<DataFrame, ModelError> {
    ctx.sql(&m.sql).await.map_err(|e| {
        let message = e.strip_backtrace();
        let mut line = error_line(&e);
        if line == 0 {
            // DataFusion names the function but gives no position: find the call
            let named = ["Function '", "function '"].iter().find_map(|p| message.split_once(p)).and_then(|(_, rest)| rest.split_once('\'')).map(|(f, _)| f);
            line = named.and_then(|f| line_calling(&m.sql, f)).unwrap_or(0);
        }
        ModelError::Plan { model: m.name.clone(), file: m.file.clone(), line, message }
    })
}

/// The Power BI-safe type for a column, or why there is none.
fn bi_type(t: &DataType) -> Result<DataType, String> {
    use DataType::*;
    Ok(match t {
        Utf8 | LargeUtf8 | Utf8View => Utf8,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Binary,
        Null => Utf8,
        Boolean | Int8 | Int16 | Int32 | Int64 | Float32 | Float64 | Date32 | Time32(_) | Time64(_) => t.clone(),
        UInt8 | UInt16 => Int32,
        UInt32 | UInt64 => Int64,
        Float16 => Float32,
        Date64 => Date32,
        Timestamp(_, _) => Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) => Decimal128(*p, *s),
        Decimal256(p, s) if *p <= 38 => Decimal128(*p, *s),
        Decimal256(_, s) => Decimal128(38, (*s).min(38)),
        Dictionary(_, v) => bi_type(v)?,
        Interval(_) | Duration(_) => {
            return Err(format!("is {t}, which Power BI does not read: give a number (e.g. days, with date_part or working_days) or a date"))
        }
        other => return Err(format!("is {other}: nested and other complex types are not read by Power BI; give plain columns")),
    })
}

/// The schema a model writes: each column named, distinct ignoring case, of a type Power BI reads.
pub(crate) fn output_schema(m: &Model, schema: &DFSchema) -> Result<SchemaRef, ModelError> {
    let err = |message: String| ModelError::Output { model: m.name.clone(), file: m.file.clone(), message };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut fields = vec![];
    for f in schema.fields() {
        let name = f.name();
        if name.trim().is_empty() || name.contains('(') || name.contains(')') {
            return Err(err(format!("output column `{name}` needs a name: add `AS some_name`")));
        }
        if let Some(other) = seen.insert(name.to_lowercase(), name.clone()) {
            return Err(err(format!("output columns `{other}` and `{name}` differ only in case, which Power BI cannot tell apart")));
        }
        let t = bi_type(f.data_type()).map_err(|why| err(format!("output column `{name}` {why}")))?;
        fields.push(Field::new(name, t, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// A batch in the output schema (strings as `Utf8`, timestamps µs UTC, …).
pub(crate) fn to_output(m: &Model, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ModelError> {
    let opts = CastOptions { safe: false, ..Default::default() };
    let cols = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { cast_with_options(c, f.data_type(), &opts) })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|cols| RecordBatch::try_new(schema.clone(), cols))
        .map_err(|e| ModelError::Execute { model: m.name.clone(), file: m.file.clone(), message: e.to_string() })?;
    Ok(cols)
}

fn exec_err(m: &Model, e: impl std::fmt::Display) -> ModelError {
    ModelError::Execute { model: m.name.clone(), file: m.file.clone(), message: e.to_string() }
}

/// Runs a model and writes its rows to one Parquet file in `dir`; returns the rows written.
async fn write_model(ctx: &SessionContext, m: &Model, dir: &Path) -> Result<u64, ModelError> {
    let df = plan(ctx, m).await?;
    let schema = output_schema(m, df.schema())?;
    let mut stream = df.execute_stream().await.map_err(|e| exec_err(m, e.strip_backtrace()))?;
    let mut w = PartWriter::create(&dir.join("part-00000.parquet"), schema.clone())?;
    while let Some(b) = stream.next().await {
        let b = b.map_err(|e| exec_err(m, e.strip_backtrace()))?;
        w.write(&to_output(m, &b, &schema)?)?;
    }
    Ok(w.finish()?)
}

/// A table held in memory: a MemTable in process; on a cluster, a Parquet file under `dir`
/// (executors cannot see this process's memory).
/// A table of rows held in memory: a memory table, or for a cluster a Parquet file under `dir`
/// (in the store too, when the warehouse is in one: executors elsewhere read it there).
async fn in_memory(ctx: &SessionContext, warehouse: &Warehouse, dir: Option<&Path>, name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Arc<dyn TableProvider>, DataFusionError> {
    let Some(dir) = dir else {
        return Ok(Arc::new(MemTable::try_new(schema, vec![batches])?));
    };
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder)?;
    let file = std::fs::File::create(folder.join("part-0.parquet"))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
    for b in &batches {
        w.write(b)?;
    }
    w.close()?;
    if let Some(remote) = &warehouse.remote {
        let local = folder.join("part-0.parquet");
        let bytes = std::fs::read(&local)?;
        let rel = local.strip_prefix(&warehouse.root).unwrap_or(&local).display().to_string();
        let size = bytes.len() as u64;
        remote.put(&rel, bytes).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let data = TableData::Files(vec![crate::warehouse::DataFile { path: rel, size, sha256: String::new() }]);
        return Ok(query::table_provider(ctx, warehouse, &data).await?);
    }
    Ok(query::listing_table(ctx, &folder).await?)
}

fn mart_rel(m: &Model) -> String {
    format!("{}/{}/{}", m.zone, m.area, m.model)
}

/// Models with their last build, for `lantern models`.
pub fn list(project: &Project, warehouse: &Warehouse) -> Result<Vec<ModelInfo>, ModelError> {
    let set = ModelSet::load(project)?;
    let state = load_state(warehouse);
    Ok(set
        .models
        .iter()
        .map(|m| ModelInfo {
            model: m.name.clone(),
            area: m.area.clone(),
            file: m.file.clone(),
            grain: m.grain.clone(),
            description: m.description.clone(),
            inputs: m.inputs.iter().filter(|i| i.parts == 3).map(|i| i.table.clone()).collect(),
            last_build: state.models.get(&m.name).cloned(),
        })
        .collect())
}

/// Builds the models after a run's commit, as `lantern run` does, and adds them to the run's
/// record, saved again: each model built or up to date, with rows and seconds. When a model
/// fails, every mart stays as it was, the record's outcome says so and the error is returned.
pub fn build_for_run(
    project: &Project,
    warehouse: &Warehouse,
    record: &mut RunRecord,
    cluster: Option<&str>,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Result<ModelReport, ModelError> {
    let t0 = Instant::now();
    let opts = BuildOptions { full: false, run_id: Some(record.run_id.clone()), cluster: cluster.map(str::to_string), only: vec![], stop };
    let result = build_all(project, warehouse, &opts);
    record.models_seconds = t0.elapsed().as_secs_f64();
    match &result {
        Ok(report) => record.models = report.models.clone(),
        Err(ModelError::Stopped) => {
            record.outcome = "abandoned: stopped by a signal while the models built (marts unchanged)".into();
            record.error = Some(ModelError::Stopped.to_string());
        }
        Err(e) => {
            record.outcome = "failed: a SQL model did not build (marts unchanged)".into();
            record.error = Some(e.to_string());
        }
    }
    // saved as still unfinished: `succeeded` is written only once the report is (by the job), so
    // a run killed between its models and its report is never recorded as succeeded
    let saved = if record.outcome.starts_with("succeeded") { RunRecord { outcome: crate::warehouse::runs::UNFINISHED.into(), ..record.clone() } } else { record.clone() };
    if let Err(e) = warehouse.save_run(&saved) {
        tracing::warn!(error = %e, "could not add the models to the run record");
    }
    result
}

/// Builds the project's models whose inputs changed (all with `full`) into `marts/`. Call it
/// after a run's commit; it waits on the process's runtime (see [`build_all_async`] inside one).
pub fn build_all(project: &Project, warehouse: &Warehouse, opts: &BuildOptions) -> Result<ModelReport, ModelError> {
    let result = crate::runtime::block_on(build_all_async(project, warehouse, opts));
    query::engine::tidy_spill(&warehouse.root);
    result
}

pub async fn build_all_async(project: &Project, warehouse: &Warehouse, opts: &BuildOptions) -> Result<ModelReport, ModelError> {
    let t0 = Instant::now();
    let mut set = ModelSet::load(project)?;
    if !opts.only.is_empty() {
        let all: Vec<String> = set.models.iter().map(|m| m.name.clone()).collect();
        if let Some(n) = opts.only.iter().find(|n| !all.contains(n)) {
            return Err(ModelError::Input { table: n.clone(), message: format!("no such model{}", super::did_you_mean(&super::suggest(n, &all))) });
        }
        let names: Vec<&str> = opts.only.iter().map(String::as_str).collect();
        set = ModelSet { models: set.with_upstream(&names).into_iter().cloned().collect() };
    }
    let mut report = ModelReport { build_id: String::new(), ..Default::default() };
    if set.models.is_empty() {
        return Ok(report);
    }
    // the tables models may read: declared in schemas/ (empty until loaded), or in the warehouse
    let mut on_disk: BTreeMap<String, TableData> = BTreeMap::new();
    for zone in ["clean", "quarantine"] {
        for (source, table, data) in warehouse.tables(zone) {
            on_disk.insert(format!("{zone}.{source}.{table}"), data);
        }
    }
    let mut declared: BTreeMap<String, SchemaRef> = query::declared_tables(project).into_iter().map(|d| (d.name(), d.schema)).collect();
    let assumptions: BTreeMap<String, &crate::project::assumptions::AssumptionTable> = project.assumptions.tables.iter().map(|t| (t.name(), t)).collect();
    for (name, t) in &assumptions {
        declared.insert(name.clone(), super::assumptions::schema(t));
    }
    let known: Vec<String> = on_disk.keys().chain(declared.keys()).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let ctx = match &opts.cluster {
        Some(url) => crate::cluster::remote_context(url).await.map_err(|e| ModelError::Input { table: url.clone(), message: format!("{e:#}") })?,
        None => context_for(project, Some(&query::engine::spill_dir(&warehouse.root)))?,
    };
    query::register_store(&ctx, warehouse);
    tracing::info!(memory_limit = %query::engine::human(query::engine::memory_limit()), target_partitions = query::engine::target_partitions(), cluster = ?opts.cluster, "building models");
    // on a cluster every input must be files the executors can read: in-memory tables (declared
    // tables not yet loaded, assumptions) are written to Parquet for the build
    let cluster_inputs = opts.cluster.as_ref().map(|_| warehouse.root.join("_tmp").join(format!("cluster-inputs-{}", crate::warehouse::runs::new_run_id())));
    let functions: BTreeSet<String> = ctx.state().table_functions().keys().cloned().collect();
    set.check_inputs(&|t| on_disk.contains_key(t) || declared.contains_key(t), &|t| functions.contains(t), &known)?;

    // register the tables read, with their fingerprints
    let mut state = load_state(warehouse);
    let mut file_hashes = BTreeMap::new();
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();
    let tables: BTreeSet<&str> = set.models.iter().flat_map(|m| &m.inputs).filter(|i| i.parts == 3 && set.get(&i.table).is_none()).map(|i| i.table.as_str()).collect();
    for t in tables {
        let input_err = |e: DataFusionError| ModelError::Input { table: t.to_string(), message: e.strip_backtrace() };
        let (provider, fp): (Arc<dyn TableProvider>, String) = match (on_disk.get(t), declared.get(t)) {
            (_, Some(schema)) if assumptions.contains_key(t) => {
                let a = assumptions[t];
                let batch = super::assumptions::batch(a).map_err(|e| input_err(e.into()))?;
                (in_memory(&ctx, warehouse, cluster_inputs.as_deref(), t, schema.clone(), vec![batch]).await.map_err(input_err)?, a.digest.clone())
            }
            (Some(data), _) => {
                (query::table_provider(&ctx, warehouse, data).await.map_err(input_err)?, data_fingerprint(&warehouse.root, data, &state.files, &mut file_hashes)?)
            }
            (None, Some(schema)) => (in_memory(&ctx, warehouse, cluster_inputs.as_deref(), t, schema.clone(), vec![]).await.map_err(input_err)?, "absent".into()),
            (None, None) => continue, // a table function
        };
        register(&ctx, t, provider).map_err(input_err)?;
        fingerprints.insert(t.to_string(), fp);
    }

    // which models need building, and why
    let version = format!("lantern {} models v1", env!("CARGO_PKG_VERSION"));
    let calendar = project_calendar(project)?;
    let mut plan_for: Vec<(bool, String, Built)> = vec![];
    for m in &set.models {
        let inputs: BTreeMap<String, String> =
            m.inputs.iter().filter_map(|i| fingerprints.get(&i.table).map(|f| (i.table.clone(), f.clone()))).collect();
        let sql_hash = short_hash(&[m.sql.as_bytes()]);
        let listing: String = inputs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let fingerprint = short_hash(&[version.as_bytes(), calendar.digest.as_bytes(), sql_hash.as_bytes(), listing.as_bytes()]);
        let out = warehouse.data(&mart_rel(m));
        let before = state.models.get(&m.name);
        let reason = match before {
            _ if opts.full => Some("rebuild asked for".to_string()),
            None => Some("first build".to_string()),
            Some(_) if out.is_none() => Some("output missing".to_string()),
            Some(b) if b.sql_hash != sql_hash => Some("SQL changed".to_string()),
            Some(b) if b.fingerprint != fingerprint => {
                let changed: Vec<&str> = inputs
                    .iter()
                    .filter(|(k, v)| b.inputs.get(*k) != Some(*v))
                    .map(|(k, _)| k.as_str())
                    .chain(b.inputs.keys().filter(|k| !inputs.contains_key(*k)).map(String::as_str))
                    .collect();
                Some(if changed.is_empty() { "Lantern or its calendar changed".to_string() } else { format!("inputs changed: {}", changed.join(", ")) })
            }
            Some(_) => None,
        };
        fingerprints.insert(m.name.clone(), fingerprint.clone());
        let built = Built {
            fingerprint,
            sql_hash,
            inputs,
            built_at: String::new(),
            build_id: String::new(),
            run_id: opts.run_id.clone(),
            rows: before.map_or(0, |b| b.rows),
            seconds: before.map_or(0.0, |b| b.seconds),
        };
        plan_for.push((reason.is_some(), reason.unwrap_or_default(), built));
    }

    // check every model plans, in order, before anything runs
    for (m, (rebuild, _, _)) in set.models.iter().zip(&plan_for) {
        if !rebuild {
            let input = |message: String| ModelError::Input { table: m.name.clone(), message };
            let data = warehouse.data(&mart_rel(m)).ok_or_else(|| input("its output is missing".into()))?;
            let t = query::table_provider(&ctx, warehouse, &data).await.map_err(|e| input(e.strip_backtrace()))?;
            register(&ctx, &m.name, t).map_err(|e| exec_err(m, e))?;
        }
        let df = plan(&ctx, m).await?;
        let schema = output_schema(m, df.schema())?;
        if *rebuild {
            let empty = MemTable::try_new(schema, vec![vec![]]).map_err(|e| exec_err(m, e))?;
            register(&ctx, &m.name, Arc::new(empty)).map_err(|e| exec_err(m, e))?;
        }
    }

    // run the ones to build into staging, then swap them in together
    let build_id = opts.run_id.as_ref().map(|r| format!("{r}-models")).unwrap_or_else(crate::warehouse::runs::new_run_id);
    report.build_id = build_id.clone();
    let stage = warehouse.staging(&build_id);
    let mut partitions = BTreeSet::new();
    let built_at = chrono::Utc::now().to_rfc3339();
    let result: Result<(), ModelError> = async {
        for (m, (rebuild, reason, built)) in set.models.iter().zip(plan_for.iter_mut()) {
            if !*rebuild {
                report.models.push(ModelRecord { model: m.name.clone(), file: m.file.clone(), status: "up to date".into(), reason: String::new(), rows: built.rows, seconds: 0.0 });
                continue;
            }
            if opts.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst)) {
                return Err(ModelError::Stopped);
            }
            let t = Instant::now();
            let dir = stage.join(mart_rel(m));
            let rows = write_model(&ctx, m, &dir).await?;
            let staged = query::listing_table(&ctx, &dir).await.map_err(|e| exec_err(m, e.strip_backtrace()))?;
            register(&ctx, &m.name, staged).map_err(|e| exec_err(m, e))?;
            partitions.insert(mart_rel(m));
            built.rows = rows;
            built.seconds = t.elapsed().as_secs_f64();
            built.built_at = built_at.clone();
            built.build_id = build_id.clone();
            tracing::info!(model = %m.name, rows, seconds = built.seconds, reason = %reason, "model built");
            report.models.push(ModelRecord { model: m.name.clone(), file: m.file.clone(), status: "built".into(), reason: reason.clone(), rows, seconds: built.seconds });
        }
        Ok(())
    }
    .await;
    if let Some(dir) = &cluster_inputs {
        let _ = std::fs::remove_dir_all(dir);
        if let (Some(remote), Ok(rel)) = (&warehouse.remote, dir.strip_prefix(&warehouse.root)) {
            if let Err(e) = remote.remove_all(&rel.display().to_string()) {
                tracing::warn!(error = %e, "could not remove the cluster's input files from the store");
            }
        }
    }
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(e);
    }
    if !partitions.is_empty() {
        warehouse.commit(&build_id, &partitions)?;
    }
    for (m, (rebuild, _, built)) in set.models.iter().zip(plan_for) {
        if rebuild {
            state.models.insert(m.name.clone(), built);
        }
    }
    state.files = file_hashes;
    save_state(warehouse, &state)?;
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_that_calls_a_function() {
        let sql = "-- upper( in a comment\nSELECT a,\n  supper(b),\n  UPPER (c, 3) -- upper(\nFROM t";
        assert_eq!(line_calling(sql, "upper"), Some(4));
        assert_eq!(line_calling(sql, "lower"), None);
    }

    #[test]
    fn power_bi_types() {
        assert_eq!(bi_type(&DataType::Utf8View).unwrap(), DataType::Utf8);
        assert_eq!(bi_type(&DataType::Timestamp(TimeUnit::Nanosecond, None)).unwrap(), DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
        assert_eq!(bi_type(&DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::LargeUtf8))).unwrap(), DataType::Utf8);
        assert_eq!(bi_type(&DataType::Decimal256(40, 2)).unwrap(), DataType::Decimal128(38, 2));
        assert_eq!(bi_type(&DataType::Date64).unwrap(), DataType::Date32);
        assert!(bi_type(&DataType::new_list(DataType::Int32, true)).unwrap_err().contains("nested"));
        assert!(bi_type(&DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano)).is_err());
    }
}
