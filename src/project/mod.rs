//! The declarative project: `pipelines/`, `schemas/` and `sql/`, embedded in the binary or read
//! from a council's edited copy (`--project DIR`, written by `lantern init`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod assumptions;
pub mod expect;
pub mod names;
pub mod policy;

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::schema::{Codebook, CodeSet, DocumentsFile, TableSchema, XmlDocument};

static PIPELINES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/pipelines");
static SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas");
static SQL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/sql");
static ASSUMPTIONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assumptions");

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// A scheduled job: which tables it ingests, when, and which models it refreshes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Sources whose schemas this pipeline ingests (`mosaic`, `synergy`, …).
    pub sources: Vec<String>,
    /// Cron schedule (five fields or `@daily`), in `timezone`.
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    /// Models (areas or names) refreshed after ingestion.
    #[serde(default)]
    pub models: Vec<String>,
    /// Pipelines `lantern serve` runs before this one when both are due.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How `lantern serve` runs it: overlapping ticks, missed runs, retries, timeout.
    #[serde(default)]
    pub policy: policy::Policy,
    /// Freshness and row counts checked after each run.
    #[serde(default)]
    pub expect: expect::Expectations,
}

/// Everything declarative, loaded and checked.
#[derive(Debug, Clone)]
pub struct Project {
    pub origin: String,
    pub pipelines: Vec<Pipeline>,
    pub tables: Vec<TableSchema>,
    pub documents: Vec<XmlDocument>,
    pub codes: Codebook,
    /// sql/ files: relative path → text
    pub sql: BTreeMap<String, String>,
    /// Data shipped with a source (`schemas/<source>/data/*`), loaded on every run of a pipeline
    /// that includes the source, as if dropped in the landing folder: relative path → text.
    pub data: BTreeMap<String, String>,
    /// Model assumptions: the tables each `schemas/assumptions/<group>.toml` declares, with the
    /// rows `assumptions/<group>.toml` gives them, checked (see [`assumptions`]).
    pub assumptions: assumptions::Assumptions,
}

/// Files of one project tree, relative path → text.
type Files = BTreeMap<String, String>;

fn embedded_files(dir: &Dir<'static>, out: &mut Files) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.insert(f.path().to_string_lossy().replace('\\', "/"), text.to_string());
        }
    }
    for d in dir.dirs() {
        embedded_files(d, out);
    }
}

fn disk_files(root: &Path, dir: &Path, out: &mut Files) -> Result<(), ProjectError> {
    let io = |e, p: &Path| ProjectError::Io { path: p.display().to_string(), source: e };
    if !dir.exists() {
        return Ok(());
    }
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(|e| io(e, dir))?.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            disk_files(root, &p, out)?;
        } else {
            let text = std::fs::read_to_string(&p).map_err(|e| io(e, &p))?;
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            out.insert(rel, text);
        }
    }
    Ok(())
}

impl Project {
    /// The shipped project, embedded in the binary.
    pub fn embedded() -> Result<Self, ProjectError> {
        let (mut p, mut s, mut q, mut a) = (Files::new(), Files::new(), Files::new(), Files::new());
        embedded_files(&PIPELINES, &mut p);
        embedded_files(&SCHEMAS, &mut s);
        embedded_files(&SQL, &mut q);
        embedded_files(&ASSUMPTIONS, &mut a);
        Self::from_files("built-in".into(), p, s, q, a)
    }

    /// A council's edited copy on disk.
    pub fn from_dir(dir: &Path) -> Result<Self, ProjectError> {
        if !dir.join("schemas").is_dir() {
            return Err(ProjectError::Invalid(format!(
                "{} has no schemas/ folder; create one with `lantern init {}`",
                dir.display(),
                dir.display()
            )));
        }
        let (mut p, mut s, mut q, mut a) = (Files::new(), Files::new(), Files::new(), Files::new());
        disk_files(&dir.join("pipelines"), &dir.join("pipelines"), &mut p)?;
        disk_files(&dir.join("schemas"), &dir.join("schemas"), &mut s)?;
        disk_files(&dir.join("sql"), &dir.join("sql"), &mut q)?;
        disk_files(&dir.join("assumptions"), &dir.join("assumptions"), &mut a)?;
        Self::from_files(dir.display().to_string(), p, s, q, a)
    }

