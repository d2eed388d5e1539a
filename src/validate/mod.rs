//! Validate and protect: text rows → typed Arrow batches. Every rule has an id and a message;
//! a row that breaks any rule goes to quarantine as received (identifiers pseudonymised), with
//! its file, row number, rules, columns and messages. The rest lands in `clean`, protected.

pub mod parse;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::{SessionConfig, SessionContext};
use regex::Regex;

use crate::privacy::{outward_postcode, Protector, Treatment};
use crate::project::Project;
use crate::schema::{header_key, codes::CompiledCodes, ColumnType, TableSchema};
use crate::source::RawRow;
use parse::*;

pub const DECIMAL_PRECISION: u8 = 18;
pub const DECIMAL_SCALE: i8 = 2;
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("the header lacks required column(s) {missing} of table {table}")]
    MissingColumns { table: String, missing: String },
    #[error("schemas/{table}.toml rule {rule}: {message}")]
    BadRule { table: String, rule: String, message: String },
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The arrow type of a schema column.
pub fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::String => DataType::Utf8,
        ColumnType::Integer => DataType::Int64,
        ColumnType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Boolean => DataType::Boolean,
    }
}

/// Which table a header belongs to: the table whose columns it holds best (every required column
/// present, at least `min_columns`), with the name hint breaking ties.
pub fn detect<'a>(project: &'a Project, sources: &[String], header: &[String], name: &str) -> Option<&'a TableSchema> {
    let keys: HashSet<String> = header.iter().map(|h| header_key(h)).filter(|k| !k.is_empty()).collect();
    let mut best: Option<(f64, &TableSchema)> = None;
    for t in project.tables.iter().filter(|t| sources.iter().any(|s| s == &t.source)) {
        let mut matched = 0usize;
        let mut matched_file = HashSet::new();
        let mut missing_required = false;
        for c in &t.columns {
            let hit = std::iter::once(&c.name).chain(&c.aliases).map(|n| header_key(n)).find(|k| keys.contains(k));
            match hit {
                Some(k) => {
                    matched += 1;
                    matched_file.insert(k);
                }
                None if c.required => missing_required = true,
                None => {}
            }
        }
        if missing_required || matched < t.min_columns() {
            continue;
        }
        let mut score = matched_file.len() as f64 / keys.len().max(1) as f64 + matched as f64 / t.columns.len() as f64;
        for hint in [&t.detect.name, &t.detect.sheet].into_iter().flatten() {
            if Regex::new(hint).is_ok_and(|r| r.is_match(name)) {
                score += 0.5;
            }
        }
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, t));
        }
    }
    best.map(|(_, t)| t)
}

/// Where a file's rows go and what year its codes are checked against.
#[derive(Debug, Clone)]
pub struct FileContext {
    pub file: String,
    pub la: String,
    pub partition_value: String,
    pub year: Option<i32>,
}

/// Keys and referenced values seen so far in a run, for duplicate and cross-table rules.
#[derive(Default)]
pub struct RunState {
    keys: HashMap<String, foldhash::HashMap<String, (String, u64)>>,
    /// referenced `source.table|cols|la|partition` → values
    pub ref_values: HashMap<String, foldhash::HashSet<String>>,
    /// `source.table|cols` that some reference points at
    pub wanted_refs: HashSet<String>,
    /// reference rules that could not be checked, with why
    pub skipped_refs: BTreeMap<String, String>,
}

impl RunState {
    pub fn new(project: &Project) -> Self {
        let mut s = RunState::default();
        for t in &project.tables {
            for r in &t.references {
                if let Some(target) = project.find_table(&t.source, &r.table) {
                    let to = if r.to.is_empty() { &r.columns } else { &r.to };
                    s.wanted_refs.insert(format!("{}|{}", target.qualified_name(), to.join(",")));
                }
            }
        }
        s
    }
}

pub struct ChunkResult {
    pub clean: RecordBatch,
    pub quarantine: RecordBatch,
    pub broken: BTreeMap<String, u64>,
}

struct Col<'a> {
    spec: &'a crate::schema::ColumnSpec,
    field: Option<usize>,
    codes: Option<&'a CompiledCodes>,
    pattern: Option<Regex>,
    treatment: Option<Treatment>,
    formats: Vec<String>,
    rule_prefix: String,
}

