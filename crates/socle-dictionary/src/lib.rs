//! The Socle data dictionary: the single source of truth for what the warehouse holds.
//!
//! It lives as YAML under `schemas/`:
//! - `entities/*.yaml`: canonical entities (`eleve`, `resultat`...), each field with its type,
//!   French and English description, nullability, domain and personal-data class, and the drop
//!   guard's `baisse_max` (the largest share of a school year's rows a night may lose before the
//!   sources feeding the entity are held; default [`DEFAULT_BAISSE_MAX`]);
//! - `sources/*.yaml`: the contract of each source system's export (tables, columns, types, keys)
//!   and which canonical fields each column feeds;
//! - `valeurs.yaml`: default value maps (special result values, absence categories, ministry
//!   result codes);
//! - `finance.yaml`: the finance mapping (activity prefix -> field of the annual financial
//!   report, IT prefixes, object prefix -> category and nature), matched by longest prefix;
//! - `css/<code>.yaml`: one CSS's own conventions (encoding, local course codes, local special
//!   values, finance codes under `finance:`, drop-guard thresholds under `baisse_max:`, which win
//!   over the entity's: [`Dictionary::baisse_max`]). A CSS with no file loads with the defaults.
//!
//! [`Dictionary::load`] reads it, [`Dictionary::validate`] reports every problem with its file and
//! path, [`Dictionary::to_markdown`] renders it as documentation.

mod arrow;
mod doc;
mod load;
mod model;
mod validate;

pub use arrow::PERSONAL_METADATA_KEY;
pub use arrow_schema;
pub use load::LoadError;
pub use model::*;
pub use validate::Problem;
