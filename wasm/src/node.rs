//! `BrowserNode`: one core `Peer` driven the way `native-node/src/node.rs` drives it, with
//! the IO left to its caller (the worker glue in `worker.rs`, or a test): bus messages,
//! timers and storage completions go in; bus messages, persist ops, trace events and
//! client replies come out.
//!
//! - Outputs are performed in order: `Send` over the transport, `Disconnect` (then
//!   `Disconnected` to the core), `Persist` queued for the store, which reports
//!   [`BrowserNode::on_persisted`] only once its strict-durability transaction completed.
//! - Time: `now` is `performance.now()` in milliseconds (monotonic), never a count of timer
//!   callbacks, so a late timer shows up as a late deadline, not as slower time.
//! - The tab's own client (the write form) is one connection with one session, opened on the
//!   first write and again after the peer closed it.

use crate::links::{LinkEvent, Links, Millis, Transport};
use crate::protocol::{TabStatus, WriteResult};
use crate::wslinks::{WsCmd, WsLinks};
use std::collections::VecDeque;
use zabra_core::config::Config;
use zabra_core::peer::{ClientOp, ClientRequest, ConnectRequest, Input, Now, Output, Peer};
use zabra_core::storage::{PersistOp, PersistedState};
use zabra_core::trace::TraceEvent;
use zabra_core::txn::{CreateMode, Op};
use zabra_core::{ConnId, Instant, SessionId, Token, Zxid};

/// The one client connection of the tab's write form.
const FORM_CONN: ConnId = ConnId(1);

/// A clock reading: monotonic milliseconds and the wall clock (for znode times).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    pub mono_ms: Millis,
    pub wall_ms: u64,
}

impl Clock {
    fn now(self) -> Now {
        // Rounded, so a deadline read back from `next_wake` (µs / 1000) is reached exactly.
        Now { instant: Instant((self.mono_ms.max(0.0) * 1000.0).round() as u64), wall_ms: self.wall_ms }
    }
}

#[derive(Default)]
struct FormClient {
    connecting: bool,
    session: Option<SessionId>,
    next_xid: i64,
    /// Writes waiting for the session: (path, data).
    waiting: VecDeque<(String, String)>,
    /// Writes sent: (xid, path).
    sent: Vec<(i64, String)>,
}

pub struct BrowserNode {
    peer: Peer,
    links: Links,
    /// WebSocket links to the native nodes of a mixed cluster (none in a cluster of tabs).
    ws: Option<WsLinks>,
    inputs: VecDeque<Input>,
    persist: Vec<(Token, PersistOp)>,
    trace: Vec<TraceEvent>,
    results: Vec<WriteResult>,
    form: FormClient,
    fresh_password: Box<dyn FnMut() -> Vec<u8>>,
    clock: Clock,
}

impl BrowserNode {
    /// A peer restarted from `state` (what the store loaded; empty for a fresh tab).
    /// `password` draws a session password from the OS random source.
    pub fn new(
        cfg: Config,
        state: PersistedState,
        links: Links,
        clock: Clock,
        password: Box<dyn FnMut() -> Vec<u8>>,
    ) -> Result<BrowserNode, String> {
        let peer = Peer::restore(cfg, state, clock.now()).map_err(|e| e.to_string())?;
        let mut n = BrowserNode {
            peer,
            links,
            ws: None,
            inputs: VecDeque::new(),
            persist: Vec::new(),
            trace: Vec::new(),
            results: Vec::new(),
            form: FormClient::default(),
            fresh_password: password,
            clock,
        };
        let outs = n.peer.take_outputs();
        n.perform(outs);
        n.links.on_timer(clock.mono_ms);
        Ok(n)
    }

    /// Joins a native cluster: messages to its nodes go over `ws` (the bus keeps the rest).
    pub fn attach_ws(&mut self, clock: Clock, ws: WsLinks) {
        self.ws = Some(ws);
        self.on_timer(clock);
    }

    /// The socket `conn` to native node `sid` opened.
    pub fn on_ws_open(&mut self, clock: Clock, sid: u64, conn: u64) {
        self.clock = clock;
        if let Some(ws) = self.ws.as_mut() {
            ws.on_open(clock.mono_ms, sid, conn);
        }
        self.drain_links();
    }

