//! # zabra-peerwire
//!
//! What travels between two Zabra peers, as pure code (no IO, builds for
//! `wasm32-unknown-unknown`): native nodes use it on their peer port, and browser tabs will
//! speak the same wire over their WebSocket to a native node.
//!
//! A connection, as a driver runs it (each arrow is one WebSocket binary message):
//!
//! ```text
//!  dialer                                         acceptor
//!    Handshake::Hello { cluster, sid, role, version, nonce_d } ─►
//!                                                  check cluster, version, sid, role
//!    ◄─ Handshake::Challenge { hello: .., nonce_a, proof_a }
//!  verify proof_a (acceptor's side, both nonces)
//!    Handshake::Proof(proof_d) ─►                  verify proof_d (dialer's side)
//!  ───────────── authenticated: only now does either side tell its node ─────────────
//!    frames of encoded envelopes, each ≤ MAX_CHUNK ─►  Reassembler::push ─► decode
//! ```
//!
//! - [`codec`]: the core's `Envelope` in postcard, a compact binary serde format (znode data
//!   travels as bytes; zxids and session ids as integers).
//! - [`entry`]: a log entry's bytes, shared by the disk log and every Proposal and Inform: the
//!   leader encodes an entry once and wraps the same bytes for each follower.
//! - [`chunk`]: a message larger than one chunk is cut into chunks of at most 1 MiB, each one
//!   WebSocket message; the receiver reassembles them under an explicit size cap.
//! - [`handshake`]: `Hello` and a mutual challenge–response, HMAC-SHA256 keyed by the cluster
//!   secret (or, for a browser tab, its join token) over both fresh nonces, both hellos and
//!   the direction, so neither side can replay an old proof or reflect the other's.
//! - [`join`]: the join token of a browser member, derived from the cluster secret.

pub mod chunk;
pub mod codec;
pub mod entry;
pub mod handshake;
pub mod join;

pub use chunk::{frames, Reassembler, MAX_CHUNK};
pub use codec::{decode, encode};
pub use entry::{decode_entry, encode_entry, encode_with_entry};
pub use handshake::{Acceptor, Dialer, Handshake, HandshakeError, Hello, Proof, Role, NONCE_LEN, PROTOCOL_VERSION};
pub use join::{bus_key, join_token, unwrap_bus_key, wrap_bus_key};

/// Why bytes from a peer were refused. Any of these closes that connection, never the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("oversize: {what} of {size} bytes is above the limit of {limit}")]
    Oversize { what: &'static str, size: usize, limit: usize },
    #[error("malformed: {0}")]
    Malformed(String),
}
