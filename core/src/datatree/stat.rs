//! `Stat` as clients see it, and `NodeStat` as the tree stores it.
//!
//! ZooKeeper keeps `StatPersisted` per node (no dataLength or numChildren, and a raw
//! child-create counter in `cversion`) and converts it with `DataNode.copyStat` whenever a
//! client reads it. We keep the same split so the sequence-suffix counter of §8.3 of the wire
//! reference is available when sequential nodes arrive, while clients keep seeing
//! `cversion = 2 × creates − numChildren`.

use crate::zxid::Zxid;
use serde::{Deserialize, Serialize};

/// ZooKeeper's `Stat` record (wire reference §3.2), exactly as clients see it.
///
/// `ephemeral_owner` travels in JSON as a hex string, like `SessionId`: session ids do not fit
/// in a JavaScript number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    #[serde(with = "hex_i64")]
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: Zxid,
}

/// ZooKeeper's `StatPersisted`: what a node stores and what the digest covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct NodeStat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    /// Successful child creates ever made under this node; deletes do not touch it
    /// (`DataTree.createNode` / `deleteNode`). It is the next sequence suffix.
    pub cversion: i32,
    pub aversion: i32,
    /// The stored owner, ZooKeeper's `EphemeralType` encoding (§8.2): 0 persistent, the
    /// session id for an ephemeral, [`CONTAINER_OWNER`] for a container, `TTL_MARK | ttl` for
    /// a TTL node. Clients see 0 for containers and TTL nodes; `to_stat` is the one place that
    /// maps it.
    #[serde(with = "hex_i64")]
    pub ephemeral_owner: i64,
    pub pzxid: Zxid,
}

impl NodeStat {
    /// A fresh node's stat, as `DataTree.createStat` builds it: all three zxids equal the
    /// creating txn's zxid and both times its timestamp.
    pub fn created(zxid: Zxid, time: i64, ephemeral_owner: i64) -> Self {
        NodeStat {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            pzxid: zxid,
            ephemeral_owner,
            ..NodeStat::default()
        }
    }

    /// `DataNode.copyStat`: derives dataLength and numChildren, and shows the child-create
    /// counter as the number of child changes (`2 × creates − numChildren`, Java `int` math).
    pub fn to_stat(self, data_len: usize, num_children: usize) -> Stat {
        let num_children = saturating_i32(num_children);
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner: client_owner(self.ephemeral_owner),
            data_length: saturating_i32(data_len),
            num_children,
            pzxid: self.pzxid,
        }
    }
}

/// The stored owner of a container (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`, `Long.MIN_VALUE`).
pub(crate) const CONTAINER_OWNER: i64 = i64::MIN;
/// The top byte that marks an extended type (`EphemeralType.EXTENDED_MASK`); with bits 40–55
/// zero it is a TTL node whose ttl is in bits 0–39.
const EXTENDED_MASK: u64 = 0xFF00_0000_0000_0000;
const EXTENDED_TYPE_BITS: u64 = 0x00FF_FF00_0000_0000;
/// The largest TTL (`EphemeralType.TTL.maxValue()`, about 34.8 years of milliseconds).
pub const MAX_TTL_MS: u64 = 0xFF_FFFF_FFFF;

/// What kind of node a stored ephemeralOwner means (`EphemeralType.get`, extended types on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Persistent,
    /// Owned by this session id.
    Ephemeral(u64),
    Container,
    Ttl(u64),
}

impl Kind {
    pub fn of(owner: i64) -> Kind {
        let raw = owner as u64;
        if raw & EXTENDED_MASK == EXTENDED_MASK && raw & EXTENDED_TYPE_BITS == 0 {
            Kind::Ttl(raw & MAX_TTL_MS)
        } else if owner == CONTAINER_OWNER {
            Kind::Container
        } else if owner == 0 {
            Kind::Persistent
        } else {
            Kind::Ephemeral(raw)
        }
    }

    /// The stored owner of a TTL node (`EphemeralType.TTL.toEphemeralOwner`).
    pub fn ttl_owner(ttl_ms: u64) -> i64 {
        (EXTENDED_MASK | (ttl_ms & MAX_TTL_MS)) as i64
    }

    /// Whether a session id can own ephemerals without being read back as another kind (ZooKeeper
    /// forbids server id 255 with extended types for the same reason, ZOOKEEPER-2901).
    pub fn is_session_id(id: u64) -> bool {
        Kind::of(id as i64) == Kind::Ephemeral(id)
    }
}

/// `DataNode.getClientEphemeralOwner`: containers and TTL nodes show 0.
fn client_owner(owner: i64) -> i64 {
    match Kind::of(owner) {
        Kind::Ephemeral(_) => owner,
        Kind::Persistent | Kind::Container | Kind::Ttl(_) => 0,
    }
}

fn saturating_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Serde for an `i64` as its 64 bits, in the same format as `SessionId` (a hex string in
/// JSON, an integer in binary formats).
pub(crate) mod hex_i64 {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        crate::ids::hex_u64::serialize(&(*v as u64), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        crate::ids::hex_u64::deserialize(d).map(|v| v as i64)
    }
}
