//! The query session: every table registered from the current manifests.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::MemoryLimit;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::object_store::{ObjectMeta, ObjectStoreExt};
use datafusion::prelude::{SessionContext, col, lit};

use crate::error::WarehouseError;
use crate::layout::{self, CSS_COLUMN, CSS_DIR, QUARANTINE};
use crate::manifest::MartsManifest;
use crate::schema::shared_schema;
use crate::warehouse::Warehouse;

/// Bytes read from the end of a Parquet file in the hope of getting its whole footer at once
/// (a larger footer costs a second read).
const FOOTER_SIZE_HINT: usize = 64 * 1024;

/// A session for the warehouse's files, configured for the marts' queries at the province scale
/// (see the comments on each option), with no memory limit: what queries and dashboards use.
pub fn new_context() -> SessionContext {
    new_context_with(None, None)
}

/// The reading options of every session over the warehouse's files (see the comment on each);
/// the server adds its own (information_schema) on top.
pub fn session_config() -> datafusion::prelude::SessionConfig {
    let mut config = datafusion::prelude::SessionConfig::new();
    // Text read as plain `Utf8`: string views keep whole decoded pages alive behind slices.
    config.options_mut().execution.parquet.schema_force_view_types = false;
    // Hash joins partition both sides by key rather than collecting one side whole: a chain of
    // LEFT JOINs (a mart joining its population to several small lookups) otherwise collects the
    // large left side again at every join.
    config.options_mut().optimizer.hash_join_single_partition_threshold = 0;
    config.options_mut().optimizer.hash_join_single_partition_threshold_rows = 0;
    config
}

/// [`new_context`] on `runtime`: the marts stage passes one with a memory pool and a disk
/// manager for spilling ([`crate::MartsTransaction::runtime`]), shared by every session of the
/// stage so the limit holds for the stage as a whole, and `target_partitions` (default: the
/// machine's cores) when it runs several queries at once, each on fewer cores.
pub fn new_context_with(runtime: Option<Arc<RuntimeEnv>>, target_partitions: Option<usize>) -> SessionContext {
    let mut config = session_config();
    if let Some(n) = target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    match runtime {
        Some(rt) => {
            // A sort reserves this much up front to merge what it spilled (10 MiB by default):
            // under a small limit, that reservation alone would fail every sort. A sixteenth of
            // the limit leaves room for the rest of the query.
            if let MemoryLimit::Finite(limit) = rt.memory_pool.memory_limit() {
                let reservation = &mut config.options_mut().execution.sort_spill_reservation_bytes;
                *reservation = (*reservation).min(limit / 16);
            }
            SessionContext::new_with_config_rt(config, rt)
        }
        None => SessionContext::new_with_config(config),
    }
}

/// A Parquet table over explicit files (absolute paths), its schema the merge of theirs: how the
/// marts stage reads the files it just staged, or kept from the previous build, of a model.
pub async fn parquet_table(
    ctx: &SessionContext,
    paths: &[std::path::PathBuf],
) -> Result<Arc<dyn TableProvider>, WarehouseError> {
    listing_table_of(ctx, paths).await
}

/// Which zone a session sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Zone {
    /// The shared zone: each shared table over every CSS, and the aggregate marts with their
    /// small cells suppressed. No personal data besides the pseudonymous key.
    Shared,
    /// One CSS's own zone: its tables with every column, its quarantine (`quarantaine`), and
    /// its own rows of every mart (exact counts, and the nominative marts).
    Css(String),
}

impl Warehouse {
    /// A DataFusion session with every table of `zone` registered by its plain name from the
    /// current manifests (never by listing folders, so a reader never sees a half-published
    /// run).
    ///
    /// - [`Zone::Shared`]: each table's shared files over all CSS, plus every mart.
    /// - [`Zone::Css`]: that CSS's tables and `quarantaine`, plus every mart from the CSS's own
    ///   mart files (exact counts, and the nominative marts that never reach the shared zone).
    ///
    /// Tables with no file yet are registered empty with their schema from `schemas` (entity
    /// name -> full schema, see [`crate::entity_schemas`]), otherwise skipped. In the shared
    /// zone, fields tagged with a never-shared personal class ([`crate::PERSONAL_METADATA_KEY`])
    /// are dropped from those schemas.
    ///
    /// A table's schema is the merge of its files' schemas, so CSS published under different
    /// dictionary versions can be read together (missing columns read as null).
    pub async fn session(
        &self,
        zone: Zone,
        schemas: &BTreeMap<String, SchemaRef>,
    ) -> Result<SessionContext, WarehouseError> {
        let ctx = new_context();
        self.register_zone(&ctx, &zone, schemas).await?;
        Ok(ctx)
    }

