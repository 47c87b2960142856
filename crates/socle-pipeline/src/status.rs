//! What the warehouse holds, per CSS and source, read from the manifests only (no data file is
//! opened, the run lock is not taken: instant and safe during a run): [`WarehouseStatus`], what
//! `socle status` prints, and [`StatusCheck`], what `socle status --check` gives a scheduler.
//!
//! The status: per CSS and source, the last night loaded, rows and quarantine, the last failure
//! of a source if its last attempt failed, the drops the guard holds (with the command that
//! accepts each), and whether the marts are current (built from every CSS's current run).
//!
//! The check: one line per CSS, `OK` or why not, and exit code 2 when a CSS failed (the last
//! attempt of one of its sources failed), is held by the drop guard, or (with a maximum age)
//! has not loaded a night for more than that many days; 0 when all is well.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::json;
use socle_warehouse::{HistoryEntry, Manifest, MartsManifest, MartsState, Warehouse, WarehouseError};

use crate::{accept_drop_command, describe_drop_record, drop_lines};

/// Every CSS's last night, rows and quarantine, sources, drops, and whether the marts are
/// current (built from every CSS's current run).
pub struct WarehouseStatus {
    pub root: PathBuf,
    pub manifests: Vec<Manifest>,
    pub marts: Option<MartsManifest>,
    pub marts_state: MartsState,
    /// The publications `socle query --as-of` can read, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl WarehouseStatus {
    /// The status of `warehouse`, named `shown_as` (the path as the user gave it) in the output.
    pub fn read(warehouse: &Warehouse, shown_as: &Path) -> Result<Self, WarehouseError> {
        let manifests = warehouse.manifests()?;
        let marts = warehouse.marts_manifest()?;
        let marts_state = MartsState::of(marts.as_ref(), &manifests);
        Ok(WarehouseStatus {
            root: shown_as.to_path_buf(),
            manifests,
            marts,
            marts_state,
            history: warehouse.history()?,
        })
    }

    /// `socle status --format json`.
    pub fn json(&self) -> serde_json::Value {
        let css: Vec<serde_json::Value> = self
            .manifests
            .iter()
            .map(|m| {
                json!({
                    "code_css": m.code_css,
                    "night": m.night,
                    "run_id": m.run_id,
                    "published_at": m.published_at,
                    "dictionary_version": m.dictionary_version,
                    "demo_key": m.demo_key,
                    "rows": m.tables.values().map(|t| t.rows).sum::<u64>(),
                    "quarantine_rows": m.quarantine.rows,
                    "tables": m.tables.iter().map(|(n, t)| (n.clone(), json!({"rows": t.rows, "years": t.partition_rows}))).collect::<serde_json::Map<_, _>>(),
                    "sources": m.sources,
                    "held_drops": m.held_drops.iter().map(|d| {
                        let mut v = json!(d);
                        v["accept"] = json!(accept_drop_command(&m.code_css, &d.entity));
                        v
                    }).collect::<Vec<_>>(),
                    "accepted_drops": m.accepted_drops,
                })
            })
            .collect();
        json!({
            "warehouse": self.root.display().to_string(),
            "css": css,
            "marts": self.marts.as_ref().map(|m| json!({
                "run_id": m.run_id,
                "published_at": m.published_at,
                "rows": m.marts.iter().map(|(n, t)| (n.clone(), json!(t.rows))).collect::<serde_json::Map<_, _>>(),
                "css_runs": m.css_runs,
                "current": self.marts_state.is_current(),
            })),
            "history": {
                "readable": self.history.len(),
                "oldest": self.history.first().map(|e| &e.run_id),
                "newest": self.history.last().map(|e| &e.run_id),
            },
        })
    }

    /// `socle status --check`: what is wrong with each CSS (as of `today`, with an age limit
    /// of `max_age` days if given).
    pub fn check(&self, today: chrono::NaiveDate, max_age: Option<u32>) -> StatusCheck {
        StatusCheck {
            css: self
                .manifests
                .iter()
                .map(|m| (m.code_css.clone(), m.night.clone(), problems(m, today, max_age)))
                .collect(),
        }
    }
}

