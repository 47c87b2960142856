//! Time travel: the warehouse as a past night left it.
//!
//! Every manifest a publication swaps in (a CSS's night, the marts) is also kept, unchanged,
//! as `_socle/history/<owner>/<run_id>.json` (`owner`: a CSS code or `_marts`). A past state
//! is a set of those manifests, so reading it is what reading the current state is: Socle's
//! readers register the files a set of manifests lists, never a folder. [`crate::Warehouse::at`]
//! pins a warehouse handle to one such set ([`Snapshot`]); every read through it
//! (`manifests`, `manifest`, `marts_manifest`, sessions) sees that past state, and every write is
//! refused.
//!
//! `as_of` names a night by its run id (`20261205T031500Z-0a1b2c3d`, as `socle history` lists
//! them), or a date (`2026-12-05`: the end of that day, UTC) or a date-time
//! (`2026-12-05T03:15:00Z`). Each CSS is read as its last publication up to that point left it;
//! the marts are the last ones built from those nights (a night's marts are published a moment
//! after its CSS, under a run id of their own).
//!
//! The files a past state lists stay on disk as long as the retention window says: a
//! publication retires the files it replaces (the `retired` module) for `socle run
//! --retain-days` (7 by default), and [`crate::Warehouse::vacuum`] deletes those past a window
//! and forgets the history entries whose files are gone. A past state with a missing file is
//! refused, never read in part. A key rotation or a retention (a new generation) deletes every
//! retired file and forgets all history before its switch: data they remove must not stay
//! readable through time travel.
//!
//! A kill between a manifest's swap and its history copy loses nothing: the current manifests
//! are part of every resolution, and the next open writes their missing history entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::WarehouseError;
use crate::layout::{self, MARTS_MANIFEST, SOCLE_DIR};
use crate::manifest::{self, Manifest, MartsManifest};

/// The folder of the history, under the warehouse root.
pub(crate) const HISTORY_DIR: &str = "history";

fn dir(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join(HISTORY_DIR)
}

fn entry_path(root: &Path, owner: &str, run_id: &str) -> PathBuf {
    dir(root).join(owner).join(format!("{run_id}.json"))
}

/// A horizon: the newest run id whose state was forgotten, for one owner (`socle vacuum`) or
/// for the whole warehouse (`_socle/history/horizon`, a new generation). A past state behind a
/// horizon is refused rather than read without what was forgotten.
const HORIZON: &str = "horizon";

fn horizon_path(root: &Path, owner: Option<&str>) -> PathBuf {
    match owner {
        Some(owner) => dir(root).join(owner).join(HORIZON),
        None => dir(root).join(HORIZON),
    }
}

fn read_horizon(root: &Path, owner: Option<&str>) -> Option<String> {
    let text = crate::store::read_to_string(&horizon_path(root, owner)).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn write_horizon(root: &Path, owner: Option<&str>, run_id: &str) {
    let path = horizon_path(root, owner);
    if read_horizon(root, owner).is_some_and(|h| h.as_str() >= run_id) {
        return;
    }
    let result = path
        .parent()
        .map_or(Ok(()), layout::create_dir_all)
        .and_then(|()| manifest::write_bytes_atomic(&path, format!("{run_id}\n").as_bytes(), run_id));
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not write a history horizon");
    }
}

/// A past state of the warehouse: the manifests of each CSS and of the marts as they were at
/// `as_of`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What the caller asked for (a run id, a date or a date-time).
    pub as_of: String,
    /// The manifests of the CSS published by then, sorted by CSS code.
    pub manifests: Vec<Manifest>,
    /// The marts built from those nights, if any.
    pub marts: Option<MartsManifest>,
}

/// One publication time travel can read: a run id, when it was published, and what it
/// published (CSS codes, `_marts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub run_id: String,
    /// RFC 3339, UTC: the earliest publication of the run.
    pub published_at: String,
    pub owners: Vec<String>,
}

