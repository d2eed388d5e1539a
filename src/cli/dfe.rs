//! `lantern validate --dfe`: a return checked by the DfE's rules before submission. Writes
//! nothing to any warehouse; prints errors and queries per rule (never a child's id); with
//! `--report` writes every flag, with the child's id, where the user asked.
//!
//! A CIN census is one XML file; an SSDA903 return is a set of CSV files, one per table (the files
//! of one folder form one return), each recognised by its header as the DfE's reader does, or its
//! XML (`EXPSSDA903`) with, as CSV files in the same folder, the tables the XML has no place for.
//! `--previous DIR` gives an SSDA903 return last year's (a folder, read the same way): the rules
//! comparing with last year read it as the `<Table>_last` tables. `--la CODE` gives the council's
//! LA code (`localAuthority`, as the ONS writes it, or the DfE's three-digit number) to the 903
//! rules comparing a placement's LA with the council's own.

use std::collections::BTreeMap;
use std::io::Write;
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
    /// An SSDA903 return: the folder (its name in the summary), its XML (`EXPSSDA903`) if it has
    /// one, and its CSV files (the whole return, or the tables the XML has no place for).
    Ssda903(PathBuf, Option<PathBuf>, Vec<PathBuf>),
}

/// Whether an XML file is an SSDA903 return (its root element `EXPSSDA903`), from its start.
fn is_903_xml(path: &Path) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    // UTF-16 text shows its ASCII letters between zero bytes
    let text: String = String::from_utf8_lossy(&head[..n]).chars().filter(|c| *c != '\0').collect();
    text.contains("<EXPSSDA903")
}

fn inputs(files: &[PathBuf]) -> Vec<Input> {
    let mut out = vec![];
    let mut sets: BTreeMap<PathBuf, (Vec<PathBuf>, Vec<PathBuf>)> = BTreeMap::new(); // folder → (XMLs, CSVs)
    for f in files {
        let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
        if f.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            sets.entry(dir).or_default().1.push(f.clone());
        } else if is_903_xml(f) {
            sets.entry(dir).or_default().0.push(f.clone());
        } else {
            out.push(Input::Cin(f.clone()));
        }
    }
    for (dir, (xmls, csvs)) in sets {
        let mut xmls = xmls.into_iter();
        out.push(Input::Ssda903(dir.clone(), xmls.next(), csvs));
        // a second XML return in a folder: a return of its own
        out.extend(xmls.map(|x| Input::Ssda903(x.clone(), Some(x), vec![])));
    }
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

/// Last year's SSDA903 return from the folder `dir`, as the `<Table>_last` tables of `catalog`
/// (with the file each came from).
fn previous_903(dir: &Path, catalog: &Catalog) -> Result<dfe::Return> {
    let files = expand_folders(&[dir.to_path_buf()])?;
    let Some(Input::Ssda903(folder, xml, csvs)) = inputs(&files).into_iter().find(|i| matches!(i, Input::Ssda903(..))) else {
        bail!("--previous {}: no SSDA903 return there (a folder of the CSV set, or its XML)", dir.display());
    };
    let prev = dfe::read_set(xml.as_deref(), &csvs, &folder.display().to_string(), catalog).with_context(|| format!("--previous {}", dir.display()))?;
    Ok(dfe::as_last_year(prev, catalog))
}

/// Lantern's list of LA codes (the DfE's three-digit number, the ONS code, …), shipped.
const LOCAL_AUTHORITIES: &str = include_str!("../../schemas/reference/data/local_authorities.csv");

/// The council's LA code as the DfE's 903 tool takes it (`localAuthority`: the ONS code of the
/// council, `E06000059`), from the ONS code or the DfE's three-digit LA number (`838`), which
/// Lantern's shipped list of LAs turns into the council's current ONS code.
pub fn ons_la_code(la: &str) -> Result<String> {
    let la = la.trim().to_ascii_uppercase();
    let ons = |s: &str| s.len() == 9 && s.starts_with(['E', 'W', 'S', 'N']) && s[1..].bytes().all(|b| b.is_ascii_digit());
    if ons(&la) {
        return Ok(la);
    }
    if la.len() == 3 && la.bytes().all(|b| b.is_ascii_digit()) {
        let mut r = csv::Reader::from_reader(LOCAL_AUTHORITIES.as_bytes());
        let h = r.headers()?.clone();
        let at = |n: &str| h.iter().position(|x| x == n).with_context(|| format!("local_authorities.csv: no column {n}"));
        let (code, ons_at, to) = (at("la_code")?, at("ons_code")?, at("valid_to")?);
        // the current row (no end date), else the latest ended one
        let mut best: Option<(String, String)> = None;
        for rec in r.records() {
            let rec = rec?;
            if rec[code] != *la || !ons(&rec[ons_at]) {
                continue;
            }
            let until = if rec[to].is_empty() { "9999".to_string() } else { rec[to].to_string() };
            if best.as_ref().is_none_or(|(u, _)| until > *u) {
                best = Some((until, rec[ons_at].to_string()));
            }
        }
        return best.map(|b| b.1).with_context(|| format!("{la}: no LA has that DfE number (give its ONS code, e.g. E06000059)"));
    }
    bail!("{la}: expected the council's ONS code (E06000059) or the DfE's three-digit LA number (838)")
}

