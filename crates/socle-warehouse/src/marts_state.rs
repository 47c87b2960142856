//! Whether the published marts are current: built from the run each CSS's manifest now holds.
//! The one place that answers it: `socle run` rebuilds the marts when they are not (even if it
//! published nothing, e.g. after a marts publication that failed or was killed), `socle status`
//! shows it.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::WarehouseError;
use crate::manifest::{Manifest, MartsManifest};
use crate::warehouse::Warehouse;

/// The state of the marts against the CSS manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MartsState {
    /// Built from the current run of every CSS (and of no other CSS).
    Current,
    /// Never published.
    NeverBuilt,
    /// Built from other runs: the CSS whose current run is not the one the marts were built
    /// from, or that the marts do not know, or that left the warehouse. Sorted.
    Stale { css: Vec<String> },
    /// Built from every CSS's current run, but some models failed (a repeated key, the memory
    /// limit, an engine error): they kept their previous files. The next run tries them again.
    Failed { marts: Vec<String> },
}

impl MartsState {
    /// Whether the marts are built from every CSS's current run.
    pub fn is_current(&self) -> bool {
        *self == MartsState::Current
    }

    /// The state of `marts` against the current `manifests`.
    pub fn of(marts: Option<&MartsManifest>, manifests: &[Manifest]) -> MartsState {
        let Some(marts) = marts else {
            return MartsState::NeverBuilt;
        };
        let current: BTreeMap<&str, &str> = manifests
            .iter()
            .map(|m| (m.code_css.as_str(), m.run_id.as_str()))
            .collect();
        let mut css: Vec<String> = current
            .iter()
            .filter(|(code, run)| marts.css_runs.get(**code).map(String::as_str) != Some(**run))
            .map(|(code, _)| code.to_string())
            .chain(
                marts
                    .css_runs
                    .keys()
                    .filter(|code| !current.contains_key(code.as_str()))
                    .cloned(),
            )
            .collect();
        if css.is_empty() {
            if !marts.failed.is_empty() {
                return MartsState::Failed {
                    marts: marts.failed.keys().cloned().collect(),
                };
            }
            return MartsState::Current;
        }
        css.sort();
        MartsState::Stale { css }
    }
}

impl fmt::Display for MartsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MartsState::Current => write!(f, "current (built from the current run of every CSS)"),
            MartsState::NeverBuilt => write!(f, "never built"),
            MartsState::Stale { css } => write!(
                f,
                "stale (built before the current run of {}): the next `socle run` rebuilds them",
                css.join(", ")
            ),
            MartsState::Failed { marts } => write!(
                f,
                "incomplete: {} failed at the last build and kept their previous files; the next `socle run` tries them again",
                marts.join(", ")
            ),
        }
    }
}

impl Warehouse {
    /// Whether the marts are current: see [`MartsState`]. Reads the manifests only.
    pub fn marts_state(&self) -> Result<MartsState, WarehouseError> {
        Ok(MartsState::of(self.marts_manifest()?.as_ref(), &self.manifests()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{MANIFEST_FORMAT, TableFiles};

    fn manifest(code: &str, run: &str) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            code_css: code.into(),
            run_id: run.into(),
            night: "2025-11-20".into(),
            published_at: String::new(),
            dictionary_version: "1".into(),
            key_fingerprint: "k".into(),
            demo_key: true,
            inputs: Vec::new(),
            tables: BTreeMap::new(),
            quarantine: TableFiles::default(),
            quality: serde_json::Value::Null,
            sources: BTreeMap::new(),
            held_drops: Vec::new(),
            accepted_drops: Vec::new(),
            retention: Vec::new(),
            rekeyed: None,
            delta: BTreeMap::new(),
        }
    }

    fn marts(runs: &[(&str, &str)]) -> MartsManifest {
        MartsManifest {
            run_id: "m".into(),
            published_at: String::new(),
            marts: BTreeMap::new(),
            css_runs: runs.iter().map(|(c, r)| (c.to_string(), r.to_string())).collect(),
            intermediates: BTreeMap::new(),
            failed: BTreeMap::new(),
            project_hash: None,
            delta: BTreeMap::new(),
        }
    }

    #[test]
    fn marts_are_current_only_when_built_from_every_current_run() {
        let now = [manifest("866000", "r2"), manifest("881000", "r1")];
        assert_eq!(MartsState::of(None, &now), MartsState::NeverBuilt);
        assert_eq!(
            MartsState::of(Some(&marts(&[("866000", "r2"), ("881000", "r1")])), &now),
            MartsState::Current
        );
        // 866000 published again since: stale.
        assert_eq!(
            MartsState::of(Some(&marts(&[("866000", "r1"), ("881000", "r1")])), &now),
            MartsState::Stale {
                css: vec!["866000".into()]
            }
        );
        // A CSS unknown to the marts, and one that left: both named.
        assert_eq!(
            MartsState::of(Some(&marts(&[("751000", "r0"), ("881000", "r1")])), &now),
            MartsState::Stale {
                css: vec!["751000".into(), "866000".into()]
            }
        );
        // Marts of an earlier version (no run ids recorded): stale.
        assert!(!MartsState::of(Some(&marts(&[])), &now).is_current());
        assert!(MartsState::of(Some(&marts(&[])), &[]).is_current());
    }
}
