//! `socle retention`: lists (by default) or removes (`--apply`) the school years past retention
//! in both zones, the quarantines and run reports of those years, at once for every CSS
//! (`socle_warehouse::Warehouse::plan_retention` / `apply_retention` say what and how), then
//! rebuilds the marts. Below `MIN_KEEP_YEARS` (8: cohorts follow students over 7 years) it refuses
//! without `--force`.

use anyhow::{Context, Result, bail};
use socle_dictionary::Dictionary;
use socle_warehouse::{MIN_KEEP_YEARS, Warehouse, Zone};
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
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
}

pub async fn retention(a: RetentionArgs) -> Result<()> {
    if a.keep_years == 0 {
        bail!("--keep-years must be at least 1");
    }
    if a.keep_years < MIN_KEEP_YEARS && !a.force {
        bail!(
            "--keep-years {} is below {MIN_KEEP_YEARS}: cohorts (diplomation_cohorte) need 7 years of history \
             plus the year in progress; add --force to accept it",
            a.keep_years
        );
    }
    if !a.warehouse.join("_socle").is_dir() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let wh = Warehouse::open(&a.warehouse)?;
    // Applying rewrites every CSS in a new generation: no night may publish meanwhile. A listing
    // only reads, and never waits.
    let _run_lock = if a.apply {
        Some(wh.lock_run("socle retention --apply")?)
    } else {
        None
    };
    let plan = wh.plan_retention(a.keep_years)?;
    print!("{plan}");
    if plan.is_empty() {
        println!("nothing to remove");
        return Ok(());
    }
    if !a.apply {
        println!(
            "{} row(s) in {} partition(s) would be removed: add --apply to remove them",
            plan.rows(),
            plan.partitions.len()
        );
        return Ok(());
    }
    let run_id = socle_warehouse::new_run_id();
    let records = wh.apply_retention(&plan, &run_id)?;
    crate::audit::record(
        wh.root(),
        a.by.as_deref(),
        "retention",
        &Zone::Shared,
        &format!("years:{}", plan.years_removed.join(",")),
        plan.rows(),
    )?;
    println!(
        "removed {} row(s) of {} CSS ({}), {} run report(s); recorded in the manifests (generation {run_id})",
        plan.rows(),
        records.len(),
        plan.years_removed.join(", "),
        plan.runs.len()
    );
    rebuild_marts(&wh, &a).await
}

/// The marts rebuilt, in full, from what retention kept.
async fn rebuild_marts(wh: &Warehouse, a: &RetentionArgs) -> Result<()> {
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    let (project, problems) = socle_marts::load(&a.pipelines)?;
    if let Some(p) = problems.first() {
        bail!("pipeline problem: {p} (run `socle check`); the marts are rebuilt by the next `socle run`");
    }
    let built = socle_pipeline::rebuild_marts(wh, dict, &project)
        .await
        .context("rebuilding the marts (the next `socle run` rebuilds them)")?;
    println!("marts rebuilt: {}", built.built.len());
    for f in &built.failed {
        println!("mart {} FAILED (previous files kept): {}", f.name, f.reason);
    }
    Ok(())
}