/// The council's LA code for the DfE rules, as an ONS code: `--la` (an error when it is no LA's),
/// else the configured `la_code` (left out, with a note, when it is no LA's).
pub fn council_la(given: Option<&str>, configured: Option<&str>) -> Result<Option<String>> {
    if let Some(la) = given {
        return ons_la_code(la).map(Some).context("--la");
    }
    Ok(configured.and_then(|la| match ons_la_code(la) {
        Ok(ons) => Some(ons),
        Err(e) => {
            println!("dfe   la_code {la} (lantern.toml): {e:#}; the rules needing the council's LA code are not run");
            None
        }
    }))
}

/// Checks each return; gives how many raised an error-type flag or could not be checked.
/// `previous`: last year's SSDA903 return (a folder), for the rules that compare with it; `la`:
/// the council's ONS code ([`council_la`]), for the 903 rules comparing with it. What it finds is
/// written to `out`.
pub fn validate(files: &[PathBuf], year: Option<&str>, report: Option<&Path>, previous: Option<&Path>, la: Option<&str>, out: &mut dyn Write) -> Result<usize> {
    let (mut failed, mut all): (usize, BTreeMap<String, Vec<dfe::Flag>>) = (0, BTreeMap::new());
    let mut catalogs: BTreeMap<&str, Catalog> = BTreeMap::new();
    let mut last_year: Option<dfe::Return> = None;
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
            Input::Ssda903(dir, xml, files) => dfe::read_set(xml.as_deref(), files, &dir.display().to_string(), catalog),
        };
        let mut ret = match read {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                writeln!(out, "dfe   {e}")?;
                continue;
            }
        };
        let name = ret.file.clone();
        if ret.year.is_none() && forced.is_none() {
            // a return whose files do not say their year, and no --year: the year its dates end in
            ret.year = crate::runtime::block_on(dfe::return_year(catalog, &ret))?;
        }
        let (cy, note) = dfe::ruleset_year(catalog, forced.as_deref(), ret.year.as_deref());
        if let Some(note) = note {
            writeln!(out, "dfe   {name}: {note} (use --year to choose)")?;
        }
        // the rules' collection period: the year the collection ends
        let end: i32 = cy[..4].parse::<i32>().expect("a collection year") + 1;
        ret.meta.insert("collectionYear".into(), Value::Text(end.to_string()));
        if let Input::Ssda903(_, xml, _) = &input {
            ret.meta.insert("file_format".into(), Value::Text(if xml.is_some() { "xml" } else { "csv" }.into()));
            if let Some(la) = la {
                writeln!(out, "dfe   {name}: the council's LA {la}")?;
                ret.meta.insert("localAuthority".into(), Value::Text(la.to_string()));
            }
            match previous {
                Some(dir) => {
                    // read once, whatever the number of returns given
                    if last_year.is_none() {
                        last_year = Some(previous_903(dir, catalog)?);
                    }
                    let last = last_year.clone().expect("read above");
                    writeln!(out, "dfe   {name}: last year's return from {} ({} tables)", dir.display(), last.tables.len())?;
                    ret.tables.extend(last.tables);
                    ret.table_files.extend(last.table_files);
                }
                None => writeln!(out, "dfe   {name}: no last year's return (--previous DIR): the rules comparing with it find nothing to compare")?,
            }
        }
        let rules = catalog.ruleset(&cy).expect("checked above");
        let flags = crate::runtime::block_on(dfe::check(catalog, &ret, &rules))?;
        let errors = flags.iter().filter(|f| f.kind == RuleType::Error).count();
        writeln!(out, "dfe   {name}: {what} {cy}, {} rules: {errors} errors, {} queries", rules.len(), flags.len() - errors)?;
        for (code, kind, n, message) in dfe::report::summary(&flags) {
            writeln!(out, "      {code:<9} {:<5} {n:>6}  {message}", kind.as_str())?;
        }
        let skipped: Vec<(String, String)> = rules.iter().filter_map(|r| dfe::not_run(catalog, &ret, r).map(|w| (r.code.clone(), w))).collect();
        if !skipped.is_empty() {
            writeln!(out, "      {} rules not run (they never flag without what they need):", skipped.len())?;
            for (code, why) in skipped {
                writeln!(out, "      {code:<9} {why}")?;
            }
        }
        if errors > 0 {
            failed += 1;
        }
        all.entry(catalog.name.clone()).or_default().extend(flags);
    }
    if let Some(path) = report {
        let n: usize = all.values().map(Vec::len).sum();
        dfe::report::write_returns(path, &all)?;
        writeln!(out, "dfe   {n} flags written to {}", path.display())?;
    }
    Ok(failed)
}
