//! Socle connector for JADE-style exports (`jade/e_*.csv`, formats/jade.md): adult general
//! education (FGA), vocational training (FP) and the ministry's results and diplomas.
//!
//! JADE's five tables are delimited files with every variation of formats/README.md, so the
//! reading itself is the shared [`socle_connect::read_delimited`], driven by the contract
//! `schemas/sources/jade.yaml`. What is JADE's own lives in that contract and in the
//! normalisation plans of `socle-transform`:
//!
//! - `e_ri_resultats` keeps **several copies** of one ministry result, one per retrieval
//!   (`datehrerecup`, a timestamp). The copy's timestamp is part of the key, so every copy loads
//!   here and only an exact repeat (same student, course, year, session month and timestamp) is a
//!   duplicate key; the latest copy per student, course, year and session month is chosen later,
//!   in normalisation.
//! - The result columns (`resecobrute`, `resecomod`, `resoffbrute`, `resofffinal`) are text as
//!   exported, numbers or codes (`ABS`, `EQU`, ...): they are read in normalisation. Pass or fail
//!   is `indreuscharl` alone.
//! - `e_ri_resultats` and `e_ri_mentions` are keyed by the code permanent (personal: never in a
//!   message), since they also cover youth-sector students, whose JADE `fiche` is empty.
//! - A centre (`ecocen`) is JADE's own code; `t_ecocen` gives its ministry establishment.

use std::path::Path;

pub use socle_connect::{ConnectError, Extract, FileInfo, ReadOptions, Reject, RejectKind, TypedTable};
use socle_dictionary::Source;

/// The source system's name, as in the contract's `system` and the export folder.
pub const SYSTEM: &str = "jade";

/// Reads a night's `jade/` folder (e.g. `fixtures/exports/866000/2025-11-20/jade`) against the
/// JADE contract. A missing, empty (0 bytes or no header) or cut file, or a missing
/// required column, fails the whole source; every other problem rejects the record and is
/// reported in [`Extract::rejects`].
pub async fn read_jade(folder: &Path, source: &Source, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    socle_connect::read_delimited(folder, source, opts).await
}
