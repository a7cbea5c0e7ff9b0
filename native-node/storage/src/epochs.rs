//! The `epochs` file: the paper's f.p (accepted) and f.a (current), zab-notes "Epoch files".
//!
//! Text, so an operator can read it with `cat`; the last line is a CRC32 of the lines before
//! it, because a damaged epoch would let this peer vote or ack in an epoch it never promised.
//!
//! ```text
//! zabra-epochs 1
//! accepted 3
//! current 2
//! crc32 0a1b2c3d
//! ```

use crate::error::StoreError;
use std::path::Path;
use zabra_core::Epoch;

const MAGIC_LINE: &str = "zabra-epochs 1";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epochs {
    pub accepted: Epoch,
    pub current: Epoch,
}

pub fn encode(e: Epochs) -> String {
    let body = format!("{MAGIC_LINE}\naccepted {}\ncurrent {}\n", e.accepted, e.current);
    format!("{body}crc32 {:08x}\n", crc32fast::hash(body.as_bytes()))
}

/// Parses the file; `Err((offset, reason))` points at the first byte that is wrong.
pub fn decode(bytes: &[u8]) -> Result<Epochs, (u64, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| (e.valid_up_to() as u64, "not UTF-8 text".to_string()))?;
    let crc_at = text.rfind("crc32 ").ok_or((0, "no crc32 line (file cut short?)".to_string()))?;
    let (body, crc_line) = text.split_at(crc_at);
    let stored = crc_line.trim_end().strip_prefix("crc32 ").and_then(|h| u32::from_str_radix(h, 16).ok());
    if stored != Some(crc32fast::hash(body.as_bytes())) {
        return Err((0, "checksum mismatch".to_string()));
    }
    let mut lines = body.lines();
    if lines.next() != Some(MAGIC_LINE) {
        return Err((0, format!("first line is not {MAGIC_LINE:?}")));
    }
    let accepted = field(lines.next(), "accepted", body)?;
    let current = field(lines.next(), "current", body)?;
    Ok(Epochs { accepted, current })
}

fn field(line: Option<&str>, key: &str, body: &str) -> Result<Epoch, (u64, String)> {
    let line = line.unwrap_or("");
    let offset = body.find(line).unwrap_or(0) as u64;
    line.strip_prefix(key)
        .and_then(|v| v.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .ok_or((offset, format!("expected `{key} <epoch>`, found {line:?}")))
}

/// Loads `path`; a missing file is a fresh node (both epochs 0).
pub fn load(path: &Path) -> Result<Option<Epochs>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => decode(&bytes).map(Some).map_err(|(at, why)| StoreError::corrupt(path, at, why)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let e = Epochs { accepted: 7, current: 6 };
        let text = encode(e);
        assert_eq!(decode(text.as_bytes()), Ok(e));
        let flipped = text.replacen("accepted 7", "accepted 8", 1);
        assert_eq!(decode(flipped.as_bytes()).unwrap_err().1, "checksum mismatch");
        assert!(decode(&text.as_bytes()[..20]).is_err(), "a cut file is detected");
    }
}
