//! Printing results: run summaries, query results as table / csv / json / parquet, the prompt.

use std::path::Path;

use anyhow::{Context, Result};
use arrow::record_batch::RecordBatch;
use clap::ValueEnum;
use datafusion::prelude::SessionContext;

use crate::warehouse::runs::RunRecord;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

pub fn print_run(r: &RunRecord) {
    println!("run {} — {} in {:.1}s", r.run_id, r.outcome, r.seconds);
    println!("{:<55} {:<12} {:>9} {:>9} {:>11}", "file", "status", "read", "clean", "quarantined");
    for f in &r.files {
        println!("{:<55} {:<12} {:>9} {:>9} {:>11}", f.file, f.status, f.rows_read, f.rows_clean, f.rows_quarantined);
        if let Some(e) = &f.error {
            println!("    {e}");
        }
    }
    let (read, clean, q) = r.totals();
    println!("{:<55} {:<12} {:>9} {:>9} {:>11}", "total", "", read, clean, q);
    // the DfE's rules on each return (flags in clean.dfe.<return>_flags)
    for f in &r.files {
        if let Some(d) = &f.dfe {
            println!("{}", d.line(&f.file));
        }
    }
    for d in &r.dfe_returns {
        println!("{}", d.line(d.folder.as_deref().unwrap_or("?")));
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!("warehouse: {}  (query it: lantern sql -e \"select * from clean.mosaic.ssda903_episodes limit 5\")", r.warehouse);
}

pub fn write_batches(batches: &[RecordBatch], format: Format, output: Option<&Path>) -> Result<()> {
    let mut sink: Box<dyn std::io::Write> = match output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    match format {
        Format::Table => writeln!(sink, "{}", arrow::util::pretty::pretty_format_batches(batches)?)?,
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(sink);
            if batches.is_empty() {
                return Ok(());
            }
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            println!();
        }
        Format::Parquet => {
            let Some(p) = output else { anyhow::bail!("--format parquet needs --output FILE") };
            let schema = batches.first().map(|b| b.schema()).context("the query returned no batches")?;
            let mut w = crate::warehouse::PartWriter::create(p, schema)?;
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

pub async fn repl(ctx: &SessionContext, format: Format) -> Result<()> {
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = std::env::var_os("HOME").map(|h| Path::new(&h).join(".lantern_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!("Lantern SQL. Tables: SHOW TABLES; end statements with ; and leave with Ctrl-D.");
    let mut buf = String::new();
    while let Ok(line) = rl.readline(if buf.is_empty() { "lantern> " } else { "      -> " }) {
        buf.push_str(&line);
        buf.push('\n');
        if !line.trim_end().ends_with(';') {
            continue;
        }
        let _ = rl.add_history_entry(buf.trim());
        match crate::query::run_read_only(ctx, buf.trim().trim_end_matches(';')).await {
            Ok(b) => write_batches(&b, format, None)?,
            Err(e) => eprintln!("error: {e}"),
        }
        buf.clear();
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}
