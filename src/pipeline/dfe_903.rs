//! The SSDA903 returns a run lands, checked by the DfE's rules of their collection year once
//! every file of the run is settled: one check per return (the 903 files of one council and
//! year), off the per-file path. A return is checked as the warehouse holds it once the run
//! commits: the tables landed now, and those it lacks as earlier runs landed them. Last year's
//! return comes from this run's landing and the warehouse's raw archive the same way: the files
//! as they were received, because the DfE's rules compare the return as sent (clean is
//! pseudonymised and coarsened). The flags are
//! staged in `clean/dfe/ssda903_flags/la_key=<la>/year_key=<year>`, the child pseudonymised as the
//! 903 tables pseudonymise `CHILD`, so a flag joins to its clean rows. A return that cannot be
//! checked is a warning of the run record: its rows land all the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::dfe::{self, Catalog, Value};
use crate::privacy::Treatment;
use crate::project::Project;
use crate::warehouse::runs::{self, DfeSummary, FileRecord, RunRecord};
use crate::warehouse::{PartWriter, Warehouse};

/// One landed file of an SSDA903 return.
#[derive(Debug, Clone)]
pub(super) struct Landed {
    /// The file's place in the run's order.
    pub index: usize,
    /// Where it is read.
    pub path: PathBuf,
    /// As the run record names it (relative to the landing folder).
    pub file: String,
    pub xml: bool,
    /// Its tables (`mosaic.ssda903_header`).
    pub tables: Vec<String>,
}

/// Which return a file belongs to: council and collection year (the year its rows landed in,
/// as the flags' partition is).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReturnKey {
    pub la: String,
    pub year: i32,
}

/// A file of a return: landed in this run (`landed`: where it is read; `name` as the run record
/// names it), or in the warehouse's raw archive (`name`: its `raw/…` path).
#[derive(Debug, Clone, PartialEq)]
struct ReturnFile {
    /// The run that landed it, in time order (this run's last).
    batch: usize,
    name: String,
    landed: Option<PathBuf>,
    xml: bool,
    tables: Vec<String>,
}

impl From<&Landed> for ReturnFile {
    fn from(l: &Landed) -> Self {
        ReturnFile { batch: usize::MAX, name: l.file.clone(), landed: Some(l.path.clone()), xml: l.xml, tables: l.tables.clone() }
    }
}

/// The folders of `files` (`838/ssda903_2025`; `.` for the landing folder itself), for messages.
fn folders<'a>(files: impl Iterator<Item = &'a ReturnFile>) -> String {
    let set: BTreeSet<String> = files
        .map(|f| Path::new(&f.name).parent().map(|p| p.display().to_string()).filter(|p| !p.is_empty()).unwrap_or_else(|| ".".into()))
        .collect();
    set.into_iter().collect::<Vec<_>>().join(", ")
}

/// Whether a table (`mosaic.ssda903_episodes`) is one of the SSDA903 return's.
fn is_903_table(table: &str) -> bool {
    table.rsplit('.').next().is_some_and(|t| t.starts_with("ssda903_"))
}

/// The year of a partition (`la_key=838/year_key=2025` → 2025).
fn partition_year(partition: &str) -> Option<i32> {
    partition.split('/').find_map(|p| p.strip_prefix(&format!("{}=", crate::schema::folder_key("year")))).and_then(|y| y.parse().ok())
}

/// The return a landed file belongs to, when it landed as SSDA903 tables of one council and
/// year.
pub(super) fn return_of(fr: &FileRecord) -> Option<ReturnKey> {
    if fr.status != "received" {
        return None;
    }
    let la = fr.la.clone().filter(|la| super::is_la_code(la))?;
    let years: BTreeSet<i32> = fr.tables.iter().filter(|t| is_903_table(&t.table)).filter_map(|t| partition_year(&t.partition)).collect();
    if years.len() != 1 || fr.tables.iter().any(|t| !is_903_table(&t.table)) {
        return None;
    }
    Some(ReturnKey { la, year: *years.first()? })
}

/// A landed file of a return, from its record.
pub(super) fn landed(index: usize, path: &Path, fr: &FileRecord) -> Landed {
    Landed {
        index,
        path: path.to_path_buf(),
        file: fr.file.clone(),
        xml: fr.format.starts_with("xml"),
        tables: fr.tables.iter().map(|t| t.table.clone()).collect(),
    }
}

