//! `lantern serve`: the daemon. Runs each pipeline on the cron schedule in its
//! `pipelines/<name>.toml` (five fields, or six with seconds first, or `@daily`-style aliases; in
//! its `timezone`, Europe/London by default, through clock changes), one run at a time, each run
//! a child `lantern run <pipeline>` process so that a run can be timed out or abandoned without
//! harm: a run killed before its commit leaves the warehouse as it was, one killed during its
//! commit is finished by the journal.
//!
//! Per pipeline (`[policy]`, defaults in [`Policy`]): a tick while the pipeline's previous run is
//! still going is skipped and recorded (or queued once); ticks missed while the daemon was down
//! are skipped and recorded, run once, or each run; failed runs are retried with exponential
//! backoff up to a cap; a run over its timeout is stopped and recorded as abandoned. Pipelines
//! wait for those named in their `depends_on` when both are due. On SIGTERM or SIGINT the daemon
//! takes no new runs, lets the current run finish within the grace period (`[serve] grace` in
//! lantern.toml) or abandons it, records the outcome and exits 0. Failed runs call the alert
//! command ([`alert`]).

pub mod alert;
mod schedule;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};

pub use schedule::Schedule;

use crate::config::Settings;
use crate::project::policy::{Missed, Overlap, Policy};
use crate::project::Project;
use crate::warehouse::runs::{self, RunRecord};
use crate::warehouse::{Warehouse, WriterLock};

/// The retry delay before attempt `n + 1` (n ≥ 1): `base × 2^(n-1)`, at most `cap`.
pub fn backoff(base: Duration, cap: Duration, n: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.saturating_sub(1))).min(cap)
}

/// Which waiting run goes next: the first none of whose dependencies (`depends_on`) is also
/// waiting, so that ingestion runs before the pipelines that read it; the first in a cycle.
pub fn next_due(waiting: &[&str], depends_on: impl Fn(&str) -> Vec<String>) -> Option<usize> {
    (0..waiting.len()).find(|&i| !depends_on(waiting[i]).iter().any(|d| waiting.contains(&d.as_str()))).or(if waiting.is_empty() { None } else { Some(0) })
}

struct Job {
    name: String,
    schedule: Schedule,
    policy: Policy,
    depends_on: Vec<String>,
    next: DateTime<Utc>,
}

/// A run waiting its turn.
struct Due {
    pipeline: String,
    trigger: String,
}

/// How one child run ended.
enum Ended {
    Exited(i32),
    TimedOut,
    Stopped,
}

pub struct Daemon<'a> {
    settings: &'a Settings,
    warehouse: Warehouse,
    landing: PathBuf,
    jobs: Vec<Job>,
    queue: VecDeque<Due>,
    stop: Arc<AtomicBool>,
    state_path: PathBuf,
    state: BTreeMap<String, String>,
    /// global flags passed on to each child `lantern run`
    child_args: Vec<String>,
}

pub fn serve(settings: &Settings, project: &Project, child_args: Vec<String>) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone(), "stopping: no new runs; the current run may finish within the grace period")?;
    let warehouse = Warehouse::open(&settings.warehouse)?.with_format(settings.format);
    let serve_dir = warehouse.root.join("_serve");
    std::fs::create_dir_all(&serve_dir).with_context(|| format!("creating {}", serve_dir.display()))?;
    let Some(_only_daemon) = WriterLock::try_acquire(&serve_dir, "lantern serve")? else {
        bail!("another lantern serve is running on this warehouse ({})", crate::warehouse::lock::holder(&serve_dir));
    };
    if let Some(unknown) = settings.serve.pipelines.iter().find(|n| project.pipeline(n).is_none()) {
        bail!("[serve] pipelines names `{unknown}`, which is not a pipeline");
    }
    let mut jobs = vec![];
    for p in &project.pipelines {
        if !settings.serve.pipelines.is_empty() && !settings.serve.pipelines.contains(&p.name) {
            continue;
        }
        let Some(expr) = &p.schedule else { continue };
        let schedule = Schedule::parse(expr, p.timezone.as_deref()).map_err(|e| anyhow::anyhow!("pipelines/{}.toml: {e}", p.name))?;
        for d in &p.depends_on {
            if project.pipeline(d).is_none() {
                bail!("pipelines/{}.toml: depends_on names `{d}`, which is not a pipeline", p.name);
            }
        }
        jobs.push(Job { name: p.name.clone(), schedule, policy: p.policy.clone(), depends_on: p.depends_on.clone(), next: Utc::now() });
    }
    if jobs.is_empty() {
        bail!("no pipeline has a schedule: add `schedule = \"0 2 * * *\"` to pipelines/<name>.toml");
    }
    let state_path = serve_dir.join("state.json");
    let state: BTreeMap<String, String> = std::fs::read(&state_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut d = Daemon { settings, landing: settings.landing.clone(), warehouse, jobs, queue: VecDeque::new(), stop, state_path, state, child_args };
    d.start();
    d.main_loop();
    tracing::info!("lantern serve stopped");
    Ok(())
}

