//! The warehouse: opening (with garbage collection), manifests, marts publication and the
//! commit protocol shared by CSS transactions and marts.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use crate::error::WarehouseError;
use crate::layout::{self, CSS_DIR, MARTS_DIR, MARTS_MANIFEST, TMP_MARKER};
use crate::manifest::{self, Manifest, MartsManifest, TableFiles};
use crate::marts;
use crate::transaction::CssTransaction;
use crate::write;
use rayon::prelude::*;

pub use crate::failpoint::{FAILPOINT_ENV, failpoint_from_env};
// Kept in scope for the modules that test a failpoint without firing it.
use crate::failpoint;
#[allow(unused_imports)]
pub(crate) use crate::failpoint::failpoint_fires;

/// A new run id: UTC time then 8 hex characters from the time, the process id and a counter,
/// e.g. `20251120T031500Z-0a1b2c3d`. Run ids sort by time.
pub fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now();
    let mut hasher = Sha256::new();
    hasher.update(
        now.timestamp_nanos_opt()
            .unwrap_or_else(|| now.timestamp())
            .to_le_bytes(),
    );
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hasher.finalize();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), hex::encode(&digest[..4]))
}

/// Now, RFC 3339 UTC to the second.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A lock on `_socle/lock`, released when dropped. Writers (transactions, marts publication)
/// hold it shared; garbage collection needs it exclusive and skips when it cannot get it, so a
/// run in progress in another process never loses its staged files.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: Option<fs::File>,
}

impl LockGuard {
    fn open_file(root: &Path) -> Result<fs::File, WarehouseError> {
        let path = layout::lock_path(root);
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| WarehouseError::io("opening lock", &path, e))
    }

    /// A shared lock (blocks while garbage collection runs).
    pub(crate) fn shared(root: &Path) -> Result<Self, WarehouseError> {
        let file = Self::open_file(root)?;
        if let Err(e) = file.lock_shared() {
            tracing::warn!(error = %e, "file locking unavailable; concurrent runs are not protected");
        }
        Ok(LockGuard { _file: Some(file) })
    }

    /// An exclusive lock if free right now; `None` if another writer holds the lock.
    pub(crate) fn try_exclusive(root: &Path) -> Result<Option<Self>, WarehouseError> {
        let file = Self::open_file(root)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockGuard { _file: Some(file) })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                tracing::warn!(error = %e, "file locking unavailable; concurrent runs are not protected");
                Ok(Some(LockGuard { _file: Some(file) }))
            }
        }
    }
}

/// Removes a staging folder (`_socle/staging/<run_id>/<owner>`) when dropped, and the run's
/// staging folder if it is then empty.
#[derive(Debug)]
pub(crate) struct StagingGuard {
    pub(crate) dir: PathBuf,
}

impl Drop for StagingGuard {
    fn drop(&mut self) {
        if let Err(e) = layout::remove_dir_all_if_exists(&self.dir) {
            tracing::warn!(error = %e, "could not remove the staging folder");
        }
        if let Some(run_dir) = self.dir.parent() {
            let _ = fs::remove_dir(run_dir);
        }
    }
}

/// A Parquet warehouse on a local file system. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
    failpoint: Option<String>,
    /// How long replaced files outlive the publication that replaced them.
    grace: Duration,
    /// A past state this handle reads instead of the current one (`--as-of`): see
    /// [`Warehouse::at`].
    pinned: Option<std::sync::Arc<crate::history::Snapshot>>,
}

impl Warehouse {
    /// Opens the warehouse at `root` for reading: refuses, saying what to run first, a folder
    /// that no `socle run` has made a warehouse yet (rather than creating an empty one).
    pub fn open_existing(root: impl AsRef<Path>) -> Result<Self, WarehouseError> {
        let given = root.as_ref();
        let root = match crate::store::is_remote_location(given) {
            true => crate::store::connect(given)?,
            false => given.to_path_buf(),
        };
        if !layout::is_warehouse(&root) {
            return Err(WarehouseError::NotAWarehouse(given.to_path_buf()));
        }
        Self::open(given)
    }

