//! `socle`: the command line of the Socle warehouse. Thin: parses arguments, sets up logs, and
//! calls the crates (connectors, transform, warehouse, marts, fixtures).

mod cluster;
mod dashboards;
mod extracts;
mod logging;
mod maintenance;
mod personne;
mod query;
mod rekey;
mod retention;
mod run;
mod serve;
mod status;
mod test;

use anyhow::Result;
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

/// The project a command reads: the data dictionary and the pipelines (relative to the
/// working folder: run commands from the repository or the deployment's root).
#[derive(clap::Args)]
pub struct ProjectArgs {
    /// The data dictionary (`dictionnaire.yaml`, entities, sources, CSS profiles).
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// The pipelines: marts, intermediate models, extracts, seeds, tests and `config.yaml`.
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
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
    /// The past nights `socle query --as-of` can read (time travel), oldest first.
    History(maintenance::HistoryArgs),
    /// Delete the files replaced more than --retain-days ago (7 by default) and forget the past
    /// states that listed them.
    Vacuum(maintenance::VacuumArgs),
    /// Convert a warehouse written before its tables were Delta tables, in place, atomically.
    Migrate(maintenance::MigrateArgs),
    /// Show, per CSS and source, the last night loaded, row and quarantine counts, failures.
    Status(status::StatusArgs),
    /// The web page (dashboards, downloads, documentation) and the SQL endpoint (Postgres wire)
    /// with roles, scopes and an audit log; `serve passwd USER` sets an account's password.
    Serve(serve::ServeArgs),
    /// Read the audit log (Law 25): every sign-in, page, download, query and statement.
    Audit(serve::AuditArgs),
    /// Validate the data dictionary and the pipelines; report every problem with its file.
    Check(ProjectArgs),
    /// Run the mart cases of pipelines/tests/ (all, or those of a file, a mart, or `mart::case`):
    /// one line per case, exit 1 if any fails.
    Test(test::TestArgs),
    /// A Ballista scheduler with Socle's functions, for `socle run --engine ballista://HOST:PORT`
    /// and `socle query --engine`; runs until stopped.
    Scheduler(cluster::SchedulerArgs),
    /// A Ballista executor with Socle's functions, registered with `--scheduler HOST:PORT`;
    /// runs until stopped.
    Executor(cluster::ExecutorArgs),
    /// Print the data dictionary as documentation.
    Dictionary {
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        #[arg(long, value_enum, default_value_t = DocFormat::Md)]
        format: DocFormat,
    },
    /// Write deterministic synthetic GPI or Mozaïk, and JADE, exports (and, with --truth, their
    /// ground truth).
    Generate(socle_fixtures::GenerateRequest),
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormat {
    Md,
}

fn main() -> ExitCode {
    // Bad usage exits 1, as every other refusal (2 means a night partly failed).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
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
            Command::Query(args) => query::query(args).await,
            Command::Dashboards(args) => dashboards::dashboards(args).await,
            Command::Extracts(args) => extracts::extracts(args).await,
            Command::Status(args) => status::status(args),
            Command::History(args) => maintenance::history(args),
            Command::Vacuum(args) => maintenance::vacuum(args),
            Command::Migrate(args) => maintenance::migrate(args),
            Command::Serve(args) => serve::serve(args).await,
            Command::Audit(args) => serve::audit(args),
            Command::Personne(args) => personne::personne(args).await,
            Command::Retention(args) => retention::retention(args).await,
            Command::Rekey(args) => rekey::rekey(args).await,
            Command::Check(p) => check(p).await,
            Command::Scheduler(args) => cluster::scheduler(args).await,
            Command::Executor(args) => cluster::executor(args).await,
            Command::Test(args) => test::test(args).await,
            Command::Dictionary {
                schemas,
                format: DocFormat::Md,
            } => {
                let d = Dictionary::load(&schemas)?;
                print!("{}", d.to_markdown());
                Ok(0)
            }
            Command::Generate(req) => {
                socle_fixtures::run_generate(&req)?.iter().for_each(|l| println!("{l}"));
                Ok(0)
            }
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

async fn check(p: ProjectArgs) -> Result<u8> {
    let c = socle_pipeline::check_project(&p.schemas, &p.pipelines).await?;
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
