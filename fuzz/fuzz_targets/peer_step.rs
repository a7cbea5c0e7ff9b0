//! `Peer::step` (the sans-IO core) fed arbitrary input sequences: messages from the other
//! members (structured, so they reach deep states, or postcard bytes as the peer wire
//! would carry them), connections, timers, durability, clients. Peer 1 of three voters and
//! an observer; every persist op is applied to a model disk when made durable.
//!
//! Checked after every step, as the simulator checks them where one peer alone can break
//! them: no panic; on disk accepted_epoch >= current_epoch, epochs never go back, the
//! state validates (`PersistedState::validate`); applied zxids strictly increase
//! (LocalPrimaryOrder; a snapshot install restarts from its zxid); with nothing pending,
//! memory and disk hold the same history (ProcessConsistency); committed <= last logged.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use zabra_core::config::{Config, Membership};
use zabra_core::log::Entry;
use zabra_core::message::{Envelope, Message, MsgId, ServerState, Snapshot, Vote};
use zabra_core::peer::{ClientOp, ClientRequest, ConnectRequest, Input, Now, Output, Peer};
use zabra_core::sim::process_consistency;
use zabra_core::storage::{PersistOp, PersistedState};
use zabra_core::trace::TraceEvent;
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{ConnId, Instant, SessionId, Sid, Token, Zxid};

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Z(u8, u8);

impl Z {
    fn zxid(self) -> Zxid {
        Zxid::new(u32::from(self.0 % 8), u32::from(self.1 % 16))
    }
}

#[derive(Arbitrary, Debug)]
enum Msg {
    Notification { state: u8, leader: u8, zxid: Z, peer_epoch: u8, round: u8 },
    FollowerInfo { accepted: u8, last: Z },
    ObserverInfo { accepted: u8, last: Z },
    LeaderInfo { epoch: u8 },
    AckEpoch { epoch: u8, current: u8, last: Z, counted: bool },
    Diff { epoch: u8, entries: Vec<(Z, u8)> },
    Trunc { epoch: u8, to: Z, entries: Vec<(Z, u8)> },
    Snap { epoch: u8, zxid: Z, entries: Vec<(Z, u8)> },
    NewLeader { epoch: u8, zxid: Z },
    AckNewLeader { epoch: u8 },
    UpToDate { epoch: u8, committed: Z },
    Proposal { epoch: u8, entry: (Z, u8) },
    Ack { epoch: u8, zxid: Z },
    Commit { epoch: u8, zxid: Z },
    Inform { epoch: u8, entry: (Z, u8) },
    Ping { epoch: u8, round: u8 },
    PingAck { epoch: u8, round: u8, sessions: Vec<u8> },
    Request { epoch: u8, session: u8, xid: u8, node: u8 },
    Sync { epoch: u8, session: u8, xid: u8 },
    SyncReply { epoch: u8, session: u8, xid: u8, zxid: Z },
}

#[derive(Arbitrary, Debug)]
enum Act {
    /// Milliseconds pass; the peer gets `Timeout` if its deadline came.
    Tick(u16),
    /// The oldest `n` pending persist ops become durable.
    Persist(u8),
    Connected(u8),
    Disconnected(u8),
    Msg {
        from: u8,
        seq: u8,
        msg: Msg,
    },
    /// An envelope as the peer wire decodes it from bytes.
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    ClientConnect {
        conn: u8,
        reattach: Option<u8>,
        timeout: u16,
    },
    ClientClosed(u8),
    Client {
        session: u8,
        xid: u8,
        node: u8,
        write: bool,
    },
}

fn epoch(e: u8) -> u32 {
    u32::from(e % 8)
}

fn sid(s: u8) -> Sid {
    Sid(u64::from(s % 6))
}

fn session(s: u8) -> SessionId {
    SessionId(u64::from(s % 4))
}

fn entry((z, node): (Z, u8)) -> Entry {
    let op = Op::create(&format!("/n{}", node % 8), &[node], CreateMode::Persistent);
    Entry { zxid: z.zxid(), txn: Txn { session: SessionId(0), time_ms: 0, auth: Vec::new(), op }.into(), origin: None }
}

fn entries(v: Vec<(Z, u8)>) -> Vec<Entry> {
    v.into_iter().take(32).map(entry).collect()
}

