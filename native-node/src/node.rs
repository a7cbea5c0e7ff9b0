//! The node task: one task owns the core `Peer`, selects over peer links, client
//! connections, the deadline timer and storage completions, and performs `Output`s in order.
//!
//! Durability: `Persist` ops go to a storage thread that writes every op queued so far, makes
//! them durable with one fsync (group commit) and reports the last token; only then does the
//! core hear `Persisted` and let acks out.

use crate::transport::PeerLink;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Instant as StdInstant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use zabra_core::message::Envelope;
use zabra_core::peer::{ClientRequest, ConnectRequest, Input, Now, Output, Peer, Reply, SessionGrant, Status};
use zabra_core::trace::TraceEvent;
use zabra_core::txn::ErrorCode;
use zabra_core::watch::WatchedEvent;
use zabra_core::{ConnId, Instant, SessionId, Sid, Token, Zxid};

/// What the node task sends one client connection.
#[derive(Debug)]
pub enum ClientOut {
    Connected(Result<SessionGrant, ErrorCode>),
    Reply(Reply),
    Watch { zxid: Zxid, event: WatchedEvent },
    Close,
}

/// The node task's event queue. Unbounded as a channel, bounded by its producers, each of
/// which stops before it can flood it:
/// - a client connection (`clients.rs`, and `/api` in `api.rs`) sends one connect, one close
///   and its requests, and stops reading at `max_outstanding` requests or `max_queued_bytes`
///   unanswered; all connections together stop once the unanswered bytes beyond 64 KiB each
///   fill `max_partial_bytes` (the shared read budget); connections are capped per address
///   and in all (`limits.rs`);
/// - a peer link holds each received message's size from its 32 MiB allowance until the node
///   task has handled it, and stops reading past it (`transport.rs`);
/// - the storage thread sends one `Persisted` per group commit, and the ops it holds weigh at
///   most `persist::MAX_BACKLOG` (`persist.rs`);
/// - a four-letter word (client port) or an HTTP request (`http.rs`) waits for the node's
///   answer to each question or action it sends (status, dump, connections, partition, heal),
///   so it has at most one queued, and both ports cap their connections (`limits.rs`);
/// - an `/observe` viewer sends one `Observe` and holds one of `max_viewers` permits.
///
/// A bounded channel would instead let one blocked producer (a client flood) hold up the
/// others, the storage thread's completions among them.
pub type Events = mpsc::UnboundedSender<Event>;

pub enum Event {
    PeerUp {
        sid: Sid,
        link: PeerLink,
    },
    PeerDown {
        sid: Sid,
        link: u64,
    },
    PeerMessage {
        sid: Sid,
        link: u64,
        env: Envelope,
        /// The link's inbound allowance this message holds until the node has handled it.
        _held: tokio::sync::OwnedSemaphorePermit,
    },
    ClientConnect {
        conn: ConnId,
        req: ConnectRequest,
        out: crate::clientq::ClientTx,
    },
    ClientRequest {
        req: ClientRequest,
    },
    ClientClosed {
        conn: ConnId,
    },
    Persisted(Token),
    Status(oneshot::Sender<NodeView>),
    /// Watches, sessions and ephemerals for `wchc`, `wchp` and `dump`.
    Dump(oneshot::Sender<DumpView>),
    /// Each client connection's `cons` figures (for `cons`, `stat` and `dump`); with
    /// `reset` (`crst`), their counters zeroed first.
    Connections {
        reset: bool,
        reply: oneshot::Sender<Vec<zabra_zkwire::ConnStats>>,
    },
    Observe(crate::viewers::ViewerTx),
    /// In-node partition control: cut these peers off (or heal all, with an empty list);
    /// `done` is answered once it holds, so each control request has at most one queued.
    Block {
        sids: Vec<u64>,
        done: oneshot::Sender<()>,
    },
}

