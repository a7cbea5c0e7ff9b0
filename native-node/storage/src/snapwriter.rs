//! Checkpoints are written by a thread of their own, so group commit never waits for one.
//!
//! ```text
//!  Checkpoint op ──► roll the log ──► writer thread: stream snapshot.<z>.tmp, fsync,
//!   (storage thread,                   rename to snapshot.<z>, fsync the directory
//!    returns at once)                          │
//!  appends + fsyncs go on meanwhile            ▼
//!  next write/sync/poll ──► reap: register the snapshot, then delete what it covers
//! ```
//!
//! A checkpoint adds no history (the log still holds everything it covers), so the core may
//! hear `Persisted` for it before the file exists. What matters is the order of deletions:
//! log segments and old snapshots go only after the new snapshot is durable (renamed and the
//! directory fsynced), and only on the storage thread. A crash while the writer runs leaves a
//! `.tmp` file, removed at open, and the old snapshot plus the whole log.
//!
//! At most one snapshot is written at a time and at most one waits: a checkpoint that arrives
//! while another waits replaces it (ZooKeeper skips a snapshot when the previous one is still
//! being written, "Too busy to snap, skipping").

use crate::error::StoreError;
use crate::{fsutil, snapfile, Stats};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zabra_core::message::Snapshot;
use zabra_core::Zxid;

/// How a background snapshot ended, for the node's log and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotOutcome {
    pub zxid: Zxid,
    /// Bytes and wall time of a durable snapshot, or why it was not written (the log still
    /// holds everything, so a failed snapshot loses nothing).
    pub result: Result<(u64, Duration), String>,
}

/// The writer thread's result: the stats it added.
type Written = Result<Stats, StoreError>;

#[derive(Debug)]
pub(crate) struct Running {
    pub zxid: Zxid,
    started: Instant,
    handle: JoinHandle<Written>,
}

/// The background state a `DiskStore` keeps.
#[derive(Debug, Default)]
pub(crate) struct Background {
    pub running: Option<Running>,
    pub queued: Option<Snapshot>,
    pub outcomes: Vec<SnapshotOutcome>,
    pub gate: Option<Arc<Gate>>,
}

impl Background {
    /// Starts writing `s` now, or queues it (replacing a queued one) when a write is running.
    /// Returns true when a queued checkpoint was replaced.
    pub fn submit(&mut self, dir: &Path, s: Snapshot) -> bool {
        if self.running.is_some() {
            return self.queued.replace(s).is_some();
        }
        self.start(dir, s);
        false
    }

    fn start(&mut self, dir: &Path, s: Snapshot) {
        let (zxid, dir, gate) = (s.zxid, dir.to_path_buf(), self.gate.clone());
        let spawned =
            std::thread::Builder::new().name("snapshot-writer".into()).spawn(move || write(&dir, &s, gate.as_deref()));
        match spawned {
            Ok(handle) => self.running = Some(Running { zxid, started: Instant::now(), handle }),
            Err(e) => self.outcomes.push(SnapshotOutcome { zxid, result: Err(format!("no writer thread: {e}")) }),
        }
    }

    /// Takes the running write if it is over (or, with `block`, once it is), and starts the
    /// queued one. Returns the finished write's zxid and stats.
    pub fn reap(&mut self, dir: &Path, block: bool) -> Option<(Zxid, Written)> {
        if !block && self.running.as_ref().is_none_or(|r| !r.handle.is_finished()) {
            return None;
        }
        let r = self.running.take()?;
        let written =
            r.handle.join().unwrap_or_else(|_| Err(StoreError::Failed("the snapshot writer panicked".into())));
        let result = match &written {
            Ok(st) => Ok((st.bytes_written, r.started.elapsed())),
            Err(e) => Err(e.to_string()),
        };
        self.outcomes.push(SnapshotOutcome { zxid: r.zxid, result });
        if let Some(next) = self.queued.take() {
            self.start(dir, next);
        }
        Some((r.zxid, written))
    }
}

/// The writer thread: stream, fsync, (test gate), rename, fsync the directory.
fn write(dir: &Path, s: &Snapshot, gate: Option<&Gate>) -> Written {
    let mut stats = Stats::default();
    let name = fsutil::snapshot_name(s.zxid);
    let tmp: PathBuf = snapfile::write_tmp(dir, &name, s, &mut stats).inspect_err(|_| {
        // A failed write (disk full, say) leaves no partial file behind; `open` would
        // remove it anyway.
        let _ = std::fs::remove_file(dir.join(format!("{name}.tmp")));
    })?;
    if let Some(g) = gate {
        g.wait()?;
    }
    fsutil::publish(dir, &tmp, &dir.join(&name), &mut stats)?;
    stats.snapshots_written += 1;
    Ok(stats)
}

/// A test hook: holds background snapshots after their `.tmp` file is written and before it
/// is renamed, so a test can show group commit going on meanwhile, or "crash" there.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum GateState {
    #[default]
    Held,
    Open,
    /// The writer stops as a killed process would, leaving its `.tmp` file.
    Abandoned,
}

impl Gate {
    /// Waits (at most a minute, so a forgotten hold cannot hang a test run) for the gate.
    fn wait(&self) -> Result<(), StoreError> {
        let until = Instant::now() + Duration::from_secs(60);
        let mut st = self.state.lock().expect("not poisoned");
        while *st == GateState::Held && Instant::now() < until {
            st = self.changed.wait_timeout(st, Duration::from_millis(100)).expect("not poisoned").0;
        }
        match *st {
            GateState::Abandoned => Err(StoreError::Failed("abandoned by a test (a simulated crash)".into())),
            _ => Ok(()),
        }
    }

    fn set(&self, to: GateState) {
        *self.state.lock().expect("not poisoned") = to;
        self.changed.notify_all();
    }
}

/// Returned by `DiskStore::hold_snapshots`; dropping it releases the held snapshots.
#[derive(Debug)]
pub struct SnapshotHold(pub(crate) Arc<Gate>);

impl SnapshotHold {
    /// Held snapshots stop before their rename, leaving their `.tmp` files (a crash there).
    pub fn abandon(self) {
        self.0.set(GateState::Abandoned);
    }
}

impl Drop for SnapshotHold {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().expect("not poisoned");
        if *st == GateState::Held {
            *st = GateState::Open;
        }
        self.0.changed.notify_all();
    }
}
