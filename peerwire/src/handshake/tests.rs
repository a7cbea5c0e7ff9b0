use super::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn hello(sid: u64, nonce: u8) -> Hello {
    Hello { cluster: "c".into(), sid, role: Role::Voter, protocol_version: PROTOCOL_VERSION, nonce: [nonce; NONCE_LEN] }
}

/// Carry each message through bytes, as the wire does.
fn wire(m: Handshake) -> Handshake {
    Handshake::from_bytes(&m.to_bytes()).unwrap()
}

/// Dialer 3 (nonce `nd`, key `kd`) and acceptor 1 (nonce `na`, key `ka`): what each concludes.
fn run(kd: &[u8], ka: &[u8], nd: u8, na: u8) -> (Result<Hello, HandshakeError>, Option<Result<Hello, HandshakeError>>) {
    let (dialer, hi) = Dialer::new(hello(3, nd), 1);
    let (acceptor, challenge) = Acceptor::new(hello(1, na), wire(hi), ka).unwrap();
    match dialer.on_challenge(wire(challenge), kd) {
        Ok((peer, proof)) => (Ok(peer), Some(acceptor.on_proof(wire(proof)))),
        Err(e) => (Err(e), None),
    }
}

#[test]
fn same_key_authenticates_both_ways() {
    let (d, a) = run(KEY, KEY, 1, 2);
    assert_eq!(d.unwrap(), hello(1, 2));
    assert_eq!(a.unwrap().unwrap(), hello(3, 1));
}

#[test]
fn wrong_secret_is_refused_on_either_side() {
    let (d, a) = run(b"another secret, just as long....", KEY, 1, 2);
    assert_eq!(d, Err(HandshakeError::BadProof));
    assert!(a.is_none(), "the dialer stops before proving anything");
    // A dialer without the secret who sends a proof anyway.
    let (_, hi) = Dialer::new(hello(3, 1), 1);
    let (acceptor, _) = Acceptor::new(hello(1, 2), hi, KEY).unwrap();
    assert_eq!(acceptor.on_proof(Handshake::Proof([0; 32])), Err(HandshakeError::BadProof));
}

#[test]
fn replayed_dialer_proof_is_refused() {
    // A recorded good handshake...
    let (dialer, hi) = Dialer::new(hello(3, 1), 1);
    let (acceptor, challenge) = Acceptor::new(hello(1, 2), hi.clone(), KEY).unwrap();
    let (_, proof) = dialer.on_challenge(challenge, KEY).unwrap();
    assert!(acceptor.on_proof(proof.clone()).is_ok());
    // ...replayed against a fresh acceptor nonce.
    let (acceptor, _) = Acceptor::new(hello(1, 9), hi, KEY).unwrap();
    assert_eq!(acceptor.on_proof(proof), Err(HandshakeError::BadProof));
}

#[test]
fn replayed_acceptor_challenge_is_refused() {
    let (_, hi) = Dialer::new(hello(3, 1), 1);
    let (_, old) = Acceptor::new(hello(1, 2), hi, KEY).unwrap();
    let (dialer, _) = Dialer::new(hello(3, 5), 1);
    assert_eq!(dialer.on_challenge(old, KEY).unwrap_err(), HandshakeError::BadProof);
}

#[test]
fn reflected_proof_is_refused() {
    // A forger dials the acceptor and sends the acceptor's own proof back as its own.
    let (_, hi) = Dialer::new(hello(3, 1), 1);
    let (acceptor, challenge) = Acceptor::new(hello(1, 2), hi, KEY).unwrap();
    let Handshake::Challenge { proof, .. } = challenge else { panic!("a challenge") };
    assert_eq!(acceptor.on_proof(Handshake::Proof(proof)), Err(HandshakeError::BadProof));
}

#[test]
fn relayed_challenge_from_another_peer_is_refused() {
    // A man in the middle at sid 2's address passes the dialer's hello to sid 1 and the
    // answer back: the sid is wrong, and rewriting it breaks the proof.
    let (dialer, hi) = Dialer::new(hello(3, 1), 2);
    let (_, challenge) = Acceptor::new(hello(1, 7), hi, KEY).unwrap();
    let Handshake::Challenge { mut hello, proof } = challenge.clone() else { panic!("a challenge") };
    assert_eq!(dialer.on_challenge(challenge, KEY).unwrap_err(), HandshakeError::WrongSid { expected: 2, got: 1 });
    hello.sid = 2;
    let (dialer, _) = Dialer::new(self::hello(3, 1), 2);
    assert_eq!(dialer.on_challenge(Handshake::Challenge { hello, proof }, KEY).unwrap_err(), HandshakeError::BadProof);
}

#[test]
fn echoed_nonce_cluster_and_version_are_checked() {
    let (_, hi) = Dialer::new(hello(3, 4), 1);
    assert_eq!(Acceptor::new(hello(1, 4), hi, KEY).unwrap_err(), HandshakeError::EchoedNonce);
    let mut other = hello(3, 1);
    other.cluster = "d".into();
    let err = Acceptor::new(hello(1, 2), Handshake::Hello(other), KEY).unwrap_err();
    assert!(matches!(err, HandshakeError::Cluster { .. }), "{err}");
    let mut old = hello(3, 1);
    old.protocol_version = 1;
    let err = Acceptor::new(hello(1, 2), Handshake::Hello(old), KEY).unwrap_err();
    assert_eq!(err, HandshakeError::Version { ours: PROTOCOL_VERSION, theirs: 1 });
}

#[test]
fn out_of_order_and_refusals_are_errors() {
    let (dialer, _) = Dialer::new(hello(3, 1), 1);
    let refused = Handshake::Refused { reason: "no".into() };
    assert_eq!(dialer.on_challenge(refused, KEY).unwrap_err(), HandshakeError::RefusedByPeer("no".into()));
    assert_eq!(
        Acceptor::new(hello(1, 2), Handshake::Proof([1; 32]), KEY).unwrap_err(),
        HandshakeError::Unexpected("Proof")
    );
    let big = Handshake::Refused { reason: "x".repeat(MAX_HANDSHAKE) }.to_bytes();
    assert!(matches!(Handshake::from_bytes(&big), Err(WireError::Oversize { .. })));
    assert!(matches!(Handshake::from_bytes(b"{\"cluster\":\"c\"}"), Err(WireError::Malformed(_))));
}
