//! Loads that add to a partition rather than replace it.
//!
//! A partition named by the file (a return's year, a census term) is a snapshot: the load
//! replaces it. A partition named by the rows' own column (a ledger's financial year) can be
//! filled by several files sent at different times — periods 1–6, later 7–12 — so such a load is
//! an increment: in each partition it writes, it replaces only the rows whose `replaces` columns
//! (the schema's `[partition] replaces`, else its key) take a value the load brings, and keeps
//! the partition's other rows. The kept rows are staged beside the new ones before the commit.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::TableProvider;

use crate::project::Project;
use crate::schema::TableSchema;
use crate::warehouse::runs::IncrementRecord;
use crate::warehouse::{PartWriter, Warehouse};

/// The columns that decide which earlier rows a load replaces; empty for a snapshot table.
pub fn replace_columns(t: &TableSchema) -> Vec<String> {
    if !t.partition.replaces.is_empty() {
        return t.partition.replaces.clone();
    }
    if t.partition.from_column.is_some() {
        return t.key.clone();
    }
    vec![]
}

/// For each touched partition of an increment table that already holds rows, stages the rows
/// the load does not replace beside the new ones, and says what it kept and replaced.
pub fn carry_over(project: &Project, warehouse: &Warehouse, stage: &Path, touched: &BTreeSet<String>) -> Result<Vec<IncrementRecord>, String> {
    let mut todo = vec![];
    for rel in touched {
        let mut parts = rel.splitn(4, '/');
        let (Some(zone), Some(source), Some(table)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let Some(t) = project.find_table(source, table) else { continue };
        let by = replace_columns(t);
        if by.is_empty() {
            continue;
        }
        if let Some(old) = warehouse.data(rel) {
            // the keys the load brings to this partition, from both its zones
            let sibling = |z: &str| format!("{z}/{}", rel.split_once('/').map_or("", |x| x.1));
            todo.push((rel.clone(), zone.to_string(), by, old, [sibling("clean"), sibling("quarantine")]));
        }
    }
    if todo.is_empty() {
        return Ok(vec![]);
    }
    crate::runtime::block_on(async {
        let (mut out, mut pending_files) = (vec![], vec![]);
        for (rel, zone, by, old, new_parts) in todo {
            let ctx = crate::query::context();
            crate::query::register_store(&ctx, warehouse);
            let old_table = crate::query::table_provider(&ctx, warehouse, &old).await.map_err(|e| e.to_string())?;
            ctx.register_table("old_rows", old_table).map_err(|e| e.to_string())?;
            // the new keys as text: quarantined rows hold the text the file had
            let key_text = |alias: &str| by.iter().map(|c| format!("CAST({alias}.\"{c}\" AS VARCHAR)")).collect::<Vec<_>>().join(", ");
            let mut new_keys = vec![];
            for (i, part) in new_parts.iter().enumerate() {
                let dir = stage.join(part);
                if crate::warehouse::has_parquet(&dir) {
                    let t = crate::query::listing_table(&ctx, &dir).await.map_err(|e| e.to_string())?;
                    ctx.register_table(format!("new_{i}"), t).map_err(|e| e.to_string())?;
                    new_keys.push(format!("SELECT {} FROM new_{i} n", key_text("n")));
                }
            }
            if new_keys.is_empty() {
                continue;
            }
            let matches = by.iter().enumerate().map(|(i, c)| format!("CAST(o.\"{c}\" AS VARCHAR) = k.c{i}")).collect::<Vec<_>>().join(" AND ");
            let cols = (0..by.len()).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "WITH k({cols}) AS ({}) SELECT o.* FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM k WHERE {matches})",
                new_keys.join(" UNION ")
            );
            let before: u64 = crate::query::run_sql(&ctx, "SELECT count(*) FROM old_rows")
                .await
                .map_err(|e| e.to_string())?
                .first()
                .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0) as u64))
                .unwrap_or(0);
            let kept = crate::query::run_sql(&ctx, &sql).await.map_err(|e| format!("keeping the rows of {rel} this load does not replace: {e}"))?;
            let n_kept: u64 = kept.iter().map(|b| b.num_rows() as u64).sum();
            if n_kept > 0 {
                let dir = stage.join(&rel);
                // the staged files' schema when the load wrote this zone, else the old rows' own
                let schema: SchemaRef = match crate::warehouse::has_parquet(&dir) {
                    true => crate::query::listing_table(&ctx, &dir).await.map_err(|e| e.to_string())?.schema(),
                    false => kept[0].schema(),
                };
                // not named .parquet until every partition's new keys are read
                let pending = dir.join(PENDING);
                let mut w = PartWriter::create(&pending, schema.clone()).map_err(|e| e.to_string())?;
                for b in &kept {
                    w.write(&conform(b, &schema)?).map_err(|e| e.to_string())?;
                }
                w.finish().map_err(|e| e.to_string())?;
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                pending_files.push(pending);
            }
            out.push(IncrementRecord { partition: rel, zone, by, kept: n_kept, replaced: before - n_kept });
        }
        for p in pending_files {
            std::fs::rename(&p, p.with_file_name("part-kept.parquet")).map_err(|e| e.to_string())?;
        }
        Ok(out)
    })
}

const PENDING: &str = "part-kept.parquet.pending";

/// A batch of earlier rows in the columns and types the load writes (a column the earlier load
/// did not have is blank).
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => arrow::compute::cast(c, f.data_type()).map_err(|e| e.to_string()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(schema.fields().clone())), cols).map_err(|e| e.to_string())
}
