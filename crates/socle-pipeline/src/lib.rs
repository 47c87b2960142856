//! The nightly pipeline of Socle.
//!
//! For each CSS of an exports root (`<root>/<CSS code>/<YYYY-MM-DD>/{gpi,mozaik,jade,dofin}/`):
//! 1. **discover** its night ([`discover`]) and the sources it sent;
//! 2. skip it when its files are those already loaded (same SHA-256 as the manifest, same
//!    dictionary version and key): incremental nights cost one hash pass;
//! 3. **read** every source with its connector crate; a source that fails (missing file or
//!    column) does not stop the others;
//! 4. **normalise** all sources together into the one canonical model (`socle-transform`);
//! 5. **publish** atomically (`socle-warehouse`): a night replaces the school years it holds,
//!    tables fed by a failed source keep their previous state.
//!
//! CSS load in parallel ([`Pipeline::load_all`], `jobs` at a time), each in its own task: a CSS
//! that fails, even by a panic, is reported and the others go on. Then [`Pipeline::build_marts`]
//! rebuilds the marts over the shared zone.

mod discover;
mod load;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_warehouse::{Warehouse, Zone};
use tokio::task::JoinSet;

pub use discover::{NightPlan, Planned, discover, fingerprint_inputs, same_inputs};
pub use load::{CssOutcome, CssStatus, EntityStat, SourceOutcome, StageTimes, TableStat, entities_fed, load_css};

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
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Reload a CSS even when its files are unchanged.
    pub force: bool,
    /// Rows per record batch in the connectors.
    pub batch_size: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            force: false,
            batch_size: 65536,
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

    /// Rebuilds every mart over the shared zone and publishes them together. Returns each
    /// mart's name and row count.
    pub async fn build_marts(&self, marts: &[socle_marts::Mart]) -> Result<Vec<(String, usize)>, PipelineError> {
        let started = Instant::now();
        let schemas = self
            .dictionary
            .entities
            .iter()
            .map(|e| (e.name.clone(), e.shared_arrow_schema()))
            .collect();
        let ctx = self.warehouse.session(Zone::Shared, &schemas).await?;
        let built = socle_marts::build(marts, &ctx).await?;
        let summary: Vec<(String, usize)> = built
            .iter()
            .map(|(name, _, batches)| (name.clone(), batches.iter().map(|b| b.num_rows()).sum()))
            .collect();
        self.warehouse.publish_marts(&self.run_id, built)?;
        tracing::info!(
            marts = summary.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "marts published"
        );
        Ok(summary)
    }
}
