//! Handler tests in the openraft style: put one peer in an exact state, feed one input, and
//! look at the whole list of outputs. Each cites the rule it checks (zab-notes.md).

use super::*;
use crate::config::Membership;
use crate::message::{Message, ServerState, Vote};
use crate::storage::PersistOp;
use crate::time::Duration;

#[path = "ack_tests.rs"]
mod acks;
#[path = "leader_tests.rs"]
mod leader_side;
#[path = "learner_tests.rs"]
mod learner_side;
#[path = "looking_tests.rs"]
mod looking;
#[path = "protocol_tests.rs"]
mod protocol;
#[path = "race_tests.rs"]
mod race;

struct H {
    p: Peer,
    now: Now,
}

fn now(ms: u64) -> Now {
    Now { instant: Instant(ms * 1000), wall_ms: 1_000 + ms }
}

impl H {
    fn new(sid: u64, state: PersistedState, mutants: &[Mutant]) -> H {
        H::with(sid, Membership::numbered(3, 0), state, mutants)
    }

    /// A peer of `members`, connected to every other member.
    fn with(sid: u64, members: Membership, state: PersistedState, mutants: &[Mutant]) -> H {
        H::configured(sid, state, |cfg| {
            cfg.members = members;
            cfg.mutants = mutants.iter().copied().collect();
        })
    }

    /// A peer of three voters by default, its configuration changed by `change`, connected to
    /// every other member.
    fn configured(sid: u64, state: PersistedState, change: impl FnOnce(&mut Config)) -> H {
        let mut cfg = Config::new(Sid(sid), Membership::numbered(3, 0));
        change(&mut cfg);
        let all: Vec<Sid> = cfg.members.all().collect();
        let mut p = Peer::restore(cfg, state, now(0)).expect("valid");
        p.take_outputs();
        let mut h = H { p, now: now(0) };
        for s in all {
            if s != Sid(sid) {
                h.feed(Input::Connected { peer: s });
            }
        }
        h
    }

    fn feed(&mut self, input: Input) -> Vec<Output> {
        self.now.instant = self.now.instant + Duration(1);
        self.p.step(self.now, input)
    }

    fn recv(&mut self, from: u64, msg: Message) -> Vec<Output> {
        let env = Envelope { id: MsgId { from: Sid(from), seq: 1 }, msg };
        self.feed(Input::Receive { from: Sid(from), env })
    }

    /// Run timers until the peer's deadline passes `ms` from now.
    fn wait(&mut self, ms: u64) -> Vec<Output> {
        let until = self.now.instant + Duration::from_millis(ms);
        let mut out = Vec::new();
        while let Some(d) = self.p.next_deadline().filter(|d| *d <= until) {
            self.now.instant = d.max(self.now.instant);
            out.extend(self.p.step(self.now, Input::Timeout));
        }
        out
    }

    /// Let `ms` pass, firing every timer on the way; the clock ends `ms` later.
    fn advance(&mut self, ms: u64) -> Vec<Output> {
        let until = self.now.instant + Duration::from_millis(ms);
        let outs = self.wait(ms);
        self.now.instant = self.now.instant.max(until);
        outs
    }

    /// Elect `leader` by votes from the other two voters in the peer's round, and settle the
    /// election.
    fn elect(&mut self, leader: u64) {
        let vote = Vote { leader: Sid(leader), zxid: self.p.log.last_zxid(), peer_epoch: self.p.current_epoch };
        let round = self.p.logical_clock;
        for s in 1..=3 {
            if s != self.p.sid().0 {
                self.recv(s, Message::Notification { state: ServerState::Looking, vote, round });
            }
        }
        self.wait(60);
    }

    fn persist_all(&mut self, outs: &[Output]) -> Vec<Output> {
        let last =
            outs.iter().filter_map(|o| if let Output::Persist { token, .. } = o { Some(*token) } else { None }).max();
        last.map(|t| self.feed(Input::Persisted(t))).unwrap_or_default()
    }
}

