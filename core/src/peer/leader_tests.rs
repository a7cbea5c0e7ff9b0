//! Handler tests at the leader (openraft style: an exact state, one input, the whole output
//! list), each citing the rule it checks in zab-notes.md.

use super::*;
use crate::sim::script::seeded_entry;

/// Leader 3 restored from `state`, having established epoch `state.accepted_epoch + 1` with
/// follower 1 (at the leader's own last zxid); `change` adjusts its configuration.
fn established(state: PersistedState, change: impl FnOnce(&mut Config)) -> H {
    let (acc, cur) = (state.accepted_epoch, state.current_epoch);
    let mut h = H::configured(3, state, change);
    let last = h.p.log().last_zxid();
    h.elect(3);
    let outs = h.recv(1, Message::FollowerInfo { accepted_epoch: acc, last_zxid: last });
    h.persist_all(&outs);
    let e = acc + 1;
    let outs = h.recv(1, Message::AckEpoch { epoch: e, current_epoch: cur, last_zxid: last, counted: true });
    h.persist_all(&outs);
    h.recv(1, Message::AckNewLeader { epoch: e });
    assert_eq!(h.p.status().phase, Phase::Broadcast);
    h
}

/// Learner `sid` joins the established leader from `last` (its current epoch `cur`): the
/// outputs of its AckEpoch, which chooses the sync.
fn join(h: &mut H, sid: u64, cur: u32, last: Zxid) -> Vec<String> {
    let e = h.p.status().accepted_epoch;
    let outs = h.recv(sid, Message::FollowerInfo { accepted_epoch: e - 1, last_zxid: last });
    assert_eq!(show(&outs), [format!("{sid} <- LeaderInfo epoch={e}")]);
    let outs = h.recv(sid, Message::AckEpoch { epoch: e, current_epoch: cur, last_zxid: last, counted: true });
    show(&outs)
}

fn history(accepted: u32, snapshot: Option<Zxid>, log: &[Zxid]) -> PersistedState {
    PersistedState {
        accepted_epoch: accepted,
        current_epoch: accepted,
        snapshot: snapshot.map(|zxid| Snapshot { zxid, tree: DataTree::new() }),
        log: log.iter().map(|z| seeded_entry(*z)).collect(),
    }
}

fn z(e: u32, c: u32) -> Zxid {
    Zxid::new(e, c)
}

