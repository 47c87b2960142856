//! The marts stage's publication: each model's files are written to staging as soon as the model
//! is built (never held in memory until the end), then every mart and intermediate model is
//! published with one swap of `_socle/manifests/_marts.json`, the same protocol as a CSS
//! ([`crate::warehouse::publish`]).
//!
//! The transaction does not know what a model is: the marts stage (`socle-pipeline`) tells it
//! which files each mart and intermediate model is made of, some staged this night, some kept
//! from the previous build (the rows of a CSS that did not change, or the previous files of a
//! mart that failed). Files kept are neither moved nor deleted; the previous build's files that
//! the new manifest no longer lists are deleted after the swap.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::error::WarehouseError;
use crate::layout::{self, MARTS_MANIFEST};
use crate::manifest::{self, MartsManifest, TableFiles};
use crate::marts::{MartWriter, file_rows, file_schema, for_each_batch};
use crate::warehouse::{DeltaPublication, LockGuard, StagingGuard, Warehouse, now_rfc3339, publish};

/// The marts being built for one run; see the module. Dropped without commit, its staging folder
/// (and the spill files) are removed, and the previous marts stay whole.
#[derive(Debug)]
pub struct MartsTransaction {
    warehouse: Warehouse,
    run_id: String,
    previous: Option<MartsManifest>,
    marts: BTreeMap<String, TableFiles>,
    intermediates: BTreeMap<String, TableFiles>,
    /// Files written to staging (relative paths), whether or not the manifest ends up listing
    /// them (a failed model's files stay in staging and go with it). Behind a lock: the marts
    /// stage builds several CSS at once, each creating its files.
    staged: std::sync::Mutex<BTreeSet<String>>,
    /// Each file goes to its place in the warehouse as soon as it is finished (create-only),
    /// instead of staying in the local staging folder until the commit: see
    /// [`MartsTransaction::write_in_place`].
    in_place: bool,
    started: Instant,
    // Dropped in declaration order: staging first, then the lock.
    staging: StagingGuard,
    _lock: LockGuard,
}

impl Warehouse {
    /// Begins the marts' publication for `run_id`: files are written under
    /// `_socle/staging/<run_id>/_marts/` until [`MartsTransaction::commit`].
    pub fn begin_marts(&self, run_id: &str) -> Result<MartsTransaction, WarehouseError> {
        self.check_writable()?;
        layout::check_component("run id", run_id)?;
        let lock = LockGuard::shared(self.root())?;
        let previous = self.marts_manifest()?;
        if previous.as_ref().is_some_and(|p| p.run_id == run_id) {
            return Err(WarehouseError::RunIdReused {
                code_css: MARTS_MANIFEST.to_string(),
                run_id: run_id.to_string(),
            });
        }
        let staging = StagingGuard {
            dir: layout::staging_dir(self.root()).join(run_id).join(MARTS_MANIFEST),
        };
        layout::remove_dir_all_if_exists(&staging.dir)?;
        layout::create_dir_all(&staging.dir)?;
        Ok(MartsTransaction {
            warehouse: self.clone(),
            run_id: run_id.to_string(),
            previous,
            marts: BTreeMap::new(),
            intermediates: BTreeMap::new(),
            staged: std::sync::Mutex::new(BTreeSet::new()),
            in_place: false,
            started: Instant::now(),
            staging,
            _lock: lock,
        })
    }
}

impl MartsTransaction {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The marts manifest current when the transaction began.
    pub fn previous(&self) -> Option<&MartsManifest> {
        self.previous.as_ref()
    }

