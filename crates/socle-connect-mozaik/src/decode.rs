//! Decoding the good lines of a file into one table's raw string batches, with arrow-json.
//!
//! Every contract column is decoded as `Utf8` with `coerce_primitive` (a JSON number or boolean
//! arrives as its text), so the shared typing types and checks it exactly as a CSV field. An
//! `unnest` table also decodes its array as `List<Struct<..Utf8>>` and explodes it with arrow
//! kernels (`take`, `nullif`, `zip`), each element keeping its line's number.

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, UInt32Array};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{concat_batches, is_not_null, is_null, nullif, take};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;
use socle_connect::split::{ELEMENT_COLUMN, raw_schema};
use socle_connect::{ConnectError, Reject, RejectKind};
use socle_dictionary::SourceTable;

/// Name of the list element field of an `unnest` array (arrow-json ignores it).
const ELEMENT: &str = "element";

/// Collects one table's good lines and turns them into raw batches (`r0..rN` + `_line`, and
/// for an `unnest` table `_elem`, the element's index in its array).
pub struct TableSink {
    pub table: SourceTable,
    file_name: String,
    batch_size: usize,
    /// What arrow-json decodes: the columns read from the line (`Utf8`), then the `unnest` array.
    decode_schema: SchemaRef,
    /// Per contract column: its field in `decode_schema`, if it is read from the line.
    line_field: Vec<Option<usize>>,
    /// The `unnest` array's field in `decode_schema`; its elements have one `Utf8` field per
    /// contract column, in contract order.
    list_field: Option<usize>,
    raw_schema: SchemaRef,
    /// The pending lines, each followed by `\n`, their spans in `buf` and their numbers.
    buf: Vec<u8>,
    spans: Vec<Range<usize>>,
    lines: Vec<u64>,
    pub batches: Vec<RecordBatch>,
    pub rejects: Vec<Reject>,
    /// Records read: lines (for an `unnest` table: array elements, plus the lines rejected
    /// whole, whose elements cannot be counted).
    pub rows_read: u64,
}

