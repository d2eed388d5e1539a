//! SQL models: `sql/<area>/<model>.sql`, one SELECT each, materialised to
//! `marts/<area>/<model>/` in the Power BI-safe Parquet profile and read back as
//! `marts.<area>.<model>`.
//!
//! - [`spec`]: a model file — its header (name, grain, description), its single SELECT, and the
//!   tables it reads, found with DataFusion's parser.
//! - [`ModelSet`]: every model of a project, in dependency order; cycles and tables that do not
//!   exist are refused with the file and line that name them.
//! - [`build_all`]: refreshes the models whose inputs changed, staged and swapped in together,
//!   so a failing model leaves every mart as it was.
//! - The SQL functions every session has (working days on the England and Wales bank holidays,
//!   ages, financial years, census terms) are `query::udf` and `query::calendar`.
//! - [`Scratch`]: an in-memory session with every declared table empty and writable, where
//!   models build from hand-made rows (the sqllogictest harness uses it).

pub mod assumptions;
pub mod build;
pub mod scratch;
pub mod spec;

use std::collections::{BTreeMap, BTreeSet};

pub use build::{build_all, build_all_async, build_for_run, list, BuildOptions, ModelInfo, ModelReport};
pub use scratch::Scratch;
pub use spec::{Input, Model};

use crate::project::names::suggest;
use crate::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}: a model lives at sql/<area>/<model>.sql (or sql/published/<area>/<model>.sql), both names in lower-case letters, digits and _")]
    Layout { file: String },
    #[error("{file}: {message}")]
    Header { file: String, message: String },
    #[error("{}: {message}", at(file, *line))]
    Parse { file: String, line: u64, message: String },
    #[error("{file}: a model is a single SELECT (WITH … AS for intermediate steps), but this file holds {found}")]
    NotASelect { file: String, found: String },
    #[error("{}: {model} reads `{table}`, which is not a full name: write zone.source.table (clean.<source>.<table>, quarantine.<source>.<table>) or marts.<area>.<model>{}", at(file, *line), did_you_mean(suggestions))]
    PartialName { model: String, file: String, line: u64, table: String, suggestions: Vec<String> },
    #[error("{}: {model} reads {table}, which is neither a table (declared in schemas/ or loaded in the warehouse) nor a model (sql/<area>/<model>.sql){}", at(file, *line), did_you_mean(suggestions))]
    MissingTable { model: String, file: String, line: u64, table: String, suggestions: Vec<String> },
    #[error("models read each other in a cycle: {}", cycle(path))]
    Cycle {
        /// (model, file:line where it reads the next one), the first model repeated at the end
        path: Vec<(String, String)>,
    },
    #[error("{}: {model} does not plan: {message}", at(file, *line))]
    Plan { model: String, file: String, line: u64, message: String },
    #[error("{file}: {model} failed while running: {message}")]
    Execute { model: String, file: String, message: String },
    #[error("{file}: {model}: {message}")]
    Output { model: String, file: String, message: String },
    #[error("{table}: {message}")]
    Input { table: String, message: String },
    #[error("stopped by a signal before the next model; nothing of this build was swapped in")]
    Stopped,
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Warehouse(#[from] crate::warehouse::WarehouseError),
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ModelError>),
}

fn at(file: &str, line: u64) -> String {
    if line > 0 {
        format!("{file}:{line}")
    } else {
        file.to_string()
    }
}

fn did_you_mean(s: &[String]) -> String {
    match s.len() {
        0 => String::new(),
        1 => format!(" (did you mean {}?)", s[0]),
        _ => format!(" (did you mean one of {}?)", s.join(", ")),
    }
}

fn cycle(path: &[(String, String)]) -> String {
    let mut out = vec![];
    for (i, (m, at)) in path.iter().enumerate() {
        if i + 1 < path.len() {
            out.push(format!("{m} ({at} reads {})", path[i + 1].0));
        } else {
            out.push(m.clone());
        }
    }
    out.join(" → ")
}

impl ModelError {
    fn many(mut v: Vec<ModelError>) -> Result<(), ModelError> {
        match v.len() {
            0 => Ok(()),
            1 => Err(v.pop().expect("one")),
            _ => Err(ModelError::Many(v)),
        }
    }
}

/// Every model of a project, in an order where each comes after the models it reads.
#[derive(Debug, Clone, Default)]
pub struct ModelSet {
    pub models: Vec<Model>,
}

