//! One model file: `sql/<area>/<model>.sql` (or `sql/published/<area>/<model>.sql` for the
//! `published` zone: aggregates with small numbers suppressed, what may be shared), a header of `--` comments (name, grain,
//! description) and a single SELECT. Its inputs are the tables its SQL reads, found with
//! DataFusion's parser (CTE names are not inputs), each with the line that first names it.

use std::ops::ControlFlow;

use datafusion::common::TableReference;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::planner::object_name_to_table_reference;
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::{visit_relations, Spanned, Statement};

use super::ModelError;

/// A model, parsed.
#[derive(Debug, Clone)]
pub struct Model {
    /// `<zone>.<area>.<model>`
    pub name: String,
    /// `marts`, or `published` for `sql/published/<area>/<model>.sql`
    pub zone: String,
    pub area: String,
    pub model: String,
    /// `sql/<area>/<model>.sql`
    pub file: String,
    pub grain: String,
    pub description: String,
    /// The whole file: header comments and the SELECT, so that lines in errors are the file's.
    pub sql: String,
    /// Tables (and models) the SELECT reads, in the order they first appear.
    pub inputs: Vec<Input>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// As written: `zone.source.table` when complete, else the one or two parts given.
    pub table: String,
    pub parts: usize,
    /// Line of the file where the SQL first names it (0 when the parser gave no position).
    pub line: u64,
}

impl Model {
    /// `file:line` for messages.
    pub fn at(&self, line: u64) -> String {
        if line > 0 {
            format!("{}:{line}", self.file)
        } else {
            self.file.clone()
        }
    }
}

/// Header values: `-- key: value`, continued by further comment lines that are not a key.
fn header(file: &str, text: &str) -> Result<(String, String, String), ModelError> {
    const KEYS: [&str; 3] = ["name", "grain", "description"];
    let mut vals: [Option<String>; 3] = [None, None, None];
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            current = None;
            continue;
        }
        let Some(c) = t.strip_prefix("--") else { break };
        let c = c.trim();
        let key = c.split_once(':').and_then(|(k, v)| Some((KEYS.iter().position(|x| k.trim().eq_ignore_ascii_case(x))?, v.trim())));
        let value = match key {
            Some((k, v)) => {
                if vals[k].is_some() {
                    return Err(ModelError::Header { file: file.into(), message: format!("`-- {}:` appears twice", KEYS[k]) });
                }
                vals[k] = Some(String::new());
                current = Some(k);
                v
            }
            None => c,
        };
        if let Some(s) = current.and_then(|k| vals[k].as_mut()) {
            if !value.is_empty() {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(value);
            }
        }
    }
    let [name, grain, description] = vals;
    let need = |v: Option<String>, k: &str, example: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| ModelError::Header {
            file: file.into(),
            message: format!("the header has no `-- {k}:` line; a model starts with `-- name:`, `-- grain:` and `-- description:` comment lines (e.g. `-- {k}: {example}`)"),
        })
    };
    let name = need(name, "name", "marts.<area>.<model>, as the file's path says")?;
    let grain = need(grain, "grain", "one row per council and month")?;
    let description = need(description, "description", "what the model holds and how it is derived")?;
    Ok((name, grain, description))
}

