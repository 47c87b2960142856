//! Replaced files kept for a grace period.
//!
//! When a night, the marts or a generation switch is published, the previous manifest's files
//! that the new one no longer lists are *retired* rather than deleted on the spot: a query that
//! planned on the previous manifest a moment before the swap (the web server, the SQL endpoint,
//! a long `socle query`) keeps reading them until it ends. Each publication writes one record
//! `_socle/retired/<nanos>-<what>.json` with the files and the time after which they may go;
//! any later publication or [`crate::Warehouse::open`] deletes the files of records past their
//! time, and the garbage collector never takes a file of a record still in its grace for an
//! orphan. The deadline is in the record, so whoever sweeps honours the grace the publisher chose.
//!
//! A grace of zero deletes at once (the behaviour before the server existed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::WarehouseError;
use crate::layout::{self, SOCLE_DIR};

#[derive(Serialize, Deserialize)]
struct Record {
    /// Seconds since the Unix epoch after which the files may be deleted.
    delete_after: u64,
    /// Seconds since the Unix epoch when the files were replaced (0 in records written before
    /// it was kept): [`sweep_retained`] measures its window from it.
    #[serde(default)]
    retired_at: u64,
    /// Paths relative to the warehouse root.
    files: Vec<String>,
}

fn dir(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("retired")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Deletes one replaced file and the folders it leaves empty; whether it was there.
fn delete(root: &Path, rel: &str) -> bool {
    let Some(path) = crate::warehouse::owned_path(root, rel) else {
        tracing::warn!(path = %rel, "a retired path is outside the data zones: not deleted");
        return false;
    };
    let existed = crate::store::is_file(&path);
    if let Err(e) = layout::remove_file_if_exists(&path) {
        // Published state is consistent either way; the next open collects it.
        tracing::warn!(error = %e, "could not delete a replaced file");
        return false;
    }
    if let (Some(parent), Some(zone)) = (path.parent(), rel.split('/').next()) {
        layout::prune_empty_parents(parent, &root.join(zone));
    }
    existed
}

/// Retires `files` (relative paths) replaced by a publication named `what`: deleted now when
/// `grace` is zero, else recorded for deletion after `grace`. Then sweeps older records.
pub(crate) fn retire(root: &Path, what: &str, files: &[String], grace: Duration) -> Result<(), WarehouseError> {
    if grace.is_zero() {
        for rel in files {
            delete(root, rel);
        }
    } else if !files.is_empty() {
        let record = Record {
            retired_at: now_secs(),
            delete_after: now_secs() + grace.as_secs().max(1),
            files: files.to_vec(),
        };
        let dir = dir(root);
        layout::create_dir_all(&dir)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let safe: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = dir.join(format!("{nanos}-{safe}.json"));
        crate::manifest::write_json_atomic(&path, &record, &format!("{nanos}"))?;
    }
    sweep(root);
    Ok(())
}

/// Deletes the files of every record past its time, then the record.
pub(crate) fn sweep(root: &Path) {
    let now = now_secs();
    sweep_where(root, |r| r.delete_after <= now);
}

/// Deletes the files replaced more than `retain` ago (and those past their own time), whatever
/// grace their publication gave them: `socle vacuum`. Zero deletes every retired file (a new
/// generation, whose predecessors' files must not stay readable). Returns the files deleted.
pub(crate) fn sweep_retained(root: &Path, retain: Duration) -> usize {
    let now = now_secs();
    sweep_where(root, |r| {
        r.delete_after <= now || r.retired_at.saturating_add(retain.as_secs()) <= now
    })
}

fn sweep_where(root: &Path, due: impl Fn(&Record) -> bool) -> usize {
    let mut deleted = 0;
    for (path, record) in records(root) {
        if due(&record) {
            for rel in &record.files {
                deleted += usize::from(delete(root, rel));
            }
            if let Err(e) = layout::remove_file_if_exists(&path) {
                tracing::warn!(error = %e, "could not remove a retirement record");
            }
        }
    }
    deleted
}

/// The files still in their grace (absolute paths): not orphans.
pub(crate) fn protected(root: &Path) -> HashSet<PathBuf> {
    let now = now_secs();
    records(root)
        .into_iter()
        .filter(|(_, r)| r.delete_after > now)
        .flat_map(|(_, r)| r.files)
        .map(|rel| layout::resolve(root, &rel))
        .collect()
}

fn records(root: &Path) -> Vec<(PathBuf, Record)> {
    let Ok(entries) = crate::store::read_dir(&dir(root)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.path;
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match crate::store::read(&path).map(|b| serde_json::from_slice::<Record>(&b)) {
            Ok(Ok(r)) => out.push((path, r)),
            // A torn or foreign record protects nothing; its files become orphans.
            _ => tracing::warn!(path = %path.display(), "unreadable retirement record ignored"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn files_in_grace_are_protected_then_swept() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        let rel = "shared/eleve/code_css=866000/a.parquet";
        let path = layout::resolve(root, rel);
        layout::create_dir_all(path.parent().ok_or("no parent")?)?;
        fs::write(&path, b"x")?;
        retire(root, "866000", &[rel.to_string()], Duration::from_secs(600))?;
        assert!(path.exists(), "a file in its grace is kept");
        assert!(protected(root).contains(&path));
        // Past its time: the next sweep deletes it and its record.
        for (p, mut r) in records(root) {
            r.delete_after = 0;
            fs::write(&p, serde_json::to_vec(&r)?)?;
        }
        sweep(root);
        assert!(!path.exists());
        assert!(records(root).is_empty());
        // A vacuum measures its window from the replacement, whatever grace was given.
        layout::create_dir_all(path.parent().ok_or("no parent")?)?;
        fs::write(&path, b"x")?;
        retire(root, "866000", &[rel.to_string()], Duration::from_secs(7 * 86_400))?;
        assert_eq!(sweep_retained(root, Duration::from_secs(86_400)), 0);
        assert!(path.exists());
        assert_eq!(sweep_retained(root, Duration::ZERO), 1);
        assert!(!path.exists());
        assert!(records(root).is_empty());
        // No grace: deleted at once, no record.
        fs::create_dir_all(path.parent().ok_or("no parent")?)?;
        fs::write(&path, b"x")?;
        retire(root, "866000", &[rel.to_string()], Duration::ZERO)?;
        assert!(!path.exists());
        assert!(records(root).is_empty());
        Ok(())
    }
}
