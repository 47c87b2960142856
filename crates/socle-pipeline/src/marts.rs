//! The marts stage: every model (intermediate models and marts) built as its YAML says, each
//! written to staging Parquet as it is built, then all published with one manifest swap.
//!
//! - **Execution.** A `source: shared` model of `execution: par_css` runs once per CSS, on a
//!   session whose shared tables hold only that CSS's files (the other CSS's files are not even
//!   opened), so its memory follows the largest CSS; a `province` model runs once over every
//!   CSS. Models run in waves: every `par_css` model whose inputs are ready, CSS by CSS (one
//!   session per CSS for the whole wave), then the `province` models whose inputs are ready,
//!   and so on. A `par_css` model reads a `province` model's rows of its CSS; a `province` model
//!   reads every CSS's rows of a `par_css` one. `source: css` models (and the `source: shared`
//!   intermediate models they read, built again in each CSS's zone) run in each CSS's zone.
//! - **Bounded memory.** Every session of the stage shares one runtime with a memory pool of
//!   `memoire_max` and a disk manager spilling under the run's staging folder
//!   ([`socle_warehouse::MartsTransaction::runtime`]). A model's rows are streamed from
//!   DataFusion into its file ([`socle_warehouse::MartWriter`]), never collected; the readers of
//!   a model read its files.
//! - **Grain.** Each file built is checked against the model's `unique_key`
//!   ([`socle_marts::check_unique_key`]).
//! - **Failures.** A model that fails (a repeated key, the memory limit, any engine error) and
//!   every model reading it keep their previous files; the others publish; the manifest records
//!   the failures (the run exits 2, and the next run tries them again).
//! - **Incremental.** The marts manifest records the CSS runs it was built from and a
//!   fingerprint of the pipelines. When the fingerprint is the same, a `par_css` model is rebuilt
//!   only for the CSS whose run changed (its other CSS's files are kept as they are), unless it
//!   reads a `province` model (whose rows of any CSS may change with another CSS) or a model
//!   rebuilt whole; `province` models are always rebuilt. `full` (`socle run --force`, a
//!   retention) rebuilds everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionContext, col, lit};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use socle_dictionary::Dictionary;
use socle_marts::{Execution, Mart, MartError, Project, Publication, Source};
use socle_session::ZoneSessions;
use socle_warehouse::{MartWriter, MartsTransaction, TableFiles, Warehouse, Zone};

use crate::PipelineError;

const CSS_COLUMN: &str = "code_css";
/// The name under which a model's new files are registered for its key check.
const KEY_CHECK_TABLE: &str = "socle_verification_cle";

/// How the marts stage runs.
#[derive(Debug, Clone, Default)]
pub struct MartsOptions {
    /// Rebuild every model for every CSS (`socle run --force`, after a retention), rather than
    /// only the CSS that changed.
    pub full: bool,
    /// CSS built at the same time by a `par_css` wave (default: the machine's cores), each query
    /// then on `cores / jobs` partitions. Memory stays bounded by `memoire_max`, shared by all.
    pub jobs: Option<usize>,
    /// `ballista://HOST:PORT`: the models' plans run on that Ballista cluster (their results
    /// still stream back here, to be written and published as always).
    pub engine: Option<String>,
}

/// A model that failed: it and the models reading it kept their previous files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MartFailure {
    pub name: String,
    pub reason: String,
}

/// What the marts stage did.
#[derive(Debug, Clone, Default)]
pub struct MartsReport {
    /// Each mart built (or kept whole) with its exact rows over every CSS.
    pub built: Vec<(String, u64)>,
    /// The models that failed, with why; also the models that read one (`reads X, which failed`).
    pub failed: Vec<MartFailure>,
    /// Every model was rebuilt for every CSS.
    pub full: bool,
    /// The CSS whose `par_css` rows were rebuilt (all of them when `full`).
    pub rebuilt_css: Vec<String>,
    /// Seconds spent on each model (every CSS's run of it together, the key check included),
    /// and in how many runs (one per CSS for `par_css`): where the stage's time goes.
    pub seconds: BTreeMap<String, (f64, u32)>,
}

/// What one CSS's run of a `par_css` wave gave: each model built (in build order) with its files
/// or why it failed, and the seconds it took.
struct CssOutcome<'a> {
    code: String,
    results: Vec<(&'a Mart, Result<Files, String>, f64)>,
}

/// Where a model's files are: the shared zone (`false`) or the CSS zones (`true`), and its name.
type Key = (bool, String);
/// A model's files by CSS (`None`: one file for every CSS, a `province` intermediate model).
type Files = BTreeMap<Option<String>, String>;