    /// Registers the tables of `zone` in an existing session (one with user-defined functions,
    /// for instance); see [`Warehouse::session`].
    pub async fn register_zone(
        &self,
        ctx: &SessionContext,
        zone: &Zone,
        schemas: &BTreeMap<String, SchemaRef>,
    ) -> Result<(), WarehouseError> {
        self.register_tables(ctx, zone, None, schemas, true).await
    }

    /// Registers the canonical tables of `zone` without the published marts (the marts stage
    /// registers this night's models itself); in the shared zone, `only_css` restricts every
    /// table to that CSS's files (a `par_css` model's run), which skips the other CSS's files
    /// altogether rather than filtering their rows.
    pub async fn register_zone_tables(
        &self,
        ctx: &SessionContext,
        zone: &Zone,
        only_css: Option<&str>,
        schemas: &BTreeMap<String, SchemaRef>,
    ) -> Result<(), WarehouseError> {
        self.register_tables(ctx, zone, only_css, schemas, false).await
    }

    async fn register_tables(
        &self,
        ctx: &SessionContext,
        zone: &Zone,
        only_css: Option<&str>,
        schemas: &BTreeMap<String, SchemaRef>,
        with_marts: bool,
    ) -> Result<(), WarehouseError> {
        // Table name -> files (relative), from the manifests.
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut registered = 0usize;
        match zone {
            Zone::Shared => {
                for m in self.manifests()? {
                    if only_css.is_some_and(|c| c != m.code_css) {
                        continue;
                    }
                    for (name, files) in &m.tables {
                        tables
                            .entry(name.clone())
                            .or_default()
                            .extend(files.shared_files.iter().cloned());
                    }
                }
            }
            Zone::Css(code) => {
                if let Some(m) = self.manifest(code)? {
                    for (name, files) in &m.tables {
                        tables
                            .entry(name.clone())
                            .or_default()
                            .extend(files.css_files.iter().cloned());
                    }
                    tables
                        .entry(QUARANTINE.to_string())
                        .or_default()
                        .extend(m.quarantine.css_files.iter().cloned());
                }
            }
        }
        // Tables known only by their schema.
        for name in schemas.keys() {
            if *zone == Zone::Shared && name == QUARANTINE {
                continue;
            }
            tables.entry(name.clone()).or_default();
        }

        let marts = if with_marts { self.marts_manifest()? } else { None };
        let mart_names: Vec<&String> = marts.iter().flat_map(|m| m.marts.keys()).collect();

        for (name, files) in &tables {
            let provider: Arc<dyn TableProvider> = if files.is_empty() {
                if mart_names.contains(&name) {
                    continue; // The mart of that name wins over an empty declared table.
                }
                let Some(schema) = schemas.get(name) else {
                    continue;
                };
                let schema = match zone {
                    Zone::Shared => shared_schema(schema),
                    Zone::Css(_) => schema.clone(),
                };
                Arc::new(MemTable::try_new(schema, vec![vec![]])?)
            } else {
                if mart_names.contains(&name) {
                    return Err(WarehouseError::NameClash { name: name.clone() });
                }
                self.listing_table(ctx, files).await?
            };
            ctx.register_table(TableReference::bare(name.as_str()), provider)?;
            registered += 1;
        }

        if let Some(marts) = &marts {
            registered += self.register_marts_of(ctx, zone, marts).await?;
        }
        tracing::debug!(?zone, tables = registered, "session ready");
        Ok(())
    }