    /// Opens (creating if needed) the warehouse at `root`, then collects garbage: deletes the
    /// files of the data zones (`css/`, `shared/`, `marts/`) that no current manifest lists
    /// (left by a run that failed or was killed before its commit point), stale staging folders
    /// and temporary manifest files. Garbage collection is skipped while another process holds
    /// a transaction open on the same warehouse.
    ///
    /// Reads the test failpoint from [`FAILPOINT_ENV`] once.
    ///
    /// `root` may also be the URL of a warehouse on an object store (`s3://bucket/prefix`, see
    /// the `store` module): its root is then a local work folder, and its garbage collection
    /// runs when a writer takes the run lock (the lease), never at a reader's open.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, WarehouseError> {
        let given = root.as_ref();
        let remote = crate::store::is_remote_location(given);
        let work_dir = match remote {
            true => Some(crate::store::connect(given)?),
            false => None,
        };
        let root = work_dir.as_deref().unwrap_or(given);
        layout::create_dir_all(root)?;
        let root = fs::canonicalize(root).map_err(|e| WarehouseError::io("resolving", root, e))?;
        // The Delta states an earlier handle of this process kept are not trusted past an open:
        // what happened to the folder in between is unknown (kept states are for the commits of
        // one run, see `delta`).
        crate::delta::forget_under(&root);
        for dir in layout::DATA_DIRS {
            layout::create_dir_all(&root.join(dir))?;
        }
        layout::create_dir_all(&layout::manifests_dir(&root))?;
        layout::create_dir_all(&layout::staging_dir(&root))?;
        layout::create_dir_all(&layout::runs_dir(&root))?;
        let warehouse = Warehouse {
            root,
            failpoint: failpoint_from_env(),
            grace: Duration::ZERO,
            pinned: None,
        };
        if !remote {
            warehouse.collect_garbage()?;
        }
        Ok(warehouse)
    }

    /// The warehouse root (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Sets (or clears) the test failpoint for the transactions begun from now on and for
    /// [`Warehouse::publish_marts`]; see [`FAILPOINT_ENV`].
    pub fn set_failpoint(&mut self, failpoint: Option<&str>) {
        self.failpoint = failpoint.map(str::to_string);
    }

    /// Keeps the files a publication replaces for `grace` before deleting them, so that a query
    /// planned on the previous state (the server, a long `socle query`) can finish; zero (the
    /// default) deletes them at once. See the `retired` module.
    pub fn set_replaced_grace(&mut self, grace: Duration) {
        self.grace = grace;
    }

    /// See [`Warehouse::set_replaced_grace`].
    pub fn replaced_grace(&self) -> Duration {
        self.grace
    }

    /// The test failpoint in force, if any.
    pub(crate) fn failpoint(&self) -> Option<&str> {
        self.failpoint.as_deref()
    }

    /// This warehouse as it was at `as_of` (a night's run id, a date or a date-time; see the
    /// `history` module): a handle whose every read sees that past state and whose every write
    /// is refused. Refused if the history holds no such state or if a vacuum deleted any of
    /// its files.
    pub fn at(&self, as_of: &str) -> Result<Warehouse, WarehouseError> {
        let current = self.current_manifests()?;
        let marts = self.current_marts_manifest()?;
        let snapshot = crate::history::snapshot(&self.root, as_of, (&current, marts.as_ref()))?;
        tracing::info!(
            as_of,
            css = snapshot.manifests.len(),
            marts = snapshot.marts.as_ref().map(|m| m.run_id.as_str()).unwrap_or("-"),
            "warehouse pinned to a past state"
        );
        Ok(Warehouse {
            pinned: Some(std::sync::Arc::new(snapshot)),
            ..self.clone()
        })
    }

    /// The past state this handle is pinned to (`--as-of`), if any.
    pub fn as_of(&self) -> Option<&str> {
        self.pinned.as_ref().map(|s| s.as_of.as_str())
    }

    /// The publications time travel can read ([`Warehouse::at`]), oldest first.
    pub fn history(&self) -> Result<Vec<crate::history::HistoryEntry>, WarehouseError> {
        crate::history::list(&self.root)
    }

    /// Refuses a write through a handle pinned to a past state.
    pub(crate) fn check_writable(&self) -> Result<(), WarehouseError> {
        match self.as_of() {
            Some(as_of) => Err(WarehouseError::PinnedReadOnly(as_of.to_string())),
            None => Ok(()),
        }
    }

    /// Begins the publication of one CSS: files are written under
    /// `_socle/staging/<run_id>/<code_css>/` until [`CssTransaction::commit`].
    pub fn begin_css(&self, code_css: &str, run_id: &str) -> Result<CssTransaction, WarehouseError> {
        self.check_writable()?;
        layout::check_code_css(code_css)?;
        layout::check_component("run id", run_id)?;
        let lock = LockGuard::shared(&self.root)?;
        if let Some(current) = self.manifest(code_css)?
            && current.run_id == run_id
        {
            return Err(WarehouseError::RunIdReused {
                code_css: code_css.to_string(),
                run_id: run_id.to_string(),
            });
        }
        let staging = layout::staging_dir(&self.root).join(run_id).join(code_css);
        // A folder left by an earlier attempt of the same run is stale.
        layout::remove_dir_all_if_exists(&staging)?;
        layout::create_dir_all(&staging)?;
        tracing::debug!(code_css, run_id, "transaction begun");
        Ok(CssTransaction::new(
            self.clone(),
            code_css.to_string(),
            run_id.to_string(),
            StagingGuard { dir: staging },
            lock,
            self.failpoint.clone(),
        ))
    }

    /// The current manifest of a CSS, `None` if it was never published.
    pub fn manifest(&self, code_css: &str) -> Result<Option<Manifest>, WarehouseError> {
        layout::check_code_css(code_css)?;
        if let Some(pinned) = &self.pinned {
            return Ok(pinned.manifests.iter().find(|m| m.code_css == code_css).cloned());
        }
        manifest::read_manifest(&layout::manifest_path(&self.root, code_css))
    }

    /// The current manifest of every CSS, sorted by CSS code, all of one generation (a read
    /// that races a generation switch reads again); through a pinned handle, those of its past
    /// state.
    pub fn manifests(&self) -> Result<Vec<Manifest>, WarehouseError> {
        match &self.pinned {
            Some(pinned) => Ok(pinned.manifests.clone()),
            None => self.current_manifests(),
        }
    }

    /// The current manifests, whatever the handle is pinned to.
    pub(crate) fn current_manifests(&self) -> Result<Vec<Manifest>, WarehouseError> {
        let mut attempts = 0;
        loop {
            let dir = layout::manifests_dir(&self.root);
            match self.manifests_in(&dir)? {
                Some(manifests) => return Ok(manifests),
                None if attempts < 3 => attempts += 1,
                None => {
                    return Err(WarehouseError::io(
                        "reading manifests",
                        &dir,
                        std::io::ErrorKind::NotFound.into(),
                    ));
                }
            }
        }
    }

    /// The manifests of the folder `dir`; `None` if one vanished while reading (the folder of a
    /// generation that was just replaced).
    fn manifests_in(&self, dir: &Path) -> Result<Option<Vec<Manifest>>, WarehouseError> {
        let dir = dir.to_path_buf();
        let entries = match crate::store::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Generation 0 before the first run has no folder; any other generation does.
                return Ok((layout::manifests_dir(&self.root) == dir).then(Vec::new));
            }
            Err(e) => return Err(WarehouseError::io("listing", &dir, e)),
        };
        let mut codes = Vec::new();
        for entry in entries.iter().filter(|e| !e.is_dir) {
            if let Some(code) = entry.name.strip_suffix(".json")
                && layout::check_code_css(code).is_ok()
            {
                codes.push(code.to_string());
            }
        }
        codes.sort();
        let mut manifests = Vec::with_capacity(codes.len());
        for code in codes {
            match manifest::read_manifest(&dir.join(format!("{code}.json")))? {
                Some(m) => manifests.push(m),
                None => return Ok(None),
            }
        }
        Ok(Some(manifests))
    }

    /// The current marts manifest, `None` if marts were never published.
    pub fn marts_manifest(&self) -> Result<Option<MartsManifest>, WarehouseError> {
        match &self.pinned {
            Some(pinned) => Ok(pinned.marts.clone()),
            None => self.current_marts_manifest(),
        }
    }

    /// The current marts manifest, whatever the handle is pinned to.
    pub(crate) fn current_marts_manifest(&self) -> Result<Option<MartsManifest>, WarehouseError> {
        manifest::read_json(&layout::marts_manifest_path(&self.root))
    }

    /// A stamp that changes whenever anything is published: a CSS's night or the marts (each a
    /// manifest swapped into the manifests folder, which changes the folder's modification
    /// time), or a switch of generation (rekey, retention: another manifests folder). Two
    /// metadata reads: cheap enough for a server to call on every request and rebuild its
    /// sessions only when it changes.
    pub fn publication_stamp(&self) -> Result<String, WarehouseError> {
        if let Some(as_of) = self.as_of() {
            // A past state never changes.
            return Ok(format!("as-of:{as_of}"));
        }
        let dir = layout::manifests_dir(&self.root);
        if crate::store::is_remote(&dir) {
            // No folder dates on an object store: the manifests' ETags say whether one changed.
            let stamp = crate::store::fingerprint(&dir).map_err(|e| WarehouseError::io("listing", &dir, e))?;
            return Ok(format!("{}@{stamp}", dir.display()));
        }
        let modified = match fs::metadata(&dir) {
            Ok(m) => m
                .modified()
                .map_err(|e| WarehouseError::io("reading the date of", &dir, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("vide".to_string()),
            Err(e) => return Err(WarehouseError::io("reading the date of", &dir, e)),
        };
        let nanos = modified
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(format!("{}@{nanos}", dir.display()))
    }

    /// The key fingerprint the CSS other than `except_css` were published with, with one of those
    /// CSS; `None` if there are none. Lets a caller refuse a mismatching key before loading.
    pub fn key_fingerprint(&self, except_css: Option<&str>) -> Result<Option<(String, String)>, WarehouseError> {
        Ok(self
            .manifests()?
            .into_iter()
            .find(|m| Some(m.code_css.as_str()) != except_css)
            .map(|m| (m.code_css, m.key_fingerprint)))
    }

    /// Refuses `fingerprint` for `code_css` if another CSS of the warehouse has another one.
    pub(crate) fn check_key_fingerprint(&self, code_css: &str, fingerprint: &str) -> Result<(), WarehouseError> {
        for m in self.manifests()? {
            // After a key rotation, the warehouse's key is that one, even for its only CSS.
            if (m.code_css != code_css || m.rekeyed.is_some()) && m.key_fingerprint != fingerprint {
                return Err(WarehouseError::KeyMismatch {
                    code_css: code_css.to_string(),
                    fingerprint: fingerprint.to_string(),
                    other_css: m.code_css,
                    other_fingerprint: m.key_fingerprint,
                });
            }
        }
        Ok(())
    }

    /// Publishes the marts, replacing all the previous ones at once, with the same protocol as
    /// a CSS: staged files, moved into place, then `_socle/manifests/_marts.json` swapped, then
    /// the previous marts' files deleted.
    ///
    /// Each [`MartOutput`] gives up to two sets of rows:
    /// - `shared`: written to `marts/<name>/<run_id>.parquet` (the shared zone), grouped by CSS,
    ///   one row group per CSS, so a read of one CSS skips the others' rows (see `marts.rs`);
    /// - `css`: split by `code_css`, each CSS's rows written to
    ///   `css/<code>/marts/<name>/<run_id>.parquet` (its own zone), for every CSS of `css_codes`
    ///   (an empty file with the schema when it has no rows, so every zone can query every mart).
    ///
    /// A mart with no rows is written as an empty file with its schema.
    ///
    /// The marts manifest records the current run id of each CSS of `css_codes` as what the
    /// marts were built from; [`Warehouse::publish_marts_from`] takes them from the caller.
    pub fn publish_marts(
        &self,
        run_id: &str,
        marts: Vec<MartOutput>,
        css_codes: &[String],
    ) -> Result<MartsManifest, WarehouseError> {
        let mut built_from = BTreeMap::new();
        for code in css_codes {
            let run = self.manifest(code)?.map(|m| m.run_id).unwrap_or_default();
            built_from.insert(code.clone(), run);
        }
        self.publish_marts_from(run_id, marts, &built_from)
    }

    /// [`Warehouse::publish_marts`] for the CSS of `built_from` (CSS code -> the run id of the
    /// CSS manifest the marts were computed from, read before computing them), recorded in the
    /// marts manifest so [`Warehouse::marts_state`] can tell whether the marts are current.
    pub fn publish_marts_from(
        &self,
        run_id: &str,
        marts: Vec<MartOutput>,
        built_from: &BTreeMap<String, String>,
    ) -> Result<MartsManifest, WarehouseError> {
        let started = Instant::now();
        let css_codes: Vec<String> = built_from.keys().cloned().collect();
        let css_codes = css_codes.as_slice();
        layout::check_component("run id", run_id)?;
        for code in css_codes {
            layout::check_code_css(code)?;
        }
        self.check_writable()?;
        let _lock = LockGuard::shared(&self.root)?;
        let previous = self.marts_manifest()?;
        if previous.as_ref().is_some_and(|p| p.run_id == run_id) {
            return Err(WarehouseError::RunIdReused {
                code_css: MARTS_MANIFEST.to_string(),
                run_id: run_id.to_string(),
            });
        }
        let staging = StagingGuard {
            dir: layout::staging_dir(&self.root).join(run_id).join(MARTS_MANIFEST),
        };
        layout::remove_dir_all_if_exists(&staging.dir)?;
        layout::create_dir_all(&staging.dir)?;

        let mut manifest = MartsManifest {
            run_id: run_id.to_string(),
            published_at: String::new(),
            marts: BTreeMap::new(),
            css_runs: built_from.clone(),
            intermediates: BTreeMap::new(),
            failed: BTreeMap::new(),
            project_hash: None,
            delta: previous.as_ref().map(|p| p.delta.clone()).unwrap_or_default(),
        };
        // Every file to write: (relative path, mart, schema, rows).
        let mut jobs: Vec<(String, &str, SchemaRef, Vec<RecordBatch>)> = Vec::new();
        for m in &marts {
            layout::check_component("mart name", &m.name)?;
            if manifest.marts.contains_key(&m.name) {
                return Err(WarehouseError::AlreadyWritten { table: m.name.clone() });
            }
            let mut files = TableFiles::default();
            if let Some(shared) = &m.shared {
                let schema = checked_schema(&m.name, &m.schema, shared)?;
                let rel = format!("{MARTS_DIR}/{}/{run_id}.parquet", m.name);
                files.shared_files.push(rel.clone());
                jobs.push((rel, &m.name, schema, shared.clone()));
            }
            let schema = checked_schema(&m.name, &m.schema, &m.css)?;
            if schema.index_of(layout::CSS_COLUMN).is_err() {
                // A provincial mart (no `code_css`): nothing for the CSS zones.
                if m.css.iter().any(|b| b.num_rows() > 0) {
                    return Err(WarehouseError::MartWithoutCss { mart: m.name.clone() });
                }
                manifest.marts.insert(m.name.clone(), files);
                continue;
            }
            let mut by_css: BTreeMap<String, Vec<RecordBatch>> = marts::split_by_css(&m.name, &schema, &m.css)?;
            for (code, _) in by_css.iter() {
                if !css_codes.contains(code) {
                    return Err(WarehouseError::MartCss {
                        mart: m.name.clone(),
                        code_css: code.clone(),
                    });
                }
            }
            for code in css_codes {
                let rows = by_css.remove(code).unwrap_or_default();
                files.rows += rows.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                let rel = format!("{CSS_DIR}/{code}/{MARTS_DIR}/{}/{run_id}.parquet", m.name);
                files.css_files.push(rel.clone());
                jobs.push((rel, &m.name, schema.clone(), rows));
            }
            manifest.marts.insert(m.name.clone(), files);
        }
        // Encoding and syncing the files in parallel: a night has about one file per mart and CSS.
        let written: Vec<Result<u64, WarehouseError>> = jobs
            .par_iter()
            .map(|(rel, name, schema, batches)| {
                marts::write_mart(name, &layout::resolve(&staging.dir, rel), schema.clone(), batches)
            })
            .collect();
        for w in written {
            w?;
        }
        let staged: Vec<String> = jobs.into_iter().map(|(rel, ..)| rel).collect();

        manifest.published_at = now_rfc3339();
        let old: Vec<String> = previous
            .as_ref()
            .map(|p| p.files().cloned().collect())
            .unwrap_or_default();
        let delta = DeltaPublication {
            owner: None,
            listed: manifest.files().cloned().collect(),
            meta: crate::delta::CommitMetadata {
                run_id: run_id.to_string(),
                owner: MARTS_MANIFEST.to_string(),
                operation: "marts",
            },
        };
        publish(
            &self.root,
            Some(&staging.dir),
            &staged,
            &[],
            (self.failpoint.as_deref(), MARTS_MANIFEST),
            delta,
            |versions| {
                manifest.delta.extend(versions);
                manifest::write_json_atomic(&layout::marts_manifest_path(&self.root), &manifest, run_id)
            },
            (&old, self.grace),
        )?;
        tracing::info!(
            run_id,
            marts = manifest.marts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "marts published"
        );
        Ok(manifest)
    }

    /// Deletes orphan data files, stale staging folders and temporary manifests, unless another
    /// writer holds the warehouse lock.
    pub(crate) fn collect_garbage(&self) -> Result<(), WarehouseError> {
        let Some(_lock) = LockGuard::try_exclusive(&self.root)? else {
            tracing::info!("a run is in progress on this warehouse: garbage collection skipped");
            return Ok(());
        };
        let mut keep: HashSet<PathBuf> = HashSet::new();
        let manifests = self.current_manifests()?;
        let marts_manifest = self.current_marts_manifest()?;
        for m in &manifests {
            keep.extend(m.files().map(|f| layout::resolve(&self.root, f)));
        }
        if let Some(m) = &marts_manifest {
            keep.extend(m.files().map(|f| layout::resolve(&self.root, f)));
        }
        // Replaced files past their grace go; those still in it are not orphans.
        crate::retired::sweep(&self.root);
        keep.extend(crate::retired::protected(&self.root));
        let mut orphans = Vec::new();
        for zone in layout::DATA_DIRS {
            find_orphans(&self.root.join(zone), &keep, &mut orphans)?;
        }
        // Intermediate models: owned by the marts manifest like the marts.
        let intermediate = layout::resolve(&self.root, layout::INTERMEDIATE_DIR);
        find_orphans(&intermediate, &keep, &mut orphans)?;
        // Before an orphan goes, no Delta log may still list it.
        self.repair_delta(&manifests, marts_manifest.as_ref(), &orphans)?;
        // The history entries a kill between a swap and its copy left out.
        crate::history::record_current(&self.root, &manifests, marts_manifest.as_ref());
        let deleted = orphans.len();
        for (i, path) in orphans.iter().enumerate() {
            if i == deleted / 2 {
                // A crash in the middle of the cleanup: what is left is still orphans.
                failpoint::hit(self.failpoint.as_deref(), "gc", "*")?;
            }
            tracing::debug!(path = %path.display(), "deleting orphan file");
            layout::remove_file_if_exists(path)?;
        }
        for zone in layout::DATA_DIRS {
            remove_empty_dirs(&self.root.join(zone))?;
        }
        remove_empty_dirs(&intermediate)?;
        // Stale staging: every run folder (no transaction is open, we hold the lock).
        let staging = layout::staging_dir(&self.root);
        if let Ok(entries) = fs::read_dir(&staging) {
            for entry in entries.flatten() {
                let path = entry.path();
                let result = if path.is_dir() {
                    layout::remove_dir_all_if_exists(&path)
                } else {
                    layout::remove_file_if_exists(&path)
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "could not remove stale staging");
                }
            }
        }
        // Generations that are not current: an interrupted `rekey` or `retention` (before its
        // switch) or the previous generation of one killed after its switch.
        crate::generation::collect_stale_generations(&self.root);
        // Temporary manifests of an interrupted swap.
        let manifests = layout::manifests_dir(&self.root);
        if let Ok(entries) = crate::store::read_dir(&manifests) {
            for entry in entries {
                if entry.name.contains(TMP_MARKER) {
                    layout::remove_file_if_exists(&entry.path)?;
                }
            }
        }
        if deleted > 0 {
            tracing::info!(files = deleted, "orphan files deleted");
        }
        Ok(())
    }
}

