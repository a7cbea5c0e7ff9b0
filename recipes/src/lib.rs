//! ZooKeeper's coordination recipes, written once against [`Coord`], a small async client
//! trait that the real client (`zookeeper-client`, feature `zk`) and the in-tab simulator can
//! both implement, so a lesson and a runnable example run the same code.
//!
//! Each recipe follows "ZooKeeper Recipes and Solutions" (the ZooKeeper docs) and, where that
//! page is silent (lost replies, cancellation, fencing), what Apache Curator's recipes do:
//!
//! | module | use case | relies on |
//! |---|---|---|
//! | [`config`] | publish/subscribe a configuration znode | data watches, versions |
//! | [`naming`] | unique names | sequential znodes |
//! | [`discovery`] | service discovery, round-robin balancing | ephemerals, child watches |
//! | [`membership`] | group membership | ephemerals, child watches |
//! | [`election`] | leader election, no herd | ephemeral sequential, watch the predecessor |
//! | [`lock`] | exclusive lock with a fencing token | same, plus the znode's czxid |
//! | [`rwlock`] | read/write lock, no herd | same, readers skip readers |
//! | [`queue`] | FIFO queue | sequential znodes, a conditional delete |
//! | [`barrier`] | double barrier | ephemerals, exists watches |
//!
//! Implementations of [`Coord`]: [`zk::ZkClient`] (feature `zk`, on `zookeeper-client` and
//! tokio) for real ensembles, and [`sim::SimCoord`] (feature `sim`, the default) on the
//! in-tab simulator, with a small executor that steps virtual time. [`counting::Counted`]
//! wraps either to count watch notifications (how the tests show there is no herd).
//!
//! The crate has no runtime of its own (no tokio in its core): it builds for
//! `wasm32-unknown-unknown`. Recipes never wait on a clock except through [`Coord::sleep`]
//! (a short pause before retrying after a lost connection); callers bound a wait by dropping
//! its future (a timeout), and every recipe keeps enough state to clean up afterwards.

#![allow(async_fn_in_trait)] // Recipes run on one task; implementations need not be `Send`.

/// Runs the operation `$op` (an expression giving a future) again after
/// [`Error::ConnectionLoss`], pausing in between (bounded). Only for operations that are safe
/// to repeat: reads, and writes whose second try tells its outcome apart (a create answered
/// `NodeExists`, a delete answered `NoNode`). A macro rather than a function taking an async
/// closure, so the recipes' futures stay `Send` for a `Send` client (a multi-threaded tokio).
macro_rules! retry {
    ($c:expr, $op:expr) => {{
        let mut tries = 0;
        loop {
            match $op.await {
                Err($crate::Error::ConnectionLoss) if tries < $crate::RETRIES => {
                    tries += 1;
                    $c.sleep($crate::RETRY_PAUSE_MS).await;
                }
                other => break other,
            }
        }
    }};
}

pub mod barrier;
pub mod config;
pub mod counting;
pub mod discovery;
pub mod election;
#[cfg(feature = "sim")]
pub mod lesson;
pub mod lock;
pub mod membership;
pub mod naming;
pub mod queue;
pub mod rwlock;
#[cfg(feature = "sim")]
pub mod sim;
mod ticket;
#[cfg(feature = "zk")]
pub mod zk;

pub use ticket::Ticket;

use std::future::Future;

/// How a znode is created (ZooKeeper's `CreateMode`, without containers and TTLs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Persistent,
    PersistentSequential,
    /// Deleted by the server when the creating session ends (closed or expired).
    Ephemeral,
    EphemeralSequential,
}

impl Mode {
    pub fn is_sequential(self) -> bool {
        matches!(self, Mode::PersistentSequential | Mode::EphemeralSequential)
    }
}

/// The parts of a znode's `Stat` the recipes use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// The zxid that created the znode: totally ordered across the ensemble, so a later
    /// lock holder's znode has a larger one (the fencing token).
    pub czxid: i64,
    pub mzxid: i64,
    /// Data version, for conditional `set_data` and `delete`.
    pub version: i32,
    pub cversion: i32,
    /// The owning session of an ephemeral znode, 0 for a persistent one.
    pub ephemeral_owner: i64,
    pub num_children: i32,
}

