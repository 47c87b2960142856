//! Generations: a change to every CSS at once (a key rotation, a retention), made atomic by one
//! pointer.
//!
//! The current manifests live in the folder `_socle/CURRENT` names
//! (`_socle/generations/<id>/manifests/`), or in `_socle/manifests/` when there is no pointer
//! (generation 0: every warehouse before its first `rekey` or `retention`).
//! [`crate::layout::manifests_dir`] is the one function that resolves it, for every reader and
//! writer.
//!
//! A [`Generation`] starts from the current manifests; its caller rewrites what it must (new data
//! files get new, run-unique names, so both generations coexist on disk) and edits the
//! manifests. [`Generation::commit`] (1) writes every manifest into the new generation's folder,
//! (2) renames the new pointer over `_socle/CURRENT` — the one commit point for all CSS and the
//! marts — then (3) deletes the previous generation's files that the new one does not list, and
//! its manifests folder, every replaced file kept for time travel, and the history (see the
//! `history` module). A failure or a kill before (2) leaves the previous generation whole
//! and current; the new files belong to no current manifest and the next
//! [`crate::Warehouse::open`] deletes them with the stale generation folder.
//!
//! Test hook: the failpoint `<stage>:switch` (`rekey:switch`, `retention:switch`) fails the
//! commit after (1), just before the switch.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::WarehouseError;
use crate::layout::{self, SOCLE_DIR};
use crate::manifest::{self, Manifest, MartsManifest};
use crate::warehouse::{LockGuard, Warehouse, failpoint_fires};

/// A new generation of the warehouse being prepared; nothing is visible until
/// [`Generation::commit`]. Dropped without commit, it leaves files the next open collects.
#[derive(Debug)]
pub struct Generation {
    warehouse: Warehouse,
    id: String,
    previous: Option<String>,
    /// The manifests of the new generation, by CSS; start as the current ones.
    pub manifests: BTreeMap<String, Manifest>,
    /// The marts manifest of the new generation; starts as the current one.
    pub marts: Option<MartsManifest>,
    /// Data files written for the new generation (relative to the root).
    written: Vec<String>,
    failpoint: Option<String>,
    _lock: LockGuard,
}

impl Warehouse {
    /// Begins a new generation `id` (a run id) from the current manifests. Holds the writers'
    /// shared lock until committed or dropped, so garbage collection never removes its files.
    pub fn begin_generation(&self, id: &str) -> Result<Generation, WarehouseError> {
        self.check_writable()?;
        layout::check_component("generation", id)?;
        let lock = LockGuard::shared(self.root())?;
        let previous = layout::current_generation(self.root());
        if previous.as_deref() == Some(id) {
            return Err(WarehouseError::RunIdReused {
                code_css: "_generation".to_string(),
                run_id: id.to_string(),
            });
        }
        let dir = layout::generation_manifests_dir(self.root(), previous.as_deref());
        let manifests: BTreeMap<String, Manifest> =
            self.manifests()?.into_iter().map(|m| (m.code_css.clone(), m)).collect();
        let marts = manifest::read_json(&dir.join(format!("{}.json", layout::MARTS_MANIFEST)))?;
        Ok(Generation {
            warehouse: self.clone(),
            id: id.to_string(),
            previous,
            manifests,
            marts,
            written: Vec::new(),
            failpoint: self.failpoint().map(str::to_string),
            _lock: lock,
        })
    }

    /// The current generation: `None` for generation 0 (`_socle/manifests`).
    pub fn current_generation(&self) -> Option<String> {
        layout::current_generation(self.root())
    }

    /// Reads a warehouse Parquet file (relative to the root) whole.
    pub fn read_file(&self, rel: &str) -> Result<Vec<RecordBatch>, WarehouseError> {
        read_parquet(&layout::resolve(self.root(), rel))
    }
}

impl Generation {
    /// The generation's id (the run id that made it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sets (or clears) the test failpoint (`<stage>:switch`).
    pub fn set_failpoint(&mut self, failpoint: Option<&str>) {
        self.failpoint = failpoint.map(str::to_string);
    }

