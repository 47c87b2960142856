//! One CSS's publication: staged writes, then an atomic commit.

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

use datafusion::arrow::record_batch::RecordBatch;
use socle_dictionary::{Entity, Partitioning};

use crate::error::WarehouseError;
use crate::layout::{self, CSS_DIR, QUARANTINE, SHARED_DIR, YEAR_COLUMN};
use crate::manifest::{self, MANIFEST_FORMAT, Manifest, ManifestInfo, TableFiles};
use crate::warehouse::{self, LockGuard, StagingGuard, Warehouse};
use crate::write;

/// The publication of one CSS for one run. Files are written to
/// `_socle/staging/<run_id>/<code_css>/`; nothing is visible until [`CssTransaction::commit`].
/// Dropping the transaction without committing removes its staging folder.
#[derive(Debug)]
pub struct CssTransaction {
    warehouse: Warehouse,
    code_css: String,
    run_id: String,
    tables: BTreeMap<String, TableFiles>,
    quarantine: Option<TableFiles>,
    /// Files moved at commit but not owned by the manifest (the quality report).
    reports: Vec<String>,
    failpoint: Option<String>,
    started: Instant,
    // Dropped in declaration order: staging first, then the lock.
    staging: StagingGuard,
    _lock: LockGuard,
}

impl CssTransaction {
    pub(crate) fn new(
        warehouse: Warehouse,
        code_css: String,
        run_id: String,
        staging: StagingGuard,
        lock: LockGuard,
        failpoint: Option<String>,
    ) -> Self {
        CssTransaction {
            warehouse,
            code_css,
            run_id,
            tables: BTreeMap::new(),
            quarantine: None,
            reports: Vec::new(),
            failpoint,
            started: Instant::now(),
            staging,
            _lock: lock,
        }
    }

    /// The CSS this transaction publishes.
    pub fn code_css(&self) -> &str {
        &self.code_css
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Sets (or clears) the test failpoint of this transaction, overriding
    /// [`crate::FAILPOINT_ENV`]: `<step>:<code_css>` (`write`, `staged`, `renamed`, `swapped`). A
    /// test hook.
    pub fn set_failpoint(&mut self, failpoint: Option<&str>) {
        self.failpoint = failpoint.map(str::to_string);
    }

    /// Rows written so far, by table.
    pub fn tables(&self) -> &BTreeMap<String, TableFiles> {
        &self.tables
    }

    /// Writes one canonical table: every column to the CSS zone, the entity's shared fields (in
    /// dictionary order, projected by name) to the shared zone. Tables partitioned by school
    /// year get one file per `annee_scolaire` value; row order is kept. Empty input writes no
    /// file but records the table with 0 rows.
    ///
    /// Errors: a shared field or `annee_scolaire` missing from the batches, a null
    /// `annee_scolaire`, rows whose `code_css` is not this CSS, batches of different schemas,
    /// the same table written twice.
    pub fn write_table(&mut self, entity: &Entity, batches: &[RecordBatch]) -> Result<(), WarehouseError> {
        crate::failpoint::hit(self.failpoint.as_deref(), "write", &self.code_css)?;
        let table = entity.name.as_str();
        layout::check_component("table name", table)?;
        if table == QUARANTINE || table.starts_with('_') {
            return Err(WarehouseError::ReservedName {
                table: table.to_string(),
            });
        }
        if self.tables.contains_key(table) {
            return Err(WarehouseError::AlreadyWritten {
                table: table.to_string(),
            });
        }
        let batches: Vec<RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).cloned().collect();
        let Some(schema) = write::common_schema(table, &batches)? else {
            self.tables.insert(table.to_string(), TableFiles::default());
            tracing::debug!(code_css = %self.code_css, table, "empty table recorded");
            return Ok(());
        };

        // Shared projection, by name, in dictionary order.
        let mut shared_indices = Vec::new();
        for field in entity.shared_fields() {
            let idx = schema
                .index_of(&field.name)
                .map_err(|_| WarehouseError::MissingSharedField {
                    table: table.to_string(),
                    field: field.name.clone(),
                })?;
            shared_indices.push(idx);
        }
        let shared_schema = std::sync::Arc::new(
            schema
                .project(&shared_indices)
                .map_err(|e| WarehouseError::arrow(table, e))?,
        );

        let foreign = write::foreign_rows(table, &self.code_css, &batches)?;
        if foreign > 0 {
            return Err(WarehouseError::ForeignRows {
                table: table.to_string(),
                code_css: self.code_css.clone(),
                rows: foreign,
            });
        }

        // (partition folder, batches): `annee_scolaire=<year>` or none.
        let parts: Vec<(Option<String>, Vec<RecordBatch>)> = match entity.partitioning {
            Partitioning::AnneeScolaire => {
                let mut parts = Vec::new();
                for (year, bs) in write::split_by_column(table, YEAR_COLUMN, &batches)? {
                    layout::check_component("school year", &year)?;
                    parts.push((Some(format!("{YEAR_COLUMN}={year}")), bs));
                }
                parts
            }
            Partitioning::Css => vec![(None, batches)],
        };

        let code = &self.code_css;
        let run = &self.run_id;
        let staging = &self.staging.dir;
        // Every partition's two files (CSS zone, shared zone) are encoded in parallel: Parquet
        // encoding and compression are most of a night's write time.
        let written: Vec<Result<(String, String, u64), WarehouseError>> = parts
            .par_iter()
            .map(|(partition, bs)| {
                let (css_rel, shared_rel) = match partition {
                    Some(p) => (
                        format!("{CSS_DIR}/{code}/{table}/{p}/{run}.parquet"),
                        format!("{SHARED_DIR}/{table}/{p}/code_css={code}/{run}.parquet"),
                    ),
                    None => (
                        format!("{CSS_DIR}/{code}/{table}/{run}.parquet"),
                        format!("{SHARED_DIR}/{table}/code_css={code}/{run}.parquet"),
                    ),
                };
                let (rows, shared) = rayon::join(
                    || write::write_parquet(&layout::resolve(staging, &css_rel), schema.clone(), bs),
                    || {
                        let shared: Vec<RecordBatch> = bs
                            .iter()
                            .map(|b| b.project(&shared_indices))
                            .collect::<Result<_, _>>()
                            .map_err(|e| WarehouseError::arrow(table, e))?;
                        write::write_parquet(&layout::resolve(staging, &shared_rel), shared_schema.clone(), &shared)
                    },
                );
                shared?;
                Ok((css_rel, shared_rel, rows?))
            })
            .collect();
        let mut files = TableFiles::default();
        for w in written {
            let (css_rel, shared_rel, rows) = w?;
            files.rows += rows;
            if let Some(year) = crate::manifest::partition_year(&css_rel) {
                *files.partition_rows.entry(year.to_string()).or_default() += rows;
            }
            files.css_files.push(css_rel);
            files.shared_files.push(shared_rel);
        }
        tracing::info!(
            code_css = %self.code_css,
            table,
            rows = files.rows,
            files = files.css_files.len() + files.shared_files.len(),
            "table staged"
        );
        self.tables.insert(table.to_string(), files);
        Ok(())
    }

