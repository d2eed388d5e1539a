//! XML documents (SSDA903 `EXPSSDA903`, CIN census, SEN2, …) flattened into the tables the
//! schemas declare: each table names a record element path; its columns name element paths
//! relative to the record or absolute from the root (parent keys).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use encoding_rs::Encoding;
use quick_xml::events::Event;

use super::encoding::DecodeReader;
use super::{FileFacts, RawRow, ReadError, RowStream, Segment};
use crate::project::Project;
use crate::schema::{TableSchema, XmlDocument};

struct MemRows(std::vec::IntoIter<RawRow>);

impl RowStream for MemRows {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<RawRow>>, ReadError> {
        let chunk: Vec<RawRow> = self.0.by_ref().take(max).collect();
        Ok(if chunk.is_empty() { None } else { Some(chunk) })
    }
}

/// Walks a document, calling `on_close(path, start_line, values)` at each element's end.
/// `values` maps element paths to the text of leaf elements seen so far, forgetting a subtree
/// whenever an element of that path starts again (so values never leak between siblings).
/// Elements nested deeper than `max_depth` refuse the document (each level's path is kept, so
/// memory would grow with the square of the depth).
pub(crate) fn walk(text: &str, max_depth: usize, mut on_close: impl FnMut(&str, u64, &HashMap<String, String>) -> bool) -> Result<Option<String>, ReadError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<(String, u64, bool)> = vec![]; // path, start line, has children
    let mut values: HashMap<String, String> = HashMap::new();
    let mut buf_text = String::new();
    let mut root = None;
    let (mut line, mut seen) = (1u64, 0usize);
    let mut line_at = |pos: usize| {
        let pos = pos.min(text.len());
        if pos > seen {
            line += text.as_bytes()[seen..pos].iter().filter(|&&b| b == b'\n').count() as u64;
            seen = pos;
        }
        line
    };
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| ReadError::Xml { line: line_at(reader.error_position() as usize), message: e.to_string() })?;
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                let path = match stack.last_mut() {
                    Some((p, _, has)) => {
                        *has = true;
                        format!("{p}/{name}")
                    }
                    None => {
                        root = Some(name.clone());
                        name
                    }
                };
                if stack.len() >= max_depth {
                    return Err(ReadError::Limit(format!(
                        "line {}: elements nest more than {max_depth} deep (xml_depth)",
                        line_at(pos)
                    )));
                }
                let prefix = format!("{path}/");
                values.retain(|k, _| !k.starts_with(&prefix) && k != &path);
                stack.push((path, line_at(pos), false));
                buf_text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if let Some((p, _, has)) = stack.last_mut() {
                    *has = true;
                    let path = format!("{p}/{name}");
                    values.remove(&path);
                    let l = line_at(pos);
                    if !on_close(&path, l, &values) {
                        return Ok(root);
                    }
                } else {
                    root = Some(name);
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| ReadError::Xml { line: line_at(pos), message: e.to_string() })?;
                buf_text.push_str(&quick_xml::escape::unescape(&s).map_err(|e| ReadError::Xml { line: line_at(pos), message: e.to_string() })?);
            }
            Event::CData(t) => buf_text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).to_string();
                let s = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".into(),
                    "gt" => ">".into(),
                    "quot" => "\"".into(),
                    "apos" => "'".into(),
                    n => match n.strip_prefix("#x").map(|h| u32::from_str_radix(h, 16)).or_else(|| n.strip_prefix('#').map(|d| d.parse())) {
                        Some(Ok(c)) => char::from_u32(c).map(String::from).unwrap_or_default(),
                        _ => String::new(),
                    },
                };
                buf_text.push_str(&s);
            }
            Event::End(_) => {
                let (path, start, has_children) = stack.pop().expect("quick-xml checks end names");
                if !has_children {
                    values.insert(path.clone(), buf_text.trim().to_string());
                }
                buf_text.clear();
                if !on_close(&path, start, &values) {
                    return Ok(root);
                }
            }
            Event::Eof => {
                if let Some((path, start, _)) = stack.last() {
                    let el = path.rsplit('/').next().unwrap_or(path);
                    return Err(ReadError::Xml {
                        line: line_at(text.len()),
                        message: format!("the file ends before <{el}> (opened at line {start}) is closed; it looks truncated"),
                    });
                }
                if root.is_none() {
                    return Err(ReadError::Xml { line: 1, message: "no root element".into() });
                }
                return Ok(root);
            }
            _ => {}
        }
    }
}

fn strip_root(p: &str) -> &str {
    p.trim_start_matches('/')
}

