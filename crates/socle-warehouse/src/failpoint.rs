//! Failpoints: a test hook that stops a commit at one exact step, either with an error (the
//! caller sees [`WarehouseError::Failpoint`]) or by aborting the process there (a crash at
//! exactly that step, what the crash campaign needs).
//!
//! A failpoint is `<step>:<code>`: `<code>` is a CSS code, `_marts` for the marts publication,
//! or `*` for any (`gc` alone means `gc:*`). The steps, in the order a commit goes through them:
//!
//! | step | where it fires |
//! |---|---|
//! | `write` | [`crate::CssTransaction::write_table`] (a table fails to stage) |
//! | `staged` | every file written to staging, none moved yet |
//! | `renamed` (alias `commit`) | every file moved to its final name, the manifest not swapped |
//! | `swapped` | the manifest swapped (committed), the previous files not deleted yet |
//! | `gc` | [`crate::Warehouse::open`]'s garbage collection, after deleting half the orphans |
//!
//! `SOCLE_FAILPOINT_MODE=abort` makes a failpoint call [`std::process::abort`] instead of
//! returning an error. (As an error, `swapped` reports a failure for a commit that happened: it
//! is meant to be aborted at.)

use crate::error::WarehouseError;

/// Environment variable holding a failpoint, **a test hook only**: `<step>:<code>`, see the
/// module documentation. Read once by [`crate::Warehouse::open`]; tests should rather use
/// [`crate::Warehouse::set_failpoint`] or [`crate::CssTransaction::set_failpoint`], which need no
/// environment.
pub const FAILPOINT_ENV: &str = "SOCLE_FAILPOINT";

/// Environment variable choosing what a failpoint does: `abort` aborts the process at the step
/// (as if killed there); anything else, or unset, returns [`WarehouseError::Failpoint`]. Read
/// when the failpoint fires.
pub const FAILPOINT_MODE_ENV: &str = "SOCLE_FAILPOINT_MODE";

/// The failpoint named by [`FAILPOINT_ENV`], if set and not empty.
pub fn failpoint_from_env() -> Option<String> {
    std::env::var(FAILPOINT_ENV).ok().filter(|s| !s.is_empty())
}

/// Whether `failpoint` names `step` for `code`: `<step>:<code>`, `<step>:*`, or `<step>` alone;
/// `commit` is the old name of `renamed`.
pub(crate) fn failpoint_fires(failpoint: Option<&str>, step: &str, code: &str) -> bool {
    let Some(f) = failpoint else { return false };
    let (f_step, f_code) = f.split_once(':').unwrap_or((f, "*"));
    let f_step = if f_step == "commit" { "renamed" } else { f_step };
    let step = if step == "commit" { "renamed" } else { step };
    f_step == step && (f_code == "*" || f_code == code)
}

/// Fires the failpoint if it names `step` for `code`: aborts the process under
/// `SOCLE_FAILPOINT_MODE=abort`, else returns [`WarehouseError::Failpoint`] (`<step>:<code>`).
pub(crate) fn hit(failpoint: Option<&str>, step: &str, code: &str) -> Result<(), WarehouseError> {
    if !failpoint_fires(failpoint, step, code) {
        return Ok(());
    }
    let name = format!("{step}:{code}");
    if std::env::var(FAILPOINT_MODE_ENV).is_ok_and(|m| m == "abort") {
        tracing::warn!(failpoint = %name, "failpoint fired: aborting the process");
        std::process::abort();
    }
    tracing::warn!(failpoint = %name, "failpoint fired");
    Err(WarehouseError::Failpoint(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failpoints_match_step_and_code() {
        assert!(failpoint_fires(Some("commit:866000"), "commit", "866000"));
        assert!(failpoint_fires(Some("commit:866000"), "renamed", "866000"));
        assert!(failpoint_fires(Some("renamed:866000"), "commit", "866000"));
        assert!(!failpoint_fires(Some("commit:866000"), "write", "866000"));
        assert!(!failpoint_fires(Some("commit:866000"), "commit", "881000"));
        assert!(!failpoint_fires(None, "commit", "866000"));
        assert!(failpoint_fires(Some("swapped:_marts"), "swapped", "_marts"));
        assert!(!failpoint_fires(Some("swapped:_marts"), "staged", "_marts"));
        assert!(failpoint_fires(Some("staged:*"), "staged", "881000"));
        assert!(failpoint_fires(Some("gc"), "gc", "*"));
        assert!(failpoint_fires(Some("gc:*"), "gc", "*"));
        assert!(!failpoint_fires(Some("gc"), "swapped", "*"));
    }

    #[test]
    fn a_failpoint_returns_its_step_and_code() {
        // No abort mode in unit tests: the variable is not set by the test harness.
        assert!(hit(Some("staged:866000"), "staged", "881000").is_ok());
        match hit(Some("staged:866000"), "staged", "866000") {
            Err(WarehouseError::Failpoint(name)) => assert_eq!(name, "staged:866000"),
            other => panic!("{other:?}"),
        }
    }
}
