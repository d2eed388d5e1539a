//! `lantern models`, and the model build at the end of `lantern run`.

use std::process::ExitCode;

use anyhow::Result;

use crate::config::Overrides;
use crate::model::{BuildOptions, ModelReport};
use crate::project::Project;
use crate::warehouse::runs::RunRecord;
use crate::warehouse::Warehouse;

/// Builds the models after a run's commit and adds them to its record (saved again). A model
/// that fails leaves every mart as it was and marks the run; its error is returned.
pub(super) fn after_run(project: &Project, warehouse: &Warehouse, record: &mut RunRecord, cluster: Option<&str>) -> Option<anyhow::Error> {
    crate::model::build_for_run(project, warehouse, record, cluster, None).err().map(|e| anyhow::anyhow!("{e}"))
}

pub(super) fn print(record: &RunRecord) {
    if record.models.is_empty() {
        return;
    }
    let report = ModelReport { build_id: String::new(), seconds: record.models_seconds, models: record.models.clone() };
    print!("{}", report.summary());
}

pub(super) fn command(overrides: &Overrides, build: bool, full: bool, json: bool, cluster: Option<String>, only: Vec<String>) -> Result<ExitCode> {
    let settings = super::load_settings(overrides)?;
    let project = Project::load(settings.project.as_deref())?;
    let warehouse = Warehouse::open(&settings.warehouse)?.with_format(settings.format);
    if build {
        let _lock = warehouse.lock("lantern models --build", settings.lock_wait)?;
        let report = crate::model::build_all(&project, &warehouse, &BuildOptions { full, run_id: None, cluster: cluster.or(settings.cluster.clone()), only, stop: None })?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.summary());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let models = crate::model::list(&project, &warehouse)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
        return Ok(ExitCode::SUCCESS);
    }
    if models.is_empty() {
        println!("no models: write one at sql/<area>/<model>.sql in the project (see docs/models.md)");
        return Ok(ExitCode::SUCCESS);
    }
    for m in &models {
        println!("{}  [{}]  {}", m.model, m.area, m.file);
        println!("    grain:  {}", m.grain);
        println!("    inputs: {}", if m.inputs.is_empty() { "(none)".to_string() } else { m.inputs.join(", ") });
        match &m.last_build {
            Some(b) if !b.built_at.is_empty() => println!("    built:  {} — {} rows in {:.2}s", b.built_at, b.rows, b.seconds),
            _ => println!("    built:  never (lantern run, or lantern models --build)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