impl Warehouse {
    /// Brings back to the manifests every Delta table a publication killed between its Delta
    /// commits and its manifest swap left ahead of them: the tables holding orphan files, those
    /// whose latest version is not the highest any manifest records, and those with files but no
    /// log yet (a warehouse written before the tables were Delta tables gets its logs here).
    /// Under the exclusive lock: no publication is in progress.
    pub(crate) fn repair_delta(
        &self,
        manifests: &[Manifest],
        marts: Option<&MartsManifest>,
        orphans: &[PathBuf],
    ) -> Result<(), WarehouseError> {
        let listed = crate::delta::whole_tables(
            manifests
                .iter()
                .flat_map(Manifest::files)
                .chain(marts.into_iter().flat_map(MartsManifest::files)),
        );
        let mut recorded: BTreeMap<&str, u64> = BTreeMap::new();
        for delta in manifests.iter().map(|m| &m.delta).chain(marts.map(|m| &m.delta)) {
            for (table, v) in delta {
                let highest = recorded.entry(table.as_str()).or_insert(*v);
                *highest = (*highest).max(*v);
            }
        }
        let orphan_tables: std::collections::BTreeSet<String> = orphans
            .iter()
            .filter_map(|p| p.strip_prefix(&self.root).ok())
            .filter_map(|p| p.to_str())
            .map(|rel| crate::delta::table_of(rel).to_string())
            .collect();
        let candidates: std::collections::BTreeSet<&str> = listed
            .keys()
            .map(String::as_str)
            .chain(recorded.keys().copied())
            .chain(orphan_tables.iter().map(String::as_str))
            .collect();
        let mut syncs = Vec::new();
        for table in candidates {
            let files = listed.get(table).cloned().unwrap_or_default();
            let stale = match (crate::delta::latest_version(&self.root, table), recorded.get(table)) {
                (None, _) => !files.is_empty(),
                (Some(latest), Some(v)) => latest != *v || orphan_tables.contains(table),
                (Some(_), None) => true,
            };
            if stale {
                syncs.push(crate::delta::TableSync {
                    table: table.to_string(),
                    scope: crate::delta::Scope::All,
                    files,
                });
            }
        }
        if syncs.is_empty() {
            return Ok(());
        }
        tracing::info!(tables = syncs.len(), "Delta tables brought back to the manifests");
        let meta = crate::delta::CommitMetadata {
            run_id: new_run_id(),
            owner: "_socle".to_string(),
            operation: "reprise",
        };
        crate::delta::commit_tables(&self.root, syncs, &meta)?;
        Ok(())
    }
}

