//! Followers and observers: discovery, synchronization and broadcast as seen by a learner.
//!
//! Discovery (paper CEPOCH → NEWEPOCH → ACK-E): send FollowerInfo; on LeaderInfo(e) persist
//! accepted_epoch = e before AckEpoch; answer "not counted" when e equals the epoch already
//! accepted (it was promised to another leader: ZOOKEEPER-335/1653); go LOOKING if e is lower.
//!
//! Synchronization (NEWLEADER → ACK-LD): apply DIFF/TRUNC/SNAP, keep proposals that arrive
//! during sync (ZOOKEEPER-4394), and on NewLeader make the synced history durable, then
//! current_epoch, then send Ack(NewLeader) (ZOOKEEPER-3911, -4643, -4646, -4785). Acks for
//! proposals received during sync wait until after Ack(NewLeader) (ZOOKEEPER-4685).

use super::{AfterDurable, Peer, Phase, Role};
use crate::config::{Config, Mutant};
use crate::ids::Sid;
use crate::log::{Entry, Log};
use crate::message::{Message, Snapshot};
use crate::storage::PersistOp;
use crate::time::Instant;
use crate::trace::{LookingReason, TimeoutKind, TraceEvent};
use crate::zxid::{Epoch, Zxid};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LearnerPhase {
    /// FollowerInfo sent (or waiting for the connection to send it).
    Discovery,
    /// AckEpoch sent; receiving the sync stream.
    Sync,
    /// UpToDate received: serving clients.
    Broadcast,
}

#[derive(Debug)]
pub(crate) struct Learner {
    pub leader: Sid,
    pub observer: bool,
    pub phase: LearnerPhase,
    /// Last sign that discovery and sync move on (see `deadline`).
    progress: Instant,
    last_heard: Instant,
    info_sent: bool,
    epoch: Option<Epoch>,
    /// Highest Commit seen during sync: everything up to it is committed.
    commit_hint: Zxid,
    newleader_acked: bool,
    /// Proposals logged before Ack(NewLeader): acked after it, each once durable.
    held_acks: Vec<(Zxid, crate::ids::Token)>,
    /// The highest proposal made durable by the current input: one cumulative Ack at its end.
    ack_due: Option<Zxid>,
    /// Mutant EpochBeforeHistory: sync history writes held back until NewLeader.
    held_ops: Vec<PersistOp>,
}

impl Learner {
    pub fn new(leader: Sid, observer: bool, now: Instant) -> Self {
        Learner {
            leader,
            observer,
            phase: LearnerPhase::Discovery,
            progress: now,
            last_heard: now,
            info_sent: false,
            epoch: None,
            commit_hint: Zxid::ZERO,
            newleader_acked: false,
            held_acks: Vec::new(),
            ack_due: None,
            held_ops: Vec::new(),
        }
    }

    /// The epoch of this session, once LeaderInfo proposed it.
    pub fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    pub fn phase(&self) -> Phase {
        match self.phase {
            LearnerPhase::Discovery => Phase::Discovery,
            LearnerPhase::Sync => Phase::Synchronization,
            LearnerPhase::Broadcast => Phase::Broadcast,
        }
    }

    /// In broadcast, a leader silent for `sync_limit` ticks is gone. Before that, discovery
    /// and sync end after `init_limit` ticks without progress, however long one message takes:
    /// a SNAP of a large tree is one message, and nothing else arrives until it is through
    /// (ZooKeeper's learner reads with an `initLimit` timeout until it is synced, too).
    /// Progress is a message of the sync stream, a write of ours becoming durable, or a ping
    /// while a write of ours is in flight (we are the slow party and the leader still waits) or
    /// once we acknowledged NewLeader (UpToDate needs a quorum of others, and the leader bounds
    /// that wait itself, see `note_progress` in leader.rs). Pings alone keep no learner that has
    /// nothing to do in sync forever.
    pub fn deadline(&self, cfg: &Config) -> Instant {
        if self.phase == LearnerPhase::Broadcast {
            self.last_heard + cfg.sync_timeout()
        } else {
            self.progress + cfg.init_timeout()
        }
    }

    /// A write of ours became durable.
    pub fn disk_progress(&mut self, now: Instant) {
        self.progress = now;
    }
}

impl Peer {
    fn learner(&mut self) -> &mut Learner {
        match &mut self.role {
            Role::Following(l) | Role::Observing(l) => l,
            _ => unreachable!("learner state only while following or observing"),
        }
    }