/// The errors recipes tell apart (ZooKeeper's `KeeperException` codes they act on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    NoNode,
    NodeExists,
    BadVersion,
    NotEmpty,
    /// The session is gone: its ephemerals are deleted, so a lock or leadership it held is
    /// lost. Terminal for this client.
    SessionExpired,
    /// The reply was lost: the request may or may not have been applied. Recoverable.
    ConnectionLoss,
    Other(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Other(s) => write!(f, "{s}"),
            e => write!(f, "{e:?}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// What a one-shot watch reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Deleted,
    DataChanged,
    ChildrenChanged,
    /// The session ended (expired or closed) before the watched change: no more events.
    SessionLost,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub path: String,
}

/// The client operations the recipes need. Reads that set a watch return it as a future that
/// resolves once, with the first change (ZooKeeper's one-shot watch semantics); dropping it
/// forgets the watch locally.
pub trait Coord {
    type Watch: Future<Output = WatchEvent> + Unpin;

    /// This client's session, used to tag the znodes it creates (see [`Ticket`]).
    fn session_id(&self) -> i64;
    /// Creates `path` (with a sequence suffix for sequential modes); returns the created
    /// path and its stat.
    async fn create(&self, path: &str, data: &[u8], mode: Mode) -> Result<(String, Stat)>;
    async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)>;
    async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, Self::Watch)>;
    /// `version: Some(v)` fails with [`Error::BadVersion`] unless the znode is at `v`.
    async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat>;
    async fn delete(&self, path: &str, version: Option<i32>) -> Result<()>;
    async fn exists(&self, path: &str) -> Result<Option<Stat>>;
    /// Watches creation too when the znode does not exist yet.
    async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, Self::Watch)>;
    async fn get_children(&self, path: &str) -> Result<Vec<String>>;
    async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, Self::Watch)>;
    /// ZooKeeper's `sync`: this client's server catches up with the leader, so the reads that
    /// follow see every write acknowledged (to anyone) before the call. Reads alone may lag.
    async fn sync(&self, path: &str) -> Result<()>;
    /// A pause (a retry back-off): the implementation's clock, real or simulated.
    async fn sleep(&self, ms: u64);
    /// A number this client has not used before in a znode name (see [`Ticket`]). The
    /// simulator counts per client, so a replayed lesson names its znodes the same way.
    fn next_tag(&self) -> u64 {
        static NEXT_TAG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NEXT_TAG.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

impl<T: Coord> Coord for &T {
    type Watch = T::Watch;
    fn session_id(&self) -> i64 {
        (**self).session_id()
    }
    async fn create(&self, path: &str, data: &[u8], mode: Mode) -> Result<(String, Stat)> {
        (**self).create(path, data, mode).await
    }
    async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        (**self).get_data(path).await
    }
    async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, Self::Watch)> {
        (**self).get_data_watch(path).await
    }
    async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        (**self).set_data(path, data, version).await
    }
    async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        (**self).delete(path, version).await
    }
    async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        (**self).exists(path).await
    }
    async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, Self::Watch)> {
        (**self).exists_watch(path).await
    }
    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        (**self).get_children(path).await
    }
    async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, Self::Watch)> {
        (**self).get_children_watch(path).await
    }
    async fn sync(&self, path: &str) -> Result<()> {
        (**self).sync(path).await
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
    fn next_tag(&self) -> u64 {
        (**self).next_tag()
    }
}

/// How often a recipe retries an operation whose reply was lost, and the pause between tries.
/// The client reconnects to another server meanwhile; a session outlives a few seconds of
/// this (its timeout is at least 4 s on zabra).
pub(crate) const RETRIES: u32 = 20;
pub(crate) const RETRY_PAUSE_MS: u64 = 250;

/// `dir/name`, with `/` as the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The sequence number ZooKeeper appended to a sequential znode's name (the digits after the
/// last `-`; ten of them, or nineteen past `i32::MAX`).
pub fn sequence(name: &str) -> Option<u64> {
    let digits = name.rsplit('-').next()?;
    if digits.len() < 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Children that carry a sequence number, in sequence order (the order the server created
/// them in, whatever their prefixes).
pub fn by_sequence(children: Vec<String>) -> Vec<(u64, String)> {
    let mut v: Vec<(u64, String)> = children.into_iter().filter_map(|n| sequence(&n).map(|s| (s, n))).collect();
    v.sort();
    v
}

/// Creates `path` and its missing ancestors as empty persistent znodes; an ancestor someone
/// else creates meanwhile is fine.
pub async fn ensure_path<C: Coord>(c: &C, path: &str) -> Result<()> {
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        if retry!(c, c.exists(&at))?.is_some() {
            continue;
        }
        match retry!(c, c.create(&at, b"", Mode::Persistent)) {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Deletes `path` and everything under it (test and example clean-up). Not atomic: a child
/// created meanwhile makes it fail with [`Error::NotEmpty`] after bounded retries.
pub async fn delete_all<C: Coord>(c: &C, path: &str) -> Result<()> {
    for _ in 0..5 {
        let children = match retry!(c, c.get_children(path)) {
            Err(Error::NoNode) => return Ok(()),
            r => r?,
        };
        for child in children {
            Box::pin(delete_all(c, &join(path, &child))).await?;
        }
        match retry!(c, c.delete(path, None)) {
            Ok(()) | Err(Error::NoNode) => return Ok(()),
            Err(Error::NotEmpty) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::NotEmpty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_the_numeric_suffix() {
        assert_eq!(sequence("lock-1f-3-0000000042"), Some(42));
        assert_eq!(sequence("write-0000000007"), Some(7));
        assert_eq!(sequence("ready"), None);
        assert_eq!(sequence("x-12"), None);
    }

    #[test]
    fn by_sequence_orders_across_prefixes() {
        let kids = vec!["write-a-0000000003".into(), "read-b-0000000001".into(), "ready".into()];
        let names: Vec<String> = by_sequence(kids).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["read-b-0000000001", "write-a-0000000003"]);
    }
}
