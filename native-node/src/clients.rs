//! The ZooKeeper client port: the client wire protocol over TCP (`zabra-zkwire`), so kazoo,
//! zkCli and the Java and C clients work unchanged.
//!
//! Per connection: four-letter words (answered and closed), or ConnectRequest → session, then
//! pipelined requests answered in order (§14) with watch notifications in between. A
//! malformed or oversized frame closes that one connection with a log line.

use crate::config::NodeConfig;
use crate::node::{ClientOut, Event};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use zabra_core::peer::{ClientRequest, ClientResult};
use zabra_core::{SessionId, Zxid};
use zabra_zkwire as wire;

pub async fn listen(l: TcpListener, events: mpsc::UnboundedSender<Event>, cfg: Arc<NodeConfig>) {
    loop {
        let Ok((stream, addr)) = l.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (ev, cfg) = (events.clone(), cfg.clone());
        tokio::spawn(async move {
            if let Err(e) = Conn::serve(stream, addr, ev, cfg).await {
                tracing::warn!("client {addr}: {e}; connection closed");
            }
        });
    }
}

struct Pending {
    xid: i32,
    kind: wire::ReplyKind,
    result: Option<(Zxid, ClientResult)>,
}

struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    reader: wire::FrameReader,
    events: mpsc::UnboundedSender<Event>,
    conn: zabra_core::ConnId,
    session: SessionId,
    pending: VecDeque<Pending>,
    last_zxid: Zxid,
}

enum Next {
    Continue,
    Close,
}

impl Conn {
    async fn serve(
        stream: TcpStream,
        addr: SocketAddr,
        events: mpsc::UnboundedSender<Event>,
        cfg: Arc<NodeConfig>,
    ) -> Result<(), String> {
        let conn = crate::api::next_conn();
        let reader = wire::FrameReader::with_max(cfg.max_frame);
        let mut c = Conn {
            stream,
            addr,
            reader,
            events,
            conn,
            session: SessionId(0),
            pending: VecDeque::new(),
            last_zxid: Zxid::ZERO,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let result = c.run(tx, rx, &cfg).await;
        if c.session.0 != 0 {
            let _ = c.events.send(Event::ClientClosed { conn: c.conn });
        }
        result
    }

    async fn read_item(&mut self) -> Result<Option<wire::Incoming>, String> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(item) = self.reader.next_item().map_err(|e| format!("bad frame: {e}"))? {
                return Ok(Some(item));
            }
            let n = self.stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok(None);
            }
            self.reader.push(&buf[..n]);
        }
    }

    async fn run(
        &mut self,
        tx: mpsc::UnboundedSender<ClientOut>,
        mut rx: mpsc::UnboundedReceiver<ClientOut>,
        cfg: &NodeConfig,
    ) -> Result<(), String> {
        let wc = match self.read_item().await? {
            None => return Ok(()),
            Some(wire::Incoming::FourLetter(cmd, _)) => return self.four_letter(cmd, cfg).await,
            Some(wire::Incoming::Frame(p)) => {
                wire::decode_connect(&p).map_err(|e| format!("bad ConnectRequest: {e}"))?
            }
        };
        let req = wc.to_core(Some(self.addr.ip().to_string()));
        let _ = self.events.send(Event::ClientConnect { conn: self.conn, req, out: tx });
        match rx.recv().await {
            Some(ClientOut::Connected(Ok(grant))) => {
                self.session = grant.session;
                self.write(&wire::encode_connect_response(Some(&grant), &wc, false)).await?;
            }
            Some(ClientOut::Connected(Err(zabra_core::txn::ErrorCode::SessionExpired))) => {
                self.write(&wire::encode_connect_response(None, &wc, false)).await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
        loop {
            let next = tokio::select! {
                item = self.read_item() => match item? {
                    Some(wire::Incoming::Frame(p)) => self.on_frame(&p).await?,
                    _ => Next::Close,
                },
                out = rx.recv() => match out {
                    Some(out) => self.on_out(out).await?,
                    None => Next::Close,
                },
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).await.map_err(|e| e.to_string())
    }

    async fn on_frame(&mut self, payload: &[u8]) -> Result<Next, String> {
        let r = wire::decode_request(payload).map_err(|e| format!("malformed request: {e}"))?;
        match r.body {
            wire::RequestBody::Op(op) => {
                self.pending.push_back(Pending { xid: r.xid, kind: r.kind, result: None });
                let req = ClientRequest { session: self.session, xid: r.xid as i64, op };
                let _ = self.events.send(Event::ClientRequest { req });
                Ok(Next::Continue)
            }
            wire::RequestBody::Immediate(result) => {
                let z = self.last_zxid;
                self.pending.push_back(Pending { xid: r.xid, kind: r.kind, result: Some((z, result)) });
                self.flush().await
            }
            wire::RequestBody::Unimplemented => {
                self.write(&wire::encode_unimplemented(r.xid)).await?;
                Ok(Next::Close)
            }
        }
    }

    async fn on_out(&mut self, out: ClientOut) -> Result<Next, String> {
        match out {
            ClientOut::Reply(r) => {
                self.last_zxid = self.last_zxid.max(r.zxid);
                match self.pending.iter_mut().find(|p| p.result.is_none() && p.xid as i64 == r.xid) {
                    Some(p) => p.result = Some((r.zxid, r.result)),
                    None => tracing::debug!("client {}: reply for unknown xid {}", self.addr, r.xid),
                }
                self.flush().await
            }
            ClientOut::Watch { event, .. } => {
                self.write(&wire::encode_watch_event(&event, None)).await?;
                Ok(Next::Continue)
            }
            ClientOut::Close | ClientOut::Connected(_) => Ok(Next::Close),
        }
    }

    /// Send every answered reply at the front of the queue, in request order.
    async fn flush(&mut self) -> Result<Next, String> {
        while self.pending.front().is_some_and(|p| p.result.is_some()) {
            let p = self.pending.pop_front().expect("front");
            let (zxid, result) = p.result.expect("answered");
            match p.kind.disposition(&result) {
                wire::Disposition::Send => self.write(&wire::encode_reply(p.xid, zxid, &p.kind, &result)).await?,
                wire::Disposition::SendAndClose => {
                    self.write(&wire::encode_reply(p.xid, zxid, &p.kind, &result)).await?;
                    return Ok(Next::Close);
                }
                wire::Disposition::CloseSilently => return Ok(Next::Close),
            }
        }
        Ok(Next::Continue)
    }

    async fn four_letter(&mut self, cmd: wire::FourLetter, cfg: &NodeConfig) -> Result<(), String> {
        let text = crate::monitor::four_letter_text(cmd, &self.events, cfg).await.ok_or("node stopped")?;
        self.write(text.as_bytes()).await?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}
