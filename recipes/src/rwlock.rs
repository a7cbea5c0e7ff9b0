//! A read/write lock without herd effect (ZooKeeper recipes, "Shared Locks").
//!
//! Znodes: `dir/read-{session}.{n}-NNNNNNNNNN` and `dir/write-...`, ephemeral sequential, in
//! one sequence. A reader waits only for the last writer before it (readers share); a writer
//! waits for whoever is just before it. So a writer is not starved: a reader arriving after
//! it queues behind it. Each waiter watches one znode, so a release wakes the waiters that
//! can actually proceed (for a writer's release, the readers right behind it, each woken by
//! its own watch on that writer, and not the later writers).
//!
//! Failure and fencing as in [`crate::lock`]: a holder's crash deletes its znode; the token
//! is the znode's czxid (for readers, a writer's token is larger than every earlier reader's).

use crate::lock::FencingToken;
use crate::ticket::Place;
use crate::{Coord, Result, Ticket};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    fn prefix(self) -> &'static str {
        match self {
            Access::Read => "read-",
            Access::Write => "write-",
        }
    }
}

/// One side of a read/write lock on `dir`: make one per reader or writer.
pub struct RwLock<C: Coord> {
    c: C,
    dir: String,
    access: Access,
    place: Place,
}

impl<C: Coord> RwLock<C> {
    pub fn reader(c: C, dir: &str) -> Self {
        RwLock { c, dir: dir.to_string(), access: Access::Read, place: Place::default() }
    }

    pub fn writer(c: C, dir: &str) -> Self {
        RwLock { c, dir: dir.to_string(), access: Access::Write, place: Place::default() }
    }

    /// Waits for the lock; dropping the future cancels (then call [`RwLock::release`]).
    pub async fn acquire(&mut self) -> Result<FencingToken> {
        let access = self.access;
        let blocks = |name: &str| access == Access::Write || name.starts_with(Access::Write.prefix());
        self.place.wait(&self.c, &self.dir, access.prefix(), blocks).await.map(FencingToken)
    }

    pub async fn release(&mut self) -> Result<()> {
        self.place.leave(&self.c).await
    }

    pub fn is_held(&self) -> bool {
        self.place.held
    }

    pub fn ticket(&self) -> Option<&Ticket> {
        self.place.ticket.as_ref()
    }
}
