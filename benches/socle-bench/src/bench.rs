//! `socle-bench`: what the benchmark harness (`benches/bench.py`) needs from Socle.
//!
//! `socle-bench queries`: how long the marts take to rebuild and to read, measured on a
//! warehouse (the dashboards' latency). For each mart of the pipelines:
//! - **rebuild**: the mart and the marts it reads, computed as the night's marts stage computes
//!   them ([`socle_pipeline::compute_marts`]: a `source: shared` mart over the shared zone's
//!   canonical tables, a `source: css` mart in each CSS's own zone, rows put together), executed
//!   fully, in fresh sessions each run (publishing is not timed);
//! - **read**, per CSS (`SELECT * FROM <mart> WHERE code_css = '<code>'`, what a dashboard does)
//!   and for the province (`SELECT * FROM <mart>`), **cold** (a new marts session, registered
//!   from the manifest, plus the query, timed together) and **warm** (the same session, the
//!   query repeated; the first run is discarded). Marts with a shared file are read in the
//!   shared zone (small cells suppressed, as dashboards see them). Nominative marts
//!   (`publication: css`) have no shared file: they are read in the chosen CSS's own zone, and
//!   their province read is skipped, with the reason in the figures.
//!
//! Then all marts rebuilt together, as the night does (and the `source: shared` marts alone,
//! what another engine over the shared zone can be compared with), and the time to open a
//! session alone: the full shared zone ([`Warehouse::session`], every canonical file's footer)
//! and the marts only ([`Warehouse::marts_session`]). The default CSS of a mart is the one with
//! the most rows in it; marts without a `code_css` column are read for the province only.
//! Timings are wall clock ([`Instant`]); median, p95 (nearest rank), min and max. Nothing is
//! written to the warehouse (opening it collects garbage, as every command does).
//!
//! `socle-bench sql --out DIR [--warehouse W]`: what another engine needs to run the marts as
//! Socle does: `DIR/marts.json` (every intermediate model then every mart, in dependency order:
//! name, kind `intermediate` or `mart`, source, publication, execution, unique key, the models it
//! reads, its SQL with parameters filled in, its columns), `DIR/duckdb_functions.sql` (the
//! pipelines' SQL functions as DuckDB macros: `taux(n, d)`),
//! `DIR/reference/<table>.parquet` (the reference tables and seeds every mart session has, and
//! `nuits`, each CSS's night in `W`, empty without a warehouse) and
//! `DIR/shared_schemas/<entity>.parquet` (an empty file with the shared-zone schema of each
//! canonical entity, for the tables a warehouse has no file of: Socle's session registers those
//! empty).

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};
use socle_dictionary::Dictionary;
use socle_marts::{Project, Publication, Source};
use socle_warehouse::{MartsManifest, Warehouse, Zone};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(clap::Subcommand)]
enum BenchCommand {
    /// Time each mart's rebuild and its reads (one CSS, the province), cold and warm.
    Queries(QueriesArgs),
    /// Write what another engine needs to run the marts: marts.json (dependency order, SQL with
    /// parameters filled in) and the reference tables and seeds as Parquet.
    Sql(SqlArgs),
}

#[derive(clap::Args)]
struct SqlArgs {
    /// Output folder (created): marts.json, reference/<table>.parquet,
    /// shared_schemas/<entity>.parquet.
    #[arg(long)]
    out: PathBuf,
    /// The warehouse whose nights fill the `nuits` table (each CSS's night, as the shared zone's
    /// marts see them); without it, `nuits` is written empty.
    #[arg(long)]
    warehouse: Option<PathBuf>,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
}

#[derive(clap::Args)]
struct QueriesArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// CSS whose rows are read (repeatable, or comma-separated); default: for each mart, the
    /// CSS with the most rows in it.
    #[arg(long, value_delimiter = ',')]
    css: Vec<String>,
    /// Timed runs of each measure.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
}

pub async fn bench(a: BenchArgs) -> Result<()> {
    match a.command {
        BenchCommand::Queries(q) => queries(q).await,
        BenchCommand::Sql(q) => sql(q),
    }
}

/// Median, p95, min and max of a set of timings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stats {
    median_ms: f64,
    p95_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

