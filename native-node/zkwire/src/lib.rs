//! # zabra-zkwire
//!
//! The ZooKeeper client wire protocol as a pure codec (no IO): framing, the jute records of
//! every op Zabra serves, the handshake, notifications and four-letter words. Section
//! numbers (§) refer to the project's reference `zk-wire-protocol.md`.
//!
//! A connection, as the node drives it:
//!
//! ```text
//!  socket bytes ─► FrameReader::push / next_item
//!     ├─ Incoming::FourLetter(cmd, mask) (first bytes only) ─► render_four_letter ─► write text, close
//!     └─ Incoming::Frame(payload)
//!          first frame:  decode_connect ─► WireConnect::to_core ─► core
//!                        core's grant/refusal ─► encode_connect_response (refusal: then close)
//!          later frames: decode_request ─► Request { xid, body, kind }
//!                        RequestBody::Op(op)        ─► core; its Reply ─► kind.disposition(&result):
//!                             Send / SendAndClose ─► encode_reply(xid, zxid, &kind, &result) / CloseSilently
//!                        RequestBody::Immediate(r)  ─► encode_reply(xid, last zxid, &kind, &r), in order
//!                        RequestBody::Unimplemented ─► encode_unimplemented(xid), close
//!  core's watch event ─► encode_watch_event(&event, None)
//!  any DecodeError / FrameError ─► log, close this connection
//! ```
//!
//! Every `encode_*` returns a whole frame, length prefix included.

mod connect;
mod error;
mod fourlw;
mod fourlw_text;
mod frame;
mod jute;
pub mod opcode;
mod reply;
mod request;

pub use connect::{decode_connect, encode_connect_response, WireConnect};
pub use error::{DecodeError, FrameError};
pub use fourlw::{
    full_version, ConnStats, FourLetter, FourLetterInfo, LeaderStats, ServerConf, ServerMode, ServerStats, Timing,
    ZK_VERSION,
};
pub use fourlw_text::{java_date, java_double, not_whitelisted, render_four_letter, NOT_SERVING};
pub use frame::{frame, FrameReader, Incoming, DEFAULT_MAX_FRAME};
pub use reply::{
    encode_error, encode_reply, encode_unimplemented, encode_watch_event, error_from_code, result_code, Disposition,
    ReplyKind,
};
pub use request::{decode_request, Request, RequestBody};
