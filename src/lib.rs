//! Lantern: council children's services exports → validated, pseudonymised, partitioned Parquet
//! → indicators in SQL. The flow, module by module:
//! `source` (read) → `validate` (rules, quarantine) → `privacy` (protect) → `warehouse`
//! (Parquet, staging, commit, run records) → `model` (SQL models into `marts`) → `query` (SQL
//! over the warehouse, with Lantern's SQL functions; `cluster` runs it on Ballista); `pipeline` runs
//! the flow, `project` holds the declarative `pipelines/`, `schemas/`, `sql/`, `cli` is the edge.
//!
//! Each module uses only modules below it (`tests/architecture.rs` checks that there is no
//! cycle): `schema`, `privacy`, `config` (settings), `runtime` (the one tokio runtime) and
//! `warehouse` at the bottom; the declarative `project` (plain data); `source`; `validate`;
//! `query` (sessions, SQL functions);
//! `cluster` and `dfe`; `model`, `pipeline` and `report`; `job`; `serve`; `cli`. `synth` stands
//! aside, on `query`'s calendar.

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
pub mod runtime;
pub mod schema;
pub mod serve;
pub mod source;
pub mod synth;
pub mod validate;
pub mod warehouse;
