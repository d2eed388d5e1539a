//! One run: landing → read → validate → protect → write (staged) → commit → run record.

mod dfe_903;
pub mod increment;
pub mod partition;
pub use partition::collection_year;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use regex::Regex;

use crate::privacy::Protector;
use crate::project::Project;
use crate::schema::TableSchema;
use crate::source::{self, RawRow, Segment};
use crate::validate::{self, FileContext, RunState, TableValidator};
use crate::warehouse::runs::{new_run_id, FileRecord, RunRecord, TableRecord, UNFINISHED};
use crate::warehouse::{io_err, sha256_file, BackgroundWriter, PartWriter, Warehouse};

const CHUNK_ROWS: usize = 16 * 1024;

pub struct RunOptions {
    pub pipelines: Vec<String>,
    pub landing: PathBuf,
    pub as_of: NaiveDate,
    /// The council when neither the file nor its landing folder says.
    pub la_code: Option<String>,
    pub progress: bool,
    /// What one file may ask of the readers.
    pub limits: crate::config::Limits,
    /// Set (by SIGTERM or SIGINT) to abandon the run at the next file, before its commit.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Threads that read and check files ahead of the one being written (0: one per core). The
    /// run's output is the same with any number.
    pub threads: usize,
}

impl RunOptions {
    /// The reading threads to start: `threads`, or one per core.
    pub fn reading_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no pipeline named `{0}`; `lantern run` with no names runs them all ({1})")]
    UnknownPipeline(String, String),
    #[error("the landing folder {0} does not exist")]
    NoLanding(String),
    #[error(transparent)]
    Warehouse(#[from] crate::warehouse::WarehouseError),
    #[error("stopped by a signal while reading files; nothing was committed")]
    Stopped,
}

/// Files waiting in the landing folder, in a stable order, and the entries that are refused
/// (with why): only regular files inside the landing folder are read, never what a link outside
/// it, a named pipe, a device or a socket would give.
pub fn landing_files(landing: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let root = landing.canonicalize().unwrap_or_else(|_| landing.to_path_buf());
    let (mut files, mut refused) = (vec![], vec![]);
    let mut stack = vec![landing.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                refused.push((dir, format!("the folder cannot be read: {e}")));
                continue;
            }
        };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path.strip_prefix(landing).unwrap_or(&path);
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.starts_with("~$") {
                continue; // hidden files and Office's lock files
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) => match regular_file(&path, Some(&root)) {
                    Ok(()) => files.push(path),
                    Err(why) => refused.push((rel.to_path_buf(), why)),
                },
                Err(err) => refused.push((rel.to_path_buf(), format!("cannot be read: {err}"))),
            }
        }
    }
    files.sort();
    refused.sort();
    (files, refused)
}

/// `Ok` when `path` is a regular file, or a link to one (inside `root`, when given); otherwise
/// why it is not read. Never opens the file, so a named pipe cannot block.
pub fn regular_file(path: &Path, root: Option<&Path>) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    let meta = if meta.file_type().is_symlink() {
        let target = path.canonicalize().map_err(|_| "a link that leads nowhere (its target is missing, or it loops); not read".to_string())?;
        if root.is_some_and(|r| !target.starts_with(r)) {
            return Err("a link to a file outside the landing folder; links are not followed out of it".into());
        }
        std::fs::metadata(&target).map_err(|e| format!("cannot be read: {e}"))?
    } else {
        meta
    };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    use std::os::unix::fs::FileTypeExt;
    let what = if t.is_dir() {
        "a link to a folder; folders are read only where they are, not through links"
    } else if t.is_fifo() {
        "a named pipe, not a file; not read"
    } else if t.is_block_device() || t.is_char_device() {
        "a device, not a file; not read"
    } else if t.is_socket() {
        "a socket, not a file; not read"
    } else {
        "not a regular file; not read"
    };
    Err(what.into())
}

/// A DfE local authority code: three digits.
fn is_la_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The council a file belongs to: the file says (an XML header), else its landing folder
/// (`landing/838/…` or `landing/la=838/…`), else the configured default. What the file or the
/// settings say must be a DfE LA code: it becomes a folder name.
fn la_for(rel: &Path, context: &BTreeMap<String, String>, default: Option<&String>) -> Result<Option<String>, String> {
    if let Some(la) = context.get("la").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        if !is_la_code(&la) {
            return Err("the file's own LA code (<LEA> or its header's la) is not a three-digit DfE LA code; correct it and send the file again".into());
        }
        return Ok(Some(la));
    }
    let re = Regex::new(r"^(?:la=)?(\d{3})$").unwrap();
    for c in rel.parent().into_iter().flat_map(|p| p.components()) {
        if let Some(m) = re.captures(&c.as_os_str().to_string_lossy()) {
            return Ok(Some(m[1].to_string()));
        }
    }
    match default {
        Some(la) if !is_la_code(la) => Err(format!("the configured la_code {la:?} is not a three-digit DfE LA code")),
        d => Ok(d.cloned()),
    }
}

/// The council folder a landed file is in (`838/mosaic/episodes.csv` → `838`): a first folder
/// named by a three-digit DfE LA code.
fn council_folder(rel: &Path) -> Option<String> {
    let mut parts = rel.components();
    let first = parts.next()?.as_os_str().to_str()?;
    (parts.next().is_some() && is_la_code(first)).then(|| first.to_string())
}

