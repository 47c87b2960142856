//! The exclusive run lock: one writing run (`socle run`, and the commands that rewrite the
//! warehouse) at a time per warehouse.
//!
//! `_socle/run.lock` is locked exclusively (an OS file lock, non-blocking) for the whole run, and
//! holds who has it (host, process id, start time, command) as one JSON object, so a second run
//! fails at once naming the holder. The OS releases the lock when the process ends, even when it
//! is killed: a lock file left by a dead process does not block (its content is just
//! overwritten). Readers (`socle query`, `socle status`, dashboards) never take it: they read
//! the manifests, which are swapped atomically, and never block or see a half state.
//!
//! On an object store, the lock is a lease object instead (see the `lease` module): taken by a
//! create-only PUT, renewed while the run lasts, taken over once expired.
//!
//! This lock is distinct from the transactions' `_socle/lock`, which protects staged files from
//! the garbage collection of another process.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::WarehouseError;
use crate::layout;
use crate::warehouse::{Warehouse, now_rfc3339};

/// Who holds the run lock: written in the lock file by [`Warehouse::lock_run`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RunLockHolder {
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// What runs, as the caller named it (`socle run`).
    pub command: String,
}

impl std::fmt::Display for RunLockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {}, process {}, started {}, command `{}`",
            self.host, self.pid, self.started_at, self.command
        )
    }
}

/// The exclusive run lock of a warehouse, held until dropped (or until the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: Option<fs::File>,
    /// On an object store: the lease object (see the `lease` module).
    _lease: Option<crate::lease::Lease>,
    holder: RunLockHolder,
}

impl RunLock {
    /// Who holds it: this process.
    pub fn holder(&self) -> &RunLockHolder {
        &self.holder
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the file so nobody reads a stale holder; closing the file releases the lock.
        if let Some(f) = self.file.take() {
            let _ = f.set_len(0);
        }
    }
}

/// The name of this machine, for the holder (best effort: it only helps a person find the run).
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .chain(
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .filter_map(|v| std::env::var(v).ok()),
        )
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown host".to_string())
}

impl Warehouse {
    /// The path of the run lock file.
    pub fn run_lock_path(&self) -> PathBuf {
        layout::run_lock_path(self.root())
    }

    /// Takes the warehouse's exclusive run lock for `command` (e.g. `socle run`), without
    /// waiting: if another process holds it, fails at once with
    /// [`WarehouseError::RunInProgress`] naming the holder. The lock is released when the
    /// returned [`RunLock`] is dropped, or by the OS when the process ends. Where the file
    /// system cannot lock files, logs a warning and goes on unprotected (as the transactions do).
    pub fn lock_run(&self, command: &str) -> Result<RunLock, WarehouseError> {
        self.check_writable()?;
        if let Some(remote) = crate::store::remote_of_root(self.root()) {
            let holder = RunLockHolder {
                host: host_name(),
                pid: std::process::id(),
                started_at: now_rfc3339(),
                command: command.to_string(),
            };
            let lease = crate::lease::acquire(remote, &holder)?;
            // Nobody else writes now: the garbage of killed runs can go (never at a reader's open
            // on an object store, see `Warehouse::open`).
            self.collect_garbage()?;
            return Ok(RunLock {
                file: None,
                _lease: Some(lease),
                holder,
            });
        }
        let path = self.run_lock_path();
        let mut file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| WarehouseError::io("opening the run lock", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = serde_json::from_str::<RunLockHolder>(text.trim())
                    .map(|h| h.to_string())
                    .unwrap_or_else(|_| "a process that has not written its details yet".to_string());
                return Err(WarehouseError::RunInProgress { path, holder });
            }
            Err(fs::TryLockError::Error(e)) => {
                tracing::warn!(error = %e, "file locking unavailable; concurrent runs are not protected");
            }
        }
        let holder = RunLockHolder {
            host: host_name(),
            pid: std::process::id(),
            started_at: now_rfc3339(),
            command: command.to_string(),
        };
        let json = serde_json::to_vec(&holder).map_err(|source| WarehouseError::Json {
            path: path.clone(),
            source,
        })?;
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&json))
            .and_then(|_| file.write_all(b"\n"))
            .and_then(|_| file.sync_data())
            .map_err(|e| WarehouseError::io("writing the run lock", &path, e))?;
        tracing::debug!(lock = %path.display(), "run lock taken");
        Ok(RunLock {
            file: Some(file),
            _lease: None,
            holder,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_fails_at_once_naming_the_holder_until_the_first_ends() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let wh = Warehouse::open(dir.path())?;
        let first = wh.lock_run("socle run --exports a")?;
        assert_eq!(first.holder().pid, std::process::id());
        assert_eq!(first.holder().command, "socle run --exports a");
        let started = std::time::Instant::now();
        let Err(err) = wh.lock_run("socle run --exports b") else {
            panic!("a second run took the lock");
        };
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "it did not wait");
        let message = err.to_string();
        assert!(matches!(err, WarehouseError::RunInProgress { .. }), "{message}");
        assert!(
            message.contains(&format!("process {}", std::process::id()))
                && message.contains("command `socle run --exports a`")
                && message.contains(&format!("host {}", first.holder().host))
                && message.contains(&format!("started {}", first.holder().started_at)),
            "{message}"
        );
        drop(first);
        assert_eq!(
            std::fs::read_to_string(wh.run_lock_path())?,
            "",
            "the holder is cleared"
        );
        let again = wh.lock_run("socle run --exports b")?;
        assert_eq!(again.holder().command, "socle run --exports b");
        Ok(())
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_does_not_block() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let wh = Warehouse::open(dir.path())?;
        // What a killed run leaves: its holder in the file, and no lock (the OS released it).
        let dead = RunLockHolder {
            host: "elsewhere".into(),
            pid: 999_999,
            started_at: "2025-11-20T03:00:00Z".into(),
            command: "socle run".into(),
        };
        std::fs::write(wh.run_lock_path(), serde_json::to_vec(&dead)?)?;
        let lock = wh.lock_run("socle run")?;
        let written: RunLockHolder = serde_json::from_str(std::fs::read_to_string(wh.run_lock_path())?.trim())?;
        assert_eq!(&written, lock.holder());
        assert_eq!(written.pid, std::process::id());
        Ok(())
    }
}
