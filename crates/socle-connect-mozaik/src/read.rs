//! One pass over a JSON Lines file for every table that reads it: the bytes are hashed as they
//! are read, the lines split on `\n`, each checked (UTF-8, one JSON object) and handed to the
//! tables' [`TableSink`]s.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use socle_connect::{ConnectError, RejectKind};
use socle_dictionary::SourceTable;

use crate::decode::TableSink;
use crate::scan::{KeySpec, NotAnObject, Seen, json_kind, scan_line};

/// Bytes of the UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Read buffer.
const BUFFER: usize = 1 << 20;

/// What one pass over a file gave.
pub struct FilePass {
    pub bytes: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Byte offset of the start of each physical line (index: line number - 1), to fetch the text
    /// of the lines the typing rejects without keeping every line in memory.
    pub offsets: Vec<u64>,
    /// One per table, in the order given.
    pub sinks: Vec<TableSink>,
    /// Per table: indices of the contract columns present (their key is in some line, or, for an
    /// `unnest` table, in some line or array element), in contract order.
    pub present: Vec<Vec<usize>>,
}

/// Hashes and counts the bytes of the file as they are read.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A line's problem: kind, JSON key at fault (if known), message.
type LineProblem = (RejectKind, Option<String>, String);

/// Why a line is not loaded.
enum LineError {
    /// The line is rejected (quarantined), the rest of the file loads.
    Reject(LineProblem),
    /// The file's last line, with no line break, is not a complete JSON object (or ends inside a
    /// UTF-8 character): the file is cut, the source fails. The text says how.
    Cut(&'static str),
}

/// Reads `path` for `tables` (all reading that file).
pub fn read_file(path: &Path, tables: &[SourceTable], batch_size: usize) -> Result<FilePass, ConnectError> {
    let io_err = |source: io::Error| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if std::fs::metadata(path).map_err(io_err)?.len() == 0 {
        return Err(ConnectError::EmptyFile {
            table: tables.first().map(|t| t.name.clone()).unwrap_or_default(),
            path: path.to_path_buf(),
            detail: "0 bytes, not even one line".to_string(),
        });
    }
    let spec = KeySpec::of(tables);
    let mut file_seen = Seen::new(&spec);
    let mut line_seen = Seen::new(&spec);
    let mut sinks: Vec<TableSink> = tables
        .iter()
        .map(|t| TableSink::new(t, &file_name, batch_size))
        .collect();
    let mut offsets = Vec::new();

    let file = File::open(path).map_err(io_err)?;
    let mut reader = BufReader::with_capacity(
        BUFFER,
        HashingReader {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        },
    );
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        number += 1;
        offsets.push(offset);
        offset += n as u64;
        let terminated = buf.last() == Some(&b'\n');
        let line = line_content(&buf, number);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match check_line(line, terminated, &spec, &mut line_seen) {
            Ok(()) => {
                file_seen.merge(&line_seen);
                for sink in &mut sinks {
                    sink.push(line, number)?;
                }
            }
            Err(LineError::Cut(detail)) => {
                return Err(ConnectError::CutFile {
                    table: tables.first().map(|t| t.name.clone()).unwrap_or_default(),
                    path: path.to_path_buf(),
                    line: number,
                    detail: detail.to_string(),
                });
            }
            Err(LineError::Reject((kind, key, message))) => {
                let raw = String::from_utf8_lossy(line).into_owned();
                for sink in &mut sinks {
                    // The key names the column only for the tables that have it.
                    let column = key.as_ref().filter(|k| sink.table.column(k).is_some()).cloned();
                    let message = match (&key, &column) {
                        (Some(k), None) => format!("{message} (in key {k})"),
                        _ => message.clone(),
                    };
                    sink.reject(number, column, kind, message, raw.clone());
                }
            }
        }
    }
    for sink in &mut sinks {
        sink.flush()?;
    }
    // A file of blank lines only is an empty table (JSON Lines has no header: a line break is
    // how an export with no rows tells itself from a failed export's 0 bytes).
    let HashingReader { hasher, bytes, .. } = reader.into_inner();

    let mut present = Vec::with_capacity(tables.len());
    for table in tables {
        let top = |name: &str| {
            spec.top
                .iter()
                .position(|n| n == name)
                .is_some_and(|i| file_seen.top[i])
        };
        let array = table.unnest.as_ref().and_then(|a| {
            let at = spec.top.iter().position(|n| n == a)?;
            let i = spec.arrays.iter().position(|(t, _)| *t == at)?;
            Some((&spec.arrays[i].1, &file_seen.arrays[i]))
        });
        let element = |name: &str| {
            array.is_some_and(|(fields, (seen, _))| fields.iter().position(|f| f == name).is_some_and(|i| seen[i]))
        };
        // JSON has no header: a required key must be in some record, judged only when there are
        // records (for an `unnest` table: array elements) to judge by.
        let judged = match array {
            Some((_, (_, elements))) => *elements > 0,
            None => table.unnest.is_none() && file_seen.objects > 0,
        };
        let mut cols = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            let is_array = table.unnest.as_deref() == Some(column.name.as_str());
            let found = element(&column.name) || (!is_array && top(&column.name));
            if found {
                cols.push(i);
            } else if column.required && judged {
                return Err(ConnectError::MissingColumn {
                    file: file_name,
                    column: column.name.clone(),
                });
            }
        }
        present.push(cols);
    }

    Ok(FilePass {
        bytes,
        sha256: hex::encode(hasher.finalize()),
        offsets,
        sinks,
        present,
    })
}