/// SIGTERM and SIGINT set `stop` (and log `message`); registered before the first run can start.
pub fn watch_signals(stop: Arc<AtomicBool>, message: &'static str) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = crate::runtime::handle();
    let (mut term, mut int) = {
        let _g = rt.enter();
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?)
    };
    rt.spawn(async move {
        loop {
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::warn!(signal = which, "{message}");
            stop.store(true, Ordering::SeqCst);
        }
    });
    Ok(())
}

impl Daemon<'_> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Catches up on ticks missed while the daemon was down, per pipeline policy.
    fn start(&mut self) {
        let now = Utc::now();
        for i in 0..self.jobs.len() {
            let job = &self.jobs[i];
            let last = self.state.get(&job.name).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
            let (name, policy) = (job.name.clone(), job.policy.missed);
            let missed = last.map(|l| job.schedule.between(l, now, 1000)).unwrap_or_default();
            self.jobs[i].next = self.jobs[i].schedule.next_after(now);
            tracing::info!(pipeline = %name, next = %self.jobs[i].next, schedule = %self.jobs[i].schedule, "scheduled");
            if missed.is_empty() {
                continue;
            }
            let n = missed.len();
            tracing::warn!(pipeline = %name, missed = n, policy = ?policy, "runs were missed while lantern serve was not running");
            match policy {
                Missed::Skip => self.record_skip(&name, &format!("skipped: {n} scheduled run(s) missed while lantern serve was not running (policy skip)"), "catch-up"),
                Missed::Once => self.queue.push_back(Due { pipeline: name.clone(), trigger: format!("catch-up ({n} missed)") }),
                Missed::Each => {
                    for (k, t) in missed.iter().enumerate() {
                        self.queue.push_back(Due { pipeline: name.clone(), trigger: format!("catch-up {}/{n} ({})", k + 1, t.to_rfc3339()) });
                    }
                }
            }
            self.mark(&name, *missed.last().unwrap());
        }
    }

    fn mark(&mut self, pipeline: &str, tick: DateTime<Utc>) {
        self.state.insert(pipeline.to_string(), tick.to_rfc3339());
        let tmp = self.state_path.with_extension("json.tmp");
        if std::fs::write(&tmp, serde_json::to_vec_pretty(&self.state).expect("serialisable")).and_then(|_| std::fs::rename(&tmp, &self.state_path)).is_err() {
            tracing::error!(path = %self.state_path.display(), "could not save the schedule state");
        }
    }

    /// Ticks that have come: queued, or recorded as skipped when `running` is that pipeline (or
    /// it is already waiting in the queue).
    fn collect_ticks(&mut self, running: Option<&str>) {
        let now = Utc::now();
        for i in 0..self.jobs.len() {
            while self.jobs[i].next <= now {
                let tick = self.jobs[i].next;
                let name = self.jobs[i].name.clone();
                self.jobs[i].next = self.jobs[i].schedule.next_after(tick);
                self.mark(&name, tick);
                if self.stopping() {
                    continue;
                }
                let queued = self.queue.iter().any(|d| d.pipeline == name);
                let busy = running == Some(name.as_str());
                if queued || (busy && self.jobs[i].policy.overlap == Overlap::Skip) {
                    let why = if busy { "its previous run was still going" } else { "a run of it was already waiting" };
                    tracing::warn!(pipeline = %name, tick = %tick, "skipped a scheduled run: {why}");
                    self.record_skip(&name, &format!("skipped: scheduled run at {} not started because {why}", tick.to_rfc3339()), "schedule");
                } else {
                    self.queue.push_back(Due { pipeline: name, trigger: "schedule".into() });
                }
            }
        }
    }

    fn main_loop(&mut self) {
        while !self.stopping() {
            self.collect_ticks(None);
            let waiting: Vec<&str> = self.queue.iter().map(|d| d.pipeline.as_str()).collect();
            let pick = next_due(&waiting, |p| self.jobs.iter().find(|j| j.name == p).map(|j| j.depends_on.clone()).unwrap_or_default());
            match pick.and_then(|i| self.queue.remove(i)) {
                Some(due) => self.run_with_retries(due),
                None => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn policy(&self, pipeline: &str) -> Policy {
        self.jobs.iter().find(|j| j.name == pipeline).map(|j| j.policy.clone()).unwrap_or_default()
    }

    fn run_with_retries(&mut self, due: Due) {
        let policy = self.policy(&due.pipeline);
        let mut attempt = 0;
        loop {
            let trigger = if attempt == 0 { due.trigger.clone() } else { format!("{} (retry {attempt})", due.trigger) };
            let run_id = runs::new_run_id();
            tracing::info!(pipeline = %due.pipeline, run = %run_id, trigger = %trigger, "run starting");
            let ended = self.run_child(&due.pipeline, &run_id, &trigger, policy.timeout.0);
            let record = self.settle(&due.pipeline, &run_id, &trigger, &ended, policy.timeout.0);
            let failed = match ended {
                Ended::Exited(code) => code != 0,
                Ended::TimedOut => true,
                Ended::Stopped => return,
            };
            tracing::info!(pipeline = %due.pipeline, run = %run_id, outcome = %record.outcome, "run ended");
            if !failed {
                return;
            }
            if attempt < policy.retries && !self.stopping() {
                attempt += 1;
                let delay = backoff(policy.retry_delay.0, policy.retry_max_delay.0, attempt);
                tracing::warn!(pipeline = %due.pipeline, attempt, delay_seconds = delay.as_secs_f64(), "run failed; retrying after a delay");
                let until = Instant::now() + delay;
                while Instant::now() < until && !self.stopping() {
                    self.collect_ticks(Some(&due.pipeline));
                    std::thread::sleep(Duration::from_millis(100));
                }
                if !self.stopping() {
                    continue;
                }
            }
            let report = self.warehouse.root.join("_reports").join(format!("{}.html", record.run_id));
            alert::send(&self.settings.alert, &record, report.exists().then_some(report.as_path()));
            return;
        }
    }

    fn run_child(&mut self, pipeline: &str, run_id: &str, trigger: &str, timeout: Duration) -> Ended {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lantern"));
        let mut cmd = Command::new(exe);
        cmd.args(&self.child_args)
            .args(["--warehouse", &self.warehouse.location(), "run", pipeline, "--landing"])
            .arg(&self.landing)
            .args(["--wait", &self.settings.serve.lock_wait.0.as_secs().to_string()])
            .env("LANTERN_RUN_ID", run_id)
            .env("LANTERN_TRIGGER", trigger)
            .env("LANTERN_SERVE_CHILD", "1")
            .stdout(std::process::Stdio::null())
            // its own process group: a Ctrl-C at the terminal reaches the daemon, which decides
            .process_group(0);
        let mut child: Child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "could not start lantern run");
                return Ended::Exited(127);
            }
        };
        let t0 = Instant::now();
        let mut stop_at: Option<Instant> = None;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ended::Exited(status.code().unwrap_or(128)),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "waiting for lantern run"),
            }
            if t0.elapsed() > timeout {
                tracing::error!(pipeline, run = run_id, "run timed out; stopping it");
                let _ = child.kill();
                let _ = child.wait();
                return Ended::TimedOut;
            }
            if self.stopping() {
                let since = *stop_at.get_or_insert_with(Instant::now);
                if since.elapsed() > self.settings.serve.grace.0 {
                    tracing::warn!(pipeline, run = run_id, "grace period over; abandoning the run");
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ended::Stopped;
                }
            }
            self.collect_ticks(Some(pipeline));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The record of a child run: its own when it wrote one; else, after tidying what it left
    /// (staging discarded, or an interrupted commit finished), one that says what happened.
    fn settle(&self, pipeline: &str, run_id: &str, trigger: &str, ended: &Ended, timeout: Duration) -> RunRecord {
        if matches!(ended, Ended::TimedOut | Ended::Stopped) {
            // the child is gone, so its lock is free: recover discards or finishes its output
            // (if another process has the lock meanwhile, the next writer tidies instead)
            if let Err(e) = self.warehouse.lock("lantern serve: tidying an abandoned run", Duration::from_secs(10)) {
                tracing::warn!(error = %e, "could not tidy after an abandoned run; the next run will");
            }
        }
        if let Some(r) = runs::list(&self.warehouse.root).into_iter().find(|r| r.run_id == run_id) {
            return r;
        }
        let outcome = match ended {
            Ended::Exited(code) => format!("failed: lantern run exited with code {code} before recording the run"),
            Ended::TimedOut => format!("abandoned: timed out after {} (warehouse unchanged)", crate::job::expect::human(timeout)),
            Ended::Stopped => "abandoned: lantern serve was stopped (warehouse unchanged)".to_string(),
        };
        let now = Utc::now();
        let r = RunRecord {
            run_id: run_id.to_string(),
            started: now.to_rfc3339(),
            finished: now.to_rfc3339(),
            outcome,
            trigger: trigger.to_string(),
            pipelines: vec![pipeline.to_string()],
            landing: self.landing.display().to_string(),
            warehouse: self.warehouse.location(),
            ..Default::default()
        };
        if let Err(e) = self.warehouse.save_run(&r) {
            tracing::error!(error = %e, "could not save the run record");
        }
        if let Err(e) = crate::report::write(&self.warehouse, &r) {
            tracing::warn!(error = %e, "could not write the run report");
        }
        r
    }

    fn record_skip(&self, pipeline: &str, outcome: &str, trigger: &str) {
        let now = Utc::now().to_rfc3339();
        let r = RunRecord {
            run_id: runs::new_run_id(),
            started: now.clone(),
            finished: now,
            outcome: outcome.to_string(),
            trigger: trigger.to_string(),
            pipelines: vec![pipeline.to_string()],
            warehouse: self.warehouse.location(),
            ..Default::default()
        };
        if let Err(e) = self.warehouse.save_run(&r) {
            tracing::error!(error = %e, "could not record a skipped run");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (b, cap) = (Duration::from_secs(60), Duration::from_secs(300));
        let got: Vec<u64> = (1..=5).map(|n| backoff(b, cap, n).as_secs()).collect();
        assert_eq!(got, [60, 120, 240, 300, 300]);
    }

    #[test]
    fn a_pipeline_waits_for_those_it_depends_on() {
        let deps = |p: &str| if p == "models" { vec!["mosaic".to_string(), "synergy".to_string()] } else { vec![] };
        assert_eq!(next_due(&["models", "synergy", "mosaic"], deps), Some(1));
        assert_eq!(next_due(&["models", "mosaic"], deps), Some(1));
        assert_eq!(next_due(&["models"], deps), Some(0));
        assert_eq!(next_due(&[], deps), None);
        let cycle = |p: &str| vec![if p == "a" { "b" } else { "a" }.to_string()];
        assert_eq!(next_due(&["a", "b"], cycle), Some(0));
    }

    #[test]
    fn policies_read_from_toml_with_defaults() {
        let p: Policy = toml::from_str("missed = \"each\"\ntimeout = \"30m\"").unwrap();
        assert_eq!((p.missed, p.overlap, p.retries, p.timeout.0.as_secs()), (Missed::Each, Overlap::Skip, 2, 1800));
        assert!(toml::from_str::<Policy>("missed = \"sometimes\"").is_err());
    }
}