impl ModelSet {
    /// The project's `sql/` models, parsed and ordered.
    pub fn load(project: &Project) -> Result<ModelSet, ModelError> {
        Self::from_files(&project.sql)
    }

    /// Models from `sql/`-relative paths and their text.
    pub fn from_files(files: &BTreeMap<String, String>) -> Result<ModelSet, ModelError> {
        let mut models = vec![];
        let mut problems = vec![];
        for (rel, text) in files.iter().filter(|(k, _)| k.ends_with(".sql")) {
            match spec::parse(rel, text) {
                Ok(m) => models.push(m),
                Err(e) => problems.push(e),
            }
        }
        ModelError::many(problems)?;
        Self::ordered(models)
    }

    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Models `m` reads directly.
    fn upstream<'a>(&'a self, m: &'a Model) -> impl Iterator<Item = &'a Model> + 'a {
        m.inputs.iter().filter_map(|i| self.get(&i.table))
    }

    /// Orders models so that each follows those it reads (ties by name); a cycle is an error
    /// naming each model in it and the line where it reads the next.
    fn ordered(models: Vec<Model>) -> Result<ModelSet, ModelError> {
        let index: BTreeMap<&str, usize> = models.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
        let deps: Vec<BTreeSet<usize>> =
            models.iter().map(|m| m.inputs.iter().filter_map(|i| index.get(i.table.as_str()).copied()).collect()).collect();
        let mut done = vec![false; models.len()];
        let mut order = vec![];
        loop {
            // the first (by name) model whose inputs are all placed
            let next = index.values().copied().find(|&i| !done[i] && deps[i].iter().all(|&d| done[d] && d != i));
            match next {
                Some(i) => {
                    done[i] = true;
                    order.push(i);
                }
                None => break,
            }
        }
        if order.len() < models.len() {
            // walk from a model left over along inputs that are left over until one repeats
            let start = (0..models.len()).find(|&i| !done[i]).expect("one left");
            let mut path = vec![start];
            let mut cur = start;
            loop {
                let next = *deps[cur].iter().find(|&&d| !done[d]).expect("a model left over reads another left over");
                if let Some(pos) = path.iter().position(|&p| p == next) {
                    let cyc: Vec<usize> = path[pos..].iter().copied().chain([next]).collect();
                    let path = cyc
                        .windows(2)
                        .map(|w| {
                            let (m, n) = (&models[w[0]], &models[w[1]]);
                            let line = m.inputs.iter().find(|i| i.table == n.name).map_or(0, |i| i.line);
                            (m.name.clone(), m.at(line))
                        })
                        .chain([(models[next].name.clone(), String::new())])
                        .collect();
                    return Err(ModelError::Cycle { path });
                }
                path.push(next);
                cur = next;
            }
        }
        let mut slots: Vec<Option<Model>> = models.into_iter().map(Some).collect();
        Ok(ModelSet { models: order.into_iter().map(|i| slots[i].take().expect("once")).collect() })
    }

    /// Every input of every model is a model, or a table for which `exists` says yes; a bare
    /// name is allowed only when `is_table_function` says it is one (`generate_series`).
    /// Names in `known` are offered as suggestions.
    pub fn check_inputs(&self, exists: &dyn Fn(&str) -> bool, is_table_function: &dyn Fn(&str) -> bool, known: &[String]) -> Result<(), ModelError> {
        let mut all: Vec<String> = known.to_vec();
        all.extend(self.models.iter().map(|m| m.name.clone()));
        let mut problems = vec![];
        for m in &self.models {
            for i in &m.inputs {
                if i.parts == 3 && (self.get(&i.table).is_some() || exists(&i.table)) {
                    continue;
                }
                if i.parts == 1 && is_table_function(&i.table) {
                    continue;
                }
                let common = (m.name.clone(), m.file.clone(), i.line, i.table.clone(), suggest(&i.table, &all));
                problems.push(if i.parts == 3 {
                    ModelError::MissingTable { model: common.0, file: common.1, line: common.2, table: common.3, suggestions: common.4 }
                } else {
                    let by_table: Vec<String> = all.iter().filter(|k| k.ends_with(&format!(".{}", i.table))).take(3).cloned().collect();
                    let suggestions = if by_table.is_empty() { common.4 } else { by_table };
                    ModelError::PartialName { model: common.0, file: common.1, line: common.2, table: common.3, suggestions }
                });
            }
        }
        ModelError::many(problems)
    }

    /// `names` and every model they read, directly or not, in build order.
    pub fn with_upstream(&self, names: &[&str]) -> Vec<&Model> {
        let mut want: BTreeSet<&str> = names.iter().copied().collect();
        for m in self.models.iter().rev() {
            if want.contains(m.name.as_str()) {
                want.extend(self.upstream(m).map(|u| u.name.as_str()));
            }
        }
        self.models.iter().filter(|m| want.contains(m.name.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(p, sql)| (p.to_string(), format!("-- name: {}\n-- grain: g\n-- description: d\n{sql}", p.trim_end_matches(".sql").rsplit('/').next().unwrap()))).collect()
    }

    #[test]
    fn models_are_ordered_after_what_they_read() {
        let set = ModelSet::from_files(&files(&[
            ("a/top.sql", "SELECT * FROM marts.b.middle"),
            ("b/middle.sql", "SELECT * FROM marts.c.bottom JOIN clean.x.y ON true"),
            ("c/bottom.sql", "SELECT * FROM clean.x.y"),
            ("a/alone.sql", "SELECT 1 AS one"),
        ]))
        .unwrap();
        let names: Vec<&str> = set.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["marts.a.alone", "marts.c.bottom", "marts.b.middle", "marts.a.top"]);
        let up: Vec<&str> = set.with_upstream(&["marts.b.middle"]).iter().map(|m| m.name.as_str()).collect();
        assert_eq!(up, ["marts.c.bottom", "marts.b.middle"]);
    }

    #[test]
    fn a_cycle_names_each_model_and_the_line_that_reads_the_next() {
        let e = ModelSet::from_files(&files(&[
            ("a/one.sql", "SELECT *\nFROM marts.a.two"),
            ("a/two.sql", "SELECT * FROM marts.a.three"),
            ("a/three.sql", "SELECT * FROM marts.a.one"),
            ("a/fine.sql", "SELECT * FROM clean.x.y"),
        ]))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "models read each other in a cycle: marts.a.one (sql/a/one.sql:5 reads marts.a.two) → marts.a.two (sql/a/two.sql:4 reads marts.a.three) → marts.a.three (sql/a/three.sql:4 reads marts.a.one) → marts.a.one"
        );
        let e = ModelSet::from_files(&files(&[("a/me.sql", "SELECT * FROM marts.a.me")])).unwrap_err().to_string();
        assert!(e.contains("marts.a.me (sql/a/me.sql:4 reads marts.a.me) → marts.a.me"), "{e}");
    }

    #[test]
    fn a_missing_table_names_file_line_and_close_names() {
        let set = ModelSet::from_files(&files(&[("sc/referrals.sql", "SELECT *\nFROM clean.mosaic.ssda903_episode\nJOIN episodes ON true\nJOIN generate_series(1, 3) ON true")])).unwrap();
        let known = vec!["clean.mosaic.ssda903_episodes".to_string(), "clean.mosaic.ssda903_header".to_string(), "quarantine.mosaic.ssda903_episodes".to_string()];
        let exists = |t: &str| known.iter().any(|k| k == t);
        let e = set.check_inputs(&exists, &|t| t == "generate_series", &known).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 2, "{e}");
        assert!(lines[0].starts_with("sql/sc/referrals.sql:5: marts.sc.referrals reads clean.mosaic.ssda903_episode, which is neither a table"), "{e}");
        assert!(lines[0].ends_with("(did you mean clean.mosaic.ssda903_episodes?)"), "{e}");
        assert!(lines[1].starts_with("sql/sc/referrals.sql:6: marts.sc.referrals reads `episodes`, which is not a full name"), "{e}");
        assert!(lines[1].contains("did you mean one of clean.mosaic.ssda903_episodes"), "{e}");
    }

    #[test]
    fn suggestions_find_typos_and_other_zones() {
        let known: Vec<String> = ["clean.reference.local_authorities", "clean.reference.bank_holidays", "marts.reference.current_local_authorities"].iter().map(|s| s.to_string()).collect();
        assert_eq!(suggest("clean.reference.local_authoritys", &known), ["clean.reference.local_authorities"]);
        assert_eq!(suggest("clean.mosaic.bank_holidays", &known), ["clean.reference.bank_holidays"]);
        assert!(suggest("clean.finance.ledger", &known).is_empty());
    }
}