impl Stats {
    /// The statistics of `samples` (not empty). The median of an even count is the mean of the
    /// two middle values; p95 is the nearest rank (the smallest value with at least 95% of the
    /// samples at or below it).
    fn of(samples: &[Duration]) -> Stats {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n == 0 {
            return Stats {
                median_ms: 0.0,
                p95_ms: 0.0,
                min_ms: 0.0,
                max_ms: 0.0,
            };
        }
        let median_ms = if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        };
        let rank = (n * 95).div_ceil(100).max(1);
        Stats {
            median_ms,
            p95_ms: ms[rank - 1],
            min_ms: ms[0],
            max_ms: ms[n - 1],
        }
    }

    fn json(&self) -> Value {
        json!({
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        })
    }
}

/// One read measure of a mart.
struct Read {
    /// `Some(code)` for one CSS, `None` for the province.
    code_css: Option<String>,
    /// Where the mart was read: the shared zone (its suppressed file) or, for a mart without a
    /// shared file (nominative), that CSS's own zone.
    zone: Zone,
    rows: usize,
    cold: Stats,
    warm: Stats,
}

/// A read not measured, and why.
struct Skipped {
    scope: &'static str,
    reason: String,
}

struct MartFigures {
    mart: String,
    /// `None` for a published mart the pipelines no longer define.
    source: Option<Source>,
    publication: Option<Publication>,
    rows: u64,
    rebuild: Option<(usize, Stats)>,
    reads: Vec<Read>,
    skipped: Vec<Skipped>,
}

/// Runs `sql` on `ctx` to the end; returns the row count.
async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<usize> {
    let batches = ctx
        .sql(sql)
        .await
        .with_context(|| format!("planning {sql}"))?
        .collect()
        .await
        .with_context(|| format!("running {sql}"))?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

/// Checks that every run returned the same number of rows.
fn same_rows(what: &str, first: &mut Option<usize>, rows: usize) -> Result<()> {
    match first {
        None => *first = Some(rows),
        Some(n) if *n != rows => bail!("{what}: {rows} rows, {n} in an earlier run"),
        Some(_) => {}
    }
    Ok(())
}

/// Cold and warm timings of `sql` over the marts of `zone`.
async fn time_read(wh: &Warehouse, zone: &Zone, sql: &str, runs: u32) -> Result<(usize, Stats, Stats)> {
    let mut rows = None;
    let mut cold = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        let ctx = wh.marts_session(zone.clone()).await?;
        let n = run_sql(&ctx, sql).await?;
        cold.push(started.elapsed());
        same_rows(sql, &mut rows, n)?;
    }
    let ctx = wh.marts_session(zone.clone()).await?;
    same_rows(sql, &mut rows, run_sql(&ctx, sql).await?)?; // discarded: warms the session
    let mut warm = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        let n = run_sql(&ctx, sql).await?;
        warm.push(started.elapsed());
        same_rows(sql, &mut rows, n)?;
    }
    Ok((rows.unwrap_or(0), Stats::of(&cold), Stats::of(&warm)))
}

/// A SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The first row's first column of `sql` as text; `None` if no row.
async fn first_text(ctx: &SessionContext, sql: &str) -> Result<Option<String>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let values = cast(batch.column(0), &DataType::Utf8)?;
    let values = values
        .as_any()
        .downcast_ref::<StringArray>()
        .context("the value did not read as text")?;
    Ok(Some(values.value(0).to_string()))
}

/// The CSS with the most rows in `mart` (ties: the smallest code); `None` if the mart has no
/// rows.
async fn largest_css(ctx: &SessionContext, mart: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT CAST(code_css AS VARCHAR) AS code_css, count(*) AS n FROM {} \
         WHERE code_css IS NOT NULL GROUP BY 1 ORDER BY n DESC, code_css LIMIT 1",
        ident(mart)
    );
    first_text(ctx, &sql).await
}

