//! Running Lantern's SQL on an Apache DataFusion Ballista cluster.
//!
//! `lantern scheduler` and `lantern executor` are Ballista's scheduler and executor with
//! Lantern's functions (working days, ages, financial years …) registered, so a plan that calls
//! them can be shipped to any executor. `lantern sql --cluster df://HOST:PORT` and model builds
//! with a cluster (`[cluster] url` in lantern.toml, or `lantern models --build --cluster URL`)
//! plan on the client and run on the cluster. Executors read the warehouse by the paths in the
//! plan, so every machine must see the warehouse at the same path (a shared mount on one
//! network; see deploy/ballista/).
//!
//! Every query sent to the cluster has a time limit ([`job_timeout`]: `[cluster] job_timeout`,
//! `LANTERN_CLUSTER_JOB_TIMEOUT`, an hour by default). A job the scheduler reports failed fails
//! the query at once; a job that has not finished in time is cancelled on the scheduler and
//! fails the query with an error naming it, so a stalled cluster fails a build instead of
//! hanging it.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use ballista::prelude::*;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::CancelJobParams;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::{FunctionRegistry, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::StreamExt;

/// How long one query may run on a cluster before it is cancelled, unless
/// [`set_job_timeout`] says otherwise: long enough for a large model, short enough that a
/// stalled nightly build is noticed the same night.
pub const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(3600);

static JOB_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the time limit of every query sent to a cluster from now on (`[cluster] job_timeout`,
/// `LANTERN_CLUSTER_JOB_TIMEOUT`; applied by the command line once the settings are loaded).
pub fn set_job_timeout(limit: Duration) {
    JOB_TIMEOUT_MS.store(limit.as_millis().clamp(1, u64::MAX as u128) as u64, Ordering::Relaxed);
}

/// The time limit of a query sent to a cluster.
pub fn job_timeout() -> Duration {
    match JOB_TIMEOUT_MS.load(Ordering::Relaxed) {
        0 => DEFAULT_JOB_TIMEOUT,
        ms => Duration::from_millis(ms),
    }
}

/// The object stores of this scheduler or executor, shared by its sessions: local files, and
/// `s3://`, `az://`, `abfss://` warehouses with credentials from the environment.
fn stores() -> Arc<crate::warehouse::remote::EnvStoreRegistry> {
    static S: std::sync::OnceLock<Arc<crate::warehouse::remote::EnvStoreRegistry>> = std::sync::OnceLock::new();
    S.get_or_init(|| Arc::new(crate::warehouse::remote::EnvStoreRegistry::new())).clone()
}

/// Ballista's session builder with Lantern's functions and object stores: what the scheduler
/// plans with.
fn session_with_functions(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::from_runtime_env(state.runtime_env()).with_object_store_registry(stores()).build_arc()?;
    let mut state = SessionStateBuilder::new_from_existing(state).with_runtime_env(runtime).build();
    for f in crate::query::udf::functions() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

/// Ballista's function registry with Lantern's functions: what executors run plans with.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in crate::query::udf::functions() {
        registry.scalar_functions.insert(f.name().to_string(), Arc::new(f));
    }
    registry
}

/// `HOST:PORT` from `df://HOST:PORT`, `HOST:PORT` or `HOST`.
pub fn host_port(url: &str, default_port: u16) -> Result<(String, u16)> {
    let rest = url.strip_prefix("df://").unwrap_or(url).trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), p.parse().with_context(|| format!("{url}: the port is not a number"))?)),
        None if !rest.is_empty() => Ok((rest.to_string(), default_port)),
        None => Err(anyhow!("{url}: expected df://HOST:PORT")),
    }
}

/// Runs a scheduler until the process is stopped.
pub async fn run_scheduler(bind: &str, port: u16) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: bind.to_string(),
        bind_port: port,
        external_host: if bind == "0.0.0.0" { "localhost".into() } else { bind.to_string() },
        override_session_builder: Some(Arc::new(session_with_functions)),
        ..SchedulerConfig::default()
    };
    let addr: SocketAddr = format!("{bind}:{port}").parse().with_context(|| format!("{bind}:{port} is not an address to listen on"))?;
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| anyhow!("starting the scheduler: {e}"))?;
    eprintln!("lantern scheduler listening on {addr} (Ballista {}, Lantern's functions registered)", ballista_core::BALLISTA_VERSION);
    start_server(cluster, addr, Arc::new(config)).await.map_err(|e| anyhow!("scheduler: {e}"))
}

