//! Service discovery and client-side load balancing (what Curator's ServiceDiscovery and
//! kazoo's ChildrenWatch are used for).
//!
//! Znodes: `dir/instance-{session}.{n}-NNNNNNNNNN`, ephemeral sequential, holding the
//! instance's address. A [`Balancer`] lists them with a child watch, reads each address, and
//! picks round robin; on the watch it lists again.
//!
//! Failure: an instance whose session ends disappears from `dir`; every balancer's watch
//! fires and it stops picking that instance once it has refreshed. Between the crash and the
//! session's expiry (the session timeout) the dead instance is still listed: clients must
//! still handle a failed call, but they stop choosing it without any health checking of
//! their own.

use crate::ticket::take;
use crate::{ensure_path, join, Coord, Error, EventKind, Mode, Result, Ticket};
use std::collections::BTreeMap;

/// Registers an instance at `address` under `dir`; it stays listed while this session lives.
pub async fn register<C: Coord>(c: &C, dir: &str, address: &str) -> Result<Ticket> {
    ensure_path(c, dir).await?;
    take(c, dir, "instance-", address.as_bytes(), Mode::EphemeralSequential).await
}

/// Deregisters an instance before shutting down (its session ending does the same).
pub async fn deregister<C: Coord>(c: &C, instance: &Ticket) -> Result<()> {
    crate::ticket::give_back(c, instance).await
}

pub struct Balancer<C: Coord> {
    c: C,
    dir: String,
    /// Znode name to address, in sequence order of registration.
    instances: BTreeMap<String, String>,
    next: usize,
    watch: Option<C::Watch>,
}

impl<C: Coord> Balancer<C> {
    /// A balancer following `dir`, with the instances listed now.
    pub async fn new(c: C, dir: &str) -> Result<Self> {
        ensure_path(&c, dir).await?;
        let mut b = Balancer { c, dir: dir.to_string(), instances: BTreeMap::new(), next: 0, watch: None };
        b.refresh().await?;
        Ok(b)
    }

    /// Lists the instances again and sets a new child watch.
    pub async fn refresh(&mut self) -> Result<()> {
        let (names, watch) = retry!(&self.c, self.c.get_children_watch(&self.dir))?;
        let mut instances = BTreeMap::new();
        for name in names {
            let path = join(&self.dir, &name);
            match retry!(&self.c, self.c.get_data(&path)) {
                Ok((data, _)) => {
                    instances.insert(name, String::from_utf8_lossy(&data).into_owned());
                }
                Err(Error::NoNode) => {} // gone since the listing: the watch has fired
                Err(e) => return Err(e),
            }
        }
        self.instances = instances;
        self.watch = Some(watch);
        Ok(())
    }

    /// The next live instance's address, round robin; `None` if there is none.
    pub fn pick(&mut self) -> Option<String> {
        if self.instances.is_empty() {
            return None;
        }
        let i = self.next % self.instances.len();
        self.next = self.next.wrapping_add(1);
        self.instances.values().nth(i).cloned()
    }

    /// The addresses known now, in registration order.
    pub fn addresses(&self) -> Vec<String> {
        self.instances.values().cloned().collect()
    }

    /// Waits for the next change to the instance list, then refreshes.
    pub async fn changed(&mut self) -> Result<()> {
        if let Some(w) = self.watch.take() {
            if w.await.kind == EventKind::SessionLost {
                return Err(Error::SessionExpired);
            }
        }
        self.refresh().await
    }

    /// Follows changes until the list satisfies `done` (the caller bounds the wait).
    pub async fn wait_until(&mut self, done: impl Fn(&[String]) -> bool) -> Result<()> {
        while !done(&self.addresses()) {
            self.changed().await?;
        }
        Ok(())
    }
}