/// Lower ranks first, so that tables other tables refer to (903 header) are read before them.
/// Reading order: a file whose table refers to or inherits from other tables is read after
/// theirs (its depth in that chain), so the values it is checked against or copies are there.
fn rank(project: &Project, sources: &[String], path: &Path) -> u8 {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if matches!(ext.as_str(), "xml" | "xlsx" | "xlsm" | "xls" | "ods") {
        return 0;
    }
    let Some(header) = source::peek_header(path) else { return 0 };
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    validate::detect(project, sources, &header, &name).map_or(0, |t| depth(project, t, 0))
}

fn depth(project: &Project, t: &crate::schema::TableSchema, level: u8) -> u8 {
    if level > 16 {
        return level; // a cycle: the project check reports none, so stop rather than loop
    }
    let parents = t.references.iter().map(|r| &r.table).chain(t.inherits.iter().map(|i| &i.table));
    parents
        .filter_map(|p| project.find_table(&t.source, p))
        .filter(|p| !std::ptr::eq(*p, t))
        .map(|p| 1 + depth(project, p, level + 1))
        .max()
        .unwrap_or(0)
}

pub struct Runner<'a> {
    pub project: &'a Project,
    pub warehouse: &'a Warehouse,
    pub protector: &'a Protector,
}

impl Runner<'_> {
    pub fn run(&self, opts: &RunOptions) -> Result<RunRecord, RunError> {
        let started = Instant::now();
        let run_id = new_run_id();
        let names: Vec<String> = self.project.pipelines.iter().map(|p| p.name.clone()).collect();
        let pipelines: Vec<&crate::project::Pipeline> = if opts.pipelines.is_empty() {
            self.project.pipelines.iter().collect()
        } else {
            opts.pipelines
                .iter()
                .map(|n| self.project.pipeline(n).ok_or_else(|| RunError::UnknownPipeline(n.clone(), names.join(", "))))
                .collect::<Result<_, _>>()?
        };
        let sources: Vec<String> = pipelines.iter().flat_map(|p| p.sources.clone()).collect();
        if !opts.landing.is_dir() {
            return Err(RunError::NoLanding(opts.landing.display().to_string()));
        }
        // shipped reference data first, then the landing folder; tables others refer to first
        let shipped = tempfile::tempdir().map_err(io_err(Path::new("a temporary folder")))?;
        let mut files = self.project.write_data(&sources, shipped.path()).map_err(io_err(shipped.path()))?;
        let (landing_list, refused) = landing_files(&opts.landing);
        let mut landed: Vec<(PathBuf, PathBuf)> = landing_list
            .into_iter()
            .map(|p| (p.strip_prefix(&opts.landing).unwrap_or(&p).to_path_buf(), p))
            .collect();
        // a landing folder with a folder per council (`landing/838/…`) is read council by council,
        // so what a council's checks remember can go when its last file is read
        landed.sort_by_cached_key(|(rel, p)| (council_folder(rel), rank(self.project, &sources, p), rel.clone()));
        files.extend(landed);
        let mut record = RunRecord {
            run_id: run_id.clone(),
            started: Utc::now().to_rfc3339(),
            pipelines: pipelines.iter().map(|p| p.name.clone()).collect(),
            as_of: opts.as_of.to_string(),
            landing: opts.landing.display().to_string(),
            warehouse: self.warehouse.location(),
            ..Default::default()
        };
        for (rel, why) in refused {
            tracing::warn!(file = %rel.display(), "{why}");
            record.files.push(FileRecord { file: rel.display().to_string(), status: "unreadable".into(), error: Some(why), ..Default::default() });
        }
        let stage = self.warehouse.staging(&run_id);
        let result = self.ingest_and_commit(opts, &sources, &files, &stage, record, started);
        if result.is_err() && !stage.join("COMMIT").exists() {
            // nothing of a run that failed before its commit stays staged (a journalled commit
            // stays, for the next writer to finish)
            let _ = std::fs::remove_dir_all(&stage);
        }
        result
    }

    fn ingest_and_commit(
        &self,
        opts: &RunOptions,
        sources: &[String],
        files: &[(PathBuf, PathBuf)],
        stage: &Path,
        mut record: RunRecord,
        started: Instant,
    ) -> Result<RunRecord, RunError> {
        let run_id = record.run_id.clone();
        let mut state = RunState::default();
        state.warehouse = Some(self.warehouse.clone());
        let mut touched = BTreeSet::new();
        let bar = progress_bar(opts.progress, files.len() as u64);
        let mut council_las: BTreeSet<String> = BTreeSet::new();
        // the SSDA903 returns landed, checked by the DfE's rules once every file is settled
        let mut returns_903: BTreeMap<dfe_903::ReturnKey, Vec<dfe_903::Landed>> = BTreeMap::new();
        // files are read and checked ahead on other threads (`read_ahead`); here, one after
        // another in the run's order, their rows are settled against what the run has read
        // before them and written, so the output does not depend on the number of threads
        let ahead = ReadAhead::new(files.len());
        std::thread::scope(|scope| -> Result<(), RunError> {
            for _ in 0..opts.reading_threads() {
                scope.spawn(|| ahead.work(|i, tx| read_ahead(self.project, self.protector, sources, opts, &files[i].1, &files[i].0, tx), opts));
            }
            let _stop_readers = ahead.stop_on_drop();
            for (i, (rel, _)) in files.iter().enumerate() {
                if opts.stopping() {
                    return Err(RunError::Stopped);
                }
                bar.set_message(rel.display().to_string());
                let fr = self.ingest_file(i, &files[i].1, rel, ahead.take(i), stage, &run_id, &mut state, &mut touched)?;
                if let Some(folder) = council_folder(rel) {
                    council_las.extend(fr.la.iter().filter(|la| is_la_code(la)).cloned());
                    council_las.insert(folder.clone());
                    // the council's last file: its keys, references, inherited values and cached
                    // pseudonyms are done with
                    if files.get(i + 1).is_none_or(|(next, _)| council_folder(next).as_ref() != Some(&folder)) {
                        for la in std::mem::take(&mut council_las) {
                            state.forget_council(&la);
                        }
                        self.protector.forget();
                    }
                }
                tracing::info!(file = %fr.file, status = %fr.status, read = fr.rows_read, clean = fr.rows_clean, quarantined = fr.rows_quarantined, "file");
                if let Some(key) = dfe_903::return_of(&fr) {
                    returns_903.entry(key).or_default().push(dfe_903::landed(i, &files[i].1, &fr));
                }
                record.files.push(fr);
                bar.inc(1);
            }
            Ok(())
        })?;
        bar.finish_and_clear();
        self.protector.forget();
        if !opts.stopping() {
            let stop = || opts.stopping();
            let checker = dfe_903::Checker { project: self.project, warehouse: self.warehouse, protector: self.protector, stage, run_id: &run_id, stop: &stop };
            let checked = checker.check(&returns_903);
            record.dfe_returns = checked.summaries;
            record.warnings.extend(checked.warnings);
            touched.extend(checked.partitions);
        }
        for (rule, why) in &state.skipped_refs {
            record.warnings.push(format!("rule {rule} was not checked: {why}"));
        }
        // the tests stop (`return`) or pause (`sleep(ms)`) a run here, staged and not committed
        fail::fail_point!("before-commit", |_| {
            eprintln!("failpoint before-commit: stopping after staging, before the commit");
            std::process::exit(3)
        });
        // partitions filled by the rows' own column add up over loads: keep what this load does not replace
        record.increments = increment::carry_over(self.project, self.warehouse, stage, &touched)
            .map_err(|e| RunError::Warehouse(crate::warehouse::WarehouseError::Io { path: "the rows kept from earlier loads".into(), source: std::io::Error::other(e) }))?;
        record.partitions_written = touched.iter().cloned().collect();
        record.outcome = if record.files.iter().any(|f| f.status == "unreadable") { "succeeded with rejected files" } else { "succeeded" }.into();
        record.finished = Utc::now().to_rfc3339();
        record.seconds = started.elapsed().as_secs_f64();
        let runs_dir = stage.join("_runs");
        std::fs::create_dir_all(&runs_dir).map_err(io_err(&runs_dir))?;
        let rec_path = runs_dir.join(format!("{run_id}.json"));
        let committed = RunRecord { outcome: UNFINISHED.into(), ..record.clone() };
        crate::warehouse::runs::write_json(&rec_path, &committed).map_err(io_err(&rec_path))?;
        if opts.stopping() {
            return Err(RunError::Stopped);
        }
        self.warehouse.commit(&run_id, &touched)?;
        Ok(record)
    }

    #[allow(clippy::too_many_arguments)]
    fn ingest_file(
        &self,
        index: usize,
        path: &Path,
        rel: &Path,
        items: Receiver<Item<'_>>,
        stage: &Path,
        run_id: &str,
        state: &mut RunState,
        touched: &mut BTreeSet<String>,
    ) -> Result<FileRecord, RunError> {
        let t0 = Instant::now();
        let (sha, bytes) = match items.recv() {
            Ok(Item::Hashed { sha256, bytes }) => (sha256, bytes),
            Ok(Item::NotOpened(why)) => {
                return Ok(FileRecord { file: rel.display().to_string(), status: "unreadable".into(), error: Some(why), ..Default::default() });
            }
            _ => return Err(RunError::Stopped),
        };
        let mut fr = FileRecord { file: rel.display().to_string(), sha256: sha, bytes, ..Default::default() };
        let mut written: Vec<PathBuf> = vec![];
        let mut my_parts = BTreeSet::new();
        let result = self.settle_file(index, &items, stage, state, &mut fr, &mut written, &mut my_parts);
        let source_dir = match &result {
            Ok(Some(src)) => src.clone(),
            _ => "_unreadable".into(),
        };
        match result {
            Ok(Some(_)) => {
                fr.status = "received".into();
                if is_cin_census(&fr) {
                    match self.dfe_check(index, path, &fr, stage, run_id) {
                        Ok((summary, part)) => {
                            fr.dfe = Some(summary);
                            my_parts.insert(part);
                        }
                        Err(e) => fr.warnings.push(format!("the DfE's rules could not be checked: {e}")),
                    }
                }
                touched.extend(my_parts);
            }
            Ok(None) => {
                fr.status = "unknown".into();
                fr.error = Some("no table in the schemas matches this file's columns; it was archived, not loaded".into());
            }
            Err(e) => {
                for p in &written {
                    let _ = std::fs::remove_file(p);
                }
                fr.status = "unreadable".into();
                fr.error = Some(e);
                fr.tables.clear();
                fr.rows_read = 0;
                fr.rows_clean = 0;
                fr.rows_quarantined = 0;
            }
        }
        let src = if fr.status == "unknown" { "_unknown".to_string() } else { source_dir };
        let archived = Path::new("raw")
            .join(src)
            .join(format!("received={}", Utc::now().format("%Y-%m-%d")))
            .join(run_id)
            .join(rel);
        let dest = stage.join(&archived);
        std::fs::create_dir_all(dest.parent().unwrap()).map_err(io_err(&dest))?;
        std::fs::copy(path, &dest).map_err(io_err(&dest))?;
        fr.archived_as = archived.display().to_string();
        fr.seconds = t0.elapsed().as_secs_f64();
        Ok(fr)
    }

    /// Checks a CIN census by the DfE's rules of its collection year and stages every flag in
    /// `clean/dfe/cin_flags/la_key=<la>/year_key=<year>` (the child pseudonymised): a re-sent return
    /// replaces its flags. Flags are facts about the return: its rows land in `clean` all the same.
    fn dfe_check(&self, index: usize, path: &Path, fr: &FileRecord, stage: &Path, run_id: &str) -> Result<(crate::warehouse::runs::DfeSummary, String), String> {
        use crate::dfe;
        let catalog = dfe::Catalog::shipped("cin").map_err(|e| e.to_string())?;
        let ret = dfe::read(path, &fr.file, &catalog).map_err(|e| e.to_string())?;
        let (cy, note) = dfe::ruleset_year(&catalog, None, ret.year.as_deref());
        let rules = catalog.ruleset(&cy).ok_or_else(|| format!("no rule set for {cy}"))?;
        let flags = crate::runtime::block_on(dfe::check(&catalog, &ret, &rules)).map_err(|e| e.to_string())?;
        let la = fr.la.clone().filter(|la| is_la_code(la)).ok_or("the return's council is not known")?;
        let year = ret.year.clone().filter(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())).ok_or("the return's header has no collection year")?;
        let part = format!("clean/dfe/cin_flags/{}", crate::schema::partition_folders(&la, "year", &year));
        if !crate::warehouse::is_inside(&part) {
            return Err("the return names a partition outside the warehouse".into());
        }
        let batch = dfe::store::batch("cin", &cy, run_id, &la, &year, &flags, |id| self.protector.pseudonym_cached("la_child_id", id)).map_err(|e| e.to_string())?;
        let p = stage.join(&part).join(format!("part-{index:05}.parquet"));
        let mut w = PartWriter::create(&p, dfe::store::schema()).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        let mut summary = dfe::store::summary("cin", &cy, rules.len(), &flags);
        summary.note = note;
        Ok((summary, part))
    }

    /// Settles and stages one file from what the reading stage sends for it. `Ok(Some(source))`
    /// when it landed, `Ok(None)` when no table matched, `Err(message)` for a file-level error.
    #[allow(clippy::too_many_arguments)]
    fn settle_file(
        &self,
        index: usize,
        items: &Receiver<Item<'_>>,
        stage: &Path,
        state: &mut RunState,
        fr: &mut FileRecord,
        written: &mut Vec<PathBuf>,
        parts: &mut BTreeSet<String>,
    ) -> Result<Option<String>, String> {
        let mut landed_source = None;
        let mut current: Option<(Box<SegmentStart>, PartOuts)> = None;
        loop {
            let item = items.recv().map_err(|_| "the file's reading stopped before its end".to_string())?;
            match item {
                Item::Hashed { .. } | Item::NotOpened(_) => return Err("the file's reading sent its start twice".into()),
                Item::Opened(facts) => {
                    fr.format = facts.format;
                    fr.encoding = facts.encoding;
                    fr.warnings.extend(facts.warnings);
                }
                Item::Warning(w) => fr.warnings.push(w),
                Item::Failed(e) => return Err(e),
                Item::End => return Ok(landed_source),
                Item::Segment(seg) => current = Some((seg, BTreeMap::new())),
                Item::Chunk(groups) => {
                    let Some((seg, outs)) = current.as_mut() else { return Err("rows came before their table".into()) };
                    let SegmentStart { si, name, schema, v, where_, .. } = &**seg;
                    for ((la, pval, year), work) in groups {
                        let out = outs.entry((la.clone(), pval.clone())).or_insert_with(|| PartOut {
                            ctx: FileContext { file: fr.file.clone(), la: la.clone(), partition_value: pval.clone(), year },
                            table: TableRecord {
                                segment: name.clone(),
                                table: schema.qualified_name(),
                                partition: crate::schema::partition_folders(&la, &schema.partition.column, &pval),
                                unknown_columns: v.unknown_columns.clone(),
                                ..Default::default()
                            },
                            writers: [None, None],
                            flag_messages: BTreeMap::new(),
                        });
                        let (n, res) = match work {
                            Work::Prepared(p) => (p.len(), v.settle(*p, state, self.protector)),
                            Work::Raw(rows) => (rows.len(), v.process(rows, &out.ctx, state, self.protector)),
                        };
                        let res = res.map_err(|e| format!("{where_}{e}"))?;
                        let tr = &mut out.table;
                        tr.rows_read += n as u64;
                        tr.rows_clean += res.clean.num_rows() as u64;
                        tr.rows_quarantined += res.quarantine.num_rows() as u64;
                        for (k, n) in res.broken {
                            *tr.rules_broken.entry(k).or_default() += n;
                        }
                        for (k, n) in res.flagged {
                            *tr.rules_flagged.entry(k).or_default() += n;
                        }
                        out.flag_messages.extend(res.flag_messages);
                        for (k, rows) in res.examples {
                            let ex = tr.examples.entry(k).or_default();
                            ex.extend(rows.into_iter().take(validate::EXAMPLES.saturating_sub(ex.len())));
                        }
                        for (zi, (batch, schema_ref)) in [(&res.clean, &v.clean_schema), (&res.quarantine, &v.quarantine_schema)].into_iter().enumerate() {
                            if batch.num_rows() == 0 {
                                continue;
                            }
                            let w = &mut out.writers[zi];
                            if w.is_none() {
                                let rel = part_rel(schema, ZONES_WRITTEN[zi], &la, &pval);
                                if !crate::warehouse::is_inside(&rel) {
                                    return Err(format!("{where_}the partition this file names is not a folder name Lantern writes; nothing was loaded"));
                                }
                                let p = stage.join(rel).join(format!("part-{index:05}-{si:03}.parquet"));
                                *w = Some(Sink::create(&p, schema_ref.clone(), written.len() < BACKGROUND_WRITERS).map_err(|e| e.to_string())?);
                                written.push(p);
                            }
                            w.as_mut().unwrap().write(batch.clone()).map_err(|e| e.to_string())?;
                        }
                    }
                }
                Item::SegmentEnd => {
                    let Some((seg, outs)) = current.take() else { return Err("a table ended before it began".into()) };
                    let SegmentStart { name, schema, v, where_, file_la, file_part, .. } = *seg;
                    let las: BTreeSet<&String> = outs.keys().map(|(la, _)| la).collect();
                    fr.la = match las.len() {
                        0 => file_la.clone(),
                        1 => las.first().map(|s| s.to_string()),
                        n => Some(format!("{n} councils")),
                    };
                    if outs.is_empty() {
                        // a header with no rows: recognised, nothing to write
                        fr.tables.push(TableRecord {
                            segment: name.clone(),
                            table: schema.qualified_name(),
                            partition: crate::schema::partition_folders(file_la.as_deref().unwrap_or_default(), &schema.partition.column, &file_part.0),
                            unknown_columns: v.unknown_columns.clone(),
                            ..Default::default()
                        });
                    }
                    if !v.unknown_columns.is_empty() {
                        fr.warnings.push(format!("{where_}columns not in schema {} were not loaded: {}", schema.qualified_name(), v.unknown_columns.join(", ")));
                    }
                    for ((la, pval), out) in outs {
                        for w in out.writers.into_iter().flatten() {
                            w.finish().map_err(|e| e.to_string())?;
                        }
                        for zone in ZONES_WRITTEN {
                            parts.insert(part_rel(schema, zone, &la, &pval));
                        }
                        let tr = out.table;
                        for (rule, n) in &tr.rules_flagged {
                            let rows: Vec<String> = tr.examples.get(rule).into_iter().flatten().map(|r| r.to_string()).collect();
                            let msg = out.flag_messages.get(rule).map(String::as_str).unwrap_or("");
                            fr.warnings.push(format!("{where_}{n} row(s) kept but flagged by {rule}: {msg} (first rows: {})", rows.join(", ")));
                        }
                        fr.rows_read += tr.rows_read;
                        fr.rows_clean += tr.rows_clean;
                        fr.rows_quarantined += tr.rows_quarantined;
                        fr.tables.push(tr);
                    }
                    landed_source = Some(schema.source.clone());
                }
            }
        }
    }
}

