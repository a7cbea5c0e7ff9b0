//! Every move to LOOKING says why (`RoleChanged.reason`, which the node logs at info level):
//! one handler test per reason, each putting a peer in the state that leads there.

use super::*;
use crate::peer::serving_tests::{new_session, One};
use crate::trace::LookingReason;

/// The reason of the move to LOOKING among `outs` (there must be exactly one).
fn reason(outs: &[Output]) -> LookingReason {
    let mut found = outs.iter().filter_map(|o| match o {
        Output::Trace(TraceEvent::RoleChanged { to: ServerState::Looking, reason, .. }) => {
            Some(reason.clone().expect("a move to LOOKING carries its reason"))
        }
        _ => None,
    });
    let r = found.next().unwrap_or_else(|| panic!("no move to LOOKING in {outs:?}"));
    assert!(found.next().is_none(), "one move to LOOKING");
    r
}

#[test]
fn started() {
    let cfg = Config::new(Sid(1), Membership::numbered(3, 0));
    let mut p = Peer::new(cfg, now(0)).expect("valid");
    assert_eq!(reason(&p.take_outputs()), LookingReason::Started);
}

/// zab-notes Phase 3: a follower that hears nothing from its leader within the sync limit
/// gives up on it (ZooKeeper's learner socket timeout).
#[test]
fn leader_silent_for_the_sync_limit() {
    let mut h = synced_follower(&[]);
    let outs = h.wait(600);
    let limit_ms = h.p.cfg.sync_timeout().as_millis();
    assert_eq!(reason(&outs), LookingReason::LeaderSilent { leader: Sid(3), silent_ms: limit_ms, limit_ms });
    assert_eq!(reason(&outs).to_string(), "leader 3 silent for 500 ms (sync limit 500 ms)");
}

#[test]
fn connection_to_the_leader_closed() {
    let mut h = synced_follower(&[]);
    let outs = h.feed(Input::Disconnected { peer: Sid(3) });
    assert_eq!(reason(&outs), LookingReason::LeaderDisconnected { leader: Sid(3) });
}

/// A leader that loses its only synced follower has no quorum left and steps down.
#[test]
fn quorum_lost_when_a_follower_goes() {
    let mut h = established_leader();
    let outs = h.feed(Input::Disconnected { peer: Sid(1) });
    let r = reason(&outs);
    let after = Some("learner 1 dropped: connection closed".to_string());
    assert_eq!(r, LookingReason::QuorumLost { synced: vec![Sid(3)], quorum: 2, after });
    assert_eq!(r.to_string(), "quorum lost: synced voters [3], 2 needed, after learner 1 dropped: connection closed");
}

/// A learner kept busy by pings but never synced gives up after the init limit; so does a
/// leader that never gets its quorum synced.
#[test]
fn init_limit_for_learner_and_leader() {
    let mut h = H::new(1, PersistedState::default(), &[]);
    h.elect(3);
    let mut outs = Vec::new();
    for round in 1..=4 {
        outs.extend(h.wait(300));
        h.now.instant = h.now.instant + Duration::from_millis(300);
        outs.extend(h.recv(3, Message::Ping { epoch: 1, round }));
    }
    let limit_ms = h.p.cfg.init_timeout().as_millis();
    assert_eq!(reason(&outs), LookingReason::InitLimit { leader: Sid(3), limit_ms });

    let mut h = leader_with_epoch(&[]);
    let outs = h.wait(1_100);
    assert_eq!(reason(&outs), LookingReason::InitLimit { leader: Sid(3), limit_ms });
}

#[test]
fn abdicated_for_a_learner_ahead() {
    let mut h = leader_with_epoch(&[]);
    let outs = h.recv(1, Message::AckEpoch { epoch: 1, current_epoch: 0, last_zxid: Zxid::new(0, 5), counted: true });
    assert_eq!(reason(&outs), LookingReason::Abdicated { because: Sid(1) });
}

#[test]
fn stale_epoch_from_the_leader() {
    let mut h = H::new(1, epochs(5, 4), &[]);
    h.elect(3);
    let outs = h.recv(3, Message::LeaderInfo { epoch: 4 });
    assert_eq!(reason(&outs), LookingReason::StaleEpoch { leader: Sid(3), epoch: 4, accepted: 5 });
}

#[test]
fn lost_messages_show_as_a_gap() {
    let mut h = synced_follower(&[]);
    let outs = h.recv(3, proposal(Zxid::new(1, 2)));
    let what = format!("gap: proposal {} after {}", Zxid::new(1, 2), Zxid::ZERO);
    assert_eq!(reason(&outs), LookingReason::LostMessages { leader: Sid(3), what });
}

/// ZOOKEEPER-1277: the last counter of an epoch is never used; the leader starts a new epoch.
#[test]
fn zxid_counter_exhausted() {
    let mut one = One::serving_with(|c| c.first_counter = u32::MAX - 1);
    let outs = one.feed(Input::ClientConnected { conn: ConnId(1), req: new_session("10.0.0.1", Some(&[1; 16])) });
    let outs = one.settle(outs);
    assert!(outs.iter().any(|o| matches!(o, Output::Connected { result: Ok(_), .. })), "the last usable zxid");
    let outs = one.feed(Input::ClientConnected { conn: ConnId(2), req: new_session("10.0.0.2", Some(&[2; 16])) });
    let last = one.p.log().last_zxid();
    assert_eq!(reason(&outs), LookingReason::ZxidExhausted { last });
}

/// A leader whose only follower falls silent drops it at the sync limit, then has no quorum.
#[test]
fn quorum_lost_when_a_follower_falls_silent() {
    let mut h = established_leader();
    let outs = h.wait(700);
    let after = Some("learner 1 dropped: silent beyond the sync limit".to_string());
    assert_eq!(reason(&outs), LookingReason::QuorumLost { synced: vec![Sid(3)], quorum: 2, after });
}
