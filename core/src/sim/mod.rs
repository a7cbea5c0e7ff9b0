//! A deterministic, seeded cluster in one process: N peers, a virtual clock, a per-link FIFO
//! network that can break, stall and partition, storage that loses what is not yet durable on
//! a crash, named crash points, a client workload, and safety checks after every step.
//!
//! One seed gives one trace, byte for byte: all randomness comes from one SplitMix64, all maps
//! iterate in order, and time is virtual.

mod check;
mod clients;
mod coverage;
#[cfg(test)]
mod fail_fast_tests;
mod faults;
mod history;
mod net;
mod report;
pub mod script;
mod script_client;
mod sweep;
mod watchcheck;

/// ProcessConsistency of one peer, for drivers other than the simulator (the fuzz target of
/// `Peer::step` checks it too).
pub use check::process_consistency;
pub use clients::{ClientEvent, SimClient};
pub use coverage::Coverage;
pub use report::{FaultStats, SeedReport, SimOptions};
pub use sweep::{first_catch, run_seed, MUTANT_SEED_BOUND};

use crate::config::{Config, Membership, Mutant};
use crate::ids::{SessionId, Sid, Token};
use crate::message::{Envelope, MsgKind};
use crate::peer::{Input, Now, Output, Peer, Status};
use crate::rng::SplitMix64;
use crate::storage::{PersistOp, PersistedState};
use crate::time::{Duration, Instant};
use crate::trace::TraceEvent;
use check::Checker;
use history::History;
use net::Network;
use std::collections::{BTreeMap, VecDeque};

/// A message on the wire, as a viewer draws it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InFlight {
    pub from: Sid,
    pub to: Sid,
    pub id: crate::message::MsgId,
    pub kind: MsgKind,
    pub detail: String,
    pub deliver_at: Instant,
    /// 0 for the head of its connection (the only one that may be delivered next).
    pub position: usize,
    pub stalled: bool,
}

