//! A warehouse on object storage: Azure Blob and ADLS Gen2 (`az://container/path`,
//! `abfss://container@account.dfs.core.windows.net/path`) and S3 or S3-compatible servers
//! (`s3://bucket/path`), with credentials from the environment (`AZURE_STORAGE_*`,
//! `AWS_*`, as `object_store` reads them).
//!
//! Object stores cannot rename a folder, so a commit cannot swap a partition in the way it does
//! on disk. Instead the warehouse has one object, `_lantern/manifest.json`, that lists every
//! committed partition and its files, and a commit is:
//!
//! 1. upload the new partitions' files under names no earlier commit used (the run id is in
//!    each file name), and the run's `raw/` archive and run record;
//! 2. write the new manifest — one PUT, which the store makes atomic: before it, readers see
//!    the old state; after it, the new;
//! 3. remove the files the new manifest no longer lists (the replaced partitions', and any left
//!    by a commit that failed before step 2).
//!
//! Lantern's catalogue reads only the files the manifest lists, so a commit that fails at any
//! request leaves the warehouse as it was. Transient errors (timeouts, 5xx, throttling) are
//! retried with backoff by the store client.
//!
//! The machine that runs Lantern keeps a work folder for staging, spill and the writer lock
//! (`LANTERN_WORK_DIR`, else the user's cache folder); it holds nothing that is not also in the
//! store once a run has committed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::path::Path as ObjPath;
use object_store::{BackoffConfig, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use serde::{Deserialize, Serialize};

use crate::runtime::block_on;

use super::WarehouseError;

/// The object that says what the warehouse holds.
pub const MANIFEST: &str = "_lantern/manifest.json";

/// Every committed partition and its files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// One more at every commit.
    pub version: u64,
    pub committed_by: String,
    pub committed_at: String,
    /// Partition (`clean/mosaic/episodes/la_key=201/year_key=2024`, `marts/social_care/x`) → its files.
    pub partitions: BTreeMap<String, Vec<DataFile>>,
}

/// A committed file: its path from the warehouse root, size and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    /// Every file of the partitions under `prefix` (a table folder or a partition), in order.
    pub fn files_under(&self, prefix: &str) -> Vec<DataFile> {
        let p = prefix.trim_end_matches('/');
        self.partitions
            .iter()
            .filter(|(k, _)| k.as_str() == p || k.starts_with(&format!("{p}/")))
            .flat_map(|(_, files)| files.iter().cloned())
            .collect()
    }

    fn referenced(&self) -> BTreeSet<&str> {
        self.partitions.values().flatten().map(|f| f.path.as_str()).collect()
    }
}

/// Whether a commit is under way, and how many store requests it has made: what the
/// `store-commit-request` failure point counts (test builds only, `super::failpoints`).
#[derive(Debug, Default)]
pub struct CommitRequests {
    pub under_way: AtomicBool,
    pub count: AtomicUsize,
}

impl CommitRequests {
    fn start(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.under_way.store(true, Ordering::SeqCst);
    }
    fn end(&self) {
        self.under_way.store(false, Ordering::SeqCst);
    }
}

pub struct Remote {
    /// The warehouse URL as given, without a trailing `/`.
    pub url: String,
    /// `scheme://host`: the key DataFusion finds the store by.
    pub store_url: url::Url,
    pub store: Arc<dyn ObjectStore>,
    prefix: ObjPath,
    /// The store requests of the commit under way (for the failure points of the fault tests).
    commit: Arc<CommitRequests>,
    manifest: RwLock<(Manifest, Option<String>)>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({})", self.url)
    }
}

/// Whether `url` names an object store Lantern can hold a warehouse in.
pub fn is_remote(url: &str) -> bool {
    ["s3://", "s3a://", "az://", "azure://", "abfs://", "abfss://"].iter().any(|s| url.starts_with(s))
}

