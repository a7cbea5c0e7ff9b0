//! The ZooKeeper client port: the client wire protocol over TCP (`zabra-zkwire`), so kazoo,
//! zkCli and the Java and C clients work unchanged.
//!
//! Per connection: four-letter words (answered and closed), or ConnectRequest → session, then
//! pipelined requests answered in order (§14) with watch notifications in between. A
//! malformed or oversized frame closes that one connection with a log line.
//!
//! ZooKeeper's limits hold here (`limits.rs`): connections per address and in all, a time
//! for the handshake, and throttling: while a connection has `max_outstanding` requests
//! unanswered, or more than `max_queued_bytes` of requests unanswered or of replies
//! unwritten, the node reads nothing more from it. Partly received frames are paid for from the node's read budget
//! (`budget.rs`). Whatever way a connection ends, the node hears of it, so nothing of it
//! stays behind in `cons` or `mntr`.

use crate::budget::{Budgeted, Hold, ReadBudget, CHUNK};
use crate::clientq::{ClientRx, ClientTx, QueueHandle};
use crate::config::NodeConfig;
use crate::node::{ClientOut, Event};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use zabra_core::peer::{ClientRequest, ClientResult};
use zabra_core::{SessionId, Zxid};
use zabra_zkwire as wire;

pub async fn listen(l: TcpListener, events: crate::node::Events, cfg: Arc<NodeConfig>, budget: ReadBudget) {
    let table = crate::limits::ConnTable::new(&cfg.limits);
    crate::limits::accept_loop(l, "client port", table, move |stream, addr, guard| {
        let (ev, cfg, budget) = (events.clone(), cfg.clone(), budget.clone());
        tokio::spawn(async move {
            if let Err(e) = Conn::serve(stream, addr, ev, cfg, &budget).await {
                tracing::warn!("client {addr}: {e}; connection closed");
            }
            drop(guard);
        });
    })
    .await
}

struct Pending {
    xid: i32,
    kind: wire::ReplyKind,
    result: Option<(Zxid, ClientResult)>,
    /// What the reply counts in the connection's queue, uncounted once written.
    size: usize,
    /// The request's size, counted in `in_flight` until it is answered.
    request: usize,
}

struct Conn {
    stream: Budgeted<TcpStream>,
    hold: Arc<Hold>,
    addr: SocketAddr,
    reader: wire::FrameReader,
    events: crate::node::Events,
    conn: zabra_core::ConnId,
    /// The node has heard of this connection (and must hear when it ends).
    announced: bool,
    session: SessionId,
    pending: VecDeque<Pending>,
    /// Bytes of the requests in `pending` not answered yet.
    in_flight: usize,
    queue: QueueHandle,
    last_zxid: Zxid,
    /// What the client sent, when recording fuzz seeds (`record.rs`).
    tape: Option<crate::record::Tape>,
}

enum Next {
    Continue,
    Close,
}

impl Conn {
    async fn serve(
        stream: TcpStream,
        addr: SocketAddr,
        events: crate::node::Events,
        cfg: Arc<NodeConfig>,
        budget: &ReadBudget,
    ) -> Result<(), String> {
        let stream = Budgeted::new(stream, budget);
        let (tx, rx) = crate::clientq::channel(cfg.limits.queue_hard_limit());
        let mut c = Conn {
            hold: stream.hold(),
            stream,
            addr,
            reader: wire::FrameReader::with_max(cfg.max_frame),
            events,
            conn: crate::api::next_conn(),
            announced: false,
            session: SessionId(0),
            pending: VecDeque::new(),
            in_flight: 0,
            queue: rx.handle(),
            last_zxid: Zxid::ZERO,
            tape: crate::record::Tape::client(),
        };
        let queue = rx.handle();
        let result = tokio::select! {
            r = c.run(tx, rx, &cfg) => r,
            o = queue.overflowed() => Err(format!("{} bytes of replies unread (limit {})", o.queued, o.hard)),
        };
        if c.announced {
            let _ = c.events.send(Event::ClientClosed { conn: c.conn });
        }
        result
    }

