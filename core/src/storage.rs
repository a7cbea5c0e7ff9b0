//! Durability contract between the core and its drivers.
//!
//! The core never calls storage. It emits `Output::Persist { token, op }`; the driver performs
//! the ops in order and reports `Input::Persisted(token)`, meaning every op up to and including
//! `token` is durable. Nothing that depends on a write (Ack, Ack(NewLeader), an epoch change)
//! leaves the peer before that report (ZOOKEEPER-3911, -4643, -4646, -4785).

use crate::log::{Entry, Log};
use crate::message::Snapshot;
use crate::zxid::{Epoch, Zxid};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistOp {
    /// The paper's f.p: the last epoch this peer promised (written atomically).
    AcceptedEpoch(Epoch),
    /// The paper's f.a: the last epoch whose NewLeader this peer accepted (written atomically).
    CurrentEpoch(Epoch),
    /// Append entries to the log.
    Append(Vec<Entry>),
    /// Drop log entries after the zxid (TRUNC).
    Truncate(Zxid),
    /// Replace the whole history with this snapshot and the entries after it (SNAP), in one
    /// atomic write: a crash part-way must leave the old history, never a hole (ZK-3642/5094).
    InstallSnapshot(Snapshot, Vec<Entry>),
    /// A snapshot of the committed tree; log entries it covers may be discarded.
    Checkpoint(Snapshot),
}

impl PersistOp {
    pub fn name(&self) -> &'static str {
        match self {
            PersistOp::AcceptedEpoch(_) => "accepted-epoch",
            PersistOp::CurrentEpoch(_) => "current-epoch",
            PersistOp::Append(_) => "append",
            PersistOp::Truncate(_) => "truncate",
            PersistOp::InstallSnapshot(..) => "install-snapshot",
            PersistOp::Checkpoint(_) => "checkpoint",
        }
    }
}

/// What a peer finds on its storage at start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedState {
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    pub snapshot: Option<Snapshot>,
    pub log: Vec<Entry>,
}

impl PersistedState {
    /// Apply one op, as a backend does when it makes it durable.
    pub fn apply(&mut self, op: &PersistOp) {
        match op {
            PersistOp::AcceptedEpoch(e) => self.accepted_epoch = *e,
            PersistOp::CurrentEpoch(e) => self.current_epoch = *e,
            PersistOp::Append(es) => {
                for e in es {
                    if self.last_zxid() < e.zxid {
                        self.log.push(e.clone());
                    }
                }
            }
            PersistOp::Truncate(z) => self.log.retain(|e| e.zxid <= *z),
            PersistOp::InstallSnapshot(s, entries) => {
                self.log = entries.iter().filter(|e| e.zxid > s.zxid).cloned().collect();
                self.snapshot = Some(s.clone());
            }
            PersistOp::Checkpoint(s) => {
                self.log.retain(|e| e.zxid > s.zxid);
                self.snapshot = Some(s.clone());
            }
        }
    }

    /// [`PersistedState::apply`], moving appended entries instead of copying them.
    pub fn apply_owned(&mut self, op: PersistOp) {
        match op {
            PersistOp::Append(es) => {
                for e in es {
                    if self.last_zxid() < e.zxid {
                        self.log.push(e);
                    }
                }
            }
            op => self.apply(&op),
        }
    }

    pub fn snapshot_zxid(&self) -> Zxid {
        self.snapshot.as_ref().map_or(Zxid::ZERO, |s| s.zxid)
    }

    pub fn last_zxid(&self) -> Zxid {
        self.log.last().map_or(self.snapshot_zxid(), |e| e.zxid)
    }

    /// True when the durable history includes `z` (in the log, or covered by the snapshot).
    pub fn holds(&self, z: Zxid) -> bool {
        z <= self.snapshot_zxid() || self.log.binary_search_by(|e| e.zxid.cmp(&z)).is_ok()
    }

    /// The history as the peer will load it.
    pub fn history(&self) -> Log {
        let base = self.snapshot_zxid();
        let entries = self.log.iter().filter(|e| e.zxid > base).cloned().collect();
        Log::new(base, entries)
    }

    /// [`PersistedState::history`], moving the entries instead of copying them.
    pub fn into_history(self) -> Log {
        let base = self.snapshot_zxid();
        let mut entries = self.log;
        entries.retain(|e| e.zxid > base);
        Log::new(base, entries)
    }