fn retry() -> RetryConfig {
    let secs = std::env::var("LANTERN_STORE_RETRY_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(60);
    RetryConfig {
        backoff: BackoffConfig { init_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(10), base: 2.0 },
        max_retries: 6,
        retry_timeout: Duration::from_secs(secs),
    }
}

/// The store for a warehouse URL, its credentials and endpoint from the environment.
fn build_store(url: &url::Url) -> Result<Arc<dyn ObjectStore>, String> {
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(AmazonS3Builder::from_env().with_url(url.as_str()).with_retry(retry()).build().map_err(|e| e.to_string())?),
        _ => Arc::new(MicrosoftAzureBuilder::from_env().with_url(url.as_str()).with_retry(retry()).build().map_err(|e| e.to_string())?),
    };
    Ok(store)
}

/// The work folder for a remote warehouse: `LANTERN_WORK_DIR`, else
/// `$XDG_CACHE_HOME/lantern/<url as a folder name>` (or `~/.cache/…`).
pub fn work_dir(url: &str) -> PathBuf {
    if let Ok(d) = std::env::var("LANTERN_WORK_DIR") {
        return PathBuf::from(d);
    }
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|_| std::env::temp_dir());
    let name: String = url.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    cache.join("lantern").join(name)
}

impl Remote {
    /// Connects to the store and reads the manifest (none yet: an empty warehouse).
    pub fn open(url: &str) -> Result<Remote, WarehouseError> {
        let url = url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&url).map_err(|e| unreachable(&url, e.to_string()))?;
        let store = build_store(&parsed).map_err(|e| unreachable(&url, e))?;
        let commit = Arc::new(CommitRequests::default());
        #[cfg(feature = "failpoints")]
        let store = super::failpoints::wrap(store, commit.clone());
        let store_url = url::Url::parse(&parsed[..url::Position::BeforePath]).map_err(|e| unreachable(&url, e.to_string()))?;
        let prefix = ObjPath::from_url_path(parsed.path()).map_err(|e| unreachable(&url, e.to_string()))?;
        let r = Remote { url, store_url, store, prefix, commit, manifest: RwLock::new((Manifest::default(), None)) };
        r.refresh()?;
        Ok(r)
    }

    /// The object path of `rel` (a path from the warehouse root).
    pub fn object(&self, rel: &str) -> ObjPath {
        let rel = rel.trim_matches('/');
        if self.prefix.as_ref().is_empty() {
            ObjPath::from(rel)
        } else {
            ObjPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// The path from the warehouse root of an object (the inverse of [`Remote::object`]).
    fn rel_of<'a>(&self, location: &'a ObjPath) -> &'a str {
        location.as_ref()[self.prefix.as_ref().len()..].trim_start_matches('/')
    }

    /// The URL DataFusion reads `rel` at.
    pub fn file_url(&self, rel: &str) -> String {
        format!("{}/{}", self.store_url.as_str().trim_end_matches('/'), self.object(rel))
    }

    pub fn manifest(&self) -> Manifest {
        self.manifest.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// Reads the manifest again.
    pub fn refresh(&self) -> Result<(), WarehouseError> {
        let path = self.object(MANIFEST);
        let got = block_on(async {
            match self.store.get(&path).await {
                Ok(r) => {
                    let tag = r.meta.e_tag.clone();
                    Ok(Some((r.bytes().await?, tag)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let (m, tag) = match got.map_err(|e| unreachable(&self.url, e.to_string()))? {
            Some((bytes, tag)) => (
                serde_json::from_slice(&bytes).map_err(|e| WarehouseError::Store { path: format!("{}/{MANIFEST}", self.url), message: format!("not a Lantern manifest: {e}") })?,
                tag,
            ),
            None => {
                // no manifest: a new warehouse, if the bucket (container) is there at all
                let prefix = self.prefix.clone();
                block_on(self.store.list_with_delimiter(Some(&prefix))).map_err(|e| {
                    let why = match &e {
                        object_store::Error::NotFound { .. } => "the bucket or container does not exist (Lantern does not create it)".to_string(),
                        _ => e.to_string(),
                    };
                    unreachable(&self.url, why)
                })?;
                (Manifest { format: 1, ..Default::default() }, None)
            }
        };
        *self.manifest.write().unwrap_or_else(|e| e.into_inner()) = (m, tag);
        Ok(())
    }

    /// Reads an object whole (run records, model state, small files); `None` when absent.
    pub fn get(&self, rel: &str) -> Result<Option<bytes::Bytes>, WarehouseError> {
        let path = self.object(rel);
        block_on(async {
            match self.store.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .map_err(|e| self.err(rel, e))
    }

    /// Writes a small object whole (one PUT).
    pub fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), WarehouseError> {
        let path = self.object(rel);
        block_on(self.store.put(&path, PutPayload::from(bytes))).map(|_| ()).map_err(|e| self.err(rel, e))
    }

    /// Paths (from the warehouse root) of the objects under `rel`.
    pub fn list(&self, rel: &str) -> Result<Vec<String>, WarehouseError> {
        let prefix = self.object(rel);
        let metas: Vec<ObjectMeta> = block_on(self.store.list(Some(&prefix)).try_collect()).map_err(|e| self.err(rel, e))?;
        let mut out: Vec<String> = metas.iter().map(|m| self.rel_of(&m.location).to_string()).collect();
        out.sort();
        Ok(out)
    }

    /// Removes every object under `rel`.
    pub fn remove_all(&self, rel: &str) -> Result<(), WarehouseError> {
        let prefix = self.object(rel);
        block_on(async {
            let metas: Vec<ObjectMeta> = self.store.list(Some(&prefix)).try_collect().await?;
            for m in metas {
                self.store.delete(&m.location).await?;
            }
            Ok::<(), object_store::Error>(())
        })
        .map_err(|e| self.err(rel, e))
    }

    fn err(&self, rel: &str, e: object_store::Error) -> WarehouseError {
        WarehouseError::Store { path: format!("{}/{rel}", self.url), message: e.to_string() }
    }

    /// Commits staged partitions (see the module's documentation): `partitions` are replaced by
    /// what `stage` holds for them, or removed when it holds nothing; `extras` (`raw`, `_runs`)
    /// are uploaded as they are.
    pub fn commit(&self, stage: &Path, run_id: &str, partitions: &BTreeSet<String>, extras: &[&str]) -> Result<(), WarehouseError> {
        self.commit.start();
        let result = block_on(self.commit_async(stage, run_id, partitions, extras));
        self.commit.end();
        result
    }

    async fn commit_async(&self, stage: &Path, run_id: &str, partitions: &BTreeSet<String>, extras: &[&str]) -> Result<(), WarehouseError> {
        let (old, tag) = self.manifest.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut next = old.clone();
        let mut uploads: Vec<(PathBuf, String)> = vec![];
        for p in partitions {
            let dir = stage.join(p);
            if !dir.exists() {
                next.partitions.remove(p);
                continue;
            }
            let mut files = vec![];
            for f in super::walk_files(&dir) {
                let inner = f.strip_prefix(&dir).unwrap_or(&f);
                let name = inner.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                let sub = inner.parent().map(|d| d.display().to_string()).filter(|d| !d.is_empty());
                let rel = match sub {
                    Some(d) => format!("{p}/{d}/{run_id}-{name}"),
                    None => format!("{p}/{run_id}-{name}"),
                };
                let (sha256, size) = super::sha256_file(&f).map_err(super::io_err(&f))?;
                files.push(DataFile { path: rel.clone(), size, sha256 });
                uploads.push((f, rel));
            }
            next.partitions.insert(p.clone(), files);
        }
        for extra in extras {
            for f in super::walk_files(&stage.join(extra)) {
                let rel = f.strip_prefix(stage).unwrap_or(&f).display().to_string();
                uploads.push((f, rel));
            }
        }
        let jobs: Vec<_> = uploads.iter().cloned().map(|(local, rel)| async move { self.upload(&local, &rel).await }).collect();
        futures::stream::iter(jobs)
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await?;
        self.publish(&old, tag, next.clone(), run_id).await?;
        tracing::info!(version = next.version, uploaded = uploads.len(), "committed to the object store");
        Ok(())
    }

    /// After a commit: removes the files of `partitions` the manifest no longer lists (a failure
    /// only warns; the next commit tries again).
    pub fn tidy(&self, partitions: &BTreeSet<String>) {
        block_on(self.tidy_async(partitions))
    }

    async fn tidy_async(&self, partitions: &BTreeSet<String>) {
        let next = self.manifest();
        let keep = next.referenced();
        let mut gone = 0usize;
        for p in partitions {
            let listed: Vec<ObjectMeta> = match self.store.list(Some(&self.object(p))).try_collect().await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(partition = %p, error = %e, "could not list a committed partition to remove replaced files; they are left for the next commit");
                    continue;
                }
            };
            for m in listed {
                let rel = self.rel_of(&m.location);
                // a table's Delta log sits in its folder, which for a mart is the partition
                if !keep.contains(rel) && !rel.contains(&format!("/{}/", super::delta::LOG_DIR)) {
                    match self.store.delete(&m.location).await {
                        Ok(()) => gone += 1,
                        Err(e) => tracing::warn!(file = %rel, error = %e, "could not remove a replaced file; the next commit tries again"),
                    }
                }
            }
        }
        tracing::debug!(removed = gone, "removed replaced files from the object store");
    }

    /// Writes `next` as the manifest, the commit point, unless another process has written it
    /// since this one read `old` (tagged `tag`).
    async fn publish(&self, old: &Manifest, tag: Option<String>, mut next: Manifest, run_id: &str) -> Result<(), WarehouseError> {
        // another writer may have committed since this run read the manifest
        let path = self.object(MANIFEST);
        let now = match self.store.head(&path).await {
            Ok(m) => m.e_tag,
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(self.err(MANIFEST, e)),
        };
        if now != tag {
            return Err(WarehouseError::Store {
                path: format!("{}/{MANIFEST}", self.url),
                message: "another process committed to this warehouse while this run was working; nothing was changed, run again".into(),
            });
        }
        next.format = 1;
        next.version = old.version + 1;
        next.committed_by = run_id.to_string();
        next.committed_at = chrono::Utc::now().to_rfc3339();
        let body = serde_json::to_vec_pretty(&next).expect("serialisable");
        let put = self.store.put(&path, PutPayload::from(body)).await.map_err(|e| self.err(MANIFEST, e))?;
        *self.manifest.write().unwrap_or_else(|e| e.into_inner()) = (next, put.e_tag);
        Ok(())
    }

    /// Partitions the manifest lists under folder names from before partition folders had key
    /// names of their own (see [`super::Warehouse::lock`]) take today's: their files are copied
    /// in the store to the new names, the manifest lists them there (one PUT, the commit point),
    /// then the old files are removed.
    pub fn upgrade_folder_keys(&self) -> Result<(), WarehouseError> {
        block_on(self.upgrade_folder_keys_async())
    }

    async fn upgrade_folder_keys_async(&self) -> Result<(), WarehouseError> {
        let (old, tag) = self.manifest.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut next = old.clone();
        let mut copies = vec![];
        let mut retired = vec![];
        for (rel, files) in &old.partitions {
            let Some(new) = crate::schema::upgrade_partition_path(rel) else { continue };
            next.partitions.remove(rel);
            retired.extend(files.iter().map(|f| f.path.clone()));
            if old.partitions.contains_key(&new) {
                continue; // both names: the one under today's keys was written later
            }
            let moved = files
                .iter()
                .map(|f| {
                    let path = f.path.strip_prefix(rel.as_str()).map_or_else(|| f.path.clone(), |rest| format!("{new}{rest}"));
                    copies.push((f.path.clone(), path.clone()));
                    DataFile { path, ..f.clone() }
                })
                .collect();
            next.partitions.insert(new, moved);
        }
        if next == old {
            return Ok(());
        }
        let jobs: Vec<_> = copies
            .iter()
            .filter(|(from, to)| from != to)
            .map(|(from, to)| async move { self.store.copy(&self.object(from), &self.object(to)).await.map_err(|e| self.err(from, e)) })
            .collect();
        futures::stream::iter(jobs).buffer_unordered(8).try_collect::<Vec<()>>().await?;
        tracing::info!(files = copies.len(), "renaming the warehouse's partition folders to their key names (la_key=, year_key=, …)");
        self.publish(&old, tag, next.clone(), "folder-keys").await?;
        let keep = next.referenced();
        for from in retired.iter().filter(|from| !keep.contains(from.as_str())) {
            if let Err(e) = self.store.delete(&self.object(from)).await {
                tracing::warn!(file = %from, error = %e, "could not remove a file copied to its new folder; it is no longer listed");
            }
        }
        Ok(())
    }

    async fn upload(&self, local: &Path, rel: &str) -> Result<(), WarehouseError> {
        use tokio::io::AsyncWriteExt;
        let path = self.object(rel);
        let mut file = tokio::fs::File::open(local).await.map_err(super::io_err(local))?;
        let mut w = object_store::buffered::BufWriter::new(self.store.clone(), path);
        let copied = tokio::io::copy(&mut file, &mut w).await;
        match copied {
            Ok(_) => w.shutdown().await.map_err(|e| WarehouseError::Store { path: format!("{}/{rel}", self.url), message: e.to_string() }),
            Err(e) => {
                let _ = w.abort().await;
                Err(WarehouseError::Store { path: format!("{}/{rel}", self.url), message: e.to_string() })
            }
        }
    }
}

/// The object stores of a scheduler or executor: local files, and any `s3://`, `az://` or
/// `abfss://` URL a plan names, its store made on first use from the environment (the same
/// variables as `--warehouse`).
#[derive(Debug, Default)]
pub struct EnvStoreRegistry {
    inner: datafusion::execution::object_store::DefaultObjectStoreRegistry,
}

impl EnvStoreRegistry {
    pub fn new() -> Self {
        Self::default()
    }
}

impl datafusion::execution::object_store::ObjectStoreRegistry for EnvStoreRegistry {
    fn register_store(&self, url: &url::Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn get_store(&self, url: &url::Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(s) = self.inner.get_store(url) {
            return Ok(s);
        }
        if !is_remote(url.as_str()) {
            return self.inner.get_store(url);
        }
        let base = url::Url::parse(&url[..url::Position::BeforePath]).map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let store = build_store(&base).map_err(|e| datafusion::error::DataFusionError::Execution(format!("{base}: {e}")))?;
        self.inner.register_store(&base, store.clone());
        Ok(store)
    }
}

fn unreachable(url: &str, why: String) -> WarehouseError {
    WarehouseError::Store { path: url.to_string(), message: format!("cannot open the warehouse: {why}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_under_a_table_or_a_partition() {
        let f = |p: &str| DataFile { path: p.into(), size: 1, sha256: "x".into() };
        let mut m = Manifest::default();
        m.partitions.insert("clean/s/t/la_key=1/year_key=2024".into(), vec![f("clean/s/t/la_key=1/year_key=2024/r1-part-0.parquet")]);
        m.partitions.insert("clean/s/t/la_key=2/year_key=2024".into(), vec![f("clean/s/t/la_key=2/year_key=2024/r1-part-0.parquet")]);
        m.partitions.insert("clean/s/tt/la_key=1/year_key=2024".into(), vec![f("clean/s/tt/la_key=1/year_key=2024/r1-part-0.parquet")]);
        assert_eq!(m.files_under("clean/s/t").len(), 2);
        assert_eq!(m.files_under("clean/s/t/la_key=1").len(), 1);
        assert_eq!(m.files_under("clean/s/tt/").len(), 1);
        assert!(m.files_under("clean/s").len() == 3 && m.files_under("clean/x").is_empty());
    }

    #[test]
    fn urls_and_work_folders() {
        assert!(is_remote("s3://b/w") && is_remote("abfss://c@a.dfs.core.windows.net/w") && is_remote("az://c/w"));
        assert!(!is_remote("file:///tmp/w") && !is_remote("/tmp/w"));
        if std::env::var("LANTERN_WORK_DIR").is_err() {
            let d = work_dir("s3://bucket/councils/wh");
            assert!(d.ends_with("s3___bucket_councils_wh"), "{}", d.display());
        }
    }
}
