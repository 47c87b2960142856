//! The end-to-end tests of the `socle` command, one module per file beside this one, built as
//! one test binary: each binary links the whole engine (DataFusion, delta-rs), so one link for
//! all of them instead of one per file saves minutes of every clean CI build. Run one file's
//! tests with `cargo test --workspace --test command crash::` (its module name).

mod common;
/// The local S3 server, shared with the warehouse's tests.
#[path = "../../socle-warehouse/tests/moto.rs"]
mod moto;

mod ballista;
mod cli;
mod crash;
mod dashboards;
mod end_to_end;
mod extracts;
mod finance_marts;
mod golden;
mod guards;
mod jade_other_css;
mod law25;
mod marts_engine;
mod object_store;
mod query_guard;
mod serve_browser;
mod serve_publish;
mod serve_sql;
mod serve_web;
mod sources;
