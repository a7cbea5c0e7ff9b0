//! Sessions: connect and reattach at the serving peer, liveness reported to the leader on
//! pings, expiry decided by the leader (which proposes closeSession), wire reference §4.3, §15.
//!
//! Sessions themselves are replicated state (createSession/closeSession transactions, with
//! their timeout and password), so a client may reattach to any peer with id and password.
//! Which sessions are alive is not: each serving peer knows the sessions connected to it and
//! reports the ones it heard from on every ping; only the leader expires sessions.

use super::{Output, Peer, Role};
use crate::acl::{self, Id};
use crate::datatree::OpResult;
use crate::ids::{ConnId, SessionId};
use crate::peer::client::{ClientOp, ClientResult};
use crate::time::{Duration, Instant};
use crate::trace::TraceEvent;
use crate::txn::{ErrorCode, Op};
use crate::watch::{AddWatchMode, EventType, WatchedEvent};
use crate::zxid::Zxid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The xid under which a new session's createSession travels (never a client xid).
pub const CONNECT_XID: i64 = i64::MIN;

/// A client's ConnectRequest (§4.1), as the driver decoded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// `Some((id, password))` to reattach.
    pub session: Option<(SessionId, Vec<u8>)>,
    pub timeout_ms: u32,
    pub last_zxid_seen: Zxid,
    /// The client's address, for `ip` ACLs.
    pub addr: Option<String>,
    /// The password for a new session, drawn by the driver from the OS random source (the
    /// native node does, for every connect). Session passwords are secrets: the seeded PRNG
    /// is invertible, so one password would give away the next. Only a driver that needs a
    /// deterministic run (the simulator) leaves it `None`; the peer then draws from its
    /// PRNG. Skipped by serde, so no client (e.g. of the JSON `/api`) can choose it.
    #[serde(skip)]
    pub fresh_password: Option<Vec<u8>>,
}

/// What a successful connect gives the client (the ConnectResponse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGrant {
    pub session: SessionId,
    pub timeout_ms: u32,
    pub password: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct LocalSession {
    conn: ConnId,
    auth: Vec<Id>,
    /// Heard from since the last ping to the leader.
    touched: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    local: BTreeMap<SessionId, LocalSession>,
    connecting: BTreeMap<SessionId, (ConnId, Vec<Id>)>,
    /// Connects that arrived while this peer was not serving (an election or a sync under
    /// way), oldest first, each with the instant it is refused if service has not come back.
    waiting: VecDeque<(ConnId, ConnectRequest, Instant)>,
    counter: u64,
}

/// The longest a connect waits for a peer that is not serving. Elections and DIFF syncs take
/// tens of milliseconds; a peer cut off from its quorum should send clients on to another
/// server long before their own connect timeout (kazoo's: session timeout / servers).
pub const CONNECT_WAIT: Duration = Duration::from_millis(2_000);

/// At most this many connects wait for service; more are refused at once. The driver bounds
/// its connections too; this keeps the peer's own memory bounded whatever the driver does.
pub const MAX_WAITING_CONNECTS: usize = 4096;

/// The leader's view of session liveness.
#[derive(Debug, Default)]
pub(crate) struct SessionTracker {
    expires: BTreeMap<SessionId, Instant>,
    closing: BTreeSet<SessionId>,
}

impl SessionTracker {
    pub fn touch(&mut self, s: SessionId, now: Instant, timeout_ms: u32) {
        if !self.closing.contains(&s) {
            self.expires.insert(s, now + Duration::from_millis(timeout_ms as u64));
        }
    }

    pub fn remove(&mut self, s: SessionId) {
        self.expires.remove(&s);
        self.closing.remove(&s);
    }

    /// When `s` expires unless renewed (`dump`).
    pub fn deadline(&self, s: SessionId) -> Option<Instant> {
        self.expires.get(&s).copied()
    }

