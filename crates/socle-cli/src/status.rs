//! `socle status`: what the warehouse holds, per CSS and source: the last night loaded, rows and
//! quarantine, the last failure of a source if its last attempt failed, and the drops the guard
//! holds (with the command that accepts each); and whether the marts are current (built from
//! every CSS's current run). Read from the manifests only (no data file is opened, the run lock
//! is not taken), so it is instant and safe during a run.
//!
//! `--check` is for schedulers: one line per CSS, `OK` or why not, and exit code 2 when a CSS
//! failed (the last attempt of one of its sources failed), is held by the drop guard, or (with
//! `--max-age DAYS`) has not loaded a night for more than DAYS days; 0 when all is well. There is
//! no age check without `--max-age`.

use anyhow::Result;
use clap::ValueEnum;
use socle_pipeline::WarehouseStatus;
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    format: StatusFormat,
    /// For schedulers: print one line per CSS (OK, or why not) and exit 2 when a CSS failed, is
    /// held by the drop guard, or is older than --max-age.
    #[arg(long)]
    check: bool,
    /// With --check: a CSS whose last loaded night is more than DAYS days before today is a
    /// problem (default: no age check).
    #[arg(long, value_name = "DAYS", requires = "check")]
    max_age: Option<u32>,
}

pub fn status(args: StatusArgs) -> Result<u8> {
    if !args.warehouse.is_dir() {
        anyhow::bail!(
            "no warehouse at {} (run `socle run --warehouse {}` first)",
            args.warehouse.display(),
            args.warehouse.display()
        );
    }
    let status = WarehouseStatus::read(&Warehouse::open(&args.warehouse)?, &args.warehouse)?;
    let json = args.format == StatusFormat::Json;
    if args.check {
        let check = status.check(chrono::Local::now().date_naive(), args.max_age);
        match json {
            true => println!("{}", serde_json::to_string_pretty(&check.json())?),
            false => print!("{check}"),
        }
        return Ok(check.exit_status());
    }
    match json {
        true => println!("{}", serde_json::to_string_pretty(&status.json())?),
        false => print!("{status}"),
    }
    Ok(0)
}
