#![allow(dead_code)]
//! Helpers for tests that run the real `lantern` binary on real files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod dfe_cases;
pub mod stores;

pub const KEY: &str = "test-key-0123456789abcdef-not-for-production";

pub fn fixtures() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    assert!(p.is_dir(), "../shared/fixtures is missing: tests need the shared folder beside the checkout");
    p
}

pub fn lantern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(args)
        .env("LANTERN_PSEUDONYM_KEY", KEY)
        .env_remove("LANTERN_PSEUDONYM_KEY_FILE")
        .env_remove("LANTERN_CONFIG")
        .env_remove("LANTERN_WAREHOUSE")
        .env_remove("LANTERN_LA_CODE")
        .output()
        .expect("run lantern")
}

/// `lantern run` of a landing folder into a warehouse (council 201, as of `as_of`), to spawn
/// when a test must watch or stop the process while it runs.
pub fn run_command(landing: &Path, warehouse: &Path, as_of: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lantern"));
    c.args(["run", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "201", "--as-of", as_of])
        .env("LANTERN_PSEUDONYM_KEY", KEY);
    c
}

pub fn ok(args: &[&str]) -> String {
    let out = lantern(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "lantern {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Copies files into `dir` (a landing folder), keeping their names.
pub fn land(dir: &Path, files: &[PathBuf]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in files {
        std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
    }
}

/// The MOSAIC fixture set of issue 2: every 903 CSV, the CIN census XML, the Annex A workbook.
pub fn mosaic_fixture_files() -> Vec<PathBuf> {
    let fx = fixtures();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fx.join("ssda903")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.push(fx.join("cin_census/BAR_cin_2022.xml"));
    files.push(fx.join("annex_a/Annex_A_2024_Jan.xlsx"));
    files
}

/// Two landings of the MOSAIC fixtures: all of them, and the same with only the first 99
/// episodes (a second run that changes the warehouse).
pub fn mosaic_landings(tmp: &Path) -> (PathBuf, PathBuf) {
    let a = tmp.join("landing-a");
    land(&a, &mosaic_fixture_files());
    let b = tmp.join("landing-b");
    land(&b, &mosaic_fixture_files());
    let text = std::fs::read_to_string(b.join("episodes.csv")).unwrap();
    std::fs::write(b.join("episodes.csv"), text.lines().take(100).collect::<Vec<_>>().join("\n")).unwrap();
    (a, b)
}

/// The Python packages the tests use as independent readers of what Lantern writes.
const PY_PACKAGES: [&str; 2] = ["pyarrow", "duckdb"];

fn python_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| python_packages("python-packages", &PY_PACKAGES, &["pyarrow", "duckdb"]))
}

/// A folder holding `packages`, installed there with pip on first use when the machine's Python
/// lacks them (concurrent installs each finish in their own folder). `modules` are what must
/// import afterwards.
pub fn python_packages(name: &str, packages: &[&str], modules: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let import = format!("import {}", modules.join(", "));
    let have = |path: &Path| Command::new("python3").args(["-c", &import]).env("PYTHONPATH", path).output().is_ok_and(|o| o.status.success());
    if have(&dir) {
        return dir.display().to_string();
    }
    install_into(&dir, "python3 (with pip) is needed by the tests", &format!("pip install {packages:?}"), |fresh| {
        let mut c = Command::new("python3");
        c.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"]).arg(fresh).args(packages);
        c
    });
    assert!(have(&dir), "{packages:?} installed into {} but cannot be imported", dir.display());
    dir.display().to_string()
}

/// Runs the command `install(fresh)` gives, which installs into `fresh`, a folder of this
/// process's beside `dir`, then moves it to `dir` (concurrent installs, from test processes or
/// from threads of one, each install into their own folder; the first to finish wins). `needs` says what to install when the command
/// cannot start; `what` names the install when it fails.
pub fn install_into(dir: &Path, needs: &str, what: &str, install: impl FnOnce(&Path) -> Command) {
    let name = dir.file_name().expect("a folder name").to_string_lossy();
    // one folder per install: tests of one binary run on threads of one process
    static INSTALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = INSTALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let fresh = dir.with_file_name(format!("{name}.{}.{n}", std::process::id()));
    let out = install(&fresh).output().expect(needs);
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    if std::fs::rename(&fresh, dir).is_err() {
        let _ = std::fs::remove_dir_all(&fresh); // another test process got there first
    }
}

/// `python3 ARGS` with DataFusion's Python bindings (the DataFusion release Lantern builds on)
/// beside the other packages: an analyst's DataFusion, not Lantern's.
pub fn python_with_datafusion(args: &[&str]) -> Output {
    let datafusion = python_packages("python-datafusion", &["datafusion==55.*"], &["datafusion"]);
    Command::new("python3")
        .args(args)
        .env("PYTHONPATH", format!("{datafusion}:{}", python_path()))
        .output()
        .expect("python3 is needed by the tests")
}

/// The `deltalake` package (with pyarrow), installed into the test folder on first use.
pub fn python_delta(args: &[&str], env: &[(String, String)]) -> Output {
    let delta = python_packages("python-deltalake", &["deltalake==1.6.6", "pyarrow"], &["deltalake", "pyarrow"]);
    let mut c = Command::new("python3");
    c.args(args).env("PYTHONPATH", delta);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("python3 is needed by the tests")
}

/// `tests/tools/delta_read.py`: each table's Delta version, rows and files, or its error.
pub fn delta_read(base: &str, tables: &[String], env: &[(String, String)]) -> BTreeMap<String, serde_json::Value> {
    let mut args = vec!["tests/tools/delta_read.py", base];
    args.extend(tables.iter().map(String::as_str));
    let out = python_delta(&args, env);
    assert!(out.status.success(), "delta_read.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn python(args: &[&str]) -> Output {
    Command::new("python3").args(args).env("PYTHONPATH", python_path()).output().expect("python3 is needed by the tests")
}

/// Rows of `lantern sql ... --format json` as JSON values.
pub fn sql_json(warehouse: &Path, sql: &str) -> Vec<serde_json::Value> {
    let out = ok(&["sql", "--warehouse", warehouse.to_str().unwrap(), "-e", sql, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    v.as_array().cloned().unwrap_or_default()
}

pub fn run_records(warehouse: &Path) -> Vec<serde_json::Value> {
    // records only: not a `.<run>.json.tmp` a killed writer left
    let mut v: Vec<PathBuf> = std::fs::read_dir(warehouse.join("_runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
}

/// Every Parquet cell as text, with its file — for scanning what was written.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    out.push(p)
                }
            }
        }
    }
    out.sort();
    out
}

/// Rewrites one part of a zip (a workbook) through `edit`: for files no writer would make.
pub fn patch_zip(path: &Path, part: &str, edit: impl Fn(&str) -> String) {
    use std::io::{Read, Write};
    let mut zin = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut bytes = vec![];
        f.read_to_end(&mut bytes).unwrap();
        if name == part {
            bytes = edit(&String::from_utf8(bytes).unwrap()).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&bytes).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}
