//! The sqllogictest driver: runs tests/sql/*.slt the way DataFusion's own `sqllogictests` binary
//! does (harness = false): one task per file, files in parallel, every failing record reported
//! with its file and line, a non-zero exit when anything fails.
//!
//! ```text
//! cargo test --test sqllogictests                      every file, then the coverage check
//! cargo test --test sqllogictests -- finance           only files whose name contains `finance`
//! cargo test --test sqllogictests -- finance --complete   rewrite those files' expected results
//! ```
//!
//! Plain `cargo test` runs it too. The last line is `N passed, N failed` (files, and the
//! coverage check when every file runs).

mod slt;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Models no `query` in tests/sql reads yet. The coverage check fails when a model is neither read
/// by a query nor listed here, and when a listed model is read (take it off the list): the list
/// only shrinks.
const NOT_YET_TESTED: &[&str] = &[];

struct Args {
    filters: Vec<String>,
    complete: bool,
    list: bool,
    ignored: bool,
    threads: usize,
}

fn args() -> Args {
    let mut a = Args { filters: vec![], complete: false, list: false, ignored: false, threads: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--complete" => a.complete = true,
            "--list" => a.list = true,
            "--ignored" => a.ignored = true,
            "--test-threads" => a.threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            s if s.starts_with("--test-threads=") => a.threads = s["--test-threads=".len()..].parse().unwrap_or(0),
            // libtest's other flags (`--nocapture`, `--exact`, `-q`, `--format …`) mean nothing here
            "--format" | "--logfile" | "--skip" | "--color" => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => a.filters.push(s.to_string()),
        }
    }
    if a.threads == 0 {
        a.threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    }
    a
}

/// Runs `job` on each item, `threads` at a time; results in the items' order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = job(item);
                out.lock().unwrap()[i] = Some(r);
            });
        }
    });
    out.into_inner().unwrap().into_iter().map(|r| r.unwrap()).collect()
}

fn rel(p: &std::path::Path) -> String {
    p.strip_prefix(slt::root()).unwrap_or(p).display().to_string()
}

/// Failures of the coverage check: a model no query reads (and not on the list), a listed model
/// that is read, a listed name that is no model.
fn coverage(files: &[PathBuf]) -> (usize, Vec<String>) {
    let models = slt::model_names();
    let mut read = BTreeSet::new();
    for f in files {
        read.extend(slt::models_queried(f, &models));
    }
    let listed: BTreeSet<String> = NOT_YET_TESTED.iter().map(|s| s.to_string()).collect();
    let mut problems = vec![];
    for m in &models {
        match (read.contains(m), listed.contains(m)) {
            (false, false) => problems.push(format!("{m} is read by no `query` in tests/sql/*.slt: add a case for it (docs/models.md)")),
            (true, true) => problems.push(format!("{m} is tested now: take it off NOT_YET_TESTED in tests/sqllogictests.rs")),
            _ => {}
        }
    }
    for l in listed.difference(&models) {
        problems.push(format!("NOT_YET_TESTED names {l}, which is no model under sql/"));
    }
    (read.len(), problems)
}

fn main() {
    let args = args();
    let all = slt::slt_files();
    let files: Vec<PathBuf> = all
        .iter()
        .filter(|f| args.filters.is_empty() || args.filters.iter().any(|w| f.file_name().unwrap().to_string_lossy().contains(w.as_str())))
        .cloned()
        .collect();
    if args.list {
        for f in &files {
            println!("{}: test", rel(f));
        }
        return;
    }
    if args.ignored {
        // nothing here is #[ignore]d
        println!("0 passed, 0 failed");
        return;
    }
    let started = Instant::now();

    if args.complete {
        let results = parallel(&files, args.threads, |f| slt::complete_file(f));
        let mut failed = 0;
        for (f, r) in files.iter().zip(&results) {
            match r {
                Ok(()) => println!("completed {}", rel(f)),
                Err(e) => {
                    failed += 1;
                    println!("FAILED to complete {}: {e}", rel(f));
                }
            }
        }
        println!("rewrote the expected results of {} file(s) in {:.1} s: check them by hand (git diff) before committing", files.len() - failed, started.elapsed().as_secs_f64());
        println!("{} passed, {failed} failed", files.len() - failed);
        std::process::exit(if failed > 0 { 1 } else { 0 });
    }

    println!("running {} .slt file(s) on {} thread(s)", files.len(), args.threads);
    let results = parallel(&files, args.threads, |f| {
        let t = Instant::now();
        let (records, failures) = slt::run_file(f);
        let secs = t.elapsed().as_secs_f64();
        match failures.len() {
            0 => println!("ok      {} ({records} records, {secs:.1} s)", rel(f)),
            n => println!("FAILED  {} ({n} of {records} records, {secs:.1} s)", rel(f)),
        }
        failures
    });
    let (mut passed, mut failed) = (0, 0);
    for (f, failures) in files.iter().zip(&results) {
        if failures.is_empty() {
            passed += 1;
            continue;
        }
        failed += 1;
        println!("\n---- {} : {} failing record(s) ----", rel(f), failures.len());
        for e in failures {
            println!("{}", e.trim_end());
            println!();
        }
    }
    if files.is_empty() {
        // as libtest does when a filter matches nothing (`cargo test some_other_test` passes its
        // filter to every test binary): nothing run, nothing failed
        println!("no .slt file name contains any of {:?}: nothing run", args.filters);
    }

    if args.filters.is_empty() {
        let (n, problems) = coverage(&all);
        let total = slt::model_names().len();
        if problems.is_empty() {
            passed += 1;
            println!("ok      coverage: {n} of {total} models under sql/ are read by a query in tests/sql ({} on NOT_YET_TESTED)", NOT_YET_TESTED.len());
        } else {
            failed += 1;
            println!("FAILED  coverage: {n} of {total} models under sql/ are read by a query in tests/sql");
            for p in problems {
                println!("  {p}");
            }
        }
    } else {
        println!("coverage check not run: it needs every file (no filter)");
    }
    println!("finished in {:.1} s", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