fn sends(outs: &[Output]) -> Vec<(u64, Message)> {
    outs.iter()
        .filter_map(|o| if let Output::Send { to, env } = o { Some((to.0, env.msg.clone())) } else { None })
        .collect()
}

/// The whole output list of one input, one line each, for exact comparison: sends and persists
/// as `describe` shows them, every protocol trace by its Debug form. The bookkeeping traces
/// that only mirror another output (MsgSent, PersistStarted) or the input (MsgDelivered,
/// PersistDone) are left out.
fn show(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { to, env } => Some(format!("{to} <- {}", crate::describe::message(&env.msg))),
            Output::Persist { op, .. } => Some(format!("persist {}", crate::describe::persist_op(op))),
            Output::Disconnect { peer } => Some(format!("disconnect {peer}")),
            Output::Trace(
                TraceEvent::MsgSent { .. }
                | TraceEvent::MsgDelivered { .. }
                | TraceEvent::PersistStarted { .. }
                | TraceEvent::PersistDone { .. },
            ) => None,
            Output::Trace(TraceEvent::RoleChanged { from, to, reason, .. }) => {
                let why = reason.as_ref().map_or(String::new(), |r| format!(": {r}"));
                Some(format!("role {from} -> {to}{why}"))
            }
            Output::Trace(TraceEvent::NewRound { round, .. }) => Some(format!("new round {round}")),
            Output::Trace(TraceEvent::Anomaly { what, .. }) => Some(format!("anomaly: {what}")),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

/// The rounds of the pings sent to `to`.
fn pings(outs: &[Output], to: u64) -> Vec<u64> {
    sends(outs)
        .into_iter()
        .filter_map(
            |(t, m)| if let (true, Message::Ping { epoch: 1, round }) = (t == to, m) { Some(round) } else { None },
        )
        .collect()
}

fn persists(outs: &[Output]) -> Vec<PersistOp> {
    outs.iter().filter_map(|o| if let Output::Persist { op, .. } = o { Some(op.clone()) } else { None }).collect()
}

fn epochs(accepted: u32, current: u32) -> PersistedState {
    PersistedState { accepted_epoch: accepted, current_epoch: current, ..Default::default() }
}

/// A leader (3) of epoch 1 in broadcast, with follower 1 synced (voters 1..3).
fn established_leader() -> H {
    let mut h = leader_with_epoch(&[]);
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    h.persist_all(&outs);
    let outs = h.recv(1, Message::AckNewLeader { epoch: 1 });
    h.persist_all(&outs);
    assert_eq!(h.p.status().phase, Phase::Broadcast);
    h
}

/// A leader in discovery that has proposed epoch 1 with peer 1's FollowerInfo.
fn leader_with_epoch(mutants: &[Mutant]) -> H {
    let mut h = H::new(3, PersistedState::default(), mutants);
    h.elect(3);
    assert_eq!(h.p.status().state, ServerState::Leading);
    let outs = h.recv(1, Message::FollowerInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
    assert_eq!(persists(&outs), vec![PersistOp::AcceptedEpoch(1)], "accepted_epoch is persisted first");
    assert!(sends(&outs).is_empty(), "LeaderInfo waits until the new accepted_epoch is durable");
    let outs = h.persist_all(&outs);
    assert_eq!(sends(&outs), vec![(1, Message::LeaderInfo { epoch: 1 })]);
    h
}

/// zab-notes Phase 1: an AckEpoch that says "not counted" (the learner already promised this
/// epoch to another leader, ZOOKEEPER-335/1653) must not complete the epoch quorum.
#[test]
fn not_counted_ack_epoch_does_not_count() {
    let mut h = leader_with_epoch(&[]);
    h.recv(2, Message::FollowerInfo { accepted_epoch: 1, last_zxid: Zxid::ZERO });
    let outs = h.recv(2, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: false });
    assert_eq!(h.p.status().phase, Phase::Discovery, "{outs:?}");
    assert!(persists(&outs).is_empty(), "no current_epoch without a quorum");
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    assert_eq!(h.p.status().phase, Phase::Synchronization);
    assert_eq!(persists(&outs)[0], PersistOp::CurrentEpoch(1));
}

/// The same input under the mutant: the checker-level consequence (two leaders in one epoch)
/// needs interleavings the simulator cannot force yet, so this handler test is its catch.
#[test]
fn mutant_counts_the_not_counted_ack() {
    let mut h = leader_with_epoch(&[Mutant::CountNotCountedAckEpoch]);
    h.recv(2, Message::FollowerInfo { accepted_epoch: 1, last_zxid: Zxid::ZERO });
    h.recv(2, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: false });
    assert_eq!(h.p.status().phase, Phase::Synchronization, "the mutant completes the quorum wrongly");
}

