//! Retention (Québec Law 25: personal data is kept no longer than needed): the school years
//! older than the N most recent ones are removed from both zones, at once for every CSS.
//!
//! What is removed, for `keep_years = N`:
//! - **tables**: the partitions of every school year older than the N most recent school years
//!   found in the warehouse's partitions (all CSS together), in the CSS zone and the shared zone
//!   (a partition's two files are listed by the same manifest entry); tables without a school
//!   year (`eleve`) are replaced by every night and are not touched;
//! - **quarantine**: it has no school-year column; it holds the rejects of the CSS's last night
//!   only (every load replaces it), so it is of that night's school year: it is removed when that
//!   night is in a removed year (a CSS that has sent nothing for N years);
//! - **run reports** (`_socle/runs/<run>/`): a run is of the school year of its date (the run id
//!   starts with it); the reports of runs older than the oldest school year kept are removed.
//!
//! Tables and quarantines are removed by one [`crate::Generation`] switch (all CSS at once, or
//! nothing: failpoint `retention:switch`), recorded in each manifest's `retention`; run reports
//! are history outside the manifests and are removed after the switch. The marts are not
//! touched here: the caller rebuilds them.

use std::collections::BTreeSet;

use serde::Serialize;
use socle_core::SchoolYear;

use crate::error::WarehouseError;
use crate::layout;
use crate::manifest::RetentionRecord;
use crate::warehouse::Warehouse;

/// The minimum retention accepted without `force`: cohorts follow students over 7 years, plus
/// the year in progress.
pub const MIN_KEEP_YEARS: u32 = 8;

/// One table partition past retention.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ExpiredPartition {
    pub code_css: String,
    pub table: String,
    pub annee_scolaire: String,
    pub rows: u64,
    pub files: usize,
}

/// What a retention removes (computed without changing anything).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RetentionPlan {
    pub keep_years: u32,
    /// Every school year of the warehouse's partitions, oldest first.
    pub years: Vec<String>,
    /// The school years removed (oldest first).
    pub years_removed: Vec<String>,
    pub partitions: Vec<ExpiredPartition>,
    /// (CSS, rows) of the quarantines removed.
    pub quarantines: Vec<(String, u64)>,
    /// Run ids whose reports are removed.
    pub runs: Vec<String>,
}

impl RetentionPlan {
    /// Rows removed from the tables.
    pub fn rows(&self) -> u64 {
        self.partitions.iter().map(|p| p.rows).sum()
    }

    /// Whether nothing would be removed.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty() && self.quarantines.is_empty() && self.runs.is_empty()
    }
}

/// The plan as `socle retention` lists it: the years kept and removed, then each partition,
/// quarantine and run report past retention, one per line.
impl std::fmt::Display for RetentionPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |v: Vec<&str>| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        let kept: Vec<&str> = self
            .years
            .iter()
            .filter(|y| !self.years_removed.contains(y))
            .map(String::as_str)
            .collect();
        writeln!(
            f,
            "Retention of {} school year(s): kept {}; past retention {}",
            self.keep_years,
            join(kept),
            join(self.years_removed.iter().map(String::as_str).collect())
        )?;
        for p in &self.partitions {
            writeln!(
                f,
                "  {}  {:<22} {}  rows {:>8}  files {}",
                p.code_css, p.table, p.annee_scolaire, p.rows, p.files
            )?;
        }
        for (code, rows) in &self.quarantines {
            writeln!(f, "  {code}  quarantaine (night past retention)  rows {rows}")?;
        }
        if !self.runs.is_empty() {
            writeln!(f, "  run reports: {}", self.runs.join(", "))?;
        }
        Ok(())
    }
}

/// The school year of a night (`YYYY-MM-DD`) or of a run id (`YYYYMMDDT...`).
fn year_of_date(date: &str) -> Option<SchoolYear> {
    let digits: String = date.chars().filter(char::is_ascii_digit).take(8).collect();
    if digits.len() < 6 {
        return None;
    }
    let year: i32 = digits.get(..4)?.parse().ok()?;
    let month: u32 = digits.get(4..6)?.parse().ok()?;
    (1..=12).contains(&month).then(|| SchoolYear::containing(year, month))
}

/// The most recent school year a retention removed from a CSS (later nights do not publish it or
/// anything older again).
pub(crate) fn last_year_removed(manifest: Option<&crate::Manifest>) -> Option<&str> {
    manifest?
        .retention
        .iter()
        .flat_map(|r| r.years_removed.iter())
        .max()
        .map(String::as_str)
}

