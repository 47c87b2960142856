//! Paths of the warehouse layout, name checks and small file-system helpers.

use std::path::{Path, PathBuf};

use crate::error::WarehouseError;

/// Per-CSS zone.
pub(crate) const CSS_DIR: &str = "css";
/// Shared zone.
pub(crate) const SHARED_DIR: &str = "shared";
/// Shared marts.
pub(crate) const MARTS_DIR: &str = "marts";
/// The warehouse's own folder.
pub(crate) const SOCLE_DIR: &str = "_socle";

/// Whether `root` holds a warehouse (its `_socle` folder, made by the first open).
pub(crate) fn is_warehouse(root: &Path) -> bool {
    crate::store::is_dir(&root.join(SOCLE_DIR))
}
/// The zones whose files are owned by manifests (and garbage-collected).
pub(crate) const DATA_DIRS: [&str; 3] = [CSS_DIR, SHARED_DIR, MARTS_DIR];
/// Name of the quarantine folder and table.
pub const QUARANTINE: &str = "quarantaine";
/// Partition column for school years.
pub(crate) const YEAR_COLUMN: &str = "annee_scolaire";
/// Partition column for CSS.
pub(crate) const CSS_COLUMN: &str = "code_css";
/// Name of the marts manifest (and of the marts' staging folder).
pub(crate) const MARTS_MANIFEST: &str = "_marts";
/// Intermediate models (`pipelines/intermediate/`): never in a published zone, read only by the
/// marts-building session. Owned by the marts manifest like the marts' files.
pub(crate) const INTERMEDIATE_DIR: &str = "_socle/intermediate";
/// Marker in the names of temporary files.
pub(crate) const TMP_MARKER: &str = ".tmp-";

/// The file naming the current generation of the manifests (see [`manifests_dir`]).
pub(crate) const CURRENT_POINTER: &str = "CURRENT";
/// The folder of the generations made by `rekey` and `retention`.
pub(crate) const GENERATIONS_DIR: &str = "generations";

/// The generation named by `_socle/CURRENT`, `None` for generation 0 (no pointer, or a pointer
/// that does not name a generation folder's component).
pub(crate) fn current_generation(root: &Path) -> Option<String> {
    let text = crate::store::read_to_string(&root.join(SOCLE_DIR).join(CURRENT_POINTER)).ok()?;
    let id = text.trim();
    is_component(id).then(|| id.to_string())
}

/// The manifests folder of a generation: `_socle/manifests` for generation 0 (every warehouse
/// before its first `rekey` or `retention`), `_socle/generations/<id>/manifests` otherwise.
pub(crate) fn generation_manifests_dir(root: &Path, generation: Option<&str>) -> PathBuf {
    match generation {
        None => root.join(SOCLE_DIR).join("manifests"),
        Some(id) => root.join(SOCLE_DIR).join(GENERATIONS_DIR).join(id).join("manifests"),
    }
}

/// The folder of the current manifests: **the one place every reader and writer resolves the
/// generation pointer** `_socle/CURRENT` (one small read). A generation switch is the atomic
/// rename of that pointer.
pub(crate) fn manifests_dir(root: &Path) -> PathBuf {
    generation_manifests_dir(root, current_generation(root).as_deref())
}
pub(crate) fn audit_dir(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("audit")
}
pub(crate) fn staging_dir(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("staging")
}
pub(crate) fn runs_dir(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("runs")
}
pub(crate) fn lock_path(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("lock")
}
pub(crate) fn run_lock_path(root: &Path) -> PathBuf {
    root.join(SOCLE_DIR).join("run.lock")
}
pub(crate) fn manifest_path(root: &Path, code_css: &str) -> PathBuf {
    manifests_dir(root).join(format!("{code_css}.json"))
}
pub(crate) fn marts_manifest_path(root: &Path) -> PathBuf {
    manifests_dir(root).join(format!("{MARTS_MANIFEST}.json"))
}

/// The file of a mart's rows for one CSS (exact counts, flagged; the CSS's own zone).
pub fn mart_css_file(mart: &str, code_css: &str, run_id: &str) -> String {
    format!("{CSS_DIR}/{code_css}/{MARTS_DIR}/{mart}/{run_id}.parquet")
}

/// The shared zone's file of a mart (small cells suppressed, one row group per CSS).
pub fn mart_shared_file(mart: &str, run_id: &str) -> String {
    format!("{MARTS_DIR}/{mart}/{run_id}.parquet")
}

