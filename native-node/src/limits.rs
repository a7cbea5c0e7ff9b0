//! Connection limits of the client ports (the ZooKeeper port and the HTTP port with `/api`),
//! as ZooKeeper has them: `maxClientCnxns` per IP address, a cap on connections in all,
//! and an accept loop that backs off on errors instead of spinning (under `EMFILE` the
//! listening socket stays readable, so a loop that retries at once burns a core).
//!
//! Every accepted socket gets TCP_NODELAY: replies are small and latency-bound, and Nagle
//! with the peer's delayed ACK holds each one ~40 ms.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// The `[limits]` table of a node's config. Every field has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Connections from one IP address, per port (ZooKeeper's `maxClientCnxns`); 0: no limit.
    pub max_client_cnxns: u32,
    /// Connections per port in all (ZooKeeper's `maxCnxns`, here always on).
    pub max_connections: u32,
    /// Time a new connection has to complete its ConnectRequest and get its session (or
    /// send a four-letter word); a connection without a session by then is closed.
    pub connect_timeout_ms: u64,
    /// Time an HTTP client has to send a request's headers (slowloris).
    pub header_timeout_ms: u64,
    /// Requests read from one connection and not answered yet; at this many the node stops
    /// reading that connection until replies go out (ZooKeeper's throttling).
    pub max_outstanding: usize,
    /// Reply bytes waiting to be written to one connection, or request bytes it sent that
    /// are not answered yet; above this the node stops reading it. A connection whose reply
    /// queue still grows past 16 times this (it does not read) is closed.
    pub max_queued_bytes: usize,
    /// Bytes that partly received frames and messages, and requests read but not answered
    /// yet, of every client connection together may hold beyond the first 64 KiB of each: a
    /// connection that needs more stops reading until there is room. At least 5 ×
    /// `max_frame`, so that one `/api` message (JSON) always fits.
    pub max_partial_bytes: usize,
    /// `/observe` viewers at once.
    pub max_viewers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_client_cnxns: 60,
            max_connections: 1000,
            connect_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            max_outstanding: 1000,
            max_queued_bytes: 4 << 20,
            max_partial_bytes: 64 << 20,
            max_viewers: 8,
        }
    }
}

impl Limits {
    /// The first field out of range, with the problem.
    pub fn check(&self, max_frame: usize) -> Result<(), (&'static str, String)> {
        let positive = [
            ("limits.max_connections", self.max_connections as u64),
            ("limits.connect_timeout_ms", self.connect_timeout_ms),
            ("limits.header_timeout_ms", self.header_timeout_ms),
            ("limits.max_outstanding", self.max_outstanding as u64),
            ("limits.max_viewers", self.max_viewers as u64),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err((field, "must be positive".into()));
        }
        if self.max_queued_bytes < max_frame {
            return Err(("limits.max_queued_bytes", format!("must be at least max_frame ({max_frame})")));
        }
        if self.max_partial_bytes < 5 * max_frame {
            return Err(("limits.max_partial_bytes", format!("must be at least 5 × max_frame ({})", 5 * max_frame)));
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// A connection whose reply queue passes this is closed.
    pub fn queue_hard_limit(&self) -> usize {
        self.max_queued_bytes.saturating_mul(16)
    }
}

/// Why a connection was refused at accept.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    PerIp(u32),
    Total(u32),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::PerIp(n) => write!(f, "too many connections from this address (max_client_cnxns is {n})"),
            Refused::Total(n) => write!(f, "too many connections (max_connections is {n})"),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: u32,
    by_ip: BTreeMap<IpAddr, u32>,
}

/// Live connections of one port, by address.
pub struct ConnTable {
    per_ip: u32,
    total: u32,
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it frees its place.
pub struct ConnGuard {
    table: Arc<ConnTable>,
    ip: IpAddr,
}

impl ConnTable {
    pub fn new(l: &Limits) -> Arc<ConnTable> {
        Arc::new(ConnTable { per_ip: l.max_client_cnxns, total: l.max_connections, counts: Default::default() })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refused> {
        let mut c = self.counts.lock().expect("not poisoned");
        if c.total >= self.total {
            return Err(Refused::Total(self.total));
        }
        let n = c.by_ip.entry(ip).or_insert(0);
        if self.per_ip != 0 && *n >= self.per_ip {
            return Err(Refused::PerIp(self.per_ip));
        }
        *n += 1;
        c.total += 1;
        Ok(ConnGuard { table: self.clone(), ip })
    }

    /// (connections in all, distinct addresses).
    #[cfg(test)]
    pub fn counts(&self) -> (u32, usize) {
        let c = self.counts.lock().expect("not poisoned");
        (c.total, c.by_ip.len())
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut c = self.table.counts.lock().expect("not poisoned");
        c.total -= 1;
        if let Some(n) = c.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_ip.remove(&self.ip);
            }
        }
    }
}

/// A warning at most once a second, with a count of the ones held back: a flood of refused
/// connections must not become a flood of log lines.
pub struct LogLimiter {
    what: &'static str,
    last: Option<Instant>,
    held_back: u64,
}

impl LogLimiter {
    pub fn new(what: &'static str) -> LogLimiter {
        LogLimiter { what, last: None, held_back: 0 }
    }