pub struct TableValidator<'a> {
    pub schema: &'a TableSchema,
    cols: Vec<Col<'a>>,
    header_len: usize,
    /// Text files: a row with more or fewer fields than the header is an error.
    strict_width: bool,
    /// Workbooks: a bare number in a date column is an Excel serial date.
    excel_serials: bool,
    typed: SchemaRef,
    rules: Vec<(&'a crate::schema::RowRule, Arc<dyn PhysicalExpr>)>,
    pub clean_schema: SchemaRef,
    pub quarantine_schema: SchemaRef,
    /// File columns no schema column claims (dropped: unknown columns may hold personal data).
    pub unknown_columns: Vec<String>,
    refs: Vec<(String, Vec<usize>, String, String)>, // (rule id, column idx, target key prefix, message)
    wanted_own: Vec<(String, Vec<usize>)>,
}

impl<'a> TableValidator<'a> {
    pub fn new(project: &'a Project, schema: &'a TableSchema, header: &[String], strict_width: bool) -> Result<Self, ValidateError> {
        let index: HashMap<String, usize> =
            header.iter().enumerate().rev().map(|(i, h)| (header_key(h), i)).collect();
        let mut claimed = HashSet::new();
        let mut cols = vec![];
        let mut missing = vec![];
        for spec in &schema.columns {
            let field = std::iter::once(&spec.name).chain(&spec.aliases).find_map(|n| index.get(&header_key(n)).copied());
            if let Some(f) = field {
                claimed.insert(f);
            } else if spec.required {
                missing.push(spec.name.clone());
            }
            cols.push(Col {
                spec,
                field,
                codes: spec.codes.as_ref().and_then(|c| project.codes.get(c)),
                pattern: spec.pattern.as_ref().and_then(|p| Regex::new(&format!("^(?:{p})$")).ok()),
                treatment: spec.protect.as_deref().and_then(Treatment::parse),
                formats: schema.formats_for(spec).to_vec(),
                rule_prefix: format!("{}.{}", schema.name, spec.name),
            });
        }
        if !missing.is_empty() {
            return Err(ValidateError::MissingColumns { table: schema.qualified_name(), missing: missing.join(", ") });
        }
        let unknown_columns = header
            .iter()
            .enumerate()
            .filter(|(i, h)| !claimed.contains(i) && !h.trim().is_empty())
            .map(|(_, h)| h.clone())
            .collect();
        let typed = Arc::new(Schema::new(
            schema.columns.iter().map(|c| Field::new(&c.name, arrow_type(c.data_type), true)).collect::<Vec<_>>(),
        ));
        let mut clean_fields = vec![];
        let mut q_fields = vec![
            Field::new("_file", DataType::Utf8, false),
            Field::new("_row", DataType::Int64, false),
            Field::new("_rule", DataType::Utf8, false),
            Field::new("_column", DataType::Utf8, true),
            Field::new("_message", DataType::Utf8, false),
        ];
        for c in &cols {
            if c.treatment == Some(Treatment::Drop) {
                continue;
            }
            clean_fields.push(Field::new(&c.spec.name, arrow_type(c.spec.data_type), true));
            q_fields.push(Field::new(&c.spec.name, DataType::Utf8, true));
        }
        for f in ["la", schema.partition.column.as_str()] {
            clean_fields.push(Field::new(f, DataType::Utf8, false));
            q_fields.push(Field::new(f, DataType::Utf8, false));
        }
        let rules = compile_rules(schema, &typed)?;
        let col_index = |n: &str| schema.columns.iter().position(|c| c.name == n);
        let mut refs = vec![];
        for r in &schema.references {
            let idx: Option<Vec<usize>> = r.columns.iter().map(|c| col_index(c)).collect();
            if let (Some(idx), Some(target)) = (idx, project.find_table(&schema.source, &r.table)) {
                let to = if r.to.is_empty() { &r.columns } else { &r.to };
                refs.push((r.id.clone(), idx, format!("{}|{}", target.qualified_name(), to.join(",")), r.message.clone()));
            }
        }
        let mut wanted_own = vec![];
        for t in &project.tables {
            for r in &t.references {
                if project.find_table(&t.source, &r.table).is_some_and(|x| std::ptr::eq(x, schema)) {
                    let to = if r.to.is_empty() { &r.columns } else { &r.to };
                    if let Some(idx) = to.iter().map(|c| col_index(c)).collect::<Option<Vec<_>>>() {
                        let key = format!("{}|{}", schema.qualified_name(), to.join(","));
                        if !wanted_own.iter().any(|(k, _)| k == &key) {
                            wanted_own.push((key, idx));
                        }
                    }
                }
            }
        }
        Ok(TableValidator {
            schema,
            cols,
            header_len: header.len(),
            strict_width,
            excel_serials: !strict_width,
            typed,
            rules,
            clean_schema: Arc::new(Schema::new(clean_fields)),
            quarantine_schema: Arc::new(Schema::new(q_fields)),
            unknown_columns,
            refs,
            wanted_own,
        })
    }

