//! Manifests: the commit record of a CSS (or of the marts). A CSS's state is exactly the files
//! its current manifest lists.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::WarehouseError;
use crate::layout;

/// The manifest format written by this version.
pub const MANIFEST_FORMAT: u32 = 1;

/// One input file of a run, as found in the night's export folder.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// Path relative to the night folder, `/` separators (`gpi/gpm_e_ele.csv`).
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}

/// The files of one table (or of the quarantine, or of a mart) and its row count.
/// Paths are relative to the warehouse root, with `/` separators.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TableFiles {
    pub rows: u64,
    /// Files of the per-CSS zone (all columns).
    #[serde(default)]
    pub css_files: Vec<String>,
    /// Files of the shared zone (shared fields only), or a mart's files.
    #[serde(default)]
    pub shared_files: Vec<String>,
}

impl TableFiles {
    /// Every file, CSS zone first.
    pub fn all_files(&self) -> impl Iterator<Item = &String> {
        self.css_files.iter().chain(self.shared_files.iter())
    }
}

/// What the caller knows about a run and records in the manifest at commit.
#[derive(Clone, Debug, Default)]
pub struct ManifestInfo {
    /// The night (export folder) the run loaded, e.g. `2025-11-20`.
    pub night: String,
    /// `version` of the data dictionary.
    pub dictionary_version: String,
    /// Fingerprint of the pseudonymisation key (never the key itself).
    pub key_fingerprint: String,
    /// Whether the public demonstration key was used.
    pub demo_key: bool,
    pub inputs: Vec<InputFile>,
    /// Summary of the data-quality report.
    pub quality: serde_json::Value,
}

/// The current state of one CSS: `_socle/manifests/<code_css>.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`] (1).
    pub format: u32,
    pub code_css: String,
    pub run_id: String,
    pub night: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    pub dictionary_version: String,
    pub key_fingerprint: String,
    pub demo_key: bool,
    pub inputs: Vec<InputFile>,
    /// Canonical tables by name.
    pub tables: BTreeMap<String, TableFiles>,
    /// Quarantined rows (CSS zone only).
    pub quarantine: TableFiles,
    pub quality: serde_json::Value,
}

impl Manifest {
    /// Every file the manifest owns (tables and quarantine).
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.tables
            .values()
            .flat_map(TableFiles::all_files)
            .chain(self.quarantine.all_files())
    }
}

/// The current state of the shared marts: `_socle/manifests/_marts.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MartsManifest {
    pub run_id: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    /// Marts by name; their files are in `shared_files`.
    pub marts: BTreeMap<String, TableFiles>,
}

impl MartsManifest {
    /// Every file the manifest owns.
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.marts.values().flat_map(TableFiles::all_files)
    }
}

/// Reads a JSON file, `None` if it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, WarehouseError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WarehouseError::io("reading", path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| WarehouseError::Json {
            path: path.to_path_buf(),
            source,
        })
}

/// Reads a CSS manifest and checks its format.
pub(crate) fn read_manifest(path: &Path) -> Result<Option<Manifest>, WarehouseError> {
    let manifest: Option<Manifest> = read_json(path)?;
    if let Some(m) = &manifest
        && m.format != MANIFEST_FORMAT
    {
        return Err(WarehouseError::ManifestFormat {
            path: path.to_path_buf(),
            found: m.format,
            expected: MANIFEST_FORMAT,
        });
    }
    Ok(manifest)
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over `path` (the rename is the commit point), then the folder
/// is synced so the rename survives a power loss.
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T, tmp_suffix: &str) -> Result<(), WarehouseError> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| WarehouseError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{file_name}{}{tmp_suffix}", layout::TMP_MARKER));
    {
        let mut f = fs::File::create(&tmp).map_err(|e| WarehouseError::io("creating", &tmp, e))?;
        f.write_all(&json)
            .and_then(|_| f.write_all(b"\n"))
            .map_err(|e| WarehouseError::io("writing", &tmp, e))?;
        f.sync_all().map_err(|e| WarehouseError::io("syncing", &tmp, e))?;
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(WarehouseError::io("renaming over", path, e));
    }
    if let Some(dir) = path.parent() {
        layout::sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let mut tables = BTreeMap::new();
        tables.insert(
            "resultat".to_string(),
            TableFiles {
                rows: 3,
                css_files: vec!["css/866000/resultat/annee_scolaire=2024-2025/r.parquet".into()],
                shared_files: vec!["shared/resultat/annee_scolaire=2024-2025/code_css=866000/r.parquet".into()],
            },
        );
        let m = Manifest {
            format: MANIFEST_FORMAT,
            code_css: "866000".into(),
            run_id: "20251120T031500Z-0123abcd".into(),
            night: "2025-11-20".into(),
            published_at: "2025-11-20T03:15:00Z".into(),
            dictionary_version: "1.0".into(),
            key_fingerprint: "abcd".into(),
            demo_key: true,
            inputs: vec![InputFile {
                path: "gpi/gpm_e_ele.csv".into(),
                sha256: "00".repeat(32),
                bytes: 10,
                rows: 2,
            }],
            tables,
            quarantine: TableFiles::default(),
            quality: serde_json::json!({"anomalies": 2}),
        };
        let json = serde_json::to_string_pretty(&m)?;
        let back: Manifest = serde_json::from_str(&json)?;
        assert_eq!(back, m);
        assert_eq!(back.files().count(), 2);

        let marts = MartsManifest {
            run_id: "r".into(),
            published_at: "2025-11-20T03:15:00Z".into(),
            marts: BTreeMap::from([(
                "reussite".to_string(),
                TableFiles {
                    rows: 1,
                    css_files: vec![],
                    shared_files: vec!["marts/reussite/r.parquet".into()],
                },
            )]),
        };
        let back: MartsManifest = serde_json::from_str(&serde_json::to_string(&marts)?)?;
        assert_eq!(back, marts);
        Ok(())
    }
}