impl TableSink {
    pub fn new(table: &SourceTable, file_name: &str, batch_size: usize) -> TableSink {
        let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
        let mut fields = Vec::new();
        let mut line_field = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            if table.unnest.as_deref() == Some(column.name.as_str()) {
                line_field.push(None);
            } else {
                line_field.push(Some(fields.len()));
                fields.push(utf8(&column.name));
            }
        }
        let list_field = table.unnest.as_ref().map(|array| {
            let element: Fields = table.columns.iter().map(|c| utf8(&c.name)).collect();
            fields.push(Field::new_list(
                array,
                Field::new(ELEMENT, DataType::Struct(element), true),
                true,
            ));
            fields.len() - 1
        });
        TableSink {
            table: table.clone(),
            file_name: file_name.to_string(),
            batch_size: batch_size.max(1),
            decode_schema: Arc::new(Schema::new(fields)),
            line_field,
            list_field,
            raw_schema: match table.unnest {
                None => raw_schema(table),
                Some(_) => {
                    // The elements of one line share its number: their index in the array keeps
                    // them in order (and the first of a repeated key is the first element).
                    let mut fields: Vec<Field> =
                        raw_schema(table).fields().iter().map(|f| f.as_ref().clone()).collect();
                    fields.push(Field::new(ELEMENT_COLUMN, DataType::Int64, false));
                    Arc::new(Schema::new(fields))
                }
            },
            buf: Vec::new(),
            spans: Vec::new(),
            lines: Vec::new(),
            batches: Vec::new(),
            rejects: Vec::new(),
            rows_read: 0,
        }
    }

    pub fn raw_schema(&self) -> SchemaRef {
        self.raw_schema.clone()
    }

    /// Adds a line that is one JSON object (valid UTF-8, without its line break).
    pub fn push(&mut self, line: &[u8], number: u64) -> Result<(), ConnectError> {
        let start = self.buf.len();
        self.buf.extend_from_slice(line);
        self.spans.push(start..self.buf.len());
        self.buf.push(b'\n');
        self.lines.push(number);
        if self.list_field.is_none() {
            self.rows_read += 1;
        }
        if self.lines.len() >= self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    /// Records a rejected line (it counts as one record read).
    pub fn reject(&mut self, line: u64, column: Option<String>, kind: RejectKind, message: String, raw: String) {
        self.rows_read += 1;
        self.rejects.push(Reject {
            table: self.table.name.clone(),
            file: self.file_name.clone(),
            line,
            column,
            kind,
            message,
            raw,
        });
    }

    /// Decodes the pending lines. A batch that fails is split in halves, and each half decoded
    /// again, down to the bad lines, which alone are rejected: a few bad lines cost about one more
    /// decoding of the batch, not one decoder per line.
    pub fn flush(&mut self) -> Result<(), ConnectError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let spans = std::mem::take(&mut self.spans);
        let lines = std::mem::take(&mut self.lines);
        let mut good = Vec::new();
        let mut good_lines = Vec::with_capacity(lines.len());
        self.bisect(&buf, &spans, &lines, &mut good, &mut good_lines)?;
        match good.len() {
            0 => {}
            1 => self.emit(&good[0], &good_lines)?,
            _ => {
                let batch = concat_batches(&self.decode_schema, &good)?;
                self.emit(&batch, &good_lines)?;
            }
        }
        // Keep the allocations for the next batch.
        self.buf = buf;
        self.buf.clear();
        self.spans = spans;
        self.spans.clear();
        self.lines = lines;
        self.lines.clear();
        Ok(())
    }

    /// Decodes the lines `spans` (consecutive in `buf`), or rejects them by halves.
    fn bisect(
        &mut self,
        buf: &[u8],
        spans: &[Range<usize>],
        lines: &[u64],
        good: &mut Vec<RecordBatch>,
        good_lines: &mut Vec<u64>,
    ) -> Result<(), ConnectError> {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return Ok(());
        };
        let text = &buf[first.start..last.end];
        match decode(&self.decode_schema, text, spans.len()) {
            Ok(Some(batch)) if batch.num_rows() == lines.len() => {
                good.push(batch);
                good_lines.extend_from_slice(lines);
            }
            Ok(_) => return Err(self.contract("arrow-json decoded another number of rows than lines")),
            // arrow-json's message may quote the value: the connector names the field itself.
            Err(_) if spans.len() == 1 => {
                let (column, message) = shape_problem(text, &self.table);
                if self.list_field.is_none() {
                    // Already counted when pushed.
                    self.rows_read -= 1;
                }
                let raw = String::from_utf8_lossy(text).into_owned();
                self.reject(lines[0], column, RejectKind::MalformedJson, message, raw);
            }
            Err(_) => {
                let mid = spans.len() / 2;
                self.bisect(buf, &spans[..mid], &lines[..mid], good, good_lines)?;
                self.bisect(buf, &spans[mid..], &lines[mid..], good, good_lines)?;
            }
        }
        Ok(())
    }

    /// Turns a decoded batch into a raw batch.
    fn emit(&mut self, decoded: &RecordBatch, lines: &[u64]) -> Result<(), ConnectError> {
        let line_numbers: ArrayRef = Arc::new(Int64Array::from_iter_values(
            lines.iter().map(|&l| i64::try_from(l).unwrap_or(i64::MAX)),
        ));
        let batch = match self.list_field {
            None => {
                let mut arrays = Vec::with_capacity(self.line_field.len() + 1);
                for field in &self.line_field {
                    let Some(f) = field else {
                        return Err(self.contract("a column without a source field"));
                    };
                    arrays.push(decoded.column(*f).clone());
                }
                arrays.push(line_numbers);
                RecordBatch::try_new(self.raw_schema.clone(), arrays)?
            }
            Some(list_field) => self.explode(decoded, list_field, &line_numbers)?,
        };
        if batch.num_rows() > 0 {
            self.batches.push(batch);
        }
        Ok(())
    }

    /// One row per element of the `unnest` array; a column takes the element's value, else the
    /// line's.
    fn explode(
        &mut self,
        decoded: &RecordBatch,
        list_field: usize,
        lines: &ArrayRef,
    ) -> Result<RecordBatch, ConnectError> {
        let Some(list) = decoded.column(list_field).as_list_opt::<i32>() else {
            return Err(self.contract("the unnest array did not decode as a list"));
        };
        let offsets = list.value_offsets();
        let mut parent = Vec::new();
        let mut child = Vec::new();
        let mut index = Vec::new();
        for row in 0..list.len() {
            if list.is_null(row) {
                continue;
            }
            for j in offsets[row]..offsets[row + 1] {
                parent.push(row as u32);
                child.push(j as u32);
                index.push(i64::from(j - offsets[row]));
            }
        }
        self.rows_read += parent.len() as u64;
        let parent = UInt32Array::from(parent);
        let child = UInt32Array::from(child);
        let elements = take(list.values().as_ref(), &child, None)?;
        // A `null` element gives a row of nulls (its key is then missing: rejected by typing).
        let null_elements = is_null(elements.as_ref())?;
        let Some(elements) = elements.as_struct_opt() else {
            return Err(self.contract("the unnest array's elements did not decode as objects"));
        };
        let mut arrays = Vec::with_capacity(self.line_field.len() + 1);
        for (i, field) in self.line_field.iter().enumerate() {
            let own = nullif(elements.column(i).as_ref(), &null_elements)?;
            let value = match field {
                Some(f) => {
                    let inherited = take(decoded.column(*f).as_ref(), &parent, None)?;
                    zip(&is_not_null(own.as_ref())?, &own, &inherited)?
                }
                None => own,
            };
            arrays.push(value);
        }
        arrays.push(take(lines.as_ref(), &parent, None)?);
        arrays.push(Arc::new(Int64Array::from(index)));
        Ok(RecordBatch::try_new(self.raw_schema.clone(), arrays)?)
    }

    fn contract(&self, message: &str) -> ConnectError {
        ConnectError::Contract {
            table: self.table.name.clone(),
            message: message.to_string(),
        }
    }
}

