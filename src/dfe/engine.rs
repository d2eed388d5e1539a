//! Runs a rule set's SQL over a return's tables in one DataFusion session.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Builder, Int64Array, Int64Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use datafusion::datasource::MemTable;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use super::{Catalog, ColumnDecl, DfeError, Kind, Rule, RuleType, TableDecl};

/// A cell as read: text, a date, or a list of texts.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Date(NaiveDate),
    List(Vec<String>),
}

/// One record: its index in its table (as the DfE's tables number them), the row a person finds
/// it at (XML: the line of its opening tag), and its values in the table's declared order.
#[derive(Debug, Clone)]
pub struct Row {
    pub index: i64,
    pub line: Option<u64>,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct TableData {
    pub rows: Vec<Row>,
}

/// One return (one file) as the DfE's tables.
#[derive(Debug, Clone, Default)]
pub struct Return {
    /// The file, as the report names it.
    pub file: String,
    /// The collection year's end as the file says it (`2025`).
    pub year: Option<String>,
    pub tables: BTreeMap<String, TableData>,
    /// The file each table came from, where that is not `file` (a CSV set: one file per table).
    pub table_files: BTreeMap<String, String>,
    /// The return's metadata (the collection year, …): the one row of each `meta` table.
    pub meta: BTreeMap<String, Value>,
}

/// One flagged record (or, for an LA-level rule, the whole return).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flag {
    pub rule: String,
    pub kind: RuleType,
    /// The DfE table; empty for an LA-level rule.
    pub table: String,
    pub file: String,
    /// Index of the record in its table.
    pub index: Option<i64>,
    /// The row a person finds it at.
    pub row: Option<u64>,
    /// The child's id as the file has it.
    pub child: Option<String>,
    pub message: String,
}

/// Text to a date the way the DfE's readers and tests write them: ISO, dd/mm/yyyy, yyyy/mm/dd,
/// dd-mm-yyyy, and dd.mm.yyyy (day first, as English returns write it). Anything else is no date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    ["%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%Y"].iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

