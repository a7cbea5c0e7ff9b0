//! Framing: one encoded message as one or more chunks of at most [`MAX_CHUNK`] bytes, each
//! sent as one WebSocket binary message.
//!
//! Small chunks keep every WebSocket message under the library's frame limits, let a
//! receiver refuse an oversize message from its first chunk (before buffering it), and let
//! other traffic's flow control (TCP) pace a large sync. A chunk is a tag byte, then:
//!
//! | tag | name   | then                                   |
//! |-----|--------|----------------------------------------|
//! | 0   | whole  | the whole message                      |
//! | 1   | first  | the message's total length (u64 LE), then its first bytes |
//! | 2   | more   | the next bytes; the message is complete when `total` bytes arrived |

use crate::WireError;

/// The largest chunk, tag and header included (1 MiB).
pub const MAX_CHUNK: usize = 1 << 20;

const WHOLE: u8 = 0;
const FIRST: u8 = 1;
const MORE: u8 = 2;
const FIRST_HEADER: usize = 1 + 8;

/// The chunks of one encoded message, in order; each is at most [`MAX_CHUNK`] bytes.
pub fn frames(msg: &[u8]) -> Vec<Vec<u8>> {
    if msg.len() < MAX_CHUNK {
        let mut f = Vec::with_capacity(1 + msg.len());
        f.push(WHOLE);
        f.extend_from_slice(msg);
        return vec![f];
    }
    let first_len = MAX_CHUNK - FIRST_HEADER;
    let mut out = Vec::with_capacity(1 + msg.len() / (MAX_CHUNK - 1));
    let mut f = Vec::with_capacity(MAX_CHUNK);
    f.push(FIRST);
    f.extend_from_slice(&(msg.len() as u64).to_le_bytes());
    f.extend_from_slice(&msg[..first_len]);
    out.push(f);
    for part in msg[first_len..].chunks(MAX_CHUNK - 1) {
        let mut f = Vec::with_capacity(1 + part.len());
        f.push(MORE);
        f.extend_from_slice(part);
        out.push(f);
    }
    out
}

/// Reassembles chunks into messages, refusing any message above `cap` bytes as soon as its
/// first chunk announces it, and any chunk that does not fit the sequence.
#[derive(Debug)]
pub struct Reassembler {
    cap: usize,
    /// The message being assembled and its announced total length.
    partial: Option<(Vec<u8>, usize)>,
}

/// What a reassembler allocates up front at most; a larger message grows as it arrives, so
/// an announced length costs nothing until the bytes come.
const PREALLOCATE: usize = 16 * MAX_CHUNK;

impl Reassembler {
    pub fn new(cap: usize) -> Self {
        Reassembler { cap, partial: None }
    }

    /// Bytes held for an incomplete message.
    pub fn buffered(&self) -> usize {
        self.partial.as_ref().map_or(0, |(b, _)| b.len())
    }

