//! The leader's proposal/ack/commit path, with the peers driven by hand (no simulator, no
//! network delay, every fsync instant):
//! - `leader_only`: the leader alone; one client write, then the followers' Acks fed by hand
//!   and its Commits collected;
//! - `cluster/N`: leader and two followers stepped by a tiny router that delivers every message
//!   at once and makes each peer's writes durable once its queue is empty (a group commit per
//!   burst): N writes submitted together, the cost per write of the whole cluster's cores.

use criterion::{Criterion, Throughput};
use std::collections::{BTreeMap, VecDeque};
use zabra_core::config::{Config, Membership};
use zabra_core::message::{Envelope, Message, MsgId, ServerState};
use zabra_core::peer::{ClientOp, ClientRequest, ConnectRequest, Input, Now, Output, Peer};
use zabra_core::txn::{CreateMode, Op};
use zabra_core::{ConnId, Instant, SessionId, Sid, Token, Zxid};

const VALUE: [u8; 100] = [7; 100];
const LEADER: Sid = Sid(1);

/// Three peers and the messages and writes between them.
struct Cluster {
    peers: BTreeMap<Sid, Peer>,
    now: Now,
    wire: VecDeque<(Sid, Sid, Envelope)>,
    /// Each peer's last write not yet reported durable.
    unsynced: BTreeMap<Sid, Token>,
    replies: u64,
    /// Acks and Commits sent, for the figures printed beside the timings.
    acks_sent: u64,
    commits_sent: u64,
    session: SessionId,
    xid: i64,
    created: u64,
}

impl Cluster {
    fn new() -> Cluster {
        let now = Now { instant: Instant(1_000), wall_ms: 1_700_000_000_000 };
        let mut peers = BTreeMap::new();
        for s in 1..=3 {
            let mut cfg = Config::new(Sid(s), Membership::numbered(3, 0));
            cfg.election_oracle = true;
            cfg.trace_details = false;
            let mut p = Peer::new(cfg, now).expect("valid config");
            p.take_outputs();
            peers.insert(Sid(s), p);
        }
        let mut c = Cluster {
            peers,
            now,
            wire: VecDeque::new(),
            unsynced: BTreeMap::new(),
            replies: 0,
            acks_sent: 0,
            commits_sent: 0,
            session: SessionId(0),
            xid: 0,
            created: 0,
        };
        for a in 1..=3 {
            for b in (1..=3).filter(|b| *b != a) {
                c.step(Sid(a), Input::Connected { peer: Sid(b) });
            }
        }
        for s in 1..=3 {
            c.step(Sid(s), Input::Elect { leader: LEADER });
        }
        c.settle();
        for s in 1..=3 {
            let st = c.peers[&Sid(s)].status();
            assert_eq!(st.phase, zabra_core::peer::Phase::Broadcast, "peer {s}: {st:?}");
        }
        assert_eq!(c.peers[&LEADER].status().state, ServerState::Leading);
        c.connect_client();
        c
    }

    fn connect_client(&mut self) {
        let req = ConnectRequest {
            session: None,
            timeout_ms: 30_000,
            last_zxid_seen: Zxid::ZERO,
            addr: None,
            fresh_password: Some(vec![1; 16]),
        };
        let outs = self.step_raw(LEADER, Input::ClientConnected { conn: ConnId(1), req });
        self.route(LEADER, outs);
        self.settle();
        assert_ne!(self.session, SessionId(0), "the session was granted");
    }

    fn step_raw(&mut self, sid: Sid, input: Input) -> Vec<Output> {
        self.now.instant = Instant(self.now.instant.0 + 1);
        self.peers.get_mut(&sid).expect("a peer").step(self.now, input)
    }

    fn step(&mut self, sid: Sid, input: Input) {
        let outs = self.step_raw(sid, input);
        self.route(sid, outs);
    }

    fn route(&mut self, from: Sid, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send { to, env } => {
                    match env.msg {
                        Message::Commit { .. } => self.commits_sent += 1,
                        Message::Ack { .. } => self.acks_sent += 1,
                        _ => {}
                    }
                    self.wire.push_back((from, to, env));
                }
                Output::Persist { token, .. } => {
                    self.unsynced.insert(from, token);
                }
                Output::Reply(_) => self.replies += 1,
                Output::Connected { result: Ok(g), .. } => self.session = g.session,
                _ => {}
            }
        }
    }

    /// Deliver everything, then make every peer's writes durable; until nothing moves.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            while let Some((from, to, env)) = self.wire.pop_front() {
                self.step(to, Input::Receive { from, env });
            }
            if self.unsynced.is_empty() {
                return;
            }
            for (sid, t) in std::mem::take(&mut self.unsynced) {
                self.step(sid, Input::Persisted(t));
            }
        }
        panic!("the cluster does not settle");
    }

    fn create(&mut self) -> ClientRequest {
        self.xid += 1;
        self.created += 1;
        let op = Op::create(&format!("/n{:09}", self.created), &VALUE, CreateMode::Persistent);
        ClientRequest { session: self.session, xid: self.xid, op: ClientOp::Write(op) }
    }

    /// `n` creates submitted at once at the leader, until all are answered.
    fn writes(&mut self, n: u64) {
        let before = self.replies;
        for _ in 0..n {
            let req = self.create();
            self.step(LEADER, Input::Client(req));
        }
        self.settle();
        assert_eq!(self.replies - before, n, "every write answered");
    }

    /// The leader alone: one write, its own write durable, then one Ack from each follower
    /// (built by hand), the Commits it sends dropped.
    fn leader_write(&mut self) {
        let req = self.create();
        let outs = self.step_raw(LEADER, Input::Client(req));
        let mut zxid = None;
        let mut token = None;
        for o in outs {
            match o {
                Output::Send { env: Envelope { msg: Message::Proposal { entry, .. }, .. }, .. } => {
                    zxid = Some(entry.zxid)
                }
                Output::Persist { token: t, .. } => token = Some(t),
                _ => {}
            }
        }
        let (zxid, token) = (zxid.expect("proposed"), token.expect("logged"));
        let leader = self.peers.get_mut(&LEADER).expect("leader");
        std::hint::black_box(leader.step(self.now, Input::Persisted(token)));
        for f in [Sid(2), Sid(3)] {
            self.xid += 1;
            let env =
                Envelope { id: MsgId { from: f, seq: self.xid as u64 }, msg: Message::Ack { epoch: zxid.epoch, zxid } };
            let outs = leader.step(self.now, Input::Receive { from: f, env });
            std::hint::black_box(outs);
        }
    }
}

pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("leader");
    g.sample_size(50);
    g.throughput(Throughput::Elements(1));
    let mut cl = Cluster::new();
    g.bench_function("leader_only_write", |b| b.iter(|| cl.leader_write()));
    for n in [1u64, 64] {
        let mut cl = Cluster::new();
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("cluster3_writes_x{n}"), |b| b.iter(|| cl.writes(n)));
        let w = cl.created as f64;
        let (acks, commits) = (cl.acks_sent as f64 / w, cl.commits_sent as f64 / w);
        println!("cluster3_writes_x{n}: per write {acks:.2} Acks and {commits:.2} Commits sent");
    }
    g.finish();
}
