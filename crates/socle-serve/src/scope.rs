//! What an account sees, enforced where the data is read: the DataFusion session a request or a
//! SQL connection gets holds only the tables of its account's scope, each already restricted
//! (rows of its establishments, columns without personal data). A page never "hides" a table
//! the session has: a `css` account's session has no other CSS's table to ask for.
//!
//! | role | tables in its session |
//! |---|---|
//! | `ministere` | the shared zone: each canonical table over every CSS (pseudonymous, no personal column) and the aggregate marts with small cells suppressed; never a nominative mart |
//! | `css` | its CSS's zone: canonical tables, aggregate marts with exact counts; with `nominatif`, also the personal columns, the nominative marts and `quarantaine` |
//! | `ecole` | the marts of its CSS's zone that have `code_etablissement`, restricted to its establishments; the nominative ones only with `nominatif` |
//! | `admin` | nothing (it reads the audit log) |
//!
//! Building a zone's tables reads the Parquet footers of its files: done once per scope and per
//! publication of the warehouse ([`Warehouse::publication_stamp`]), then shared by every
//! session of that scope. A new night is picked up by the next request or statement, and a
//! statement already running keeps reading the files it planned with (the night keeps replaced
//! files for a grace period).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::common::TableReference;
use datafusion::prelude::{SessionConfig, SessionContext, col, lit};
use futures::StreamExt;
use socle_dictionary::Dictionary;
use socle_marts::{Project, Publication};
use socle_session::ZoneSessions;
use socle_warehouse::{QUARANTINE, Warehouse, Zone};
use tokio::sync::OnceCell;

use crate::access::{Account, Role};

/// The column that ties a mart's row to an establishment.
pub const ETABLISSEMENT: &str = "code_etablissement";

/// An account's scope, as far as data goes (two accounts of one scope share their tables).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub role: Role,
    pub css: Option<String>,
    pub etablissements: BTreeSet<String>,
    pub nominatif: bool,
}

impl Scope {
    pub fn of(account: &Account) -> Self {
        Scope {
            role: account.role,
            css: account.css.clone(),
            etablissements: account.etablissements.iter().cloned().collect(),
            nominatif: account.nominatif,
        }
    }

    /// The warehouse zone the scope reads, if any.
    pub fn zone(&self) -> Option<Zone> {
        match self.role {
            Role::Ministere => Some(Zone::Shared),
            Role::Css | Role::Ecole => self.css.clone().map(Zone::Css),
            Role::Admin => None,
        }
    }

    /// `shared`, `css:<code>`, `ecole:<code>:<etab>,...` or `none`: the audit's zone.
    pub fn label(&self) -> String {
        match (self.role, &self.css) {
            (Role::Ministere, _) => "shared".to_string(),
            (Role::Css, Some(c)) => format!("css:{c}"),
            (Role::Ecole, Some(c)) => format!(
                "ecole:{c}:{}",
                self.etablissements.iter().cloned().collect::<Vec<_>>().join(",")
            ),
            _ => "none".to_string(),
        }
    }
}

/// The tables of one scope at one publication.
#[derive(Debug)]
pub struct ScopeTables {
    pub stamp: String,
    pub tables: BTreeMap<String, Arc<dyn TableProvider>>,
}

impl ScopeTables {
    /// Whether `name` is a mart this scope may read.
    pub fn has(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// A scope's tables, built once by the first request that needs them.
type ScopeCell = OnceCell<Arc<ScopeTables>>;

/// The reference tables by name, as `socle_marts::reference_tables` builds them.
type ReferenceTables = Vec<(String, RecordBatch)>;

/// The warehouse as the server reads it: the dictionary, the pipelines, and the tables of each
/// scope at the current publication.
pub struct Catalog {
    pub warehouse: Warehouse,
    pub dictionary: Dictionary,
    pub project: Project,
    /// Each scope's tables, under the publication stamp they were built for.
    cache: Mutex<HashMap<Scope, (String, Arc<ScopeCell>)>>,
    /// The reference tables (registry, school years, seeds), built at the first session: they
    /// come from the binary and the project, which do not change while the server runs.
    reference: Mutex<Option<Arc<ReferenceTables>>>,
    /// Bytes of marts each scope may hold in memory (see [`Catalog::with_marts_memory`]).
    marts_memory: usize,
}

/// Bytes of marts a scope holds in memory unless told otherwise (`--marts-memory-mib`).
pub const DEFAULT_MARTS_MEMORY: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error(transparent)]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Marts(String),
    #[error(transparent)]
    Session(#[from] socle_session::SessionError),
}

/// Session settings of every server session: the warehouse's reading options, and
/// `information_schema` for the SQL clients' catalog queries.
pub fn session_config() -> SessionConfig {
    socle_warehouse::session_config().with_information_schema(true)
}

impl Catalog {
    pub fn new(warehouse: Warehouse, dictionary: Dictionary, project: Project) -> Self {
        Catalog {
            warehouse,
            dictionary,
            project,
            cache: Mutex::new(HashMap::new()),
            reference: Mutex::new(None),
            marts_memory: DEFAULT_MARTS_MEMORY,
        }
    }