    /// A binary message on the socket `conn` to native node `sid`.
    pub fn on_ws_message(&mut self, clock: Clock, sid: u64, conn: u64, bytes: &[u8]) {
        self.clock = clock;
        if let Some(ws) = self.ws.as_mut() {
            ws.on_message(clock.mono_ms, sid, conn, bytes);
        }
        self.drain_links();
    }

    /// The socket `conn` to native node `sid` closed or failed.
    pub fn on_ws_closed(&mut self, clock: Clock, sid: u64, conn: u64) {
        self.clock = clock;
        if let Some(ws) = self.ws.as_mut() {
            ws.on_closed(clock.mono_ms, sid, conn);
        }
        self.drain_links();
    }

    /// The native node whose current socket is `conn`.
    pub fn ws_sid_of(&self, conn: u64) -> Option<u64> {
        self.ws.as_ref().and_then(|w| w.sid_of(conn))
    }

    /// What to do with the sockets to native nodes, in order.
    pub fn take_ws_cmds(&mut self) -> Vec<WsCmd> {
        self.ws.as_mut().map(WsLinks::take_cmds).unwrap_or_default()
    }

    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    pub fn links(&self) -> &Links {
        &self.links
    }

    /// One message from the bus.
    pub fn on_bus(&mut self, clock: Clock, msg: crate::bus::BusMsg) {
        self.clock = clock;
        self.links.on_bus(clock.mono_ms, msg);
        self.drain_links();
    }

    /// A timer fired (or any wake-up): beacons, silences, and the core's deadline.
    pub fn on_timer(&mut self, clock: Clock) {
        self.clock = clock;
        self.links.on_timer(clock.mono_ms);
        if let Some(ws) = self.ws.as_mut() {
            ws.on_timer(clock.mono_ms);
        }
        self.drain_links();
        if self.peer.next_deadline().is_some_and(|d| d <= clock.now().instant) {
            self.step(Input::Timeout);
        }
    }

    /// Every persist op up to `token` is durable (the store's transaction completed).
    pub fn on_persisted(&mut self, clock: Clock, token: Token) {
        self.clock = clock;
        self.step(Input::Persisted(token));
    }

    /// The write form: create `path` (or set its data if it exists) through this tab's peer.
    pub fn write(&mut self, clock: Clock, path: String, data: String) {
        self.clock = clock;
        self.form.waiting.push_back((path, data));
        self.pump_form();
    }

    /// When the node next needs [`BrowserNode::on_timer`], in `performance.now()` ms.
    pub fn next_wake(&self) -> Millis {
        let core = self.peer.next_deadline().map_or(f64::INFINITY, |d| d.0 as f64 / 1000.0);
        let ws = self.ws.as_ref().map_or(f64::INFINITY, WsLinks::next_wake);
        core.min(self.links.next_wake()).min(ws)
    }

    pub fn take_outgoing(&mut self) -> Vec<crate::bus::BusMsg> {
        self.links.take_outgoing()
    }

