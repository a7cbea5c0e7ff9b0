//! A distributed FIFO queue (ZooKeeper recipes, "Queues").
//!
//! Znodes: `dir/item-NNNNNNNNNN`, persistent sequential, holding the item. Producers create;
//! a consumer lists the children, and takes the lowest-numbered item by reading and then
//! deleting it at the version it read. Two consumers racing for one item: one delete
//! succeeds, the other gets `NoNode` and moves to the next item, so each item is taken once.
//! When the queue is empty, a consumer waits on a child watch.
//!
//! Ordering: items are numbered in the order the server committed the creates, and every
//! consumer tries them in that order, so a single consumer takes them in order and several
//! consumers take the oldest available one.
//!
//! Failure: items are persistent, so they survive producers, consumers and server crashes.
//! Taking is at most once: a consumer that crashes after its delete loses the item, and a
//! delete whose reply is lost is not retried as a success (the item may have been taken by
//! this consumer or another: this consumer moves on). Curator's and kazoo's locking queues
//! trade this for at-least-once with a lock znode per item being processed.

use crate::{by_sequence, ensure_path, join, Coord, Error, EventKind, Result};

pub struct Queue<C: Coord> {
    c: C,
    dir: String,
}

impl<C: Coord> Queue<C> {
    pub fn new(c: C, dir: &str) -> Self {
        Queue { c, dir: dir.to_string() }
    }

    /// Appends an item; returns its sequence number.
    pub async fn put(&self, item: &[u8]) -> Result<u64> {
        let name = crate::naming::unique_name(&self.c, &self.dir, "item-", item).await?;
        Ok(name.sequence)
    }

    /// Takes the oldest item, waiting for one if the queue is empty (the caller bounds the
    /// wait by dropping the future).
    pub async fn take(&self) -> Result<Vec<u8>> {
        ensure_path(&self.c, &self.dir).await?;
        loop {
            let (children, watch) = retry!(&self.c, self.c.get_children_watch(&self.dir))?;
            if let Some(item) = self.take_first(children).await? {
                return Ok(item);
            }
            if watch.await.kind == EventKind::SessionLost {
                return Err(Error::SessionExpired);
            }
        }
    }

    /// Takes the oldest item if there is one, without waiting.
    pub async fn try_take(&self) -> Result<Option<Vec<u8>>> {
        match retry!(&self.c, self.c.get_children(&self.dir)) {
            Ok(children) => self.take_first(children).await,
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The number of items waiting.
    pub async fn len(&self) -> Result<usize> {
        Ok(retry!(&self.c, self.c.get_children(&self.dir))?.len())
    }

    async fn take_first(&self, children: Vec<String>) -> Result<Option<Vec<u8>>> {
        for (_, name) in by_sequence(children).into_iter().filter(|(_, n)| n.starts_with("item-")) {
            let path = join(&self.dir, &name);
            let (data, stat) = match retry!(&self.c, self.c.get_data(&path)) {
                Ok(found) => found,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            match self.c.delete(&path, Some(stat.version)).await {
                Ok(()) => return Ok(Some(data)),
                Err(Error::NoNode) | Err(Error::ConnectionLoss) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}
