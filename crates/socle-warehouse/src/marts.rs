//! How a mart is written: one file, its rows grouped by CSS (in code order, the mart's own order
//! kept within a CSS), each CSS in its own row groups, with page statistics. A read filtered to
//! one CSS (`WHERE code_css = '...'`, what a dashboard and a CSS zone do) then skips every other
//! row group on the footer's statistics alone: its cost follows that CSS's rows, not the
//! province's.
//!
//! Marts without a `code_css` column are written as they come.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{cast, filter_record_batch, is_null};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;

use crate::error::WarehouseError;
use crate::layout::CSS_COLUMN;

/// The rows of `batches` grouped by `code_css` (column `css_index`): groups in code order, then
/// the rows without a code; the order of the rows within a group is kept.
fn group_by_css(
    mart: &str,
    css_index: usize,
    batches: &[RecordBatch],
) -> Result<Vec<Vec<RecordBatch>>, WarehouseError> {
    let err = |e| WarehouseError::arrow(mart, e);
    let mut groups: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let mut no_code: Vec<RecordBatch> = Vec::new();
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        let codes = cast(batch.column(css_index), &DataType::Utf8).map_err(err)?;
        let codes = codes.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
            err(datafusion::arrow::error::ArrowError::CastError(format!(
                "column `{CSS_COLUMN}` did not cast to Utf8"
            )))
        })?;
        let distinct: std::collections::BTreeSet<&str> = codes.iter().flatten().collect();
        if codes.null_count() == 0 && distinct.len() == 1 {
            if let Some(code) = distinct.first() {
                groups.entry((*code).to_string()).or_default().push(batch.clone());
            }
            continue;
        }
        for code in distinct {
            let mask = eq(codes, &StringArray::new_scalar(code)).map_err(err)?;
            groups
                .entry(code.to_string())
                .or_default()
                .push(filter_record_batch(batch, &mask).map_err(err)?);
        }
        if codes.null_count() > 0 {
            let mask = is_null(codes).map_err(err)?;
            no_code.push(filter_record_batch(batch, &mask).map_err(err)?);
        }
    }
    let mut out: Vec<Vec<RecordBatch>> = groups.into_values().collect();
    if !no_code.is_empty() {
        out.push(no_code);
    }
    Ok(out)
}

/// The rows of `batches` by `code_css`, for the CSS zones. Rows without a code (or a mart without
/// a `code_css` column) cannot go to any zone: an error.
pub(crate) fn split_by_css(
    mart: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<BTreeMap<String, Vec<RecordBatch>>, WarehouseError> {
    let no_zone = || WarehouseError::MartWithoutCss { mart: mart.to_string() };
    let i = schema.index_of(CSS_COLUMN).map_err(|_| no_zone())?;
    let err = |e| WarehouseError::arrow(mart, e);
    let mut out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        let codes = cast(batch.column(i), &DataType::Utf8).map_err(err)?;
        let codes = codes.as_any().downcast_ref::<StringArray>().ok_or_else(no_zone)?;
        if codes.null_count() > 0 {
            return Err(no_zone());
        }
        let distinct: std::collections::BTreeSet<&str> = codes.iter().flatten().collect();
        for code in distinct {
            let part = if codes.len() == 1 || codes.iter().all(|c| c == Some(code)) {
                batch.clone()
            } else {
                let mask = eq(codes, &StringArray::new_scalar(code)).map_err(err)?;
                filter_record_batch(batch, &mask).map_err(err)?
            };
            out.entry(code.to_string()).or_default().push(part);
        }
    }
    Ok(out)
}

/// The one writer of the files of marts and intermediate models: batches go to the file as they
/// come (a model's rows are never all held in memory), row groups are closed by the caller at
/// each CSS boundary ([`MartWriter::end_row_group`]), the file is synced when finished.
pub struct MartWriter {
    path: std::path::PathBuf,
    writer: ArrowWriter<fs::File>,
    rows: u64,
    /// Where the finished file goes at once (create-only), if not left in staging: see
    /// [`crate::MartsTransaction::write_in_place`].
    place: Option<std::path::PathBuf>,
}

