//! Peer transport: WebSocket (tokio-tungstenite) on the peer port, speaking `zabra-peerwire`.
//!
//! One connection per pair: only the higher sid dials (ZooKeeper's QuorumCnxManager rule),
//! retrying with backoff (100 ms doubling to 2 s). Browser members (tabs, Node.js peers) are
//! never dialled: they dial every native node, whatever the sids, and prove themselves with
//! their join token (`zabra_peerwire::join_token`, derived from the cluster secret) instead of
//! the secret; the node then sends them its messages over that connection. Every connection first runs the
//! authenticated handshake (mutual HMAC challenge–response keyed by the cluster secret,
//! bounded by [`HANDSHAKE_TIMEOUT`]); only an authenticated link ever reaches the node task
//! (`PeerUp`), so a forged connection can never displace a member's link. Then envelopes
//! travel as postcard bytes in chunks of at most 1 MiB, one WebSocket binary message each.
//!
//! Sockets: TCP_NODELAY on both ends (a follower's delayed ACK would otherwise hold the next
//! proposal for ~40 ms). The node task hands a link encoded frames through a queue bounded in
//! bytes ([`MAX_QUEUED`]): it never blocks, and a peer that stops reading loses its link. Sync
//! messages (whole trees) are encoded by the link's writer and decoded by its reader, off the
//! node task. The writer feeds every queued message and flushes once per burst. Every link that ends for any
//! reason but this node's own decision is logged with its cause and counted (`link_errors`).

use crate::entrybytes::EntryBytes;
use crate::node::Event;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;
use zabra_core::message::Envelope;
use zabra_core::Sid;
use zabra_peerwire::{
    self as wire, Acceptor, Dialer, Handshake, HandshakeError, Hello, Reassembler, Role, WireError, MAX_CHUNK,
};

/// A handshake (TCP accepted to authenticated) must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message accepted from or sent to a peer, reassembled: a snapshot of a large
/// tree (200k small znodes encode to about 20 MB).
pub const MAX_MESSAGE: usize = 512 << 20;
/// Bytes queued for one link beyond which the link is closed: room for one largest message
/// and ordinary traffic behind it.
pub const MAX_QUEUED: usize = MAX_MESSAGE + (64 << 20);
/// Handshakes in progress at once; more connections are refused until some finish.
const MAX_HANDSHAKES: usize = 64;
/// Bytes of one link's received messages waiting for the node task. Past this the link stops
/// reading its socket until the node has handled some (TCP pushes back on the peer), so a
/// peer sending faster than the node steps cannot grow the node's event queue without limit.
/// A single larger message (a sync, up to `MAX_MESSAGE`) takes the whole allowance.
const MAX_INBOUND: usize = 32 << 20;
/// Messages fed per burst before the writer flushes.
const MAX_BURST: usize = 4096;
/// Why a node refuses a peer it cuts off (in-node partition control): the dialer, told so,
/// does not count it as an error.
const CUT_OFF: &str = "cut off (partition control)";

type Ws = WebSocketStream<TcpStream>;

/// Why a link ended or a connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("handshake refused: {0}")]
    Handshake(String),
    #[error("handshake not finished within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("oversize: {0}")]
    Oversize(String),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("closed by the peer")]
    ClosedByPeer,
    #[error("read error: {0}")]
    Read(String),
    #[error("write error: {0}")]
    Write(String),
    #[error("{0} bytes queued for it: the peer is not reading")]
    QueueFull(usize),
    #[error("closed by this node")]
    ClosedHere,
    #[error("cut off by partition control")]
    CutOff,
}

impl From<WireError> for LinkError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Oversize { what, size, limit } => {
                LinkError::Oversize(format!("{what} of {size} bytes is above the limit of {limit}"))
            }
            WireError::Malformed(m) => LinkError::Malformed(m),
        }
    }
}

fn read_error(e: WsError) -> LinkError {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => LinkError::ClosedByPeer,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => LinkError::ClosedByPeer,
        WsError::Io(io) if is_peer_gone(&io) => LinkError::ClosedByPeer,
        WsError::Capacity(c) => LinkError::Oversize(c.to_string()),
        WsError::Protocol(p) => LinkError::Malformed(p.to_string()),
        other => LinkError::Read(other.to_string()),
    }
}