/// Where an intermediate model's rows are kept: built in the shared zone, one file per CSS
/// (`code_css = Some`, a `par_css` model) or one for all (a `province` model); built in a CSS's
/// zone (`zone_css = Some`), one file for that CSS.
pub fn intermediate_file(model: &str, zone_css: Option<&str>, code_css: Option<&str>, run_id: &str) -> String {
    match (zone_css, code_css) {
        (Some(zone), _) => format!("{INTERMEDIATE_DIR}/{CSS_DIR}/{zone}/{model}/{run_id}.parquet"),
        (None, Some(code)) => format!("{INTERMEDIATE_DIR}/{SHARED_DIR}/{model}/code_css={code}/{run_id}.parquet"),
        (None, None) => format!("{INTERMEDIATE_DIR}/{SHARED_DIR}/{model}/{run_id}.parquet"),
    }
}

/// The CSS a per-CSS file of a mart or an intermediate model belongs to, from its path
/// (`css/<code>/...`, `.../code_css=<code>/...`, `_socle/intermediate/css/<code>/...`).
pub fn file_css(rel: &str) -> Option<&str> {
    let rest = rel
        .strip_prefix(INTERMEDIATE_DIR)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(rel);
    let mut parts = rest.split('/');
    if parts.next() == Some(CSS_DIR) {
        return parts.next();
    }
    rest.split('/').find_map(|p| p.strip_prefix("code_css="))
}

/// `<root>/<a>/<b>/...` from a `/`-separated relative path.
pub(crate) fn resolve(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in rel.split('/').filter(|s| !s.is_empty()) {
        p.push(part);
    }
    p
}

/// Whether `s` can be used as one path component: ASCII letters, digits, `-`, `_`, and `.`
/// anywhere but first (no hidden files, no `..`).
pub(crate) fn is_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(crate) fn check_component(what: &'static str, s: &str) -> Result<(), WarehouseError> {
    if is_component(s) {
        Ok(())
    } else {
        Err(WarehouseError::InvalidName {
            what,
            value: s.to_string(),
        })
    }
}

/// A CSS code: a path component that does not start with `_` (names starting with `_` belong to
/// the warehouse, such as `_marts`).
pub(crate) fn check_code_css(code_css: &str) -> Result<(), WarehouseError> {
    check_component("CSS code", code_css)?;
    if code_css.starts_with('_') {
        return Err(WarehouseError::InvalidName {
            what: "CSS code",
            value: code_css.to_string(),
        });
    }
    Ok(())
}

/// Syncs a folder so renames inside it are durable. Best effort: not every platform can open a
/// folder for syncing.
pub(crate) fn sync_dir(dir: &Path) {
    if crate::store::is_remote(dir) {
        return;
    }
    if let Ok(f) = std::fs::File::open(dir)
        && let Err(e) = f.sync_all()
    {
        tracing::debug!(dir = %dir.display(), error = %e, "folder sync failed");
    }
}

pub(crate) fn create_dir_all(dir: &Path) -> Result<(), WarehouseError> {
    crate::store::create_dir_all(dir).map_err(|e| WarehouseError::io("creating folder", dir, e))
}

/// Removes a file; a missing file is not an error.
pub(crate) fn remove_file_if_exists(path: &Path) -> Result<(), WarehouseError> {
    match crate::store::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WarehouseError::io("deleting", path, e)),
    }
}

/// Removes a folder tree; a missing folder is not an error. The Delta states this process kept
/// for tables under it are forgotten (a table made again there starts a new log).
pub(crate) fn remove_dir_all_if_exists(path: &Path) -> Result<(), WarehouseError> {
    crate::delta::forget_under(path);
    match crate::store::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WarehouseError::io("deleting folder", path, e)),
    }
}

/// Removes the empty folders from `start` up to (not including) `stop`.
pub(crate) fn prune_empty_parents(start: &Path, stop: &Path) {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || crate::store::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert!(is_component("866000"));
        assert!(is_component("2024-2025"));
        assert!(is_component("20251120T031500Z-0123abcd"));
        assert!(!is_component(""));
        assert!(!is_component(".."));
        assert!(!is_component("a/b"));
        assert!(!is_component("a b"));
        assert!(check_code_css("_marts").is_err());
        assert_eq!(file_css(&mart_css_file("m", "866000", "r")), Some("866000"));
        assert_eq!(file_css(&mart_shared_file("m", "r")), None);
        assert_eq!(
            file_css(&intermediate_file("i", Some("881000"), None, "r")),
            Some("881000")
        );
        assert_eq!(
            file_css(&intermediate_file("i", None, Some("751000"), "r")),
            Some("751000")
        );
        assert_eq!(file_css(&intermediate_file("i", None, None, "r")), None);
        assert_eq!(
            resolve(Path::new("/w"), "css/866000/eleve/r.parquet"),
            PathBuf::from("/w/css/866000/eleve/r.parquet")
        );
    }
}
