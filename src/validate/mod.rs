//! Validate and protect: text rows → typed Arrow batches. Every rule has an id and a message;
//! a row that breaks any rule goes to quarantine as received (identifiers pseudonymised), with
//! its file, row number, rules, columns and messages. The rest lands in `clean`, protected.

pub mod parse;

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use datafusion::common::DFSchema;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::{SessionConfig, SessionContext};
use regex::Regex;

use crate::privacy::{outward_postcode, Protector, Treatment};
use crate::project::Project;
use crate::schema::{header_key, codes::CompiledCodes, ColumnType, RefScope, Severity, TableSchema};
use crate::source::RawRow;
use parse::*;

pub const DECIMAL_PRECISION: u8 = 18;
pub const DECIMAL_SCALE: i8 = 2;
/// The most digits an amount may have before its decimal point (under £1 trillion): decimal(18,2)
/// holds 16, and the other 4 leave room for the marts' sums of up to 10,000 such amounts.
pub const AMOUNT_DIGITS: u32 = 12;
/// The pseudonym kind for the cells of a quarantined row whose width differs from its header.
const SHIFTED_CELL: &str = "shifted-cell";
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

/// A key as the duplicate-key check remembers it: 128 bits, two 64-bit xxHashes of different
/// seeds (two of a billion different keys sharing one: about 1 in 10^21).
fn key_hash(key: &str) -> u128 {
    use twox_hash::XxHash64;
    (u128::from(XxHash64::oneshot(0, key.as_bytes())) << 64) | u128::from(XxHash64::oneshot(0x9e37_79b9_7f4a_7c15, key.as_bytes()))
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
    /// `source.table|partition` → each key read (its 128-bit hash: a run holds one entry per
    /// row, tens of millions for a large council) → the file (in `files`) and line of its row.
    keys: HashMap<String, foldhash::HashMap<u128, (u32, u64)>>,
    /// The files `keys` points into, in the order read.
    files: Vec<String>,
    /// referenced `source.table|cols|la|partition` → values
    pub ref_values: HashMap<String, foldhash::HashSet<String>>,
    /// reference rules that could not be checked, with why
    pub skipped_refs: BTreeMap<String, String>,
    /// The warehouse whose `clean` zone answers references to tables this run does not bring.
    pub warehouse: Option<crate::warehouse::Warehouse>,
    /// Values read from `clean`, by the same keys as `ref_values` (None: none stored).
    stored_refs: HashMap<String, Option<foldhash::HashSet<String>>>,
    /// Parent rows' columns for `[[inherit]]`: `source.table|link cols|copy cols|la|partition`
    /// → link value → copied values.
    inherited: HashMap<String, foldhash::HashMap<String, Vec<Option<String>>>>,
}

impl RunState {
    /// Drops what the checks remember of council `la` (keys seen, referenced values, parent rows):
    /// every such entry is named `…|<la>|…`. Called when a council's last file has been read, so
    /// a run's memory does not grow with the number of councils.
    pub fn forget_council(&mut self, la: &str) {
        let mark = format!("|{la}|");
        self.keys.retain(|k, _| !k.contains(&mark));
        self.ref_values.retain(|k, _| !k.contains(&mark));
        self.stored_refs.retain(|k, _| !k.contains(&mark));
        self.inherited.retain(|k, _| !k.contains(&mark));
    }
}


/// A cell's problem: (rule, column, message).
type Problem = (String, Option<String>, String);

/// A chunk after `prepare`: its rows, their cells normalised and typed, the problems found so far.
pub struct Prepared {
    rows: Vec<RawRow>,
    /// Normalised cell text, per schema column.
    texts: Vec<StringArray>,
    problems: Vec<Vec<Problem>>,
    flags: Vec<Vec<(String, String)>>,
    shifted: Vec<bool>,
    /// Every row as `clean` holds it (protected).
    protected: RecordBatch,
    ctx: FileContext,
}

/// `str::trim`, without its Unicode walk for the usual cell that starts and ends with an ASCII
/// letter, digit or sign (nothing to trim there).
fn trim(s: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Row `r` of a column of normalised cell text (`None`: blank).
fn text(column: &StringArray, r: usize) -> Option<&str> {
    column.is_valid(r).then(|| column.value(r))
}

/// Row `r`'s key over columns `idx` (parts joined by U+001F) in `buf`; `None` when a part is blank.
fn key_into<'b>(texts: &[StringArray], idx: &[usize], r: usize, buf: &'b mut String) -> Option<&'b str> {
    buf.clear();
    for (n, &i) in idx.iter().enumerate() {
        if n > 0 {
            buf.push('\u{1f}');
        }
        buf.push_str(text(&texts[i], r)?);
    }
    Some(buf.as_str())
}

