//! The peer handshake from both sides, with the input as the other side's messages (cut by
//! `zabra_fuzz::pieces`). Beyond "no panic": a proof is accepted exactly when it is the one
//! an honest peer holding the key would have sent for these two hellos, and every message
//! read re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_fuzz::{hello as me, HANDSHAKE_KEY as KEY};
use zabra_peerwire::{Acceptor, Dialer, Handshake};

fn read(bytes: Option<&&[u8]>) -> Option<Handshake> {
    let m = Handshake::from_bytes(bytes?).ok()?;
    assert_eq!(Handshake::from_bytes(&m.to_bytes()).as_ref(), Ok(&m));
    Some(m)
}

fuzz_target!(|data: &[u8]| {
    let msgs = zabra_fuzz::pieces(data);
    // As the acceptor (sid 1): their Hello, then their Proof.
    if let Some(hello) = read(msgs.first()) {
        let peer = Acceptor::hello_of(&hello).ok().cloned();
        if let (Ok((acceptor, challenge)), Some(peer)) = (Acceptor::new(me(1, 1), hello, KEY), peer) {
            if let Some(proof) = read(msgs.get(1)) {
                let honest = Dialer::new(peer.clone(), 1).0.on_challenge(challenge, KEY).map(|(_, p)| p);
                let accepted = acceptor.on_proof(proof.clone());
                assert_eq!(accepted.is_ok(), honest.as_ref() == Ok(&proof), "{accepted:?}");
            }
        }
    }
    // As the dialer (sid 1 dialling 2): their Challenge (the last message).
    if let Some(challenge) = read(msgs.last()) {
        let (dialer, hello) = Dialer::new(me(1, 1), 2);
        let honest = match &challenge {
            Handshake::Challenge { hello: theirs, .. } => {
                Acceptor::new(theirs.clone(), hello, KEY).ok().map(|(_, c)| c)
            }
            _ => None,
        };
        let accepted = dialer.on_challenge(challenge.clone(), KEY);
        if accepted.is_ok() {
            assert_eq!(honest.as_ref(), Some(&challenge), "a forged challenge was accepted");
        }
    }
});