    /// Validate and protect one chunk of rows.
    pub fn process<'r>(&'r self, rows: &'r [RawRow], ctx: &FileContext, state: &mut RunState, protector: &Protector) -> Result<ChunkResult, ValidateError> {
        let n = rows.len();
        let mut problems: Vec<Vec<(String, Option<String>, String)>> = vec![vec![]; n]; // (rule, column, message)
        let mut texts: Vec<Vec<Option<Cow<'r, str>>>> = Vec::with_capacity(self.cols.len()); // normalised cell text per column
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.cols.len());
        for (r, row) in rows.iter().enumerate() {
            if self.strict_width && row.fields.len() != self.header_len {
                problems[r].push((
                    format!("{}.shape", self.schema.name),
                    None,
                    format!("row has {} fields but the header has {}; check for an unquoted delimiter", row.fields.len(), self.header_len),
                ));
            }
        }
        for c in &self.cols {
            let mut vals: Vec<Option<Cow<'r, str>>> = Vec::with_capacity(n);
            for (r, row) in rows.iter().enumerate() {
                let raw = c.field.and_then(|f| row.fields.get(f)).unwrap_or("");
                vals.push(self.clean_cell(c, raw, ctx.year, &mut problems[r]));
            }
            arrays.push(self.to_array(c, &vals, &mut problems));
            texts.push(vals);
        }
        let typed = RecordBatch::try_new(self.typed.clone(), arrays)?;
        for (rule, expr) in &self.rules {
            let v = expr.evaluate(&typed).map_err(|e| ValidateError::BadRule {
                table: format!("{}/{}", self.schema.source, self.schema.name),
                rule: rule.id.clone(),
                message: e.to_string(),
            })?;
            let arr = v.into_array(n).map_err(|e| ValidateError::BadRule { table: self.schema.name.clone(), rule: rule.id.clone(), message: e.to_string() })?;
            let b = arr.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| ValidateError::BadRule {
                table: self.schema.name.clone(),
                rule: rule.id.clone(),
                message: "the check is not a true/false expression".into(),
            })?;
            for r in 0..n {
                if b.is_valid(r) && !b.value(r) {
                    problems[r].push((rule.id.clone(), rule.column.clone(), rule.message.clone()));
                }
            }
        }
        let part_key = format!("{}|{}", ctx.la, ctx.partition_value);
        let key_of = |idx: &[usize], r: usize| -> Option<String> {
            let mut key = String::new();
            for (n, &i) in idx.iter().enumerate() {
                if n > 0 {
                    key.push('\u{1f}');
                }
                key.push_str(texts[i][r].as_deref()?);
            }
            Some(key)
        };
        // duplicate keys within the table's partition, across the files of this run
        if !self.schema.key.is_empty() {
            let idx: Vec<usize> = self.schema.key.iter().filter_map(|k| self.schema.columns.iter().position(|c| &c.name == k)).collect();
            let seen = state.keys.entry(format!("{}|{}", self.schema.qualified_name(), part_key)).or_default();
            for r in 0..n {
                if !problems[r].is_empty() {
                    continue;
                }
                if let Some(k) = key_of(&idx, r) {
                    match seen.get(&k) {
                        Some((file, line)) => problems[r].push((
                            format!("{}.key", self.schema.name),
                            Some(self.schema.key.join(", ")),
                            format!("duplicate key ({}): the same as row {line} of {file}", self.schema.key.join(", ")),
                        )),
                        None => {
                            seen.insert(k, (ctx.file.clone(), rows[r].line));
                        }
                    }
                }
            }
        }
        for (id, idx, target, message) in &self.refs {
            let full = format!("{target}|{part_key}");
            let Some(values) = state.ref_values.get(&full) else {
                state.skipped_refs.insert(id.clone(), format!("{} has no rows for LA {} {} in this run", target.split('|').next().unwrap_or(""), ctx.la, ctx.partition_value));
                continue;
            };
            for r in 0..n {
                if let Some(k) = key_of(idx, r) {
                    if !values.contains(&k) {
                        let cols: Vec<&str> = idx.iter().map(|&i| self.cols[i].spec.name.as_str()).collect();
                        problems[r].push((id.clone(), Some(cols.join(", ")), message.clone()));
                    }
                }
            }
        }
        let good: Vec<bool> = problems.iter().map(|p| p.is_empty()).collect();
        for (key, idx) in &self.wanted_own {
            let set = state.ref_values.entry(format!("{key}|{part_key}")).or_default();
            for r in (0..n).filter(|&r| good[r]) {
                if let Some(k) = key_of(idx, r) {
                    set.insert(k);
                }
            }
        }
        let mut broken = BTreeMap::new();
        for p in &problems {
            for (rule, _, _) in p {
                *broken.entry(rule.clone()).or_insert(0u64) += 1;
            }
        }
        let clean = self.protect(&typed, &good, ctx, protector)?;
        let quarantine = self.quarantine(rows, &texts, &problems, ctx, protector)?;
        Ok(ChunkResult { clean, quarantine, broken })
    }

    /// Trim, blank → null, codes reduced, patterns and required checked. Type checks come later.
    fn clean_cell<'r>(&'r self, c: &'r Col, raw: &'r str, year: Option<i32>, problems: &mut Vec<(String, Option<String>, String)>) -> Option<Cow<'r, str>> {
        let owned;
        let v = if raw.contains('\u{a0}') {
            owned = raw.replace('\u{a0}', " ");
            owned.trim()
        } else {
            raw.trim()
        };
        let shown = |v: &str| if c.treatment.is_some() { "the value".to_string() } else { format!("'{v}'") };
        if v.is_empty() {
            if c.spec.required {
                problems.push((format!("{}.required", c.rule_prefix), Some(c.spec.name.clone()), format!("{} is required but blank", c.spec.name)));
            }
            return None;
        }
        if let Some(codes) = c.codes {
            return match codes.normalise(v, year) {
                Ok(code) => Some(Cow::Borrowed(code)),
                Err(crate::schema::codes::CodeError::Unknown) => {
                    problems.push((
                        format!("{}.codes", c.rule_prefix),
                        Some(c.spec.name.clone()),
                        format!("{}: {} is not a code in {} (expected {})", c.spec.name, shown(v), codes.name, codes.expected()),
                    ));
                    None
                }
                Err(crate::schema::codes::CodeError::NotInYear { code, year, validity }) => {
                    problems.push((
                        format!("{}.codes", c.rule_prefix),
                        Some(c.spec.name.clone()),
                        format!("{}: code {code} is not valid in the {year} collection ({validity})", c.spec.name),
                    ));
                    None
                }
            };
        }
        if let Some(p) = &c.pattern {
            if !p.is_match(v) {
                let why = c.spec.pattern_message.clone().unwrap_or_else(|| format!("does not match the pattern {}", c.spec.pattern.as_deref().unwrap_or("")));
                problems.push((format!("{}.pattern", c.rule_prefix), Some(c.spec.name.clone()), format!("{}: {} {why}", c.spec.name, shown(v))));
                return None;
            }
        }
        Some(if v.len() == raw.len() { Cow::Borrowed(raw) } else if raw.contains(v) && !raw.contains('\u{a0}') { Cow::Borrowed(raw.trim()) } else { Cow::Owned(v.to_string()) })
    }

    fn to_array(&self, c: &Col, vals: &[Option<Cow<'_, str>>], problems: &mut [Vec<(String, Option<String>, String)>]) -> ArrayRef {
        let name = &c.spec.name;
        let shown = |v: &str| if c.treatment.is_some() { "the value".to_string() } else { format!("'{v}'") };
        let mut bad = |r: usize, v: &str, expected: String| {
            problems[r].push((format!("{}.type", c.rule_prefix), Some(name.clone()), format!("{name}: {} is not {expected}", shown(v))));
        };
        let range = |r: usize, x: f64, problems: &mut [Vec<(String, Option<String>, String)>]| {
            let lo = c.spec.min.is_some_and(|m| x < m);
            let hi = c.spec.max.is_some_and(|m| x > m);
            if lo || hi {
                problems[r].push((
                    format!("{}.range", c.rule_prefix),
                    Some(name.clone()),
                    format!("{name}: {x} is outside {}–{}", c.spec.min.map_or("".into(), |m| m.to_string()), c.spec.max.map_or("".into(), |m| m.to_string())),
                ));
            }
        };
        match c.spec.data_type {
            ColumnType::String => Arc::new(StringArray::from_iter(vals.iter().map(|v| v.as_deref()))),
            ColumnType::Integer => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    out.push(v.as_deref().and_then(|s| match parse_integer(s) {
                        Some(i) => Some(i),
                        None => {
                            bad(r, s, "a whole number".into());
                            None
                        }
                    }));
                }
                for (r, v) in out.iter().enumerate() {
                    if let Some(i) = v {
                        range(r, *i as f64, problems);
                    }
                }
                Arc::new(Int64Array::from(out))
            }
            ColumnType::Float => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    out.push(v.as_deref().and_then(|s| parse_float(s).or_else(|| {
                        bad(r, s, "a number".into());
                        None
                    })));
                }
                for (r, v) in out.iter().enumerate() {
                    if let Some(x) = v {
                        range(r, *x, problems);
                    }
                }
                Arc::new(Float64Array::from(out))
            }
            ColumnType::Decimal => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    out.push(v.as_deref().and_then(|s| parse_decimal(s, DECIMAL_SCALE as u32).or_else(|| {
                        bad(r, s, "an amount (digits, optional thousands commas, up to 2 decimal places)".into());
                        None
                    })));
                }
                Arc::new(Decimal128Array::from(out).with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE).expect("valid decimal type"))
            }
            ColumnType::Date => {
                let expected = || {
                    let f: Vec<String> = c.formats.iter().map(|f| describe_format(f)).collect();
                    format!("a date in the format {}", if f.is_empty() { "yyyy-mm-dd".into() } else { f.join(" or ") })
                };
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    let serial = |s: &str| if self.excel_serials { excel_serial_date(s) } else { None };
                    out.push(v.as_deref().and_then(|s| match parse_date(s, &c.formats).or_else(|| serial(s)) {
                        Some(d) => Some((d - EPOCH).num_days() as i32),
                        None => {
                            bad(r, s, expected());
                            None
                        }
                    }));
                }
                Arc::new(Date32Array::from(out))
            }
            ColumnType::Timestamp => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    out.push(v.as_deref().and_then(|s| match parse_timestamp(s, &c.formats) {
                        Some(dt) => Some(dt.and_utc().timestamp_micros()),
                        None => {
                            bad(r, s, "a date and time".into());
                            None
                        }
                    }));
                }
                Arc::new(TimestampMicrosecondArray::from(out).with_timezone("UTC"))
            }
            ColumnType::Boolean => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    out.push(v.as_deref().and_then(|s| parse_bool(s).or_else(|| {
                        bad(r, s, "yes/no (1/0, Y/N, true/false)".into());
                        None
                    })));
                }
                Arc::new(BooleanArray::from(out))
            }
        }
    }

    fn protect(&self, typed: &RecordBatch, good: &[bool], ctx: &FileContext, protector: &Protector) -> Result<RecordBatch, ValidateError> {
        let mask = BooleanArray::from(good.to_vec());
        let kept = arrow::compute::filter_record_batch(typed, &mask)?;
        let n = kept.num_rows();
        let mut cols: Vec<ArrayRef> = vec![];
        for (i, c) in self.cols.iter().enumerate() {
            let a = kept.column(i);
            match &c.treatment {
                Some(Treatment::Drop) => continue,
                Some(Treatment::Pseudonym(kind)) => {
                    let s = arrow::compute::cast(a, &DataType::Utf8)?;
                    let s = s.as_string::<i32>();
                    let mut b = StringBuilder::with_capacity(s.len(), s.len() * 32);
                    for v in s.iter() {
                        b.append_option(v.map(|v| protector.pseudonym_cached(kind, v)));
                    }
                    cols.push(Arc::new(b.finish()));
                }
                Some(Treatment::Month) => match a.data_type() {
                    DataType::Date32 => {
                        let d = a.as_primitive::<arrow::datatypes::Date32Type>();
                        cols.push(Arc::new(Date32Array::from_iter(d.iter().map(|v| v.map(first_of_month)))));
                    }
                    _ => cols.push(a.clone()),
                },
                Some(Treatment::OutwardPostcode) => {
                    let s = a.as_string::<i32>();
                    cols.push(Arc::new(StringArray::from_iter(s.iter().map(|v| v.and_then(outward_postcode)))));
                }
                None => cols.push(a.clone()),
            }
        }
        cols.push(Arc::new(StringArray::from(vec![ctx.la.as_str(); n])));
        cols.push(Arc::new(StringArray::from(vec![ctx.partition_value.as_str(); n])));
        Ok(RecordBatch::try_new(self.clean_schema.clone(), cols)?)
    }

    fn quarantine(
        &self,
        rows: &[RawRow],
        texts: &[Vec<Option<Cow<'_, str>>>],
        problems: &[Vec<(String, Option<String>, String)>],
        ctx: &FileContext,
        protector: &Protector,
    ) -> Result<RecordBatch, ValidateError> {
        let bad: Vec<usize> = (0..rows.len()).filter(|&r| !problems[r].is_empty()).collect();
        let join = |r: usize, f: &dyn Fn(&(String, Option<String>, String)) -> Option<String>| -> Option<String> {
            let mut v: Vec<String> = problems[r].iter().filter_map(f).collect();
            v.dedup();
            (!v.is_empty()).then(|| v.join("; "))
        };
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![ctx.file.as_str(); bad.len()])),
            Arc::new(Int64Array::from_iter_values(bad.iter().map(|&r| rows[r].line as i64))),
            Arc::new(StringArray::from_iter_values(bad.iter().map(|&r| join(r, &|p| Some(p.0.clone())).unwrap_or_default()))),
            Arc::new(StringArray::from_iter(bad.iter().map(|&r| join(r, &|p| p.1.clone())))),
            Arc::new(StringArray::from_iter_values(
                bad.iter().map(|&r| format!("{}, row {}: {}", ctx.file, rows[r].line, join(r, &|p| Some(p.2.clone())).unwrap_or_default())),
            )),
        ];
        for (i, c) in self.cols.iter().enumerate() {
            if c.treatment == Some(Treatment::Drop) {
                continue;
            }
            let values = bad.iter().map(|&r| {
                let raw = c.field.and_then(|f| rows[r].fields.get(f)).map(str::trim).filter(|s| !s.is_empty());
                match &c.treatment {
                    None => raw.map(str::to_string),
                    Some(Treatment::Pseudonym(kind)) => raw.map(|v| protector.pseudonym(kind, v)),
                    Some(Treatment::Month) => texts[i][r]
                        .as_deref()
                        .and_then(|v| parse_date(v, &c.formats))
                        .map(|d| d.with_day(1).unwrap().format("%Y-%m-%d").to_string()),
                    Some(Treatment::OutwardPostcode) => raw.and_then(outward_postcode),
                    Some(Treatment::Drop) => None,
                }
            });
            cols.push(Arc::new(StringArray::from_iter(values)));
        }
        cols.push(Arc::new(StringArray::from(vec![ctx.la.as_str(); bad.len()])));
        cols.push(Arc::new(StringArray::from(vec![ctx.partition_value.as_str(); bad.len()])));
        Ok(RecordBatch::try_new(self.quarantine_schema.clone(), cols)?)
    }
}

