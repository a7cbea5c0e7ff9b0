//! Logical connections between tab peers over a broadcast bus (sans-IO: bus messages in,
//! bus messages and link events out), so the core sees what DESIGN.md's contracts promise:
//! one authenticated, FIFO connection per pair, `Connected` once it is up and `Disconnected`
//! once it is over, from either side.
//!
//! - The higher sid dials (sends `Hello`), the lower accepts: one connection per pair with no
//!   tie to break. A dialer (re)dials when it hears a beacon of a peer it has no connection
//!   with, at most once per [`LinkTimings::redial_after`].
//! - The handshake is `zabra_peerwire`'s (HMAC-SHA256 over both hellos and fresh nonces,
//!   keyed by the cluster secret, or for browser members of a native cluster by the key of
//!   each pair, [`Links::use_pair_keys`]); only an authenticated connection reaches the core.
//! - A connection ends when the core says `Disconnect`, when the peer closes it or says
//!   `Bye`, when a chunk arrives out of sequence or does not decode, when the peer's
//!   incarnation changes (a reload), and when nothing was heard from the peer for
//!   [`LinkTimings::dead_after`] (a closed, crashed or frozen tab): bounded in time.

use crate::bus::{BusMsg, End};
use std::collections::{BTreeMap, BTreeSet};
use zabra_core::message::Envelope;
use zabra_core::Sid;
use zabra_peerwire::{Acceptor, Dialer, Handshake, Hello, Reassembler, Role, PROTOCOL_VERSION};

/// Milliseconds of `performance.now()` (monotonic, from the worker's start).
pub type Millis = f64;

/// The largest envelope accepted from a peer (a SNAP of a big tree included).
const MAX_MESSAGE: usize = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkTimings {
    pub beacon_every: Millis,
    /// Silence after which a peer counts as gone. Dedicated workers keep their timers when a
    /// tab is hidden (Chrome throttles pages, not workers, to once a second at most), so a few
    /// beacon intervals are enough; larger than one second all the same, in case they are.
    pub dead_after: Millis,
    /// A handshake not finished by then is dropped (and redialled on the next beacon).
    pub handshake_timeout: Millis,
    pub redial_after: Millis,
}

impl Default for LinkTimings {
    fn default() -> Self {
        LinkTimings { beacon_every: 250.0, dead_after: 2_500.0, handshake_timeout: 1_000.0, redial_after: 500.0 }
    }
}

/// What the connections tell the driver, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    Up(Sid),
    Down(Sid),
    Message(Sid, Envelope),
}

/// The driver's side of a peer transport (this bus; a WebSocket to a native node's peer port
/// plugs in the same way): the core's `Send` and `Disconnect`, and what comes back.
pub trait Transport {
    /// Sends over the connection to `to`; false (and nothing sent) when there is none, which
    /// the core allows: a message without a connection is lost, as on a broken link.
    fn send(&mut self, to: Sid, env: &Envelope) -> bool;
    /// Ends the connection with `peer` (a `Down` event follows if there was one).
    fn disconnect(&mut self, peer: Sid);
    /// Connections up, down, and messages received, since the last call.
    fn take_events(&mut self) -> Vec<LinkEvent>;
}

enum State {
    Dialing(Dialer),
    Accepting(Acceptor),
    Up { seq_out: u64, seq_in: u64, reasm: Box<Reassembler> },
}

struct Conn {
    peer: End,
    since: Millis,
    state: State,
}

/// A peer heard on the bus: its incarnation and when it was last heard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    pub inc: u64,
    pub last_heard: Millis,
}

/// Every connection of one tab peer.
pub struct Links {
    me: End,
    cluster: String,
    secret: Vec<u8>,
    /// Set for browser members of a native cluster: one key per peer, and no shared secret.
    pair_keys: Option<BTreeMap<u64, Vec<u8>>>,
    voters: BTreeSet<u64>,
    observers: BTreeSet<u64>,
    timings: LinkTimings,
    nonce: Box<dyn FnMut() -> [u8; 32]>,
    seen: BTreeMap<u64, Seen>,
    conns: BTreeMap<u64, Conn>,
    no_dial_before: BTreeMap<u64, Millis>,
    next_beacon: Millis,
    now: Millis,
    out: Vec<BusMsg>,
    events: Vec<LinkEvent>,
    /// The last reason a handshake with each peer failed (shown in the UI).
    pub refusals: BTreeMap<u64, String>,
}

