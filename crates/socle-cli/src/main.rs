//! `socle`: the command line of the Socle warehouse. Thin: parses arguments, sets up logs, and
//! calls the crates (connectors, transform, warehouse, marts, fixtures).

mod audit;
mod dashboards;
mod extracts;
mod logging;
mod personne;
mod query;
mod rekey;
mod retention;
mod run;
mod serve;
mod status;
mod test;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use socle_dictionary::Dictionary;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "socle",
    version,
    about = "Socle: the nightly ETL and Parquet warehouse of Québec school service centres"
)]
struct Cli {
    /// Log format on standard error: `text` for people, `json` for schedulers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Load a night of exports into the warehouse, then build the marts.
    Run(run::RunArgs),
    /// Run SQL over the warehouse (shared zone by default, a CSS's own zone with --css).
    Query(query::QueryArgs),
    /// Export the marts for dashboards and spreadsheets: `list` them, `export` one to CSV, Excel
    /// (xlsx) or Parquet from the shared zone or a CSS's own zone.
    Dashboards(dashboards::DashboardsArgs),
    /// The ministry accountability extracts (reddition de comptes): `list`, `build` (validated,
    /// all or nothing per CSS and year), `submit` (freeze a build as transmitted).
    Extracts(extracts::ExtractsArgs),
    /// Right of access (Law 25): every row a CSS's zone holds about one student, as JSON or Excel; audited.
    Personne(personne::PersonneArgs),
    /// Retention (Law 25): list, or remove with --apply, the school years past the N most recent.
    Retention(retention::RetentionArgs),
    /// Key rotation: recompute every student key with a new secret, switched at once.
    Rekey(rekey::RekeyArgs),
    /// Show, per CSS and source, the last night loaded, row and quarantine counts, failures.
    Status(status::StatusArgs),
    /// The web page (dashboards, downloads, documentation) and the SQL endpoint (Postgres wire)
    /// with roles, scopes and an audit log; `serve passwd USER` sets an account's password.
    Serve(serve::ServeArgs),
    /// Read the audit log (Law 25): every sign-in, page, download, query and statement.
    Audit(serve::AuditArgs),
    /// Validate the data dictionary and the pipelines; report every problem with its file.
    Check {
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        #[arg(long, default_value = "pipelines")]
        pipelines: PathBuf,
    },
    /// Run the mart cases of pipelines/tests/ (all, or those of a file, a mart, or `mart::case`):
    /// one line per case, exit 1 if any fails.
    Test(test::TestArgs),
    /// Print the data dictionary as documentation.
    Dictionary {
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        #[arg(long, value_enum, default_value_t = DocFormat::Md)]
        format: DocFormat,
    },
    /// Write deterministic synthetic GPI or Mozaïk, and JADE, exports (and, with --truth, their
    /// ground truth).
    Generate(GenerateArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormat {
    Md,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Exports root to write (`<out>/<css>/<night>/{gpi,mozaik,jade}/`).
    #[arg(long)]
    out: PathBuf,
    /// Number of CSS drawn from the ministry registry (ignored with --css).
    #[arg(long, default_value_t = 3)]
    css_count: usize,
    /// CSS codes to generate, e.g. 866000,881000 (real codes of the registry).
    #[arg(long, value_delimiter = ',')]
    css: Vec<String>,
    /// Total number of students over all CSS.
    #[arg(long, default_value_t = 1000)]
    students: usize,
    /// School years, ending with the one containing the night (1 to 10).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    years: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Export night, YYYY-MM-DD.
    #[arg(long, default_value = "2025-11-20")]
    night: chrono::NaiveDate,
    /// Rate of extra bad rows of every kind (0 = clean exports).
    #[arg(long, default_value_t = 0.0)]
    bad_rate: f64,
    /// Where to write the ground truth (outside the exports).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// The dictionary whose per-CSS conventions the generator follows.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// Also write the PEVR targets of the generated CSS (`cibles_pevr.csv`, the seed of the
    /// extract `indicateurs_pevr`) in this folder, e.g. `pipelines/seeds`.
    #[arg(long, value_name = "DIR")]
    seeds: Option<PathBuf>,
    /// CSS whose youth sector is exported as Mozaïk instead of GPI: comma-separated codes
    /// (among the generated CSS) or `all`.
    #[arg(long, value_name = "CODES|all")]
    mozaik: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run::run(args, cli.log_format).await,
            Command::Query(args) => query::query(args).await.map(|_| 0),
            Command::Dashboards(args) => dashboards::dashboards(args).await.map(|_| 0),
            Command::Extracts(args) => extracts::extracts(args).await,
            Command::Status(args) => status::status(args),
            Command::Serve(args) => serve::serve(args).await,
            Command::Audit(args) => serve::audit(args),
            Command::Personne(args) => personne::personne(args).await.map(|_| 0),
            Command::Retention(args) => retention::retention(args).await.map(|_| 0),
            Command::Rekey(args) => rekey::rekey(args).await.map(|_| 0),
            Command::Check { schemas, pipelines } => check(schemas, pipelines).await,
            Command::Test(args) => test::test(args).await,
            Command::Dictionary {
                schemas,
                format: DocFormat::Md,
            } => {
                let d = Dictionary::load(&schemas)?;
                print!("{}", d.to_markdown());
                Ok(0)
            }
            Command::Generate(args) => generate(args).map(|_| 0),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", logging::error_line(&e));
            ExitCode::from(1)
        }
    }
}

async fn check(schemas: PathBuf, pipelines: PathBuf) -> Result<u8> {
    let c = socle_pipeline::check_project(&schemas, &pipelines).await?;
    if c.problems.is_empty() {
        println!("OK: {}", c.checked);
        return Ok(0);
    }
    for p in &c.problems {
        println!("{p}");
    }
    eprintln!("{} problem(s) found", c.problems.len());
    Ok(1)
}

fn generate(a: GenerateArgs) -> Result<()> {
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    if !(0.0..=0.5).contains(&a.bad_rate) {
        bail!("--bad-rate must be between 0 and 0.5");
    }
    let mut opts = socle_fixtures::GenerateOptions::default_for(a.out.clone());
    opts.css = a.css;
    opts.css_count = a.css_count;
    opts.students = a.students;
    opts.years = a.years;
    opts.seed = a.seed;
    opts.night = a.night;
    opts.bad_rate = a.bad_rate;
    opts.truth = a.truth;
    opts.conventions = socle_fixtures::ConventionOverrides::of_dictionary(&dict);
    opts.mozaik = a
        .mozaik
        .as_deref()
        .map(socle_fixtures::MozaikSelection::parse)
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let s = socle_fixtures::generate(&opts)?;
    if let Some(dir) = &a.seeds {
        use chrono::Datelike;
        let year = socle_core::SchoolYear::containing(a.night.year(), a.night.month());
        let path = dir.join("cibles_pevr.csv");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&path, socle_fixtures::pevr_targets(&s.css, year, a.years, a.seed))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("PEVR targets of {} CSS written to {}", s.css.len(), path.display());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} CSS ({}), {} students (+{} adults), {} files, {} rows ({} bad) in {:.1}s ({:.0} rows/s) under {}",
        s.css.len(),
        s.css.join(", "),
        s.students,
        s.adults,
        s.files,
        s.rows,
        s.bad_rows,
        secs,
        s.rows as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}
