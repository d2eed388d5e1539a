//! Model assumptions: the numbers a council sets and changes — growth rates, unit costs, scenario
//! switches, projection methods — kept in TOML, not in SQL or code.
//!
//! `schemas/assumptions/<group>.toml` declares the group's tables and their columns (the column
//! settings of any schema: `type`, `required`, `min`, `max`, `description`). `assumptions/<group>.toml`
//! gives their rows, one `[[table]]` per row. Models read them as `assumptions.<group>.<table>`,
//! and a model is rebuilt when a table it reads changes. Every row is checked when the project
//! loads: an unknown table or key, a missing required value, a value of the wrong type or out of
//! its bounds stops every command with the file, the row and the key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::schema::{ColumnSpec, ColumnType};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(rename = "table", default)]
    tables: Vec<TableSpec>,
}

/// One declared assumptions table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Columns whose values may appear in one row only.
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnSpec>,
}

/// A table of assumptions with its checked rows (the model layer makes them a typed batch,
/// `model::assumptions::batch`).
#[derive(Debug, Clone)]
pub struct AssumptionTable {
    pub group: String,
    pub spec: TableSpec,
    pub rows: Vec<toml::Table>,
    /// Changes when the rows change: models reading the table are rebuilt.
    pub digest: String,
}

impl AssumptionTable {
    pub fn name(&self) -> String {
        format!("assumptions.{}.{}", self.group, self.spec.name)
    }
}

/// Every assumptions table of a project.
#[derive(Debug, Clone, Default)]
pub struct Assumptions {
    pub tables: Vec<AssumptionTable>,
}

impl Assumptions {
    /// `specs`: `schemas/assumptions/` files, `values`: `assumptions/` files (path → text).
    pub fn load(specs: &BTreeMap<String, String>, values: &BTreeMap<String, String>) -> Result<Assumptions, String> {
        let mut problems = vec![];
        let mut tables = vec![];
        let mut groups = BTreeSet::new();
        for (path, text) in specs.iter().filter(|(p, _)| p.ends_with(".toml") && !p.contains('/')) {
            let group = path.trim_end_matches(".toml").to_string();
            let shown = format!("schemas/assumptions/{path}");
            let spec: GroupSpec = match toml::from_str(text) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            groups.insert(group.clone());
            let file = format!("assumptions/{group}.toml");
            let given: toml::Table = match values.get(&format!("{group}.toml")).map(|t| t.parse::<toml::Table>()) {
                None => toml::Table::new(),
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    problems.push(format!("{file}: {e}"));
                    continue;
                }
            };
            let declared: Vec<&str> = spec.tables.iter().map(|t| t.name.as_str()).collect();
            for key in given.keys().filter(|k| !declared.contains(&k.as_str())) {
                problems.push(format!("{file}: unknown table [[{key}]] ({})", expected(key, &declared)));
            }
            for t in &spec.tables {
                let rows: Vec<toml::Table> = match given.get(&t.name) {
                    None => vec![],
                    Some(toml::Value::Array(a)) => {
                        let mut rows = vec![];
                        for (i, v) in a.iter().enumerate() {
                            match v {
                                toml::Value::Table(r) => rows.push(r.clone()),
                                _ => problems.push(format!("{file}: [[{}]] {}: expected a table of key = value lines", t.name, i + 1)),
                            }
                        }
                        rows
                    }
                    Some(_) => {
                        problems.push(format!("{file}: {} must be written as [[{}]] tables, one per row", t.name, t.name));
                        continue;
                    }
                };
                match table(&file, &group, t, &rows) {
                    Ok(table) => tables.push(table),
                    Err(mut p) => problems.append(&mut p),
                }
            }
        }
        for path in values.keys().filter(|p| p.ends_with(".toml")) {
            if !groups.contains(path.trim_end_matches(".toml")) {
                problems.push(format!("assumptions/{path}: no schemas/assumptions/{path} declares its tables"));
            }
        }
        if problems.is_empty() {
            Ok(Assumptions { tables })
        } else {
            Err(problems.join("\n"))
        }
    }
}

fn expected(key: &str, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    match super::names::suggest(key, &names).first() {
        Some(s) => format!("did you mean {s}?"),
        None if names.is_empty() => "none are declared".into(),
        None => format!("expected one of {}", names.join(", ")),
    }
}