/// Decodes `rows` JSON objects from `bytes` (objects separated by line breaks).
fn decode(schema: &SchemaRef, bytes: &[u8], rows: usize) -> Result<Option<RecordBatch>, ArrowError> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.max(1))
        .with_coerce_primitive(true)
        .with_strict_mode(false)
        .build_decoder()?;
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.iter().all(u8::is_ascii_whitespace) {
        let n = decoder.decode(rest)?;
        rest = &rest[n..];
        if n == 0 {
            // The decoder holds a full batch: take it and go on.
            match decoder.flush()? {
                Some(b) => out.push(b),
                None => return Err(ArrowError::JsonError("the decoder made no progress".to_string())),
            }
        }
    }
    if let Some(b) = decoder.flush()? {
        out.push(b);
    }
    match out.len() {
        0 => Ok(None),
        1 => Ok(out.pop()),
        _ => concat_batches(schema, &out).map(Some),
    }
}

/// The JSON kind of a value, for messages that must not quote it.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_nested(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// The field of a line (a JSON object) whose shape arrow-json refused, and the message; the
/// value itself is never quoted.
pub fn shape_problem(line: &[u8], table: &SourceTable) -> (Option<String>, String) {
    const SCALAR: &str = "a single value (string, number, boolean or null) is expected";
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(line) else {
        return (None, "the line is not one JSON object".to_string());
    };
    for column in &table.columns {
        if table.unnest.as_deref() == Some(column.name.as_str()) {
            continue;
        }
        if let Some(v) = object.get(&column.name)
            && is_nested(v)
        {
            let name = column.name.clone();
            let message = format!("column {name}: a JSON {} where {SCALAR}", kind_of(v));
            return (Some(name), message);
        }
    }
    if let Some(array) = &table.unnest {
        match object.get(array) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (k, item) in items.iter().enumerate() {
                    match item {
                        Value::Null => {}
                        Value::Object(element) => {
                            for column in &table.columns {
                                if let Some(v) = element.get(&column.name)
                                    && is_nested(v)
                                {
                                    let name = column.name.clone();
                                    let message = format!(
                                        "column {name} (element {} of {array}): a JSON {} where {SCALAR}",
                                        k + 1,
                                        kind_of(v)
                                    );
                                    return (Some(name), message);
                                }
                            }
                        }
                        other => {
                            let message = format!(
                                "{array}: element {} is a JSON {}, where an object is expected",
                                k + 1,
                                kind_of(other)
                            );
                            return (Some(array.clone()), message);
                        }
                    }
                }
            }
            Some(other) => {
                let message = format!(
                    "{array}: a JSON {} where an array of objects is expected",
                    kind_of(other)
                );
                return (Some(array.clone()), message);
            }
        }
    }
    (
        None,
        "the line could not be decoded into the table's columns".to_string(),
    )
}