    /// Sessions past their timeout that are not yet being closed (each returned once).
    pub fn expired(&mut self, now: Instant) -> Vec<SessionId> {
        let due: Vec<SessionId> =
            self.expires.iter().filter(|(s, t)| **t <= now && !self.closing.contains(s)).map(|(s, _)| *s).collect();
        self.closing.extend(due.iter().copied());
        due
    }
}

/// What a committed txn means for the session bookkeeping after it applies: enough of the
/// op that `commit_to` need not copy the logged entry to hand it over.
#[derive(Clone, Copy, Debug)]
pub(super) enum SessionOp {
    Create { timeout_ms: u32 },
    Close,
    Other,
}

impl SessionOp {
    pub(super) fn of(op: &Op) -> Self {
        match op {
            Op::CreateSession { timeout_ms, .. } => SessionOp::Create { timeout_ms: *timeout_ms },
            Op::CloseSession => SessionOp::Close,
            _ => SessionOp::Other,
        }
    }
}

impl Peer {
    pub(super) fn on_client_connected(&mut self, conn: ConnId, req: ConnectRequest) {
        if !self.serving() && self.sessions.waiting.len() < MAX_WAITING_CONNECTS {
            // An election or a sync is under way: the connect waits for it (up to the init
            // limit, the time a leader gives discovery and sync, and at most CONNECT_WAIT)
            // instead of being refused. ZooKeeper refuses it, and the client then backs off
            // before its next server: after a leader's crash that back-off, not the
            // election, was most of the wait.
            let deadline = self.now.instant + self.cfg.init_timeout().min(CONNECT_WAIT);
            self.sessions.waiting.push_back((conn, req, deadline));
            return;
        }
        if !self.serving() || req.last_zxid_seen > self.last_committed {
            // §4.3 step 1: a client ahead of us (or a peer not serving) gets no session here.
            self.connected_result(conn, Err(ErrorCode::ConnectionLoss));
            return;
        }
        // Identities belong to the connection, as in ZooKeeper: a reattach starts with the new
        // connection's address only, and the client re-sends its addauth.
        let auth: Vec<Id> = req.addr.iter().map(|a| Id::new("ip", a)).collect();
        let timeout = self.negotiate(req.timeout_ms);
        match req.session {
            Some((id, password)) => match self.tree.session(id) {
                Some(info) if info.password == password => {
                    let grant = SessionGrant { session: id, timeout_ms: info.timeout_ms, password };
                    if let Some(old) = self.sessions.local.remove(&id) {
                        self.out.push(Output::CloseClient { conn: old.conn });
                        self.watches.drop_session(id);
                    }
                    self.sessions.local.insert(id, LocalSession { conn, auth, touched: true });
                    self.touch(id);
                    self.connected_result(conn, Ok(grant));
                }
                _ => self.connected_result(conn, Err(ErrorCode::SessionExpired)),
            },
            None => {
                let id = self.new_session_id();
                let password = match req.fresh_password {
                    Some(p) => p,
                    None => (0..2).flat_map(|_| self.rng.next_u64().to_le_bytes()).collect(),
                };
                self.sessions.connecting.insert(id, (conn, auth));
                let op = Op::CreateSession { timeout_ms: timeout, password };
                self.submit(id, CONNECT_XID, ClientOp::Write(op));
            }
        }
    }

    fn connected_result(&mut self, conn: ConnId, result: Result<SessionGrant, ErrorCode>) {
        let what = match &result {
            Ok(g) => format!("session {} timeout {}ms", g.session, g.timeout_ms),
            Err(e) => format!("refused: {e:?}"),
        };
        self.trace(TraceEvent::ClientConnected { sid: self.cfg.sid, conn, result: what });
        self.out.push(Output::Connected { conn, result });
    }

