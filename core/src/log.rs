//! The in-memory history: a snapshot base followed by logged entries in zxid order.

use crate::ids::{SessionId, Sid};
use crate::txn::Txn;
use crate::zxid::Zxid;
use serde::{Deserialize, Serialize};

/// Who to answer when an entry is applied: the serving peer and the client's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub sid: Sid,
    pub session: SessionId,
    pub xid: i64,
}

/// One logged transaction. The transaction is shared, not copied, between the log, the
/// storage queue and every Proposal (a clone is a reference count, not its path, data, ACL
/// and identities again); it serializes as the `Txn` itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub zxid: Zxid,
    pub txn: std::sync::Arc<Txn>,
    pub origin: Option<Origin>,
}

/// History after `base`: the snapshot it starts from (ZERO for the empty tree), or the last
/// entry forgotten because it was committed long ago (`Config::log_retain`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    base: Zxid,
    entries: Vec<Entry>,
}

impl Log {
    pub fn new(base: Zxid, entries: Vec<Entry>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].zxid < w[1].zxid));
        debug_assert!(entries.first().is_none_or(|e| e.zxid > base));
        Log { base, entries }
    }

    pub fn base(&self) -> Zxid {
        self.base
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn last_zxid(&self) -> Zxid {
        self.entries.last().map_or(self.base, |e| e.zxid)
    }

    fn position(&self, z: Zxid) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.zxid.cmp(&z))
    }

    /// True when `z` is the base or a logged entry: the histories agree up to `z`.
    pub fn contains(&self, z: Zxid) -> bool {
        z == self.base || self.position(z).is_ok()
    }

    pub fn get(&self, z: Zxid) -> Option<&Entry> {
        self.position(z).ok().map(|i| &self.entries[i])
    }

    /// Entries strictly after `z` (z must be >= base).
    pub fn after(&self, z: Zxid) -> &[Entry] {
        let i = match self.position(z) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        &self.entries[i..]
    }

    /// Entries in `(from, to]`.
    pub fn range(&self, from: Zxid, to: Zxid) -> &[Entry] {
        let after = self.after(from);
        let n = after.partition_point(|e| e.zxid <= to);
        &after[..n]
    }

    /// The last logged zxid strictly below `z` (or the base).
    pub fn last_below(&self, z: Zxid) -> Zxid {
        let i = self.entries.partition_point(|e| e.zxid < z);
        if i == 0 {
            self.base
        } else {
            self.entries[i - 1].zxid
        }
    }

    pub fn append(&mut self, e: Entry) {
        debug_assert!(e.zxid > self.last_zxid());
        self.entries.push(e);
    }

    /// Drop every entry after `z`.
    pub fn truncate(&mut self, z: Zxid) {
        let n = self.entries.partition_point(|e| e.zxid <= z);
        self.entries.truncate(n);
    }

    /// Forget entries up to `z` (a snapshot at `z` now covers them, or they are committed and
    /// older than any DIFF would send).
    pub fn compact(&mut self, z: Zxid) {
        let n = self.entries.partition_point(|e| e.zxid <= z);
        self.entries.drain(..n);
        self.base = self.base.max(z);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{CreateMode, Op};

    fn e(ep: u32, c: u32) -> Entry {
        let op = Op::Create {
            path: format!("/{ep}-{c}"),
            data: crate::datatree::Data::empty(),
            acl: crate::acl::open_acl_unsafe(),
            mode: CreateMode::Persistent,
        };
        Entry {
            zxid: Zxid::new(ep, c),
            txn: Txn { session: SessionId(0), time_ms: 0, auth: Vec::new(), op }.into(),
            origin: None,
        }
    }

    #[test]
    fn positions() {
        let mut l = Log::new(Zxid::new(1, 2), vec![e(1, 3), e(1, 4), e(2, 1)]);
        assert!(l.contains(Zxid::new(1, 2)) && l.contains(Zxid::new(1, 4)));
        assert!(!l.contains(Zxid::new(1, 5)));
        assert_eq!(l.after(Zxid::new(1, 3)).len(), 2);
        assert_eq!(l.range(Zxid::new(1, 2), Zxid::new(1, 4)).len(), 2);
        assert_eq!(l.last_below(Zxid::new(1, 5)), Zxid::new(1, 4));
        assert_eq!(l.last_below(Zxid::new(1, 3)), Zxid::new(1, 2));
        l.truncate(Zxid::new(1, 3));
        assert_eq!(l.last_zxid(), Zxid::new(1, 3));
        l.compact(Zxid::new(1, 3));
        assert!(l.is_empty() && l.last_zxid() == Zxid::new(1, 3));
    }
}
