//! The one way to open a DataFusion session over a zone of the warehouse.
//!
//! A zone session is what every reader of the warehouse asks for — `socle query`, the extracts,
//! the server's scopes, the benchmark, and the marts stage itself — and it is always the same
//! assembly, so it lives here once:
//!
//! 1. the zone's canonical tables from the current manifests ([`Warehouse::register_zone`]):
//!    the shared files of every CSS, or one CSS's full tables and its `quarantaine`; a table
//!    with no file yet is registered empty with its dictionary schema (personal columns dropped
//!    in the shared zone);
//! 2. the published marts of the zone (unless [`Tables::Canonical`], the marts stage, which
//!    registers the models it is building itself), and the intermediate models when asked
//!    ([`Tables::WithIntermediates`]: the extracts read them);
//! 3. the pipelines' reference tables, seeds and SQL functions (`taux`), so a mart's SQL runs
//!    as is;
//! 4. `nuits`: each CSS's loaded night (one CSS's in its own zone).
//!
//! [`run_query`] is `socle query` on top of it: the read-only guard, a zone's session, the
//! audit line.
//!
//! Sessions use the warehouse's reading options ([`socle_warehouse::new_context_with`]); the
//! marts stage passes its memory-limited runtime ([`ZoneSessions::with_runtime`]).

mod query;

pub use query::{QueryError, QueryRequest, run_query};

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionContext;
use socle_dictionary::Dictionary;
use socle_marts::Project;
use socle_warehouse::{Warehouse, WarehouseError, Zone};

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("reference tables: {0}")]
    Reference(#[from] socle_marts::MartError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Cluster(#[from] socle_cluster::ClusterError),
}

/// Which of the warehouse's own tables a session holds besides the zone's canonical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tables {
    /// The published marts too: what queries and dashboards read.
    #[default]
    Published,
    /// The published marts and the intermediate models: what the extracts read.
    WithIntermediates,
    /// The canonical tables only: the marts stage registers the models it builds itself.
    Canonical,
}

/// How to open one session: which tables, restricted to one CSS's files in the shared zone
/// (a `par_css` model's run), on how many cores.
#[derive(Debug, Clone, Default)]
pub struct Open<'b> {
    pub tables: Tables,
    /// In the shared zone, only this CSS's files (and its night in `nuits`).
    pub only_css: Option<&'b str>,
    /// Cores a query uses (`None`: all of them).
    pub partitions: Option<usize>,
}

/// Opens sessions over the zones of one warehouse, for one dictionary and set of pipelines.
pub struct ZoneSessions<'a> {
    warehouse: &'a Warehouse,
    schemas: BTreeMap<String, SchemaRef>,
    project: Option<&'a Project>,
    runtime: Option<Arc<RuntimeEnv>>,
    nights: Vec<(String, NaiveDate)>,
    /// `ballista://HOST:PORT`: the sessions' plans run on that cluster.
    engine: Option<String>,
}

impl<'a> ZoneSessions<'a> {
    /// Sessions over `warehouse`; with a `dictionary`, tables with no file yet are registered
    /// empty with their schema. The nights are those of the current manifests.
    pub fn new(warehouse: &'a Warehouse, dictionary: Option<&Dictionary>) -> Result<Self, SessionError> {
        let schemas = dictionary
            .map(|d| socle_warehouse::entity_schemas(&d.entities))
            .unwrap_or_default();
        let nights = warehouse
            .manifests()?
            .into_iter()
            .filter_map(|m| {
                NaiveDate::parse_from_str(&m.night, "%Y-%m-%d")
                    .ok()
                    .map(|d| (m.code_css, d))
            })
            .collect();
        Ok(ZoneSessions {
            warehouse,
            schemas,
            project: None,
            runtime: None,
            nights,
            engine: None,
        })
    }

    /// Registers the reference tables, seeds and functions of `project` in every session.
    pub fn with_project(mut self, project: &'a Project) -> Self {
        self.project = Some(project);
        self
    }

    /// Runs every session on `runtime` (a memory pool and a disk manager for spilling).
    pub fn with_runtime(mut self, runtime: Arc<RuntimeEnv>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Runs every session's plans on the Ballista cluster `engine` (`ballista://HOST:PORT`, see
    /// `socle_cluster`) instead of in this process; `None` keeps them here.
    pub fn with_engine(mut self, engine: Option<&str>) -> Self {
        self.engine = engine.map(str::to_string);
        self
    }

    /// Declares an extra table by its schema, registered empty when the zone has no file of it
    /// (the marts stage: `quarantaine` of a CSS that never had a quarantined row).
    pub fn with_schema(mut self, name: &str, schema: SchemaRef) -> Self {
        self.schemas.insert(name.to_string(), schema);
        self
    }

    /// The nights `nuits` holds: CSS code and night, from the manifests read by [`Self::new`].
    pub fn nights(&self) -> &[(String, NaiveDate)] {
        &self.nights
    }

    /// A session over `zone` with the published marts: see the crate's documentation.
    pub async fn open(&self, zone: &Zone) -> Result<SessionContext, SessionError> {
        self.open_with(zone, &Open::default()).await
    }

    /// A session over `zone`, as `how` says.
    pub async fn open_with(&self, zone: &Zone, how: &Open<'_>) -> Result<SessionContext, SessionError> {
        let ctx = match &self.engine {
            None => socle_warehouse::new_context_with(self.runtime.clone(), how.partitions),
            // The functions, the reference tables and the nights are registered below, after
            // the remote context is made (Ballista replaces the function list of its state).
            Some(engine) => socle_cluster::remote_context(engine, self.runtime.clone(), how.partitions).await?,
        };
        match how.tables {
            Tables::Canonical => {
                self.warehouse
                    .register_zone_tables(&ctx, zone, how.only_css, &self.schemas)
                    .await?
            }
            Tables::Published | Tables::WithIntermediates => {
                self.warehouse.register_zone(&ctx, zone, &self.schemas).await?;
                if how.tables == Tables::WithIntermediates {
                    self.warehouse.register_intermediates(&ctx, zone).await?;
                }
            }
        }
        if let Some(project) = self.project {
            socle_marts::register_reference(&ctx, project)?;
        }
        let one = match zone {
            Zone::Css(code) => Some(code.as_str()),
            Zone::Shared => how.only_css,
        };
        let nights: Vec<(String, NaiveDate)> = self
            .nights
            .iter()
            .filter(|(c, _)| one.is_none_or(|o| o == c))
            .cloned()
            .collect();
        socle_marts::register_nights(&ctx, &nights)?;
        Ok(ctx)
    }
}
