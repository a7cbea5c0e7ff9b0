//! The sweep's wider fault model, drawn for each seed from a stream of its own, so a seed
//! replays exactly (`cargo xtask sim --seeds 1 --from S --nodes N`):
//!
//! - peers with timeouts of their own (tick, init and sync limits, as differing zoo.cfg files
//!   would give) and clocks that run faster or slower, so one peer notices a silent leader
//!   long after another, and a stale server keeps serving reads meanwhile;
//! - an election oracle that ends elections with any voter as leader (FLE is not what keeps
//!   ZAB safe: discovery is, so safety must hold whatever an election decides), often a peer
//!   that already leads, which makes would-be leaders of one epoch run side by side;
//! - learners that lose their leader's connection while still in discovery or sync (in the
//!   oracle's windows; also just before a LeaderInfo arrives, so that a second would-be
//!   leader can decide the same epoch), so they move between would-be leaders mid-way, and a
//!   learner that promised an epoch is sent to another would-be leader of that epoch;
//! - crashes that keep a random prefix of the writes not yet durable, and crash points in
//!   the middle of a TRUNC or SNAP armed on peers about to sync;
//! - a leader cut off alone (silently) with a client moved onto it: a stale leader that
//!   keeps serving its clients until it notices;
//! - workloads heavy in `sync` followed by a read.

use super::{CrashPoint, Sim};
use crate::ids::Sid;
use crate::message::ServerState;
use crate::peer::{ClientOp, Phase, Status};
use crate::rng::SplitMix64;
use crate::time::{Duration, Instant};
use std::collections::BTreeMap;

pub(super) struct FaultModel {
    rng: SplitMix64,
    /// Per mille, per 10 ms slice, that a looking peer's election is ended by the oracle.
    oracle_permille: u64,
    /// The oracle works in windows, and FLE alone in between (an oracle always on can split
    /// the votes of a whole seed among would-be leaders, so that nothing else gets tested):
    /// whether it is on, and until when.
    oracle_window: (bool, Instant),
    /// Per mille that a learner's connection breaks after each of its discovery and sync
    /// steps (`Sim::learner_breaks_permille`) while two peers lead.
    churn_permille: u64,
    skew: bool,
    torn: bool,
    /// Clients often send `sync` and then a read.
    pub sync_heavy: bool,
    /// A client moved onto a stale leader: it only syncs and reads (a write would hold up
    /// its session's later requests until the leader notices it is cut off).
    reader: Option<usize>,
    /// The peers cut off with the stale leader: the other clients are on the far side and
    /// reach only the rest.
    cut: Vec<Sid>,
    /// Whom each peer last followed (seen at a slice): a learner that promised an epoch to
    /// one would-be leader is sent to another of that epoch.
    followed: BTreeMap<Sid, Sid>,
    /// How long each peer takes to notice a silent leader or quorum (its sync timeout on
    /// the simulator's clock), in microseconds.
    notice_us: BTreeMap<Sid, u64>,
}

impl FaultModel {
    pub fn draw(seed: u64) -> FaultModel {
        let mut rng = SplitMix64::new(seed ^ 0xfa17_5eed_0dd5_0001);
        let oracle_permille = [0, 100, 300, 600][rng.index(4)];
        let churn_permille = if oracle_permille > 0 && rng.chance(1, 2) { 600 } else { 0 };
        let skew = rng.chance(2, 3);
        let torn = rng.chance(1, 2);
        let sync_heavy = rng.chance(1, 3);
        let notice_us = BTreeMap::new();
        FaultModel {
            rng,
            oracle_permille,
            oracle_window: (true, Instant(0)),
            churn_permille,
            skew,
            torn,
            sync_heavy,
            reader: None,
            cut: Vec::new(),
            notice_us,
            followed: BTreeMap::new(),
        }
    }