/// The line a parser message names (`… at Line: 3, Column: 7`).
pub(crate) fn line_in_message(message: &str) -> Option<u64> {
    let i = message.rfind("Line: ")?;
    message[i + 6..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Parses `sql/<area>/<model>.sql` or `sql/published/<area>/<model>.sql` (the path relative to
/// `sql/` is `rel`).
pub fn parse(rel: &str, text: &str) -> Result<Model, ModelError> {
    let file = format!("sql/{rel}");
    let parts: Vec<&str> = rel.trim_end_matches(".sql").split('/').collect();
    let (zone, area, model) = match parts[..] {
        [area, model] => ("marts", area, model),
        ["published", area, model] => ("published", area, model),
        _ => return Err(ModelError::Layout { file }),
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && !s.starts_with(|c: char| c.is_ascii_digit());
    if !ident(area) || !ident(model) {
        return Err(ModelError::Layout { file });
    }
    let name = format!("{zone}.{area}.{model}");
    let (declared, grain, description) = header(&file, text)?;
    if declared != name && declared != model {
        return Err(ModelError::Header {
            file,
            message: format!("`-- name: {declared}` does not match the file: a model's name is its path, here {name} (write `-- name: {name}`)"),
        });
    }
    let statements = DFParserBuilder::new(text).build().and_then(|mut p| p.parse_statements()).map_err(|e| {
        let mut message = e.strip_backtrace();
        if let Some(inner) = message.strip_prefix("SQL error: ParserError(\"").and_then(|m| m.strip_suffix("\")")) {
            message = format!("SQL syntax: {}", inner.replace("\\\"", "\""));
        }
        let line = line_in_message(&message).unwrap_or_else(|| {
            // the end of the file: its last line with text
            if message.contains("found: EOF") {
                text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).last().map_or(0, |(i, _)| i as u64 + 1)
            } else {
                0
            }
        });
        ModelError::Parse { file: file.clone(), line, message }
    })?;
    let mut statements: Vec<DFStatement> = statements.into_iter().collect();
    let statement = match statements.len() {
        1 => statements.pop().expect("one"),
        0 => return Err(ModelError::NotASelect { file, found: "no SQL statement".into() }),
        n => return Err(ModelError::NotASelect { file, found: format!("{n} statements (a model is a single SELECT; use WITH … AS for steps)") }),
    };
    let DFStatement::Statement(s) = &statement else {
        return Err(ModelError::NotASelect { file, found: "a DataFusion command".into() });
    };
    let Statement::Query(_) = s.as_ref() else {
        let kind = s.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        return Err(ModelError::NotASelect { file, found: format!("`{kind} …`") });
    };
    let (refs, _ctes) = resolve_table_references(&statement, false).map_err(|e| ModelError::Parse { file: file.clone(), line: 0, message: e.strip_backtrace() })?;
    // the first line that names each reference
    let mut seen: Vec<(TableReference, u64)> = vec![];
    let _ = visit_relations(s.as_ref(), |name| {
        if let Ok(r) = object_name_to_table_reference(name.clone(), false) {
            if !seen.iter().any(|(x, _)| *x == r) {
                seen.push((r, name.span().start.line));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let mut inputs: Vec<Input> = refs
        .iter()
        .map(|r| {
            let line = seen.iter().find(|(x, _)| x == r).map_or(0, |(_, l)| *l);
            let parts = match r {
                TableReference::Bare { .. } => 1,
                TableReference::Partial { .. } => 2,
                TableReference::Full { .. } => 3,
            };
            Input { table: table_name(r), parts, line }
        })
        .collect();
    inputs.sort_by_key(|i| (i.line, i.table.clone()));
    // what is published is built from aggregates only: never from the rows of clean or
    // quarantine, nor from the child-level staging models
    if zone == "published" {
        if let Some(i) = inputs.iter().find(|i| i.parts != 3 || !published_may_read(&i.table)) {
            return Err(ModelError::Parse {
                file,
                line: i.line,
                message: format!("{name} reads {}: a published model reads only aggregate marts (marts.<area>.<model>, not marts.staging.*), assumptions.* and other published models", i.table),
            });
        }
    }
    Ok(Model { name, zone: zone.into(), area: area.into(), model: model.into(), file, grain, description, sql: text.to_string(), inputs })
}

/// Whether a published model may read `table` (a full name): aggregate marts, assumptions and
/// published models, never clean, quarantine or staging rows.
fn published_may_read(table: &str) -> bool {
    (table.starts_with("marts.") && !table.starts_with("marts.staging.")) || table.starts_with("assumptions.") || table.starts_with("published.")
}

/// `zone.source.table` (or the parts given), unquoted.
pub fn table_name(r: &TableReference) -> String {
    match r {
        TableReference::Bare { table } => table.to_string(),
        TableReference::Partial { schema, table } => format!("{schema}.{table}"),
        TableReference::Full { catalog, schema, table } => format!("{catalog}.{schema}.{table}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "-- name: marts.social_care.referrals\n-- grain: one row per referral\n-- description: Referrals from the CIN census\n--   and Annex A, de-duplicated.\nWITH r AS (\n  SELECT * FROM clean.mosaic.cin_referrals\n)\nSELECT r.*, a.x\nFROM r\nJOIN marts.staging.assessments a ON a.id = r.id\n";

    #[test]
    fn header_and_inputs_with_their_lines() {
        let m = parse("social_care/referrals.sql", GOOD).unwrap();
        assert_eq!(m.name, "marts.social_care.referrals");
        assert_eq!(m.file, "sql/social_care/referrals.sql");
        assert_eq!(m.grain, "one row per referral");
        assert_eq!(m.description, "Referrals from the CIN census and Annex A, de-duplicated.");
        let inputs: Vec<(&str, u64)> = m.inputs.iter().map(|i| (i.table.as_str(), i.line)).collect();
        // the CTE `r` is not an input
        assert_eq!(inputs, vec![("clean.mosaic.cin_referrals", 6), ("marts.staging.assessments", 10)]);
    }

    #[test]
    fn a_header_without_grain_or_with_another_name_is_refused() {
        let e = parse("a/b.sql", "-- name: b\n-- description: x\nSELECT 1").unwrap_err().to_string();
        assert!(e.starts_with("sql/a/b.sql: ") && e.contains("-- grain:"), "{e}");
        let e = parse("a/b.sql", "-- name: marts.a.c\n-- grain: g\n-- description: x\nSELECT 1").unwrap_err().to_string();
        assert!(e.contains("marts.a.b"), "{e}");
    }

    #[test]
    fn a_published_model_reads_aggregates_only() {
        let h = "-- name: x\n-- grain: g\n-- description: d\n";
        let m = parse("published/indicators/x.sql", &format!("{h}SELECT * FROM marts.indicators.v JOIN assumptions.disclosure.setting ON true")).unwrap();
        assert_eq!((m.name.as_str(), m.zone.as_str(), m.area.as_str()), ("published.indicators.x", "published", "indicators"));
        for bad in ["clean.mosaic.ssda903_episodes", "quarantine.mosaic.ssda903_episodes", "marts.staging.children"] {
            let e = parse("published/indicators/x.sql", &format!("{h}SELECT *\nFROM {bad}")).unwrap_err().to_string();
            assert!(e.starts_with("sql/published/indicators/x.sql:5: published.indicators.x reads ") && e.contains(bad), "{e}");
        }
        assert!(matches!(parse("public/indicators/x.sql", &format!("{h}SELECT 1")), Err(ModelError::Layout { .. })));
    }

    #[test]
    fn only_one_select_in_the_right_place() {
        let h = "-- name: b\n-- grain: g\n-- description: d\n";
        assert!(matches!(parse("a/b.sql", &format!("{h}SELECT 1; SELECT 2")), Err(ModelError::NotASelect { .. })));
        assert!(matches!(parse("a/b.sql", &format!("{h}CREATE TABLE t AS SELECT 1")), Err(ModelError::NotASelect { .. })));
        assert!(matches!(parse("b.sql", &format!("{h}SELECT 1")), Err(ModelError::Layout { .. })));
        assert!(matches!(parse("a/B-c.sql", &format!("{h}SELECT 1")), Err(ModelError::Layout { .. })));
        let e = parse("a/b.sql", &format!("{h}SELECT 1\nFROM clean.x.y\nWHERE (\n\n")).unwrap_err();
        assert!(matches!(e, ModelError::Parse { line: 6, .. }), "{e}");
        let e = parse("a/b.sql", &format!("{h}SELECT 1\nFROM clean.x.y y\nWHERE y.a = = 1")).unwrap_err().to_string();
        assert!(e.starts_with("sql/a/b.sql:6: SQL syntax: Expected: an expression, found: ="), "{e}");
    }
}
