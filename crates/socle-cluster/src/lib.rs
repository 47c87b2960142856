//! Socle on a Ballista cluster: the marts stage of `socle run --engine ballista://HOST:PORT` and
//! `socle query --engine ...` run their DataFusion plans on a scheduler and its executors instead
//! of in the process.
//!
//! - [`remote_context`]: the client session. Its plans go to the scheduler as protobuf; the
//!   Socle functions (`taux`, `au_cent`) travel by name and are registered on every node; the
//!   in-memory tables (reference tables, seeds, `nuits`) travel inside the plan, encoded by
//!   [`SocleLogicalCodec`] as Arrow IPC.
//! - [`run_scheduler`] (`socle scheduler`) and [`run_executor`] (`socle executor`): Ballista's
//!   own scheduler and executor, with the Socle functions and codec that stock binaries lack.
//!
//! What stays on the machine that runs the night: the normalisation (its inputs are in memory and
//! its plans would carry the pseudonymisation secret), the writing of the marts' files (results
//! stream back to the client, which writes them as it does locally), the manifests. What the
//! cluster needs: the warehouse's files at the same path on every node (one machine, a shared
//! mount, or an object store, `s3://`, whose credentials each node reads from its environment;
//! there the marts stage uploads each model's files as soon as written, since the batch
//! machine's staging folder is its own: `MartsTransaction::write_in_place`).

mod client;
mod codec;
mod executor;
mod scheduler;

pub use client::{is_engine_url, remote_context};
pub use codec::SocleLogicalCodec;
pub use executor::{ExecutorOptions, run_executor};
pub use scheduler::{SchedulerOptions, run_scheduler};

/// What can go wrong starting a node or a session.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("moteur `{0}` : attendu ballista://HÔTE:PORT (engine URL)")]
    InvalidEngine(String),
    #[error("Ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error("DataFusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("entrepôt: {0}")]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

/// A runtime for the scheduler's planning and the executors' tasks that can read the warehouse at
/// `warehouse` when it is on an object store (its store registered by bucket), the local disk
/// otherwise.
fn runtime_for(
    warehouse: Option<&std::path::Path>,
) -> Result<std::sync::Arc<datafusion::execution::runtime_env::RuntimeEnv>, ClusterError> {
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new().build_arc()?;
    // Only the store: the warehouse may not exist yet (a cluster starts before the first night).
    if let Some(location) = warehouse.filter(|l| socle_warehouse::store::is_remote_location(l)) {
        let remote = socle_warehouse::store::connect_remote(location)?;
        runtime.register_object_store(remote.bucket_url(), remote.read_store());
    }
    Ok(runtime)
}
