//! The JSON WebSocket client API (`/api` on the HTTP port), for browsers and tests: the same
//! sessions and operations as the ZooKeeper port, as the core's own serde types.
//!
//! ```text
//! → {"connect": {"session": null, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": null}}
//! ← {"connected": {"Ok": {"session": "1..", "timeout_ms": 10000, "password": [..]}}}
//! → {"xid": 1, "op": {"Write": {"Create": {"path": "/a", "data": [104], "acl": [..], "mode": "Persistent"}}}}
//! ← {"reply": {"session": "1..", "xid": 1, "zxid": "100000002", "result": {"Write": {"Created": {..}}}}}
//! ← {"watch": {"zxid": "..", "event": {"kind": "NodeCreated", "path": "/a"}}}
//! ```

use crate::node::{ClientOut, Event};
use axum::extract::ws::{Message, WebSocket};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use zabra_core::peer::{ClientOp, ClientRequest, ConnectRequest, Reply, SessionGrant};
use zabra_core::txn::ErrorCode;
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

pub async fn serve_socket(mut socket: WebSocket, events: mpsc::UnboundedSender<Event>) {
    let conn = next_conn();
    let (tx, mut rx) = mpsc::unbounded_channel::<ClientOut>();
    let mut session: Option<SessionId> = None;
    let mut tx = Some(tx);
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(Message::Text(text))) = msg else { break };
                match serde_json::from_str::<ApiIn>(&text) {
                    Ok(ApiIn::Connect(req)) => match tx.take() {
                        Some(out) => { let _ = events.send(Event::ClientConnect { conn, req, out }); }
                        None => { let _ = send(&mut socket, &ApiOut::Error("already connected".into())).await; }
                    },
                    Ok(ApiIn::Request { xid, op }) => match session {
                        Some(s) => { let _ = events.send(Event::ClientRequest { req: ClientRequest { session: s, xid, op } }); }
                        None => { let _ = send(&mut socket, &ApiOut::Error("connect first".into())).await; }
                    },
                    Err(e) => {
                        let _ = send(&mut socket, &ApiOut::Error(format!("malformed request: {e}"))).await;
                        break;
                    }
                }
            }
            out = rx.recv() => {
                let Some(out) = out else { break };
                let msg = match out {
                    ClientOut::Connected(r) => {
                        if let Ok(g) = &r { session = Some(g.session); }
                        ApiOut::Connected(r)
                    }
                    ClientOut::Reply(r) => ApiOut::Reply(r),
                    ClientOut::Watch { zxid, event } => ApiOut::Watch { zxid, event },
                    ClientOut::Close => break,
                };
                if send(&mut socket, &msg).await.is_err() { break; }
            }
        }
    }
    let _ = events.send(Event::ClientClosed { conn });
}

async fn send(socket: &mut WebSocket, m: &ApiOut) -> Result<(), axum::Error> {
    socket.send(Message::Text(serde_json::to_string(m).expect("serializes").into())).await
}
