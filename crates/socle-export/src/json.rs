//! JSON: rows as an array of objects (`[{"code_css":"866000","nb":5}, ...]`, a null value's
//! key left out, as Arrow writes it), and whole documents built by the caller (`socle personne`
//! puts one array per table in one document).

use crate::error::Result;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::json::ArrayWriter;
use std::io::Write;

/// A JSON array of row objects, as a stream, ended by a line end (a text file's last line).
pub struct JsonWriter<W: Write> {
    inner: ArrayWriter<W>,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(sink: W) -> Self {
        JsonWriter {
            inner: ArrayWriter::new(sink),
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.inner.write(batch)?)
    }

    /// Closes the array (`[]` when nothing was written), ends the line, returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.inner.finish()?;
        let mut sink = self.inner.into_inner();
        writeln!(sink)?;
        Ok(sink)
    }
}

/// Collected batches as one JSON array; see [`JsonWriter`].
pub fn write_json<W: Write>(sink: W, batches: &[RecordBatch]) -> Result<W> {
    let mut w = JsonWriter::new(sink);
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// The rows of `batches` as a JSON array of objects, to put in a document.
pub fn json_rows(batches: &[RecordBatch]) -> Result<serde_json::Value> {
    let mut buf = Vec::new();
    {
        let mut w = ArrayWriter::new(&mut buf);
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        w.write_batches(&refs)?;
        w.finish()?;
    }
    if buf.is_empty() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    Ok(serde_json::from_slice(&buf)?)
}

/// A JSON document, indented for people who open it, ended by a line end.
pub fn write_json_document<W: Write>(mut sink: W, doc: &serde_json::Value) -> Result<W> {
    serde_json::to_writer_pretty(&mut sink, doc)?;
    writeln!(sink)?;
    Ok(sink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch() -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code_css", DataType::Utf8, false),
            Field::new("nb", DataType::Int64, true),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["866000", "é\"x"])),
                Arc::new(Int64Array::from(vec![Some(5), None])),
            ],
        )?)
    }

    #[test]
    fn json_array_streams_and_reads_back() -> Result<()> {
        let b = batch()?;
        let mut w = JsonWriter::new(Vec::new());
        w.write(&b.slice(0, 1))?;
        w.write(&b.slice(1, 1))?;
        let bytes = w.finish()?;
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "[{\"code_css\":\"866000\",\"nb\":5},{\"code_css\":\"é\\\"x\"}]\n"
        );
        assert_eq!(write_json(Vec::new(), &[])?, b"[]\n");
        let rows = json_rows(std::slice::from_ref(&b))?;
        assert_eq!(
            rows,
            serde_json::json!([{"code_css": "866000", "nb": 5}, {"code_css": "é\"x"}])
        );
        assert_eq!(json_rows(&[])?, serde_json::json!([]));
        Ok(())
    }

    #[test]
    fn documents_are_indented_and_end_with_a_line_end() -> Result<()> {
        let bytes = write_json_document(Vec::new(), &serde_json::json!({"lignes": 2}))?;
        assert_eq!(String::from_utf8_lossy(&bytes), "{\n  \"lignes\": 2\n}\n");
        Ok(())
    }
}
