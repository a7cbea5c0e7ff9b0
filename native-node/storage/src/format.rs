//! Data format versions. Every file kind starts with a magic that ends in the format version
//! (`ZBLOG002`, `ZBSNAP02`, `ZBINST02`), so a reader knows how the records inside are encoded
//! before it decodes one:
//!
//! | format | payloads | |
//! | --- | --- | --- |
//! | 1 | serde_json (znode data as arrays of numbers) | read, never written |
//! | 2 | postcard, the peer wire's encoding (`zabra_peerwire::encode_entry`) | written |
//!
//! A directory of format 1 still opens: its files are read as JSON, the next append starts a
//! format-2 segment, and checkpoints retire the old files. A version this build does not
//! know (a newer Zabra wrote it) is refused with [`StoreError::Format`], never skipped or cut
//! as damage.

use crate::error::StoreError;
use serde::de::DeserializeOwned;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json = 1,
    Postcard = 2,
}

/// The format this build writes.
pub const CURRENT: Format = Format::Postcard;

/// The 8-byte magic of a file kind (`ZBLOG`, `ZBSNAP`, `ZBINST`) in format `f`.
pub fn magic(kind: &str, f: Format) -> [u8; 8] {
    let text = format!("{kind}{:0width$}", f as u8, width = 8 - kind.len());
    text.as_bytes().try_into().expect("a kind of at most 7 letters")
}

/// What the first 8 bytes of a file say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Magic {
    Known(Format),
    /// This kind of file, in a version this build cannot read.
    Unknown(String),
    /// Not this kind of file (or damaged).
    Other,
}

pub fn parse(kind: &str, bytes: &[u8]) -> Magic {
    let Some(head) = bytes.get(..8) else { return Magic::Other };
    let Some(version) = head.strip_prefix(kind.as_bytes()) else { return Magic::Other };
    if !version.iter().all(u8::is_ascii_digit) {
        return Magic::Other;
    }
    match std::str::from_utf8(version).ok().and_then(|v| v.parse::<u32>().ok()) {
        Some(1) => Magic::Known(Format::Json),
        Some(2) => Magic::Known(Format::Postcard),
        _ => Magic::Unknown(String::from_utf8_lossy(version).into_owned()),
    }
}

/// The error for a file in a format this build does not read.
pub fn unknown(file: &Path, version: String) -> StoreError {
    StoreError::Format { file: file.to_path_buf(), version }
}

/// Decodes one payload (exactly: trailing bytes are refused).
pub fn decode<T: DeserializeOwned>(f: Format, payload: &[u8]) -> Result<T, String> {
    match f {
        Format::Json => serde_json::from_slice(payload).map_err(|e| format!("unreadable JSON: {e}")),
        Format::Postcard => match postcard::take_from_bytes(payload) {
            Ok((v, [])) => Ok(v),
            Ok((_, rest)) => Err(format!("{} bytes after the encoded value", rest.len())),
            Err(e) => Err(format!("unreadable: {e}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        assert_eq!(&magic("ZBLOG", Format::Json), b"ZBLOG001");
        assert_eq!(&magic("ZBSNAP", CURRENT), b"ZBSNAP02");
        assert_eq!(parse("ZBLOG", b"ZBLOG002rest"), Magic::Known(Format::Postcard));
        assert_eq!(parse("ZBINST", b"ZBINST01"), Magic::Known(Format::Json));
        assert_eq!(parse("ZBLOG", b"ZBLOG017"), Magic::Unknown("017".into()));
        assert_eq!(parse("ZBLOG", b"ZBSNAP02"), Magic::Other);
        assert_eq!(parse("ZBLOG", b"ZBLOG\0\0\0"), Magic::Other);
        assert_eq!(parse("ZBLOG", b"ZBL"), Magic::Other);
    }
}