    pub fn load(dir: Option<&Path>) -> Result<Self, ProjectError> {
        match dir {
            Some(d) => Self::from_dir(d),
            None => Self::embedded(),
        }
    }

    fn from_files(origin: String, pipelines: Files, schemas: Files, sql: Files, assumptions: Files) -> Result<Self, ProjectError> {
        let parse_err = |path: &str, e: toml::de::Error| ProjectError::Parse {
            path: path.to_string(),
            message: e.to_string(),
        };
        let mut project = Project {
            origin,
            pipelines: vec![],
            tables: vec![],
            documents: vec![],
            codes: Codebook::default(),
            sql: sql.into_iter().filter(|(k, _)| k.ends_with(".sql")).collect(),
            data: schemas.iter().filter(|(k, _)| k.split('/').nth(1) == Some("data")).map(|(k, v)| (k.clone(), v.clone())).collect(),
            assumptions: Default::default(),
        };
        let specs: Files = schemas.iter().filter_map(|(k, v)| k.strip_prefix("assumptions/").map(|k| (k.to_string(), v.clone()))).collect();
        project.assumptions = assumptions::Assumptions::load(&specs, &assumptions).map_err(ProjectError::Invalid)?;
        for (path, text) in &pipelines {
            if path.ends_with(".toml") {
                let p: Pipeline = toml::from_str(text).map_err(|e| parse_err(&format!("pipelines/{path}"), e))?;
                project.pipelines.push(p);
            }
        }
        for (path, text) in &schemas {
            if !path.ends_with(".toml") {
                continue;
            }
            let shown = format!("schemas/{path}");
            let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
            let stem = file.trim_end_matches(".toml");
            if folder == "assumptions" {
                continue; // model assumptions, loaded above
            } else if folder == "codes" {
                let set: CodeSet = toml::from_str(text).map_err(|e| parse_err(&shown, e))?;
                project.codes.insert_set(stem, set);
            } else if stem == "_documents" {
                let docs: DocumentsFile = toml::from_str(text).map_err(|e| parse_err(&shown, e))?;
                for mut d in docs.xml {
                    d.source = folder.to_string();
                    project.documents.push(d);
                }
            } else if !folder.is_empty() && !folder.contains('/') {
                let mut t: TableSchema = toml::from_str(text).map_err(|e| parse_err(&shown, e))?;
                t.source = folder.to_string();
                project.tables.push(t);
            }
        }
        project.check()?;
        Ok(project)
    }

