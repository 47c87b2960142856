//! Where an extract's versions live, and their manifest.
//!
//! ```text
//! <root>/<extract>/<code_css | province>/<annee>/
//!     versions/<build id>/      one folder per build, never modified once renamed into place
//!         <file>                the extract in its layout
//!         <file stem>.xlsx      the signer's copy, with its Validation sheet
//!         lignes.parquet        the rows as written (text), what the next diff reads
//!         diff.json             rows added, removed and changed since the last submitted version
//!         manifest.json         see [`ExtractManifest`]
//!     COURANTE                  the build id of the last build
//!     TRANSMISE                 the build id of the last submitted version
//! ```
//!
//! A build is written in a `.tmp-<id>` folder, synced, then renamed into `versions/`, and
//! `COURANTE` is replaced by a rename: a reader sees the previous build or the new one, whole. A
//! submitted version is frozen: its files are made read-only, only its manifest's status changes
//! (`provisoire` -> `transmis`), and no later build removes or replaces it. Older builds that
//! were never submitted are removed by the next build.

use crate::ExtractError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const VERSIONS_DIR: &str = "versions";
pub const CURRENT_POINTER: &str = "COURANTE";
pub const SUBMITTED_POINTER: &str = "TRANSMISE";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const ROWS_FILE: &str = "lignes.parquet";
pub const DIFF_FILE: &str = "diff.json";
const TMP_PREFIX: &str = ".tmp-";

/// The unit name of a shared-zone extract.
pub const PROVINCE: &str = "province";

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Built, not sent: the next build replaces it.
    Provisoire,
    /// Sent to the ministry: frozen, and what the next diff compares with.
    Transmis,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
    /// Data rows (header excluded); `None` for the XLSX copy and the manifest's companions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RuleResult {
    pub name: String,
    /// `integree` (built in), `ligne` (row rule) or `ensemble` (set rule).
    pub kind: String,
    pub failures: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DiffSummary {
    /// The build id of the submitted version compared with; `None`: nothing was submitted yet.
    pub against: Option<String>,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
}

/// `manifest.json` of a version.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExtractManifest {
    pub extract: String,
    /// The extract's layout version (its YAML's `version`).
    pub version: String,
    pub title: String,
    /// The CSS code, or `province`.
    pub unit: String,
    pub annee_scolaire: String,
    pub build_id: String,
    pub status: Status,
    pub built_at: String,
    pub built_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// The warehouse runs read: each CSS's run id, and the marts' run id.
    pub css_runs: BTreeMap<String, String>,
    pub marts_run_id: Option<String>,
    pub files: Vec<FileEntry>,
    pub validation: Vec<RuleResult>,
    pub diff: DiffSummary,
}

/// The folder of one unit (extract, CSS or province, year).
#[derive(Debug, Clone)]
pub struct UnitDir {
    pub dir: PathBuf,
    /// Folders and files with owner-only permissions (the extract holds personal data).
    pub private: bool,
}

impl UnitDir {
    pub fn new(root: &Path, extract: &str, unit: &str, annee: &str, private: bool) -> Self {
        UnitDir {
            dir: root.join(extract).join(unit).join(annee),
            private,
        }
    }

    pub fn version_dir(&self, build_id: &str) -> PathBuf {
        self.dir.join(VERSIONS_DIR).join(build_id)
    }

    fn pointer(&self, name: &str) -> Result<Option<String>, ExtractError> {
        match fs::read_to_string(self.dir.join(name)) {
            Ok(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ExtractError::io(&self.dir.join(name), e)),
        }
    }

    /// The last build's id.
    pub fn current(&self) -> Result<Option<String>, ExtractError> {
        self.pointer(CURRENT_POINTER)
    }

    /// The last submitted version's id.
    pub fn submitted(&self) -> Result<Option<String>, ExtractError> {
        self.pointer(SUBMITTED_POINTER)
    }

    pub fn manifest(&self, build_id: &str) -> Result<ExtractManifest, ExtractError> {
        let path = self.version_dir(build_id).join(MANIFEST_FILE);
        let bytes = fs::read(&path).map_err(|e| ExtractError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ExtractError::Other(format!("{}: {e}", path.display())))
    }

