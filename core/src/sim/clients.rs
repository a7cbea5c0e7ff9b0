//! Simulated ZooKeeper clients: each holds one session over one connection to one peer at a
//! time, pings so the session stays alive, reconnects (reattaching its session, possibly to
//! another peer) when the connection drops, and starts a new session when told its session
//! expired. Everything they see goes into the history the checkers read.

use super::Sim;
use crate::ids::{ConnId, SessionId, Sid};
use crate::peer::{ClientOp, ClientRequest, ClientResult, ConnectRequest, Input, Reply, SessionGrant};
use crate::time::{Duration, Instant};
use crate::txn::ErrorCode;
use crate::watch::WatchedEvent;
use crate::zxid::Zxid;
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct SimClient {
    /// The session, once a peer granted one.
    pub session: SessionId,
    pub password: Vec<u8>,
    pub peer: Sid,
    pub conn: ConnId,
    pub connected: bool,
    pub next_xid: i64,
    pub outstanding: BTreeMap<i64, ClientOp>,
    /// The highest zxid this client has seen (sent on reconnect, §4.3).
    pub last_zxid: Zxid,
    pub timeout_ms: u32,
    /// When to try connecting again, if not connected.
    pub retry_at: Option<Instant>,
    pub last_sent: Instant,
    /// Sessions this client had that expired.
    pub expired: u64,
    /// What the client was told, in order, for a driver that runs client code against the
    /// simulator (the recipes crate); only kept for clients added with
    /// [`Sim::add_client_with_inbox`], and drained by [`Sim::take_inbox`].
    pub inbox: Option<Vec<ClientEvent>>,
}

/// One thing a simulated client was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The answer to request `xid` (`ConnectionLoss` when its connection dropped first).
    Reply {
        xid: i64,
        result: ClientResult,
    },
    Watch(WatchedEvent),
    /// Reconnecting, the client learned its session had expired; it starts a new one.
    SessionExpired,
}

impl Sim {
    /// A client that connects to `peer` with a new session.
    pub fn add_client(&mut self, peer: Sid) -> usize {
        self.push_client(peer, None, None)
    }

    /// A client (see [`Sim::add_client`]) whose replies and notifications are kept for
    /// [`Sim::take_inbox`], asking for a session timeout of `timeout_ms`.
    pub fn add_client_with_inbox(&mut self, peer: Sid, timeout_ms: u32) -> usize {
        self.push_client(peer, Some(timeout_ms), Some(Vec::new()))
    }

    fn push_client(&mut self, peer: Sid, timeout_ms: Option<u32>, inbox: Option<Vec<ClientEvent>>) -> usize {
        let id = self.clients.len();
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.clients.push(SimClient {
            session: SessionId(0),
            password: Vec::new(),
            peer,
            conn,
            connected: false,
            next_xid: 1,
            outstanding: BTreeMap::new(),
            last_zxid: Zxid::ZERO,
            timeout_ms: timeout_ms.unwrap_or(600 + 200 * (id as u32 % 5)),
            retry_at: None,
            last_sent: self.now,
            expired: 0,
            inbox,
        });
        self.connect_client(id);
        id
    }

    /// What client `c` was told since the last call, in order.
    pub fn take_inbox(&mut self, c: usize) -> Vec<ClientEvent> {
        self.clients.get_mut(c).and_then(|c| c.inbox.as_mut()).map(std::mem::take).unwrap_or_default()
    }

    fn connect_client(&mut self, c: usize) {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let cl = &mut self.clients[c];
        cl.conn = conn;
        cl.connected = false;
        cl.retry_at = None;
        let session = (cl.session.0 != 0).then(|| (cl.session, cl.password.clone()));
        let req = ConnectRequest {
            session,
            timeout_ms: cl.timeout_ms,
            last_zxid_seen: cl.last_zxid,
            addr: Some(format!("10.0.0.{}", c + 1)),
            fresh_password: None,
        };
        let peer = cl.peer;
        if !self.is_up(peer) {
            self.client_lost(c);
            return;
        }
        self.step_peer(peer, Input::ClientConnected { conn, req });
    }

    pub(super) fn on_connected(&mut self, _sid: Sid, conn: ConnId, result: Result<SessionGrant, ErrorCode>) {
        let Some(c) = self.clients.iter().position(|c| c.conn == conn) else { return };
        match result {
            Ok(g) => {
                let cl = &mut self.clients[c];
                cl.session = g.session;
                cl.password = g.password;
                cl.timeout_ms = g.timeout_ms;
                cl.connected = true;
                cl.last_sent = self.now;
                self.history.on_connect(g.session, self.now);
            }
            Err(ErrorCode::SessionExpired) => {
                let cl = &mut self.clients[c];
                self.history.on_expired(cl.session);
                cl.session = SessionId(0);
                cl.password.clear();
                cl.expired += 1;
                if let Some(inbox) = cl.inbox.as_mut() {
                    inbox.push(ClientEvent::SessionExpired);
                }
                self.client_lost(c);
            }
            Err(_) => self.client_lost(c),
        }
    }

