//! Socle connector for Mozaïk-style exports (`mozaik/*.jsonl`, formats/mozaik.md): JSON Lines,
//! one object per line, read against the contract `schemas/sources/mozaik.yaml` into the same
//! [`Extract`] as the CSV connectors (typed tables with `_file` and `_line`, rejects with file,
//! line, column and reason, and what was read of each file).
//!
//! # Design
//!
//! Three stages per file, with no hand-written JSON parser (shared `DESIGN.md`, "Reading
//! exports"):
//!
//! 1. **Lines, in Rust** (`read`). The file is read once as bytes through a buffer, hashed
//!    (SHA-256) as it is read, and split on `\n` (a `\r` before it is dropped, so CRLF files
//!    load); line 1 loses a UTF-8 byte order mark. Line numbers are physical and 1-based, line 1
//!    being the first object (there is no header); blank lines are skipped. Each line is checked
//!    with serde_json, without building a tree (`scan`): bytes that are not UTF-8 reject it as
//!    `invalid_encoding` (JSON Lines are UTF-8 by definition, so the CSS's declared encoding of
//!    its CSV exports does not apply); anything but exactly one JSON object rejects it as
//!    `malformed_json`. A **bad night's file** fails the whole source (formats/README.md, "A bad
//!    night never replaces good data"): a 0-byte file ([`ConnectError::EmptyFile`]), and a cut
//!    file ([`ConnectError::CutFile`]): a last line with no final line break that is not a
//!    complete JSON object or ends inside a UTF-8 character. A complete last object without a
//!    line break loads. JSON Lines has no header, so a file of blank lines only (at least one
//!    line break) is a valid empty table: that is how an export with no rows tells itself from a
//!    failed one. The scan also records which
//!    contract keys appear: JSON has no header, so a column is present when some line has its
//!    key, and a required column whose key is in no line of a file with objects fails the whole
//!    source ([`ConnectError::MissingColumn`]); a key missing from one line is an empty value.
//! 2. **Decoding, with arrow-json** (`decode`, arrow-json as re-exported by DataFusion's arrow,
//!    so there is one Arrow version). The good lines go, [`ReadOptions::batch_size`] at a time,
//!    to a `Decoder` built with `coerce_primitive` and without `strict_mode`: unknown keys are
//!    ignored, keys may come in any order, and every contract column is decoded as `Utf8`, so a
//!    number or a boolean arrives as its text (`78.5`, `true`) and the shared typing checks it
//!    with the same rules and messages as a CSV field. A batch that fails (a key holding an
//!    object or an array where a value is expected) is split in halves and decoded again, down
//!    to the bad lines, which alone are rejected (`malformed_json`, naming the key). An `unnest` table (Mozaïk's
//!    `legendes_codes`, from the `codes` array of `legendes.jsonl`) decodes its array as
//!    `List<Struct<..Utf8>>` and explodes it with arrow kernels: one row per element, a column
//!    taking the element's value, else the line's (`etablissement_id`, `legende`), each row
//!    keeping its line's number. Several tables reading one file share the single pass.
//! 3. **Typing and validation, in DataFusion**: the raw `Utf8` batches `r0..rN` + `_line` are
//!    typed by [`socle_connect::typing::type_table`], the very query of the CSV connectors
//!    (types, missing values, domains, duplicate keys).
//!
//! [`Reject::raw`] is the line's text (for rows rejected by the typing it is read again from the
//! file at the line's offset, kept from the pass, so the lines are not held in memory); it may
//! hold personal data and goes only to the CSS's own quarantine. Messages never quote a value of
//! a personal column, nor any value at all for the line-level problems (serde_json's and
//! arrow-json's own messages may quote values and are not used).
//!
//! [`FileInfo`]: one per table (two tables reading one file give two entries with the same path
//! and hash), `encoding` always `utf-8`, `delimiter` `'\n'` (records are delimited by line
//! breaks; fields are JSON keys). `rows_read` counts the records: non-blank lines, or, for an
//! `unnest` table, array elements plus the lines rejected whole (whose elements cannot be
//! counted). A line rejected before decoding is reported once for each table reading its file.

mod decode;
mod read;
mod scan;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use socle_connect::split::Split;
use socle_connect::typing::{type_table, typed_schema};
pub use socle_connect::{ConnectError, Extract, FileInfo, ReadOptions, Reject, RejectKind, TypedTable};
use socle_dictionary::{Source, SourceTable};

/// The source system's name, as in the contract's `system` and the export folder.
pub const SYSTEM: &str = "mozaik";

/// The encoding recorded for every file: JSON Lines are UTF-8.
const ENCODING: &str = "utf-8";
/// The record delimiter recorded for every file.
const DELIMITER: char = '\n';

