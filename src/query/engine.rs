//! The memory and parallelism every DataFusion session of Lantern runs with: a bounded memory
//! pool (operators that can spill — sorts, aggregations, window partitions — spill to disk when
//! it is full) and a spill folder inside the warehouse, `_tmp/spill`.
//!
//! Settings (`[engine]` in `lantern.toml`, or `LANTERN_MEMORY_LIMIT` /
//! `LANTERN_TARGET_PARTITIONS`) are read once at start-up by the settings loader and given to
//! [`configure`] by the command line; a session made before that (tests, the scratch harness)
//! uses the defaults.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use datafusion::error::Result;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::config::size::physical_memory;
use crate::config::EngineSettings;

/// The least memory a session is given, whatever the machine says.
const MIN_LIMIT: u64 = 256 << 20;
/// The default limit is this share of the machine's (or the container's) memory …
const DEFAULT_SHARE: f64 = 0.25;
/// … and at most this much.
const DEFAULT_CAP: u64 = 4 << 30;

fn settings() -> &'static RwLock<EngineSettings> {
    static S: OnceLock<RwLock<EngineSettings>> = OnceLock::new();
    S.get_or_init(|| RwLock::new(EngineSettings::default()))
}

/// Sets the engine settings for the sessions made from now on.
pub fn configure(s: EngineSettings) {
    *settings().write().unwrap_or_else(|e| e.into_inner()) = s;
}

pub fn current() -> EngineSettings {
    settings().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The default memory limit: a quarter of [`physical_memory`], at most 4 GiB (2 GiB when the
/// memory cannot be read).
pub fn default_memory_limit() -> u64 {
    match physical_memory() {
        Some(m) => ((m as f64 * DEFAULT_SHARE) as u64).clamp(MIN_LIMIT, DEFAULT_CAP),
        None => 2 << 30,
    }
}

/// The memory limit in force: the configured one, else the default.
pub fn memory_limit() -> u64 {
    current().memory_limit.unwrap_or_else(default_memory_limit).max(MIN_LIMIT)
}

/// Partitions in force: the configured number, else the number of cores.
pub fn target_partitions() -> usize {
    current().target_partitions.filter(|n| *n > 0).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Where a warehouse's sessions spill: `warehouse/_tmp/spill`.
pub fn spill_dir(warehouse_root: &Path) -> PathBuf {
    warehouse_root.join("_tmp").join("spill")
}

/// A runtime with the memory pool and, when given a folder, spilling into a fresh
/// `datafusion*` folder inside it that goes when the session does. Without a folder it spills
/// into the system's temporary folder.
pub fn runtime(spill: Option<&Path>) -> Result<Arc<RuntimeEnv>> {
    runtime_limited(spill, memory_limit() as usize)
}

/// [`runtime`] with a pool of `limit` bytes.
fn runtime_limited(spill: Option<&Path>, limit: usize) -> Result<Arc<RuntimeEnv>> {
    let mode = match spill {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            DiskManagerMode::Directories(vec![dir.to_path_buf()])
        }
        None => DiskManagerMode::OsTmpDirectory,
    };
    RuntimeEnvBuilder::new()
        // DataFusion's own choice for a memory limit: first come, first served, and a query that
        // runs out names its five largest consumers. A fair pool split the limit evenly among a
        // big plan's spillable operators: `cla_values` at 50 councils had some 190, and one
        // aggregate's first 24.6 MB failed with under 1 GB of the 4 GB in use.
        .with_memory_pool(Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(limit), NonZeroUsize::new(5).expect("5 > 0"))))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode))
        .build_arc()
}

/// Removes the spill folder when no session is using it (nothing left but empty folders).
pub fn tidy_spill(warehouse_root: &Path) {
    let dir = spill_dir(warehouse_root);
    let empty = |d: &Path| std::fs::read_dir(d).map(|mut r| r.next().is_none()).unwrap_or(false);
    if empty(&dir) {
        let _ = std::fs::remove_dir(&dir);
        let tmp = warehouse_root.join("_tmp");
        if empty(&tmp) {
            let _ = std::fs::remove_dir(&tmp);
        }
    }
}

