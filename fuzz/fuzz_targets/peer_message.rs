//! The peer port after the handshake: WebSocket binary messages (the input, cut by
//! `zabra_fuzz::pieces`) through the `Reassembler` under a cap, each whole message decoded
//! as an `Envelope`, as `transport.rs` reads them. A decoded envelope re-encodes to one
//! that decodes equal; the reassembler never holds more than its cap. Also one log entry
//! from the bare input (`decode_entry`, what a Proposal and the disk log carry).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_peerwire::{decode, decode_entry, encode, encode_entry, Reassembler};

/// Small enough that the fuzzer reaches it, large enough for multi-chunk messages.
const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = decode_entry(data) {
        assert_eq!(decode_entry(&encode_entry(&entry)).as_ref(), Ok(&entry));
    }
    let mut chunks = Reassembler::new(CAP);
    for chunk in zabra_fuzz::pieces(data) {
        let msg = match chunks.push(chunk) {
            Ok(None) => {
                assert!(chunks.buffered() <= CAP);
                continue;
            }
            Ok(Some(msg)) => msg,
            Err(_) => return,
        };
        assert!(msg.len() <= CAP);
        let Ok(env) = decode(&msg) else { return };
        let again = encode(&env).expect("a decoded envelope encodes");
        assert_eq!(decode(&again).as_ref(), Ok(&env));
    }
});
