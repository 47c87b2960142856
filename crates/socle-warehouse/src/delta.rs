//! Delta Lake logs over the warehouse's table folders, so that Power BI, Spark, Trino, polars or
//! DuckDB read each table through a transaction log instead of globbing folders.
//!
//! **Where the tables are.** The table folder of a file is its path up to its first
//! `column=value` component (or up to its file name): `css/<code>/<table>`, `shared/<table>`,
//! `marts/<mart>`, `css/<code>/marts/<mart>`, `css/<code>/quarantaine` and the intermediate models
//! under `_socle/intermediate/`. The `column=value` components are the table's partition columns
//! (the columns are also kept inside the files, which Delta readers ignore in favour of the log's
//! partition values: both hold the same value).
//!
//! **Who writes what.** Socle still writes the Parquet files with its own streaming writer; this
//! module only keeps each table's `_delta_log` equal to what the manifests publish. A publication
//! commits, for each table it changes, one Delta version that removes the files of its *scope*
//! the new manifest no longer lists and adds the new ones, recorded as a `WRITE` in overwrite
//! mode with its predicate (Delta's replace-where): a CSS's night replaces the `code_css`
//! partitions of that CSS in the shared tables and nothing else, and several CSS commit to the
//! same shared table concurrently (delta-rs's conflict checker retries each on top of the
//! others; a conflict it cannot resolve is recomputed from the new state here).
//!
//! **Order.** Files moved into place, then the Delta commits, then the manifest swap, which records
//! each table's version (`Manifest::delta`): the manifest stays the commit point of a night for
//! Socle's own readers. A run killed between the Delta commits and the swap left Delta versions
//! that no manifest records; [`crate::Warehouse::open`] syncs those tables back to the manifests
//! (a new version) before it deletes the orphan files. External readers get per-table
//! consistency: each table is a whole night or the previous one, but two tables read one after
//! the other may come from two nights.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};

use deltalake::arrow::datatypes::Schema as ArrowSchema;
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, MetadataExt, Remove, StructType};
use deltalake::logstore::LogStoreRef;
use deltalake::operations::create::CreateBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::table::state::DeltaTableState;
use deltalake::{DeltaTableBuilder, DeltaTableError, TableProperty};
use futures::{StreamExt, TryStreamExt};

use crate::error::WarehouseError;
use crate::layout::{CSS_COLUMN, SHARED_DIR};
use crate::store::block_on;

/// The folder of a table's transaction log.
pub const LOG_DIR: &str = "_delta_log";
/// A table's commits between checkpoints: a reader replays at most this many JSON commits.
const CHECKPOINT_INTERVAL: u64 = 10;
/// How many times a commit that lost a race delta-rs could not resolve is recomputed.
const COMMIT_ATTEMPTS: usize = 5;
/// Tables committed at once (their commits are independent).
const PARALLEL_COMMITS: usize = 8;
/// Files whose size and footer are read at once for a commit (round trips on an object store).
const PARALLEL_FILE_READS: usize = 16;

/// The last state of each table this process loaded or committed, by table folder, with its log
/// store. A table's next commit in the process reads only the log entries written since
/// (delta-rs's incremental update: one listing from that version on), instead of listing the
/// whole log and replaying it from its last checkpoint: a shared table receives one commit per
/// CSS in a night, and on an object store each replay is a dozen requests. Logs only grow (a
/// repair adds a version, it never removes one), so a kept state is only ever behind; a table
/// folder deleted whole ([`forget_under`]) or opened again ([`crate::Warehouse::open`]) forgets
/// its state.
static STATES: LazyLock<Mutex<HashMap<PathBuf, (LogStoreRef, DeltaTableState)>>> = LazyLock::new(Default::default);

fn states() -> MutexGuard<'static, HashMap<PathBuf, (LogStoreRef, DeltaTableState)>> {
    // A panic elsewhere while holding the lock leaves the map whole (each write is one insert).
    STATES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keeps `state` as the table's last known state unless a newer one is kept already (another
/// commit of the same table in this process). Only the shared zone's tables are kept: they are
/// the ones every CSS of a night commits to; the others get one commit per night, and keeping
/// their states would only hold memory.
fn remember(table: &str, dir: PathBuf, log_store: LogStoreRef, state: DeltaTableState) {
    if table.split('/').next() != Some(SHARED_DIR) {
        return;
    }
    let mut map = states();
    if map.get(&dir).is_none_or(|(_, kept)| kept.version() < state.version()) {
        map.insert(dir, (log_store, state));
    }
}

