//! The warehouse: `raw/`, `clean/`, `quarantine/`, `marts/`, `_runs/`, `_reports/`, on local
//! disk or in an object store ([`remote`]).
//! A run writes everything under `_staging/<run id>/` and then commits partition by partition.
//! On disk, a commit journal makes an interrupted commit finish on the next start, and staging
//! without a journal (a run that died before committing) is discarded; in a store, the commit is
//! one manifest write ([`remote`]). Readers never see half a partition. In the Delta format
//! ([`delta`]) each table also has a Delta Lake commit log.

pub mod delta;
#[cfg(feature = "failpoints")]
mod failpoints;
pub mod lock;
pub mod parquet_out;
pub mod remote;
pub mod runs;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::config::TableFormat;
pub use lock::{LockError, WriterLock};
pub use parquet_out::{BackgroundWriter, PartWriter};
pub use remote::{DataFile, Remote};

pub const ZONES: [&str; 4] = ["clean", "quarantine", "marts", "published"];

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the warehouse URL {0} is not supported: use a local path, file://, az://, abfss:// or s3://")]
    Unsupported(String),
    /// An object store's error (its message says what the store answered).
    #[error("{path}: {message}")]
    Store { path: String, message: String },
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WarehouseError + '_ {
    move |source| WarehouseError::Io { path: path.display().to_string(), source }
}

#[derive(Debug, Clone)]
pub struct Warehouse {
    /// The warehouse folder on disk; for a warehouse in an object store, the work folder
    /// (staging, spill, the lock, copies of the run records).
    pub root: PathBuf,
    /// The object store holding the warehouse, when it is not on disk.
    pub remote: Option<Arc<Remote>>,
    /// How this process writes tables ([`delta`]); readers take each table as it is.
    pub format: TableFormat,
}

/// Where a table's (or a partition's) Parquet is: a folder on disk, or files in the store.
#[derive(Debug, Clone)]
pub enum TableData {
    Dir(PathBuf),
    Files(Vec<DataFile>),
}

impl Warehouse {
    pub fn open(url: &str) -> Result<Self, WarehouseError> {
        if remote::is_remote(url) {
            return Self::open_remote(url);
        }
        let path = if let Some(p) = url.strip_prefix("file://") {
            PathBuf::from(p)
        } else if url.contains("://") {
            return Err(WarehouseError::Unsupported(url.to_string()));
        } else {
            PathBuf::from(url)
        };
        std::fs::create_dir_all(&path).map_err(io_err(&path))?;
        let root = path.canonicalize().map_err(io_err(&path))?;
        let w = Warehouse { root, remote: None, format: TableFormat::Parquet };
        // tidy up only when no other process is writing (its staging is not debris), and only
        // when there is something to tidy, so that readers of a read-only warehouse never write
        // best effort: a reader that may not write (a read-only warehouse, another user's) reads
        // what is there; every writer finishes the journal anyway when it takes the lock
        let staged = std::fs::read_dir(w.root.join("_staging")).is_ok_and(|mut d| d.next().is_some());
        if staged {
            match WriterLock::try_acquire(&w.root, "recovery") {
                Ok(Some(_lock)) => {
                    if let Err(e) = w.recover() {
                        tracing::warn!(error = %e, "could not finish or discard what an interrupted run left in _staging");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot tidy the warehouse (no write access); reading it as it is"),
            }
        }
        Ok(w)
    }

    fn open_remote(url: &str) -> Result<Self, WarehouseError> {
        let remote = Remote::open(url)?;
        let dir = remote::work_dir(url);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let root = dir.canonicalize().map_err(io_err(&dir))?;
        let w = Warehouse { root, remote: Some(Arc::new(remote)), format: TableFormat::Parquet };
        if let Some(_lock) = WriterLock::try_acquire(&w.root, "recovery").map_err(lock_io)? {
            w.recover()?;
        }
        w.pull_records()?;
        Ok(w)
    }

    /// The same warehouse, written as `format` by this process.
    pub fn with_format(mut self, format: TableFormat) -> Self {
        self.format = format;
        self
    }

    /// What the warehouse is, for messages: its folder or its URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(r) => r.url.clone(),
            None => self.root.display().to_string(),
        }
    }

