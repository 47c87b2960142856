//! `socle retention` (Québec Law 25): the school years past the N most recent, listed or removed
//! in both zones at once for every CSS (`socle_warehouse::Warehouse::plan_retention` and
//! `apply_retention` say what and how), audited, then the marts rebuilt in full. Fewer than
//! [`MIN_KEEP_YEARS`] (cohorts follow students over 7 years) is refused unless forced.

use std::fmt;
use std::path::Path;

use socle_dictionary::Dictionary;
use socle_warehouse::{MIN_KEEP_YEARS, RetentionPlan, Warehouse, Zone};

use crate::{MartsReport, PipelineError, rebuild_marts};

/// What retention is asked to do.
pub struct RetentionRequest<'a> {
    /// School years kept: the N most recent of the warehouse.
    pub keep_years: u32,
    /// Remove what is listed (otherwise list only).
    pub apply: bool,
    /// Accept fewer than [`MIN_KEEP_YEARS`].
    pub force: bool,
    /// Who applies it, for the audit log (default: the OS user).
    pub by: Option<&'a str>,
    /// The dictionary and pipelines the marts are rebuilt from after a removal.
    pub schemas: &'a Path,
    pub pipelines: &'a Path,
}

/// What retention did.
pub struct RetentionOutcome {
    pub plan: RetentionPlan,
    /// With `apply`: the generation written, the CSS rewritten, and the marts rebuilt (or why
    /// not: the next `socle run` rebuilds them).
    pub applied: Option<(String, usize, Result<MartsReport, String>)>,
}

impl RetentionOutcome {
    /// 0, or 1 when the marts could not be rebuilt after a removal.
    pub fn exit_status(&self) -> u8 {
        match &self.applied {
            Some((_, _, Err(_))) => 1,
            _ => 0,
        }
    }
}

/// Runs retention: see the module.
pub async fn retention(warehouse: &Warehouse, req: &RetentionRequest<'_>) -> Result<RetentionOutcome, PipelineError> {
    if req.keep_years == 0 {
        return Err(PipelineError::Other("--keep-years must be at least 1".into()));
    }
    if req.keep_years < MIN_KEEP_YEARS && !req.force {
        return Err(PipelineError::Other(format!(
            "--keep-years {} is below {MIN_KEEP_YEARS}: cohorts (diplomation_cohorte) need 7 years of history \
             plus the year in progress; add --force to accept it",
            req.keep_years
        )));
    }
    // Applying rewrites every CSS in a new generation: no night may publish meanwhile. A listing
    // only reads, and never waits.
    let _run_lock = match req.apply {
        true => Some(warehouse.lock_run("socle retention --apply")?),
        false => None,
    };
    let plan = warehouse.plan_retention(req.keep_years)?;
    if plan.is_empty() || !req.apply {
        return Ok(RetentionOutcome { plan, applied: None });
    }
    let run_id = socle_warehouse::new_run_id();
    let records = warehouse.apply_retention(&plan, &run_id)?;
    let target = format!("years:{}", plan.years_removed.join(","));
    socle_warehouse::record_read(
        warehouse.root(),
        req.by,
        "retention",
        &Zone::Shared,
        &target,
        plan.rows(),
    )?;
    // In full: the years removed are gone from every CSS's rows, whatever the CSS runs say.
    let marts = rebuild(warehouse, req).await;
    Ok(RetentionOutcome {
        plan,
        applied: Some((run_id, records.len(), marts)),
    })
}

async fn rebuild(warehouse: &Warehouse, req: &RetentionRequest<'_>) -> Result<MartsReport, String> {
    let dict = Dictionary::load(req.schemas)
        .map_err(|e| format!("loading the dictionary from {}: {e}", req.schemas.display()))?;
    let (project, problems) = socle_marts::load(req.pipelines).map_err(|e| e.to_string())?;
    if let Some(p) = problems.first() {
        return Err(format!("pipeline problem: {p} (run `socle check`)"));
    }
    rebuild_marts(warehouse, dict, &project)
        .await
        .map_err(|e| e.to_string())
}

/// What `socle retention` prints: the plan, then what was removed and the marts rebuilt.
impl fmt::Display for RetentionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = &self.plan;
        write!(f, "{plan}")?;
        match &self.applied {
            _ if plan.is_empty() => writeln!(f, "nothing to remove"),
            None => writeln!(
                f,
                "{} row(s) in {} partition(s) would be removed: add --apply to remove them",
                plan.rows(),
                plan.partitions.len()
            ),
            Some((run_id, css, marts)) => {
                writeln!(
                    f,
                    "removed {} row(s) of {css} CSS ({}), {} run report(s); recorded in the manifests (generation {run_id})",
                    plan.rows(),
                    plan.years_removed.join(", "),
                    plan.runs.len()
                )?;
                match marts {
                    Ok(built) => {
                        writeln!(f, "marts rebuilt: {}", built.built.len())?;
                        for m in &built.failed {
                            writeln!(f, "mart {} FAILED (previous files kept): {}", m.name, m.reason)?;
                        }
                        Ok(())
                    }
                    Err(e) => writeln!(f, "marts NOT rebuilt ({e}): the next `socle run` rebuilds them"),
                }
            }
        }
    }
}
