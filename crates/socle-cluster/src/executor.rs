//! `socle executor`: Ballista's executor with Socle's functions.

use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};

use crate::ClusterError;

/// Where the executor listens, and its scheduler.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Address to listen on.
    pub bind: String,
    /// The host name the scheduler, the other executors and the clients reach it by.
    pub external_host: String,
    /// Arrow Flight: shuffle reads and the clients' result fetches.
    pub flight_port: u16,
    /// gRPC: the scheduler pushes tasks there.
    pub grpc_port: u16,
    /// Its own folder for shuffle and spill files (emptied at shutdown).
    pub work_dir: std::path::PathBuf,
    /// Tasks at once (default: the machine's cores).
    pub vcores: Option<usize>,
    /// The warehouse, when it is on an object store: its store is registered for the tasks.
    pub warehouse: Option<std::path::PathBuf>,
    /// Bytes of memory for the running tasks, split evenly between the task slots (`None`:
    /// Ballista's default, a share of the machine's or container's memory).
    pub memory_max: Option<u64>,
}

/// DataFusion's functions (nested ones included) and Socle's, resolved by name in each task.
fn function_registry() -> BallistaFunctionRegistry {
    let ctx = datafusion::prelude::SessionContext::new();
    socle_marts::register_functions(&ctx);
    BallistaFunctionRegistry::from(&ctx.state())
}

/// Runs the executor until the process is stopped (Ctrl-C, SIGTERM: running tasks drain).
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    std::fs::create_dir_all(&options.work_dir).map_err(|source| ClusterError::Io {
        action: format!("création de {}", options.work_dir.display()),
        source,
    })?;
    let runtime = crate::runtime_for(options.warehouse.as_deref())?;
    let work_dir = options.work_dir.to_string_lossy().into_owned();
    let temp_dir = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: options.bind.clone(),
        external_host: Some(options.external_host.clone()),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        // Retries while the scheduler starts.
        scheduler_connect_timeout_seconds: 30,
        vcores: options
            .vcores
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        work_dir: Some(work_dir),
        // Ballista gives each task a spilling pool of its share of this (the runtime below is
        // wrapped with it).
        memory_pool_size: options.memory_max,
        override_function_registry: Some(Arc::new(function_registry())),
        // The tasks' runtime: the warehouse's object store, spills in the work folder.
        override_runtime_producer: Some(Arc::new(move |_config| {
            let disk = datafusion::execution::disk_manager::DiskManagerBuilder::default().with_mode(
                datafusion::execution::disk_manager::DiskManagerMode::Directories(vec![temp_dir.clone().into()]),
            );
            let rt = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
                .with_disk_manager_builder(disk)
                .with_object_store_registry(Arc::clone(&runtime.object_store_registry))
                .build_arc()?;
            Ok(rt)
        })),
        ..Default::default()
    };
    tracing::info!(
        scheduler = %format!("{}:{}", options.scheduler_host, options.scheduler_port),
        flight = options.flight_port,
        grpc = options.grpc_port,
        "Ballista executor starting (socle)"
    );
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
