//! Lantern: council children's services exports → validated, pseudonymised, partitioned Parquet
//! → indicators in SQL. The flow, module by module:
//! `source` (read) → `validate` (rules, quarantine) → `privacy` (protect) → `warehouse`
//! (Parquet, staging, commit, run records) → `model` (SQL models into `marts`, SQL functions)
//! → `query` (SQL over the warehouse; `cluster` runs it on Ballista); `pipeline` runs
//! the flow, `project` holds the declarative `pipelines/`, `schemas/`, `sql/`, `cli` is the edge.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod dfe;
pub mod job;
pub mod model;
pub mod pipeline;
pub mod privacy;
pub mod project;
pub mod query;
pub mod report;
pub mod schema;
pub mod serve;
pub mod source;
pub mod synth;
pub mod validate;
pub mod warehouse;