/// What `socle status` prints for people.
impl fmt::Display for WarehouseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.manifests.is_empty() {
            return writeln!(f, "Warehouse {}: no CSS loaded yet.", self.root.display());
        }
        writeln!(
            f,
            "Warehouse {}: {} CSS{}",
            self.root.display(),
            self.manifests.len(),
            self.marts
                .as_ref()
                .map(|m| format!(", marts built by run {} at {}", m.run_id, m.published_at))
                .unwrap_or_else(|| ", marts never built".into())
        )?;
        writeln!(f, "Marts: {}", self.marts_state)?;
        if let (Some(oldest), Some(newest)) = (self.history.first(), self.history.last()) {
            writeln!(
                f,
                "Voyage dans le temps : {} publication(s) lisible(s) avec --as-of, de {} à {} (socle history)",
                self.history.len(),
                oldest.run_id,
                newest.run_id
            )?;
        }
        for m in &self.manifests {
            let years: BTreeSet<&String> = m.tables.values().flat_map(|t| t.years()).collect();
            let years: Vec<&str> = years.iter().map(|s| s.as_str()).collect();
            writeln!(f)?;
            writeln!(
                f,
                "{}  night {}  run {}  published {}  {} rows, {} quarantined  school years {}{}",
                m.code_css,
                m.night,
                m.run_id,
                m.published_at,
                m.tables.values().map(|t| t.rows).sum::<u64>(),
                m.quarantine.rows,
                if years.is_empty() {
                    "-".to_string()
                } else {
                    years.join(", ")
                },
                if m.demo_key { "  (DEMO KEY)" } else { "" }
            )?;
            writeln!(
                f,
                "  {:<7} {:<11} {:>5} {:>12} {:>10} {:>11}  last failure",
                "source", "last night", "files", "bytes", "rows read", "quarantined"
            )?;
            for (system, s) in &m.sources {
                let failure = s
                    .last_failure
                    .as_ref()
                    .map(|f| format!("night {}: {}", f.night, f.error))
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    f,
                    "  {:<7} {:<11} {:>5} {:>12} {:>10} {:>11}  {}",
                    system,
                    if s.night.is_empty() { "never" } else { s.night.as_str() },
                    s.files,
                    s.bytes,
                    s.rows_read,
                    s.rows_quarantined,
                    failure
                )?;
            }
            f.write_str(&drop_lines(&m.code_css, &m.held_drops, &[], "  "))?;
            if let Some(last) = m.accepted_drops.last() {
                writeln!(
                    f,
                    "  last accepted drop: {} (night {}, accepted {})",
                    describe_drop_record(last),
                    last.night,
                    last.accepted_at.as_deref().unwrap_or("-")
                )?;
            }
        }
        Ok(())
    }
}

/// What is wrong with a CSS for a scheduler (empty: all is well).
fn problems(m: &Manifest, today: chrono::NaiveDate, max_age: Option<u32>) -> Vec<String> {
    let mut out = Vec::new();
    for (system, s) in &m.sources {
        if let Some(f) = &s.last_failure {
            out.push(format!("FAILED {system} night {}: {}", f.night, f.error));
        }
    }
    for d in &m.held_drops {
        out.push(format!(
            "HELD {}; accept: {}",
            describe_drop_record(d),
            accept_drop_command(&m.code_css, &d.entity)
        ));
    }
    if let Some(days) = max_age {
        match chrono::NaiveDate::parse_from_str(&m.night, "%Y-%m-%d") {
            Ok(night) if (today - night).num_days() > i64::from(days) => out.push(format!(
                "TOO OLD: last night loaded {} is {} days old (more than --max-age {days})",
                m.night,
                (today - night).num_days()
            )),
            Ok(_) => {}
            Err(_) => out.push(format!("TOO OLD: the night loaded {:?} is not a date", m.night)),
        }
    }
    out
}

/// Each CSS (code, night) with its problems: `socle status --check`.
pub struct StatusCheck {
    pub css: Vec<(String, String, Vec<String>)>,
}

impl StatusCheck {
    /// Whether a scheduler should be told: a CSS has a problem, or none is loaded.
    pub fn bad(&self) -> bool {
        self.css.is_empty() || self.css.iter().any(|(_, _, p)| !p.is_empty())
    }

    /// The exit status: 2 when [`Self::bad`], else 0.
    pub fn exit_status(&self) -> u8 {
        if self.bad() { 2 } else { 0 }
    }

    pub fn json(&self) -> serde_json::Value {
        let css: Vec<serde_json::Value> = self
            .css
            .iter()
            .map(|(code, night, p)| json!({"code_css": code, "night": night, "ok": p.is_empty(), "problems": p}))
            .collect();
        json!({"ok": !self.bad(), "css": css})
    }
}

/// One line per CSS: `OK`, or its problems.
impl fmt::Display for StatusCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.css.is_empty() {
            writeln!(f, "no CSS loaded yet")?;
        }
        for (code, night, p) in &self.css {
            if p.is_empty() {
                writeln!(f, "{code}  OK  night {night}")?;
            } else {
                writeln!(f, "{code}  {}", p.join("; "))?;
            }
        }
        Ok(())
    }
}
