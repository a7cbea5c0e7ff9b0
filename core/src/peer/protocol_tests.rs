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
    let outs = h.recv(4, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: ahead, counted: true });
    let received = "Trace(AckEpochReceived { sid: s3, from: s4, counted: true, current_epoch: 0, last_zxid: (0,5) })";
    assert_eq!(show(&outs), [received], "no abdication, and the observer counts for nothing");
    assert_eq!(h.p.status().state, ServerState::Leading);
    // Voter 1 completes the epoch quorum; the observer's tail is truncated to our history.
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
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
    assert_eq!(
        sends(&outs),
        [(2, Message::AckEpoch { epoch: 5, current_epoch: 4, last_zxid: Zxid::ZERO, counted: false })]
    );
}

/// Follower 1 synced in epoch 1 with (1,1) and (1,2) committed (applied).
fn follower_with_two_committed() -> H {
    let mut h = synced_follower(&[]);
    for c in 1..=2 {
        let outs = h.recv(3, proposal(Zxid::new(1, c)));
        h.persist_all(&outs);
    }
    h.recv(3, Message::Commit { epoch: 1, zxid: Zxid::new(1, 2) });
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
    let outs = h.recv(3, Message::Trunc { epoch: 2, to: Zxid::new(1, 1), entries: Vec::new() });
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

/// zab-notes Phase 2 and Liveness: a learner's sync may take longer than `init_limit` in all
/// (a large SNAP on a slow disk). While its own sync writes are in flight and the leader still
/// pings it, it waits; without either, `init_limit` of no progress ends it. (Before: a total
/// budget of `init_limit` from the start, so such a sync never finished: repeated elections.)
#[test]
fn a_learner_waiting_on_its_disk_stays_while_the_leader_pings() {
    let mut h = H::new(1, PersistedState::default(), &[]);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 1 });
    h.persist_all(&outs);
    let snapshot = Snapshot { zxid: Zxid::new(0, 0), tree: DataTree::new() };
    let mut writes = h.recv(3, Message::Snap { epoch: 1, snapshot: Box::new(snapshot), entries: Vec::new() });
    writes.extend(h.recv(3, Message::NewLeader { epoch: 1, zxid: Zxid::ZERO }));
    let init_ms = h.p.cfg.init_timeout().as_millis();
    for round in 1..=3 * init_ms / 50 {
        let outs = h.advance(50);
        assert_eq!(show(&outs), Vec::<String>::new(), "round {round}");
        let outs = h.recv(3, Message::Ping { epoch: 1, round });
        assert_eq!(sends(&outs), [(3, Message::PingAck { epoch: 1, round, sessions: Vec::new() })]);
    }
    let outs = h.persist_all(&writes);
    assert_eq!(sends(&outs), [(3, Message::AckNewLeader { epoch: 1 })]);
    // Synced, waiting for UpToDate while the leader waits for the rest of its quorum (a slow
    // disk elsewhere): the pings keep it, then a leader gone silent ends it init_limit later.
    for round in 100..100 + 3 * init_ms / 50 {
        let outs = h.advance(50);
        assert_eq!(show(&outs), Vec::<String>::new(), "round {round}");
        h.recv(3, Message::Ping { epoch: 1, round });
    }
    let outs = h.advance(init_ms + 50);
    assert!(show(&outs).iter().any(|l| l.starts_with("role FOLLOWING -> LOOKING: not synced")), "{outs:?}");
}

/// Pings alone keep no learner in sync that has nothing to do: one in Sync with no write in
/// flight and no NewLeader yet (its AckEpoch was "not counted" and the leader's epoch quorum
/// never comes) gives up `init_limit` after its last progress, pinged or not.
#[test]
fn a_learner_with_nothing_to_do_gives_up_though_pinged() {
    let mut h = H::new(1, epochs(1, 0), &[]);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 1 });
    assert_eq!(show(&outs), ["3 <- AckEpoch current=0 last=0x000000000 NOT-COUNTED"]);
    let init_ms = h.p.cfg.init_timeout().as_millis();
    let mut outs = Vec::new();
    for round in 1..=init_ms / 50 + 2 {
        outs.extend(h.advance(50));
        outs.extend(h.recv(3, Message::Ping { epoch: 1, round }));
    }
    assert!(show(&outs).iter().any(|l| l.starts_with("role FOLLOWING -> LOOKING: not synced")), "{outs:?}");
}

