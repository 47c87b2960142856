//! Manifests: the commit record of a CSS (or of the marts). A CSS's state is exactly the files
//! its current manifest lists.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::WarehouseError;
use crate::layout;

/// The manifest format written by this version. Format 2 added the row count of each school
/// year partition (so a night can replace some years and keep the others) and the state of each
/// source system.
pub const MANIFEST_FORMAT: u32 = 2;

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
    /// Rows of each school-year partition (`2024-2025`), for tables partitioned by year.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_rows: BTreeMap<String, u64>,
}

impl TableFiles {
    /// Every file, CSS zone first.
    pub fn all_files(&self) -> impl Iterator<Item = &String> {
        self.css_files.iter().chain(self.shared_files.iter())
    }

    /// The school years of the table's partitions.
    pub fn years(&self) -> impl Iterator<Item = &String> {
        self.partition_rows.keys()
    }

    /// The files and rows of the partitions whose year satisfies `keep`.
    pub fn retain_years(&self, keep: impl Fn(&str) -> bool) -> TableFiles {
        let kept = |f: &&String| partition_year(f).is_some_and(&keep);
        let partition_rows: BTreeMap<String, u64> = self
            .partition_rows
            .iter()
            .filter(|(y, _)| keep(y))
            .map(|(y, n)| (y.clone(), *n))
            .collect();
        TableFiles {
            rows: partition_rows.values().sum(),
            css_files: self.css_files.iter().filter(kept).cloned().collect(),
            shared_files: self.shared_files.iter().filter(kept).cloned().collect(),
            partition_rows,
        }
    }

    /// Adds another set of files (of other partitions) to this one.
    pub fn merge(&mut self, other: TableFiles) {
        self.rows += other.rows;
        self.css_files.extend(other.css_files);
        self.shared_files.extend(other.shared_files);
        for (y, n) in other.partition_rows {
            *self.partition_rows.entry(y).or_default() += n;
        }
    }
}

/// The school year of a partitioned file path (`.../annee_scolaire=2024-2025/...`).
pub fn partition_year(path: &str) -> Option<&str> {
    path.split('/')
        .find_map(|part| part.strip_prefix(concat!("annee_scolaire", "=")))
}

/// The state of one source system (`gpi`, `jade`, `mozaik`, `dofin`) of a CSS.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceState {
    /// The last night whose export of this source was loaded.
    pub night: String,
    /// The run that loaded it.
    pub run_id: String,
    pub files: u64,
    pub bytes: u64,
    /// Data rows read from the files.
    pub rows_read: u64,
    /// Rows quarantined from this source (at reading and at normalisation).
    pub rows_quarantined: u64,
    /// The last failure of this source, if its last attempt failed: the tables it feeds keep
    /// what `night` loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<SourceFailure>,
}

/// A failed attempt to load a source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceFailure {
    pub night: String,
    pub run_id: String,
    pub error: String,
}

/// A fall of one entity's rows caught by the drop guard: held (its sources keep their previous
/// state) or accepted (published on the operator's word, `socle run --accept-drop CSS:ENTITY`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DropRecord {
    /// The canonical entity.
    pub entity: String,
    /// The school year compared; `None` for an entity without school year (compared whole).
    #[serde(default)]
    pub annee_scolaire: Option<String>,
    /// Rows of the night already loaded.
    pub rows_before: u64,
    /// Rows of the night that fell.
    pub rows_now: u64,
    /// The threshold that applied (largest share of rows a night may lose).
    pub baisse_max: f64,
    /// The source systems feeding the entity in that night: held, or published by the acceptance.
    pub sources: Vec<String>,
    /// The night that fell.
    pub night: String,
    /// The run that saw it.
    pub run_id: String,
    /// When the drop was accepted (RFC 3339, UTC); `None` while it is held. Set at commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
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
    /// The sources this run attempted, by system. Sources not attempted keep their previous
    /// state.
    pub sources: BTreeMap<String, SourceState>,
    /// The drops this run held (they replace the previous run's).
    pub held_drops: Vec<DropRecord>,
    /// The drops this run accepted and published (added to the history).
    pub accepted_drops: Vec<DropRecord>,
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
    /// The state of each source system ever loaded for this CSS.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceState>,
    /// The drops held by the last run: the sources feeding those entities kept their previous
    /// state. Empty when the last run held nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_drops: Vec<DropRecord>,
    /// Every drop accepted with `--accept-drop`, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_drops: Vec<DropRecord>,
    /// The retentions applied to this CSS (`socle retention --apply`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retention: Vec<RetentionRecord>,
    /// The generation whose key the student keys were last recomputed with (`socle rekey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekeyed: Option<RekeyRecord>,
    /// The Delta version of each table this CSS's files are in (its zone's tables and its
    /// partitions of the shared tables), as its last publication committed them (see the `delta`
    /// module). Empty in manifests written before the tables were Delta tables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delta: BTreeMap<String, u64>,
}