/// What the reading stage sends of one file, in this order: `Hashed` (or `NotOpened`), then
/// `Opened`, each table's `Segment`, its `Chunk`s and `SegmentEnd`, and `End` (or `Failed`).
pub(crate) enum Item<'a> {
    Hashed { sha256: String, bytes: u64 },
    /// The file could not be read at all (it is reported, not archived).
    NotOpened(String),
    Opened(source::FileFacts),
    Warning(String),
    Segment(Box<SegmentStart<'a>>),
    /// Rows of the current segment, grouped by the partition they go to.
    Chunk(Vec<(Route, Work)>),
    SegmentEnd,
    /// A file-level error: the file is unreadable and archived as such.
    Failed(String),
    End,
}

/// What one segment of a file writes, by (council, partition value).
type PartOuts = BTreeMap<(String, String), PartOut>;

/// (council, partition value, collection year) a group of rows goes to.
type Route = (String, String, Option<i32>);

/// Rows as the reading stage leaves them: prepared, or raw when preparing needs the run's state.
pub(crate) enum Work {
    Prepared(Box<validate::Prepared>),
    Raw(Vec<RawRow>),
}

/// One table found in a file, as the reading stage recognised it.
pub(crate) struct SegmentStart<'a> {
    si: usize,
    name: String,
    schema: &'a TableSchema,
    v: std::sync::Arc<TableValidator<'a>>,
    file_la: Option<String>,
    file_part: (String, Option<i32>),
    /// "sheet X: " for a workbook's sheets, before their messages.
    where_: String,
}

