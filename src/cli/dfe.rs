//! `lantern validate --dfe`: a return checked by the DfE's rules before submission. Writes
//! nothing to any warehouse; prints errors and queries per rule (never a child's id); with
//! `--report` writes every flag, with the child's id, where the user asked.
//!
//! A CIN census is one XML file; an SSDA903 return is a set of CSV files, one per table (the files
//! of one folder form one return), each recognised by its header as the DfE's reader does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::dfe::{self, Catalog, RuleType, Value};

/// Folders replaced by the files in them (sorted); files as given.
pub fn expand_folders(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            inner.sort();
            out.extend(inner);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// One return to check: which DfE return it is and its files.
enum Input {
    Cin(PathBuf),
    /// An SSDA903 CSV set: the folder (its name in the summary) and its CSV files.
    Ssda903(PathBuf, Vec<PathBuf>),
}

fn inputs(files: &[PathBuf]) -> Vec<Input> {
    let mut out = vec![];
    let mut sets: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        if f.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            sets.entry(f.parent().map(Path::to_path_buf).unwrap_or_default()).or_default().push(f.clone());
        } else {
            out.push(Input::Cin(f.clone()));
        }
    }
    out.extend(sets.into_iter().map(|(dir, files)| Input::Ssda903(dir, files)));
    out
}

/// The collection year `--year` forces for a catalog (`2025` → `2024/25`), checked to have rules.
fn forced_year(catalog: &Catalog, year: Option<&str>, what: &str) -> Result<Option<String>> {
    let Some(y) = year else { return Ok(None) };
    let cy = dfe::collection_year(y).with_context(|| format!("--year {y}: expected the year the collection ends, e.g. 2025"))?;
    if catalog.ruleset(&cy).is_none() {
        bail!("--year {y}: the DfE publishes {what} rules for {} only", catalog.years().join(", "));
    }
    Ok(Some(cy))
}

/// Checks each return; gives how many raised an error-type flag or could not be checked.
pub fn validate(files: &[PathBuf], year: Option<&str>, report: Option<&Path>) -> Result<usize> {
    let rt = tokio::runtime::Runtime::new()?;
    let (mut failed, mut all): (usize, BTreeMap<String, Vec<dfe::Flag>>) = (0, BTreeMap::new());
    let mut catalogs: BTreeMap<&str, Catalog> = BTreeMap::new();
    for input in inputs(files) {
        let (ret_name, what) = match &input {
            Input::Cin(_) => ("cin", "CIN census"),
            Input::Ssda903(..) => ("ssda903", "SSDA903"),
        };
        if !catalogs.contains_key(ret_name) {
            catalogs.insert(ret_name, Catalog::shipped(ret_name)?);
        }
        let catalog = &catalogs[ret_name];
        let forced = forced_year(catalog, year, what)?;
        let read = match &input {
            Input::Cin(path) => dfe::read(path, &path.display().to_string(), catalog),
            Input::Ssda903(dir, files) => dfe::read_csv_set(files, &dir.display().to_string(), catalog),
        };
        let mut ret = match read {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                println!("dfe   {e}");
                continue;
            }
        };
        let name = ret.file.clone();
        if ret.year.is_none() {
            // a return whose files do not say their year: the year its dates end in
            ret.year = rt.block_on(dfe::return_year(catalog, &ret))?;
        }
        let (cy, note) = dfe::ruleset_year(catalog, forced.as_deref(), ret.year.as_deref());
        if let Some(note) = note {
            println!("dfe   {name}: {note} (use --year to choose)");
        }
        // the rules' collection period: the year the collection ends
        let end: i32 = cy[..4].parse::<i32>().expect("a collection year") + 1;
        ret.meta.insert("collectionYear".into(), Value::Text(end.to_string()));
        if matches!(input, Input::Ssda903(..)) {
            ret.meta.insert("file_format".into(), Value::Text("csv".into()));
        }
        let rules = catalog.ruleset(&cy).expect("checked above");
        let flags = rt.block_on(dfe::check(catalog, &ret, &rules))?;
        let errors = flags.iter().filter(|f| f.kind == RuleType::Error).count();
        println!("dfe   {name}: {what} {cy}, {} rules: {errors} errors, {} queries", rules.len(), flags.len() - errors);
        for (code, kind, n, message) in dfe::report::summary(&flags) {
            println!("      {code:<9} {:<5} {n:>6}  {message}", kind.as_str());
        }
        if errors > 0 {
            failed += 1;
        }
        all.entry(catalog.name.clone()).or_default().extend(flags);
    }
    if let Some(out) = report {
        let n: usize = all.values().map(Vec::len).sum();
        dfe::report::write_returns(out, &all)?;
        println!("dfe   {n} flags written to {}", out.display());
    }
    Ok(failed)
}
