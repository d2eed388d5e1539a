//! One run as an operator sees it, for `lantern run` and for each run `lantern serve` starts:
//! take the warehouse's writer lock, ingest (`pipeline`), build the models, check the pipelines'
//! expectations, save the run record and write the run report. A run that fails before its
//! commit still leaves a record (outcome `failed: …`) so that monitoring sees it.

pub mod expect;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use crate::pipeline::{RunOptions, Runner};
use crate::privacy::Protector;
use crate::project::Project;
use crate::warehouse::runs::RunRecord;
use crate::warehouse::{LockError, Warehouse};

pub struct Request {
    pub options: RunOptions,
    /// How long to wait for another process writing to the warehouse (zero: refuse at once).
    pub lock_wait: Duration,
    /// `manual`, `schedule`, `catch-up`, `retry N`
    pub trigger: String,
    /// Build the models on this Ballista cluster (`[cluster] url`), else in process.
    pub cluster: Option<String>,
}

pub struct Finished {
    pub record: RunRecord,
    /// `_reports/<run id>.html`, when it could be written
    pub report: Option<PathBuf>,
    /// The run or a model stopped with an error (the record's outcome says `failed: …`).
    pub error: Option<String>,
}

/// A run that did not reach its end as planned: anything but `succeeded` (and skipped ticks).
pub fn is_failure(record: &RunRecord) -> bool {
    record.outcome != "succeeded" && !record.outcome.starts_with("skipped")
}

pub fn run(project: &Project, warehouse: &Warehouse, protector: &Protector, req: &Request) -> Result<Finished, LockError> {
    let names = if req.options.pipelines.is_empty() { "all pipelines".to_string() } else { req.options.pipelines.join(", ") };
    let _lock = warehouse.lock(&format!("lantern run {names}"), req.lock_wait)?;
    let started = Utc::now();
    let mut error = None;
    let mut record = match (Runner { project, warehouse, protector }).run(&req.options) {
        Ok(mut record) => {
            if let Err(e) = crate::model::build_for_run(project, warehouse, &mut record, req.cluster.as_deref(), req.options.stop.clone()) {
                error = Some(e.to_string());
            }
            record
        }
        Err(e @ crate::pipeline::RunError::Stopped) => {
            error = Some(e.to_string());
            failed_record(project, warehouse, &req.options, started, &format!("abandoned: {e}"))
        }
        Err(e) => {
            error = Some(e.to_string());
            failed_record(project, warehouse, &req.options, started, &format!("failed: {e}"))
        }
    };
    record.trigger = req.trigger.clone();
    record.newest_input = expect::newest_inputs(&record, &req.options.landing);
    record.expectations = expect::check(project, &record, Utc::now());
    for e in record.expectations.iter().filter(|e| !e.met) {
        let msg = format!("pipeline {} expected {}; got {}", e.pipeline, e.expected, e.actual);
        tracing::warn!(pipeline = %e.pipeline, check = %e.check, expected = %e.expected, actual = %e.actual, on_break = %e.on_break, "expectation not met");
        record.warnings.push(msg);
    }
    if record.expectations.iter().any(|e| !e.met && e.on_break == "fail") && record.outcome.starts_with("succeeded") {
        record.outcome = "failed: expectations not met".into();
    }
    // `succeeded` only when the report and the record are written too: the report first, then
    // the record, so a run stopped between them is seen as not finished (the committed record
    // says so) and one whose record cannot be saved fails
    let report = match crate::report::write(warehouse, &record) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, "could not write the run report");
            fail(&mut record, &mut error, format!("the run report could not be written: {e}"));
            None
        }
    };
    if let Err(e) = warehouse.save_run(&record) {
        tracing::error!(error = %e, "could not save the run record");
        fail(&mut record, &mut error, format!("the run record could not be saved: {e}"));
    }
    tracing::info!(run = %record.run_id, outcome = %record.outcome, seconds = record.seconds, "run finished");
    Ok(Finished { record, report, error })
}

/// Marks a run failed at its last stage (a model's failure already said so stays).
fn fail(record: &mut RunRecord, error: &mut Option<String>, why: String) {
    if record.outcome.starts_with("succeeded") {
        record.outcome = format!("failed: {why}");
    }
    error.get_or_insert(why);
}

/// The record of a run that stopped before its commit (or never started): no files, an outcome.
pub fn failed_record(project: &Project, warehouse: &Warehouse, opts: &RunOptions, started: chrono::DateTime<Utc>, outcome: &str) -> RunRecord {
    let now = Utc::now();
    RunRecord {
        run_id: crate::warehouse::runs::new_run_id(),
        started: started.to_rfc3339(),
        finished: now.to_rfc3339(),
        seconds: (now - started).to_std().unwrap_or_default().as_secs_f64(),
        outcome: outcome.to_string(),
        pipelines: if opts.pipelines.is_empty() { project.pipelines.iter().map(|p| p.name.clone()).collect() } else { opts.pipelines.clone() },
        as_of: opts.as_of.to_string(),
        landing: opts.landing.display().to_string(),
        warehouse: warehouse.location(),
        error: outcome.strip_prefix("failed: ").or_else(|| outcome.strip_prefix("abandoned: ")).map(str::to_string),
        ..Default::default()
    }
}