struct Engine<'a> {
    wh: &'a Warehouse,
    project: &'a Project,
    tx: MartsTransaction,
    limit: usize,
    /// The machine's cores and the CSS built at once (see [`MartsOptions::jobs`]).
    cores: usize,
    jobs: usize,
    codes: Vec<String>,
    /// The sessions of the stage: on its runtime, with the quarantine declared for a CSS that
    /// never had a quarantined row.
    sessions: ZoneSessions<'a>,
    full: bool,
    changed: BTreeSet<String>,
    /// The files of each model as of now: kept from the previous build, then this night's.
    outputs: BTreeMap<Key, Files>,
    /// Models rebuilt for every CSS this night.
    whole: BTreeSet<Key>,
    failed: BTreeMap<String, String>,
    /// Seconds and runs of each model (see [`MartsReport::seconds`]).
    seconds: BTreeMap<String, (f64, u32)>,
}

/// Rebuilds every mart in full outside a night (after retention removed school years: they are
/// gone from every CSS's rows, whatever the CSS runs say). Building marts reads the warehouse
/// and never pseudonymises: no key is needed.
pub async fn rebuild_marts(
    warehouse: &Warehouse,
    dictionary: Dictionary,
    project: &Project,
) -> Result<MartsReport, PipelineError> {
    let pipeline = crate::Pipeline {
        dictionary: Arc::new(dictionary),
        registry: Arc::new(socle_core::Registry::embedded().map_err(|e| PipelineError::Other(e.to_string()))?),
        pseudonymiser: Arc::new(socle_core::Pseudonymiser::demo()),
        warehouse: warehouse.clone(),
        run_id: socle_warehouse::new_run_id(),
        options: Default::default(),
    };
    pipeline
        .build_marts(
            project,
            MartsOptions {
                full: true,
                jobs: None,
                engine: None,
            },
        )
        .await
}

/// A fingerprint of the pipelines: every model's SQL and YAML, the seeds, the small-cell
/// threshold, and Socle's version (the engine that runs them). Another fingerprint means every
/// CSS's rows must be rebuilt.
pub fn project_fingerprint(project: &Project) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(project.config.seuil_petites_cellules.to_le_bytes());
    let mut file = |path: &std::path::Path| {
        h.update(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        h.update(std::fs::read(path).unwrap_or_default());
    };
    for m in project.models() {
        file(&m.yaml_path);
        file(&m.sql_path);
    }
    for s in &project.seeds {
        file(&s.yaml_path);
        file(&s.csv_path);
    }
    hex::encode(&h.finalize()[..16])
}

impl crate::Pipeline {
    /// The marts stage of a night: builds every mart (and the intermediate models they read) as
    /// the module says and publishes them with one manifest swap. A model that fails does not
    /// stop the others: it is in the report, and keeps its previous files with the models
    /// reading it. Errors are those of the warehouse (nothing is published then).
    pub async fn build_marts(&self, project: &Project, options: MartsOptions) -> Result<MartsReport, PipelineError> {
        let started = std::time::Instant::now();
        let all: Vec<&Mart> = project.marts.iter().collect();
        let engine = Engine::begin(&self.warehouse, &self.dictionary, project, &self.run_id, &options)?;
        let (engine, mut report) = engine.run(&all).await?;
        let failed: BTreeMap<String, String> = engine.failed.clone();
        let css_runs = engine.css_runs()?;
        let hash = Some(project_fingerprint(project));
        // Models no longer read by any mart are not listed: their files go at commit.
        let tx = engine.finish(&all, &mut report)?;
        tx.commit(css_runs, failed, hash)?;
        tracing::info!(
            marts = report.built.len(),
            failed = report.failed.len(),
            full = report.full,
            rebuilt_css = report.rebuilt_css.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "marts stage done"
        );
        Ok(report)
    }
}

/// Computes `marts` (and the models they read) exactly as the night's marts stage does, every
/// CSS rebuilt, into a staging folder that is then dropped: nothing is published. What `socle
/// bench queries` times.
pub async fn compute_marts(
    warehouse: &Warehouse,
    dictionary: &Dictionary,
    project: &Project,
    marts: &[&Mart],
) -> Result<MartsReport, PipelineError> {
    let run_id = socle_warehouse::new_run_id();
    let selected: Vec<&Mart> = marts.iter().copied().filter(|m| !m.is_intermediate()).collect();
    let options = MartsOptions {
        full: true,
        jobs: None,
        engine: None,
    };
    let engine = Engine::begin(warehouse, dictionary, project, &run_id, &options)?;
    let (engine, mut report) = engine.run(&selected).await?;
    let _tx = engine.finish(&selected, &mut report)?;
    Ok(report)
}

