//! CSV: from Arrow batches ([`CsvWriter`]) or from rows of text already formatted
//! ([`TextCsvWriter`]), under the same [`CsvOptions`].
//!
//! Values from batches are written as `socle query` shows them: numbers with a dot, ISO dates
//! (2025-09-30), `true`/`false`, an empty field for a null. The extracts format their values
//! themselves (decimal comma, `DD/MM/YYYY`...) and write text.

use crate::error::Result;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use std::io::Write;

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LineEnd {
    /// `\r\n`, RFC 4180's and what Windows tools expect.
    #[default]
    Crlf,
    /// `\n`.
    Lf,
}

/// When a field is put in double quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quoting {
    /// Only a field holding the delimiter, a quote or a line end.
    #[default]
    Necessary,
    /// Every field.
    Always,
    /// Never (the caller has checked that no value needs it: the extracts' rule `quoting`).
    Never,
}

/// How a CSV file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// A first line with the column names.
    pub header: bool,
    /// Start with a UTF-8 byte order mark.
    pub bom: bool,
    /// One ASCII byte: `,`, `;` (Excel set to French), `\t`...
    pub delimiter: u8,
    pub line_end: LineEnd,
    pub quoting: Quoting,
}

impl CsvOptions {
    /// For spreadsheets (the dashboards' downloads): a header, a byte order mark (Excel
    /// otherwise reads UTF-8 as the machine's code page and garbles the accents), `,` and CRLF.
    pub fn spreadsheet() -> Self {
        CsvOptions {
            header: true,
            bom: true,
            delimiter: b',',
            line_end: LineEnd::Crlf,
            quoting: Quoting::Necessary,
        }
    }

    /// For scripts and pipes (`socle query --format csv`): a header, no byte order mark, `,`
    /// and LF.
    pub fn plain() -> Self {
        CsvOptions {
            bom: false,
            line_end: LineEnd::Lf,
            ..Self::spreadsheet()
        }
    }

    pub fn with_delimiter(self, delimiter: u8) -> Self {
        CsvOptions { delimiter, ..self }
    }

    pub fn with_header(self, header: bool) -> Self {
        CsvOptions { header, ..self }
    }

    pub fn with_bom(self, bom: bool) -> Self {
        CsvOptions { bom, ..self }
    }

    pub fn with_line_end(self, line_end: LineEnd) -> Self {
        CsvOptions { line_end, ..self }
    }

    pub fn with_quoting(self, quoting: Quoting) -> Self {
        CsvOptions { quoting, ..self }
    }

    fn quote_style(&self) -> ::csv::QuoteStyle {
        match self.quoting {
            Quoting::Necessary => ::csv::QuoteStyle::Necessary,
            Quoting::Always => ::csv::QuoteStyle::Always,
            Quoting::Never => ::csv::QuoteStyle::Never,
        }
    }
}

/// CSV from Arrow batches, as a stream: the byte order mark and the header are written by
/// [`CsvWriter::new`] (a result without rows still has its header), each batch by
/// [`CsvWriter::write`].
pub struct CsvWriter<W: Write> {
    inner: datafusion::arrow::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(mut sink: W, schema: &SchemaRef, options: &CsvOptions) -> Result<Self> {
        if options.bom {
            sink.write_all(BOM)?;
        }
        use datafusion::arrow::csv::writer::Terminator;
        let mut inner = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(options.header)
            .with_delimiter(options.delimiter)
            .with_quote_style(options.quote_style())
            .with_line_terminator(match options.line_end {
                LineEnd::Crlf => Terminator::CRLF,
                LineEnd::Lf => Terminator::Any(b'\n'),
            })
            .build(sink);
        // Arrow writes the header with the first batch, even an empty one.
        inner.write(&RecordBatch::new_empty(schema.clone()))?;
        Ok(CsvWriter { inner })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.inner.write(batch)?)
    }

    /// Returns the sink (every batch is flushed to it as written).
    pub fn finish(self) -> Result<W> {
        Ok(self.inner.into_inner())
    }
}

