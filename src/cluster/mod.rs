//! Running Lantern's SQL on an Apache DataFusion Ballista cluster.
//!
//! `lantern scheduler` and `lantern executor` are Ballista's scheduler and executor with
//! Lantern's functions (working days, ages, financial years …) registered, so a plan that calls
//! them can be shipped to any executor. `lantern sql --cluster df://HOST:PORT` and model builds
//! with a cluster (`[cluster] url` in lantern.toml, or `lantern models --build --cluster URL`)
//! plan on the client and run on the cluster. Executors read the warehouse by the paths in the
//! plan, so every machine must see the warehouse at the same path (a shared mount on one
//! network; see deploy/ballista/).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use ballista::prelude::*;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::context::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::FunctionRegistry;
use datafusion::prelude::{SessionConfig, SessionContext};

/// Ballista's session builder with Lantern's functions: what the scheduler plans with.
fn session_with_functions(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for f in crate::model::udf::functions() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

/// Ballista's function registry with Lantern's functions: what executors run plans with.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in crate::model::udf::functions() {
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
    let mut config = SchedulerConfig::default();
    config.bind_host = bind.to_string();
    config.bind_port = port;
    config.external_host = if bind == "0.0.0.0" { "localhost".into() } else { bind.to_string() };
    config.override_session_builder = Some(Arc::new(session_with_functions));
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
        ..Default::default()
    };
    eprintln!("lantern executor on {bind}:{port} (flight) and {grpc_port} (grpc), scheduler {scheduler}");
    start_executor_process(Arc::new(config)).await.map_err(|e| anyhow!("executor: {e}"))
}

/// A session whose queries run on the cluster at `url`, with Lantern's functions.
pub async fn remote_context(url: &str) -> Result<SessionContext> {
    let (host, port) = host_port(url, 50050)?;
    // Lantern's settings (column names as the returns spell them …); without the TopK dynamic
    // filter, whose shared state does not survive being sent to an executor in Ballista 55
    let config = crate::query::config()
        .set_bool("datafusion.optimizer.enable_topk_dynamic_filter_pushdown", false)
        .set_bool("datafusion.optimizer.enable_dynamic_filter_pushdown", false)
        .upgrade_for_ballista();
    let state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
        .await
        .map_err(|e| anyhow!("cannot reach the Ballista scheduler at {url}: {e}"))?;
    crate::model::udf::register(&ctx);
    Ok(ctx)
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
    fn executors_know_lanterns_functions() {
        let r = function_registry();
        for f in ["working_days", "add_working_days", "age_on", "financial_year", "month_end"] {
            assert!(r.scalar_functions.contains_key(f), "{f}");
        }
        assert!(r.scalar_functions.contains_key("abs"), "and DataFusion's own");
    }
}