    /// Writes a new data file of this generation at `rel` (relative to the root, a path of a data
    /// zone whose name is new: it must not exist), synced. Mart files (under `marts/` or
    /// `css/<code>/marts/`) keep their grouping by CSS. Returns the rows written.
    pub fn write_file(&mut self, rel: &str, schema: SchemaRef, batches: &[RecordBatch]) -> Result<u64, WarehouseError> {
        let path =
            crate::warehouse::owned_path(self.warehouse.root(), rel).ok_or_else(|| WarehouseError::InvalidName {
                what: "data file path",
                value: rel.to_string(),
            })?;
        if crate::store::exists(&path) {
            return Err(WarehouseError::FileExists { path });
        }
        // On an object store, written locally first (staging), then uploaded whole.
        let remote = crate::store::is_remote(&path);
        let written = match remote {
            true => layout::resolve(&layout::staging_dir(self.warehouse.root()).join(&self.id), rel),
            false => path.clone(),
        };
        let parts: Vec<&str> = rel.split('/').collect();
        let is_mart = parts.first() == Some(&layout::MARTS_DIR) || parts.get(2) == Some(&layout::MARTS_DIR);
        let rows = if is_mart {
            let name = parts.get(parts.len().saturating_sub(2)).copied().unwrap_or("mart");
            crate::marts::write_mart(name, &written, schema, batches)?
        } else {
            crate::write::write_parquet(&written, schema, batches)?
        };
        if remote {
            crate::store::move_into_place(&written, &path, crate::store::Existing::Refuse)
                .map_err(|e| WarehouseError::io("uploading", &path, e))?;
        }
        if let Some(parent) = path.parent() {
            layout::sync_dir(parent);
        }
        self.written.push(rel.to_string());
        Ok(rows)
    }

    /// Publishes the generation: writes its manifests into `_socle/generations/<id>/manifests/`,
    /// switches `_socle/CURRENT` to it (the commit point), then deletes the previous
    /// generation's files the new one does not list and the previous manifests folder. `stage`
    /// names the failpoint `<stage>:switch`, which fails just before the switch.
    pub fn commit(mut self, stage: &str) -> Result<(), WarehouseError> {
        let root = self.warehouse.root().to_path_buf();
        // Every file the new generation lists must be there before it becomes current.
        let new_files: HashSet<String> = self
            .manifests
            .values()
            .flat_map(Manifest::files)
            .chain(self.marts.iter().flat_map(MartsManifest::files))
            .cloned()
            .collect();
        for rel in &new_files {
            let path = layout::resolve(&root, rel);
            if !crate::store::is_file(&path) {
                return Err(WarehouseError::io(
                    "checking the new generation",
                    path,
                    std::io::ErrorKind::NotFound.into(),
                ));
            }
        }
        // The previous generation's files, read before the switch.
        let previous_dir = layout::generation_manifests_dir(&root, self.previous.as_deref());
        let old_files: Vec<String> = {
            let old = self.warehouse.manifests()?;
            let old_marts: Option<MartsManifest> =
                manifest::read_json(&previous_dir.join(format!("{}.json", layout::MARTS_MANIFEST)))?;
            old.iter()
                .flat_map(|m| m.files().cloned().collect::<Vec<_>>())
                .chain(old_marts.iter().flat_map(|m| m.files().cloned().collect::<Vec<_>>()))
                .collect()
        };
        self.commit_delta(stage, &new_files, &old_files)?;
        let new_dir = layout::generation_manifests_dir(&root, Some(&self.id));
        layout::remove_dir_all_if_exists(&new_dir)?;
        layout::create_dir_all(&new_dir)?;
        for (code, m) in &self.manifests {
            layout::check_code_css(code)?;
            manifest::write_json_atomic(&new_dir.join(format!("{code}.json")), m, &self.id)?;
        }
        if let Some(marts) = &self.marts {
            manifest::write_json_atomic(
                &new_dir.join(format!("{}.json", layout::MARTS_MANIFEST)),
                marts,
                &self.id,
            )?;
        }
        layout::sync_dir(&new_dir);
        if failpoint_fires(self.failpoint.as_deref(), stage, "switch") {
            tracing::warn!(failpoint = %format!("{stage}:switch"), "failpoint fired: new generation written, not switched");
            return Err(WarehouseError::Failpoint(format!("{stage}:switch")));
        }
        // Time travel must not keep what this generation removes (the previous key's student
        // keys, the school years past retention): every replaced file still in its retention
        // window goes, and all history is forgotten. Before the switch, so that no kill can
        // leave them readable; a failure from here on loses past states, never the current one.
        let retired = crate::retired::sweep_retained(&root, std::time::Duration::ZERO);
        crate::history::forget_all(&root, &self.id);
        tracing::info!(generation = %self.id, retired_files = retired, "time travel history forgotten");
        // (2) The switch.
        let pointer = root.join(SOCLE_DIR).join(layout::CURRENT_POINTER);
        manifest::write_bytes_atomic(&pointer, format!("{}\n", self.id).as_bytes(), &self.id)?;
        tracing::info!(generation = %self.id, stage, "generation switched");
        // (3) The previous generation.
        let mut deleted = 0usize;
        for rel in old_files.iter().filter(|f| !new_files.contains(*f)) {
            let Some(path) = crate::warehouse::owned_path(&root, rel) else {
                continue;
            };
            if let Err(e) = layout::remove_file_if_exists(&path) {
                tracing::warn!(error = %e, "could not delete a file of the previous generation");
                continue;
            }
            deleted += 1;
            if let (Some(parent), Some(zone)) = (path.parent(), rel.split('/').next()) {
                layout::prune_empty_parents(parent, &root.join(zone));
            }
        }
        remove_generation_folder(&root, self.previous.as_deref());
        // The new generation's history (the previous one's was forgotten before the switch).
        let manifests: Vec<Manifest> = self.manifests.values().cloned().collect();
        crate::history::record_current(&root, &manifests, self.marts.as_ref());
        tracing::info!(generation = %self.id, files = deleted, "previous generation deleted");
        Ok(())
    }
}

