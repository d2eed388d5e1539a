//! Settings: built-in defaults, then `lantern.toml`, then `LANTERN_*` environment variables, then
//! flags. Secrets (the pseudonymisation key) come only from the environment or a file.

pub mod duration;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use duration::Dur;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub landing: Option<String>,
    pub warehouse: Option<String>,
    pub project: Option<String>,
    pub la_code: Option<String>,
    pub key_file: Option<String>,
    /// How long a run waits for another process writing to the warehouse before refusing
    /// (default 0: refuse at once).
    pub lock_wait: Option<Dur>,
    /// What to call when a run fails (`[alert] command = "…"`).
    #[serde(default)]
    pub alert: crate::serve::AlertSettings,
    /// `lantern serve`: grace period on stop, logs.
    #[serde(default)]
    pub serve: crate::serve::ServeSettings,
    pub cluster: Option<ClusterSettings>,
    #[serde(default)]
    pub engine: EngineFile,
    /// `[limits]`: what one landed file may ask of the readers (field length, XML depth,
    /// workbook size); a file past one is refused on its own.
    #[serde(default)]
    pub limits: crate::source::Limits,
}

/// `[cluster]`: build models (and `lantern sql --cluster`) on a Ballista cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// df://HOST:PORT of a `lantern scheduler`
    pub url: Option<String>,
    /// How long one query may run on the cluster before it is cancelled and fails (default 1h).
    pub job_timeout: Option<Dur>,
}

/// `[engine]` in `lantern.toml`: the memory and parallelism of SQL sessions (model builds,
/// `lantern sql`); see [`crate::query::engine`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineFile {
    /// `"8GiB"`, `"50%"` or a number of bytes.
    pub memory_limit: Option<SizeValue>,
    pub target_partitions: Option<usize>,
    /// Threads that read and check landed files (`lantern run`); default: the cores.
    pub read_threads: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub landing: PathBuf,
    pub warehouse: String,
    pub project: Option<PathBuf>,
    pub la_code: Option<String>,
    /// Where `lantern.toml` was found, if anywhere.
    pub config_file: Option<PathBuf>,
    pub lock_wait: Duration,
    pub alert: crate::serve::AlertSettings,
    pub serve: crate::serve::ServeSettings,
    /// A Ballista scheduler (df://HOST:PORT) that model builds run on: `[cluster] url` or
    /// LANTERN_CLUSTER; none runs them in this process.
    pub cluster: Option<String>,
    /// Memory limit and partitions of SQL sessions (already given to the engine by `load`).
    pub engine: crate::query::engine::EngineSettings,
    pub limits: crate::source::Limits,
    /// Threads that read and check landed files (0: one per core): `[engine] read_threads` or
    /// LANTERN_READ_THREADS. A run writes the same with any number.
    pub read_threads: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

/// Flag values that override everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub landing: Option<PathBuf>,
    pub warehouse: Option<String>,
    pub project: Option<PathBuf>,
}