    fn negotiate(&self, requested_ms: u32) -> u32 {
        let lo = self.cfg.min_session_timeout.as_millis() as u32;
        let hi = self.cfg.max_session_timeout.as_millis() as u32;
        requested_ms.clamp(lo, hi.max(lo))
    }

    /// Unique across the ensemble: our sid in the top byte (≤ 254, §4.4), a clock, a counter.
    fn new_session_id(&mut self) -> SessionId {
        self.sessions.counter += 1;
        let base = (self.cfg.sid.0 << 56) | ((self.now.wall_ms & 0xff_ffff_ffff) << 16);
        SessionId(base.wrapping_add(self.sessions.counter))
    }

    /// createSession committed (or failed) for a connect this peer is serving.
    pub(super) fn connect_done(&mut self, id: SessionId, result: OpResult) {
        let Some((conn, auth)) = self.sessions.connecting.remove(&id) else { return };
        match (result, self.tree.session(id).cloned()) {
            (OpResult::SessionCreated, Some(info)) => {
                self.sessions.local.insert(id, LocalSession { conn, auth, touched: true });
                let grant = SessionGrant { session: id, timeout_ms: info.timeout_ms, password: info.password };
                self.connected_result(conn, Ok(grant));
            }
            _ => self.connected_result(conn, Err(ErrorCode::ConnectionLoss)),
        }
    }

    /// Once serving, the connects that waited are taken in arrival order; those that waited
    /// past their deadline are refused (the client moves on to another server).
    pub(super) fn admit_waiting_connects(&mut self) {
        if self.sessions.waiting.is_empty() {
            return;
        }
        let now = self.now.instant;
        if self.serving() {
            for (conn, req, _) in std::mem::take(&mut self.sessions.waiting) {
                self.on_client_connected(conn, req);
            }
        } else {
            while self.sessions.waiting.front().is_some_and(|w| w.2 <= now) {
                let (conn, _, _) = self.sessions.waiting.pop_front().expect("front exists");
                self.connected_result(conn, Err(ErrorCode::ConnectionLoss));
            }
        }
    }

    /// When the oldest waiting connect is due to be refused.
    pub(super) fn waiting_connects_deadline(&self) -> Option<Instant> {
        self.sessions.waiting.front().map(|w| w.2)
    }

    pub(super) fn on_client_closed(&mut self, conn: ConnId) {
        self.sessions.waiting.retain(|w| w.0 != conn);
        let gone: Vec<SessionId> =
            self.sessions.local.iter().filter(|(_, l)| l.conn == conn).map(|(s, _)| *s).collect();
        for s in gone {
            self.sessions.local.remove(&s);
            self.watches.drop_session(s);
            self.drop_requests(s);
        }
        self.sessions.connecting.retain(|_, (c, _)| *c != conn);
    }

    /// A request on a session: it must be connected here. Renews it.
    pub(super) fn session_request(&mut self, s: SessionId) -> Result<(), ErrorCode> {
        if self.sessions.local.contains_key(&s) {
            self.touch(s);
            return Ok(());
        }
        match self.tree.session(s) {
            Some(_) => Err(ErrorCode::SessionMoved),
            None => Err(ErrorCode::SessionExpired),
        }
    }

    fn touch(&mut self, s: SessionId) {
        if let Some(l) = self.sessions.local.get_mut(&s) {
            l.touched = true;
        }
        let timeout = self.tree.session(s).map(|i| i.timeout_ms);
        let now = self.now.instant;
        if let (Role::Leading(l), Some(t)) = (&mut self.role, timeout) {
            l.tracker.touch(s, now, t);
        }
    }

    pub(super) fn session_auth(&self, s: SessionId) -> Vec<Id> {
        self.sessions.local.get(&s).map(|l| l.auth.clone()).unwrap_or_default()
    }