/// Keeps the manifest `owner` just swapped in at `manifest_path` as its history entry for
/// `run_id`. A failure here only loses an entry the next open writes again.
pub(crate) fn record(root: &Path, owner: &str, run_id: &str, manifest_path: &Path) {
    let result = crate::store::read(manifest_path)
        .map_err(|e| WarehouseError::io("reading", manifest_path, e))
        .and_then(|bytes| {
            let path = entry_path(root, owner, run_id);
            if let Some(parent) = path.parent() {
                layout::create_dir_all(parent)?;
            }
            manifest::write_bytes_atomic(&path, &bytes, run_id)
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, owner, run_id, "could not keep the manifest in the history");
    }
}

/// Writes the history entry of every current manifest that has none (a kill after a swap, a
/// warehouse from before the history, a new generation).
pub(crate) fn record_current(root: &Path, manifests: &[Manifest], marts: Option<&MartsManifest>) {
    for m in manifests {
        if !crate::store::exists(&entry_path(root, &m.code_css, &m.run_id)) {
            record(root, &m.code_css, &m.run_id, &layout::manifest_path(root, &m.code_css));
        }
    }
    if let Some(m) = marts
        && !crate::store::exists(&entry_path(root, MARTS_MANIFEST, &m.run_id))
    {
        record(root, MARTS_MANIFEST, &m.run_id, &layout::marts_manifest_path(root));
    }
}

/// The run ids of the history, by owner, each list sorted (run ids sort by time).
fn entries(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(owners) = crate::store::read_dir(&dir(root)) else {
        return out;
    };
    for owner in owners.into_iter().filter(|o| o.is_dir) {
        let name = owner.name;
        if name != MARTS_MANIFEST && layout::check_code_css(&name).is_err() {
            continue;
        }
        let Ok(files) = crate::store::read_dir(&owner.path) else {
            continue;
        };
        let mut runs: Vec<String> = files
            .into_iter()
            .map(|f| f.name)
            .filter(|f| !f.contains(layout::TMP_MARKER))
            .filter_map(|f| f.strip_suffix(".json").map(str::to_string))
            .filter(|r| layout::is_component(r))
            .collect();
        runs.sort();
        if !runs.is_empty() {
            out.insert(name, runs);
        }
    }
    out
}

/// Whether `s` has the shape of a run id (`20251120T031500Z-0a1b2c3d`).
fn is_run_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 25
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && &s[15..17] == "Z-"
        && b[17..].iter().all(u8::is_ascii_hexdigit)
}

/// The bound `as_of` stands for, comparable with run ids: itself when it is a `known` run id,
/// else the end of the date or the date-time it gives.
fn bound_of(as_of: &str, known: bool) -> Result<String, WarehouseError> {
    if known {
        return Ok(as_of.to_string());
    }
    if is_run_id(as_of) {
        return Err(WarehouseError::UnknownAsOf(as_of.to_string()));
    }
    let invalid = || WarehouseError::InvalidAsOf(as_of.to_string());
    // After every run id of that second: `-` then 8 hex characters sort below `-~`.
    let bound = |t: chrono::NaiveDateTime| format!("{}-~", t.format("%Y%m%dT%H%M%SZ"));
    if let Ok(date) = chrono::NaiveDate::parse_from_str(as_of, "%Y-%m-%d") {
        let end = date.and_hms_opt(23, 59, 59).ok_or_else(invalid)?;
        return Ok(bound(end));
    }
    let t = chrono::DateTime::parse_from_rfc3339(as_of).map_err(|_| invalid())?;
    Ok(bound(t.with_timezone(&chrono::Utc).naive_utc()))
}