/// What checking the returns gives the run: a summary per return checked, warnings for those
/// that could not be, and the partitions staged.
#[derive(Default)]
pub(super) struct Checked {
    pub summaries: Vec<DfeSummary>,
    pub warnings: Vec<String>,
    pub partitions: BTreeSet<String>,
}

pub(super) struct Checker<'a> {
    pub project: &'a Project,
    pub warehouse: &'a Warehouse,
    pub protector: &'a crate::privacy::Protector,
    pub stage: &'a Path,
    pub run_id: &'a str,
    /// The run's stop (SIGTERM, SIGINT): no further return is checked once it is set.
    pub stop: &'a dyn Fn() -> bool,
}

/// The files of one return read as the DfE's tables (each at `path`, named `name` in flags and
/// messages): the XML (at most one) and the CSVs.
fn read_return(files: &[(PathBuf, bool, String)], name: &str, catalog: &Catalog) -> Result<dfe::Return, String> {
    let xmls: Vec<&(PathBuf, bool, String)> = files.iter().filter(|f| f.1).collect();
    if xmls.len() > 1 {
        let names: Vec<&str> = xmls.iter().map(|x| x.2.as_str()).collect();
        return Err(format!("{} SSDA903 XML returns of one council and year ({}): send one", xmls.len(), names.join(", ")));
    }
    let csvs: Vec<PathBuf> = files.iter().filter(|f| !f.1).map(|f| f.0.clone()).collect();
    let mut ret = dfe::read_set(xmls.first().map(|x| x.0.as_path()), &csvs, name, catalog).map_err(|e| named(&e.to_string(), files))?;
    let names: BTreeMap<String, String> = files.iter().map(|(p, _, name)| (p.display().to_string(), name.clone())).collect();
    for f in ret.table_files.values_mut() {
        if let Some(n) = names.get(f.as_str()) {
            *f = n.clone();
        }
    }
    Ok(ret)
}

/// A reader's message with each file's path (a temporary copy, a landing path) by its name.
fn named(message: &str, files: &[(PathBuf, bool, String)]) -> String {
    files.iter().fold(message.to_string(), |m, (p, _, name)| m.replace(&p.display().to_string(), name))
}

