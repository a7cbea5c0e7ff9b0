//! The leader: discovery, per-learner synchronization, and broadcast.
//!
//! Discovery: wait (within the init limit) for FollowerInfo from a quorum including itself;
//! propose `e = max(accepted epochs) + 1`; persist accepted_epoch = e before LeaderInfo; collect
//! a quorum of counted AckEpochs (abdicating if a voter is ahead); persist current_epoch.
//! Synchronization: per learner choose DIFF, TRUNC or SNAP, then NewLeader; the learner is in
//! the broadcast set from then on (protocol-spec issue 1). A quorum of Ack(NewLeader)
//! establishes the epoch: the whole logged history is committed (case G1) and UpToDate carries
//! the latest committed zxid (protocol-spec issue 3).
//! Broadcast (`broadcast.rs`): propose, count durable acks (itself only once its own write is
//! durable; acks are cumulative), commit in zxid order, Commit to followers and Inform to
//! observers.
//! Liveness: every learner told the epoch is pinged each half tick, in every phase; before
//! Broadcast, `init_limit` without progress (see `note_progress`) ends the leadership.

use super::{AfterDurable, Peer, Phase, Role};
use crate::config::{Config, Mutant};
use crate::ids::{SessionId, Sid};
use crate::log::{Entry, Origin};
use crate::message::{Message, Snapshot};
use crate::storage::PersistOp;
use crate::time::Instant;
use crate::trace::{LookingReason, SyncMode, TimeoutKind, TraceEvent};
use crate::txn::Op;
use crate::zxid::{Epoch, Zxid};
use std::collections::{BTreeMap, BTreeSet};

mod broadcast;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// FollowerInfo received.
    Info,
    /// LeaderInfo sent.
    EpochSent,
    /// AckEpoch received; waiting for the epoch quorum before syncing.
    EpochAcked,
    /// Sync stream and NewLeader sent; in the broadcast set.
    Syncing,
    /// Ack(NewLeader) received: its acks count.
    Synced,
}

#[derive(Debug)]
struct LearnerHandle {
    observer: bool,
    accepted_epoch: Epoch,
    last_zxid: Zxid,
    stage: Stage,
    /// Last zxid sent in its sync stream (its Ack(NewLeader) proves it durable).
    synced_to: Zxid,
    last_heard: Instant,
    /// Highest confirmation round it answered.
    round: u64,
}

#[derive(Debug)]
struct PendingSync {
    round: u64,
    origin: Sid,
    session: SessionId,
    xid: i64,
}

#[derive(Debug)]
pub(crate) struct Leader {
    phase: Phase,
    /// When leading began, then the last sign that the sync moves on: until Broadcast,
    /// `init_limit` past it ends the leadership (see `note_progress`).
    progress: Instant,
    epoch: Option<Epoch>,
    learners: BTreeMap<Sid, LearnerHandle>,
    epoch_acks: BTreeSet<Sid>,
    newleader_acks: BTreeSet<Sid>,
    outstanding: broadcast::Outstanding,
    round: u64,
    next_ping: Instant,
    pending_syncs: Vec<PendingSync>,
    pub(crate) tracker: super::session::SessionTracker,
    pub(crate) next_reap: Instant,
}