/// Adds to `orphans` the files under `dir` not in `keep` (one listing on an object store).
fn find_orphans(dir: &Path, keep: &HashSet<PathBuf>, orphans: &mut Vec<PathBuf>) -> Result<(), WarehouseError> {
    let files = crate::store::walk_files(dir).map_err(|e| WarehouseError::io("listing", dir, e))?;
    for path in files {
        // A table's transaction log is not data: it is kept equal to the manifests instead.
        let in_log = path
            .strip_prefix(dir)
            .is_ok_and(|rel| rel.components().any(|c| c.as_os_str() == crate::delta::LOG_DIR));
        if !in_log && !keep.contains(&path) {
            orphans.push(path);
        }
    }
    Ok(())
}

/// Removes the folders under `dir` left empty (not `dir` itself). Object stores have none.
fn remove_empty_dirs(dir: &Path) -> Result<(), WarehouseError> {
    if crate::store::is_remote(dir) {
        return Ok(());
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WarehouseError::io("listing", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| WarehouseError::io("listing", dir, e))?;
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_dirs(&path)?;
            // Fails (and is kept) when not empty.
            let _ = fs::remove_dir(&path);
        }
    }
    Ok(())
}

/// The absolute path of a manifest-listed file, if it is a well-formed path inside a data zone
/// (a damaged manifest must not make the warehouse delete anything else).
pub(crate) fn owned_path(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut parts = rel.split('/');
    let zone = parts.next()?;
    let intermediate = rel
        .strip_prefix(layout::INTERMEDIATE_DIR)
        .is_some_and(|r| r.starts_with('/'));
    if !layout::DATA_DIRS.contains(&zone) && !intermediate {
        return None;
    }
    if !rel
        .split('/')
        .skip(1)
        .all(|p| layout::is_component(p) || (p.contains('=') && layout::is_component(&p.replace('=', "_"))))
    {
        return None;
    }
    Some(layout::resolve(root, rel))
}

