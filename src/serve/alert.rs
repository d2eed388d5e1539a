//! Alerts: when a run fails, the command configured as `[alert] command = "…"` in lantern.toml
//! is run with `sh -c`, the run's JSON summary on its standard input (and its run id in
//! `LANTERN_ALERT_RUN_ID`). For a webhook, post the summary with curl:
//! `command = "curl -fsS -H 'Content-Type: application/json' --data-binary @- https://…"`.
//! The summary holds counts, outcomes and expectations — no file names, no values from the data.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::AlertSettings;
use crate::warehouse::runs::RunRecord;

/// What an alert says about a run.
pub fn summary(r: &RunRecord, report: Option<&Path>) -> Value {
    let (read, clean, quarantined) = r.totals();
    let count = |status: &str| r.files.iter().filter(|f| f.status == status).count();
    let host = std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_default();
    json!({
        "lantern": "run failed",
        "run_id": r.run_id,
        "pipelines": r.pipelines,
        "outcome": r.outcome,
        "trigger": r.trigger,
        "started": r.started,
        "finished": r.finished,
        "seconds": r.seconds,
        "files": { "total": r.files.len(), "received": count("received"), "unknown": count("unknown"), "unreadable": count("unreadable") },
        "rows": { "read": read, "clean": clean, "quarantined": quarantined },
        "expectations_broken": r.expectations.iter().filter(|e| !e.met).map(|e| json!({
            "pipeline": e.pipeline, "check": e.check, "expected": e.expected, "actual": e.actual, "on_break": e.on_break
        })).collect::<Vec<_>>(),
        "models_failed": r.outcome.contains("SQL model"),
        "report": report.map(|p| p.display().to_string()),
        "warehouse": r.warehouse,
        "host": host,
    })
}

/// Runs the alert command, if one is configured, and waits up to a minute for it.
pub fn send(settings: &AlertSettings, r: &RunRecord, report: Option<&Path>) {
    let Some(cmd) = settings.command.as_deref().filter(|c| !c.trim().is_empty()) else { return };
    let body = serde_json::to_vec_pretty(&summary(r, report)).expect("serialisable");
    let child = Command::new("sh")
        .args(["-c", cmd])
        .env("LANTERN_ALERT_RUN_ID", &r.run_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "could not start the alert command");
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body);
    }
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                tracing::info!(run = %r.run_id, "alert sent");
                return;
            }
            Ok(Some(status)) => {
                tracing::error!(run = %r.run_id, %status, "the alert command failed");
                return;
            }
            Ok(None) if t0.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
                tracing::error!(run = %r.run_id, "the alert command took over a minute and was stopped");
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                tracing::error!(error = %e, "waiting for the alert command");
                return;
            }
        }
    }
}
