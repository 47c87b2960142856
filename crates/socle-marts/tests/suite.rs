//! The integration tests of the marts project loader, checks and cases,
//! one module per file beside this one, built as one test binary (one link of the engine
//! instead of one per file). One file's tests: `cargo test --workspace --test suite <module>::`.

mod cases;
mod fuzz_loaders;
mod marts_checks;
mod project;
