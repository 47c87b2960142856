//! The integration tests of the fixtures generator,
//! one module per file beside this one, built as one test binary (one link of the engine
//! instead of one per file). One file's tests: `cargo test --workspace --test suite <module>::`.

mod common;

mod finance;
mod generate;
mod jade;
mod mozaik;
