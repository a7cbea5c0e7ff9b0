//! What `cons` prints for each client connection, as ZooKeeper's `ServerCnxn` keeps it:
//! packets received and sent, the last operation, cxid and zxid, when the last answer went and
//! how long requests took. The node task counts as requests arrive and replies leave; `crst`
//! resets the counters (not the session, its address or when it was established).

use std::time::Duration;
use zabra_core::peer::ClientOp;
use zabra_core::txn::{CreateMode, Op};
use zabra_core::SessionId;
use zabra_zkwire::{self as wire, opcode};

#[derive(Clone, Debug)]
pub struct Conn {
    pub addr: String,
    pub session: SessionId,
    /// Wall-clock ms when the session was granted on this connection (0 before).
    established_ms: u64,
    timeout_ms: u64,
    /// What `crst` zeroes.
    counts: Counts,
}

/// ZooKeeper's `ServerCnxn` counters, as `resetStats` leaves them when new.
#[derive(Clone, Debug)]
struct Counts {
    received: u64,
    sent: u64,
    last_op: i32,
    last_cxid: i64,
    last_zxid: i64,
    last_response_ms: u64,
    /// In ms, as ZooKeeper prints them; `count` answers with a sampled latency.
    last_latency: u64,
    latency_min: u64,
    latency_max: u64,
    latency_sum: u64,
    count: u64,
}

impl Default for Counts {
    fn default() -> Counts {
        Counts {
            received: 0,
            sent: 0,
            // No operation yet (ZooKeeper prints `NA`; this prints `UNKNOWN`).
            last_op: i32::MIN,
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency: 0,
            latency_min: 0,
            latency_max: 0,
            latency_sum: 0,
            count: 0,
        }
    }
}

impl Conn {
    pub fn new(addr: String) -> Conn {
        Conn { addr, session: SessionId(0), established_ms: 0, timeout_ms: 0, counts: Counts::default() }
    }

    /// The session was granted (the ConnectRequest counts as a received packet, the
    /// ConnectResponse as a sent one).
    pub fn established(&mut self, session: SessionId, timeout_ms: u32, now_ms: u64) {
        self.session = session;
        self.timeout_ms = u64::from(timeout_ms);
        self.established_ms = now_ms;
        let c = &mut self.counts;
        c.received += 1;
        c.sent += 1;
        c.last_op = opcode::CREATE_SESSION;
    }

    pub fn request(&mut self, op: &ClientOp, xid: i64) {
        let c = &mut self.counts;
        c.received += 1;
        c.last_op = op_code(op);
        if xid >= 0 {
            c.last_cxid = xid;
        }
    }

    pub fn reply(&mut self, zxid: i64, latency: Option<Duration>, now_ms: u64) {
        let c = &mut self.counts;
        c.sent += 1;
        c.last_zxid = zxid;
        c.last_response_ms = now_ms;
        if let Some(d) = latency {
            let ms = d.as_millis() as u64;
            c.last_latency = ms;
            c.latency_min = if c.count == 0 { ms } else { c.latency_min.min(ms) };
            c.latency_max = c.latency_max.max(ms);
            c.latency_sum += ms;
            c.count += 1;
        }
    }

    /// A watch notification went out.
    pub fn notified(&mut self) {
        self.counts.sent += 1;
    }

    /// `crst`: counters back to zero, as ZooKeeper's `ServerCnxn.resetStats`.
    pub fn reset(&mut self) {
        self.counts = Counts::default();
    }

    /// The `cons` line's figures; `queued`: its requests not answered yet.
    pub fn stats(&self, queued: u64) -> wire::ConnStats {
        let c = &self.counts;
        wire::ConnStats {
            addr: self.addr.clone(),
            interest_ops: 1,
            queued,
            received: c.received,
            sent: c.sent,
            session_id: self.session.0,
            last_op: c.last_op,
            established_ms: self.established_ms,
            timeout_ms: self.timeout_ms,
            last_cxid: c.last_cxid,
            last_zxid: c.last_zxid,
            last_response_ms: c.last_response_ms,
            last_latency: c.last_latency,
            latency_min: c.latency_min,
            latency_avg: if c.count == 0 { 0.0 } else { c.latency_sum as f64 / c.count as f64 },
            latency_max: c.latency_max,
        }
    }
}