/// A reset or an end of stream: the peer closed (or its process died), nothing malformed.
fn is_peer_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// What a link's writer is handed: frames encoded on the node task, or a sync message
/// (DIFF, TRUNC, SNAP: up to a whole tree) that the writer encodes off the node task.
enum Queued {
    Frames(Vec<Vec<u8>>),
    Sync(Box<Envelope>),
}

/// What the node task holds for one authenticated connection. Dropping it closes the
/// connection.
pub struct PeerLink {
    pub id: u64,
    tx: mpsc::UnboundedSender<Queued>,
    queued: Arc<AtomicUsize>,
    /// Most bytes queued before the link closes ([`MAX_QUEUED`]).
    cap: usize,
    _close: oneshot::Sender<()>,
}

/// The link task's side of a [`PeerLink`].
struct LinkEnds {
    rx: mpsc::UnboundedReceiver<Queued>,
    queued: Arc<AtomicUsize>,
    closed: oneshot::Receiver<()>,
}

fn new_link(id: u64, cap: usize) -> (PeerLink, LinkEnds) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (close, closed) = oneshot::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (PeerLink { id, tx, queued: queued.clone(), cap, _close: close }, LinkEnds { rx, queued, closed })
}

impl PeerLink {
    /// Queue one envelope, never waiting. An error means this link must close.
    ///
    /// Ordinary messages are encoded here and counted against [`MAX_QUEUED`]. A sync message
    /// is encoded by the writer, so the node task does not stall on a large tree; there is
    /// one per sync of this link, so it is not counted.
    #[cfg(test)]
    pub fn send(&self, env: Envelope) -> Result<(), LinkError> {
        self.send_with(env, &mut EntryBytes::default())
    }

    /// [`Self::send`], taking a Proposal's or an Inform's entry bytes from `entries`, so a
    /// step that sends one entry to several peers (and logs it) encodes it once.
    pub fn send_with(&self, env: Envelope, entries: &mut EntryBytes) -> Result<(), LinkError> {
        use zabra_core::message::Message;
        let item = if matches!(env.msg, Message::Diff { .. } | Message::Trunc { .. } | Message::Snap { .. }) {
            Queued::Sync(Box::new(env))
        } else {
            let frames = match &env.msg {
                Message::Proposal { entry, .. } | Message::Inform { entry, .. } => {
                    let bytes =
                        wire::encode_with_entry(env.id, &env.msg, &entries.of(entry)).expect("a proposal or an inform");
                    frames_of(&env, bytes)?
                }
                _ => encode_frames(&env)?,
            };
            let n: usize = frames.iter().map(Vec::len).sum();
            let queued = self.queued.fetch_add(n, Ordering::Relaxed) + n;
            if queued > self.cap {
                return Err(LinkError::QueueFull(queued));
            }
            Queued::Frames(frames)
        };
        // A closed receiver means the link is already going down: `PeerDown` follows.
        let _ = self.tx.send(item);
        Ok(())
    }
}

/// One envelope as the chunks to send.
fn encode_frames(env: &Envelope) -> Result<Vec<Vec<u8>>, LinkError> {
    frames_of(env, wire::encode(env)?)
}

/// The chunks of `env`, encoded as `bytes`.
fn frames_of(env: &Envelope, bytes: Vec<u8>) -> Result<Vec<Vec<u8>>, LinkError> {
    if bytes.len() > MAX_MESSAGE {
        let kind = env.msg.kind();
        return Err(LinkError::Oversize(format!("a {kind:?} of {} bytes is above {MAX_MESSAGE}", bytes.len())));
    }
    Ok(wire::frames(&bytes))
}

static NEXT_LINK: AtomicU64 = AtomicU64::new(1);

/// The most a WebSocket (a peer link, an `/api` client, an `/observe` viewer) reads from its
/// socket at once. tungstenite zero-fills this much of its read buffer before every read (128
/// KiB by default): on a peer link carrying one small message at a time that memset was 5% of
/// a node's CPU, and every socket that had read once kept 128 KiB resident.
pub const WS_READ_BUFFER: usize = 16 << 10;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_CHUNK))
        .max_frame_size(Some(MAX_CHUNK))
        .read_buffer_size(WS_READ_BUFFER)
}

