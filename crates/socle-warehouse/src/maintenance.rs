//! Maintenance of the warehouse's files and logs: `socle vacuum` (the replaced files past the
//! time-travel window) and `socle migrate` (a warehouse written before its tables were Delta
//! tables, converted in place).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::error::WarehouseError;
use crate::layout;
use crate::manifest::{self, Manifest, MartsManifest};
use crate::warehouse::{LockGuard, Warehouse};

/// What [`Warehouse::vacuum`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// Replaced files deleted (past the window).
    pub files_deleted: usize,
    /// History entries forgotten (a file of theirs is gone).
    pub history_forgotten: usize,
    /// The oldest publication time travel can still read, if any.
    pub oldest_readable: Option<String>,
}

/// What [`Warehouse::migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Tables of the manifests (every table folder of both zones, the marts, the intermediate
    /// models).
    pub tables: usize,
    /// Tables no manifest recorded as a Delta table yet (their log was written by this migration
    /// or by the open just before it).
    pub tables_converted: usize,
    /// Manifests rewritten to record their tables' Delta versions.
    pub manifests_updated: usize,
}

impl Warehouse {
    /// Deletes the files publications replaced more than `retain` ago (see the `retired`
    /// module), then forgets the history entries that listed one: `--as-of` reads the
    /// publications of the last `retain` only. Zero deletes every replaced file now (a query
    /// still running on the previous state, in the server say, may then fail). Refused while
    /// another command writes to the warehouse.
    pub fn vacuum(&self, retain: Duration) -> Result<VacuumReport, WarehouseError> {
        self.check_writable()?;
        let Some(_lock) = LockGuard::try_exclusive(self.root())? else {
            return Err(WarehouseError::Busy { what: "socle vacuum" });
        };
        let files_deleted = crate::retired::sweep_retained(self.root(), retain);
        let manifests = self.current_manifests()?;
        let marts = self.current_marts_manifest()?;
        let current: BTreeSet<(String, String)> = manifests
            .iter()
            .map(|m| (m.code_css.clone(), m.run_id.clone()))
            .chain(
                marts
                    .iter()
                    .map(|m| (layout::MARTS_MANIFEST.to_string(), m.run_id.clone())),
            )
            .collect();
        let history_forgotten = crate::history::prune_missing(self.root(), &current);
        crate::history::record_current(self.root(), &manifests, marts.as_ref());
        let oldest_readable = self.history()?.into_iter().next().map(|e| e.run_id);
        tracing::info!(
            retain_days = retain.as_secs() / 86_400,
            files_deleted,
            history_forgotten,
            "vacuum done"
        );
        Ok(VacuumReport {
            files_deleted,
            history_forgotten,
            oldest_readable,
        })
    }

    /// Converts the warehouse in place so that every table folder is a Delta table equal to the
    /// manifests and every manifest records its tables' versions: the explicit form of what
    /// [`Warehouse::open`] repairs. Atomic: the logs are written first (no reader of Socle's
    /// looks at them), then each manifest is swapped for one that records the versions; a kill
    /// at any point leaves a warehouse that reads the same, and running it again finishes the
    /// work. Idempotent: a converted warehouse is left as it is.
    pub fn migrate(&self) -> Result<MigrateReport, WarehouseError> {
        self.check_writable()?;
        let Some(_lock) = LockGuard::try_exclusive(self.root())? else {
            return Err(WarehouseError::Busy { what: "socle migrate" });
        };
        let manifests = self.current_manifests()?;
        let marts = self.current_marts_manifest()?;
        let tables = crate::delta::whole_tables(
            manifests
                .iter()
                .flat_map(Manifest::files)
                .chain(marts.iter().flat_map(MartsManifest::files)),
        );
        let recorded_tables: BTreeSet<&str> = manifests
            .iter()
            .flat_map(|m| m.delta.keys())
            .chain(marts.iter().flat_map(|m| m.delta.keys()))
            .map(String::as_str)
            .collect();
        let tables_converted = tables.keys().filter(|t| !recorded_tables.contains(t.as_str())).count();
        self.repair_delta(&manifests, marts.as_ref(), &[])?;
        crate::failpoint::hit(self.failpoint(), "migrate", "*")?;
        let versions: BTreeMap<&str, u64> = tables
            .keys()
            .filter_map(|t| crate::delta::latest_version(self.root(), t).map(|v| (t.as_str(), v)))
            .collect();
        // A recorded version is the one the manifest's publication committed (a later
        // publication of another CSS may have moved the shared table on): kept; only the tables
        // a manifest does not record yet get the version their log has now.
        let recorded = |files: Vec<&String>, delta: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
            let mut out = delta.clone();
            for table in files.into_iter().map(|f| crate::delta::table_of(f)) {
                if let (false, Some(v)) = (out.contains_key(table), versions.get(table)) {
                    out.insert(table.to_string(), *v);
                }
            }
            out
        };
        let mut manifests_updated = 0;
        for mut m in manifests {
            let delta = recorded(m.files().collect(), &m.delta);
            if delta != m.delta {
                m.delta = delta;
                let run_id = m.run_id.clone();
                manifest::write_json_atomic(&layout::manifest_path(self.root(), &m.code_css), &m, &run_id)?;
                manifests_updated += 1;
            }
        }
        if let Some(mut m) = marts {
            let delta = recorded(m.files().collect(), &m.delta);
            if delta != m.delta {
                m.delta = delta;
                let run_id = m.run_id.clone();
                manifest::write_json_atomic(&layout::marts_manifest_path(self.root()), &m, &run_id)?;
                manifests_updated += 1;
            }
        }
        let manifests = self.current_manifests()?;
        let marts = self.current_marts_manifest()?;
        crate::history::record_current(self.root(), &manifests, marts.as_ref());
        let report = MigrateReport {
            tables: tables.len(),
            tables_converted,
            manifests_updated,
        };
        tracing::info!(
            tables = report.tables,
            tables_converted = report.tables_converted,
            manifests_updated = report.manifests_updated,
            "migration done"
        );
        Ok(report)
    }
}