/// Chunks a file's reading may run ahead of its settling, per file. 16 let two reading threads
/// hold up to 1.8 GB of prepared chunks on a scale-1 council while the settling thread caught up
/// (and the kernel spent seconds zeroing their fresh pages); 8 keeps the peak near 600 MB at the
/// same speed, 4 starves the settling thread.
const CHUNKS_AHEAD: usize = 8;

/// The reading stage's hand-over: one bounded channel per file, files taken in the run's order
/// by the reading threads, each file's items received in order by the settling thread.
struct ReadAhead<'a> {
    senders: Vec<std::sync::Mutex<Option<SyncSender<Item<'a>>>>>,
    receivers: std::sync::Mutex<Vec<Option<Receiver<Item<'a>>>>>,
    next: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicBool,
}

impl<'a> ReadAhead<'a> {
    fn new(n: usize) -> Self {
        let (senders, receivers) = (0..n).map(|_| {
            let (tx, rx) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
            (std::sync::Mutex::new(Some(tx)), Some(rx))
        }).unzip();
        ReadAhead { senders, receivers: std::sync::Mutex::new(receivers), next: Default::default(), stopped: Default::default() }
    }

    /// A reading thread: takes the next file not yet taken and reads it into its channel, until
    /// none is left or the run stops.
    fn work(&self, read: impl Fn(usize, &SyncSender<Item<'a>>), opts: &RunOptions) {
        use std::sync::atomic::Ordering;
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i >= self.senders.len() || self.stopped.load(Ordering::SeqCst) || opts.stopping() {
                return;
            }
            let Some(tx) = self.senders[i].lock().expect("reading stage").take() else { continue };
            read(i, &tx);
        }
    }

