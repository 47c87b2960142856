//! Socle connector for GPI-style youth-sector CSV exports (`gpi/gpm_*.csv`, formats/gpi.md).
//!
//! GPI's 12 tables are delimited files with every variation of formats/README.md, so the reading
//! itself is the shared [`socle_connect::read_delimited`], driven by the contract
//! `schemas/sources/gpi.yaml`. What is GPI's own lives in that contract (tables, keys, types,
//! domains, the tables that keep repeated keys) and in the normalisation plans of
//! `socle-transform` (`sql/gpi/`); this crate names the source and carries its tests.

use std::path::Path;

pub use socle_connect::{ConnectError, Extract, FileInfo, ReadOptions, Reject, RejectKind, TypedTable};
use socle_dictionary::Source;

/// The source system's name, as in the contract's `system` and the export folder.
pub const SYSTEM: &str = "gpi";

/// Reads a night's `gpi/` folder (e.g. `fixtures/exports/866000/2025-11-20/gpi`) against the
/// GPI contract. A missing, empty (0 bytes or no header) or cut file, or a missing
/// required column, fails the whole source; every other problem rejects the record and is
/// reported in [`Extract::rejects`].
pub async fn read_gpi(folder: &Path, source: &Source, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    socle_connect::read_delimited(folder, source, opts).await
}
