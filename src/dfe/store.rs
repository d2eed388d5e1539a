//! A return's DfE flags as warehouse rows: `clean.dfe.<return>_flags`, partitioned by council and
//! collection year, the child pseudonymised as the return's own tables pseudonymise it.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::{Flag, RuleType};
use crate::warehouse::runs::{DfeRuleCount as RuleCount, DfeSummary as Summary};

/// How many flagged rows of each rule a run record keeps as examples.
pub const EXAMPLES: usize = 5;

pub fn schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        text("return", false),
        text("rule", false),
        text("type", false),
        text("table_name", false),
        text("file", false),
        Field::new("row", DataType::Int64, true),
        text("child", true),
        text("collection_year", false),
        text("run_id", false),
        text("message", false),
        // the partition's values, inside the files as in every clean table (Power BI does not
        // read folder names): a flag joins to its return's rows on la, year and the child
        text("la", false),
        text("year", false),
    ]))
}

/// The rows of `flags` of council `la`'s return of `year` (the year the collection ends, the
/// partition's value), each child's id through `pseudonym`.
pub fn batch(ret: &str, collection_year: &str, run_id: &str, la: &str, year: &str, flags: &[Flag], pseudonym: impl Fn(&str) -> String) -> Result<RecordBatch, ArrowError> {
    let mut cols: Vec<StringBuilder> = (0..11).map(|_| StringBuilder::new()).collect();
    let mut rows = Int64Builder::new();
    for f in flags {
        cols[0].append_value(ret);
        cols[1].append_value(&f.rule);
        cols[2].append_value(f.kind.as_str());
        cols[3].append_value(&f.table);
        cols[4].append_value(&f.file);
        rows.append_option(f.row.map(|r| r as i64));
        cols[5].append_option(f.child.as_deref().map(&pseudonym));
        cols[6].append_value(collection_year);
        cols[7].append_value(run_id);
        cols[8].append_value(&f.message);
        cols[9].append_value(la);
        cols[10].append_value(year);
    }
    let mut arrays: Vec<ArrayRef> = cols.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
    arrays.insert(5, Arc::new(rows.finish()));
    RecordBatch::try_new(schema(), arrays)
}

pub fn summary(ret: &str, collection_year: &str, rules_checked: usize, flags: &[Flag]) -> Summary {
    let mut s = Summary { ret: ret.into(), collection_year: collection_year.into(), rules_checked, ..Default::default() };
    for f in flags {
        match f.kind {
            RuleType::Error => s.errors += 1,
            RuleType::Query => s.queries += 1,
        }
        let r = s.rules.entry(f.rule.clone()).or_insert_with(|| RuleCount { kind: f.kind.as_str().into(), ..Default::default() });
        r.flags += 1;
        if let Some(row) = f.row.filter(|_| r.rows.len() < EXAMPLES) {
            r.rows.push(row);
        }
    }
    s
}
