//! The command line: parse flags, load settings and project, call the flow, print results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Overrides, Settings};
use crate::privacy::Protector;
use crate::project::Project;
use crate::warehouse::Warehouse;

mod demo;
mod dfe;
mod models;
mod output;
mod run;

#[derive(Parser)]
#[command(name = "lantern", version, about = "Council children's services exports → validated, pseudonymised Parquet and indicators")]
struct Cli {
    /// Settings file (default: ./lantern.toml if present)
    #[arg(long, global = true, env = "LANTERN_CONFIG")]
    config: Option<PathBuf>,
    /// Warehouse location: a folder or file:// URL
    #[arg(long, global = true)]
    warehouse: Option<String>,
    /// A council's edited copy of pipelines/, schemas/ and sql/ (see `lantern init`)
    #[arg(long, global = true)]
    project: Option<PathBuf>,
    /// Log format on standard error (default: text; json under `serve`)
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

fn parse_table_format(s: &str) -> Result<crate::config::TableFormat, String> {
    s.parse()
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start here: generate a synthetic council into DIR/landing, run every pipeline and model
    /// into DIR/warehouse, and print what landed, headline figures and where to look
    Demo {
        #[arg(long, default_value = "lantern-demo")]
        dir: PathBuf,
        /// Size: 1 is a council like Dorset (about 67,500 children, 60,000 pupils)
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How tables are written: parquet (default) or delta (a Delta Lake log per table);
        /// `format` in lantern.toml, LANTERN_FORMAT
        #[arg(long, value_parser = parse_table_format)]
        format: Option<crate::config::TableFormat>,
    },
    /// Run pipelines now over the landing folder (all pipelines when none are named)
    Run {
        pipelines: Vec<String>,
        #[arg(long)]
        landing: Option<PathBuf>,
        /// Date the run is for (default today): sets the collection year of files that do not say
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Council (DfE LA code) for files that neither say nor sit in a landing/<code>/ folder
        #[arg(long)]
        la: Option<String>,
        /// Seconds to wait while another lantern process writes to the warehouse (default 0:
        /// refuse at once, exit code 75; `lock_wait` in lantern.toml, LANTERN_LOCK_WAIT)
        #[arg(long)]
        wait: Option<f64>,
        /// How tables are written: parquet (default) or delta (a Delta Lake log per table);
        /// `format` in lantern.toml, LANTERN_FORMAT
        #[arg(long, value_parser = parse_table_format)]
        format: Option<crate::config::TableFormat>,
    },
    /// The daemon: runs each pipeline on its schedule (pipelines/*.toml) until SIGTERM or SIGINT
    Serve {
        #[arg(long)]
        landing: Option<PathBuf>,
        /// How tables are written: parquet (default) or delta (a Delta Lake log per table);
        /// `format` in lantern.toml, LANTERN_FORMAT
        #[arg(long, value_parser = parse_table_format)]
        format: Option<crate::config::TableFormat>,
    },
    /// Check export files and write nothing; exits non-zero on file-level errors
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Also check each return by the DfE's validation rules: a CIN census XML, or an SSDA903 CSV set (its files, or their folder)
        #[arg(long)]
        dfe: bool,
        /// The DfE rule set of the collection ending in this year (2025 = 2024/25); default: the file's own year
        #[arg(long, requires = "dfe")]
        year: Option<String>,
        /// Write every DfE flag here: .csv, or .xlsx for a workbook (holds children's ids as the files have them)
        #[arg(long, requires = "dfe")]
        report: Option<PathBuf>,
        /// Last year's SSDA903 return (a folder: the CSV set or its XML), for the rules that compare with it
        #[arg(long, requires = "dfe")]
        previous: Option<PathBuf>,
        /// The council's LA code for the SSDA903 rules comparing a placement's LA with the council's own (241, 411, 1015):
        /// its ONS code (E06000059) or DfE number (838); default: lantern.toml's la_code
        #[arg(long, requires = "dfe")]
        la: Option<String>,
    },
    /// Query the warehouse with SQL (tables are zone.source.table)
    Sql {
        #[arg(short = 'e', long = "execute", conflicts_with = "file")]
        sql: Option<String>,
        #[arg(short = 'f', long)]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
        /// Write results here (csv, json or parquet, by --format) instead of standard output
        #[arg(long)]
        output: Option<PathBuf>,
        /// Run on a Ballista cluster: df://HOST:PORT of a `lantern scheduler`
        #[arg(long)]
        cluster: Option<String>,
    },
    /// A Ballista scheduler with Lantern's SQL functions, for `--cluster` (runs until stopped)
    Scheduler {
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        #[arg(long, default_value_t = 50050)]
        port: u16,
    },
    /// A Ballista executor with Lantern's SQL functions, joining a scheduler (runs until stopped)
    Executor {
        /// The scheduler, HOST:PORT or df://HOST:PORT
        #[arg(long)]
        scheduler: String,
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Arrow Flight port (results and shuffles)
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port (tasks from the scheduler)
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for shuffle files (default: a temporary folder)
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Tasks run at once (default: the machine's cores)
        #[arg(long)]
        concurrent_tasks: Option<usize>,
    },
    /// Run history
    Runs {
        /// One JSON document per run, for monitoring tools
        #[arg(long)]
        json: bool,
    },
    /// Write an editable copy of the shipped pipelines/, schemas/ and sql/ into DIR
    Init { dir: PathBuf },
    /// The tables the schemas declare, with their columns
    Tables,
    /// The SQL models (sql/<area>/<model>.sql): area, grain, inputs and last build
    Models {
        /// Build the models whose inputs changed now, as `lantern run` does after loading
        #[arg(long)]
        build: bool,
        /// With --build: rebuild every model
        #[arg(long, requires = "build")]
        full: bool,
        #[arg(long)]
        json: bool,
        /// With --build: run the models on this Ballista cluster (df://HOST:PORT; default `[cluster] url`)
        #[arg(long, requires = "build")]
        cluster: Option<String>,
        /// With --build: only this model (marts.<area>.<model>, repeatable) and the models it reads
        #[arg(long = "model", requires = "build")]
        only: Vec<String>,
        /// How tables are written: parquet (default) or delta (a Delta Lake log per table);
        /// `format` in lantern.toml, LANTERN_FORMAT
        #[arg(long, value_parser = parse_table_format)]
        format: Option<crate::config::TableFormat>,
    },
    /// Generate synthetic councils: every source's exports under DIR/landing/<LA code>/, and
    /// DIR/manifest.json listing the files and the defects injected into them
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// Size: 1 is a council like Dorset (about 67,500 children, 60,000 pupils)
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of councils, each with its own DfE LA code (838 Dorset, 933 Somerset, 839 BCP, …)
        #[arg(long, default_value_t = 1)]
        councils: usize,
        /// Years simulated and written, ending 31 March of --end-year
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Collection year the window ends in
        #[arg(long, default_value_t = 2025)]
        end_year: i32,
        /// Share of data rows given a defect (bad date, unknown code, blank required field, duplicate row; overlapping 903 episode); 0 for clean files
        #[arg(long, default_value_t = 0.001)]
        defect_rate: f64,
        /// Shape of the SSDA903 return: the CSV set or the EXPSSDA903 XML (the same children either way)
        #[arg(long, value_enum, default_value_t = crate::synth::Ssda903Shape::Csv)]
        ssda903: crate::synth::Ssda903Shape,
        /// Shape of the SEN2 return: COLLECT Blade CSVs or the XML
        #[arg(long, value_enum, default_value_t = crate::synth::Sen2Shape::Blade)]
        sen2: crate::synth::Sen2Shape,
        /// MOSAIC exports: the returns (SSDA903 and CIN census), the Annex A lists, or both
        #[arg(long, value_enum, default_value_t = crate::synth::SocialCare::Both)]
        social_care: crate::synth::SocialCare,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // the failure points the tests set in FAILPOINTS (test builds only)
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    // the process's one tokio runtime, made here at the edge (see [`crate::runtime`])
    match crate::runtime::build() {
        Ok(rt) => {
            let _ = crate::runtime::install(rt);
        }
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    }
    let serving = matches!(cli.command, Command::Serve { .. });
    init_logging(cli.log_format.unwrap_or(if serving { LogFormat::Json } else { LogFormat::Text }), if serving { "info" } else { "warn" });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LANTERN_LOG").unwrap_or_else(|_| default_level.into());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().init(),
        LogFormat::Text => b.with_target(false).init(),
    }
}