    /// Writes the quarantined rows to `css/<code_css>/quarantaine/<run_id>.parquet` (CSS zone
    /// only). Empty input writes no file. Once per transaction.
    pub fn write_quarantine(&mut self, batches: &[RecordBatch]) -> Result<(), WarehouseError> {
        if self.quarantine.is_some() {
            return Err(WarehouseError::AlreadyWritten {
                table: QUARANTINE.to_string(),
            });
        }
        let batches: Vec<RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).cloned().collect();
        let mut files = TableFiles::default();
        if let Some(schema) = write::common_schema(QUARANTINE, &batches)? {
            let rel = format!("{CSS_DIR}/{}/{QUARANTINE}/{}.parquet", self.code_css, self.run_id);
            files.rows = write::write_parquet(&layout::resolve(&self.staging.dir, &rel), schema, &batches)?;
            files.css_files.push(rel);
        }
        tracing::info!(code_css = %self.code_css, rows = files.rows, "quarantine staged");
        self.quarantine = Some(files);
        Ok(())
    }

    /// Stages the data-quality report; it goes to `_socle/runs/<run_id>/<code_css>-quality.json`
    /// at commit (and stays there: reports are the history of runs, not owned by a manifest).
    pub fn write_quality_report(&mut self, report: &serde_json::Value) -> Result<(), WarehouseError> {
        let rel = format!(
            "{}/runs/{}/{}-quality.json",
            layout::SOCLE_DIR,
            self.run_id,
            self.code_css
        );
        let path = layout::resolve(&self.staging.dir, &rel);
        if let Some(parent) = path.parent() {
            layout::create_dir_all(parent)?;
        }
        let json = serde_json::to_vec_pretty(report).map_err(|source| WarehouseError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, json).map_err(|e| WarehouseError::io("writing", &path, e))?;
        if !self.reports.contains(&rel) {
            self.reports.push(rel);
        }
        Ok(())
    }

    /// Publishes the CSS: (1) moves every staged file to its final path (names carry the run
    /// id, nothing published is overwritten); (2) swaps `_socle/manifests/<code_css>.json`
    /// atomically (the commit point); (3) deletes the previous manifest's files that the new one
    /// does not keep, and the staging folder. A failure before (2) leaves the previous state
    /// whole; stray files are collected by the next [`Warehouse::open`].
    ///
    /// What the new state keeps of the previous one (a night replaces the school years it
    /// contains, nothing else):
    /// - a table not written by this transaction (its source failed or was not sent) keeps all
    ///   its previous files;
    /// - a table written keeps its previous partitions of the school years that no table of
    ///   this transaction contains (an export of 2025-2026 alone leaves 2024-2025 as it was),
    ///   and loses those of the years the night contains, even where the new night has no row;
    /// - tables not partitioned by year, and the quarantine, are replaced.
    ///
    /// Source states in `info.sources` replace the previous ones of the same system; the others
    /// are kept. `info.held_drops` replace the previous held drops; `info.accepted_drops` are
    /// added to the history of accepted drops, stamped with the publication time. Refuses a
    /// `key_fingerprint` different from the one of the other CSS of the warehouse.
    pub fn commit(self, info: ManifestInfo) -> Result<Manifest, WarehouseError> {
        let warehouse = &self.warehouse;
        warehouse.check_key_fingerprint(&self.code_css, &info.key_fingerprint)?;
        let previous = warehouse.manifest(&self.code_css)?;
        if previous.as_ref().is_some_and(|p| p.run_id == self.run_id) {
            return Err(WarehouseError::RunIdReused {
                code_css: self.code_css.clone(),
                run_id: self.run_id.clone(),
            });
        }
        // Years removed by a retention stay removed: a night that still exports them (GPI keeps
        // years of history) does not bring them back.
        let mut tables = self.tables.clone();
        if let Some(last) = crate::retention::last_year_removed(previous.as_ref()) {
            for t in tables.values_mut().filter(|t| t.years().any(|y| y.as_str() <= last)) {
                tracing::info!(code_css = %self.code_css, up_to = %last, "years past retention not published");
                *t = t.retain_years(|y| y > last);
            }
        }
        let night_years: std::collections::BTreeSet<String> =
            tables.values().flat_map(|t| t.years().cloned()).collect();
        let mut sources = BTreeMap::new();
        if let Some(prev) = &previous {
            for (name, files) in &prev.tables {
                match tables.get_mut(name) {
                    None => {
                        tables.insert(name.clone(), files.clone());
                    }
                    Some(new) if !files.partition_rows.is_empty() => {
                        new.merge(files.retain_years(|y| !night_years.contains(y)));
                    }
                    Some(_) => {}
                }
            }
            sources = prev.sources.clone();
        }
        for (system, state) in info.sources {
            sources.insert(system, state);
        }
        let published_at = warehouse::now_rfc3339();
        let mut accepted_drops = previous.as_ref().map(|p| p.accepted_drops.clone()).unwrap_or_default();
        accepted_drops.extend(info.accepted_drops.into_iter().map(|mut d| {
            d.accepted_at.get_or_insert_with(|| published_at.clone());
            d
        }));
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT,
            code_css: self.code_css.clone(),
            run_id: self.run_id.clone(),
            night: info.night,
            published_at,
            dictionary_version: info.dictionary_version,
            key_fingerprint: info.key_fingerprint,
            demo_key: info.demo_key,
            inputs: info.inputs,
            tables,
            quarantine: self.quarantine.clone().unwrap_or_default(),
            quality: info.quality,
            sources,
            held_drops: info.held_drops,
            accepted_drops,
            // The history of retentions and key rotations outlives the nights.
            retention: previous.as_ref().map(|p| p.retention.clone()).unwrap_or_default(),
            rekeyed: previous.as_ref().and_then(|p| p.rekeyed.clone()),
            // Versions of the tables this night does not change stay as they were.
            delta: previous.as_ref().map(|p| p.delta.clone()).unwrap_or_default(),
        };
        // Only this transaction's files move; files kept from the previous state stay put and
        // are not deleted.
        let new_files: std::collections::HashSet<&String> = self
            .tables
            .values()
            .flat_map(TableFiles::all_files)
            .chain(self.quarantine.iter().flat_map(TableFiles::all_files))
            .collect();
        let staged: Vec<String> = manifest.files().filter(|f| new_files.contains(f)).cloned().collect();
        let kept: std::collections::HashSet<&String> = manifest.files().collect();
        let old: Vec<String> = previous
            .as_ref()
            .map(|p| p.files().filter(|f| !kept.contains(f)).cloned().collect())
            .unwrap_or_default();
        let manifest_path = layout::manifest_path(warehouse.root(), &self.code_css);
        let delta = warehouse::DeltaPublication {
            owner: Some(&self.code_css),
            listed: manifest.files().cloned().collect(),
            meta: crate::delta::CommitMetadata {
                run_id: self.run_id.clone(),
                owner: self.code_css.clone(),
                operation: "nuit",
            },
        };
        warehouse::publish(
            warehouse.root(),
            Some(&self.staging.dir),
            &staged,
            &self.reports,
            (self.failpoint.as_deref(), &self.code_css),
            delta,
            |versions| {
                manifest.delta.extend(versions);
                manifest::write_json_atomic(&manifest_path, &manifest, &self.run_id)
            },
            (&old, warehouse.replaced_grace()),
        )?;
        tracing::info!(
            code_css = %self.code_css,
            run_id = %self.run_id,
            tables = manifest.tables.len(),
            rows = manifest.tables.values().map(|t| t.rows).sum::<u64>(),
            quarantined = manifest.quarantine.rows,
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "CSS published"
        );
        Ok(manifest)
        // Dropping `self` removes the staging folder and releases the lock.
    }
}