    async fn run(&mut self, tx: ClientTx, mut rx: ClientRx, cfg: &NodeConfig) -> Result<(), String> {
        let limit = cfg.limits.connect_timeout();
        match tokio::time::timeout(limit, self.handshake(tx, &mut rx, cfg)).await {
            Err(_) => return Err(format!("no session within {} ms (connect_timeout_ms)", limit.as_millis())),
            Ok(Ok(true)) => {}
            Ok(other) => return other.map(|_| ()),
        }
        loop {
            let l = &cfg.limits;
            let may_read = self.pending.len() < l.max_outstanding
                && self.queue.queued() <= l.max_queued_bytes
                && self.in_flight <= l.max_queued_bytes;
            let next = tokio::select! {
                item = self.next_item(), if may_read => match item? {
                    Some(wire::Incoming::Frame(p)) => self.on_frame(&p).await?,
                    _ => Next::Close,
                },
                out = rx.recv() => match out {
                    Some((out, size)) => self.on_out(out, size).await?,
                    None => Next::Close,
                },
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    /// Four-letter word or ConnectRequest; true once a session is granted.
    async fn handshake(&mut self, tx: ClientTx, rx: &mut ClientRx, cfg: &NodeConfig) -> Result<bool, String> {
        let wc = match self.next_item().await? {
            None => return Ok(false),
            Some(wire::Incoming::FourLetter(cmd, _)) => return self.four_letter(cmd, cfg).await.map(|_| false),
            Some(wire::Incoming::Frame(p)) => {
                wire::decode_connect(&p).map_err(|e| format!("bad ConnectRequest: {e}"))?
            }
        };
        let req = wc.to_core(Some(self.addr.ip().to_string()));
        self.announced = true;
        let _ = self.events.send(Event::ClientConnect { conn: self.conn, req, out: tx });
        let Some((out, size)) = rx.recv().await else { return Ok(false) };
        self.queue.done(size);
        match out {
            ClientOut::Connected(Ok(grant)) => {
                self.session = grant.session;
                self.write(&wire::encode_connect_response(Some(&grant), &wc, false)).await?;
                Ok(true)
            }
            ClientOut::Connected(Err(zabra_core::txn::ErrorCode::SessionExpired)) => {
                self.write(&wire::encode_connect_response(None, &wc, false)).await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Tell the read budget what this connection still keeps: frames partly received, and
    /// requests read but not answered. Both are paid from the one budget of the client ports
    /// beyond the connection's free allowance, so the node's unanswered requests are bounded
    /// across connections, not only per connection.
    fn settle(&self) {
        self.hold.settle(self.reader.buffered() + self.in_flight);
    }

    /// The next frame (or four-letter word); `None` at end of stream.
    async fn next_item(&mut self) -> Result<Option<wire::Incoming>, String> {
        loop {
            if let Some(item) = self.reader.next_item().map_err(|e| format!("bad frame: {e}"))? {
                self.settle();
                return Ok(Some(item));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Read what the socket has (waiting for room in the read budget if need be); false at
    /// end of stream. The chunk lives only inside one poll, so an idle connection holds no
    /// read buffer.
    async fn fill(&mut self) -> Result<bool, String> {
        let (stream, reader, tape) = (&mut self.stream, &mut self.reader, &mut self.tape);
        std::future::poll_fn(|cx| {
            let mut chunk = [0u8; CHUNK];
            let mut buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf)).map_err(|e| e.to_string())?;
            if let Some(t) = tape.as_mut() {
                t.record(buf.filled());
            }
            reader.push(buf.filled());
            Poll::Ready(Ok(!buf.filled().is_empty()))
        })
        .await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).await.map_err(|e| e.to_string())
    }

    async fn on_frame(&mut self, payload: &[u8]) -> Result<Next, String> {
        let r = wire::decode_request(payload).map_err(|e| format!("malformed request: {e}"))?;
        match r.body {
            wire::RequestBody::Op(op) => {
                self.in_flight += payload.len();
                self.settle();
                let request = payload.len();
                self.pending.push_back(Pending { xid: r.xid, kind: r.kind, result: None, size: 0, request });
                let req = ClientRequest { session: self.session, xid: r.xid as i64, op };
                let _ = self.events.send(Event::ClientRequest { req });
                Ok(Next::Continue)
            }
            wire::RequestBody::Immediate(result) => {
                let z = self.last_zxid;
                let result = Some((z, result));
                self.pending.push_back(Pending { xid: r.xid, kind: r.kind, result, size: 0, request: 0 });
                self.flush().await
            }
            wire::RequestBody::Unimplemented => {
                self.write(&wire::encode_unimplemented(r.xid)).await?;
                Ok(Next::Close)
            }
        }
    }

    async fn on_out(&mut self, out: ClientOut, size: usize) -> Result<Next, String> {
        match out {
            ClientOut::Reply(r) => {
                self.last_zxid = self.last_zxid.max(r.zxid);
                match self.pending.iter_mut().find(|p| p.result.is_none() && p.xid as i64 == r.xid) {
                    Some(p) => {
                        (p.result, p.size) = (Some((r.zxid, r.result)), size);
                        self.in_flight -= p.request;
                        self.settle();
                    }
                    None => {
                        self.queue.done(size);
                        tracing::debug!("client {}: reply for unknown xid {}", self.addr, r.xid)
                    }
                }
                self.flush().await
            }
            ClientOut::Watch { event, zxid } => {
                self.write(&wire::encode_watch_event(&event, Some(zxid))).await?;
                self.queue.done(size);
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
            let next = match p.kind.disposition(&result) {
                wire::Disposition::Send => {
                    self.write(&wire::encode_reply(p.xid, zxid, &p.kind, &result)).await?;
                    Next::Continue
                }
                wire::Disposition::SendAndClose => {
                    self.write(&wire::encode_reply(p.xid, zxid, &p.kind, &result)).await?;
                    Next::Close
                }
                wire::Disposition::CloseSilently => Next::Close,
            };
            self.queue.done(p.size);
            if let Next::Close = next {
                return Ok(next);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use zabra_core::peer::SessionGrant;

    fn framed(b: Vec<u8>) -> Vec<u8> {
        let mut f = (b.len() as i32).to_be_bytes().to_vec();
        f.extend(b);
        f
    }

    fn string(b: &mut Vec<u8>, s: &[u8]) {
        b.extend((s.len() as i32).to_be_bytes());
        b.extend(s);
    }

    fn connect() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(0i32.to_be_bytes());
        b.extend(0i64.to_be_bytes());
        b.extend(10_000i32.to_be_bytes());
        b.extend(0i64.to_be_bytes());
        string(&mut b, &[0; 16]);
        b.push(0);
        framed(b)
    }

    fn create(xid: i32, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(xid.to_be_bytes());
        b.extend(1i32.to_be_bytes());
        string(&mut b, format!("/n{xid}").as_bytes());
        string(&mut b, data);
        b.extend(1i32.to_be_bytes());
        b.extend(31i32.to_be_bytes());
        string(&mut b, b"world");
        string(&mut b, b"anyone");
        b.extend(0i32.to_be_bytes());
        framed(b)
    }

    /// Requests read and not answered are paid from the one read budget of the client ports:
    /// 20 connections pipelining 4 MB each (under each connection's own `max_queued_bytes`)
    /// to a node that never answers get no more than the budget plus each connection's free
    /// allowance and one request into the node. Before, each connection alone stopped only
    /// at 4 MiB unanswered: 80 MB across them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unanswered_requests_of_all_connections_share_one_budget() {
        const CONNS: usize = 20;
        const DATA: usize = 100 * 1024;
        let budget_bytes = 1 << 20;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = Arc::new(NodeConfig::local(1, 1));
        tokio::spawn(listen(l, tx, cfg, ReadBudget::new(budget_bytes)));
        // The node: grants every session, answers no request, counts the requests it got.
        let got = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = got.clone();
        tokio::spawn(async move {
            let mut outs = Vec::new();
            while let Some(ev) = rx.recv().await {
                match ev {
                    Event::ClientConnect { out, .. } => {
                        let grant = SessionGrant {
                            session: SessionId(outs.len() as u64 + 1),
                            timeout_ms: 10_000,
                            password: vec![0; 16],
                        };
                        let _ = out.send(ClientOut::Connected(Ok(grant)));
                        outs.push(out);
                    }
                    Event::ClientRequest { .. } => drop(counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
                    _ => {}
                }
            }
        });
        let data = vec![7u8; DATA];
        let mut socks = Vec::new();
        for _ in 0..CONNS {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&connect()).await.unwrap();
            socks.push(s);
        }
        let writers: Vec<_> = socks
            .into_iter()
            .map(|mut s| {
                let data = data.clone();
                tokio::spawn(async move {
                    for xid in 1..=40 {
                        // Stops when the node stops reading (the kernel's buffers fill).
                        if tokio::time::timeout(Duration::from_secs(3), s.write_all(&create(xid, &data))).await.is_err()
                        {
                            break;
                        }
                    }
                    s
                })
            })
            .collect();
        for w in writers {
            let _ = w.await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let bytes = got.load(std::sync::atomic::Ordering::Relaxed) * DATA;
        let bound = budget_bytes + CONNS * (crate::budget::FREE + crate::budget::CHUNK + DATA + 200);
        assert!(bytes > 0, "requests reach the node");
        assert!(bytes <= bound, "{bytes} bytes of unanswered requests reached the node (bound {bound})");
    }
}
