//! `socle retention`: lists (by default) or removes (`--apply`) the school years past retention
//! in both zones, then rebuilds the marts (`socle_pipeline::retention`).

use anyhow::Result;
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RetentionArgs {
    /// School years kept: the N most recent school years of the warehouse.
    #[arg(long, value_name = "N")]
    keep_years: u32,
    /// Remove what is listed (default: list only).
    #[arg(long)]
    apply: bool,
    /// Accept fewer than 8 years (cohort marts then lose their history).
    #[arg(long)]
    force: bool,
    /// Who applies it, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[command(flatten)]
    project: crate::ProjectArgs,
}

pub async fn retention(a: RetentionArgs) -> Result<u8> {
    let wh = Warehouse::open_existing(&a.warehouse)?;
    let request = socle_pipeline::RetentionRequest {
        keep_years: a.keep_years,
        apply: a.apply,
        force: a.force,
        by: a.by.as_deref(),
        schemas: &a.project.schemas,
        pipelines: &a.project.pipelines,
    };
    let outcome = socle_pipeline::retention(&wh, &request).await?;
    print!("{outcome}");
    Ok(outcome.exit_status())
}