impl<'a> Engine<'a> {
    fn begin(
        wh: &'a Warehouse,
        dictionary: &Dictionary,
        project: &'a Project,
        run_id: &str,
        options: &MartsOptions,
    ) -> Result<Self, PipelineError> {
        let full = options.full;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let jobs = options.jobs.unwrap_or(cores).max(1);
        let limit = project.config.memory_limit().map_err(|e| MartError::Invalid {
            path: project.root.join("config.yaml"),
            message: format!("memoire_max: {e}"),
        })?;
        let mut tx = wh.begin_marts(run_id)?;
        if options.engine.is_some() {
            // The cluster's executors read each model's files: not from this machine's staging.
            tx.write_in_place();
        }
        let runtime = tx.runtime(limit)?;
        let manifests = wh.manifests()?;
        let codes: Vec<String> = manifests.iter().map(|m| m.code_css.clone()).collect();
        // The night of each CSS (`nuits`, from the manifests): what the marts mean by "as of"
        // (never the wall clock).
        let sessions = ZoneSessions::new(wh, Some(dictionary))?
            .with_project(project)
            .with_runtime(runtime)
            .with_engine(options.engine.as_deref())
            .with_schema(socle_warehouse::QUARANTINE, socle_transform::quarantine_schema());
        let hash = project_fingerprint(project);
        let previous = tx.previous();
        let full =
            full || previous.is_none_or(|p| p.project_hash.as_deref() != Some(hash.as_str()) || p.css_runs.is_empty());
        let changed: BTreeSet<String> = manifests
            .iter()
            .filter(|m| full || previous.is_none_or(|p| p.css_runs.get(&m.code_css) != Some(&m.run_id)))
            .map(|m| m.code_css.clone())
            .collect();
        tracing::info!(
            full,
            changed = changed.len(),
            css = codes.len(),
            memory_limit = limit,
            "marts stage begun"
        );
        Ok(Engine {
            wh,
            project,
            tx,
            limit,
            cores,
            jobs,
            codes,
            sessions,
            full,
            changed,
            outputs: BTreeMap::new(),
            whole: BTreeSet::new(),
            failed: BTreeMap::new(),
            seconds: BTreeMap::new(),
        })
    }

    /// The CSS runs the marts are now built from.
    fn css_runs(&self) -> Result<BTreeMap<String, String>, PipelineError> {
        Ok(self
            .wh
            .manifests()?
            .into_iter()
            .filter(|m| self.codes.contains(&m.code_css))
            .map(|m| (m.code_css, m.run_id))
            .collect())
    }