fn message(m: Msg) -> Message {
    match m {
        Msg::Notification { state, leader, zxid, peer_epoch, round } => {
            let state = [ServerState::Looking, ServerState::Following, ServerState::Leading, ServerState::Observing]
                [usize::from(state % 4)];
            let vote = Vote { leader: sid(leader), zxid: zxid.zxid(), peer_epoch: epoch(peer_epoch) };
            Message::Notification { state, vote, round: u64::from(round % 8) }
        }
        Msg::FollowerInfo { accepted, last } => {
            Message::FollowerInfo { accepted_epoch: epoch(accepted), last_zxid: last.zxid() }
        }
        Msg::ObserverInfo { accepted, last } => {
            Message::ObserverInfo { accepted_epoch: epoch(accepted), last_zxid: last.zxid() }
        }
        Msg::LeaderInfo { epoch: e } => Message::LeaderInfo { epoch: epoch(e) },
        Msg::AckEpoch { epoch: e, current, last, counted } => {
            Message::AckEpoch { epoch: epoch(e), current_epoch: epoch(current), last_zxid: last.zxid(), counted }
        }
        Msg::Diff { epoch: e, entries: v } => Message::Diff { epoch: epoch(e), entries: entries(v) },
        Msg::Trunc { epoch: e, to, entries: v } => {
            Message::Trunc { epoch: epoch(e), to: to.zxid(), entries: entries(v) }
        }
        Msg::Snap { epoch: e, zxid, entries: v } => {
            let snapshot = Box::new(Snapshot { zxid: zxid.zxid(), tree: Default::default() });
            Message::Snap { epoch: epoch(e), snapshot, entries: entries(v) }
        }
        Msg::NewLeader { epoch: e, zxid } => Message::NewLeader { epoch: epoch(e), zxid: zxid.zxid() },
        Msg::AckNewLeader { epoch: e } => Message::AckNewLeader { epoch: epoch(e) },
        Msg::UpToDate { epoch: e, committed } => Message::UpToDate { epoch: epoch(e), committed: committed.zxid() },
        Msg::Proposal { epoch: e, entry: en } => Message::Proposal { epoch: epoch(e), entry: entry(en) },
        Msg::Ack { epoch: e, zxid } => Message::Ack { epoch: epoch(e), zxid: zxid.zxid() },
        Msg::Commit { epoch: e, zxid } => Message::Commit { epoch: epoch(e), zxid: zxid.zxid() },
        Msg::Inform { epoch: e, entry: en } => Message::Inform { epoch: epoch(e), entry: entry(en) },
        Msg::Ping { epoch: e, round } => Message::Ping { epoch: epoch(e), round: u64::from(round) },
        Msg::PingAck { epoch: e, round, sessions } => Message::PingAck {
            epoch: epoch(e),
            round: u64::from(round),
            sessions: sessions.into_iter().take(8).map(session).collect(),
        },
        Msg::Request { epoch: e, session: s, xid, node } => Message::Request {
            epoch: epoch(e),
            session: session(s),
            xid: i64::from(xid),
            op: Op::create(&format!("/r{}", node % 8), b"r", CreateMode::Persistent),
            auth: Vec::new(),
        },
        Msg::Sync { epoch: e, session: s, xid } => {
            Message::Sync { epoch: epoch(e), session: session(s), xid: i64::from(xid) }
        }
        Msg::SyncReply { epoch: e, session: s, xid, zxid } => {
            Message::SyncReply { epoch: epoch(e), session: session(s), xid: i64::from(xid), zxid: zxid.zxid() }
        }
    }
}

/// The peer under test, its model disk and what the checks remember.
struct Harness {
    peer: Peer,
    now: u64,
    pending: VecDeque<(Token, PersistOp)>,
    disk: PersistedState,
    epochs: (u32, u32),
    applied: Zxid,
    sessions: Vec<SessionId>,
}

impl Harness {
    fn step(&mut self, input: Input) {
        let now = Now { instant: Instant(self.now * 1000), wall_ms: 1_700_000_000_000 + self.now };
        let out = self.peer.step(now, input);
        self.take(out);
    }

