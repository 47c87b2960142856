//! `socle run`: one night, every CSS on its own (a CSS that fails keeps its previous state, the
//! others publish), then the marts. Exit codes (DESIGN.md): 0 all published, 2 some CSS failed,
//! 1 nothing published or bad usage.

use crate::LogFormat;
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_warehouse::{InputFile, ManifestInfo, Warehouse, Zone};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Exports root: `<exports>/<css>/<YYYY-MM-DD>/gpi/`.
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
}

struct Outcome {
    css: String,
    night: String,
    loaded: u64,
    quarantined: u64,
    error: Option<String>,
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

/// A CSS to load: its code, and its night and folder, or why there is none.
type Planned = (String, Result<(String, PathBuf), String>);

/// The night folder of each CSS to load: `--night` if given, else the latest.
fn discover(args: &RunArgs) -> Result<Vec<Planned>> {
    let root = &args.exports;
    let entries =
        std::fs::read_dir(root).with_context(|| format!("cannot read the exports root {}", root.display()))?;
    let mut found = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 6 && name.bytes().all(|b| b.is_ascii_digit()) && e.path().is_dir() {
            found.insert(name, e.path());
        }
    }
    let wanted: Vec<String> = if args.css.is_empty() {
        found.keys().cloned().collect()
    } else {
        args.css.clone()
    };
    let mut out = Vec::new();
    for css in wanted {
        let Some(dir) = found.get(&css) else {
            out.push((css.clone(), Err(format!("no export folder {}/{css}", root.display()))));
            continue;
        };
        let mut nights: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| chrono::NaiveDate::parse_from_str(n, "%Y-%m-%d").is_ok())
                    .collect()
            })
            .unwrap_or_default();
        nights.sort();
        let night = match &args.night {
            Some(n) if nights.contains(n) => Ok(n.clone()),
            Some(n) => Err(format!("no night {n} in {}", dir.display())),
            None => nights
                .last()
                .cloned()
                .ok_or_else(|| format!("no night folder (YYYY-MM-DD) in {}", dir.display())),
        };
        out.push((css.clone(), night.map(|n| (n.clone(), dir.join(n)))));
    }
    Ok(out)
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
    let (marts, mart_problems) = socle_marts::load(&args.pipelines)?;
    if let Some(p) = mart_problems.first() {
        bail!("pipeline problem: {p} (run `socle check`)");
    }
    let registry = Registry::embedded()?;
    let pseudo = resolve_key(&args)?;
    let source = dict
        .source("gpi")
        .ok_or_else(|| anyhow!("the dictionary has no gpi source contract"))?;
    let warehouse = Warehouse::open(&args.warehouse)?;
    let run_id = socle_warehouse::new_run_id();
    let plan = discover(&args)?;
    if plan.is_empty() {
        bail!("no CSS folder (6-digit code) under {}", args.exports.display());
    }
    tracing::info!(run_id = %run_id, css = plan.len(), exports = %args.exports.display(), warehouse = %args.warehouse.display(), "run started");

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
    let mut outcomes = Vec::new();
    for (css, night) in plan {
        bar.set_message(css.clone());
        let outcome = match night {
            Err(e) => Outcome {
                css: css.clone(),
                night: "-".into(),
                loaded: 0,
                quarantined: 0,
                error: Some(e),
            },
            Ok((night, dir)) => {
                let span = tracing::info_span!("css", code_css = %css, night = %night);
                let _enter = span.enter();
                match load_css(
                    &css, &night, &dir, &dict, source, &registry, &pseudo, &warehouse, &run_id,
                )
                .await
                {
                    Ok((loaded, quarantined)) => Outcome {
                        css: css.clone(),
                        night,
                        loaded,
                        quarantined,
                        error: None,
                    },
                    Err(e) => {
                        tracing::error!(code_css = %css, error = %format!("{e:#}"), "CSS not published: its previous state is kept");
                        Outcome {
                            css: css.clone(),
                            night,
                            loaded: 0,
                            quarantined: 0,
                            error: Some(format!("{e:#}")),
                        }
                    }
                }
            }
        };
        outcomes.push(outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let published = outcomes.iter().filter(|o| o.error.is_none()).count();
    let mut mart_summary = Vec::new();
    let mut marts_failed = None;
    if published > 0 {
        let schemas = crate::query::shared_schemas(&dict);
        let built = async {
            let ctx = warehouse.session(Zone::Shared, &schemas).await?;
            let built = socle_marts::build(&marts, &ctx).await?;
            for (name, _, batches) in &built {
                mart_summary.push((name.clone(), batches.iter().map(|b| b.num_rows()).sum::<usize>()));
            }
            warehouse.publish_marts(&run_id, built)?;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = built {
            tracing::error!(error = %format!("{e:#}"), "marts not built");
            marts_failed = Some(format!("{e:#}"));
        }
    }

    // Summary for the data team.
    let secs = started.elapsed().as_secs_f64();
    let total: u64 = outcomes.iter().map(|o| o.loaded + o.quarantined).sum();
    println!(
        "Socle run {run_id}: {published}/{} CSS published in {secs:.1}s ({:.0} rows/s{})",
        outcomes.len(),
        total as f64 / secs.max(1e-9),
        peak_memory().map(|m| format!(", peak memory {m}")).unwrap_or_default()
    );
    for o in &outcomes {
        match &o.error {
            None => println!(
                "  {}  night {}  rows loaded {:>9}  quarantined {:>6}  quality report: {}",
                o.css,
                o.night,
                o.loaded,
                o.quarantined,
                args.warehouse
                    .join("_socle/runs")
                    .join(&run_id)
                    .join(format!("{}-quality.json", o.css))
                    .display()
            ),
            Some(e) => println!("  {}  FAILED (previous state kept): {e}", o.css),
        }
    }
    for (name, rows) in &mart_summary {
        println!("  mart {name}: {rows} rows");
    }
    if let Some(e) = &marts_failed {
        println!("  marts FAILED: {e}");
    }
    println!(
        "Warehouse: {} (shared zone: shared/, per-CSS zones: css/<code>/, quarantine: css/<code>/quarantaine/)",
        args.warehouse.display()
    );
    println!(
        "Query it: socle query --warehouse {} \"SELECT * FROM taux_reussite LIMIT 10\"",
        args.warehouse.display()
    );
    Ok(if published == 0 {
        1
    } else if published < outcomes.len() || marts_failed.is_some() {
        2
    } else {
        0
    })
}

#[allow(clippy::too_many_arguments)]
async fn load_css(
    css: &str,
    night: &str,
    dir: &Path,
    dict: &Dictionary,
    source: &socle_dictionary::Source,
    registry: &Registry,
    pseudo: &Pseudonymiser,
    warehouse: &Warehouse,
    run_id: &str,
) -> Result<(u64, u64)> {
    if registry.organisation(css).is_none() {
        bail!("{css} is not an organisation of the ministry registry");
    }
    let profile = dict.profile(css);
    let t0 = Instant::now();
    let opts = socle_connect_gpi::ReadOptions {
        encoding: profile.encoding,
        ..Default::default()
    };
    let folder = dir.join(&source.folder);
    let extract = socle_connect_gpi::read_gpi(&folder, source, &opts)
        .await
        .with_context(|| format!("reading {}", folder.display()))?;
    let rows_read: u64 = extract.tables.values().map(|t| t.rows_read).sum();
    tracing::info!(
        rows_read,
        rejected = extract.rejects.len(),
        elapsed_ms = t0.elapsed().as_millis() as u64,
        "extracted"
    );
    let inputs: Vec<InputFile> = extract
        .files
        .iter()
        .map(|f| InputFile {
            path: format!(
                "{}/{}",
                source.folder,
                f.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            rows: f.rows_read,
        })
        .collect();
    let t1 = Instant::now();
    let cx = socle_transform::NormaliseContext {
        code_css: css,
        dictionary: dict,
        registry,
        pseudonymiser: pseudo,
    };
    let normalised = socle_transform::normalise(&cx, extract).await?;
    tracing::info!(elapsed_ms = t1.elapsed().as_millis() as u64, "normalised");
    let t2 = Instant::now();
    let mut tx = warehouse.begin_css(css, run_id)?;
    for (name, batches) in &normalised.tables {
        let entity = dict
            .entity(name)
            .ok_or_else(|| anyhow!("no entity {name} in the dictionary"))?;
        tx.write_table(entity, batches)?;
    }
    tx.write_quarantine(&normalised.quarantine)?;
    let quality = serde_json::to_value(&normalised.quality)?;
    tx.write_quality_report(&quality)?;
    let loaded = normalised.quality.total_loaded();
    let quarantined = normalised.quality.total_quarantined();
    tx.commit(ManifestInfo {
        night: night.to_string(),
        dictionary_version: dict.version.clone(),
        key_fingerprint: pseudo.fingerprint(),
        demo_key: pseudo.is_demo(),
        inputs,
        quality,
        sources: Default::default(),
    })?;
    tracing::info!(
        rows_loaded = loaded,
        quarantined,
        elapsed_ms = t2.elapsed().as_millis() as u64,
        "published"
    );
    for (table, q) in &normalised.quality.sources {
        if !q.quarantaine.is_empty() {
            tracing::warn!(table = %table, quarantined = ?q.quarantaine, "rows quarantined at reading");
        }
    }
    for (entity, q) in &normalised.quality.entites {
        if !q.quarantaine.is_empty() {
            tracing::warn!(entity = %entity, quarantined = ?q.quarantaine, "rows quarantined at normalisation");
        }
    }
    Ok((loaded, quarantined))
}

/// Peak resident memory of this process (Linux: VmHWM of /proc/self/status).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(format!("{:.0} MiB", kb / 1024.0))
}
