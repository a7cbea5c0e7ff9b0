//! The ZAB peer as a value: inputs in, outputs out.
//!
//! ```text
//!            Input                                         Output
//!  Timeout, Receive{from,env}, Connected,        Send{to,env}, Disconnect{peer},
//!  Disconnected, Client(request),       ──►  Peer  ──►  Persist{token,op}, Reply(..),
//!  Persisted(token)                   step(now, in)     Trace(event)
//! ```
//!
//! Contract with the driver (the simulator, the native node, the browser tab):
//! - call [`Peer::step`] with a monotonic `now`; call it with `Input::Timeout` once `now`
//!   reaches [`Peer::next_deadline`];
//! - perform `Output`s in order. `Persist` ops are made durable in order and reported with
//!   `Input::Persisted(token)`, meaning every op up to that token is durable;
//! - `Send` goes over the one FIFO connection to `to`, or is dropped if there is none;
//!   `Disconnect` breaks that connection (both ends then see `Disconnected`).
//!
//! "Only after" rules, enforced here rather than by the driver: a follower's `Ack` leaves only
//! after its log write is durable (one cumulative Ack per input, for the highest proposal it
//! made durable); `AckEpoch` (counted or not) only after accepted_epoch and
//! every earlier write are durable;
//! `AckNewLeader` only after the synced history and current_epoch are durable; the leader
//! counts itself for a proposal only after its own write is durable.

mod checkpoint;
mod client;
mod election;
mod leader;
mod learner;
mod privacy;
mod report;
mod session;

pub use client::{ClientOp, ClientRequest, ClientResult, Reply};
pub use report::{LeaderReport, LearnerReport};
pub use session::{ConnectRequest, SessionGrant, CONNECT_XID};

use crate::config::{Config, ConfigError, Mutant};
use crate::datatree::DataTree;
use crate::ids::{ConnId, SessionId, Sid, Token};
use crate::log::Log;
use crate::message::{Envelope, Message, MsgId, ServerState, Snapshot, Vote};
use crate::rng::SplitMix64;
use crate::storage::{PersistOp, PersistedState};
use crate::time::Instant;
use crate::trace::{LookingReason, TraceEvent};
use crate::txn::ErrorCode;
use crate::watch::{WatchedEvent, Watches};
use crate::zxid::{Epoch, Zxid};
use election::Election;
use leader::Leader;
use learner::Learner;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Time as the driver sees it: monotonic microseconds and wall-clock milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Now {
    pub instant: Instant,
    pub wall_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// `now` reached `next_deadline()`.
    Timeout,
    Receive {
        from: Sid,
        env: Envelope,
    },
    Connected {
        peer: Sid,
    },
    Disconnected {
        peer: Sid,
    },
    /// A client connection sent its ConnectRequest (§4.1).
    ClientConnected {
        conn: ConnId,
        req: ConnectRequest,
    },
    /// A client connection closed (its session lives on until it expires or reattaches).
    ClientClosed {
        conn: ConnId,
    },
    Client(ClientRequest),
    /// Every persist op up to and including this token is durable.
    Persisted(Token),
    /// Test-only election oracle: end the current election with `leader` (any voter),
    /// ignored unless `Config::election_oracle` is set and the peer is LOOKING.
    Elect {
        leader: Sid,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    Send {
        to: Sid,
        env: Envelope,
    },
    Disconnect {
        peer: Sid,
    },
    Persist {
        token: Token,
        op: PersistOp,
    },
    Reply(Reply),
    /// The answer to `ClientConnected`. `Err(SessionExpired)`: send the invalid-session
    /// response and close; `Err(ConnectionLoss)`: close without a response (§4.3).
    Connected {
        conn: ConnId,
        result: Result<SessionGrant, ErrorCode>,
    },
    /// Close this client connection (session ended, replaced by a reattach, or service lost).
    CloseClient {
        conn: ConnId,
    },
    /// A watch notification for a session connected here; `zxid` is the change's.
    Watch {
        session: SessionId,
        zxid: Zxid,
        event: WatchedEvent,
    },
    Trace(TraceEvent),
}

/// Where a peer is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// A snapshot of a peer's externally visible state (for drivers, checkers and the UI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub sid: Sid,
    pub state: ServerState,
    pub phase: Phase,
    pub leader: Option<Sid>,
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    pub last_logged: Zxid,
    pub last_committed: Zxid,
    pub round: u64,
    pub vote: Option<Vote>,
    pub digest: u64,
    pub serving: bool,
}