impl Prepared {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

pub struct ChunkResult {
    pub clean: RecordBatch,
    pub quarantine: RecordBatch,
    pub broken: BTreeMap<String, u64>,
    /// Warning rules broken by rows that stay clean.
    pub flagged: BTreeMap<String, u64>,
    /// Up to `EXAMPLES` row numbers per rule, broken or flagged.
    pub examples: BTreeMap<String, Vec<u64>>,
    /// What each warning rule says (values are never part of it).
    pub flag_messages: BTreeMap<String, String>,
}

/// Example row numbers kept per rule in the run record.
pub const EXAMPLES: usize = 5;

struct Col<'a> {
    spec: &'a crate::schema::ColumnSpec,
    field: Option<usize>,
    codes: Option<&'a CompiledCodes>,
    pattern: Option<Regex>,
    strip: Option<Regex>,
    treatment: Option<Treatment>,
    formats: Vec<String>,
    rule_prefix: String,
    warn: bool,
}

/// An `[[inherit]]` of this table: where its link columns sit in the file, which columns it fills.
struct InheritFrom {
    link_fields: Vec<Option<usize>>,
    copy_cols: Vec<usize>,
    /// `source.table|to cols|copy cols`
    key: String,
}

fn inherit_key(parent: &TableSchema, i: &crate::schema::Inherit) -> String {
    format!("{}|{}|{}", parent.qualified_name(), i.parent_columns().join(","), i.copy.join(","))
}

