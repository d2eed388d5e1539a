//! The SSDA903 returns a run lands, checked by the DfE's rules of their collection year once
//! every file of the run is settled: one check per return (the 903 files of one council, folder
//! and year), off the per-file path. Last year's return comes from this run's landing when it
//! holds it, else from the warehouse's raw archive: the files as they were received, because the
//! DfE's rules compare the return as sent (clean is pseudonymised and coarsened). The flags are
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

/// Which return a file belongs to: council, collection year (the year its rows landed in) and
/// folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReturnKey {
    pub la: String,
    pub year: i32,
    pub folder: String,
}

impl ReturnKey {
    /// The return's folder as messages name it (files straight in the landing folder: `.`).
    pub fn label(&self) -> &str {
        if self.folder.is_empty() {
            "."
        } else {
            &self.folder
        }
    }
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
    let folder = Path::new(&fr.file).parent().map(|p| p.display().to_string()).unwrap_or_default();
    Some(ReturnKey { la, year: *years.first()?, folder })
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
}

/// The files of one return read as the DfE's tables: the XML (at most one) and the CSVs; flags
/// and `_last` tables name each file as `name_of` gives it.
fn read_return(files: &[(PathBuf, bool, String)], folder: &str, catalog: &Catalog) -> Result<dfe::Return, String> {
    let xmls: Vec<&(PathBuf, bool, String)> = files.iter().filter(|f| f.1).collect();
    if xmls.len() > 1 {
        return Err(format!("{} SSDA903 XML files in one folder: send one return per folder", xmls.len()));
    }
    let csvs: Vec<PathBuf> = files.iter().filter(|f| !f.1).map(|f| f.0.clone()).collect();
    let mut ret = dfe::read_set(xmls.first().map(|x| x.0.as_path()), &csvs, folder, catalog).map_err(|e| named(&e.to_string(), files))?;
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
    /// Checks each return of `returns` (its landed files) by the DfE's rules.
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
        // the run records of earlier runs, read once, when a return needs last year's from them
        let mut records: Option<Vec<RunRecord>> = None;
        for (key, files) in returns {
            let what = format!("SSDA903 return {} (council {}, {})", key.label(), key.la, key.year);
            let t0 = std::time::Instant::now();
            match self.check_one(&catalog, key, files, returns, &mut records) {
                Ok((summary, part)) => {
                    let flags = summary.errors + summary.queries;
                    tracing::info!(folder = %key.label(), la = %key.la, year = key.year, rules = summary.rules_checked, flags, seconds = t0.elapsed().as_secs_f64(), "DfE SSDA903 rules");
                    out.partitions.insert(part);
                    out.summaries.push(summary);
                }
                Err(e) => out.warnings.push(format!("{what}: the DfE's rules could not be checked (its rows are loaded all the same): {e}")),
            }
        }
        out
    }

    fn check_one(
        &self,
        catalog: &Catalog,
        key: &ReturnKey,
        files: &[Landed],
        returns: &BTreeMap<ReturnKey, Vec<Landed>>,
        records: &mut Option<Vec<RunRecord>>,
    ) -> Result<(DfeSummary, String), String> {
        let own: Vec<(PathBuf, bool, String)> = files.iter().map(|f| (f.path.clone(), f.xml, f.file.clone())).collect();
        let mut ret = read_return(&own, key.label(), catalog)?;
        let end = key.year.to_string();
        let (cy, note) = dfe::ruleset_year(catalog, None, Some(&end));
        // the rules' collection period: the year the collection ends
        let end_of_set: i32 = cy[..4].parse::<i32>().map_err(|_| format!("no collection year in {cy}"))? + 1;
        ret.meta.insert("collectionYear".into(), Value::Text(end_of_set.to_string()));
        ret.meta.insert("file_format".into(), Value::Text(if files.iter().any(|f| f.xml) { "xml" } else { "csv" }.into()));
        ret.year = Some(end.clone());
        let (last, from) = self.last_year(catalog, key, returns, records);
        let all = catalog.ruleset(&cy).ok_or_else(|| format!("no rule set for {cy}"))?;
        let has_last = matches!(last, Ok(Some(_)));
        // without last year's return, the rules comparing with it are not run (most would find
        // nothing to compare; none may flag on half the comparison)
        let (rules, skipped): (Vec<&dfe::Rule>, Vec<&dfe::Rule>) = all.into_iter().partition(|r| has_last || !dfe::reads_last_year(r));
        let not_run = format!("the {} rules comparing with last year not run", skipped.len());
        let last_year = match last {
            Ok(Some(l)) => {
                ret.tables.extend(l.tables);
                ret.table_files.extend(l.table_files);
                from
            }
            Ok(None) => format!("no last year's return in the warehouse (council {}, {}): {not_run}", key.la, key.year - 1),
            Err(e) => format!("last year's return ({from}) could not be read: {e}; {not_run}"),
        };
        let flags = crate::runtime::block_on(dfe::check(catalog, &ret, &rules)).map_err(|e| e.to_string())?;
        let part = format!("clean/dfe/ssda903_flags/{}", crate::schema::partition_folders(&key.la, "year", &end));
        if !crate::warehouse::is_inside(&part) {
            return Err("the return names a partition outside the warehouse".into());
        }
        let kind = self.child_pseudonym(files);
        let batch = dfe::store::batch("ssda903", &cy, self.run_id, &key.la, &end, &flags, |id| self.protector.pseudonym(&kind, id)).map_err(|e| e.to_string())?;
        let first = files.iter().map(|f| f.index).min().unwrap_or_default();
        let p = self.stage.join(&part).join(format!("part-{first:05}.parquet"));
        let mut w = PartWriter::create(&p, dfe::store::schema()).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        let mut summary = dfe::store::summary("ssda903", &cy, rules.len(), &flags);
        summary.note = note;
        summary.folder = Some(key.label().to_string());
        summary.files = files.iter().map(|f| f.file.clone()).collect();
        summary.last_year = Some(last_year);
        summary.not_run = skipped.iter().map(|r| r.code.clone()).collect();
        Ok((summary, part))
    }

    /// The pseudonym kind of the child's id in the return's clean tables (`la_child_id`), as the
    /// schema of the table each file landed in says it.
    fn child_pseudonym(&self, files: &[Landed]) -> String {
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

    /// Last year's return of the council as the `<Table>_last` tables, and where it came from:
    /// this run's landing, else the warehouse's raw archive. `Ok(None)`: neither has it.
    fn last_year(
        &self,
        catalog: &Catalog,
        key: &ReturnKey,
        returns: &BTreeMap<ReturnKey, Vec<Landed>>,
        records: &mut Option<Vec<RunRecord>>,
    ) -> (Result<Option<dfe::Return>, String>, String) {
        let prev = key.year - 1;
        if let Some((k, files)) = returns.iter().find(|(k, _)| k.la == key.la && k.year == prev) {
            let own: Vec<(PathBuf, bool, String)> = files.iter().map(|f| (f.path.clone(), f.xml, f.file.clone())).collect();
            let from = format!("{prev} return landed in this run ({})", k.label());
            return (read_return(&own, k.label(), catalog).map(|r| Some(dfe::as_last_year(r, catalog))), from);
        }
        let records = records.get_or_insert_with(|| runs::list(&self.warehouse.root));
        let archived = archived_return(records, &key.la, prev);
        if archived.is_empty() {
            return (Ok(None), String::new());
        }
        let folders: BTreeSet<String> = archived.iter().map(|a| Path::new(&a.0).parent().map(|p| p.display().to_string()).unwrap_or_default()).collect();
        let from = format!("{prev} return from the warehouse ({})", folders.into_iter().collect::<Vec<_>>().join(", "));
        let read = || -> Result<Option<dfe::Return>, String> {
            let tmp = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
            let mut got = vec![];
            for (i, (rel, xml)) in archived.iter().enumerate() {
                let path = self
                    .warehouse
                    .fetch_file(rel, &tmp.path().join(i.to_string()))
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{rel} is listed in a run record but not in the warehouse's raw archive"))?;
                got.push((path, *xml, rel.clone()));
            }
            let folder = Path::new(&archived[0].0).parent().map(|p| p.display().to_string()).unwrap_or_default();
            read_return(&got, &folder, catalog).map(|r| Some(dfe::as_last_year(r, catalog)))
        };
        (read(), from)
    }
}