/// The named crash points of zab-notes.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CrashPoint {
    AfterAppendBeforeFsync,
    AfterFsyncBeforeAck,
    AfterAcceptedEpoch,
    AfterCurrentEpoch,
    AfterSyncedHistory,
    AfterAckNewLeader,
    MidSnap,
    MidTrunc,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 8] = [
        CrashPoint::AfterAppendBeforeFsync,
        CrashPoint::AfterFsyncBeforeAck,
        CrashPoint::AfterAcceptedEpoch,
        CrashPoint::AfterCurrentEpoch,
        CrashPoint::AfterSyncedHistory,
        CrashPoint::AfterAckNewLeader,
        CrashPoint::MidSnap,
        CrashPoint::MidTrunc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterAppendBeforeFsync => "after-append-before-fsync",
            CrashPoint::AfterFsyncBeforeAck => "after-fsync-before-ack",
            CrashPoint::AfterAcceptedEpoch => "after-accepted-epoch",
            CrashPoint::AfterCurrentEpoch => "after-current-epoch",
            CrashPoint::AfterSyncedHistory => "after-synced-history",
            CrashPoint::AfterAckNewLeader => "after-ack-newleader",
            CrashPoint::MidSnap => "mid-snap",
            CrashPoint::MidTrunc => "mid-trunc",
        }
    }

    pub fn parse(s: &str) -> Option<CrashPoint> {
        CrashPoint::ALL.into_iter().find(|c| c.name() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Deliver {
        from: Sid,
        to: Sid,
    },
    PersistDone {
        sid: Sid,
        incarnation: u64,
        token: Token,
    },
    Connect {
        a: Sid,
        b: Sid,
    },
    Closed {
        to: Sid,
        peer: Sid,
        conn: u64,
    },
    /// Break the connection `conn` between `a` and `b`, if it is still that one.
    Break {
        a: Sid,
        b: Sid,
        conn: u64,
    },
}

/// Storage as a crash sees it: durable state plus writes not yet durable.
#[derive(Debug, Default)]
struct SimStorage {
    durable: PersistedState,
    /// Writes not yet durable, in order, each with the instant its fsync completes.
    pending: VecDeque<(Token, PersistOp, Instant)>,
    last_done_at: Instant,
}

struct SimPeer {
    peer: Option<Peer>,
    /// This peer's fsync latency range in microseconds (a slow disk makes some orders visible).
    fsync: (u64, u64),
    /// Extra latency (µs range) of every message this peer sends: a slow or distant peer.
    send_delay: (u64, u64),
    storage: SimStorage,
    incarnation: u64,
    armed: Option<CrashPoint>,
    /// The op is part of a learner's sync history (for the after-synced-history point).
    sync_tokens: Vec<Token>,
}

pub struct Sim {
    pub now: Instant,
    pub wall_ms: u64,
    pub rng: SplitMix64,
    members: Membership,
    mutants: Vec<Mutant>,
    /// Per-peer timing overrides (scenario `config`).
    overrides: BTreeMap<Sid, Timing>,
    peers: BTreeMap<Sid, SimPeer>,
    pub(crate) net: Network,
    queue: BTreeMap<(Instant, u64), Event>,
    seq: u64,
    /// Deliver messages only on `deliver` (scenario scripts) instead of after a delay.
    pub manual_network: bool,
    pub delay: (u64, u64),
    pub reconnect_after: (u64, u64),
    /// Probability (per mille) that an election notification is lost alone.
    pub drop_notifications_permille: u64,
    /// Every peer's `Config::first_counter`.
    pub first_counter: u32,
    /// Every peer's `Config::snapshot_every` (0: no periodic checkpoints).
    pub snapshot_every: u64,
    /// Every peer's `Config::election_oracle`: `elect` may end an election with any voter.
    pub election_oracle: bool,
    /// A crash keeps a random prefix of the writes not yet durable (in order, an append
    /// possibly torn after some of its entries) instead of losing them all.
    pub torn_crashes: bool,
    /// Per mille: the connection breaks right after a learner's FollowerInfo, AckEpoch or
    /// Ack(NewLeader) reaches its leader (before any answer gets back), so learners move
    /// between would-be leaders at every step of discovery and sync.
    pub learner_breaks_permille: u64,
    /// Per-peer clock rates in per mille of the simulator's clock (1000 when absent): a peer's
    /// timeouts run faster or slower than its neighbours'.
    clock_rates: BTreeMap<Sid, u64>,
    pub clients: Vec<SimClient>,
    next_conn: u64,
    pub(crate) checker: Checker,
    pub(crate) history: History,
    pub record: bool,
    pub trace: Vec<TraceEvent>,
    /// When each event of `trace` happened (virtual time), index for index.
    pub trace_at: Vec<Instant>,
    /// What the simulator did to the cluster (crashes, partitions, lost messages), with when
    /// (kept while `record` is on, for the UI's event log).
    pub notes: Vec<(Instant, String)>,
    /// Human-readable log lines of protocol steps, for `cargo xtask demo` and scripts.
    pub narrate: bool,
    /// Narrate only what clients see (replies, notifications, sessions), not the protocol.
    pub narrate_clients_only: bool,
    pub narration: Vec<String>,
    pub stats: FaultStats,
    pub events: u64,
    /// `run_until` stops with a violation once this many events were processed (sweeps set a
    /// budget far above what a seed needs; scripts and viewers run unbounded).
    pub max_events: u64,
    pub violations: Vec<String>,
}

/// Events `run_until` processes within one 10 ms slice of virtual time before it calls the
/// run a livelock (a busy seed has a few hundred).
const MAX_EVENTS_PER_SLICE: u64 = 100_000;

/// Timing overrides for one peer: tick in ms, init limit and sync limit in ticks.
type Timing = (Option<u64>, Option<u64>, Option<u64>);

fn sid_range(n: usize) -> impl Iterator<Item = Sid> {
    (1..=n as u64).map(Sid)
}

impl Sim {
    pub fn new(seed: u64, voters: usize, observers: usize, mutants: Vec<Mutant>) -> Sim {
        let members = Membership::numbered(voters as u64, observers as u64);
        let mut sim = Sim {
            now: Instant(0),
            wall_ms: 1_700_000_000_000,
            rng: SplitMix64::new(seed),
            members,
            mutants,
            overrides: BTreeMap::new(),
            peers: BTreeMap::new(),
            net: Network::default(),
            queue: BTreeMap::new(),
            seq: 0,
            manual_network: false,
            delay: (1_000, 10_000),
            reconnect_after: (5_000, 30_000),
            drop_notifications_permille: 0,
            first_counter: 1,
            snapshot_every: 0,
            election_oracle: false,
            torn_crashes: false,
            learner_breaks_permille: 0,
            clock_rates: BTreeMap::new(),
            clients: Vec::new(),
            next_conn: 0,
            checker: Checker::new(voters),
            history: History::default(),
            record: false,
            trace: Vec::new(),
            trace_at: Vec::new(),
            notes: Vec::new(),
            narrate: false,
            narrate_clients_only: false,
            narration: Vec::new(),
            stats: FaultStats::default(),
            events: 0,
            max_events: u64::MAX,
            violations: Vec::new(),
        };
        for sid in sid_range(voters + observers) {
            let sp = SimPeer {
                peer: None,
                fsync: (200, 3_000),
                send_delay: (0, 0),
                storage: SimStorage::default(),
                incarnation: 0,
                armed: None,
                sync_tokens: Vec::new(),
            };
            sim.peers.insert(sid, sp);
        }
        sim
    }

    pub fn sids(&self) -> Vec<Sid> {
        self.peers.keys().copied().collect()
    }

    pub fn voters(&self) -> Vec<Sid> {
        self.members.voters.iter().copied().collect()
    }

    fn config(&self, sid: Sid) -> Config {
        let mut c = Config::new(sid, self.members.clone());
        c.seed = sid.0 * 7919;
        c.mutants = self.mutants.iter().copied().collect();
        c.snap_threshold = 40;
        c.first_counter = self.first_counter;
        c.trace_details = self.record || self.narrate;
        // Short sessions, so that crashes and partitions make some of them expire.
        c.min_session_timeout = Duration::from_millis(400);
        c.reap_interval = Duration::from_millis(200);
        c.snapshot_every = self.snapshot_every;
        c.election_oracle = self.election_oracle;
        if let Some((tick, init, sync)) = self.overrides.get(&sid) {
            c.tick = tick.map_or(c.tick, Duration::from_millis);
            c.init_limit = init.unwrap_or(c.init_limit);
            c.sync_limit = sync.unwrap_or(c.sync_limit);
        }
        c
    }

    /// Give one peer its own timings (servers may run with different zoo.cfg values); applies
    /// from its next start.
    pub fn override_timing(
        &mut self,
        sid: Sid,
        tick_ms: Option<u64>,
        init_limit: Option<u64>,
        sync_limit: Option<u64>,
    ) {
        self.overrides.insert(sid, (tick_ms, init_limit, sync_limit));
    }

    pub fn now(&self) -> Now {
        Now { instant: self.now, wall_ms: self.wall_ms }
    }

    /// Let one peer's clock run at `permille` of the simulator's (set before it starts: a
    /// peer's clock must never go back).
    pub fn set_clock_rate(&mut self, sid: Sid, permille: u64) {
        self.clock_rates.insert(sid, permille.max(1));
    }

    /// The time as `sid`'s own clock shows it.
    pub fn peer_now(&self, sid: Sid) -> Now {
        let Some(&rate) = self.clock_rates.get(&sid) else { return self.now() };
        let instant = Instant(self.now.0 * rate / 1000);
        let skew_ms = (instant.0 / 1000) as i128 - (self.now.0 / 1000) as i128;
        Now { instant, wall_ms: (self.wall_ms as i128 + skew_ms).max(0) as u64 }
    }

    /// The simulator's time at which `sid`'s clock first shows `local`.
    fn global_time(&self, sid: Sid, local: Instant) -> Instant {
        match self.clock_rates.get(&sid) {
            Some(&rate) => Instant((local.0 * 1000).div_ceil(rate)),
            None => local,
        }
    }

    /// The election oracle (`election_oracle`): end `sid`'s election with `leader`. True if
    /// `sid` was looking (the peer ignores it otherwise).
    pub fn elect(&mut self, sid: Sid, leader: Sid) -> bool {
        let looking = self.status(sid).is_some_and(|s| s.state == crate::message::ServerState::Looking);
        if looking && self.election_oracle {
            self.stats.oracle_elections += 1;
            self.note(format!("the election oracle ends {sid}'s election with leader {leader}"));
            self.step_peer(sid, Input::Elect { leader });
        }
        looking
    }

    fn schedule(&mut self, at: Instant, e: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), e);
    }

    /// Set a peer's durable state before it starts (scenario `set`).
    pub fn set_storage(&mut self, sid: Sid, state: PersistedState) {
        if let Some(sp) = self.peers.get_mut(&sid) {
            sp.storage.durable = state;
            self.checker.on_storage_set();
        }
    }

    pub fn storage(&self, sid: Sid) -> Option<&PersistedState> {
        self.peers.get(&sid).map(|p| &p.storage.durable)
    }

    pub fn peer(&self, sid: Sid) -> Option<&Peer> {
        self.peers.get(&sid).and_then(|p| p.peer.as_ref())
    }

    pub fn is_up(&self, sid: Sid) -> bool {
        self.peer(sid).is_some()
    }

    pub fn status(&self, sid: Sid) -> Option<Status> {
        self.peer(sid).map(|p| p.status())
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.peers.values().filter_map(|p| p.peer.as_ref().map(|p| p.status())).collect()
    }

    /// The peer that leads an established epoch, if any (the highest epoch wins).
    pub fn leader(&self) -> Option<Sid> {
        self.statuses()
            .into_iter()
            .filter(|s| s.state == crate::message::ServerState::Leading && s.serving)
            .max_by_key(|s| s.current_epoch)
            .map(|s| s.sid)
    }

    /// Start (or restart) a peer from its durable storage and connect it to the others.
    pub fn start(&mut self, sid: Sid) {
        let cfg = self.config(sid);
        let now = self.peer_now(sid);
        let sp = self.peers.get_mut(&sid).expect("member");
        if sp.peer.is_some() {
            return;
        }
        sp.storage.pending.clear();
        sp.incarnation += 1;
        sp.sync_tokens.clear();
        let state = sp.storage.durable.clone();
        self.checker.on_restart(sid, &state);
        match Peer::restore(cfg, state, now) {
            Ok(mut p) => {
                let outs = p.take_outputs();
                self.peers.get_mut(&sid).expect("member").peer = Some(p);
                self.perform(sid, outs);
            }
            Err(e) => self.violation(format!("peer {sid} refused to start: {e}")),
        }
        for other in self.sids() {
            if other != sid && self.is_up(other) {
                self.schedule_connect(sid, other, 1_000);
            }
        }
    }

    pub fn start_all(&mut self) {
        for sid in self.sids() {
            self.start(sid);
        }
    }

    fn schedule_connect(&mut self, a: Sid, b: Sid, after_us: u64) {
        let l = self.net.link(a, b);
        if l.up || l.reconnecting {
            return;
        }
        l.reconnecting = true;
        let at = self.now + Duration(after_us);
        self.schedule(at, Event::Connect { a, b });
    }

    // ---- stepping ---------------------------------------------------------------------------

    fn step_peer(&mut self, sid: Sid, input: Input) {
        let now = self.peer_now(sid);
        let Some(p) = self.peers.get_mut(&sid).and_then(|p| p.peer.as_mut()) else { return };
        let outs = p.step(now, input);
        self.perform(sid, outs);
    }

    fn perform(&mut self, sid: Sid, outs: Vec<Output>) {
        self.count_cumulative_ack(sid, &outs);
        let mut crash_after = None;
        for o in outs {
            match o {
                Output::Send { to, env } => {
                    if matches!(env.msg, crate::message::Message::AckNewLeader { .. }) {
                        crash_after = crash_after.or(self.hit(sid, CrashPoint::AfterAckNewLeader));
                    }
                    self.on_send(sid, to, env);
                }
                Output::Disconnect { peer } => self.peer_disconnect(sid, peer),
                Output::Persist { token, op } => {
                    let point = match &op {
                        PersistOp::Append(_) => Some(CrashPoint::AfterAppendBeforeFsync),
                        PersistOp::InstallSnapshot(..) => Some(CrashPoint::MidSnap),
                        PersistOp::Truncate(_) => Some(CrashPoint::MidTrunc),
                        _ => None,
                    };
                    self.on_persist(sid, token, op);
                    if let Some(pt) = point {
                        crash_after = crash_after.or(self.hit(sid, pt));
                    }
                }
                Output::Reply(r) => self.on_reply(sid, r),
                Output::Connected { conn, result } => self.on_connected(sid, conn, result),
                Output::CloseClient { conn } => self.on_close_client(conn),
                Output::Watch { session, zxid, event } => self.on_watch(sid, session, zxid, event),
                Output::Trace(e) => self.on_trace(e),
            }
        }
        if crash_after.is_some() {
            self.crash(sid);
        }
    }

    /// If `point` is armed on `sid`, count it and return it (the caller crashes the peer).
    fn hit(&mut self, sid: Sid, point: CrashPoint) -> Option<CrashPoint> {
        let sp = self.peers.get_mut(&sid)?;
        if sp.armed != Some(point) {
            return None;
        }
        sp.armed = None;
        *self.stats.crash_points.entry(point.name().to_string()).or_default() += 1;
        self.note(format!("{sid} crashes at {}", point.name()));
        Some(point)
    }

    pub fn disarm(&mut self, sid: Sid) {
        if let Some(sp) = self.peers.get_mut(&sid) {
            sp.armed = None;
        }
    }

    /// True when the client got a definite write result for `xid`.
    pub fn history_write_acked(&self, session: SessionId, xid: i64) -> bool {
        self.history.write_acked(session, xid)
    }

    pub fn arm(&mut self, sid: Sid, point: CrashPoint) {
        if let Some(sp) = self.peers.get_mut(&sid) {
            sp.armed = Some(point);
        }
    }

    fn on_send(&mut self, from: Sid, to: Sid, env: Envelope) {
        if !self.is_up(to) || !self.net.link(from, to).up {
            return;
        }
        if env.msg.may_drop_alone()
            && self.drop_notifications_permille > 0
            && self.rng.chance(self.drop_notifications_permille, 1000)
        {
            self.stats.dropped_notifications += 1;
            return;
        }
        let mut delay = self.rng.range(self.delay.0, self.delay.1);
        // Only a peer given a delay draws for it, so other runs keep their traces.
        if let Some((lo, hi)) = self.peers.get(&from).map(|p| p.send_delay).filter(|d| d.1 > 0) {
            delay += self.rng.range(lo, hi);
        }
        let manual = self.manual_network;
        let now = self.now;
        // A learner's steps break the link once they arrive; a LeaderInfo breaks it just before
        // (the leader has decided its epoch, the learner not yet promised it).
        let kind = env.msg.kind();
        let after = matches!(kind, MsgKind::FollowerInfo | MsgKind::AckEpoch | MsgKind::AckNewLeader);
        let before = kind == MsgKind::LeaderInfo;
        let d = self.net.direction(from, to);
        let at = (now + Duration(delay)).max(d.last_at);
        d.last_at = at;
        d.queue.push_back((at, env));
        if !manual {
            let breaks = (after || before)
                && self.learner_breaks_permille > 0
                && self.rng.chance(self.learner_breaks_permille, 1000);
            let conn = self.net.link(from, to).conn;
            if breaks && before {
                self.schedule(at, Event::Break { a: from, b: to, conn });
            }
            self.schedule(at, Event::Deliver { from, to });
            if breaks && after {
                self.schedule(at + Duration(1), Event::Break { a: from, b: to, conn });
            }
        }
    }

    /// Give one peer a disk of its own speed.
    pub fn set_fsync(&mut self, sid: Sid, lo_us: u64, hi_us: u64) {
        if let Some(sp) = self.peers.get_mut(&sid) {
            sp.fsync = (lo_us, hi_us.max(lo_us));
        }
    }

    /// The state of the link `a – b` as a picture shows it: cut by a partition, connection
    /// down, and whether `a → b` / `b → a` is stalled (a silent partition or one-way cut).
    pub fn link_state(&self, a: Sid, b: Sid) -> (bool, bool, bool, bool) {
        let k = net::key(a, b);
        let cut = self.net.is_cut(a, b);
        match self.net.links.get(&k) {
            Some(l) => {
                let (ab, ba) = (l.dirs[net::dir(a, b)].stalled, l.dirs[net::dir(b, a)].stalled);
                (cut, !l.up, ab, ba)
            }
            None => (cut, true, false, false),
        }
    }

    /// Give one peer's outgoing messages extra latency (a slow or far-away peer).
    pub fn set_send_delay(&mut self, sid: Sid, lo_us: u64, hi_us: u64) {
        if let Some(sp) = self.peers.get_mut(&sid) {
            sp.send_delay = (lo_us, hi_us.max(lo_us));
        }
    }

    fn on_persist(&mut self, sid: Sid, token: Token, op: PersistOp) {
        let (lo, hi) = self.peers[&sid].fsync;
        let lag = self.rng.range(lo, hi);
        let now = self.now;
        let sp = self.peers.get_mut(&sid).expect("member");
        let in_sync = sp.peer.as_ref().is_some_and(|p| p.status().phase == crate::peer::Phase::Synchronization);
        if in_sync && matches!(op, PersistOp::Append(_) | PersistOp::Truncate(_) | PersistOp::InstallSnapshot(..)) {
            sp.sync_tokens.push(token);
        }
        let at = (now + Duration(lag)).max(sp.storage.last_done_at);
        sp.storage.pending.push_back((token, op, at));
        sp.storage.last_done_at = at;
        let incarnation = sp.incarnation;
        self.schedule(at, Event::PersistDone { sid, incarnation, token });
    }

    /// Group commit, as a real driver's storage does it: every write whose fsync completes by
    /// now becomes durable with this one and is reported in one `Persisted` (so a peer sees
    /// several appends durable at once, and acks them with one cumulative Ack). The events of
    /// the writes it took along then find nothing left to do.
    fn on_persist_done(&mut self, sid: Sid, incarnation: u64, token: Token) {
        let now = self.now;
        let sp = self.peers.get_mut(&sid).expect("member");
        if sp.incarnation != incarnation || sp.peer.is_none() {
            return;
        }
        if sp.storage.pending.front().is_none_or(|(t, _, _)| *t > token) {
            return;
        }
        let due = sp.storage.pending.iter().take_while(|(_, _, at)| *at <= now).map(|(t, _, _)| *t).last();
        let token = due.map_or(token, |d| d.max(token));
        let mut point = None;
        while sp.storage.pending.front().is_some_and(|(t, _, _)| *t <= token) {
            let (t, op, _) = sp.storage.pending.pop_front().expect("front");
            point = point.or(match &op {
                PersistOp::Append(_) if sp.sync_tokens.contains(&t) => Some(CrashPoint::AfterSyncedHistory),
                PersistOp::Append(_) => Some(CrashPoint::AfterFsyncBeforeAck),
                PersistOp::AcceptedEpoch(_) => Some(CrashPoint::AfterAcceptedEpoch),
                PersistOp::CurrentEpoch(_) => Some(CrashPoint::AfterCurrentEpoch),
                _ if sp.sync_tokens.contains(&t) => Some(CrashPoint::AfterSyncedHistory),
                _ => None,
            });
            sp.storage.durable.apply_owned(op);
        }
        let settled = sp.storage.pending.is_empty();
        if let (true, Some(p)) = (settled, sp.peer.as_ref()) {
            check::process_consistency(sid, p.log(), &sp.storage.durable, &mut self.violations);
        }
        let durable = &self.peers[&sid].storage.durable;
        self.checker.on_durable(sid, durable, &mut self.violations);
        if let Some(pt) = point {
            if self.hit(sid, pt).is_some() {
                self.crash(sid);
                return;
            }
        }
        self.step_peer(sid, Input::Persisted(token));
    }

    fn on_trace(&mut self, e: TraceEvent) {
        self.checker.on_trace(&e, &mut self.violations);
        self.count_coverage(&e);
        if let TraceEvent::Applied { .. } = &e {
            if let Some(h) = self.checker.take_commit() {
                self.history.on_commit(h);
            }
        }
        if self.narrate {
            if let Some(line) = narrate(&e).filter(|_| !self.narrate_clients_only || client_facing(&e)) {
                let t = self.now;
                self.narration.push(format!("{t:>12}  {line}"));
            }
        }
        if self.record {
            self.trace.push(e);
            self.trace_at.push(self.now);
        }
    }

    pub fn note(&mut self, line: String) {
        if self.record {
            self.notes.push((self.now, line.clone()));
        }
        if self.narrate {
            let t = self.now;
            self.narration.push(format!("{t:>12}  ** {line}"));
        }
    }

    pub fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    // ---- faults -----------------------------------------------------------------------------

    /// Crash a peer: writes not yet durable are lost; messages it already sent still arrive,
    /// then the others see the connection close.
    pub fn crash(&mut self, sid: Sid) {
        let was_leader = self.leader() == Some(sid);
        let sp = self.peers.get_mut(&sid).expect("member");
        if sp.peer.take().is_none() {
            return;
        }
        sp.armed = None;
        self.lose_unsynced(sid);
        if was_leader {
            self.stats.leader_crashes += 1;
        } else {
            self.stats.other_crashes += 1;
        }
        self.note(format!("{sid} crashed{}", if was_leader { " (leader)" } else { "" }));
        let at = self.now;
        self.on_trace(TraceEvent::Crashed { sid, at });
        self.disconnect_clients_of(sid);
        for other in self.sids() {
            if other == sid {
                continue;
            }
            let now = self.now;
            let l = self.net.link(sid, other);
            let conn = l.conn;
            let was_up = l.up;
            l.up = false;
            l.closing = Some((other, sid));
            l.dirs[net::dir(other, sid)].queue.clear();
            let last = l.dirs[net::dir(sid, other)].last_at.max(now);
            if was_up {
                self.schedule(last + Duration(1), Event::Closed { to: other, peer: sid, conn });
            }
        }
    }

    /// A crash loses the writes not yet durable: all of them, or with `torn_crashes` all but a
    /// random prefix (counted in entries, so an append may keep only its first entries).
    fn lose_unsynced(&mut self, sid: Sid) {
        let pending = std::mem::take(&mut self.peers.get_mut(&sid).expect("member").storage.pending);
        let units: u64 = pending.iter().map(|(_, op, _)| op_units(op)).sum();
        if !self.torn_crashes || units == 0 {
            return;
        }
        let mut keep = self.rng.range(0, units + 1);
        if keep == 0 {
            return;
        }
        self.stats.torn_crashes += 1;
        let storage = &mut self.peers.get_mut(&sid).expect("member").storage;
        for (_, op, _) in pending {
            if keep == 0 {
                break;
            }
            let n = op_units(&op);
            match op {
                PersistOp::Append(mut entries) if keep < n => {
                    entries.truncate(keep as usize);
                    storage.durable.apply_owned(PersistOp::Append(entries));
                }
                op => storage.durable.apply_owned(op),
            }
            keep = keep.saturating_sub(n);
        }
        let durable = &self.peers[&sid].storage.durable;
        self.checker.on_durable(sid, durable, &mut self.violations);
    }

    /// Break the connection between two peers (both see `Disconnected`).
    pub fn break_link(&mut self, a: Sid, b: Sid, fault: bool) {
        if !self.net.close(a, b) {
            return;
        }
        if fault {
            self.stats.broken_links += 1;
            self.note(format!("link {a}-{b} broken"));
        }
        self.step_peer(a, Input::Disconnected { peer: b });
        self.step_peer(b, Input::Disconnected { peer: a });
        let wait = self.rng.range(self.reconnect_after.0, self.reconnect_after.1);
        if self.is_up(a) && self.is_up(b) && !self.net.is_cut(a, b) {
            self.schedule_connect(a, b, wait);
        }
    }

    /// A peer closes its connection. If the direction towards the other end is stalled, the
    /// close cannot reach it either: that end keeps believing the connection is up (its sends
    /// are lost) until the network heals or its own timeouts fire.
    fn peer_disconnect(&mut self, a: Sid, b: Sid) {
        if !self.net.direction(a, b).stalled {
            self.break_link(a, b, false);
            return;
        }
        let l = self.net.link(a, b);
        if !l.up {
            return;
        }
        l.up = false;
        l.closing = Some((b, a));
        for d in &mut l.dirs {
            d.queue.clear();
        }
        self.step_peer(a, Input::Disconnected { peer: b });
    }

    /// Partition the peers into groups: links across groups break and stay down until healed.
    pub fn partition(&mut self, groups: &[Vec<Sid>]) {
        self.stats.partitions += 1;
        self.note(format!("partition {groups:?}"));
        let group_of = |s: Sid| groups.iter().position(|g| g.contains(&s));
        for a in self.sids() {
            for b in self.sids() {
                if a < b && group_of(a) != group_of(b) {
                    self.net.cut.insert(net::key(a, b));
                    self.break_link(a, b, false);
                }
            }
        }
    }

    /// A silent partition: every direction across groups stalls (packets black-holed, no
    /// connection reset), so peers only notice through their timeouts.
    pub fn silent_partition(&mut self, groups: &[Vec<Sid>]) {
        self.stats.partitions += 1;
        self.note(format!("silent partition {groups:?}"));
        let group_of = |s: Sid| groups.iter().position(|g| g.contains(&s));
        for a in self.sids() {
            for b in self.sids() {
                if a != b && group_of(a) != group_of(b) {
                    self.net.direction(a, b).stalled = true;
                }
            }
        }
    }

    /// Stall the direction `from → to` (a one-way cut): messages wait instead of arriving.
    pub fn stall(&mut self, from: Sid, to: Sid) {
        self.stats.partitions += 1;
        self.stats.one_way_partitions += 1;
        self.note(format!("one-way cut {from}->{to}"));
        self.net.direction(from, to).stalled = true;
    }

    pub fn heal(&mut self) {
        self.note("heal".to_string());
        self.net.cut.clear();
        let keys: Vec<(Sid, Sid)> = self.net.links.keys().copied().collect();
        for (a, b) in keys {
            for (from, to) in [(a, b), (b, a)] {
                let now = self.now;
                let d = self.net.direction(from, to);
                if d.stalled {
                    d.stalled = false;
                    let n = d.queue.len();
                    if n > 0 && !self.manual_network {
                        self.schedule(now, Event::Deliver { from, to });
                    }
                }
            }
            if let Some((to, peer)) = self.net.link(a, b).closing.filter(|_| self.is_up(a) && self.is_up(b)) {
                self.finish_close(to, peer);
            }
            if self.is_up(a) && self.is_up(b) {
                self.schedule_connect(a, b, 1_000);
            }
        }
    }

    // ---- the event loop ---------------------------------------------------------------------

    fn next_timer(&self) -> Option<(Instant, Sid)> {
        let deadline = |(s, p): (&Sid, &SimPeer)| p.peer.as_ref().and_then(|p| p.next_deadline()).map(|d| (d, *s));
        if self.clock_rates.is_empty() {
            return self.peers.iter().filter_map(deadline).min();
        }
        self.peers.iter().filter_map(deadline).map(|(d, s)| (self.global_time(s, d), s)).min()
    }

    /// Process the next event at or before `limit`; false when there is none.
    pub fn step(&mut self, limit: Instant) -> bool {
        let queued = self.queue.first_key_value().map(|(k, _)| k.0);
        let timer = self.next_timer();
        let take_timer = match (queued, timer) {
            (None, None) => return false,
            (Some(q), Some((t, _))) => t < q,
            (None, Some(_)) => true,
            (Some(_), None) => false,
        };
        let at = if take_timer { timer.expect("timer").0 } else { queued.expect("queued") };
        if at > limit {
            return false;
        }
        self.advance_clock(at);
        self.events += 1;
        if take_timer {
            let sid = timer.expect("timer").1;
            self.step_peer(sid, Input::Timeout);
        } else {
            let (_, e) = self.queue.pop_first().expect("queued");
            self.on_event(e);
        }
        self.checker.after_step(self.peers.iter().map(|(s, p)| (*s, &p.storage.durable)), &mut self.violations);
        true
    }

    fn advance_clock(&mut self, at: Instant) {
        if at > self.now {
            self.wall_ms += (at.0 / 1000).saturating_sub(self.now.0 / 1000);
            self.now = at;
        }
    }

    /// Run every event up to `until`, then set the clock there. Clients get a turn every
    /// 10 ms of virtual time (to ping and reconnect). Stops at the first violation (the clock
    /// then stays where it stopped: loop with `run_while`, which counts slices); more than
    /// `MAX_EVENTS_PER_SLICE` events in one slice, or more than `max_events` in all, are a
    /// violation too, so that no run can spin without the clock moving.
    pub fn run_until(&mut self, until: Instant) {
        while self.violations.is_empty() && self.now < until {
            let slice = (self.now + Duration::from_millis(10)).min(until);
            let mut steps = 0;
            while self.violations.is_empty() && self.within_budget(&mut steps) && self.step(slice) {}
            self.advance_clock(slice);
            self.clients_tick();
        }
    }

    /// Counts one more step of a slice; false (with a violation) once a budget is spent.
    fn within_budget(&mut self, steps: &mut u64) -> bool {
        *steps += 1;
        if *steps > MAX_EVENTS_PER_SLICE {
            self.violation(format!(
                "livelock: more than {MAX_EVENTS_PER_SLICE} events within 10ms of virtual time at {}",
                self.now
            ));
        } else if self.events >= self.max_events {
            self.violation(format!("event budget: {} events spent by {} without an end", self.events, self.now));
        }
        self.violations.is_empty()
    }

    /// No message is on the wire and no disk write is pending: whatever was committed has
    /// reached every peer that is up (a commit point compared earlier may still be in flight).
    pub fn quiet(&self) -> bool {
        self.net.in_flight() == 0 && self.peers.values().all(|p| p.storage.pending.is_empty())
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// While `go` holds and nothing is violated, run `slice` at a time for at most `limit` of
    /// virtual time. The bound is a count of slices, not the clock, so the loop ends even
    /// when a violation has stopped the clock. True if it ended because `go` stopped holding
    /// (`go` may act as well as look: it runs once before each slice).
    pub fn run_while(&mut self, slice: Duration, limit: Duration, mut go: impl FnMut(&mut Sim) -> bool) -> bool {
        for _ in 0..limit.0.div_ceil(slice.0.max(1)) {
            if !self.violations.is_empty() {
                return false;
            }
            if !go(self) {
                return true;
            }
            self.run_for(slice);
        }
        false
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Deliver { from, to } => {
                self.deliver_ready(from, to, false);
            }
            Event::PersistDone { sid, incarnation, token } => self.on_persist_done(sid, incarnation, token),
            Event::Connect { a, b } => self.on_connect(a, b),
            Event::Closed { to, peer, conn } => {
                if self.net.link(to, peer).conn == conn {
                    self.finish_close(to, peer);
                }
            }
            Event::Break { a, b, conn } => {
                if self.net.link(a, b).conn == conn {
                    self.break_link(a, b, true);
                }
            }
        }
    }

    fn finish_close(&mut self, to: Sid, peer: Sid) {
        self.net.link(to, peer).closing = None;
        self.net.close(to, peer);
        self.step_peer(to, Input::Disconnected { peer });
    }

    fn on_connect(&mut self, a: Sid, b: Sid) {
        if let Some((to, peer)) = self.net.link(a, b).closing {
            self.finish_close(to, peer);
        }
        let l = self.net.link(a, b);
        l.reconnecting = false;
        if l.up || !self.is_up(a) || !self.is_up(b) || self.net.is_cut(a, b) {
            return;
        }
        let l = self.net.link(a, b);
        l.up = true;
        l.conn += 1;
        self.step_peer(a, Input::Connected { peer: b });
        self.step_peer(b, Input::Connected { peer: a });
    }

    /// Deliver the messages at the head of `from → to` that are due (or one, if `force`).
    pub fn deliver_ready(&mut self, from: Sid, to: Sid, force: bool) -> bool {
        let now = self.now;
        let mut delivered = false;
        loop {
            let d = self.net.direction(from, to);
            if d.stalled && !force {
                return delivered;
            }
            let due = d.queue.front().is_some_and(|(at, _)| *at <= now || force);
            if !due {
                return delivered;
            }
            let (_, env) = d.queue.pop_front().expect("front");
            delivered = true;
            self.step_peer(to, Input::Receive { from, env });
            if force {
                return true;
            }
        }
    }

    /// Scenario `deliver`: deliver the head message of `from → to`, optionally only of a kind
    /// (messages before it on the same connection go first: FIFO).
    pub fn deliver_one(&mut self, from: Sid, to: Sid, kind: Option<MsgKind>) -> Option<MsgKind> {
        loop {
            let d = self.net.direction(from, to);
            let (_, head) = d.queue.front()?;
            let k = head.msg.kind();
            self.deliver_ready(from, to, true);
            if kind.is_none() || kind == Some(k) {
                return Some(k);
            }
        }
    }

    pub fn in_flight(&self) -> usize {
        self.net.in_flight()
    }

    /// Every message on the wire, per connection in delivery order (for viewers).
    pub fn in_flight_messages(&self) -> Vec<InFlight> {
        let mut out = Vec::new();
        for ((a, b), link) in &self.net.links {
            for (i, (from, to)) in [(*a, *b), (*b, *a)].into_iter().enumerate() {
                let d = &link.dirs[i];
                for (pos, (at, env)) in d.queue.iter().enumerate() {
                    out.push(InFlight {
                        from,
                        to,
                        id: env.id,
                        kind: env.msg.kind(),
                        detail: crate::describe::message(&env.msg),
                        deliver_at: *at,
                        position: pos,
                        stalled: d.stalled,
                    });
                }
            }
        }
        out
    }

    /// "You are the network": lose the message at the head of `from → to`, which is allowed
    /// only for an election notification (FLE resends them); losing any other message means
    /// the connection broke, so it is refused here (use `break_link`). True if one was dropped.
    pub fn drop_notification(&mut self, from: Sid, to: Sid) -> bool {
        let d = self.net.direction(from, to);
        if !d.queue.front().is_some_and(|(_, env)| env.msg.may_drop_alone()) {
            return false;
        }
        d.queue.pop_front();
        self.stats.dropped_notifications += 1;
        self.note(format!("a vote {from}->{to} was lost"));
        true
    }

    /// Scenario `lose`: the first message of `kind` (or the head) on `from → to` vanishes and
    /// the connection stays up, which TCP never does but a faulty driver might (case G5). The
    /// messages around it are kept, so the receiver sees a gap. The kind lost, if any.
    pub fn lose_one(&mut self, from: Sid, to: Sid, kind: Option<MsgKind>) -> Option<MsgKind> {
        let d = self.net.direction(from, to);
        let i = d.queue.iter().position(|(_, env)| kind.is_none_or(|k| env.msg.kind() == k))?;
        let (_, env) = d.queue.remove(i)?;
        let what = crate::describe::message(&env.msg);
        self.note(format!("{from}->{to} loses {what}, the connection still up"));
        Some(env.msg.kind())
    }

    /// When the next event (message, disk, timer) happens, if any.
    pub fn next_event_at(&self) -> Option<Instant> {
        let queued = self.queue.first_key_value().map(|(k, _)| k.0);
        let timer = self.next_timer().map(|t| t.0);
        match (queued, timer) {
            (Some(q), Some(t)) => Some(q.min(t)),
            (q, t) => q.or(t),
        }
    }

    /// Process exactly the next event, whenever it is; false if there is none.
    pub fn step_one(&mut self) -> bool {
        match self.next_event_at() {
            Some(at) => self.step(at),
            None => false,
        }
    }
}