    /// The items of file `i` (each file's once).
    fn take(&self, i: usize) -> Receiver<Item<'a>> {
        self.receivers.lock().expect("reading stage")[i].take().expect("each file is settled once")
    }

    /// Stops the reading threads when dropped (the run ended or failed): channels not yet
    /// received from are closed, so a thread waiting to hand over a chunk gives up.
    fn stop_on_drop(&self) -> StopReading<'_, 'a> {
        StopReading(self)
    }
}

struct StopReading<'s, 'a>(&'s ReadAhead<'a>);

impl Drop for StopReading<'_, '_> {
    fn drop(&mut self) {
        self.0.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut r) = self.0.receivers.lock() {
            r.clear();
        }
    }
}

/// The reading stage of one file: hashes it, opens it, recognises each table it holds, and
/// reads, routes and prepares its rows in chunks, sending everything to `tx` in order. Stops
/// quietly when the receiving end is gone.
#[allow(clippy::too_many_arguments)]
fn read_ahead<'a>(project: &'a Project, protector: &Protector, sources: &[String], opts: &RunOptions, path: &Path, rel: &Path, tx: &SyncSender<Item<'a>>) {
    match sha256_file(path) {
        Ok((sha256, bytes)) => {
            if tx.send(Item::Hashed { sha256, bytes }).is_err() {
                return;
            }
        }
        Err(e) => {
            let _ = tx.send(Item::NotOpened(format!("the file cannot be read: {e}")));
            return;
        }
    }
    let last = match read_segments(project, protector, sources, opts, path, rel, tx) {
        Ok(()) => Item::End,
        Err(e) => Item::Failed(e),
    };
    let _ = tx.send(last);
}

