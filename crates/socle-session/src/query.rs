//! `socle query`: DataFusion SQL over one zone of the warehouse, every table by its plain name,
//! read-only unless `allow_files`: the text goes through `socle_warehouse::check_read_only`
//! (no COPY, DDL, DML, engine settings nor file-reading table function, in any statement)
//! before anything is opened, then DataFusion plans it with `read_only_options` (DDL, DML and
//! statements off): the same two layers as the SQL endpoint's. The read is audited (tables read
//! and a hash of the text, never the text) before any row is returned.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use socle_dictionary::Dictionary;
use socle_warehouse::{Warehouse, Zone};

use crate::ZoneSessions;

/// The options of `socle query` that say what is read, defined here once.
#[derive(clap::Args, Debug, Clone)]
pub struct QueryRequest {
    /// The SQL to run (one statement).
    pub sql: String,
    #[arg(long, default_value = "warehouse")]
    pub warehouse: PathBuf,
    /// Query this CSS's own zone (its staff's view, with personal data) instead of the shared zone.
    #[arg(long)]
    pub css: Option<String>,
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// The pipelines whose reference tables (annees_scolaires, ref_cours, seeds...) are
    /// registered beside the warehouse's tables, as in the marts; skipped if absent.
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// Who queries, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Read the warehouse as a past night left it: a run id (`socle history` lists them), a
    /// date (2026-12-05: the end of that day, UTC) or a date-time (2026-12-05T03:15:00Z).
    #[arg(long, value_name = "RUN_ID|DATE")]
    pub as_of: Option<String>,
    /// Run the query on a Ballista cluster (`ballista://HOST:PORT`) instead of in this process.
    #[arg(long, value_name = "ballista://HOST:PORT")]
    pub engine: Option<String>,
    /// Lets the SQL read and write local files (COPY, CREATE EXTERNAL TABLE): for the data team
    /// on the warehouse machine only.
    #[arg(long)]
    pub allow_files: bool,
}

/// Why a query returned nothing.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0} (`socle query --allow-files`: for the data team on the warehouse machine only)")]
    Refused(String),
    #[error("CSS {code} has no published data in {} (at the state read)", warehouse.display())]
    UnknownCss { code: String, warehouse: PathBuf },
    #[error("SQL error: {0}")]
    Sql(datafusion::error::DataFusionError),
    #[error("query failed: {0}")]
    Execution(datafusion::error::DataFusionError),
    #[error("cannot write the audit log: nothing is returned without its audit line: {0}")]
    Audit(socle_warehouse::WarehouseError),
    #[error(transparent)]
    Session(#[from] crate::SessionError),
    #[error(transparent)]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error("pipelines: {0}")]
    Pipelines(#[from] socle_marts::MartError),
}

/// Runs `req`'s SQL: see the module. Returns the result's schema and rows.
pub async fn run_query(req: &QueryRequest) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
    // Before anything is opened: a refused text does nothing at all.
    if req.allow_files {
        tracing::warn!("--allow-files: this SQL may read and write local files");
    } else if let Err(refusal) = socle_warehouse::check_read_only(&req.sql) {
        return Err(QueryError::Refused(refusal.to_string()));
    }
    let wh = Warehouse::open_existing(&req.warehouse)?;
    let wh = match &req.as_of {
        Some(as_of) => wh.at(as_of)?,
        None => wh,
    };
    let dict = Dictionary::load(&req.schemas).ok();
    let zone = match &req.css {
        Some(code) if wh.manifest(code)?.is_none() => {
            return Err(QueryError::UnknownCss {
                code: code.clone(),
                warehouse: req.warehouse.clone(),
            });
        }
        Some(code) => Zone::Css(code.clone()),
        None => Zone::Shared,
    };
    // The marts' reference tables too, so a mart's SQL can be run (or explained) as is.
    let project = match req.pipelines.join("marts").exists() {
        true => Some(socle_marts::load(&req.pipelines)?.0),
        false => None,
    };
    let mut sessions = ZoneSessions::new(&wh, dict.as_ref())?.with_engine(req.engine.as_deref());
    if let Some(p) = &project {
        sessions = sessions.with_project(p);
    }
    let ctx = sessions.open(&zone).await?;
    let df = match req.allow_files {
        true => ctx.sql(&req.sql).await,
        false => {
            ctx.sql_with_options(&req.sql, socle_warehouse::read_only_options())
                .await
        }
    }
    .map_err(QueryError::Sql)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut target = socle_warehouse::query_target(df.logical_plan(), &req.sql);
    if let Some(as_of) = wh.as_of() {
        // Which past state was read belongs to the record.
        target.push_str(&format!(";as_of:{as_of}"));
    }
    let batches = df.collect().await.map_err(QueryError::Execution)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    socle_warehouse::record_read(wh.root(), req.by.as_deref(), "query", &zone, &target, rows as u64)
        .map_err(QueryError::Audit)?;
    Ok((schema, batches))
}
