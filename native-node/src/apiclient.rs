//! A client of a node's JSON WebSocket API (`/api`), used by `zabra bench`.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use zabra_core::peer::{ClientOp, ClientResult, Reply};

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub struct ApiClient {
    ws: Ws,
    next_xid: i64,
    /// Watch notifications received while waiting for replies.
    pub events: Vec<Value>,
}

impl ApiClient {
    /// Connect to the first server of a comma-separated list that grants a session.
    pub async fn connect(servers: &str, timeout_ms: u32) -> Result<ApiClient, String> {
        let mut last = String::from("no server given");
        for s in servers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match Self::connect_one(s, timeout_ms).await {
                Ok(c) => return Ok(c),
                Err(e) => last = format!("{s}: {e}"),
            }
        }
        Err(last)
    }

    async fn connect_one(server: &str, timeout_ms: u32) -> Result<ApiClient, String> {
        let url = format!("ws://{server}/api");
        let connect = async {
            let tcp = tokio::net::TcpStream::connect(server).await.map_err(|e| e.to_string())?;
            // One request at a time waits on every reply: no Nagle delay.
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            tokio_tungstenite::client_async(url, tcp).await.map_err(|e| e.to_string())
        };
        let (mut ws, _) =
            tokio::time::timeout(Duration::from_secs(3), connect).await.map_err(|_| "timed out".to_string())??;
        let req =
            json!({"connect": {"session": null, "timeout_ms": timeout_ms, "last_zxid_seen": "0", "addr": "127.0.0.1"}});
        ws.send(Message::Text(req.to_string().into())).await.map_err(|e| e.to_string())?;
        let v = next(&mut ws).await?;
        if v["connected"]["Ok"].is_null() {
            return Err(format!("refused: {}", v["connected"]));
        }
        Ok(ApiClient { ws, next_xid: 1, events: Vec::new() })
    }

    /// Send one op and wait for its reply (bounded: 10 s).
    pub async fn call(&mut self, op: &ClientOp) -> Result<Reply, String> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let req = json!({"xid": xid, "op": op});
        self.ws.send(Message::Text(req.to_string().into())).await.map_err(|e| e.to_string())?;
        loop {
            let v = next(&mut self.ws).await?;
            if v.get("watch").is_some() {
                self.events.push(v["watch"].clone());
                continue;
            }
            if v["reply"]["xid"] == xid {
                return serde_json::from_value(v["reply"].clone()).map_err(|e| e.to_string());
            }
            if let Some(e) = v.get("error") {
                return Err(e.to_string());
            }
        }
    }

    pub async fn result(&mut self, op: &ClientOp) -> Result<ClientResult, String> {
        Ok(self.call(op).await?.result)
    }
}

async fn next(ws: &mut Ws) -> Result<Value, String> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "no answer in 10 s".to_string())?;
        match m {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).map_err(|e| e.to_string()),
            Some(Ok(_)) => continue,
            _ => return Err("connection closed".into()),
        }
    }
}
