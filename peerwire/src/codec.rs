//! The core's `Envelope` in postcard.
//!
//! postcard is not self-describing: both ends must agree on the types, which the protocol
//! version in `Hello` guards. The core's types serialize as hex strings only for
//! human-readable formats (JSON), so here zxids, session ids and ephemeral owners are
//! varints, and every `Vec<u8>` (znode data, passwords) is a length and its bytes.

use crate::WireError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zabra_core::message::Envelope;

/// The bytes of one envelope (before framing).
pub fn encode(env: &Envelope) -> Result<Vec<u8>, WireError> {
    to_bytes(env)
}

/// One envelope from exactly `bytes`: trailing bytes are refused, as is anything the types
/// do not describe (an unknown variant, a bad length, a snapshot whose digest disagrees).
pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    from_bytes(bytes)
}

pub(crate) fn to_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>, WireError> {
    to_bytes_sized(v, 0)
}

/// As [`to_bytes`], into a buffer of `capacity` bytes to begin with (no regrowth when the
/// guess is right: the write path encodes every entry once).
pub(crate) fn to_bytes_sized<T: Serialize>(v: &T, capacity: usize) -> Result<Vec<u8>, WireError> {
    postcard::to_extend(v, Vec::with_capacity(capacity))
        .map_err(|e| WireError::Malformed(format!("cannot encode: {e}")))
}

pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let (v, rest) = postcard::take_from_bytes(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!("{} trailing bytes", rest.len())));
    }
    Ok(v)
}

#[cfg(test)]
mod tests;