    /// Lets each scope hold up to `bytes` of its marts in memory, read once per publication,
    /// instead of decoding their Parquet files on every statement and page (0: never). A mart
    /// that would pass the budget stays on its files; canonical tables always do.
    pub fn with_marts_memory(mut self, bytes: usize) -> Self {
        self.marts_memory = bytes;
        self
    }

    /// The tables of `scope` at the current publication (built once per publication).
    pub async fn tables(&self, scope: &Scope) -> Result<Arc<ScopeTables>, ScopeError> {
        let stamp = self.warehouse.publication_stamp()?;
        // One cell per scope and publication: the requests of a scope arriving together after a
        // night wait for one build instead of each reading the marts again.
        let cell = {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| ScopeError::Marts("scope cache: lock poisoned".to_string()))?;
            match cache.get(scope) {
                Some((s, cell)) if *s == stamp => Arc::clone(cell),
                _ => {
                    let cell = Arc::new(OnceCell::new());
                    cache.insert(scope.clone(), (stamp.clone(), Arc::clone(&cell)));
                    cell
                }
            }
        };
        let tables = cell
            .get_or_try_init(|| async {
                let mut built = self.build(scope).await?;
                self.hold_marts_in_memory(scope, &mut built).await?;
                Ok::<_, ScopeError>(Arc::new(ScopeTables { tables: built, stamp }))
            })
            .await?;
        Ok(Arc::clone(tables))
    }

    /// A new session holding exactly the tables of `scope` (and the marts' reference tables).
    pub async fn session(&self, scope: &Scope) -> Result<(SessionContext, Arc<ScopeTables>), ScopeError> {
        let tables = self.tables(scope).await?;
        Ok((self.session_over(scope, &tables)?, tables))
    }

    /// A new session over tables already resolved by [`Catalog::tables`] (a request that found
    /// its answer cached skips this).
    pub fn session_over(&self, scope: &Scope, tables: &ScopeTables) -> Result<SessionContext, ScopeError> {
        let ctx = SessionContext::new_with_config(session_config());
        for (name, provider) in &tables.tables {
            ctx.register_table(TableReference::bare(name.as_str()), Arc::clone(provider))?;
        }
        if scope.role != Role::Admin {
            socle_marts::register_reference_tables(&ctx, &self.reference()?)
                .map_err(|e| ScopeError::Marts(e.to_string()))?;
        }
        Ok(ctx)
    }

    fn reference(&self) -> Result<Arc<ReferenceTables>, ScopeError> {
        let mut slot = self
            .reference
            .lock()
            .map_err(|_| ScopeError::Marts("reference tables: lock poisoned".to_string()))?;
        if let Some(r) = slot.as_ref() {
            return Ok(Arc::clone(r));
        }
        let built =
            Arc::new(socle_marts::reference_tables(&self.project).map_err(|e| ScopeError::Marts(e.to_string()))?);
        *slot = Some(Arc::clone(&built));
        Ok(built)
    }

