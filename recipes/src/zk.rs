//! [`Coord`] on the `zookeeper-client` crate (async, tokio): the recipes against a real
//! ensemble, zabra or Apache ZooKeeper.

use crate::{Coord, Error, EventKind, Mode, Result, Stat, WatchEvent};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use zookeeper_client as zk;

/// A session with an ensemble. Cloning shares the session.
#[derive(Clone, Debug)]
pub struct ZkClient {
    client: zk::Client,
}

/// How long [`ZkClient::connect`] tries before giving up.
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

impl ZkClient {
    /// Connects to `hosts` (`host:port,host:port,...`) with a 10 s session timeout.
    pub async fn connect(hosts: &str) -> Result<ZkClient> {
        ZkClient::connect_with(hosts, Duration::from_secs(10), false).await
    }

    /// Connects with the given session timeout. A `detached` session is not closed when the
    /// client is dropped: the server ends it only after the timeout, as after a crash.
    pub async fn connect_with(hosts: &str, session_timeout: Duration, detached: bool) -> Result<ZkClient> {
        let mut connector = zk::Client::connector().with_session_timeout(session_timeout);
        if detached {
            connector = connector.with_detached();
        }
        let client = tokio::time::timeout(CONNECT_LIMIT, connector.connect(hosts))
            .await
            .map_err(|_| Error::Other(format!("no connection to {hosts} within {CONNECT_LIMIT:?}")))?
            .map_err(from_zk)?;
        Ok(ZkClient { client })
    }

    pub fn client(&self) -> &zk::Client {
        &self.client
    }
}

/// The recipes' error for a client error: the codes they act on, the rest as text.
pub fn from_zk(e: zk::Error) -> Error {
    match e {
        zk::Error::NoNode => Error::NoNode,
        zk::Error::NodeExists => Error::NodeExists,
        zk::Error::BadVersion => Error::BadVersion,
        zk::Error::NotEmpty => Error::NotEmpty,
        zk::Error::SessionExpired | zk::Error::ClientClosed => Error::SessionExpired,
        zk::Error::ConnectionLoss | zk::Error::Timeout => Error::ConnectionLoss,
        e => Error::Other(e.to_string()),
    }
}

fn stat(s: &zk::Stat) -> Stat {
    Stat {
        czxid: s.czxid,
        mzxid: s.mzxid,
        version: s.version,
        cversion: s.cversion,
        ephemeral_owner: s.ephemeral_owner,
        num_children: s.num_children,
    }
}

fn mode(m: Mode) -> zk::CreateMode {
    match m {
        Mode::Persistent => zk::CreateMode::Persistent,
        Mode::PersistentSequential => zk::CreateMode::PersistentSequential,
        Mode::Ephemeral => zk::CreateMode::Ephemeral,
        Mode::EphemeralSequential => zk::CreateMode::EphemeralSequential,
    }
}

pub type ZkWatch = Pin<Box<dyn Future<Output = WatchEvent> + Send>>;

/// A one-shot watch as a future. The client sets it again on the next server after a
/// reconnection, so only the session's end interrupts it.
fn watch(w: zk::OneshotWatcher) -> ZkWatch {
    Box::pin(async move {
        let e = w.changed().await;
        let kind = match e.event_type {
            zk::EventType::NodeCreated => EventKind::Created,
            zk::EventType::NodeDeleted => EventKind::Deleted,
            zk::EventType::NodeDataChanged => EventKind::DataChanged,
            zk::EventType::NodeChildrenChanged => EventKind::ChildrenChanged,
            zk::EventType::Session => EventKind::SessionLost,
        };
        WatchEvent { kind, path: e.path }
    })
}

impl Coord for ZkClient {
    type Watch = ZkWatch;

    fn session_id(&self) -> i64 {
        self.client.session_id().0
    }

    async fn create(&self, path: &str, data: &[u8], m: Mode) -> Result<(String, Stat)> {
        let options = mode(m).with_acls(zk::Acls::anyone_all());
        let (s, seq) = self.client.create(path, data, &options).await.map_err(from_zk)?;
        let created = if m.is_sequential() { format!("{path}{seq}") } else { path.to_string() };
        Ok((created, stat(&s)))
    }

    async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        let (d, s) = self.client.get_data(path).await.map_err(from_zk)?;
        Ok((d, stat(&s)))
    }

    async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, ZkWatch)> {
        let (d, s, w) = self.client.get_and_watch_data(path).await.map_err(from_zk)?;
        Ok((d, stat(&s), watch(w)))
    }

    async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        self.client.set_data(path, data, version).await.map(|s| stat(&s)).map_err(from_zk)
    }

    async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        self.client.delete(path, version).await.map_err(from_zk)
    }

    async fn sync(&self, path: &str) -> Result<()> {
        self.client.sync(path).await.map_err(from_zk)
    }

    async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        Ok(self.client.check_stat(path).await.map_err(from_zk)?.as_ref().map(stat))
    }

    async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, ZkWatch)> {
        let (s, w) = self.client.check_and_watch_stat(path).await.map_err(from_zk)?;
        Ok((s.as_ref().map(stat), watch(w)))
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        self.client.list_children(path).await.map_err(from_zk)
    }

    async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, ZkWatch)> {
        let (c, w) = self.client.list_and_watch_children(path).await.map_err(from_zk)?;
        Ok((c, watch(w)))
    }

    async fn sleep(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await
    }
}