/// The files of council `la`'s SSDA903 return of collection year `year` as the warehouse's raw
/// archive keeps them (`archived_as`, whether XML): for each 903 table, the file the latest run
/// landed it from (a table sent again alone replaces that table only). When an XML is among them,
/// it gives every table it holds; the CSVs kept beside it are the tables it has no place for.
fn archived_return(records: &[RunRecord], la: &str, year: i32) -> Vec<(String, bool)> {
    let partition = crate::schema::partition_folders(la, "year", &year.to_string());
    // table → (file, xml, the file's tables), the latest run last
    let mut latest: BTreeMap<String, (String, bool, Vec<String>)> = BTreeMap::new();
    for r in records {
        for f in r.files.iter().filter(|f| f.status == "received" && !f.archived_as.is_empty()) {
            let mine: Vec<String> = f.tables.iter().filter(|t| is_903_table(&t.table) && t.partition == partition).map(|t| t.table.clone()).collect();
            if mine.is_empty() || f.tables.iter().any(|t| !is_903_table(&t.table)) {
                continue;
            }
            let xml = f.format.starts_with("xml");
            for t in &mine {
                latest.insert(t.clone(), (f.archived_as.clone(), xml, mine.clone()));
            }
        }
    }
    let mut files: Vec<(String, bool, Vec<String>)> = vec![];
    for v in latest.into_values() {
        if !files.iter().any(|f| f.0 == v.0) {
            files.push(v);
        }
    }
    // one XML (the latest run's: run ids sort by time) and the CSVs of tables it lacks
    let xml = files.iter().filter(|f| f.1).max_by(|a, b| run_of(&a.0).cmp(run_of(&b.0))).cloned();
    let covered: BTreeSet<String> = xml.iter().flat_map(|x| x.2.clone()).collect();
    let mut out: Vec<(String, bool)> = xml.iter().map(|x| (x.0.clone(), true)).collect();
    out.extend(files.into_iter().filter(|f| !f.1 && !f.2.iter().any(|t| covered.contains(t))).map(|f| (f.0, false)));
    out.sort();
    out
}

