//! `socle run`: one night, every CSS on its own and in parallel (a CSS that fails keeps its
//! previous state, the others publish; a CSS whose files are unchanged is skipped), then the
//! marts. The work is `socle-pipeline`'s; this module parses, reports and sets the exit code
//! (DESIGN.md): 0 all published or unchanged, 2 some CSS or source failed or was held by the
//! drop guard, 1 nothing published or bad usage (or another run holds the warehouse's run lock).

use crate::LogFormat;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_pipeline::CssStatus;
use socle_warehouse::Warehouse;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Exports root: `<exports>/<css>/<YYYY-MM-DD>/{gpi,mozaik,jade,dofin}/`.
    #[arg(long, default_value = "fixtures/exports")]
    exports: PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// Night to load (YYYY-MM-DD); default: the latest night folder of each CSS.
    #[arg(long)]
    night: Option<String>,
    /// Load only these CSS (default: every CSS folder of the exports root).
    #[arg(long, num_args = 1..)]
    css: Vec<String>,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    /// File holding the pseudonymisation secret (else env SOCLE_PSEUDO_KEY_FILE or SOCLE_PSEUDO_KEY).
    #[arg(long, env = "SOCLE_PSEUDO_KEY_FILE")]
    pseudo_key_file: Option<PathBuf>,
    /// Use the public demo key (synthetic data only). Implied for the committed fixtures.
    #[arg(long)]
    demo_key: bool,
    /// CSS loaded at the same time, and CSS whose marts are built at the same time (default: the
    /// number of cores). Memory grows with it (the marts stay under `memoire_max`).
    #[arg(long)]
    jobs: Option<usize>,
    /// Reload a CSS even when its export files are those already loaded.
    #[arg(long)]
    force: bool,
    /// Also write the run's figures as JSON to FILE (wall time, rows/s, peak memory, time per
    /// stage, table and entity): what `benches/bench.py` reads.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    /// Accept a drop the guard holds: publish ENTITY of CSS although its rows fell (repeatable,
    /// e.g. --accept-drop 866000:absence). Recorded in the CSS's manifest.
    #[arg(long, value_name = "CSS:ENTITY")]
    accept_drop: Vec<String>,
    /// Load a night older than the one already loaded for a CSS (refused otherwise).
    #[arg(long)]
    allow_older_night: bool,
    /// Then build every extract of `pipelines/extracts/` (each CSS, the most recent school year
    /// of each source) into `<warehouse>/extracts/`; a refused unit makes the exit status 2.
    #[arg(long)]
    extracts: bool,
    /// Minutes the files this night replaces are kept before they are deleted, so that a query
    /// of `socle serve` (or a long `socle query`) planned just before the night published
    /// finishes on them; 0 deletes them at once.
    #[arg(long, value_name = "MINUTES", default_value_t = 10)]
    keep_replaced_minutes: u64,
}

fn resolve_key(args: &RunArgs) -> Result<Pseudonymiser> {
    if let Some(path) = &args.pseudo_key_file {
        return Ok(Pseudonymiser::from_file(path.clone())?);
    }
    if let Ok(secret) = std::env::var("SOCLE_PSEUDO_KEY") {
        return Ok(Pseudonymiser::new(
            secret.as_bytes(),
            socle_core::KeySource::Environment,
        )?);
    }
    let is_fixtures = args
        .exports
        .canonicalize()
        .map(|p| p.ends_with("fixtures/exports"))
        .unwrap_or(false);
    if args.demo_key || is_fixtures {
        tracing::warn!(
            "using the PUBLIC demo pseudonymisation key: fine for the synthetic fixtures, never for real data \
             (set SOCLE_PSEUDO_KEY or --pseudo-key-file)"
        );
        return Ok(Pseudonymiser::demo());
    }
    bail!(
        "no pseudonymisation key: set SOCLE_PSEUDO_KEY (32+ random bytes) or --pseudo-key-file FILE; \
         --demo-key is only for synthetic data"
    )
}

