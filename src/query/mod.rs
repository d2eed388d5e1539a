//! SQL sessions over the warehouse: every table registered as `zone.source.table`, Lantern's
//! functions ([`udf`], on the working-day [`calendar`]) in every session.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::TableProvider;
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::project::Project;
use crate::warehouse::{TableData, Warehouse, ZONES};

pub mod calendar;
pub mod engine;
pub mod udf;

/// The settings every Lantern session shares.
pub fn config() -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(engine::target_partitions())
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.schema_force_view_types", false)
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
        // column names are kept as the returns spell them (CHILD, DECOM): no lower-casing
        .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
        // positions in the SQL for errors (a model's file and line)
        .set_bool("datafusion.sql_parser.collect_spans", true)
}

/// A session with Lantern's settings and functions, and no tables yet; its memory is bounded
/// ([`engine`]) and it spills into the system's temporary folder.
pub fn context() -> SessionContext {
    context_spilling_to(None).expect("a session spilling to the system's temporary folder")
}

/// A session like [`context`] that spills into `spill` (created when missing), or into the
/// system's temporary folder.
pub fn context_spilling_to(spill: Option<&Path>) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config_rt(config(), engine::runtime(spill)?);
    udf::register(&ctx);
    Ok(ctx)
}

/// A session for a warehouse, spilling into its `_tmp/spill`, no tables yet; a warehouse in an
/// object store has its store registered.
pub fn warehouse_context(warehouse: &Warehouse) -> Result<SessionContext> {
    let ctx = context_spilling_to(Some(&engine::spill_dir(&warehouse.root)))?;
    register_store(&ctx, warehouse);
    Ok(ctx)
}

/// Lets the session read the warehouse's object store (nothing to do on disk).
pub fn register_store(ctx: &SessionContext, warehouse: &Warehouse) {
    if let Some(r) = &warehouse.remote {
        ctx.register_object_store(&r.store_url, r.store.clone());
    }
}

/// A session over the warehouse: strings read as plain `Utf8`, every table registered.
pub async fn session(warehouse: &Warehouse) -> Result<SessionContext> {
    let ctx = warehouse_context(warehouse)?;
    register_all(&ctx, warehouse).await?;
    Ok(ctx)
}

pub async fn register_all(ctx: &SessionContext, warehouse: &Warehouse) -> Result<()> {
    for zone in ZONES {
        let catalog = Arc::new(MemoryCatalogProvider::new());
        for (source, table, data) in warehouse.tables(zone) {
            let schema = match catalog.schema(&source) {
                Some(s) => s,
                None => {
                    let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                    catalog.register_schema(&source, s.clone())?;
                    s
                }
            };
            let t = table_provider(ctx, warehouse, &data).await?;
            schema.register_table(table, t)?;
        }
        ctx.register_catalog(zone, catalog);
    }
    Ok(())
}

/// The schema `zone.source`, created (with its catalog) when missing.
pub fn ensure_schema(ctx: &SessionContext, zone: &str, source: &str) -> Result<Arc<dyn SchemaProvider>> {
    let catalog = match ctx.catalog(zone) {
        Some(c) => c,
        None => {
            let c: Arc<dyn CatalogProvider> = Arc::new(MemoryCatalogProvider::new());
            ctx.register_catalog(zone, c.clone());
            c
        }
    };
    Ok(match catalog.schema(source) {
        Some(s) => s,
        None => {
            let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
            catalog.register_schema(source, s.clone())?;
            s
        }
    })
}

/// Registers (or replaces) `zone.source.table`, creating the catalog and schema when needed.
pub fn register_table(ctx: &SessionContext, zone: &str, source: &str, table: &str, provider: Arc<dyn TableProvider>) -> Result<()> {
    let schema = ensure_schema(ctx, zone, source)?;
    schema.deregister_table(table)?;
    schema.register_table(table.to_string(), provider)?;
    Ok(())
}

