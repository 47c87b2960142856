//! The night as one call: [`run_night`] validates the dictionary and the pipelines, takes the
//! warehouse's run lock, discovers each CSS's night, loads the CSS (`jobs` at a time), rebuilds
//! the marts when they are not current, builds the extracts if asked, and returns a
//! [`NightReport`]: what `socle run` prints ([`std::fmt::Display`]), its exit status
//! ([`NightReport::exit_status`]) and its figures as JSON ([`NightReport::summary_json`], what
//! `benches/bench.py` reads).
//!
//! Exit status: 0 every CSS published or unchanged; 2 some CSS or source failed or was held by the
//! drop guard, a mart failed, or an extract unit was refused; 1 nothing published (usage errors
//! and a warehouse locked by another run are errors, not reports).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_warehouse::Warehouse;

use crate::{
    CssOutcome, CssStatus, LoadOptions, MartFailure, MartsOptions, Pipeline, PipelineError, discover, drop_lines,
    parse_accept_drop, project_fingerprint,
};

/// What a night is asked to do: the options of `socle run`, defined here once.
#[derive(clap::Args)]
pub struct NightRequest {
    /// Exports root: `<exports>/<css>/<YYYY-MM-DD>/{gpi,mozaik,jade,dofin}/`.
    #[arg(long, default_value = "fixtures/exports")]
    pub exports: PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    pub warehouse: PathBuf,
    /// Night to load (YYYY-MM-DD); default: the latest night folder of each CSS.
    #[arg(long)]
    pub night: Option<String>,
    /// Load only these CSS (default: every CSS folder of the exports root).
    #[arg(long, num_args = 1..)]
    pub css: Vec<String>,
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// File holding the pseudonymisation secret (else env SOCLE_PSEUDO_KEY_FILE or SOCLE_PSEUDO_KEY).
    #[arg(long, env = "SOCLE_PSEUDO_KEY_FILE")]
    pub pseudo_key_file: Option<PathBuf>,
    /// Use the public demo key (synthetic data only). Implied for the committed fixtures.
    #[arg(long)]
    pub demo_key: bool,
    /// CSS loaded at the same time, and CSS whose marts are built at the same time (default: the
    /// number of cores). Memory grows with it (the marts stay under `memoire_max`).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Reload a CSS even when its export files are those already loaded (and rebuild every mart
    /// in full).
    #[arg(long)]
    pub force: bool,
    /// Accept a drop the guard holds: publish ENTITY of CSS although its rows fell (repeatable,
    /// e.g. --accept-drop 866000:absence). Recorded in the CSS's manifest.
    #[arg(long, value_name = "CSS:ENTITY")]
    pub accept_drop: Vec<String>,
    /// Load a night older than the one already loaded for a CSS (refused otherwise).
    #[arg(long)]
    pub allow_older_night: bool,
    /// Then build every extract of `pipelines/extracts/` (each CSS, the most recent school year
    /// of each source) into `<warehouse>/extracts/`; a refused unit makes the exit status 2.
    #[arg(long)]
    pub extracts: bool,
    /// Minutes the files this night replaces are kept before they are deleted, so that a query
    /// of `socle serve` (or a long `socle query`) planned just before the night published
    /// finishes on them; 0 deletes them at once.
    #[arg(long, value_name = "MINUTES", default_value_t = 10)]
    pub keep_replaced_minutes: u64,
    /// Days the files this night replaces are kept for time travel (`socle query --as-of`,
    /// `socle history`) before a later run or `socle vacuum` deletes them; 0 keeps them only
    /// for `--keep-replaced-minutes`.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub retain_days: u64,
    /// Build the marts on a Ballista cluster (`ballista://HOST:PORT`: `socle scheduler` and its
    /// `socle executor`s) instead of in this process. The normalisation stays here.
    #[arg(long, value_name = "ballista://HOST:PORT")]
    pub engine: Option<String>,
    /// The command line, recorded in the run lock (who holds the warehouse).
    #[arg(skip)]
    pub command: String,
}

