//! An exclusive lock without herd effect, with a fencing token.
//!
//! Znodes: `dir/lock-{session}.{n}-NNNNNNNNNN`, ephemeral sequential, one per contender. The
//! lowest sequence holds the lock; every other contender watches only the one just before
//! it (ZooKeeper recipes, "Locks"), so a release or a crash notifies one client.
//!
//! Failure: the holder's session ending (crash, partition longer than the session timeout)
//! deletes its znode and the next in line takes over. A holder that was only paused (GC,
//! SIGSTOP) does not know at once: it may still act for a while after its successor started.
//! The [`FencingToken`] is the lock znode's czxid, larger for every later holder; a resource
//! that remembers the largest token it has seen rejects the stale holder (Kleppmann, "How to
//! do distributed locking"; Jepsen's etcd 3.4.3 analysis found the same hole in etcd locks).

use crate::ticket::Place;
use crate::{Coord, Result, Ticket};

/// A monotonically increasing token for the holder of a lock: the creation zxid of its lock
/// znode. Compare tokens of the same lock only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FencingToken(pub i64);

pub struct Lock<C: Coord> {
    c: C,
    dir: String,
    /// A cancelled [`Lock::acquire`] keeps its ticket, for [`Lock::release`] to clean up.
    place: Place,
}

impl<C: Coord> Lock<C> {
    pub fn new(c: C, dir: &str) -> Self {
        Lock { c, dir: dir.to_string(), place: Place::default() }
    }

    /// Waits for the lock. Dropping the future cancels the wait; call [`Lock::release`] then
    /// to leave the line.
    pub async fn acquire(&mut self) -> Result<FencingToken> {
        self.place.wait(&self.c, &self.dir, "lock-", |_| true).await.map(FencingToken)
    }

    /// Releases the lock, or leaves the line if still waiting.
    pub async fn release(&mut self) -> Result<()> {
        self.place.leave(&self.c).await
    }

    pub fn is_held(&self) -> bool {
        self.place.held
    }

    /// The holder's token, while held.
    pub fn token(&self) -> Option<FencingToken> {
        self.place.ticket.as_ref().filter(|_| self.place.held).map(|t| FencingToken(t.czxid))
    }

    /// This contender's znode (held or waiting).
    pub fn ticket(&self) -> Option<&Ticket> {
        self.place.ticket.as_ref()
    }

    /// Whether the lock znode still exists: `false` once the session expired, however long
    /// the holder was paused. A check, not a guarantee (it can expire right after); the
    /// fencing token is what protects the resource.
    pub async fn still_held(&self) -> Result<bool> {
        match &self.place.ticket {
            Some(t) if self.place.held => Ok(self.c.exists(&t.path).await?.is_some()),
            _ => Ok(false),
        }
    }
}

/// The resource side of fencing: accepts a write only with a token at least as large as any
/// it has accepted before.
#[derive(Debug, Default)]
pub struct FencedResource {
    highest: Option<FencingToken>,
}

impl FencedResource {
    pub fn write(&mut self, token: FencingToken) -> bool {
        if self.highest.is_some_and(|h| token < h) {
            return false;
        }
        self.highest = Some(token);
        true
    }
}