/// zab-notes Phase 1: the leader abdicates when a learner's (current_epoch, last zxid) is newer.
#[test]
fn leader_abdicates_for_a_learner_that_is_ahead() {
    let mut h = leader_with_epoch(&[]);
    h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::new(0, 5), counted: true });
    assert_eq!(h.p.status().state, ServerState::Looking);
}

/// zab-notes Phase 1 (learner side): LeaderInfo(e) with e == accepted_epoch is answered
/// "not counted" at once; e > accepted_epoch is persisted before AckEpoch leaves.
#[test]
fn learner_answers_leader_info_by_the_epoch_rules() {
    let mut h = H::new(1, epochs(5, 4), &[]);
    h.elect(3);
    assert_eq!(h.p.status().state, ServerState::Following);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 5 });
    assert!(persists(&outs).is_empty());
    assert_eq!(
        sends(&outs),
        vec![(3, Message::AckEpoch { epoch: 5, current_epoch: 4, last_zxid: Zxid::ZERO, counted: false })]
    );

    let mut h = H::new(1, epochs(5, 4), &[]);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 6 });
    assert_eq!(persists(&outs), vec![PersistOp::AcceptedEpoch(6)]);
    assert!(sends(&outs).is_empty(), "AckEpoch only after accepted_epoch is durable");
    let outs = h.persist_all(&outs);
    assert_eq!(
        sends(&outs),
        vec![(3, Message::AckEpoch { epoch: 6, current_epoch: 4, last_zxid: Zxid::ZERO, counted: true })]
    );

    let mut h = H::new(1, epochs(5, 4), &[]);
    h.elect(3);
    h.recv(3, Message::LeaderInfo { epoch: 4 });
    assert_eq!(h.p.status().state, ServerState::Looking, "a lower epoch than promised is refused");
}

/// A follower synced to epoch 1 and serving.
fn synced_follower(mutants: &[Mutant]) -> H {
    let mut h = H::new(1, PersistedState::default(), mutants);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 1 });
    h.persist_all(&outs);
    h.recv(3, Message::Diff { epoch: 1, entries: Vec::new() });
    let outs = h.recv(3, Message::NewLeader { epoch: 1, zxid: Zxid::ZERO });
    assert_eq!(persists(&outs), vec![PersistOp::CurrentEpoch(1)]);
    assert!(sends(&outs).is_empty(), "Ack(NewLeader) waits for current_epoch to be durable");
    let outs = h.persist_all(&outs);
    assert_eq!(sends(&outs), vec![(3, Message::AckNewLeader { epoch: 1 })]);
    h.recv(3, Message::UpToDate { epoch: 1, committed: Zxid::ZERO });
    assert!(h.p.status().serving);
    h
}

fn proposal(z: Zxid) -> Message {
    let op = crate::txn::Op::Create {
        path: "/a".into(),
        data: crate::datatree::Data::empty(),
        acl: crate::acl::open_acl_unsafe(),
        mode: crate::txn::CreateMode::Persistent,
    };
    let txn = crate::txn::Txn { session: crate::ids::SessionId(1), time_ms: 5, auth: Vec::new(), op };
    Message::Proposal { epoch: 1, entry: crate::log::Entry { zxid: z, txn: txn.into(), origin: None } }
}