    pub fn take_persist(&mut self) -> Vec<(Token, PersistOp)> {
        std::mem::take(&mut self.persist)
    }

    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.trace)
    }

    pub fn take_results(&mut self) -> Vec<WriteResult> {
        std::mem::take(&mut self.results)
    }

    pub fn status(&self) -> TabStatus {
        let mut st = TabStatus::of(&self.peer, &self.links);
        if let Some(ws) = &self.ws {
            st.peers.extend(ws.peers());
            st.refusals.extend(ws.refusals.iter().map(|(k, v)| (*k, v.clone())));
        }
        st
    }

    fn drain_links(&mut self) {
        self.queue_link_events();
        self.run_inputs();
    }

    /// Connections up and down and messages, from the bus and the WebSockets, as inputs.
    fn queue_link_events(&mut self) {
        let mut events = self.links.take_events();
        if let Some(ws) = self.ws.as_mut() {
            events.extend(ws.take_events());
        }
        for e in events {
            self.inputs.push_back(match e {
                LinkEvent::Up(peer) => Input::Connected { peer },
                LinkEvent::Down(peer) => Input::Disconnected { peer },
                LinkEvent::Message(from, env) => Input::Receive { from, env },
            });
        }
    }

    fn step(&mut self, input: Input) {
        self.inputs.push_back(input);
        self.run_inputs();
    }

    fn run_inputs(&mut self) {
        while let Some(i) = self.inputs.pop_front() {
            let outs = self.peer.step(self.clock.now(), i);
            self.perform(outs);
            // Output::Disconnect and the form's requests queue more inputs; links may too.
            self.queue_link_events();
        }
    }

    fn perform(&mut self, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send { to, env } => {
                    match self.ws.as_mut().filter(|w| w.is_native(to)) {
                        Some(ws) => ws.send(to, &env),
                        None => self.links.send(to, &env),
                    };
                }
                Output::Disconnect { peer } => match self.ws.as_mut().filter(|w| w.is_native(peer)) {
                    Some(ws) => ws.disconnect(peer),
                    None => self.links.disconnect(peer),
                },
                Output::Persist { token, op } => self.persist.push((token, op)),
                Output::Reply(r) => self.on_reply(r),
                Output::Connected { conn, result } if conn == FORM_CONN => self.on_session(result),
                Output::CloseClient { conn } if conn == FORM_CONN => self.on_form_closed("the peer closed the session"),
                Output::Connected { .. } | Output::CloseClient { .. } | Output::Watch { .. } => {}
                Output::Trace(e) => self.trace.push(e),
            }
        }
    }

    fn pump_form(&mut self) {
        if self.form.session.is_none() && !self.form.connecting && !self.form.waiting.is_empty() {
            self.form.connecting = true;
            let req = ConnectRequest {
                session: None,
                timeout_ms: 10_000,
                last_zxid_seen: Zxid::ZERO,
                addr: None,
                fresh_password: Some((self.fresh_password)()),
            };
            self.inputs.push_back(Input::ClientConnected { conn: FORM_CONN, req });
        }
        if let Some(session) = self.form.session {
            while let Some((path, data)) = self.form.waiting.pop_front() {
                self.form.next_xid += 1;
                let xid = self.form.next_xid;
                let op = if self.peer.tree().exists(&path).ok().flatten().is_some() {
                    Op::SetData { path: path.clone(), data: data.as_bytes().into(), version: -1 }
                } else {
                    Op::create(&path, data.as_bytes(), CreateMode::Persistent)
                };
                self.form.sent.push((xid, path));
                self.inputs.push_back(Input::Client(ClientRequest { session, xid, op: ClientOp::Write(op) }));
            }
        }
        self.run_inputs();
    }

    fn on_session(&mut self, result: Result<zabra_core::peer::SessionGrant, zabra_core::txn::ErrorCode>) {
        self.form.connecting = false;
        match result {
            Ok(g) => {
                self.form.session = Some(g.session);
                self.pump_form();
            }
            Err(e) => self.on_form_closed(&format!("no session: {e:?} (is there a leader?)")),
        }
    }

    fn on_form_closed(&mut self, why: &str) {
        self.form.session = None;
        self.form.connecting = false;
        let failed = self.form.waiting.drain(..).map(|(p, _)| p).chain(self.form.sent.drain(..).map(|(_, p)| p));
        let failed: Vec<String> = failed.collect();
        for path in failed {
            self.results.push(WriteResult { path, ok: false, text: why.to_string(), zxid: None });
        }
    }

    fn on_reply(&mut self, r: zabra_core::peer::Reply) {
        if Some(r.session) != self.form.session {
            return;
        }
        let Some(i) = self.form.sent.iter().position(|(x, _)| *x == r.xid) else { return };
        let (_, path) = self.form.sent.remove(i);
        let text = zabra_core::describe::client_result(&r.result);
        use zabra_core::datatree::OpResult;
        use zabra_core::peer::ClientResult;
        let ok = !matches!(r.result, ClientResult::Error(_) | ClientResult::Write(OpResult::Error(_)));
        self.results.push(WriteResult { path, ok, text, zxid: ok.then(|| r.zxid.to_string()) });
    }
}

#[cfg(test)]
mod tests;