pub async fn listing_table(ctx: &SessionContext, dir: &Path) -> Result<Arc<ListingTable>> {
    let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
    let format = ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone());
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    let schema = options.infer_schema(&ctx.state(), &url).await?;
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A table over a table's data: its folder on disk, or the files a store's manifest or a Delta
/// log lists (only those: files of a commit that has not finished are never read).
pub async fn table_provider(ctx: &SessionContext, warehouse: &Warehouse, data: &TableData) -> Result<Arc<ListingTable>> {
    let files = match data {
        TableData::Dir(dir) => return listing_table(ctx, dir).await,
        TableData::Files(files) => files,
    };
    let state = ctx.state();
    let Some(remote) = warehouse.remote.as_ref() else {
        // a Delta table on disk: the files its log lists
        let urls = files.iter().map(|f| ListingTableUrl::parse(warehouse.root.join(&f.path).display().to_string())).collect::<Result<Vec<_>>>()?;
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).infer_schema(&state).await?;
        return Ok(Arc::new(ListingTable::try_new(config)?));
    };
    let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
    // the schema from the files' footers, found by the manifest (no listing)
    let objects: Vec<object_store::ObjectMeta> = files
        .iter()
        .map(|f| object_store::ObjectMeta { location: remote.object(&f.path), last_modified: chrono::DateTime::UNIX_EPOCH, size: f.size, e_tag: None, version: None })
        .collect();
    let schema = datafusion::datasource::file_format::FileFormat::infer_schema(&format, &state, &remote.store, &objects).await?;
    let urls = files.iter().map(|f| ListingTableUrl::parse(remote.file_url(&f.path))).collect::<Result<Vec<_>>>()?;
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A table the schemas declare, with the columns a run writes for it.
#[derive(Debug, Clone)]
pub struct DeclaredTable {
    /// `clean` or `quarantine`
    pub zone: &'static str,
    pub source: String,
    pub table: String,
    pub schema: SchemaRef,
}

impl DeclaredTable {
    pub fn name(&self) -> String {
        format!("{}.{}.{}", self.zone, self.source, self.table)
    }
}

/// Every table the project's schemas declare, in `clean` and in `quarantine`, with the Arrow
/// schema a run would write (dropped columns left out, `la` and the partition column added).
pub fn declared_tables(project: &Project) -> Vec<DeclaredTable> {
    let mut out = vec![];
    for t in &project.tables {
        let header: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let Ok(v) = crate::validate::TableValidator::new(project, t, &header, true) else {
            continue;
        };
        for (zone, schema) in [("clean", v.clean_schema.clone()), ("quarantine", v.quarantine_schema.clone())] {
            out.push(DeclaredTable { zone, source: t.source.clone(), table: t.name.clone(), schema });
        }
    }
    out
}

/// The same schema with every column nullable (hand-made rows need not fill them all).
pub fn nullable(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>()))
}

pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

/// A session for analysts' SQL over the warehouse: every table registered, spilling into the
/// system's temporary folder (so a read-only warehouse, or one another user owns, is readable).
/// Run its statements with [`run_read_only`].
pub async fn read_session(warehouse: &Warehouse) -> Result<SessionContext> {
    let ctx = context_spilling_to(None)?;
    register_store(&ctx, warehouse);
    register_all(&ctx, warehouse).await?;
    Ok(ctx)
}

/// Runs a query that may only read: no CREATE/DROP (so no external tables over other files),
/// no INSERT/UPDATE/DELETE, no COPY … TO (`lantern sql --output` writes results instead).
pub async fn run_read_only(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    let options = datafusion::execution::context::SQLOptions::new().with_allow_ddl(false).with_allow_dml(false);
    let df = ctx.sql_with_options(sql, options).await.map_err(|e| match e {
        datafusion::error::DataFusionError::Plan(m) if m.contains("not supported") => datafusion::error::DataFusionError::Plan(format!(
            "{m}: `lantern sql` only reads the warehouse (no CREATE, INSERT, UPDATE, DELETE, DROP or COPY); \
             to save results, use --output FILE with --format csv, json or parquet"
        )),
        e => e,
    })?;
    df.collect().await
}