/// Forgets the kept state of every table under `dir` (a folder about to be deleted whole).
pub(crate) fn forget_under(dir: &Path) {
    states().retain(|table, _| !table.starts_with(dir));
}

/// Tables committed by this process, and the nanoseconds spent in those commits (summed over
/// publications, which may run at once): [`commit_totals`].
static COMMITTED_TABLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static COMMIT_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The tables this process committed so far and the seconds their commits took (summed over
/// publications; CSS published at once overlap): what a night's summary reports of Delta.
pub fn commit_totals() -> (u64, f64) {
    use std::sync::atomic::Ordering::Relaxed;
    (COMMITTED_TABLES.load(Relaxed), COMMIT_NANOS.load(Relaxed) as f64 / 1e9)
}

/// The table folder of a warehouse file (relative to the root): its path up to the first
/// `column=value` component, or up to its file name.
pub fn table_of(rel: &str) -> &str {
    let mut end = 0;
    let mut offset = 0;
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.contains('=') || i + 1 == parts.len() {
            break;
        }
        end = offset + part.len();
        offset += part.len() + 1;
    }
    &rel[..end]
}

/// The partition columns and values of a file path inside its table (`a=1/b=2/f.parquet`).
fn partition_values(in_table: &str) -> Vec<(String, String)> {
    in_table
        .split('/')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The part of a table a commit replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole table.
    All,
    /// The `code_css` partitions of one CSS (a CSS's night in a shared table).
    Css(String),
}

impl Scope {
    /// The scope of `owner`'s publication in `table`: a CSS's own partitions in the shared zone,
    /// the whole table otherwise (its own zone, or the marts' tables, which the marts manifest
    /// owns whole).
    fn of(owner: Option<&str>, table: &str) -> Scope {
        match owner {
            Some(code) if table.split('/').next() == Some(SHARED_DIR) => Scope::Css(code.to_string()),
            _ => Scope::All,
        }
    }

    fn contains(&self, in_table: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Css(code) => partition_values(in_table)
                .iter()
                .any(|(k, v)| k == CSS_COLUMN && v == code),
        }
    }

    /// The replace-where predicate recorded in the commit.
    fn predicate(&self) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Css(code) => Some(format!("{CSS_COLUMN} = '{code}'")),
        }
    }
}

/// What a commit records in its metadata, beside Delta's own: Socle's run, the owner of the
/// publication (a CSS code, `_marts`, or a generation's stage) and what it did.
#[derive(Debug, Clone)]
pub struct CommitMetadata {
    pub run_id: String,
    pub owner: String,
    pub operation: &'static str,
}

impl CommitMetadata {
    fn properties(&self) -> CommitProperties {
        CommitProperties::default().with_metadata([
            ("socle.run_id".to_string(), serde_json::json!(self.run_id)),
            ("socle.owner".to_string(), serde_json::json!(self.owner)),
            ("socle.operation".to_string(), serde_json::json!(self.operation)),
        ])
    }
}

/// The URL of a table folder: `file://` locally, `s3://bucket/prefix/table/` on an object store.
fn table_url(root: &Path, table: &str) -> Result<url::Url, WarehouseError> {
    let dir = root.join(table);
    let invalid = || WarehouseError::InvalidName {
        what: "table folder",
        value: dir.display().to_string(),
    };
    match crate::store::remote_of(&dir) {
        None => url::Url::from_directory_path(&dir).map_err(|()| invalid()),
        Some((remote, rel)) => url::Url::parse(&format!("{}/", remote.object_url(&rel))).map_err(|_| invalid()),
    }
}

/// A builder of the table at `root/table`, on the warehouse's object store when it has one.
fn table_builder(root: &Path, table: &str) -> Result<DeltaTableBuilder, WarehouseError> {
    let url = table_url(root, table)?;
    let builder = DeltaTableBuilder::from_url(url.clone()).map_err(|e| delta_error(table, e))?;
    Ok(match crate::store::remote_of_root(root) {
        None => builder,
        Some(remote) => builder.with_storage_backend(remote.store(), url),
    })
}