    pub(super) fn learner_start(&mut self) {
        let leader = self.learner().leader;
        if self.connected.contains(&leader) {
            self.send_info();
        }
    }

    pub(super) fn learner_connected(&mut self, peer: Sid) {
        let l = self.learner();
        if peer == l.leader && !l.info_sent {
            self.send_info();
        }
    }

    fn send_info(&mut self) {
        let (accepted_epoch, last_zxid) = (self.accepted_epoch, self.log.last_zxid());
        let l = self.learner();
        l.info_sent = true;
        let (leader, observer) = (l.leader, l.observer);
        let msg = if observer {
            Message::ObserverInfo { accepted_epoch, last_zxid }
        } else {
            Message::FollowerInfo { accepted_epoch, last_zxid }
        };
        self.send(leader, msg);
    }

    pub(super) fn learner_timeout(&mut self) {
        let now = self.now.instant;
        let cfg = self.cfg.clone();
        let l = self.learner();
        let (leader, silent) = (l.leader, now - l.last_heard);
        if l.phase == LearnerPhase::Broadcast && now >= l.last_heard + cfg.sync_timeout() {
            self.trace(TraceEvent::Timeout { sid: cfg.sid, kind: TimeoutKind::LeaderSilent });
            let limit_ms = cfg.sync_timeout().as_millis();
            self.become_looking(LookingReason::LeaderSilent { leader, silent_ms: silent.as_millis(), limit_ms });
        } else if l.phase != LearnerPhase::Broadcast && now >= l.progress + cfg.init_timeout() {
            self.trace(TraceEvent::Timeout { sid: cfg.sid, kind: TimeoutKind::InitLimit });
            self.become_looking(LookingReason::InitLimit { leader, limit_ms: cfg.init_timeout().as_millis() });
        }
    }

    pub(super) fn learner_receive(&mut self, from: Sid, msg: Message) {
        let now = self.now.instant;
        let in_flight = self.writes_in_flight();
        let l = self.learner();
        let busy = in_flight || l.newleader_acked;
        if from != l.leader {
            self.anomaly(format!("{:?} from {from}, who is not our leader", msg.kind()));
            return;
        }
        if let Some(e) = msg.session_epoch().filter(|e| Some(*e) != l.epoch) {
            let ours = l.epoch;
            self.anomaly(format!("{:?} of epoch {e} from {from}, ours is {ours:?}: dropped", msg.kind()));
            return;
        }
        l.last_heard = now;
        if busy || !matches!(msg, Message::Ping { .. }) {
            l.progress = now;
        }
        let phase = l.phase;
        match (phase, msg) {
            (LearnerPhase::Discovery, Message::LeaderInfo { epoch }) => self.on_leader_info(epoch),
            (
                LearnerPhase::Sync,
                Message::Diff { epoch, entries }
                | Message::Trunc { epoch, entries, .. }
                | Message::Snap { epoch, entries, .. },
            ) if !in_zxid_order(&entries) || entries.last().is_some_and(|e| e.zxid.epoch > epoch) => {
                self.resync(format!("sync entries from {from} out of zxid order or after epoch {epoch}: refused"))
            }
            (_, Message::Proposal { epoch, entry } | Message::Inform { epoch, entry }) if entry.zxid.epoch > epoch => {
                self.resync(format!("{} from {from} after its epoch {epoch}: refused", entry.zxid))
            }
            (LearnerPhase::Sync, Message::Diff { entries, .. }) => self.on_diff(entries),
            (LearnerPhase::Sync, Message::Trunc { to, entries, .. }) => self.on_trunc(to, entries),
            (LearnerPhase::Sync, Message::Snap { snapshot, entries, .. }) => self.on_snap(*snapshot, entries),
            (LearnerPhase::Sync, Message::NewLeader { epoch, .. }) => self.on_new_leader(epoch),
            (LearnerPhase::Sync, Message::UpToDate { committed, .. }) => self.on_up_to_date(committed),
            (LearnerPhase::Sync | LearnerPhase::Broadcast, Message::Proposal { entry, .. }) => self.on_proposal(entry),
            (LearnerPhase::Sync | LearnerPhase::Broadcast, Message::Commit { zxid, .. }) => self.on_commit(zxid),
            (LearnerPhase::Sync | LearnerPhase::Broadcast, Message::Inform { entry, .. }) => self.on_inform(entry),
            (_, Message::Ping { epoch, round }) => {
                let sessions = self.take_touched();
                self.send(from, Message::PingAck { epoch, round, sessions })
            }
            (LearnerPhase::Broadcast, Message::SyncReply { session, xid, zxid, .. }) => {
                self.client_sync_done(session, xid, zxid)
            }
            (phase, msg) => self.anomaly(format!("{:?} in learner phase {phase:?}", msg.kind())),
        }
    }