/// A size for people: `4.0 GiB`.
pub fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human(4 << 30), "4.0 GiB");
    }

    /// Runs `sql` in a session of Lantern's settings, `partitions` partitions and a pool of
    /// `limit` bytes; the rows as text and how many times its operators spilled.
    async fn run_limited(sql: &str, partitions: usize, limit: usize) -> Result<(Vec<String>, usize)> {
        use datafusion::physical_plan::{collect, ExecutionPlan};
        use datafusion::prelude::SessionContext;
        fn spills(plan: &Arc<dyn ExecutionPlan>) -> usize {
            plan.metrics().and_then(|m| m.spill_count()).unwrap_or(0) + plan.children().into_iter().map(spills).sum::<usize>()
        }
        let ctx = SessionContext::new_with_config_rt(crate::query::config().with_target_partitions(partitions), runtime_limited(None, limit)?);
        let plan = ctx.sql(sql).await?.create_physical_plan().await?;
        let mut csv = arrow::csv::WriterBuilder::new().with_header(false).build(Vec::new());
        for b in collect(plan.clone(), ctx.task_ctx()).await? {
            csv.write(&b)?;
        }
        let text = String::from_utf8(csv.into_inner()).expect("CSV is UTF-8");
        Ok((text.lines().map(str::to_string).collect(), spills(&plan)))
    }

    // A plan with many operators holding memory at once, as a model with a CTE used several
    // times makes (the CTE is planned once per use): each of the 8 uses of `per_key` aggregates
    // KEYS groups over 16 partitions, some 400 spillable consumers of the pool. DataFusion's fair
    // pool, sharing the limit evenly among them, fails it as it failed `cla_values` at 50
    // councils ("Failed to allocate additional 256.0 KB for FinalHashAggregateStream[14] with
    // 0.0 B already allocated … fair(pool_size: 64.0 MB)"); first come, first served, it runs.
    #[tokio::test]
    async fn many_operators_at_once_fit_a_small_pool() {
        const KEYS: i64 = 200_000;
        const ROWS: i64 = 2_000_000;
        let sql = format!("WITH g AS (SELECT value AS v, value % {KEYS} AS k FROM generate_series(1, {ROWS})),
            per_key AS (SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo FROM g GROUP BY k)
            SELECT count(*), sum(a.n + b.n + c.n + d.n), sum(e.s - f.lo), max(g.lo + h.n)
            FROM per_key a JOIN per_key b ON b.k = a.k JOIN per_key c ON c.k = a.k JOIN per_key d ON d.k = a.k
            JOIN per_key e ON e.k = a.k JOIN per_key f ON f.k = a.k JOIN per_key g ON g.k = a.k JOIN per_key h ON h.k = a.k");
        // key k > 0 has the ROWS / KEYS values k, k + KEYS, …; key 0 has KEYS, 2 KEYS, …
        let per_key = ROWS / KEYS;
        let lows: i64 = (1..KEYS).sum::<i64>() + KEYS;
        let (rows, _) = run_limited(&sql, 16, 64 << 20).await.expect("fits in 64 MiB");
        assert_eq!(rows, vec![format!("{KEYS},{},{},{}", KEYS * per_key * 4, ROWS * (ROWS + 1) / 2 - lows, KEYS + per_key)]);
    }

    // A sort bigger than the pool beside a hash join's build side, which cannot spill: the
    // sort spills to disk and the join keeps its memory. One partition: with four, each sorting
    // its share, a sort that starts after the others have filled a pool this small finds nothing
    // free and nothing of its own to spill, and fails (greedy: first come, first served).
    #[tokio::test]
    async fn a_sort_bigger_than_the_pool_spills_beside_a_join() {
        let sql = "WITH g AS (SELECT value AS v, value % 1000 AS k, repeat('x', 40) AS pad FROM generate_series(1, 2000000)),
            keys AS (SELECT DISTINCT k FROM g),
            ranked AS (SELECT v, row_number() OVER (ORDER BY v DESC, pad) AS r FROM keys JOIN g ON g.k = keys.k)
            SELECT count(*), sum(v), min(r), max(r), sum(CASE WHEN v + r = 2000001 THEN 1 ELSE 0 END) FROM ranked";
        let (rows, spilled) = run_limited(sql, 1, 64 << 20).await.expect("fits in 64 MiB by spilling");
        let n: i64 = 2_000_000;
        assert_eq!(rows, vec![format!("{n},{},1,{n},{n}", n * (n + 1) / 2)]);
        assert!(spilled > 0, "the sort spilled");
    }

    #[test]
    fn the_default_is_bounded() {
        let d = default_memory_limit();
        assert!((MIN_LIMIT..=DEFAULT_CAP).contains(&d));
    }
}