struct TableRef<'a> {
    rule: &'a crate::schema::Reference,
    columns: Vec<usize>,
    target: &'a TableSchema,
    /// `source.table|col,col`
    key: String,
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
    /// (column index, expression) computed after typing
    derives: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    /// Partition columns added to every row (`la`, the partition) that the schema does not declare.
    appended: Vec<String>,
    pub clean_schema: SchemaRef,
    pub quarantine_schema: SchemaRef,
    /// File columns no schema column claims (dropped: unknown columns may hold personal data).
    pub unknown_columns: Vec<String>,
    refs: Vec<TableRef<'a>>,
    /// Values of this table that references point at: key prefix, columns, kept per council too.
    wanted_own: Vec<(String, Vec<usize>, bool)>,
    inherits: Vec<InheritFrom>,
    /// Columns of this table that child tables inherit: key prefix, link columns, copied columns.
    inherited_own: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// The key's columns, by index.
    key_cols: Vec<usize>,
    /// Per column: whether `settle` reads its normalised text (`Prepared::texts`).
    needs_text: Vec<bool>,
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
                strip: spec.strip.as_ref().and_then(|p| Regex::new(p).ok()),
                treatment: spec.protect.as_deref().and_then(Treatment::parse),
                formats: schema.formats_for(spec).to_vec(),
                rule_prefix: format!("{}.{}", schema.name, spec.name),
                warn: spec.severity == Severity::Warning,
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
        // partition columns are kept inside the files too; a declared one holds the partition value
        let appended: Vec<&str> = ["la", schema.partition.column.as_str()].into_iter().filter(|f| schema.column(f).is_none()).collect();
        for f in &appended {
            clean_fields.push(Field::new(*f, DataType::Utf8, false));
            q_fields.push(Field::new(*f, DataType::Utf8, false));
        }
        let exprs = compile_exprs(schema, &typed, schema.derives.iter().map(|d| (format!("derive {}", d.column), d.sql.as_str())))?;
        let derives = schema.derives.iter().zip(exprs).map(|(d, e)| (schema.columns.iter().position(|c| c.name == d.column).expect("checked at load"), e)).collect();
        let exprs = compile_exprs(schema, &typed, schema.rules.iter().map(|r| (r.id.clone(), r.check.as_str())))?;
        let rules = schema.rules.iter().zip(exprs).collect();
        let col_index = |n: &str| schema.columns.iter().position(|c| c.name == n);
        let mut refs = vec![];
        for r in &schema.references {
            let idx: Option<Vec<usize>> = r.columns.iter().map(|c| col_index(c)).collect();
            if let (Some(idx), Some(target)) = (idx, project.find_table(&schema.source, &r.table)) {
                let to = if r.to.is_empty() { &r.columns } else { &r.to };
                refs.push(TableRef { rule: r, columns: idx, target, key: format!("{}|{}", target.qualified_name(), to.join(",")) });
            }
        }
        let mut wanted_own = vec![];
        for t in &project.tables {
            for r in &t.references {
                if project.find_table(&t.source, &r.table).is_some_and(|x| std::ptr::eq(x, schema)) {
                    let to = if r.to.is_empty() { &r.columns } else { &r.to };
                    if let Some(idx) = to.iter().map(|c| col_index(c)).collect::<Option<Vec<_>>>() {
                        let key = format!("{}|{}", schema.qualified_name(), to.join(","));
                        let council = r.scope == RefScope::Council;
                        match wanted_own.iter_mut().find(|(k, _, _)| k == &key) {
                            Some(w) => w.2 |= council,
                            None => wanted_own.push((key, idx, council)),
                        }
                    }
                }
            }
        }
        let mut inherits = vec![];
        for i in &schema.inherits {
            let Some(parent) = project.find_table(&schema.source, &i.table) else { continue };
            let link_fields = i.columns.iter().map(|c| col_index(c).and_then(|k| cols[k].field)).collect();
            let Some(copy_cols) = i.copy.iter().map(|c| col_index(c)).collect::<Option<Vec<_>>>() else { continue };
            inherits.push(InheritFrom { link_fields, copy_cols, key: inherit_key(parent, i) });
        }
        let mut inherited_own = vec![];
        for t in &project.tables {
            for i in &t.inherits {
                if project.find_table(&t.source, &i.table).is_some_and(|x| std::ptr::eq(x, schema)) {
                    let link = i.parent_columns().iter().map(|c| col_index(c)).collect::<Option<Vec<_>>>();
                    let copy = i.copy.iter().map(|c| col_index(c)).collect::<Option<Vec<_>>>();
                    let key = inherit_key(schema, i);
                    if let (Some(link), Some(copy)) = (link, copy) {
                        if !inherited_own.iter().any(|(k, _, _)| k == &key) {
                            inherited_own.push((key, link, copy));
                        }
                    }
                }
            }
        }
        let mut v = TableValidator {
            schema,
            cols,
            header_len: header.len(),
            strict_width,
            excel_serials: !strict_width,
            typed,
            rules,
            derives,
            appended: appended.iter().map(|s| s.to_string()).collect(),
            clean_schema: Arc::new(Schema::new(clean_fields)),
            quarantine_schema: Arc::new(Schema::new(q_fields)),
            unknown_columns,
            refs,
            wanted_own,
            inherits,
            inherited_own,
            key_cols: schema.key.iter().filter_map(|k| schema.columns.iter().position(|c| &c.name == k)).collect(),
            needs_text: vec![],
        };
        v.needs_text = v.columns_settle_reads();
        Ok(v)
    }

    /// The columns whose normalised text `settle` reads: the key, the columns of references to
    /// other tables and of references to this one, the links and copied columns of child tables'
    /// `[[inherit]]`, and dates made months (quarantine shows them so). Text columns have it
    /// anyway (their array is their text).
    fn columns_settle_reads(&self) -> Vec<bool> {
        let mut needs: Vec<bool> = self.cols.iter().map(|c| c.spec.data_type == ColumnType::String || c.treatment == Some(Treatment::Month)).collect();
        let key = self.key_cols.iter().copied();
        let refs = self.refs.iter().flat_map(|tr| tr.columns.iter().copied());
        let wanted = self.wanted_own.iter().flat_map(|(_, idx, _)| idx.iter().copied());
        let inherited = self.inherited_own.iter().flat_map(|(_, link, copy)| link.iter().chain(copy).copied());
        for i in key.chain(refs).chain(wanted).chain(inherited) {
            needs[i] = true;
        }
        needs
    }

    /// The file field that holds a schema column, if the header has it.
    pub fn field_of(&self, column: &str) -> Option<usize> {
        self.cols.iter().find(|c| c.spec.name == column).and_then(|c| c.field)
    }

    /// Validate and protect one chunk of rows: `prepare` then `settle`.
    pub fn process(&self, rows: Vec<RawRow>, ctx: &FileContext, state: &mut RunState, protector: &Protector) -> Result<ChunkResult, ValidateError> {
        let fills = self.inherited_cells(&rows, &format!("{}|{}", ctx.la, ctx.partition_value), state);
        let prepared = self.prepare(rows, ctx, &fills, protector)?;
        self.settle(prepared, state, protector)
    }

    /// Whether `prepare` needs the run's state: a table that copies columns from its parent rows
    /// (`[[inherit]]`) fills its blank cells from parents read earlier in the run.
    pub fn needs_state_to_prepare(&self) -> bool {
        !self.inherits.is_empty()
    }

    /// The checks a chunk needs nothing else for (trim, codes, patterns, types, ranges, derived
    /// columns, row rules), so chunks can be prepared on any thread, in any order. `fills` are
    /// the parents' cells for `[[inherit]]` (empty when the table inherits nothing).
    pub fn prepare(
        &self,
        rows: Vec<RawRow>,
        ctx: &FileContext,
        fills: &HashMap<usize, Vec<Option<String>>>,
        protector: &Protector,
    ) -> Result<Prepared, ValidateError> {
        let n = rows.len();
        let mut problems: Vec<Vec<Problem>> = vec![vec![]; n]; // (rule, column, message)
        let mut flags: Vec<Vec<(String, String)>> = vec![vec![]; n]; // warning rules: the row stays clean
        let mut texts: Vec<StringArray> = Vec::with_capacity(self.cols.len()); // normalised cell text per column
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.cols.len());
        // a row whose width differs from its header has its values under the wrong columns: any
        // cell may be an identifier, so it is quarantined whole and no message quotes it
        let shifted: Vec<bool> = rows.iter().map(|row| self.strict_width && row.fields.len() != self.header_len).collect();
        for (r, row) in rows.iter().enumerate() {
            if shifted[r] {
                problems[r].push((
                    format!("{}.shape", self.schema.name),
                    None,
                    format!("row has {} fields but the header has {}; check for an unquoted delimiter", row.fields.len(), self.header_len),
                ));
            }
        }
        for (ci, c) in self.cols.iter().enumerate() {
            let mut vals: Vec<Option<Cow<'_, str>>> = Vec::with_capacity(n);
            let fill = fills.get(&ci);
            for (r, row) in rows.iter().enumerate() {
                let raw = c.field.and_then(|f| row.fields.get(f)).unwrap_or("");
                let v = match fill.and_then(|f| f[r].as_deref()) {
                    Some(from_parent) if raw.trim().is_empty() => {
                        self.clean_cell(c, from_parent, ctx.year, !shifted[r], &mut problems[r], &mut flags[r]).map(|v| Cow::Owned(v.into_owned()))
                    }
                    _ => self.clean_cell(c, raw, ctx.year, !shifted[r], &mut problems[r], &mut flags[r]),
                };
                vals.push(v);
            }
            // a text column is its normalised text: one array for both; the text of other columns
            // is kept only where `settle` reads it (all blank elsewhere, never read)
            let text = if self.needs_text[ci] { StringArray::from_iter(vals.iter().map(|v| v.as_deref())) } else { StringArray::new_null(n) };
            arrays.push(self.to_array(c, &vals, &text, &shifted, &mut problems, &mut flags));
            texts.push(text);
        }
        let mut typed = RecordBatch::try_new(self.typed.clone(), arrays)?;
        for (i, expr) in &self.derives {
            let v = expr.evaluate(&typed).and_then(|v| v.into_array(n)).map_err(|e| ValidateError::BadRule {
                table: format!("{}/{}", self.schema.source, self.schema.name),
                rule: format!("derive {}", self.schema.columns[*i].name),
                message: e.to_string(),
            })?;
            let mut cols = typed.columns().to_vec();
            cols[*i] = arrow::compute::cast(&v, self.typed.field(*i).data_type())?;
            typed = RecordBatch::try_new(self.typed.clone(), cols)?;
        }
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
                let column_already_failed = rule.column.is_some() && problems[r].iter().any(|p| p.1 == rule.column);
                if b.is_valid(r) && !b.value(r) && !column_already_failed {
                    if rule.severity == Severity::Warning {
                        flags[r].push((rule.id.clone(), rule.message.clone()));
                    } else {
                        problems[r].push((rule.id.clone(), rule.column.clone(), rule.message.clone()));
                    }
                }
            }
        }
        let protected = self.protect(&typed, ctx, protector)?;
        Ok(Prepared { rows, texts, problems, flags, shifted, protected, ctx: ctx.clone() })
    }

    /// The checks that need what the run has read before this chunk, in the run's order: keys
    /// seen, values referenced, parents' cells; then the clean rows protected and the rest
    /// quarantined.
    pub fn settle(&self, p: Prepared, state: &mut RunState, protector: &Protector) -> Result<ChunkResult, ValidateError> {
        let Prepared { rows, texts, mut problems, flags, shifted, protected, ctx } = p;
        let ctx = &ctx;
        let n = rows.len();
        let part_key = format!("{}|{}", ctx.la, ctx.partition_value);
        // a row's key, built in one buffer reused from row to row
        let mut buf = String::new();
        // duplicate keys within the table's partition, across the files of this run
        if !self.schema.key.is_empty() {
            if state.files.last() != Some(&ctx.file) {
                state.files.push(ctx.file.clone());
            }
            let file = u32::try_from(state.files.len() - 1).expect("fewer than 4 billion files in a run");
            let seen = state.keys.entry(format!("{}|{}", self.schema.qualified_name(), part_key)).or_default();
            for r in 0..n {
                if !problems[r].is_empty() {
                    continue;
                }
                if let Some(k) = key_into(&texts, &self.key_cols, r, &mut buf) {
                    match seen.entry(key_hash(k)) {
                        Entry::Occupied(first) => {
                            let (file, line) = *first.get();
                            problems[r].push((
                                format!("{}.key", self.schema.name),
                                Some(self.schema.key.join(", ")),
                                format!("duplicate key ({}): the same as row {line} of {}", self.schema.key.join(", "), state.files[file as usize]),
                            ))
                        }
                        Entry::Vacant(slot) => {
                            slot.insert((file, rows[r].line));
                        }
                    }
                }
            }
        }
        for tr in &self.refs {
            let council = tr.rule.scope == RefScope::Council;
            let full = if council { format!("{}|{}|*", tr.key, ctx.la) } else { format!("{}|{part_key}", tr.key) };
            if !state.ref_values.contains_key(&full) && !state.stored_refs.contains_key(&full) {
                let loaded = state.warehouse.as_ref().and_then(|w| stored_values(w, tr, ctx, council));
                state.stored_refs.insert(full.clone(), loaded);
            }
            let values = state.ref_values.get(&full).or_else(|| state.stored_refs.get(&full).and_then(Option::as_ref));
            let Some(values) = values else {
                let scope = if council { String::new() } else { format!(" {}", ctx.partition_value) };
                state.skipped_refs.insert(tr.rule.id.clone(), format!("{} has no rows for LA {}{scope}, in this run or in clean", tr.target.qualified_name(), ctx.la));
                continue;
            };
            for (r, found) in problems.iter_mut().enumerate().take(n) {
                if let Some(k) = key_into(&texts, &tr.columns, r, &mut buf) {
                    if !values.contains(k) {
                        let cols: Vec<&str> = tr.columns.iter().map(|&i| self.cols[i].spec.name.as_str()).collect();
                        found.push((tr.rule.id.clone(), Some(cols.join(", ")), tr.rule.message.clone()));
                    }
                }
            }
        }
        let good: Vec<bool> = problems.iter().map(|p| p.is_empty()).collect();
        for (key, idx, council) in &self.wanted_own {
            let mut sets = vec![format!("{key}|{part_key}")];
            if *council {
                sets.push(format!("{key}|{}|*", ctx.la));
            }
            for set in sets {
                let set = state.ref_values.entry(set).or_default();
                for r in (0..n).filter(|&r| good[r]) {
                    if let Some(k) = key_into(&texts, idx, r, &mut buf) {
                        if !set.contains(k) {
                            set.insert(k.to_string());
                        }
                    }
                }
            }
        }
        for (key, link, copy) in &self.inherited_own {
            let map = state.inherited.entry(format!("{key}|{part_key}")).or_default();
            for r in (0..n).filter(|&r| good[r]) {
                if let Some(k) = key_into(&texts, link, r, &mut buf) {
                    map.insert(k.to_string(), copy.iter().map(|&i| text(&texts[i], r).map(str::to_string)).collect());
                }
            }
        }
        let (mut broken, mut flagged, mut examples) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::<String, Vec<u64>>::new());
        for (r, (p, f)) in problems.iter().zip(&flags).enumerate() {
            // a quarantined row counts only its errors; a clean row counts its warnings
            let (rules, counts) = if good[r] { (f.iter().map(|x| x.0.clone()).collect(), &mut flagged) } else { (p.iter().map(|x| x.0.clone()).collect::<Vec<_>>(), &mut broken) };
            for rule in rules {
                let ex: &mut Vec<u64> = examples.entry(rule.clone()).or_default();
                if ex.len() < EXAMPLES && ex.last() != Some(&rows[r].line) {
                    ex.push(rows[r].line);
                }
                *counts.entry(rule).or_insert(0u64) += 1;
            }
        }
        let flag_messages = flags.into_iter().flatten().collect();
        let clean = arrow::compute::filter_record_batch(&protected, &BooleanArray::from(good))?;
        let quarantine = self.quarantine(&rows, &texts, &problems, &shifted, ctx, protector)?;
        Ok(ChunkResult { clean, quarantine, broken, flagged, examples, flag_messages })
    }

    /// For each `[[inherit]]`, the parent's values of its copied columns for the rows whose link
    /// columns name a parent read earlier in this run: column index → one cell per row.
    fn inherited_cells(&self, rows: &[RawRow], part_key: &str, state: &RunState) -> HashMap<usize, Vec<Option<String>>> {
        let mut fills: HashMap<usize, Vec<Option<String>>> = HashMap::new();
        for inh in &self.inherits {
            let Some(parents) = state.inherited.get(&format!("{}|{part_key}", inh.key)) else { continue };
            for (r, row) in rows.iter().enumerate() {
                let mut key = String::new();
                for (j, f) in inh.link_fields.iter().enumerate() {
                    let v = f.and_then(|f| row.fields.get(f)).map_or("", str::trim);
                    if v.is_empty() {
                        key.clear();
                        break;
                    }
                    if j > 0 {
                        key.push('\u{1f}');
                    }
                    key.push_str(v);
                }
                let Some(values) = (!key.is_empty()).then(|| parents.get(&key)).flatten() else { continue };
                for (&ci, v) in inh.copy_cols.iter().zip(values) {
                    if let Some(v) = v {
                        let cells = fills.entry(ci).or_insert_with(|| vec![None; rows.len()]);
                        cells[r].get_or_insert_with(|| v.clone());
                    }
                }
            }
        }
        fills
    }

    /// Trim, blank → null, codes reduced, patterns and required checked. Type checks come later.
    fn clean_cell<'r>(
        &'r self,
        c: &'r Col,
        raw: &'r str,
        year: Option<i32>,
        quote: bool,
        problems: &mut Vec<Problem>,
        flags: &mut Vec<(String, String)>,
    ) -> Option<Cow<'r, str>> {
        // non-breaking spaces and a declared `strip` pattern change the text; otherwise borrow it
        // (U+00A0 is C2 A0 in UTF-8: look for its first byte, which is quicker than `contains`)
        let nbsp = memchr::memchr(0xC2, raw.as_bytes()).is_some() && raw.contains('\u{a0}');
        let changed: Option<String> = (nbsp || c.strip.is_some()).then(|| {
            let t = raw.replace('\u{a0}', " ");
            match &c.strip {
                Some(re) => re.replace(t.trim(), "").trim().to_string(),
                None => t.trim().to_string(),
            }
        });
        let v: &str = changed.as_deref().unwrap_or_else(|| trim(raw));
        let shown = |v: &str| if c.treatment.is_some() || !quote { "the value".to_string() } else { format!("'{v}'") };
        if v.is_empty() {
            if c.spec.required {
                problems.push((format!("{}.required", c.rule_prefix), Some(c.spec.name.clone()), format!("{} is required but blank", c.spec.name)));
            }
            return None;
        }
        if let Some(codes) = c.codes {
            return match codes.normalise(v, year) {
                Ok(code) => Some(Cow::Borrowed(code)),
                Err(crate::schema::codes::CodeError::Unknown) if c.warn => {
                    flags.push((format!("{}.codes", c.rule_prefix), format!("{}: not a code in {} (expected {})", c.spec.name, codes.name, codes.expected())));
                    Some(Cow::Owned(v.to_string()))
                }
                Err(crate::schema::codes::CodeError::NotInYear { year, validity, .. }) if c.warn => {
                    flags.push((format!("{}.codes", c.rule_prefix), format!("{}: code not valid in the {year} collection ({validity})", c.spec.name)));
                    Some(Cow::Owned(v.to_string()))
                }
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
            if !p.is_match(v) && c.warn {
                let why = c.spec.pattern_message.clone().unwrap_or_else(|| format!("does not match the pattern {}", c.spec.pattern.as_deref().unwrap_or("")));
                flags.push((format!("{}.pattern", c.rule_prefix), format!("{}: {why}", c.spec.name)));
            } else if !p.is_match(v) {
                let why = c.spec.pattern_message.clone().unwrap_or_else(|| format!("does not match the pattern {}", c.spec.pattern.as_deref().unwrap_or("")));
                problems.push((format!("{}.pattern", c.rule_prefix), Some(c.spec.name.clone()), format!("{}: {} {why}", c.spec.name, shown(v))));
                return None;
            }
        }
        Some(match changed {
            Some(t) => Cow::Owned(t),
            None => Cow::Borrowed(trim(raw)),
        })
    }

    fn to_array(
        &self,
        c: &Col,
        vals: &[Option<Cow<'_, str>>],
        text: &StringArray,
        shifted: &[bool],
        problems: &mut [Vec<Problem>],
        flags: &mut [Vec<(String, String)>],
    ) -> ArrayRef {
        let name = &c.spec.name;
        let shown = |r: usize, v: &str| if c.treatment.is_some() || shifted[r] { "the value".to_string() } else { format!("'{v}'") };
        let mut bad = |r: usize, v: &str, expected: String| {
            problems[r].push((format!("{}.type", c.rule_prefix), Some(name.clone()), format!("{name}: {} is not {expected}", shown(r, v))));
        };
        let range = |r: usize, x: f64, problems: &mut [Vec<Problem>], flags: &mut [Vec<(String, String)>]| {
            let lo = c.spec.min.is_some_and(|m| x < m);
            let hi = c.spec.max.is_some_and(|m| x > m);
            if (lo || hi) && c.warn {
                flags[r].push((format!("{}.range", c.rule_prefix), format!("{name}: outside {}–{}", c.spec.min.map_or("".into(), |m| m.to_string()), c.spec.max.map_or("".into(), |m| m.to_string()))));
            } else if lo || hi {
                problems[r].push((
                    format!("{}.range", c.rule_prefix),
                    Some(name.clone()),
                    format!("{name}: {x} is outside {}–{}", c.spec.min.map_or("".into(), |m| m.to_string()), c.spec.max.map_or("".into(), |m| m.to_string())),
                ));
            }
        };
        match c.spec.data_type {
            // a text column's array is its normalised text (`needs_text` always keeps it)
            ColumnType::String => Arc::new(text.clone()),
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
                        range(r, *i as f64, problems, flags);
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
                        range(r, *x, problems, flags);
                    }
                }
                Arc::new(Float64Array::from(out))
            }
            ColumnType::Decimal => {
                let mut out = Vec::with_capacity(vals.len());
                for (r, v) in vals.iter().enumerate() {
                    // an amount past decimal(18,2) would wrap when stored, and one near it would
                    // overflow the marts' sums: quarantined, never wrapped
                    let limit = 10i128.pow(AMOUNT_DIGITS + DECIMAL_SCALE as u32);
                    out.push(v.as_deref().and_then(|s| match parse_decimal(s, DECIMAL_SCALE as u32) {
                        Some(x) if x.abs() < limit => Some(x),
                        Some(_) => {
                            bad(r, s, format!("an amount that fits (at most {AMOUNT_DIGITS} digits before the decimal point)"));
                            None
                        }
                        None => {
                            bad(r, s, "an amount (digits, optional thousands commas, up to 2 decimal places)".into());
                            None
                        }
                    }));
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

    /// Every row of a chunk as `clean` will hold it: identifiers pseudonymised (each value's HMAC
    /// worked out where it differs from the row before; a memo of values seen was slower: a
    /// census holds mostly distinct ids, and looking one up in a large table costs more than the
    /// HMAC), dates made months, postcodes cut to their outward part, dropped columns left out.
    /// Done for every row while preparing, on the reading threads; `settle` keeps the rows that
    /// pass.
    fn protect(&self, typed: &RecordBatch, ctx: &FileContext, protector: &Protector) -> Result<RecordBatch, ValidateError> {
        let n = typed.num_rows();
        let mut cols: Vec<ArrayRef> = vec![];
        for (i, c) in self.cols.iter().enumerate() {
            let a = typed.column(i);
            match &c.treatment {
                Some(Treatment::Drop) => continue,
                Some(Treatment::Pseudonym(kind)) => {
                    let s = arrow::compute::cast(a, &DataType::Utf8)?;
                    let s = s.as_string::<i32>();
                    let mut b = StringBuilder::with_capacity(s.len(), s.len() * 32);
                    // a value repeated from the row before (a school's id down its pupils) reuses
                    // its pseudonym
                    let (mut last, mut p): (Option<&str>, [u8; 32]) = (None, [0; 32]);
                    for v in s.iter() {
                        match v {
                            None => b.append_null(),
                            Some(v) => {
                                if last != Some(v) {
                                    protector.pseudonym_into(kind, v, &mut p);
                                    last = Some(v);
                                }
                                b.append_value(std::str::from_utf8(&p).expect("hex digits"));
                            }
                        }
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
                None if c.spec.name == self.schema.partition.column => {
                    cols.push(Arc::new(StringArray::from(vec![ctx.partition_value.as_str(); n])))
                }
                None => cols.push(a.clone()),
            }
        }
        self.push_appended(&mut cols, ctx, n);
        Ok(RecordBatch::try_new(self.clean_schema.clone(), cols)?)
    }

    fn quarantine(
        &self,
        rows: &[RawRow],
        texts: &[StringArray],
        problems: &[Vec<Problem>],
        shifted: &[bool],
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
                if shifted[r] {
                    // under the wrong column: protected as if it were an identifier
                    return raw.map(|v| protector.pseudonym(SHIFTED_CELL, v));
                }
                match &c.treatment {
                    None => raw.map(str::to_string),
                    Some(Treatment::Pseudonym(kind)) => raw.map(|v| protector.pseudonym(kind, v)),
                    Some(Treatment::Month) => text(&texts[i], r)
                        .and_then(|v| parse_date(v, &c.formats))
                        .map(|d| d.with_day(1).unwrap().format("%Y-%m-%d").to_string()),
                    Some(Treatment::OutwardPostcode) => raw.and_then(outward_postcode),
                    Some(Treatment::Drop) => None,
                }
            });
            cols.push(Arc::new(StringArray::from_iter(values)));
        }
        self.push_appended(&mut cols, ctx, bad.len());
        Ok(RecordBatch::try_new(self.quarantine_schema.clone(), cols)?)
    }

    fn push_appended(&self, cols: &mut Vec<ArrayRef>, ctx: &FileContext, n: usize) {
        for f in &self.appended {
            let v = if f == "la" { ctx.la.as_str() } else { ctx.partition_value.as_str() };
            cols.push(Arc::new(StringArray::from(vec![v; n])));
        }
    }
}

