//! Peer transport: WebSocket (tokio-tungstenite) on the peer port.
//!
//! Every connection starts with `Hello { cluster, sid, role, protocol_version }`. One
//! connection per pair: only the higher sid dials (ZooKeeper's QuorumCnxManager rule), so two
//! peers never race two connections. A dialer retries with backoff (100 ms doubling to 2 s).
//! Messages are JSON text frames of the core's `Envelope`; a broken connection reaches the
//! core as `Disconnected`.

use crate::node::Event;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use zabra_core::message::Envelope;
use zabra_core::Sid;

pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub cluster: String,
    pub sid: u64,
    pub role: String,
    pub protocol_version: u32,
}

/// What the node task holds for one live connection.
pub struct PeerLink {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Envelope>,
}

static NEXT_LINK: AtomicU64 = AtomicU64::new(1);

#[derive(Clone)]
pub struct Transport {
    pub me: Hello,
    pub events: mpsc::UnboundedSender<Event>,
    /// Peers this node must not talk to (in-node partition control).
    pub blocked: Arc<std::sync::Mutex<std::collections::BTreeSet<u64>>>,
}

impl Transport {
    fn is_blocked(&self, sid: u64) -> bool {
        self.blocked.lock().expect("not poisoned").contains(&sid)
    }

    /// Accept peers that dial us (those with a higher sid).
    pub async fn listen(self, listener: TcpListener) {
        loop {
            let Ok((stream, addr)) = listener.accept().await else { continue };
            let t = self.clone();
            tokio::spawn(async move {
                if let Err(e) = t.accept_one(stream).await {
                    tracing::debug!("peer connection from {addr} refused: {e}");
                }
            });
        }
    }

    async fn accept_one(&self, stream: TcpStream) -> Result<(), String> {
        let mut ws = tokio_tungstenite::accept_async(stream).await.map_err(|e| e.to_string())?;
        let hello = match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => serde_json::from_str::<Hello>(&t).map_err(|e| format!("bad hello: {e}"))?,
            _ => return Err("no hello".into()),
        };
        if hello.cluster != self.me.cluster || hello.protocol_version != PROTOCOL_VERSION {
            return Err(format!("hello from another cluster or version: {hello:?}"));
        }
        if hello.sid <= self.me.sid || self.is_blocked(hello.sid) {
            return Err(format!("sid {} may not dial {}", hello.sid, self.me.sid));
        }
        let reply = serde_json::to_string(&self.me).expect("hello serializes");
        ws.send(WsMessage::Text(reply.into())).await.map_err(|e| e.to_string())?;
        self.run_link(Sid(hello.sid), ws).await;
        Ok(())
    }

    /// Keep a connection to a lower-sid peer up, redialing with backoff.
    pub async fn dial(self, sid: u64, addr: SocketAddr) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if !self.is_blocked(sid) {
                match self.dial_once(sid, addr).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => tracing::trace!("dial {sid} at {addr}: {e}"),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn dial_once(&self, sid: u64, addr: SocketAddr) -> Result<(), String> {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/peer")).await.map_err(|e| e.to_string())?;
        let hello = serde_json::to_string(&self.me).expect("hello serializes");
        ws.send(WsMessage::Text(hello.into())).await.map_err(|e| e.to_string())?;
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => {
                let h: Hello = serde_json::from_str(&t).map_err(|e| format!("bad hello: {e}"))?;
                if h.sid != sid || h.cluster != self.me.cluster {
                    return Err(format!("expected sid {sid}, got {h:?}"));
                }
            }
            _ => return Err("no hello back".into()),
        }
        self.run_link(Sid(sid), ws).await;
        Ok(())
    }

    /// Pump one established connection until it breaks.
    async fn run_link<S>(&self, sid: Sid, ws: tokio_tungstenite::WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let id = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Envelope>();
        if self.events.send(Event::PeerUp { sid, link: PeerLink { id, tx } }).is_err() {
            return;
        }
        let writer = tokio::spawn(async move {
            while let Some(env) = rx.recv().await {
                let text = serde_json::to_string(&env).expect("envelopes serialize");
                if sink.send(WsMessage::Text(text.into())).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        while let Some(Ok(msg)) = stream.next().await {
            let WsMessage::Text(t) = msg else { continue };
            match serde_json::from_str::<Envelope>(&t) {
                Ok(env) => {
                    if self.is_blocked(sid.0) || self.events.send(Event::PeerMessage { sid, link: id, env }).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("peer {sid} sent a malformed message ({e}); closing that connection");
                    break;
                }
            }
        }
        writer.abort();
        let _ = self.events.send(Event::PeerDown { sid, link: id });
    }
}
