//! Socle's domain types: nothing heavy, shared by every other crate.
//!
//! - [`SchoolYear`]: a school year (`2024-2025`), stored by GPI as its start year.
//! - [`OrgCode`]: a 6-digit ministry organisation code (CSS or establishment).
//! - [`Pseudonymiser`]: the keyed hash that turns a *code permanent* into the shared student key.
//! - [`Registry`]: the ministry registry of organisations, establishments and courses.

mod pseudo;
mod registry;
mod year;

pub use pseudo::{DEMO_KEY, KeyError, KeySource, Pseudonymiser, is_valid_code_permanent};
pub use registry::{Course, Establishment, Organisation, Registry, RegistryError};
pub use year::{OrgCode, OrgCodeError, SchoolYear};