pub async fn run(args: RunArgs, log_format: LogFormat) -> Result<u8> {
    let started = Instant::now();
    let dict = Dictionary::load(&args.schemas)
        .with_context(|| format!("loading the dictionary from {}", args.schemas.display()))?;
    let problems = dict.validate();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!(
            "the data dictionary has {} problem(s): run `socle check`",
            problems.len()
        );
    }
    let (project, mart_problems) = socle_marts::load(&args.pipelines)?;
    if let Some(p) = mart_problems.first() {
        bail!("pipeline problem: {p} (run `socle check`)");
    }
    let registry = Registry::embedded()?;
    let pseudo = resolve_key(&args)?;
    let mut accept_drops = std::collections::BTreeSet::new();
    for value in &args.accept_drop {
        accept_drops.insert(socle_pipeline::parse_accept_drop(value, &dict).map_err(anyhow::Error::msg)?);
    }
    let mut warehouse = Warehouse::open(&args.warehouse)?;
    warehouse.set_replaced_grace(std::time::Duration::from_secs(args.keep_replaced_minutes * 60));
    // One run at a time: a second one fails here at once, naming the holder.
    let command: Vec<String> = std::env::args().collect();
    let _run_lock = warehouse.lock_run(&command.join(" "))?;
    let run_id = socle_warehouse::new_run_id();
    let plan = socle_pipeline::discover(&args.exports, &args.css, args.night.as_deref(), &dict)?;
    if plan.is_empty() {
        bail!("no CSS folder (6-digit code) under {}", args.exports.display());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, plan.len());
    tracing::info!(run_id = %run_id, css = plan.len(), jobs, exports = %args.exports.display(), warehouse = %args.warehouse.display(), "run started");

    let bar = if std::io::stderr().is_terminal() && log_format == LogFormat::Text {
        let b = ProgressBar::new(plan.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} CSS {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let pipeline = socle_pipeline::Pipeline {
        dictionary: Arc::new(dict),
        registry: Arc::new(registry),
        pseudonymiser: Arc::new(pseudo),
        warehouse: warehouse.clone(),
        run_id: run_id.clone(),
        options: socle_pipeline::LoadOptions {
            force: args.force,
            allow_older_night: args.allow_older_night,
            accept_drops: accept_drops.clone(),
            ..Default::default()
        },
    };
    let outcomes = pipeline
        .load_all(plan, jobs, |o| {
            bar.set_message(o.code_css.clone());
            bar.inc(1);
        })
        .await;
    bar.finish_and_clear();

    let published = outcomes
        .iter()
        .filter(|o| matches!(o.status, CssStatus::Published | CssStatus::PartiallyPublished))
        .count();
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.status, CssStatus::Failed(_)))
        .count();
    let partial = outcomes
        .iter()
        .filter(|o| o.status == CssStatus::PartiallyPublished)
        .count();
    // Marts are rebuilt unless built from every CSS's current run (something was published,
    // they were never built, or an earlier marts publication failed or was killed).
    let mut mart_summary: Vec<(String, u64)> = Vec::new();
    let mut mart_failures: Vec<socle_pipeline::MartFailure> = Vec::new();
    let mut marts_failed = None;
    let mut marts_stage = serde_json::Value::Null;
    let marts_started = Instant::now();
    let marts_state = warehouse.marts_state()?;
    // A change to the pipelines (SQL, YAML, seeds) rebuilds the marts even with no CSS loaded.
    let project_changed = warehouse
        .marts_manifest()?
        .is_some_and(|m| m.project_hash.as_deref() != Some(socle_pipeline::project_fingerprint(&project).as_str()));
    if !marts_state.is_current() || project_changed || args.force {
        tracing::info!(marts = %marts_state, "rebuilding the marts");
        let options = socle_pipeline::MartsOptions {
            full: args.force,
            jobs: Some(jobs),
        };
        match pipeline.build_marts(&project, options).await {
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
                marts_stage = serde_json::json!({
                    "full": report.full,
                    "rebuilt_css": report.rebuilt_css.len(),
                    "models": report.seconds.iter().map(|(n, (s, r))| (n.clone(), serde_json::json!({"seconds": s, "runs": r}))).collect::<serde_json::Map<_, _>>(),
                });
                mart_summary = report.built;
                mart_failures = report.failed;
            }
            Err(e) => {
                tracing::error!(error = %e, "marts not built");
                marts_failed = Some(e.to_string());
            }
        }
    }

    let marts_secs = marts_started.elapsed().as_secs_f64();
    // Summary for the data team.
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.summary_json {
        let summary = summary_json(
            &run_id,
            jobs,
            secs,
            marts_secs,
            &outcomes,
            serde_json::json!({
                "marts": mart_summary.iter().map(|(name, rows)| serde_json::json!({"name": name, "rows": rows})).collect::<Vec<_>>(),
                "marts_stage": marts_stage,
                "marts_failed": mart_failures.iter().map(|f| serde_json::json!({"name": f.name, "reason": f.reason})).collect::<Vec<_>>(),
            }),
        );
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text).with_context(|| format!("writing the run summary {}", path.display()))?;
    }
    let total: u64 = outcomes.iter().map(|o| o.rows_loaded + o.rows_quarantined).sum();
    let bytes: u64 = outcomes.iter().map(|o| o.bytes).sum();
    let unchanged = outcomes.iter().filter(|o| o.status == CssStatus::Unchanged).count();
    println!(
        "Socle run {run_id}: {published}/{} CSS published, {unchanged} unchanged, {failed} failed in {secs:.1}s \
         ({:.0} rows/s, {:.1} MB/s of input{})",
        outcomes.len(),
        total as f64 / secs.max(1e-9),
        bytes as f64 / 1e6 / secs.max(1e-9),
        peak_memory().map(|m| format!(", peak memory {m}")).unwrap_or_default()
    );
    for o in &outcomes {
        let report = o
            .quality_report
            .as_ref()
            .map(|r| args.warehouse.join(r).display().to_string())
            .unwrap_or_default();
        match &o.status {
            CssStatus::Published | CssStatus::PartiallyPublished => {
                println!(
                    "  {}  night {}  rows loaded {:>9}  quarantined {:>6}  (read {:.1}s, normalise {:.1}s, write {:.1}s)  quality report: {report}",
                    o.code_css,
                    o.night,
                    o.rows_loaded,
                    o.rows_quarantined,
                    o.times.read.as_secs_f64(),
                    o.times.normalise.as_secs_f64(),
                    o.times.write.as_secs_f64(),
                );
                for s in &o.sources {
                    match &s.error {
                        None if s.held => println!(
                            "      {:<7} HELD by the drop guard (its tables keep their previous state)",
                            s.system
                        ),
                        None => println!(
                            "      {:<7} {:>3} files  rows read {:>9}  quarantined {:>6}",
                            s.system, s.files, s.rows_read, s.rows_quarantined
                        ),
                        Some(e) => println!(
                            "      {:<7} FAILED (its tables keep their previous state): {e}",
                            s.system
                        ),
                    }
                }
                crate::status::print_drops(&o.code_css, &o.held_drops, &o.accepted_drops, "      ");
            }
            CssStatus::Unchanged => println!(
                "  {}  night {}  unchanged since the last load (same files): skipped; --force reloads",
                o.code_css, o.night
            ),
            CssStatus::Failed(e) => println!("  {}  FAILED (previous state kept): {e}", o.code_css),
        }
    }
    for (css, entity) in &accept_drops {
        let used = outcomes
            .iter()
            .any(|o| &o.code_css == css && o.accepted_drops.iter().any(|d| &d.entity == entity));
        if !used {
            tracing::warn!(code_css = %css, entity = %entity, "--accept-drop {css}:{entity}: no drop of it was held in this run, nothing accepted");
        }
    }
    for (name, rows) in &mart_summary {
        println!("  mart {name}: {rows} rows");
    }
    for f in &mart_failures {
        println!(
            "  mart {} FAILED (its previous files are kept, with the marts reading it): {}",
            f.name, f.reason
        );
    }
    if let Some(e) = &marts_failed {
        println!("  marts FAILED: {e}");
    }
    println!(
        "Warehouse: {} (shared zone: shared/, per-CSS zones: css/<code>/, quarantine: css/<code>/quarantaine/)",
        args.warehouse.display()
    );
    println!(
        "Query it: socle query --warehouse {} \"SELECT * FROM taux_reussite LIMIT 10\"; status: socle status --warehouse {}",
        args.warehouse.display(),
        args.warehouse.display()
    );
    // The extracts, on the night just published (or the previous state of a CSS that failed).
    let mut extracts_refused = false;
    if args.extracts {
        if marts_failed.is_some() || !mart_failures.is_empty() {
            println!("Extracts NOT built: the marts of this night did not all build (see above)");
            extracts_refused = true;
        } else {
            let extracts = crate::extracts::load_extracts(&args.pipelines, &args.schemas)?;
            let selected: Vec<&socle_extracts::Extract> = extracts.iter().collect();
            println!("Extracts ({}):", selected.len());
            let reports = crate::extracts::build_all(
                &warehouse,
                &args.pipelines,
                &args.schemas,
                None,
                None,
                &selected,
                &socle_extracts::BuildRequest::default(),
            )
            .await?;
            extracts_refused = reports.iter().any(socle_extracts::UnitReport::failed);
        }
    }
    let ok = published + unchanged;
    Ok(if ok == 0 {
        1
    } else if failed > 0 || partial > 0 || marts_failed.is_some() || !mart_failures.is_empty() || extracts_refused {
        2
    } else {
        0
    })
}

