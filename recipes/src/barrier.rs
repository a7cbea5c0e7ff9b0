//! A double barrier (ZooKeeper recipes, "Double Barriers"): `count` participants enter
//! together and leave together.
//!
//! Znodes: `dir/{participant}`, ephemeral, one per participant, and `dir/ready`, persistent,
//! created by the participant whose arrival completes the group.
//!
//! Enter: watch `ready` (set before joining, so its creation is not missed), join, and if
//! fewer than `count` participants are present wait for `ready`; otherwise create it.
//! Leave: the lowest-named participant waits for the highest to go; everyone else deletes its
//! znode and waits for the lowest; the last one deletes `ready`. Each waits on one znode.
//!
//! Failure: a participant that crashes inside the barrier has its znode deleted when its
//! session expires, which lets the others leave (it has left, too). One that crashes before
//! the group is complete leaves the others waiting for a replacement. A barrier directory is
//! for one round: `ready` stays until the last participant has left.

use crate::{ensure_path, join, Coord, Error, EventKind, Mode, Result};

const READY: &str = "ready";

pub struct DoubleBarrier<C: Coord> {
    c: C,
    dir: String,
    name: String,
    count: usize,
}

impl<C: Coord> DoubleBarrier<C> {
    pub fn new(c: C, dir: &str, name: &str, count: usize) -> Self {
        DoubleBarrier { c, dir: dir.to_string(), name: name.to_string(), count }
    }

    async fn participants(&self) -> Result<Vec<String>> {
        let mut p = retry!(&self.c, self.c.get_children(&self.dir))?;
        p.retain(|n| n != READY);
        p.sort();
        Ok(p)
    }

    /// Joins and waits until `count` participants have.
    pub async fn enter(&self) -> Result<()> {
        ensure_path(&self.c, &self.dir).await?;
        let ready = join(&self.dir, READY);
        let (present, watch) = retry!(&self.c, self.c.exists_watch(&ready))?;
        let mine = join(&self.dir, &self.name);
        match retry!(&self.c, self.c.create(&mine, b"", Mode::Ephemeral)) {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
        if present.is_some() {
            return Ok(());
        }
        if self.participants().await?.len() < self.count {
            return match watch.await.kind {
                EventKind::SessionLost => Err(Error::SessionExpired),
                _ => Ok(()),
            };
        }
        match retry!(&self.c, self.c.create(&ready, b"", Mode::Persistent)) {
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits until every participant is done, leaving with them.
    pub async fn leave(&self) -> Result<()> {
        let mine = join(&self.dir, &self.name);
        loop {
            let p = self.participants().await?;
            let Some(lowest) = p.first() else { break };
            let highest = p.last().expect("non-empty");
            if p.len() == 1 && *lowest == self.name {
                self.delete(&mine).await?;
                break;
            }
            let wait_for = if *lowest == self.name {
                join(&self.dir, highest)
            } else {
                self.delete(&mine).await?;
                join(&self.dir, lowest)
            };
            let (stat, watch) = retry!(&self.c, self.c.exists_watch(&wait_for))?;
            if stat.is_some() && watch.await.kind == EventKind::SessionLost {
                return Err(Error::SessionExpired);
            }
        }
        // The last one out removes `ready`; one who finds others still there leaves it.
        if self.participants().await?.is_empty() {
            self.delete(&join(&self.dir, READY)).await?;
        }
        Ok(())
    }

    async fn delete(&self, path: &str) -> Result<()> {
        match retry!(&self.c, self.c.delete(path, None)) {
            Ok(()) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