/// zab-notes Phase 2, the choice per learner, at its edges: DIFF when the learner's last zxid
/// is in our history (at its very end or at the snapshot it starts from too); SNAP when it is
/// before our snapshot, too far behind, or diverged across epochs (ZOOKEEPER-1154: never DIFF
/// past a zxid we lack, never TRUNC across an epoch); TRUNC to the last common zxid when its
/// tail in the same epoch is one we never had (ZOOKEEPER-2832).
#[test]
fn sync_mode_choice_edges() {
    // Leader history: snapshot at (6,2), then (6,3) (7,1) (7,2) (7,3).
    let leader = || history(7, Some(z(6, 2)), &[z(6, 3), z(7, 1), z(7, 2), z(7, 3)]);
    // (what, the learner's last zxid, mode, from, the sync message)
    let cases: [(&str, Zxid, &str, Zxid, &str); 9] = [
        ("at our last zxid", z(7, 3), "Diff", z(7, 3), "Diff none"),
        ("behind, in our log", z(7, 1), "Diff", z(7, 1), "Diff 0x700000002..0x700000003 (2)"),
        ("at our snapshot", z(6, 2), "Diff", z(6, 2), "Diff 0x600000003..0x700000003 (4)"),
        ("before our snapshot", z(6, 1), "Snap", z(7, 3), "Snap at=0x700000003 then none"),
        ("empty", Zxid::ZERO, "Snap", z(7, 3), "Snap at=0x700000003 then none"),
        ("ahead in our last epoch", z(7, 5), "Trunc", z(7, 3), "Trunc to=0x700000003 then none"),
        ("a tail we lack", z(6, 4), "Trunc", z(6, 3), "Trunc to=0x600000003 then 0x700000001..0x700000003 (3)"),
        ("ahead in a later epoch", z(8, 2), "Snap", z(7, 3), "Snap at=0x700000003 then none"),
        ("diverged across epochs", z(5, 9), "Snap", z(7, 3), "Snap at=0x700000003 then none"),
    ];
    for (what, theirs, mode, from, msg) in cases {
        let mut h = established(leader(), |_| {});
        let got = join(&mut h, 2, 6, theirs);
        let received = format!(
            "Trace(AckEpochReceived {{ sid: s3, from: s2, counted: true, current_epoch: 6, last_zxid: {theirs:?} }})"
        );
        let chosen = format!(
            "Trace(SyncModeChosen {{ leader: s3, learner: s2, mode: {mode}, learner_zxid: {theirs:?}, to: {from:?} }})"
        );
        let expected = [received, chosen, format!("2 <- {msg}"), "2 <- NewLeader epoch=8 zxid=0x700000003".into()];
        assert_eq!(got, expected, "{what}");
    }
    // More than `snap_threshold` entries missing: SNAP, though DIFF could do.
    let mut h = established(leader(), |c| c.snap_threshold = 2);
    let got = join(&mut h, 2, 6, z(6, 3));
    assert_eq!(got[2], "2 <- Snap at=0x700000003 then none", "{got:?}");
    let mut h = established(leader(), |c| c.snap_threshold = 2);
    let got = join(&mut h, 2, 6, z(7, 1));
    assert_eq!(got[2], "2 <- Diff 0x700000002..0x700000003 (2)", "exactly the threshold: DIFF");
}

/// The leader proposes a create of `path` (no client): the outputs.
fn propose(h: &mut H, path: &str) -> Vec<Output> {
    let op = crate::txn::Op::create(path, b"", crate::txn::CreateMode::Persistent);
    h.p.leader_propose(SessionId(0), op, Vec::new(), None);
    h.p.take_outputs()
}

/// ZOOKEEPER-4685 (zab-notes Phase 2): the leader adds a learner to the broadcast set once it
/// sent its sync (protocol-spec issue 1), so proposals reach it before its Ack(NewLeader). An
/// Ack of such a proposal that arrives before its Ack(NewLeader) (our learners hold theirs,
/// ZooKeeper's did not) is not counted, and changes nothing else: the leader neither steps
/// down nor drops the learner, and the sync completes. Then Ack(NewLeader) in Broadcast gets
/// UpToDate with our committed zxid (protocol-spec issue 3), and the Ack sent after it counts.
#[test]
fn an_ack_before_ack_newleader_is_not_counted_and_the_sync_completes() {
    let mut h = established(history(0, None, &[]), |_| {});
    join(&mut h, 2, 0, Zxid::ZERO);
    let p = propose(&mut h, "/a");
    let p1 = Zxid::new(1, 1);
    assert_eq!(
        show(&p),
        [
            "Trace(Proposed { sid: s3, zxid: (1,1), op: \"create /a \\\"\\\"\" })",
            "Trace(Logged { sid: s3, zxid: (1,1) })",
            "persist append 0x100000001",
            "1 <- Proposal 0x100000001 create /a \"\"",
            "2 <- Proposal 0x100000001 create /a \"\"",
        ]
    );
    let outs = h.recv(2, Message::Ack { epoch: 1, zxid: p1 });
    assert_eq!(show(&outs), ["anomaly: ack 0x100000001 from 2, not a synced follower: not counted"]);
    assert_eq!((h.p.status().state, h.p.status().phase), (ServerState::Leading, Phase::Broadcast));
    let outs = h.recv(2, Message::AckNewLeader { epoch: 1 });
    assert_eq!(
        show(&outs),
        ["Trace(NewLeaderAcked { leader: s3, from: s2, acks: 3, quorum: 2 })", "2 <- UpToDate committed=0x000000000",],
        "P came after its sync stream: its Ack(NewLeader) does not count for P"
    );
    h.persist_all(&p);
    let outs = h.recv(2, Message::Ack { epoch: 1, zxid: p1 });
    let shown = show(&outs);
    assert_eq!(shown[0], "Trace(AckReceived { leader: s3, from: s2, zxid: (1,1), acks: 2, quorum: 2 })");
    assert_eq!(shown[1], "Trace(QuorumReached { leader: s3, zxid: (1,1) })");
    assert_eq!(shown[shown.len() - 2..], ["1 <- Commit 0x100000001", "2 <- Commit 0x100000001"]);
}