    /// addauth (§7.14): digest identities, and super when the digest is the configured one.
    pub(super) fn add_auth(&mut self, s: SessionId, scheme: &str, auth: &[u8]) -> ClientResult {
        let super_digest = self.cfg.super_digest.clone();
        let Some(l) = self.sessions.local.get_mut(&s) else { return ClientResult::Error(ErrorCode::SessionExpired) };
        match scheme {
            "digest" => {
                let id = acl::digest_id(&String::from_utf8_lossy(auth));
                if super_digest.as_deref() == Some(id.as_str()) {
                    l.auth.push(Id::new("super", ""));
                }
                if !l.auth.iter().any(|i| i.scheme == "digest" && i.id == id) {
                    l.auth.push(Id::new("digest", &id));
                }
                ClientResult::Ok
            }
            // ZooKeeper's ip provider authenticates the connection's own address, which every
            // connection already holds (added at connect).
            "ip" => ClientResult::Ok,
            _ => ClientResult::Error(ErrorCode::AuthFailed),
        }
    }

    /// setWatches (§7.15): fire at once what changed since `rel`, register the rest.
    pub(super) fn set_watches(&mut self, s: SessionId, rel: Zxid, lists: [&Vec<String>; 5]) {
        let [data, exist, child, persistent, recursive] = lists;
        let mut now = Vec::new();
        for p in data {
            match self.tree.exists(p).ok().flatten() {
                None => now.push((EventType::NodeDeleted, p)),
                Some(st) if st.mzxid > rel => now.push((EventType::NodeDataChanged, p)),
                Some(_) => self.watches.add_data(p, s),
            }
        }
        for p in exist {
            match self.tree.exists(p).ok().flatten() {
                Some(_) => now.push((EventType::NodeCreated, p)),
                None => self.watches.add_data(p, s),
            }
        }
        for p in child {
            match self.tree.exists(p).ok().flatten() {
                None => now.push((EventType::NodeDeleted, p)),
                Some(st) if st.pzxid > rel => now.push((EventType::NodeChildrenChanged, p)),
                Some(_) => self.watches.add_child(p, s),
            }
        }
        for p in persistent {
            self.watches.add_persistent(p, s, AddWatchMode::Persistent);
        }
        for p in recursive {
            self.watches.add_persistent(p, s, AddWatchMode::PersistentRecursive);
        }
        for (kind, p) in now {
            let event = WatchedEvent { kind, path: p.clone() };
            self.emit_watch(s, Zxid::ZERO, event);
        }
    }

    pub(super) fn emit_watch(&mut self, session: SessionId, zxid: Zxid, event: WatchedEvent) {
        let what = format!("{:?} {}", event.kind, event.path);
        self.trace(TraceEvent::WatchFired { sid: self.cfg.sid, session, zxid, event: what });
        self.out.push(Output::Watch { session, zxid, event });
    }

    /// After applying `zxid`: fire watches for its changes; follow session creates/closes.
    /// `mine`: this peer's own client asked for it (its reply path finishes the job).
    pub(super) fn after_apply(
        &mut self,
        zxid: Zxid,
        session: SessionId,
        op: SessionOp,
        mine: bool,
        result: &OpResult,
        changes: &[crate::datatree::Change],
    ) {
        for c in changes {
            for (s, event) in self.watches.trigger(c) {
                // ZOOKEEPER-4799 (3.8.4, 3.9.2): only a session that may READ the changed node
                // hears of it. A deleted node has no ACL left to check: its event goes out.
                let denied =
                    self.tree.check_perm(&event.path, acl::READ, &self.session_auth(s)) == Err(ErrorCode::NoAuth);
                if !denied {
                    self.emit_watch(s, zxid, event);
                }
            }
        }
        let now = self.now.instant;
        match (op, result) {
            (SessionOp::Create { timeout_ms }, OpResult::SessionCreated) => {
                if let Role::Leading(l) = &mut self.role {
                    l.tracker.touch(session, now, timeout_ms);
                }
            }
            (SessionOp::Close, OpResult::SessionClosed) => {
                if let Role::Leading(l) = &mut self.role {
                    l.tracker.remove(session);
                }
                if !mine {
                    self.session_ended(session, true);
                }
            }
            _ => {}
        }
    }