/// The CSS whose own mart files hold `mart` (`css/<code>/marts/...` in the marts manifest).
fn css_of_files(published: &MartsManifest, mart: &str) -> Vec<String> {
    let mut codes: Vec<String> = published
        .marts
        .get(mart)
        .map(|t| {
            t.css_files
                .iter()
                .filter_map(|f| f.strip_prefix("css/")?.split('/').next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    codes.sort();
    codes.dedup();
    codes
}

/// For a mart without a shared file: the CSS whose own zone has the most rows of it (ties: the
/// smallest code; when none has rows, the first).
async fn largest_css_zone(wh: &Warehouse, codes: &[String], mart: &str) -> Result<Option<String>> {
    let mut best: Option<(u64, String)> = None;
    for code in codes {
        let ctx = wh.marts_session(Zone::Css(code.clone())).await?;
        let n: u64 = first_text(&ctx, &format!("SELECT count(*) FROM {}", ident(mart)))
            .await?
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, code.clone()));
        }
    }
    Ok(best.map(|(_, code)| code))
}

/// `socle-bench sql`: the marts as another engine needs them (see the module).
fn sql(a: SqlArgs) -> Result<()> {
    let (project, problems) = socle_marts::load(&a.pipelines)?;
    if let Some(p) = problems.first() {
        bail!("pipeline problem: {p} (run `socle check`)");
    }
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    let reference = fresh_dir(&a.out.join("reference"))?;
    let mut tables = socle_marts::reference_tables(&project)?;
    // `nuits`: the night of each CSS of the warehouse, as the night's marts stage registers it
    // in the shared zone's session.
    let mut nights = Vec::new();
    if let Some(w) = &a.warehouse {
        for m in Warehouse::open(w)?.manifests()? {
            match chrono::NaiveDate::parse_from_str(&m.night, "%Y-%m-%d") {
                Ok(d) => nights.push((m.code_css, d)),
                Err(_) => tracing::warn!(css = %m.code_css, night = %m.night, "night is not a date: not in `nuits`"),
            }
        }
    }
    tables.push((socle_marts::NIGHTS.to_string(), socle_marts::nights_batch(&nights)?));
    for (name, batch) in &tables {
        write_parquet(
            &reference.join(format!("{name}.parquet")),
            batch.schema(),
            std::slice::from_ref(batch),
        )?;
    }
    let shared = fresh_dir(&a.out.join("shared_schemas"))?;
    for e in &dict.entities {
        write_parquet(
            &shared.join(format!("{}.parquet", e.name)),
            e.shared_arrow_schema(),
            &[],
        )?;
    }
    let doc = marts_json(&project);
    let path = a.out.join("marts.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    let path = a.out.join("duckdb_functions.sql");
    std::fs::write(&path, socle_marts::duckdb_macros()).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{}: {} intermediate models and {} marts (dependency order), {} reference tables and seeds, {} entity schemas",
        a.out.display(),
        project.intermediates.len(),
        project.marts.len(),
        tables.len(),
        dict.entities.len()
    );
    Ok(())
}

/// `dir`, created, without the Parquet files an earlier run left there.
fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(dir.to_path_buf())
}

/// A Parquet file for the other engine (socle-export's writer: zstd, the Arrow types kept).
fn write_parquet(
    path: &Path,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: &[datafusion::arrow::array::RecordBatch],
) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut sink = std::io::BufWriter::new(file);
    socle_export::write_parquet(&mut sink, &schema, batches, &[])?;
    sink.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Shared => "shared",
        Source::Css => "css",
    }
}

fn publication_name(p: Publication) -> &'static str {
    match p {
        Publication::Shared => "shared",
        Publication::Css => "css",
        Publication::Internal => "internal",
    }
}