/// Runs an executor connected to `scheduler` until the process is stopped.
pub async fn run_executor(scheduler: &str, bind: &str, port: u16, grpc_port: u16, work_dir: Option<&Path>, concurrent_tasks: usize) -> Result<()> {
    let (host, scheduler_port) = host_port(scheduler, 50050)?;
    let config = ExecutorProcessConfig {
        bind_host: bind.to_string(),
        external_host: Some(if bind == "0.0.0.0" { "localhost".into() } else { bind.to_string() }),
        port,
        grpc_port,
        scheduler_host: host,
        scheduler_port,
        // keep trying while the scheduler starts (a unit or a script may start both at once)
        scheduler_connect_timeout_seconds: 60,
        vcores: concurrent_tasks,
        work_dir: work_dir.map(|p| p.display().to_string()),
        override_function_registry: Some(Arc::new(function_registry())),
        override_runtime_producer: Some(executor_runtime(work_dir)),
        ..Default::default()
    };
    eprintln!("lantern executor on {bind}:{port} (flight) and {grpc_port} (grpc), scheduler {scheduler}");
    start_executor_process(Arc::new(config)).await.map_err(|e| anyhow!("executor: {e}"))
}

/// The runtime of an executor's tasks: spill files in its work folder (else the system's
/// temporary folder), and Lantern's object stores.
fn executor_runtime(work_dir: Option<&Path>) -> ballista_core::RuntimeProducer {
    let dir = work_dir.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    Arc::new(move |_| {
        datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_temp_file_path(dir.clone())
            .with_object_store_registry(stores())
            .build_arc()
    })
}

/// Ballista settings of cluster sessions, sent with each query to the scheduler.
const CLUSTER_SETTINGS: [(&str, &str); 4] = [
    // The static planner. Ballista 55's adaptive planner (its default) never finishes a job in
    // which a stage feeding a partitioned join produces no rows (an empty assumption table, a
    // council without some return): it replaces the finished stage by an empty input, plans a
    // new exchange over that, runs it, and so on, one new stage every few milliseconds
    // (marts.finance.budget_lines on a generated council did this). Its rule doing so cannot be
    // turned off.
    ("ballista.planner.adaptive.enabled", "false"),
    // Hash joins, as a local build makes them. Ballista prefers sort-merge joins (they spill),
    // and DataFusion 55.2's sort-merge join with a join filter panics on some inputs ("index out
    // of bounds" in sort_merge_join/filter.rs; marts.finance.cla_funding_envelope).
    ("datafusion.optimizer.prefer_hash_join", "true"),
    // No file statistics. With them, a one-row input (an assumption table) becomes the probe
    // side of a nested-loop join in a UNION ALL branch, followed by a round-robin
    // repartition; when Ballista cuts that stage's plan down to each task's partitions, every
    // task emits the branch's rows (marts.finance.cla_funding_envelope counted moved children
    // three times). Without statistics the plan has no such shape, and every mart equals the
    // local build (tests/cluster.rs).
    ("datafusion.execution.collect_statistics", "false"),
    // The client asks the scheduler for the job's status rather than waiting for pushed
    // updates: the job id is then known from the start, to cancel a job that runs out of time.
    ("ballista.client.pull", "true"),
];

/// A session whose queries run on the cluster at `url`, with Lantern's functions; each query
/// has the time limit [`job_timeout`].
pub async fn remote_context(url: &str) -> Result<SessionContext> {
    let (host, port) = host_port(url, 50050)?;
    // Lantern's settings (column names as the returns spell them …); without dynamic filters,
    // an optimisation only, whose filters made by one operator for a scan cannot reach that
    // scan when Ballista runs them in different stages on different executors
    let mut config = crate::query::config()
        .set_bool("datafusion.optimizer.enable_topk_dynamic_filter_pushdown", false)
        .set_bool("datafusion.optimizer.enable_dynamic_filter_pushdown", false)
        .upgrade_for_ballista();
    for (key, value) in CLUSTER_SETTINGS {
        config.options_mut().set(key, value).map_err(|e| anyhow!("setting {key} = {value} for the cluster: {e}"))?;
    }
    let state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
        .await
        .map_err(|e| anyhow!("cannot reach the Ballista scheduler at {url}: {e}"))?;
    // Ballista's planner sends each query to the scheduler; ours also bounds how long it runs
    let state = ctx.state();
    let planner = TimeLimitedPlanner { inner: state.query_planner().clone(), limit: job_timeout(), scheduler: format!("http://{host}:{port}") };
    let ctx = SessionContext::new_with_state(SessionStateBuilder::new_from_existing(state).with_query_planner(Arc::new(planner)).build());
    crate::query::udf::register(&ctx);
    Ok(ctx)
}

/// Ballista's query planner, with each query it sends to the cluster bounded in time.
#[derive(Debug)]
struct TimeLimitedPlanner {
    inner: Arc<dyn QueryPlanner + Send + Sync>,
    limit: Duration,
    /// http://HOST:PORT of the scheduler, to cancel a job that ran out of time
    scheduler: String,
}

type PlanFuture<'a> = Pin<Box<dyn Future<Output = datafusion::error::Result<Arc<dyn ExecutionPlan>>> + Send + 'a>>;