impl Links {
    /// `nonce` must draw from the OS random source (`crypto.getRandomValues` in a browser).
    pub fn new(
        me: End,
        cluster: &str,
        secret: Vec<u8>,
        members: &zabra_core::config::Membership,
        timings: LinkTimings,
        nonce: Box<dyn FnMut() -> [u8; 32]>,
    ) -> Links {
        Links {
            me,
            cluster: cluster.to_string(),
            secret,
            pair_keys: None,
            voters: members.voters.iter().map(|s| s.0).collect(),
            observers: members.observers.iter().map(|s| s.0).collect(),
            timings,
            nonce,
            seen: BTreeMap::new(),
            conns: BTreeMap::new(),
            no_dial_before: BTreeMap::new(),
            next_beacon: 0.0,
            now: 0.0,
            out: Vec::new(),
            events: Vec::new(),
            refusals: BTreeMap::new(),
        }
    }

    /// Authenticates each peer with its own key from now on (the bus keys of a browser member
    /// of a native cluster, `zabra_peerwire::bus_key`), never with the shared secret: a peer
    /// without a key here is not a member for these links.
    pub fn use_pair_keys(&mut self, keys: BTreeMap<u64, Vec<u8>>) {
        self.pair_keys = Some(keys);
    }

    /// The key a handshake with `peer` is keyed by.
    fn key(&self, peer: u64) -> Vec<u8> {
        match &self.pair_keys {
            Some(k) => k.get(&peer).cloned().unwrap_or_default(),
            None => self.secret.clone(),
        }
    }

    pub fn me(&self) -> End {
        self.me
    }

    /// Peers heard recently, with whether a connection with each is up.
    pub fn peers(&self) -> Vec<(u64, bool)> {
        self.seen.keys().map(|s| (*s, self.is_up(*s))).collect()
    }

    pub fn is_up(&self, sid: u64) -> bool {
        self.conns.get(&sid).is_some_and(|c| matches!(c.state, State::Up { .. }))
    }

    /// Bus messages to post, in order.
    pub fn take_outgoing(&mut self) -> Vec<BusMsg> {
        std::mem::take(&mut self.out)
    }

    /// The next time [`Links::on_timer`] has work: a beacon, a silence or a handshake to end.
    pub fn next_wake(&self) -> Millis {
        let t = &self.timings;
        let conns = self.conns.values().map(|c| match c.state {
            State::Up { .. } => self.seen.get(&c.peer.sid).map_or(self.now, |s| s.last_heard + t.dead_after),
            _ => c.since + t.handshake_timeout,
        });
        conns.fold(self.next_beacon, f64::min)
    }

