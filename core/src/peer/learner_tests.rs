//! Handler tests at the learner (openraft style: an exact state, one input, the whole output
//! list), each citing the rule it checks in zab-notes.md.

use super::*;
use crate::sim::script::seeded_entry;

fn z(e: u32, c: u32) -> Zxid {
    Zxid::new(e, c)
}

/// Learner `sid` of `members` at epoch 1 with an empty log, told epoch 2 by leader 3 (its
/// AckEpoch sent).
fn syncing(sid: u64, members: Membership) -> H {
    let observer = !members.is_voter(Sid(sid));
    let mut h = H::with(sid, members, epochs(1, 1), &[]);
    if observer {
        // Observers never vote: they join the leader a quorum reports (FLE's checkLeader).
        let vote = Vote { leader: Sid(3), zxid: Zxid::ZERO, peer_epoch: 1 };
        for (s, state) in [(1, ServerState::Following), (3, ServerState::Leading)] {
            h.recv(s, Message::Notification { state, vote, round: 1 });
        }
        assert_eq!(h.p.status().state, ServerState::Observing);
    } else {
        h.elect(3);
    }
    let outs = h.recv(3, Message::LeaderInfo { epoch: 2 });
    let outs = h.persist_all(&outs);
    assert!(matches!(sends(&outs)[..], [(3, Message::AckEpoch { epoch: 2, counted: true, .. })]));
    h
}

fn entry(z: Zxid) -> Message {
    Message::Proposal { epoch: 2, entry: seeded_entry(z) }
}

/// ZOOKEEPER-4394 and protocol-spec issue 3 (zab-notes Phase 2): the DIFF holds a committed
/// (1,1) and the leader's uncommitted (1,2); a proposal (2,1) and the commit of (2,1) arrive
/// after NewLeader, before UpToDate. The learner keeps the proposal, notes the commit without
/// applying it (it is not serving yet), acks (2,1) only after Ack(NewLeader), and UpToDate
/// commits up to the later of its own zxid and the noted commit, never past what it logged.
#[test]
fn up_to_date_commits_to_its_zxid_or_the_commit_seen_during_sync() {
    let mut h = syncing(1, Membership::numbered(3, 0));
    let diff = h.recv(3, Message::Diff { epoch: 2, entries: vec![seeded_entry(z(1, 1)), seeded_entry(z(1, 2))] });
    assert_eq!(show(&diff)[2..], ["persist append 0x100000001..0x100000002 (2)"]);
    let nl = h.recv(3, Message::NewLeader { epoch: 2, zxid: z(1, 2) });
    assert_eq!(show(&nl), ["persist current_epoch=2", "Trace(CurrentEpochSet { sid: s1, epoch: 2 })"]);
    let p = h.recv(3, entry(z(2, 1)));
    assert_eq!(show(&p), ["Trace(Logged { sid: s1, zxid: (2,1) })", "persist append 0x200000001"], "no Ack yet");
    let nothing: [String; 0] = [];
    assert_eq!(show(&h.recv(3, Message::Commit { epoch: 2, zxid: z(2, 1) })), nothing, "noted, not applied");
    let outs = h.persist_all(&p);
    assert_eq!(sends(&outs), [(3, Message::AckNewLeader { epoch: 2 }), (3, Message::Ack { epoch: 2, zxid: z(2, 1) })]);
    let outs = h.recv(3, Message::UpToDate { epoch: 2, committed: z(1, 1) });
    let shown = show(&outs);
    assert_eq!(shown[0], "Trace(UpToDate { sid: s1, committed: (2,1) })");
    let applied: Vec<&String> = shown.iter().filter(|l| l.starts_with("Trace(Applied")).collect();
    assert_eq!(applied.len(), 3, "(1,1), (1,2) and (2,1): {shown:?}");
    assert_eq!(shown.last().unwrap(), "Trace(Committed { sid: s1, zxid: (2,1) })");
    assert!(h.p.status().serving);

    // UpToDate's own zxid ahead of every commit seen: it wins.
    let mut h = syncing(1, Membership::numbered(3, 0));
    let diff = h.recv(3, Message::Diff { epoch: 2, entries: vec![seeded_entry(z(1, 1)), seeded_entry(z(1, 2))] });
    h.persist_all(&diff);
    let nl = h.recv(3, Message::NewLeader { epoch: 2, zxid: z(1, 2) });
    h.persist_all(&nl);
    h.recv(3, Message::UpToDate { epoch: 2, committed: z(1, 2) });
    assert_eq!(h.p.status().last_committed, z(1, 2));
}

