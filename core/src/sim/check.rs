//! Safety properties checked after every simulated step, named after the ZAB TLA+ specs.
//!
//! - **Agreement / PrefixConsistency / TotalOrder**: every peer applies the one committed
//!   sequence, in order, with equal results and equal tree digests at each zxid.
//! - **LocalPrimaryOrder**: a peer applies zxids in increasing order.
//! - **Leadership**: at most one established leader per epoch.
//! - **EpochQuorum**: a leader begins to synchronize epoch e only once a quorum of voters
//!   (itself included) promised e to it: two would-be leaders of one epoch cannot both.
//! - **PrimaryIntegrity**: a newly established leader holds every committed transaction.
//! - **CommittedLogDurability**: a quorum of voters durably holds the last committed zxid.
//! - **ProcessConsistency**: with no write pending, memory and disk hold the same history.
//! - epochs never go backwards and accepted_epoch >= current_epoch on disk.

use crate::ids::Sid;
use crate::log::Origin;
use crate::storage::PersistedState;
use crate::trace::TraceEvent;
use crate::zxid::{Epoch, Zxid};
use std::collections::{BTreeMap, BTreeSet};

/// **ProcessConsistency**: once every write a peer issued is durable, the history it works
/// from in memory is exactly the one on its disk (so a restart serves what it served).
///
/// Runs after every settled write, so it compares zxids in place: copying the disk's history
/// (every logged txn) each time was most of a simulated step's cost.
pub fn process_consistency(sid: Sid, memory: &crate::log::Log, disk: &PersistedState, v: &mut Vec<String>) {
    let base = disk.snapshot_zxid();
    let on_disk = disk.log.iter().filter(|e| e.zxid > base).map(|e| e.zxid);
    let same = base == memory.base() && on_disk.eq(memory.entries().iter().map(|e| e.zxid));
    if !same {
        let d = disk.history();
        v.push(format!(
            "ProcessConsistency: {sid} works from {} entries after {} up to {}, but its disk holds {} after {} up to {}",
            memory.len(),
            memory.base(),
            memory.last_zxid(),
            d.len(),
            d.base(),
            d.last_zxid()
        ));
    }
}

#[derive(Clone, Debug)]
struct Committed {
    zxid: Zxid,
    digest: Option<u64>,
    result: Option<String>,
}

/// What the client-history checker needs to know of one committed transaction.
#[derive(Clone, Debug)]
pub struct CommitRecord {
    pub zxid: Zxid,
    pub session: crate::ids::SessionId,
    pub changes: Vec<crate::datatree::Change>,
    pub origin: Option<Origin>,
    pub result: String,
}

#[derive(Debug)]
pub struct Checker {
    voters: usize,
    committed: Vec<Committed>,
    index: BTreeMap<Zxid, usize>,
    applied: BTreeMap<Sid, Zxid>,
    leaders: BTreeMap<Epoch, Sid>,
    /// Who promised (accepted) each would-be leader's epoch, the leader included.
    promised: BTreeMap<(Sid, Epoch), BTreeSet<Sid>>,
    /// Peers whose last role change made them leaders.
    leading: BTreeSet<Sid>,
    epochs: BTreeMap<Sid, (Epoch, Epoch)>,
    fresh: Option<CommitRecord>,
    /// The last committed zxid CommittedLogDurability held at, with no durable state changed
    /// since (`None`: check again). Its inputs change far less often than steps happen.
    durability_held_at: Option<Zxid>,
}

impl Checker {
    pub fn new(voters: usize) -> Self {
        Checker {
            voters,
            committed: Vec::new(),
            index: BTreeMap::new(),
            applied: BTreeMap::new(),
            leaders: BTreeMap::new(),
            promised: BTreeMap::new(),
            leading: BTreeSet::new(),
            epochs: BTreeMap::new(),
            fresh: None,
            durability_held_at: None,
        }
    }

    /// Scenario `set ... committed=z`: these zxids count as committed from the start.
    pub fn seed_committed(&mut self, zxids: &[Zxid]) {
        for z in zxids {
            if !self.index.contains_key(z) {
                self.index.insert(*z, self.committed.len());
                self.committed.push(Committed { zxid: *z, digest: None, result: None });
            }
        }
    }