    pub(super) fn on_close_client(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.iter().position(|c| c.conn == conn) {
            self.client_lost(c);
        }
    }

    /// The connection is gone: requests in flight end with ConnectionLoss (outcome unknown);
    /// try again soon, at a random peer.
    fn client_lost(&mut self, c: usize) {
        let now = self.now;
        let cl = &mut self.clients[c];
        let was = cl.connected;
        cl.connected = false;
        self.next_conn += 1;
        cl.conn = ConnId(self.next_conn); // late answers to the old connection are ignored
        let (session, lost) = (cl.session, std::mem::take(&mut cl.outstanding));
        for xid in lost.into_keys() {
            let result = ClientResult::Error(ErrorCode::ConnectionLoss);
            if let Some(inbox) = self.clients[c].inbox.as_mut() {
                inbox.push(ClientEvent::Reply { xid, result: result.clone() });
            }
            self.history.on_reply(session, &Reply { session, xid, zxid: Zxid::ZERO, result }, now);
        }
        if was {
            self.history.on_disconnect(session);
        }
        let sids = self.sids();
        let wait = self.rng.range(5_000, 60_000);
        let peer = sids[self.rng.index(sids.len())];
        let cl = &mut self.clients[c];
        cl.peer = peer;
        cl.retry_at = Some(now + Duration(wait));
    }

    pub(super) fn disconnect_clients_of(&mut self, sid: Sid) {
        let ids: Vec<usize> = (0..self.clients.len()).filter(|c| self.clients[*c].peer == sid).collect();
        for c in ids {
            self.client_lost(c);
        }
    }

    pub(super) fn on_reply(&mut self, sid: Sid, r: Reply) {
        let now = self.now;
        let Some(c) = self.clients.iter_mut().find(|c| c.session == r.session && c.connected) else { return };
        let Some(op) = c.outstanding.remove(&r.xid) else { return };
        c.last_zxid = c.last_zxid.max(r.zxid);
        if matches!((&op, &r.result), (ClientOp::Write(crate::txn::Op::CloseSession), ClientResult::Write(_))) {
            // Closed by the client itself: its next connection starts a new session.
            c.session = SessionId(0);
            c.password.clear();
        }
        if let Some(inbox) = c.inbox.as_mut() {
            inbox.push(ClientEvent::Reply { xid: r.xid, result: r.result.clone() });
        }
        self.history.on_reply(r.session, &r, now);
        self.count_reply(sid, &op);
    }

    pub(super) fn on_watch(&mut self, _sid: Sid, session: SessionId, zxid: Zxid, event: WatchedEvent) {
        let now = self.now;
        if let Some(c) = self.clients.iter_mut().find(|c| c.session == session && c.connected) {
            if let Some(inbox) = c.inbox.as_mut() {
                inbox.push(ClientEvent::Watch(event.clone()));
            }
            self.history.on_watch(session, zxid, &event, now);
        }
    }

    /// Send one request; returns its xid, or None when the client is not connected.
    pub fn client_request(&mut self, client: usize, op: ClientOp) -> Option<i64> {
        let now = self.now;
        let c = &mut self.clients[client];
        if !c.connected {
            return None;
        }
        let xid = c.next_xid;
        c.next_xid += 1;
        c.last_sent = now;
        c.outstanding.insert(xid, op.clone());
        let (session, peer) = (c.session, c.peer);
        self.history.on_invoke(session, xid, &op, now);
        self.step_peer(peer, Input::Client(ClientRequest { session, xid, op }));
        Some(xid)
    }

    /// Client housekeeping: reconnect when due, ping when idle for a third of the timeout.
    pub fn clients_tick(&mut self) {
        let now = self.now;
        for c in 0..self.clients.len() {
            let cl = &self.clients[c];
            if !cl.connected && cl.retry_at.is_some_and(|t| t <= now) {
                self.connect_client(c);
            } else if cl.connected && now >= cl.last_sent + Duration::from_millis(cl.timeout_ms as u64 / 3) {
                self.client_request(c, ClientOp::Ping);
            }
        }
    }

    /// Close a client's connection from its side (the session lives on).
    pub fn client_disconnect(&mut self, c: usize) {
        let (conn, peer) = (self.clients[c].conn, self.clients[c].peer);
        if self.clients[c].connected {
            self.step_peer(peer, Input::ClientClosed { conn });
            self.client_lost(c);
        }
    }

    /// Move a client to `peer`: close its connection and reattach its session there.
    pub fn client_move(&mut self, c: usize, peer: Sid) {
        self.client_disconnect(c);
        self.clients[c].peer = peer;
        self.connect_client(c);
    }

    /// The client drops off the network for `silent_us`: its session may expire meanwhile.
    pub fn client_vanish(&mut self, c: usize, silent_us: u64) {
        self.client_disconnect(c);
        let now = self.now;
        self.clients[c].retry_at = Some(now + Duration(silent_us));
    }
}
