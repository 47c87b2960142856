//! Helpers for the connectors' tests (feature `testing`): the repository's contracts, inline
//! export folders, assertions on an [`Extract`]'s rows and rejects and on the source failures of
//! a bad night's file, and the fuzz campaigns' mutation strategies ([`fuzz`]). Tests only: these
//! panic.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod fuzz;

use std::path::Path;

use datafusion::arrow::array::Array;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use socle_dictionary::{Dictionary, Source};

use crate::{ConnectError, Extract, Reject, RejectKind};

/// The contract of `system` from the repository's `schemas/`.
pub fn contract(system: &str) -> Source {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let dict = Dictionary::load(&schemas).expect("the repository's dictionary loads");
    dict.source(system)
        .cloned()
        .unwrap_or_else(|| panic!("no contract for {system} in schemas/sources"))
}

/// Writes `bytes` to `dir/file`.
pub fn write(dir: &Path, file: &str, bytes: &[u8]) {
    std::fs::write(dir.join(file), bytes).expect("write file");
}

/// The header of a contract table, joined by `;`.
pub fn header_of(source: &Source, table: &str) -> String {
    let t = source.table(table).expect("table");
    t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(";")
}

/// Writes every file of a delimited contract with its header only (`;`, LF).
pub fn write_headers(dir: &Path, source: &Source) {
    for table in &source.tables {
        write(
            dir,
            &table.file,
            format!("{}\n", header_of(source, &table.name)).as_bytes(),
        );
    }
}

/// All batches of a table, concatenated.
pub fn batch(x: &Extract, table: &str) -> RecordBatch {
    let t = &x.tables[table];
    concat_batches(&t.schema, &t.batches).expect("concat")
}

/// Every value of a column as text (`None` for null), in row order.
pub fn col(x: &Extract, table: &str, column: &str) -> Vec<Option<String>> {
    let b = batch(x, table);
    let idx = b.schema().index_of(column).expect("column");
    let a = b.column(idx);
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| array_value_to_string(a, i).expect("display")))
        .collect()
}

/// `Some(v)` as an owned string, for comparing with [`col`].
pub fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The rejects of a file.
pub fn rejects<'a>(x: &'a Extract, file: &str) -> Vec<&'a Reject> {
    x.rejects.iter().filter(|r| r.file == file).collect()
}

/// (line, column, kind) of every reject of a file, in line order.
pub fn summary(x: &Extract, file: &str) -> Vec<(u64, Option<String>, RejectKind)> {
    rejects(x, file)
        .iter()
        .map(|r| (r.line, r.column.clone(), r.kind))
        .collect()
}

/// A (line, column, kind) triple, for comparing with [`summary`].
pub fn rj(line: u64, column: Option<&str>, kind: RejectKind) -> (u64, Option<String>, RejectKind) {
    (line, column.map(str::to_string), kind)
}

/// The single reject of a file, with its line, column and kind asserted.
pub fn assert_one(x: &Extract, file: &str, line: u64, column: Option<&str>, kind: RejectKind) {
    let r = rejects(x, file);
    assert_eq!(r.len(), 1, "rejects of {file}: {r:#?}");
    assert_eq!(r[0].line, line, "{:#?}", r[0]);
    assert_eq!(r[0].column.as_deref(), column, "{:#?}", r[0]);
    assert_eq!(r[0].kind, kind, "{:#?}", r[0]);
    assert_eq!(r[0].file, file);
}

/// Asserts that no reject message of `x` contains any of `values` (personal data).
pub fn assert_no_personal(x: &Extract, values: &[&str]) {
    for reject in &x.rejects {
        for value in values {
            assert!(
                !reject.message.contains(value),
                "{value:?} in the message of {reject:#?}"
            );
        }
    }
}

/// Asserts that `result` is the source failure [`ConnectError::EmptyFile`] of `table`'s file
/// `file`, and that its message names the file; returns the message.
pub fn assert_empty_file<T: std::fmt::Debug>(result: Result<T, ConnectError>, table: &str, file: &str) -> String {
    let err = result.expect_err("an empty file fails the source");
    let ConnectError::EmptyFile { table: t, path, .. } = &err else {
        panic!("not an empty-file failure: {err:?}");
    };
    assert_eq!(t, table);
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(file));
    let message = err.to_string();
    assert!(message.contains(file) && message.contains("empty"), "{message}");
    message
}

/// Asserts that `result` is the source failure [`ConnectError::CutFile`] of `table`'s file
/// `file`, its last record starting at `line`, and that its message names the file and the line;
/// returns the message.
pub fn assert_cut_file<T: std::fmt::Debug>(
    result: Result<T, ConnectError>,
    table: &str,
    file: &str,
    line: u64,
) -> String {
    let err = result.expect_err("a cut file fails the source");
    let ConnectError::CutFile {
        table: t,
        path,
        line: l,
        ..
    } = &err
    else {
        panic!("not a cut-file failure: {err:?}");
    };
    assert_eq!((t.as_str(), *l), (table, line));
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(file));
    let message = err.to_string();
    assert!(
        message.contains(file) && message.contains(&format!("line {line}")) && message.contains("cut"),
        "{message}"
    );
    message
}