    /// A DataFusion session with only the marts registered (no canonical table), from the
    /// current marts manifest: what a dashboard reads. Cheap to open: one manifest and one
    /// Parquet footer per mart, however many CSS the warehouse holds (a full
    /// [`Warehouse::session`] reads the footer of every canonical file of every CSS).
    ///
    /// [`Zone::Css`] restricts each mart to that CSS as in [`Warehouse::session`]; marts
    /// without a `code_css` column are not registered there. A warehouse whose marts were
    /// never built gives an empty session.
    pub async fn marts_session(&self, zone: Zone) -> Result<SessionContext, WarehouseError> {
        let ctx = new_context();
        self.register_marts(&ctx, &zone).await?;
        Ok(ctx)
    }

    /// Registers the current marts of `zone` in an existing session; see
    /// [`Warehouse::marts_session`]. Returns the number of marts registered.
    pub async fn register_marts(&self, ctx: &SessionContext, zone: &Zone) -> Result<usize, WarehouseError> {
        if let Zone::Css(code) = zone {
            layout::check_code_css(code)?;
        }
        let registered = match self.marts_manifest()? {
            Some(marts) => self.register_marts_of(ctx, zone, &marts).await?,
            None => 0,
        };
        tracing::debug!(?zone, marts = registered, "marts session ready");
        Ok(registered)
    }

    /// Registers the intermediate models of `zone` by name, from the current marts manifest
    /// (none if the marts were never built). Query sessions never hold them; the extracts may
    /// read one (`source: {intermediate: NAME}`).
    ///
    /// - [`Zone::Shared`]: the files built in the shared zone.
    /// - [`Zone::Css`]: the files built in that CSS's zone; for a model built in the shared zone
    ///   only, that CSS's files there (`code_css=<code>`), or a `province` model's file restricted
    ///   to the CSS's rows. A model with no rows of the CSS is not registered.
    pub async fn register_intermediates(&self, ctx: &SessionContext, zone: &Zone) -> Result<usize, WarehouseError> {
        let Some(manifest) = self.marts_manifest()? else {
            return Ok(0);
        };
        let mut registered = 0;
        for (name, files) in &manifest.intermediates {
            let provider = match zone {
                Zone::Shared if files.shared_files.is_empty() => continue,
                Zone::Shared => self.listing_table(ctx, &files.shared_files).await?,
                Zone::Css(code) => {
                    layout::check_code_css(code)?;
                    let own: Vec<String> = files
                        .css_files
                        .iter()
                        .filter(|f| layout::file_css(f) == Some(code.as_str()))
                        .cloned()
                        .collect();
                    let shared_own: Vec<String> = files
                        .shared_files
                        .iter()
                        .filter(|f| layout::file_css(f) == Some(code.as_str()))
                        .cloned()
                        .collect();
                    let province: Vec<String> = files
                        .shared_files
                        .iter()
                        .filter(|f| layout::file_css(f).is_none())
                        .cloned()
                        .collect();
                    if !own.is_empty() {
                        self.listing_table(ctx, &own).await?
                    } else if !shared_own.is_empty() {
                        self.listing_table(ctx, &shared_own).await?
                    } else if !province.is_empty() {
                        let provider = self.listing_table(ctx, &province).await?;
                        if provider.schema().index_of(CSS_COLUMN).is_err() {
                            continue;
                        }
                        ctx.read_table(provider)?
                            .filter(col(CSS_COLUMN).eq(lit(code.as_str())))?
                            .into_view()
                    } else {
                        continue;
                    }
                }
            };
            ctx.register_table(TableReference::bare(name.as_str()), provider)?;
            registered += 1;
        }
        Ok(registered)
    }

