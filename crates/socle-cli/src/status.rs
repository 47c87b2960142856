//! `socle status`: what the warehouse holds, per CSS and source, and whether the marts are
//! current; `--check` for schedulers (`socle_pipeline::WarehouseStatus`).

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
    // A folder or a bucket (`s3://...`) that no run has made a warehouse yet is refused.
    let warehouse = Warehouse::open_existing(&args.warehouse).map_err(|e| match e {
        socle_warehouse::WarehouseError::NotAWarehouse(_) => anyhow::anyhow!(
            "no warehouse at {} (run `socle run --warehouse {}` first)",
            args.warehouse.display(),
            args.warehouse.display()
        ),
        other => other.into(),
    })?;
    let status = WarehouseStatus::read(&warehouse, &args.warehouse)?;
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
