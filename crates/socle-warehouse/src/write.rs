//! Writing Parquet files and splitting batches by partition value, with arrow kernels.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::compute::kernels::cmp::{eq, neq};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::WarehouseError;

/// Writer settings of every warehouse file: zstd, page statistics.
pub(crate) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("socle-warehouse {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes `batches` (all of `schema`) to a new Parquet file at `path` and syncs it to disk.
/// Returns the number of rows written.
pub fn write_parquet(path: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<u64, WarehouseError> {
    if let Some(parent) = path.parent() {
        crate::layout::create_dir_all(parent)?;
    }
    let parquet_err = |source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::create(path).map_err(|e| WarehouseError::io("creating", path, e))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(writer_properties())).map_err(parquet_err)?;
    let mut rows = 0u64;
    for batch in batches {
        writer.write(batch).map_err(parquet_err)?;
        rows += batch.num_rows() as u64;
    }
    let file = writer.into_inner().map_err(parquet_err)?;
    file.sync_all().map_err(|e| WarehouseError::io("syncing", path, e))?;
    Ok(rows)
}

/// Checks that every batch has the schema of the first (same fields; metadata may differ) and
/// returns that schema.
pub(crate) fn common_schema(table: &str, batches: &[RecordBatch]) -> Result<Option<SchemaRef>, WarehouseError> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let schema = first.schema();
    if batches.iter().any(|b| b.schema().fields() != schema.fields()) {
        return Err(WarehouseError::SchemaMismatch {
            table: table.to_string(),
        });
    }
    Ok(Some(schema))
}

/// A column as UTF-8 strings (any string-like or castable type).
fn column_as_strings(table: &str, batch: &RecordBatch, column: &str) -> Result<Option<StringArray>, WarehouseError> {
    let Ok(idx) = batch.schema().index_of(column) else {
        return Ok(None);
    };
    let array: ArrayRef = cast(batch.column(idx), &DataType::Utf8).map_err(|e| WarehouseError::arrow(table, e))?;
    let strings = array.as_any().downcast_ref::<StringArray>().cloned().ok_or_else(|| {
        WarehouseError::arrow(
            table,
            datafusion::arrow::error::ArrowError::CastError(format!("column `{column}` did not cast to Utf8")),
        )
    })?;
    Ok(Some(strings))
}

/// Splits batches by the value of `column`, keeping row order within each value. Null values are
/// an error. Values are returned sorted.
pub(crate) fn split_by_column(
    table: &str,
    column: &str,
    batches: &[RecordBatch],
) -> Result<BTreeMap<String, Vec<RecordBatch>>, WarehouseError> {
    let mut parts: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        let values =
            column_as_strings(table, batch, column)?.ok_or_else(|| WarehouseError::MissingPartitionColumn {
                table: table.to_string(),
                column: column.to_string(),
            })?;
        if values.null_count() > 0 {
            return Err(WarehouseError::NullPartitionValue {
                table: table.to_string(),
                column: column.to_string(),
                rows: values.null_count(),
            });
        }
        let distinct: std::collections::BTreeSet<&str> = values.iter().flatten().collect();
        if distinct.len() == 1 {
            if let Some(value) = distinct.first() {
                parts.entry((*value).to_string()).or_default().push(batch.clone());
            }
            continue;
        }
        for value in distinct {
            let mask = eq(&values, &StringArray::new_scalar(value)).map_err(|e| WarehouseError::arrow(table, e))?;
            let part = filter_record_batch(batch, &mask).map_err(|e| WarehouseError::arrow(table, e))?;
            parts.entry(value.to_string()).or_default().push(part);
        }
    }
    Ok(parts)
}

/// Counts the rows whose `code_css` is null or differs from `code_css` (0 if the batches have no
/// such column).
pub(crate) fn foreign_rows(table: &str, code_css: &str, batches: &[RecordBatch]) -> Result<usize, WarehouseError> {
    let mut foreign = 0;
    for batch in batches {
        let Some(values) = column_as_strings(table, batch, crate::layout::CSS_COLUMN)? else {
            continue;
        };
        let differs = neq(&values, &StringArray::new_scalar(code_css)).map_err(|e| WarehouseError::arrow(table, e))?;
        foreign += differs.true_count() + values.null_count();
    }
    Ok(foreign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(years: Vec<Option<&str>>) -> Result<RecordBatch, Box<dyn std::error::Error>> {
        let n = years.len() as i64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("annee_scolaire", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(years)),
                Arc::new(Int64Array::from_iter_values(0..n)),
            ],
        )?)
    }

    #[test]
    fn split_keeps_row_order() -> Result<(), Box<dyn std::error::Error>> {
        let b1 = batch(vec![Some("2024-2025"), Some("2023-2024"), Some("2024-2025")])?;
        let b2 = batch(vec![Some("2023-2024")])?;
        let parts = split_by_column("t", "annee_scolaire", &[b1, b2])?;
        assert_eq!(parts.keys().collect::<Vec<_>>(), vec!["2023-2024", "2024-2025"]);
        let n = |bs: &Vec<RecordBatch>| -> Vec<i64> {
            bs.iter()
                .flat_map(|b| {
                    b.column(1)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .map(|a| a.values().to_vec())
                        .unwrap_or_default()
                })
                .collect()
        };
        assert_eq!(n(&parts["2024-2025"]), vec![0, 2]);
        assert_eq!(n(&parts["2023-2024"]), vec![1, 0]);
        Ok(())
    }

    #[test]
    fn split_refuses_nulls_and_missing_column() -> Result<(), Box<dyn std::error::Error>> {
        let b = batch(vec![Some("2024-2025"), None])?;
        assert!(matches!(
            split_by_column("t", "annee_scolaire", std::slice::from_ref(&b)),
            Err(WarehouseError::NullPartitionValue { rows: 1, .. })
        ));
        assert!(matches!(
            split_by_column("t", "absent", &[b]),
            Err(WarehouseError::MissingPartitionColumn { .. })
        ));
        Ok(())
    }
}
