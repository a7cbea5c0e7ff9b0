//! The JSON WebSocket client API (`/api` on the HTTP port), for browsers and tests: the same
//! sessions and operations as the ZooKeeper port, as the core's own serde types.
//!
//! ```text
//! → {"connect": {"session": null, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": null}}
//! ← {"connected": {"Ok": {"session": "1..", "timeout_ms": 10000, "password": [..]}}}
//! → {"xid": 1, "op": {"Write": {"Create": {"path": "/a", "data": [104], "acl": [..], "mode": "Persistent"}}}}
//! ← {"reply": {"session": "1..", "xid": 1, "zxid": "100000002", "result": {"Write": {"Created": {..}}}}}
//! ← {"watch": {"zxid": "..", "event": {"kind": "NodeCreated", "path": "/a"}}}
//! ← {"error": "request of 5000104 bytes is over the limit of 1048575 bytes (max_frame)"}  (then closed)
//! ```
//!
//! The limits of the ZooKeeper port hold here too: `addr` is ignored (the client's address,
//! for `ip` ACLs, is the socket's), a session must be granted within `connect_timeout_ms`,
//! reading stops while `max_outstanding` requests or `max_queued_bytes` of replies wait, and
//! a request whose content is over `max_frame` (what the ZooKeeper port refuses) gets an
//! error and closes the connection. A message refused for its size is answered and the rest
//! of it read and thrown away (bounded), so the client reads the error rather than a reset.