/// The settings, with the engine's and the cluster client's handed to them: every SQL session
/// and cluster query of this process uses them from now on.
pub fn load_settings(overrides: &Overrides) -> Result<Settings> {
    let settings = Settings::load(overrides)?;
    crate::query::engine::configure(settings.engine.clone());
    if let Some(limit) = settings.cluster_job_timeout {
        crate::cluster::set_job_timeout(limit);
    }
    Ok(settings)
}

fn key_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("lantern").join("pseudonym.key")
}

/// The pseudonymisation key: from the environment, else the settings' `key_file`, else one
/// generated on first use in the user's configuration folder.
pub fn protector(key_file: Option<&Path>) -> Result<Protector> {
    let path = key_path();
    let (p, created) = Protector::from_env_or_local(key_file, &path)?;
    if let Some(created) = created {
        eprintln!(
            "warning: no LANTERN_PSEUDONYM_KEY or LANTERN_PSEUDONYM_KEY_FILE set; generated a pseudonymisation key at {} (owner-only).\n         Keep it safe and set LANTERN_PSEUDONYM_KEY_FILE on servers: a different key gives different pseudonyms.",
            created.display()
        );
    } else if std::env::var_os("LANTERN_PSEUDONYM_KEY").is_none() && std::env::var_os("LANTERN_PSEUDONYM_KEY_FILE").is_none() && key_file.is_none() {
        tracing::warn!(path = %path.display(), "using the locally generated pseudonymisation key");
    }
    Ok(p)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let overrides = Overrides { config: cli.config.clone(), landing: None, warehouse: cli.warehouse.clone(), project: cli.project.clone(), format: None };
    match cli.command {
        Command::Init { dir } => {
            let written = Project::write_embedded_copy(&dir).with_context(|| format!("writing into {}", dir.display()))?;
            println!("wrote {} files into {}; point Lantern at it with --project {} or `project = \"{}\"` in lantern.toml", written.len(), dir.display(), dir.display(), dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { pipelines, landing, as_of, la, wait, format } => run::run(Overrides { landing, format, ..overrides }, pipelines, as_of, la, wait),
        Command::Serve { landing, format } => run::serve(Overrides { format, ..overrides }, landing),
        Command::Validate { files, as_of, dfe, year, report, previous, la } => {
            let settings = load_settings(&overrides)?;
            let project = Project::load(settings.project.as_deref())?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            // a folder stands for its files (an SSDA903 CSV set)
            let files = crate::cli::dfe::expand_folders(&files)?;
            // the council's LA code for the DfE rules (as an ONS code): given, or the configured one
            let la = crate::cli::dfe::council_la(la.as_deref(), settings.la_code.as_deref())?;
            // the project's schemas and the DfE's rules check the files side by side (one thread
            // each); what each finds is printed in that order
            let mut dfe_out: Vec<u8> = vec![];
            let (checked, dfe_failed) = std::thread::scope(|s| {
                let checked = s.spawn(|| crate::pipeline::validate_files(&project, &files, settings.la_code.clone(), as_of, settings.limits));
                let dfe_failed = match dfe {
                    true => crate::cli::dfe::validate(&files, year.as_deref(), report.as_deref(), previous.as_deref(), la.as_deref(), &mut dfe_out),
                    false => Ok(0),
                };
                (checked.join().expect("the schema check does not panic"), dfe_failed)
            });
            let mut failed = 0;
            for (file, result) in checked {
                match result {
                    Ok(summary) => println!("ok    {file}: {summary}"),
                    Err(e) => {
                        failed += 1;
                        println!("error {file}: {e}");
                    }
                }
            }
            std::io::Write::write_all(&mut std::io::stdout(), &dfe_out)?;
            failed += dfe_failed?;
            Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Scheduler { bind, port } => {
            crate::runtime::block_on(crate::cluster::run_scheduler(&bind, port))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Executor { scheduler, bind, port, grpc_port, work_dir, concurrent_tasks } => {
            let tasks = concurrent_tasks.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
            crate::runtime::block_on(crate::cluster::run_executor(&scheduler, &bind, port, grpc_port, work_dir.as_deref(), tasks))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sql { sql, file, format, output, cluster } => {
            let settings = load_settings(&overrides)?;
            let warehouse = Warehouse::open(&settings.warehouse)?;
            let result = crate::runtime::block_on(async {
                let ctx = match cluster {
                    Some(url) => {
                        let ctx = crate::cluster::remote_context(&url).await?;
                        crate::query::register_all(&ctx, &warehouse).await?;
                        ctx
                    }
                    None => crate::query::read_session(&warehouse).await?,
                };
                let text = match (sql, file) {
                    (Some(s), _) => Some(s),
                    (None, Some(f)) => Some(std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?),
                    (None, None) => None,
                };
                match text {
                    Some(text) => {
                        for stmt in split_statements(&text) {
                            let batches = crate::query::run_read_only(&ctx, &stmt).await?;
                            output::write_batches(&batches, format, output.as_deref())?;
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    None => output::repl(&ctx, format).await.map(|_| ExitCode::SUCCESS),
                }
            });
            // the session's spill folder went with it; leave no empty _tmp behind
            crate::query::engine::tidy_spill(&warehouse.root);
            result
        }
        Command::Runs { json } => {
            let settings = load_settings(&overrides)?;
            let warehouse = Warehouse::open(&settings.warehouse)?;
            let runs = crate::warehouse::runs::list(&warehouse.root);
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else if runs.is_empty() {
                println!("no runs yet in {}", warehouse.location());
            } else {
                println!("{:<28} {:<18} {:<12} {:<30} {:>6} {:>10} {:>10} {:>11} {:>8}", "run", "pipelines", "trigger", "outcome", "files", "read", "clean", "quarantined", "seconds");
                for r in runs {
                    let (read, clean, q) = r.totals();
                    let pipelines = if r.pipelines.len() > 2 { format!("{} pipelines", r.pipelines.len()) } else { r.pipelines.join(",") };
                    println!("{:<28} {:<18} {:<12} {:<30} {:>6} {:>10} {:>10} {:>11} {:>8.1}", r.run_id, pipelines, r.trigger, r.outcome, r.files.len(), read, clean, q, r.seconds);
                    for e in r.expectations.iter().filter(|e| !e.met) {
                        println!("    expectation not met ({}): {} expected {}; got {}", e.on_break, e.pipeline, e.expected, e.actual);
                    }
                    for f in &r.files {
                        if let Some(d) = &f.dfe {
                            println!("    {}", d.line(&f.file));
                        }
                    }
                    for d in &r.dfe_returns {
                        println!("    {}", d.line(d.folder.as_deref().unwrap_or("?")));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { out, scale, seed, councils, years, end_year, defect_rate, ssda903, sen2, social_care } => {
            let opts = crate::synth::GenerateOptions { out, scale, seed, councils, years, end_year, defect_rate, ssda903, sen2, social_care };
            let t0 = std::time::Instant::now();
            let m = crate::synth::generate(&opts)?;
            print!("{}", m.report(&opts.out, t0.elapsed().as_secs_f64()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { dir, scale, seed, format } => demo::demo(&Overrides { format, ..overrides }, &dir, scale, seed),
        Command::Models { build, full, json, cluster, only, format } => models::command(&Overrides { format, ..overrides }, build, full, json, cluster, only),
        Command::Tables => {
            let settings = load_settings(&overrides)?;
            let project = Project::load(settings.project.as_deref())?;
            for t in &project.tables {
                let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                println!("{:<45} {}", format!("clean.{}", t.qualified_name()), cols.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Split a script on `;` outside quotes.
fn split_statements(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for ch in text.chars() {
        match (quote, ch) {
            (None, '\'' | '"') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    if out.is_empty() {
        bail_empty();
    }
    out
}

fn bail_empty() {}

#[allow(dead_code)]
fn never() -> Result<()> {
    bail!("unreachable")
}