    pub fn last_committed(&self) -> Zxid {
        self.committed.last().map_or(Zxid::ZERO, |c| c.zxid)
    }

    /// The newest epoch some leader established, if any.
    pub fn newest_epoch(&self) -> Option<Epoch> {
        self.leaders.keys().next_back().copied()
    }

    pub fn committed_count(&self) -> usize {
        self.committed.len()
    }

    /// A newly committed transaction, for the history checker.
    pub fn take_commit(&mut self) -> Option<CommitRecord> {
        self.fresh.take()
    }

    pub fn on_restart(&mut self, sid: Sid, state: &PersistedState) {
        self.applied.insert(sid, state.snapshot_zxid());
    }

    pub fn on_trace(&mut self, e: &TraceEvent, v: &mut Vec<String>) {
        match e {
            TraceEvent::Applied { sid, zxid, digest, origin, result, session, changes, .. } => {
                let rec = CommitRecord {
                    zxid: *zxid,
                    session: *session,
                    changes: changes.clone(),
                    origin: *origin,
                    result: result.clone(),
                };
                self.on_applied(*sid, rec, *digest, v)
            }
            TraceEvent::SnapshotInstalled { sid, zxid } => {
                if *zxid != Zxid::ZERO && !self.index.contains_key(zxid) {
                    v.push(format!(
                        "PrefixConsistency: {sid} installed a snapshot at {zxid}, which was never committed"
                    ));
                }
                self.applied.insert(*sid, *zxid);
            }
            TraceEvent::EpochEstablished { sid, epoch, committed } => {
                if let Some(other) = self.leaders.insert(*epoch, *sid).filter(|o| o != sid) {
                    v.push(format!("Leadership: {other} and {sid} both established epoch {epoch}"));
                }
                // Everything committed in earlier epochs must be in the new leader's history.
                let earlier = self.committed.iter().rev().find(|c| c.zxid.epoch < *epoch).map(|c| c.zxid);
                if let Some(z) = earlier.filter(|z| committed < z) {
                    v.push(format!(
                        "PrimaryIntegrity: {sid} established epoch {epoch} at {committed}, missing committed {z}"
                    ));
                }
            }
            TraceEvent::RoleChanged { sid, to, .. } => {
                if *to == crate::message::ServerState::Leading {
                    self.leading.insert(*sid);
                } else {
                    self.leading.remove(sid);
                }
            }
            TraceEvent::EpochProposed { sid, epoch } => {
                self.promised.entry((*sid, *epoch)).or_default().insert(*sid);
            }
            TraceEvent::EpochAccepted { sid, epoch, leader } => {
                self.promised.entry((*leader, *epoch)).or_default().insert(*sid);
            }
            TraceEvent::CurrentEpochSet { sid, epoch } if self.leading.contains(sid) => {
                let voters = self.voters as u64;
                let promised: Vec<Sid> = self
                    .promised
                    .get(&(*sid, *epoch))
                    .map_or(Vec::new(), |p| p.iter().filter(|s| s.0 <= voters).copied().collect());
                if promised.len() < crate::quorum::majority(self.voters) {
                    v.push(format!(
                        "EpochQuorum: {sid} began to synchronize epoch {epoch}, promised only by {promised:?}"
                    ));
                }
            }
            TraceEvent::Truncated { sid, to } if self.applied.get(sid).is_some_and(|a| a > to) => {
                v.push(format!("CommittedLogDurability: {sid} truncated to {to}, below what it applied"));
            }
            _ => {}
        }
    }

