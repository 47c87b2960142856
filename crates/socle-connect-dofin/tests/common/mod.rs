//! Helpers shared by the tests: the contract, a minimal full folder, reading and cell access.
#![allow(dead_code)]

use std::path::Path;

use datafusion::arrow::array::Array;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use socle_connect_dofin::{ConnectError, Extract, ReadOptions, Reject, RejectKind, read_dofin};
use socle_dictionary::{Encoding, Source};

/// The Dofin contract, deserialised from `schemas/sources/dofin.yaml`.
pub fn source() -> Source {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/sources/dofin.yaml");
    let text = std::fs::read_to_string(&path).expect("read dofin.yaml");
    serde_saphyr::from_str::<Source>(&text).expect("parse dofin.yaml")
}

/// Writes every table of the contract with its header only (`;`, LF).
pub fn full_folder(dir: &Path) {
    for table in source().tables {
        let header: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        write(dir, &table.file, format!("{}\n", header.join(";")).as_bytes());
    }
}

/// A tempdir holding a full folder.
pub fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    full_folder(dir.path());
    dir
}

pub fn write(dir: &Path, file: &str, bytes: &[u8]) {
    std::fs::write(dir.join(file), bytes).expect("write file");
}

pub async fn try_read(dir: &Path, encoding: Encoding) -> Result<Extract, ConnectError> {
    let opts = ReadOptions {
        encoding,
        ..ReadOptions::default()
    };
    read_dofin(dir, &source(), &opts).await
}

pub async fn read(dir: &Path) -> Extract {
    try_read(dir, Encoding::Auto).await.expect("read folder")
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

/// The header of a contract table, joined by `;`.
pub fn header(table: &str) -> String {
    let src = source();
    let t = src.table(table).expect("table");
    t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(";")
}
