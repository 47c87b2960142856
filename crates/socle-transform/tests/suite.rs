//! The integration tests of the normalisation,
//! one module per file beside this one, built as one test binary (one link of the engine
//! instead of one per file). One file's tests: `cargo test --workspace --test suite <module>::`.

mod jade_other_css;
mod normalise;
mod sources;