/// zab-notes Phase 3: a follower acks a proposal only once it is durable.
#[test]
fn follower_acks_after_durable() {
    let mut h = synced_follower(&[]);
    let outs = h.recv(3, proposal(Zxid::new(1, 1)));
    assert!(matches!(persists(&outs)[..], [PersistOp::Append(_)]));
    assert!(sends(&outs).is_empty());
    let outs = h.persist_all(&outs);
    assert_eq!(sends(&outs), vec![(3, Message::Ack { epoch: 1, zxid: Zxid::new(1, 1) })]);
    let outs = h.recv(3, Message::Commit { epoch: 1, zxid: Zxid::new(1, 1) });
    assert!(h.p.tree().exists("/a").unwrap().is_some(), "{outs:?}");
}

#[test]
fn mutant_acks_before_durable() {
    let mut h = synced_follower(&[Mutant::AckBeforeDurable]);
    let outs = h.recv(3, proposal(Zxid::new(1, 1)));
    assert_eq!(sends(&outs), vec![(3, Message::Ack { epoch: 1, zxid: Zxid::new(1, 1) })]);
}

/// zab-notes Phase 2: a proposal with a gap means lost messages: resync, never accept it.
#[test]
fn follower_refuses_a_gap() {
    let mut h = synced_follower(&[]);
    h.recv(3, proposal(Zxid::new(1, 2)));
    assert_eq!(h.p.status().state, ServerState::Looking);
    assert_eq!(h.p.log().last_zxid(), Zxid::ZERO);
}

/// A learner taking in a large sync hears nothing until the sync message is through. Until
/// it is synced only `init_limit` bounds it (ZooKeeper's learner reads with an `initLimit`
/// timeout until then); `sync_limit` of silence ends it only in broadcast.
#[test]
fn learner_in_sync_is_bounded_by_init_limit_not_sync_limit() {
    let mut h = H::new(1, PersistedState::default(), &[]);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 1 });
    h.persist_all(&outs);
    let (sync_ms, init_ms) = (h.p.cfg.sync_timeout().0 / 1000, h.p.cfg.init_timeout().0 / 1000);
    assert!(sync_ms + 100 < init_ms - 60);
    h.wait(sync_ms + 100);
    assert_eq!(h.p.status().state, ServerState::Following, "silent beyond sync_limit, within init_limit");
    h.wait(init_ms);
    assert_eq!(h.p.status().state, ServerState::Looking, "init_limit ends the sync");
    let mut h = synced_follower(&[]);
    h.wait(sync_ms + 10);
    assert_eq!(h.p.status().state, ServerState::Looking, "in broadcast, sync_limit of silence ends it");
}

/// The leader's side: a learner that has not yet acknowledged NewLeader may be silent for
/// `init_limit` (busy with a large SNAP); once synced, `sync_limit`.
#[test]
fn leader_waits_init_limit_for_a_syncing_learner() {
    let mut h = leader_with_epoch(&[]);
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    h.persist_all(&outs);
    h.recv(1, Message::AckNewLeader { epoch: 1 });
    assert_eq!(h.p.status().phase, Phase::Broadcast);
    h.recv(2, Message::FollowerInfo { accepted_epoch: 1, last_zxid: Zxid::ZERO });
    let outs = h.recv(2, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: false });
    assert!(sends(&outs).iter().any(|(to, m)| *to == 2 && matches!(m, Message::NewLeader { .. })), "{outs:?}");
    // Peer 1 answers every ping; peer 2 says nothing more.
    let (sync_ms, init_ms) = (h.p.cfg.sync_timeout().0 / 1000, h.p.cfg.init_timeout().0 / 1000);
    let (start, mut dropped_at) = (h.now.instant, None);
    for _ in 0..(init_ms + 200) / 50 {
        let outs = h.wait(60);
        for (to, m) in sends(&outs) {
            if let (1, Message::Ping { epoch: 1, round }) = (to, m) {
                h.recv(1, Message::PingAck { epoch: 1, round, sessions: Vec::new() });
            }
        }
        if outs.iter().any(|o| matches!(o, Output::Disconnect { peer: Sid(2) })) {
            dropped_at = Some((h.now.instant.0 - start.0) / 1000);
            break;
        }
    }
    let at = dropped_at.expect("the silent learner is dropped in the end");
    assert!(at > sync_ms + 100 && at + 100 >= init_ms, "dropped after {at} ms (sync {sync_ms}, init {init_ms})");
    assert_eq!(h.p.status().state, ServerState::Leading);
}

