//! The audit log of reads of personal and pseudonymous data (Québec Law 25):
//! `<warehouse>/_socle/audit/YYYY-MM-DD.jsonl`, one file per UTC day, append-only JSON lines.
//!
//! Each line is one [`AuditEvent`]:
//!
//! ```json
//! {"time":"2025-11-21T14:03:07Z","who":"mtremblay","action":"personne","zone":"css:866000",
//!  "target":"cle_eleve:3442c5f04fbf2f6fe8f66533c22edfa4","rows":212}
//! ```
//!
//! - `time`: UTC, RFC 3339 to the second;
//! - `who`: the name given by the caller (`--by NAME`), else the OS user (`USER`, `LOGNAME`),
//!   else `uid:<n>`;
//! - `action`: what was done (`personne`, `query`, `dashboards_export`, ...);
//! - `zone`: `shared` or `css:<code>`;
//! - `target`: what was read, **never a personal value**: a pseudonymous student key
//!   (`cle_eleve:<key>`), table or mart names (`tables:eleve,inscription`), a hash of a SQL text
//!   (`sql_sha256:<16 hex>`, since SQL may hold a code permanent in a literal), or `none`;
//! - `rows`: rows returned.
//!
//! Every line is written with one `write` on a file opened with `O_APPEND`, so lines of
//! concurrent writers (runs, the web server and SQL endpoint of a later issue) never interleave.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::WarehouseError;
use crate::layout;

/// One audited read.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// UTC, RFC 3339 to the second.
    pub time: String,
    pub who: String,
    pub action: String,
    /// `shared` or `css:<code>`.
    pub zone: String,
    /// A pseudonymous key, table names or a hash: never a personal value.
    pub target: String,
    pub rows: u64,
    /// The server's fields (absent from the CLI's lines): the account's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The filters of a dashboard page or download (column = value, values of the mart's
    /// filter columns, which are never personal columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<String>,
    /// A SQL statement with every literal replaced by `?` (the full text's hash is `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The client's address (IP and port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// `ok`, or why the action was refused or failed (a fixed reason, never the data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl AuditEvent {
    /// An event timed now, by `who` (see [`default_who`] when the caller gave no name).
    pub fn now(who: &str, action: &str, zone: &str, target: &str, rows: u64) -> Self {
        AuditEvent {
            time: crate::warehouse::now_rfc3339(),
            who: who.to_string(),
            action: action.to_string(),
            zone: zone.to_string(),
            target: target.to_string(),
            rows,
            role: None,
            filters: None,
            statement: None,
            duration_ms: None,
            client: None,
            outcome: None,
        }
    }
}

/// Who is reading when no name is given: the OS user (`USER`, then `LOGNAME`), else the uid of
/// the process (`uid:<n>`), else `unknown`.
pub fn default_who() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            return v.trim().to_string();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // The owner of the process's own entry in /proc is its (real) uid.
        if let Ok(m) = fs::metadata("/proc/self") {
            return format!("uid:{}", m.uid());
        }
    }
    "unknown".to_string()
}

/// The audit target of a SQL text: a hash, since the text may hold personal values in literals.
pub fn sql_target(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    format!("sql_sha256:{}", hex::encode(&digest[..8]))
}

/// The audit log of a warehouse.
#[derive(Debug, Clone)]
pub struct AuditLog {
    dir: PathBuf,
}

impl AuditLog {
    /// The audit log under `root` (`<root>/_socle/audit/`), created if needed.
    pub fn open(root: &Path) -> Result<Self, WarehouseError> {
        let dir = layout::audit_dir(root);
        layout::create_dir_all(&dir)?;
        Ok(AuditLog { dir })
    }

    /// The file of the UTC day `date` (`YYYY-MM-DD`).
    pub fn file_of(&self, date: &str) -> PathBuf {
        self.dir.join(format!("{date}.jsonl"))
    }

    /// Appends one event to the file of its day (the date of its `time`), as one line written
    /// with one `write` on a file opened in append mode; the file is synced.
    pub fn append(&self, event: &AuditEvent) -> Result<(), WarehouseError> {
        let date = event.time.get(..10).unwrap_or("unknown-date");
        layout::check_component("audit date", date)?;
        let path = self.file_of(date);
        let mut line = serde_json::to_vec(event).map_err(|source| WarehouseError::Json {
            path: path.clone(),
            source,
        })?;
        line.push(b'\n');
        if crate::store::is_remote(&self.dir) {
            // Object stores cannot append: each event is an object of its own under the day's
            // prefix, named so that listing returns them in time order.
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let object = self
                .dir
                .join(date)
                .join(format!("{nanos:020}-{}-{seq:06}.jsonl", std::process::id()));
            return crate::store::create_new(&object, line)
                .map_err(|e| WarehouseError::io("writing audit log", &object, e));
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| WarehouseError::io("opening audit log", &path, e))?;
        // One write of the whole line: O_APPEND makes it land at the end, in one piece.
        let written = f
            .write(&line)
            .map_err(|e| WarehouseError::io("writing audit log", &path, e))?;
        if written != line.len() {
            return Err(WarehouseError::io(
                "writing audit log",
                &path,
                std::io::Error::new(std::io::ErrorKind::WriteZero, "short write"),
            ));
        }
        f.sync_data()
            .map_err(|e| WarehouseError::io("syncing audit log", &path, e))?;
        Ok(())
    }