    fn take(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Persist { token, op } => self.pending.push_back((token, op)),
                Output::Connected { result: Ok(g), .. } => self.sessions.push(g.session),
                Output::Trace(TraceEvent::Applied { zxid, .. }) => {
                    assert!(zxid > self.applied, "LocalPrimaryOrder: applied {zxid} after {}", self.applied);
                    self.applied = zxid;
                }
                Output::Trace(TraceEvent::SnapshotInstalled { zxid, .. }) => self.applied = zxid,
                _ => {}
            }
        }
    }

    fn persist(&mut self, n: u8) {
        let mut last = None;
        for _ in 0..n.max(1) {
            let Some((token, op)) = self.pending.pop_front() else { break };
            self.disk.apply_owned(op);
            last = Some(token);
        }
        if let Some(t) = last {
            self.step(Input::Persisted(t));
        }
    }

    fn check(&mut self) {
        let d = &self.disk;
        assert!(
            d.accepted_epoch >= d.current_epoch,
            "accepted {} < current {} on disk",
            d.accepted_epoch,
            d.current_epoch
        );
        assert!(d.accepted_epoch >= self.epochs.0 && d.current_epoch >= self.epochs.1, "epochs went back on disk");
        self.epochs = (d.accepted_epoch, d.current_epoch);
        if let Err(e) = d.validate() {
            panic!("the disk does not validate: {e}");
        }
        let status = self.peer.status();
        assert!(status.last_committed <= status.last_logged, "{status:?}");
        if self.pending.is_empty() {
            let mut v = Vec::new();
            process_consistency(self.peer.sid(), self.peer.log(), &self.disk, &mut v);
            assert!(v.is_empty(), "{v:?}");
        }
    }
}

fuzz_target!(|acts: Vec<Act>| {
    let mut cfg = Config::new(Sid(1), Membership::numbered(3, 1));
    cfg.seed = 7;
    let mut peer = Peer::new(cfg, Now::default()).expect("a valid config");
    let first = peer.take_outputs();
    let mut h = Harness {
        peer,
        now: 0,
        pending: VecDeque::new(),
        disk: PersistedState::default(),
        epochs: (0, 0),
        applied: Zxid::ZERO,
        sessions: Vec::new(),
    };
    h.take(first);
    for act in acts.into_iter().take(256) {
        match act {
            Act::Tick(ms) => {
                h.now += u64::from(ms);
                if h.peer.next_deadline().is_some_and(|d| d.0 <= h.now * 1000) {
                    h.step(Input::Timeout);
                }
            }
            Act::Persist(n) => h.persist(n),
            Act::Connected(s) => h.step(Input::Connected { peer: sid(s) }),
            Act::Disconnected(s) => h.step(Input::Disconnected { peer: sid(s) }),
            Act::Msg { from, seq, msg } => {
                let env = Envelope { id: MsgId { from: sid(from), seq: u64::from(seq) }, msg: message(msg) };
                h.step(Input::Receive { from: sid(from), env });
            }
            Act::Raw { from, bytes } => {
                if let Ok(env) = zabra_peerwire::decode(&bytes) {
                    h.step(Input::Receive { from: sid(from), env });
                }
            }
            Act::ClientConnect { conn, reattach, timeout } => {
                let session = reattach.map(|i| {
                    (
                        h.sessions.get(usize::from(i) % h.sessions.len().max(1)).copied().unwrap_or(SessionId(9)),
                        vec![0; 16],
                    )
                });
                let req = ConnectRequest {
                    session,
                    timeout_ms: u32::from(timeout),
                    last_zxid_seen: Zxid::ZERO,
                    addr: None,
                    fresh_password: Some(vec![1; 16]),
                };
                h.step(Input::ClientConnected { conn: ConnId(u64::from(conn % 4)), req });
            }
            Act::ClientClosed(conn) => h.step(Input::ClientClosed { conn: ConnId(u64::from(conn % 4)) }),
            Act::Client { session: s, xid, node, write } => {
                let session = h
                    .sessions
                    .get(usize::from(s) % h.sessions.len().max(1))
                    .copied()
                    .unwrap_or(SessionId(u64::from(s)));
                let path = format!("/c{}", node % 8);
                let op = if write {
                    ClientOp::Write(Op::create(&path, b"c", CreateMode::Ephemeral))
                } else {
                    ClientOp::GetData { path, watch: true }
                };
                h.step(Input::Client(ClientRequest { session, xid: i64::from(xid), op }));
            }
        }
        h.check();
    }
});
