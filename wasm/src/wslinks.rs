//! WebSocket links from a browser peer to the native nodes of a mixed cluster (sans-IO: the
//! worker's glue opens the sockets and feeds their events in; tested natively).
//!
//! A tab cannot listen, so it dials every native node's peer port, whatever the sids (the
//! native config lists the tab's sid as a browser member and never dials it), and runs the
//! handshake of `zabra_peerwire` as the dialer, keyed by its join token: the node's proof is
//! checked against the token before the tab proves itself, so a wrong token is reported here
//! and nothing authenticated ever reaches the core. After the handshake both ends send chunked
//! postcard envelopes over that one connection, one WebSocket binary message per chunk.
//!
//! A connection that closes, fails or does not finish its handshake in
//! [`WsTimings::handshake_timeout`] is redialled with backoff (from `redial_min` doubling to
//! `redial_max`); the core sees `Connected` only once authenticated and `Disconnected` once
//! an authenticated connection is over.

use crate::links::{LinkEvent, Millis, Transport};
use std::collections::BTreeMap;
use zabra_core::message::Envelope;
use zabra_core::Sid;
use zabra_peerwire::{Dialer, Handshake, HandshakeError, Hello, Reassembler, Role, PROTOCOL_VERSION};

/// The largest envelope accepted from a node (a SNAP of a big tree included).
const MAX_MESSAGE: usize = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WsTimings {
    pub handshake_timeout: Millis,
    pub redial_min: Millis,
    pub redial_max: Millis,
}

impl Default for WsTimings {
    fn default() -> Self {
        WsTimings { handshake_timeout: 5_000.0, redial_min: 100.0, redial_max: 2_000.0 }
    }
}

/// What the glue must do with sockets, in order. `conn` names one socket (never reused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsCmd {
    Open { sid: u64, conn: u64, url: String },
    Send { conn: u64, bytes: Vec<u8> },
    Close { conn: u64 },
}

enum State {
    /// The socket is opening.
    Opening,
    Shaking(Dialer),
    Up(Box<Reassembler>),
}

struct Conn {
    conn: u64,
    since: Millis,
    state: State,
}

/// The connections of one browser peer to the native nodes.
pub struct WsLinks {
    me: u64,
    role: Role,
    cluster: String,
    token: Vec<u8>,
    /// Native sid → its peer port's URL (`ws://host:port/peer`).
    natives: BTreeMap<u64, String>,
    conns: BTreeMap<u64, Conn>,
    retry_at: BTreeMap<u64, Millis>,
    backoff: BTreeMap<u64, Millis>,
    next_conn: u64,
    timings: WsTimings,
    nonce: Box<dyn FnMut() -> [u8; 32]>,
    now: Millis,
    cmds: Vec<WsCmd>,
    events: Vec<LinkEvent>,
    /// The last reason a connection with each node failed (shown in the UI).
    pub refusals: BTreeMap<u64, String>,
}

impl WsLinks {
    /// `token` is this sid's join token (its text); `nonce` draws from the OS random source.
    pub fn new(
        me: u64,
        observer: bool,
        cluster: &str,
        token: &str,
        natives: BTreeMap<u64, String>,
        timings: WsTimings,
        nonce: Box<dyn FnMut() -> [u8; 32]>,
    ) -> WsLinks {
        WsLinks {
            me,
            role: if observer { Role::Observer } else { Role::Voter },
            cluster: cluster.to_string(),
            token: token.trim().as_bytes().to_vec(),
            natives,
            conns: BTreeMap::new(),
            retry_at: BTreeMap::new(),
            backoff: BTreeMap::new(),
            next_conn: 1,
            timings,
            nonce,
            now: 0.0,
            cmds: Vec::new(),
            events: Vec::new(),
            refusals: BTreeMap::new(),
        }
    }

    pub fn is_native(&self, sid: Sid) -> bool {
        self.natives.contains_key(&sid.0)
    }

    /// Every native node, and whether the connection with it is up.
    pub fn peers(&self) -> Vec<(u64, bool)> {
        self.natives.keys().map(|s| (*s, self.is_up(*s))).collect()
    }

    pub fn is_up(&self, sid: u64) -> bool {
        self.conns.get(&sid).is_some_and(|c| matches!(c.state, State::Up(_)))
    }

    pub fn take_cmds(&mut self) -> Vec<WsCmd> {
        std::mem::take(&mut self.cmds)
    }

    /// The next time [`WsLinks::on_timer`] has work: a redial or a handshake to give up on.
    pub fn next_wake(&self) -> Millis {
        let dials = self.natives.keys().filter(|s| !self.conns.contains_key(s)).map(|s| self.retry_at(*s));
        let stuck = self
            .conns
            .values()
            .filter(|c| !matches!(c.state, State::Up(_)))
            .map(|c| c.since + self.timings.handshake_timeout);
        dials.chain(stuck).fold(f64::INFINITY, f64::min)
    }

    fn retry_at(&self, sid: u64) -> Millis {
        self.retry_at.get(&sid).copied().unwrap_or(0.0)
    }

