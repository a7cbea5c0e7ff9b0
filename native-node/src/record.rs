//! What a node reads from outside, recorded as fuzz seeds (`cargo xtask fuzz --record`).
//!
//! Off, and free, unless `ZABRA_RECORD_TRAFFIC=DIR` is set. Then each client connection's
//! first bytes go to `DIR/zk_frame/` and each peer link's first WebSocket messages to
//! `DIR/peer_message/`, each file in the input format of that fuzz target (see `fuzz/src/lib.rs`),
//! named by a hash of its content so repeats collapse. Bounded: at most [`TAPE_BYTES`] per
//! connection and [`FILES_PER_KIND`] files per process and kind. A test aid: the data recorded
//! is whatever clients sent, so never set it on a node that holds real data.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const TAPE_BYTES: usize = 64 * 1024;
pub const FILES_PER_KIND: usize = 200;

fn dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("ZABRA_RECORD_TRAFFIC").filter(|v| !v.is_empty()).map(PathBuf::from)).as_ref()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A client connection's byte stream after a 0 byte (`socket_reads`: one read).
    ClientStream,
    /// A peer link's binary messages, each a 2-byte length and its bytes (`pieces`).
    PeerMessages,
}

impl Kind {
    fn target(self) -> &'static str {
        match self {
            Kind::ClientStream => "zk_frame",
            Kind::PeerMessages => "peer_message",
        }
    }

    fn written(self) -> &'static AtomicUsize {
        static CLIENT: AtomicUsize = AtomicUsize::new(0);
        static PEER: AtomicUsize = AtomicUsize::new(0);
        match self {
            Kind::ClientStream => &CLIENT,
            Kind::PeerMessages => &PEER,
        }
    }
}

/// One connection's recording, written to its file when full or dropped (whichever comes
/// first: a process killed by a test drops nothing).
pub struct Tape {
    kind: Kind,
    bytes: Vec<u8>,
    written: bool,
}

impl Tape {
    /// A tape for a client connection, if recording is on.
    pub fn client() -> Option<Tape> {
        dir()?;
        Some(Tape { kind: Kind::ClientStream, bytes: vec![0], written: false })
    }

    /// A tape for a peer link, if recording is on.
    pub fn peer() -> Option<Tape> {
        dir()?;
        Some(Tape { kind: Kind::PeerMessages, bytes: Vec::new(), written: false })
    }

    /// Appends what was read (a socket read, or one whole WebSocket message), up to the cap.
    pub fn record(&mut self, read: &[u8]) {
        let room = TAPE_BYTES.saturating_sub(self.bytes.len());
        match self.kind {
            Kind::ClientStream => self.bytes.extend_from_slice(&read[..read.len().min(room)]),
            Kind::PeerMessages if room > 2 => {
                let n = read.len().min(room - 2).min(u16::MAX as usize);
                self.bytes.extend_from_slice(&(n as u16).to_be_bytes());
                self.bytes.extend_from_slice(&read[..n]);
            }
            Kind::PeerMessages => {}
        }
        if self.bytes.len() + 2 >= TAPE_BYTES {
            self.write();
        }
    }

    fn write(&mut self) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        let Some(root) = dir() else { return };
        if self.bytes.len() <= 2 || self.kind.written().fetch_add(1, Ordering::Relaxed) >= FILES_PER_KIND {
            return;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.bytes.hash(&mut h);
        let d = root.join(self.kind.target());
        let file = d.join(format!("{:016x}", h.finish()));
        // Best effort: a recording that cannot be written is only a seed fewer.
        if let Err(e) = std::fs::create_dir_all(&d).and_then(|()| std::fs::write(&file, &self.bytes)) {
            tracing::debug!("recording {}: {e}", file.display());
        }
    }
}

impl Drop for Tape {
    fn drop(&mut self) {
        self.write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_messages_are_pieces_and_tapes_stop_at_their_cap() {
        let mut t = Tape { kind: Kind::PeerMessages, bytes: Vec::new(), written: false };
        t.record(b"abc");
        t.record(b"de");
        assert_eq!(t.bytes, [0, 3, b'a', b'b', b'c', 0, 2, b'd', b'e']);
        let mut c = Tape { kind: Kind::ClientStream, bytes: vec![0], written: false };
        for _ in 0..100 {
            c.record(&[7u8; 1000]);
        }
        assert_eq!(c.bytes.len(), TAPE_BYTES);
        assert!(c.written, "a full tape is written at once (without ZABRA_RECORD_TRAFFIC: nowhere)");
    }
}