/// Peak resident memory of this process (Linux: VmHWM of /proc/self/status).
fn peak_memory() -> Option<String> {
    peak_memory_bytes().map(|b| format!("{:.0} MiB", b as f64 / 1024.0 / 1024.0))
}

/// Peak resident memory of this process in bytes (Linux: VmHWM of /proc/self/status).
fn peak_memory_bytes() -> Option<u64> {
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

/// The run's figures as JSON (`--summary-json`): totals, stages, and per table, entity and CSS.
/// Stage times of CSS are summed over CSS, which load in parallel: their sum can exceed the
/// wall time.
fn summary_json(
    run_id: &str,
    jobs: usize,
    wall: f64,
    marts_secs: f64,
    outcomes: &[socle_pipeline::CssOutcome],
    // `marts`, `marts_stage` and `marts_failed`: what the marts stage built, where its time
    // went, what failed.
    marts: serde_json::Value,
) -> serde_json::Value {
    use serde_json::json;
    use std::collections::BTreeMap;
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
    let sum = |f: &dyn Fn(&socle_pipeline::CssOutcome) -> f64| outcomes.iter().map(f).sum::<f64>();
    let rows_loaded: u64 = outcomes.iter().map(|o| o.rows_loaded).sum();
    let rows_quarantined: u64 = outcomes.iter().map(|o| o.rows_quarantined).sum();
    let rows_read: u64 = outcomes.iter().flat_map(|o| &o.sources).map(|s| s.rows_read).sum();
    let bytes: u64 = outcomes.iter().map(|o| o.bytes).sum();
    let mut summary = json!({
        "run_id": run_id,
        "jobs": jobs,
        "wall_s": wall,
        "css_count": outcomes.len(),
        "published": outcomes.iter().filter(|o| matches!(o.status, CssStatus::Published | CssStatus::PartiallyPublished)).count(),
        "failed": outcomes.iter().filter(|o| matches!(o.status, CssStatus::Failed(_))).count(),
        "rows_read": rows_read,
        "rows_loaded": rows_loaded,
        "rows_quarantined": rows_quarantined,
        "input_bytes": bytes,
        "rows_per_s": (rows_loaded + rows_quarantined) as f64 / wall.max(1e-9),
        "mb_per_s": bytes as f64 / 1e6 / wall.max(1e-9),
        "peak_rss_bytes": peak_memory_bytes(),
        "stages_s": {
            "read": sum(&|o| o.times.read.as_secs_f64()),
            "normalise": sum(&|o| o.times.normalise.as_secs_f64()),
            "write": sum(&|o| o.times.write.as_secs_f64()),
            "marts": marts_secs,
        },
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
    });
    if let (Some(out), serde_json::Value::Object(marts)) = (summary.as_object_mut(), marts) {
        out.extend(marts);
    }
    summary
}
