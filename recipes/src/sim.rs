//! [`Coord`] on the in-tab simulator (`zabra-core`'s `Sim`): the same recipe code a runnable
//! example runs against a real cluster runs here against simulated peers, on virtual time,
//! deterministically for a seed, so a lesson can show its znodes, watches and messages.
//!
//! [`SimWorld`] owns the simulator and a tiny executor: [`SimWorld::block_on`] polls the
//! given future and every [`SimWorld::spawn`]ed task, and when none can move, runs the
//! simulator one millisecond of virtual time and hands each client what it was told (replies
//! and watch notifications, `Sim::take_inbox`). No waker is needed: everything is polled
//! after every step. Single-threaded, so it runs in a browser tab.

use crate::{Coord, Error, EventKind, Mode, Result, Stat, WatchEvent};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use zabra_core::datatree::{OpResult, Stat as CoreStat};
use zabra_core::peer::{ClientOp, ClientResult};
use zabra_core::sim::{ClientEvent, Sim};
use zabra_core::txn::{CreateMode, ErrorCode, Op};
use zabra_core::watch::EventType;
use zabra_core::{Duration, SessionId, Sid};

/// What one recipe client has been told, kept until its futures read it.
#[derive(Default)]
struct Mailbox {
    /// The session the client started with: a later one means this one expired.
    session: Option<SessionId>,
    /// Replies by xid, with how many notifications had arrived before each (a watch set by a
    /// read fires only on notifications after its reply).
    replies: BTreeMap<i64, (ClientResult, usize)>,
    notifications: Vec<zabra_core::watch::WatchedEvent>,
    lost: bool,
    /// The last number [`Coord::next_tag`] gave out.
    tags: u64,
}

struct Inner {
    sim: Sim,
    mailboxes: BTreeMap<usize, Mailbox>,
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A simulated cluster with recipe clients on it.
#[derive(Clone)]
pub struct SimWorld {
    inner: Rc<RefCell<Inner>>,
    tasks: Rc<RefCell<Vec<Task>>>,
}

/// How long (virtual) [`SimWorld::new`] waits for a leader and a client for its session.
const SETTLE: Duration = Duration(30_000_000);

impl SimWorld {
    /// `voters` simulated peers with seed `seed`, started and with a serving leader.
    pub fn new(seed: u64, voters: usize) -> SimWorld {
        let mut sim = Sim::new(seed, voters, 0, Vec::new());
        sim.start_all();
        let until = sim.now + SETTLE;
        while sim.leader().is_none() && sim.now < until {
            sim.run_for(Duration::from_millis(10));
        }
        let world =
            SimWorld { inner: Rc::new(RefCell::new(Inner { sim, mailboxes: BTreeMap::new() })), tasks: Rc::default() };
        assert!(world.inner.borrow().sim.leader().is_some(), "no leader within {SETTLE:?}");
        world
    }

    /// A world with no cluster of its own: a driver that owns a simulator (a lesson's
    /// scenario) lends it with [`SimWorld::swap_sim`] while recipe clients run on it, and
    /// takes it back with the same call. Until then it holds a one-peer placeholder.
    pub fn detached() -> SimWorld {
        let sim = Sim::new(0, 1, 0, Vec::new());
        SimWorld { inner: Rc::new(RefCell::new(Inner { sim, mailboxes: BTreeMap::new() })), tasks: Rc::default() }
    }

    /// Exchanges the world's simulator with `sim` (see [`SimWorld::detached`]). The clients,
    /// their mailboxes and the spawned tasks stay with the world: what a client is told while
    /// the simulator is away waits in its inbox until the next step here.
    pub fn swap_sim(&self, sim: &mut Sim) {
        std::mem::swap(&mut self.inner.borrow_mut().sim, sim);
    }

    /// Access to the simulator (its trace, tree and faults) between steps.
    pub fn with_sim<T>(&self, f: impl FnOnce(&mut Sim) -> T) -> T {
        f(&mut self.inner.borrow_mut().sim)
    }

    /// A client connected to peer `peer` with a session of `timeout_ms`.
    pub fn client(&self, peer: u64, timeout_ms: u32) -> SimCoord {
        self.try_client(peer, timeout_ms, SETTLE).unwrap_or_else(|| panic!("client not connected within {SETTLE:?}"))
    }

    /// A client as [`SimWorld::client`], or `None` if it has no session after `limit` of
    /// virtual time (a lesson's cluster may have no quorum); it keeps trying meanwhile.
    pub fn try_client(&self, peer: u64, timeout_ms: u32, limit: Duration) -> Option<SimCoord> {
        let id = {
            let mut inner = self.inner.borrow_mut();
            let id = inner.sim.add_client_with_inbox(Sid(peer), timeout_ms);
            inner.mailboxes.insert(id, Mailbox::default());
            id
        };
        let c = SimCoord { world: self.clone(), id };
        self.block_on(
            limit,
            poll_fn(|_| match c.world.inner.borrow().sim.clients[id].connected {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }),
        )?;
        let session = self.inner.borrow().sim.clients[id].session;
        self.inner.borrow_mut().mailboxes.get_mut(&id).expect("mailbox").session = Some(session);
        Some(c)
    }