    pub fn on_timer(&mut self, now: Millis) {
        self.now = now;
        if now >= self.next_beacon {
            self.out.push(BusMsg::Beacon { from: self.me });
            self.next_beacon = now + self.timings.beacon_every;
        }
        let dead_after = self.timings.dead_after;
        let gone: Vec<u64> =
            self.seen.iter().filter(|(_, s)| now - s.last_heard > dead_after).map(|(k, _)| *k).collect();
        for sid in gone {
            self.seen.remove(&sid);
            self.drop_conn(sid, true);
        }
        let stuck: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| !matches!(c.state, State::Up { .. }) && now - c.since > self.timings.handshake_timeout)
            .map(|(k, _)| *k)
            .collect();
        for sid in stuck {
            self.refusals.insert(sid, "handshake timed out".into());
            self.drop_conn(sid, true);
        }
    }

    pub fn on_bus(&mut self, now: Millis, msg: BusMsg) {
        self.now = now;
        let from = msg.sender();
        if from.sid == self.me.sid || !self.is_member(from.sid) {
            return;
        }
        if msg.receiver().is_some_and(|to| to != self.me) {
            return;
        }
        let previous = self.seen.insert(from.sid, Seen { inc: from.inc, last_heard: now });
        if previous.is_some_and(|p| p.inc != from.inc) || self.conns.get(&from.sid).is_some_and(|c| c.peer != from) {
            // A new incarnation: whatever we had with the old one is over.
            self.drop_conn(from.sid, false);
        }
        match msg {
            BusMsg::Beacon { .. } => self.maybe_dial(from),
            BusMsg::Handshake { body, .. } => self.on_handshake(from, &body),
            BusMsg::Data { seq, chunk, .. } => self.on_data(from, seq, &chunk),
            BusMsg::Close { .. } => self.drop_conn(from.sid, false),
            BusMsg::Bye { .. } => {
                self.seen.remove(&from.sid);
                self.drop_conn(from.sid, false);
            }
        }
    }

    fn is_member(&self, sid: u64) -> bool {
        let keyed = self.pair_keys.as_ref().is_none_or(|k| k.get(&sid).is_some_and(|k| !k.is_empty()));
        keyed && (self.voters.contains(&sid) || self.observers.contains(&sid))
    }

    fn hello(&mut self) -> Hello {
        let role = if self.observers.contains(&self.me.sid) { Role::Observer } else { Role::Voter };
        Hello {
            cluster: self.cluster.clone(),
            sid: self.me.sid,
            role,
            protocol_version: PROTOCOL_VERSION,
            nonce: (self.nonce)(),
        }
    }

    fn send_handshake(&mut self, to: End, h: &Handshake) {
        self.out.push(BusMsg::Handshake { from: self.me, to, body: h.to_bytes() });
    }

    /// On a peer's beacon: the dialer dials if it has no connection, at most once per
    /// `redial_after`.
    fn maybe_dial(&mut self, peer: End) {
        let may = self.no_dial_before.get(&peer.sid).is_none_or(|t| self.now >= *t);
        if self.me.sid <= peer.sid || self.conns.contains_key(&peer.sid) || !may {
            return;
        }
        self.no_dial_before.insert(peer.sid, self.now + self.timings.redial_after);
        let hello = self.hello();
        let (dialer, msg) = Dialer::new(hello, peer.sid);
        self.send_handshake(peer, &msg);
        self.conns.insert(peer.sid, Conn { peer, since: self.now, state: State::Dialing(dialer) });
    }

    fn on_handshake(&mut self, from: End, body: &[u8]) {
        let msg = match Handshake::from_bytes(body) {
            Ok(m) => m,
            Err(e) => return self.refuse(from, &e.to_string()),
        };
        if let Handshake::Refused { reason } = &msg {
            self.refusals.insert(from.sid, format!("refused by {}: {reason}", from.sid));
            return self.drop_conn(from.sid, false);
        }
        if from.sid > self.me.sid {
            self.on_handshake_as_acceptor(from, msg);
        } else {
            self.on_handshake_as_dialer(from, msg);
        }
    }

    fn on_handshake_as_acceptor(&mut self, from: End, msg: Handshake) {
        if let Handshake::Hello(h) = &msg {
            // A fresh Hello replaces whatever the dialer had with us: it would not redial
            // if it still had a connection.
            self.drop_conn(from.sid, false);
            if h.sid != from.sid {
                return self.refuse(from, &format!("hello says sid {} on the bus of sid {}", h.sid, from.sid));
            }
            let me = self.hello();
            match Acceptor::new(me, msg, &self.key(from.sid)) {
                Ok((acceptor, challenge)) => {
                    self.send_handshake(from, &challenge);
                    let state = State::Accepting(acceptor);
                    self.conns.insert(from.sid, Conn { peer: from, since: self.now, state });
                }
                Err(e) => self.refuse(from, &e.to_string()),
            }
            return;
        }
        let Some(Conn { state: State::Accepting(_), .. }) = self.conns.get(&from.sid) else {
            return self.refuse(from, "unexpected handshake message");
        };
        let Some(Conn { state: State::Accepting(acceptor), .. }) = self.conns.remove(&from.sid) else { return };
        match acceptor.on_proof(msg) {
            Ok(_) => self.up(from),
            Err(e) => self.refuse(from, &e.to_string()),
        }
    }

    fn on_handshake_as_dialer(&mut self, from: End, msg: Handshake) {
        let Some(Conn { state: State::Dialing(_), .. }) = self.conns.get(&from.sid) else {
            return self.refuse(from, "unexpected handshake message");
        };
        let Some(Conn { state: State::Dialing(dialer), .. }) = self.conns.remove(&from.sid) else { return };
        match dialer.on_challenge(msg, &self.key(from.sid)) {
            Ok((_, proof)) => {
                self.send_handshake(from, &proof);
                self.up(from);
            }
            Err(e) => self.refuse(from, &e.to_string()),
        }
    }

    fn up(&mut self, peer: End) {
        let state = State::Up { seq_out: 0, seq_in: 0, reasm: Box::new(Reassembler::new(MAX_MESSAGE)) };
        self.conns.insert(peer.sid, Conn { peer, since: self.now, state });
        self.refusals.remove(&peer.sid);
        self.events.push(LinkEvent::Up(Sid(peer.sid)));
    }

    /// Tells the peer why and forgets any connection with it (an unauthenticated one never
    /// displaces an authenticated one: only a fresh Hello or a new incarnation does).
    fn refuse(&mut self, to: End, reason: &str) {
        self.refusals.insert(to.sid, reason.to_string());
        if !self.is_up(to.sid) {
            self.conns.remove(&to.sid);
        }
        self.send_handshake(to, &Handshake::Refused { reason: reason.to_string() });
    }

    fn on_data(&mut self, from: End, seq: u64, chunk: &[u8]) {
        let Some(Conn { state: State::Up { seq_in, reasm, .. }, .. }) = self.conns.get_mut(&from.sid) else {
            // Data for a connection we do not have (it ended here): tell the sender.
            self.out.push(BusMsg::Close { from: self.me, to: from });
            return;
        };
        if seq != *seq_in + 1 {
            return self.drop_conn(from.sid, true);
        }
        *seq_in = seq;
        let decoded = match reasm.push(chunk) {
            Ok(None) => return,
            Ok(Some(bytes)) => zabra_peerwire::decode(&bytes),
            Err(e) => Err(e),
        };
        match decoded {
            Ok(env) => self.events.push(LinkEvent::Message(Sid(from.sid), env)),
            Err(_) => self.drop_conn(from.sid, true),
        }
    }

    /// Ends the connection with `sid`, if any: `Down` if it was up; `Close` to the peer when
    /// this side decided it (`tell`).
    fn drop_conn(&mut self, sid: u64, tell: bool) {
        let Some(c) = self.conns.remove(&sid) else { return };
        if tell {
            self.out.push(BusMsg::Close { from: self.me, to: c.peer });
        }
        if matches!(c.state, State::Up { .. }) {
            self.events.push(LinkEvent::Down(Sid(sid)));
        }
    }
}

impl Transport for Links {
    fn send(&mut self, to: Sid, env: &Envelope) -> bool {
        let me = self.me;
        let Some(Conn { peer, state: State::Up { seq_out, .. }, .. }) = self.conns.get_mut(&to.0) else { return false };
        let Ok(bytes) = zabra_peerwire::encode(env) else { return false };
        for chunk in zabra_peerwire::frames(&bytes) {
            *seq_out += 1;
            self.out.push(BusMsg::Data { from: me, to: *peer, seq: *seq_out, chunk });
        }
        true
    }

    fn disconnect(&mut self, peer: Sid) {
        self.drop_conn(peer.0, true);
    }

    fn take_events(&mut self) -> Vec<LinkEvent> {
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests;