/// A retention applied to a CSS: when, what was kept, what was removed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionRecord {
    /// RFC 3339, UTC.
    pub at: String,
    /// The generation (run id) that applied it.
    pub run_id: String,
    pub keep_years: u32,
    /// School years removed from this CSS's tables (both zones).
    pub years_removed: Vec<String>,
    pub rows_removed: u64,
    /// Quarantined rows removed (the quarantine of a night past retention).
    #[serde(default)]
    pub quarantine_rows_removed: u64,
}

/// A key rotation: when, and the fingerprint of the key the keys were recomputed with (the
/// manifest's `key_fingerprint` is the same; the previous one is kept for the record).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyRecord {
    /// RFC 3339, UTC.
    pub at: String,
    pub run_id: String,
    pub previous_fingerprint: String,
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
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct MartsManifest {
    pub run_id: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    /// Marts by name; their files are in `shared_files`.
    pub marts: BTreeMap<String, TableFiles>,
    /// The run id of each CSS's manifest the marts were built from, by CSS code: the marts are
    /// current while these are the CSS's current run ids ([`crate::Warehouse::marts_state`]).
    /// Empty in manifests written before it was recorded: such marts count as stale.
    #[serde(default)]
    pub css_runs: BTreeMap<String, String>,
    /// The intermediate models by name, under `_socle/intermediate/`: `shared_files` those built
    /// in the shared zone (one per CSS for a `par_css` model, one for a `province` one),
    /// `css_files` those built in CSS zones. Never registered in a query session.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intermediates: BTreeMap<String, TableFiles>,
    /// The models that failed at the last build, with why: they (and the models reading them)
    /// kept their previous files. The marts are not current while this is not empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
    /// A fingerprint of the pipelines (SQL, YAML, seeds, config) the marts were built with: a
    /// change rebuilds every CSS's rows rather than only those of the CSS that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_hash: Option<String>,
    /// The Delta version of each mart and intermediate model's table, as this publication
    /// committed them (see the `delta` module).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delta: BTreeMap<String, u64>,
}

impl MartsManifest {
    /// Every file the manifest owns: the marts' and the intermediate models'.
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.marts
            .values()
            .chain(self.intermediates.values())
            .flat_map(TableFiles::all_files)
    }
}