/// The past state at `as_of` (see the module). `current` (the current manifests) is part of the
/// resolution, so a state whose history copy was lost is still found.
pub(crate) fn snapshot(
    root: &Path,
    as_of: &str,
    current: (&[Manifest], Option<&MartsManifest>),
) -> Result<Snapshot, WarehouseError> {
    let mut runs = entries(root);
    for m in current.0 {
        runs.entry(m.code_css.clone()).or_default().push(m.run_id.clone());
    }
    if let Some(m) = current.1 {
        runs.entry(MARTS_MANIFEST.to_string())
            .or_default()
            .push(m.run_id.clone());
    }
    for list in runs.values_mut() {
        list.sort();
        list.dedup();
    }
    let bound = bound_of(as_of, runs.values().flatten().any(|r| r == as_of))?;
    if let Some(generation) = read_horizon(root, None)
        && bound < generation
    {
        return Err(WarehouseError::Forgotten {
            as_of: as_of.to_string(),
            generation,
        });
    }
    let read_css = |code: &str, run: &str| -> Result<Option<Manifest>, WarehouseError> {
        match current.0.iter().find(|m| m.code_css == code && m.run_id == run) {
            Some(m) => Ok(Some(m.clone())),
            None => manifest::read_manifest(&entry_path(root, code, run)),
        }
    };
    let mut manifests = Vec::new();
    // The first CSS publication after the bound: the marts of the chosen nights come before it.
    let mut next_css_run: Option<&str> = None;
    for (owner, list) in &runs {
        if owner == MARTS_MANIFEST {
            continue;
        }
        let run = list.iter().rev().find(|r| r.as_str() <= bound.as_str());
        if let Some(horizon) = read_horizon(root, Some(owner))
            && horizon.as_str() <= bound.as_str()
            && run.is_none_or(|r| r < &horizon)
        {
            // This CSS's state at the bound was forgotten by a vacuum.
            return Err(WarehouseError::Vacuumed {
                as_of: as_of.to_string(),
            });
        }
        if let Some(run) = run
            && let Some(m) = read_css(owner, run)?
        {
            manifests.push(m);
        }
        if let Some(after) = list.iter().find(|r| r.as_str() > bound.as_str())
            && next_css_run.is_none_or(|n| after.as_str() < n)
        {
            next_css_run = Some(after.as_str());
        }
    }
    let chosen: BTreeMap<&str, &str> = manifests
        .iter()
        .map(|m| (m.code_css.as_str(), m.run_id.as_str()))
        .collect();
    let mut marts = None;
    let marts_horizon = read_horizon(root, Some(MARTS_MANIFEST));
    for run in runs.get(MARTS_MANIFEST).into_iter().flatten().rev() {
        if next_css_run.is_some_and(|n| run.as_str() >= n) {
            continue;
        }
        let m: Option<MartsManifest> = match current.1.filter(|m| &m.run_id == run) {
            Some(m) => Some(m.clone()),
            None => manifest::read_json(&entry_path(root, MARTS_MANIFEST, run))?,
        };
        let Some(m) = m else { continue };
        // Published by then, or built from the chosen nights only (a night's own marts).
        let built_from_chosen = !m.css_runs.is_empty()
            && m.css_runs
                .iter()
                .all(|(code, r)| chosen.get(code.as_str()).is_none_or(|c| r.as_str() <= *c));
        if run.as_str() <= bound.as_str() || built_from_chosen {
            marts = Some(m);
            break;
        }
    }
    if let Some(horizon) = marts_horizon
        && horizon.as_str() <= bound.as_str()
        && marts.as_ref().is_none_or(|m| m.run_id < horizon)
    {
        return Err(WarehouseError::Vacuumed {
            as_of: as_of.to_string(),
        });
    }
    if manifests.is_empty() && marts.is_none() {
        return Err(WarehouseError::UnknownAsOf(as_of.to_string()));
    }
    // All or nothing: a state with a vacuumed file is refused, never read in part.
    let missing = manifests
        .iter()
        .flat_map(Manifest::files)
        .chain(marts.iter().flat_map(MartsManifest::files))
        .any(|rel| !crate::store::is_file(&layout::resolve(root, rel)));
    if missing {
        return Err(WarehouseError::Vacuumed {
            as_of: as_of.to_string(),
        });
    }
    Ok(Snapshot {
        as_of: as_of.to_string(),
        manifests,
        marts,
    })
}

