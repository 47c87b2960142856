//! The benchmark tooling's tests, one binary so they run side by side: `socle-bench queries` on
//! the fixtures (`queries`) and the harness `benches/bench.py` end to end at the small scale
//! (`smoke`).

// The CLI tests' helpers: this package's tests drive `socle` too (beside `socle-bench`).
#[path = "../../../crates/socle-cli/tests/common/mod.rs"]
mod common;

#[path = "bench/queries.rs"]
mod queries;
#[path = "bench/smoke.rs"]
mod smoke;
