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
    /// Perform `op` but crash part-way through it, before the backend's own step number
    /// `step` (from 0) is done: for a disk, a file created, written, renamed or removed, an
    /// fsync; the write it stops in is cut short. Then restart as `reopen` does and load.
    /// `None` when `op` needs no more than `step` steps: it was performed (durable or not, as
    /// `apply` leaves it) and nothing crashed.
    fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState>;
}

/// [`Backend`] for storage whose operations complete later (IndexedDB in a browser): the
/// same four operations, each awaited. The conformance suite is written against this one.
#[allow(async_fn_in_trait)]
pub trait AsyncBackend {
    async fn apply(&mut self, ops: &[PersistOp]);
    async fn sync(&mut self);
    async fn reopen(&mut self) -> PersistedState;
    async fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState>;
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
            txn: Txn { session: SessionId(1), time_ms: 5, auth: Vec::new(), op }.into(),
            origin: None,
        }
    }

    fn snapshot(z: Zxid) -> Snapshot {
        Snapshot { zxid: z, tree: crate::datatree::DataTree::new() }
    }

    fn zxids(s: &PersistedState) -> (Zxid, Vec<Zxid>) {
        let h = s.history();
        (h.base(), h.entries().iter().map(|e| e.zxid).collect())
    }

    /// Runs every check against fresh backends made by `make`.
    pub fn run<B: Backend>(mut make: impl FnMut() -> B) {
        block_on(run_async(|| Blocking(make())));
    }

    /// [`run`] for a backend whose operations complete later (the browser's IndexedDB): the
    /// same checks, awaited.
    pub async fn run_async<B: AsyncBackend>(mut make: impl FnMut() -> B) {
        durable_survives_reopen(&mut make()).await;
        truncate_and_append(&mut make()).await;
        snapshot_replaces_log(&mut make()).await;
        checkpoints_keep_the_history(&mut make()).await;
        torn_snapshot_install(&mut make).await;
        crash_while_writing_an_epoch_file(&mut make).await;
    }

    /// A synchronous backend seen as an asynchronous one: every operation is ready at once.
    struct Blocking<B>(B);

    impl<B: Backend> AsyncBackend for Blocking<B> {
        async fn apply(&mut self, ops: &[PersistOp]) {
            self.0.apply(ops)
        }
        async fn sync(&mut self) {
            self.0.sync()
        }
        async fn reopen(&mut self) -> PersistedState {
            self.0.reopen()
        }
        async fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState> {
            self.0.crash_during(op, step)
        }
    }

    /// Polls the suite to its end. Over [`Blocking`] nothing ever waits, so one poll finishes
    /// it; no executor is needed (and the core stays free of one).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("a synchronous backend never waits"),
        }
    }

    async fn durable_survives_reopen<B: AsyncBackend>(b: &mut B) {
        b.apply(&[PersistOp::AcceptedEpoch(3), PersistOp::CurrentEpoch(2)]).await;
        b.apply(&[PersistOp::Append(vec![entry(2, 1), entry(2, 2)])]).await;
        b.sync().await;
        b.apply(&[PersistOp::Append(vec![entry(2, 3)])]).await;
        let s = b.reopen().await;
        assert_eq!((s.accepted_epoch, s.current_epoch), (3, 2));
        assert!(s.last_zxid() >= Zxid::new(2, 2), "durable entries must survive");
        assert!(s.validate().is_ok());
    }

    async fn truncate_and_append<B: AsyncBackend>(b: &mut B) {
        b.apply(&[PersistOp::Append(vec![entry(1, 1), entry(1, 2), entry(1, 3)])]).await;
        b.apply(&[PersistOp::Truncate(Zxid::new(1, 1)), PersistOp::Append(vec![entry(2, 1)])]).await;
        b.sync().await;
        let s = b.reopen().await;
        let zs: Vec<_> = s.log.iter().map(|e| e.zxid).collect();
        assert_eq!(zs, vec![Zxid::new(1, 1), Zxid::new(2, 1)]);
    }

    /// A checkpoint adds no history: durable or not at a crash, the history loads the same,
    /// from the newest durable snapshot on; entries after it survive.
    async fn checkpoints_keep_the_history<B: AsyncBackend>(b: &mut B) {
        let log: Vec<Entry> = (1..=4).map(|c| entry(2, c)).collect();
        b.apply(&[PersistOp::Append(log)]).await;
        b.sync().await;
        b.apply(&[PersistOp::Checkpoint(snapshot(Zxid::new(2, 3)))]).await;
        b.apply(&[PersistOp::Append(vec![entry(2, 5)])]).await;
        b.sync().await;
        let s = b.reopen().await;
        assert_eq!(s.snapshot_zxid(), Zxid::new(2, 3));
        assert_eq!(zxids(&s), (Zxid::new(2, 3), vec![Zxid::new(2, 4), Zxid::new(2, 5)]));
        assert!(s.holds(Zxid::new(2, 1)), "the snapshot covers what it replaced");
        // A newer checkpoint, not synced: either snapshot may load, the history is the same.
        b.apply(&[PersistOp::Checkpoint(snapshot(Zxid::new(2, 5)))]).await;
        let s = b.reopen().await;
        assert!([Zxid::new(2, 3), Zxid::new(2, 5)].contains(&s.snapshot_zxid()), "{:?}", s.snapshot_zxid());
        assert_eq!(s.history().last_zxid(), Zxid::new(2, 5));
        b.apply(&[PersistOp::Checkpoint(snapshot(Zxid::new(2, 5))), PersistOp::Append(vec![entry(3, 1)])]).await;
        b.sync().await;
        let s = b.reopen().await;
        assert_eq!(zxids(&s), (Zxid::new(2, 5), vec![Zxid::new(3, 1)]));
    }

    /// ZOOKEEPER-3642/5094: a crash anywhere in a SNAP install leaves the old history whole or
    /// the new one whole, never a hole or a mix, and the epochs untouched.
    pub(super) async fn torn_snapshot_install<B: AsyncBackend>(make: &mut impl FnMut() -> B) {
        let setup = [
            PersistOp::AcceptedEpoch(3),
            PersistOp::CurrentEpoch(3),
            PersistOp::Append((1..=3).map(|c| entry(3, c)).collect()),
        ];
        let old = (Zxid::ZERO, (1..=3).map(|c| Zxid::new(3, c)).collect::<Vec<_>>());
        let new = (Zxid::new(3, 7), vec![Zxid::new(3, 8), Zxid::new(3, 9)]);
        let op = PersistOp::InstallSnapshot(snapshot(Zxid::new(3, 7)), vec![entry(3, 8), entry(3, 9)]);
        let steps = super::crash_checks::at_every_step(make, &setup, &op, &mut |s: &PersistedState, crashed: bool| {
            let got = zxids(s);
            assert!(got == old || got == new, "after a crash in an install: {got:?}");
            assert!(crashed || got == new, "a finished install loads the new history");
            assert_eq!((s.accepted_epoch, s.current_epoch), (3, 3));
        })
        .await;
        assert!(steps >= 1);
    }

    /// zab-notes "Epoch files": a crash while an epoch is written leaves the old value or the
    /// new one, readable, accepted >= current, and the log untouched.
    pub(super) async fn crash_while_writing_an_epoch_file<B: AsyncBackend>(make: &mut impl FnMut() -> B) {
        let log = PersistOp::Append(vec![entry(2, 1), entry(2, 2)]);
        let cases = [
            (
                vec![PersistOp::AcceptedEpoch(3), PersistOp::CurrentEpoch(2)],
                PersistOp::AcceptedEpoch(4),
                (3, 2),
                (4, 2),
            ),
            (vec![PersistOp::AcceptedEpoch(4), PersistOp::CurrentEpoch(2)], PersistOp::CurrentEpoch(4), (4, 2), (4, 4)),
        ];
        for (epochs, op, before, after) in cases {
            let mut setup = epochs;
            setup.push(log.clone());
            let steps =
                super::crash_checks::at_every_step(make, &setup, &op, &mut |s: &PersistedState, crashed: bool| {
                    let got = (s.accepted_epoch, s.current_epoch);
                    assert!(got == before || got == after, "after a crash writing {}: {got:?}", op.name());
                    assert!(crashed || got == after);
                    assert!(s.validate().is_ok());
                    assert_eq!(zxids(s), (Zxid::ZERO, vec![Zxid::new(2, 1), Zxid::new(2, 2)]));
                })
                .await;
            assert!(steps >= 1);
        }
    }

    async fn snapshot_replaces_log<B: AsyncBackend>(b: &mut B) {
        b.apply(&[PersistOp::Append(vec![entry(1, 1), entry(1, 2)])]).await;
        let snap = Snapshot { zxid: Zxid::new(3, 7), tree: crate::datatree::DataTree::new() };
        b.apply(&[PersistOp::InstallSnapshot(snap.clone(), vec![entry(3, 8)])]).await;
        b.sync().await;
        let s = b.reopen().await;
        assert_eq!(s.snapshot.as_ref().map(|s| s.zxid), Some(Zxid::new(3, 7)));
        assert_eq!(s.history().last_zxid(), Zxid::new(3, 8));
        assert!(s.holds(Zxid::new(1, 2)), "a snapshot covers everything before it");
    }
}

/// The conformance checks that crash part-way through an op (`Backend::crash_during`).
#[cfg(any(test, feature = "conformance"))]
mod crash_checks {
    use super::*;

    /// Crashes `op` at every step of it in turn, each time on a fresh backend set up by
    /// `setup`; `check` sees each state a restart finds, and last the state once `op` ran
    /// through. Returns how many crash points there were.
    pub(super) async fn at_every_step<B: AsyncBackend>(
        make: &mut impl FnMut() -> B,
        setup: &[PersistOp],
        op: &PersistOp,
        check: &mut dyn FnMut(&PersistedState, bool),
    ) -> u32 {
        for step in 0..256 {
            let mut b = make();
            b.apply(setup).await;
            b.sync().await;
            match b.crash_during(op, step).await {
                Some(after) => check(&after, true),
                None => {
                    b.sync().await;
                    check(&b.reopen().await, false);
                    return step;
                }
            }
        }
        panic!("{} never completes", op.name());
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
    /// Each op is one step: done whole, or not at all.
    fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState> {
        if step == 0 {
            return Some(self.reopen());
        }
        self.apply(std::slice::from_ref(op));
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_backend_conforms() {
        super::conformance::run(super::MemoryBackend::default);
    }
}