    /// For a warehouse in a store: copies the run records the work folder lacks, and the model
    /// state, from the store.
    fn pull_records(&self) -> Result<(), WarehouseError> {
        let Some(r) = &self.remote else { return Ok(()) };
        for rel in r.list("_runs")? {
            let local = self.root.join(&rel);
            if !local.exists() {
                if let Some(bytes) = r.get(&rel)? {
                    write_atomic(&local, &bytes)?;
                }
            }
        }
        let state = "_models/state.json";
        match r.get(state)? {
            Some(bytes) => write_atomic(&self.root.join(state), &bytes)?,
            None => {
                let _ = std::fs::remove_file(self.root.join(state));
            }
        }
        Ok(())
    }

    /// Writes a file in the warehouse outside a commit (a run record rewritten after models, the
    /// model state, a report): on disk, write then rename; in a store, also one PUT.
    pub fn write_file(&self, rel: &str, bytes: &[u8]) -> Result<(), WarehouseError> {
        write_atomic(&self.root.join(rel), bytes)?;
        if let Some(r) = &self.remote {
            r.put(rel, bytes.to_vec())?;
        }
        Ok(())
    }

    /// Saves a run record ([`runs::save`]), in the store too.
    pub fn save_run(&self, record: &runs::RunRecord) -> Result<(), WarehouseError> {
        let path = runs::save(&self.root, record).map_err(io_err(&self.root.join("_runs")))?;
        if let Some(r) = &self.remote {
            r.put(&format!("_runs/{}.json", record.run_id), std::fs::read(&path).map_err(io_err(&path))?)?;
        }
        Ok(())
    }