/// One mart to publish: its rows for the shared zone (if it may go there) and its exact rows for
/// the CSS zones (each CSS gets the rows of its `code_css`).
#[derive(Debug, Clone)]
pub struct MartOutput {
    pub name: String,
    pub schema: SchemaRef,
    pub shared: Option<Vec<RecordBatch>>,
    pub css: Vec<RecordBatch>,
}

/// The schema of `batches` when they agree with `schema` (names and types), else an error.
fn checked_schema(name: &str, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<SchemaRef, WarehouseError> {
    match write::common_schema(name, batches)? {
        None => Ok(schema.clone()),
        Some(actual) => {
            let same = actual.fields().len() == schema.fields().len()
                && actual
                    .fields()
                    .iter()
                    .zip(schema.fields().iter())
                    .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
            if same {
                Ok(actual)
            } else {
                Err(WarehouseError::SchemaMismatch {
                    table: name.to_string(),
                })
            }
        }
    }
}

/// What a publication tells the Delta logs: whose it is (a CSS code, whose shared partitions are
/// its scope; `None` for the marts, which own their tables whole), every file of the new
/// manifest, and the commit's metadata.
pub(crate) struct DeltaPublication<'a> {
    pub(crate) owner: Option<&'a str>,
    pub(crate) listed: Vec<String>,
    pub(crate) meta: crate::delta::CommitMetadata,
}