    fn on_leader_info(&mut self, epoch: Epoch) {
        let me = self.cfg.sid;
        let leader = self.learner().leader;
        self.learner().epoch = Some(epoch);
        self.learner().phase = LearnerPhase::Sync;
        let last_zxid = self.log.last_zxid();
        let current_epoch = self.current_epoch;
        if epoch > self.accepted_epoch {
            self.accepted_epoch = epoch;
            self.trace(TraceEvent::EpochAccepted { sid: me, epoch, leader });
            let t = self.persist(PersistOp::AcceptedEpoch(epoch));
            let msg = Message::AckEpoch { epoch, current_epoch, last_zxid, counted: true };
            self.after(t, AfterDurable::Send { to: leader, msg });
        } else if epoch == self.accepted_epoch {
            // Not counted, yet it reports a promise and a history: it leaves only once every
            // write issued so far is durable (the promise of `epoch` may still be in flight
            // from another leader's LeaderInfo; the last zxid may be an append in flight).
            let msg = Message::AckEpoch { epoch, current_epoch, last_zxid, counted: false };
            let t = self.last_token();
            self.after(t, AfterDurable::Send { to: leader, msg });
        } else {
            self.anomaly(format!("LeaderInfo epoch {epoch} < accepted epoch {}", self.accepted_epoch));
            self.become_looking(LookingReason::StaleEpoch { leader, epoch, accepted: self.accepted_epoch });
        }
    }

    /// What only lost messages (or a broken leader) explain: trace it, and resync through a
    /// new election.
    fn resync(&mut self, what: String) {
        let leader = self.learner().leader;
        self.anomaly(what.clone());
        self.become_looking(LookingReason::LostMessages { leader, what });
    }

    /// A sync-history write; held back under the EpochBeforeHistory mutant.
    fn persist_history(&mut self, op: PersistOp) {
        if self.mutant(Mutant::EpochBeforeHistory) {
            self.learner().held_ops.push(op);
        } else {
            self.persist(op);
        }
    }

    fn append_entries(&mut self, entries: Vec<Entry>) {
        let fresh: Vec<Entry> = entries.into_iter().filter(|e| e.zxid > self.log.last_zxid()).collect();
        if fresh.is_empty() {
            return;
        }
        for e in &fresh {
            self.log_append(e.clone());
        }
        self.persist_history(PersistOp::Append(fresh));
    }

    fn on_diff(&mut self, entries: Vec<Entry>) {
        self.append_entries(entries);
    }

    fn on_trunc(&mut self, to: Zxid, entries: Vec<Entry>) {
        if to < self.last_committed {
            // A leader holding every committed txn never asks this (PrimaryIntegrity): it or
            // the stream is wrong. Keep what we applied; the same leader would only repeat
            // itself, so resync through an election (our vote carries the longer history).
            let (leader, committed) = (self.learner().leader, self.last_committed);
            self.anomaly(format!("TRUNC to {to} below committed {committed}: refused"));
            self.become_looking(LookingReason::TruncBelowCommitted { leader, to, committed });
            return;
        }
        self.log.truncate(to);
        self.trace(TraceEvent::Truncated { sid: self.cfg.sid, to });
        self.persist_history(PersistOp::Truncate(to));
        self.append_entries(entries);
    }

    fn on_snap(&mut self, snapshot: Snapshot, entries: Vec<Entry>) {
        self.tree = snapshot.tree.clone();
        self.last_committed = snapshot.zxid;
        let tail: Vec<Entry> = entries.into_iter().filter(|e| e.zxid > snapshot.zxid).collect();
        self.log = Log::new(snapshot.zxid, tail.clone());
        self.trace(TraceEvent::SnapshotInstalled { sid: self.cfg.sid, zxid: snapshot.zxid });
        self.persist_history(PersistOp::InstallSnapshot(snapshot, tail));
    }

