//! The integration tests of the warehouse: publication, Delta logs, time travel, marts files,
//! one module per file beside this one, built as one test binary (one link of the engine
//! instead of one per file). One file's tests: `cargo test --workspace --test suite <module>::`.

mod marts;
mod moto;
mod object_store;
mod warehouse;
