//! `socle scheduler` and `socle executor`: the two roles of a Ballista cluster that builds the
//! marts (`socle run --engine ballista://HOST:PORT`) and runs queries (`socle query --engine`).

use std::path::PathBuf;

use anyhow::{Context, Result};

#[derive(clap::Args)]
pub struct SchedulerArgs {
    /// Address to listen on (0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// The scheduler's one port: clients, executors, and `/readyz`.
    #[arg(long, default_value_t = 50050)]
    port: u16,
    /// The name executors and clients reach this machine by (default: --bind).
    #[arg(long)]
    external_host: Option<String>,
    /// Executors registered before `/readyz` answers 200.
    #[arg(long, default_value_t = 1)]
    min_executors: usize,
    /// The warehouse, when it is on an object store (`s3://...`): planning reads its files.
    #[arg(long)]
    warehouse: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// The name the scheduler, the other executors and the clients reach this machine by
    /// (default: --bind).
    #[arg(long)]
    external_host: Option<String>,
    /// Arrow Flight port: shuffles and results.
    #[arg(long, default_value_t = 50051)]
    flight_port: u16,
    /// gRPC port: the scheduler pushes tasks there.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Folder of this executor's shuffle and spill files (its own: emptied at shutdown).
    #[arg(long, value_name = "DIR")]
    work_dir: PathBuf,
    /// Tasks at once (default: the machine's cores).
    #[arg(long)]
    vcores: Option<usize>,
    /// The warehouse, when it is on an object store (`s3://...`): tasks read its files.
    #[arg(long)]
    warehouse: Option<PathBuf>,
    /// Memory of this executor's tasks, in MiB, split evenly between its task slots: sorts and
    /// aggregations spill to the work folder beyond it; a task that cannot spill fails (its job
    /// fails, the process is not killed for memory). Default: Ballista's, a share of the
    /// machine's (or container's) memory.
    #[arg(long, value_name = "MiB")]
    memory_max_mib: Option<u64>,
}

pub async fn scheduler(a: SchedulerArgs) -> Result<u8> {
    let external_host = a.external_host.unwrap_or_else(|| a.bind.clone());
    eprintln!(
        "ordonnanceur Ballista de Socle : {}:{} (prêt quand {} exécuteur(s) inscrit(s) : GET /readyz)",
        a.bind, a.port, a.min_executors
    );
    socle_cluster::run_scheduler(socle_cluster::SchedulerOptions {
        bind: a.bind,
        port: a.port,
        external_host,
        min_executors: a.min_executors,
        warehouse: a.warehouse,
    })
    .await?;
    Ok(0)
}

pub async fn executor(a: ExecutorArgs) -> Result<u8> {
    let (host, port) = a
        .scheduler
        .rsplit_once(':')
        .context("--scheduler: expected HOST:PORT")?;
    let port: u16 = port.parse().context("--scheduler: the port is not a number")?;
    let external_host = a.external_host.unwrap_or_else(|| a.bind.clone());
    eprintln!(
        "exécuteur Ballista de Socle : ordonnanceur {host}:{port}, Flight {}, gRPC {}",
        a.flight_port, a.grpc_port
    );
    socle_cluster::run_executor(socle_cluster::ExecutorOptions {
        scheduler_host: host.to_string(),
        scheduler_port: port,
        bind: a.bind,
        external_host,
        flight_port: a.flight_port,
        grpc_port: a.grpc_port,
        work_dir: a.work_dir,
        vcores: a.vcores,
        warehouse: a.warehouse,
        memory_max: a.memory_max_mib.map(|m| m.max(1) * 1024 * 1024),
    })
    .await?;
    Ok(0)
}