    /// Cross-file consistency: code lists, documents and references exist; regexes compile.
    fn check(&self) -> Result<(), ProjectError> {
        let mut problems = vec![];
        for t in &self.tables {
            let at = format!("schemas/{}/{}.toml", t.source, t.name);
            for c in &t.columns {
                if let Some(codes) = &c.codes {
                    if self.codes.get(codes).is_none() {
                        problems.push(format!("{at}: column {} uses code list `{codes}`, which no schemas/codes/*.toml defines", c.name));
                    }
                }
                for (what, p) in [("pattern", &c.pattern), ("strip", &c.strip)] {
                    if let Some(Err(e)) = p.as_ref().map(|p| regex::Regex::new(p)) {
                        problems.push(format!("{at}: column {} {what}: {e}", c.name));
                    }
                }
                if let Some(p) = &c.protect {
                    if crate::privacy::Treatment::parse(p).is_none() {
                        problems.push(format!("{at}: column {} protect = \"{p}\" (expected pseudonym:<kind>, drop, month or outward_postcode)", c.name));
                    }
                }
            }
            for (what, c) in [("from_column", &t.partition.from_column), ("la_column", &t.partition.la_column)] {
                if let Some(c) = c.as_ref().filter(|c| t.column(c).is_none()) {
                    problems.push(format!("{at}: partition {what} {c} is not a column"));
                }
            }
            for key in [crate::schema::LA_FOLDER_KEY.to_string(), crate::schema::folder_key(&t.partition.column)] {
                if t.column(&key).is_some() {
                    problems.push(format!("{at}: column {key} has the name of a partition folder key; rename the column"));
                }
            }
            if t.column(&t.partition.column).is_some_and(|c| c.data_type != crate::schema::ColumnType::String) {
                problems.push(format!("{at}: partition column {} is declared with a type other than string", t.partition.column));
            }
            for d in t.derives.iter().filter(|d| t.column(&d.column).is_none()) {
                problems.push(format!("{at}: derive names column {}, which is not declared", d.column));
            }
            for k in &t.key {
                if t.column(k).is_none() {
                    problems.push(format!("{at}: key column {k} is not a column"));
                }
            }
            if let Some(x) = &t.xml {
                if !self.documents.iter().any(|d| d.name == x.document) {
                    problems.push(format!("{at}: xml document `{}` is not declared in a _documents.toml", x.document));
                }
            }
            for r in &t.references {
                if self.find_table(&t.source, &r.table).is_none() {
                    problems.push(format!("{at}: reference {} names table `{}`, which does not exist", r.id, r.table));
                }
            }
            for i in &t.inherits {
                let Some(parent) = self.find_table(&t.source, &i.table) else {
                    problems.push(format!("{at}: inherit names table `{}`, which does not exist", i.table));
                    continue;
                };
                if i.parent_columns().len() != i.columns.len() {
                    problems.push(format!("{at}: inherit from {}: `columns` and `to` differ in length", i.table));
                }
                for c in i.columns.iter().chain(&i.copy).filter(|c| t.column(c).is_none()) {
                    problems.push(format!("{at}: inherit from {}: {c} is not a column of this table", i.table));
                }
                for c in i.parent_columns().iter().chain(&i.copy).filter(|c| parent.column(c).is_none()) {
                    problems.push(format!("{at}: inherit from {}: {c} is not a column of {}", i.table, parent.name));
                }
            }
            for re in [&t.detect.name, &t.detect.sheet].into_iter().flatten() {
                if let Err(e) = regex::Regex::new(re) {
                    problems.push(format!("{at}: detect pattern: {e}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ProjectError::Invalid(problems.join("\n")))
        }
    }

    pub fn find_table(&self, source: &str, name: &str) -> Option<&TableSchema> {
        let (s, n) = name.split_once('.').unwrap_or((source, name));
        self.tables.iter().find(|t| t.source == s && t.name == n)
    }

    /// Shipped data files of these sources, written under `dir` (relative path, full path).
    pub fn write_data(&self, sources: &[String], dir: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
        let mut out = vec![];
        for (rel, text) in &self.data {
            if !sources.iter().any(|s| rel.split('/').next() == Some(s.as_str())) {
                continue;
            }
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().expect("a folder"))?;
            std::fs::write(&p, text)?;
            out.push((Path::new("shipped").join(rel), p));
        }
        Ok(out)
    }

    pub fn pipeline(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// Write an editable copy of the shipped project into `dir`.
    pub fn write_embedded_copy(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut written = vec![];
        for (name, d) in [("pipelines", &PIPELINES), ("schemas", &SCHEMAS), ("sql", &SQL), ("assumptions", &ASSUMPTIONS)] {
            let mut files = Files::new();
            embedded_files(d, &mut files);
            for (rel, text) in files {
                let p = dir.join(name).join(&rel);
                if p.exists() {
                    continue;
                }
                std::fs::create_dir_all(p.parent().unwrap())?;
                std::fs::write(&p, text)?;
                written.push(p);
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_project_loads_and_is_consistent() {
        let p = Project::embedded().unwrap_or_else(|e| panic!("{e}"));
        assert!(p.pipeline("mosaic").is_some());
        for t in ["ssda903_header", "ssda903_episodes", "ssda903_dolo", "cin_children", "cin_cp_reviews", "annex_a_list_1_contacts", "annex_a_list_11_adopters"] {
            assert!(p.find_table("mosaic", t).is_some(), "table {t} missing");
        }
        // every table has a description and every column a type the engine knows
        for t in &p.tables {
            assert!(!t.columns.is_empty(), "{} has no columns", t.name);
        }
    }

    #[test]
    fn a_broken_reference_is_reported_with_its_file() {
        let mut s = Files::new();
        s.insert("x/t.toml".into(), "name = \"t\"\n[[column]]\nname = \"a\"\ncodes = \"nope.list\"\n".into());
        let e = Project::from_files("test".into(), Files::new(), s, Files::new(), Files::new()).unwrap_err().to_string();
        assert!(e.contains("schemas/x/t.toml") && e.contains("nope.list"), "{e}");
    }
}
