//! `socle dashboards`: the published marts as files for dashboards and spreadsheets: `list`
//! them, `export` one (`socle_serve::export`, the writer the web downloads use too).

use anyhow::{Context, Result};
use socle_serve::export;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    command: DashboardsCommand,
}

#[derive(clap::Subcommand)]
enum DashboardsCommand {
    /// List the marts: name, where each is published, and its one-line definition.
    List {
        /// The pipelines folder: mart definitions (`marts/*.yaml`) and `config.yaml`.
        #[arg(long, default_value = "pipelines")]
        pipelines: PathBuf,
    },
    /// Export one published mart to CSV, Excel (xlsx) or Parquet, as a zone of the warehouse
    /// shows it.
    Export(export::ExportRequest),
}

pub async fn dashboards(a: DashboardsArgs) -> Result<u8> {
    match a.command {
        DashboardsCommand::List { pipelines } => {
            let (project, problems) = socle_marts::load(&pipelines)
                .with_context(|| format!("loading the marts of {}", pipelines.display()))?;
            problems.iter().for_each(|p| tracing::warn!("pipeline problem: {p}"));
            match project.marts.is_empty() {
                true => println!("no marts in {}", pipelines.join("marts").display()),
                false => print!("{}", export::list_marts(&project)),
            }
        }
        DashboardsCommand::Export(req) => println!("{}", export::export_to_file(&req).await?),
    }
    Ok(0)
}
