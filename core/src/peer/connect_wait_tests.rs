//! A connect that arrives while the peer is not serving waits for service (up to the init
//! limit) instead of being refused: after a leader's crash, the client's back-off between
//! refused connects, not the election, was most of the time to its first write.

use super::serving_tests::{new_session, One};
use super::*;
use crate::config::Membership;
use crate::time::Duration;

fn connected(outs: &[Output], conn: u64) -> Option<Result<SessionGrant, ErrorCode>> {
    outs.iter().find_map(|o| match o {
        Output::Connected { conn: c, result } if *c == ConnId(conn) => Some(result.clone()),
        _ => None,
    })
}

/// A peer of `voters` voters that has just started (LOOKING; the others never answer).
fn looking(voters: u64) -> One {
    let cfg = Config::new(Sid(1), Membership::numbered(voters, 0));
    let mut p = Peer::new(cfg, Now::default()).expect("valid");
    let outs = p.take_outputs();
    let mut one = One { p, now: Now::default(), next_xid: 1 };
    one.settle(outs);
    assert!(!one.p.serving());
    one
}

/// Steps the peer's timers until `until`, settling persists; every output seen.
fn run_until(one: &mut One, until: crate::time::Instant) -> Vec<Output> {
    let mut all = Vec::new();
    for _ in 0..1000 {
        let Some(at) = one.p.next_deadline() else { break };
        if at > until {
            break;
        }
        one.now.instant = at.max(one.now.instant);
        let outs = one.p.step(one.now, Input::Timeout);
        all.extend(one.settle(outs));
    }
    all
}

#[test]
fn a_connect_during_the_election_waits_and_is_granted_once_serving() {
    let mut one = looking(1);
    let outs = one.feed(Input::ClientConnected { conn: ConnId(9), req: new_session("10.0.0.9", Some(&[1; 16])) });
    assert_eq!(connected(&outs, 9), None, "not refused while the election runs: {outs:?}");
    let until = one.now.instant + one.p.cfg.init_timeout();
    let all = run_until(&mut one, until);
    assert!(one.p.serving(), "a single voter leads alone");
    let grant = connected(&all, 9).expect("answered once serving").expect("granted");
    assert!(one.p.tree().session(grant.session).is_some(), "its createSession committed");
}

#[test]
fn a_connect_waits_at_most_the_init_limit_then_is_refused() {
    let mut one = looking(3);
    let t0 = one.now.instant;
    let outs = one.feed(Input::ClientConnected { conn: ConnId(9), req: new_session("10.0.0.9", Some(&[1; 16])) });
    assert_eq!(connected(&outs, 9), None);
    let limit = one.p.cfg.init_timeout().min(super::session::CONNECT_WAIT);
    let early = run_until(&mut one, t0 + Duration(limit.0 - 10_000));
    assert_eq!(connected(&early, 9), None, "still waiting before the limit");
    let late = run_until(&mut one, t0 + limit + Duration::from_millis(10));
    assert_eq!(connected(&late, 9), Some(Err(ErrorCode::ConnectionLoss)), "refused at the limit");
    assert!(!one.p.serving(), "no quorum: still looking");
}

/// With a long init limit (`zabra cluster` uses 100 ticks, for large SNAPs) the wait is
/// capped: a peer cut off from its quorum sends clients on within CONNECT_WAIT.
#[test]
fn the_wait_is_capped_whatever_the_init_limit() {
    let cfg = {
        let mut c = Config::new(Sid(1), Membership::numbered(3, 0));
        c.init_limit = 100;
        c
    };
    let mut p = Peer::new(cfg, Now::default()).expect("valid");
    let outs = p.take_outputs();
    let mut one = One { p, now: Now::default(), next_xid: 1 };
    one.settle(outs);
    let t0 = one.now.instant;
    one.feed(Input::ClientConnected { conn: ConnId(9), req: new_session("10.0.0.9", Some(&[1; 16])) });
    let late = run_until(&mut one, t0 + super::session::CONNECT_WAIT + Duration::from_millis(10));
    assert_eq!(connected(&late, 9), Some(Err(ErrorCode::ConnectionLoss)), "refused at the cap, not after 10 s");
}

#[test]
fn a_waiting_connect_whose_connection_closed_is_forgotten() {
    let mut one = looking(1);
    one.feed(Input::ClientConnected { conn: ConnId(9), req: new_session("10.0.0.9", Some(&[1; 16])) });
    one.feed(Input::ClientClosed { conn: ConnId(9) });
    let until = one.now.instant + one.p.cfg.init_timeout();
    let all = run_until(&mut one, until);
    assert!(one.p.serving());
    assert_eq!(connected(&all, 9), None, "no session made for a connection that is gone");
    assert_eq!(one.p.tree().sessions().count(), 0);
}
