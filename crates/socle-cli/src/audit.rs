//! The CLI's audit lines (Law 25): a read through `socle query`, `socle personne`, `socle
//! dashboards export` or `socle retention` appends its line (`socle_warehouse::record_read`)
//! before anything is returned.

use anyhow::{Context, Result};
use socle_warehouse::Zone;
use std::path::Path;

/// Appends one audit line for a read by `by` (default: the OS user); nothing is returned
/// without it.
pub fn record(root: &Path, by: Option<&str>, action: &str, zone: &Zone, target: &str, rows: u64) -> Result<()> {
    socle_warehouse::record_read(root, by, action, zone, target, rows)
        .context("cannot write the audit log: nothing is returned without its audit line")
}