    /// Replaces the scope's marts by in-memory copies of their rows, as many as the budget
    /// holds (a mart is read as a stream and left on its files once it would pass the budget,
    /// so the budget bounds what is read too). Marts are small next to the canonical tables
    /// (one row per school, year, subject...), and a scope's marts are what its pages and its
    /// analysts' statements read again and again until the next night.
    async fn hold_marts_in_memory(
        &self,
        scope: &Scope,
        tables: &mut BTreeMap<String, Arc<dyn TableProvider>>,
    ) -> Result<(), ScopeError> {
        let mut left = self.marts_memory;
        let mut held = Vec::new();
        let ctx = SessionContext::new_with_config(session_config());
        for mart in &self.project.marts {
            let name = &mart.spec.name;
            let Some(provider) = tables.get(name) else { continue };
            let df = ctx.read_table(Arc::clone(provider))?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let mut stream = df.execute_stream().await?;
            let mut batches = Vec::new();
            let mut size = 0usize;
            let mut fits = true;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                size += batch.get_array_memory_size();
                if size > left {
                    fits = false;
                    break;
                }
                batches.push(batch);
            }
            if !fits {
                tracing::info!(scope = %scope.label(), mart = %name, "mart left on its files: over the memory budget");
                continue;
            }
            left -= size;
            let table = MemTable::try_new(schema, vec![batches])?;
            tables.insert(name.clone(), Arc::new(table));
            held.push(name.as_str());
        }
        tracing::info!(
            scope = %scope.label(),
            marts = held.len(),
            mib = (self.marts_memory - left) / (1024 * 1024),
            "marts held in memory"
        );
        Ok(())
    }

    fn nominative(&self) -> BTreeSet<String> {
        self.project
            .marts
            .iter()
            .filter(|m| m.spec.publication == Publication::Css)
            .map(|m| m.spec.name.clone())
            .collect()
    }

    /// The zone's session from the one opener (`socle-session`): tables, marts, reference
    /// tables and nights; [`Catalog::build`] keeps what the scope may see of it.
    async fn zone_session(&self, zone: &Zone) -> Result<SessionContext, ScopeError> {
        ZoneSessions::new(&self.warehouse, Some(&self.dictionary))?
            .with_project(&self.project)
            .open(zone)
            .await
            .map_err(ScopeError::from)
    }

    async fn build(&self, scope: &Scope) -> Result<BTreeMap<String, Arc<dyn TableProvider>>, ScopeError> {
        let Some(zone) = scope.zone() else {
            return Ok(BTreeMap::new());
        };
        let wh = &self.warehouse;
        let nominative = self.nominative();
        let mut out = BTreeMap::new();
        match scope.role {
            Role::Admin => {}
            Role::Ministere => {
                let ctx = self.zone_session(&zone).await?;
                for (name, provider) in registered(&ctx).await? {
                    // The shared zone never holds a nominative mart; refuse one by name anyway.
                    if !nominative.contains(&name) && name != QUARANTINE {
                        out.insert(name, provider);
                    }
                }
            }
            Role::Css => {
                let ctx = self.zone_session(&zone).await?;
                let entities: BTreeMap<&str, _> = self
                    .dictionary
                    .entities
                    .iter()
                    .map(|e| (e.name.as_str(), e.arrow_schema()))
                    .collect();
                for (name, provider) in registered(&ctx).await? {
                    if scope.nominatif {
                        out.insert(name, provider);
                        continue;
                    }
                    if name == QUARANTINE || nominative.contains(&name) {
                        continue;
                    }
                    match entities.get(name.as_str()) {
                        // A canonical table: only the columns the shared zone may hold.
                        Some(full) => {
                            let keep: Vec<String> = socle_warehouse::shared_schema(full)
                                .fields()
                                .iter()
                                .map(|f| f.name().clone())
                                .filter(|f| provider.schema().index_of(f).is_ok())
                                .collect();
                            let cols: Vec<&str> = keep.iter().map(String::as_str).collect();
                            let view = ctx.read_table(provider)?.select_columns(&cols)?.into_view();
                            out.insert(name, view);
                        }
                        None => {
                            out.insert(name, provider);
                        }
                    }
                }
            }
            Role::Ecole => {
                let ctx = wh.marts_session(zone).await?;
                let etabs: Vec<_> = scope.etablissements.iter().map(|e| lit(e.as_str())).collect();
                for (name, provider) in registered(&ctx).await? {
                    if nominative.contains(&name) && !scope.nominatif {
                        continue;
                    }
                    if provider.schema().index_of(ETABLISSEMENT).is_err() {
                        continue;
                    }
                    let view = ctx
                        .read_table(provider)?
                        .filter(col(ETABLISSEMENT).in_list(etabs.clone(), false))?
                        .into_view();
                    out.insert(name, view);
                }
            }
        }
        Ok(out)
    }
}

/// Every table of the default schema of `ctx`, by name.
async fn registered(ctx: &SessionContext) -> Result<Vec<(String, Arc<dyn TableProvider>)>, ScopeError> {
    let Some(schema) = ctx.catalog("datafusion").and_then(|c| c.schema("public")) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for name in schema.table_names() {
        if let Some(t) = schema.table(&name).await? {
            out.push((name, t));
        }
    }
    Ok(out)
}