/// The values a reference looks for, as already committed to `clean` for this council (and
/// partition, unless council-wide). Only plain text columns can be compared this way: protected
/// columns hold pseudonyms there, not the values the file carries.
fn stored_values(warehouse: &crate::warehouse::Warehouse, tr: &TableRef, ctx: &FileContext, council: bool) -> Option<foldhash::HashSet<String>> {
    use crate::warehouse::TableData;
    let t = tr.target;
    let to = if tr.rule.to.is_empty() { &tr.rule.columns } else { &tr.rule.to };
    let plain = to.iter().all(|c| t.column(c).is_some_and(|c| c.protect.is_none() && c.data_type == ColumnType::String));
    if !plain {
        return None;
    }
    let rel = match council {
        true => format!("clean/{}/{}/{}={}", t.source, t.name, crate::schema::LA_FOLDER_KEY, ctx.la),
        false => format!("clean/{}/{}/{}", t.source, t.name, crate::schema::partition_folders(&ctx.la, &t.partition.column, &ctx.partition_value)),
    };
    let mut out = foldhash::HashSet::default();
    match warehouse.data(&rel)? {
        TableData::Dir(dir) => {
            for f in crate::warehouse::walk_files(&dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")) {
                values_in(std::fs::File::open(&f).ok()?, to, &mut out)?;
            }
        }
        TableData::Files(files) => {
            for f in files {
                match warehouse.remote.as_ref() {
                    Some(remote) => values_in(remote.get(&f.path).ok()??, to, &mut out)?,
                    None => values_in(std::fs::File::open(warehouse.root.join(&f.path)).ok()?, to, &mut out)?,
                }
            }
        }
    }
    Some(out)
}

