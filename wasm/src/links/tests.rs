//! The connection layer alone: two or three `Links` on one in-memory bus.

use super::*;
use zabra_core::config::Membership;
use zabra_core::message::{Message, MsgId};

fn links(sid: u64, inc: u64, secret: &[u8]) -> Links {
    let mut n = sid * 1000 + inc;
    let nonce = Box::new(move || {
        n += 1;
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b
    });
    Links::new(End { sid, inc }, "demo", secret.to_vec(), &Membership::numbered(3, 0), LinkTimings::default(), nonce)
}

/// Delivers every posted message to every other `Links` (a BroadcastChannel), until quiet.
fn pump(all: &mut [Links], now: Millis) {
    for _ in 0..100 {
        let posted: Vec<(usize, BusMsg)> =
            all.iter_mut().enumerate().flat_map(|(i, l)| l.take_outgoing().into_iter().map(move |m| (i, m))).collect();
        if posted.is_empty() {
            return;
        }
        for (from, m) in posted {
            for (i, l) in all.iter_mut().enumerate() {
                if i != from {
                    l.on_bus(now, m.clone());
                }
            }
        }
    }
    panic!("the bus never went quiet");
}

fn tick(all: &mut [Links], now: Millis) {
    for l in all.iter_mut() {
        l.on_timer(now);
    }
    pump(all, now);
}

fn ping(from: u64) -> Envelope {
    Envelope { id: MsgId { from: Sid(from), seq: 1 }, msg: Message::Ping { epoch: 0, round: 1 } }
}