/// The commit protocol: (1) move each staged file (`staged`, relative to the root and to the
/// staging folder; no staging folder: the transaction wrote them in place already, create-only)
/// to its final place, refusing to overwrite (`replaceable` files may be
/// overwritten: reports); (2) `write_manifest` (an atomic swap: the commit point); (3) delete
/// the previous manifest's files that the new one does not list, at once or after `grace` (see
/// the `retired` module). The failpoint (spec, code)
/// fires at each step: `staged` before (1), `renamed` between (1) and (2), `swapped` between (2)
/// and (3) (see the `failpoint` module). Between (1) and (2), each table the publication changes
/// gets its Delta commit (`delta`); their versions go to `write_manifest`. The failpoint `delta`
/// fires after those commits, before the swap.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    root: &Path,
    staging: Option<&Path>,
    staged: &[String],
    replaceable: &[String],
    (failpoint, code): (Option<&str>, &str),
    delta: DeltaPublication<'_>,
    write_manifest: impl FnOnce(BTreeMap<String, u64>) -> Result<(), WarehouseError>,
    (old_files, grace): (&[String], Duration),
) -> Result<(), WarehouseError> {
    failpoint::hit(failpoint, "staged", code)?;
    // (1) Move. Check first that nothing published would be overwritten (on an object store,
    // each upload is create-only instead: the check and the write in one request).
    let remote = crate::store::is_remote(root);
    // Without a staging folder nothing moves (files written in place have no report to replace).
    let (to_move, replaceable): (&[String], &[String]) = match staging {
        Some(_) => (staged, replaceable),
        None => (&[], &[]),
    };
    if !remote
        && let Some(target) = to_move
            .par_iter()
            .map(|rel| layout::resolve(root, rel))
            .find_any(|target| crate::store::exists(target))
    {
        return Err(WarehouseError::FileExists { path: target });
    }
    let mut dirs = HashSet::new();
    for rel in to_move.iter().chain(replaceable) {
        if let Some(parent) = layout::resolve(root, rel).parent()
            && dirs.insert(parent.to_path_buf())
        {
            layout::create_dir_all(parent)?;
        }
    }
    // Renames locally; uploads on an object store, several at once.
    let moves = to_move
        .par_iter()
        .map(|rel| (rel, crate::store::Existing::Refuse))
        .chain(replaceable.par_iter().map(|rel| (rel, crate::store::Existing::Replace)));
    moves.try_for_each(|(rel, existing)| {
        let to = layout::resolve(root, rel);
        let from = layout::resolve(staging.unwrap_or(root), rel);
        crate::store::move_into_place(&from, &to, existing).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => WarehouseError::FileExists { path: to.clone() },
            _ => WarehouseError::io("moving into place", &to, e),
        })
    })?;
    for dir in &dirs {
        layout::sync_dir(dir);
    }
    failpoint::hit(failpoint, "renamed", code)?;
    // The Delta logs, table by table; not yet Socle's commit point.
    let changed = crate::delta::changed_tables(delta.owner, &delta.listed, staged, old_files);
    let versions = crate::delta::commit_tables(root, changed, &delta.meta)?;
    failpoint::hit(failpoint, "delta", code)?;
    // (2) The commit point; on an object store, only while this process still holds the run
    // lock's lease.
    if let Some(remote) = crate::store::remote_of_root(root) {
        crate::lease::check_held(&remote)?;
    }
    write_manifest(versions)?;
    let manifest_path = match code {
        MARTS_MANIFEST => layout::marts_manifest_path(root),
        _ => layout::manifest_path(root, code),
    };
    crate::history::record(root, code, &delta.meta.run_id, &manifest_path);
    failpoint::hit(failpoint, "swapped", code)?;
    // (3) The previous files: retired, deleted once no reader can still be on them.
    let new: HashSet<&str> = staged.iter().map(String::as_str).collect();
    let replaced: Vec<String> = old_files
        .iter()
        .filter(|rel| !new.contains(rel.as_str()))
        .cloned()
        .collect();
    if let Err(e) = crate::retired::retire(root, code, &replaced, grace) {
        // Published state is already consistent; the next open collects them.
        tracing::warn!(error = %e, "could not retire the previous files");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_unique_and_shaped() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20251120T031500Z-0a1b2c3d".len());
        assert!(layout::is_component(&a));
        assert_eq!(&a[8..9], "T");
        assert_eq!(&a[15..17], "Z-");
    }

    #[test]
    fn owned_paths_stay_in_data_zones() {
        let root = Path::new("/w");
        assert!(owned_path(root, "css/866000/eleve/r.parquet").is_some());
        assert!(
            owned_path(
                root,
                "shared/resultat/annee_scolaire=2024-2025/code_css=866000/r.parquet"
            )
            .is_some()
        );
        assert!(owned_path(root, "_socle/manifests/866000.json").is_none());
        assert!(owned_path(root, "css/../../etc/passwd").is_none());
    }
}