/// Adds the values of columns `to` (joined as one key) in a Parquet file to `out`.
fn values_in<R: parquet::file::reader::ChunkReader + 'static>(file: R, to: &[String], out: &mut foldhash::HashSet<String>) -> Option<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    let schema = builder.schema().clone();
    let idx: Vec<usize> = to.iter().map(|c| schema.index_of(c).ok()).collect::<Option<_>>()?;
    let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), idx.clone());
    for batch in builder.with_projection(mask).build().ok()? {
        let batch = batch.ok()?;
        // the projection keeps the file's column order: find each column by name
        let cols: Vec<StringArray> = to
            .iter()
            .map(|c| {
                let a = batch.column(batch.schema().index_of(c).ok()?);
                arrow::compute::cast(a, &DataType::Utf8).ok().map(|a| a.as_string::<i32>().clone())
            })
            .collect::<Option<_>>()?;
        for r in 0..batch.num_rows() {
            if cols.iter().all(|c| c.is_valid(r)) {
                out.insert(cols.iter().map(|c| c.value(r)).collect::<Vec<_>>().join("\u{1f}"));
            }
        }
    }
    Some(())
}

fn first_of_month(days: i32) -> i32 {
    let d = EPOCH + chrono::Duration::days(days as i64);
    (d.with_day(1).unwrap() - EPOCH).num_days() as i32
}

