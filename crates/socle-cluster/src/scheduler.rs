//! `socle scheduler`: Ballista's scheduler with Socle's functions and codec.

use std::sync::Arc;

use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use ballista_scheduler::scheduler_server::SessionBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use crate::ClusterError;
use crate::codec::SocleLogicalCodec;

/// Where the scheduler listens and what it waits for.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to listen on (`127.0.0.1`; `0.0.0.0` for every interface).
    pub bind: String,
    /// The one port of the scheduler: gRPC for clients and executors, `/healthz`, `/readyz`.
    pub port: u16,
    /// The host name executors and clients reach it by.
    pub external_host: String,
    /// Executors registered before `/readyz` says ready.
    pub min_executors: usize,
    /// The warehouse, when it is on an object store: its store is registered for planning.
    pub warehouse: Option<std::path::PathBuf>,
}

/// The scheduler's session for each query: DataFusion's defaults, Ballista's optimizer rules and
/// functions, then Socle's (inserted, not replacing the list), on one runtime shared by every
/// query (its object stores and file statistics).
fn session_builder(runtime: Arc<RuntimeEnv>) -> SessionBuilder {
    Arc::new(move |config: SessionConfig| {
        let mut state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_runtime_env(Arc::clone(&runtime))
            .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
            .with_scalar_functions(ballista_scalar_functions())
            .with_aggregate_functions(ballista_aggregate_functions())
            .with_window_functions(ballista_window_functions())
            .build();
        for udf in socle_marts::udfs() {
            datafusion::execution::FunctionRegistry::register_udf(&mut state, udf)?;
        }
        Ok(state)
    })
}

/// Runs the scheduler until the process is stopped (Ctrl-C, SIGTERM).
pub async fn run_scheduler(options: SchedulerOptions) -> Result<(), ClusterError> {
    let runtime = crate::runtime_for(options.warehouse.as_deref())?;
    let config = SchedulerConfig {
        bind_host: options.bind.clone(),
        bind_port: options.port,
        external_host: options.external_host.clone(),
        min_ready_executors: options.min_executors.max(1),
        override_session_builder: Some(session_builder(runtime)),
        override_logical_codec: Some(Arc::new(SocleLogicalCodec::default())),
        // Shuffle files of finished jobs: a night's marts are many small jobs.
        finished_job_data_clean_up_interval_seconds: 60,
        ..Default::default()
    };
    config.validate()?;
    let listener = tokio::net::TcpListener::bind((options.bind.as_str(), options.port))
        .await
        .map_err(|source| ClusterError::Io {
            action: format!("écoute sur {}:{}", options.bind, options.port),
            source,
        })?;
    let config = Arc::new(config);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let server = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config).await?;
    tracing::info!(bind = %options.bind, port = options.port, "Ballista scheduler listening (socle)");
    tokio::select! {
        served = start_grpc_service_with_listener(listener, server) => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("scheduler stopped"),
    }
    Ok(())
}
