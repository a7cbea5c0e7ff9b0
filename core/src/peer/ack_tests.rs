//! Cumulative Ack and Commit (zab-notes Phase 3): a follower acks once per durable batch, the
//! highest zxid it made durable; the leader counts an Ack for z as one for every outstanding
//! zxid up to z, commits each zxid only in order and only with a quorum of its own, and sends
//! one Commit for the highest zxid newly committed.

use super::*;
use crate::config::Membership;

fn z(c: u32) -> Zxid {
    Zxid::new(1, c)
}

/// Leader 3 of `voters` in Broadcast of epoch 1, with `followers` synced from empty histories.
fn leader(voters: u64, followers: &[u64]) -> H {
    let mut h = H::with(3, Membership::numbered(voters, 0), PersistedState::default(), &[]);
    h.elect(3);
    assert_eq!(h.p.status().state, ServerState::Leading);
    for &f in followers {
        let outs = h.recv(f, Message::FollowerInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
        h.persist_all(&outs);
    }
    for &f in followers {
        let outs = h.recv(f, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
        h.persist_all(&outs);
    }
    for &f in followers {
        h.recv(f, Message::AckNewLeader { epoch: 1 });
    }
    assert_eq!(h.p.status().phase, Phase::Broadcast);
    h
}

/// The leader proposes creates of /n1../nk: the outputs (their persists not yet durable).
fn propose(h: &mut H, k: u32) -> Vec<Output> {
    let mut outs = Vec::new();
    for i in 1..=k {
        let op = crate::txn::Op::create(&format!("/n{i}"), b"v", crate::txn::CreateMode::Persistent);
        h.p.leader_propose(SessionId(0), op, Vec::new(), None);
        outs.extend(h.p.take_outputs());
    }
    outs
}

fn ack(h: &mut H, from: u64, c: u32) -> Vec<(u64, Message)> {
    sends(&h.recv(from, Message::Ack { epoch: 1, zxid: z(c) }))
}

fn commit(to: u64, c: u32) -> (u64, Message) {
    (to, Message::Commit { epoch: 1, zxid: z(c) })
}

/// One Ack for the last of three proposals, once the leader's own writes are durable,
/// commits all three, with one Commit for the highest.
#[test]
fn an_ack_counts_for_every_outstanding_zxid_up_to_it() {
    let mut h = leader(3, &[1]);
    let p = propose(&mut h, 3);
    let outs = h.persist_all(&p);
    assert!(sends(&outs).is_empty(), "the leader alone is no quorum: {outs:?}");
    let outs = h.recv(1, Message::Ack { epoch: 1, zxid: z(3) });
    let shown = show(&outs);
    let reached: Vec<&String> = shown.iter().filter(|l| l.starts_with("Trace(QuorumReached")).collect();
    assert_eq!(reached.len(), 3, "(1,1), (1,2) and (1,3), in order: {shown:?}");
    assert_eq!(shown[0], "Trace(AckReceived { leader: s3, from: s1, zxid: (1,1), acks: 2, quorum: 2 })");
    assert_eq!(sends(&outs), [commit(1, 3)], "one Commit, for the highest");
    assert_eq!(h.p.status().last_committed, z(3));
}

/// The leader's own appends made durable by one group commit count once: with the
/// follower's Ack already in, one Persisted commits all three with one Commit.
#[test]
fn the_leaders_group_commit_counts_once() {
    let mut h = leader(3, &[1]);
    let p = propose(&mut h, 3);
    assert!(ack(&mut h, 1, 3).is_empty(), "our own writes are not durable yet");
    assert_eq!(h.p.status().last_committed, Zxid::ZERO);
    let outs = h.persist_all(&p);
    assert_eq!(sends(&outs), [commit(1, 3)]);
    assert_eq!(h.p.status().last_committed, z(3));
}

/// Each zxid still needs a quorum of its own (5 voters: 3 acks). Follower 1 acked up to
/// (1,3), follower 2 only (1,1): only (1,1) commits; each later ack of follower 2 commits
/// exactly what it completes, in order.
#[test]
fn each_zxid_commits_only_with_its_own_quorum() {
    let mut h = leader(5, &[1, 2]);
    let p = propose(&mut h, 3);
    h.persist_all(&p);
    assert!(ack(&mut h, 1, 3).is_empty(), "(1,1)..(1,3) have 2 acks of 3");
    assert_eq!(ack(&mut h, 2, 1), [commit(1, 1), commit(2, 1)]);
    assert_eq!(h.p.status().last_committed, z(1));
    assert_eq!(ack(&mut h, 2, 2), [commit(1, 2), commit(2, 2)]);
    assert!(ack(&mut h, 2, 2).is_empty(), "a repeated ack counts nothing");
    assert_eq!(ack(&mut h, 2, 3), [commit(1, 3), commit(2, 3)]);
    assert_eq!(h.p.status().last_committed, z(3));
}

/// A cumulative ack beyond what the leader logged, or of a zxid of another epoch, would count
/// for proposals never made: it is refused and counts for nothing.
#[test]
fn an_ack_beyond_the_last_proposal_counts_nothing() {
    let mut h = leader(3, &[1]);
    let p = propose(&mut h, 1);
    h.persist_all(&p);
    let outs = h.recv(1, Message::Ack { epoch: 1, zxid: z(5) });
    assert_eq!(
        show(&outs),
        ["anomaly: ack 0x100000005 from 1 beyond our last zxid 0x100000001 of epoch 1: not counted"]
    );
    let outs = h.recv(1, Message::Ack { epoch: 1, zxid: Zxid::new(0, 9) });
    assert_eq!(
        show(&outs),
        ["anomaly: ack 0x000000009 from 1 beyond our last zxid 0x100000001 of epoch 1: not counted"]
    );
    assert_eq!(h.p.status().last_committed, Zxid::ZERO);
    assert_eq!(ack(&mut h, 1, 1), [commit(1, 1)]);
}

/// A follower sends one Ack per durable batch, for the highest zxid it covers, and none for
/// a proposal whose write is not durable yet.
#[test]
fn a_follower_acks_once_per_durable_batch() {
    let mut h = synced_follower(&[]);
    let mut tokens = Vec::new();
    for c in 1..=4 {
        let outs = h.recv(3, proposal_of(c));
        assert!(sends(&outs).is_empty(), "no ack before durable");
        tokens.extend(
            outs.iter().filter_map(|o| if let Output::Persist { token, .. } = o { Some(*token) } else { None }),
        );
    }
    let outs = h.feed(Input::Persisted(tokens[2]));
    assert_eq!(sends(&outs), [(3, Message::Ack { epoch: 1, zxid: z(3) })], "(1,1)..(1,3) durable: one Ack");
    let outs = h.feed(Input::Persisted(tokens[3]));
    assert_eq!(sends(&outs), [(3, Message::Ack { epoch: 1, zxid: z(4) })]);
}

fn proposal_of(c: u32) -> Message {
    let op = crate::txn::Op::create(&format!("/n{c}"), b"v", crate::txn::CreateMode::Persistent);
    let txn = crate::txn::Txn { session: SessionId(1), time_ms: 5, auth: Vec::new(), op };
    Message::Proposal { epoch: 1, entry: crate::log::Entry { zxid: z(c), txn: txn.into(), origin: None } }
}

/// The mutant vouches for a write still in flight: with (1,1) durable and (1,2) only logged,
/// its Ack names (1,2) (the sweep catches it as a committed write a quorum does not hold).
#[test]
fn mutant_ack_last_logged_acks_a_write_in_flight() {
    let mut h = synced_follower(&[Mutant::AckLastLogged]);
    let first = h.recv(3, proposal_of(1));
    h.recv(3, proposal_of(2));
    let outs = h.persist_all(&first);
    assert_eq!(sends(&outs), [(3, Message::Ack { epoch: 1, zxid: z(2) })]);
}
