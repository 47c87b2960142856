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
use socle_export::CsvOptions;
use socle_warehouse::{Warehouse, Zone};
use std::collections::BTreeMap;
use std::io::Write;
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
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
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

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Entity name -> shared-zone schema (for tables with no file yet).
pub fn shared_schemas(dict: &Dictionary) -> BTreeMap<String, SchemaRef> {
    dict.entities
        .iter()
        .map(|e| (e.name.clone(), e.shared_arrow_schema()))
        .collect()
}

fn css_schemas(dict: &Dictionary) -> BTreeMap<String, SchemaRef> {
    dict.entities
        .iter()
        .map(|e| (e.name.clone(), e.arrow_schema()))
        .collect()
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
    let (zone, schemas) = match &a.css {
        Some(code) => {
            if wh.manifest(code)?.is_none() {
                bail!("CSS {code} has no published data in {}", a.warehouse.display());
            }
            (
                Zone::Css(code.clone()),
                dict.as_ref().map(css_schemas).unwrap_or_default(),
            )
        }
        None => (Zone::Shared, dict.as_ref().map(shared_schemas).unwrap_or_default()),
    };
    let ctx = wh.session(zone.clone(), &schemas).await?;
    // The marts' reference tables, so a mart's SQL can be run (or explained) as is.
    if a.pipelines.join("marts").exists() {
        let (project, _) = socle_marts::load(&a.pipelines)?;
        socle_marts::register_reference(&ctx, &project)?;
        let nights: Vec<(String, chrono::NaiveDate)> = wh
            .manifests()?
            .into_iter()
            .filter(|m| match &zone {
                Zone::Css(code) => &m.code_css == code,
                Zone::Shared => true,
            })
            .filter_map(|m| {
                chrono::NaiveDate::parse_from_str(&m.night, "%Y-%m-%d")
                    .ok()
                    .map(|d| (m.code_css, d))
            })
            .collect();
        socle_marts::register_nights(&ctx, &nights)?;
    }
    let df = if a.allow_files {
        ctx.sql(&a.sql).await
    } else {
        ctx.sql_with_options(&a.sql, socle_warehouse::read_only_options()).await
    }
    .context("SQL error")?;
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let target = crate::audit::query_target(df.logical_plan(), &a.sql);
    let batches = df.collect().await.context("query failed")?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    crate::audit::record(wh.root(), a.by.as_deref(), "query", &zone, &target, rows as u64)?;
    write(&batches, schema, a.format, a.output.as_ref())
}

fn write(batches: &[RecordBatch], schema: SchemaRef, format: OutputFormat, output: Option<&PathBuf>) -> Result<()> {
    let mut sink: Box<dyn Write + Send> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None if format == OutputFormat::Parquet => bail!("--format parquet needs --output FILE"),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    match format {
        OutputFormat::Table => {
            writeln!(
                sink,
                "{}",
                datafusion::arrow::util::pretty::pretty_format_batches(batches)?
            )?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(sink, "{rows} row(s)")?;
        }
        OutputFormat::Csv => {
            socle_export::write_csv(&mut sink, &schema, batches, &CsvOptions::plain())?;
        }
        OutputFormat::Json => {
            socle_export::write_json(&mut sink, batches)?;
        }
        OutputFormat::Parquet => {
            socle_export::write_parquet(&mut sink, &schema, batches, &[])?;
        }
    }
    sink.flush()?;
    Ok(())
}