use crate::clientq::{ClientRx, ClientTx, QueueHandle};
use crate::config::NodeConfig;
use crate::http::ConnCtx;
use crate::node::{ClientOut, Event};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use zabra_core::peer::{ClientOp, ClientRequest, ConnectRequest, Reply, SessionGrant};
use zabra_core::txn::{ErrorCode, Op};
use zabra_core::watch::WatchedEvent;
use zabra_core::{ConnId, SessionId, Zxid};

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Connection ids shared by every client port of this node.
pub fn next_conn() -> ConnId {
    ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiIn {
    Connect(ConnectRequest),
    #[serde(untagged)]
    Request {
        xid: i64,
        op: ClientOp,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiOut {
    Connected(Result<SessionGrant, ErrorCode>),
    Reply(Reply),
    Watch { zxid: Zxid, event: WatchedEvent },
    Error(String),
}

type Io = TokioIo<hyper::upgrade::Upgraded>;

/// The largest message: a request of `max_frame` bytes of content as JSON (data is an array
/// of numbers, up to 4 characters a byte), with room for the rest.
fn max_message(max_frame: usize) -> usize {
    max_frame * 4 + 64 * 1024
}

/// Accept the WebSocket handshake and serve the socket. Done here rather than with axum's
/// `WebSocketUpgrade` to keep the socket under the WebSocket, for the lingering close.
pub fn upgrade(mut req: Request, ctx: ConnCtx, events: crate::node::Events, cfg: Arc<NodeConfig>) -> Response {
    let h = req.headers();
    let is_ws =
        h.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok = h.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    let (Some(key), Some(on_upgrade), true, true) = (
        h.get(header::SEC_WEBSOCKET_KEY).cloned(),
        req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>(),
        is_ws,
        version_ok,
    ) else {
        return (StatusCode::BAD_REQUEST, "/api is a WebSocket (version 13)\n").into_response();
    };
    tokio::spawn(async move {
        let io = match on_upgrade.await {
            Ok(up) => TokioIo::new(up),
            Err(e) => {
                tracing::debug!("/api upgrade from {}: {e}", ctx.peer);
                return;
            }
        };
        let n = max_message(cfg.max_frame);
        let config = WebSocketConfig::default()
            .max_message_size(Some(n))
            .max_frame_size(Some(n))
            .read_buffer_size(crate::transport::WS_READ_BUFFER);
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        serve_socket(ws, ctx, events, cfg).await;
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, "upgrade"),
            (header::UPGRADE, "websocket"),
            (header::SEC_WEBSOCKET_ACCEPT, accept.as_str()),
        ],
    )
        .into_response()
}

/// How a connection ends, when not by the client leaving.
enum End {
    /// Tell the client why, then close.
    Refuse(String),
    /// The client does not read: just close.
    Drop(String),
}

struct ApiConn {
    ws: WebSocketStream<Io>,
    ctx: ConnCtx,
    events: crate::node::Events,
    conn: ConnId,
    announced: bool,
    session: Option<SessionId>,
    /// Requests sent to the node and not answered yet, and their bytes (oldest first: the
    /// core answers a session's requests in order).
    outstanding: std::collections::VecDeque<usize>,
    in_flight: usize,
    queue: QueueHandle,
    max_frame: usize,
}

async fn serve_socket(ws: WebSocketStream<Io>, ctx: ConnCtx, events: crate::node::Events, cfg: Arc<NodeConfig>) {
    let (tx, mut rx) = crate::clientq::channel(cfg.limits.queue_hard_limit());
    let queue = rx.handle();
    let mut c = ApiConn {
        ws,
        ctx,
        events,
        conn: next_conn(),
        announced: false,
        session: None,
        outstanding: Default::default(),
        in_flight: 0,
        queue: rx.handle(),
        max_frame: cfg.max_frame,
    };
    let end = tokio::select! {
        r = c.run(tx, &mut rx, &cfg) => r,
        o = queue.overflowed() => Err(End::Drop(format!("{} bytes of replies unread (limit {})", o.queued, o.hard))),
    };
    if c.announced {
        let _ = c.events.send(Event::ClientClosed { conn: c.conn });
    }
    match end {
        Ok(()) => {}
        Err(End::Drop(why)) => tracing::warn!("/api client {}: {why}; connection closed", c.ctx.peer),
        Err(End::Refuse(why)) => {
            tracing::warn!("/api client {}: {why}; connection closed", c.ctx.peer);
            c.refuse(why).await;
        }
    }
}

impl ApiConn {
    async fn run(&mut self, tx: ClientTx, rx: &mut ClientRx, cfg: &NodeConfig) -> Result<(), End> {
        let mut tx = Some(tx);
        let l = &cfg.limits;
        let deadline = tokio::time::Instant::now() + l.connect_timeout();
        loop {
            let may_read = self.outstanding.len() < l.max_outstanding
                && self.queue.queued() <= l.max_queued_bytes
                && self.in_flight <= l.max_queued_bytes;
            let connecting = self.session.is_none();
            let go_on = tokio::select! {
                msg = self.ws.next(), if may_read => {
                    // What this connection keeps: its requests not answered yet (see clients.rs).
                    self.ctx.hold.settle(self.in_flight);
                    self.on_message(msg, &mut tx).await?
                }
                out = rx.recv() => match out {
                    Some((out, size)) => self.on_out(out, size).await?,
                    None => false,
                },
                _ = tokio::time::sleep_until(deadline), if connecting => {
                    let ms = l.connect_timeout_ms;
                    return Err(End::Refuse(format!("no session within {ms} ms (connect_timeout_ms)")));
                }
            };
            if !go_on {
                return Ok(());
            }
        }
    }

    /// One message from the client; false when the connection is done.
    async fn on_message(
        &mut self,
        msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        tx: &mut Option<ClientTx>,
    ) -> Result<bool, End> {
        let text = match msg {
            None | Some(Ok(Message::Close(_))) => return Ok(false),
            Some(Err(e)) => {
                return Err(End::Refuse(format!("{e} (requests are limited by max_frame, {} bytes)", self.max_frame)))
            }
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => return Err(End::Refuse("binary messages are not understood".into())),
            Some(Ok(_)) => return Ok(true),
        };
        match serde_json::from_str::<ApiIn>(&text) {
            Ok(ApiIn::Connect(mut req)) => match tx.take() {
                Some(out) => {
                    // `ip` ACLs match the socket's address; what the client claims is ignored.
                    req.addr = Some(self.ctx.peer.ip().to_string());
                    self.announced = true;
                    let _ = self.events.send(Event::ClientConnect { conn: self.conn, req, out });
                }
                None => self.send(&ApiOut::Error("already connected".into())).await?,
            },
            Ok(ApiIn::Request { xid, op }) => {
                let size = request_size(&op);
                if size > self.max_frame {
                    let max = self.max_frame;
                    return Err(End::Refuse(format!(
                        "request of {size} bytes is over the limit of {max} bytes (max_frame)"
                    )));
                }
                match self.session {
                    Some(s) => {
                        self.outstanding.push_back(size);
                        self.in_flight += size;
                        self.ctx.hold.settle(self.in_flight);
                        let _ = self.events.send(Event::ClientRequest { req: ClientRequest { session: s, xid, op } });
                    }
                    None => self.send(&ApiOut::Error("connect first".into())).await?,
                }
            }
            Err(e) => return Err(End::Refuse(format!("malformed request: {e}"))),
        }
        Ok(true)
    }

    async fn on_out(&mut self, out: ClientOut, size: usize) -> Result<bool, End> {
        let (msg, go_on) = match out {
            ClientOut::Connected(r) => {
                self.session = r.as_ref().ok().map(|g| g.session);
                let ok = r.is_ok();
                (ApiOut::Connected(r), ok)
            }
            ClientOut::Reply(r) => {
                self.in_flight -= self.outstanding.pop_front().unwrap_or(0);
                self.ctx.hold.settle(self.in_flight);
                (ApiOut::Reply(r), true)
            }
            ClientOut::Watch { zxid, event } => (ApiOut::Watch { zxid, event }, true),
            ClientOut::Close => return Ok(false),
        };
        self.send(&msg).await?;
        self.queue.done(size);
        Ok(go_on)
    }

    async fn send(&mut self, m: &ApiOut) -> Result<(), End> {
        let text = serde_json::to_string(m).expect("serializes");
        self.ws.send(Message::Text(text.into())).await.map_err(|e| End::Drop(format!("send failed: {e}")))
    }

    /// Tell the client why, close, and read (and drop) what it may still be sending, so that
    /// it gets the answer rather than a reset: a socket closed with unread bytes sends RST,
    /// and the client's kernel then throws away what it had not read yet.
    async fn refuse(mut self, why: String) {
        const LINGER: Duration = Duration::from_secs(5);
        const DRAIN_AT_MOST: usize = 64 << 20;
        let _ = tokio::time::timeout(LINGER, async {
            self.send(&ApiOut::Error(why)).await.ok()?;
            let close = CloseFrame { code: CloseCode::Policy, reason: "refused".into() };
            self.ws.close(Some(close)).await.ok()
        })
        .await;
        let io = self.ws.get_mut();
        let _ = io.shutdown().await;
        let mut drained = 0;
        let _ = tokio::time::timeout(LINGER, async {
            let mut buf = vec![0u8; 16 * 1024];
            while drained < DRAIN_AT_MOST {
                match io.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
                self.ctx.hold.settle(0);
            }
        })
        .await;
    }
}

/// The size of `op` as a ZooKeeper request (data, paths, ACLs, names), for the `max_frame`
/// limit the ZooKeeper port applies to the same request.
pub fn request_size(op: &ClientOp) -> usize {
    let strings = |v: &[String]| v.iter().map(|s| s.len() + 4).sum::<usize>();
    16 + match op {
        ClientOp::Write(w) => op_size(w),
        ClientOp::GetData { path, .. }
        | ClientOp::Exists { path, .. }
        | ClientOp::GetChildren { path, .. }
        | ClientOp::GetAcl { path }
        | ClientOp::GetAllChildrenNumber { path }
        | ClientOp::AddWatch { path, .. }
        | ClientOp::RemoveWatches { path, .. }
        | ClientOp::CheckWatches { path, .. } => path.len() + 8,
        ClientOp::GetEphemerals { prefix } => prefix.len() + 4,
        ClientOp::MultiRead(ops) => ops.iter().map(request_size).sum(),
        ClientOp::SetWatches { data, exist, child, persistent, recursive, .. } => {
            [data, exist, child, persistent, recursive].into_iter().map(|v| strings(v) + 4).sum()
        }
        ClientOp::AddAuth { scheme, auth } => scheme.len() + auth.len() + 12,
        ClientOp::Sync | ClientOp::WhoAmI | ClientOp::Ping => 0,
    }
}

fn op_size(op: &Op) -> usize {
    let acl_size = |acl: &[zabra_core::acl::Acl]| -> usize {
        4 + acl.iter().map(|a| a.id.scheme.len() + a.id.id.len() + 12).sum::<usize>()
    };
    match op {
        Op::Create { path, data, acl, .. } => path.len() + data.len() + acl_size(acl) + 16,
        Op::SetData { path, data, .. } => path.len() + data.len() + 12,
        Op::SetAcl { path, acl, .. } => path.len() + acl_size(acl) + 8,
        Op::Delete { path, .. } | Op::Check { path, .. } | Op::DeleteContainer { path } => path.len() + 8,
        Op::Multi(ops) => ops.iter().map(|o| op_size(o) + 12).sum(),
        Op::CreateSession { password, .. } => password.len() + 16,
        Op::CloseSession => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_its_data_and_names() {
        let create = |n: usize| {
            ClientOp::Write(Op::Create {
                path: "/a".into(),
                data: vec![0; n].into(),
                acl: zabra_core::acl::open_acl_unsafe(),
                mode: zabra_core::txn::CreateMode::Persistent,
            })
        };
        assert!(request_size(&create(1_000_000)) <= 0xFFFFF, "1 MB of data passes, as on the ZooKeeper port");
        assert!(request_size(&create(0xFFFFF)) > 0xFFFFF);
        let multi = ClientOp::Write(Op::Multi(vec![
            Op::SetData {
                path: "/a".into(),
                data: vec![0; 600_000].into(),
                version: -1
            };
            2
        ]));
        assert!(request_size(&multi) > 0xFFFFF, "a multi counts every sub-op");
        assert!(max_message(0xFFFFF) > serde_json::to_string(&create(1_000_000)).unwrap().len());
    }
}
