//! A node's own view, from `GET /healthz` on its HTTP port (the `NodeView` JSON): whether it
//! serves, whether it leads, its last committed zxid and its tree digest.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    pub serving: bool,
    pub leading: bool,
    /// Hex, as the node writes it.
    pub last_committed: String,
    pub digest: u64,
}

/// One bounded request; `None` if the node does not answer in time (paused, cut off, down).
pub async fn get(addr: SocketAddr) -> Option<NodeStatus> {
    tokio::time::timeout(Duration::from_millis(800), fetch(addr)).await.ok().flatten()
}

async fn fetch(addr: SocketAddr) -> Option<NodeStatus> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut body = Vec::new();
    s.take(1 << 20).read_to_end(&mut body).await.ok()?;
    let text = String::from_utf8_lossy(&body);
    let json: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1)?).ok()?;
    let st = json.get("status")?;
    Some(NodeStatus {
        serving: st.get("serving")?.as_bool()?,
        leading: st.get("state")?.as_str()? == "Leading",
        last_committed: st.get("last_committed")?.as_str()?.to_string(),
        digest: st.get("digest")?.as_u64()?,
    })
}
