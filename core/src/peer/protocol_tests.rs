//! Handler tests for the protocol details of issue 14 §5, each written to fail on the code
//! before its fix: observers never make a leader abdicate, a "not counted" AckEpoch waits for
//! durability, messages of another epoch are dropped, a TRUNC below what was committed is
//! refused, and a sync that makes progress is not cut short.

use super::*;

/// Leader 3 of voters 1..3 and observer 4: epoch 1 is proposed (with voter 1's FollowerInfo)
/// and durable, LeaderInfo sent to 1.
fn leader_with_observer() -> H {
    let mut h = H::with(3, Membership::numbered(3, 1), PersistedState::default(), &[]);
    h.elect(3);
    let outs = h.recv(1, Message::FollowerInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO });
    h.persist_all(&outs);
    h
}

/// zab-notes "Observers": observers never vote and are never voted for, so they never lead.
/// The leader abdicates for a *follower* whose history is newer (Phase 1), because that
/// follower might hold committed txns the leader lacks; an observer ahead of the leader can
/// only hold a tail no quorum of voters accepted, so it is truncated like any learner, and the
/// leader stays. (Before: the "ahead" check ran before the observer check and cost an election.)
#[test]
fn an_observer_ahead_does_not_make_the_leader_abdicate() {
    let mut h = leader_with_observer();
    let ahead = Zxid::new(0, 5);
    let outs = h.recv(4, Message::ObserverInfo { accepted_epoch: 0, last_zxid: ahead });
    assert_eq!(show(&outs), ["4 <- LeaderInfo epoch=1"]);
    let outs = h.recv(4, Message::AckEpoch { current_epoch: 0, last_zxid: ahead, counted: true });
    let received = "Trace(AckEpochReceived { sid: s3, from: s4, counted: true, current_epoch: 0, last_zxid: (0,5) })";
    assert_eq!(show(&outs), [received], "no abdication, and the observer counts for nothing");
    assert_eq!(h.p.status().state, ServerState::Leading);
    // Voter 1 completes the epoch quorum; the observer's tail is truncated to our history.
    let outs = h.recv(1, Message::AckEpoch { current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    assert_eq!(
        show(&outs),
        [
            "Trace(AckEpochReceived { sid: s3, from: s1, counted: true, current_epoch: 0, last_zxid: (0,0) })",
            "Trace(CurrentEpochSet { sid: s3, epoch: 1 })",
            "persist current_epoch=1",
            "Trace(SyncModeChosen { leader: s3, learner: s1, mode: Diff, learner_zxid: (0,0), to: (0,0) })",
            "1 <- Diff none",
            "1 <- NewLeader epoch=1 zxid=0x000000000",
            "Trace(SyncModeChosen { leader: s3, learner: s4, mode: Trunc, learner_zxid: (0,5), to: (0,0) })",
            "4 <- Trunc to=0x000000000 then none",
            "4 <- NewLeader epoch=1 zxid=0x000000000",
        ]
    );
}

/// zab-notes Phase 1 and "Persist before you acknowledge": a "not counted" AckEpoch reports
/// the learner's promise and history, so it leaves only once they are durable. Here follower 1
/// promised epoch 5 to leader 3 (the write still in flight), lost it, and follows 2, which
/// proposes the same epoch 5: the answer waits for the write. (Before: sent at once, from
/// memory; a crash then would leave a disk that never promised what the answer claimed.)
#[test]
fn a_not_counted_ack_epoch_waits_until_the_promise_is_durable() {
    let mut h = H::new(1, epochs(4, 4), &[]);
    h.elect(3);
    let promised = h.recv(3, Message::LeaderInfo { epoch: 5 });
    assert_eq!(persists(&promised), vec![PersistOp::AcceptedEpoch(5)]);
    h.feed(Input::Disconnected { peer: Sid(3) });
    h.elect(2);
    assert_eq!(h.p.status().leader, Some(Sid(2)));
    let outs = h.recv(2, Message::LeaderInfo { epoch: 5 });
    assert_eq!(show(&outs), Vec::<String>::new(), "nothing leaves before accepted_epoch=5 is durable");
    let outs = h.persist_all(&promised);
    assert_eq!(sends(&outs), [(2, Message::AckEpoch { current_epoch: 4, last_zxid: Zxid::ZERO, counted: false })]);
}

/// Follower 1 synced in epoch 1 with (1,1) and (1,2) committed (applied).
fn follower_with_two_committed() -> H {
    let mut h = synced_follower(&[]);
    for c in 1..=2 {
        let outs = h.recv(3, proposal(Zxid::new(1, c)));
        h.persist_all(&outs);
    }
    h.recv(3, Message::Commit { zxid: Zxid::new(1, 2) });
    assert_eq!(h.p.status().last_committed, Zxid::new(1, 2));
    h
}

/// zab-notes Phase 2: TRUNC only removes a tail no quorum accepted. A TRUNC below what this
/// peer already applied asks it to forget committed txns: no leader holding every committed
/// txn (PrimaryIntegrity) sends that, so the leader or the stream is wrong. The learner keeps
/// its history and resyncs through a new election (asking the same leader again would get the
/// same answer; our vote carries the longer history). (Before: an anomaly, then it truncated.)
#[test]
fn a_trunc_below_what_was_committed_is_refused() {
    let mut h = follower_with_two_committed();
    h.feed(Input::Disconnected { peer: Sid(3) });
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 2 });
    h.persist_all(&outs);
    let outs = h.recv(3, Message::Trunc { to: Zxid::new(1, 1), entries: Vec::new() });
    let to = Zxid::new(1, 1);
    let committed = Zxid::new(1, 2);
    let reason = LookingReason::TruncBelowCommitted { leader: Sid(3), to, committed };
    assert_eq!(
        show(&outs),
        [
            format!("anomaly: TRUNC to {to} below committed {committed}: refused"),
            "disconnect 3".to_string(),
            format!("role FOLLOWING -> LOOKING: {reason}"),
            "new round 3".to_string(),
            "2 <- vote 1 zxid=0x100000002 epoch=1 round=3 LOOKING".to_string(),
        ]
    );
    assert_eq!(reason.to_string(), "leader 3 asked to truncate to 0x100000001, below the committed 0x100000002");
    assert_eq!(h.p.log().last_zxid(), committed, "the history is kept");
}
