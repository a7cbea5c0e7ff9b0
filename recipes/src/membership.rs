//! Group membership (ZooKeeper recipes, "Out of the Box Applications: Group Membership").
//!
//! Znodes: `dir/{member}`, ephemeral, holding the member's data. Members are the children of
//! `dir`; a child watch tells of joins and departures.
//!
//! Failure: a member whose session ends (crash, partition, close) is removed by the server,
//! and every child watch on `dir` fires. A member name is unique: a second join under the
//! same name fails with [`Error::NodeExists`] until the first one's session is gone.

use crate::{ensure_path, join, Coord, Error, Mode, Result};

pub struct Group<C: Coord> {
    c: C,
    dir: String,
}

impl<C: Coord> Group<C> {
    pub fn new(c: C, dir: &str) -> Self {
        Group { c, dir: dir.to_string() }
    }

    /// Joins as `member`. A lost reply is retried: `NodeExists` then means the first try
    /// went through if the znode is ours (same session).
    pub async fn join(&self, member: &str, data: &[u8]) -> Result<()> {
        ensure_path(&self.c, &self.dir).await?;
        let path = join(&self.dir, member);
        match retry!(&self.c, self.c.create(&path, data, Mode::Ephemeral)) {
            Ok(_) => Ok(()),
            Err(Error::NodeExists) => {
                let owner = retry!(&self.c, self.c.exists(&path))?.map(|s| s.ephemeral_owner);
                if owner == Some(self.c.session_id()) {
                    Ok(())
                } else {
                    Err(Error::NodeExists)
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn leave(&self, member: &str) -> Result<()> {
        let path = join(&self.dir, member);
        match retry!(&self.c, self.c.delete(&path, None)) {
            Ok(()) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The members, sorted.
    pub async fn members(&self) -> Result<Vec<String>> {
        let mut m = retry!(&self.c, self.c.get_children(&self.dir))?;
        m.sort();
        Ok(m)
    }

    /// The members, sorted, and a watch that fires on the next join or departure.
    pub async fn watch_members(&self) -> Result<(Vec<String>, C::Watch)> {
        let (mut m, w) = retry!(&self.c, self.c.get_children_watch(&self.dir))?;
        m.sort();
        Ok((m, w))
    }

    /// Waits (through watches, no polling) until the membership satisfies `done`, and returns
    /// it. The caller bounds the wait by dropping the future.
    pub async fn wait_until(&self, done: impl Fn(&[String]) -> bool) -> Result<Vec<String>> {
        loop {
            let (m, w) = self.watch_members().await?;
            if done(&m) {
                return Ok(m);
            }
            if w.await.kind == crate::EventKind::SessionLost {
                return Err(Error::SessionExpired);
            }
        }
    }
}