    /// The days that have a file, oldest first (`YYYY-MM-DD`).
    pub fn days(&self) -> Result<Vec<String>, WarehouseError> {
        let entries = match crate::store::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(WarehouseError::io("listing audit log", &self.dir, e)),
        };
        let mut days: Vec<String> = entries
            .into_iter()
            .filter_map(|e| match e.is_dir {
                // A remote log's day is a prefix of one object per event.
                true => Some(e.name),
                false => e.name.strip_suffix(".jsonl").map(str::to_string),
            })
            .filter(|d| d.len() == 10)
            .collect();
        days.sort();
        Ok(days)
    }

    /// Every event of the day `date` (`YYYY-MM-DD`), in order; none if the file does not exist.
    pub fn read_day(&self, date: &str) -> Result<Vec<AuditEvent>, WarehouseError> {
        let path = self.file_of(date);
        if crate::store::is_remote(&self.dir) {
            let day = self.dir.join(date);
            let mut events = Vec::new();
            for entry in crate::store::read_dir(&day).map_err(|e| WarehouseError::io("listing audit log", &day, e))? {
                let text = crate::store::read_to_string(&entry.path)
                    .map_err(|e| WarehouseError::io("reading audit log", &entry.path, e))?;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    events.push(serde_json::from_str(line).map_err(|source| WarehouseError::Json {
                        path: entry.path.clone(),
                        source,
                    })?);
                }
            }
            return Ok(events);
        }
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(WarehouseError::io("reading audit log", &path, e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|source| WarehouseError::Json {
                    path: path.clone(),
                    source,
                })
            })
            .collect()
    }
}

/// One line of `socle audit`: time, who, role, action, zone, target, rows, outcome, statement.
impl std::fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  {:<12} {:<9} {:<14} {:<16} {:<24} rows={:<6} {}{}",
            self.time,
            self.who,
            self.role.as_deref().unwrap_or("-"),
            self.action,
            self.zone,
            self.target,
            self.rows,
            self.outcome.as_deref().unwrap_or(""),
            self.statement.as_deref().map(|s| format!("  {s}")).unwrap_or_default()
        )
    }
}

/// `by` trimmed, or [`default_who`] when it is absent or blank.
pub fn who_or_default(by: Option<&str>) -> String {
    match by {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => default_who(),
    }
}

/// The audit name of a zone: `shared` or `css:<code>`.
pub fn zone_audit_label(zone: &crate::Zone) -> String {
    match zone {
        crate::Zone::Shared => "shared".to_string(),
        crate::Zone::Css(code) => format!("css:{code}"),
    }
}

/// Appends one line for a read of `zone` by `by` (default: the OS user) to the audit log of the
/// warehouse at `root`: what `socle query`, `socle personne`, `socle dashboards export` and
/// `socle retention` call before they return anything.
pub fn record_read(
    root: &Path,
    by: Option<&str>,
    action: &str,
    zone: &crate::Zone,
    target: &str,
    rows: u64,
) -> Result<(), WarehouseError> {
    let event = AuditEvent::now(&who_or_default(by), action, &zone_audit_label(zone), target, rows);
    AuditLog::open(root)?.append(&event)
}

/// The audit target of a query: the tables it reads (from its plan, subqueries included) and a
/// hash of its text — never the text, which may hold a code permanent in a literal.
pub fn query_target(plan: &datafusion::logical_expr::LogicalPlan, sql: &str) -> String {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut tables = std::collections::BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let datafusion::logical_expr::LogicalPlan::TableScan(scan) = node {
            tables.insert(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let tables: Vec<String> = tables.into_iter().collect();
    format!(
        "tables:{};{}",
        if tables.is_empty() {
            "none".to_string()
        } else {
            tables.join(",")
        },
        sql_target(sql)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_appended_as_lines_of_their_day() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = AuditLog::open(dir.path())?;
        let mut a = AuditEvent::now("alice", "personne", "css:866000", "cle_eleve:00ff", 3);
        a.time = "2025-11-21T14:03:07Z".into();
        let mut b = a.clone();
        b.action = "query".into();
        b.rows = 0;
        log.append(&a)?;
        log.append(&b)?;
        let back = log.read_day("2025-11-21")?;
        assert_eq!(back, vec![a, b]);
        let text = fs::read_to_string(dir.path().join("_socle/audit/2025-11-21.jsonl"))?;
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(log.read_day("2025-11-22")?, Vec::new());
        Ok(())
    }

    #[test]
    fn concurrent_writers_never_interleave() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || -> Result<(), WarehouseError> {
                    let log = AuditLog::open(&root)?;
                    for i in 0..50 {
                        let mut e = AuditEvent::now(&format!("writer{t}"), "query", "shared", &"x".repeat(200), i);
                        e.time = "2025-11-21T00:00:00Z".into();
                        log.append(&e)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for t in threads {
            t.join().map_err(|_| "thread panicked")??;
        }
        let events = AuditLog::open(&root)?.read_day("2025-11-21")?;
        assert_eq!(events.len(), 400);
        assert!(events.iter().all(|e| e.target.len() == 200));
        Ok(())
    }

    #[test]
    fn sql_targets_hide_the_text() {
        let t = sql_target("SELECT * FROM eleve WHERE code_permanent = 'TREM12345678'");
        assert!(t.starts_with("sql_sha256:"));
        assert_eq!(t.len(), "sql_sha256:".len() + 16);
        assert!(!t.contains("TREM"));
        assert!(!default_who().is_empty());
    }
}
