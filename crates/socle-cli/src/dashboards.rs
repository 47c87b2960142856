//! `socle dashboards`: the published marts as files for dashboards and spreadsheets.
//!
//! - `list`: every mart of the pipelines, where it is published and what it counts;
//! - `export`: one mart as read from a zone of the warehouse (the shared zone, small cells
//!   suppressed, or a CSS's own zone, exact counts and the nominative marts), to CSV, Excel or
//!   Parquet. The file is written beside the output under a temporary name, then renamed: a
//!   dashboard never picks up a half-written file.

use anyhow::{Context, Result, bail};
use socle_core::SchoolYear;
use socle_export::{AtomicFile, CsvOptions, XLSX_MAX_ROWS};
use socle_marts::Project;
use socle_serve::download::Format;
use socle_serve::export;
use socle_warehouse::Warehouse;
use std::path::{Path, PathBuf};

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
    Export(ExportArgs),
}

#[derive(clap::Args)]
#[command(after_long_help = socle_serve::export::EXPORT_HELP)]
pub struct ExportArgs {
    /// The mart to export (see `socle dashboards list`).
    name: String,
    /// Read this CSS's own zone (exact counts, nominative marts) instead of the shared zone.
    #[arg(long, value_name = "CODE")]
    css: Option<String>,
    /// Only this school year: `2024-2025` or its start year `2024`.
    #[arg(long, value_name = "YEAR")]
    year: Option<String>,
    /// File format; default: from the extension of --output.
    #[arg(long, value_parser = Format::from_arg, value_name = "csv|xlsx|parquet")]
    format: Option<Format>,
    /// File to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// The pipelines folder: the mart's definition (`marts/NAME.yaml`) and the small-cell
    /// threshold (`config.yaml`).
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    /// CSV field delimiter, one character (`,` by default; `;` for Excel in French; `tab`).
    #[arg(long, value_parser = socle_export::parse_delimiter, value_name = "CHAR")]
    delimiter: Option<u8>,
    /// Who exports, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

pub async fn dashboards(a: DashboardsArgs) -> Result<()> {
    match a.command {
        DashboardsCommand::List { pipelines } => list(&pipelines),
        DashboardsCommand::Export(args) => export(args).await,
    }
}

fn load_project(pipelines: &Path) -> Result<(Project, Vec<socle_marts::Problem>)> {
    socle_marts::load(pipelines).with_context(|| format!("loading the marts of {}", pipelines.display()))
}

fn list(pipelines: &Path) -> Result<()> {
    let (project, problems) = load_project(pipelines)?;
    for p in &problems {
        tracing::warn!("pipeline problem: {p}");
    }
    if project.marts.is_empty() {
        println!("no marts in {}", pipelines.join("marts").display());
    } else {
        print!("{}", export::list_marts(&project));
    }
    Ok(())
}

async fn export(a: ExportArgs) -> Result<()> {
    let format = match a.format {
        Some(f) => f,
        None => Format::of_path(&a.output).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension: add --format csv|xlsx|parquet \
                 (or name it .csv, .xlsx or .parquet)",
                a.output.display()
            )
        })?,
    };
    if a.delimiter.is_some() && format != Format::Csv {
        tracing::warn!("--delimiter applies to CSV only: ignored for {format:?}");
    }
    let year = match &a.year {
        Some(y) => Some(
            SchoolYear::parse(y)
                .with_context(|| format!("invalid school year {y:?}: expected 2024-2025 or 2024"))?
                .to_string(),
        ),
        None => None,
    };
    let (project, problems) = load_project(&a.pipelines)?;
    for p in problems
        .iter()
        .filter(|p| p.file.file_stem().and_then(|s| s.to_str()) == Some(a.name.as_str()))
    {
        tracing::warn!("pipeline problem: {p}");
    }
    if !a.warehouse.join("_socle").is_dir() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let wh = Warehouse::open(&a.warehouse)?;
    let read = export::read_mart_for_export(&wh, &project, &a.name, a.css.as_deref(), year.as_deref()).await?;
    let rows = read.rows();
    if format == Format::Xlsx && rows >= XLSX_MAX_ROWS {
        bail!(
            "{rows} rows do not fit in an Excel sheet ({} at most): filter with --year or --css, or \
             export csv or parquet",
            XLSX_MAX_ROWS - 1
        );
    }
    let mut file = AtomicFile::create(&a.output)?;
    let csv = CsvOptions::spreadsheet().with_delimiter(a.delimiter.unwrap_or(b','));
    read.file.write(&mut file, format, &read.schema, &read.batches, &csv)?;
    file.sync()?;
    // Audited before the file appears: no export without its audit line.
    let zone = &read.file.zone;
    crate::audit::record(
        wh.root(),
        a.by.as_deref(),
        "dashboards_export",
        zone,
        &format!("mart:{}", a.name),
        rows as u64,
    )?;
    file.commit()?;
    let label = export::zone_label(read.file.mart, zone);
    println!("{rows} row(s) written to {} ({label})", a.output.display());
    Ok(())
}
