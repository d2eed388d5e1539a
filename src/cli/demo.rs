//! `lantern demo`: the first command a newcomer runs. A synthetic council is generated into
//! DIR/landing, every pipeline and every model runs into DIR/warehouse, and a short summary says
//! what landed per source, a few headline figures read back from the warehouse, and where to look.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;

use crate::config::Overrides;
use crate::pipeline::{RunOptions, Runner};
use crate::privacy::Protector;
use crate::project::Project;
use crate::synth::{GenerateOptions, Manifest};
use crate::warehouse::runs::RunRecord;
use crate::warehouse::Warehouse;

/// Marks a folder as made by `lantern demo`, so a second demo may clear it and nothing else is.
const MARKER: &str = ".lantern-demo";

pub(super) fn demo(overrides: &Overrides, dir: &Path, scale: f64, seed: u64) -> Result<ExitCode> {
    let t0 = Instant::now();
    prepare(dir)?;
    let (landing, warehouse_dir) = (dir.join("landing"), dir.join("warehouse"));
    // synthetic children: a key of the demo's own, unless the environment gives one
    let (protector, _) = Protector::from_env_or_local(None, &dir.join("pseudonym.key"))?;

    step(&format!("generating a synthetic council (scale {scale}, seed {seed}) into {}", landing.display()));
    let gen = GenerateOptions { out: dir.to_path_buf(), scale, seed, councils: 1, ..Default::default() };
    let t = Instant::now();
    let manifest = crate::synth::generate(&gen)?;
    let gen_seconds = t.elapsed().as_secs_f64();

    let settings = super::load_settings(overrides)?;
    let project = Project::load(settings.project.as_deref())?;
    let warehouse = Warehouse::open(overrides.warehouse.as_deref().unwrap_or(&warehouse_dir.display().to_string()))?.with_format(settings.format);
    step(&format!("running every pipeline into {}", warehouse.root.display()));
    let opts = RunOptions {
        pipelines: vec![],
        landing: landing.clone(),
        as_of: chrono::NaiveDate::from_ymd_opt(gen.end_year, 3, 31).expect("a date"),
        la_code: None,
        progress: std::io::stderr().is_terminal(),
        limits: settings.limits,
        stop: None,
        threads: settings.read_threads,
    };
    let _lock = warehouse.lock("lantern demo", std::time::Duration::ZERO)?;
    let mut record = Runner { project: &project, warehouse: &warehouse, protector: &protector }.run(&opts)?;
    step("building the SQL models");
    let models_failed = super::models::after_run(&project, &warehouse, &mut record, None);

    print_summary(&manifest, gen_seconds, &record, &warehouse, gen.end_year);
    print_where_to_look(dir, &warehouse, &record);
    match crate::report::write(&warehouse, &record) {
        Ok(p) => println!("\nthe run report (open it in a browser): {}", p.with_file_name("latest.html").display()),
        Err(e) => tracing::warn!(error = %e, "could not write the run report"),
    }
    // the record, final once the report is written (until then it says the run is unfinished)
    if let Err(e) = warehouse.save_run(&record) {
        tracing::warn!(error = %e, "could not save the run record");
    }
    println!("\ndone in {:.1}s", t0.elapsed().as_secs_f64());
    if let Some(e) = models_failed {
        return Err(e);
    }
    Ok(if record.files.iter().any(|f| f.status != "received") { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn step(what: &str) {
    eprintln!("lantern demo: {what}");
}

/// An empty or new folder, or one an earlier demo made (then its landing and warehouse go).
fn prepare(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    if dir.exists() && !marker.exists() && std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_some() {
        bail!("{} is not empty and was not made by `lantern demo`; choose another folder with --dir", dir.display());
    }
    for sub in ["landing", "warehouse", "manifest.json"] {
        let p = dir.join(sub);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).with_context(|| format!("clearing {}", p.display()))?;
        } else if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("clearing {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&marker, "made by `lantern demo`: a synthetic council; safe to delete\n").with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

/// Rows landed per source: files, read, clean, quarantined.
fn per_source(record: &RunRecord) -> BTreeMap<String, [u64; 4]> {
    let mut out: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for f in &record.files {
        let source = f.tables.first().and_then(|t| t.table.split('.').next()).unwrap_or("(not loaded)").to_string();
        let e = out.entry(source).or_default();
        e[0] += 1;
        e[1] += f.rows_read;
        e[2] += f.rows_clean;
        e[3] += f.rows_quarantined;
    }
    out
}

/// Headline figures read back from the warehouse: label and SQL giving one number.
fn headlines(y: i32) -> Vec<(String, String)> {
    let d = format!("date '{y}-03-31'");
    vec![
        (
            format!("children in care on 31 March {y}"),
            format!("select count(distinct \"CHILD\") from clean.mosaic.ssda903_episodes where year = '{y}' and \"DECOM\" <= {d} and (\"DEC\" is null or \"DEC\" > {d})"),
        ),
        (
            format!("children on a protection plan on 31 March {y}"),
            format!("select count(distinct \"LAchildID\") from clean.mosaic.cin_cp_plans where year = '{y}' and \"CPPstartDate\" <= {d} and (\"CPPendDate\" is null or \"CPPendDate\" > {d})"),
        ),
        (format!("EHC plans in the January {y} SEN2 return"), format!("select count(*) from clean.synergy.sen2_active_plans where year = '{y}'")),
        (format!("pupils on roll, spring {y} census"), format!("select count(*) from clean.census.pupil_on_roll where census = '{y}-spring'")),
        (
            format!("children's services net spend {}-{:02}, £m", y - 1, y % 100),
            format!("select round(sum(amount) / 1e6, 1) from clean.finance.ledger_transactions where financial_year = '{}-{:02}'", y - 1, y % 100),
        ),
    ]
}

fn scalar(batches: &[arrow::record_batch::RecordBatch]) -> Option<String> {
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let col = arrow::compute::cast(b.column(0), &DataType::Utf8).ok()?;
    let s = col.as_string::<i32>();
    (!s.is_null(0)).then(|| s.value(0).to_string())
}

fn print_summary(m: &Manifest, gen_seconds: f64, record: &RunRecord, warehouse: &Warehouse, end_year: i32) {
    let council = m.councils.first().map(|c| format!("{} {}", c.la_code, c.name)).unwrap_or_default();
    println!("\nLantern demo: synthetic council {council}, {} years to 31 March {end_year}", m.years);
    println!("generated {} files, {} rows ({} with injected defects) in {gen_seconds:.1}s", m.files.len(), m.rows, m.defects.len());
    println!("\n{:<12} {:>6} {:>11} {:>11} {:>12}", "source", "files", "rows read", "clean", "quarantined");
    for (source, [files, read, clean, q]) in per_source(record) {
        println!("{source:<12} {files:>6} {read:>11} {clean:>11} {q:>12}");
    }
    let (read, clean, q) = record.totals();
    println!("{:<12} {:>6} {read:>11} {clean:>11} {q:>12}", "total", record.files.len());
    println!("run {}: {} in {:.1}s; {} model(s) built in {:.1}s", record.run_id, record.outcome, record.seconds, record.models.len(), record.models_seconds);
    for w in &record.warnings {
        println!("warning: {w}");
    }

    println!("\nheadline figures, read back from the warehouse:");
    let figures = crate::runtime::block_on(async {
        let ctx = crate::query::session(warehouse).await?;
        let mut out = vec![];
        for (label, sql) in headlines(end_year) {
            let v = match crate::query::run_sql(&ctx, &sql).await {
                Ok(b) => scalar(&b).unwrap_or_else(|| "none".into()),
                Err(e) => format!("not available ({})", e.to_string().lines().next().unwrap_or("")),
            };
            out.push((label, v));
        }
        Ok::<_, anyhow::Error>(out)
    });
    crate::query::engine::tidy_spill(&warehouse.root);
    match figures {
        Ok(figures) => {
            for (label, v) in figures {
                println!("  {label:<52} {v:>10}");
            }
        }
        Err(e) => println!("  could not open the warehouse for SQL: {e}"),
    }
}

fn print_where_to_look(dir: &Path, warehouse: &Warehouse, record: &RunRecord) {
    let w = warehouse.root.display();
    let shown = |p: PathBuf| p.display().to_string();
    println!("\nwhere to look:");
    println!("  warehouse     {w}  (clean/, quarantine/, marts/, raw/, _runs/)");
    println!("  run record    {}", shown(warehouse.root.join("_runs").join(format!("{}.json", record.run_id))));
    println!("  exports       {}  (what was loaded; {} lists every injected defect)", shown(dir.join("landing")), shown(dir.join("manifest.json")));
    println!("  SQL           lantern sql --warehouse {w} -e \"select * from clean.mosaic.ssda903_episodes limit 5\"");
    println!("  quarantine    lantern sql --warehouse {w} -e \"select _file, _row, _column, _message from quarantine.mosaic.ssda903_episodes\"");
    println!("  models        lantern models --warehouse {w}");
    println!("  DuckDB        duckdb -c \"select * from read_parquet('{w}/clean/mosaic/ssda903_episodes/**/*.parquet', hive_partitioning = true) limit 5\"");
    println!("  Power BI      Get Data → Parquet (one file) or Folder → {w}/marts (strings, dates and money in types Power BI reads)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_the_demo_did_not_make_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let err = prepare(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("not made by `lantern demo`"), "{err}");
        assert!(tmp.path().join("notes.txt").exists());
        // a demo folder is cleared of its landing and warehouse, and nothing else
        let demo = tmp.path().join("demo");
        prepare(&demo).unwrap();
        std::fs::create_dir_all(demo.join("warehouse/clean")).unwrap();
        std::fs::write(demo.join("pseudonym.key"), "k").unwrap();
        prepare(&demo).unwrap();
        assert!(!demo.join("warehouse").exists());
        assert!(demo.join("pseudonym.key").exists());
    }
}