/// zab-notes Phase 3 and G5: a Commit beyond the last logged zxid, like a proposal after a
/// gap, means messages were lost: resync rather than guess.
#[test]
fn a_commit_beyond_the_log_resyncs() {
    let mut h = syncing(1, Membership::numbered(3, 0));
    let nl = h.recv(3, Message::NewLeader { epoch: 2, zxid: Zxid::ZERO });
    h.persist_all(&nl);
    h.recv(3, Message::UpToDate { epoch: 2, committed: Zxid::ZERO });
    let outs = h.recv(3, Message::Commit { epoch: 2, zxid: z(2, 1) });
    let shown = show(&outs);
    assert_eq!(shown[0], "anomaly: commit 0x200000001 beyond last logged 0x000000000");
    assert!(shown.contains(&"disconnect 3".to_string()), "{shown:?}");
    assert_eq!(h.p.status().state, ServerState::Looking);
}

/// zab-notes "Observers": an observer syncs like a follower and acknowledges NewLeader (the
/// leader needs it to send UpToDate), but never acks a txn; in broadcast it learns committed
/// txns by Inform, logging and applying each; an Inform after a gap resyncs.
#[test]
fn an_observer_learns_by_inform_and_never_acks() {
    let mut h = syncing(4, Membership::numbered(3, 1));
    let nl = h.recv(3, Message::NewLeader { epoch: 2, zxid: Zxid::ZERO });
    let outs = h.persist_all(&nl);
    assert_eq!(sends(&outs), [(3, Message::AckNewLeader { epoch: 2 })]);
    h.recv(3, Message::UpToDate { epoch: 2, committed: Zxid::ZERO });
    let outs = h.recv(3, Message::Inform { epoch: 2, entry: seeded_entry(z(2, 1)) });
    let shown = show(&outs);
    assert_eq!(shown[..2], ["Trace(Logged { sid: s4, zxid: (2,1) })", "persist append 0x200000001"]);
    assert_eq!(shown.last().unwrap(), "Trace(Committed { sid: s4, zxid: (2,1) })");
    let outs = h.persist_all(&outs);
    assert_eq!(sends(&outs), [], "no Ack from an observer");
    let outs = h.recv(3, Message::Inform { epoch: 2, entry: seeded_entry(z(2, 3)) });
    assert_eq!(show(&outs)[0], "anomaly: gap: inform 0x200000003 after 0x200000001");
    assert_eq!(h.p.status().state, ServerState::Looking);
}

/// Found by the fuzz target `peer_step`: sync entries out of zxid order (a DIFF of (1,2) then
/// (1,1)) panicked the learner in `Log::append` in debug builds, and in release would have
/// logged them out of order, leaving a log segment that no longer opens. No honest leader
/// sends them: the learner refuses the stream and resyncs through an election, with nothing
/// logged or persisted.
#[test]
fn sync_entries_out_of_zxid_order_are_refused_not_logged() {
    let backwards = || vec![seeded_entry(z(1, 2)), seeded_entry(z(1, 1))];
    let snapshot = Box::new(crate::message::Snapshot { zxid: Zxid::ZERO, tree: DataTree::new() });
    for msg in [
        Message::Diff { epoch: 2, entries: backwards() },
        Message::Trunc { epoch: 2, to: Zxid::ZERO, entries: backwards() },
        Message::Snap { epoch: 2, snapshot, entries: backwards() },
    ] {
        let kind = msg.kind();
        let mut h = syncing(1, Membership::numbered(3, 0));
        let outs = h.recv(3, msg);
        assert!(!show(&outs).iter().any(|l| l.starts_with("persist")), "{kind:?}: {outs:?}");
        assert_eq!(h.p.log().last_zxid(), Zxid::ZERO, "{kind:?}");
        assert_eq!(h.p.status().state, ServerState::Looking, "{kind:?}: resyncs through an election");
    }
}

/// With `a_log_newer_than_the_accepted_epoch_is_refused_at_start` (core/tests/script_limits.rs):
/// a leader of epoch 2 sending entries of epoch 7 would leave this learner, once elected
/// itself, proposing zxids below its own history (`Log::append` panicked). Refused, and the
/// learner resyncs with nothing logged.
#[test]
fn entries_after_the_leaders_epoch_are_refused_not_logged() {
    for msg in [
        Message::Diff { epoch: 2, entries: vec![seeded_entry(z(7, 1))] },
        Message::Proposal { epoch: 2, entry: seeded_entry(z(7, 1)) },
        Message::Inform { epoch: 2, entry: seeded_entry(z(7, 1)) },
    ] {
        let kind = msg.kind();
        let mut h = syncing(1, Membership::numbered(3, 0));
        let outs = h.recv(3, msg);
        assert!(!show(&outs).iter().any(|l| l.starts_with("persist")), "{kind:?}: {outs:?}");
        assert_eq!(h.p.log().last_zxid(), Zxid::ZERO, "{kind:?}");
        assert_eq!(h.p.status().state, ServerState::Looking, "{kind:?}");
    }
}