/// One table with its checked rows.
fn table(file: &str, group: &str, t: &TableSpec, rows: &[toml::Table]) -> Result<AssumptionTable, Vec<String>> {
    let mut problems = vec![];
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let mut keys_seen = BTreeSet::new();
    for (i, row) in rows.iter().enumerate() {
        let at = row_label(file, t, i, row);
        for key in row.keys().filter(|k| !names.contains(&k.as_str())) {
            problems.push(format!("{at}: unknown key {key} ({})", expected(key, &names)));
        }
        for c in &t.columns {
            match row.get(&c.name) {
                None if c.required => problems.push(format!("{at}: {} is required", c.name)),
                None => {}
                Some(v) => {
                    if let Err(p) = check(c, v) {
                        problems.push(format!("{at}: {} = {v} {p}", c.name));
                    }
                }
            }
        }
        if !t.key.is_empty() {
            let k: Vec<String> = t.key.iter().map(|k| row.get(k).map(|v| v.to_string()).unwrap_or_default()).collect();
            if !keys_seen.insert(k.clone()) {
                problems.push(format!("{at}: another row has the same {} ({})", t.key.join(", "), k.join(", ")));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // what cannot become a typed batch of rows
    if t.columns.is_empty() {
        return Err(vec![format!("{file}: {}: no columns are declared", t.name)]);
    }
    if let Some(c) = t.columns.iter().find(|c| c.data_type == ColumnType::Timestamp) {
        return Err(vec![format!("{file}: {}: {} is declared a timestamp; assumptions hold dates (type = \"date\")", t.name, c.name)]);
    }
    let digest = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(format!("{:?}|{:?}", t.columns.iter().map(|c| (&c.name, c.data_type)).collect::<Vec<_>>(), rows).as_bytes());
        h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    };
    Ok(AssumptionTable { group: group.to_string(), spec: t.clone(), rows: rows.to_vec(), digest })
}

fn row_label(file: &str, t: &TableSpec, i: usize, row: &toml::Table) -> String {
    let first_key = t.key.first().and_then(|k| row.get(k)).map(|v| format!(" ({v})")).unwrap_or_default();
    format!("{file}: [[{}]] {}{first_key}", t.name, i + 1)
}

/// Why `v` does not fit column `c`, if it does not.
fn check(c: &ColumnSpec, v: &toml::Value) -> Result<(), String> {
    use toml::Value as V;
    let number = match (c.data_type, v) {
        (ColumnType::String, V::String(_)) | (ColumnType::Boolean, V::Boolean(_)) => None,
        (ColumnType::Integer, V::Integer(i)) => Some(*i as f64),
        (ColumnType::Float | ColumnType::Decimal, V::Integer(i)) => Some(*i as f64),
        (ColumnType::Float | ColumnType::Decimal, V::Float(f)) => Some(*f),
        (ColumnType::Date, V::Datetime(d)) if d.date.is_some() && d.time.is_none() => None,
        (ColumnType::Date, V::String(s)) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => None,
        (t, _) => return Err(format!("is not {}", kind(t))),
    };
    if let (Some(p), V::String(text)) = (&c.pattern, v) {
        let whole = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("cannot be checked: {e}"))?;
        if !whole.is_match(text) {
            return Err(c.pattern_message.clone().unwrap_or_else(|| format!("does not match {p}")));
        }
    }
    if let Some(n) = number {
        if let Some(min) = c.min.filter(|m| n < *m) {
            return Err(format!("is below its minimum, {min}"));
        }
        if let Some(max) = c.max.filter(|m| n > *m) {
            return Err(format!("is above its maximum, {max}"));
        }
    }
    Ok(())
}

fn kind(t: ColumnType) -> &'static str {
    match t {
        ColumnType::String => "text (write it in quotes)",
        ColumnType::Integer => "a whole number",
        ColumnType::Decimal | ColumnType::Float => "a number",
        ColumnType::Date | ColumnType::Timestamp => "a date (2025-03-31)",
        ColumnType::Boolean => "true or false",
    }
}

/// A spec and the helper that makes files of it, for the tests here and in `model::assumptions`.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;

    pub fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    pub const SPEC: &str = r#"
[[table]]
name = "scenario"
key = ["scenario"]
[[table.column]]
name = "scenario"
required = true
[[table.column]]
name = "growth_pct"
type = "float"
min = 0
[[table.column]]
name = "weekly_cost"
type = "decimal"
[[table.column]]
name = "from"
type = "date"
"#;
}

#[cfg(test)]
mod tests {
    use super::fixtures::{files, SPEC};
    use super::*;

    #[test]
    fn unknown_keys_tables_wrong_types_and_bounds_name_the_file_row_and_key() {
        let e = Assumptions::load(
            &files(&[("g.toml", SPEC)]),
            &files(&[("g.toml", "[[scenario]]\nscenario = \"a\"\ngrowth_pct = -1\n[[scenario]]\nscenario = \"b\"\ngrowht_pct = 2\nfrom = \"soon\"\n[[scenarios]]\nx = 1\n")]),
        )
        .unwrap_err();
        assert!(e.contains("assumptions/g.toml: [[scenario]] 1 (\"a\"): growth_pct = -1 is below its minimum, 0"), "{e}");
        assert!(e.contains("assumptions/g.toml: [[scenario]] 2 (\"b\"): unknown key growht_pct (did you mean growth_pct?)"), "{e}");
        assert!(e.contains("[[scenario]] 2 (\"b\"): from = \"soon\" is not a date"), "{e}");
        assert!(e.contains("assumptions/g.toml: unknown table [[scenarios]] (did you mean scenario?)"), "{e}");
        let e = Assumptions::load(&files(&[("g.toml", SPEC)]), &files(&[("g.toml", "[[scenario]]\ngrowth_pct = 1\n"), ("h.toml", "")])).unwrap_err();
        assert!(e.contains("[[scenario]] 1: scenario is required"), "{e}");
        assert!(e.contains("assumptions/h.toml: no schemas/assumptions/h.toml declares its tables"), "{e}");
    }

    #[test]
    fn a_table_that_cannot_become_typed_rows_stops_the_load() {
        let e = Assumptions::load(&files(&[("g.toml", "[[table]]\nname = \"empty\"\n")]), &files(&[])).unwrap_err();
        assert_eq!(e, "assumptions/g.toml: empty: no columns are declared");
        let spec = "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"at\"\ntype = \"timestamp\"\n";
        let e = Assumptions::load(&files(&[("g.toml", spec)]), &files(&[])).unwrap_err();
        assert!(e.starts_with("assumptions/g.toml: t: at is declared a timestamp"), "{e}");
    }
}
