//! What start-up recovery did, for the node to log: nothing is repaired silently.

use std::fmt;
use std::path::PathBuf;
use zabra_core::Zxid;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoveryEvent {
    CreatedDir(PathBuf),
    /// A write that was never renamed into place (epochs, snapshot or install marker).
    RemovedTemp(PathBuf),
    /// The staged snapshot of an InstallSnapshot that crashed before its commit point: the old
    /// history stays.
    RemovedStagedSnapshot(PathBuf),
    /// An InstallSnapshot that crashed after its commit point was finished.
    CompletedInstall {
        snapshot: Zxid,
    },
    /// The last segment ended in a write the crash interrupted; its bytes were cut.
    TornTail {
        file: PathBuf,
        offset: u64,
        bytes: u64,
        reason: String,
    },
    /// The last segment held no intact record (the crash hit just after it was created).
    RemovedEmptySegment {
        file: PathBuf,
        bytes: u64,
    },
    /// A damaged snapshot was passed over for an older one plus the log, which hold at least
    /// as much history. The file is left in place for inspection.
    SkippedSnapshot {
        file: PathBuf,
        reason: String,
    },
}

impl fmt::Display for RecoveryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryEvent::CreatedDir(d) => write!(f, "created data directory {}", d.display()),
            RecoveryEvent::RemovedTemp(p) => write!(f, "removed unfinished write {}", p.display()),
            RecoveryEvent::RemovedStagedSnapshot(p) => {
                write!(f, "snapshot install had not committed: removed {}, old history kept", p.display())
            }
            RecoveryEvent::CompletedInstall { snapshot } => {
                write!(f, "finished an interrupted snapshot install at zxid {snapshot}")
            }
            RecoveryEvent::TornTail { file, offset, bytes, reason } => {
                write!(f, "torn tail: truncated {} at offset {offset} ({bytes} bytes: {reason})", file.display())
            }
            RecoveryEvent::RemovedEmptySegment { file, bytes } => {
                write!(f, "torn tail: removed {} ({bytes} bytes, no intact record)", file.display())
            }
            RecoveryEvent::SkippedSnapshot { file, reason } => {
                write!(f, "skipped damaged snapshot {} ({reason}); loaded an older one and the log", file.display())
            }
        }
    }
}

/// The outcome of `DiskStore::open`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub events: Vec<RecoveryEvent>,
    /// The snapshot loaded, if any.
    pub snapshot: Option<Zxid>,
    /// Log entries loaded after the snapshot.
    pub entries: usize,
    pub last_zxid: Zxid,
    pub segments: usize,
}

impl OpenReport {
    /// True when recovery had nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.events.iter().all(|e| matches!(e, RecoveryEvent::CreatedDir(_)))
    }
}

impl fmt::Display for OpenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.snapshot {
            Some(z) => write!(f, "loaded snapshot {z}")?,
            None => f.write_str("no snapshot")?,
        }
        write!(f, ", {} log entries in {} segments, last zxid {}", self.entries, self.segments, self.last_zxid)?;
        for e in &self.events {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}
