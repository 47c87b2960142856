//! Splitting one export file into raw string records: encoding, delimiter sniffing, header
//! matching and the record-level checks. No CSV parsing by hand: the `csv` crate splits the
//! records; this module only counts quote characters and remembers the stream's last byte to tell
//! an unterminated quote or a cut file (its last record cut short) from a plain wrong field count.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use encoding_rs_io::DecodeReaderBytesBuilder;
use sha2::{Digest, Sha256};
use socle_dictionary::{Encoding, SourceTable};

use crate::{ConnectError, FileInfo, ReadOptions, Reject, RejectKind};

/// Bytes of the UTF-8 byte order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Delimiters sniffed from the header line, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b';', b',', b'|', b'\t'];
/// Size of the chunks read when scanning a file for UTF-8 validity.
const SCAN_CHUNK: usize = 64 * 1024;

/// A file split into raw string batches.
pub struct Split {
    pub info: FileInfo,
    /// Schema of the raw batches: `r0..rN` (Utf8, contract order) and `_line` (Int64); optionally
    /// [`ELEMENT_COLUMN`] (Int64) after them.
    pub raw_schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Indices of the contract columns present in the header, in the header's order.
    pub present: Vec<usize>,
    /// Record-level rejects, in line order.
    pub rejects: Vec<Reject>,
}

/// Optional `Int64` column of raw batches whose records share a line (JSON Lines' `unnest`
/// arrays): the record's index within its line, ordering the records of one line after `_line`.
pub const ELEMENT_COLUMN: &str = "_elem";

/// Name of the raw string column of contract column `i`.
pub fn raw_name(i: usize) -> String {
    format!("r{i}")
}

/// Schema of the raw batches of a table.
pub fn raw_schema(table: &SourceTable) -> SchemaRef {
    let mut fields: Vec<Field> = (0..table.columns.len())
        .map(|i| Field::new(raw_name(i), DataType::Utf8, true))
        .collect();
    fields.push(Field::new("_line", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Bytes read from the file and their hash.
#[derive(Default)]
struct FileStats {
    hasher: Sha256,
    bytes: u64,
}

/// Hashes and counts the bytes of the file as they are read.
struct HashingReader<'a, R> {
    inner: R,
    stats: &'a mut FileStats,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stats.hasher.update(&buf[..n]);
        self.stats.bytes += n as u64;
        Ok(n)
    }
}

/// What is known of the decoded stream once it has been read to its end.
#[derive(Default)]
struct StreamTail {
    /// Number of `"` bytes in the whole stream: odd means the stream ended inside a quote
    /// (RFC 4180 quoting always adds quotes in pairs).
    quotes: Cell<u64>,
    /// The stream's last byte.
    last: Cell<Option<u8>>,
}

/// Counts quote characters and remembers the last byte of the decoded stream.
struct TailReader<R> {
    inner: R,
    tail: Rc<StreamTail>,
}

impl<R: Read> Read for TailReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let read = &buf[..n];
            let q = read.iter().filter(|&&b| b == b'"').count() as u64;
            self.tail.quotes.set(self.tail.quotes.get() + q);
            self.tail.last.set(read.last().copied());
        }
        Ok(n)
    }
}

/// Skips a UTF-8 byte order mark at the start of `r`.
fn skip_bom<'a, R: Read + 'a>(mut r: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut prefix = [0u8; 3];
    let mut got = 0;
    while got < prefix.len() {
        let n = r.read(&mut prefix[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got == 3 && prefix == BOM {
        Ok(Box::new(r))
    } else {
        Ok(Box::new(Cursor::new(prefix[..got].to_vec()).chain(r)))
    }
}

/// Whether the whole of `path` is valid UTF-8 (a BOM included), scanning it once in chunks; the
/// bytes are hashed on the way.
fn scan_utf8(path: &Path, stats: &mut FileStats) -> io::Result<bool> {
    let mut file = File::open(path)?;
    // The first `pending` bytes of `buf` are the start of a sequence cut by the previous chunk.
    let mut buf = vec![0u8; SCAN_CHUNK + 4];
    let mut pending = 0usize;
    let mut valid = true;
    loop {
        let n = file.read(&mut buf[pending..])?;
        if n == 0 {
            break;
        }
        stats.hasher.update(&buf[pending..pending + n]);
        stats.bytes += n as u64;
        if !valid {
            continue;
        }
        let end = pending + n;
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) => pending = 0,
            Err(e) if e.error_len().is_some() => valid = false,
            Err(e) => {
                // An incomplete sequence at the end: carry it to the next chunk.
                let cut = e.valid_up_to();
                buf.copy_within(cut..end, 0);
                pending = end - cut;
            }
        }
    }
    // A sequence cut by the end of the file is a file cut inside a character (found by the
    // records' checks), not a sign of Windows-1252: reading the whole file as Windows-1252 would
    // garble every accent of it.
    Ok(valid)
}

/// Counts the candidate delimiters outside quotes in the header line; the most frequent wins.
pub fn sniff_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut in_quotes = false;
    for &b in line {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// Reads lines up to and including the first one that is not blank, to sniff the delimiter
/// before the CSV reader starts. Returns the bytes read (given back to the reader).
fn read_header_line<R: BufRead>(r: &mut R) -> io::Result<(Vec<u8>, usize)> {
    let mut buf = Vec::new();
    loop {
        let start = buf.len();
        let n = r.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok((buf, start));
        }
        if buf[start..].iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok((buf, start));
        }
    }
}

