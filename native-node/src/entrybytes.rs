//! Each log entry is encoded once on this node: the leader's Append to its own disk and its
//! Proposals to every follower (or Informs to every observer) carry the same bytes
//! (`zabra_peerwire::encode_entry`), shared without a copy between the node task, the storage
//! thread and the link writers. Before, a proposal was encoded once per follower and again,
//! as JSON, for the disk.
//!
//! The core stays sans-IO and unaware of encodings: it hands out entries, and the node task
//! remembers the bytes of those it encoded while it performs one step's outputs (the Append
//! and the Proposals of one write come out of the same step). The memory is cleared after
//! each step, so it holds one step's entries at most.

use bytes::Bytes;
use std::collections::BTreeMap;
use zabra_core::log::Entry;
use zabra_core::storage::PersistOp;
use zabra_core::Zxid;
use zabra_storage::Prepared;

#[derive(Debug, Default)]
pub struct EntryBytes {
    by_zxid: BTreeMap<Zxid, Bytes>,
    /// Entries encoded since start (a test counts them).
    encoded: u64,
}

impl EntryBytes {
    /// The bytes of `e`, encoded now unless this step already did. Within one step a zxid
    /// names one entry: the outputs of a step all come from the same log.
    pub fn of(&mut self, e: &Entry) -> Bytes {
        let encoded = &mut self.encoded;
        self.by_zxid
            .entry(e.zxid)
            .or_insert_with(|| {
                *encoded += 1;
                Bytes::from(zabra_peerwire::encode_entry(e))
            })
            .clone()
    }

    /// A persist op for the storage thread, with its appended entries' bytes.
    pub fn prepare(&mut self, op: PersistOp) -> Prepared {
        let encoded = match &op {
            PersistOp::Append(entries) => entries.iter().map(|e| self.of(e)).collect(),
            _ => Vec::new(),
        };
        Prepared { op, encoded }
    }

    /// The end of a step: nothing is kept for the next one.
    pub fn clear(&mut self) {
        self.by_zxid.clear();
    }

    #[cfg(test)]
    pub fn encoded(&self) -> u64 {
        self.encoded
    }
}