/// Reads a JSON file, `None` if it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, WarehouseError> {
    let bytes = match crate::store::read(path) {
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
    let mut json = serde_json::to_vec_pretty(value).map_err(|source| WarehouseError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    json.push(b'\n');
    write_bytes_atomic(path, &json, tmp_suffix)
}

/// Writes `bytes` to `path` atomically (see [`write_json_atomic`]).
pub(crate) fn write_bytes_atomic(path: &Path, json: &[u8], tmp_suffix: &str) -> Result<(), WarehouseError> {
    // On an object store, one PUT replaces an object whole: readers see the old or the new.
    if crate::store::is_remote(path) {
        return crate::store::write(path, json.to_vec()).map_err(|e| WarehouseError::io("writing", path, e));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{file_name}{}{tmp_suffix}", layout::TMP_MARKER));
    {
        let mut f = fs::File::create(&tmp).map_err(|e| WarehouseError::io("creating", &tmp, e))?;
        f.write_all(json).map_err(|e| WarehouseError::io("writing", &tmp, e))?;
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
                partition_rows: BTreeMap::from([("2024-2025".to_string(), 3)]),
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
            sources: BTreeMap::from([(
                "gpi".to_string(),
                SourceState {
                    night: "2025-11-20".into(),
                    run_id: "20251120T031500Z-0123abcd".into(),
                    files: 12,
                    bytes: 10,
                    rows_read: 2,
                    rows_quarantined: 0,
                    last_failure: None,
                },
            )]),
            held_drops: vec![DropRecord {
                entity: "absence".into(),
                annee_scolaire: Some("2025-2026".into()),
                rows_before: 100,
                rows_now: 0,
                baisse_max: 0.5,
                sources: vec!["gpi".into()],
                night: "2025-11-20".into(),
                run_id: "20251120T031500Z-0123abcd".into(),
                accepted_at: None,
            }],
            accepted_drops: vec![],
            retention: Vec::new(),
            rekeyed: None,
            delta: BTreeMap::from([("css/866000/resultat".to_string(), 3)]),
        };
        let json = serde_json::to_string_pretty(&m)?;
        assert!(
            !json.contains("accepted_drops") && !json.contains("accepted_at"),
            "{json}"
        );
        let back: Manifest = serde_json::from_str(&json)?;
        assert_eq!(back, m);
        assert_eq!(back.files().count(), 2);
        // A manifest written before the drop guard reads with no drops.
        let mut old: serde_json::Value = serde_json::from_str(&json)?;
        old.as_object_mut().ok_or("an object")?.remove("held_drops");
        let old: Manifest = serde_json::from_value(old)?;
        assert!(old.held_drops.is_empty() && old.accepted_drops.is_empty());

        let marts = MartsManifest {
            run_id: "r".into(),
            published_at: "2025-11-20T03:15:00Z".into(),
            marts: BTreeMap::from([(
                "reussite".to_string(),
                TableFiles {
                    rows: 1,
                    css_files: vec![],
                    shared_files: vec!["marts/reussite/r.parquet".into()],
                    partition_rows: BTreeMap::new(),
                },
            )]),
            css_runs: BTreeMap::from([("866000".to_string(), "20251120T031500Z-0123abcd".to_string())]),
            intermediates: BTreeMap::new(),
            failed: BTreeMap::new(),
            project_hash: None,
            delta: BTreeMap::new(),
        };
        let back: MartsManifest = serde_json::from_str(&serde_json::to_string(&marts)?)?;
        assert_eq!(back, marts);
        // A manifest of an earlier version, without `css_runs`, still reads.
        let old: MartsManifest =
            serde_json::from_str(r#"{"run_id": "r", "published_at": "2025-11-20T03:15:00Z", "marts": {}}"#)?;
        assert_eq!(old.css_runs, BTreeMap::new());
        Ok(())
    }

    #[test]
    fn years_are_kept_or_replaced_by_partition() {
        let files = TableFiles {
            rows: 5,
            css_files: vec![
                "css/866000/resultat/annee_scolaire=2023-2024/a.parquet".into(),
                "css/866000/resultat/annee_scolaire=2024-2025/a.parquet".into(),
            ],
            shared_files: vec![
                "shared/resultat/annee_scolaire=2023-2024/code_css=866000/a.parquet".into(),
                "shared/resultat/annee_scolaire=2024-2025/code_css=866000/a.parquet".into(),
            ],
            partition_rows: BTreeMap::from([("2023-2024".to_string(), 2), ("2024-2025".to_string(), 3)]),
        };
        let old = files.retain_years(|y| y != "2024-2025");
        assert_eq!(old.rows, 2);
        assert_eq!(
            old.css_files,
            vec!["css/866000/resultat/annee_scolaire=2023-2024/a.parquet".to_string()]
        );
        assert_eq!(old.shared_files.len(), 1);
        let mut merged = files.retain_years(|y| y == "2024-2025");
        merged.merge(old);
        assert_eq!(merged.rows, 5);
        assert_eq!(merged.all_files().count(), 4);
        assert_eq!(
            partition_year("css/1/t/annee_scolaire=2024-2025/r.parquet"),
            Some("2024-2025")
        );
        assert_eq!(partition_year("css/1/eleve/r.parquet"), None);
    }
}