    /// The session is over (closed by its client, or expired): drop its connection here.
    pub(super) fn session_ended(&mut self, s: SessionId, expired: bool) {
        if let Some(l) = self.sessions.local.remove(&s) {
            self.trace(TraceEvent::SessionEnded { sid: self.cfg.sid, session: s, expired });
            self.out.push(Output::CloseClient { conn: l.conn });
        }
        self.watches.drop_session(s);
        self.drop_requests(s);
    }

    /// Leaving service drops every client connection, as a ZooKeeper server that stops
    /// serving does; clients reconnect (to us or another peer) with their session.
    pub(super) fn sessions_lost_service(&mut self) {
        for (id, l) in std::mem::take(&mut self.sessions.local) {
            self.watches.drop_session(id);
            self.out.push(Output::CloseClient { conn: l.conn });
        }
        for (_, (conn, _)) in std::mem::take(&mut self.sessions.connecting) {
            self.out.push(Output::Connected { conn, result: Err(ErrorCode::ConnectionLoss) });
        }
    }

    /// Sessions heard from since the last ping (the learner side of liveness).
    pub(super) fn take_touched(&mut self) -> Vec<SessionId> {
        let mut out = Vec::new();
        for (s, l) in self.sessions.local.iter_mut() {
            if std::mem::take(&mut l.touched) {
                out.push(*s);
            }
        }
        out
    }

    /// The leader renews sessions its learners heard from.
    pub(super) fn leader_touch_all(&mut self, sessions: &[SessionId]) {
        for s in sessions {
            self.touch(*s);
        }
    }

    /// A new leader starts every known session's clock afresh (ZooKeeper does the same).
    pub(super) fn leader_track_all(&mut self) {
        let now = self.now.instant;
        let all: Vec<(SessionId, u32)> = self.tree.sessions().map(|(s, i)| (s, i.timeout_ms)).collect();
        if let Role::Leading(l) = &mut self.role {
            for (s, t) in all {
                l.tracker.touch(s, now, t);
            }
        }
    }

    /// Propose closeSession for every expired session (the leader's expiry).
    pub(super) fn leader_expire_sessions(&mut self) {
        let now = self.now.instant;
        let Role::Leading(l) = &mut self.role else { return };
        let due = l.tracker.expired(now);
        for s in due {
            self.trace(TraceEvent::SessionExpiring { leader: self.cfg.sid, session: s });
            self.leader_propose(s, Op::CloseSession, Vec::new(), None);
        }
    }

    /// Containers left empty and TTL nodes past their time are removed by the leader, with a
    /// transaction every peer applies (ZooKeeper's ContainerManager and `deleteContainer`).
    pub(super) fn leader_reap_containers(&mut self) {
        let now = self.now.instant;
        let every = self.cfg.reap_interval;
        let Role::Leading(l) = &mut self.role else { return };
        if now < l.next_reap {
            return;
        }
        l.next_reap = now + every;
        for path in self.tree.reapable(self.now.wall_ms) {
            self.trace(TraceEvent::ContainerReaped { leader: self.cfg.sid, path: path.clone() });
            self.leader_propose(SessionId(0), Op::DeleteContainer { path }, Vec::new(), None);
        }
    }

    /// Sessions connected here, for drivers and the UI.
    pub fn local_sessions(&self) -> Vec<SessionId> {
        self.sessions.local.keys().copied().collect()
    }

    /// The watches held here: (path, "data" or "child", session).
    pub fn watch_list(&self) -> Vec<(String, &'static str, SessionId)> {
        self.watches.entries()
    }

    /// Watch entries held here (`wchs`, `/metrics`).
    pub fn watch_count(&self) -> usize {
        self.watches.count()
    }
}