    /// Before the peers start: timings, clocks, storage and the oracle.
    pub fn setup(&mut self, sim: &mut Sim) {
        sim.torn_crashes = self.torn;
        sim.election_oracle = self.oracle_permille > 0;
        let default = crate::config::Config::new(Sid(1), crate::config::Membership::numbered(1, 0));
        for sid in sim.sids() {
            self.notice_us.insert(sid, default.sync_timeout().as_micros());
        }
        sim.note(format!(
            "fault model: oracle {}/1000, churn {}/1000, own timings {}, torn crashes {}, sync-heavy {}",
            self.oracle_permille, self.churn_permille, self.skew, self.torn, self.sync_heavy
        ));
        if !self.skew {
            return;
        }
        // Bounds keep a follower's sync timeout above two of its leader's ping intervals
        // (tick / 2) whatever the clocks: 70 ms x 2 / 1.25 = 112 ms > 150 / 2 / 0.8 + 10 ms.
        for sid in sim.sids() {
            if self.rng.chance(2, 3) {
                let tick = self.rng.range(70, 151);
                let init = self.rng.range(4, 21);
                let sync = if self.rng.chance(1, 2) { self.rng.range(2, 4) } else { self.rng.range(6, 15) };
                let rate = self.rng.range(800, 1251);
                sim.override_timing(sid, Some(tick), Some(init), Some(sync));
                sim.set_clock_rate(sid, rate);
                sim.note(format!("{sid}: tick {tick} ms, init limit {init}, sync limit {sync}, clock {rate}/1000"));
                self.notice_us.insert(sid, tick * sync * 1_000_000 / rate);
            }
        }
    }

    /// The chaos phase is over: no more targeted faults (the oracle stays quiet too).
    pub fn end(&mut self, sim: &mut Sim) {
        sim.learner_breaks_permille = 0;
        self.healed();
    }

    /// Every slice of the chaos phase.
    pub fn step(&mut self, sim: &mut Sim) {
        let on = self.oracle_permille > 0 && self.oracle_on(sim.now);
        if on {
            self.oracle(sim);
        }
        if self.churn_permille > 0 {
            self.churn(sim, on);
        }
        if !self.quiet() && self.rng.chance(1, 30) {
            self.arm_for_sync(sim);
        }
        self.keep_writers_away(sim);
    }

    /// While a stale leader serves its reader, the other clients are on the other side of
    /// the cut: they write to the new leader, so the reader's syncs have something to miss.
    fn keep_writers_away(&mut self, sim: &mut Sim) {
        let Some(reader) = self.reader else { return };
        let rest: Vec<Sid> = sim.sids().into_iter().filter(|s| !self.cut.contains(s)).collect();
        for c in 0..sim.clients.len() {
            if c == reader || !self.cut.contains(&sim.clients[c].peer) || rest.is_empty() {
                continue;
            }
            // A fresh connection (its id changes): an answer to one still pending at the cut
            // peer is then ignored.
            let to = rest[self.rng.index(rest.len())];
            sim.client_move(c, to);
        }
    }

    /// Whether the oracle is in one of its windows at `now`: on for 0.3 to 1.2 s, then off
    /// for as long.
    fn oracle_on(&mut self, now: Instant) -> bool {
        let (on, until) = self.oracle_window;
        if now < until {
            return on;
        }
        let next = now + Duration::from_millis(self.rng.range(300, 1_200));
        self.oracle_window = (!on || until == Instant(0), next);
        self.oracle_window.0
    }

    /// End some looking peers' elections: with a peer that already leads (joining a
    /// would-be leader) or with any voter, which then leads too if it was looking.
    fn oracle(&mut self, sim: &mut Sim) {
        let statuses = sim.statuses();
        for s in statuses.iter().filter(|s| s.state == ServerState::Following) {
            self.followed.extend(s.leader.map(|l| (s.sid, l)));
        }
        let looking: Vec<&Status> = statuses.iter().filter(|s| s.state == ServerState::Looking).collect();
        let voters: Vec<Sid> = sim.voters().into_iter().filter(|v| sim.is_up(*v)).collect();
        if looking.is_empty() || voters.is_empty() || !self.rng.chance(self.oracle_permille, 1000) {
            return;
        }
        let first = looking[self.rng.index(looking.len())];
        let leader = self.candidate(&statuses, first, &voters);
        // Like an FLE round, the decision is shared: other looking peers join at random.
        for s in looking {
            if s.sid == first.sid || self.rng.chance(1, 2) {
                sim.elect(s.sid, leader);
            }
        }
        sim.elect(leader, leader);
    }

    /// Whom the oracle names for `p`. Adversarial picks first: a would-be leader still in
    /// discovery of the epoch `p` has accepted (promised to another would-be leader of that
    /// epoch, or to this one), any would-be leader, any leader; else any voter.
    fn candidate(&mut self, statuses: &[Status], p: &Status, voters: &[Sid]) -> Sid {
        let leading = |s: &&Status| s.state == ServerState::Leading;
        let would_be: Vec<&Status> = statuses.iter().filter(leading).filter(|s| !s.serving).collect();
        let mut same: Vec<Sid> = would_be
            .iter()
            .filter(|l| l.phase == Phase::Discovery && l.accepted_epoch == p.accepted_epoch)
            .map(|l| l.sid)
            .collect();
        let last = self.followed.get(&p.sid);
        if same.len() > 1 {
            same.retain(|l| Some(l) != last);
        }
        let any: Vec<Sid> = would_be.iter().map(|l| l.sid).collect();
        let leaders: Vec<Sid> = statuses.iter().filter(leading).map(|s| s.sid).collect();
        let pick = match self.rng.range(0, 4) {
            0..=2 if !same.is_empty() => &same,
            0 | 1 if !any.is_empty() => &any,
            0 | 1 if !leaders.is_empty() => &leaders,
            _ => voters,
        };
        pick[self.rng.index(pick.len())]
    }