    /// The client's process dies: it never sends again, and its session expires after its
    /// timeout, deleting its ephemerals.
    pub fn crash(&self, c: &SimCoord) {
        const FOREVER_US: u64 = 1_000_000_000_000;
        self.inner.borrow_mut().sim.client_vanish(c.id, FOREVER_US);
    }

    /// Runs `task` alongside whatever [`SimWorld::block_on`] runs.
    pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        self.tasks.borrow_mut().push(Box::pin(task));
    }

    /// Runs `f` (and the spawned tasks) until `f` is done, stepping the simulator; `None`
    /// if `limit` of virtual time passes first.
    pub fn block_on<T>(&self, limit: Duration, f: impl Future<Output = T>) -> Option<T> {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let until = self.inner.borrow().sim.now + limit;
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return Some(v);
            }
            self.poll_tasks(&mut cx);
            if self.inner.borrow().sim.now >= until {
                return None;
            }
            self.step();
        }
    }

    /// Lets virtual time pass (the spawned tasks run meanwhile).
    pub fn run_for(&self, d: Duration) {
        self.block_on(d, std::future::pending::<()>());
    }

    fn poll_tasks(&self, cx: &mut Context<'_>) {
        let mut tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        tasks.retain_mut(|t| t.as_mut().poll(cx).is_pending());
        self.tasks.borrow_mut().append(&mut tasks);
    }

    /// One millisecond of virtual time, then everyone's news into their mailboxes.
    fn step(&self) {
        let inner = &mut *self.inner.borrow_mut();
        inner.sim.run_for(Duration::from_millis(1));
        for (id, mailbox) in inner.mailboxes.iter_mut() {
            for event in inner.sim.take_inbox(*id) {
                match event {
                    ClientEvent::Reply { xid, result } => {
                        mailbox.replies.insert(xid, (result, mailbox.notifications.len()));
                    }
                    ClientEvent::Watch(w) => mailbox.notifications.push(w),
                    ClientEvent::SessionExpired => mailbox.lost = true,
                }
            }
            let now = inner.sim.clients[*id].session;
            if mailbox.session.is_some_and(|s| s != now && now.0 != 0) {
                mailbox.lost = true;
            }
        }
    }
}

/// One recipe client: a simulated session.
#[derive(Clone)]
pub struct SimCoord {
    world: SimWorld,
    id: usize,
}

impl SimCoord {
    /// The simulator's client number (for its trace and history).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Sends `op` once connected and waits for its reply.
    async fn call(&self, op: ClientOp) -> Result<(ClientResult, usize)> {
        let xid = poll_fn(|_| {
            let inner = &mut *self.world.inner.borrow_mut();
            if inner.mailboxes[&self.id].lost {
                return Poll::Ready(Err(Error::SessionExpired));
            }
            match inner.sim.client_request(self.id, op.clone()) {
                Some(xid) => Poll::Ready(Ok(xid)),
                None => Poll::Pending, // reconnecting
            }
        })
        .await?;
        poll_fn(|_| {
            let inner = &mut *self.world.inner.borrow_mut();
            let mailbox = inner.mailboxes.get_mut(&self.id).expect("mailbox");
            match mailbox.replies.remove(&xid) {
                Some((ClientResult::Error(e), _)) | Some((ClientResult::Write(OpResult::Error(e)), _)) => {
                    Poll::Ready(Err(error(e)))
                }
                Some(reply) => Poll::Ready(Ok(reply)),
                None if mailbox.lost => Poll::Ready(Err(Error::SessionExpired)),
                None => Poll::Pending,
            }
        })
        .await
    }

    fn watch(&self, path: &str, from: usize, kinds: &'static [EventType]) -> SimWatch {
        SimWatch { world: self.world.clone(), id: self.id, path: path.to_string(), from, kinds }
    }
}

fn error(e: ErrorCode) -> Error {
    match e {
        ErrorCode::NoNode => Error::NoNode,
        ErrorCode::NodeExists => Error::NodeExists,
        ErrorCode::BadVersion => Error::BadVersion,
        ErrorCode::NotEmpty => Error::NotEmpty,
        ErrorCode::SessionExpired => Error::SessionExpired,
        ErrorCode::ConnectionLoss => Error::ConnectionLoss,
        e => Error::Other(format!("{e:?}")),
    }
}

fn stat(s: &CoreStat) -> Stat {
    Stat {
        czxid: s.czxid.as_u64() as i64,
        mzxid: s.mzxid.as_u64() as i64,
        version: s.version,
        cversion: s.cversion,
        ephemeral_owner: s.ephemeral_owner,
        num_children: s.num_children,
    }
}

fn unexpected<T>(r: ClientResult) -> Result<T> {
    Err(Error::Other(format!("unexpected reply {r:?}")))
}

const DATA_EVENTS: &[EventType] = &[EventType::NodeDataChanged, EventType::NodeDeleted];
const EXISTS_EVENTS: &[EventType] = &[EventType::NodeCreated, EventType::NodeDataChanged, EventType::NodeDeleted];
const CHILD_EVENTS: &[EventType] = &[EventType::NodeChildrenChanged, EventType::NodeDeleted];

