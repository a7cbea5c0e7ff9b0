//! Helpers shared by the fuzz targets: how one input is cut into the pieces a driver would
//! receive (socket reads, WebSocket messages), so one fuzz input can be a whole conversation.

/// Cuts `data` into pieces, each a 2-byte big-endian length and that many bytes (a last,
/// shorter piece takes what is left). The seed generator writes inputs the same way
/// ([`join`]), so seeds are whole conversations.
pub fn pieces(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        let take = n.min(body.len());
        out.push(&body[..take]);
        rest = &body[take..];
    }
    out
}

/// The inverse of [`pieces`] (pieces longer than 65535 bytes are cut).
pub fn join<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let p = &p[..p.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Cuts a byte stream as a socket might deliver it: the first byte picks a read size (0:
/// everything at once), the rest is the stream.
pub fn socket_reads(data: &[u8]) -> Vec<&[u8]> {
    let Some((&size, stream)) = data.split_first() else { return Vec::new() };
    if size == 0 {
        return vec![stream];
    }
    stream.chunks(size as usize).collect()
}

/// The cluster key of `peer_handshake` (the seed generator makes honest transcripts with it).
pub const HANDSHAKE_KEY: &[u8] = b"the fuzz cluster's 32-byte key!!";

/// The hello of sid `sid` in `peer_handshake`, with a nonce of `nonce` bytes.
pub fn hello(sid: u64, nonce: u8) -> zabra_peerwire::Hello {
    zabra_peerwire::Hello {
        cluster: "zabra".into(),
        sid,
        role: zabra_peerwire::Role::Voter,
        protocol_version: zabra_peerwire::PROTOCOL_VERSION,
        nonce: [nonce; zabra_peerwire::NONCE_LEN],
    }
}