/// A line without its line break (`\n`, `\r\n`) and, on line 1, without the byte order mark.
fn line_content(buf: &[u8], number: u64) -> &[u8] {
    let mut line = buf.strip_suffix(b"\n").unwrap_or(buf);
    line = line.strip_suffix(b"\r").unwrap_or(line);
    if number == 1 {
        line = line.strip_prefix(BOM).unwrap_or(line);
    }
    line
}

/// Checks one non-blank line: valid UTF-8, exactly one JSON object. `terminated`: the line ended
/// with a line break (only the file's last line may not).
fn check_line(line: &[u8], terminated: bool, spec: &KeySpec, seen: &mut Seen) -> Result<(), LineError> {
    if let Err(e) = std::str::from_utf8(line) {
        // A multi-byte character cut by the end of the file is a cut file, not an encoding; so
        // is a last line that would not be a whole object even with its bad bytes replaced.
        if !terminated {
            if e.error_len().is_none() {
                return Err(LineError::Cut("ends inside a UTF-8 character with no line break"));
            }
            let whole = serde_json::from_str::<Value>(&String::from_utf8_lossy(line)).is_ok_and(|v| v.is_object());
            if !whole {
                return Err(LineError::Cut("is not a complete JSON object and has no line break"));
            }
        }
        let at = e.valid_up_to() + 1;
        return Err(LineError::Reject((
            RejectKind::InvalidEncoding,
            invalid_bytes_key(line),
            format!("bytes that are not valid UTF-8 (JSON Lines are UTF-8), from byte {at} of the line"),
        )));
    }
    match scan_line(line, spec, seen) {
        Ok(()) => Ok(()),
        Err(NotAnObject::Shape) => Err(LineError::Reject((
            RejectKind::MalformedJson,
            None,
            format!("the line is a JSON {}, not an object", json_kind(line)),
        ))),
        Err(_) if !terminated => Err(LineError::Cut("is not a complete JSON object and has no line break")),
        Err(NotAnObject::Eof) => Err(LineError::Reject((
            RejectKind::MalformedJson,
            None,
            "the line is not valid JSON: it ends inside a value".to_string(),
        ))),
        Err(NotAnObject::Syntax { at }) => Err(LineError::Reject((
            RejectKind::MalformedJson,
            None,
            format!("the line is not valid JSON (error at character {at})"),
        ))),
    }
}

/// The key whose string value holds the invalid bytes, when the line still parses once they are
/// replaced (top-level keys first, then keys of objects in arrays).
fn invalid_bytes_key(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&text) else {
        return None;
    };
    let bad = |v: &Value| v.as_str().is_some_and(|s| s.contains('\u{FFFD}'));
    if let Some((k, _)) = object.iter().find(|(_, v)| bad(v)) {
        return Some(k.clone());
    }
    object
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object)
        .find_map(|element| element.iter().find(|(_, v)| bad(v)).map(|(k, _)| k.clone()))
}

/// The text of the given lines (1-based), read again from the file at the offsets of the pass.
pub fn line_texts(path: &Path, offsets: &[u64], lines: &[u64]) -> Result<BTreeMap<u64, String>, ConnectError> {
    let io_err = |source: io::Error| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut wanted: Vec<u64> = lines.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut buf = Vec::new();
    for line in wanted {
        let Some(&start) = usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|i| offsets.get(i))
        else {
            continue;
        };
        reader.seek(SeekFrom::Start(start)).map_err(io_err)?;
        buf.clear();
        reader.read_until(b'\n', &mut buf).map_err(io_err)?;
        out.insert(line, String::from_utf8_lossy(line_content(&buf, line)).into_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_content_strips_line_breaks_and_the_first_bom() {
        assert_eq!(line_content(b"\xEF\xBB\xBF{}\r\n", 1), b"{}");
        assert_eq!(line_content(b"\xEF\xBB\xBF{}\n", 2), b"\xEF\xBB\xBF{}");
        assert_eq!(line_content(b"{}", 3), b"{}");
    }

    #[test]
    fn invalid_bytes_are_located_by_key() {
        assert_eq!(
            invalid_bytes_key(b"{\"a\": \"ok\", \"nom\": \"C\xf4t\xe9\"}").as_deref(),
            Some("nom")
        );
        assert_eq!(
            invalid_bytes_key(b"{\"codes\": [{\"code\": \"\xff\"}]}").as_deref(),
            Some("code")
        );
        assert_eq!(invalid_bytes_key(b"{\"a\": \xff}"), None);
    }
}