    /// One chunk in; a complete message out when this chunk completes one.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
        if chunk.len() > MAX_CHUNK {
            return Err(WireError::Oversize { what: "chunk", size: chunk.len(), limit: MAX_CHUNK });
        }
        let Some((&tag, body)) = chunk.split_first() else {
            return Err(WireError::Malformed("empty chunk".into()));
        };
        match (tag, self.partial.take()) {
            (WHOLE, None) => {
                self.check_cap(body.len())?;
                Ok(Some(body.to_vec()))
            }
            (FIRST, None) => self.first(body),
            (MORE, Some((mut buf, total))) => {
                if body.is_empty() || buf.len() + body.len() > total {
                    return Err(WireError::Malformed(format!(
                        "a chunk of {} bytes after {} of a {total}-byte message",
                        body.len(),
                        buf.len()
                    )));
                }
                buf.extend_from_slice(body);
                if buf.len() == total {
                    return Ok(Some(buf));
                }
                self.partial = Some((buf, total));
                Ok(None)
            }
            (MORE, None) => Err(WireError::Malformed("a continuation chunk with no message started".into())),
            (WHOLE | FIRST, Some((buf, total))) => Err(WireError::Malformed(format!(
                "a new message started after {} of {total} bytes of the last",
                buf.len()
            ))),
            (t, _) => Err(WireError::Malformed(format!("unknown chunk tag {t}"))),
        }
    }

    fn first(&mut self, body: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
        let Some((len, data)) = body.split_first_chunk::<8>() else {
            return Err(WireError::Malformed("a first chunk without its length".into()));
        };
        let total = u64::from_le_bytes(*len);
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        self.check_cap(total)?;
        if data.len() >= total {
            return Err(WireError::Malformed(format!(
                "a first chunk of {} bytes for a {total}-byte message",
                data.len()
            )));
        }
        let mut buf = Vec::with_capacity(total.min(PREALLOCATE));
        buf.extend_from_slice(data);
        self.partial = Some((buf, total));
        Ok(None)
    }

    fn check_cap(&self, size: usize) -> Result<(), WireError> {
        if size > self.cap {
            return Err(WireError::Oversize { what: "message", size, limit: self.cap });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reassemble(cap: usize, msg: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
        let mut r = Reassembler::new(cap);
        let mut out = Vec::new();
        for f in frames(msg) {
            assert!(f.len() <= MAX_CHUNK, "chunk of {} bytes", f.len());
            if let Some(m) = r.push(&f)? {
                out.push(m);
            }
        }
        assert_eq!(r.buffered(), 0);
        Ok(out)
    }

    #[test]
    fn sizes_at_and_around_one_mib_round_trip() {
        let sizes = [
            0,
            1,
            MAX_CHUNK - 2,
            MAX_CHUNK - 1,
            MAX_CHUNK,
            MAX_CHUNK + 1,
            MAX_CHUNK - FIRST_HEADER,
            MAX_CHUNK - FIRST_HEADER + 1,
            2 * MAX_CHUNK - FIRST_HEADER - 1,
            2 * MAX_CHUNK - FIRST_HEADER,
            2 * MAX_CHUNK - FIRST_HEADER + 1,
            5 * MAX_CHUNK + 7,
        ];
        for n in sizes {
            let msg: Vec<u8> = (0..n).map(|i| (i * 7 + i / 251) as u8).collect();
            let chunks = frames(&msg);
            let expected = if n < MAX_CHUNK { 1 } else { 1 + (n - (MAX_CHUNK - FIRST_HEADER)).div_ceil(MAX_CHUNK - 1) };
            assert_eq!(chunks.len(), expected, "{n} bytes");
            assert_eq!(reassemble(usize::MAX, &msg).unwrap(), vec![msg], "{n} bytes");
        }
    }

    #[test]
    fn every_chunk_is_full_but_the_last() {
        let msg = vec![9u8; 3 * MAX_CHUNK];
        let chunks = frames(&msg);
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| c.len() == MAX_CHUNK));
        assert!(!last.is_empty() && last.len() <= MAX_CHUNK);
    }

    #[test]
    fn oversize_is_refused_from_the_first_chunk() {
        let msg = vec![1u8; 3 * MAX_CHUNK];
        let mut r = Reassembler::new(2 * MAX_CHUNK);
        let err = r.push(&frames(&msg)[0]).unwrap_err();
        assert!(matches!(err, WireError::Oversize { size, .. } if size == 3 * MAX_CHUNK), "{err}");
        assert_eq!(r.buffered(), 0);
        // A whole message above the cap, and a chunk above MAX_CHUNK.
        assert!(matches!(Reassembler::new(10).push(&frames(&[0; 11])[0]), Err(WireError::Oversize { .. })));
        assert_eq!(Reassembler::new(10).push(&frames(&[0; 10])[0]), Ok(Some(vec![0; 10])));
        let mut big = vec![WHOLE];
        big.resize(MAX_CHUNK + 1, 0);
        assert!(matches!(Reassembler::new(usize::MAX).push(&big), Err(WireError::Oversize { what: "chunk", .. })));
        // A length that does not fit in memory is simply oversize.
        let mut huge = vec![FIRST];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Reassembler::new(usize::MAX - 1).push(&huge), Err(WireError::Oversize { .. })));
    }

    #[test]
    fn out_of_sequence_chunks_are_malformed() {
        let chunks = frames(&vec![3u8; 2 * MAX_CHUNK]);
        let malformed = |r: Result<Option<Vec<u8>>, WireError>| matches!(r, Err(WireError::Malformed(_)));
        assert!(malformed(Reassembler::new(usize::MAX).push(&chunks[1])), "continuation first");
        assert!(malformed(Reassembler::new(usize::MAX).push(&[])), "empty");
        assert!(malformed(Reassembler::new(usize::MAX).push(&[7, 1, 2])), "unknown tag");
        assert!(malformed(Reassembler::new(usize::MAX).push(&[FIRST, 1, 2])), "no length");
        let mut r = Reassembler::new(usize::MAX);
        r.push(&chunks[0]).unwrap();
        assert!(malformed(r.push(&frames(b"x")[0])), "a whole message inside another");
        let mut r = Reassembler::new(usize::MAX);
        r.push(&chunks[0]).unwrap();
        assert!(malformed(r.push(&[MORE])), "an empty continuation");
        let mut r = Reassembler::new(usize::MAX);
        r.push(&chunks[0]).unwrap();
        r.push(&chunks[1]).unwrap();
        let mut extra = chunks[2].clone();
        extra.extend_from_slice(&[0; 10]);
        assert!(malformed(r.push(&extra)), "more bytes than announced");
        // A first chunk announcing no more than it carries should have been a whole one.
        let mut short = vec![FIRST];
        short.extend_from_slice(&2u64.to_le_bytes());
        short.extend_from_slice(&[1, 2]);
        assert!(malformed(Reassembler::new(usize::MAX).push(&short)));
    }

    #[test]
    fn messages_follow_each_other_on_one_reassembler() {
        let big = vec![5u8; MAX_CHUNK + 10];
        let mut r = Reassembler::new(usize::MAX);
        let mut got = Vec::new();
        for m in [&b"a"[..], &big, b"b"] {
            for f in frames(m) {
                got.extend(r.push(&f).unwrap());
            }
        }
        assert_eq!(got, vec![b"a".to_vec(), big, b"b".to_vec()]);
    }
}
