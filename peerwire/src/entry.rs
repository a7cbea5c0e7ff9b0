//! One encoding of a log entry for the wire and the disk: an entry is encoded once, on the
//! peer that makes it, and the same bytes go into every Proposal (or Inform) and into the
//! log record on disk (`zabra-storage` writes exactly [`encode_entry`]'s bytes).
//!
//! postcard writes a struct or an enum variant as its fields one after the other, and
//! `Envelope { id, msg }` puts the message last, so the envelope of a Proposal is
//!
//! ```text
//!  postcard(id) ‖ variant tag of Proposal ‖ postcard(epoch) ‖ postcard(entry)
//! ```
//!
//! and [`encode_with_entry`] builds it around bytes that are already encoded, without encoding
//! the entry again. The tags are taken from postcard itself (see [`tags`]), so a variant added
//! to `Message` cannot make them stale.

use crate::codec::{from_bytes, to_bytes, to_bytes_sized};
use crate::WireError;
use std::sync::OnceLock;
use zabra_core::log::Entry;
use zabra_core::message::{Message, MsgId};
use zabra_core::txn::{Op, Txn};
use zabra_core::{SessionId, Zxid};

/// The bytes of one entry, as logged on disk and carried by Proposal and Inform.
pub fn encode_entry(e: &Entry) -> Vec<u8> {
    // Room for the header fields and a path and value of usual sizes; larger ones regrow.
    to_bytes_sized(e, 256).expect("an entry always encodes")
}

/// One entry from exactly `bytes`.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, WireError> {
    from_bytes(bytes)
}

/// The postcard variant tags of Proposal and Inform.
struct Tags {
    proposal: Vec<u8>,
    inform: Vec<u8>,
}

/// Read off postcard's own encoding of each message around a small entry: what precedes the
/// epoch is the variant's tag.
fn tags() -> &'static Tags {
    static TAGS: OnceLock<Tags> = OnceLock::new();
    TAGS.get_or_init(|| {
        let txn = Txn { session: SessionId(0), time_ms: 0, auth: Vec::new(), op: Op::CloseSession };
        let entry = Entry { zxid: Zxid::ZERO, txn: txn.into(), origin: None };
        let tail = [to_bytes(&0u32).expect("an epoch encodes"), encode_entry(&entry)].concat();
        let tag = |msg: Message| {
            let all = to_bytes(&msg).expect("a message encodes");
            assert!(all.ends_with(&tail), "a message's encoding ends with its epoch and entry");
            all[..all.len() - tail.len()].to_vec()
        };
        Tags {
            proposal: tag(Message::Proposal { epoch: 0, entry: entry.clone() }),
            inform: tag(Message::Inform { epoch: 0, entry }),
        }
    })
}

/// The envelope bytes of `msg`, a Proposal or an Inform whose entry's encoding is `entry`
/// (from [`encode_entry`]); equal to [`crate::encode`] of the envelope. `None` for any other
/// message.
pub fn encode_with_entry(id: MsgId, msg: &Message, entry: &[u8]) -> Option<Vec<u8>> {
    let (tag, epoch) = match msg {
        Message::Proposal { epoch, .. } => (&tags().proposal, epoch),
        Message::Inform { epoch, .. } => (&tags().inform, epoch),
        _ => return None,
    };
    // One buffer: the id and the epoch (varints of at most 10 and 5 bytes) encode into it.
    let out = Vec::with_capacity(15 + tag.len() + entry.len());
    let mut out = postcard::to_extend(&id, out).expect("an id encodes");
    out.extend_from_slice(tag);
    let mut out = postcard::to_extend(epoch, out).expect("an epoch encodes");
    out.extend_from_slice(entry);
    Some(out)
}

#[cfg(test)]
mod tests;
