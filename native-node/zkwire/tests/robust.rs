//! Never panic on any input: random bytes, truncated and bit-flipped real frames, and
//! random chunking through the frame reader. Decoding must also never allocate wildly
//! (lengths are checked against what the frame holds).

mod common;

use common::unhex;
use zabra_zkwire::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const OPCODES: [i32; 33] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 100, 101, 102, 103, 104, 105, 106,
    107, -10, -11, 99,
];

/// Request payloads from the captures and vectors (without length prefixes).
const SAMPLES: [&str; 6] = [
    "0000000100000001000000022f610000000178000000010000001f00000005776f726c6400000006616e796f6e6500000000",
    "000000140000000e0000000100ffffffff000000032f74310000000131000000010000001f00000005776f726c6400000006616e796f6e65000000000000000d00ffffffff000000022f61000000020000000500ffffffff000000022f61000000027478ffffffff0000000200ffffffff000000042f612f63ffffffffffffffff01ffffffff",
    "0000000a0000006900000000000000af00000001000000032f6a77000000010000000b2f6a772d6d697373696e6700000001000000032f6a7700000001000000032f6a7700000001000000042f6a7772",
    "fffffffc00000064000000000000000664696765737400000009757365723a70617373",
    "000000000000000000000000000027100000000000000000000000100000000000000000000000000000000000",
    "000000060000006a000000032f6a7700000000",
];

fn exercise(p: &[u8]) {
    let _ = decode_request(p);
    let _ = decode_connect(p);
    if let Ok(r) = decode_request(p) {
        if let RequestBody::Immediate(res) = &r.body {
            let _ = encode_reply(r.xid, zabra_core::Zxid::ZERO, &r.kind, res);
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..50_000 {
        let n = rng.below(96);
        let mut p: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if n >= 8 && rng.below(2) == 0 {
            let op = OPCODES[rng.below(OPCODES.len())];
            p[4..8].copy_from_slice(&op.to_be_bytes());
        }
        // Bias lengths towards small and special values.
        for k in (8..n.saturating_sub(4)).step_by(4) {
            if rng.below(3) == 0 {
                let v = [-1i32, 0, 1, 2, 4, 0x7fff_ffff, -2][rng.below(7)];
                p[k..k + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
        exercise(&p);
    }
}

#[test]
fn truncated_and_flipped_samples() {
    let mut rng = Rng(42);
    for s in SAMPLES {
        let p = unhex(s);
        for cut in 0..p.len() {
            exercise(&p[..cut]);
        }
        for _ in 0..5_000 {
            let mut q = p.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(q.len());
                q[at] ^= 1 << rng.below(8);
            }
            exercise(&q);
        }
    }
}

#[test]
fn frame_reader_random_streams() {
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let mut fr = FrameReader::with_max(1 + rng.below(300));
        let mut stream: Vec<u8> = Vec::new();
        for _ in 0..rng.below(6) {
            let n = rng.below(40) as i32 - 2;
            stream.extend(n.to_be_bytes());
            stream.extend((0..n.max(0)).map(|_| rng.next() as u8));
        }
        if rng.below(4) == 0 {
            stream.splice(0..0, b"stmk".iter().copied());
        }
        let mut at = 0;
        'feed: while at < stream.len() {
            let n = 1 + rng.below(16);
            fr.push(&stream[at..(at + n).min(stream.len())]);
            at += n;
            loop {
                match fr.next_item() {
                    Ok(Some(Incoming::Frame(p))) => exercise(&p),
                    Ok(Some(Incoming::FourLetter(..))) => {}
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
    }
}

#[test]
fn huge_counts_do_not_allocate() {
    // A vector count of 2^31-1 in a tiny frame is refused up front.
    let p = unhex("00000001000000650000000000000000 7fffffff");
    assert!(matches!(decode_request(&p), Err(DecodeError::BadLength { .. })));
    let p = unhex("0000000100000004 7ffffff0 2f");
    assert!(matches!(decode_request(&p), Err(DecodeError::BadLength { .. })));
    let p = unhex("0000000100000004 fffffffe");
    assert!(matches!(decode_request(&p), Err(DecodeError::BadLength { len: -2, .. })));
}
