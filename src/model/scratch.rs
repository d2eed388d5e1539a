//! A session for testing models on hand-made rows: every table the schemas declare exists,
//! empty, writable and with its real column types, so a test inserts only the columns it cares
//! about (`INSERT INTO clean.mosaic.ssda903_episodes (CHILD, DECOM) VALUES …`), then builds
//! models into memory through the same plan and output checks as `lantern run`.

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::build::{context_for, output_schema, plan, register, to_output};
use super::{Model, ModelError, ModelSet};
use crate::project::Project;
use crate::query;

pub struct Scratch {
    pub ctx: SessionContext,
    pub models: ModelSet,
    /// Declared table names, for suggestions.
    known: Vec<String>,
}

impl Scratch {
    pub async fn new(project: &Project) -> Result<Scratch, ModelError> {
        let ctx = context_for(project, None)?;
        let mut known = vec![];
        for d in query::declared_tables(project) {
            let t = MemTable::try_new(query::nullable(&d.schema), vec![vec![]])
                .map_err(|e| ModelError::Input { table: d.name(), message: e.to_string() })?;
            register(&ctx, &d.name(), Arc::new(t)).map_err(|e| ModelError::Input { table: d.name(), message: e.to_string() })?;
            known.push(d.name());
        }
        // assumptions start empty too: a test inserts the ones it is about
        for a in &project.assumptions.tables {
            let t = MemTable::try_new(super::assumptions::schema(a), vec![vec![]]).map_err(|e| ModelError::Input { table: a.name(), message: e.to_string() })?;
            register(&ctx, &a.name(), Arc::new(t)).map_err(|e| ModelError::Input { table: a.name(), message: e.to_string() })?;
            known.push(a.name());
        }
        let models = ModelSet::load(project)?;
        // a schema for every area, so that `CREATE TABLE marts.<area>.x` works too
        for m in &models.models {
            query::ensure_schema(&ctx, &m.zone, &m.area).map_err(|e| ModelError::Input { table: m.name.clone(), message: e.to_string() })?;
        }
        Ok(Scratch { ctx, models, known })
    }

    fn exists(&self, name: &str) -> bool {
        let parts: Vec<&str> = name.splitn(3, '.').collect();
        let [c, s, t] = parts[..] else { return false };
        self.ctx.table_exist(TableReference::full(c, s, t)).unwrap_or(false)
    }

    /// Builds `names` (all models when empty) and the models they read, in order, each into an
    /// in-memory `marts.<area>.<model>`; returns (model, rows).
    pub async fn build(&self, names: &[&str]) -> Result<Vec<(String, usize)>, ModelError> {
        for n in names {
            if self.models.get(n).is_none() {
                let all: Vec<String> = self.models.models.iter().map(|m| m.name.clone()).collect();
                return Err(ModelError::Input { table: n.to_string(), message: format!("no such model{}", super::did_you_mean(&super::suggest(n, &all))) });
            }
        }
        let chosen: Vec<_> = if names.is_empty() { self.models.models.iter().collect() } else { self.models.with_upstream(names) };
        self.run(chosen).await
    }

    /// Builds `names` alone, in order, from what the session holds now (tables a test created in
    /// the place of the models they read, say); returns (model, rows).
    pub async fn build_only(&self, names: &[&str]) -> Result<Vec<(String, usize)>, ModelError> {
        let chosen: Vec<_> = names
            .iter()
            .map(|n| {
                self.models.get(n).ok_or_else(|| {
                    let all: Vec<String> = self.models.models.iter().map(|m| m.name.clone()).collect();
                    ModelError::Input { table: n.to_string(), message: format!("no such model{}", super::did_you_mean(&super::suggest(n, &all))) }
                })
            })
            .collect::<Result<_, _>>()?;
        self.run(chosen).await
    }

    async fn run(&self, chosen: Vec<&Model>) -> Result<Vec<(String, usize)>, ModelError> {
        let subset = ModelSet { models: chosen.iter().map(|m| (*m).clone()).collect() };
        let functions: Vec<String> = self.ctx.state().table_functions().keys().cloned().collect();
        subset.check_inputs(&|t| self.exists(t), &|t| functions.iter().any(|f| f == t), &self.known)?;
        let mut out = vec![];
        for m in &subset.models {
            let df = plan(&self.ctx, m).await?;
            let schema = output_schema(m, df.schema())?;
            let batches = df.collect().await.map_err(|e| ModelError::Execute { model: m.name.clone(), file: m.file.clone(), message: e.strip_backtrace() })?;
            let batches = batches.iter().map(|b| to_output(m, b, &schema)).collect::<Result<Vec<_>, _>>()?;
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            let table = MemTable::try_new(schema, vec![batches]).map_err(|e| ModelError::Execute { model: m.name.clone(), file: m.file.clone(), message: e.to_string() })?;
            register(&self.ctx, &m.name, Arc::new(table)).map_err(|e| ModelError::Execute { model: m.name.clone(), file: m.file.clone(), message: e.to_string() })?;
            out.push((m.name.clone(), rows));
        }
        Ok(out)
    }
}
