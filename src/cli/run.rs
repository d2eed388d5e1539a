//! `lantern run` and `lantern serve` at the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use chrono::NaiveDate;

use crate::config::{Overrides, Settings};
use crate::job::{self, Request};
use crate::pipeline::RunOptions;
use crate::project::Project;
use crate::warehouse::lock::BUSY_EXIT_CODE;
use crate::warehouse::{LockError, Warehouse};

/// Exit codes: 0 succeeded; 1 the run finished but not cleanly (rejected files, an expectation
/// set to fail); 2 an error stopped it; 75 another process was writing to the warehouse.
pub(super) fn run(overrides: Overrides, pipelines: Vec<String>, as_of: Option<NaiveDate>, la: Option<String>, wait: Option<f64>) -> Result<ExitCode> {
    let settings = super::load_settings(&overrides)?;
    let project = Project::load(settings.project.as_deref())?;
    let warehouse = Warehouse::open(&settings.warehouse)?.with_format(settings.format);
    let protector = super::protector(settings.key_file.as_deref())?;
    // SIGTERM / SIGINT abandon the run at its next safe point (between files, before the commit,
    // between models), with a record that says so
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    crate::serve::watch_signals(stop.clone(), "stopping: the run is abandoned at the next file or model; nothing half-written is kept")?;
    let req = Request {
        options: RunOptions {
            pipelines,
            landing: settings.landing.clone(),
            as_of: as_of.unwrap_or_else(|| chrono::Local::now().date_naive()),
            la_code: la.or(settings.la_code.clone()),
            progress: std::io::stderr().is_terminal(),
            limits: settings.limits,
            stop: Some(stop.clone()),
            threads: settings.read_threads,
        },
        lock_wait: wait.map(Duration::from_secs_f64).unwrap_or(settings.lock_wait),
        trigger: std::env::var("LANTERN_TRIGGER").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "manual".into()),
        cluster: settings.cluster.clone(),
    };
    let done = match job::run(&project, &warehouse, &protector, &req) {
        Ok(done) => done,
        Err(e @ LockError::Busy { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(BUSY_EXIT_CODE));
        }
        Err(e) => return Err(e.into()),
    };
    let r = &done.record;
    if !r.files.is_empty() {
        super::output::print_run(r);
        super::models::print(r);
    }
    for e in r.expectations.iter().filter(|e| !e.met) {
        println!("expectation not met ({}): pipeline {} expected {}; got {}", e.on_break, e.pipeline, e.expected, e.actual);
    }
    if let Some(p) = &done.report {
        println!("report: {}", p.display());
    }
    let failed = job::is_failure(r);
    // under `lantern serve` the daemon alerts, once retries are spent
    if failed && std::env::var_os("LANTERN_SERVE_CHILD").is_none() {
        crate::serve::alert::send(&settings.alert, r, done.report.as_deref());
    }
    if let Some(e) = done.error {
        bail!(e);
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `lantern serve`: global flags are handed on to each `lantern run` it starts.
pub(super) fn serve(overrides: Overrides, landing: Option<PathBuf>) -> Result<ExitCode> {
    let settings = super::load_settings(&Overrides { landing, ..overrides.clone() })?;
    let project = Project::load(settings.project.as_deref())?;
    super::protector(settings.key_file.as_deref())?; // a missing key fails now, not at 02:00
    let mut child_args = vec!["--log-format".to_string(), "json".to_string()];
    if let Some(c) = &settings.config_file {
        child_args.extend(["--config".into(), std::path::absolute(c)?.display().to_string()]);
    }
    if let Some(p) = &settings.project {
        child_args.extend(["--project".into(), std::path::absolute(p)?.display().to_string()]);
    }
    let settings = Settings { landing: std::path::absolute(&settings.landing)?, ..settings };
    crate::serve::serve(&settings, &project, child_args)?;
    Ok(ExitCode::SUCCESS)
}