    /// A new staging folder for a build (removing those a killed build left).
    pub fn stage(&self, build_id: &str) -> Result<PathBuf, ExtractError> {
        create_dirs(&self.dir.join(VERSIONS_DIR), self.private)?;
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let staging = self.dir.join(format!("{TMP_PREFIX}{build_id}"));
        create_dirs(&staging, self.private)?;
        Ok(staging)
    }

    /// Moves a complete staging folder into `versions/`, points `COURANTE` at it, and removes the
    /// older builds that were never submitted.
    pub fn publish(&self, staging: &Path, build_id: &str) -> Result<PathBuf, ExtractError> {
        let target = self.version_dir(build_id);
        if target.exists() {
            return Err(ExtractError::Other(format!(
                "{} exists already: a version is never overwritten",
                target.display()
            )));
        }
        sync_dir(staging)?;
        fs::rename(staging, &target).map_err(|e| ExtractError::io(&target, e))?;
        sync_dir(&self.dir.join(VERSIONS_DIR))?;
        self.write_pointer(CURRENT_POINTER, build_id)?;
        let versions = self.dir.join(VERSIONS_DIR);
        for e in fs::read_dir(&versions)
            .map_err(|e| ExtractError::io(&versions, e))?
            .flatten()
        {
            let id = e.file_name().to_string_lossy().to_string();
            // Build ids sort by second only: every other unsubmitted build goes, whatever its id.
            if id == build_id {
                continue;
            }
            match self.manifest(&id) {
                Ok(m) if m.status == Status::Provisoire => {
                    if let Err(err) = fs::remove_dir_all(e.path()) {
                        tracing::warn!(version = %e.path().display(), error = %err, "cannot remove an older unsubmitted build");
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(version = %e.path().display(), error = %err, "version without a readable manifest: kept")
                }
            }
        }
        Ok(target)
    }

    /// Freezes the last build as submitted; see the module.
    pub fn submit(&self, by: &str, at: &str) -> Result<ExtractManifest, ExtractError> {
        let Some(id) = self.current()? else {
            return Err(ExtractError::Other(format!(
                "nothing built in {}: run `socle extracts build` first",
                self.dir.display()
            )));
        };
        let mut m = self.manifest(&id)?;
        if m.status == Status::Transmis {
            return Err(ExtractError::AlreadySubmitted {
                build_id: id,
                at: m.submitted_at.unwrap_or_default(),
            });
        }
        let dir = self.version_dir(&id);
        for f in &m.files {
            set_mode(&dir.join(&f.name), if self.private { 0o400 } else { 0o444 })?;
        }
        set_mode(&dir.join(ROWS_FILE), if self.private { 0o400 } else { 0o444 })?;
        set_mode(&dir.join(DIFF_FILE), if self.private { 0o400 } else { 0o444 })?;
        m.status = Status::Transmis;
        m.submitted_at = Some(at.to_string());
        m.submitted_by = Some(by.to_string());
        write_json_atomic(&dir.join(MANIFEST_FILE), &m, self.private)?;
        self.write_pointer(SUBMITTED_POINTER, &id)?;
        Ok(m)
    }

    fn write_pointer(&self, name: &str, build_id: &str) -> Result<(), ExtractError> {
        write_atomic(&self.dir.join(name), format!("{build_id}\n").as_bytes(), self.private)
    }
}

pub(crate) fn create_dirs(dir: &Path, private: bool) -> Result<(), ExtractError> {
    fs::create_dir_all(dir).map_err(|e| ExtractError::io(dir, e))?;
    if private {
        set_mode(dir, 0o700)?;
    }
    Ok(())
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), ExtractError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| ExtractError::io(path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Creates `path` (mode 0600 when `private`), writes and syncs it.
pub(crate) fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), ExtractError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = options.open(path).map_err(|e| ExtractError::io(path, e))?;
    f.write_all(bytes).map_err(|e| ExtractError::io(path, e))?;
    f.sync_all().map_err(|e| ExtractError::io(path, e))
}

/// Replaces `path` by a rename of a synced temporary file beside it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), ExtractError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, bytes, private)?;
    fs::rename(&tmp, path).map_err(|e| ExtractError::io(path, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T, private: bool) -> Result<(), ExtractError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| ExtractError::Other(e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, private)
}

fn sync_dir(dir: &Path) -> Result<(), ExtractError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| ExtractError::io(dir, e))
}