    /// The runtime of the marts stage's sessions: a memory pool of `memory_limit` bytes shared
    /// fairly by the operators that can spill (sorts, aggregations, which then spill to disk) and
    /// a disk manager writing under this transaction's staging folder (removed with it, and by
    /// the next open if the run is killed). An operator that cannot spill and needs more fails
    /// its query with `ResourcesExhausted` (naming the largest consumers): the model fails, the
    /// process is never killed for memory.
    pub fn runtime(&self, memory_limit: usize) -> Result<Arc<RuntimeEnv>, WarehouseError> {
        let spill = self.staging.dir.join("_spill");
        layout::create_dir_all(&spill)?;
        let top = std::num::NonZeroUsize::new(3).unwrap_or(std::num::NonZeroUsize::MIN);
        let pool = TrackConsumersPool::new(FairSpillPool::new(memory_limit), top);
        Ok(RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![spill])),
            )
            .build_arc()?)
    }

    /// For a marts stage whose queries run on other machines (a Ballista cluster) over a
    /// warehouse on an object store: the staging folder is on this machine only, so each file
    /// this transaction writes is uploaded to its place as soon as it is finished, where the
    /// executors read it. Nothing changes for readers: until the manifest's swap no manifest
    /// lists these files (a failed or killed run leaves orphans, deleted by the next open, as it
    /// does for files moved before a swap). No effect on a local warehouse (its staging folder
    /// is under the root, which every machine of a cluster mounts at the same path).
    pub fn write_in_place(&mut self) {
        self.in_place = crate::store::is_remote(self.warehouse.root());
    }

    /// Where file `rel` is now: in staging if this transaction wrote it there, else in the
    /// warehouse (written in place, or a file kept from the previous build).
    pub fn path(&self, rel: &str) -> PathBuf {
        if !self.in_place && self.is_staged(rel) {
            layout::resolve(&self.staging.dir, rel)
        } else {
            layout::resolve(self.warehouse.root(), rel)
        }
    }

    /// The files staged so far (a poisoned lock still holds a whole set: each change is one
    /// insert or remove).
    fn staged_files(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.staged.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_staged(&self, rel: &str) -> bool {
        self.staged_files().contains(rel)
    }

    /// Creates the staged file `rel` (a path of [`crate::mart_css_file`],
    /// [`crate::intermediate_file`]...) for rows of `schema`.
    pub fn create(&self, rel: &str, schema: SchemaRef) -> Result<MartWriter, WarehouseError> {
        if crate::warehouse::owned_path(self.warehouse.root(), rel).is_none() {
            return Err(WarehouseError::InvalidName {
                what: "mart file path",
                value: rel.to_string(),
            });
        }
        self.staged_files().insert(rel.to_string());
        let writer = MartWriter::create(&layout::resolve(&self.staging.dir, rel), schema)?;
        Ok(match self.in_place {
            true => writer.placed_at(layout::resolve(self.warehouse.root(), rel)),
            false => writer,
        })
    }

    /// Removes staged files (a model that failed after writing some).
    pub fn discard(&self, rels: &[String]) {
        for rel in rels {
            if self.staged_files().remove(rel) {
                let _ = layout::remove_file_if_exists(&layout::resolve(&self.staging.dir, rel));
                if self.in_place {
                    let _ = layout::remove_file_if_exists(&layout::resolve(self.warehouse.root(), rel));
                }
            }
        }
    }

    /// The rows of file `rel` (staged or kept), from its footer.
    pub fn rows(&self, rel: &str) -> Result<u64, WarehouseError> {
        file_rows(&self.path(rel))
    }

    /// Writes the staged file `rel` from the files `sources` (staged or kept, all of one
    /// schema), in order, each batch through `transform`, one row group per source: the shared
    /// zone's file of a mart, from each CSS's exact rows, small cells suppressed by `transform`.
    /// Returns the rows written.
    pub fn write_from(
        &mut self,
        rel: &str,
        sources: &[String],
        transform: impl Fn(&RecordBatch) -> Result<RecordBatch, datafusion::arrow::error::ArrowError>,
    ) -> Result<u64, WarehouseError> {
        let paths: Vec<PathBuf> = sources.iter().map(|s| self.path(s)).collect();
        let Some(first) = paths.first() else {
            return Err(WarehouseError::InvalidName {
                what: "mart without files",
                value: rel.to_string(),
            });
        };
        // The output schema: what `transform` makes of the sources' schema.
        let schema = transform(&RecordBatch::new_empty(file_schema(first)?))
            .map_err(|e| WarehouseError::arrow(rel, e))?
            .schema();
        let mut writer = self.create(rel, schema)?;
        for path in &paths {
            for_each_batch(path, |b| {
                let out = transform(&b).map_err(|e| WarehouseError::arrow(rel, e))?;
                writer.write(&out)
            })?;
            writer.end_row_group()?;
        }
        writer.finish()
    }

    /// Sets the files of mart `name` in the new manifest.
    pub fn set_mart(&mut self, name: &str, files: TableFiles) {
        self.marts.insert(name.to_string(), files);
    }

    /// Sets the files of intermediate model `name` in the new manifest.
    pub fn set_intermediate(&mut self, name: &str, files: TableFiles) {
        self.intermediates.insert(name.to_string(), files);
    }

    /// Publishes: moves the staged files the new manifest lists into place, swaps the marts
    /// manifest (the commit point; `css_runs`: the CSS runs the marts are built from; `failed`:
    /// the models that failed and kept their previous files), then deletes the previous files
    /// the new manifest does not list. Failpoints `staged|renamed|swapped:_marts` as before.
    pub fn commit(
        self,
        css_runs: BTreeMap<String, String>,
        failed: BTreeMap<String, String>,
        project_hash: Option<String>,
    ) -> Result<MartsManifest, WarehouseError> {
        let mut manifest = MartsManifest {
            run_id: self.run_id.clone(),
            published_at: now_rfc3339(),
            marts: self.marts.clone(),
            css_runs,
            intermediates: self.intermediates.clone(),
            failed,
            project_hash,
            delta: self.previous.as_ref().map(|p| p.delta.clone()).unwrap_or_default(),
        };
        let listed: HashSet<&String> = manifest.files().collect();
        let staged: Vec<String> = self
            .staged_files()
            .iter()
            .filter(|f| listed.contains(f))
            .cloned()
            .collect();
        let old: Vec<String> = self
            .previous
            .as_ref()
            .map(|p| p.files().filter(|f| !listed.contains(f)).cloned().collect())
            .unwrap_or_default();
        let root = self.warehouse.root();
        let delta = DeltaPublication {
            owner: None,
            listed: manifest.files().cloned().collect(),
            meta: crate::delta::CommitMetadata {
                run_id: self.run_id.clone(),
                owner: MARTS_MANIFEST.to_string(),
                operation: "marts",
            },
        };
        publish(
            root,
            (!self.in_place).then_some(self.staging.dir.as_path()),
            &staged,
            &[],
            (self.warehouse.failpoint(), MARTS_MANIFEST),
            delta,
            |versions| {
                manifest.delta.extend(versions);
                manifest::write_json_atomic(&layout::marts_manifest_path(root), &manifest, &self.run_id)
            },
            (&old, self.warehouse.replaced_grace()),
        )?;
        tracing::info!(
            run_id = %self.run_id,
            marts = manifest.marts.len(),
            intermediates = manifest.intermediates.len(),
            files_written = staged.len(),
            failed = manifest.failed.len(),
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "marts published"
        );
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn batch(code: &str) -> Result<RecordBatch, Box<dyn std::error::Error>> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code_css", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![code, code])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )?)
    }

    #[test]
    fn intermediate_files_are_owned_by_the_marts_manifest_and_orphans_collected()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let wh = Warehouse::open(dir.path())?;
        let mut tx = wh.begin_marts("r1")?;
        let rel = crate::intermediate_file("inscrits", None, Some("866000"), "r1");
        let b = batch("866000")?;
        let mut w = tx.create(&rel, b.schema())?;
        w.write(&b)?;
        assert_eq!(w.finish()?, 2);
        // A failed model's staged file is discarded, never published.
        let failed = crate::intermediate_file("autre", None, Some("866000"), "r1");
        tx.create(&failed, b.schema())?.finish()?;
        tx.discard(std::slice::from_ref(&failed));
        tx.set_intermediate(
            "inscrits",
            TableFiles {
                rows: 2,
                shared_files: vec![rel.clone()],
                ..Default::default()
            },
        );
        let m = tx.commit(BTreeMap::new(), BTreeMap::new(), Some("h".into()))?;
        assert_eq!(m.files().collect::<Vec<_>>(), vec![&rel]);
        assert!(dir.path().join(&rel).exists());
        assert!(!dir.path().join(&failed).exists());
        // A stray file under _socle/intermediate is an orphan; the listed one stays.
        let stray = dir
            .path()
            .join("_socle/intermediate/shared/inscrits/code_css=881000/r0.parquet");
        std::fs::create_dir_all(stray.parent().ok_or("parent")?)?;
        std::fs::write(&stray, b"x")?;
        let wh = Warehouse::open(dir.path())?;
        assert!(!stray.exists());
        assert!(dir.path().join(&rel).exists());
        // The next build that no longer lists it deletes it at commit.
        let tx = wh.begin_marts("r2")?;
        tx.commit(BTreeMap::new(), BTreeMap::new(), None)?;
        assert!(!dir.path().join(&rel).exists());
        Ok(())
    }
}
