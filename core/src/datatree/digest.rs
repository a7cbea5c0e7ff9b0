//! The tree digest: ZooKeeper's `DigestCalculator` idea with a hash we pin ourselves.
//!
//! Each node hashes to a `u64` over its path, its data, its stored stat (the
//! `StatPersisted` fields ZooKeeper's digest covers: no numChildren or dataLength, which follow
//! from the other nodes and the data) and, unlike ZooKeeper, its ACL, so that peers whose
//! ACLs diverged and snapshots with a corrupted ACL are caught too. The tree digest is the wrapping sum of the node hashes,
//! so a change costs one subtraction and one addition, and the result does not depend on the
//! order nodes were added in. Peers compare digests to detect divergence (ZOOKEEPER-3114).
//!
//! Unlike ZooKeeper 3.8 we also cover `/zookeeper/...`: ZooKeeper left it out only because
//! its quota nodes were updated locally, and here every change goes through `apply`.
//!
//! The hash is FNV-1a 64 followed by the MurmurHash3 64-bit finalizer (FNV alone mixes its
//! last bytes weakly, and sums of weak hashes collide more easily). Both are fixed algorithms,
//! so the digest is the same on every platform, Rust version and wasm build; std's
//! `DefaultHasher` promises none of that.

use super::stat::NodeStat;
use crate::acl::Acl;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 over a stream of bytes.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(FNV_OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Length first, so that ("ab", "c") and ("a", "bc") hash differently.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_be_bytes());
        self.bytes(bytes);
    }

    fn finish(self) -> u64 {
        fmix64(self.0)
    }
}

/// MurmurHash3's 64-bit finalizer (avalanche step).
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The hash of one node. Field order follows ZooKeeper's `DigestCalculator` (version 2), then
/// the ACL entries in their stored order.
pub(crate) fn node_hash(path: &str, data: &[u8], acl: &[Acl], stat: &NodeStat) -> u64 {
    let mut h = Fnv1a::new();
    h.field(path.as_bytes());
    h.field(data);
    for v in [stat.czxid.as_u64(), stat.mzxid.as_u64(), stat.pzxid.as_u64()] {
        h.bytes(&v.to_be_bytes());
    }
    h.bytes(&stat.ctime.to_be_bytes());
    h.bytes(&stat.mtime.to_be_bytes());
    h.bytes(&stat.version.to_be_bytes());
    h.bytes(&stat.cversion.to_be_bytes());
    h.bytes(&stat.aversion.to_be_bytes());
    h.bytes(&stat.ephemeral_owner.to_be_bytes());
    h.bytes(&(acl.len() as u64).to_be_bytes());
    for a in acl {
        h.bytes(&a.perms.to_be_bytes());
        h.field(a.id.scheme.as_bytes());
        h.field(a.id.id.as_bytes());
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zxid::Zxid;

    /// Published FNV-1a 64 test vectors (before our finalizer).
    #[test]
    fn fnv1a_matches_reference_vectors() {
        let raw = |s: &[u8]| {
            let mut h = Fnv1a::new();
            h.bytes(s);
            h.0
        };
        assert_eq!(raw(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(raw(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(raw(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// Pins the whole node hash: if this changes, snapshots written by an older build no
    /// longer verify, so change it only on purpose.
    #[test]
    fn node_hash_is_pinned() {
        let stat = NodeStat::created(Zxid::new(1, 2), 1_700_000_000_000, 0);
        let open = crate::acl::open_acl_unsafe();
        assert_eq!(node_hash("/a", b"x", &open, &stat), node_hash("/a", b"x", &open, &stat));
        assert_ne!(node_hash("/a", b"x", &open, &stat), node_hash("/a", b"y", &open, &stat));
        assert_ne!(node_hash("/ab", b"", &open, &stat), node_hash("/a", b"b", &open, &stat));
        assert_ne!(node_hash("/a", b"x", &open, &stat), node_hash("/a", b"x", &crate::acl::read_acl_unsafe(), &stat));
        assert_ne!(node_hash("/a", b"x", &open, &stat), node_hash("/a", b"x", &[], &stat));
        assert_eq!(node_hash("/a", b"x", &open, &stat), PINNED);
    }

    const PINNED: u64 = 0x44c2_5748_1654_9456;
}
