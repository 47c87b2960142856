//! `socle query`: DataFusion SQL over the warehouse, every table by its plain name.
//!
//! Read-only unless `--allow-files`: the text goes through `socle_warehouse::check_read_only`
//! (no COPY, DDL, DML, engine settings nor file-reading table function, in any statement), then
//! DataFusion plans it with `read_only_options` (DDL, DML and statements off), the same two
//! layers as the SQL endpoint's.

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use socle_dictionary::Dictionary;
use socle_export::ResultFormat;
use socle_session::ZoneSessions;
use socle_warehouse::{Warehouse, Zone};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The SQL to run (one statement).
    sql: String,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// Query this CSS's own zone (its staff's view, with personal data) instead of the shared zone.
    #[arg(long)]
    css: Option<String>,
    #[arg(long, value_parser = ResultFormat::from_arg, default_value = "table", value_name = "table|csv|json|parquet")]
    format: ResultFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// The pipelines whose reference tables (annees_scolaires, ref_cours, seeds...) are
    /// registered beside the warehouse's tables, as in the marts; skipped if absent.
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    /// Who queries, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// Lets the SQL read and write local files (COPY, CREATE EXTERNAL TABLE): for the data team
    /// on the warehouse machine only.
    #[arg(long)]
    allow_files: bool,
}

pub async fn query(a: QueryArgs) -> Result<()> {
    // Before anything is opened: a refused text does nothing at all.
    if a.allow_files {
        tracing::warn!("--allow-files: this SQL may read and write local files");
    } else if let Err(refusal) = socle_warehouse::check_read_only(&a.sql) {
        bail!("{refusal} (`socle query --allow-files`: for the data team on the warehouse machine only)");
    }
    if !a.warehouse.join("_socle").exists() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let wh = Warehouse::open(&a.warehouse)?;
    let dict = Dictionary::load(&a.schemas).ok();
    let zone = match &a.css {
        Some(code) if wh.manifest(code)?.is_none() => {
            bail!("CSS {code} has no published data in {}", a.warehouse.display())
        }
        Some(code) => Zone::Css(code.clone()),
        None => Zone::Shared,
    };
    // The marts' reference tables too, so a mart's SQL can be run (or explained) as is.
    let project = match a.pipelines.join("marts").exists() {
        true => Some(socle_marts::load(&a.pipelines)?.0),
        false => None,
    };
    let mut sessions = ZoneSessions::new(&wh, dict.as_ref())?;
    if let Some(p) = &project {
        sessions = sessions.with_project(p);
    }
    let ctx = sessions.open(&zone).await?;
    let df = if a.allow_files {
        ctx.sql(&a.sql).await
    } else {
        ctx.sql_with_options(&a.sql, socle_warehouse::read_only_options()).await
    }
    .context("SQL error")?;
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let target = socle_warehouse::query_target(df.logical_plan(), &a.sql);
    let batches = df.collect().await.context("query failed")?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    crate::audit::record(wh.root(), a.by.as_deref(), "query", &zone, &target, rows as u64)?;
    match &a.output {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            a.format.write(std::io::BufWriter::new(file), &schema, &batches)?;
        }
        None if a.format == ResultFormat::Parquet => bail!("--format parquet needs --output FILE"),
        None => a
            .format
            .write(std::io::BufWriter::new(std::io::stdout()), &schema, &batches)?,
    }
    Ok(())
}