/// A one-shot watch: the first matching notification after the reply that set it.
pub struct SimWatch {
    world: SimWorld,
    id: usize,
    path: String,
    from: usize,
    kinds: &'static [EventType],
}

impl Future for SimWatch {
    type Output = WatchEvent;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<WatchEvent> {
        let inner = self.world.inner.borrow();
        let mailbox = &inner.mailboxes[&self.id];
        let seen = mailbox.notifications.get(self.from..).unwrap_or_default();
        if let Some(e) = seen.iter().find(|e| e.path == self.path && self.kinds.contains(&e.kind)) {
            let kind = match e.kind {
                EventType::NodeCreated => EventKind::Created,
                EventType::NodeDeleted => EventKind::Deleted,
                EventType::NodeDataChanged => EventKind::DataChanged,
                EventType::NodeChildrenChanged => EventKind::ChildrenChanged,
            };
            return Poll::Ready(WatchEvent { kind, path: e.path.clone() });
        }
        if mailbox.lost {
            return Poll::Ready(WatchEvent { kind: EventKind::SessionLost, path: self.path.clone() });
        }
        Poll::Pending
    }
}

impl Coord for SimCoord {
    type Watch = SimWatch;

    fn session_id(&self) -> i64 {
        self.world.inner.borrow().mailboxes[&self.id].session.map_or(0, |s| s.0 as i64)
    }

    async fn create(&self, path: &str, data: &[u8], m: Mode) -> Result<(String, Stat)> {
        let mode = match m {
            Mode::Persistent => CreateMode::Persistent,
            Mode::PersistentSequential => CreateMode::PersistentSequential,
            Mode::Ephemeral => CreateMode::Ephemeral,
            Mode::EphemeralSequential => CreateMode::EphemeralSequential,
        };
        match self.call(ClientOp::Write(Op::create(path, data, mode))).await?.0 {
            ClientResult::Write(OpResult::Created { path, stat: s }) => Ok((path, stat(&s))),
            r => unexpected(r),
        }
    }

    async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        let (d, s, _) = self.get_data_watch_inner(path, false).await?;
        Ok((d, s))
    }

    async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, SimWatch)> {
        self.get_data_watch_inner(path, true).await
    }

    async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        let op = Op::SetData { path: path.to_string(), data: data.into(), version: version.unwrap_or(-1) };
        match self.call(ClientOp::Write(op)).await?.0 {
            ClientResult::Write(OpResult::SetData { stat: s }) => Ok(stat(&s)),
            r => unexpected(r),
        }
    }

    async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        let op = Op::Delete { path: path.to_string(), version: version.unwrap_or(-1) };
        match self.call(ClientOp::Write(op)).await?.0 {
            ClientResult::Write(OpResult::Deleted) => Ok(()),
            r => unexpected(r),
        }
    }

    async fn sync(&self, _path: &str) -> Result<()> {
        match self.call(ClientOp::Sync).await?.0 {
            ClientResult::Synced => Ok(()),
            r => unexpected(r),
        }
    }

    async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        Ok(self.exists_inner(path, false).await?.0)
    }

    async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, SimWatch)> {
        self.exists_inner(path, true).await
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        Ok(self.children_inner(path, false).await?.0)
    }

    async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, SimWatch)> {
        self.children_inner(path, true).await
    }

    fn next_tag(&self) -> u64 {
        let mut inner = self.world.inner.borrow_mut();
        let mailbox = inner.mailboxes.get_mut(&self.id).expect("mailbox");
        mailbox.tags += 1;
        mailbox.tags
    }

    async fn sleep(&self, ms: u64) {
        let until = self.world.inner.borrow().sim.now + Duration::from_millis(ms);
        poll_fn(|_| if self.world.inner.borrow().sim.now >= until { Poll::Ready(()) } else { Poll::Pending }).await
    }
}

impl SimCoord {
    async fn get_data_watch_inner(&self, path: &str, watch: bool) -> Result<(Vec<u8>, Stat, SimWatch)> {
        match self.call(ClientOp::GetData { path: path.to_string(), watch }).await? {
            (ClientResult::Data { data, stat: s }, from) => {
                Ok((data.bytes().to_vec(), stat(&s), self.watch(path, from, DATA_EVENTS)))
            }
            (r, _) => unexpected(r),
        }
    }

    async fn exists_inner(&self, path: &str, watch: bool) -> Result<(Option<Stat>, SimWatch)> {
        match self.call(ClientOp::Exists { path: path.to_string(), watch }).await? {
            (ClientResult::Exists(s), from) => Ok((s.as_ref().map(stat), self.watch(path, from, EXISTS_EVENTS))),
            (r, _) => unexpected(r),
        }
    }

    async fn children_inner(&self, path: &str, watch: bool) -> Result<(Vec<String>, SimWatch)> {
        match self.call(ClientOp::GetChildren { path: path.to_string(), watch }).await? {
            (ClientResult::Children { children, .. }, from) => Ok((children, self.watch(path, from, CHILD_EVENTS))),
            (r, _) => unexpected(r),
        }
    }
}