fn first_of_month(days: i32) -> i32 {
    let d = EPOCH + chrono::Duration::days(days as i64);
    (d.with_day(1).unwrap() - EPOCH).num_days() as i32
}

fn compile_rules<'a>(schema: &'a TableSchema, typed: &SchemaRef) -> Result<Vec<(&'a crate::schema::RowRule, Arc<dyn PhysicalExpr>)>, ValidateError> {
    if schema.rules.is_empty() {
        return Ok(vec![]);
    }
    let config = SessionConfig::new().set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = SessionContext::new_with_config(config);
    let df_schema = DFSchema::try_from(typed.as_ref().clone()).map_err(|e| ValidateError::BadRule {
        table: schema.qualified_name(),
        rule: "-".into(),
        message: e.to_string(),
    })?;
    let mut out = vec![];
    for rule in &schema.rules {
        let bad = |e: datafusion::error::DataFusionError| ValidateError::BadRule {
            table: format!("{}/{}", schema.source, schema.name),
            rule: rule.id.clone(),
            message: e.to_string(),
        };
        let expr = ctx.parse_sql_expr(&rule.check, &df_schema).map_err(bad)?;
        let phys = ctx.create_physical_expr(expr, &df_schema).map_err(bad)?;
        out.push((rule, phys));
    }
    Ok(out)
}