    pub fn warn(&mut self, msg: std::fmt::Arguments<'_>) {
        if self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            self.held_back += 1;
            return;
        }
        let more = match std::mem::take(&mut self.held_back) {
            0 => String::new(),
            n => format!(" ({n} more like this in the last second)"),
        };
        tracing::warn!("{}: {msg}{more}", self.what);
        self.last = Some(Instant::now());
    }
}

/// Accept connections forever: each admitted one (with TCP_NODELAY set) goes to `on_conn`
/// with its guard; a refused one is closed at once, as ZooKeeper does. After an accept
/// error the loop waits, 10 ms doubling up to 1 s, reset by the next success.
pub async fn accept_loop<F>(l: TcpListener, what: &'static str, table: Arc<ConnTable>, mut on_conn: F)
where
    F: FnMut(TcpStream, SocketAddr, ConnGuard),
{
    const FIRST: Duration = Duration::from_millis(10);
    let mut backoff = FIRST;
    let mut refusals = LogLimiter::new(what);
    let mut errors = LogLimiter::new(what);
    loop {
        let (stream, addr) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                errors.warn(format_args!("accept failed: {e}; retrying in {} ms", backoff.as_millis()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = FIRST;
        match table.admit(addr.ip()) {
            Ok(guard) => {
                let _ = stream.set_nodelay(true);
                on_conn(stream, addr, guard)
            }
            Err(why) => refusals.warn(format_args!("refused {addr}: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(per_ip: u32, total: u32) -> Arc<ConnTable> {
        ConnTable::new(&Limits { max_client_cnxns: per_ip, max_connections: total, ..Limits::default() })
    }

    #[test]
    fn per_address_and_total_caps_free_their_place_on_drop() {
        let t = table(2, 3);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let g1 = t.admit(a).unwrap();
        let _g2 = t.admit(a).unwrap();
        assert_eq!(t.admit(a).err(), Some(Refused::PerIp(2)));
        let _g3 = t.admit(b).unwrap();
        assert_eq!(t.admit(b).err(), Some(Refused::Total(3)));
        drop(g1);
        assert!(t.admit(b).is_ok(), "the dropped guard freed a place");
    }

    #[test]
    fn zero_means_no_per_address_limit() {
        let t = table(0, 100);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let guards: Vec<_> = (0..100).map(|_| t.admit(ip).unwrap()).collect();
        assert_eq!(t.counts(), (100, 1));
        drop(guards);
        assert_eq!(t.counts(), (0, 0), "no entry is left behind");
    }

    #[tokio::test]
    async fn accepted_sockets_get_nodelay_and_refused_ones_are_closed() {
        use tokio::io::AsyncReadExt;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(accept_loop(l, "test", table(1, 10), move |s, _, g| {
            let _ = tx.send((s.nodelay().unwrap(), s, g));
        }));
        let _first = TcpStream::connect(addr).await.unwrap();
        let (nodelay, _s, _g) = rx.recv().await.unwrap();
        assert!(nodelay, "TCP_NODELAY is set on every accepted socket");
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut b = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut b)).await.unwrap();
        assert!(matches!(n, Ok(0) | Err(_)), "over max_client_cnxns: closed");
    }

    #[test]
    fn limits_are_checked() {
        assert!(Limits::default().check(0xFFFFF).is_ok());
        let l = Limits { max_queued_bytes: 10, ..Limits::default() };
        assert_eq!(l.check(0xFFFFF).unwrap_err().0, "limits.max_queued_bytes");
        let l = Limits { max_viewers: 0, ..Limits::default() };
        assert_eq!(l.check(0xFFFFF).unwrap_err().0, "limits.max_viewers");
    }
}