    /// Arm a crash in the middle of a TRUNC (or a SNAP) on a looking peer with no crash
    /// armed: it syncs next, and a random crash point would rarely be the one its sync hits.
    fn arm_for_sync(&mut self, sim: &mut Sim) {
        let looking: Vec<Sid> = sim
            .statuses()
            .iter()
            .filter(|s| s.state == ServerState::Looking && sim.peers[&s.sid].armed.is_none())
            .map(|s| s.sid)
            .collect();
        if looking.is_empty() {
            return;
        }
        let sid = looking[self.rng.index(looking.len())];
        let point = if self.rng.chance(2, 3) { CrashPoint::MidTrunc } else { CrashPoint::MidSnap };
        sim.arm(sid, point);
    }

    /// In the oracle's windows, learners lose their leader mid-way through discovery and
    /// sync, and so move between would-be leaders (often of one epoch).
    fn churn(&mut self, sim: &mut Sim, on: bool) {
        if on != (sim.learner_breaks_permille > 0) {
            sim.learner_breaks_permille = if on { self.churn_permille } else { 0 };
            sim.note(format!("learner churn {}", if on { "begins" } else { "ends" }));
        }
    }

    /// Whether this client's next request is a `sync` and a read.
    pub fn syncs_now(&mut self, client: usize) -> bool {
        self.reader == Some(client) || (self.sync_heavy && self.rng.chance(1, 4))
    }

    /// The network healed: the stale leader's reader is an ordinary client again.
    pub fn healed(&mut self) {
        self.reader = None;
        self.cut.clear();
    }

    /// A stale leader is being read from: crashes wait (they would end it early).
    pub fn quiet(&self) -> bool {
        self.reader.is_some()
    }

    /// A client sends `sync` and then a read, pipelined (the read must see the sync).
    pub fn sync_then_read(&mut self, sim: &mut Sim, client: usize) {
        let path = format!("/k{}", self.rng.range(0, 7));
        if sim.client_request(client, ClientOp::Sync).is_some() {
            sim.client_request(client, ClientOp::GetData { path, watch: false });
        }
    }

    /// Cut the leader off silently, alone or with a minority, and move a client onto it: a
    /// stale leader that keeps serving reads (and taking syncs) until its own timeouts fire.
    /// Chosen when the others will notice well before the leader does, so that a new leader
    /// commits while the old one still serves. Returns how long to keep the cut (None: not
    /// now).
    pub fn isolate_leader(&mut self, sim: &mut Sim) -> Option<Duration> {
        if !self.rng.chance(1, 40) {
            return None;
        }
        let leader = sim.leader()?;
        let sids = sim.sids();
        let minority = (sids.len() - 1) / 2;
        let mut cut = vec![leader];
        for s in sids.iter().filter(|s| **s != leader) {
            if cut.len() < minority && self.rng.chance(1, 3) {
                cut.push(*s);
            }
        }
        let rest: Vec<Sid> = sids.iter().filter(|s| !cut.contains(s)).copied().collect();
        // The rest elect once a majority of all voters among them has noticed.
        let mut rest_notice: Vec<u64> =
            rest.iter().filter(|s| sim.members.is_voter(**s)).map(|s| self.notice_us[s]).collect();
        rest_notice.sort_unstable();
        let need = crate::quorum::majority(sim.voters().len());
        let rest_ready = *rest_notice.get(need.checked_sub(1)?)?;
        let stale_for = self.notice_us[&leader];
        if stale_for < rest_ready + 400_000 && !self.rng.chance(1, 16) {
            return None;
        }
        for sid in &sids {
            sim.disarm(*sid);
        }
        sim.silent_partition(&[cut.clone(), rest]);
        self.cut = cut;
        if !sim.clients.is_empty() {
            let c = self.rng.index(sim.clients.len());
            sim.note(format!("client {c} moves to the cut-off leader {leader}, to sync and read"));
            sim.client_move(c, leader);
            self.reader = Some(c);
        }
        Some(Duration(stale_for + self.rng.range(0, 500_000)))
    }
}