    /// A file the warehouse keeps outside its tables (`raw/…`, the archive of what was received),
    /// as a file to read: on disk, the file itself; in a store, a copy fetched into the folder
    /// `into`. `None` when the warehouse has no such file.
    pub fn fetch_file(&self, rel: &str, into: &Path) -> Result<Option<PathBuf>, WarehouseError> {
        if !is_inside(rel) {
            return Err(WarehouseError::Io { path: rel.to_string(), source: std::io::Error::other("a path that would leave the warehouse") });
        }
        let Some(r) = &self.remote else {
            let p = self.root.join(rel);
            return Ok(p.is_file().then_some(p));
        };
        let Some(bytes) = r.get(rel)? else { return Ok(None) };
        let name = Path::new(rel).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "file".into());
        std::fs::create_dir_all(into).map_err(io_err(into))?;
        let p = into.join(name);
        std::fs::write(&p, &bytes).map_err(io_err(&p))?;
        Ok(Some(p))
    }

    /// The table's or partition's data at `rel` (`clean/mosaic/episodes`,
    /// `clean/mosaic/episodes/la_key=201`), `None` when it holds no Parquet.
    pub fn data(&self, rel: &str) -> Option<TableData> {
        match &self.remote {
            Some(r) => {
                let files: Vec<DataFile> = r.manifest().files_under(rel).into_iter().filter(|f| f.path.ends_with(".parquet")).collect();
                (!files.is_empty()).then_some(TableData::Files(files))
            }
            None => {
                if let Some(table) = table_of(rel).filter(|t| self.root.join(t).join(delta::LOG_DIR).is_dir()) {
                    return self.delta_files(table, rel);
                }
                let dir = self.root.join(rel);
                has_parquet(&dir).then_some(TableData::Dir(dir))
            }
        }
    }

    /// The files under `rel` of the Delta table `table` on disk, as its log lists them.
    fn delta_files(&self, table: &str, rel: &str) -> Option<TableData> {
        let files = match crate::runtime::block_on(self.delta_place(table).files()) {
            Ok(files) => files.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(table = %table, error = %e, "cannot read the table's Delta log");
                return None;
            }
        };
        let prefix = format!("{}/", rel.trim_end_matches('/'));
        let files: Vec<DataFile> = files
            .into_iter()
            .map(|f| DataFile { path: format!("{table}/{}", f.path), size: f.size, sha256: String::new() })
            .filter(|f| f.path.starts_with(&prefix))
            .collect();
        (!files.is_empty()).then_some(TableData::Files(files))
    }

    /// Where the Delta log of `table` (`clean/mosaic/episodes`) is.
    fn delta_place(&self, table: &str) -> delta::TablePlace {
        match &self.remote {
            Some(r) => delta::TablePlace { root_store: r.store.clone(), url: url::Url::parse(&r.file_url(table)).expect("a store URL") },
            None => delta::TablePlace {
                root_store: Arc::new(object_store::local::LocalFileSystem::new()),
                url: url::Url::from_directory_path(self.root.join(table)).expect("an absolute folder"),
            },
        }
    }

    /// Brings the Delta log of each of `tables` to the files the warehouse holds for it
    /// ([`delta::sync`]); `exclude` holds files (from the root) that are on their way out.
    fn sync_delta(&self, tables: &BTreeSet<String>, exclude: &BTreeSet<String>, run_id: &str) -> Result<(), WarehouseError> {
        for table in tables {
            let files: Vec<delta::TableFile> = match &self.remote {
                Some(r) => r.manifest().files_under(table).into_iter().filter(|f| f.path.ends_with(".parquet")).map(|f| (f.path, f.size)).collect::<Vec<_>>(),
                None => walk_files(&self.root.join(table))
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                    .map(|p| (rel_path(&self.root, &p), p.metadata().map(|m| m.len()).unwrap_or(0)))
                    .collect(),
            }
            .into_iter()
            .filter(|(path, _)| !exclude.contains(path))
            .map(|(path, size)| delta::TableFile { path: path[table.len() + 1..].to_string(), size })
            .collect();
            let place = self.delta_place(table);
            if let Some(version) = crate::runtime::block_on(delta::sync(&place, &files, run_id))? {
                tracing::debug!(table = %table, version, files = files.len(), "Delta commit");
            }
        }
        Ok(())
    }

    /// The tables (`zone/source/table`) of `zones` that hold Parquet: from the store's manifest,
    /// or the folders on disk.
    fn table_names(&self, zones: &[&str]) -> BTreeSet<String> {
        let in_zones = |t: &str| zones.iter().any(|z| t.split('/').next() == Some(z));
        if let Some(r) = &self.remote {
            return r.manifest().partitions.keys().filter_map(|p| table_of(p)).filter(|t| in_zones(t)).map(str::to_string).collect();
        }
        let mut out = BTreeSet::new();
        for zone in zones {
            for s in sorted_dirs(&self.root.join(zone)) {
                for t in sorted_dirs(&s) {
                    if has_parquet(&t) {
                        out.insert(rel_path(&self.root, &t));
                    }
                }
            }
        }
        out
    }

    /// The writer lock (see [`lock`]), waiting up to `wait` for another process; once held,
    /// finishes or discards what a killed writer left behind.
    pub fn lock(&self, what: &str, wait: std::time::Duration) -> Result<WriterLock, LockError> {
        let l = WriterLock::acquire(&self.root, what, wait)?;
        let io = |e: WarehouseError| LockError::Io { path: self.root.display().to_string(), source: std::io::Error::other(e.to_string()) };
        self.recover().map_err(io)?;
        self.upgrade_folder_keys().map_err(io)?;
        // a commit that stopped between the store's manifest and the Delta logs, or tables
        // written before the warehouse was Delta: every log is brought to what is committed
        if self.format == TableFormat::Delta {
            self.sync_delta(&self.table_names(&ZONES), &BTreeSet::new(), &format!("{}-delta", runs::new_run_id())).map_err(io)?;
        }
        Ok(l)
    }

    /// A warehouse written before partition folders had names of their own (`la=838/year=2024`,
    /// which collide with the `la` and `year` columns inside the files for readers that infer
    /// Hive partitions) takes today's (`la_key=838/year_key=2024`, see
    /// [`crate::schema::folder_key`]): the first writer to hold the lock moves every such
    /// partition in one commit, which an interruption finishes or leaves undone like any other.
    fn upgrade_folder_keys(&self) -> Result<(), WarehouseError> {
        if let Some(r) = &self.remote {
            return r.upgrade_folder_keys();
        }
        let mut legacy = vec![];
        for zone in ["clean", "quarantine"] {
            for source in sorted_dirs(&self.root.join(zone)) {
                for table in sorted_dirs(&source) {
                    for la in sorted_dirs(&table).into_iter().filter(|d| name_of(d).starts_with("la=")) {
                        match sorted_dirs(&la) {
                            subs if subs.is_empty() => legacy.push(la),
                            subs => legacy.extend(subs),
                        }
                    }
                }
            }
        }
        if legacy.is_empty() {
            return Ok(());
        }
        let run_id = format!("{}-folder-keys", runs::new_run_id());
        let stage = self.staging(&run_id);
        let mut partitions = BTreeSet::new();
        for dir in legacy {
            let rel = dir.strip_prefix(&self.root).unwrap_or(&dir).to_string_lossy().replace('\\', "/");
            let Some(new) = crate::schema::upgrade_partition_path(&rel) else { continue };
            // both names: the one under today's keys was written later
            if !self.root.join(&new).exists() {
                for f in walk_files(&dir) {
                    let to = stage.join(&new).join(f.strip_prefix(&dir).unwrap_or(&f));
                    std::fs::create_dir_all(to.parent().unwrap_or(&stage)).map_err(io_err(&to))?;
                    std::fs::hard_link(&f, &to).or_else(|_| std::fs::copy(&f, &to).map(|_| ())).map_err(io_err(&f))?;
                }
                partitions.insert(new);
            }
            partitions.insert(rel);
        }
        tracing::info!(partitions = partitions.len(), "renaming the warehouse's partition folders to their key names (la_key=, year_key=, …)");
        self.commit(&run_id, &partitions)
    }

    pub fn staging(&self, run_id: &str) -> PathBuf {
        self.root.join("_staging").join(run_id)
    }

    /// Finish commits that a killed process left journalled; discard staging that never reached
    /// its commit.
    pub fn recover(&self) -> Result<(), WarehouseError> {
        // a run record a killed writer was rewriting (the committed copy stays)
        for p in walk_files(&self.root.join("_runs")) {
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.') && n.to_string_lossy().ends_with(".tmp")) {
                let _ = std::fs::remove_file(&p);
            }
        }
        let dir = self.root.join("_staging");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(()) };
        for e in entries.flatten() {
            let stage = e.path();
            let journal = stage.join("COMMIT");
            if journal.exists() {
                let text = std::fs::read_to_string(&journal).map_err(io_err(&journal))?;
                let parts: Vec<String> = text.lines().map(str::to_string).collect();
                tracing::warn!(run = %e.file_name().to_string_lossy(), "finishing a commit that was interrupted");
                self.apply(&stage, &parts)?;
            } else {
                tracing::warn!(run = %e.file_name().to_string_lossy(), "discarding staged output of a run that did not commit");
            }
            std::fs::remove_dir_all(&stage).map_err(io_err(&stage))?;
        }
        Ok(())
    }

    /// Commit staged partitions (relative paths such as `clean/mosaic/t/la_key=201/year_key=2024`): each
    /// replaces the partition of that name, or removes it when nothing was staged for it.
    /// `raw/` is moved in as a whole.
    pub fn commit(&self, run_id: &str, partitions: &BTreeSet<String>) -> Result<(), WarehouseError> {
        let stage = self.staging(run_id);
        if let Some(bad) = partitions.iter().find(|p| !is_inside(p)) {
            return Err(WarehouseError::Io {
                path: bad.clone(),
                source: std::io::Error::other("a partition path that would leave the warehouse; nothing was committed"),
            });
        }
        if let Some(r) = &self.remote {
            let extras: Vec<&str> = ["raw", "_runs"].into_iter().filter(|e| stage.join(e).exists()).collect();
            let tables: BTreeSet<String> = partitions.iter().filter_map(|p| table_of(p)).map(str::to_string).collect();
            // the manifest is the commit point; the files it no longer lists go only after the
            // Delta logs have moved on, so that Delta readers never lose the version they read
            r.commit(&stage, run_id, partitions, &extras)?;
            match self.format {
                TableFormat::Delta => self.sync_delta(&tables, &BTreeSet::new(), run_id)?,
                TableFormat::Parquet => {
                    for t in &tables {
                        if let Err(e) = r.remove_all(&format!("{t}/{}", delta::LOG_DIR)) {
                            tracing::warn!(table = %t, error = %e, "could not remove the Delta log of a table now written as plain Parquet");
                        }
                    }
                }
            }
            r.tidy(partitions);
            // the work folder keeps the run records, as the store does
            merge_tree(&stage.join("_runs"), &self.root.join("_runs"))?;
            std::fs::remove_dir_all(&stage).map_err(io_err(&stage))?;
            return Ok(());
        }
        let mut list: Vec<String> = (self.format == TableFormat::Delta).then(|| DELTA_JOURNAL.to_string()).into_iter().collect();
        list.extend(partitions
            .iter()
            .map(|p| format!("{} {p}", if stage.join(p).exists() { "R" } else { "D" })));
        for extra in ["raw", "_runs"] {
            if stage.join(extra).exists() {
                list.push(format!("+{extra}"));
            }
        }
        let journal = stage.join("COMMIT");
        let tmp = stage.join("COMMIT.tmp");
        std::fs::write(&tmp, list.join("\n")).map_err(io_err(&tmp))?;
        sync_file(&tmp);
        std::fs::rename(&tmp, &journal).map_err(io_err(&journal))?;
        fail::fail_point!("commit-journalled", |_| {
            eprintln!("failpoint commit-journalled: stopping after the commit journal");
            std::process::exit(3)
        });
        self.apply(&stage, &list)?;
        std::fs::remove_dir_all(&stage).map_err(io_err(&stage))?;
        Ok(())
    }

    /// Idempotent: safe to repeat after a crash at any point. Entries are `R path` (replace with
    /// the staged copy), `D path` (remove: re-run produced nothing there) or `+tree` (move in).
    /// A journal that starts with [`DELTA_JOURNAL`] moves each staged file in beside the files it
    /// replaces (named after the run), writes the Delta logs, then removes the replaced files.
    fn apply(&self, stage: &Path, list: &[String]) -> Result<(), WarehouseError> {
        let old_root = stage.join("_replaced");
        let delta = list.first().is_some_and(|l| l == DELTA_JOURNAL);
        let run_id = name_of(stage);
        if !delta {
            // tables written as plain Parquet again: their Delta logs would name files that go
            for t in list.iter().filter_map(|e| e.split_once(' ')).filter_map(|(_, rel)| table_of(rel)).collect::<BTreeSet<_>>() {
                let log = self.root.join(t).join(delta::LOG_DIR);
                if log.exists() {
                    std::fs::remove_dir_all(&log).map_err(io_err(&log))?;
                }
            }
        }
        for entry in list.iter().filter(|e| !e.starts_with('#')) {
            if let Some(tree) = entry.strip_prefix('+') {
                merge_tree(&stage.join(tree), &self.root.join(tree))?;
                continue;
            }
            let (op, rel) = entry.split_once(' ').unwrap_or(("R", entry));
            if delta && table_of(rel).is_some() {
                if op == "R" {
                    move_files_in(&stage.join(rel), &self.root.join(rel), &run_id)?;
                }
                continue;
            }
            let staged = stage.join(rel);
            let target = self.root.join(rel);
            let old = old_root.join(rel);
            if op == "R" && !staged.exists() {
                continue; // already moved in
            }
            if target.exists() && !old.exists() {
                std::fs::create_dir_all(old.parent().unwrap()).map_err(io_err(&old))?;
                std::fs::rename(&target, &old).map_err(io_err(&target))?;
            }
            if op == "R" {
                std::fs::create_dir_all(target.parent().unwrap()).map_err(io_err(&target))?;
                std::fs::rename(&staged, &target).map_err(io_err(&staged))?;
            } else {
                prune_empty_parents(&self.root, &target);
            }
        }
        if delta {
            self.finish_delta(list, &run_id)?;
        }
        Ok(())
    }

    /// The end of a Delta commit on disk: each touched table's log lists the files the run moved
    /// in and no longer those they replace, which are then removed.
    fn finish_delta(&self, list: &[String], run_id: &str) -> Result<(), WarehouseError> {
        let touched: Vec<&str> = list.iter().filter_map(|e| e.split_once(' ')).map(|(_, rel)| rel).filter(|rel| table_of(rel).is_some()).collect();
        let tables: BTreeSet<String> = touched.iter().filter_map(|p| table_of(p)).map(str::to_string).collect();
        let ours = format!("{run_id}-");
        let mut replaced = BTreeSet::new();
        for p in &touched {
            for f in walk_files(&self.root.join(p)) {
                if f.extension().is_some_and(|e| e == "parquet") && !name_of(&f).starts_with(&ours) {
                    replaced.insert(rel_path(&self.root, &f));
                }
            }
        }
        self.sync_delta(&tables, &replaced, run_id)?;
        for rel in &replaced {
            let f = self.root.join(rel);
            std::fs::remove_file(&f).map_err(io_err(&f))?;
            prune_empty_parents(&self.root, &f);
        }
        Ok(())
    }

    /// Every table in a zone: (source, table, its data).
    pub fn tables(&self, zone: &str) -> Vec<(String, String, TableData)> {
        self.table_names(&[zone])
            .into_iter()
            .filter_map(|rel| {
                let data = self.data(&rel)?;
                let mut parts = rel.splitn(3, '/').skip(1).map(str::to_string);
                Some((parts.next()?, parts.next()?, data))
            })
            .collect()
    }
}