impl Warehouse {
    /// What `keep_years` would remove (see the module). Changes nothing.
    pub fn plan_retention(&self, keep_years: u32) -> Result<RetentionPlan, WarehouseError> {
        let manifests = self.manifests()?;
        let years: BTreeSet<String> = manifests
            .iter()
            .flat_map(|m| m.tables.values().flat_map(|t| t.years().cloned()))
            .collect();
        let keep = keep_years.max(1) as usize;
        let removed: Vec<String> = years.iter().take(years.len().saturating_sub(keep)).cloned().collect();
        let oldest_kept = years
            .iter()
            .nth(years.len().saturating_sub(keep))
            .and_then(|y| SchoolYear::parse(y));
        let is_expired = |y: SchoolYear| oldest_kept.is_some_and(|k| y < k);
        let mut partitions = Vec::new();
        let mut quarantines = Vec::new();
        for m in &manifests {
            for (table, files) in &m.tables {
                for year in removed.iter().filter(|y| files.partition_rows.contains_key(*y)) {
                    let part = files.retain_years(|y| y == year.as_str());
                    partitions.push(ExpiredPartition {
                        code_css: m.code_css.clone(),
                        table: table.clone(),
                        annee_scolaire: year.clone(),
                        rows: part.rows,
                        files: part.all_files().count(),
                    });
                }
            }
            if m.quarantine.all_files().next().is_some() && year_of_date(&m.night).is_some_and(is_expired) {
                quarantines.push((m.code_css.clone(), m.quarantine.rows));
            }
        }
        let mut runs = Vec::new();
        if let Ok(entries) = crate::store::read_dir(&layout::runs_dir(self.root())) {
            for entry in entries.into_iter().filter(|e| e.is_dir) {
                let name = entry.name;
                if layout::is_component(&name) && year_of_date(&name).is_some_and(is_expired) {
                    runs.push(name);
                }
            }
        }
        runs.sort();
        Ok(RetentionPlan {
            keep_years,
            years: years.into_iter().collect(),
            years_removed: removed,
            partitions,
            quarantines,
            runs,
        })
    }

    /// Applies `plan` (from [`Warehouse::plan_retention`]) as the generation `run_id`: every
    /// CSS's expired partitions and quarantine at once (one switch), recorded in its manifest;
    /// then the expired run reports. Returns the records written.
    pub fn apply_retention(&self, plan: &RetentionPlan, run_id: &str) -> Result<Vec<RetentionRecord>, WarehouseError> {
        let removed: BTreeSet<&str> = plan.years_removed.iter().map(String::as_str).collect();
        let mut generation = self.begin_generation(run_id)?;
        let at = crate::warehouse::now_rfc3339();
        let mut records = Vec::new();
        for m in generation.manifests.values_mut() {
            let mut record = RetentionRecord {
                at: at.clone(),
                run_id: run_id.to_string(),
                keep_years: plan.keep_years,
                years_removed: Vec::new(),
                rows_removed: 0,
                quarantine_rows_removed: 0,
            };
            let mut years = BTreeSet::new();
            for files in m.tables.values_mut() {
                if files.partition_rows.keys().any(|y| removed.contains(y.as_str())) {
                    let kept = files.retain_years(|y| !removed.contains(y));
                    record.rows_removed += files.rows - kept.rows;
                    years.extend(files.years().filter(|y| removed.contains(y.as_str())).cloned());
                    *files = kept;
                }
            }
            if plan.quarantines.iter().any(|(c, _)| *c == m.code_css) {
                record.quarantine_rows_removed = m.quarantine.rows;
                m.quarantine = Default::default();
            }
            record.years_removed = years.into_iter().collect();
            if record.rows_removed > 0 || record.quarantine_rows_removed > 0 {
                m.retention.push(record.clone());
                records.push(record);
            }
        }
        generation.commit("retention")?;
        for run in &plan.runs {
            layout::check_component("run id", run)?;
            layout::remove_dir_all_if_exists(&layout::runs_dir(self.root()).join(run))?;
        }
        tracing::info!(
            run_id,
            years = ?plan.years_removed,
            rows = plan.rows(),
            runs = plan.runs.len(),
            "retention applied"
        );
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_run_ids_have_a_school_year() {
        assert_eq!(
            year_of_date("2025-11-20").map(|y| y.to_string()),
            Some("2025-2026".into())
        );
        assert_eq!(
            year_of_date("2025-06-30").map(|y| y.to_string()),
            Some("2024-2025".into())
        );
        assert_eq!(
            year_of_date("20250701T031500Z-0a1b2c3d").map(|y| y.to_string()),
            Some("2025-2026".into())
        );
        assert_eq!(year_of_date("-"), None);
        assert_eq!(year_of_date("20251320"), None);
    }
}
