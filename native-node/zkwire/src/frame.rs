//! Framing (wire reference §1): a 4-byte big-endian signed length, then that many bytes.
//! The very first 4 bytes of a connection may instead be a four-letter word (§18).

use crate::error::FrameError;
use crate::fourlw::FourLetter;

/// `jute.maxbuffer`'s default: larger frames close the connection (§1, §17).
pub const DEFAULT_MAX_FRAME: usize = 0xF_FFFF;

/// What the next bytes of a connection hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A four-letter word (only ever the first thing on a connection). `Stmk` carries the
    /// 8-byte trace mask that follows it. The node answers in text and closes.
    FourLetter(FourLetter, Option<i64>),
    /// One frame's payload, without its length prefix.
    Frame(Vec<u8>),
}

/// Accumulates bytes from a socket and yields whole frames.
///
/// ```
/// use zabra_zkwire::{FrameReader, Incoming};
/// let mut r = FrameReader::new();
/// r.push(&[0, 0, 0, 2, 7]);
/// assert_eq!(r.next_item().unwrap(), None); // one byte missing
/// r.push(&[8]);
/// assert_eq!(r.next_item().unwrap(), Some(Incoming::Frame(vec![7, 8])));
/// ```
/// Buffer capacity a drained reader keeps.
const RETAIN: usize = 64 * 1024;

#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    max: usize,
    /// Nothing was yielded yet: the first 4 bytes may be a four-letter word.
    fresh: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// A reader for a new connection, with the default frame limit.
    pub fn new() -> Self {
        Self::with_max(DEFAULT_MAX_FRAME)
    }

    /// A reader for a new connection whose frames may be at most `max` bytes.
    pub fn with_max(max: usize) -> Self {
        FrameReader { buf: Vec::new(), start: 0, max, fresh: true }
    }

    /// Append bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet yielded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete item, `None` if more bytes are needed. After an error the
    /// connection must be closed (the stream cannot be resynchronised).
    pub fn next_item(&mut self) -> Result<Option<Incoming>, FrameError> {
        let avail = &self.buf[self.start..];
        if avail.len() < 4 {
            return Ok(None);
        }
        let head = [avail[0], avail[1], avail[2], avail[3]];
        if self.fresh {
            if let Some(cmd) = FourLetter::from_bytes(head) {
                return Ok(self.four_letter(cmd));
            }
        }
        let len = i32::from_be_bytes(head);
        if len < 0 || len as usize > self.max {
            return Err(FrameError::BadLength { len: len as i64, max: self.max });
        }
        let n = len as usize;
        if avail.len() < 4 + n {
            return Ok(None);
        }
        let frame = avail[4..4 + n].to_vec();
        self.start += 4 + n;
        self.fresh = false;
        self.release_if_drained();
        Ok(Some(Incoming::Frame(frame)))
    }

    /// Once everything is taken out, give back the memory of a big frame rather than keep it
    /// for as long as the connection stays open (idle connections must stay small).
    fn release_if_drained(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.buf.shrink_to(RETAIN);
        }
    }

    fn four_letter(&mut self, cmd: FourLetter) -> Option<Incoming> {
        let avail = &self.buf[self.start..];
        let mask = if cmd == FourLetter::Stmk {
            let b = avail.get(4..12)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Some(i64::from_be_bytes(a))
        } else {
            None
        };
        self.start += if mask.is_some() { 12 } else { 4 };
        self.fresh = false;
        Some(Incoming::FourLetter(cmd, mask))
    }
}

/// Prefix a payload with its 4-byte length.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}
