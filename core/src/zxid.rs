//! ZooKeeper transaction ids: epoch in the high 32 bits, counter in the low 32.
//!
//! `(e, 0)` is never a transaction; it marks "epoch e began". When the counter would pass
//! `u32::MAX` the leader must force a new epoch (ZOOKEEPER-1277): the counter never carries
//! into the epoch, which is why the two halves are separate fields here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An epoch number (the paper's `e`).
pub type Epoch = u32;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid {
    pub epoch: Epoch,
    pub counter: u32,
}

impl Zxid {
    pub const ZERO: Zxid = Zxid { epoch: 0, counter: 0 };

    pub const fn new(epoch: Epoch, counter: u32) -> Self {
        Zxid { epoch, counter }
    }

    pub const fn as_u64(self) -> u64 {
        ((self.epoch as u64) << 32) | self.counter as u64
    }

    pub const fn from_u64(v: u64) -> Self {
        Zxid { epoch: (v >> 32) as u32, counter: v as u32 }
    }

    /// The next zxid in the same epoch, or `None` when the counter is exhausted.
    pub fn next(self) -> Option<Zxid> {
        self.counter.checked_add(1).map(|c| Zxid::new(self.epoch, c))
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}{:08x}", self.epoch, self.counter)
    }
}

impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.epoch, self.counter)
    }
}

/// JSON carries zxids as hex strings (JavaScript numbers lose 64-bit values); binary formats
/// carry the plain integer.
impl Serialize for Zxid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::ids::hex_u64::serialize(&self.as_u64(), s)
    }
}

impl<'de> Deserialize<'de> for Zxid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::ids::hex_u64::deserialize(d).map(Zxid::from_u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_epoch_then_counter() {
        assert!(Zxid::new(1, u32::MAX) < Zxid::new(2, 0));
        assert_eq!(Zxid::from_u64(Zxid::new(7, 3).as_u64()), Zxid::new(7, 3));
        assert_eq!(Zxid::new(7, 3).to_string(), "0x700000003");
        assert_eq!(Zxid::new(1, u32::MAX).next(), None);
    }

    #[test]
    fn json_is_hex_string() {
        let j = serde_json::to_string(&Zxid::new(0x10, 2)).unwrap();
        assert_eq!(j, "\"1000000002\"");
        assert_eq!(serde_json::from_str::<Zxid>(&j).unwrap(), Zxid::new(0x10, 2));
    }
}