    pub fn on_timer(&mut self, now: Millis) {
        self.now = now;
        let stuck: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| !matches!(c.state, State::Up(_)) && now - c.since >= self.timings.handshake_timeout)
            .map(|(s, _)| *s)
            .collect();
        for sid in stuck {
            self.refusals.insert(sid, "no handshake within the time limit (is the node up?)".into());
            self.drop_conn(sid, true);
        }
        let due: Vec<(u64, String)> = self
            .natives
            .iter()
            .filter(|(s, _)| !self.conns.contains_key(s) && now >= self.retry_at(**s))
            .map(|(s, u)| (*s, u.clone()))
            .collect();
        for (sid, url) in due {
            let conn = self.next_conn;
            self.next_conn += 1;
            self.conns.insert(sid, Conn { conn, since: now, state: State::Opening });
            self.cmds.push(WsCmd::Open { sid, conn, url });
        }
    }

    /// The node whose current socket is `conn`.
    pub fn sid_of(&self, conn: u64) -> Option<u64> {
        self.conns.iter().find(|(_, c)| c.conn == conn).map(|(s, _)| *s)
    }

    fn current(&self, sid: u64, conn: u64) -> bool {
        self.conns.get(&sid).is_some_and(|c| c.conn == conn)
    }

    /// The socket `conn` to `sid` opened: say hello.
    pub fn on_open(&mut self, now: Millis, sid: u64, conn: u64) {
        self.now = now;
        if !self.current(sid, conn) {
            return self.cmds.push(WsCmd::Close { conn });
        }
        let me = Hello {
            cluster: self.cluster.clone(),
            sid: self.me,
            role: self.role,
            protocol_version: PROTOCOL_VERSION,
            nonce: (self.nonce)(),
        };
        let (dialer, hello) = Dialer::new(me, sid);
        self.cmds.push(WsCmd::Send { conn, bytes: hello.to_bytes() });
        if let Some(c) = self.conns.get_mut(&sid) {
            c.state = State::Shaking(dialer);
        }
    }

    /// A binary message on socket `conn` to `sid`.
    pub fn on_message(&mut self, now: Millis, sid: u64, conn: u64, bytes: &[u8]) {
        self.now = now;
        if !self.current(sid, conn) {
            return;
        }
        let Some(c) = self.conns.get_mut(&sid) else { return };
        match std::mem::replace(&mut c.state, State::Opening) {
            State::Opening => self.fail(sid, "a message before the socket opened".into()),
            State::Shaking(dialer) => self.on_challenge(sid, conn, dialer, bytes),
            State::Up(mut reasm) => {
                let decoded = match reasm.push(bytes) {
                    Ok(None) => Ok(None),
                    Ok(Some(b)) => zabra_peerwire::decode(&b).map(Some),
                    Err(e) => Err(e),
                };
                c.state = State::Up(reasm);
                match decoded {
                    Ok(Some(env)) => self.events.push(LinkEvent::Message(Sid(sid), env)),
                    Ok(None) => {}
                    Err(e) => {
                        let why = match Handshake::from_bytes(bytes) {
                            Ok(Handshake::Refused { reason }) => format!("refused by node {sid}: {reason}"),
                            _ => format!("from node {sid}: {e}"),
                        };
                        self.fail(sid, why);
                    }
                }
            }
        }
    }

    fn on_challenge(&mut self, sid: u64, conn: u64, dialer: Dialer, bytes: &[u8]) {
        let answer = Handshake::from_bytes(bytes)
            .map_err(|e| e.to_string())
            .and_then(|m| dialer.on_challenge(m, &self.token).map_err(|e| describe(sid, e)));
        match answer {
            Ok((_, proof)) => {
                self.cmds.push(WsCmd::Send { conn, bytes: proof.to_bytes() });
                if let Some(c) = self.conns.get_mut(&sid) {
                    c.state = State::Up(Box::new(Reassembler::new(MAX_MESSAGE)));
                }
                self.refusals.remove(&sid);
                self.backoff.remove(&sid);
                self.events.push(LinkEvent::Up(Sid(sid)));
            }
            Err(why) => {
                if !why.starts_with("refused by") {
                    let reason = why.clone();
                    self.cmds.push(WsCmd::Send { conn, bytes: Handshake::Refused { reason }.to_bytes() });
                }
                self.fail(sid, why);
            }
        }
    }

    /// The socket `conn` to `sid` closed (or failed).
    pub fn on_closed(&mut self, now: Millis, sid: u64, conn: u64) {
        self.now = now;
        if self.current(sid, conn) {
            if !self.is_up(sid) && !self.refusals.contains_key(&sid) {
                self.refusals.insert(sid, "the connection closed before the handshake finished".into());
            }
            self.drop_conn(sid, false);
        }
    }

    fn fail(&mut self, sid: u64, why: String) {
        self.refusals.insert(sid, why);
        self.drop_conn(sid, true);
    }

    /// Ends the connection with `sid` (closing its socket when `close`) and schedules a redial.
    fn drop_conn(&mut self, sid: u64, close: bool) {
        let Some(c) = self.conns.remove(&sid) else { return };
        if close {
            self.cmds.push(WsCmd::Close { conn: c.conn });
        }
        if matches!(c.state, State::Up(_)) {
            self.events.push(LinkEvent::Down(Sid(sid)));
        }
        let t = self.timings;
        let wait = self.backoff.get(&sid).map_or(t.redial_min, |b| (b * 2.0).min(t.redial_max));
        self.backoff.insert(sid, wait);
        self.retry_at.insert(sid, self.now + wait);
    }
}

/// A handshake error as the person running the tab should read it.
fn describe(sid: u64, e: HandshakeError) -> String {
    match e {
        HandshakeError::BadProof => format!(
            "node {sid}'s proof does not match this join token: the token is wrong (or for another sid or cluster)"
        ),
        HandshakeError::RefusedByPeer(why) => format!("refused by node {sid}: {why}"),
        other => format!("handshake with node {sid}: {other}"),
    }
}

impl Transport for WsLinks {
    fn send(&mut self, to: Sid, env: &Envelope) -> bool {
        let Some(Conn { conn, state: State::Up(_), .. }) = self.conns.get(&to.0) else { return false };
        let conn = *conn;
        let Ok(bytes) = zabra_peerwire::encode(env) else { return false };
        for chunk in zabra_peerwire::frames(&bytes) {
            self.cmds.push(WsCmd::Send { conn, bytes: chunk });
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