/// How many units a torn write can keep of an op: its entries for an append, else 1.
fn op_units(op: &PersistOp) -> u64 {
    match op {
        PersistOp::Append(entries) => entries.len() as u64,
        _ => 1,
    }
}

fn client_facing(e: &TraceEvent) -> bool {
    use TraceEvent::*;
    matches!(
        e,
        ClientReply { .. }
            | ClientConnected { .. }
            | WatchFired { .. }
            | SessionEnded { .. }
            | SessionExpiring { .. }
            | ContainerReaped { .. }
    )
}

/// One readable line for the protocol steps a person wants to follow (not every message);
/// also used by the Tabs mode of the UI, which narrates a real tab peer's trace the same way.
pub fn narrate(e: &TraceEvent) -> Option<String> {
    use TraceEvent::*;
    Some(match e {
        RoleChanged { sid, to, leader, .. } => {
            format!("{sid} is {to}{}", leader.map_or(String::new(), |l| format!(" (leader {l})")))
        }
        ElectionDecided { sid, round, leader, .. } => format!("{sid} decides in round {round}: leader is {leader}"),
        EpochProposed { sid, epoch } => format!("{sid} proposes epoch {epoch}"),
        SyncModeChosen { leader, learner, mode, learner_zxid, to } => {
            format!("{leader} syncs {learner} by {mode:?} (learner at {learner_zxid}, from {to})")
        }
        EpochEstablished { sid, epoch, committed } => {
            format!("{sid} established epoch {epoch}, committed up to {committed}")
        }
        Proposed { sid, zxid, op } => format!("{sid} proposes {zxid}: {op}"),
        QuorumReached { leader, zxid } => format!("{leader} has a quorum of acks for {zxid}: commit"),
        Truncated { sid, to } => format!("{sid} truncates its log after {to}"),
        SnapshotInstalled { sid, zxid } => format!("{sid} installs a snapshot at {zxid}"),
        Abdicated { sid, because } => format!("{sid} abdicates: {because} is ahead"),
        Timeout { sid, kind } => format!("{sid} timeout: {kind:?}"),
        ClientReply { sid, session, xid, result, .. } => format!("{sid} answers {session}#{xid}: {result}"),
        ClientConnected { sid, result, .. } => format!("{sid} connects a client: {result}"),
        WatchFired { sid, session, event, .. } => format!("{sid} notifies {session}: {event}"),
        SessionEnded { sid, session, expired } => {
            format!(
                "{sid} closes the connection of {session} ({})",
                if *expired { "session expired" } else { "session closed" }
            )
        }
        SessionExpiring { leader, session } => format!("{leader} expires session {session}"),
        ContainerReaped { leader, path } => format!("{leader} reaps {path}"),
        _ => return None,
    })
}
