//! Store errors. `Corrupt` is worded for an operator reading a log line at start-up.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Damage that recovery may not repair: only a torn tail after the last fsync may be lost.
    #[error(
        "corrupt {} in {} at byte {offset}: {reason}; refusing to start (move the file away to \
         resync this node from its peers)",
        noun(file),
        file.display()
    )]
    Corrupt { file: PathBuf, offset: u64, reason: String },
    /// The epochs break the start-up rule of zab-notes "Epoch files" (accepted >= current).
    #[error("{}: {reason}; refusing to start", file.display())]
    Inconsistent { file: PathBuf, reason: String },
    /// A file in a data format this build cannot read (a newer Zabra wrote it): never taken
    /// for damage, so nothing in it is cut or skipped.
    #[error(
        "{} is in data format {version}, which this build of Zabra cannot read (it reads formats 1 \
         and 2); refusing to start: run the Zabra that wrote {}, or move that directory away so \
         this node resyncs from its peers",
        file.display(),
        file.parent().unwrap_or(Path::new(".")).display()
    )]
    Format { file: PathBuf, version: String },
    /// Another process holds the directory's lock.
    #[error("{} is locked by another process (is another node using this data directory?)", .0.display())]
    Locked(PathBuf),
    /// An earlier write or fsync failed; after a failed fsync the kernel may have dropped the
    /// dirty pages, so nothing written since can be trusted until a restart reloads the disk.
    #[error("store failed earlier ({0}); restart the node")]
    Failed(String),
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { action, path, source }
    }

    pub(crate) fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt { file: file.to_path_buf(), offset, reason: reason.into() }
    }
}

/// What the damaged thing is called, from the file's name.
fn noun(file: &Path) -> &'static str {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("log.") {
        "record"
    } else if name.starts_with("snapshot.") {
        "snapshot"
    } else if name.starts_with("epochs") {
        "epochs file"
    } else if name.starts_with("install") {
        "install marker"
    } else {
        "data"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_names_file_and_offset() {
        let e = StoreError::corrupt(Path::new("/d/log.0000000100000001"), 4096, "checksum mismatch");
        assert_eq!(
            e.to_string(),
            "corrupt record in /d/log.0000000100000001 at byte 4096: checksum mismatch; refusing to \
             start (move the file away to resync this node from its peers)"
        );
    }
}