/// SQL expressions (rules, derived columns) compiled against the typed row.
fn compile_exprs<'s>(
    schema: &TableSchema,
    typed: &SchemaRef,
    exprs: impl Iterator<Item = (String, &'s str)>,
) -> Result<Vec<Arc<dyn PhysicalExpr>>, ValidateError> {
    let exprs: Vec<(String, &str)> = exprs.collect();
    if exprs.is_empty() {
        return Ok(vec![]);
    }
    let config = SessionConfig::new().set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = SessionContext::new_with_config(config);
    let df_schema = Arc::new(DFSchema::try_from(typed.as_ref().clone()).map_err(|e| ValidateError::BadRule {
        table: schema.qualified_name(),
        rule: "-".into(),
        message: e.to_string(),
    })?);
    // physical expressions want the logical ones coerced and simplified (coalesce → case …)
    let simplifier = ExprSimplifier::new(SimplifyContext::builder().with_schema(df_schema.clone()).build());
    let mut out = vec![];
    for (id, sql) in exprs {
        let bad = |e: datafusion::error::DataFusionError| ValidateError::BadRule {
            table: format!("{}/{}", schema.source, schema.name),
            rule: id.clone(),
            message: e.to_string(),
        };
        let expr = ctx.parse_sql_expr(sql, &df_schema).map_err(bad)?;
        let expr = simplifier.coerce(expr, &df_schema).and_then(|e| simplifier.simplify(e)).map_err(bad)?;
        out.push(ctx.create_physical_expr(expr, &df_schema).map_err(bad)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn trim_agrees_with_str_trim() {
        let cells = ["", " ", "a", " a", "a ", "\ta\t", "\u{a0}x\u{a0}", "\u{2003}7\u{2003}", "é", " é ", "x\u{3000}", "\u{3000}x", "1 2", "'q'", "\r\n"];
        for c in cells {
            assert_eq!(super::trim(c), c.trim(), "{c:?}");
        }
    }
}
