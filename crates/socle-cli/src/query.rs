//! `socle query`: DataFusion SQL over the warehouse, every table by its plain name.

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use socle_dictionary::Dictionary;
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
    let df = ctx.sql(&a.sql).await.context("SQL error")?;
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
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut sink);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut sink);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            w.write_batches(&refs)?;
            w.finish()?;
            writeln!(sink)?;
        }
        OutputFormat::Parquet => {
            let props = datafusion::parquet::file::properties::WriterProperties::builder()
                .set_compression(datafusion::parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(&mut sink, schema, Some(props))?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    sink.flush()?;
    Ok(())
}