    /// Registers the marts of `manifest` (see [`Warehouse::session`] for the CSS zone's views).
    async fn register_marts_of(
        &self,
        ctx: &SessionContext,
        zone: &Zone,
        manifest: &MartsManifest,
    ) -> Result<usize, WarehouseError> {
        let mut registered = 0;
        for (name, files) in &manifest.marts {
            let provider = match zone {
                // Nominative marts have no shared files: never in the shared zone.
                Zone::Shared if files.shared_files.is_empty() => continue,
                Zone::Shared => self.listing_table(ctx, &files.shared_files).await?,
                Zone::Css(code) => {
                    let prefix = format!("{CSS_DIR}/{code}/");
                    let own: Vec<String> = files
                        .css_files
                        .iter()
                        .filter(|f| f.starts_with(&prefix))
                        .cloned()
                        .collect();
                    if !own.is_empty() {
                        self.listing_table(ctx, &own).await?
                    } else if !files.css_files.is_empty() || files.shared_files.is_empty() {
                        // Published for other CSS only (this CSS had no zone then).
                        continue;
                    } else {
                        // Marts published before per-CSS files existed: the shared file, restricted.
                        let provider = self.listing_table(ctx, &files.shared_files).await?;
                        if provider.schema().index_of(CSS_COLUMN).is_err() {
                            tracing::debug!(mart = %name, "mart without code_css: not in a CSS zone");
                            continue;
                        }
                        ctx.read_table(provider)?
                            .filter(col(CSS_COLUMN).eq(lit(code.as_str())))?
                            .into_view()
                    }
                }
            };
            ctx.register_table(TableReference::bare(name.as_str()), provider)?;
            registered += 1;
        }
        Ok(registered)
    }

    /// A Parquet table over an explicit list of files (relative to the root). Its schema is the
    /// merge of the files' schemas, their footers read concurrently.
    async fn listing_table(
        &self,
        ctx: &SessionContext,
        files: &[String],
    ) -> Result<Arc<dyn TableProvider>, WarehouseError> {
        let paths: Vec<std::path::PathBuf> = files.iter().map(|rel| layout::resolve(self.root(), rel)).collect();
        listing_table_of(ctx, &paths).await
    }
}

/// A Parquet table over files given by absolute path; see [`parquet_table`].
async fn listing_table_of(
    ctx: &SessionContext,
    files: &[std::path::PathBuf],
) -> Result<Arc<dyn TableProvider>, WarehouseError> {
    {
        let state = ctx.state();
        // Warehouse files are small (a footer is a few KiB): DataFusion's default hint reads
        // the last 512 KiB of each file, often the whole file, to find its footer.
        let format = Arc::new(ParquetFormat::default().with_metadata_size_hint(Some(FOOTER_SIZE_HINT)));
        let options = ListingOptions::new(format.clone()).with_file_extension(".parquet");
        let mut urls = Vec::with_capacity(files.len());
        for path in files {
            // A file of a warehouse on an object store is read from there, its store registered
            // with the session's runtime (by bucket, once).
            if let Some((remote, rel)) = crate::store::remote_of(path) {
                state
                    .runtime_env()
                    .register_object_store(remote.bucket_url(), remote.read_store());
                urls.push(ListingTableUrl::parse(remote.object_url(&rel))?);
                continue;
            }
            let path_str = path.to_str().ok_or_else(|| WarehouseError::InvalidName {
                what: "file path (not UTF-8)",
                value: path.display().to_string(),
            })?;
            urls.push(ListingTableUrl::parse(path_str)?);
        }
        let Some(first) = urls.first() else {
            return Err(WarehouseError::DataFusion(DataFusionError::Internal(
                "a listing table needs at least one file".to_string(),
            )));
        };
        let store = state.runtime_env().object_store(first.object_store())?;
        // Each file's size and date (what the footer cache checks), concurrently.
        let mut heads = tokio::task::JoinSet::new();
        for (i, url) in urls.iter().enumerate() {
            let store = Arc::clone(&store);
            let location = url.prefix().clone();
            heads.spawn(async move { (i, store.head(&location).await) });
        }
        let mut objects = vec![None; urls.len()];
        while let Some(joined) = heads.join_next().await {
            let (i, head) = joined.map_err(|e| WarehouseError::DataFusion(DataFusionError::External(Box::new(e))))?;
            objects[i] = Some(head.map_err(|e| WarehouseError::DataFusion(e.into()))?);
        }
        let objects: Vec<ObjectMeta> = objects.into_iter().flatten().collect();
        let schema = format.infer_schema(&state, &store, &objects).await?;
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}