impl Settings {
    pub fn load(flags: &Overrides) -> Result<Self, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = flags.config.clone().or_else(|| env("LANTERN_CONFIG").map(PathBuf::from)).or_else(|| {
            let p = PathBuf::from("lantern.toml");
            p.exists().then_some(p)
        });
        let (file, base) = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Parse { path: p.display().to_string(), message: e.to_string() })?;
                let f: FileSettings =
                    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: p.display().to_string(), message: e.to_string() })?;
                (f, p.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => (FileSettings::default(), PathBuf::new()),
        };
        let rel = |s: String| if Path::new(&s).is_absolute() || s.contains("://") { s } else { base.join(s).display().to_string() };
        if let Some(k) = file.key_file.clone() {
            if std::env::var_os("LANTERN_PSEUDONYM_KEY").is_none() && std::env::var_os("LANTERN_PSEUDONYM_KEY_FILE").is_none() {
                // SAFETY: set once at start-up before threads that read the environment.
                unsafe { std::env::set_var("LANTERN_PSEUDONYM_KEY_FILE", rel(k)) };
            }
        }
        let where_ = |what: &str| match &path {
            Some(p) => format!("{} [engine] {what}", p.display()),
            None => what.to_string(),
        };
        let memory_limit = match (env("LANTERN_MEMORY_LIMIT"), &file.engine.memory_limit) {
            (Some(v), _) => Some(crate::query::engine::parse_size(&v).map_err(|message| ConfigError::Parse { path: "LANTERN_MEMORY_LIMIT".into(), message })?),
            (None, Some(SizeValue::Bytes(b))) => Some(*b),
            (None, Some(SizeValue::Text(t))) => {
                Some(crate::query::engine::parse_size(t).map_err(|message| ConfigError::Parse { path: where_("memory_limit"), message })?)
            }
            (None, None) => None,
        };
        let target_partitions = match env("LANTERN_TARGET_PARTITIONS") {
            Some(v) => Some(v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Parse {
                path: "LANTERN_TARGET_PARTITIONS".into(),
                message: format!("`{v}` is not a positive whole number"),
            })?),
            None => match file.engine.target_partitions {
                Some(0) => return Err(ConfigError::Parse { path: where_("target_partitions"), message: "must be at least 1".into() }),
                n => n,
            },
        };
        let engine = crate::query::engine::EngineSettings { memory_limit, target_partitions };
        let read_threads = match env("LANTERN_READ_THREADS") {
            Some(v) => v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Parse {
                path: "LANTERN_READ_THREADS".into(),
                message: format!("`{v}` is not a positive whole number"),
            })?,
            None => match file.engine.read_threads {
                Some(0) => return Err(ConfigError::Parse { path: where_("read_threads"), message: "must be at least 1".into() }),
                n => n.unwrap_or(0),
            },
        };
        // the time limit of each query sent to a Ballista cluster, given to the cluster client
        let job_timeout = match env("LANTERN_CLUSTER_JOB_TIMEOUT") {
            Some(v) => Some((duration::parse(&v).map_err(|message| ConfigError::Parse { path: "LANTERN_CLUSTER_JOB_TIMEOUT".into(), message })?, "LANTERN_CLUSTER_JOB_TIMEOUT".to_string())),
            None => file.cluster.as_ref().and_then(|c| c.job_timeout).map(|d| {
                (d.0, path.as_ref().map_or("[cluster] job_timeout".to_string(), |p| format!("{} [cluster] job_timeout", p.display())))
            }),
        };
        if let Some((limit, source)) = job_timeout {
            if limit.is_zero() {
                return Err(ConfigError::Parse { path: source, message: "must be more than zero".into() });
            }
            crate::cluster::set_job_timeout(limit);
        }
        crate::query::engine::configure(engine.clone());
        Ok(Settings {
            engine,
            landing: flags
                .landing
                .clone()
                .or_else(|| env("LANTERN_LANDING").map(PathBuf::from))
                .or_else(|| file.landing.clone().map(|s| PathBuf::from(rel(s))))
                .unwrap_or_else(|| PathBuf::from("landing")),
            warehouse: flags
                .warehouse
                .clone()
                .or_else(|| env("LANTERN_WAREHOUSE"))
                .or_else(|| file.warehouse.clone().map(rel))
                .unwrap_or_else(|| "warehouse".into()),
            project: flags
                .project
                .clone()
                .or_else(|| env("LANTERN_PROJECT").map(PathBuf::from))
                .or_else(|| file.project.clone().map(|s| PathBuf::from(rel(s)))),
            la_code: env("LANTERN_LA_CODE").or(file.la_code),
            cluster: env("LANTERN_CLUSTER").or(file.cluster.as_ref().and_then(|c| c.url.clone())),
            config_file: path,
            lock_wait: match env("LANTERN_LOCK_WAIT") {
                Some(v) => duration::parse(&v).map_err(|message| ConfigError::Parse { path: "LANTERN_LOCK_WAIT".into(), message })?,
                None => file.lock_wait.map(|d| d.0).unwrap_or_default(),
            },
            alert: file.alert,
            serve: file.serve,
            limits: file.limits,
            read_threads,
        })
    }
}