#[derive(Clone)]
pub struct Transport {
    cluster: String,
    sid: u64,
    role: Role,
    /// Every configured member and its role: only these may dial in.
    members: Arc<BTreeMap<u64, Role>>,
    /// The browser members among them: they dial whatever their sid, keyed by a join token.
    browser: Arc<BTreeSet<u64>>,
    /// The key of the handshake's proofs; empty on a single-member cluster (refuses all).
    secret: Arc<Vec<u8>>,
    pub events: crate::node::Events,
    /// Peers this node must not talk to (in-node partition control).
    pub blocked: Arc<Mutex<BTreeSet<u64>>>,
    errors: Arc<AtomicU64>,
    handshakes: Arc<Semaphore>,
}

impl Transport {
    pub fn new(cfg: &crate::config::NodeConfig, secret: Vec<u8>, events: crate::node::Events) -> Transport {
        let role = |observer: bool| if observer { Role::Observer } else { Role::Voter };
        Transport {
            cluster: cfg.cluster.clone(),
            sid: cfg.id,
            role: role(cfg.me().observer),
            members: Arc::new(
                cfg.members
                    .iter()
                    .map(|m| (m.id, role(m.observer)))
                    .chain(cfg.browser_members.iter().map(|b| (b.id, role(b.observer))))
                    .collect(),
            ),
            browser: Arc::new(cfg.browser_members.iter().map(|b| b.id).collect()),
            secret: Arc::new(secret),
            events,
            blocked: Default::default(),
            errors: Default::default(),
            handshakes: Arc::new(Semaphore::new(MAX_HANDSHAKES)),
        }
    }

    /// Refused connections and links ended by an error, since start.
    pub fn link_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Log a link's end or a refused connection with its cause, and count it.
    pub fn link_failed(&self, who: &str, e: &LinkError) {
        match e {
            // This node's own decisions, not errors.
            LinkError::ClosedHere | LinkError::CutOff => return tracing::debug!("{who}: {e}"),
            LinkError::ClosedByPeer => tracing::info!("{who}: {e}"),
            _ => tracing::warn!("{who}: {e}"),
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn is_blocked(&self, sid: u64) -> bool {
        self.blocked.lock().expect("not poisoned").contains(&sid)
    }

    /// This node's hello, with a fresh nonce from the OS random source.
    fn hello(&self) -> Hello {
        Hello {
            cluster: self.cluster.clone(),
            sid: self.sid,
            role: self.role,
            protocol_version: wire::PROTOCOL_VERSION,
            nonce: crate::secrets::random_bytes(),
        }
    }

    /// Accept peers that dial us (those with a higher sid).
    pub async fn listen(self, listener: TcpListener) {
        loop {
            let (stream, addr) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!("peer port: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = self.handshakes.clone().try_acquire_owned() else {
                let why = format!("{MAX_HANDSHAKES} handshakes already in progress");
                self.link_failed(&format!("peer connection from {addr}"), &LinkError::Handshake(why));
                continue;
            };
            let t = self.clone();
            tokio::spawn(async move { t.accept_one(stream, addr, permit).await });
        }
    }

    async fn accept_one(&self, stream: TcpStream, addr: SocketAddr, permit: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let shaken = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.accept_handshake(stream)).await;
        drop(permit);
        match shaken {
            Ok(Ok((ws, sid))) => self.run_link(sid, ws).await,
            Ok(Err(e)) => self.link_failed(&format!("peer connection from {addr}"), &e),
            Err(_) => self
                .link_failed(&format!("peer connection from {addr}"), &LinkError::HandshakeTimeout(HANDSHAKE_TIMEOUT)),
        }
    }

    /// Whether a member may dial us: the reason if not.
    fn check_dialer(&self, h: &Hello) -> Result<(), String> {
        if self.secret.is_empty() {
            return Err("this node has no cluster secret".into());
        }
        match self.members.get(&h.sid) {
            None => return Err(format!("sid {} is not a member", h.sid)),
            Some(r) if *r != h.role => return Err(format!("sid {} is a {r:?} here, not a {:?}", h.sid, h.role)),
            Some(_) => {}
        }
        if h.sid <= self.sid && !self.browser.contains(&h.sid) {
            return Err(format!("sid {} may not dial sid {} (the higher sid dials)", h.sid, self.sid));
        }
        Ok(())
    }

    /// The key a dialer claiming `sid` must prove: its join token for a browser member, else
    /// the cluster secret.
    fn key_for(&self, sid: u64) -> Vec<u8> {
        if self.browser.contains(&sid) {
            wire::join_token(&self.secret, &self.cluster, sid).into_bytes()
        } else {
            self.secret.to_vec()
        }
    }

    async fn accept_handshake(&self, stream: TcpStream) -> Result<(Ws, Sid), LinkError> {
        let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(ws_config()))
            .await
            .map_err(|e| LinkError::Handshake(format!("WebSocket upgrade: {e}")))?;
        let msg = recv_handshake(&mut ws).await?;
        let hello = Acceptor::hello_of(&msg).map_err(|e| LinkError::Handshake(e.to_string()))?;
        let claimed = hello.sid;
        if self.is_blocked(claimed) {
            refuse(&mut ws, claimed, CUT_OFF.into()).await;
            return Err(LinkError::CutOff);
        }
        let key = self.key_for(claimed);
        let answer =
            self.check_dialer(hello).and_then(|()| Acceptor::new(self.hello(), msg, &key).map_err(|e| e.to_string()));
        let (acceptor, challenge) = match answer {
            Ok(a) => a,
            Err(reason) => return Err(refuse(&mut ws, claimed, reason).await),
        };
        send_handshake(&mut ws, &challenge).await?;
        let proof = recv_handshake(&mut ws).await?;
        match acceptor.on_proof(proof) {
            Ok(peer) => Ok((ws, Sid(peer.sid))),
            Err(HandshakeError::BadProof) if self.browser.contains(&claimed) => {
                let why = format!("wrong join token for sid {claimed} (ask an admin for this sid's token)");
                Err(refuse(&mut ws, claimed, why).await)
            }
            Err(e) => Err(refuse(&mut ws, claimed, e.to_string()).await),
        }
    }

