//! Model assumptions as Arrow: the checked rows of each table (`project::assumptions`, loaded
//! and checked with the project) as a batch typed as its columns are declared, which models read
//! as `assumptions.<group>.<table>`.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::project::assumptions::AssumptionTable;
use crate::schema::{ColumnSpec, ColumnType};
use crate::validate::{arrow_type, DECIMAL_PRECISION, DECIMAL_SCALE};

/// The table's columns as declared.
pub fn schema(t: &AssumptionTable) -> SchemaRef {
    Arc::new(Schema::new(t.spec.columns.iter().map(|c| Field::new(&c.name, arrow_type(c.data_type), true)).collect::<Vec<_>>()))
}

/// The table's checked rows as a batch.
pub fn batch(t: &AssumptionTable) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = t.spec.columns.iter().map(|c| column(c, &t.rows)).collect();
    RecordBatch::try_new(schema(t), columns)
}

fn column(c: &ColumnSpec, rows: &[toml::Table]) -> ArrayRef {
    use toml::Value as V;
    let vals = rows.iter().map(|r| r.get(&c.name));
    let num = |v: &V| match v {
        V::Integer(i) => Some(*i as f64),
        V::Float(f) => Some(*f),
        _ => None,
    };
    match c.data_type {
        ColumnType::String => {
            let mut b = StringBuilder::new();
            vals.for_each(|v| b.append_option(v.and_then(|v| v.as_str())));
            Arc::new(b.finish())
        }
        ColumnType::Integer => {
            let mut b = Int64Builder::new();
            vals.for_each(|v| b.append_option(v.and_then(|v| v.as_integer())));
            Arc::new(b.finish())
        }
        ColumnType::Float => {
            let mut b = Float64Builder::new();
            vals.for_each(|v| b.append_option(v.and_then(num)));
            Arc::new(b.finish())
        }
        ColumnType::Decimal => {
            let mut b = Decimal128Builder::new().with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE).expect("valid decimal");
            vals.for_each(|v| {
                let text = v.map(|v| match v {
                    V::Integer(i) => i.to_string(),
                    other => other.to_string(),
                });
                b.append_option(text.and_then(|t| crate::validate::parse::parse_decimal(&t, DECIMAL_SCALE as u32)))
            });
            Arc::new(b.finish())
        }
        ColumnType::Date | ColumnType::Timestamp => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            let mut b = Date32Builder::new();
            vals.for_each(|v| {
                let d = v.and_then(|v| match v {
                    V::Datetime(d) => d.date.and_then(|d| chrono::NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32)),
                    V::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                    _ => None,
                });
                b.append_option(d.map(|d| (d - epoch).num_days() as i32))
            });
            Arc::new(b.finish())
        }
        ColumnType::Boolean => {
            let mut b = BooleanBuilder::new();
            vals.for_each(|v| b.append_option(v.and_then(|v| v.as_bool())));
            Arc::new(b.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::assumptions::fixtures::{files, SPEC};
    use crate::project::assumptions::Assumptions;

    #[test]
    fn rows_become_typed_columns() {
        let a = Assumptions::load(
            &files(&[("g.toml", SPEC)]),
            &files(&[("g.toml", "[[scenario]]\nscenario = \"baseline\"\ngrowth_pct = 5\nweekly_cost = 5150.5\nfrom = 2025-04-01\n[[scenario]]\nscenario = \"low\"\n")]),
        )
        .unwrap();
        let t = &a.tables[0];
        assert_eq!(t.name(), "assumptions.g.scenario");
        assert_eq!(batch(t).unwrap().num_rows(), 2);
        let text = arrow::util::pretty::pretty_format_batches(&[batch(t).unwrap()]).unwrap().to_string();
        assert!(text.contains("| baseline | 5.0        | 5150.50     | 2025-04-01 |"), "{text}");
    }
}
