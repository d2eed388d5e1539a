//! `lantern validate --dfe`: a return checked by the DfE's rules before submission. Writes
//! nothing to any warehouse; prints errors and queries per rule (never a child's id); with
//! `--report` writes every flag, with the child's id, where the user asked.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::dfe::{self, Catalog, RuleType};

/// Checks each file as a CIN census return; gives how many files raised an error-type flag or
/// could not be checked.
pub fn validate(files: &[PathBuf], year: Option<&str>, report: Option<&Path>) -> Result<usize> {
    let catalog = Catalog::shipped("cin")?;
    let years = catalog.years();
    let forced = match year {
        Some(y) => {
            let cy = dfe::collection_year(y).with_context(|| format!("--year {y}: expected the year the collection ends, e.g. 2025"))?;
            if catalog.ruleset(&cy).is_none() {
                bail!("--year {y}: the DfE publishes CIN census rules for {} only", years.join(", "));
            }
            Some(cy)
        }
        None => None,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let (mut failed, mut all) = (0, vec![]);
    for path in files {
        let name = path.display().to_string();
        let ret = match dfe::read(path, &name, &catalog) {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                println!("dfe   {e}");
                continue;
            }
        };
        let (cy, note) = dfe::ruleset_year(&catalog, forced.as_deref(), ret.year.as_deref());
        if let Some(note) = note {
            println!("dfe   {name}: {note} (use --year to choose)");
        }
        let rules = catalog.ruleset(&cy).expect("checked above");
        let flags = rt.block_on(dfe::check(&catalog, &ret, &rules))?;
        let errors = flags.iter().filter(|f| f.kind == RuleType::Error).count();
        println!("dfe   {name}: CIN census {cy}, {} rules: {errors} errors, {} queries", rules.len(), flags.len() - errors);
        for (code, kind, n, message) in dfe::report::summary(&flags) {
            println!("      {code:<6} {:<5} {n:>6}  {message}", kind.as_str());
        }
        if errors > 0 {
            failed += 1;
        }
        all.extend(flags);
    }
    if let Some(out) = report {
        dfe::report::write(out, &catalog.name, &all)?;
        println!("dfe   {} flags written to {}", all.len(), out.display());
    }
    Ok(failed)
}