    /// Keep a connection to a lower-sid peer up, redialing with backoff.
    pub async fn dial(self, sid: u64, addr: SocketAddr) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if !self.is_blocked(sid) {
                let shaken = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.dial_handshake(sid, addr)).await;
                match shaken {
                    Ok(Ok(ws)) => {
                        self.run_link(Sid(sid), ws).await;
                        backoff = Duration::from_millis(100);
                    }
                    // The peer is down or starting: not worth a log line every retry.
                    Ok(Err(LinkError::Connect(e))) => tracing::trace!("dial {sid} at {addr}: {e}"),
                    Ok(Err(e)) => self.link_failed(&format!("dial to peer {sid} at {addr}"), &e),
                    Err(_) => self.link_failed(
                        &format!("dial to peer {sid} at {addr}"),
                        &LinkError::HandshakeTimeout(HANDSHAKE_TIMEOUT),
                    ),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn dial_handshake(&self, sid: u64, addr: SocketAddr) -> Result<Ws, LinkError> {
        let stream = TcpStream::connect(addr).await.map_err(|e| LinkError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(format!("ws://{addr}/peer"), stream, Some(ws_config()))
                .await
                .map_err(|e| LinkError::Handshake(format!("WebSocket upgrade: {e}")))?;
        let (dialer, hello) = Dialer::new(self.hello(), sid);
        send_handshake(&mut ws, &hello).await?;
        let challenge = recv_handshake(&mut ws).await?;
        match dialer.on_challenge(challenge, &self.secret) {
            Ok((_, proof)) => {
                send_handshake(&mut ws, &proof).await?;
                Ok(ws)
            }
            Err(HandshakeError::RefusedByPeer(why)) if why == CUT_OFF => Err(LinkError::CutOff),
            Err(e) => Err(refuse(&mut ws, sid, e.to_string()).await),
        }
    }

    /// Pump one authenticated connection until it breaks or the node drops its link.
    async fn run_link(&self, sid: Sid, ws: Ws) {
        let id = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
        let (sink, stream) = ws.split();
        let (link, ends) = new_link(id, MAX_QUEUED);
        if self.events.send(Event::PeerUp { sid, link }).is_err() {
            return;
        }
        tracing::info!("link {id} with peer {sid} is up (authenticated)");
        let cause = tokio::select! {
            e = self.read_loop(sid, id, stream) => e,
            e = write_loop(sink, ends.rx, &ends.queued) => e,
            _ = ends.closed => LinkError::ClosedHere,
        };
        self.link_failed(&format!("link {id} with peer {sid}"), &cause);
        let _ = self.events.send(Event::PeerDown { sid, link: id });
    }

    async fn read_loop(&self, sid: Sid, id: u64, mut stream: SplitStream<Ws>) -> LinkError {
        let mut chunks = Reassembler::new(MAX_MESSAGE);
        let inbound = Arc::new(Semaphore::new(MAX_INBOUND));
        let mut tape = crate::record::Tape::peer();
        loop {
            let chunk = match stream.next().await {
                None => return LinkError::ClosedByPeer,
                Some(Err(e)) => return read_error(e),
                Some(Ok(WsMessage::Binary(b))) => b,
                Some(Ok(WsMessage::Close(_))) => return LinkError::ClosedByPeer,
                Some(Ok(WsMessage::Text(_))) => return LinkError::Malformed("a text message".into()),
                Some(Ok(_)) => continue,
            };
            if let Some(t) = tape.as_mut() {
                t.record(&chunk);
            }
            let bytes = match chunks.push(&chunk) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => return e.into(),
            };
            let size = bytes.len().min(MAX_INBOUND) as u32;
            // A large message (a sync) is decoded off the async workers.
            let decoded = if bytes.len() > MAX_CHUNK {
                match tokio::task::spawn_blocking(move || wire::decode(&bytes)).await {
                    Ok(d) => d,
                    Err(e) => return LinkError::Read(format!("decoding: {e}")),
                }
            } else {
                wire::decode(&bytes)
            };
            let env = match decoded {
                Ok(env) => env,
                Err(e) => return e.into(),
            };
            let Ok(held) = inbound.clone().acquire_many_owned(size).await else { return LinkError::ClosedHere };
            let msg = Event::PeerMessage { sid, link: id, env, _held: held };
            if self.is_blocked(sid.0) || self.events.send(msg).is_err() {
                return LinkError::ClosedHere;
            }
        }
    }
}

/// Feed every queued message, then flush once; repeat until the node drops the link.
async fn write_loop(
    mut sink: SplitSink<Ws, WsMessage>,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    queued: &AtomicUsize,
) -> LinkError {
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut fed = 0;
        while let Some(item) = next.take() {
            let (frames, counted) = match item {
                Queued::Frames(f) => (f, true),
                Queued::Sync(env) => match tokio::task::spawn_blocking(move || encode_frames(&env)).await {
                    Ok(Ok(f)) => (f, false),
                    Ok(Err(e)) => return e,
                    Err(e) => return LinkError::Write(format!("encoding a sync message: {e}")),
                },
            };
            for f in frames {
                let n = f.len();
                if let Err(e) = sink.feed(WsMessage::Binary(f.into())).await {
                    return LinkError::Write(e.to_string());
                }
                if counted {
                    queued.fetch_sub(n, Ordering::Relaxed);
                }
            }
            fed += 1;
            if fed < MAX_BURST {
                next = rx.try_recv().ok();
            }
        }
        if let Err(e) = sink.flush().await {
            return LinkError::Write(e.to_string());
        }
    }
    LinkError::ClosedHere
}