/// zab-notes Phase 2 and protocol-spec issue 3: a learner that joins while proposals are
/// outstanding gets them in its DIFF; its Ack(NewLeader) proves them durable on it, so in
/// Broadcast it counts for them at once (here completing the quorum), after UpToDate.
#[test]
fn ack_newleader_in_broadcast_counts_for_the_proposals_in_its_sync() {
    let mut h = established(history(0, None, &[]), |_| {});
    let p = propose(&mut h, "/a");
    h.persist_all(&p);
    let got = join(&mut h, 2, 0, Zxid::ZERO);
    assert_eq!(got[2], "2 <- Diff 0x100000001", "the outstanding proposal is in the DIFF");
    let outs = h.recv(2, Message::AckNewLeader { epoch: 1 });
    let shown = show(&outs);
    assert_eq!(
        shown[..3],
        [
            "Trace(NewLeaderAcked { leader: s3, from: s2, acks: 3, quorum: 2 })".to_string(),
            "2 <- UpToDate committed=0x000000000".to_string(),
            "Trace(QuorumReached { leader: s3, zxid: (1,1) })".to_string(),
        ]
    );
    assert_eq!(shown[shown.len() - 2..], ["1 <- Commit 0x100000001", "2 <- Commit 0x100000001"]);
    assert_eq!(h.p.status().last_committed, Zxid::new(1, 1));
}

/// Leader 3 of voters 1..3 and observer 4, established in epoch 1 with follower 1.
fn with_observer() -> H {
    established(history(0, None, &[]), |c| c.members = Membership::numbered(3, 1))
}

