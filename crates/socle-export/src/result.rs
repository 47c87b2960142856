//! A query's result written as `socle query` gives it: a table for people, or CSV (plain, for
//! tools), JSON rows, or Parquet.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::{CsvOptions, Result};

/// The formats of a query's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// An aligned text table and the row count.
    Table,
    Csv,
    Json,
    Parquet,
}

impl ResultFormat {
    /// A command-line value: `table`, `csv`, `json` or `parquet`.
    pub fn from_arg(s: &str) -> std::result::Result<Self, String> {
        match s {
            "table" => Ok(ResultFormat::Table),
            "csv" => Ok(ResultFormat::Csv),
            "json" => Ok(ResultFormat::Json),
            "parquet" => Ok(ResultFormat::Parquet),
            _ => Err("table, csv, json or parquet".to_string()),
        }
    }

    /// Writes `batches` (of `schema`) to `sink` in this format.
    pub fn write(self, mut sink: impl Write + Send, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
        match self {
            ResultFormat::Table => {
                writeln!(
                    sink,
                    "{}",
                    datafusion::arrow::util::pretty::pretty_format_batches(batches)?
                )?;
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                writeln!(sink, "{rows} row(s)")?;
            }
            ResultFormat::Csv => {
                crate::write_csv(&mut sink, schema, batches, &CsvOptions::plain())?;
            }
            ResultFormat::Json => {
                crate::write_json(&mut sink, batches)?;
            }
            ResultFormat::Parquet => {
                crate::write_parquet(&mut sink, schema, batches, &[])?;
            }
        }
        sink.flush()?;
        Ok(())
    }
}