impl Checker<'_> {
    /// Checks each return of `returns` (its files landed in this run, in the run's order) by the
    /// DfE's rules.
    pub fn check(&self, returns: &BTreeMap<ReturnKey, Vec<Landed>>) -> Checked {
        let mut out = Checked::default();
        if returns.is_empty() {
            return out;
        }
        let catalog = match Catalog::shipped("ssda903") {
            Ok(c) => c,
            Err(e) => {
                out.warnings.push(format!("the DfE's SSDA903 rules could not be loaded, so no 903 return was checked: {e}"));
                return out;
            }
        };
        // the earlier runs' records: which files of each return the raw archive holds
        let records = runs::list(&self.warehouse.root);
        for (key, files) in returns {
            if (self.stop)() {
                break; // the run is abandoned before its commit
            }
            let own: Vec<ReturnFile> = files.iter().map(ReturnFile::from).collect();
            let what = format!("SSDA903 return {} (council {}, {})", folders(own.iter()), key.la, key.year);
            let part = format!("clean/dfe/ssda903_flags/{}", crate::schema::partition_folders(&key.la, "year", &key.year.to_string()));
            if !crate::warehouse::is_inside(&part) {
                out.warnings.push(format!("{what}: names a partition outside the warehouse; not checked"));
                continue;
            }
            // the partition is replaced whatever happens: flags of an earlier version of the
            // return do not outlive it
            out.partitions.insert(part.clone());
            let t0 = std::time::Instant::now();
            match self.check_one(&catalog, key, files, returns, &records, &part) {
                Ok(summary) => {
                    let flags = summary.errors + summary.queries;
                    tracing::info!(la = %key.la, year = key.year, rules = summary.rules_checked, flags, seconds = t0.elapsed().as_secs_f64(), "DfE SSDA903 rules");
                    out.summaries.push(summary);
                }
                Err(e) => out.warnings.push(format!("{what}: the DfE's rules could not be checked (its rows are loaded all the same): {e}")),
            }
        }
        out
    }

    /// The return as the warehouse holds it once this run commits: the files landed now, and for
    /// the 903 tables they do not hold, the files the raw archive holds (`compose`), read.
    fn read_composed(&self, catalog: &Catalog, files: &[ReturnFile], tmp: &Path) -> Result<dfe::Return, String> {
        let mut got = vec![];
        for (i, f) in files.iter().enumerate() {
            let path = match &f.landed {
                Some(p) => p.clone(),
                None => self
                    .warehouse
                    .fetch_file(&f.name, &tmp.join(i.to_string()))
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{} is listed in a run record but is not in the warehouse's raw archive", f.name))?,
            };
            got.push((path, f.xml, f.name.clone()));
        }
        read_return(&got, &folders(files.iter()), catalog)
    }

    fn check_one(
        &self,
        catalog: &Catalog,
        key: &ReturnKey,
        landed: &[Landed],
        returns: &BTreeMap<ReturnKey, Vec<Landed>>,
        records: &[RunRecord],
        part: &str,
    ) -> Result<DfeSummary, String> {
        let tmp = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
        let files = compose(archived_files(records, &key.la, key.year), landed.iter().map(ReturnFile::from).collect());
        let mut ret = self.read_composed(catalog, &files, &tmp.path().join("this"))?;
        let end = key.year.to_string();
        let (cy, note) = dfe::ruleset_year(catalog, None, Some(&end));
        let mut notes: Vec<String> = note.into_iter().collect();
        let kept: Vec<&ReturnFile> = files.iter().filter(|f| f.landed.is_none()).collect();
        if !kept.is_empty() {
            let tables: BTreeSet<&str> = kept.iter().flat_map(|f| &f.tables).map(|t| t.rsplit('.').next().unwrap_or(t)).collect();
            notes.push(format!(
                "tables not in this landing read from the warehouse, as it holds them: {} ({})",
                tables.into_iter().collect::<Vec<_>>().join(", "),
                folders(kept.into_iter())
            ));
        }
        // the rules' collection period: the year the collection ends
        let end_of_set: i32 = cy[..4].parse::<i32>().map_err(|_| format!("no collection year in {cy}"))? + 1;
        ret.meta.insert("collectionYear".into(), Value::Text(end_of_set.to_string()));
        ret.meta.insert("file_format".into(), Value::Text(if files.iter().any(|f| f.xml) { "xml" } else { "csv" }.into()));
        ret.year = Some(end.clone());

        // last year's return: this run's landing and the raw archive, as for this year's
        let prev = key.year - 1;
        let prev_landed: Vec<ReturnFile> = returns
            .get(&ReturnKey { la: key.la.clone(), year: prev })
            .map(|l| l.iter().map(ReturnFile::from).collect())
            .unwrap_or_default();
        let prev_files = compose(archived_files(records, &key.la, prev), prev_landed);
        let (from_run, from_archive): (Vec<&ReturnFile>, Vec<&ReturnFile>) = prev_files.iter().partition(|f| f.landed.is_some());
        let from = match (from_run.is_empty(), from_archive.is_empty()) {
            (false, true) => format!("{prev} return landed in this run ({})", folders(from_run.into_iter())),
            (true, false) => format!("{prev} return from the warehouse ({})", folders(from_archive.into_iter())),
            _ => format!("{prev} return landed in this run ({}), with tables from the warehouse ({})", folders(from_run.into_iter()), folders(from_archive.into_iter())),
        };
        let last = if prev_files.is_empty() { Ok(None) } else { self.read_composed(catalog, &prev_files, &tmp.path().join("last")).map(Some) };
        let all = catalog.ruleset(&cy).ok_or_else(|| format!("no rule set for {cy}"))?;
        let has_last = matches!(last, Ok(Some(_)));
        // without last year's return, the rules comparing with it are not run (most would find
        // nothing to compare; none may flag on half the comparison)
        let (rules, skipped): (Vec<&dfe::Rule>, Vec<&dfe::Rule>) = all.into_iter().partition(|r| has_last || !dfe::reads_last_year(r));
        let not_run = format!("the {} rules comparing with last year not run", skipped.len());
        let last_year = match last {
            Ok(Some(l)) => {
                let l = dfe::as_last_year(l, catalog);
                ret.tables.extend(l.tables);
                ret.table_files.extend(l.table_files);
                from
            }
            Ok(None) => format!("no last year's return in the warehouse (council {}, {prev}): {not_run}", key.la),
            Err(e) => format!("last year's return ({from}) could not be read: {e}; {not_run}"),
        };

        // rules needing what a run does not give them yet (the postcode lookup, the Ofsted
        // providers list, the council's ONS code) are not run either: listed, never a false flag
        let (rules, unlisted): (Vec<&dfe::Rule>, Vec<&dfe::Rule>) = rules.into_iter().partition(|r| dfe::not_run(catalog, &ret, r).is_none());
        if !unlisted.is_empty() {
            notes.push(format!(
                "{} rules need a reference list or the council's ONS code, which `lantern run` does not give them yet: not run ({}); check the return with `lantern validate --dfe --la CODE` and the lists",
                unlisted.len(),
                unlisted.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let flags = crate::runtime::block_on(dfe::check(catalog, &ret, &rules)).map_err(|e| e.to_string())?;
        let kind = self.child_pseudonym(&files);
        let batch = dfe::store::batch("ssda903", &cy, self.run_id, &key.la, &end, &flags, |id| self.protector.pseudonym(&kind, id)).map_err(|e| e.to_string())?;
        let first = landed.iter().map(|f| f.index).min().unwrap_or_default();
        let p = self.stage.join(part).join(format!("part-{first:05}.parquet"));
        let mut w = PartWriter::create(&p, dfe::store::schema()).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        let mut summary = dfe::store::summary("ssda903", &cy, rules.len(), &flags);
        summary.note = (!notes.is_empty()).then(|| notes.join("; "));
        summary.folder = Some(folders(files.iter().filter(|f| f.landed.is_some())));
        summary.files = files.iter().map(|f| f.name.clone()).collect();
        summary.last_year = Some(last_year);
        summary.not_run = skipped.iter().chain(&unlisted).map(|r| r.code.clone()).collect();
        Ok(summary)
    }

    /// The pseudonym kind of the child's id in the return's clean tables (`la_child_id`), as the
    /// schema of the tables its files landed in says it.
    fn child_pseudonym(&self, files: &[ReturnFile]) -> String {
        files
            .iter()
            .flat_map(|f| &f.tables)
            .filter_map(|t| t.split_once('.'))
            .filter_map(|(s, t)| self.project.find_table(s, t))
            .flat_map(|t| &t.columns)
            .filter(|c| c.name.eq_ignore_ascii_case("CHILD"))
            .find_map(|c| match c.protect.as_deref().and_then(Treatment::parse) {
                Some(Treatment::Pseudonym(k)) => Some(k),
                _ => None,
            })
            .unwrap_or_else(|| "la_child_id".into())
    }
}

/// The files of council `la`'s SSDA903 return of collection year `year` that earlier runs landed
/// (their `raw/…` copies), oldest first.
fn archived_files(records: &[RunRecord], la: &str, year: i32) -> Vec<ReturnFile> {
    let partition = crate::schema::partition_folders(la, "year", &year.to_string());
    let mut out = vec![];
    for (batch, r) in records.iter().enumerate() {
        for f in r.files.iter().filter(|f| f.status == "received" && !f.archived_as.is_empty()) {
            let mine: Vec<String> = f.tables.iter().filter(|t| is_903_table(&t.table) && t.partition == partition).map(|t| t.table.clone()).collect();
            if mine.is_empty() || f.tables.iter().any(|t| !is_903_table(&t.table)) {
                continue;
            }
            out.push(ReturnFile { batch, name: f.archived_as.clone(), landed: None, xml: f.format.starts_with("xml"), tables: mine });
        }
    }
    out
}

/// The files making a return as the warehouse holds it, from `archived` (earlier runs', oldest
/// first) and `landed` (this run's): for each 903 table, the files of the last run that landed it
/// (a table sent again alone replaces that table only; two files of one table in one run are
/// both kept, as clean keeps them, and the DfE's reader refuses them). An XML gives every table
/// it holds: the latest XML is kept, with the CSVs of the tables it does not hold (social worker
/// episodes, DoLOs).
fn compose(archived: Vec<ReturnFile>, landed: Vec<ReturnFile>) -> Vec<ReturnFile> {
    let all: Vec<ReturnFile> = archived.into_iter().chain(landed).collect();
    let mut last_run: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &all {
        for t in &f.tables {
            let b = last_run.entry(t).or_insert(f.batch);
            *b = (*b).max(f.batch);
        }
    }
    let chosen: Vec<usize> = (0..all.len()).filter(|&i| all[i].tables.iter().any(|t| last_run.get(t.as_str()) == Some(&all[i].batch))).collect();
    let xml = chosen.iter().rev().find(|&&i| all[i].xml).copied();
    let covered: BTreeSet<&String> = xml.iter().flat_map(|&i| &all[i].tables).collect();
    chosen
        .into_iter()
        .filter(|&i| Some(i) == xml || (!all[i].xml && !all[i].tables.iter().any(|t| covered.contains(t))))
        .map(|i| all[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::runs::TableRecord;

    fn file(run: &str, name: &str, tables: &[&str], year: i32, format: &str) -> FileRecord {
        FileRecord {
            file: format!("838/ssda903_{year}/{name}"),
            status: "received".into(),
            format: format.into(),
            la: Some("838".into()),
            archived_as: format!("raw/mosaic/received=2025-01-01/{run}/838/ssda903_{year}/{name}"),
            tables: tables.iter().map(|t| TableRecord { table: format!("mosaic.{t}"), partition: format!("la_key=838/year_key={year}"), ..Default::default() }).collect(),
            ..Default::default()
        }
    }

    fn names(files: &[ReturnFile]) -> Vec<String> {
        files.iter().map(|f| f.name.rsplit('/').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("/")).collect()
    }

    #[test]
    fn a_return_is_each_tables_latest_landing() {
        let r1 = RunRecord { run_id: "r1".into(), files: vec![file("r1", "header.csv", &["ssda903_header"], 2024, "csv"), file("r1", "episodes.csv", &["ssda903_episodes"], 2024, "csv")], ..Default::default() };
        // episodes sent again alone; and this year's return, another council's, a CIN census
        let mut r2 = RunRecord { run_id: "r2".into(), files: vec![file("r2", "episodes.csv", &["ssda903_episodes"], 2024, "csv"), file("r2", "header.csv", &["ssda903_header"], 2025, "csv")], ..Default::default() };
        let mut other = file("r2", "header.csv", &["ssda903_header"], 2024, "csv");
        other.la = Some("839".into());
        other.tables[0].partition = "la_key=839/year_key=2024".into();
        r2.files.push(other);
        r2.files.push(file("r2", "cin.xml", &["cin_children"], 2024, "xml"));
        let records = [r1.clone(), r2.clone()];
        let got = compose(archived_files(&records, "838", 2024), vec![]);
        assert_eq!(got.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), [
            "raw/mosaic/received=2025-01-01/r1/838/ssda903_2024/header.csv",
            "raw/mosaic/received=2025-01-01/r2/838/ssda903_2024/episodes.csv",
        ]);
        assert!(got.iter().all(|f| f.landed.is_none()));
        assert!(archived_files(&records, "838", 2023).is_empty());
        // what this run lands replaces those tables; the archive gives the others
        let now = ReturnFile { batch: usize::MAX, name: "838/x/episodes.csv".into(), landed: Some("/l/838/x/episodes.csv".into()), xml: false, tables: vec!["mosaic.ssda903_episodes".into()] };
        let got = compose(archived_files(&records, "838", 2024), vec![now.clone()]);
        assert_eq!(got.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["raw/mosaic/received=2025-01-01/r1/838/ssda903_2024/header.csv", "838/x/episodes.csv"]);
        assert_eq!(got[1], now);
        assert_eq!(folders(got.iter()), "838/x, raw/mosaic/received=2025-01-01/r1/838/ssda903_2024");
        // an XML return: it gives its tables; a CSV beside it only those it has no place for
        let r3 = RunRecord {
            run_id: "r3".into(),
            files: vec![file("r3", "903.xml", &["ssda903_header", "ssda903_episodes"], 2024, "xml"), file("r3", "sw.csv", &["ssda903_sw_episodes"], 2024, "csv")],
            ..Default::default()
        };
        let got = compose(archived_files(&[r1, r2, r3], "838", 2024), vec![]);
        assert_eq!(names(&got), ["ssda903_2024/903.xml", "ssda903_2024/sw.csv"]);
        assert!(got[0].xml && got[0].name.contains("/r3/"));
        // two files of one table landed by one run are both kept (the DfE's reader refuses them)
        let two = |name: &str| ReturnFile { batch: usize::MAX, name: name.into(), landed: Some(name.into()), xml: false, tables: vec!["mosaic.ssda903_placed_for_adoption".into()] };
        assert_eq!(compose(vec![], vec![two("a.csv"), two("b.csv")]).len(), 2);
    }

    #[test]
    fn a_file_belongs_to_a_return_by_council_and_year() {
        let f = file("r1", "episodes.csv", &["ssda903_episodes"], 2025, "csv");
        assert_eq!(return_of(&f), Some(ReturnKey { la: "838".into(), year: 2025 }));
        assert_eq!(return_of(&file("r1", "cin.xml", &["cin_children"], 2025, "xml")), None);
        assert_eq!(return_of(&FileRecord { status: "unreadable".into(), ..f.clone() }), None);
        assert_eq!(partition_year("la_key=838/year_key=2025"), Some(2025));
    }
}
