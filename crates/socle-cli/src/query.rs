//! `socle query`: DataFusion SQL over the warehouse, read-only unless `--allow-files`, audited
//! (`socle_session::run_query`); the result as a table, CSV, JSON or Parquet.

use anyhow::{Context, Result, bail};
use socle_export::ResultFormat;
use socle_session::QueryRequest;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    request: QueryRequest,
    #[arg(long, value_parser = ResultFormat::from_arg, default_value = "table", value_name = "table|csv|json|parquet")]
    format: ResultFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub async fn query(a: QueryArgs) -> Result<u8> {
    if a.output.is_none() && a.format == ResultFormat::Parquet {
        bail!("--format parquet needs --output FILE");
    }
    let (schema, batches) = socle_session::run_query(&a.request).await?;
    match &a.output {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            a.format.write(std::io::BufWriter::new(file), &schema, &batches)?;
        }
        None => a
            .format
            .write(std::io::BufWriter::new(std::io::stdout()), &schema, &batches)?,
    }
    Ok(0)
}
