//! `socle bench queries`: how long the marts take to rebuild and to read, measured on a
//! warehouse (the dashboards' latency).
//!
//! For each mart of the pipelines:
//! - **rebuild**: the mart's SQL over the shared zone's canonical tables, executed fully, in a
//!   fresh session each run (what the night's marts stage computes; publishing is not timed);
//! - **read**, per CSS (`SELECT * FROM <mart> WHERE code_css = '<code>'`, what a dashboard does)
//!   and for the province (`SELECT * FROM <mart>`), **cold** (a new marts session, registered
//!   from the manifest, plus the query, timed together) and **warm** (the same session, the
//!   query repeated; the first run is discarded).
//!
//! Then all marts rebuilt together, as the night does, and the time to open a session alone:
//! the full shared zone ([`Warehouse::session`], every canonical file's footer) and the marts
//! only ([`Warehouse::marts_session`]). The default CSS of a mart is the one with the most rows
//! in it; marts without a `code_css` column are read for the province only. Timings are wall
//! clock ([`Instant`]); median, p95 (nearest rank), min and max. Nothing is written to the
//! warehouse (opening it collects garbage, as every command does).

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};
use socle_dictionary::Dictionary;
use socle_warehouse::{Warehouse, Zone};
use std::path::PathBuf;
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
    rows: usize,
    cold: Stats,
    warm: Stats,
}

struct MartFigures {
    mart: String,
    rows: u64,
    rebuild: Option<(usize, Stats)>,
    reads: Vec<Read>,
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

/// Cold and warm timings of `sql` over the marts.
async fn time_read(wh: &Warehouse, sql: &str, runs: u32) -> Result<(usize, Stats, Stats)> {
    let mut rows = None;
    let mut cold = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        let ctx = wh.marts_session(Zone::Shared).await?;
        let n = run_sql(&ctx, sql).await?;
        cold.push(started.elapsed());
        same_rows(sql, &mut rows, n)?;
    }
    let ctx = wh.marts_session(Zone::Shared).await?;
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

/// The CSS with the most rows in `mart` (ties: the smallest code); `None` if the mart has no
/// rows.
async fn largest_css(ctx: &SessionContext, mart: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT CAST(code_css AS VARCHAR) AS code_css, count(*) AS n FROM {} \
         WHERE code_css IS NOT NULL GROUP BY 1 ORDER BY n DESC, code_css LIMIT 1",
        ident(mart)
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let codes = cast(batch.column(0), &DataType::Utf8)?;
    let codes = codes
        .as_any()
        .downcast_ref::<StringArray>()
        .context("code_css did not read as text")?;
    Ok(Some(codes.value(0).to_string()))
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
    let schemas = crate::query::shared_schemas(&dict);
    let (marts, problems) = socle_marts::load(&a.pipelines)?;
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
        let mut f = MartFigures {
            mart: name.clone(),
            rows: published.marts.get(name).map(|t| t.rows).unwrap_or(0),
            rebuild: None,
            reads: Vec::new(),
        };
        if let Some(m) = marts.iter().find(|m| &m.spec.name == name) {
            let mut rows = None;
            let mut samples = Vec::with_capacity(runs as usize);
            for _ in 0..runs {
                let started = Instant::now();
                let ctx = wh.session(Zone::Shared, &schemas).await?;
                let n = run_sql(&ctx, &m.sql).await?;
                samples.push(started.elapsed());
                same_rows(&format!("rebuild of {name}"), &mut rows, n)?;
            }
            f.rebuild = Some((rows.unwrap_or(0), Stats::of(&samples)));
        }
        if published.marts.contains_key(name) {
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
                let (rows, cold, warm) = time_read(&wh, &sql, runs).await?;
                f.reads.push(Read {
                    code_css: Some(code),
                    rows,
                    cold,
                    warm,
                });
            }
            let (rows, cold, warm) = time_read(&wh, &format!("SELECT * FROM {}", ident(name)), runs).await?;
            f.reads.push(Read {
                code_css: None,
                rows,
                cold,
                warm,
            });
        } else {
            tracing::warn!(mart = %name, "mart not published in this warehouse: rebuild timed, reads skipped");
        }
        figures.push(f);
    }

    // All marts together, as the night builds them.
    let mut samples = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        let ctx = wh.session(Zone::Shared, &schemas).await?;
        socle_marts::build(&marts, &ctx).await?;
        samples.push(started.elapsed());
    }
    let rebuild_all = Stats::of(&samples);

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

/// Everything measured.
struct Report {
    warehouse: PathBuf,
    runs: u32,
    figures: Vec<MartFigures>,
    rebuild_all: Stats,
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
                .map(|r| match &r.code_css {
                    Some(code) => json!({
                        "scope": "css", "code_css": code, "rows": r.rows,
                        "cold": r.cold.json(), "warm": r.warm.json(),
                    }),
                    None => json!({
                        "scope": "province", "rows": r.rows,
                        "cold": r.cold.json(), "warm": r.warm.json(),
                    }),
                })
                .collect();
            json!({
                "mart": f.mart,
                "rows": f.rows,
                "rebuild": f.rebuild.map(|(_, s)| s.json()),
                "read": reads,
            })
        })
        .collect();
    json!({
        "warehouse": r.warehouse.display().to_string(),
        "runs": r.runs,
        "marts": marts,
        "rebuild_all_ms": r.rebuild_all.json(),
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
            let query = match &read.code_css {
                Some(code) => format!("read css {code}"),
                None => "read province".to_string(),
            };
            row(
                &f.mart,
                &query,
                read.rows.to_string(),
                Some(&read.cold),
                Some(&read.warm),
            );
        }
    }
    row("(all marts)", "rebuild", String::new(), Some(&r.rebuild_all), None);
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
    fn sql_quoting() {
        assert_eq!(quote("76'2"), "'76''2'");
        assert_eq!(ident("taux\"x"), "\"taux\"\"x\"");
    }
}
