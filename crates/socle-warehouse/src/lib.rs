//! The Socle warehouse: Parquet files, published atomically one CSS at a time, every table folder
//! also a Delta Lake table (the [`delta`] module), and a DataFusion session over them.
//!
//! # Layout (under the warehouse root)
//!
//! ```text
//! css/<code_css>/<table>/annee_scolaire=<year>/<run_id>.parquet          per-CSS zone, every column
//! css/<code_css>/<table>/<run_id>.parquet                                 tables partitioned by CSS only (eleve)
//! css/<code_css>/quarantaine/<run_id>.parquet                             quarantined rows
//! shared/<table>/annee_scolaire=<year>/code_css=<code>/<run_id>.parquet   shared zone, shared fields only
//! shared/<table>/code_css=<code>/<run_id>.parquet                         tables partitioned by CSS only
//! marts/<name>/<run_id>.parquet                                           shared marts (all CSS, grouped by CSS)
//! _socle/manifests/<code_css>.json                                        current manifest of each CSS
//! _socle/manifests/_marts.json                                            current manifest of the marts
//! _socle/CURRENT                                                          after a rekey or retention: the current generation
//! _socle/generations/<id>/manifests/...                                   the manifests of that generation
//! _socle/audit/YYYY-MM-DD.jsonl                                           audit log of reads of personal data
//! _socle/staging/<run_id>/<code_css>/...                                  work area of a run
//! _socle/staging/<run_id>/_marts/_spill/...                               the marts stage's spill files
//! _socle/intermediate/shared/<model>/[code_css=<code>/]<run>.parquet      intermediate models (never published)
//! _socle/intermediate/css/<code>/<model>/<run>.parquet                    the same, built in a CSS's zone
//! _socle/runs/<run_id>/<code_css>-quality.json                            data-quality reports
//! _socle/history/<code_css or _marts>/<run_id>.json                       every manifest published (time travel)
//! _socle/retired/<nanos>-<what>.json                                      replaced files kept for the retention window
//! _socle/run.lock                                                         the exclusive run lock and its holder
//! ```
//!
//! Partition columns (`annee_scolaire`, `code_css`) are also kept inside the files, so DuckDB,
//! polars or pandas read them without parsing folder names. Files are zstd-compressed with
//! statistics; rows keep their input order. The shared zone holds only the fields the
//! dictionary allows there ([`socle_dictionary::Entity::shared_fields`]), in dictionary order.
//!
//! # Publication: the manifest is the commit
//!
//! A CSS's state is exactly the files its current manifest lists. [`Warehouse::begin_css`]
//! opens a [`CssTransaction`] whose writes go to a staging folder; [`CssTransaction::commit`]
//! (1) moves the staged files to their final names (which contain the run id, so nothing
//! published is overwritten), (2) writes the new manifest to a temporary file, syncs it and
//! renames it over `_socle/manifests/<code_css>.json` — the atomic commit point — and (3) deletes
//! the previous manifest's files and the staging folder. A failure or a kill before (2) leaves
//! the previous manifest and its files whole; the files it left behind belong to no manifest
//! and [`Warehouse::open`] deletes them (with stale staging folders) at the start of the next
//! run. Each CSS is published on its own: re-running one CSS replaces only its files. Marts are
//! published the same way, all at once ([`Warehouse::publish_marts`]).
//!
//! Between (1) and (2), each table folder the publication changes gets one Delta commit (see
//! [`delta`]): external readers see the new files per table from then on, Socle's readers at the
//! swap; the manifest records each table's Delta version. [`Warehouse::open`] brings back to the
//! manifests any table a killed run left ahead of them, before it deletes the orphans.
//!
//! A mart is one file whose rows are grouped by `code_css` (the mart's own order kept within a
//! CSS), one row group per CSS, with statistics: a read filtered to one CSS skips the others.
//!
//! Readers never list folders: [`Warehouse::session`] registers each table from the current
//! manifests, so a query never sees a half-published run. [`Warehouse::marts_session`]
//! registers only the marts (one footer per mart), for dashboards.
//!
//! A commit refuses a pseudonymisation key fingerprint different from the one of the other CSS
//! already in the warehouse: mixing keys would silently break cohorts across CSS.
//!
//! Concurrency: a writing run takes the warehouse's exclusive run lock
//! ([`Warehouse::lock_run`], `_socle/run.lock`, holding the holder's host, process id, start time
//! and command): a second run fails at once naming the holder; the OS releases it when the
//! process ends, even killed. Readers never take it. Transactions hold a shared lock on
//! `_socle/lock`; garbage collection runs only when it can take that lock exclusively, so it
//! never removes the staged files of a run in progress in another process.
//!
//! Drop guard records: a manifest keeps the drops the last run held (`held_drops`: entity,
//! school year, rows before and now, threshold, sources held) and the history of drops accepted
//! with `socle run --accept-drop` (`accepted_drops`), see [`DropRecord`].
//!
//! The marts manifest records, for each CSS, the run id of the CSS manifest the marts were built
//! from; [`Warehouse::marts_state`] compares them with the current manifests ([`MartsState`]):
//! marts are rebuilt whenever they differ, so a marts publication that failed or was killed
//! after the CSS committed is repaired by the next run, even when it has nothing else to load.
//!
//! # Test hook: failpoints
//!
//! [`FAILPOINT_ENV`] (`SOCLE_FAILPOINT=<step>:<code>`), or [`Warehouse::set_failpoint`] /
//! [`CssTransaction::set_failpoint`] without the environment, stops a commit at one exact step.
//! `<code>` is a CSS code, `_marts` for the marts publication, or `*` for any. The steps:
//!
//! - `write:<code_css>`: [`CssTransaction::write_table`] fails;
//! - `staged:<code>`: every file written to staging, none moved yet;
//! - `renamed:<code>` (or `commit:<code>`, its older name): the files moved to their final names,
//!   the manifest not swapped (the previous state is current, the moved files are orphans);
//! - `delta:<code>`: the Delta commits made, the manifest not swapped (the next open brings the
//!   Delta tables back to the manifests);
//! - `swapped:<code>`: the manifest swapped (the new state is current), the previous files not
//!   deleted yet (they are orphans);
//! - `gc` (or `gc:*`): [`Warehouse::open`]'s garbage collection, after deleting half the orphans;
//! - `rekey:switch`, `retention:switch`: a [`Generation`] stops just before its switch.
//!
//! With `SOCLE_FAILPOINT_MODE=abort` ([`FAILPOINT_MODE_ENV`]) a failpoint aborts the process
//! (a crash at exactly that step, as the crash campaign `crates/socle-cli/tests/crash.rs` uses);
//! otherwise it returns [`WarehouseError::Failpoint`]. For tests only.
//! # Generations: changes to every CSS at once
//!
//! A key rotation or a retention changes every CSS and the marts together: a [`Generation`]
//! writes a complete new set of manifests into `_socle/generations/<id>/manifests/` (new data
//! files under new run-unique names, unchanged files shared), then renames one pointer,
//! `_socle/CURRENT`, to name it: the commit point for the whole warehouse. Without a pointer the
//! manifests are those of `_socle/manifests/` (generation 0). Every reader and writer resolves
//! the pointer through one function (`layout::manifests_dir`); garbage collection keeps the
//! files of the current generation only and deletes stale generation folders.
//! [`Warehouse::plan_retention`] and [`Warehouse::apply_retention`] remove the school years past
//! retention this way (see the `retention` module for the rules).
//!
//! # Time travel, vacuum, migration
//!
//! Every manifest a publication swaps in is also kept under `_socle/history/`, and the files it
//! replaces are kept for a window (`socle run --retain-days`, 7 by default): [`Warehouse::at`]
//! returns a read-only handle pinned to the warehouse as a past night left it (`socle query
//! --as-of RUN_ID`), refused, never read in part, once a file of that state is gone.
//! [`Warehouse::vacuum`] deletes the replaced files past a window and forgets the history that
//! listed them; a [`Generation`] (key rotation, retention) deletes every replaced file and
//! forgets all history before its switch, so what it removes is not readable through time
//! travel. [`Warehouse::migrate`] converts a warehouse written before its tables were Delta
//! tables, in place (see the `history` and `maintenance` modules).
//!
//! # Audit log (Québec Law 25)
//!
//! [`AuditLog`] appends one JSON line per read of personal or pseudonymous data to
//! `_socle/audit/YYYY-MM-DD.jsonl` (UTC time, who, action, zone, a target that is never a personal
//! value, rows returned); see the `audit` module for the format. The CLI's `personne`, `query` and
//! `dashboards export` write it, as will the web server and SQL endpoint.
//!