/// Why a night did not run at all (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum NightError {
    #[error("loading the dictionary from {}: {source}", path.display())]
    LoadDictionary {
        path: PathBuf,
        #[source]
        source: socle_dictionary::LoadError,
    },
    /// The dictionary's problems, one per item (printed before the error by `socle run`).
    #[error("the data dictionary has {} problem(s): run `socle check`", .0.len())]
    Dictionary(Vec<String>),
    #[error("pipeline problem: {0} (run `socle check`)")]
    Pipelines(String),
    #[error("{0}")]
    Usage(String),
    #[error("no CSS folder (6-digit code) under {}", .0.display())]
    NoCss(PathBuf),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error(transparent)]
    Marts(#[from] socle_marts::MartError),
    #[error(transparent)]
    Key(#[from] socle_core::KeyError),
    #[error(transparent)]
    Registry(#[from] socle_core::RegistryError),
    #[error("extracts: {0}")]
    Extracts(#[from] socle_extracts::ExtractError),
}

/// The pseudonymisation key of a night: `key_file`, else `SOCLE_PSEUDO_KEY`, else the public
/// demo key when asked or when the exports are the committed fixtures (with a warning), else
/// an error saying how to give one.
pub fn resolve_key(key_file: Option<&Path>, demo_key: bool, exports: &Path) -> Result<Pseudonymiser, NightError> {
    if let Some(path) = key_file {
        return Ok(Pseudonymiser::from_file(path.to_path_buf())?);
    }
    if let Ok(secret) = std::env::var("SOCLE_PSEUDO_KEY") {
        return Ok(Pseudonymiser::new(
            secret.as_bytes(),
            socle_core::KeySource::Environment,
        )?);
    }
    let is_fixtures = exports
        .canonicalize()
        .map(|p| p.ends_with("fixtures/exports"))
        .unwrap_or(false);
    if demo_key || is_fixtures {
        tracing::warn!(
            "using the PUBLIC demo pseudonymisation key: fine for the synthetic fixtures, never for real data \
             (set SOCLE_PSEUDO_KEY or --pseudo-key-file)"
        );
        return Ok(Pseudonymiser::demo());
    }
    Err(NightError::Usage(
        "no pseudonymisation key: set SOCLE_PSEUDO_KEY (32+ random bytes) or --pseudo-key-file FILE; \
         --demo-key is only for synthetic data"
            .into(),
    ))
}

/// What the marts stage did in a night.
#[derive(Debug, Default)]
pub struct MartsOutcome {
    /// Whether the marts were rebuilt (they are not when already built from every CSS's
    /// current run and the pipelines did not change).
    pub rebuilt: bool,
    /// Each mart built, with its rows.
    pub built: Vec<(String, u64)>,
    pub failures: Vec<MartFailure>,
    /// The whole stage failed (nothing published).
    pub failed: Option<String>,
    /// Where the stage's time went (JSON, for `--summary-json`).
    pub stage: serde_json::Value,
    pub seconds: f64,
}

/// The extracts stage of a night (`socle run --extracts`).
pub enum ExtractsOutcome {
    NotAsked,
    /// Not built: the marts of the night did not all build.
    NotBuilt,
    /// The number of extracts, and a report per unit (CSS or province, and year).
    Built(usize, Vec<socle_extracts::UnitReport>),
}

/// Everything a night did: see the module.
pub struct NightReport {
    pub run_id: String,
    pub jobs: usize,
    pub warehouse: PathBuf,
    pub wall_seconds: f64,
    pub outcomes: Vec<CssOutcome>,
    pub marts: MartsOutcome,
    pub extracts: ExtractsOutcome,
    /// `--accept-drop` values that matched no held drop.
    pub unused_accept_drops: Vec<(String, String)>,
    pub peak_rss_bytes: Option<u64>,
}

/// Reports each CSS as it ends (a progress bar).
pub trait NightProgress: Sync {
    /// The number of CSS planned, before the first one loads.
    fn planned(&self, _css: usize) {}
    fn css_done(&self, _outcome: &CssOutcome) {}
    /// The CSS are loaded; the marts come next.
    fn loaded(&self) {}
}

/// No progress reported.
pub struct Quiet;
impl NightProgress for Quiet {}

/// Runs a night: see the module.
pub async fn run_night(req: NightRequest, progress: &dyn NightProgress) -> Result<NightReport, NightError> {
    let started = Instant::now();
    let dict = Dictionary::load(&req.schemas).map_err(|source| NightError::LoadDictionary {
        path: req.schemas.clone(),
        source,
    })?;
    let problems = dict.validate();
    if !problems.is_empty() {
        return Err(NightError::Dictionary(problems.iter().map(|p| p.to_string()).collect()));
    }
    let (project, mart_problems) = socle_marts::load(&req.pipelines)?;
    if let Some(p) = mart_problems.first() {
        return Err(NightError::Pipelines(p.to_string()));
    }
    let extracts = if req.extracts {
        let (extracts, problems) = socle_extracts::load(&req.pipelines, &socle_extracts::personal_columns(&dict))
            .map_err(|e| NightError::Usage(format!("reading the extracts of {}: {e}", req.pipelines.display())))?;
        if let Some(p) = problems.first() {
            return Err(NightError::Pipelines(p.to_string()));
        }
        Some(extracts)
    } else {
        None
    };
    let key = resolve_key(req.pseudo_key_file.as_deref(), req.demo_key, &req.exports)?;
    let registry = Registry::embedded()?;
    let mut accept_drops = BTreeSet::new();
    for value in &req.accept_drop {
        accept_drops.insert(parse_accept_drop(value, &dict).map_err(NightError::Usage)?);
    }
    let mut warehouse = Warehouse::open(&req.warehouse)?;
    // The longer of the two: a query in flight, a past night read with `--as-of`.
    warehouse.set_replaced_grace(Duration::from_secs(
        (req.keep_replaced_minutes * 60).max(req.retain_days.saturating_mul(86_400)),
    ));
    // One run at a time: a second one fails here at once, naming the holder.
    let _run_lock = warehouse.lock_run(&req.command)?;
    let run_id = socle_warehouse::new_run_id();
    let plan = discover(&req.exports, &req.css, req.night.as_deref(), &dict)?;
    if plan.is_empty() {
        return Err(NightError::NoCss(req.exports.clone()));
    }
    let jobs = req
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, plan.len());
    tracing::info!(run_id = %run_id, css = plan.len(), jobs, exports = %req.exports.display(), warehouse = %req.warehouse.display(), "run started");
    progress.planned(plan.len());
    let pipeline = Pipeline {
        dictionary: Arc::new(dict),
        registry: Arc::new(registry),
        pseudonymiser: Arc::new(key),
        warehouse: warehouse.clone(),
        run_id: run_id.clone(),
        options: LoadOptions {
            force: req.force,
            allow_older_night: req.allow_older_night,
            accept_drops: accept_drops.clone(),
            ..Default::default()
        },
    };
    let outcomes = pipeline.load_all(plan, jobs, |o| progress.css_done(o)).await;
    progress.loaded();

    let marts = build_marts_if_needed(&pipeline, &project, req.force, jobs, req.engine.as_deref()).await?;
    let unused_accept_drops = accept_drops
        .into_iter()
        .filter(|(css, entity)| {
            let used = outcomes
                .iter()
                .any(|o| &o.code_css == css && o.accepted_drops.iter().any(|d| &d.entity == entity));
            if !used {
                tracing::warn!(code_css = %css, entity = %entity, "--accept-drop {css}:{entity}: no drop of it was held in this run, nothing accepted");
            }
            !used
        })
        .collect();
    // The extracts, on the night just published (or the previous state of a CSS that failed).
    let extracts = match extracts {
        None => ExtractsOutcome::NotAsked,
        Some(_) if marts.failed.is_some() || !marts.failures.is_empty() => ExtractsOutcome::NotBuilt,
        Some(extracts) => {
            let selected: Vec<&socle_extracts::Extract> = extracts.iter().collect();
            let cx = socle_extracts::BuildContext {
                warehouse: &warehouse,
                project: &project,
                dictionary: &pipeline.dictionary,
                out: warehouse.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR),
                by: socle_warehouse::default_who(),
            };
            ExtractsOutcome::Built(
                selected.len(),
                socle_extracts::build(&cx, &selected, &socle_extracts::BuildRequest::default()).await?,
            )
        }
    };
    Ok(NightReport {
        run_id,
        jobs,
        warehouse: req.warehouse,
        wall_seconds: started.elapsed().as_secs_f64(),
        outcomes,
        marts,
        extracts,
        unused_accept_drops,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// The marts rule: they are rebuilt unless built from every CSS's current run (something was
/// published, they were never built, or an earlier marts publication failed or was killed), or
/// when the pipelines changed (SQL, YAML, seeds), or with `force` (then in full).
async fn build_marts_if_needed(
    pipeline: &Pipeline,
    project: &socle_marts::Project,
    force: bool,
    jobs: usize,
    engine: Option<&str>,
) -> Result<MartsOutcome, NightError> {
    let started = Instant::now();
    let warehouse = &pipeline.warehouse;
    let state = warehouse.marts_state()?;
    let project_changed = warehouse
        .marts_manifest()?
        .is_some_and(|m| m.project_hash.as_deref() != Some(project_fingerprint(project).as_str()));
    let mut out = MartsOutcome::default();
    if state.is_current() && !project_changed && !force {
        out.seconds = started.elapsed().as_secs_f64();
        return Ok(out);
    }
    tracing::info!(marts = %state, "rebuilding the marts");
    out.rebuilt = true;
    let options = MartsOptions {
        full: force,
        jobs: Some(jobs),
        engine: engine.map(str::to_string),
    };
    match pipeline.build_marts(project, options).await {
        Ok(report) => {
            if !report.full {
                tracing::info!(css = ?report.rebuilt_css, "par_css marts rebuilt for the CSS that changed only");
            }
            // Where the stage's time went, slowest model first.
            let mut slowest: Vec<(&String, &(f64, u32))> = report.seconds.iter().collect();
            slowest.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
            for (name, (secs, runs)) in slowest.iter().take(5) {
                tracing::info!(model = %name, seconds = format!("{secs:.1}"), runs = runs, "marts stage: one of the slowest models");
            }
            out.stage = json!({
                "full": report.full,
                "rebuilt_css": report.rebuilt_css.len(),
                "models": report.seconds.iter().map(|(n, (s, r))| (n.clone(), json!({"seconds": s, "runs": r}))).collect::<serde_json::Map<_, _>>(),
            });
            out.built = report.built;
            out.failures = report.failed;
        }
        Err(e) => {
            tracing::error!(error = %e, "marts not built");
            out.failed = Some(e.to_string());
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

impl NightReport {
    fn count(&self, f: impl Fn(&CssStatus) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(&o.status)).count()
    }

    /// CSS published, wholly or partly.
    pub fn published(&self) -> usize {
        self.count(|s| matches!(s, CssStatus::Published | CssStatus::PartiallyPublished))
    }

    /// The exit status of `socle run`: see the module.
    pub fn exit_status(&self) -> u8 {
        let unchanged = self.count(|s| *s == CssStatus::Unchanged);
        let failed = self.count(|s| matches!(s, CssStatus::Failed(_)));
        let partial = self.count(|s| *s == CssStatus::PartiallyPublished);
        let extracts_refused = match &self.extracts {
            ExtractsOutcome::NotAsked => false,
            ExtractsOutcome::NotBuilt => true,
            ExtractsOutcome::Built(_, r) => r.iter().any(socle_extracts::UnitReport::failed),
        };
        if self.published() + unchanged == 0 {
            1
        } else if failed > 0
            || partial > 0
            || self.marts.failed.is_some()
            || !self.marts.failures.is_empty()
            || extracts_refused
        {
            2
        } else {
            0
        }
    }

    /// The run's figures as JSON (`socle run --summary-json`): totals, stages, and per table,
    /// entity and CSS. Stage times of CSS are summed over CSS, which load in parallel: their sum
    /// can exceed the wall time.
    pub fn summary_json(&self) -> serde_json::Value {
        let outcomes = &self.outcomes;
        let wall = self.wall_seconds;
        let status = |s: &CssStatus| match s {
            CssStatus::Published => "published",
            CssStatus::PartiallyPublished => "partially_published",
            CssStatus::Unchanged => "unchanged",
            CssStatus::Failed(_) => "failed",
        };
        // (system, table) -> (files, bytes, rows, seconds)
        let mut inputs: BTreeMap<(String, String), (u64, u64, u64, f64)> = BTreeMap::new();
        // entity -> (rows, normalise, write)
        let mut entities: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
        for o in outcomes {
            for t in &o.tables {
                let e = inputs.entry((t.system.clone(), t.table.clone())).or_default();
                e.0 += 1;
                e.1 += t.bytes;
                e.2 += t.rows_read;
                e.3 += t.read.as_secs_f64();
            }
            for s in &o.entities {
                let e = entities.entry(s.entity.clone()).or_default();
                e.0 += s.rows;
                e.1 += s.normalise.as_secs_f64();
                e.2 += s.write.as_secs_f64();
            }
        }
        let sum = |f: &dyn Fn(&CssOutcome) -> f64| outcomes.iter().map(f).sum::<f64>();
        let rows_loaded: u64 = outcomes.iter().map(|o| o.rows_loaded).sum();
        let rows_quarantined: u64 = outcomes.iter().map(|o| o.rows_quarantined).sum();
        let rows_read: u64 = outcomes.iter().flat_map(|o| &o.sources).map(|s| s.rows_read).sum();
        let bytes: u64 = outcomes.iter().map(|o| o.bytes).sum();
        let (delta_tables, delta_s) = socle_warehouse::delta::commit_totals();
        json!({
            "run_id": self.run_id,
            "jobs": self.jobs,
            "wall_s": wall,
            "css_count": outcomes.len(),
            "published": self.published(),
            "failed": self.count(|s| matches!(s, CssStatus::Failed(_))),
            "rows_read": rows_read,
            "rows_loaded": rows_loaded,
            "rows_quarantined": rows_quarantined,
            "input_bytes": bytes,
            "rows_per_s": (rows_loaded + rows_quarantined) as f64 / wall.max(1e-9),
            "mb_per_s": bytes as f64 / 1e6 / wall.max(1e-9),
            "peak_rss_bytes": self.peak_rss_bytes,
            "stages_s": {
                "read": sum(&|o| o.times.read.as_secs_f64()),
                "normalise": sum(&|o| o.times.normalise.as_secs_f64()),
                "write": sum(&|o| o.times.write.as_secs_f64()),
                "marts": self.marts.seconds,
            },
            // The Delta commits of every publication (tables, seconds summed over publications,
            // which overlap when CSS are published at once).
            "delta": {"tables": delta_tables, "commit_s": delta_s},
            "inputs": inputs.iter().map(|((system, table), (files, bytes, rows, secs))| json!({
                "system": system, "table": table, "files": files, "bytes": bytes, "rows": rows, "read_s": secs,
            })).collect::<Vec<_>>(),
            "entities": entities.iter().map(|(entity, (rows, n, w))| json!({
                "entity": entity, "rows": rows, "normalise_s": n, "write_s": w,
            })).collect::<Vec<_>>(),
            "css": outcomes.iter().map(|o| json!({
                "code_css": o.code_css,
                "status": status(&o.status),
                "rows_loaded": o.rows_loaded,
                "rows_quarantined": o.rows_quarantined,
                "bytes": o.bytes,
                "read_s": o.times.read.as_secs_f64(),
                "normalise_s": o.times.normalise.as_secs_f64(),
                "write_s": o.times.write.as_secs_f64(),
                "held_drops": o.held_drops,
                "accepted_drops": o.accepted_drops,
            })).collect::<Vec<_>>(),
            "marts": self.marts.built.iter().map(|(name, rows)| json!({"name": name, "rows": rows})).collect::<Vec<_>>(),
            "marts_stage": self.marts.stage,
            "marts_failed": self.marts.failures.iter().map(|f| json!({"name": f.name, "reason": f.reason})).collect::<Vec<_>>(),
        })
    }
}

/// What `socle run` prints: the totals, each CSS and source, the marts, where the warehouse is,
/// and the extracts.
impl fmt::Display for NightReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.wall_seconds;
        let total: u64 = self.outcomes.iter().map(|o| o.rows_loaded + o.rows_quarantined).sum();
        let bytes: u64 = self.outcomes.iter().map(|o| o.bytes).sum();
        let unchanged = self.count(|s| *s == CssStatus::Unchanged);
        let failed = self.count(|s| matches!(s, CssStatus::Failed(_)));
        writeln!(
            f,
            "Socle run {}: {}/{} CSS published, {unchanged} unchanged, {failed} failed in {secs:.1}s \
             ({:.0} rows/s, {:.1} MB/s of input{})",
            self.run_id,
            self.published(),
            self.outcomes.len(),
            total as f64 / secs.max(1e-9),
            bytes as f64 / 1e6 / secs.max(1e-9),
            self.peak_rss_bytes
                .map(|b| format!(", peak memory {:.0} MiB", b as f64 / 1024.0 / 1024.0))
                .unwrap_or_default()
        )?;
        for o in &self.outcomes {
            let report = o
                .quality_report
                .as_ref()
                .map(|r| self.warehouse.join(r).display().to_string())
                .unwrap_or_default();
            match &o.status {
                CssStatus::Published | CssStatus::PartiallyPublished => {
                    writeln!(
                        f,
                        "  {}  night {}  rows loaded {:>9}  quarantined {:>6}  (read {:.1}s, normalise {:.1}s, write {:.1}s)  quality report: {report}",
                        o.code_css,
                        o.night,
                        o.rows_loaded,
                        o.rows_quarantined,
                        o.times.read.as_secs_f64(),
                        o.times.normalise.as_secs_f64(),
                        o.times.write.as_secs_f64(),
                    )?;
                    for s in &o.sources {
                        match &s.error {
                            None if s.held => writeln!(
                                f,
                                "      {:<7} HELD by the drop guard (its tables keep their previous state)",
                                s.system
                            )?,
                            None => writeln!(
                                f,
                                "      {:<7} {:>3} files  rows read {:>9}  quarantined {:>6}",
                                s.system, s.files, s.rows_read, s.rows_quarantined
                            )?,
                            Some(e) => writeln!(
                                f,
                                "      {:<7} FAILED (its tables keep their previous state): {e}",
                                s.system
                            )?,
                        }
                    }
                    f.write_str(&drop_lines(&o.code_css, &o.held_drops, &o.accepted_drops, "      "))?;
                }
                CssStatus::Unchanged => writeln!(
                    f,
                    "  {}  night {}  unchanged since the last load (same files): skipped; --force reloads",
                    o.code_css, o.night
                )?,
                CssStatus::Failed(e) => writeln!(f, "  {}  FAILED (previous state kept): {e}", o.code_css)?,
            }
        }
        for (name, rows) in &self.marts.built {
            writeln!(f, "  mart {name}: {rows} rows")?;
        }
        for m in &self.marts.failures {
            writeln!(
                f,
                "  mart {} FAILED (its previous files are kept, with the marts reading it): {}",
                m.name, m.reason
            )?;
        }
        if let Some(e) = &self.marts.failed {
            writeln!(f, "  marts FAILED: {e}")?;
        }
        let wh = self.warehouse.display();
        writeln!(
            f,
            "Warehouse: {wh} (shared zone: shared/, per-CSS zones: css/<code>/, quarantine: css/<code>/quarantaine/)"
        )?;
        writeln!(
            f,
            "Query it: socle query --warehouse {wh} \"SELECT * FROM taux_reussite LIMIT 10\"; status: socle status --warehouse {wh}"
        )?;
        match &self.extracts {
            ExtractsOutcome::NotAsked => {}
            ExtractsOutcome::NotBuilt => writeln!(
                f,
                "Extracts NOT built: the marts of this night did not all build (see above)"
            )?,
            ExtractsOutcome::Built(extracts, reports) => {
                writeln!(f, "Extracts ({extracts}):")?;
                for r in reports {
                    writeln!(f, "{r}")?;
                }
            }
        }
        Ok(())
    }
}

/// Peak resident memory of this process in bytes (Linux: VmHWM of /proc/self/status).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