fn data_type(c: &ColumnDecl) -> DataType {
    match c.kind {
        Kind::Text => DataType::Utf8,
        Kind::Date => DataType::Date32,
        Kind::List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

fn column(c: &ColumnDecl, rows: &[Row], i: usize) -> ArrayRef {
    let cell = |r: &Row| r.values.get(i).cloned().unwrap_or(Value::Null);
    match c.kind {
        Kind::Text => {
            let mut b = StringBuilder::new();
            for r in rows {
                match cell(r) {
                    Value::Text(s) => b.append_value(s),
                    Value::Date(d) => b.append_value(d.format("%Y-%m-%d").to_string()),
                    Value::List(v) => b.append_value(v.join(",")),
                    Value::Null => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Date => {
            let mut b = Date32Builder::new();
            for r in rows {
                match cell(r) {
                    Value::Date(d) => b.append_value(crate::query::calendar::from_date(d)),
                    Value::Text(s) => {
                        let d = match &c.format {
                            // as pandas reads a layout: a year of four digits, and only the
                            // dates its timestamps hold
                            Some(f) => NaiveDate::parse_from_str(s.trim(), f).ok().filter(|d| (1678..=2261).contains(&d.year())),
                            None => parse_date(&s),
                        };
                        b.append_option(d.map(crate::query::calendar::from_date))
                    }
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::List => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for r in rows {
                match cell(r) {
                    Value::List(v) if !v.is_empty() => {
                        for s in v {
                            b.values().append_value(s);
                        }
                        b.append(true);
                    }
                    Value::Text(s) => {
                        b.values().append_value(s);
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// A table's batch: its declared columns (lower-cased names), the text of each date column read
/// by a `format` (`<name>_raw`), and `_row`.
fn batch(decl: &TableDecl, data: Option<&TableData>, meta: &BTreeMap<String, Value>) -> Result<RecordBatch, arrow::error::ArrowError> {
    let meta_row;
    let rows: &[Row] = if decl.meta {
        let values = decl
            .columns
            .iter()
            .map(|c| meta.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.name)).map_or(Value::Null, |(_, v)| v.clone()))
            .collect();
        meta_row = [Row { index: 0, line: None, values }];
        &meta_row
    } else {
        data.map_or(&[], |d| &d.rows)
    };
    let mut fields: Vec<Field> = decl.columns.iter().map(|c| Field::new(c.name.to_lowercase(), data_type(c), true)).collect();
    let mut cols: Vec<ArrayRef> = decl.columns.iter().enumerate().map(|(i, c)| column(c, rows, i)).collect();
    let text = ColumnDecl { name: String::new(), kind: Kind::Text, xml: None, seq: None, format: None, member: None, missing: None };
    for (i, c) in decl.columns.iter().enumerate().filter(|(_, c)| c.format.is_some()) {
        fields.push(Field::new(format!("{}_raw", c.name.to_lowercase()), DataType::Utf8, true));
        cols.push(column(&text, rows, i));
    }
    fields.push(Field::new("_row", DataType::Int64, false));
    let mut idx = Int64Builder::new();
    for r in rows {
        idx.append_value(r.index);
    }
    cols.push(Arc::new(idx.finish()));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
}

fn texts(col: &ArrayRef) -> Result<Vec<Option<String>>, arrow::error::ArrowError> {
    let c = arrow::compute::cast(col, &DataType::Utf8)?;
    let s = c.as_any().downcast_ref::<arrow::array::StringArray>().expect("cast to Utf8");
    Ok((0..s.len()).map(|i| (!s.is_null(i)).then(|| s.value(i).to_string())).collect())
}

/// Runs a window over sorted input as one pass over all its rows (`WindowAggExec`) rather than
/// partition by partition as rows stream in (`BoundedWindowAggExec`, which DataFusion picks for
/// `row_number()` and the like): a return's tables are held in memory anyway, and over every child
/// (`partition by child`) the streaming one's per-partition bookkeeping costs more than the rows
/// (measured: about 5 % of a scale-1 return's check). The same rows, in the same order.
#[derive(Debug)]
struct WholeWindows;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for WholeWindows {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _: &datafusion::config::ConfigOptions) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
        plan.transform_up(|p| {
            let Some(w) = p.downcast_ref::<BoundedWindowAggExec>() else { return Ok(Transformed::no(p)) };
            if w.input_order_mode != datafusion::physical_plan::InputOrderMode::Sorted {
                return Ok(Transformed::no(p));
            }
            let whole: Arc<dyn ExecutionPlan> = Arc::new(WindowAggExec::try_new(w.window_expr().to_vec(), Arc::clone(w.input()), false)?);
            Ok(Transformed::yes(whole))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "whole_windows"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A session holding the return's tables, `_tables` and the catalog's views; `materialised`:
/// each view run once and kept as a table ([`materialise`]), for a session running many queries.
async fn session(catalog: &Catalog, ret: &Return, materialised: bool) -> Result<SessionContext, DfeError> {
    let read_err = |message: String| DfeError::Read { file: ret.file.clone(), message };
    // one partition: a return's tables are a few thousand rows, and a plan spread over the cores
    // (repartitioned joins and aggregates) costs more to plan and run than the rows take to read;
    // the rules are what run side by side ([`check`])
    let config = crate::query::config()
        .with_target_partitions(1)
        .set_usize("datafusion.optimizer.max_passes", 1);
    let state = datafusion::execution::SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(WholeWindows))
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::query::udf::register(&ctx);
    for decl in &catalog.tables {
        let b = batch(decl, ret.tables.get(&decl.name), &ret.meta).map_err(|e| read_err(format!("table {}: {e}", decl.name)))?;
        let t = MemTable::try_new(b.schema(), vec![vec![b]]).map_err(|e| read_err(e.to_string()))?;
        ctx.register_table(decl.name.to_lowercase(), Arc::new(t)).map_err(|e| read_err(e.to_string()))?;
    }
    // `_tables`: the tables the return has (a CSV set may lack some; a rule may need to know)
    let mut names = StringBuilder::new();
    for n in ret.tables.keys() {
        names.append_value(n);
    }
    let b = RecordBatch::try_new(Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, false)])), vec![Arc::new(names.finish()) as ArrayRef])
        .map_err(|e| read_err(e.to_string()))?;
    let t = MemTable::try_new(b.schema(), vec![vec![b]]).map_err(|e| read_err(e.to_string()))?;
    ctx.register_table("_tables", Arc::new(t)).map_err(|e| read_err(e.to_string()))?;
    for v in &catalog.views {
        let sql = format!("create view {} as {}", v.name, v.sql);
        ctx.sql(&sql).await.map_err(|e| DfeError::Rules { file: format!("{}/tables.toml", catalog.name), message: format!("view {}: {e}", v.name) })?;
        if materialised {
            materialise(&ctx, &v.name).await;
        }
    }
    Ok(ctx)
}

/// Replaces the view `name` by a table holding its rows, so that the rules reading it (and the
/// views after it) plan against a few hundred rows, not the view's joins again inside every
/// rule: planning is most of a return's time. A view that cannot be run now stays a view (the
/// rules reading it then report its error as theirs, as before).
async fn materialise(ctx: &SessionContext, name: &str) {
    let Ok(df) = ctx.table(name).await else { return };
    let schema = Arc::new(df.schema().as_arrow().clone());
    let Ok(batches) = df.collect().await else { return };
    let Ok(t) = MemTable::try_new(schema, vec![batches]) else { return };
    if ctx.deregister_table(name).is_ok() {
        ctx.register_table(name, Arc::new(t)).expect("a table where the view was");
    }
}

/// The year the collection ends (`2025`) as the catalog's `return_year` view reads it from a
/// return whose files do not say it (an SSDA903 CSV set); none without the view or a date.
pub async fn return_year(catalog: &Catalog, ret: &Return) -> Result<Option<String>, DfeError> {
    if !catalog.views.iter().any(|v| v.name == "return_year") {
        return Ok(None);
    }
    let ctx = session(catalog, ret, false).await?;
    let err = |message: String| DfeError::Rules { file: format!("{}/tables.toml", catalog.name), message: format!("view return_year: {message}") };
    let batches = ctx.sql("select * from return_year").await.map_err(|e| err(e.to_string()))?.collect().await.map_err(|e| err(e.to_string()))?;
    match batches.iter().find(|b| b.num_rows() > 0) {
        Some(b) => Ok(texts(b.column(0)).map_err(|e| err(e.to_string()))?.into_iter().next().flatten()),
        None => Ok(None),
    }
}

/// Runs `sql` over the return's tables and the catalog's views (as a rule's SQL sees them) and
/// gives each row as text: for a look at what the rules see (the derived columns of a view).
pub async fn query(catalog: &Catalog, ret: &Return, sql: &str) -> Result<Vec<Vec<Option<String>>>, DfeError> {
    let ctx = session(catalog, ret, false).await?;
    let err = |message: String| DfeError::Sql { code: String::new(), file: String::new(), message };
    let batches = ctx.sql(sql).await.map_err(|e| err(e.strip_backtrace()))?.collect().await.map_err(|e| err(e.strip_backtrace()))?;
    let mut rows = vec![];
    for b in &batches {
        let cols = b.columns().iter().map(texts).collect::<Result<Vec<_>, _>>().map_err(|e| err(e.to_string()))?;
        rows.extend((0..b.num_rows()).map(|i| cols.iter().map(|c| c[i].clone()).collect::<Vec<_>>()));
    }
    Ok(rows)
}

/// Why `rule` is not run on `ret` (`not run: load the Ofsted providers list`): a table it
/// `requires` that the return lacks, or a metadata value (`metadata.localAuthority`) the caller
/// did not give. None when it runs.
pub fn not_run(catalog: &Catalog, ret: &Return, rule: &Rule) -> Option<String> {
    let lacks = |t: &String| match t.split_once('.') {
        Some((_, col)) => !ret.meta.iter().any(|(k, v)| k.eq_ignore_ascii_case(col) && !matches!(v, Value::Null)),
        None => !ret.tables.contains_key(t),
    };
    let t = rule.requires.iter().find(|t| lacks(t))?;
    let why = match t.split_once('.') {
        Some((table, col)) => catalog.table(table).and_then(|d| d.columns.iter().find(|c| c.name == col)).and_then(|c| c.missing.clone()),
        None => catalog.table(t).and_then(|d| d.missing.clone()),
    };
    Some(format!("not run: {}", why.unwrap_or_else(|| format!("no {t}"))))
}

/// Runs `rules` over `ret` and gives every flag, in rule order then table and row. A rule
/// [`not_run`] names is skipped: it flags nothing.
pub async fn check(catalog: &Catalog, ret: &Return, rules: &[&Rule]) -> Result<Vec<Flag>, DfeError> {
    let ctx = session(catalog, ret, true).await?;
    // (table, index) → (line, child)
    let mut lookup: BTreeMap<(String, i64), (Option<u64>, Option<String>)> = BTreeMap::new();
    for decl in &catalog.tables {
        let child_col = decl.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&catalog.child));
        if let Some(d) = ret.tables.get(&decl.name) {
            for r in &d.rows {
                let child = child_col.and_then(|i| match r.values.get(i) {
                    Some(Value::Text(s)) => Some(s.clone()),
                    _ => None,
                });
                lookup.insert((decl.name.clone(), r.index), (r.line, child));
            }
        }
    }
    // every rule is planned and run as its own task on the runtime, so they go side by side on
    // all cores (planning ~300 small queries is most of a return's time); the answers are read
    // back in rule order, so the flags and the first error are as one by one
    let run: Vec<&Rule> = rules.iter().copied().filter(|r| not_run(catalog, ret, r).is_none()).collect();
    let tasks: Vec<_> = run
        .iter()
        .map(|rule| {
            let (ctx, sql) = (ctx.clone(), rule.sql.clone());
            tokio::spawn(async move { ctx.sql(&sql).await?.collect().await })
        })
        .collect();
    let mut flags = vec![];
    for (rule, task) in run.into_iter().zip(tasks) {
        let sql_err = |message: String| DfeError::Sql { code: rule.code.clone(), file: rule.file.clone(), message };
        let batches = task.await.map_err(|e| sql_err(e.to_string()))?.map_err(|e| sql_err(e.strip_backtrace()))?;
        let mut found: Vec<Flag> = vec![];
        for b in &batches {
            if b.num_rows() == 0 {
                continue;
            }
            if rule.la_level {
                found.push(Flag {
                    rule: rule.code.clone(),
                    kind: rule.kind,
                    table: String::new(),
                    file: ret.file.clone(),
                    index: None,
                    row: None,
                    child: None,
                    message: rule.message.clone(),
                });
                break;
            }
            let (Some(t), Some(r)) = (b.column_by_name("table_name"), b.column_by_name("_row")) else {
                return Err(sql_err("must return the columns table_name and _row".into()));
            };
            let tables = texts(t).map_err(|e| sql_err(e.to_string()))?;
            let r = arrow::compute::cast(r, &DataType::Int64).map_err(|e| sql_err(e.to_string()))?;
            let r = r.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
            for (i, table) in tables.into_iter().enumerate() {
                let table = table.unwrap_or_default();
                let index = (!r.is_null(i)).then(|| r.value(i));
                let (row, child) = index.and_then(|x| lookup.get(&(table.clone(), x)).cloned()).unwrap_or_default();
                let file = ret.table_files.get(&table).unwrap_or(&ret.file).clone();
                found.push(Flag { rule: rule.code.clone(), kind: rule.kind, table, file, index, row, child, message: rule.message.clone() });
            }
        }
        found.sort();
        found.dedup();
        flags.extend(found);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_dfe_reads_them() {
        assert_eq!(parse_date("2024-03-31"), NaiveDate::from_ymd_opt(2024, 3, 31));
        assert_eq!(parse_date("31/03/2024"), NaiveDate::from_ymd_opt(2024, 3, 31));
        assert_eq!(parse_date("2024-03-31T00:00:00"), NaiveDate::from_ymd_opt(2024, 3, 31));
        assert_eq!(parse_date("03.10.2023"), NaiveDate::from_ymd_opt(2023, 10, 3));
        assert_eq!(parse_date("31-31-2024"), None);
        assert_eq!(parse_date("2021-13-05"), None);
    }
}