impl MartWriter {
    /// Creates the file at `path` (and its folder) for rows of `schema`, with the settings of
    /// every warehouse file. Its footer claims no sort order, although a CSS's rows come together
    /// (a row group each): DataFusion trusts a declared order and then picks its ordered
    /// aggregation and window modes, which emit group by group and made the marts stage about
    /// 1.7 times slower (measured on one CSS of 110,000 students); and a false claim gives wrong
    /// results. Pruning by `code_css` needs only the row groups' statistics.
    pub(crate) fn create(path: &Path, schema: SchemaRef) -> Result<Self, WarehouseError> {
        if let Some(parent) = path.parent() {
            crate::layout::create_dir_all(parent)?;
        }
        let file = fs::File::create(path).map_err(|e| WarehouseError::io("creating", path, e))?;
        let writer = ArrowWriter::try_new(file, schema, Some(crate::write::writer_properties())).map_err(|source| {
            WarehouseError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(MartWriter {
            path: path.to_path_buf(),
            writer,
            rows: 0,
            place: None,
        })
    }

    /// The finished file is moved to `to` (its place in the warehouse) by [`MartWriter::finish`].
    pub(crate) fn placed_at(mut self, to: std::path::PathBuf) -> Self {
        self.place = Some(to);
        self
    }

    fn err(&self) -> impl Fn(datafusion::parquet::errors::ParquetError) -> WarehouseError + '_ {
        |source| WarehouseError::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WarehouseError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.writer.write(batch).map_err(self.err())?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the current row group: the rows after it (the next CSS's) start their own.
    pub fn end_row_group(&mut self) -> Result<(), WarehouseError> {
        self.writer.flush().map_err(self.err())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer and syncs the file to disk. Returns the rows written.
    pub fn finish(self) -> Result<u64, WarehouseError> {
        let err = |source| WarehouseError::Parquet {
            path: self.path.clone(),
            source,
        };
        let file = self.writer.into_inner().map_err(err)?;
        file.sync_all()
            .map_err(|e| WarehouseError::io("syncing", &self.path, e))?;
        if let Some(to) = &self.place {
            crate::store::move_into_place(&self.path, to, crate::store::Existing::Refuse)
                .map_err(|e| WarehouseError::io("moving into place", to, e))?;
        }
        Ok(self.rows)
    }
}

/// Writes mart `mart` (`batches`, all of `schema`) to a new Parquet file at `path`, grouped by
/// CSS with a row group boundary between CSS (see the module), and syncs it to disk. Returns the
/// number of rows written.
pub(crate) fn write_mart(
    mart: &str,
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64, WarehouseError> {
    let groups = match schema.index_of(CSS_COLUMN).ok() {
        Some(i) => group_by_css(mart, i, batches)?,
        None => vec![batches.to_vec()],
    };
    let mut writer = MartWriter::create(path, schema)?;
    for group in &groups {
        for batch in group {
            writer.write(batch)?;
        }
        // Close the row group: the next CSS starts its own.
        writer.end_row_group()?;
    }
    writer.finish()
}

/// Reads a Parquet file batch by batch (never whole), for `f`.
pub(crate) fn for_each_batch(
    path: &Path,
    mut f: impl FnMut(RecordBatch) -> Result<(), WarehouseError>,
) -> Result<(), WarehouseError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let parquet_err = |source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    if crate::store::is_remote(path) {
        // A file on an object store is fetched whole (one partition of one CSS: a rekey's unit).
        let bytes = crate::store::read(path).map_err(|e| WarehouseError::io("reading", path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .map_err(parquet_err)?
            .build()
            .map_err(parquet_err)?;
        for batch in reader {
            f(batch.map_err(|e| WarehouseError::arrow("parquet", e))?)?;
        }
        return Ok(());
    }
    let file = fs::File::open(path).map_err(|e| WarehouseError::io("opening", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet_err)?
        .build()
        .map_err(parquet_err)?;
    for batch in reader {
        f(batch.map_err(|e| WarehouseError::arrow("parquet", e))?)?;
    }
    Ok(())
}

/// The Arrow schema of a Parquet file, from its footer.
pub(crate) fn file_schema(path: &Path) -> Result<SchemaRef, WarehouseError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    if crate::store::is_remote(path) {
        let footer = crate::store::parquet_metadata(path)?;
        return crate::store::footer_schema(path, &footer);
    }
    let file = fs::File::open(path).map_err(|e| WarehouseError::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(builder.schema().clone())
}

/// The rows of a Parquet file, from its footer.
pub(crate) fn file_rows(path: &Path) -> Result<u64, WarehouseError> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    if crate::store::is_remote(path) {
        let footer = crate::store::parquet_metadata(path)?;
        return Ok(u64::try_from(footer.file_metadata().num_rows()).unwrap_or(0));
    }
    let file = fs::File::open(path).map_err(|e| WarehouseError::io("opening", path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    use std::sync::Arc;

    fn batch(codes: Vec<Option<&str>>, start: i64) -> Result<RecordBatch, Box<dyn std::error::Error>> {
        let n = codes.len() as i64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("annee_scolaire", DataType::Utf8, false),
            Field::new("code_css", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["2024-2025"; codes.len()])),
                Arc::new(StringArray::from(codes)),
                Arc::new(Int64Array::from_iter_values(start..start + n)),
            ],
        )?)
    }

    fn ns(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(2)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .map(|a| a.values().to_vec())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn rows_are_grouped_by_css_in_order_nulls_last() -> Result<(), Box<dyn std::error::Error>> {
        let b1 = batch(vec![Some("881000"), Some("751000"), None, Some("881000")], 0)?;
        let b2 = batch(vec![Some("751000"), Some("866000")], 4)?;
        let groups = group_by_css("m", 1, &[b1, b2])?;
        let got: Vec<Vec<i64>> = groups.iter().map(|g| ns(g)).collect();
        assert_eq!(got, vec![vec![1, 4], vec![5], vec![0, 3], vec![2]]);
        Ok(())
    }

    #[test]
    fn one_row_group_per_css_with_statistics() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("m.parquet");
        let b1 = batch(vec![Some("881000"), Some("751000"), Some("881000")], 0)?;
        let b2 = batch(vec![Some("751000"), Some("866000")], 3)?;
        let schema = b1.schema();
        assert_eq!(write_mart("m", &path, schema, &[b1, b2])?, 5);
        let reader = SerializedFileReader::new(fs::File::open(&path)?)?;
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 3);
        let bounds: Vec<(Vec<u8>, Vec<u8>, i64)> = meta
            .row_groups()
            .iter()
            .map(|rg| {
                let s = rg.column(1).statistics().expect("statistics");
                (
                    s.min_bytes_opt().unwrap_or_default().to_vec(),
                    s.max_bytes_opt().unwrap_or_default().to_vec(),
                    rg.num_rows(),
                )
            })
            .collect();
        assert_eq!(
            bounds,
            vec![
                (b"751000".to_vec(), b"751000".to_vec(), 2),
                (b"866000".to_vec(), b"866000".to_vec(), 1),
                (b"881000".to_vec(), b"881000".to_vec(), 2),
            ]
        );
        Ok(())
    }
}