/// Which declared document this is: root element and `when` values.
fn identify<'a>(text: &str, project: &'a Project, max_depth: usize) -> Result<(&'a XmlDocument, FileFacts), ReadError> {
    let mut wanted: Vec<String> = vec![];
    for d in &project.documents {
        wanted.extend(d.when.keys().map(|k| strip_root(k).to_string()));
        wanted.extend(d.context.values().map(|k| strip_root(k).to_string()));
    }
    let mut found: HashMap<String, String> = HashMap::new();
    let root = walk(text, max_depth, |path, _, values| {
        if let Some(v) = values.get(path) {
            if wanted.iter().any(|w| w == path) {
                found.entry(path.to_string()).or_insert_with(|| v.clone());
            }
        }
        found.len() < wanted.len()
    })?
    .unwrap_or_default();
    let doc = project
        .documents
        .iter()
        .find(|d| d.root == root && d.when.iter().all(|(k, v)| found.get(strip_root(k)).is_some_and(|f| f.eq_ignore_ascii_case(v))))
        .ok_or_else(|| ReadError::UnknownXml(root.clone()))?;
    let mut facts = FileFacts { format: format!("xml ({})", doc.name), ..Default::default() };
    for (key, path) in &doc.context {
        if let Some(v) = found.get(strip_root(path)) {
            facts.context.insert(key.clone(), v.clone());
        }
    }
    Ok((doc, facts))
}

pub fn open(path: &Path, encoding: &'static Encoding, bom_len: usize, project: &Project, limits: &super::Limits) -> Result<(Vec<Segment>, FileFacts), ReadError> {
    let mut text = String::new();
    DecodeReader::new(std::fs::File::open(path)?, encoding, bom_len)?.read_to_string(&mut text)?;
    let (doc, mut facts) = identify(&text, project, limits.xml_depth)?;
    facts.encoding = encoding.name().to_string();
    let tables: Vec<&TableSchema> =
        project.tables.iter().filter(|t| t.source == doc.source && t.xml.as_ref().is_some_and(|x| x.document == doc.name)).collect();
    // record path → (table index, absolute column paths)
    let mut by_record: HashMap<String, Vec<(usize, Vec<Option<String>>)>> = HashMap::new();
    for (i, t) in tables.iter().enumerate() {
        let rec = strip_root(&t.xml.as_ref().unwrap().record).to_string();
        let cols = t
            .columns
            .iter()
            .map(|c| {
                c.xml.as_ref().map(|x| {
                    if x == "." {
                        rec.clone()
                    } else if let Some(abs) = x.strip_prefix('/') {
                        abs.to_string()
                    } else {
                        format!("{rec}/{x}")
                    }
                })
            })
            .collect();
        by_record.entry(rec).or_default().push((i, cols));
    }
    let mut rows: Vec<Vec<RawRow>> = vec![vec![]; tables.len()];
    walk(&text, limits.xml_depth, |path, line, values| {
        if let Some(targets) = by_record.get(path) {
            for (i, cols) in targets {
                let fields: Vec<&str> =
                    cols.iter().map(|c| c.as_ref().and_then(|p| values.get(p)).map_or("", String::as_str)).collect();
                rows[*i].push(RawRow { line, fields: csv::StringRecord::from(fields) });
            }
        }
        true
    })?;
    let segments = tables
        .iter()
        .zip(rows)
        .filter(|(_, r)| !r.is_empty())
        .map(|(t, r)| Segment {
            name: t.name.clone(),
            header: t.columns.iter().map(|c| c.name.clone()).collect(),
            table: Some((t.source.clone(), t.name.clone())),
            rows: Box::new(MemRows(r.into_iter())),
        })
        .collect();
    Ok((segments, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_keeps_parent_values_and_forgets_siblings() {
        let doc = "<M>\n<C><Id>1</Id><D><Ref>2020-01-01</Ref><Close>2020-02-01</Close></D><D><Ref>2021-01-01</Ref></D></C>\n<C><Id>2&amp;3</Id><D><Ref>2022-01-01</Ref></D></C></M>";
        let mut rows = vec![];
        walk(doc, 16, |path, line, v| {
            if path == "M/C/D" {
                rows.push((line, v.get("M/C/Id").cloned(), v.get("M/C/D/Ref").cloned(), v.get("M/C/D/Close").cloned()));
            }
            true
        })
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], (2, Some("1".into()), Some("2020-01-01".into()), Some("2020-02-01".into())));
        assert_eq!(rows[1].3, None, "a closing date leaked into the next sibling");
        assert_eq!(rows[2].1.as_deref(), Some("2&3"));
        assert_eq!(rows[2].0, 3);
    }

    #[test]
    fn truncated_documents_are_errors_that_say_so() {
        let e = walk("<M>\n<C><Id>1</Id>\n<D>", 16, |_, _, _| true).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("<D>"), "{e}");
    }

    #[test]
    fn nesting_past_the_limit_is_refused_before_it_costs_memory() {
        let deep = format!("<M>{}{}</M>", "<a>\n".repeat(100_000), "</a>".repeat(100_000));
        let e = walk(&deep, 256, |_, _, _| true).unwrap_err();
        assert!(matches!(&e, ReadError::Limit(m) if m.starts_with("line 256: elements nest more than 256 deep")), "{e}");
        let ok = format!("<M>{}{}</M>", "<a>".repeat(200), "</a>".repeat(200));
        assert!(walk(&ok, 256, |_, _, _| true).is_ok());
    }
}