/// The part of `read_ahead` after hashing; `Err` for a file-level error.
#[allow(clippy::too_many_arguments)]
fn read_segments<'a>(
    project: &'a Project,
    protector: &Protector,
    sources: &[String],
    opts: &RunOptions,
    path: &Path,
    rel: &Path,
    tx: &SyncSender<Item<'a>>,
) -> Result<(), String> {
    // the receiving end is gone (the run stopped or failed): nothing more to do
    let gone = || String::from("the run stopped reading");
    let (segments, facts) = source::open(path, project, &opts.limits).map_err(|e| e.to_string())?;
    let context = facts.context.clone();
    let format = facts.format.clone();
    tx.send(Item::Opened(facts)).map_err(|_| gone())?;
    let file_name = rel.display().to_string();
    let multi = segments.len() > 1;
    let no_fills = HashMap::new();
    for (si, seg) in segments.into_iter().enumerate() {
        let Segment { name, header, table, mut rows } = seg;
        let schema = match &table {
            Some((s, t)) => project.find_table(s, t),
            None => validate::detect(project, sources, &header, if multi { &name } else { &file_name }),
        };
        let Some(schema) = schema else {
            if multi {
                tx.send(Item::Warning(format!("sheet {name}: no table matches its columns; skipped"))).map_err(|_| gone())?;
            }
            continue;
        };
        if !sources.contains(&schema.source) {
            continue;
        }
        let file_la = match schema.partition.la.clone() {
            Some(la) => Some(la),
            None => la_for(rel, &context, opts.la_code.as_ref())?,
        };
        if file_la.is_none() && schema.partition.la_column.is_none() {
            return Err("cannot tell which council this file belongs to: put it under landing/<LA code>/ or set la_code in lantern.toml (LANTERN_LA_CODE)".to_string());
        }
        let file_part = partition::for_file(schema.partition.kind, &context, &file_name, opts.as_of);
        let where_ = if multi { format!("sheet {name}: ") } else { String::new() };
        let v = TableValidator::new(project, schema, &header, table.is_none() && !is_workbook(&format)).map_err(|e| format!("{where_}{e}"))?;
        // rows go to the partition their own columns name, when the schema says so
        let la_field = schema.partition.la_column.as_deref().and_then(|c| v.field_of(c));
        let part_field = schema.partition.from_column.as_deref().and_then(|c| v.field_of(c));
        let route = |row: &RawRow| -> Route {
            let cell = |f: Option<usize>| f.and_then(|f| row.fields.get(f)).map(str::trim).filter(|s| !s.is_empty());
            let la = cell(la_field)
                .filter(|s| is_la_code(s))
                .map(str::to_string)
                .or_else(|| file_la.clone())
                .unwrap_or_else(|| "unknown".into());
            let (pval, year) = cell(part_field)
                .and_then(|t| partition::from_text(schema.partition.kind, t))
                .unwrap_or_else(|| file_part.clone());
            (la, pval, year)
        };
        let v = std::sync::Arc::new(v);
        let start = SegmentStart { si, name, schema, v: v.clone(), file_la: file_la.clone(), file_part: file_part.clone(), where_: where_.clone() };
        tx.send(Item::Segment(Box::new(start))).map_err(|_| gone())?;
        loop {
            let chunk = rows.next_chunk(CHUNK_ROWS).map_err(|e| format!("{where_}{e}"))?;
            let Some(chunk) = chunk else { break };
            let groups: Vec<(Route, Vec<RawRow>)> = if la_field.is_none() && part_field.is_none() {
                vec![((file_la.clone().unwrap_or_default(), file_part.0.clone(), file_part.1), chunk)]
            } else {
                let mut g: BTreeMap<Route, Vec<RawRow>> = BTreeMap::new();
                for row in chunk {
                    g.entry(route(&row)).or_default().push(row);
                }
                g.into_iter().collect()
            };
            let mut works = Vec::with_capacity(groups.len());
            for ((la, pval, year), rows) in groups {
                let work = if v.needs_state_to_prepare() {
                    Work::Raw(rows)
                } else {
                    let ctx = FileContext { file: file_name.clone(), la: la.clone(), partition_value: pval.clone(), year };
                    Work::Prepared(Box::new(v.prepare(rows, &ctx, &no_fills, protector).map_err(|e| format!("{where_}{e}"))?))
                };
                works.push(((la, pval, year), work));
            }
            tx.send(Item::Chunk(works)).map_err(|_| gone())?;
            if opts.stopping() {
                return Err(gone());
            }
        }
        tx.send(Item::SegmentEnd).map_err(|_| gone())?;
    }
    Ok(())
}