/// Roles carry their own data; phases live inside them.
#[derive(Debug)]
pub(crate) enum Role {
    Looking(Election),
    Following(Learner),
    Observing(Learner),
    Leading(Box<Leader>),
}

/// Work that may run only once a persist token is durable.
#[derive(Clone, Debug)]
pub(crate) enum AfterDurable {
    Send {
        to: Sid,
        msg: Message,
    },
    LeaderSelfAck(Zxid),
    /// A follower's proposal is durable: acked (cumulatively) at the end of the input.
    LearnerAck(Zxid),
    LeaderAcceptedEpoch,
    LeaderCurrentEpoch,
    LearnerSynced,
}

#[derive(Debug)]
struct Deferred {
    token: Token,
    /// Role generation when queued: work for a role the peer has left is dropped.
    gen: u64,
    action: AfterDurable,
}

pub struct Peer {
    pub(crate) cfg: Config,
    pub(crate) rng: SplitMix64,
    pub(crate) now: Now,
    pub(crate) accepted_epoch: Epoch,
    pub(crate) current_epoch: Epoch,
    pub(crate) log: Log,
    pub(crate) tree: DataTree,
    pub(crate) last_committed: Zxid,
    pub(crate) logical_clock: u64,
    pub(crate) role: Role,
    pub(crate) gen: u64,
    next_token: u64,
    durable: Token,
    deferred: VecDeque<Deferred>,
    pub(crate) connected: BTreeSet<Sid>,
    seq: BTreeMap<Sid, u64>,
    pub(crate) clients: client::Clients,
    pub(crate) sessions: session::Sessions,
    pub(crate) watches: Watches,
    /// FollowerInfo/ObserverInfo that arrived while we were still LOOKING: a learner may
    /// decide before its leader does (ZooKeeper's learner keeps retrying its connection).
    early_infos: BTreeMap<Sid, Message>,
    checkpoints: checkpoint::CheckpointSchedule,
    out: Vec<Output>,
}

impl Peer {
    /// A fresh peer with empty storage.
    pub fn new(cfg: Config, now: Now) -> Result<Peer, ConfigError> {
        Peer::restore(cfg, PersistedState::default(), now)
    }

    /// A peer restarting from what its storage holds. Uncommitted tail entries are kept as
    /// history; nothing is applied beyond the snapshot until a leader says it is committed.
    pub fn restore(cfg: Config, state: PersistedState, now: Now) -> Result<Peer, ConfigError> {
        cfg.validate()?;
        state.validate().map_err(ConfigError)?;
        // An entry is logged only after its epoch was promised (LeaderInfo before Diff and
        // proposals): a newer one means a broken store, and leading from it would propose
        // zxids below its own history.
        if state.log.windows(2).any(|w| w[0].zxid >= w[1].zxid) {
            return Err(ConfigError("the log's zxids do not increase".to_string()));
        }
        if state.last_zxid().epoch > state.accepted_epoch {
            let (last, accepted) = (state.last_zxid(), state.accepted_epoch);
            return Err(ConfigError(format!("the history ends at {last}, after accepted epoch {accepted}")));
        }
        let (tree, base) = match &state.snapshot {
            Some(s) => (s.tree.clone(), s.zxid),
            None => (DataTree::new(), Zxid::ZERO),
        };
        let checkpoints = checkpoint::CheckpointSchedule::new(cfg.snapshot_every, cfg.seed ^ cfg.sid.0.rotate_left(29));
        let mut p = Peer {
            rng: SplitMix64::new(cfg.seed ^ cfg.sid.0.rotate_left(17) ^ now.instant.0),
            cfg,
            now,
            accepted_epoch: state.accepted_epoch,
            current_epoch: state.current_epoch,
            log: state.into_history(),
            tree,
            last_committed: base,
            logical_clock: 0,
            role: Role::Looking(Election::placeholder()),
            gen: 0,
            next_token: 0,
            durable: Token(0),
            deferred: VecDeque::new(),
            connected: BTreeSet::new(),
            seq: BTreeMap::new(),
            clients: client::Clients::default(),
            sessions: session::Sessions::default(),
            watches: Watches::default(),
            early_infos: BTreeMap::new(),
            checkpoints,
            out: Vec::new(),
        };
        p.trace(TraceEvent::Started {
            sid: p.cfg.sid,
            at: now.instant,
            accepted_epoch: p.accepted_epoch,
            current_epoch: p.current_epoch,
            last_zxid: p.log.last_zxid(),
            committed: p.last_committed,
        });
        p.become_looking(LookingReason::Started);
        Ok(p)
    }