/// The content of `marts.json`: every intermediate model then every mart of `project`, in
/// dependency order.
fn marts_json(project: &Project) -> Value {
    let marts: Vec<Value> = project
        .models()
        .map(|m| {
            json!({
                "name": m.spec.name,
                "kind": if m.is_intermediate() { "intermediate" } else { "mart" },
                "source": source_name(m.spec.source),
                "publication": publication_name(m.spec.publication),
                "execution": match m.spec.execution {
                    socle_marts::Execution::ParCss => "par_css",
                    socle_marts::Execution::Province => "province",
                },
                "unique_key": m.spec.unique_key,
                "depends_on": m.depends_on,
                "sql": m.sql,
                "columns": m.spec.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(marts)
}

async fn queries(a: QueriesArgs) -> Result<()> {
    if !a.warehouse.join("_socle").exists() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    let schemas = socle_warehouse::entity_schemas(&dict.entities);
    let (project, problems) = socle_marts::load(&a.pipelines)?;
    let marts = &project.marts;
    if let Some(p) = problems.first() {
        bail!("pipeline problem: {p} (run `socle check`)");
    }
    let wh = Warehouse::open(&a.warehouse)?;
    let Some(published) = wh.marts_manifest()? else {
        bail!("{} has no marts yet: run `socle run` first", a.warehouse.display());
    };
    for code in &a.css {
        if wh.manifest(code)?.is_none() {
            bail!("CSS {code} has no published data in {}", a.warehouse.display());
        }
    }
    let runs = a.runs;
    let probe = wh.marts_session(Zone::Shared).await?;

    // Marts of the pipelines first (in their order), then any published mart the pipelines no
    // longer define (read only).
    let mut names: Vec<String> = marts.iter().map(|m| m.spec.name.clone()).collect();
    let extra: Vec<String> = published.marts.keys().filter(|n| !names.contains(n)).cloned().collect();
    names.extend(extra);

    let mut figures = Vec::new();
    for name in &names {
        let spec = project.mart(name).map(|m| &m.spec);
        let mut f = MartFigures {
            mart: name.clone(),
            source: spec.map(|s| s.source),
            publication: spec.map(|s| s.publication),
            rows: published.marts.get(name).map(|t| t.rows).unwrap_or(0),
            rebuild: None,
            reads: Vec::new(),
            skipped: Vec::new(),
        };
        if project.mart(name).is_some() {
            // The mart and the marts it reads, computed as the night does (a `source: css` mart
            // in every CSS's zone).
            let needed = project.with_dependencies(name);
            let mut rows = None;
            let mut samples = Vec::with_capacity(runs as usize);
            for _ in 0..runs {
                let started = Instant::now();
                let built = socle_pipeline::compute_marts(&wh, &dict, &project, &needed).await?;
                samples.push(started.elapsed());
                if let Some(f) = built.failed.first() {
                    anyhow::bail!("rebuild of {name}: {} failed: {}", f.name, f.reason);
                }
                let n = built
                    .built
                    .iter()
                    .find(|(b, _)| b == name)
                    .map(|(_, rows)| *rows as usize)
                    .unwrap_or(0);
                same_rows(&format!("rebuild of {name}"), &mut rows, n)?;
            }
            f.rebuild = Some((rows.unwrap_or(0), Stats::of(&samples)));
        }
        match published.marts.get(name) {
            Some(files) if !files.shared_files.is_empty() => {
                // Read as dashboards read it: the shared zone's file (small cells suppressed).
                let has_css = probe
                    .table_provider(name.as_str())
                    .await?
                    .schema()
                    .index_of("code_css")
                    .is_ok();
                let codes = if !has_css {
                    Vec::new() // A provincial mart: nothing to read per CSS.
                } else if a.css.is_empty() {
                    largest_css(&probe, name).await?.into_iter().collect()
                } else {
                    a.css.clone()
                };
                for code in codes {
                    let sql = format!("SELECT * FROM {} WHERE code_css = {}", ident(name), quote(&code));
                    let (rows, cold, warm) = time_read(&wh, &Zone::Shared, &sql, runs).await?;
                    f.reads.push(Read {
                        code_css: Some(code),
                        zone: Zone::Shared,
                        rows,
                        cold,
                        warm,
                    });
                }
                let sql = format!("SELECT * FROM {}", ident(name));
                let (rows, cold, warm) = time_read(&wh, &Zone::Shared, &sql, runs).await?;
                f.reads.push(Read {
                    code_css: None,
                    zone: Zone::Shared,
                    rows,
                    cold,
                    warm,
                });
            }
            Some(files) if !files.css_files.is_empty() => {
                // No shared file (a nominative mart): only each CSS's own zone has it.
                let codes = if a.css.is_empty() {
                    largest_css_zone(&wh, &css_of_files(&published, name), name)
                        .await?
                        .into_iter()
                        .collect()
                } else {
                    a.css.clone()
                };
                for code in codes {
                    let zone = Zone::Css(code.clone());
                    let sql = format!("SELECT * FROM {} WHERE code_css = {}", ident(name), quote(&code));
                    let (rows, cold, warm) = time_read(&wh, &zone, &sql, runs).await?;
                    f.reads.push(Read {
                        code_css: Some(code),
                        zone,
                        rows,
                        cold,
                        warm,
                    });
                }
                f.skipped.push(Skipped {
                    scope: "province",
                    reason: "no shared-zone file (publication: css, nominative): read in one CSS's own zone only"
                        .to_string(),
                });
            }
            Some(_) => f.skipped.push(Skipped {
                scope: "all",
                reason: "published without any file (no CSS in the warehouse)".to_string(),
            }),
            None => {
                tracing::warn!(mart = %name, "mart not published in this warehouse: rebuild timed, reads skipped");
                f.skipped.push(Skipped {
                    scope: "all",
                    reason: "not published in this warehouse".to_string(),
                });
            }
        }
        figures.push(f);
    }

    // All marts together, as the night builds them; and the `source: shared` marts alone (what
    // an engine over the shared zone alone can do), when some marts run per CSS.
    let all: Vec<&socle_marts::Mart> = marts.iter().collect();
    let rebuild_all = time_compute(&wh, &dict, &project, &all, runs).await?;
    let shared_marts = project.marts_of(Source::Shared);
    let rebuild_all_shared = if shared_marts.is_empty() {
        None
    } else if shared_marts.len() == all.len() {
        Some(rebuild_all)
    } else {
        Some(time_compute(&wh, &dict, &project, &shared_marts, runs).await?)
    };

    // Opening a session alone: every canonical table and the marts, or the marts only.
    let mut full = Vec::with_capacity(runs as usize);
    let mut marts_only = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        wh.session(Zone::Shared, &schemas).await?;
        full.push(started.elapsed());
        let started = Instant::now();
        wh.marts_session(Zone::Shared).await?;
        marts_only.push(started.elapsed());
    }
    let report = Report {
        warehouse: a.warehouse.clone(),
        runs,
        figures,
        rebuild_all,
        rebuild_all_shared,
        session_full: Stats::of(&full),
        session_marts: Stats::of(&marts_only),
    };

    print_table(&report);
    if let Some(path) = &a.json {
        let doc = to_json(&report);
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Timings of computing `marts` together, `runs` times.
async fn time_compute(
    wh: &Warehouse,
    dict: &Dictionary,
    project: &Project,
    marts: &[&socle_marts::Mart],
    runs: u32,
) -> Result<Stats> {
    let mut samples = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        socle_pipeline::compute_marts(wh, dict, project, marts).await?;
        samples.push(started.elapsed());
    }
    Ok(Stats::of(&samples))
}

/// Everything measured.
struct Report {
    warehouse: PathBuf,
    runs: u32,
    figures: Vec<MartFigures>,
    rebuild_all: Stats,
    /// The `source: shared` marts alone (`None`: there are none).
    rebuild_all_shared: Option<Stats>,
    /// Opening [`Warehouse::session`] on the shared zone (every canonical file's footer).
    session_full: Stats,
    /// Opening [`Warehouse::marts_session`] on the shared zone.
    session_marts: Stats,
}

fn to_json(r: &Report) -> Value {
    let marts: Vec<Value> = r
        .figures
        .iter()
        .map(|f| {
            let reads: Vec<Value> = f
                .reads
                .iter()
                .map(|r| {
                    let zone = match r.zone {
                        Zone::Shared => "shared",
                        Zone::Css(_) => "css",
                    };
                    match &r.code_css {
                        Some(code) => json!({
                            "scope": "css", "code_css": code, "zone": zone, "rows": r.rows,
                            "cold": r.cold.json(), "warm": r.warm.json(),
                        }),
                        None => json!({
                            "scope": "province", "zone": zone, "rows": r.rows,
                            "cold": r.cold.json(), "warm": r.warm.json(),
                        }),
                    }
                })
                .collect();
            let skipped: Vec<Value> = f
                .skipped
                .iter()
                .map(|s| json!({"scope": s.scope, "reason": s.reason}))
                .collect();
            json!({
                "mart": f.mart,
                "source": f.source.map(source_name),
                "publication": f.publication.map(publication_name),
                "rows": f.rows,
                "rebuild": f.rebuild.map(|(_, s)| s.json()),
                "read": reads,
                "read_skipped": skipped,
            })
        })
        .collect();
    json!({
        "warehouse": r.warehouse.display().to_string(),
        "runs": r.runs,
        "marts": marts,
        "rebuild_all_ms": r.rebuild_all.json(),
        "rebuild_all_shared_ms": r.rebuild_all_shared.map(|s| s.json()),
        "session_open_ms": {
            "shared_full": r.session_full.json(),
            "marts_only": r.session_marts.json(),
        },
    })
}

fn print_table(r: &Report) {
    println!(
        "Query latency of the marts of {} ({} runs each; milliseconds)",
        r.warehouse.display(),
        r.runs
    );
    let row = |mart: &str, query: &str, rows: String, cold: Option<&Stats>, warm: Option<&Stats>| {
        let cells = |s: Option<&Stats>| match s {
            Some(s) => [
                format!("{:.2}", s.median_ms),
                format!("{:.2}", s.p95_ms),
                format!("{:.2}", s.max_ms),
            ],
            None => ["-".to_string(), "-".to_string(), "-".to_string()],
        };
        let [cm, cp, cx] = cells(cold);
        let [wm, wp, wx] = cells(warm);
        println!("{mart:<28} {query:<20} {rows:>10} {cm:>10} {cp:>10} {cx:>10} {wm:>10} {wp:>10} {wx:>10}");
    };
    println!(
        "{:<28} {:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "mart", "query", "rows", "cold med", "cold p95", "cold max", "warm med", "warm p95", "warm max"
    );
    for f in &r.figures {
        if let Some((rows, s)) = &f.rebuild {
            row(&f.mart, "rebuild", rows.to_string(), Some(s), None);
        }
        for read in &f.reads {
            let query = match (&read.code_css, &read.zone) {
                (Some(code), Zone::Shared) => format!("read css {code}"),
                (Some(code), Zone::Css(_)) => format!("read css {code} (zone)"),
                (None, _) => "read province".to_string(),
            };
            row(
                &f.mart,
                &query,
                read.rows.to_string(),
                Some(&read.cold),
                Some(&read.warm),
            );
        }
        for s in &f.skipped {
            println!("{:<28} read {} skipped: {}", f.mart, s.scope, s.reason);
        }
    }
    row("(all marts)", "rebuild", String::new(), Some(&r.rebuild_all), None);
    if let Some(s) = &r.rebuild_all_shared
        && r.figures.iter().any(|f| f.source == Some(Source::Css))
    {
        row("(source: shared marts)", "rebuild", String::new(), Some(s), None);
    }
    row(
        "(session only)",
        "open shared zone",
        String::new(),
        Some(&r.session_full),
        None,
    );
    row(
        "(session only)",
        "open marts only",
        String::new(),
        Some(&r.session_marts),
        None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn stats_median_p95_min_max() {
        let s = Stats::of(&ms(&[5, 1, 3]));
        assert_eq!((s.median_ms, s.p95_ms, s.min_ms, s.max_ms), (3.0, 5.0, 1.0, 5.0));
        let s = Stats::of(&ms(&[4, 1, 3, 2]));
        assert_eq!(s.median_ms, 2.5);
        assert_eq!(s.p95_ms, 4.0);
        // 20 runs: p95 is the 19th value.
        let s = Stats::of(&ms(&(1..=20).collect::<Vec<_>>()));
        assert_eq!((s.median_ms, s.p95_ms), (10.5, 19.0));
        let s = Stats::of(&ms(&[7]));
        assert_eq!((s.median_ms, s.p95_ms, s.min_ms, s.max_ms), (7.0, 7.0, 7.0, 7.0));
    }

    #[test]
    fn css_zones_of_a_mart_from_its_files() {
        let files = socle_warehouse::TableFiles {
            css_files: vec![
                "css/881000/marts/liste/r1.parquet".into(),
                "css/751000/marts/liste/r1.parquet".into(),
                "marts/liste/r1.parquet".into(),
            ],
            ..Default::default()
        };
        let manifest = MartsManifest {
            run_id: "r1".into(),
            published_at: String::new(),
            marts: [("liste".to_string(), files)].into(),
            ..Default::default()
        };
        assert_eq!(css_of_files(&manifest, "liste"), ["751000", "881000"]);
        assert!(css_of_files(&manifest, "autre").is_empty());
    }

    #[test]
    fn sql_quoting() {
        assert_eq!(quote("76'2"), "'76''2'");
        assert_eq!(ident("taux\"x"), "\"taux\"\"x\"");
    }
}