/// The log store delta-rs uses for a warehouse's object store: its default one, whose commits
/// are create-only PUTs (`PutMode::Create`, `If-None-Match: *`) of `_delta_log/<version>.json`.
/// delta-rs registers it only for `file://` and `memory://` unless its AWS feature (and the AWS
/// SDK) is built in; Socle gives it the store it built itself.
#[derive(Debug, Default)]
struct ConditionalPutLogStores;

impl deltalake::logstore::LogStoreFactory for ConditionalPutLogStores {
    fn with_options(
        &self,
        prefixed_store: deltalake::logstore::ObjectStoreRef,
        root_store: deltalake::logstore::ObjectStoreRef,
        location: &url::Url,
        options: &deltalake::logstore::StorageConfig,
    ) -> deltalake::DeltaResult<std::sync::Arc<dyn deltalake::logstore::LogStore>> {
        Ok(deltalake::logstore::default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Registers the log store of `bucket_url`'s scheme (idempotent).
pub(crate) fn register_object_store_scheme(bucket_url: &url::Url) {
    if let Ok(scheme) = url::Url::parse(&format!("{}://", bucket_url.scheme())) {
        let factories = deltalake::logstore::logstore_factories();
        if !factories.contains_key(&scheme) {
            factories.insert(scheme, std::sync::Arc::new(ConditionalPutLogStores));
        }
    }
}

fn delta_error(table: &str, source: DeltaTableError) -> WarehouseError {
    WarehouseError::Delta {
        table: table.to_string(),
        source: Box::new(source),
    }
}

/// The latest version of the table at `root/table` from its log's file names, `None` without a
/// log (a few directory entries: cheap enough for every open).
pub fn latest_version(root: &Path, table: &str) -> Option<u64> {
    let entries = crate::store::read_dir(&root.join(table).join(LOG_DIR)).ok()?;
    entries
        .iter()
        .filter_map(|e| {
            let stem = e.name.strip_suffix(".json")?;
            (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
                .then(|| stem.parse::<u64>().ok())
                .flatten()
        })
        .max()
}

/// The Add action of a warehouse file: size, time, partition values and row count (from its
/// footer: Delta readers plan with it; min/max stay in the Parquet footer).
async fn add_action(root: &Path, table: &str, rel: &str) -> Result<Add, WarehouseError> {
    let path = root.join(rel);
    let (size, modified, rows) = match crate::store::remote_of(&path) {
        None => {
            let meta = std::fs::metadata(&path).map_err(|e| WarehouseError::io("reading", &path, e))?;
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            (meta.len(), modified, crate::marts::file_rows(&path)?)
        }
        Some((remote, key_rel)) => {
            // Through the reads' store: the marts stage then plans its scans of this file
            // without asking its size again.
            let head = object_store::ObjectStoreExt::head(remote.read_store().as_ref(), &remote.key(&key_rel))
                .await
                .map_err(|e| WarehouseError::io("reading", &path, std::io::Error::other(e.to_string())))?;
            let footer = crate::store::remote_footer(&remote, &key_rel, &path).await?;
            let rows = footer.file_metadata().num_rows().max(0) as u64;
            (head.size, std::time::SystemTime::from(head.last_modified), rows)
        }
    };
    let modified = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let in_table = in_table(table, rel);
    Ok(Add {
        path: in_table.to_string(),
        partition_values: partition_values(in_table)
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect(),
        size: size as i64,
        modification_time: modified,
        data_change: true,
        stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
        ..Default::default()
    })
}

fn in_table<'a>(table: &str, rel: &'a str) -> &'a str {
    rel.strip_prefix(table).and_then(|r| r.strip_prefix('/')).unwrap_or(rel)
}

/// The table's schema for Delta, from the Parquet footer of one of its files.
async fn kernel_schema(root: &Path, table: &str, rel: &str) -> Result<StructType, WarehouseError> {
    let path = root.join(rel);
    let arrow = match crate::store::remote_of(&path) {
        None => crate::marts::file_schema(&path)?,
        Some((remote, key_rel)) => {
            let footer = crate::store::remote_footer(&remote, &key_rel, &path).await?;
            crate::store::footer_schema(&path, &footer)?
        }
    };
    arrow
        .as_ref()
        .try_into_kernel()
        .map_err(|e| WarehouseError::arrow(table, e))
}

/// Loads a table's latest version.
async fn load_table(root: &Path, table: &str) -> Result<deltalake::DeltaTable, WarehouseError> {
    table_builder(root, table)?
        .load()
        .await
        .map_err(|e| delta_error(table, e))
}

/// One table to bring to the files a publication lists in its scope.
#[derive(Debug, Clone)]
pub struct TableSync {
    pub table: String,
    pub scope: Scope,
    /// Files (relative to the warehouse root) the table must hold in `scope`.
    pub files: BTreeSet<String>,
}

/// Commits `tables` (each on its own, several at once) and returns each one's version after its
/// commit; a table with no log and no file gets none.
pub fn commit_tables(
    root: &Path,
    tables: Vec<TableSync>,
    meta: &CommitMetadata,
) -> Result<BTreeMap<String, u64>, WarehouseError> {
    if tables.is_empty() {
        return Ok(BTreeMap::new());
    }
    let started = std::time::Instant::now();
    let count = tables.len();
    let versions: Vec<(String, Option<u64>)> = block_on(async {
        futures::stream::iter(tables.into_iter().map(|t| async move {
            let version = sync_table(root, &t, meta).await?;
            Ok::<_, WarehouseError>((t.table, version))
        }))
        .buffer_unordered(PARALLEL_COMMITS)
        .try_collect()
        .await
    })??;
    COMMITTED_TABLES.fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
    COMMIT_NANOS.fetch_add(
        started.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    tracing::info!(
        owner = %meta.owner,
        tables = count,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Delta tables committed"
    );
    Ok(versions.into_iter().filter_map(|(t, v)| Some((t, v?))).collect())
}

/// Brings one table to its wanted files, recomputing a commit that lost a race.
async fn sync_table(root: &Path, sync: &TableSync, meta: &CommitMetadata) -> Result<Option<u64>, WarehouseError> {
    let mut attempt = 0;
    loop {
        match sync_table_once(root, sync, meta).await {
            Err(WarehouseError::Delta { source, .. })
                if matches!(*source, DeltaTableError::Transaction { .. }) && attempt + 1 < COMMIT_ATTEMPTS =>
            {
                attempt += 1;
                tracing::debug!(table = %sync.table, attempt, error = %source, "Delta commit lost a race: recomputed");
            }
            other => return other,
        }
    }
}

async fn sync_table_once(root: &Path, sync: &TableSync, meta: &CommitMetadata) -> Result<Option<u64>, WarehouseError> {
    let table = sync.table.as_str();
    let err = |e| delta_error(table, e);
    let dir = root.join(table);
    let kept = states().get(&dir).cloned();
    let (log_store, mut state) = match kept {
        Some((log_store, mut state)) => {
            state.update(log_store.as_ref(), None).await.map_err(err)?;
            (log_store, state)
        }
        None => {
            if latest_version(root, table).is_none() {
                match create_table(root, sync, meta).await? {
                    Created::Nothing => return Ok(None),
                    Created::Version(log_store, state) => {
                        let version = state.version();
                        remember(table, dir, log_store, state);
                        return Ok(Some(version));
                    }
                    // Created by another commit meanwhile: committed on top of it below.
                    Created::Lost => {}
                }
            }
            let log_store = table_builder(root, table)?.build_storage().map_err(err)?;
            let state = DeltaTableState::try_new(log_store.as_ref(), None).await.map_err(err)?;
            (log_store, state)
        }
    };
    let version = commit_on(root, table, sync, meta, &log_store, &mut state).await?;
    remember(table, dir, log_store, state);
    Ok(Some(version))
}

/// What creating a table gave.
enum Created {
    /// No file to create it with.
    Nothing,
    /// Created at its first version.
    Version(LogStoreRef, DeltaTableState),
    /// Another commit created it first.
    Lost,
}

/// Creates the table with `sync`'s files as its first version.
async fn create_table(root: &Path, sync: &TableSync, meta: &CommitMetadata) -> Result<Created, WarehouseError> {
    let table = sync.table.as_str();
    let err = |e| delta_error(table, e);
    let Some(first) = sync.files.first() else {
        return Ok(Created::Nothing);
    };
    let schema = kernel_schema(root, table, first).await?;
    let columns: Vec<String> = partition_values(in_table(table, first))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let reads: Vec<_> = sync.files.iter().map(|f| add_action(root, table, f)).collect();
    let adds = futures::stream::iter(reads)
        .buffered(PARALLEL_FILE_READS)
        .map_ok(Action::Add)
        .try_collect::<Vec<_>>()
        .await?;
    // No retry: a creation that lost the race must not land as a later version on top of the
    // winner's; it is redone as a commit on the created table.
    let log_store = table_builder(root, table)?.build_storage().map_err(err)?;
    let created = CreateBuilder::new()
        .with_log_store(log_store.clone())
        .with_columns(schema.fields().cloned())
        .with_partition_columns(columns)
        .with_configuration_property(TableProperty::CheckpointInterval, Some(CHECKPOINT_INTERVAL.to_string()))
        .with_save_mode(SaveMode::ErrorIfExists)
        .with_actions(adds)
        .with_commit_properties(meta.properties().with_max_retries(0))
        .await;
    match created {
        Ok(t) => Ok(Created::Version(log_store, t.snapshot().map_err(err)?.clone())),
        Err(e) if latest_version(root, table).is_none() => Err(err(e)),
        Err(e) => {
            tracing::debug!(table, error = %e, "table created by another commit meanwhile");
            Ok(Created::Lost)
        }
    }
}

/// Commits on `state` (the table's latest state) the version that brings `sync`'s scope to its
/// files, and leaves in `state` the table after that commit; returns its version (the current
/// one when nothing changes).
async fn commit_on(
    root: &Path,
    table: &str,
    sync: &TableSync,
    meta: &CommitMetadata,
    log_store: &LogStoreRef,
    state: &mut DeltaTableState,
) -> Result<u64, WarehouseError> {
    let err = |e| delta_error(table, e);
    let snapshot = &*state;
    let active: HashMap<String, i64> = snapshot
        .log_data()
        .iter()
        .map(|f| (f.path().into_owned(), f.size()))
        .collect();
    let wanted: BTreeSet<&str> = sync.files.iter().map(|f| in_table(table, f)).collect();
    let now = chrono::Utc::now().timestamp_millis();
    let mut actions: Vec<Action> = Vec::new();
    for (path, size) in &active {
        if sync.scope.contains(path) && !wanted.contains(path.as_str()) {
            actions.push(Action::Remove(Remove {
                path: path.clone(),
                data_change: true,
                deletion_timestamp: Some(now),
                extended_file_metadata: Some(true),
                partition_values: Some(partition_values(path).into_iter().map(|(k, v)| (k, Some(v))).collect()),
                size: Some(*size),
                ..Default::default()
            }));
        }
    }
    let mut new_files = sync.files.iter().filter(|f| !active.contains_key(in_table(table, f)));
    let first_new = new_files.clone().next();
    let reads: Vec<_> = new_files.by_ref().map(|f| add_action(root, table, f)).collect();
    let adds: Vec<Add> = futures::stream::iter(reads)
        .buffered(PARALLEL_FILE_READS)
        .try_collect()
        .await?;
    actions.extend(adds.into_iter().map(Action::Add));
    if actions.is_empty() {
        return Ok(snapshot.version());
    }
    // A new field of the dictionary grows the table's schema (never shrinks it: other CSS's files
    // may still have the old fields).
    if let Some(first) = first_new {
        let file_schema = kernel_schema(root, table, first).await?;
        let current = snapshot.schema();
        if file_schema != *current.as_ref() {
            let current_arrow: ArrowSchema = current
                .as_ref()
                .try_into_arrow()
                .map_err(|e| WarehouseError::arrow(table, e))?;
            let file_arrow: ArrowSchema = (&file_schema)
                .try_into_arrow()
                .map_err(|e| WarehouseError::arrow(table, e))?;
            let merged =
                ArrowSchema::try_merge([current_arrow, file_arrow]).map_err(|e| WarehouseError::arrow(table, e))?;
            let merged: StructType = (&merged)
                .try_into_kernel()
                .map_err(|e| WarehouseError::arrow(table, e))?;
            if merged != *current.as_ref() {
                let metadata = snapshot
                    .metadata()
                    .clone()
                    .with_schema(&merged)
                    .map_err(|e| err(DeltaTableError::from(e)))?;
                actions.push(Action::Metadata(metadata));
            }
        }
    }
    let operation = DeltaOperation::Write {
        mode: SaveMode::Overwrite,
        partition_by: Some(snapshot.metadata().partition_columns().to_vec()),
        predicate: sync.scope.predicate(),
    };
    // After a commit delta-rs lists the whole log to expire old entries: on a shared table, a
    // listing of thousands of entries at each CSS's commit. An entry can only expire behind a
    // checkpoint, so the cleanup runs with the commits that write one (`version + 1` a multiple
    // of the interval; a commit recomputed after a race may skip one: the next does it).
    let writes_checkpoint = (snapshot.version() + 2).is_multiple_of(CHECKPOINT_INTERVAL);
    let finalized = CommitBuilder::from(meta.properties().with_cleanup_expired_logs(Some(writes_checkpoint)))
        .with_actions(actions)
        .build(Some(snapshot), log_store.clone(), operation)
        .await
        .map_err(err)?;
    *state = finalized.snapshot();
    Ok(finalized.version())
}

/// The tables a publication of `owner` changes (those holding a file it adds or removes) and the
/// files each must hold in its scope: `listed` are every file of the new manifest.
pub fn changed_tables(owner: Option<&str>, listed: &[String], added: &[String], removed: &[String]) -> Vec<TableSync> {
    let mut by_table: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for f in added.iter().chain(removed) {
        by_table.entry(table_of(f)).or_default();
    }
    for f in listed {
        if let Some(files) = by_table.get_mut(table_of(f)) {
            files.insert(f.clone());
        }
    }
    by_table
        .into_iter()
        .map(|(table, files)| TableSync {
            table: table.to_string(),
            scope: Scope::of(owner, table),
            files,
        })
        .collect()
}

/// Every table of `listed` with its files, whole-table scope (a generation, a repair).
pub fn whole_tables<'a>(listed: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_table: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in listed {
        by_table.entry(table_of(f).to_string()).or_default().insert(f.clone());
    }
    by_table
}

/// The files a table's latest version holds (relative to the warehouse root); empty without a
/// log. For checks and tests.
pub fn active_files(root: &Path, table: &str) -> Result<BTreeSet<String>, WarehouseError> {
    if latest_version(root, table).is_none() {
        return Ok(BTreeSet::new());
    }
    let err = |e| delta_error(table, e);
    block_on(async {
        let delta = load_table(root, table).await?;
        let snapshot = delta.snapshot().map_err(err)?;
        Ok(snapshot
            .log_data()
            .iter()
            .map(|f| format!("{table}/{}", f.path()))
            .collect())
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_partitions_come_from_paths() {
        assert_eq!(
            table_of("shared/resultat/annee_scolaire=2024-2025/code_css=866000/r.parquet"),
            "shared/resultat"
        );
        assert_eq!(table_of("css/866000/eleve/r.parquet"), "css/866000/eleve");
        assert_eq!(table_of("css/866000/marts/taux/r.parquet"), "css/866000/marts/taux");
        assert_eq!(
            table_of("_socle/intermediate/shared/inscrits/code_css=881000/r.parquet"),
            "_socle/intermediate/shared/inscrits"
        );
        assert_eq!(
            partition_values("annee_scolaire=2024-2025/code_css=866000/r.parquet"),
            vec![
                ("annee_scolaire".to_string(), "2024-2025".to_string()),
                ("code_css".to_string(), "866000".to_string())
            ]
        );
        let css = Scope::of(Some("866000"), "shared/resultat");
        assert!(css.contains("annee_scolaire=2024-2025/code_css=866000/r.parquet"));
        assert!(!css.contains("annee_scolaire=2024-2025/code_css=881000/r.parquet"));
        assert_eq!(css.predicate().as_deref(), Some("code_css = '866000'"));
        assert_eq!(Scope::of(Some("866000"), "css/866000/resultat"), Scope::All);
        assert_eq!(Scope::of(None, "shared/resultat"), Scope::All);
    }

    #[test]
    fn changed_tables_hold_the_listed_files_of_tables_touched() {
        let listed = vec![
            "shared/resultat/code_css=866000/r2.parquet".to_string(),
            "css/866000/eleve/r1.parquet".to_string(),
        ];
        let added = vec!["shared/resultat/code_css=866000/r2.parquet".to_string()];
        let removed = vec!["css/866000/absence/r1.parquet".to_string()];
        let changed = changed_tables(Some("866000"), &listed, &added, &removed);
        let names: Vec<&str> = changed.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, vec!["css/866000/absence", "shared/resultat"]);
        assert!(changed[0].files.is_empty());
        assert_eq!(changed[1].files.len(), 1);
        assert_eq!(changed[1].scope, Scope::Css("866000".into()));
    }
}
