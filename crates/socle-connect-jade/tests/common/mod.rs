//! Helpers of the tests: the JADE contract, a minimal full folder, reading; the assertions on
//! rows and rejects are the connectors' shared ones (`socle_connect::testing`).
#![allow(dead_code, unused_imports)]

use std::path::Path;

pub use socle_connect::testing::{
    assert_cut_file, assert_empty_file, assert_no_personal, assert_one, batch, col, rejects, rj, s, summary, write,
};
use socle_connect_jade::{ConnectError, Extract, ReadOptions, read_jade};
use socle_dictionary::{Encoding, Source};

/// The JADE contract, from `schemas/sources/jade.yaml`.
pub fn source() -> Source {
    socle_connect::testing::contract("jade")
}

/// Writes every table of the contract with its header only (`;`, LF).
pub fn full_folder(dir: &Path) {
    socle_connect::testing::write_headers(dir, &source());
}

/// A tempdir holding a full folder.
pub fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    full_folder(dir.path());
    dir
}

pub async fn try_read(dir: &Path, encoding: Encoding) -> Result<Extract, ConnectError> {
    let opts = ReadOptions {
        encoding,
        ..ReadOptions::default()
    };
    read_jade(dir, &source(), &opts).await
}

pub async fn read(dir: &Path) -> Extract {
    try_read(dir, Encoding::Auto).await.expect("read folder")
}

/// The header of a contract table, joined by `;`.
pub fn header(table: &str) -> String {
    socle_connect::testing::header_of(&source(), table)
}