    /// Start-up check (zab-notes "Epoch files"): refuse to run if accepted < current.
    pub fn validate(&self) -> Result<(), String> {
        if self.accepted_epoch < self.current_epoch {
            return Err(format!(
                "accepted_epoch {} < current_epoch {}: epoch files are inconsistent",
                self.accepted_epoch, self.current_epoch
            ));
        }
        Ok(())
    }
}

/// A storage backend as the conformance suite sees it.
pub trait Backend {
    /// Perform ops (not yet durable).
    fn apply(&mut self, ops: &[PersistOp]);
    /// Make everything applied so far durable.
    fn sync(&mut self);
    /// Simulate a restart: drop everything not durable, reopen, and load.
    fn reopen(&mut self) -> PersistedState;
}

/// The storage conformance suite: every backend (memory, disk, browser) must pass it.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance {
    use super::*;
    use crate::ids::SessionId;
    use crate::txn::{CreateMode, Op, Txn};

    fn entry(e: u32, c: u32) -> Entry {
        let op = Op::create(&format!("/n{e}-{c}"), &[1, 2], CreateMode::Persistent);
        Entry {
            zxid: Zxid::new(e, c),
            txn: Txn { session: SessionId(1), time_ms: 5, auth: Vec::new(), op },
            origin: None,
        }
    }

    /// Runs every check against fresh backends made by `make`.
    pub fn run<B: Backend>(mut make: impl FnMut() -> B) {
        durable_survives_reopen(&mut make());
        truncate_and_append(&mut make());
        snapshot_replaces_log(&mut make());
    }

    fn durable_survives_reopen<B: Backend>(b: &mut B) {
        b.apply(&[PersistOp::AcceptedEpoch(3), PersistOp::CurrentEpoch(2)]);
        b.apply(&[PersistOp::Append(vec![entry(2, 1), entry(2, 2)])]);
        b.sync();
        b.apply(&[PersistOp::Append(vec![entry(2, 3)])]);
        let s = b.reopen();
        assert_eq!((s.accepted_epoch, s.current_epoch), (3, 2));
        assert!(s.last_zxid() >= Zxid::new(2, 2), "durable entries must survive");
        assert!(s.validate().is_ok());
    }

    fn truncate_and_append<B: Backend>(b: &mut B) {
        b.apply(&[PersistOp::Append(vec![entry(1, 1), entry(1, 2), entry(1, 3)])]);
        b.apply(&[PersistOp::Truncate(Zxid::new(1, 1)), PersistOp::Append(vec![entry(2, 1)])]);
        b.sync();
        let s = b.reopen();
        let zs: Vec<_> = s.log.iter().map(|e| e.zxid).collect();
        assert_eq!(zs, vec![Zxid::new(1, 1), Zxid::new(2, 1)]);
    }

    fn snapshot_replaces_log<B: Backend>(b: &mut B) {
        b.apply(&[PersistOp::Append(vec![entry(1, 1), entry(1, 2)])]);
        let snap = Snapshot { zxid: Zxid::new(3, 7), tree: crate::datatree::DataTree::new() };
        b.apply(&[PersistOp::InstallSnapshot(snap.clone(), vec![entry(3, 8)])]);
        b.sync();
        let s = b.reopen();
        assert_eq!(s.snapshot.as_ref().map(|s| s.zxid), Some(Zxid::new(3, 7)));
        assert_eq!(s.history().last_zxid(), Zxid::new(3, 8));
        assert!(s.holds(Zxid::new(1, 2)), "a snapshot covers everything before it");
    }
}

/// The in-memory backend (simulator, tests, browser fallback).
#[derive(Clone, Debug, Default)]
pub struct MemoryBackend {
    durable: PersistedState,
    pending: Vec<PersistOp>,
}

impl Backend for MemoryBackend {
    fn apply(&mut self, ops: &[PersistOp]) {
        self.pending.extend_from_slice(ops);
    }
    fn sync(&mut self) {
        for op in self.pending.drain(..) {
            self.durable.apply_owned(op);
        }
    }
    fn reopen(&mut self) -> PersistedState {
        self.pending.clear();
        self.durable.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_backend_conforms() {
        super::conformance::run(super::MemoryBackend::default);
    }
}
