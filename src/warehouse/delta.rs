//! Delta Lake tables (`format = "delta"`): Lantern writes each table's Parquet files as for the
//! plain layout (the same folders, the same Power BI-safe profile) and records them in the
//! table's Delta commit log (`<table>/_delta_log/`), one commit per table per run, with delta-rs
//! (`deltalake-core`) through the warehouse's own object store. Readers that know Delta (Power
//! BI's `DeltaLake.Table`, Fabric, the `deltalake` Python package, Lantern itself) read the
//! snapshot the log names, so they never see a half-made commit: the files a commit replaces are
//! removed only after the log has moved on.
//!
//! A table's log is brought to a list of files ([`sync`]): one commit adds the files the log
//! lacks and removes those it lists and the list does not, or none when they agree. That makes
//! it safe to repeat after a crash: a commit that died before its log entry leaves the previous
//! version whole, and the next writer finishes it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::datatypes::Schema;
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake_core::kernel::transaction::CommitBuilder;
use deltalake_core::kernel::{Action, Add, MetadataExt as _, Remove, StructType};
use deltalake_core::logstore::{default_logstore, LogStoreRef, StorageConfig};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::DeltaTable;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

use super::WarehouseError;

/// The folder of a table's commit log, inside the table's folder.
pub const LOG_DIR: &str = "_delta_log";

/// A file of a Delta table: its path from the table's folder and its size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableFile {
    pub path: String,
    pub size: u64,
}

/// A table's place: the store holding the warehouse (rooted at the bucket, or at `/` on disk)
/// and the table's URL in it.
pub struct TablePlace {
    pub root_store: Arc<dyn ObjectStore>,
    pub url: url::Url,
}

impl TablePlace {
    fn log_store(&self) -> LogStoreRef {
        let prefix = object_store::path::Path::from_url_path(self.url.path()).unwrap_or_default();
        let prefixed: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(self.root_store.clone(), prefix));
        default_logstore(prefixed, self.root_store.clone(), &self.url, &StorageConfig::default())
    }

    fn err(&self, e: impl std::fmt::Display) -> WarehouseError {
        WarehouseError::Store { path: format!("{}/{LOG_DIR}", self.url.as_str().trim_end_matches('/')), message: e.to_string() }
    }

    /// The table as its log stands, `None` when it has no log.
    pub async fn load(&self) -> Result<Option<DeltaTable>, WarehouseError> {
        let log_store = self.log_store();
        if !log_store.is_delta_table_location().await.map_err(|e| self.err(e))? {
            return Ok(None);
        }
        let mut table = DeltaTable::new(log_store);
        table.load().await.map_err(|e| self.err(e))?;
        Ok(Some(table))
    }

    /// The Arrow schema in a file's footer.
    async fn schema_of(&self, file: &TableFile) -> Result<Schema, WarehouseError> {
        use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
        let at = format!("{}/{}", self.url.path().trim_end_matches('/'), file.path);
        let location = object_store::path::Path::from_url_path(&at).map_err(|e| self.err(e))?;
        let meta = object_store::ObjectMeta { location, last_modified: chrono::DateTime::UNIX_EPOCH, size: file.size, e_tag: None, version: None };
        DFParquetMetadata::new(self.root_store.as_ref(), &meta).fetch_schema().await.map_err(|e| self.err(format!("{}: {e}", file.path)))
    }

    /// The files of the table's current version, `None` when it has no log.
    pub async fn files(&self) -> Result<Option<Vec<TableFile>>, WarehouseError> {
        let Some(table) = self.load().await? else { return Ok(None) };
        Ok(Some(current_files(&table).map_err(|e| self.err(e))?.into_values().collect()))
    }
}

fn current_files(table: &DeltaTable) -> Result<BTreeMap<String, TableFile>, deltalake_core::DeltaTableError> {
    let snapshot = table.snapshot()?;
    Ok(snapshot
        .log_data()
        .iter()
        .map(|f| {
            let path = f.path().to_string();
            (path.clone(), TableFile { path, size: f.size().max(0) as u64 })
        })
        .collect())
}

/// Brings the table's log to list exactly `files`: creates the table when it has no log,
/// otherwise one commit adding and removing the difference (and the schema of the last file
/// when it changed). Returns the version written, `None` when the log already listed `files`.
pub async fn sync(place: &TablePlace, files: &[TableFile], run_id: &str) -> Result<Option<u64>, WarehouseError> {
    let schema = match files.last() {
        Some(f) => place.schema_of(f).await?,
        None => Schema::empty(),
    };
    let kernel: StructType = (&schema).try_into_kernel().map_err(|e| place.err(format!("a column type Delta Lake has no type for: {e}")))?;
    let now = chrono::Utc::now().timestamp_millis();
    let add = |f: &TableFile| {
        Action::Add(Add { path: f.path.clone(), size: f.size as i64, modification_time: now, data_change: true, ..Default::default() })
    };
    let app = BTreeMap::from([("lantern_run".to_string(), serde_json::Value::String(run_id.to_string()))]);
    // a commit that stops part-way through the Delta logs (the fault tests), counted over the
    // tables that have a commit to make
    let Some(table) = place.load().await? else {
        if files.is_empty() {
            return Ok(None);
        }
        fail::fail_point!("delta-commit", |_| Err(place.err("failpoint delta-commit: stopping before this table's Delta commit")));
        let created = CreateBuilder::new()
            .with_log_store(place.log_store())
            .with_columns(kernel.fields().cloned())
            .with_save_mode(SaveMode::ErrorIfExists)
            .with_actions(files.iter().map(add))
            .with_commit_properties(deltalake_core::kernel::transaction::CommitProperties::default().with_metadata(app))
            .await
            .map_err(|e| place.err(e))?;
        return Ok(created.version());
    };
    let current = current_files(&table).map_err(|e| place.err(e))?;
    let wanted: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut actions: Vec<Action> = files.iter().filter(|f| !current.contains_key(&f.path)).map(add).collect();
    actions.extend(current.values().filter(|f| !wanted.contains(f.path.as_str())).map(|f| {
        Action::Remove(Remove { path: f.path.clone(), data_change: true, deletion_timestamp: Some(now), size: Some(f.size as i64), ..Default::default() })
    }));
    if actions.is_empty() {
        return Ok(None);
    }
    fail::fail_point!("delta-commit", |_| Err(place.err("failpoint delta-commit: stopping before this table's Delta commit")));
    let snapshot = table.snapshot().map_err(|e| place.err(e))?;
    let had: StructType = snapshot.schema().as_ref().clone();
    if !files.is_empty() && had != kernel {
        let metadata = snapshot.metadata().clone().with_schema(&kernel).map_err(|e| place.err(e))?;
        actions.push(Action::Metadata(metadata));
    }
    let operation = DeltaOperation::Write { mode: SaveMode::Overwrite, partition_by: None, predicate: None };
    let done = CommitBuilder::default()
        .with_actions(actions)
        .with_app_metadata(app.into_iter().collect())
        .build(Some(snapshot), place.log_store(), operation)
        .await
        .map_err(|e| place.err(e))?;
    Ok(Some(done.version() as u64))
}
