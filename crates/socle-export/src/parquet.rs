//! Parquet downloads: zstd, the Arrow types kept, and what the file says about itself as
//! key-value metadata in its footer (given by the caller: the mart, the zone, the run...).
//!
//! The warehouse's own files are written by `socle-warehouse` (its row groups and statistics
//! are part of how it reads them); this is for files that leave it.

use crate::error::Result;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use std::io::Write;

/// Parquet as a stream: [`ParquetWriter::write`] each batch, then [`ParquetWriter::finish`]
/// (the footer; a file without it is unreadable).
pub struct ParquetWriter<W: Write + Send> {
    inner: ArrowWriter<W>,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// `metadata`: (key, value) pairs for the footer, in order; none gives none.
    pub fn new(sink: W, schema: &SchemaRef, metadata: &[(String, String)]) -> Result<Self> {
        let mut props = WriterProperties::builder().set_compression(Compression::ZSTD(Default::default()));
        if !metadata.is_empty() {
            props = props.set_key_value_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .collect(),
            ));
        }
        let inner = ArrowWriter::try_new(sink, schema.clone(), Some(props.build()))?;
        Ok(ParquetWriter { inner })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.inner.write(batch)?)
    }

    /// Writes the last row group and the footer, and returns the sink.
    pub fn finish(self) -> Result<W> {
        Ok(self.inner.into_inner()?)
    }
}

/// Collected batches as one Parquet file; see [`ParquetWriter`].
pub fn write_parquet<W: Write + Send>(
    sink: W,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: &[(String, String)],
) -> Result<W> {
    let mut w = ParquetWriter::new(sink, schema, metadata)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Date32Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn reopen(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Result<std::fs::File> {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes)?;
        Ok(std::fs::File::open(path)?)
    }

    #[test]
    fn parquet_reads_back_with_its_types_metadata_and_zstd() -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code_css", DataType::Utf8, false),
            Field::new("nb", DataType::Int64, true),
            Field::new("le", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["866000", "881000"])),
                Arc::new(Int64Array::from(vec![Some(5), None])),
                Arc::new(Date32Array::from(vec![Some(20361), None])),
            ],
        )?;
        let meta = vec![
            ("socle.mart".to_string(), "taux_reussite".to_string()),
            ("socle.zone".to_string(), "shared".to_string()),
        ];
        // Streamed in two batches.
        let mut w = ParquetWriter::new(Vec::new(), &schema, &meta)?;
        w.write(&batch.slice(0, 1))?;
        w.write(&batch.slice(1, 1))?;
        let bytes = w.finish()?;

        let dir = tempfile::tempdir()?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(reopen(&dir, "a.parquet", &bytes)?)?;
        let file_meta = reader.metadata().file_metadata().clone();
        let kv: Vec<(String, Option<String>)> = file_meta
            .key_value_metadata()
            .map(|kv| kv.iter().map(|k| (k.key.clone(), k.value.clone())).collect())
            .unwrap_or_default();
        assert!(kv.contains(&("socle.mart".to_string(), Some("taux_reussite".to_string()))));
        assert!(kv.contains(&("socle.zone".to_string(), Some("shared".to_string()))));
        let column = reader.metadata().row_group(0).column(0).compression();
        assert_eq!(column.to_string(), Compression::ZSTD(Default::default()).to_string());
        let read: Vec<RecordBatch> = reader.build()?.collect::<std::result::Result<_, _>>()?;
        let read = datafusion::arrow::compute::concat_batches(&read[0].schema(), &read)?;
        assert_eq!(read.schema().fields(), schema.fields());
        assert_eq!(read.column(1).as_primitive::<Int64Type>().value(0), 5);
        assert!(read.column(1).is_null(1));
        assert_eq!(read.column(2).data_type(), &DataType::Date32);

        // No rows: still a readable file with the schema, and no metadata when none is given.
        let empty = write_parquet(Vec::new(), &schema, &[], &[])?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(reopen(&dir, "b.parquet", &empty)?)?;
        assert_eq!(reader.schema().fields(), schema.fields());
        assert!(
            reader
                .metadata()
                .file_metadata()
                .key_value_metadata()
                .is_none_or(|kv| { kv.iter().all(|k| !k.key.starts_with("socle.")) })
        );
        Ok(())
    }
}