// `QueryPlanner` is an `async_trait`; this is the signature it expands to.
impl QueryPlanner for TimeLimitedPlanner {
    fn create_physical_plan<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        logical_plan: &'life1 LogicalPlan,
        session: &'life2 dyn Session,
    ) -> PlanFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let plan = self.inner.create_physical_plan(logical_plan, session).await?;
            if plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>().is_none() {
                return Ok(plan); // run here (information_schema, empty relations)
            }
            Ok(Arc::new(TimeLimitedExec { inner: plan, limit: self.limit, scheduler: self.scheduler.clone() }) as Arc<dyn ExecutionPlan>)
        })
    }
}

/// A query running on the cluster ([`DistributedQueryExec`]) that fails, and cancels its job,
/// when it has not finished within `limit` (the job, and reading its results).
#[derive(Debug)]
struct TimeLimitedExec {
    inner: Arc<dyn ExecutionPlan>,
    limit: Duration,
    scheduler: String,
}

impl TimeLimitedExec {
    fn job_id(&self) -> Option<String> {
        self.inner.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>().and_then(|q| q.job_id()).map(|j| j.to_string())
    }
}

impl DisplayAs for TimeLimitedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TimeLimitedExec: limit={:?}", self.limit)
    }
}

impl ExecutionPlan for TimeLimitedExec {
    fn name(&self) -> &str {
        "TimeLimitedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.inner]
    }

    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::error::Result<TreeNodeRecursion>) -> datafusion::error::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(format!("TimeLimitedExec has one child, given {}", children.len())));
        }
        Ok(Arc::new(TimeLimitedExec { inner: children.remove(0), limit: self.limit, scheduler: self.scheduler.clone() }))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> datafusion::error::Result<SendableRecordBatchStream> {
        let stream = self.inner.execute(partition, context)?;
        let schema = stream.schema();
        let deadline = tokio::time::Instant::now() + self.limit;
        let this = TimeLimitedExec { inner: self.inner.clone(), limit: self.limit, scheduler: self.scheduler.clone() };
        let this = Arc::new(this);
        let batches = futures::stream::unfold(Some(stream), move |state| {
            let this = this.clone();
            async move {
                let mut stream = state?;
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(Some(item)) => Some((item, Some(stream))),
                    Ok(None) => None,
                    Err(_) => {
                        drop(stream);
                        Some((Err(this.timed_out().await), None))
                    }
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

impl TimeLimitedExec {
    /// Cancels the job on the scheduler (as far as it can) and says what happened.
    async fn timed_out(&self) -> DataFusionError {
        let limit = format!("{:?}", self.limit);
        let fix = "see the scheduler's and executors' logs; if the job only needs longer, raise `[cluster] job_timeout` or LANTERN_CLUSTER_JOB_TIMEOUT";
        let Some(job) = self.job_id() else {
            return DataFusionError::Execution(format!("the Ballista cluster at {} accepted no job for this query within {limit}; {fix}", self.scheduler));
        };
        let cancel = async {
            let mut client = SchedulerGrpcClient::connect(self.scheduler.clone()).await.map_err(|e| e.to_string())?;
            client.cancel_job(CancelJobParams { job_id: job.clone() }).await.map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        };
        let cancelled = match tokio::time::timeout(Duration::from_secs(10), cancel).await {
            Ok(Ok(())) => "cancelled it".to_string(),
            Ok(Err(e)) => format!("could not cancel it ({e})"),
            Err(_) => "could not cancel it (the scheduler did not answer within 10s)".to_string(),
        };
        tracing::error!(job = %job, limit = %limit, "a cluster job ran out of time");
        DataFusionError::Execution(format!(
            "the Ballista cluster did not finish job {job} within {limit} (the job timeout) and Lantern {cancelled}: a stalled job, or a task that failed without the scheduler noticing; {fix}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(host_port("df://127.0.0.1:50050", 1).unwrap(), ("127.0.0.1".into(), 50050));
        assert_eq!(host_port("cluster.local", 50050).unwrap(), ("cluster.local".into(), 50050));
        assert!(host_port("df://x:port", 1).is_err());
    }

    #[test]
    fn queries_on_a_cluster_have_a_time_limit() {
        // the only test that sets it
        assert_eq!(job_timeout(), DEFAULT_JOB_TIMEOUT);
        set_job_timeout(Duration::from_secs(90));
        assert_eq!(job_timeout(), Duration::from_secs(90));
        set_job_timeout(DEFAULT_JOB_TIMEOUT);
    }

    #[test]
    fn executors_know_lanterns_functions() {
        let r = function_registry();
        for f in ["working_days", "add_working_days", "age_on", "financial_year", "month_end"] {
            assert!(r.scalar_functions.contains_key(f), "{f}");
        }
        assert!(r.scalar_functions.contains_key("abs"), "and DataFusion's own");
    }
}
