//! The file an output is written to: all of it or nothing.
//!
//! A dashboard refreshing from a folder, a scheduler picking up a download or a person opening
//! it must never read half a file, nor lose the previous one to a failed export. So the bytes
//! go to a temporary file beside the target (`.<name>.<pid>.<n>.tmp`: the same folder, hence
//! the same file system, so the rename is atomic), which is synced, then renamed over the
//! target, and the folder synced (the rename itself survives a power cut). A write that fails,
//! or an [`AtomicFile`] dropped before [`AtomicFile::commit`], removes the temporary file.
//!
//! The two steps are separate because some callers must do something between the bytes being
//! safe and the file appearing: the CLI writes its audit line there (no file without its
//! audit line).

use crate::error::{ExportError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of writes to the same target from one process (the web
/// server may write the same name twice at once).
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A file being written under a temporary name beside its target; see the module.
///
/// ```no_run
/// # fn main() -> socle_export::Result<()> {
/// use std::io::Write;
/// let mut file = socle_export::AtomicFile::create(std::path::Path::new("out/taux.csv"))?;
/// file.write_all(b"a,b\r\n")?;
/// file.commit()?;
/// # Ok(())
/// # }
/// ```
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    /// `None` once synced: nothing more may be written.
    sink: Option<BufWriter<File>>,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file for `target`. Refuses a target that is not a file name, a
    /// folder, or one in a folder that does not exist (it is never created: a typo in a path
    /// must not make folders).
    pub fn create(target: &Path) -> Result<Self> {
        let refuse = |reason: String| ExportError::Target {
            path: target.to_path_buf(),
            reason,
        };
        let Some(file_name) = target.file_name().and_then(|n| n.to_str()) else {
            return Err(refuse("not a file name".to_string()));
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(refuse(format!("folder {} does not exist", dir.display())));
        }
        if target.is_dir() {
            return Err(refuse("it is a folder".to_string()));
        }
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
        let file = File::create(&temp).map_err(|source| ExportError::Io {
            action: "create",
            path: temp.clone(),
            source,
        })?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            sink: Some(BufWriter::new(file)),
            committed: false,
        })
    }

    /// The file this one replaces when committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes and syncs the bytes written: they are on disk, still under the temporary name.
    /// Nothing can be written after.
    pub fn sync(&mut self) -> Result<()> {
        let Some(sink) = self.sink.take() else {
            return Ok(());
        };
        let io = |source| ExportError::Io {
            action: "write",
            path: self.temp.clone(),
            source,
        };
        let file = sink.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }

    /// Syncs (if not done yet), renames the file over its target and syncs the folder.
    pub fn commit(mut self) -> Result<()> {
        self.sync()?;
        std::fs::rename(&self.temp, &self.target).map_err(|source| ExportError::Io {
            action: "move into place",
            path: self.target.clone(),
            source,
        })?;
        self.committed = true;
        // The rename is durable once the folder is: a power cut then leaves the new file.
        // Best effort: some file systems cannot sync a folder, and the file is in place.
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Some(sink) => sink.write(buf),
            None => Err(std::io::Error::other(
                "the file was synced: nothing more can be written",
            )),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Some(sink) => sink.write_all(buf),
            None => Err(std::io::Error::other(
                "the file was synced: nothing more can be written",
            )),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Some(sink) => sink.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            // Closed first: some systems cannot remove an open file.
            drop(self.sink.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.ends_with(".tmp"))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn commit_replaces_the_target_and_leaves_nothing_else() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("a.csv");
        std::fs::write(&target, b"old")?;
        let mut f = AtomicFile::create(&target)?;
        assert!(f.temp_path().starts_with(dir.path()), "beside the target");
        f.write_all(b"new")?;
        assert_eq!(
            std::fs::read(&target)?,
            b"old",
            "the target is untouched until the commit"
        );
        f.sync()?;
        assert!(f.write_all(b"more").is_err(), "nothing is written after the sync");
        f.commit()?;
        assert_eq!(std::fs::read(&target)?, b"new");
        assert_eq!(temp_files(dir.path()), Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn a_write_dropped_before_its_commit_leaves_the_previous_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("a.csv");
        std::fs::write(&target, b"old")?;
        {
            let mut f = AtomicFile::create(&target)?;
            f.write_all(b"half")?;
        }
        assert_eq!(std::fs::read(&target)?, b"old");
        assert_eq!(temp_files(dir.path()), Vec::<String>::new());
        // Two writes to the same target at once get their own temporary files.
        let a = AtomicFile::create(&target)?;
        let b = AtomicFile::create(&target)?;
        assert_ne!(a.temp_path(), b.temp_path());
        Ok(())
    }

    #[test]
    fn refuses_missing_folders_and_folders() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let missing = AtomicFile::create(&dir.path().join("nope/a.csv"))
            .err()
            .map(|e| e.to_string());
        assert!(missing.is_some_and(|m| m.contains("does not exist")));
        assert!(!dir.path().join("nope").exists(), "no folder is created");
        let folder = AtomicFile::create(dir.path()).err().map(|e| e.to_string());
        assert!(folder.is_some_and(|m| m.contains("folder")));
        Ok(())
    }
}
