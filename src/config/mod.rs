//! Settings: built-in defaults, then `lantern.toml`, then `LANTERN_*` environment variables, then
//! flags. Secrets (the pseudonymisation key) come only from the environment or a file.

pub mod duration;
pub mod size;

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
    /// How tables are written: `"parquet"` (folders of Parquet, the default) or `"delta"`
    /// (the same Parquet with a Delta Lake commit log per table).
    pub format: Option<String>,
    /// What to call when a run fails (`[alert] command = "…"`).
    #[serde(default)]
    pub alert: AlertSettings,
    /// `lantern serve`: grace period on stop, logs.
    #[serde(default)]
    pub serve: ServeSettings,
    pub cluster: Option<ClusterSettings>,
    #[serde(default)]
    pub engine: EngineFile,
    /// `[limits]`: what one landed file may ask of the readers (field length, XML depth,
    /// workbook size); a file past one is refused on its own.
    #[serde(default)]
    pub limits: Limits,
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

/// `[alert]`: what to call when a run fails.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// A shell command; the JSON summary arrives on its standard input.
    pub command: Option<String>,
}

/// `[serve]` in lantern.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSettings {
    /// On SIGTERM / SIGINT, how long the current run may take to finish before it is abandoned.
    pub grace: Dur,
    /// How long a scheduled run waits for another process writing to the warehouse.
    pub lock_wait: Dur,
    /// Pipelines to schedule (default: every pipeline with a `schedule`).
    pub pipelines: Vec<String>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings { grace: Dur(Duration::from_secs(300)), lock_wait: Dur(Duration::from_secs(3600)), pipelines: vec![] }
    }
}

/// How much one file may ask of the reader; a file past a limit is refused on its own with a
/// message saying which (`[limits]` in `lantern.toml`).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The longest field a delimited file may hold, in bytes.
    pub field_bytes: usize,
    /// The deepest an XML document's elements may nest.
    pub xml_depth: usize,
    /// The most cells a workbook's sheet may span (rows × columns of its used range).
    pub sheet_cells: u64,
    /// The most bytes a workbook's parts may unpack to, all together.
    pub workbook_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { field_bytes: 1 << 20, xml_depth: 256, sheet_cells: 50_000_000, workbook_bytes: 2 << 30 }
    }
}

/// `[engine]` in `lantern.toml`: the memory and parallelism of SQL sessions (model builds,
/// `lantern sql`); see `query::engine`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineFile {
    /// `"8GiB"`, `"50%"` or a number of bytes.
    pub memory_limit: Option<SizeValue>,
    pub target_partitions: Option<usize>,
    /// Threads that read and check landed files (`lantern run`); default: the cores.
    pub read_threads: Option<usize>,
}

/// What `[engine]` says; `None` means the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSettings {
    /// Bytes the memory pool of one session may hold.
    pub memory_limit: Option<u64>,
    /// Partitions a query is split into (DataFusion's `target_partitions`); default the cores.
    pub target_partitions: Option<usize>,
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
    /// The file holding the pseudonymisation key (`key_file` in lantern.toml, relative to it):
    /// used when neither LANTERN_PSEUDONYM_KEY nor LANTERN_PSEUDONYM_KEY_FILE is set.
    pub key_file: Option<PathBuf>,
    /// Where `lantern.toml` was found, if anywhere.
    pub config_file: Option<PathBuf>,
    pub lock_wait: Duration,
    pub alert: AlertSettings,
    pub serve: ServeSettings,
    /// A Ballista scheduler (df://HOST:PORT) that model builds run on: `[cluster] url` or
    /// LANTERN_CLUSTER; none runs them in this process.
    pub cluster: Option<String>,
    /// Memory limit and partitions of SQL sessions, for the command line to give to the engine.
    pub engine: EngineSettings,
    /// The time limit of each query sent to a Ballista cluster (`[cluster] job_timeout` or
    /// LANTERN_CLUSTER_JOB_TIMEOUT), for the command line to give to the cluster client; none
    /// keeps the client's default.
    pub cluster_job_timeout: Option<Duration>,
    pub limits: Limits,
    /// Threads that read and check landed files (0: one per core): `[engine] read_threads` or
    /// LANTERN_READ_THREADS. A run writes the same with any number.
    pub read_threads: usize,
    /// How writers write tables: `--format`, LANTERN_FORMAT or `format` in lantern.toml.
    pub format: TableFormat,
}

/// How a warehouse's tables are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TableFormat {
    /// Folders of Parquet, partition by partition (Power BI's Folder connector, any reader).
    #[default]
    Parquet,
    /// The same Parquet files with a Delta Lake commit log per table (`<table>/_delta_log/`).
    Delta,
}

impl std::str::FromStr for TableFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(TableFormat::Parquet),
            "delta" => Ok(TableFormat::Delta),
            other => Err(format!("`{other}` is not a table format: use \"parquet\" or \"delta\"")),
        }
    }
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
    pub format: Option<TableFormat>,
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
        let where_ = |what: &str| match &path {
            Some(p) => format!("{} [engine] {what}", p.display()),
            None => what.to_string(),
        };
        let memory_limit = match (env("LANTERN_MEMORY_LIMIT"), &file.engine.memory_limit) {
            (Some(v), _) => Some(size::parse_size(&v).map_err(|message| ConfigError::Parse { path: "LANTERN_MEMORY_LIMIT".into(), message })?),
            (None, Some(SizeValue::Bytes(b))) => Some(*b),
            (None, Some(SizeValue::Text(t))) => {
                Some(size::parse_size(t).map_err(|message| ConfigError::Parse { path: where_("memory_limit"), message })?)
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
        let engine = EngineSettings { memory_limit, target_partitions };
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
        if let Some((limit, source)) = &job_timeout {
            if limit.is_zero() {
                return Err(ConfigError::Parse { path: source.clone(), message: "must be more than zero".into() });
            }
        }
        let format = match (flags.format, env("LANTERN_FORMAT"), &file.format) {
            (Some(f), _, _) => f,
            (None, Some(v), _) => v.parse().map_err(|message| ConfigError::Parse { path: "LANTERN_FORMAT".into(), message })?,
            (None, None, Some(v)) => v.parse().map_err(|message| ConfigError::Parse {
                path: path.as_ref().map_or("format".to_string(), |p| format!("{} format", p.display())),
                message,
            })?,
            (None, None, None) => TableFormat::Parquet,
        };
        Ok(Settings {
            format,
            engine,
            cluster_job_timeout: job_timeout.map(|(limit, _)| limit),
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
            key_file: file.key_file.clone().map(|k| PathBuf::from(rel(k))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_a_setting_relative_to_lantern_toml() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("lantern.toml");
        std::fs::write(&config, "key_file = \"secrets/pseudonym.key\"\n").unwrap();
        let s = Settings::load(&Overrides { config: Some(config), ..Default::default() }).unwrap();
        assert_eq!(s.key_file, Some(dir.path().join("secrets/pseudonym.key")));
        // nothing process-wide: the environment is as it was
        assert_ne!(std::env::var_os("LANTERN_PSEUDONYM_KEY_FILE"), Some(dir.path().join("secrets/pseudonym.key").into_os_string()));
    }
}
