//! `socle-bench`: what the benchmark harness (`benches/bench.py`, see `benches/README.md`)
//! needs from Socle, kept out of the product binary:
//!
//! - `socle-bench queries`: each mart's rebuild and read latency on a warehouse;
//! - `socle-bench sql`: the marts' SQL in dependency order, the reference tables and the
//!   shared-zone schemas, for another engine (DuckDB) to run the same definitions.
//!
//! The details are in [`bench`].

mod bench;

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "socle-bench",
    version,
    about = "Socle's benchmark helper: marts latency, marts SQL for another engine"
)]
struct Cli {
    #[command(flatten)]
    bench: bench::BenchArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(bench::bench(cli.bench)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