impl Generation {
    /// Commits every Delta table whose files differ between the previous generation
    /// (`old_files`) and this one (`new_files`), whole-table scope, and records the versions in
    /// the new manifests. Before the switch: a kill after it leaves versions no manifest records,
    /// which the next open brings back to the current manifests.
    fn commit_delta(
        &mut self,
        stage: &str,
        new_files: &HashSet<String>,
        old_files: &[String],
    ) -> Result<(), WarehouseError> {
        let new_tables = crate::delta::whole_tables(new_files);
        let old_tables = crate::delta::whole_tables(old_files);
        let syncs: Vec<crate::delta::TableSync> = new_tables
            .keys()
            .chain(old_tables.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|t| new_tables.get(*t) != old_tables.get(*t))
            .map(|t| crate::delta::TableSync {
                table: t.clone(),
                scope: crate::delta::Scope::All,
                files: new_tables.get(t).cloned().unwrap_or_default(),
            })
            .collect();
        let meta = crate::delta::CommitMetadata {
            run_id: self.id.clone(),
            owner: "_generation".to_string(),
            operation: if stage == "rekey" { "rekey" } else { "retention" },
        };
        let versions = crate::delta::commit_tables(self.warehouse.root(), syncs, &meta)?;
        let record = |delta: &mut BTreeMap<String, u64>, files: Vec<&String>| {
            for f in files {
                let table = crate::delta::table_of(f);
                if let Some(v) = versions.get(table) {
                    delta.insert(table.to_string(), *v);
                }
            }
            for (table, v) in &versions {
                if let Some(recorded) = delta.get_mut(table) {
                    *recorded = *v;
                }
            }
        };
        for m in self.manifests.values_mut() {
            let files: Vec<String> = m.files().cloned().collect();
            record(&mut m.delta, files.iter().collect());
        }
        if let Some(m) = self.marts.as_mut() {
            let files: Vec<String> = m.files().cloned().collect();
            record(&mut m.delta, files.iter().collect());
        }
        Ok(())
    }
}

/// Removes the manifests folder of a generation that is no longer current (and its
/// `_socle/generations/<id>` folder).
fn remove_generation_folder(root: &Path, generation: Option<&str>) {
    let dir: PathBuf = match generation {
        None => layout::generation_manifests_dir(root, None),
        Some(id) => root.join(SOCLE_DIR).join(layout::GENERATIONS_DIR).join(id),
    };
    if let Err(e) = layout::remove_dir_all_if_exists(&dir) {
        tracing::warn!(error = %e, "could not delete the previous generation's manifests");
    }
}

/// Deletes the generation folders that are not current (under the exclusive lock, from garbage
/// collection): a generation interrupted before its switch, or the previous one of a generation
/// killed after it. Also the temporary pointer of an interrupted switch.
pub(crate) fn collect_stale_generations(root: &Path) {
    let current = layout::current_generation(root);
    let generations = root.join(SOCLE_DIR).join(layout::GENERATIONS_DIR);
    if let Ok(entries) = crate::store::read_dir(&generations) {
        for entry in entries.into_iter().filter(|e| e.is_dir) {
            let name = entry.name;
            if Some(name.as_str()) != current.as_deref() {
                tracing::info!(generation = %name, "stale generation deleted");
                remove_generation_folder(root, Some(&name));
            }
        }
    }
    if current.is_some() {
        remove_generation_folder(root, None);
    }
    if let Ok(entries) = crate::store::read_dir(&root.join(SOCLE_DIR)) {
        for entry in entries {
            let name = entry.name;
            if name.starts_with(layout::CURRENT_POINTER) && name.contains(layout::TMP_MARKER) {
                let _ = layout::remove_file_if_exists(&entry.path);
            }
        }
    }
}

/// Reads a Parquet file whole (a rekeyed table's file: one CSS's partition).
pub(crate) fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, WarehouseError> {
    let mut batches = Vec::new();
    crate::marts::for_each_batch(path, |b| {
        batches.push(b);
        Ok(())
    })?;
    Ok(batches)
}