    pub fn sid(&self) -> Sid {
        self.cfg.sid
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Turns the readable trace texts, and the `Applied` events, on or off from the next input
    /// (see [`Config::trace_details`] and [`Config::trace_applied`]): a driver fills them only
    /// while someone reads them, since building them is much of a request's cost.
    pub fn set_trace_details(&mut self, on: bool) {
        self.cfg.trace_details = on;
        self.cfg.trace_applied = on;
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Outputs produced by construction (the first election round).
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Feed one input; get every output it causes, in the order the driver must perform them.
    pub fn step(&mut self, now: Now, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.step_into(now, input, &mut out);
        out
    }

    /// `step`, appending the outputs to `out`: a driver that keeps one buffer across steps
    /// allocates none per step (a fresh Vec regrew to kilobytes under load, and glibc answers
    /// requests over 1 KiB by consolidating its free lists: `malloc_consolidate` was 4% of a
    /// node's profile, part of it from here).
    pub fn step_into(&mut self, now: Now, input: Input, out: &mut Vec<Output>) {
        std::mem::swap(&mut self.out, out);
        self.out.append(out);
        if now.instant > self.now.instant {
            self.now = now;
        }
        match input {
            Input::Timeout => self.on_timeout(),
            Input::Receive { from, env } => self.on_receive(from, env),
            Input::Connected { peer } => self.on_connected(peer),
            Input::Disconnected { peer } => self.on_disconnected(peer),
            Input::Client(req) => self.on_client(req),
            Input::ClientConnected { conn, req } => self.on_client_connected(conn, req),
            Input::ClientClosed { conn } => self.on_client_closed(conn),
            Input::Persisted(t) => self.on_persisted(t),
            Input::Elect { leader } => self.on_elect(leader),
        }
        self.admit_waiting_connects();
        self.count_durable_appends();
        std::mem::swap(&mut self.out, out);
    }

    /// Appends made durable during this input count once, as one cumulative ack: a
    /// follower's Ack to its leader, a leader's count of itself.
    fn count_durable_appends(&mut self) {
        match &self.role {
            Role::Leading(_) => self.leader_count_self(),
            Role::Following(_) => self.learner_send_ack(),
            Role::Observing(_) | Role::Looking(_) => {}
        }
    }

    /// The earliest instant at which the peer wants `Input::Timeout`.
    pub fn next_deadline(&self) -> Option<Instant> {
        let role = match &self.role {
            Role::Looking(e) => e.deadline(),
            Role::Following(l) | Role::Observing(l) => l.deadline(&self.cfg),
            Role::Leading(l) => l.deadline(&self.cfg),
        };
        Some(self.waiting_connects_deadline().map_or(role, |w| w.min(role)))
    }

    pub fn status(&self) -> Status {
        let (state, phase, leader, vote) = match &self.role {
            Role::Looking(e) => (ServerState::Looking, Phase::Election, None, Some(e.proposal)),
            Role::Following(l) => (ServerState::Following, l.phase(), Some(l.leader), None),
            Role::Observing(l) => (ServerState::Observing, l.phase(), Some(l.leader), None),
            Role::Leading(l) => (ServerState::Leading, l.phase(), Some(self.cfg.sid), None),
        };
        Status {
            sid: self.cfg.sid,
            state,
            phase,
            leader,
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_logged: self.log.last_zxid(),
            last_committed: self.last_committed,
            round: self.logical_clock,
            vote,
            digest: self.tree.digest(),
            serving: self.serving(),
        }
    }

    pub(crate) fn state(&self) -> ServerState {
        match &self.role {
            Role::Looking(_) => ServerState::Looking,
            Role::Following(_) => ServerState::Following,
            Role::Observing(_) => ServerState::Observing,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    pub(crate) fn mutant(&self, m: Mutant) -> bool {
        self.cfg.mutant(m)
    }

    pub(crate) fn is_voter(&self, sid: Sid) -> bool {
        self.cfg.members.is_voter(sid)
    }

    /// Strict majority of the voters.
    pub(crate) fn quorum_size(&self) -> usize {
        crate::quorum::majority(self.cfg.members.voters.len())
    }

    pub(crate) fn is_quorum<'a>(&self, sids: impl IntoIterator<Item = &'a Sid>) -> bool {
        crate::quorum::is_majority(&self.cfg.members.voters, sids)
    }

    // ---- outputs -------------------------------------------------------------------------

    pub(crate) fn trace(&mut self, e: TraceEvent) {
        self.out.push(Output::Trace(e));
    }

    pub(crate) fn send(&mut self, to: Sid, msg: Message) {
        if to == self.cfg.sid || !self.connected.contains(&to) {
            return;
        }
        let seq = self.seq.entry(to).or_insert(0);
        *seq += 1;
        let id = MsgId { from: self.cfg.sid, seq: *seq };
        let detail = self.detail(|| crate::describe::message_shown(&msg, &|p| self.world_readable(p)));
        self.trace(TraceEvent::MsgSent { id, from: self.cfg.sid, to, kind: msg.kind(), detail });
        self.out.push(Output::Send { to, env: Envelope { id, msg } });
    }

    pub(crate) fn disconnect(&mut self, peer: Sid) {
        self.out.push(Output::Disconnect { peer });
    }

    pub(crate) fn persist(&mut self, op: PersistOp) -> Token {
        self.next_token += 1;
        let token = Token(self.next_token);
        let what = self.detail(|| crate::describe::persist_op(&op));
        self.trace(TraceEvent::PersistStarted { sid: self.cfg.sid, token, op: what });
        self.out.push(Output::Persist { token, op });
        token
    }

    /// The token of the last persist issued: once it is durable, every write so far is.
    pub(crate) fn last_token(&self) -> Token {
        Token(self.next_token)
    }

    /// True while a persist issued is not yet durable.
    pub(crate) fn writes_in_flight(&self) -> bool {
        self.durable < self.last_token()
    }

    /// Run `action` once `token` is durable (at once if it already is).
    pub(crate) fn after(&mut self, token: Token, action: AfterDurable) {
        if token <= self.durable {
            self.run_deferred(action);
        } else {
            self.deferred.push_back(Deferred { token, gen: self.gen, action });
        }
    }

    fn on_persisted(&mut self, t: Token) {
        if t <= self.durable {
            return;
        }
        self.durable = t;
        self.trace(TraceEvent::PersistDone { sid: self.cfg.sid, token: t });
        if let Role::Following(l) | Role::Observing(l) = &mut self.role {
            l.disk_progress(self.now.instant);
        }
        while self.deferred.front().is_some_and(|d| d.token <= t) {
            let d = self.deferred.pop_front().expect("front exists");
            if d.gen == self.gen {
                self.run_deferred(d.action);
            }
        }
    }

    fn run_deferred(&mut self, action: AfterDurable) {
        match action {
            AfterDurable::Send { to, msg } => self.send(to, msg),
            AfterDurable::LeaderSelfAck(z) => self.leader_self_ack(z),
            AfterDurable::LearnerAck(z) => self.learner_ack_due(z),
            AfterDurable::LeaderAcceptedEpoch => self.leader_accepted_epoch_durable(),
            AfterDurable::LeaderCurrentEpoch => self.leader_current_epoch_durable(),
            AfterDurable::LearnerSynced => self.learner_synced_durable(),
        }
    }

    // ---- inputs --------------------------------------------------------------------------

    fn on_receive(&mut self, from: Sid, env: Envelope) {
        if !self.cfg.members.contains(from) {
            self.anomaly(format!("message from non-member {from}"));
            return;
        }
        self.trace(TraceEvent::MsgDelivered { id: env.id, from, to: self.cfg.sid, kind: env.msg.kind() });
        if let Message::Notification { state, vote, round } = env.msg {
            self.on_notification(from, state, vote, round);
            return;
        }
        match &self.role {
            Role::Looking(_) if matches!(env.msg, Message::FollowerInfo { .. } | Message::ObserverInfo { .. }) => {
                self.early_infos.insert(from, env.msg);
            }
            Role::Looking(_) => self.anomaly(format!("{:?} while LOOKING", env.msg.kind())),
            Role::Following(_) | Role::Observing(_) => self.learner_receive(from, env.msg),
            Role::Leading(_) => self.leader_receive(from, env.msg),
        }
    }

    fn on_connected(&mut self, peer: Sid) {
        self.connected.insert(peer);
        self.trace(TraceEvent::Connection { sid: self.cfg.sid, peer, up: true });
        match &self.role {
            Role::Looking(_) => self.election_connected(peer),
            Role::Following(_) | Role::Observing(_) => self.learner_connected(peer),
            Role::Leading(_) => {}
        }
    }

    fn on_disconnected(&mut self, peer: Sid) {
        self.connected.remove(&peer);
        self.trace(TraceEvent::Connection { sid: self.cfg.sid, peer, up: false });
        match &self.role {
            Role::Looking(_) => {}
            Role::Following(l) | Role::Observing(l) => {
                if l.leader == peer {
                    self.become_looking(LookingReason::LeaderDisconnected { leader: peer });
                }
            }
            Role::Leading(_) => self.leader_lost_learner(peer, "connection closed"),
        }
    }

    fn on_timeout(&mut self) {
        match &self.role {
            Role::Looking(_) => self.election_timeout(),
            Role::Following(_) | Role::Observing(_) => self.learner_timeout(),
            Role::Leading(_) => self.leader_timeout(),
        }
    }

    /// A readable trace text, or nothing when this peer's trace details are off.
    pub(crate) fn detail(&self, f: impl FnOnce() -> String) -> String {
        if self.cfg.trace_details {
            f()
        } else {
            String::new()
        }
    }

    pub(crate) fn anomaly(&mut self, what: String) {
        self.trace(TraceEvent::Anomaly { sid: self.cfg.sid, what });
    }

    // ---- roles ---------------------------------------------------------------------------

    fn set_role(&mut self, role: Role, leader: Option<Sid>, reason: Option<LookingReason>) {
        if !matches!(role, Role::Leading(_)) {
            self.early_infos.clear();
        }
        let from = self.state();
        self.gen += 1;
        self.role = role;
        let to = self.state();
        self.trace(TraceEvent::RoleChanged { sid: self.cfg.sid, at: self.now.instant, from, to, leader, reason });
        self.clients_lost_service();
    }

    /// Starts a new election round, saying why (`RoleChanged.reason`).
    pub(crate) fn become_looking(&mut self, reason: LookingReason) {
        // Leaving a leader (or leadership) closes those connections, as ZooKeeper closes its
        // learner sockets: the other side notices at once instead of after the sync limit.
        let close: Vec<Sid> = match &self.role {
            Role::Following(l) | Role::Observing(l) => vec![l.leader],
            Role::Leading(l) => l.learner_sids(),
            Role::Looking(_) => Vec::new(),
        };
        for s in close {
            self.disconnect(s);
        }
        self.logical_clock += 1;
        let vote = self.own_vote();
        // Seeded jitter keeps peers that restarted together from resending in lockstep.
        let jitter = crate::time::Duration(self.rng.range(0, self.cfg.notify_min.as_micros() / 2));
        let e = Election::new(vote, self.now.instant + jitter, &self.cfg);
        self.set_role(Role::Looking(e), None, Some(reason));
        self.trace(TraceEvent::NewRound { sid: self.cfg.sid, round: self.logical_clock, vote });
        self.election_start();
    }

    pub(crate) fn become_following(&mut self, leader: Sid) {
        let l = Learner::new(leader, false, self.now.instant);
        self.set_role(Role::Following(l), Some(leader), None);
        self.learner_start();
    }

    pub(crate) fn become_observing(&mut self, leader: Sid) {
        let l = Learner::new(leader, true, self.now.instant);
        self.set_role(Role::Observing(l), Some(leader), None);
        self.learner_start();
    }

    pub(crate) fn become_leading(&mut self) {
        let l = Leader::new(self.now.instant);
        let early = std::mem::take(&mut self.early_infos);
        self.set_role(Role::Leading(Box::new(l)), Some(self.cfg.sid), None);
        self.leader_start();
        for (from, msg) in early {
            if self.connected.contains(&from) && matches!(self.role, Role::Leading(_)) {
                self.leader_receive(from, msg);
            }
        }
    }

    /// A peer's own vote: last logged zxid and current_epoch (never accepted_epoch).
    pub(crate) fn own_vote(&self) -> Vote {
        Vote { leader: self.cfg.sid, zxid: self.log.last_zxid(), peer_epoch: self.current_epoch }
    }

    // ---- history -------------------------------------------------------------------------

    /// Append to the in-memory history (the caller persists it).
    pub(crate) fn log_append(&mut self, e: crate::log::Entry) {
        let zxid = e.zxid;
        self.log.append(e);
        self.trace(TraceEvent::Logged { sid: self.cfg.sid, zxid });
    }

    /// Apply every logged entry up to `z` in order (ZAB delivers in zxid order).
    pub(crate) fn commit_to(&mut self, z: Zxid) {
        if z <= self.last_committed {
            return;
        }
        // The entry is read in place (the tree and the log are separate fields), not copied.
        while let Some(entry) = self.log.after(self.last_committed).first().filter(|e| e.zxid <= z) {
            let (zxid, origin, session) = (entry.zxid, entry.origin, entry.txn.session);
            let (result, changes) = self.tree.apply_with_changes(zxid, &entry.txn);
            let kind = session::SessionOp::of(&entry.txn.op);
            self.last_committed = zxid;
            if self.cfg.trace_applied {
                let applied = TraceEvent::Applied {
                    sid: self.cfg.sid,
                    zxid,
                    digest: self.tree.digest(),
                    path: entry.txn.op.path().to_string(),
                    session,
                    origin,
                    result: crate::describe::op_result(&result),
                    changes: changes.clone(),
                };
                self.trace(applied);
            }
            let mine = origin.filter(|o| o.sid == self.cfg.sid);
            // Watch events first: they must precede any reply that shows the change (§14.2).
            self.after_apply(zxid, session, kind, mine.is_some(), &result, &changes);
            if let Some(o) = mine {
                self.client_write_done(o.session, o.xid, result);
            }
            self.checkpoints.committed();
        }
        self.trace(TraceEvent::Committed { sid: self.cfg.sid, zxid: self.last_committed });
        self.clients_committed();
        self.maybe_checkpoint();
        self.trim_log();
    }

    /// Past `Config::log_retain` committed entries in memory, forget the oldest down to it
    /// (in steps, so the cost of moving the rest is spread over many commits).
    fn trim_log(&mut self) {
        let keep = self.cfg.log_retain;
        if keep == 0 {
            return;
        }
        let committed = self.log.len() - self.log.after(self.last_committed).len();
        if committed > keep + keep / 2 {
            let upto = self.log.entries()[committed - keep - 1].zxid;
            self.log.compact(upto);
        }
    }

    /// A checkpoint at a per-peer randomized interval (see `checkpoint.rs`). Cloning the tree
    /// is cheap (its maps share structure), so the driver can serialize it off the node task.
    fn maybe_checkpoint(&mut self) {
        if !self.checkpoints.take_due() {
            return;
        }
        let snap = Snapshot { zxid: self.last_committed, tree: self.tree.clone() };
        self.persist(PersistOp::Checkpoint(snap));
        self.log.compact(self.last_committed);
    }
}

#[cfg(test)]
mod connect_wait_tests;
#[cfg(test)]
mod serving_tests;
#[cfg(test)]
mod tests;