/// What one file writes to one partition of its table.
struct PartOut {
    ctx: FileContext,
    table: TableRecord,
    /// clean, quarantine
    writers: [Option<Sink>; 2],
    flag_messages: BTreeMap<String, String>,
}

const ZONES_WRITTEN: [&str; 2] = ["clean", "quarantine"];

/// The Parquet files of one file's rows encoded on threads of their own (`BackgroundWriter`), up
/// to this many; a file routing its rows to more partitions than that writes the rest in place.
const BACKGROUND_WRITERS: usize = 16;

/// One staged Parquet file: encoded on its own thread, or (past `BACKGROUND_WRITERS`) in place.
enum Sink {
    Background(BackgroundWriter),
    Inline(Box<PartWriter>),
}

impl Sink {
    fn create(path: &Path, schema: arrow::datatypes::SchemaRef, background: bool) -> Result<Self, crate::warehouse::WarehouseError> {
        Ok(if background { Sink::Background(BackgroundWriter::create(path, schema)?) } else { Sink::Inline(Box::new(PartWriter::create(path, schema)?)) })
    }

    fn write(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<(), crate::warehouse::WarehouseError> {
        match self {
            Sink::Background(w) => w.write(batch),
            Sink::Inline(w) => w.write(&batch),
        }
    }

    fn finish(self) -> Result<u64, crate::warehouse::WarehouseError> {
        match self {
            Sink::Background(w) => w.finish(),
            Sink::Inline(w) => w.finish(),
        }
    }
}

fn part_rel(schema: &TableSchema, zone: &str, la: &str, pval: &str) -> String {
    format!("{zone}/{}/{}/{}", schema.source, schema.name, crate::schema::partition_folders(la, &schema.partition.column, pval))
}

/// A file that landed as the CIN census (an XML return read into `mosaic.cin_*`).
fn is_cin_census(fr: &FileRecord) -> bool {
    fr.format.starts_with("xml") && fr.tables.iter().any(|t| t.table.starts_with("mosaic.cin_"))
}

fn is_workbook(format: &str) -> bool {
    matches!(format, "xlsx" | "xlsm" | "xls" | "ods" | "xlsb" | "workbook")
}

fn progress_bar(show: bool, n: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(n);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} files  {elapsed_precise}  {wide_msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    bar
}

/// Check files without writing anything: (file, problems) where problems are file-level errors,
/// and a summary of row-level rules broken.
pub fn validate_files(project: &Project, files: &[PathBuf], la: Option<String>, as_of: NaiveDate, limits: crate::config::Limits) -> Vec<(String, Result<String, String>)> {
    let protector = Protector::new(b"lantern-validate-only-throwaway-key").expect("key");
    let sources: Vec<String> = {
        let mut s: Vec<String> = project.tables.iter().map(|t| t.source.clone()).collect();
        s.dedup();
        s
    };
    let opts = RunOptions { pipelines: vec![], landing: PathBuf::new(), as_of, la_code: la.or(Some("000".into())), progress: false, limits, stop: None, threads: 1 };
    let mut out = vec![];
    let tmp = tempfile::tempdir().expect("temp dir");
    let runner_state = &mut RunState::default();
    let dummy = Warehouse { root: tmp.path().to_path_buf(), remote: None, format: Default::default() };
    let runner = Runner { project, warehouse: &dummy, protector: &protector };
    for (i, f) in files.iter().enumerate() {
        let mut fr = FileRecord { file: f.display().to_string(), ..Default::default() };
        let mut written = vec![];
        let mut parts = BTreeSet::new();
        let rel = PathBuf::from(f.file_name().unwrap_or_default());
        if let Err(why) = regular_file(f, None) {
            out.push((f.display().to_string(), Err(why)));
            continue;
        }
        let r = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
            let (sources, opts, rel, protector) = (&sources, &opts, &rel, &protector);
            scope.spawn(move || read_ahead(project, protector, sources, opts, f, rel, &tx));
            match rx.recv() {
                Ok(Item::Hashed { .. }) => runner.settle_file(i, &rx, tmp.path(), runner_state, &mut fr, &mut written, &mut parts),
                Ok(Item::NotOpened(why)) => Err(why),
                _ => Err("the file's reading stopped before its end".into()),
            }
        });
        let summary = |fr: &FileRecord| {
            let mut rules: HashMap<String, u64> = HashMap::new();
            for t in &fr.tables {
                for (k, n) in &t.rules_broken {
                    *rules.entry(k.clone()).or_default() += n;
                }
            }
            let mut tables: Vec<String> = fr.tables.iter().map(|t| t.table.clone()).collect();
            tables.dedup();
            let partitions = fr.tables.len();
            let mut s = format!(
                "{} ({}, {}): {} rows{}, {} would be quarantined",
                tables.join(", "),
                fr.format,
                fr.encoding,
                fr.rows_read,
                if partitions > tables.len() { format!(" in {partitions} partitions") } else { String::new() },
                fr.rows_quarantined
            );
            let mut rules: Vec<_> = rules.into_iter().collect();
            rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            for (k, n) in rules.iter().take(10) {
                s.push_str(&format!("\n    {n:>6} × {k}"));
            }
            for w in &fr.warnings {
                s.push_str(&format!("\n    warning: {w}"));
            }
            s
        };
        out.push((
            f.display().to_string(),
            match r {
                Ok(Some(_)) => Ok(summary(&fr)),
                Ok(None) => Err("no table in the schemas matches this file's columns (unknown header)".to_string()),
                Err(e) => Err(e),
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two councils' 903 headers, each in its council's folder.
    fn landing(dir: &Path, councils: &[&str]) {
        for (i, la) in councils.iter().enumerate() {
            let d = dir.join(la);
            std::fs::create_dir_all(&d).unwrap();
            let rows: String = (0..5).map(|n| format!("{}{n},1,14/05/2012,WBRI,,,\n", 900 + i)).collect();
            std::fs::write(d.join("header.csv"), format!("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n{rows}")).unwrap();
        }
    }

    fn run(landing_dir: &Path, warehouse: &Path, protector: &Protector) -> RunRecord {
        let project = Project::embedded().unwrap();
        let warehouse = Warehouse::open(warehouse.to_str().unwrap()).unwrap();
        let as_of = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        let opts = RunOptions { pipelines: vec!["mosaic".into()], landing: landing_dir.into(), as_of, la_code: Some("838".into()), progress: false, limits: Default::default(), stop: None, threads: 0 };
        Runner { project: &project, warehouse: &warehouse, protector }.run(&opts).unwrap()
    }

    #[test]
    fn clean_rows_are_pseudonymised_chunk_by_chunk_with_no_run_wide_memory_of_identifiers() {
        let tmp = tempfile::tempdir().unwrap();
        let key = b"0123456789abcdef-test-key";
        landing(&tmp.path().join("folders"), &["838", "839"]);
        let protector = Protector::new(key).unwrap();
        let record = run(&tmp.path().join("folders"), &tmp.path().join("w1"), &protector);
        assert_eq!(record.totals(), (10, 10, 0), "{:?}", record.files);
        // the reading threads pseudonymise each chunk's values on their own: the shared
        // cache (used by the DfE flags of a CIN census) never holds these children's ids
        assert_eq!(protector.cached(), (0, 0));
        // and the pseudonyms are the key's, as `pseudonym` gives them
        let mut ids: Vec<String> = vec![];
        for f in crate::warehouse::walk_files(&tmp.path().join("w1/clean/mosaic/ssda903_header")) {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(std::fs::File::open(&f).unwrap(), 1024).unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let col = batch.column_by_name("CHILD").unwrap();
                ids.extend(arrow::array::AsArray::as_string::<i32>(col).iter().flatten().map(str::to_string));
            }
        }
        ids.sort();
        let mut want: Vec<String> = (0..2).flat_map(|i| (0..5).map(move |n| format!("{}{n}", 900 + i))).map(|id| protector.pseudonym("la_child_id", &id)).collect();
        want.sort();
        assert_eq!(ids, want);
    }
}