/// The first line of a commit journal written in the Delta format.
const DELTA_JOURNAL: &str = "#delta";

/// The table (`zone/source/table`) a path in a table zone belongs to.
pub fn table_of(rel: &str) -> Option<&str> {
    if !ZONES.contains(&rel.split('/').next()?) {
        return None;
    }
    let mut ends = rel.match_indices('/').map(|(i, _)| i);
    ends.next()?;
    ends.next()?;
    Some(ends.next().map_or(rel, |i| &rel[..i]))
}

/// `path`'s path from `root`, with `/` between parts.
fn rel_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Moves the files staged under `from` into `to`, each named after the run (`<run>-part-0.parquet`)
/// beside the files already there; a file already moved is not staged any more.
fn move_files_in(from: &Path, to: &Path, run_id: &str) -> Result<(), WarehouseError> {
    for f in walk_files(from) {
        let inner = f.strip_prefix(from).unwrap_or(&f);
        let dest = to.join(inner).with_file_name(format!("{run_id}-{}", name_of(&f)));
        std::fs::create_dir_all(dest.parent().expect("a folder")).map_err(io_err(&dest))?;
        std::fs::rename(&f, &dest).map_err(io_err(&f))?;
    }
    Ok(())
}

fn lock_io(e: LockError) -> WarehouseError {
    match e {
        LockError::Io { path, source } => WarehouseError::Io { path, source },
        other => WarehouseError::Io { path: String::new(), source: std::io::Error::other(other.to_string()) },
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WarehouseError> {
    std::fs::create_dir_all(path.parent().expect("a folder")).map_err(io_err(path))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name_of(path)));
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn sync_file(p: &Path) {
    if let Ok(f) = std::fs::File::open(p) {
        let _ = f.sync_all();
    }
}

fn merge_tree(from: &Path, to: &Path) -> Result<(), WarehouseError> {
    if !from.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(io_err(to))?;
    for e in std::fs::read_dir(from).map_err(io_err(from))?.flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() && dest.exists() {
            merge_tree(&e.path(), &dest)?;
        } else {
            std::fs::rename(e.path(), &dest).map_err(io_err(&dest))?;
        }
    }
    Ok(())
}

fn prune_empty_parents(root: &Path, from: &Path) {
    let mut p = from.parent();
    while let Some(dir) = p {
        if dir == root || std::fs::remove_dir(dir).is_err() {
            break;
        }
        p = dir.parent();
    }
}

pub fn sorted_dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|r| r.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn name_of(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

pub fn has_parquet(p: &Path) -> bool {
    walk_files(p).iter().any(|f| f.extension().is_some_and(|e| e == "parquet"))
}

/// Whether a relative warehouse path stays inside the warehouse: plain names only, no `..`,
/// no root, no drive, no empty or hidden part.
pub fn is_inside(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel).components().all(|c| match c {
            std::path::Component::Normal(n) => n.to_str().is_some_and(|n| !n.starts_with('.') && !n.contains('\\')),
            _ => false,
        })
}

pub fn walk_files(p: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

/// A file's SHA-256 (hex) and size, read in 1 MiB pieces.
pub(crate) fn sha256_file(p: &Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((hex::encode(h.finalize()), n))
}