    /// Builds `marts` and the models they read, zone by zone.
    async fn run(mut self, marts: &[&Mart]) -> Result<(Self, MartsReport), PipelineError> {
        // Which models each zone needs: the marts of its source and what they read.
        let mut shared: BTreeSet<String> = BTreeSet::new();
        let mut css: BTreeSet<String> = BTreeSet::new();
        for m in marts {
            let needs = if m.spec.source == Source::Shared {
                &mut shared
            } else {
                &mut css
            };
            needs.extend(
                self.project
                    .with_dependencies(&m.spec.name)
                    .iter()
                    .map(|d| d.spec.name.clone()),
            );
        }
        // A `source: shared` intermediate model the shared zone builds anyway is not built again
        // in each CSS's zone: its rows of a CSS are the same in both zones (same rows, shared
        // columns only), so the CSS zone reads the shared zone's files of that CSS
        // (`register_output`).
        css.retain(|name| {
            !(shared.contains(name)
                && self
                    .project
                    .model(name)
                    .is_some_and(|m| m.is_intermediate() && m.spec.source == Source::Shared))
        });
        let in_order = |names: &BTreeSet<String>| -> Vec<&'a Mart> {
            self.project.models().filter(|m| names.contains(&m.spec.name)).collect()
        };
        let shared_models = in_order(&shared);
        let css_models = in_order(&css);
        self.shared_zone(shared_models).await?;
        if !css_models.is_empty() {
            self.per_css(&css_models, true).await?;
        }
        let report = MartsReport {
            built: Vec::new(),
            failed: self
                .failed
                .iter()
                .map(|(name, reason)| MartFailure {
                    name: name.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            full: self.full,
            rebuilt_css: self.changed.iter().cloned().collect(),
            seconds: std::mem::take(&mut self.seconds),
        };
        Ok((self, report))
    }

    /// The shared zone's models in waves (see the module).
    async fn shared_zone(&mut self, models: Vec<&'a Mart>) -> Result<(), PipelineError> {
        let mut pending = models;
        let mut done: BTreeSet<String> = BTreeSet::new();
        while !pending.is_empty() {
            let mut wave: Vec<&Mart> = Vec::new();
            for m in &pending {
                let ready = m.depends_on.iter().all(|d| {
                    done.contains(d)
                        || wave.iter().any(|w| &w.spec.name == d)
                        || !pending.iter().any(|p| &p.spec.name == d)
                });
                if m.spec.execution == Execution::ParCss && ready {
                    wave.push(m);
                }
            }
            if wave.is_empty() {
                let ready: Vec<&Mart> = pending
                    .iter()
                    .copied()
                    .filter(|m| {
                        m.depends_on
                            .iter()
                            .all(|d| done.contains(d) || !pending.iter().any(|p| &p.spec.name == d))
                    })
                    .collect();
                if ready.is_empty() {
                    break; // A cycle: `socle check` reports it; nothing more can run.
                }
                for m in ready {
                    self.province(m).await?;
                    done.insert(m.spec.name.clone());
                }
            } else {
                self.per_css(&wave, false).await?;
                done.extend(wave.iter().map(|m| m.spec.name.clone()));
            }
            pending.retain(|m| !done.contains(&m.spec.name));
        }
        Ok(())
    }

    /// Records that `m` failed (once, with the first reason).
    fn fail(&mut self, m: &Mart, css_zone: bool, reason: String) {
        tracing::error!(model = %m.spec.name, reason = %reason, "model failed: it and the models reading it keep their previous files");
        if let Some(files) = self.outputs.remove(&(css_zone, m.spec.name.clone())) {
            let staged: Vec<String> = files.into_values().collect();
            self.tx.discard(&staged);
        }
        self.failed.entry(m.spec.name.clone()).or_insert(reason);
    }

    /// A model `m` reads that failed, if any.
    fn failed_input(&self, m: &Mart) -> Option<String> {
        m.depends_on.iter().find(|d| self.failed.contains_key(*d)).cloned()
    }

    /// The previous build's files of `m` in a zone, unless it failed then or there is none.
    fn previous_files(&self, css_zone: bool, m: &Mart) -> Option<Files> {
        let prev = self.tx.previous()?;
        if prev.failed.contains_key(&m.spec.name) {
            return None;
        }
        let files = if m.is_intermediate() {
            let t = prev.intermediates.get(&m.spec.name)?;
            if css_zone { &t.css_files } else { &t.shared_files }
        } else {
            &prev.marts.get(&m.spec.name)?.css_files
        };
        Some(
            files
                .iter()
                .map(|f| (socle_warehouse::file_css(f).map(str::to_string), f.clone()))
                .collect(),
        )
    }

    /// The files of model `d` as seen from a zone: its own, or for a CSS zone the shared zone's
    /// files of a shared intermediate model built only there (see `run`).
    fn outputs_of(&self, css_zone: bool, d: &Mart) -> Option<&Files> {
        self.outputs.get(&(css_zone, d.spec.name.clone())).or_else(|| {
            (css_zone && d.is_intermediate() && d.spec.source == Source::Shared)
                .then(|| self.outputs.get(&(false, d.spec.name.clone())))
                .flatten()
        })
    }

    /// The CSS `m` must be built for this night (see the module), and its files kept for the
    /// others.
    fn plan(&mut self, m: &Mart, css_zone: bool) -> BTreeSet<String> {
        let key = (css_zone, m.spec.name.clone());
        let previous = self.previous_files(css_zone, m);
        let reads_province = m.depends_on.iter().any(|d| {
            self.project
                .model(d)
                .is_some_and(|d| d.spec.execution == Execution::Province && !css_zone)
        });
        // A model read from the shared zone (a shared intermediate model, see `run`) counts
        // with its shared zone's rebuild.
        let reads_whole = m.depends_on.iter().any(|d| {
            self.whole.contains(&(css_zone, d.clone())) || (css_zone && self.whole.contains(&(false, d.clone())))
        });
        let whole = self.full || previous.is_none() || reads_province || reads_whole;
        let previous = previous.unwrap_or_default();
        let build: BTreeSet<String> = self
            .codes
            .iter()
            .filter(|c| whole || self.changed.contains(*c) || !previous.contains_key(&Some((*c).clone())))
            .cloned()
            .collect();
        if build.len() == self.codes.len() {
            self.whole.insert(key.clone());
        }
        let kept: Files = previous
            .into_iter()
            .filter(|(c, _)| c.as_ref().is_some_and(|c| self.codes.contains(c) && !build.contains(c)))
            .collect();
        self.outputs.insert(key, kept);
        build
    }

    /// A session of `zone` (restricted to `only_css` in the shared zone) on the stage's
    /// runtime, with the reference tables and the nights; its queries on `partitions` cores
    /// (`None`: all of them).
    async fn session(
        &self,
        zone: &Zone,
        only_css: Option<&str>,
        partitions: Option<usize>,
    ) -> Result<SessionContext, PipelineError> {
        let how = socle_session::Open {
            tables: socle_session::Tables::Canonical,
            only_css,
            partitions,
        };
        Ok(self.sessions.open_with(zone, &how).await?)
    }

    /// Registers model `d`'s rows in `ctx` under its name: those of CSS `code`, or of every CSS.
    async fn register_output(
        &self,
        ctx: &SessionContext,
        d: &Mart,
        css_zone: bool,
        code: Option<&str>,
    ) -> Result<(), PipelineError> {
        let Some(files) = self.outputs_of(css_zone, d) else {
            return Ok(());
        };
        let (rels, filter): (Vec<&String>, Option<&str>) = match code {
            Some(c) => match files.get(&Some(c.to_string())) {
                Some(f) => (vec![f], None),
                None => (files.values().collect(), Some(c)),
            },
            None => (files.values().collect(), None),
        };
        self.register_files(ctx, d, &rels, filter).await
    }

    /// Registers files `rels` of model `d` in `ctx` under its name, only the rows of CSS
    /// `filter` if given. A mart's `cellule_supprimee` is left out: readers see the rows the SQL
    /// produced.
    async fn register_files(
        &self,
        ctx: &SessionContext,
        d: &Mart,
        rels: &[&String],
        filter: Option<&str>,
    ) -> Result<(), PipelineError> {
        let paths: Vec<PathBuf> = rels.iter().map(|r| self.tx.path(r)).collect();
        ctx.deregister_table(d.spec.name.as_str())?;
        if paths.is_empty() {
            return Ok(());
        }
        let provider = socle_warehouse::parquet_table(ctx, &paths).await?;
        let mut df = ctx.read_table(provider)?;
        if d.spec.publication == Publication::Shared {
            let cols: Vec<&str> = d.spec.columns.iter().map(|c| c.name.as_str()).collect();
            df = df.select_columns(&cols)?;
        }
        if let Some(c) = filter {
            df = df.filter(col(CSS_COLUMN).eq(lit(c)))?;
        }
        ctx.register_table(d.spec.name.as_str(), df.into_view())?;
        Ok(())
    }

    /// Runs `models` (`par_css`, in build order) CSS by CSS: in the shared zone restricted to
    /// each CSS, or (`css_zone`) in each CSS's own zone. `jobs` CSS at a time, each on its own
    /// thread, its queries on `cores / jobs` partitions: many small queries on one core each
    /// keep the cores busier than each query split over every core (a query's plan on one
    /// partition has no repartitioning). A model that fails for one CSS fails whole, with the
    /// models of the wave reading it.
    async fn per_css(&mut self, models: &[&'a Mart], css_zone: bool) -> Result<(), PipelineError> {
        let mut plans: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for m in models {
            if let Some(d) = self.failed_input(m) {
                self.fail(m, css_zone, format!("lit {d}, qui a échoué / reads {d}, which failed"));
                continue;
            }
            let plan = self.plan(m, css_zone);
            plans.insert(m.spec.name.clone(), plan);
        }
        let work: Vec<(String, Vec<&'a Mart>)> = self
            .codes
            .iter()
            .map(|code| {
                let here: Vec<&'a Mart> = models
                    .iter()
                    .copied()
                    .filter(|m| plans.get(&m.spec.name).is_some_and(|p| p.contains(code)))
                    .collect();
                (code.clone(), here)
            })
            .filter(|(_, here)| !here.is_empty())
            .collect();
        let jobs = self.jobs.min(work.len()).max(1);
        let outcomes = if jobs == 1 {
            let mut outcomes = Vec::with_capacity(work.len());
            for (code, here) in &work {
                outcomes.push(self.one_css(code, here, models, css_zone, None).await?);
            }
            outcomes
        } else {
            let partitions = (self.cores / jobs).max(1);
            let this: &Self = self;
            let run = || this.css_concurrently(&work, models, css_zone, jobs, partitions);
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                // The threads below wait on this one: let the runtime move its other tasks.
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
                _ => run(),
            }?
        };
        // Failures first, so that a model failed for one CSS drops the files of the others.
        for outcome in &outcomes {
            for (m, result, _) in &outcome.results {
                if let Err(reason) = result {
                    self.fail(m, css_zone, format!("{}: {reason}", outcome.code));
                }
            }
        }
        for outcome in outcomes {
            for (m, result, seconds) in outcome.results {
                let spent = self.seconds.entry(m.spec.name.clone()).or_default();
                spent.0 += seconds;
                spent.1 += 1;
                let Ok(files) = result else { continue };
                if self.failed.contains_key(&m.spec.name) {
                    self.tx.discard(&files.into_values().collect::<Vec<_>>());
                } else if let Some(out) = self.outputs.get_mut(&(css_zone, m.spec.name.clone())) {
                    out.extend(files);
                }
            }
        }
        for m in models {
            if !self.failed.contains_key(&m.spec.name)
                && let Some(d) = self.failed_input(m)
            {
                self.fail(m, css_zone, format!("lit {d}, qui a échoué / reads {d}, which failed"));
            }
        }
        Ok(())
    }

    /// [`Engine::one_css`] for every CSS of `work`, `jobs` threads each taking the next CSS, each
    /// with its own single-threaded runtime (the stage's memory pool is shared by all).
    fn css_concurrently(
        &self,
        work: &[(String, Vec<&'a Mart>)],
        models: &[&'a Mart],
        css_zone: bool,
        jobs: usize,
        partitions: usize,
    ) -> Result<Vec<CssOutcome<'a>>, PipelineError> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let outcomes: std::sync::Mutex<Vec<(usize, CssOutcome<'a>)>> = std::sync::Mutex::new(Vec::new());
        let first_error: std::sync::Mutex<Option<PipelineError>> = std::sync::Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(r) => r,
                        Err(e) => {
                            lock(&first_error).get_or_insert(PipelineError::Engine(e.into()));
                            return;
                        }
                    };
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some((code, here)) = work.get(i) else { break };
                        if lock(&first_error).is_some() {
                            break;
                        }
                        match runtime.block_on(self.one_css(code, here, models, css_zone, Some(partitions))) {
                            Ok(outcome) => lock(&outcomes).push((i, outcome)),
                            Err(e) => {
                                lock(&first_error).get_or_insert(e);
                                break;
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            return Err(e);
        }
        let mut outcomes = outcomes.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        outcomes.sort_by_key(|(i, _)| *i);
        Ok(outcomes.into_iter().map(|(_, o)| o).collect())
    }

    /// Builds `here` (the models of the wave `models` this CSS needs, in build order) for CSS
    /// `code`, on one session. Reads the models built before the wave (or kept) from the
    /// engine's files, and those of the wave from the files just built. A model failing skips
    /// the models reading it. Errors are the warehouse's (the stage stops).
    async fn one_css(
        &self,
        code: &str,
        here: &[&'a Mart],
        models: &[&'a Mart],
        css_zone: bool,
        partitions: Option<usize>,
    ) -> Result<CssOutcome<'a>, PipelineError> {
        let zone = if css_zone {
            Zone::Css(code.to_string())
        } else {
            Zone::Shared
        };
        let ctx = self.session(&zone, (!css_zone).then_some(code), partitions).await?;
        let mut registered: BTreeSet<String> = BTreeSet::new();
        for m in models {
            for d in &m.depends_on {
                if let Some(dm) = self.project.model(d)
                    && registered.insert(d.clone())
                {
                    self.register_output(&ctx, dm, css_zone, Some(code)).await?;
                }
            }
        }
        let mut outcome = CssOutcome {
            code: code.to_string(),
            results: Vec::with_capacity(here.len()),
        };
        let mut failed_here: BTreeSet<&str> = BTreeSet::new();
        for m in here {
            if self.failed.contains_key(&m.spec.name) {
                continue;
            }
            if let Some(d) = m.depends_on.iter().find(|d| failed_here.contains(d.as_str())) {
                failed_here.insert(&m.spec.name);
                let reason = format!("lit {d}, qui a échoué / reads {d}, which failed");
                outcome.results.push((m, Err(reason), 0.0));
                continue;
            }
            let (result, seconds) = self.run_model(&ctx, m, css_zone, Some(code)).await;
            if let Ok(files) = &result {
                let rels: Vec<&String> = files.values().collect();
                self.register_files(&ctx, m, &rels, None).await?;
            } else {
                failed_here.insert(&m.spec.name);
            }
            outcome.results.push((m, result, seconds));
        }
        Ok(outcome)
    }

    /// Runs a `province` model once over the shared zone.
    async fn province(&mut self, m: &'a Mart) -> Result<(), PipelineError> {
        if let Some(d) = self.failed_input(m) {
            self.fail(m, false, format!("lit {d}, qui a échoué / reads {d}, which failed"));
            return Ok(());
        }
        let ctx = self.session(&Zone::Shared, None, None).await?;
        for d in &m.depends_on {
            if let Some(dm) = self.project.model(d) {
                self.register_output(&ctx, dm, false, None).await?;
            }
        }
        let key = (false, m.spec.name.clone());
        self.whole.insert(key.clone());
        self.outputs.insert(key.clone(), Files::new());
        let (result, seconds) = self.run_model(&ctx, m, false, None).await;
        let spent = self.seconds.entry(m.spec.name.clone()).or_default();
        spent.0 += seconds;
        spent.1 += 1;
        match result {
            Ok(files) => {
                self.outputs.insert(key, files);
            }
            Err(reason) => self.fail(m, false, reason),
        }
        Ok(())
    }

    /// Runs `m` on `ctx` and streams its rows into staged files: one for CSS `code` (a
    /// `par_css` run), or (a `province` run) one per CSS for a mart, one for an intermediate
    /// model. Then checks the grain. Any failure is the model's (a message), its files discarded.
    /// With the seconds it took.
    async fn run_model(
        &self,
        ctx: &SessionContext,
        m: &Mart,
        css_zone: bool,
        code: Option<&str>,
    ) -> (Result<Files, String>, f64) {
        let started = std::time::Instant::now();
        let mut files = Files::new();
        let result = self.stream_model(ctx, m, css_zone, code, &mut files).await;
        let result = match result {
            Ok(()) => self.check_key(ctx, m, &files).await,
            Err(e) => Err(e),
        };
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                tracing::debug!(model = %m.spec.name, code_css = code.unwrap_or("*"), elapsed_ms = started.elapsed().as_millis() as u64, "model built");
                (Ok(files), seconds)
            }
            Err(e) => {
                let staged: Vec<String> = files.into_values().collect();
                self.tx.discard(&staged);
                (Err(e), seconds)
            }
        }
    }

    async fn stream_model(
        &self,
        ctx: &SessionContext,
        m: &Mart,
        css_zone: bool,
        code: Option<&str>,
        files: &mut Files,
    ) -> Result<(), String> {
        let engine = |e| MartError::of_engine(m, self.limit, e).to_string();
        let df = ctx.sql(&m.sql).await.map_err(engine)?;
        let schema = socle_marts::output_schema(df.schema().as_arrow());
        let has_css = schema.index_of(CSS_COLUMN).is_ok();
        if !m.is_intermediate() && !has_css {
            return Err(format!(
                "{}: un mart a une colonne code_css / a mart has a code_css column",
                m.spec.name
            ));
        }
        let threshold = self.project.config.seuil_petites_cellules;
        let flagged = m.spec.publication == Publication::Shared;
        let file_schema = if flagged {
            socle_marts::flagged_schema(&schema)
        } else {
            schema.clone()
        };
        let rules = &m.spec.suppression;
        let transform = |b: &RecordBatch| -> Result<RecordBatch, String> {
            let b = socle_marts::conform(b, &schema).map_err(|e| format!("{}: {e}", m.spec.name))?;
            if flagged {
                socle_marts::flag(rules, threshold, &b).map_err(|e| format!("{}: {e}", m.spec.name))
            } else {
                Ok(b)
            }
        };
        let run = self.tx.run_id().to_string();
        let name = m.spec.name.as_str();
        let werr = |e: socle_warehouse::WarehouseError| format!("{name}: {e}");
        match code {
            Some(c) => {
                let rel = if m.is_intermediate() {
                    if css_zone {
                        socle_warehouse::intermediate_file(name, Some(c), None, &run)
                    } else {
                        socle_warehouse::intermediate_file(name, None, Some(c), &run)
                    }
                } else {
                    socle_warehouse::mart_css_file(name, c, &run)
                };
                let mut writer = self.tx.create(&rel, file_schema).map_err(werr)?;
                files.insert(Some(c.to_string()), rel);
                let mut stream = df.execute_stream().await.map_err(engine)?;
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(engine)?;
                    if has_css {
                        let foreign = rows_of_other_css(&batch, c).map_err(|e| format!("{name}: {e}"))?;
                        if foreign > 0 {
                            return Err(format!(
                                "{name}: exécuté pour le CSS {c} (par_css), le modèle donne {foreign} ligne(s) d'un autre CSS ou sans code_css / run for CSS {c}, it gives rows of another CSS: declare it `execution: province`"
                            ));
                        }
                    }
                    writer.write(&transform(&batch)?).map_err(werr)?;
                }
                writer.finish().map_err(werr)?;
            }
            None if m.is_intermediate() => {
                let rel = socle_warehouse::intermediate_file(name, None, None, &run);
                let mut writer = self.tx.create(&rel, file_schema).map_err(werr)?;
                files.insert(None, rel);
                let mut stream = df.execute_stream().await.map_err(engine)?;
                while let Some(batch) = stream.next().await {
                    writer.write(&transform(&batch.map_err(engine)?)?).map_err(werr)?;
                }
                writer.finish().map_err(werr)?;
            }
            None => {
                // Sorted by CSS (a sort spills to disk under the memory limit), each CSS's rows
                // go to that CSS's file as they come. The order is not relied upon: a CSS whose
                // rows come back later gets them in its open file, as another row group (the
                // file left ends its row group, so its rows are on disk, not in memory).
                let df = df.sort(vec![col(CSS_COLUMN).sort(true, false)]).map_err(engine)?;
                let mut stream = df.execute_stream().await.map_err(engine)?;
                let mut writers: BTreeMap<String, MartWriter> = BTreeMap::new();
                let mut current: Option<String> = None;
                while let Some(batch) = stream.next().await {
                    let batch = transform(&batch.map_err(engine)?)?;
                    for (c, part) in runs_by_css(&batch).map_err(|e| format!("{name}: {e}"))? {
                        let Some(c) = c else {
                            return Err(format!("{name}: des lignes sans code_css / rows without a code_css"));
                        };
                        if current.as_ref() != Some(&c) {
                            if let Some(w) = current.take().and_then(|left| writers.get_mut(&left)) {
                                w.end_row_group().map_err(werr)?;
                            }
                            if !self.codes.contains(&c) {
                                return Err(format!(
                                    "{name}: des lignes du CSS {c}, qui n'a pas de zone dans l'entrepôt / rows of CSS {c}, which has no zone in the warehouse"
                                ));
                            }
                            if !writers.contains_key(&c) {
                                let rel = socle_warehouse::mart_css_file(name, &c, &run);
                                let w = self.tx.create(&rel, file_schema.clone()).map_err(werr)?;
                                files.insert(Some(c.clone()), rel);
                                writers.insert(c.clone(), w);
                            }
                            current = Some(c.clone());
                        }
                        if let Some(w) = writers.get_mut(&c) {
                            w.write(&part).map_err(werr)?;
                        }
                    }
                }
                for (_, w) in writers {
                    w.finish().map_err(werr)?;
                }
                // Every CSS's zone gets the mart, if only empty.
                for c in self.codes.clone() {
                    if !files.contains_key(&Some(c.clone())) {
                        let rel = socle_warehouse::mart_css_file(name, &c, &run);
                        let w = self.tx.create(&rel, file_schema.clone()).map_err(werr)?;
                        files.insert(Some(c), rel);
                        w.finish().map_err(werr)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The grain check of `m` over its new `files`.
    async fn check_key(&self, ctx: &SessionContext, m: &Mart, files: &Files) -> Result<(), String> {
        if files.is_empty() || m.spec.unique_key.is_empty() {
            return Ok(());
        }
        let engine = |e| MartError::of_engine(m, self.limit, e).to_string();
        let paths: Vec<PathBuf> = files.values().map(|r| self.tx.path(r)).collect();
        let provider = socle_warehouse::parquet_table(ctx, &paths)
            .await
            .map_err(|e| format!("{}: {e}", m.spec.name))?;
        ctx.deregister_table(KEY_CHECK_TABLE).map_err(engine)?;
        ctx.register_table(KEY_CHECK_TABLE, provider).map_err(engine)?;
        let checked = socle_marts::check_unique_key(m, ctx, KEY_CHECK_TABLE).await;
        let _ = ctx.deregister_table(KEY_CHECK_TABLE);
        checked.map_err(|e| match e {
            MartError::Engine { source, .. } => MartError::of_engine(m, self.limit, source).to_string(),
            e => e.to_string(),
        })
    }

    /// Sets every model's files in the transaction (a failed model keeps its previous files),
    /// writes the shared zone's file of each `publication: shared` mart from its CSS files, and
    /// fills the report's marts.
    fn finish(mut self, marts: &[&Mart], report: &mut MartsReport) -> Result<MartsTransaction, PipelineError> {
        let previous = self.tx.previous().cloned().unwrap_or_default();
        let threshold = self.project.config.seuil_petites_cellules;
        let run = self.tx.run_id().to_string();
        for m in self.project.intermediates.iter() {
            let name = &m.spec.name;
            if self.failed.contains_key(name) {
                if let Some(prev) = previous.intermediates.get(name) {
                    self.tx.set_intermediate(name, prev.clone());
                }
                continue;
            }
            let shared = self.outputs.get(&(false, name.clone()));
            let css = self.outputs.get(&(true, name.clone()));
            if shared.is_none() && css.is_none() {
                continue;
            }
            let mut files = TableFiles::default();
            for f in shared.iter().flat_map(|f| f.values()) {
                files.rows += self.tx.rows(f)?;
                files.shared_files.push(f.clone());
            }
            for f in css.iter().flat_map(|f| f.values()) {
                files.rows += self.tx.rows(f)?;
                files.css_files.push(f.clone());
            }
            self.tx.set_intermediate(name, files);
        }
        for m in marts {
            let name = &m.spec.name;
            if self.failed.contains_key(name) {
                if let Some(prev) = previous.marts.get(name) {
                    self.tx.set_mart(name, prev.clone());
                }
                continue;
            }
            let key = (m.spec.source == Source::Css, name.clone());
            let Some(out) = self.outputs.get(&key) else {
                continue;
            };
            let mut files = TableFiles::default();
            for code in &self.codes {
                if let Some(f) = out.get(&Some(code.clone())) {
                    files.rows += self.tx.rows(f)?;
                    files.css_files.push(f.clone());
                }
            }
            if m.spec.publication == Publication::Shared && !files.css_files.is_empty() {
                let rel = socle_warehouse::mart_shared_file(name, &run);
                let rules = m.spec.suppression.clone();
                self.tx.write_from(&rel, &files.css_files.clone(), move |b| {
                    // The CSS files hold the exact rows with their flag: suppress from the rows.
                    let exact = b.project(&(0..b.num_columns().saturating_sub(1)).collect::<Vec<_>>())?;
                    socle_marts::suppress(&rules, threshold, &exact)
                })?;
                files.shared_files.push(rel);
            }
            report.built.push((name.clone(), files.rows));
            self.tx.set_mart(name, files);
        }
        Ok(self.tx)
    }
}

/// The value behind `m`, even if a thread panicked holding it (each change of the values locked
/// here is a single push or insert: never half done).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Rows of `batch` whose `code_css` is not `code` (or is null).
fn rows_of_other_css(batch: &RecordBatch, code: &str) -> Result<usize, datafusion::arrow::error::ArrowError> {
    let i = batch.schema().index_of(CSS_COLUMN)?;
    let codes = cast(batch.column(i), &DataType::Utf8)?;
    let Some(codes) = codes.as_any().downcast_ref::<StringArray>() else {
        return Ok(batch.num_rows());
    };
    Ok(codes.iter().filter(|c| *c != Some(code)).count())
}

/// The consecutive runs of one `code_css` in `batch` (sorted by it), as slices.
fn runs_by_css(
    batch: &RecordBatch,
) -> Result<Vec<(Option<String>, RecordBatch)>, datafusion::arrow::error::ArrowError> {
    let i = batch.schema().index_of(CSS_COLUMN)?;
    let codes = cast(batch.column(i), &DataType::Utf8)?;
    let Some(codes) = codes.as_any().downcast_ref::<StringArray>() else {
        return Ok(vec![(None, batch.clone())]);
    };
    let mut out = Vec::new();
    let mut start = 0;
    for row in 1..=codes.len() {
        let value = |r: usize| codes.is_valid(r).then(|| codes.value(r));
        if row == codes.len() || value(row) != value(start) {
            out.push((value(start).map(str::to_string), batch.slice(start, row - start)));
            start = row;
        }
    }
    Ok(out)
}
