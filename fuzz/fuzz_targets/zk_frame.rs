//! The ZooKeeper client port after the first bytes: frames (`FrameReader`), the
//! ConnectRequest, then requests, as `clients.rs` drives them. The first input byte picks
//! the socket read size. Every error must be one the node answers by closing the
//! connection; nothing may panic, and the reader holds at most one frame and one read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_core::Zxid;
use zabra_zkwire::{
    decode_connect, decode_request, encode_connect_response, encode_reply, encode_unimplemented, FrameReader, Incoming,
    RequestBody, DEFAULT_MAX_FRAME,
};

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new();
    let mut connected = false;
    for read in zabra_fuzz::socket_reads(data) {
        reader.push(read);
        loop {
            let payload = match reader.next_item() {
                Ok(None) => break,
                // The node answers a four-letter word and closes; a bad length closes.
                Ok(Some(Incoming::FourLetter(..))) | Err(_) => return,
                Ok(Some(Incoming::Frame(p))) => p,
            };
            assert!(payload.len() <= DEFAULT_MAX_FRAME);
            if !connected {
                let Ok(req) = decode_connect(&payload) else { return };
                let _ = req.to_core(Some("127.0.0.1:1".into()));
                let reply = encode_connect_response(None, &req, false);
                assert!(reply.len() >= 4);
                connected = true;
                continue;
            }
            let Ok(req) = decode_request(&payload) else { return };
            match &req.body {
                RequestBody::Immediate(result) => {
                    let _ = req.kind.disposition(result);
                    let _ = encode_reply(req.xid, Zxid::new(1, 1), &req.kind, result);
                }
                RequestBody::Unimplemented => {
                    let _ = encode_unimplemented(req.xid);
                    return;
                }
                RequestBody::Op(_) => {}
            }
        }
        assert!(reader.buffered() <= DEFAULT_MAX_FRAME + 4 + read.len(), "the reader holds {}", reader.buffered());
    }
});