/// The leader's side: during Synchronization it pings every learner it sent the epoch, and a
/// learner it needs for its quorum that keeps answering keeps it waiting past `init_limit`.
/// (Before: no pings before Broadcast, and the leader gave up `init_limit` after it started.)
#[test]
fn a_leader_in_synchronization_pings_and_waits_for_a_learner_that_answers() {
    let mut h = leader_with_epoch(&[]);
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: true });
    h.persist_all(&outs);
    assert_eq!(h.p.status().phase, Phase::Synchronization);
    let init_ms = h.p.cfg.init_timeout().as_millis();
    let mut answered = 0;
    for _ in 0..3 * init_ms / 50 {
        let outs = h.advance(50);
        assert!(!show(&outs).iter().any(|l| l.starts_with("role")), "{outs:?}");
        for round in pings(&outs, 1) {
            h.recv(1, Message::PingAck { epoch: 1, round, sessions: Vec::new() });
            answered += 1;
        }
    }
    assert!(answered >= 2 * init_ms / 50, "pinged {answered} times");
    assert_eq!(h.p.status().phase, Phase::Synchronization);
    let outs = h.recv(1, Message::AckNewLeader { epoch: 1 });
    assert_eq!(h.p.status().phase, Phase::Broadcast, "{outs:?}");
}

/// The other side of the same rule: pings show a learner is alive, not that the epoch quorum
/// will come. Learners that promised our epoch to another leader answer "not counted" and then
/// answer every ping; the leader still ends its leadership `init_limit` after it began, so a
/// new election can pick a later epoch. (A sweep found this livelock in a first version of the
/// fix above, which took any voter's PingAck in Discovery for progress.)
#[test]
fn a_leader_in_discovery_gives_up_at_init_limit_though_its_learners_answer_pings() {
    let mut h = leader_with_epoch(&[]);
    h.recv(2, Message::FollowerInfo { accepted_epoch: 1, last_zxid: Zxid::ZERO });
    for s in [1, 2] {
        let ack = Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::ZERO, counted: false };
        h.recv(s, ack);
    }
    let init_ms = h.p.cfg.init_timeout().as_millis();
    let mut outs = Vec::new();
    for _ in 0..2 * init_ms / 50 {
        let step = h.advance(50);
        for s in [1, 2] {
            for round in pings(&step, s) {
                outs.extend(h.recv(s, Message::PingAck { epoch: 1, round, sessions: Vec::new() }));
            }
        }
        outs.extend(step);
        if h.p.status().state != ServerState::Leading {
            break;
        }
    }
    let limit = format!("role LEADING -> LOOKING: not synced with leader 3 within the init limit ({init_ms} ms)");
    assert!(show(&outs).contains(&limit), "{:?}", show(&outs));
}

/// Defence in depth (issue 14 §5): follower 1 committed (1,1)..(1,2), lost its leader and is
/// syncing with it again in epoch 2. A Proposal of epoch 1 still in a driver's queue (one that
/// delivered the old connection's messages after the new `Connected`) follows its last zxid,
/// so without the tag it would be logged and acked, a txn the new epoch may never have.
/// (Before: no epoch on Proposal, and the stale (1,3) was appended and acked.)
#[test]
fn a_proposal_of_another_epoch_is_dropped() {
    let mut h = follower_with_two_committed();
    h.feed(Input::Disconnected { peer: Sid(3) });
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 2 });
    h.persist_all(&outs);
    let Message::Proposal { entry, .. } = proposal(Zxid::new(1, 3)) else { unreachable!() };
    let outs = h.recv(3, Message::Proposal { epoch: 1, entry });
    assert_eq!(show(&outs), ["anomaly: Proposal of epoch 1 from 3, ours is Some(2): dropped"]);
    assert_eq!(h.p.log().last_zxid(), Zxid::new(1, 2));
    let outs = h.recv(3, Message::Ping { epoch: 1, round: 9 });
    assert_eq!(show(&outs), ["anomaly: Ping of epoch 1 from 3, ours is Some(2): dropped"], "not answered");
}

/// Confirmation rounds restart with each leadership, so a PingAck from an earlier session of
/// the same pair could confirm a sync round nobody answered: sync-then-read would then read a
/// stale leader's state. Tagged, it is dropped. (Before: the PingAck of round 1 confirmed it.)
#[test]
fn a_ping_ack_of_another_epoch_confirms_no_sync() {
    let mut h = established_leader();
    let (session, xid) = (SessionId(7), 3);
    let outs = h.recv(1, Message::Sync { epoch: 1, session, xid });
    let round = pings(&outs, 1)[0];
    let outs = h.recv(1, Message::PingAck { epoch: 0, round, sessions: Vec::new() });
    assert_eq!(show(&outs), ["anomaly: PingAck of epoch 0 from 1, ours is Some(1): dropped"]);
    let outs = h.recv(1, Message::PingAck { epoch: 1, round, sessions: Vec::new() });
    assert_eq!(sends(&outs), [(1, Message::SyncReply { epoch: 1, session, xid, zxid: Zxid::ZERO })]);
}

/// The leader counts no Ack of another epoch (its zxid may even match an outstanding one if
/// an old session of this leader proposed it).
#[test]
fn an_ack_of_another_epoch_is_not_counted() {
    let mut h = established_leader();
    let outs = h.recv(1, Message::Ack { epoch: 2, zxid: Zxid::new(1, 1) });
    assert_eq!(show(&outs), ["anomaly: Ack of epoch 2 from 1, ours is Some(1): dropped"]);
}