impl Leader {
    pub fn new(now: Instant) -> Self {
        Leader {
            phase: Phase::Discovery,
            progress: now,
            epoch: None,
            learners: BTreeMap::new(),
            epoch_acks: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            outstanding: Default::default(),
            round: 0,
            next_ping: now,
            pending_syncs: Vec::new(),
            tracker: Default::default(),
            next_reap: now,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn learner_sids(&self) -> Vec<Sid> {
        self.learners.keys().copied().collect()
    }

    pub fn deadline(&self, cfg: &Config) -> Instant {
        if self.phase == Phase::Broadcast {
            self.next_ping
        } else {
            self.next_ping.min(self.progress + cfg.init_timeout())
        }
    }

    /// A voter whose Ack(NewLeader) arrived: its acks count.
    fn is_synced_follower(&self, sid: Sid) -> bool {
        self.learners.get(&sid).is_some_and(|h| h.stage == Stage::Synced && !h.observer)
    }

    /// Followers (not observers) in the broadcast set.
    fn forward_followers(&self) -> Vec<Sid> {
        let f = |h: &LearnerHandle| !h.observer && matches!(h.stage, Stage::Syncing | Stage::Synced);
        self.learners.iter().filter(|(_, h)| f(h)).map(|(s, _)| *s).collect()
    }

    /// Learners told the epoch: pinged in every phase, so a syncing learner hears us and we
    /// hear it (its PingAck) while its sync runs.
    fn pinged(&self) -> Vec<Sid> {
        self.learners.iter().filter(|(_, h)| h.stage != Stage::Info).map(|(s, _)| *s).collect()
    }

    fn forward_observers(&self) -> Vec<Sid> {
        let f = |h: &LearnerHandle| h.observer && matches!(h.stage, Stage::Syncing | Stage::Synced);
        self.learners.iter().filter(|(_, h)| f(h)).map(|(s, _)| *s).collect()
    }

    /// Each learner's stage and the syncs waiting for a quorum, for monitoring.
    pub(super) fn report(&self) -> super::report::LeaderReport {
        let learners = self
            .learners
            .iter()
            .map(|(sid, h)| super::report::LearnerReport {
                sid: *sid,
                observer: h.observer,
                synced: h.stage == Stage::Synced,
                stage: match h.stage {
                    Stage::Info | Stage::EpochSent | Stage::EpochAcked => "discovery",
                    Stage::Syncing => "synchronization",
                    Stage::Synced => "broadcast",
                },
            })
            .collect();
        super::report::LeaderReport { learners, pending_syncs: self.pending_syncs.len() }
    }
}

impl Peer {
    fn leader(&mut self) -> &mut Leader {
        match &mut self.role {
            Role::Leading(l) => l,
            _ => unreachable!("leader state only while leading"),
        }
    }

    fn leader_ref(&self) -> &Leader {
        match &self.role {
            Role::Leading(l) => l,
            _ => unreachable!("leader state only while leading"),
        }
    }

    pub(super) fn leader_start(&mut self) {
        self.try_decide_epoch();
    }

    /// The epoch this leader proposed (decided once a quorum sent its info).
    fn session_epoch(&self) -> Epoch {
        self.leader_ref().epoch.expect("epoch decided")
    }

    pub(super) fn leader_receive(&mut self, from: Sid, msg: Message) {
        let now = self.now.instant;
        let ours = self.leader_ref().epoch;
        if let Some(e) = msg.session_epoch().filter(|e| Some(*e) != ours) {
            self.anomaly(format!("{:?} of epoch {e} from {from}, ours is {ours:?}: dropped", msg.kind()));
            return;
        }
        if let Some(h) = self.leader().learners.get_mut(&from) {
            h.last_heard = now;
        }
        self.note_progress(from, &msg);
        match msg {
            Message::FollowerInfo { accepted_epoch, last_zxid } => {
                self.on_learner_info(from, accepted_epoch, last_zxid, false)
            }
            Message::ObserverInfo { accepted_epoch, last_zxid } => {
                self.on_learner_info(from, accepted_epoch, last_zxid, true)
            }
            Message::AckEpoch { current_epoch, last_zxid, counted, .. } => {
                self.on_ack_epoch(from, current_epoch, last_zxid, counted)
            }
            Message::AckNewLeader { epoch } => self.on_ack_new_leader(from, epoch),
            Message::Ack { zxid, .. } => self.on_ack(from, zxid),
            Message::PingAck { round, sessions, .. } => {
                self.leader_touch_all(&sessions);
                self.on_ping_ack(from, round)
            }
            Message::Request { session, xid, op, auth, .. } => self.on_request(from, session, xid, op, auth),
            Message::Sync { session, xid, .. } => self.leader_sync(from, session, xid),
            other => self.anomaly(format!("{:?} from {from} while LEADING", other.kind())),
        }
    }

    /// Discovery has `init_limit` in all: nothing a learner does there proves the epoch quorum
    /// will come (learners that promised our epoch to another leader answer "not counted" as
    /// often as they re-register). Synchronization has `init_limit` without progress: the
    /// epoch quorum reached, our current_epoch durable, a voter's Ack(NewLeader), or a PingAck
    /// from a voter still taking in its sync while such voters and we make a quorum: it is
    /// alive and busy (a large SNAP on a slow disk; it leaves by itself when it is not, see
    /// `Learner::deadline`), and without it no quorum syncs, so an election would only restart
    /// the same sync.
    fn note_progress(&mut self, from: Sid, msg: &Message) {
        if self.leader_ref().phase != Phase::Synchronization || !self.is_voter(from) {
            return;
        }
        let busy = matches!(msg, Message::PingAck { .. }) && {
            let l = self.leader_ref();
            let syncing = |s: &Sid| !l.learners[s].observer && l.learners[s].stage == Stage::Syncing;
            let mut alive: Vec<Sid> = l
                .learners
                .iter()
                .filter(|(_, h)| !h.observer && matches!(h.stage, Stage::Syncing | Stage::Synced))
                .map(|(s, _)| *s)
                .collect();
            alive.push(self.cfg.sid);
            l.learners.contains_key(&from) && syncing(&from) && self.is_quorum(&alive)
        };
        if busy || matches!(msg, Message::AckNewLeader { .. }) {
            self.leader().progress = self.now.instant;
        }
    }

    // ---- discovery -------------------------------------------------------------------------

    fn on_learner_info(&mut self, from: Sid, accepted_epoch: Epoch, last_zxid: Zxid, observer: bool) {
        if observer == self.is_voter(from) {
            self.anomaly(format!("learner {from} registered with the wrong role"));
            self.disconnect(from);
            return;
        }
        if self.leader_ref().epoch.is_some_and(|e| accepted_epoch > e) {
            // The learner promised a later epoch to someone else and will refuse ours: stand
            // down so a new election can pick an epoch above every promise (liveness).
            self.trace(TraceEvent::Abdicated { sid: self.cfg.sid, because: from });
            self.become_looking(LookingReason::Abdicated { because: from });
            return;
        }
        let now = self.now.instant;
        let h = LearnerHandle {
            observer,
            accepted_epoch,
            last_zxid,
            stage: Stage::Info,
            synced_to: Zxid::ZERO,
            last_heard: now,
            round: 0,
        };
        let l = self.leader();
        l.learners.insert(from, h);
        l.epoch_acks.remove(&from);
        l.newleader_acks.remove(&from);
        if l.phase == Phase::Broadcast && !self.keeps_quorum(Some(format!("learner {from} started to sync again"))) {
            return;
        }
        let l = self.leader();
        match (l.epoch, self.accepted_epoch) {
            (Some(e), acc) if acc == e && self.leader_ref().epoch_acks.contains(&self.cfg.sid) => {
                self.send_leader_info(from, e)
            }
            (None, _) => self.try_decide_epoch(),
            _ => {}
        }
    }

    /// A quorum (itself included) has told us its accepted epoch: propose the next one.
    fn try_decide_epoch(&mut self) {
        let me = self.cfg.sid;
        let l = self.leader_ref();
        if l.epoch.is_some() {
            return;
        }
        let voters: Vec<Sid> = l.learners.iter().filter(|(_, h)| !h.observer).map(|(s, _)| *s).collect();
        let mut infos = voters.clone();
        infos.push(me);
        if !self.is_quorum(&infos) {
            return;
        }
        let max = l.learners.values().map(|h| h.accepted_epoch).max().unwrap_or(0);
        let e = max.max(self.accepted_epoch) + 1;
        self.leader().epoch = Some(e);
        self.accepted_epoch = e;
        self.trace(TraceEvent::EpochProposed { sid: me, epoch: e });
        let t = self.persist(PersistOp::AcceptedEpoch(e));
        self.after(t, AfterDurable::LeaderAcceptedEpoch);
    }

    pub(super) fn leader_accepted_epoch_durable(&mut self) {
        let me = self.cfg.sid;
        let e = self.leader().epoch.expect("epoch decided");
        self.leader().epoch_acks.insert(me);
        let waiting: Vec<Sid> = self.leader_ref().learners.keys().copied().collect();
        for s in waiting {
            self.send_leader_info(s, e);
        }
        self.check_epoch_quorum();
    }

    fn send_leader_info(&mut self, to: Sid, epoch: Epoch) {
        if let Some(h) = self.leader().learners.get_mut(&to) {
            if h.stage == Stage::Info {
                h.stage = Stage::EpochSent;
                self.send(to, Message::LeaderInfo { epoch });
            }
        }
    }

    fn on_ack_epoch(&mut self, from: Sid, current_epoch: Epoch, last_zxid: Zxid, counted: bool) {
        let me = self.cfg.sid;
        self.trace(TraceEvent::AckEpochReceived { sid: me, from, counted, current_epoch, last_zxid });
        let phase = self.leader_ref().phase;
        let Some(h) = self.leader().learners.get_mut(&from) else { return };
        if h.stage != Stage::EpochSent {
            self.anomaly(format!("AckEpoch from {from} out of order"));
            return;
        }
        h.stage = Stage::EpochAcked;
        h.last_zxid = last_zxid;
        let observer = h.observer;
        let mine = (self.current_epoch, self.log.last_zxid());
        // Only a voter ahead of us may hold committed txns we lack. Observers never lead: one
        // ahead holds a tail no voter quorum accepted, and choose_sync truncates it.
        let ahead = (current_epoch, last_zxid) > mine && !self.mutant(Mutant::NoAbdication);
        if !observer && phase != Phase::Broadcast && ahead {
            self.trace(TraceEvent::Abdicated { sid: me, because: from });
            self.become_looking(LookingReason::Abdicated { because: from });
            return;
        }
        if !observer && (counted || self.mutant(Mutant::CountNotCountedAckEpoch)) {
            self.leader().epoch_acks.insert(from);
        }
        match phase {
            Phase::Discovery => self.check_epoch_quorum(),
            _ => self.sync_learner(from),
        }
    }

    fn check_epoch_quorum(&mut self) {
        let l = self.leader_ref();
        if l.phase != Phase::Discovery || !self.is_quorum(&l.epoch_acks) {
            return;
        }
        let e = l.epoch.expect("epoch decided");
        self.leader().phase = Phase::Synchronization;
        self.leader().progress = self.now.instant;
        self.current_epoch = e;
        self.trace(TraceEvent::CurrentEpochSet { sid: self.cfg.sid, epoch: e });
        let t = self.persist(PersistOp::CurrentEpoch(e));
        if self.mutant(Mutant::LeaderCountsBeforeDurable) {
            let me = self.cfg.sid;
            self.leader().newleader_acks.insert(me);
        }
        self.after(t, AfterDurable::LeaderCurrentEpoch);
        let acked: Vec<Sid> =
            self.leader_ref().learners.iter().filter(|(_, h)| h.stage == Stage::EpochAcked).map(|(s, _)| *s).collect();
        for s in acked {
            self.sync_learner(s);
        }
    }

    pub(super) fn leader_current_epoch_durable(&mut self) {
        let me = self.cfg.sid;
        self.leader().progress = self.now.instant;
        self.leader().newleader_acks.insert(me);
        self.check_new_leader_quorum();
    }

    // ---- synchronization -------------------------------------------------------------------

    /// DIFF when the learner's last zxid is in our history; TRUNC when it has a tail we never
    /// had in the same epoch; SNAP when it is too far behind or diverged across epochs
    /// (ZOOKEEPER-1154: never DIFF past a zxid we do not have, never TRUNC across epochs).
    fn choose_sync(&self, theirs: Zxid) -> (SyncMode, Zxid) {
        let ours = self.log.last_zxid();
        if self.log.contains(theirs) && theirs >= self.log.base() {
            if self.log.after(theirs).len() > self.cfg.snap_threshold {
                return (SyncMode::Snap, self.last_committed);
            }
            return (SyncMode::Diff, theirs);
        }
        if self.mutant(Mutant::DiffInsteadOfTrunc) && theirs > self.log.base() {
            return (SyncMode::Diff, theirs);
        }
        if theirs > self.log.base() {
            let common = self.log.last_below(theirs);
            let common = if theirs > ours { ours } else { common };
            if common.epoch == theirs.epoch && common >= self.log.base() {
                return (SyncMode::Trunc, common);
            }
        }
        (SyncMode::Snap, self.last_committed)
    }

    fn sync_learner(&mut self, to: Sid) {
        let e = self.leader_ref().epoch.expect("epoch decided");
        let Some(h) = self.leader_ref().learners.get(&to) else { return };
        let theirs = h.last_zxid;
        let (mode, from) = self.choose_sync(theirs);
        let ours = self.log.last_zxid();
        let entries: Vec<Entry> = self.log.after(from).to_vec();
        let msg = match mode {
            SyncMode::Diff => Message::Diff { epoch: e, entries },
            SyncMode::Trunc => Message::Trunc { epoch: e, to: from, entries },
            SyncMode::Snap => {
                let snapshot = Snapshot { zxid: self.last_committed, tree: self.tree.clone() };
                Message::Snap { epoch: e, snapshot: Box::new(snapshot), entries }
            }
        };
        self.trace(TraceEvent::SyncModeChosen {
            leader: self.cfg.sid,
            learner: to,
            mode,
            learner_zxid: theirs,
            to: from,
        });
        self.send(to, msg);
        self.send(to, Message::NewLeader { epoch: e, zxid: ours });
        if let Some(h) = self.leader().learners.get_mut(&to) {
            h.stage = Stage::Syncing;
            h.synced_to = ours;
        }
    }

    fn on_ack_new_leader(&mut self, from: Sid, epoch: Epoch) {
        let l = self.leader();
        let Some(h) = l.learners.get_mut(&from) else { return };
        if Some(epoch) != l.epoch || h.stage != Stage::Syncing {
            self.anomaly(format!("Ack(NewLeader) for epoch {epoch} from {from} out of order"));
            return;
        }
        h.stage = Stage::Synced;
        let (observer, synced_to) = (h.observer, h.synced_to);
        if !observer {
            l.newleader_acks.insert(from);
        }
        let acks = l.newleader_acks.len();
        let quorum = self.quorum_size();
        self.trace(TraceEvent::NewLeaderAcked { leader: self.cfg.sid, from, acks, quorum });
        if self.leader_ref().phase == Phase::Broadcast {
            let (epoch, committed) = (self.session_epoch(), self.last_committed);
            self.send(from, Message::UpToDate { epoch, committed });
            if !observer {
                self.count_synced(from, synced_to);
            }
        } else {
            self.check_new_leader_quorum();
        }
    }

    fn check_new_leader_quorum(&mut self) {
        let l = self.leader_ref();
        if l.phase != Phase::Synchronization || !self.is_quorum(&l.newleader_acks) {
            return;
        }
        self.establish();
    }

    /// The epoch is established: our whole logged history is committed (case G1).
    fn establish(&mut self) {
        let me = self.cfg.sid;
        let e = self.leader_ref().epoch.expect("epoch decided");
        self.leader().phase = Phase::Broadcast;
        self.leader().next_ping = self.now.instant;
        let last = self.log.last_zxid();
        self.commit_to(last);
        self.trace(TraceEvent::EpochEstablished { sid: me, epoch: e, committed: self.last_committed });
        self.leader_track_all();
        let synced: Vec<Sid> =
            self.leader_ref().learners.iter().filter(|(_, h)| h.stage == Stage::Synced).map(|(s, _)| *s).collect();
        let committed = self.last_committed;
        for s in synced {
            self.send(s, Message::UpToDate { epoch: e, committed });
        }
    }

    // ---- broadcast -------------------------------------------------------------------------

    fn on_request(&mut self, from: Sid, session: SessionId, xid: i64, op: Op, auth: Vec<crate::acl::Id>) {
        if self.leader_ref().phase != Phase::Broadcast {
            self.anomaly(format!("request from {from} before the epoch is established"));
            return;
        }
        self.leader_propose(session, op, auth, Some(Origin { sid: from, session, xid }));
    }

    // ---- liveness and sync -----------------------------------------------------------------

    /// A client `sync`: answered once a quorum confirmed our leadership in a round that began
    /// after the sync arrived, so sync-then-read sees every write acknowledged before it.
    pub(super) fn leader_sync(&mut self, origin: Sid, session: SessionId, xid: i64) {
        if self.leader_ref().phase != Phase::Broadcast {
            return;
        }
        let round = self.start_round();
        self.leader().pending_syncs.push(PendingSync { round, origin, session, xid });
        if self.mutant(Mutant::SyncWithoutQuorum) {
            self.leader().pending_syncs.last_mut().expect("just pushed").round = 0;
        }
        self.answer_syncs();
    }

    /// Start a confirmation round: ping every learner told the epoch (only synced voters'
    /// answers confirm a round, see `confirmed_round`).
    fn start_round(&mut self) -> u64 {
        let epoch = self.session_epoch();
        let l = self.leader();
        l.round += 1;
        let round = l.round;
        for s in l.pinged() {
            self.send(s, Message::Ping { epoch, round });
        }
        round
    }

    fn on_ping_ack(&mut self, from: Sid, round: u64) {
        if let Some(h) = self.leader().learners.get_mut(&from) {
            h.round = h.round.max(round);
        }
        self.answer_syncs();
    }

    fn confirmed_round(&self) -> u64 {
        let l = self.leader_ref();
        let mut rounds: Vec<u64> = l
            .learners
            .iter()
            .filter(|(s, h)| h.stage == Stage::Synced && self.is_voter(**s))
            .map(|(_, h)| h.round)
            .collect();
        rounds.push(u64::MAX); // ourselves
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let q = self.quorum_size();
        rounds.get(q - 1).copied().unwrap_or(0)
    }

    fn answer_syncs(&mut self) {
        let confirmed = self.confirmed_round();
        let (zxid, epoch) = (self.last_committed, self.session_epoch());
        let me = self.cfg.sid;
        let (ready, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.leader().pending_syncs).into_iter().partition(|p| p.round <= confirmed);
        self.leader().pending_syncs = rest;
        for p in ready {
            if p.origin == me {
                self.client_sync_done(p.session, p.xid, zxid);
            } else {
                self.send(p.origin, Message::SyncReply { epoch, session: p.session, xid: p.xid, zxid });
            }
        }
    }

    pub(super) fn leader_timeout(&mut self) {
        let now = self.now.instant;
        let cfg = self.cfg.clone();
        let l = self.leader();
        if l.phase != Phase::Broadcast && now >= l.progress + cfg.init_timeout() {
            self.trace(TraceEvent::Timeout { sid: cfg.sid, kind: TimeoutKind::InitLimit });
            self.become_looking(LookingReason::InitLimit { leader: cfg.sid, limit_ms: cfg.init_timeout().as_millis() });
            return;
        }
        if now < l.next_ping {
            return;
        }
        l.next_ping = now + crate::time::Duration(cfg.tick.0 / 2);
        // A learner has `init_limit` ticks of silence until it acknowledges NewLeader (it may be
        // busy taking in a large SNAP), `sync_limit` after (ZooKeeper's LearnerHandler too).
        let limit = |h: &LearnerHandle| match h.stage {
            Stage::Synced => cfg.sync_timeout(),
            _ => cfg.init_timeout(),
        };
        let silent: Vec<Sid> =
            l.learners.iter().filter(|(_, h)| now >= h.last_heard + limit(h)).map(|(s, _)| *s).collect();
        for s in silent {
            self.trace(TraceEvent::Timeout { sid: cfg.sid, kind: TimeoutKind::LearnerSilent });
            self.disconnect(s);
            self.leader_lost_learner(s, "silent beyond the sync limit");
            if !matches!(self.role, Role::Leading(_)) {
                return;
            }
        }
        if self.leader_ref().phase != Phase::Broadcast {
            if self.leader_ref().epoch.is_some() {
                self.start_round();
            }
        } else if self.keeps_quorum(None) {
            self.start_round();
            self.leader_expire_sessions();
            self.leader_reap_containers();
        }
    }

    /// In broadcast a leader needs a quorum of synced voters (itself included); otherwise it
    /// steps down rather than serve as a lone, stale leader.
    /// `after`: the learner just dropped, and why.
    fn keeps_quorum(&mut self, after: Option<String>) -> bool {
        let me = self.cfg.sid;
        let l = self.leader_ref();
        let mut alive: Vec<Sid> =
            l.learners.iter().filter(|(_, h)| h.stage == Stage::Synced && !h.observer).map(|(s, _)| *s).collect();
        alive.push(me);
        if self.is_quorum(&alive) {
            return true;
        }
        self.trace(TraceEvent::Timeout { sid: me, kind: TimeoutKind::QuorumSilent });
        alive.sort();
        self.become_looking(LookingReason::QuorumLost { synced: alive, quorum: self.quorum_size(), after });
        false
    }

    /// A learner is gone. In broadcast, step down unless a quorum of synced voters remains.
    pub(super) fn leader_lost_learner(&mut self, s: Sid, why: &str) {
        let me = self.cfg.sid;
        if self.leader().learners.remove(&s).is_none() {
            return;
        }
        // Its acks no longer count: it may have moved on to another leader (and epoch) since.
        let l = self.leader();
        l.epoch_acks.remove(&s);
        l.newleader_acks.remove(&s);
        self.trace(TraceEvent::LearnerDropped { leader: me, learner: s, why: why.to_string() });
        if self.leader_ref().phase == Phase::Broadcast {
            self.keeps_quorum(Some(format!("learner {s} dropped: {why}")));
        }
    }
}