/// Collected batches as one CSV; see [`CsvWriter`].
pub fn write_csv<W: Write>(sink: W, schema: &SchemaRef, batches: &[RecordBatch], options: &CsvOptions) -> Result<W> {
    let mut w = CsvWriter::new(sink, schema, options)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// CSV from rows of text already formatted (the caller writes a null as an empty field), as a
/// stream: the byte order mark and the header (if the options want them) by
/// [`TextCsvWriter::new`], each row by [`TextCsvWriter::write_record`].
pub struct TextCsvWriter<W: Write> {
    inner: ::csv::Writer<W>,
}

impl<W: Write> TextCsvWriter<W> {
    pub fn new<'h>(mut sink: W, headings: impl IntoIterator<Item = &'h str>, options: &CsvOptions) -> Result<Self> {
        if options.bom {
            sink.write_all(BOM)?;
        }
        let mut inner = ::csv::WriterBuilder::new()
            .delimiter(options.delimiter)
            .quote_style(options.quote_style())
            .terminator(match options.line_end {
                LineEnd::Crlf => ::csv::Terminator::CRLF,
                LineEnd::Lf => ::csv::Terminator::Any(b'\n'),
            })
            .from_writer(sink);
        if options.header {
            inner.write_record(headings)?;
        }
        Ok(TextCsvWriter { inner })
    }

    pub fn write_record<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> Result<()> {
        Ok(self.inner.write_record(fields)?)
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> Result<W> {
        self.inner
            .into_inner()
            .map_err(|e| crate::ExportError::Write(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Date32Array, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn sample() -> Result<(SchemaRef, RecordBatch)> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code_css", DataType::Utf8, true),
            Field::new("nb", DataType::Int64, true),
            Field::new("taux", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("le", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("866000"), Some("École, \"A\""), None])),
                Arc::new(Int64Array::from(vec![Some(5), None, Some(-2)])),
                Arc::new(Float64Array::from(vec![Some(0.5), Some(1.0), None])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
                Arc::new(Date32Array::from(vec![Some(20361), None, Some(0)])),
            ],
        )?;
        Ok((schema, batch))
    }

    #[test]
    fn spreadsheet_csv_has_the_bom_the_header_and_crlf() -> Result<()> {
        let (schema, batch) = sample()?;
        let bytes = write_csv(Vec::new(), &schema, &[batch], &CsvOptions::spreadsheet())?;
        let expected = "\u{feff}code_css,nb,taux,ok,le\r\n\
                        866000,5,0.5,true,2025-09-30\r\n\
                        \"École, \"\"A\"\"\",,1.0,false,\r\n\
                        ,-2,,,1970-01-01\r\n";
        assert_eq!(String::from_utf8_lossy(&bytes), expected);
        assert!(bytes.starts_with(BOM));
        Ok(())
    }

    #[test]
    fn plain_csv_streams_and_keeps_its_header_without_rows() -> Result<()> {
        let (schema, batch) = sample()?;
        let options = CsvOptions::plain().with_delimiter(b';');
        let mut w = CsvWriter::new(Vec::new(), &schema, &options)?;
        w.write(&batch.slice(0, 1))?;
        w.write(&batch.slice(1, 0))?;
        w.write(&batch.slice(2, 1))?;
        let bytes = w.finish()?;
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "code_css;nb;taux;ok;le\n866000;5;0.5;true;2025-09-30\n;-2;;;1970-01-01\n"
        );
        let empty = write_csv(Vec::new(), &schema, &[], &CsvOptions::plain())?;
        assert_eq!(empty, b"code_css,nb,taux,ok,le\n");
        let none = write_csv(Vec::new(), &schema, &[], &CsvOptions::plain().with_header(false))?;
        assert!(none.is_empty());
        Ok(())
    }

    #[test]
    fn text_csv_follows_the_options() -> Result<()> {
        let options = CsvOptions::spreadsheet()
            .with_bom(false)
            .with_delimiter(b';')
            .with_line_end(LineEnd::Lf)
            .with_quoting(Quoting::Always);
        let mut w = TextCsvWriter::new(Vec::new(), ["a", "b"], &options)?;
        w.write_record(["1,5", ""])?;
        assert_eq!(w.finish()?, b"\"a\";\"b\"\n\"1,5\";\"\"\n");

        let options = CsvOptions::spreadsheet()
            .with_quoting(Quoting::Never)
            .with_header(false);
        let mut w = TextCsvWriter::new(Vec::new(), ["ignored"], &options)?;
        w.write_record(["x", "é"])?;
        let bytes = w.finish()?;
        assert_eq!(bytes, "\u{feff}x,é\r\n".as_bytes());
        Ok(())
    }
}

/// A CSV delimiter as a person types it: one ASCII punctuation character (`,`, `;`, `|`...),
/// or `tab`. Letters, digits, quotes and line ends are refused (the file would not read back).
pub fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    if matches!(s, "tab" | "\\t" | "\t") {
        return Ok(b'\t');
    }
    match s.as_bytes() {
        [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && !matches!(b, b'"' | b'\r' | b'\n') => Ok(*b),
        _ => Err("one ASCII punctuation character, e.g. `,` or `;` (or `tab`)".to_string()),
    }
}

#[cfg(test)]
mod delimiter_tests {
    use super::parse_delimiter;

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter("a").is_err());
    }
}