/// The run id in an archived file's path (`raw/<source>/received=<date>/<run id>/…`).
fn run_of(archived: &str) -> &str {
    archived.split('/').nth(3).unwrap_or("")
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

    #[test]
    fn last_years_return_is_each_tables_latest_landing() {
        let r1 = RunRecord { run_id: "r1".into(), files: vec![file("r1", "header.csv", &["ssda903_header"], 2024, "csv"), file("r1", "episodes.csv", &["ssda903_episodes"], 2024, "csv")], ..Default::default() };
        // episodes sent again alone; and this year's return, another council's, a CIN census
        let mut r2 = RunRecord { run_id: "r2".into(), files: vec![file("r2", "episodes.csv", &["ssda903_episodes"], 2024, "csv"), file("r2", "header.csv", &["ssda903_header"], 2025, "csv")], ..Default::default() };
        let mut other = file("r2", "header.csv", &["ssda903_header"], 2024, "csv");
        other.la = Some("839".into());
        other.tables[0].partition = "la_key=839/year_key=2024".into();
        r2.files.push(other);
        r2.files.push(file("r2", "cin.xml", &["cin_children"], 2024, "xml"));
        let got = archived_return(&[r1.clone(), r2.clone()], "838", 2024);
        assert_eq!(
            got,
            vec![
                ("raw/mosaic/received=2025-01-01/r1/838/ssda903_2024/header.csv".to_string(), false),
                ("raw/mosaic/received=2025-01-01/r2/838/ssda903_2024/episodes.csv".to_string(), false),
            ]
        );
        assert!(archived_return(&[r1.clone(), r2.clone()], "838", 2023).is_empty());
        // an XML return: it gives its tables; a CSV beside it only those it has no place for
        let r3 = RunRecord {
            run_id: "r3".into(),
            files: vec![file("r3", "903.xml", &["ssda903_header", "ssda903_episodes"], 2024, "xml"), file("r3", "sw.csv", &["ssda903_sw_episodes"], 2024, "csv")],
            ..Default::default()
        };
        let got = archived_return(&[r1, r2, r3], "838", 2024);
        assert_eq!(got.iter().map(|g| (run_of(&g.0), g.1)).collect::<Vec<_>>(), vec![("r3", true), ("r3", false)]);
    }

    #[test]
    fn a_file_belongs_to_a_return_by_council_year_and_folder() {
        let f = file("r1", "episodes.csv", &["ssda903_episodes"], 2025, "csv");
        assert_eq!(return_of(&f), Some(ReturnKey { la: "838".into(), year: 2025, folder: "838/ssda903_2025".into() }));
        assert_eq!(return_of(&file("r1", "cin.xml", &["cin_children"], 2025, "xml")), None);
        assert_eq!(return_of(&FileRecord { status: "unreadable".into(), ..f.clone() }), None);
        assert_eq!(partition_year("la_key=838/year_key=2025"), Some(2025));
    }
}
