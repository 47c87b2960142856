//! The nightly pipeline of Socle.
//!
//! For each CSS of an exports root (`<root>/<CSS code>/<YYYY-MM-DD>/{gpi,mozaik,jade,dofin}/`):
//! 1. **discover** its night ([`discover`]) and the sources it sent;
//! 2. skip it when its files are those already loaded (same SHA-256 as the manifest, same
//!    dictionary version and key): incremental nights cost one hash pass;
//! 3. **read** every source with its connector crate; a source that fails (missing file or
//!    column) does not stop the others;
//! 4. **normalise** all sources together into the one canonical model (`socle-transform`);
//! 5. **guard** ([`find_falls`]): an entity whose rows for a school year fall by more than its
//!    `baisse_max` against the night already loaded (or to zero) holds the sources feeding it
//!    (their tables keep their previous state, the manifest records the hold, the run exits 2),
//!    unless accepted (`LoadOptions::accept_drops`, `socle run --accept-drop CSS:ENTITY`); a
//!    night older than the one loaded is refused unless `allow_older_night`;
//! 6. **publish** atomically (`socle-warehouse`): a night replaces the school years it holds,
//!    tables fed by a failed or held source keep their previous state.
//!
//! CSS load in parallel ([`Pipeline::load_all`], `jobs` at a time), each in its own task: a CSS
//! that fails, even by a panic, is reported and the others go on. Then [`Pipeline::build_marts`]
//! builds the marts (`par_css` models one CSS at a time, `province` ones over every CSS, each
//! streamed to staging Parquet under a memory limit, its grain checked, only the CSS that changed
//! rebuilt; see the `marts` module), recording the CSS runs they were built from; a run rebuilds
//! them whenever those are not the current ones (`Warehouse::marts_state`).
//!
//! The duties of Québec's Law 25 that need the whole model: [`person_record`] gathers every row a
//! CSS's zone holds about one student (right of access), and [`rekey`] recomputes every student
//! key with a new secret from the code permanent, in a new generation of the warehouse switched
//! at once.

mod check;
mod discover;
mod guard;
mod load;
mod marts;
mod night;
mod personne;
mod rekey;
mod retention;
mod status;

use std::path::PathBuf;
use std::sync::Arc;

use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_warehouse::Warehouse;
use tokio::task::JoinSet;

pub use check::{ProjectCheck, check_project};
pub use discover::{NightPlan, Planned, discover, fingerprint_inputs, same_inputs};
pub use guard::{
    Fall, RowsByYear, accept_drop_command, describe_drop, describe_drop_record, drop_lines, find_falls,
    parse_accept_drop, rows_by_year,
};
pub use load::{CssOutcome, CssStatus, EntityStat, SourceOutcome, StageTimes, TableStat, entities_fed, load_css};
pub use marts::{MartFailure, MartsOptions, MartsReport, compute_marts, project_fingerprint, rebuild_marts};
pub use night::{
    ExtractsOutcome, MartsOutcome, NightError, NightProgress, NightReport, NightRequest, Quiet, peak_rss_bytes,
    resolve_key, run_night,
};
pub use personne::{NOMINATIVE_MARTS, PersonExport, PersonFormat, PersonRecord, export_person, person_record};
pub use rekey::{RekeyError, RekeyOutcome, rekey, rotate_key};
pub use retention::{RetentionOutcome, RetentionRequest, retention};
pub use status::{StatusCheck, WarehouseStatus};

/// A failure of the pipeline for one CSS (or of the marts).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not an organisation of the ministry registry")]
    UnknownCss(String),
    #[error(
        "night {night} is older than night {loaded} already loaded for CSS {code_css}: refused, the previous state is kept (an older night would replace newer data); --allow-older-night loads it"
    )]
    OlderNight {
        code_css: String,
        night: String,
        loaded: String,
    },
    #[error("every source failed: {0}")]
    AllSourcesFailed(String),
    #[error("the dictionary has no entity {0}")]
    UnknownEntity(String),
    #[error("normalisation: {0}")]
    Transform(#[from] socle_transform::TransformError),
    #[error("warehouse: {0}")]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error("marts: {0}")]
    Marts(#[from] socle_marts::MartError),
    #[error("engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    #[error("quality report: {0}")]
    Json(serde_json::Error),
    #[error("rekey: {0}")]
    Rekey(#[from] RekeyError),
    #[error("{0}")]
    Other(String),
}

impl From<socle_session::SessionError> for PipelineError {
    fn from(e: socle_session::SessionError) -> Self {
        match e {
            socle_session::SessionError::Warehouse(e) => PipelineError::Warehouse(e),
            socle_session::SessionError::Reference(e) => PipelineError::Marts(e),
            socle_session::SessionError::DataFusion(e) => PipelineError::Engine(e),
            socle_session::SessionError::Cluster(e) => PipelineError::Other(format!("Ballista: {e}")),
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Reload a CSS even when its files are unchanged.
    pub force: bool,
    /// Rows per record batch in the connectors.
    pub batch_size: usize,
    /// Load a night older than the one already loaded (refused otherwise).
    pub allow_older_night: bool,
    /// Drops the operator accepts: (CSS, entity), published despite the drop guard.
    pub accept_drops: std::collections::BTreeSet<(String, String)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            force: false,
            batch_size: 65536,
            allow_older_night: false,
            accept_drops: Default::default(),
        }
    }
}

/// Everything a run shares across CSS. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    pub dictionary: Arc<Dictionary>,
    pub registry: Arc<Registry>,
    pub pseudonymiser: Arc<Pseudonymiser>,
    pub warehouse: Warehouse,
    pub run_id: String,
    pub options: LoadOptions,
}

impl Pipeline {
    /// Loads the planned CSS, `jobs` at a time, each in its own task; calls `done` as each
    /// finishes. Returns the outcomes in plan order.
    pub async fn load_all(
        &self,
        plan: Vec<Planned>,
        jobs: usize,
        mut done: impl FnMut(&CssOutcome),
    ) -> Vec<CssOutcome> {
        let jobs = jobs.max(1);
        let mut outcomes: Vec<Option<CssOutcome>> = vec![None; plan.len()];
        let mut tasks: JoinSet<(usize, CssOutcome)> = JoinSet::new();
        let mut names = Vec::with_capacity(plan.len());
        let mut queue = plan.into_iter().enumerate();
        loop {
            while tasks.len() < jobs {
                let Some((i, (css, night))) = queue.next() else {
                    break;
                };
                names.push((i, css.clone()));
                match night {
                    Err(reason) => {
                        let o = CssOutcome::failed(&css, "-", reason);
                        done(&o);
                        outcomes[i] = Some(o);
                    }
                    Ok(night) => {
                        let p = self.clone();
                        tasks.spawn(async move { (i, load_css(&p, &night).await) });
                    }
                }
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            match joined {
                Ok((i, o)) => {
                    done(&o);
                    outcomes[i] = Some(o);
                }
                Err(e) => {
                    // A panic in one CSS's task: that CSS failed, its previous state is kept
                    // (nothing was committed), and the others go on.
                    tracing::error!(error = %e, "a CSS task ended abnormally");
                }
            }
        }
        outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    let css = names
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map(|(_, c)| c.clone())
                        .unwrap_or_default();
                    CssOutcome::failed(&css, "-", "internal error: the CSS's task ended abnormally".into())
                })
            })
            .collect()
    }
}