/// Decodes a field: UTF-8 is checked (the Windows-1252 path is already UTF-8).
fn field_str(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// The record's fields joined by the delimiter (lossy where bytes are not UTF-8).
fn raw_text(fields: &[&[u8]], delimiter: u8) -> String {
    let sep = char::from(delimiter).to_string();
    fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join(&sep)
}

/// The fields of a record, the `\r` of a CRLF line ending taken off the last one (records end
/// at `\n` only, so that the reader's line count is exact).
fn fields_of(record: &csv::ByteRecord) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = record.iter().collect();
    if let Some(last) = out.last_mut()
        && let Some(stripped) = last.strip_suffix(b"\r")
    {
        *last = stripped;
    }
    out
}

/// Builders of one raw batch.
struct RawBuilders {
    columns: Vec<StringBuilder>,
    line: Int64Builder,
    rows: usize,
}

impl RawBuilders {
    fn new(n: usize) -> Self {
        RawBuilders {
            columns: (0..n).map(|_| StringBuilder::new()).collect(),
            line: Int64Builder::new(),
            rows: 0,
        }
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, ConnectError> {
        let mut arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(self.line.finish()));
        self.rows = 0;
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}

/// Splits the file of `table` into raw batches and record-level rejects.
pub fn split_file(path: &Path, table: &SourceTable, opts: &ReadOptions) -> Result<Split, ConnectError> {
    let io_err = |source: io::Error| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| table.file.clone());
    let batch_size = opts.batch_size.max(1);
    let schema = raw_schema(table);
    if std::fs::metadata(path).map_err(io_err)?.len() == 0 {
        return Err(ConnectError::EmptyFile {
            table: table.name.clone(),
            path: path.to_path_buf(),
            detail: "0 bytes, not even a header".to_string(),
        });
    }

    let mut stats = FileStats::default();
    // Decide the encoding; `Auto` scans (and hashes) the file once first.
    let (utf8, hashed) = match opts.encoding {
        Encoding::Utf8 => (true, false),
        Encoding::Windows1252 => (false, false),
        Encoding::Auto => (scan_utf8(path, &mut stats).map_err(io_err)?, true),
    };
    // With `Auto`, the scan hashed the file: the second pass only parses.
    let mut unhashed = FileStats::default();
    let file = File::open(path).map_err(io_err)?;
    let tail = Rc::new(StreamTail::default());

    let mut split = Split {
        info: FileInfo {
            table: table.name.clone(),
            path: path.to_path_buf(),
            bytes: 0,
            sha256: String::new(),
            encoding: if utf8 { "utf-8" } else { "windows-1252" }.to_string(),
            delimiter: ';',
            rows_read: 0,
            elapsed: Default::default(),
        },
        raw_schema: schema.clone(),
        batches: Vec::new(),
        present: Vec::new(),
        rejects: Vec::new(),
    };

    {
        let stats_ref = if hashed { &mut unhashed } else { &mut stats };
        let counted = HashingReader {
            inner: file,
            stats: stats_ref,
        };
        let unbommed = skip_bom(counted).map_err(io_err)?;
        let decoded: Box<dyn Read + '_> = if utf8 {
            unbommed
        } else {
            Box::new(
                DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding_rs::WINDOWS_1252))
                    .bom_sniffing(false)
                    .build(unbommed),
            )
        };
        let mut buffered = BufReader::new(TailReader {
            inner: decoded,
            tail: tail.clone(),
        });
        let (prefix, header_start) = read_header_line(&mut buffered).map_err(io_err)?;
        let delimiter = sniff_delimiter(&prefix[header_start..]);
        split.info.delimiter = char::from(delimiter);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .quoting(true)
            .double_quote(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(Cursor::new(prefix).chain(buffered));

        read_records(
            &mut reader,
            table,
            &file_name,
            delimiter,
            utf8,
            batch_size,
            &schema,
            &tail,
            &mut split,
        )
        .map_err(|e| match e {
            RecordsError::Csv(e) => ConnectError::Io {
                path: path.to_path_buf(),
                source: io::Error::other(e),
            },
            RecordsError::Connect(e) => e,
            RecordsError::NoHeader => ConnectError::EmptyFile {
                table: table.name.clone(),
                path: path.to_path_buf(),
                detail: "no header, only blank lines".to_string(),
            },
            RecordsError::Cut { line, detail } => ConnectError::CutFile {
                table: table.name.clone(),
                path: path.to_path_buf(),
                line,
                detail,
            },
        })?;
        // Read whatever the CSV reader left, so the hash covers the whole file.
        let mut rest = reader.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(io_err)?;
    }
    split.info.bytes = stats.bytes;
    split.info.sha256 = hex::encode(stats.hasher.finalize());
    Ok(split)
}

