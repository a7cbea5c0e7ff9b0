use super::*;
use zabra_core::message::{Message, MsgId};
use zabra_peerwire::Acceptor;

const TOKEN: &str = "join-token-of-sid-4";

fn links() -> WsLinks {
    let natives = [(1, "ws://n1/peer".to_string()), (2, "ws://n2/peer".to_string())].into_iter().collect();
    let mut n = 0u8;
    WsLinks::new(
        4,
        false,
        "c",
        TOKEN,
        natives,
        WsTimings::default(),
        Box::new(move || {
            n += 1;
            [n; 32]
        }),
    )
}

fn node_hello(sid: u64) -> Hello {
    Hello { cluster: "c".into(), sid, role: Role::Voter, protocol_version: PROTOCOL_VERSION, nonce: [200; 32] }
}

fn sent(cmds: &[WsCmd]) -> Vec<Vec<u8>> {
    cmds.iter().filter_map(|c| if let WsCmd::Send { bytes, .. } = c { Some(bytes.clone()) } else { None }).collect()
}

/// Opens the socket to node 1 and answers the hello as the node would, keyed by `key`:
/// the acceptor (to check the tab's proof) and the commands the tab gave.
fn handshake(l: &mut WsLinks, key: &[u8]) -> (Acceptor, Vec<WsCmd>) {
    l.on_timer(0.0);
    let cmds = l.take_cmds();
    assert!(matches!(&cmds[0], WsCmd::Open { sid: 1, conn: 1, url } if url == "ws://n1/peer"), "{cmds:?}");
    assert!(matches!(&cmds[1], WsCmd::Open { sid: 2, .. }), "every native node is dialled: {cmds:?}");
    l.on_open(1.0, 1, 1);
    let hello = Handshake::from_bytes(&sent(&l.take_cmds())[0]).unwrap();
    let (acceptor, challenge) = Acceptor::new(node_hello(1), hello, key).unwrap();
    l.on_message(2.0, 1, 1, &challenge.to_bytes());
    (acceptor, l.take_cmds())
}

#[test]
fn the_join_token_authenticates_and_envelopes_flow_both_ways() {
    let mut l = links();
    let (acceptor, cmds) = handshake(&mut l, TOKEN.as_bytes());
    let proof = Handshake::from_bytes(&sent(&cmds)[0]).unwrap();
    assert_eq!(acceptor.on_proof(proof).unwrap().sid, 4, "the node accepts the tab's proof");
    assert_eq!(l.take_events(), vec![LinkEvent::Up(Sid(1))]);
    assert_eq!(l.peers(), vec![(1, true), (2, false)]);
    let env = Envelope { id: MsgId { from: Sid(1), seq: 1 }, msg: Message::Ping { epoch: 1, round: 2 } };
    let frame = zabra_peerwire::frames(&zabra_peerwire::encode(&env).unwrap()).remove(0);
    l.on_message(3.0, 1, 1, &frame);
    assert_eq!(l.take_events(), vec![LinkEvent::Message(Sid(1), env.clone())]);
    assert!(l.send(Sid(1), &env));
    assert_eq!(sent(&l.take_cmds()), vec![frame]);
    assert!(!l.send(Sid(2), &env), "no connection with node 2 yet");
    l.on_closed(4.0, 1, 1);
    assert_eq!(l.take_events(), vec![LinkEvent::Down(Sid(1))]);
    assert_eq!(l.next_wake(), 4.0 + WsTimings::default().redial_min.min(5_000.0));
}

#[test]
fn a_wrong_token_is_refused_with_a_reason_and_never_reaches_the_core() {
    let mut l = links();
    let (_, cmds) = handshake(&mut l, b"another token");
    assert!(matches!(Handshake::from_bytes(&sent(&cmds)[0]).unwrap(), Handshake::Refused { .. }));
    assert!(matches!(cmds.last(), Some(WsCmd::Close { conn: 1 })), "{cmds:?}");
    assert!(l.take_events().is_empty());
    assert!(l.refusals[&1].contains("token is wrong"), "{}", l.refusals[&1]);
    // Redialled later, with a new socket; late events of the old one are ignored.
    l.on_message(3.0, 1, 1, b"late");
    l.on_timer(2.0 + 100.0);
    assert!(matches!(l.take_cmds().as_slice(), [WsCmd::Open { sid: 1, conn: 3, .. }]));
}

#[test]
fn a_refusal_from_the_node_is_shown_as_such() {
    let mut l = links();
    l.on_timer(0.0);
    l.take_cmds();
    l.on_open(1.0, 2, 2);
    l.take_cmds();
    let refused = Handshake::Refused { reason: "sid 4 is a Observer here, not a Voter".into() };
    l.on_message(2.0, 2, 2, &refused.to_bytes());
    assert!(l.refusals[&2].starts_with("refused by node 2: sid 4 is a Observer"), "{}", l.refusals[&2]);
    assert_eq!(l.take_cmds(), vec![WsCmd::Close { conn: 2 }]);
}
