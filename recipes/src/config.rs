//! Configuration publish/subscribe (ZooKeeper recipes, "Out of the Box Applications").
//!
//! Znodes: one persistent znode holding the configuration. Publishers write it, optionally
//! conditionally on its version (read-modify-write without lost updates); subscribers read it
//! with a data watch and read again when the watch fires.
//!
//! Guarantees: a subscriber sees versions in order and never an older one after a newer one
//! (ZooKeeper's ordered, per-session consistent reads, kept across reconnection by the client
//! sending its last seen zxid). Watches are one-shot: between a notification and the re-read,
//! several updates may land, so a subscriber sees the latest value, not necessarily every
//! intermediate one.
//!
//! Failure: a subscriber whose server dies reconnects to another one; its watch is set again
//! there and it does not miss the latest value. A publisher whose conditional write fails
//! with [`Error::BadVersion`] re-reads and retries.

use crate::{Coord, Error, EventKind, Mode, Result, Stat};

/// Writes `data` to `path`, creating it (and its parent chain) if needed.
pub async fn publish<C: Coord>(c: &C, path: &str, data: &[u8]) -> Result<Stat> {
    for _ in 0..crate::RETRIES {
        match retry!(c, c.set_data(path, data, None)) {
            Err(Error::NoNode) => {}
            r => return r,
        }
        if let Some((parent, _)) = path.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
            crate::ensure_path(c, parent).await?;
        }
        match retry!(c, c.create(path, data, Mode::Persistent)) {
            Ok((_, stat)) => return Ok(stat),
            Err(Error::NodeExists) => {} // created meanwhile: set it
            Err(e) => return Err(e),
        }
    }
    Err(Error::Other(format!("{path} kept appearing and disappearing")))
}

/// Read-modify-write: applies `change` to the current value and writes the result only if
/// nobody wrote in between (the version check), retrying with a fresh read otherwise.
///
/// A write whose reply is lost ([`Error::ConnectionLoss`]) is not retried: it may have been
/// applied, and applying `change` again would apply it twice. The caller learns the outcome
/// is unknown and decides (re-read, compare).
pub async fn update<C: Coord>(c: &C, path: &str, change: impl Fn(&[u8]) -> Vec<u8>) -> Result<Stat> {
    for _ in 0..crate::RETRIES {
        let (old, stat) = retry!(c, c.get_data(path))?;
        match c.set_data(path, &change(&old), Some(stat.version)).await {
            Err(Error::BadVersion) => continue,
            r => return r,
        }
    }
    Err(Error::BadVersion)
}

/// A subscriber to one configuration znode.
pub struct Subscriber<C: Coord> {
    c: C,
    path: String,
    seen: Option<Stat>,
}

impl<C: Coord> Subscriber<C> {
    pub fn new(c: C, path: &str) -> Self {
        Subscriber { c, path: path.to_string(), seen: None }
    }

    /// The next value newer than the last one returned (the current value on the first
    /// call), waiting on watches for it; waits for the znode to be created if it is missing.
    pub async fn next(&mut self) -> Result<(Vec<u8>, Stat)> {
        loop {
            let watch = match retry!(&self.c, self.c.get_data_watch(&self.path)) {
                Ok((data, stat, watch)) => {
                    if self.seen.is_none_or(|s| newer(&stat, &s)) {
                        self.seen = Some(stat);
                        return Ok((data, stat));
                    }
                    watch
                }
                Err(Error::NoNode) => {
                    let (stat, watch) = retry!(&self.c, self.c.exists_watch(&self.path))?;
                    if stat.is_some() {
                        continue;
                    }
                    watch
                }
                Err(e) => return Err(e),
            };
            if watch.await.kind == EventKind::SessionLost {
                return Err(Error::SessionExpired);
            }
        }
    }

    /// The version last returned by [`Subscriber::next`].
    pub fn version(&self) -> Option<i32> {
        self.seen.map(|s| s.version)
    }
}

/// A later state of the znode: modified by a later transaction (a deleted and re-created
/// znode restarts its version at 0 but has a larger mzxid).
fn newer(now: &Stat, before: &Stat) -> bool {
    now.mzxid > before.mzxid
}