/// Whether a record is a blank line (a CRLF blank line is one field `\r`).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty() || f == b"\r")
}

/// Reads the next data record, skipping blank lines.
fn read_data<R: Read>(reader: &mut csv::Reader<R>, record: &mut csv::ByteRecord) -> Result<bool, csv::Error> {
    loop {
        if !reader.read_byte_record(record)? {
            return Ok(false);
        }
        if !is_blank(record) {
            return Ok(true);
        }
    }
}

/// Why [`read_records`] stopped; the last two fail the source (the caller knows the path).
enum RecordsError {
    Csv(csv::Error),
    Connect(ConnectError),
    /// No header: nothing but blank lines (or a byte order mark).
    NoHeader,
    /// The last record, starting at `line`, is cut short.
    Cut {
        line: u64,
        detail: String,
    },
}

impl From<csv::Error> for RecordsError {
    fn from(e: csv::Error) -> Self {
        RecordsError::Csv(e)
    }
}

impl From<ConnectError> for RecordsError {
    fn from(e: ConnectError) -> Self {
        RecordsError::Connect(e)
    }
}

#[allow(clippy::too_many_arguments)]
fn read_records<R: Read>(
    reader: &mut csv::Reader<R>,
    table: &SourceTable,
    file_name: &str,
    delimiter: u8,
    utf8: bool,
    batch_size: usize,
    schema: &SchemaRef,
    tail: &StreamTail,
    split: &mut Split,
) -> Result<(), RecordsError> {
    let mut cur = csv::ByteRecord::new();
    let mut next = csv::ByteRecord::new();
    let reject = |fields: &[&[u8]], line: u64, column: Option<String>, kind: RejectKind, message: String| Reject {
        table: table.name.clone(),
        file: file_name.to_string(),
        line,
        column,
        kind,
        message,
        raw: raw_text(fields, delimiter),
    };

    // The header: the first record that is not a blank line.
    let mut have_header = reader.read_byte_record(&mut cur)?;
    while have_header && is_blank(&cur) {
        have_header = reader.read_byte_record(&mut cur)?;
    }
    let header: Vec<String> = fields_of(&cur)
        .iter()
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_lowercase()
        })
        .collect();
    if !have_header || header.iter().all(|h| h.is_empty()) {
        return Err(RecordsError::NoHeader);
    }
    // Contract column -> index in the record.
    let mut index: Vec<Option<usize>> = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        let wanted = column.name.trim().to_lowercase();
        let found = header.iter().position(|h| *h == wanted);
        if found.is_none() && column.required {
            return Err(ConnectError::MissingColumn {
                file: file_name.to_string(),
                column: column.name.clone(),
            }
            .into());
        }
        index.push(found);
    }
    let mut present: Vec<(usize, usize)> = index
        .iter()
        .enumerate()
        .filter_map(|(c, i)| i.map(|i| (i, c)))
        .collect();
    present.sort();
    split.present = present.into_iter().map(|(_, c)| c).collect();
    let expected = header.len();

    let mut builders = RawBuilders::new(table.columns.len());
    // Each record is read one ahead, to know which one is the last; `*_end` is the reader's line
    // count right after the record (its terminating `\n` included, if it had one).
    let mut have_cur = read_data(reader, &mut cur)?;
    let mut cur_end = reader.position().line();
    while have_cur {
        let have_next = read_data(reader, &mut next)?;
        let next_end = reader.position().line();
        let is_last = !have_next;
        let fields = fields_of(&cur);
        split.info.rows_read += 1;

        let inner_breaks: u64 = fields
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum();
        let has_break = fields.iter().any(|f| f.contains(&b'\n') || f.contains(&b'\r'));
        let ends_with_newline = tail.last.get() == Some(b'\n');
        let open_quote_at_end = is_last && tail.quotes.get() % 2 == 1;
        let last_field_swallowed_eol = open_quote_at_end && fields.last().is_some_and(|f| f.ends_with(b"\n"));
        // Whether the record was ended by a line break (every record but maybe the last).
        let terminated = !is_last || (ends_with_newline && !last_field_swallowed_eol);
        let line = cur_end.saturating_sub(inner_breaks + u64::from(terminated)).max(1);
        let found = fields.len();

        // A last record with no line end is cut short when a field is missing, a quoted field is
        // still open, or (UTF-8) its last character is incomplete: a transfer that stopped. It
        // fails the source instead of being quarantined as one row.
        if is_last && !ends_with_newline {
            let cut_char = utf8
                && fields
                    .last()
                    .is_some_and(|f| std::str::from_utf8(f).is_err_and(|e| e.error_len().is_none()));
            let detail = if open_quote_at_end {
                Some(format!(
                    "ends inside a quoted field with no line end ({found} fields read, {expected} expected)"
                ))
            } else if found < expected {
                Some(format!("has {found} fields of {expected} and no line end"))
            } else if cut_char {
                Some("ends inside a character with no line end".to_string())
            } else {
                None
            };
            if let Some(detail) = detail {
                return Err(RecordsError::Cut { line, detail });
            }
        }

        let problem = if open_quote_at_end && has_break {
            Some((
                RejectKind::UnterminatedQuote,
                format!(
                    "a quoted field opened in this record is never closed: the file ends inside \
                     it ({found} fields read, {expected} expected)"
                ),
            ))
        } else if found != expected {
            if has_break {
                Some((
                    RejectKind::UnterminatedQuote,
                    format!(
                        "a quoted field runs over line breaks (a quote is not closed where it \
                         should be): {found} fields read, {expected} expected"
                    ),
                ))
            } else {
                Some((
                    RejectKind::WrongColumnCount,
                    format!("{found} fields where the header has {expected}"),
                ))
            }
        } else {
            None
        };

        if let Some((kind, message)) = problem {
            split.rejects.push(reject(&fields, line, None, kind, message));
        } else if let Some(bad) = fields.iter().position(|f| field_str(f).is_none()) {
            let column = header.get(bad).cloned().unwrap_or_default();
            let message = if utf8 {
                format!("column {column}: bytes that are not valid UTF-8 in a UTF-8 file")
            } else {
                format!("column {column}: text that could not be decoded")
            };
            split.rejects.push(reject(
                &fields,
                line,
                Some(column),
                RejectKind::InvalidEncoding,
                message,
            ));
        } else {
            for (c, builder) in builders.columns.iter_mut().enumerate() {
                match index[c].and_then(|i| fields.get(i)).and_then(|f| field_str(f)) {
                    Some(v) => builder.append_value(v),
                    None => builder.append_null(),
                }
            }
            builders.line.append_value(i64::try_from(line).unwrap_or(i64::MAX));
            builders.rows += 1;
            if builders.rows >= batch_size {
                split.batches.push(builders.finish(schema)?);
            }
        }
        std::mem::swap(&mut cur, &mut next);
        have_cur = have_next;
        cur_end = next_end;
    }
    if builders.rows > 0 {
        split.batches.push(builders.finish(schema)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_most_frequent_delimiter() {
        assert_eq!(sniff_delimiter(b"a;b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"a,b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"a|b|c\r\n"), b'|');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a;b,c;d\n"), b';');
        assert_eq!(sniff_delimiter(b"\"a,b,c\";d;e\n"), b';');
        assert_eq!(sniff_delimiter(b"single\n"), b';');
    }

    #[test]
    fn utf8_scan_handles_chunk_boundaries() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.csv");
        for pad in 0..5 {
            let mut bytes = vec![b'a'; SCAN_CHUNK - 2 + pad];
            bytes.extend_from_slice("é€😀".as_bytes());
            std::fs::write(&path, &bytes)?;
            let mut stats = FileStats::default();
            assert!(scan_utf8(&path, &mut stats)?, "pad {pad}");
            assert_eq!(stats.bytes, bytes.len() as u64);
            // A sequence cut by the end of the file is a cut file, still UTF-8 (the records'
            // checks fail it)...
            bytes.extend_from_slice(&[0xE2, 0x82]);
            std::fs::write(&path, &bytes)?;
            assert!(scan_utf8(&path, &mut FileStats::default())?, "pad {pad}");
            // ... but the same bytes followed by more are not UTF-8.
            bytes.extend_from_slice(b"\n");
            std::fs::write(&path, &bytes)?;
            assert!(!scan_utf8(&path, &mut FileStats::default())?, "pad {pad}");
        }
        Ok(())
    }

    #[test]
    fn bom_is_skipped_only_when_present() -> io::Result<()> {
        let mut out = String::new();
        skip_bom(&b"\xEF\xBB\xBFab"[..])?.read_to_string(&mut out)?;
        assert_eq!(out, "ab");
        out.clear();
        skip_bom(&b"ab"[..])?.read_to_string(&mut out)?;
        assert_eq!(out, "ab");
        Ok(())
    }
}