async fn send_handshake(ws: &mut Ws, m: &Handshake) -> Result<(), LinkError> {
    ws.send(WsMessage::Binary(m.to_bytes().into())).await.map_err(|e| LinkError::Write(e.to_string()))
}

async fn recv_handshake(ws: &mut Ws) -> Result<Handshake, LinkError> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Binary(b))) => {
                return Handshake::from_bytes(&b).map_err(|e| LinkError::Handshake(e.to_string()))
            }
            Some(Ok(WsMessage::Text(_))) => {
                return Err(LinkError::Handshake("a text message (a peer of an older version?)".into()))
            }
            Some(Ok(WsMessage::Close(_))) | None => return Err(LinkError::ClosedByPeer),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(read_error(e)),
        }
    }
}

/// Tell the peer why, then give the cause for the log.
async fn refuse(ws: &mut Ws, claimed_sid: u64, reason: String) -> LinkError {
    let _ = send_handshake(ws, &Handshake::Refused { reason: reason.clone() }).await;
    let _ = ws.close(None).await;
    LinkError::Handshake(format!("peer claiming sid {claimed_sid}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tungstenite zero-fills its read buffer up to this size before every read: its default
    /// (128 KiB) cost 5% of a node's CPU at one write at a time, and 128 KiB of RSS per socket.
    #[test]
    fn peer_links_read_into_a_small_buffer() {
        let size = ws_config().read_buffer_size;
        assert_eq!(size, WS_READ_BUFFER);
        assert!(size <= 16 << 10, "{size} bytes zero-filled before every read");
    }
    use zabra_core::message::{Message, MsgId};

    fn env(msg: Message) -> Envelope {
        Envelope { id: MsgId { from: Sid(1), seq: 1 }, msg }
    }

    #[test]
    fn a_peer_that_does_not_read_loses_its_link_instead_of_growing_its_queue() {
        let (link, mut ends) = new_link(1, 64 * 1024);
        let mut sent = 0;
        let err = loop {
            match link.send(env(Message::Ping { epoch: 1, round: sent })) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 100_000, "the queue never filled");
        };
        assert!(matches!(err, LinkError::QueueFull(n) if n > 64 * 1024), "{err}");
        assert!(sent > 1000, "{sent} pings fit in 64 KiB");
        // What the writer takes off the queue makes room again.
        let mut drained = 0;
        while let Ok(Queued::Frames(f)) = ends.rx.try_recv() {
            drained += f.iter().map(Vec::len).sum::<usize>();
        }
        ends.queued.fetch_sub(drained, Ordering::Relaxed);
        assert!(link.send(env(Message::Ping { epoch: 1, round: 0 })).is_ok());
    }

    #[test]
    fn sync_messages_go_to_the_writer_unencoded() {
        let (link, mut ends) = new_link(1, 16);
        assert!(link.send(env(Message::Diff { epoch: 1, entries: Vec::new() })).is_ok());
        assert!(matches!(ends.rx.try_recv(), Ok(Queued::Sync(_))));
        assert_eq!(ends.queued.load(Ordering::Relaxed), 0);
        let frames = encode_frames(&env(Message::Diff { epoch: 1, entries: Vec::new() })).unwrap();
        assert_eq!(frames.len(), 1);
    }

    /// The leader's step that proposes an entry appends it to its disk and sends it to every
    /// follower: the entry is encoded once, and each follower still gets its own envelope.
    #[test]
    fn a_proposal_to_every_follower_and_the_disk_encodes_its_entry_once() {
        use zabra_core::storage::PersistOp;
        use zabra_core::txn::{CreateMode, Op, Txn};
        let op = Op::create("/p", &[9; 100], CreateMode::Persistent);
        let txn = Txn { session: zabra_core::SessionId(5), time_ms: 1, auth: Vec::new(), op };
        let entry = zabra_core::log::Entry { zxid: zabra_core::Zxid::new(3, 1), txn: txn.into(), origin: None };
        let mut step = EntryBytes::default();
        let disk = step.prepare(PersistOp::Append(vec![entry.clone()]));
        let mut links: Vec<_> = (1..=3).map(|id| new_link(id, 1 << 20)).collect();
        for (seq, (link, _)) in links.iter().enumerate() {
            let env = Envelope {
                id: MsgId { from: Sid(1), seq: 100 + seq as u64 },
                msg: Message::Proposal { epoch: 3, entry: entry.clone() },
            };
            link.send_with(env, &mut step).unwrap();
        }
        assert_eq!(step.encoded(), 1, "one encoding for the disk and three followers");
        assert_eq!(disk.encoded, [bytes::Bytes::from(wire::encode_entry(&entry))]);
        for (seq, (_, ends)) in links.iter_mut().enumerate() {
            let Ok(Queued::Frames(frames)) = ends.rx.try_recv() else { panic!("frames queued") };
            let mut chunks = Reassembler::new(MAX_MESSAGE);
            let bytes = frames.iter().find_map(|f| chunks.push(f).unwrap()).expect("a whole message");
            let env = wire::decode(&bytes).unwrap();
            assert_eq!(env.id.seq, 100 + seq as u64);
            assert_eq!(env.msg, Message::Proposal { epoch: 3, entry: entry.clone() });
        }
        step.clear();
        step.of(&entry);
        assert_eq!(step.encoded(), 2, "the next step keeps nothing");
    }

    #[test]
    fn dropping_the_link_signals_its_task() {
        let (link, mut ends) = new_link(1, 16);
        assert!(ends.closed.try_recv().is_err());
        drop(link);
        assert!(matches!(ends.closed.try_recv(), Err(oneshot::error::TryRecvError::Closed)));
    }
}