    fn on_applied(&mut self, sid: Sid, rec: CommitRecord, digest: u64, v: &mut Vec<String>) {
        let zxid = rec.zxid;
        let prev = self.applied.get(&sid).copied().unwrap_or(Zxid::ZERO);
        self.applied.insert(sid, zxid);
        if zxid <= prev {
            v.push(format!("LocalPrimaryOrder: {sid} applied {zxid} after {prev}"));
            return;
        }
        if let Some(&i) = self.index.get(&zxid) {
            let expect_prev = if i == 0 { Zxid::ZERO } else { self.committed[i - 1].zxid };
            let c = &mut self.committed[i];
            if prev != expect_prev {
                v.push(format!("PrefixConsistency: {sid} applied {zxid} after {prev}, expected after {expect_prev}"));
            }
            if c.digest.is_some_and(|d| d != digest) {
                v.push(format!(
                    "Agreement: {sid} has tree digest {digest:x} at {zxid}, others {:x}",
                    c.digest.unwrap_or(0)
                ));
            }
            if c.result.as_ref().is_some_and(|r| *r != rec.result) {
                v.push(format!("Agreement: {sid} got {:?} applying {zxid}, others {:?}", rec.result, c.result));
            }
            c.digest = c.digest.or(Some(digest));
            c.result = c.result.take().or(Some(rec.result));
            return;
        }
        let last = self.last_committed();
        if zxid < last || prev != last {
            v.push(format!("TotalOrder: {sid} applied {zxid} after {prev}, but the committed history ends at {last}"));
            return;
        }
        self.index.insert(zxid, self.committed.len());
        self.committed.push(Committed { zxid, digest: Some(digest), result: Some(rec.result.clone()) });
        self.fresh = Some(rec);
    }

    pub fn on_durable(&mut self, sid: Sid, s: &PersistedState, v: &mut Vec<String>) {
        self.durability_held_at = None;
        let now = (s.accepted_epoch, s.current_epoch);
        if s.accepted_epoch < s.current_epoch {
            v.push(format!("Epochs: {sid} has accepted_epoch {} < current_epoch {} on disk", now.0, now.1));
        }
        if let Some(before) = self.epochs.insert(sid, now) {
            if now.0 < before.0 || now.1 < before.1 {
                v.push(format!("Epochs: {sid} went back from {before:?} to {now:?}"));
            }
        }
    }

    /// A peer's durable state was replaced (scenario `set`).
    pub fn on_storage_set(&mut self) {
        self.durability_held_at = None;
    }

    /// CommittedLogDurability: a quorum of voters durably holds the last committed zxid.
    /// Checked again only when the last committed zxid or some durable state changed.
    pub fn after_step<'a>(&mut self, durable: impl Iterator<Item = (Sid, &'a PersistedState)>, v: &mut Vec<String>) {
        let last = self.last_committed();
        if last == Zxid::ZERO || !v.is_empty() || self.durability_held_at == Some(last) {
            return;
        }
        // Runs after every event: stop counting at a majority.
        let need = crate::quorum::majority(self.voters);
        let holders = durable.filter(|(s, d)| s.0 <= self.voters as u64 && d.holds(last)).take(need).count();
        if holders < need {
            v.push(format!("CommittedLogDurability: only {holders} voters durably hold committed {last}"));
        } else {
            self.durability_held_at = Some(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Entry, Log};
    use crate::txn::{CreateMode, Op, Txn};

    fn entry(c: u32) -> Entry {
        let op = Op::create(&format!("/n{c}"), b"x", CreateMode::Persistent);
        let txn = Txn { session: crate::ids::SessionId(1), time_ms: 0, auth: Vec::new(), op };
        Entry { zxid: Zxid::new(1, c), txn: txn.into(), origin: None }
    }

    fn violations(memory: &Log, disk: &PersistedState) -> Vec<String> {
        let mut v = Vec::new();
        process_consistency(Sid(1), memory, disk, &mut v);
        v
    }

    /// The in-place comparison judges as the copy of the disk's history did: same base and
    /// same zxids pass (entries a snapshot covers do not count), anything else is reported.
    #[test]
    fn process_consistency_compares_base_and_zxids() {
        let snapshot = crate::message::Snapshot { zxid: Zxid::new(1, 1), tree: crate::datatree::DataTree::new() };
        let disk =
            PersistedState { snapshot: Some(snapshot), log: vec![entry(1), entry(2), entry(3)], ..Default::default() };
        assert!(violations(&Log::new(Zxid::new(1, 1), vec![entry(2), entry(3)]), &disk).is_empty());
        for memory in [
            Log::new(Zxid::new(1, 1), vec![entry(2)]),
            Log::new(Zxid::new(1, 1), vec![entry(2), entry(3), entry(4)]),
            Log::new(Zxid::new(1, 1), vec![entry(2), entry(4)]),
            Log::new(Zxid::ZERO, vec![entry(1), entry(2), entry(3)]),
        ] {
            let v = violations(&memory, &disk);
            assert!(v.len() == 1 && v[0].starts_with("ProcessConsistency: "), "{memory:?}: {v:?}");
        }
    }
}