/// The wire opcode a request most likely came as (create and create2 both read as a create,
/// getChildren and getChildren2 as getChildren2: the core keeps one of each).
fn op_code(op: &ClientOp) -> i32 {
    match op {
        ClientOp::Write(w) => match w {
            Op::Create { mode: CreateMode::Container, .. } => opcode::CREATE_CONTAINER,
            Op::Create {
                mode: CreateMode::PersistentWithTtl { .. } | CreateMode::PersistentSequentialWithTtl { .. },
                ..
            } => opcode::CREATE_TTL,
            Op::Create { .. } => opcode::CREATE,
            Op::Delete { .. } => opcode::DELETE,
            Op::SetData { .. } => opcode::SET_DATA,
            Op::SetAcl { .. } => opcode::SET_ACL,
            Op::Check { .. } => opcode::CHECK,
            Op::Multi(_) => opcode::MULTI,
            Op::CreateSession { .. } => opcode::CREATE_SESSION,
            Op::CloseSession => opcode::CLOSE_SESSION,
            Op::DeleteContainer { .. } => opcode::DELETE_CONTAINER,
        },
        ClientOp::GetData { .. } => opcode::GET_DATA,
        ClientOp::Exists { .. } => opcode::EXISTS,
        ClientOp::GetChildren { .. } => opcode::GET_CHILDREN2,
        ClientOp::GetAcl { .. } => opcode::GET_ACL,
        ClientOp::GetEphemerals { .. } => opcode::GET_EPHEMERALS,
        ClientOp::GetAllChildrenNumber { .. } => opcode::GET_ALL_CHILDREN_NUMBER,
        ClientOp::MultiRead(_) => opcode::MULTI_READ,
        ClientOp::Sync => opcode::SYNC,
        ClientOp::AddWatch { .. } => opcode::ADD_WATCH,
        ClientOp::RemoveWatches { .. } => opcode::REMOVE_WATCHES,
        ClientOp::CheckWatches { .. } => opcode::CHECK_WATCHES,
        ClientOp::SetWatches { .. } => opcode::SET_WATCHES2,
        ClientOp::AddAuth { .. } => opcode::AUTH,
        ClientOp::WhoAmI => opcode::WHO_AM_I,
        ClientOp::Ping => opcode::PING,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_replies_and_latency_and_crst_resets_them() {
        let mut c = Conn::new("127.0.0.1:5000".into());
        c.established(SessionId(0x1234), 10_000, 1_000);
        c.request(&ClientOp::GetData { path: "/a".into(), watch: false }, 1);
        c.reply(0x105, Some(Duration::from_millis(3)), 2_000);
        c.request(&ClientOp::Write(Op::SetData { path: "/a".into(), data: b"x".as_slice().into(), version: -1 }), 2);
        c.reply(0x106, Some(Duration::from_millis(7)), 3_000);
        c.notified();
        let s = c.stats(0);
        assert_eq!((s.received, s.sent), (3, 4), "connect, two requests; connect, two replies, one notification");
        assert_eq!((s.last_op, s.last_cxid, s.last_zxid, s.last_response_ms), (opcode::SET_DATA, 2, 0x106, 3_000));
        assert_eq!((s.latency_min, s.latency_max, s.last_latency, s.latency_avg), (3, 7, 7, 5.0));
        assert_eq!((s.session_id, s.timeout_ms, s.established_ms), (0x1234, 10_000, 1_000));
        c.reset();
        let s = c.stats(0);
        assert_eq!((s.received, s.sent, s.latency_max, s.last_cxid, s.last_zxid), (0, 0, 0, -1, -1));
        assert_eq!((s.session_id, s.established_ms), (0x1234, 1_000), "crst keeps the session and its start");
        assert_eq!(opcode::name(s.last_op), "UNKNOWN");
    }
}
