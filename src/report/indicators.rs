//! Headline indicators for the report's charts: a few ids from each
//! `marts.<area>.indicator_values` (the long shape: la_code, indicator_id, period_end, value,
//! unit…), named from the area's `indicator_catalogue` when there is one. Nothing when the
//! warehouse has no indicators or they cannot be read: the report goes on without them.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};

use crate::warehouse::Warehouse;

/// One indicator for one council over time.
#[derive(Debug, Clone)]
pub struct Series {
    /// `marts.send.indicator_values`
    pub table: String,
    pub indicator_id: String,
    pub name: String,
    pub unit: String,
    pub la_code: String,
    /// (period end, value), oldest first
    pub points: Vec<(String, f64)>,
}

/// Charts per indicator table, and periods per chart.
const PER_TABLE: usize = 3;
const POINTS: usize = 36;

pub fn series(warehouse: &Warehouse) -> Vec<Series> {
    // per area (social_care, send, education …); marts.indicators is their union, not charted twice
    let tables: Vec<String> =
        warehouse.tables("marts").into_iter().filter(|(area, t, _)| t == "indicator_values" && area != "indicators").map(|(area, _, _)| area).collect();
    if tables.is_empty() {
        return vec![];
    }
    crate::runtime::block_on(async {
        let Ok(ctx) = crate::query::session(warehouse).await else { return vec![] };
        let mut out = vec![];
        for area in tables {
            match read_area(&ctx, &area).await {
                Ok(s) => out.extend(s),
                Err(e) => tracing::warn!(area = %area, error = %e, "report: indicators not charted"),
            }
        }
        out
    })
}

async fn strings(ctx: &datafusion::prelude::SessionContext, sql: &str) -> datafusion::error::Result<Vec<Vec<String>>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut rows = vec![];
    for b in batches {
        let cols: Vec<_> = (0..b.num_columns()).map(|i| b.column(i).as_string::<i32>().clone()).collect();
        for r in 0..b.num_rows() {
            rows.push(cols.iter().map(|c| if c.is_null(r) { String::new() } else { c.value(r).to_string() }).collect());
        }
    }
    Ok(rows)
}

async fn read_area(ctx: &datafusion::prelude::SessionContext, area: &str) -> datafusion::error::Result<Vec<Series>> {
    let table = format!("marts.{area}.indicator_values");
    let rows = strings(
        ctx,
        &format!(
            "SELECT CAST(la_code AS VARCHAR), CAST(indicator_id AS VARCHAR), CAST(period_end AS VARCHAR), CAST(CAST(value AS DOUBLE) AS VARCHAR), CAST(unit AS VARCHAR) \
             FROM {table} WHERE value IS NOT NULL ORDER BY 1, 2, 3"
        ),
    )
    .await?;
    let names: BTreeMap<String, String> = strings(ctx, &format!("SELECT CAST(indicator_id AS VARCHAR), CAST(name AS VARCHAR) FROM marts.{area}.indicator_catalogue"))
        .await
        .map(|v| v.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect())
        .unwrap_or_default();
    // the council with most rows; its indicators with most periods, in catalogue order
    let mut per_la: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_la.entry(r[0].as_str()).or_default() += 1;
    }
    let Some(la) = per_la.iter().max_by_key(|(la, n)| (**n, std::cmp::Reverse(**la))).map(|(la, _)| la.to_string()) else { return Ok(vec![]) };
    let mut by_id: BTreeMap<String, (String, Vec<(String, f64)>)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r[0] == la) {
        let Ok(v) = r[3].parse::<f64>() else { continue };
        let e = by_id.entry(r[1].clone()).or_insert_with(|| (r[4].clone(), vec![]));
        e.1.push((r[2].clone(), v));
    }
    let mut ids: Vec<(&String, usize)> = by_id.iter().map(|(id, (_, p))| (id, p.len())).filter(|(_, n)| *n >= 2).collect();
    let order = |id: &str| names.keys().position(|k| k == id).unwrap_or(usize::MAX);
    ids.sort_by_key(|(id, n)| (std::cmp::Reverse(*n), order(id)));
    Ok(ids
        .into_iter()
        .take(PER_TABLE)
        .map(|(id, _)| {
            let (unit, points) = &by_id[id];
            let skip = points.len().saturating_sub(POINTS);
            Series {
                table: table.clone(),
                indicator_id: id.clone(),
                name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
                unit: unit.clone(),
                la_code: la.clone(),
                points: points[skip..].to_vec(),
            }
        })
        .collect())
}