/// FLE (zab-notes Phase 0, ZooKeeper's `lookForLeader`): a LOOKING voter whose round agrees
/// with two peers that have already decided must decide too, when their FOLLOWING/LEADING
/// answers come in before its finalize window closes. Those answers carry the sender's own
/// last zxid, not the vote it elected with; counting them as votes against our proposal left
/// the third voter LOOKING while the would-be leader waited its whole init limit for a quorum
/// (seen on real processes: 5 nodes, 2 killed at once, 10 s without a leader).
#[test]
fn a_voter_joins_peers_that_decided_in_its_round() {
    let mut h = H::with(2, Membership::numbered(5, 0), PersistedState::default(), &[]);
    let round = h.p.logical_clock;
    let elected = Vote { leader: Sid(4), zxid: Zxid::new(1, 5), peer_epoch: 1 };
    h.recv(4, Message::Notification { state: ServerState::Looking, vote: elected, round });
    h.recv(3, Message::Notification { state: ServerState::Looking, vote: elected, round });
    // 3 and 4 decided first: 3 follows 4 and reports its own (shorter) history; 4 leads.
    let follower_says = Vote { leader: Sid(4), zxid: Zxid::new(1, 3), peer_epoch: 1 };
    h.recv(3, Message::Notification { state: ServerState::Following, vote: follower_says, round });
    h.recv(4, Message::Notification { state: ServerState::Leading, vote: elected, round });
    h.wait(200);
    let st = h.p.status();
    assert_eq!((st.state, st.leader), (ServerState::Following, Some(Sid(4))), "{st:?}");
}

/// The race a SIGKILL failover met in about one round of four on real processes: peer 2 saw
/// the leader's connection close first and sent its vote to peer 1, which still followed the
/// dead leader and answered with its old vote (round 7 while peer 2 was in round 8); then
/// peer 1 went LOOKING and proposed itself, a worse vote, in round 8. Peer 2 must tell it its
/// better vote at once: before, it stayed silent and peer 1 learned it at peer 2's next resend,
/// 50 ms later, which doubled the failover.
#[test]
fn a_worse_vote_from_a_peer_that_answered_as_follower_gets_our_vote_back() {
    let mut h = H::new(2, epochs(1, 1), &[]);
    let round = h.p.logical_clock;
    let last = h.p.log.last_zxid();
    let old = Vote { leader: Sid(3), zxid: last, peer_epoch: 1 };
    h.recv(1, Message::Notification { state: ServerState::Following, vote: old, round: round - 1 });
    let worse = Vote { leader: Sid(1), zxid: last, peer_epoch: 1 };
    let outs = h.recv(1, Message::Notification { state: ServerState::Looking, vote: worse, round });
    let told: Vec<Vote> = sends(&outs)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::Notification { vote, round: r, .. } if to == 1 && r == round => Some(vote),
            _ => None,
        })
        .collect();
    assert_eq!(told.iter().map(|v| v.leader).collect::<Vec<_>>(), vec![Sid(2)], "peer 1 is told our vote");
    // A worse vote from a peer that has been LOOKING all along gets no answer (as in ZooKeeper):
    // it has our vote from our broadcast.
    let outs = h.recv(3, Message::Notification { state: ServerState::Looking, vote: worse, round });
    assert!(sends(&outs).iter().all(|(to, _)| *to != 3), "no answer to peer 3");
}