mod audit;
pub mod delta;
mod error;
mod failpoint;
mod generation;
mod head_cache;
mod history;
mod layout;
mod lease;
mod maintenance;
mod manifest;
mod marts;
mod marts_state;
mod marts_tx;
mod retention;
mod retired;
mod run_lock;
mod schema;
mod session;
mod sql_guard;
pub mod store;
mod transaction;
mod warehouse;
mod write;

pub use audit::{
    AuditEvent, AuditLog, default_who, query_target, record_read, sql_target, who_or_default, zone_audit_label,
};
pub use error::WarehouseError;
pub use failpoint::FAILPOINT_MODE_ENV;
pub use generation::Generation;
pub use history::{HistoryEntry, Snapshot};
pub use layout::{QUARANTINE, file_css, intermediate_file, mart_css_file, mart_shared_file};
pub use maintenance::{MigrateReport, VacuumReport};
pub use manifest::{
    DropRecord, InputFile, MANIFEST_FORMAT, Manifest, ManifestInfo, MartsManifest, RekeyRecord, RetentionRecord,
    SourceFailure, SourceState, TableFiles, partition_year,
};
pub use marts::MartWriter;
pub use marts_state::MartsState;
pub use marts_tx::MartsTransaction;
pub use retention::{ExpiredPartition, MIN_KEEP_YEARS, RetentionPlan};
pub use run_lock::{RunLock, RunLockHolder};
pub use schema::{PERSONAL_METADATA_KEY, entity_schema, entity_schemas, shared_schema};
pub use session::{Zone, new_context, new_context_with, parquet_table, session_config};
pub use sql_guard::{ALLOWED_TABLE_FUNCTIONS, HARMLESS_SETTINGS, SqlRefusal, check_read_only, read_only_options};
pub use transaction::CssTransaction;
pub use warehouse::{FAILPOINT_ENV, MartOutput, Warehouse, failpoint_from_env, new_run_id};
pub use write::write_parquet;

/// Re-exported so callers build batches and schemas with the very Arrow the warehouse uses.
pub use datafusion::arrow::datatypes::SchemaRef;
pub use datafusion::arrow::record_batch::RecordBatch;
