//! A return's XML file → the DfE's tables, as `tables.toml` declares them; each row keeps the
//! line of its record's opening tag.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::engine::{Return, Row, TableData, Value};
use super::{Catalog, DfeError, Kind};
use crate::source::encoding::{sniff_file, DecodeReader, Sniffed};

enum Source {
    /// An element path from the root.
    Path(String),
    /// The position of the element at this path among its parent's same-named children.
    Seq(String),
    /// Every value of a path inside the record (the paths are in `list_paths`).
    List,
    None,
}

fn absolute(record: &str, p: &str) -> String {
    if p == "." {
        record.to_string()
    } else if let Some(abs) = p.strip_prefix('/') {
        abs.to_string()
    } else {
        format!("{record}/{p}")
    }
}

/// Reads one XML return. Its tables follow `catalog.tables`; `file` is the name the flags carry.
pub fn read(path: &Path, file: &str, catalog: &Catalog) -> Result<Return, DfeError> {
    let err = |message: String| DfeError::Read { file: file.to_string(), message };
    let (encoding, bom_len) = match sniff_file(path).map_err(|e| err(e.to_string()))? {
        Sniffed::Text { encoding, bom_len, is_xml: true } => (encoding, bom_len),
        _ => return Err(err(format!("not an XML file: the DfE's {} rules read the return's XML", catalog.name))),
    };
    let mut text = String::new();
    DecodeReader::new(std::fs::File::open(path).map_err(|e| err(e.to_string()))?, encoding, bom_len)
        .map_err(|e| err(e.to_string()))?
        .read_to_string(&mut text)
        .map_err(|e| err(e.to_string()))?;

    // record path → (table, its columns' sources, the conditions for a row: (path, value))
    #[allow(clippy::type_complexity)]
    let mut by_record: HashMap<String, Vec<(usize, Vec<Source>, Option<Vec<(String, Option<String>)>>)>> = HashMap::new();
    let mut list_paths: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (ti, t) in catalog.tables.iter().enumerate() {
        let Some(record) = &t.record else { continue };
        let cols = t
            .columns
            .iter()
            .enumerate()
            .map(|(ci, c)| match (&c.xml, &c.seq, c.kind) {
                (Some(x), _, Kind::List) => {
                    let p = absolute(record, x);
                    list_paths.entry(p).or_default().push((ti, ci));
                    Source::List
                }
                (Some(x), _, _) => Source::Path(absolute(record, x)),
                (None, Some(s), _) => Source::Seq(absolute(record, s)),
                _ => Source::None,
            })
            .collect();
        let when = t.when.as_ref().map(|w| {
            w.iter()
                .map(|c| match c.split_once('=') {
                    Some((p, v)) => (absolute(record, p.trim()), Some(v.trim().to_string())),
                    None => (absolute(record, c.trim()), None),
                })
                .collect()
        });
        by_record.entry(record.clone()).or_default().push((ti, cols, when));
    }
    let mut tables: Vec<TableData> = vec![TableData::default(); catalog.tables.len()];
    let mut closed: HashMap<String, u64> = HashMap::new(); // elements closed so far, by path, within their parent
    let mut lists: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    let mut year = None;
    let cased = |v: &String| if catalog.upper { v.to_uppercase() } else { v.clone() };
    crate::source::xml::walk(&text, crate::config::Limits::default().xml_depth, |path, line, values| {
        if catalog.year_path.as_deref() == Some(path) {
            year = values.get(path).cloned();
        }
        if let Some(targets) = list_paths.get(path) {
            if let Some(v) = values.get(path) {
                for k in targets {
                    lists.entry(*k).or_default().push(v.clone());
                }
            }
        }
        if let Some(targets) = by_record.get(path) {
            for (ti, cols, when) in targets {
                let holds = |(p, v): &(String, Option<String>)| match (values.get(p).filter(|x| !x.is_empty()), v) {
                    (Some(x), Some(v)) => x.trim().eq_ignore_ascii_case(v),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if when.as_ref().is_some_and(|w| !w.iter().any(holds)) {
                    for (ci, s) in cols.iter().enumerate() {
                        if let Source::List = s {
                            lists.remove(&(*ti, ci));
                        }
                    }
                    continue;
                }
                let values: Vec<Value> = cols
                    .iter()
                    .enumerate()
                    .map(|(ci, s)| match s {
                        Source::Path(p) => values.get(p).filter(|v| !v.is_empty()).map_or(Value::Null, |v| Value::Text(cased(v))),
                        Source::Seq(p) => Value::Text((closed.get(p).copied().unwrap_or(0) + 1).to_string()),
                        Source::List => lists.remove(&(*ti, ci)).map_or(Value::Null, Value::List),
                        Source::None => Value::Null,
                    })
                    .collect();
                let t = &mut tables[*ti];
                t.rows.push(Row { index: t.rows.len() as i64, line: Some(line), values });
            }
        }
        // this element's children start counting again in its next sibling
        let prefix = format!("{path}/");
        closed.retain(|k, _| !k.starts_with(&prefix));
        *closed.entry(path.to_string()).or_default() += 1;
        true
    })
    .map_err(|e| err(e.to_string()))?;
    Ok(Return {
        file: file.to_string(),
        year,
        tables: catalog.tables.iter().map(|t| t.name.clone()).zip(tables).collect(),
        ..Default::default()
    })
}