/// The publications time travel can read, oldest first, one line per run id (after a new
/// generation, the publications after it).
pub(crate) fn list(root: &Path) -> Result<Vec<HistoryEntry>, WarehouseError> {
    let mut by_run: BTreeMap<String, HistoryEntry> = BTreeMap::new();
    let generation = read_horizon(root, None);
    for (owner, runs) in entries(root) {
        let horizon = read_horizon(root, Some(&owner));
        for run in runs {
            if generation.as_ref().is_some_and(|g| &run < g) || horizon.as_ref().is_some_and(|h| &run <= h) {
                continue;
            }
            let published_at = published_at(&entry_path(root, &owner, &run))?;
            let e = by_run.entry(run.clone()).or_insert_with(|| HistoryEntry {
                run_id: run,
                published_at: published_at.clone(),
                owners: Vec::new(),
            });
            if published_at < e.published_at {
                e.published_at = published_at;
            }
            e.owners.push(owner.clone());
        }
    }
    Ok(by_run.into_values().collect())
}

fn published_at(path: &Path) -> Result<String, WarehouseError> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        #[serde(default)]
        published_at: String,
    }
    Ok(manifest::read_json::<Stamp>(path)?
        .map(|s| s.published_at)
        .unwrap_or_default())
}

/// Forgets the history entries (other than the current manifests) that list a file no longer
/// on disk: time travel to them would be refused anyway. Returns how many were forgotten.
pub(crate) fn prune_missing(root: &Path, current: &BTreeSet<(String, String)>) -> usize {
    let mut pruned = 0;
    for (owner, runs) in entries(root) {
        let mut forgotten: Option<String> = None;
        for run in runs {
            if current.contains(&(owner.clone(), run.clone())) {
                continue;
            }
            let path = entry_path(root, &owner, &run);
            let files: Vec<String> = if owner == MARTS_MANIFEST {
                match manifest::read_json::<MartsManifest>(&path) {
                    Ok(Some(m)) => m.files().cloned().collect(),
                    _ => Vec::new(),
                }
            } else {
                match manifest::read_manifest(&path) {
                    Ok(Some(m)) => m.files().cloned().collect(),
                    _ => Vec::new(),
                }
            };
            let gone = files.is_empty()
                || files
                    .iter()
                    .any(|rel| !crate::store::is_file(&layout::resolve(root, rel)));
            if gone {
                // The horizon first: no kill may leave a forgotten state looking absent.
                write_horizon(root, Some(&owner), &run);
                match layout::remove_file_if_exists(&path) {
                    Ok(()) => pruned += 1,
                    Err(e) => tracing::warn!(error = %e, "could not forget a history entry"),
                }
                forgotten = Some(run);
            }
        }
        if let Some(run) = forgotten {
            tracing::debug!(owner = %owner, up_to = %run, "history forgotten");
        }
    }
    pruned
}

/// Forgets all history before the generation `generation` (its states hold keys or school
/// years that must not stay readable): every past state up to it is refused from now on. The
/// new generation's manifests are recorded after its switch (or by the next open).
pub(crate) fn forget_all(root: &Path, generation: &str) {
    if let Err(e) = layout::remove_dir_all_if_exists(&dir(root)) {
        tracing::warn!(error = %e, "could not forget the history");
    }
    write_horizon(root, None, generation);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_bounds() -> Result<(), WarehouseError> {
        assert_eq!(
            bound_of("20261205T031500Z-0a1b2c3d", true)?,
            "20261205T031500Z-0a1b2c3d"
        );
        assert!(matches!(
            bound_of("20261205T031500Z-0a1b2c3d", false),
            Err(WarehouseError::UnknownAsOf(_))
        ));
        let b = bound_of("2026-12-05", false)?;
        assert!("20261205T235959Z-ffffffff" < b.as_str());
        assert!(b.as_str() < "20261206T000000Z-00000000");
        let b = bound_of("2026-12-05T03:15:00-05:00", false)?;
        assert!("20261205T081500Z-ffffffff" < b.as_str() && b.as_str() < "20261205T081501Z-00000000");
        assert!(matches!(bound_of("hier", false), Err(WarehouseError::InvalidAsOf(_))));
        assert!(matches!(
            bound_of("20261205", false),
            Err(WarehouseError::InvalidAsOf(_))
        ));
        Ok(())
    }
}