/// What `/healthz`, `/metrics`, `/cluster` and the four-letter words read.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeView {
    pub status: Status,
    pub node_count: usize,
    pub sessions: usize,
    pub connections: usize,
    pub watches: usize,
    pub ephemerals: usize,
    pub peers_connected: Vec<u64>,
    pub requests: u64,
    pub replies: u64,
    pub commits: u64,
    pub observers: usize,
    /// Trace events not sent to slow viewers (each viewer is told how many it missed).
    pub skipped_trace_events: u64,
    /// Peer connections refused and peer links ended by an error (the log says why).
    pub link_errors: u64,
    /// (client address, session id) of every client connection here.
    pub clients: Vec<(String, u64)>,
    /// Requests received and not answered yet (ZooKeeper's outstanding requests).
    pub outstanding: usize,
    pub approximate_data_size: u64,
    /// Watch notifications sent to clients (with `replies`, the packets sent).
    pub watch_events: u64,
    /// The leader's learners and pending syncs (`None` unless leading).
    pub leader_report: Option<zabra_core::peer::LeaderReport>,
    /// Voting followers the configuration gives a leader.
    pub expected_followers: usize,
    pub quorum_size: usize,
    /// Latency, fsync and snapshot figures, counted as they happen.
    #[serde(skip)]
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// What `wchs`, `wchc`, `wchp` and `dump` print, by session id.
#[derive(Clone, Debug, Default)]
pub struct DumpView {
    /// (session, its expiry in ms since the epoch: the leader's deadline, or now + timeout).
    pub sessions: Vec<(u64, u64)>,
    pub ephemerals: Vec<(u64, Vec<String>)>,
    /// (path, watching sessions), data and child watches together, as ZooKeeper lists them.
    pub watches: Vec<(String, Vec<u64>)>,
}

pub struct Node {
    peer: Peer,
    start: StdInstant,
    links: BTreeMap<Sid, PeerLink>,
    clients: BTreeMap<ConnId, crate::clientq::ClientTx>,
    /// Each connection's client address, session and counters, for `cons`, `stat` and `dump`.
    conn_info: BTreeMap<ConnId, crate::connstats::Conn>,
    session_conn: BTreeMap<SessionId, ConnId>,
    store: crate::persist::StoreQueue,
    /// The bytes of the entries this step encoded (see `entrybytes`).
    entry_bytes: crate::entrybytes::EntryBytes,
    viewers: crate::viewers::Viewers,
    requests: u64,
    replies: u64,
    commits: u64,
    inputs: VecDeque<Input>,
    /// The outputs buffer, kept across steps (see `Peer::step_into`).
    outs: Vec<Output>,
    transport: crate::transport::Transport,
    inflight: crate::metrics::Inflight,
    watch_events: u64,
}

/// Events the node task takes from its queue per wake-up.
const EVENT_BATCH: usize = 256;

/// A deadline that never comes (a day away), for a peer that wants no timeout.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400)
}

pub fn now(start: StdInstant) -> Now {
    Now { instant: Instant(start.elapsed().as_micros() as u64), wall_ms: wall_ms() }
}

