//! `lantern sql`: every warehouse table registered as `zone.source.table` in DataFusion.

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::warehouse::{Warehouse, ZONES};

/// A session over the warehouse: strings read as plain `Utf8`, every table registered.
pub async fn session(warehouse: &Warehouse) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.schema_force_view_types", false)
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
        // column names are kept as the returns spell them (CHILD, DECOM): no lower-casing
        .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = SessionContext::new_with_config(config);
    register_all(&ctx, warehouse).await?;
    Ok(ctx)
}

pub async fn register_all(ctx: &SessionContext, warehouse: &Warehouse) -> Result<()> {
    for zone in ZONES {
        let catalog = Arc::new(MemoryCatalogProvider::new());
        for (source, table, path) in warehouse.tables(zone) {
            let schema = match catalog.schema(&source) {
                Some(s) => s,
                None => {
                    let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                    catalog.register_schema(&source, s.clone())?;
                    s
                }
            };
            let t = listing_table(ctx, &path).await?;
            schema.register_table(table, t)?;
        }
        ctx.register_catalog(zone, catalog);
    }
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

pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}