/// Observer 4 joins: ObserverInfo, AckEpoch (counted means nothing for it), Ack(NewLeader).
fn observer_joins(h: &mut H) -> Vec<String> {
    let outs = h.recv(4, Message::ObserverInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
    assert_eq!(show(&outs), ["4 <- LeaderInfo epoch=1"]);
    let outs = h.recv(4, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    assert_eq!(show(&outs)[2..], ["4 <- Diff none", "4 <- NewLeader epoch=1 zxid=0x000000000"]);
    show(&h.recv(4, Message::AckNewLeader { epoch: 1 }))
}

/// zab-notes "Observers": a voter cannot register as an observer, nor an observer as a
/// follower (the configuration every peer shares says who is which).
#[test]
fn a_learner_registering_with_the_wrong_role_is_refused() {
    let mut h = with_observer();
    let outs = h.recv(2, Message::ObserverInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
    assert_eq!(show(&outs), ["anomaly: learner 2 registered with the wrong role", "disconnect 2"]);
    let outs = h.recv(4, Message::FollowerInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
    assert_eq!(show(&outs), ["anomaly: learner 4 registered with the wrong role", "disconnect 4"]);
}

/// zab-notes "Observers": synced like a follower, then told committed txns by Inform, never
/// sent Proposal or Commit; its Ack(NewLeader) and any Ack count for no quorum.
#[test]
fn an_observer_gets_informs_and_counts_for_nothing() {
    let mut h = with_observer();
    let shown = observer_joins(&mut h);
    assert_eq!(
        shown,
        ["Trace(NewLeaderAcked { leader: s3, from: s4, acks: 2, quorum: 2 })", "4 <- UpToDate committed=0x000000000",],
        "acks stay at 2: the leader and follower 1"
    );
    let p = propose(&mut h, "/a");
    assert_eq!(sends(&p).iter().map(|(to, _)| *to).collect::<Vec<_>>(), [1], "no Proposal to the observer");
    h.persist_all(&p);
    let p1 = Zxid::new(1, 1);
    let outs = h.recv(4, Message::Ack { epoch: 1, zxid: p1 });
    assert_eq!(show(&outs), ["anomaly: ack 0x100000001 from 4, not a synced follower: not counted"]);
    let outs = h.recv(1, Message::Ack { epoch: 1, zxid: p1 });
    let shown = show(&outs);
    assert_eq!(shown[shown.len() - 2..], ["1 <- Commit 0x100000001", "4 <- Inform 0x100000001 create /a \"\""]);
}

/// zab-notes Phase 3, sync: the leader answers a `sync` only once a quorum of voters (itself
/// included) answered a ping round that began after the sync arrived. An answer to an older
/// round, or an observer's, confirms nothing; each sync waits for its own round.
#[test]
fn sync_confirmation_rounds() {
    let mut h = with_observer();
    observer_joins(&mut h);
    let s = SessionId(7);
    let outs = h.recv(1, Message::Sync { epoch: 1, session: s, xid: 1 });
    let r1 = pings(&outs, 1)[0];
    assert_eq!(pings(&outs, 4), [r1], "observers are pinged too");
    let outs = h.recv(1, Message::Sync { epoch: 1, session: s, xid: 2 });
    let r2 = pings(&outs, 1)[0];
    assert_eq!(r2, r1 + 1);
    let nothing: [String; 0] = [];
    assert_eq!(show(&h.recv(4, Message::PingAck { epoch: 1, round: r2, sessions: Vec::new() })), nothing);
    assert_eq!(show(&h.recv(1, Message::PingAck { epoch: 1, round: r1 - 1, sessions: Vec::new() })), nothing);
    let outs = h.recv(1, Message::PingAck { epoch: 1, round: r1, sessions: Vec::new() });
    assert_eq!(show(&outs), ["1 <- SyncReply 0x7#1 zxid=0x000000000"], "only the first sync");
    let outs = h.recv(1, Message::PingAck { epoch: 1, round: r2, sessions: Vec::new() });
    assert_eq!(show(&outs), ["1 <- SyncReply 0x7#2 zxid=0x000000000"]);
}

/// `Config::log_retain`: past it, the oldest committed entries leave memory (down to the
/// limit, in steps of half of it), so a learner within the kept window still gets DIFF and one
/// behind it SNAP. With 0 (the default) the log is kept until a snapshot.
#[test]
fn committed_entries_past_log_retain_leave_memory() {
    let log: Vec<Zxid> = (1..=20).map(|c| z(7, c)).collect();
    let mut h = established(history(7, None, &log), |c| c.log_retain = 4);
    assert_eq!(h.p.status().last_committed, z(7, 20), "the restored history is committed");
    assert_eq!(h.p.log().len(), 4, "20 committed, 4 kept");
    assert_eq!(h.p.log().base(), z(7, 16));
    let got = join(&mut h, 2, 7, z(7, 17));
    assert_eq!(got[2], "2 <- Diff 0x700000012..0x700000014 (3)", "{got:?}");
    let mut h = established(history(7, None, &log), |c| c.log_retain = 4);
    let got = join(&mut h, 2, 7, z(7, 10));
    assert_eq!(got[2], "2 <- Snap at=0x700000014 then none", "{got:?}");
    let mut all = established(history(7, None, &log), |_| {});
    assert_eq!(all.p.log().len(), 20, "log_retain 0 keeps everything");
    let got = join(&mut all, 2, 7, z(7, 10));
    assert!(got[2].starts_with("2 <- Diff"), "{got:?}");
}