/// Wall-clock milliseconds since the Unix epoch.
fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Node {
    /// The node fills the peer's trace texts only while an `/observe` viewer is connected
    /// (see [`Node::on_trace`]): nobody else reads them.
    pub fn new(
        mut peer: Peer,
        start: StdInstant,
        store: crate::persist::StoreQueue,
        transport: crate::transport::Transport,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Node {
        peer.set_trace_details(false);
        Node {
            peer,
            start,
            links: BTreeMap::new(),
            clients: BTreeMap::new(),
            conn_info: BTreeMap::new(),
            session_conn: BTreeMap::new(),
            store,
            entry_bytes: Default::default(),
            viewers: Default::default(),
            requests: 0,
            replies: 0,
            commits: 0,
            inputs: VecDeque::new(),
            outs: Vec::new(),
            transport,
            inflight: crate::metrics::Inflight::new(metrics),
            watch_events: 0,
        }
    }

    /// Takes what is queued in batches (up to [`EVENT_BATCH`] events per wake-up) and keeps one
    /// timer, moved only when the peer's deadline moves. The deadline is looked at after every
    /// batch too, so a steady stream of events never starves the timer (pings, the sync limit).
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let outs = self.peer.take_outputs();
        self.perform(outs.into_iter());
        let mut armed = self.deadline();
        let sleep = tokio::time::sleep_until(armed);
        tokio::pin!(sleep);
        let mut batch = Vec::with_capacity(EVENT_BATCH);
        loop {
            if self.store.is_full() {
                // The disk is behind by the whole backlog: take nothing more until it catches up.
                let began = StdInstant::now();
                if self.store.wait_for_room().await.is_err() {
                    tracing::error!("the storage thread is gone; stopping");
                    std::process::exit(3);
                }
                let waited = began.elapsed();
                if waited >= std::time::Duration::from_millis(100) {
                    tracing::warn!("waited {} ms for the disk (storage backlog full)", waited.as_millis());
                }
            }
            let due = self.deadline();
            if due != armed {
                sleep.as_mut().reset(due);
                armed = due;
            }
            let fired = tokio::select! {
                n = events.recv_many(&mut batch, EVENT_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    for ev in batch.drain(..) {
                        self.on_event(ev);
                    }
                    false
                }
                () = &mut sleep => true,
            };
            if fired || tokio::time::Instant::now() >= self.deadline() {
                // What arrived while this task was busy comes before the deadline: a peer is
                // not silent while its messages wait in our own queue.
                for _ in 0..events.len() {
                    match events.try_recv() {
                        Ok(ev) => self.on_event(ev),
                        Err(_) => break,
                    }
                }
                self.step(Input::Timeout);
                // Re-armed next turn even if the deadline stayed put: a fired timer stays ready.
                armed = far_future();
                sleep.as_mut().reset(armed);
            }
        }
    }

    /// When the peer next wants `Input::Timeout`, as a tokio instant.
    fn deadline(&self) -> tokio::time::Instant {
        match self.peer.next_deadline() {
            Some(d) => tokio::time::Instant::from_std(self.start + std::time::Duration::from_micros(d.0)),
            None => far_future(),
        }
    }

    fn step(&mut self, input: Input) {
        self.inputs.push_back(input);
        while let Some(i) = self.inputs.pop_front() {
            let mut outs = std::mem::take(&mut self.outs);
            self.peer.step_into(now(self.start), i, &mut outs);
            self.perform(outs.drain(..));
            self.outs = outs;
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::PeerUp { sid, link } => {
                let id = link.id;
                if let Some(old) = self.links.insert(sid, link) {
                    tracing::info!("peer {sid}: authenticated link {id} replaces link {}", old.id);
                    self.step(Input::Disconnected { peer: sid });
                }
                self.step(Input::Connected { peer: sid });
            }
            Event::PeerDown { sid, link } => {
                if self.links.get(&sid).is_some_and(|l| l.id == link) {
                    self.links.remove(&sid);
                    self.step(Input::Disconnected { peer: sid });
                }
            }
            Event::PeerMessage { sid, link, env, .. } => {
                if self.links.get(&sid).is_some_and(|l| l.id == link) {
                    self.step(Input::Receive { from: sid, env });
                }
            }
            Event::ClientConnect { conn, mut req, out } => {
                // Session passwords are secrets: from the OS random source, never the core's PRNG.
                req.fresh_password = Some(crate::secrets::random_bytes::<16>().to_vec());
                self.clients.insert(conn, out);
                self.conn_info.insert(conn, crate::connstats::Conn::new(req.addr.clone().unwrap_or_default()));
                self.step(Input::ClientConnected { conn, req });
            }
            Event::ClientRequest { req } => {
                self.requests += 1;
                self.inflight.received(&req);
                if let Some(c) = self.session_conn.get(&req.session).and_then(|c| self.conn_info.get_mut(c)) {
                    c.request(&req.op, req.xid);
                }
                self.step(Input::Client(req));
            }
            Event::ClientClosed { conn } => {
                self.forget_client(conn);
                self.step(Input::ClientClosed { conn });
            }
            Event::Persisted(t) => self.step(Input::Persisted(t)),
            Event::Status(reply) => {
                let _ = reply.send(self.view());
            }
            Event::Connections { reset, reply } => {
                if reset {
                    self.conn_info.values_mut().for_each(crate::connstats::Conn::reset);
                }
                let inflight = &self.inflight;
                let _ = reply.send(self.conn_info.values().map(|c| c.stats(inflight.outstanding(c.session))).collect());
            }
            Event::Dump(reply) => {
                let _ = reply.send(crate::monitor::dump_view(&self.peer, now(self.start)));
            }
            Event::Observe(tx) => {
                // A fresh queue has room for this first line.
                let _ = tx.lines.try_send(crate::viewers::status_line(&self.peer.status()));
                self.viewers.add(tx);
                self.peer.set_trace_details(true);
            }
            Event::Block { sids, done } => {
                self.block(sids);
                let _ = done.send(());
            }
        }
    }

    fn block(&mut self, sids: Vec<u64>) {
        *self.transport.blocked.lock().expect("not poisoned") = sids.iter().copied().collect();
        for s in sids {
            if self.links.remove(&Sid(s)).is_some() {
                self.step(Input::Disconnected { peer: Sid(s) });
            }
        }
    }

    fn perform(&mut self, outs: impl Iterator<Item = Output>) {
        for o in outs {
            match o {
                Output::Send { to, env } => {
                    let sent = self.links.get(&to).map(|l| (l.id, l.send_with(env, &mut self.entry_bytes)));
                    if let Some((id, Err(e))) = sent {
                        // Closing the link is the only bounded answer to a peer that does not read.
                        self.transport.link_failed(&format!("link {id} with peer {to}"), &e);
                        self.links.remove(&to);
                        self.inputs.push_back(Input::Disconnected { peer: to });
                    }
                }
                Output::Disconnect { peer } => {
                    if self.links.remove(&peer).is_some() {
                        self.inputs.push_back(Input::Disconnected { peer });
                    }
                }
                Output::Persist { token, op } => {
                    if self.store.push(token, self.entry_bytes.prepare(op)).is_err() {
                        tracing::error!("the storage thread is gone; stopping");
                        std::process::exit(3);
                    }
                }
                Output::Reply(r) => {
                    self.replies += 1;
                    let latency = self.inflight.answered(r.session, r.xid);
                    let conn = self.session_conn.get(&r.session).copied();
                    if let Some(c) = conn.and_then(|c| self.conn_info.get_mut(&c)) {
                        c.reply(r.zxid.as_u64() as i64, latency, wall_ms());
                    }
                    self.send_client(conn, ClientOut::Reply(r));
                }
                Output::Connected { conn, result } => {
                    if let Ok(g) = &result {
                        self.session_conn.insert(g.session, conn);
                        if let Some(info) = self.conn_info.get_mut(&conn) {
                            info.established(g.session, g.timeout_ms, wall_ms());
                        }
                    }
                    self.send_client(Some(conn), ClientOut::Connected(result));
                }
                Output::CloseClient { conn } => {
                    self.send_client(Some(conn), ClientOut::Close);
                    self.forget_client(conn);
                }
                Output::Watch { session, zxid, event } => {
                    self.watch_events += 1;
                    let conn = self.session_conn.get(&session).copied();
                    if let Some(c) = conn.and_then(|c| self.conn_info.get_mut(&c)) {
                        c.notified();
                    }
                    self.send_client(conn, ClientOut::Watch { zxid, event });
                }
                Output::Trace(e) => self.on_trace(e),
            }
        }
        self.entry_bytes.clear();
    }

    /// Queue `out` for a connection. One whose queue overflows (a client that does not read
    /// its replies) is closed: the node never waits for a client, nor queues without bound.
    fn send_client(&mut self, conn: Option<ConnId>, out: ClientOut) {
        let Some((conn, tx)) = conn.and_then(|c| self.clients.get(&c).map(|tx| (c, tx))) else { return };
        if let Err(o) = tx.send(out) {
            let addr = self.conn_info.get(&conn).map_or("?", |c| c.addr.as_str());
            tracing::warn!(
                "client {addr} (connection {}): {} bytes of replies wait unread, over the limit of {}; closing it",
                conn.0,
                o.queued,
                o.hard
            );
            self.forget_client(conn);
            self.inputs.push_back(Input::ClientClosed { conn });
        }
    }

    /// Drop every entry of a connection, so none is left in `cons`, `mntr` or the view.
    fn forget_client(&mut self, conn: ConnId) {
        if let Some(c) = self.conn_info.remove(&conn) {
            self.inflight.forget(c.session);
        }
        self.session_conn.retain(|_, c| *c != conn);
        self.clients.remove(&conn);
    }

    fn on_trace(&mut self, e: TraceEvent) {
        match &e {
            TraceEvent::RoleChanged { to, leader, reason, .. } => match reason {
                Some(why) => tracing::info!("now {to}: {why}"),
                None => tracing::info!("now {to}{}", leader.map_or(String::new(), |l| format!(" (leader {l})"))),
            },
            TraceEvent::EpochEstablished { epoch, committed, .. } => {
                tracing::info!("established epoch {epoch}, committed up to {committed}")
            }
            TraceEvent::SyncModeChosen { learner, mode, .. } => tracing::info!("syncing {learner} by {mode:?}"),
            TraceEvent::Committed { .. } => self.commits += 1,
            TraceEvent::Anomaly { what, .. } => tracing::debug!("{what}"),
            _ => {}
        }
        self.viewers.publish(&e);
        if self.viewers.len() == 0 {
            // The last viewer is gone: stop formatting texts (and judging what they may show).
            self.peer.set_trace_details(false);
        }
    }

    fn view(&self) -> NodeView {
        let tree = self.peer.tree();
        NodeView {
            status: self.peer.status(),
            node_count: tree.node_count(),
            sessions: tree.sessions().count(),
            connections: self.clients.len(),
            watches: self.peer.watch_count(),
            ephemerals: tree.sessions().map(|(s, _)| tree.ephemerals(s).len()).sum(),
            peers_connected: self.links.keys().map(|s| s.0).collect(),
            requests: self.requests,
            replies: self.replies,
            commits: self.commits,
            observers: self.viewers.len(),
            skipped_trace_events: self.viewers.skipped(),
            link_errors: self.transport.link_errors(),
            clients: self.conn_info.values().map(|c| (c.addr.clone(), c.session.0)).collect(),
            outstanding: self.inflight.len(),
            approximate_data_size: tree.approximate_data_size(),
            watch_events: self.watch_events,
            leader_report: self.peer.leader_report(),
            expected_followers: self.peer.expected_followers().len(),
            quorum_size: self.peer.config().members.voters.len(),
            metrics: self.inflight.metrics(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::config::{Config, Membership};

    fn node() -> Node {
        let start = StdInstant::now();
        let peer = Peer::new(Config::new(Sid(1), Membership::numbered(3, 0)), now(start)).expect("valid config");
        let (store, _) = crate::persist::StoreQueue::detached();
        let (events, _) = mpsc::unbounded_channel();
        let transport = crate::transport::Transport::new(&crate::config::NodeConfig::local(1, 3), vec![7; 32], events);
        Node::new(peer, start, store, transport, Default::default())
    }

    /// Trace texts cost most of a request's time on the node task (formatting, and judging
    /// from the pending transactions what they may show), and only `/observe` viewers read
    /// them: the node fills them while a viewer is connected, and only then.
    #[test]
    fn trace_texts_are_filled_only_while_a_viewer_watches() {
        let mut n = node();
        assert!(!n.peer.config().trace_details, "no viewer yet: no texts");
        let (tx, mut rx) = crate::viewers::ViewerTx::channel();
        n.on_event(Event::Observe(tx));
        assert!(n.peer.config().trace_details, "a viewer came: texts on");
        n.step(Input::Connected { peer: Sid(2) });
        let lines: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let sent = lines.iter().find(|l| l.contains("\"MsgSent\"")).expect("the vote went out");
        assert!(sent.contains("\"detail\":\"vote 1"), "the viewer reads the vote's text: {sent}");
        drop(rx);
        n.step(Input::Disconnected { peer: Sid(2) });
        assert_eq!(n.viewers.len(), 0);
        assert!(!n.peer.config().trace_details, "the last viewer left: texts off");
    }
}
