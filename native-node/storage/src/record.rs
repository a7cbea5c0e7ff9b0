//! The framed record shared by log segments, snapshots and the install marker.
//!
//! A record is a 20-byte header (length, zxid, payload CRC, header CRC) and its payload. The
//! header CRC lets [`intact_record_after`] scan a damaged region byte by byte at the cost of
//! one 16-byte checksum per offset, so recovery can decide "torn tail" versus "corruption with
//! good data after it" without trusting a damaged length field.

use std::fmt;
use zabra_core::Zxid;

pub const HEADER_LEN: usize = 20;

/// A record read back intact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a> {
    pub zxid: Zxid,
    pub payload: &'a [u8],
    /// Offset of the record's first byte in the buffer it was read from.
    pub start: usize,
    /// Offset just past it.
    pub end: usize,
}

/// Why the bytes at an offset are not an intact record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    ShortHeader { have: usize },
    HeaderChecksum,
    ShortPayload { have: usize, need: usize },
    PayloadChecksum,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::ShortHeader { have } => write!(f, "record header cut short ({have} of {HEADER_LEN} bytes)"),
            Defect::HeaderChecksum => f.write_str("header checksum mismatch"),
            Defect::ShortPayload { have, need } => write!(f, "payload cut short ({have} of {need} bytes)"),
            Defect::PayloadChecksum => f.write_str("checksum mismatch"),
        }
    }
}

/// Appends one framed record to `out`.
pub fn encode(zxid: Zxid, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("a record payload is under 4 GiB");
    out.extend_from_slice(&header(len, zxid, crc32fast::hash(payload)));
    out.extend_from_slice(payload);
}

/// The header of a record whose payload has `len` bytes and checksum `payload_crc` (a
/// streamed snapshot writes it after the payload, once both are known).
pub fn header(len: u32, zxid: Zxid, payload_crc: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[4..12].copy_from_slice(&zxid.as_u64().to_le_bytes());
    h[12..16].copy_from_slice(&payload_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&h[..16]);
    h[16..20].copy_from_slice(&header_crc.to_le_bytes());
    h
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads the record starting at `start` (at or past the end of `buf`: a header cut short).
pub fn decode(buf: &[u8], start: usize) -> Result<Raw<'_>, Defect> {
    let rest = buf.get(start..).unwrap_or_default();
    if rest.len() < HEADER_LEN {
        return Err(Defect::ShortHeader { have: rest.len() });
    }
    if crc32fast::hash(&rest[..16]) != u32_at(rest, 16) {
        return Err(Defect::HeaderChecksum);
    }
    let need = u32_at(rest, 0) as usize;
    let have = rest.len() - HEADER_LEN;
    if have < need {
        return Err(Defect::ShortPayload { have, need });
    }
    let payload = &rest[HEADER_LEN..HEADER_LEN + need];
    if crc32fast::hash(payload) != u32_at(rest, 12) {
        return Err(Defect::PayloadChecksum);
    }
    let zxid = Zxid::from_u64(u64_at(rest, 4));
    Ok(Raw { zxid, payload, start, end: start + HEADER_LEN + need })
}

/// The offset of the first intact record starting after `from`, if any. Used only on a
/// damaged region at start-up, so a linear scan is fine.
pub fn intact_record_after(buf: &[u8], from: usize) -> Option<usize> {
    (from + 1..buf.len().saturating_sub(HEADER_LEN - 1)).find(|&at| decode(buf, at).is_ok())
}

/// Iterates over consecutive records from `start`, stopping after the first defect.
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Records<'a> {
    pub fn new(buf: &'a [u8], start: usize) -> Self {
        Records { buf, at: start, done: false }
    }
}

impl<'a> Iterator for Records<'a> {
    /// A record, or the offset of a defect (after which iteration ends).
    type Item = Result<Raw<'a>, (usize, Defect)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.buf.len() {
            return None;
        }
        match decode(self.buf, self.at) {
            Ok(raw) => {
                self.at = raw.end;
                Some(Ok(raw))
            }
            Err(d) => {
                self.done = true;
                Some(Err((self.at, d)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Vec<u8> {
        let mut b = Vec::new();
        encode(Zxid::new(1, 1), b"hello", &mut b);
        encode(Zxid::new(1, 2), b"world!", &mut b);
        b
    }

    #[test]
    fn round_trip() {
        let b = two();
        let rs: Vec<_> = Records::new(&b, 0).collect::<Result<_, _>>().unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!((rs[1].zxid, rs[1].payload), (Zxid::new(1, 2), &b"world!"[..]));
        assert_eq!(rs[1].end, b.len());
    }

    #[test]
    fn defects() {
        let b = two();
        let cut = &b[..b.len() - 1];
        assert_eq!(decode(cut, 25), Err(Defect::ShortPayload { have: 5, need: 6 }));
        assert_eq!(decode(&b[..30], 25), Err(Defect::ShortHeader { have: 5 }));
        let mut flipped = b.clone();
        flipped[22] ^= 1;
        assert_eq!(decode(&flipped, 0), Err(Defect::PayloadChecksum));
        assert_eq!(intact_record_after(&flipped, 0), Some(25));
        flipped[2] ^= 1;
        assert_eq!(decode(&flipped, 0), Err(Defect::HeaderChecksum));
        assert_eq!(intact_record_after(&b, 25), None);
        assert_eq!(intact_record_after(&[0; 64], 0), None, "zeros are never a record");
    }
}