/// Reads a night's `mozaik/` folder (e.g. `<exports>/866000/2025-11-20/mozaik`) against the
/// Mozaïk contract. A missing, 0-byte or cut file, or a required key found in no line of a file,
/// fails the whole source; every other problem rejects the line and is reported in
/// [`Extract::rejects`]. `opts.encoding` is not used: JSON Lines are UTF-8.
pub async fn read_mozaik(folder: &Path, source: &Source, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    // Every file must be there before anything is read.
    for table in &source.tables {
        let path = folder.join(&table.file);
        if !path.is_file() {
            return Err(ConnectError::MissingFile {
                table: table.name.clone(),
                path,
            });
        }
    }
    let batch_size = opts.batch_size.max(1);
    let ctx = socle_connect::typing::typing_session(batch_size);

    // Tables by file, files in the order of their first table.
    let mut files: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, table) in source.tables.iter().enumerate() {
        match files.iter_mut().find(|(f, _)| *f == table.file) {
            Some((_, tables)) => tables.push(i),
            None => files.push((table.file.clone(), vec![i])),
        }
    }

    let mut results: BTreeMap<usize, (TypedTable, FileInfo, Vec<Reject>)> = BTreeMap::new();
    for (file, indices) in files {
        let started = Instant::now();
        let path = folder.join(&file);
        let tables: Vec<SourceTable> = indices.iter().map(|&i| source.tables[i].clone()).collect();
        let first = tables.first().map(|t| t.name.clone()).unwrap_or_default();
        let pass = {
            let (path, tables) = (path.clone(), tables.clone());
            tokio::task::spawn_blocking(move || read::read_file(&path, &tables, batch_size))
                .await
                .map_err(|e| ConnectError::Task {
                    table: first.clone(),
                    message: e.to_string(),
                })??
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());

        let mut typed_all = Vec::new();
        for (sink, present) in pass.sinks.into_iter().zip(pass.present) {
            let info = FileInfo {
                table: sink.table.name.clone(),
                path: path.clone(),
                bytes: pass.bytes,
                sha256: pass.sha256.clone(),
                encoding: ENCODING.to_string(),
                delimiter: DELIMITER,
                rows_read: sink.rows_read,
                elapsed: Default::default(),
            };
            let split = Split {
                info,
                raw_schema: sink.raw_schema(),
                batches: sink.batches,
                present,
                rejects: sink.rejects,
            };
            let typed = type_table(&ctx, &sink.table, &split, &file_name).await?;
            typed_all.push((sink.table, split, typed));
        }

        // The rows the typing rejected get their line's text as `raw`.
        let lines: Vec<u64> = typed_all
            .iter()
            .flat_map(|(_, _, t)| t.rejects.iter().map(|r| r.line))
            .collect();
        let texts = if lines.is_empty() {
            BTreeMap::new()
        } else {
            let (path, offsets) = (path.clone(), pass.offsets);
            tokio::task::spawn_blocking(move || read::line_texts(&path, &offsets, &lines))
                .await
                .map_err(|e| ConnectError::Task {
                    table: first.clone(),
                    message: e.to_string(),
                })??
        };

        for ((table, split, mut typed), &index) in typed_all.into_iter().zip(&indices) {
            for reject in &mut typed.rejects {
                if let Some(text) = texts.get(&reject.line) {
                    reject.raw = text.clone();
                }
            }
            let rows_read = split.info.rows_read;
            let mut split = split;
            split.info.elapsed = started.elapsed();
            tracing::info!(
                system = %source.system,
                table = %table.name,
                file = %file_name,
                bytes = split.info.bytes,
                rows_read,
                rows_loaded = typed.rows_loaded,
                rows_rejected = split.rejects.len() + typed.rejects.len(),
                duration_ms = started.elapsed().as_millis() as u64,
                "source table read"
            );
            let mut rejects = split.rejects;
            rejects.extend(typed.rejects);
            let out = TypedTable {
                name: table.name.clone(),
                schema: typed_schema(&table),
                batches: typed.batches,
                rows_read,
                rows_loaded: typed.rows_loaded,
            };
            results.insert(index, (out, split.info, rejects));
        }
    }

    let mut extract = Extract {
        system: source.system.clone(),
        tables: BTreeMap::new(),
        rejects: Vec::new(),
        files: Vec::new(),
    };
    for (_, (table, info, rejects)) in results {
        extract.files.push(info);
        extract.rejects.extend(rejects);
        extract.tables.insert(table.name.clone(), table);
    }
    extract
        .rejects
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    Ok(extract)
}
