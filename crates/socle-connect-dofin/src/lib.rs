//! Socle connector for Dofin-style finance exports (`dofin/fin_*.csv`, formats/dofin.md): the
//! general ledger, the budget and their code lists.
//!
//! Dofin's five tables are delimited files with every variation of formats/README.md, so the
//! reading itself is the shared [`socle_connect::read_delimited`], driven by the contract
//! `schemas/sources/dofin.yaml`. What is Dofin's own:
//!
//! - **Amounts** (`montant`) are of type `money`: Arrow `Decimal128(18, 2)`, exact to the cent,
//!   so that sums of thousands of ledger lines do not drift as floats would. A decimal comma or
//!   point is accepted; an amount with more than 2 decimal places is rejected
//!   (`unparsable_number`) rather than rounded.
//! - **Sign convention**: amounts are signed as exported, expenses positive and revenues
//!   negative. They are loaded as is; the nature (expense or revenue) comes from the object code
//!   in normalisation.
//! - **Code axes**: every amount line carries a fund (`fonds`, `1` operating or `2` investment),
//!   an activity (`activite`, 5 digits) and an object (`objet`, 3 digits), read as text so that
//!   leading zeros are kept. Their meaning (annual-report field, IT spending, object category and
//!   nature) is data, mapped by prefix in `schemas/finance.yaml` and overridable per CSS, not
//!   code here.
//! - The fiscal year is the school year; `exer_fin` is its start year. An administrative unit
//!   (`unite_adm`) is a school when `fin_nomen_unit_adm.eco_off` is set.
//! - `fin_ecriture.descr` is free text that may hold a person's name: it is marked personal, so
//!   its value never appears in a message.

use std::path::Path;

pub use socle_connect::{ConnectError, Extract, FileInfo, ReadOptions, Reject, RejectKind, TypedTable};
use socle_dictionary::Source;

/// The source system's name, as in the contract's `system` and the export folder.
pub const SYSTEM: &str = "dofin";

/// Reads a night's `dofin/` folder (e.g. `fixtures/exports/866000/2025-11-20/dofin`) against the
/// Dofin contract. A missing, empty (0 bytes or no header) or cut file, or a missing
/// required column, fails the whole source; every other problem rejects the record and is
/// reported in [`Extract::rejects`].
pub async fn read_dofin(folder: &Path, source: &Source, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    socle_connect::read_delimited(folder, source, opts).await
}
