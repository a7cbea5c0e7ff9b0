//! Session establishment (wire reference §4): the ConnectRequest (first client frame, no
//! header) and the ConnectResponse (first server frame, no header).

use crate::error::DecodeError;
use crate::jute::{Reader, Writer};
use zabra_core::peer::{ConnectRequest, SessionGrant};
use zabra_core::{SessionId, Zxid};

/// A decoded ConnectRequest (§4.1), field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireConnect {
    /// Always 0 from real clients; ZooKeeper ignores it.
    pub protocol_version: i32,
    /// The highest zxid the client has seen (0 for a new client).
    pub last_zxid_seen: i64,
    /// Requested session timeout in ms.
    pub timeout_ms: i32,
    /// 0 asks for a new session; otherwise a reattach.
    pub session_id: i64,
    /// 16 bytes from every real client (zeros for a new session).
    pub password: Vec<u8>,
    /// `None` when the client omitted the byte (a 44-byte request from a 3.3-era client):
    /// the response must then omit it too (§4.2).
    pub read_only: Option<bool>,
}

impl WireConnect {
    /// Whether the client accepts a read-only server.
    pub fn accepts_read_only(&self) -> bool {
        self.read_only == Some(true)
    }

    /// The core's connect request. A negative timeout or zxid reads as 0; `addr` is the
    /// client's address for `ip` identities. The new session's password is the driver's to
    /// draw (`fresh_password`, from the OS random source).
    pub fn to_core(&self, addr: Option<String>) -> ConnectRequest {
        let session = match self.session_id {
            0 => None,
            id => Some((SessionId(id as u64), self.password.clone())),
        };
        ConnectRequest {
            session,
            timeout_ms: self.timeout_ms.max(0) as u32,
            last_zxid_seen: Zxid::from_u64(self.last_zxid_seen.max(0) as u64),
            addr,
            fresh_password: None,
        }
    }
}

/// Decode a ConnectRequest payload (the frame without its length). The trailing
/// `readOnly` byte is optional; bytes after it are ignored, as ZooKeeper does.
pub fn decode_connect(payload: &[u8]) -> Result<WireConnect, DecodeError> {
    let mut r = Reader::new(payload);
    let protocol_version = r.i32("protocolVersion")?;
    let last_zxid_seen = r.i64("lastZxidSeen")?;
    let timeout_ms = r.i32("timeOut")?;
    let session_id = r.i64("sessionId")?;
    let password = r.buffer("passwd")?;
    let read_only = if r.remaining() > 0 { Some(r.bool("readOnly")?) } else { None };
    Ok(WireConnect { protocol_version, last_zxid_seen, timeout_ms, session_id, password, read_only })
}

/// The framed ConnectResponse (§4.2).
///
/// - `grant: Some(g)`: the session with its negotiated timeout and password (the core always
///   makes 16-byte passwords, which the C client requires).
/// - `grant: None`: the invalid-session answer (expired, unknown or wrong password): timeout 0,
///   session 0, 16 zero bytes. The node closes the connection after sending it.
///
/// The `readOnly` byte mirrors the request: present iff `req.read_only` is `Some`; it is 1 only
/// when `server_read_only` (this server is in read-only mode).
pub fn encode_connect_response(grant: Option<&SessionGrant>, req: &WireConnect, server_read_only: bool) -> Vec<u8> {
    let mut w = Writer::framed();
    w.i32(0);
    match grant {
        Some(g) => w.i32(g.timeout_ms.min(i32::MAX as u32) as i32).i64(g.session.0 as i64).buffer(&g.password),
        None => w.i32(0).i64(0).buffer(&[0; 16]),
    };
    if req.read_only.is_some() {
        w.bool(server_read_only && grant.is_some());
    }
    w.finish()
}