    /// (Its epoch is ours: `learner_receive` drops a message of another epoch.)
    fn on_new_leader(&mut self, epoch: Epoch) {
        let held = std::mem::take(&mut self.learner().held_ops);
        self.current_epoch = epoch;
        let t = self.persist(PersistOp::CurrentEpoch(epoch));
        for op in held {
            self.persist(op);
        }
        self.trace(TraceEvent::CurrentEpochSet { sid: self.cfg.sid, epoch });
        self.after(t, AfterDurable::LearnerSynced);
    }

    /// The synced history and current_epoch are durable: Ack(NewLeader), then held acks.
    pub(super) fn learner_synced_durable(&mut self) {
        let (leader, epoch) = (self.learner().leader, self.current_epoch);
        self.send(leader, Message::AckNewLeader { epoch });
        let l = self.learner();
        l.newleader_acked = true;
        let held = std::mem::take(&mut l.held_acks);
        if !l.observer {
            for (zxid, t) in held {
                self.after(t, AfterDurable::LearnerAck(zxid));
            }
        }
    }

    /// The proposal `z` is durable, and so is every earlier one (writes become durable in
    /// order): noted now, acked once at the end of the input (see [`Peer::learner_send_ack`]).
    pub(super) fn learner_ack_due(&mut self, z: Zxid) {
        let l = self.learner();
        l.ack_due = l.ack_due.max(Some(z));
    }

    /// One cumulative Ack for every proposal this input made durable: the leader counts it
    /// for each of its outstanding zxids up to this one.
    pub(super) fn learner_send_ack(&mut self) {
        let l = self.learner();
        let Some(mut zxid) = l.ack_due.take() else { return };
        let (leader, epoch) = (l.leader, l.epoch.expect("told the epoch"));
        if self.mutant(Mutant::AckLastLogged) {
            zxid = self.log.last_zxid();
        }
        self.send(leader, Message::Ack { epoch, zxid });
    }

    fn on_up_to_date(&mut self, committed: Zxid) {
        let target = committed.max(self.learner().commit_hint);
        self.learner().phase = LearnerPhase::Broadcast;
        self.trace(TraceEvent::UpToDate { sid: self.cfg.sid, committed: target });
        self.commit_to(target.min(self.log.last_zxid()));
    }

    /// A zxid may follow the last one only without a gap: a gap means messages were lost.
    fn follows_last(&self, z: Zxid) -> bool {
        let last = self.log.last_zxid();
        Some(z) == last.next() || (z.epoch > last.epoch && z.counter == self.cfg.first_counter)
    }

    fn on_proposal(&mut self, entry: Entry) {
        let z = entry.zxid;
        if self.log.contains(z) {
            return; // a redundant proposal (protocol-spec issue 2) is harmless
        }
        if !self.follows_last(z) {
            self.resync(format!("gap: proposal {z} after {}", self.log.last_zxid()));
            return;
        }
        self.log_append(entry.clone());
        let t = self.persist(PersistOp::Append(vec![entry]));
        let (leader, epoch) = (self.learner().leader, self.learner().epoch.expect("told the epoch"));
        if !self.learner().newleader_acked {
            self.learner().held_acks.push((z, t));
        } else if self.mutant(Mutant::AckBeforeDurable) {
            self.send(leader, Message::Ack { epoch, zxid: z });
        } else {
            self.after(t, AfterDurable::LearnerAck(z));
        }
        if self.mutant(Mutant::ApplyOnProposal) && self.learner().phase == LearnerPhase::Broadcast {
            self.commit_to(z);
        }
    }

    fn on_commit(&mut self, z: Zxid) {
        let l = self.learner();
        if l.phase == LearnerPhase::Sync {
            l.commit_hint = l.commit_hint.max(z);
            return;
        }
        if !self.log.contains(z) && z > self.log.last_zxid() {
            self.resync(format!("commit {z} beyond last logged {}", self.log.last_zxid()));
            return;
        }
        self.commit_to(z);
    }

    fn on_inform(&mut self, entry: Entry) {
        let z = entry.zxid;
        if !self.log.contains(z) {
            if !self.follows_last(z) {
                self.resync(format!("gap: inform {z} after {}", self.log.last_zxid()));
                return;
            }
            self.log_append(entry.clone());
            self.persist(PersistOp::Append(vec![entry]));
        }
        self.on_commit(z);
    }
}

/// Whether sync entries are in strictly increasing zxid order, as a leader sends its log. A
/// stream that is not must be refused before anything is logged: appended out of order, the
/// log (and the segment written from it) would no longer read back.
fn in_zxid_order(entries: &[Entry]) -> bool {
    entries.windows(2).all(|w| w[0].zxid < w[1].zxid)
}