#[test]
fn three_tabs_connect_each_pair_once_and_carry_messages_in_order() {
    let mut all = [links(1, 1, b"k"), links(2, 1, b"k"), links(3, 1, b"k")];
    tick(&mut all, 0.0);
    tick(&mut all, 300.0);
    let ups: Vec<Vec<LinkEvent>> = all.iter_mut().map(|l| l.take_events()).collect();
    assert_eq!(ups[0], vec![LinkEvent::Up(Sid(2)), LinkEvent::Up(Sid(3))]);
    assert_eq!(ups[1], vec![LinkEvent::Up(Sid(1)), LinkEvent::Up(Sid(3))]);
    assert_eq!(ups[2].len(), 2);
    for k in 0..3u64 {
        assert!(all[2].send(Sid(1), &Envelope { id: MsgId { from: Sid(3), seq: k + 1 }, ..ping(3) }));
    }
    pump(&mut all, 310.0);
    let got: Vec<u64> = all[0]
        .take_events()
        .into_iter()
        .map(|e| match e {
            LinkEvent::Message(Sid(3), env) => env.id.seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, vec![1, 2, 3]);
    assert!(all[1].take_events().is_empty(), "a message for 1 never reaches 2");
}

#[test]
fn a_tab_without_the_secret_never_connects() {
    let mut all = [links(1, 1, b"right"), links(2, 1, b"wrong")];
    for t in 0..10 {
        tick(&mut all, t as f64 * 300.0);
    }
    assert!(all.iter_mut().all(|l| l.take_events().is_empty()), "no connection reaches the core");
    assert!(all[1].refusals.get(&1).is_some_and(|r| r.contains("proof")), "{:?}", all[1].refusals);
    assert!(!all[0].send(Sid(2), &ping(1)));
}

#[test]
fn a_silent_tab_is_disconnected_in_bounded_time_and_a_reloaded_one_replaces_it() {
    let mut all = vec![links(1, 1, b"k"), links(2, 1, b"k")];
    tick(&mut all, 0.0);
    tick(&mut all, 300.0);
    all.iter_mut().for_each(|l| drop(l.take_events()));
    // Tab 2 goes away without a word: 1 hears nothing more.
    all.pop();
    let dead_after = LinkTimings::default().dead_after;
    tick(&mut all, 300.0 + dead_after / 2.0);
    assert!(all[0].take_events().is_empty(), "not yet");
    tick(&mut all, 300.0 + dead_after + 300.0);
    assert_eq!(all[0].take_events(), vec![LinkEvent::Down(Sid(2))]);
    // Tab 2 reloads (a new incarnation) and connects again.
    all.push(links(2, 2, b"k"));
    let t = 400.0 + dead_after + 300.0;
    tick(&mut all, t);
    tick(&mut all, t + 300.0);
    assert_eq!(all[0].take_events(), vec![LinkEvent::Up(Sid(2))]);
}

#[test]
fn bye_and_a_new_incarnation_end_the_connection_at_once() {
    let mut all = vec![links(1, 1, b"k"), links(2, 1, b"k")];
    tick(&mut all, 0.0);
    tick(&mut all, 300.0);
    all.iter_mut().for_each(|l| drop(l.take_events()));
    // Tab 2's page goes away and says so.
    all[0].on_bus(310.0, BusMsg::Bye { from: End { sid: 2, inc: 1 } });
    assert_eq!(all[0].take_events(), vec![LinkEvent::Down(Sid(2))]);
    all[1] = links(2, 2, b"k");
    tick(&mut all, 600.0);
    tick(&mut all, 900.0);
    assert_eq!(all[0].take_events(), vec![LinkEvent::Up(Sid(2))], "the reloaded 2 connects");
    // A beacon of yet another incarnation of 2: the connection with the old one is over.
    all[0].on_bus(950.0, BusMsg::Beacon { from: End { sid: 2, inc: 9 } });
    assert_eq!(all[0].take_events(), vec![LinkEvent::Down(Sid(2))]);
}

#[test]
fn a_gap_in_the_chunks_breaks_the_connection() {
    let mut all = [links(1, 1, b"k"), links(2, 1, b"k")];
    tick(&mut all, 0.0);
    tick(&mut all, 300.0);
    all.iter_mut().for_each(|l| drop(l.take_events()));
    let chunk = zabra_peerwire::frames(&zabra_peerwire::encode(&ping(2)).unwrap()).remove(0);
    all[0].on_bus(310.0, BusMsg::Data { from: End { sid: 2, inc: 1 }, to: End { sid: 1, inc: 1 }, seq: 5, chunk });
    assert_eq!(all[0].take_events(), vec![LinkEvent::Down(Sid(2))]);
    assert!(matches!(all[0].take_outgoing().as_slice(), [BusMsg::Close { .. }]));
}

#[test]
fn strangers_and_messages_for_others_are_ignored() {
    let mut l = links(1, 1, b"k");
    l.on_bus(0.0, BusMsg::Beacon { from: End { sid: 9, inc: 1 } });
    let other = End { sid: 1, inc: 2 };
    l.on_bus(0.0, BusMsg::Close { from: End { sid: 2, inc: 1 }, to: other });
    assert_eq!(l.peers(), vec![]);
}

/// Browser members of a native cluster: links keyed per pair (`zabra_peerwire::bus_key`).
fn keyed(sid: u64, keys: &[(u64, [u8; 32])]) -> Links {
    let mut l = links(sid, 1, b"");
    l.use_pair_keys(keys.iter().map(|(s, k)| (*s, k.to_vec())).collect());
    l
}

#[test]
fn browser_members_connect_with_their_pair_keys_and_a_member_cannot_pose_as_another() {
    let secret = b"secret-secret-secret-secret-1234";
    let k = |a, b| zabra_peerwire::bus_key(secret, "demo", a, b);
    let mut all = [keyed(1, &[(2, k(1, 2)), (3, k(1, 3))]), keyed(2, &[(1, k(1, 2)), (3, k(2, 3))])];
    tick(&mut all, 0.0);
    tick(&mut all, 300.0);
    assert_eq!(all[0].take_events(), vec![LinkEvent::Up(Sid(2))]);
    assert_eq!(all[1].take_events(), vec![LinkEvent::Up(Sid(1))]);
    // Member 3 knows the keys of its own pairs only: posing as 1 to 2, it is refused.
    let mut forged = [keyed(1, &[(2, k(2, 3))]), keyed(2, &[(1, k(1, 2))])];
    for t in 0..10 {
        tick(&mut forged, t as f64 * 300.0);
    }
    assert!(forged.iter_mut().all(|l| l.take_events().is_empty()), "no forged connection reaches the core");
    assert!(forged[1].refusals.get(&1).is_some_and(|r| r.contains("proof")), "{:?}", forged[1].refusals);
    // A peer with no key (or an empty one) is no member: nothing is even dialled, so the
    // empty shared secret these links were made with is never a key.
    let mut keyless = [keyed(1, &[]), links(2, 1, b"")];
    keyless[1].use_pair_keys([(1, Vec::new())].into());
    for t in 0..10 {
        tick(&mut keyless, t as f64 * 300.0);
    }
    assert!(keyless.iter_mut().all(|l| l.take_events().is_empty()));
}
