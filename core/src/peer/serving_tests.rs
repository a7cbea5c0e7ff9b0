//! Handler tests at the serving peer: where a new session's password comes from, what a
//! reattach keeps, which reads check ACLs, and null data end to end. One single-voter peer
//! (it leads alone), fed one input at a time.

use super::*;
use crate::acl::{Acl, Id};
use crate::config::Membership;
use crate::peer::client::{ClientOp, ClientRequest, ClientResult};
use crate::time::Duration;
use crate::txn::{CreateMode, Op};

pub(super) struct One {
    pub p: Peer,
    pub now: Now,
    pub next_xid: i64,
}

impl One {
    /// A single-voter peer, serving.
    pub fn serving() -> One {
        One::serving_with(|_| {})
    }

    /// A single-voter peer, serving, with `change` made to its default configuration.
    pub fn serving_with(change: impl FnOnce(&mut Config)) -> One {
        let mut cfg = Config::new(Sid(1), Membership::numbered(1, 0));
        change(&mut cfg);
        let mut p = Peer::new(cfg, Now::default()).expect("valid");
        let outs = p.take_outputs();
        let mut one = One { p, now: Now::default(), next_xid: 1 };
        one.settle(outs);
        for _ in 0..100 {
            if one.p.serving() {
                return one;
            }
            let at = one.p.next_deadline().expect("a deadline");
            one.now.instant = at.max(one.now.instant);
            let outs = one.p.step(one.now, Input::Timeout);
            one.settle(outs);
        }
        panic!("a single voter leads alone: {:?}", one.p.status());
    }

    /// Makes every persist durable at once; returns every output seen.
    pub fn settle(&mut self, mut outs: Vec<Output>) -> Vec<Output> {
        let mut all = Vec::new();
        for _ in 0..100 {
            let last = outs
                .iter()
                .filter_map(|o| if let Output::Persist { token, .. } = o { Some(*token) } else { None })
                .max();
            all.append(&mut outs);
            match last {
                Some(t) => outs = self.feed(Input::Persisted(t)),
                None => return all,
            }
        }
        panic!("persists never settle");
    }

    pub fn feed(&mut self, input: Input) -> Vec<Output> {
        self.now.instant = self.now.instant + Duration(1);
        self.now.wall_ms += 1;
        self.p.step(self.now, input)
    }

    pub fn connect(&mut self, conn: u64, req: ConnectRequest) -> (Result<SessionGrant, ErrorCode>, Vec<Output>) {
        let outs = self.feed(Input::ClientConnected { conn: ConnId(conn), req });
        let all = self.settle(outs);
        let grant = all.iter().find_map(|o| match o {
            Output::Connected { conn: c, result } if *c == ConnId(conn) => Some(result.clone()),
            _ => None,
        });
        (grant.expect("the connect is answered"), all)
    }

    pub fn call(&mut self, session: SessionId, op: ClientOp) -> ClientResult {
        let xid = self.next_xid;
        self.next_xid += 1;
        let outs = self.feed(Input::Client(ClientRequest { session, xid, op }));
        let all = self.settle(outs);
        all.into_iter()
            .find_map(|o| match o {
                Output::Reply(r) if r.xid == xid => Some(r.result),
                _ => None,
            })
            .expect("the request is answered")
    }
}

pub(super) fn new_session(addr: &str, fresh: Option<&[u8]>) -> ConnectRequest {
    ConnectRequest {
        session: None,
        timeout_ms: 10_000,
        last_zxid_seen: Zxid::ZERO,
        addr: Some(addr.into()),
        fresh_password: fresh.map(<[u8]>::to_vec),
    }
}

/// Finding 6 of issue 8: the password of a new session is the one the driver drew from the
/// OS random source; the seeded PRNG (invertible, so one password predicts the next) is
/// neither used for it nor advanced by it.
#[test]
fn a_new_session_gets_the_drivers_fresh_password() {
    let mut one = One::serving();
    let rng_before = one.p.rng.clone();
    let fresh = [7u8; 16];
    let (grant, outs) = one.connect(1, new_session("10.0.0.1", Some(&fresh)));
    let grant = grant.expect("granted");
    assert_eq!(grant.password, fresh);
    assert_eq!(one.p.tree().session(grant.session).expect("replicated").password, fresh);
    let proposed = outs.iter().any(|o| {
        matches!(o, Output::Persist { op: crate::storage::PersistOp::Append(es), .. }
            if es.iter().any(|e| e.txn.op == Op::CreateSession { timeout_ms: 10_000, password: fresh.to_vec() }))
    });
    assert!(proposed, "the createSession txn carries the driver's password: {outs:?}");
    assert_eq!(one.p.rng.clone().next_u64(), rng_before.clone().next_u64(), "the PRNG was not touched");

    // Without a fresh password (the simulator) the seeded PRNG still gives one: deterministic.
    let (grant, _) = one.connect(2, new_session("10.0.0.2", None));
    let mut rng = rng_before;
    let expected: Vec<u8> = (0..2).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    assert_eq!(grant.expect("granted").password, expected);
}

/// Finding 6 of issue 8: in ZooKeeper, auth belongs to the connection. A session that
/// reattaches on a new connection holds only that connection's `ip` identity until the
/// client sends addauth again; the old connection is closed.
#[test]
fn a_reattach_does_not_inherit_the_old_connections_auth() {
    let mut one = One::serving();
    let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
    let g = grant.expect("granted");
    let s = g.session;
    let add = ClientOp::AddAuth { scheme: "digest".into(), auth: b"alice:secret".to_vec() };
    assert_eq!(one.call(s, add), ClientResult::Ok);
    let alice = Id::new("digest", &crate::acl::digest_id("alice:secret"));
    let acl = vec![Acl { perms: crate::acl::ALL, id: alice.clone() }];
    let create = Op::Create { path: "/secret".into(), data: "x".into(), acl, mode: CreateMode::Persistent };
    assert!(matches!(
        one.call(s, ClientOp::Write(create)),
        ClientResult::Write(crate::datatree::OpResult::Created { .. })
    ));
    assert_eq!(one.call(s, ClientOp::WhoAmI), ClientResult::Identities(vec![Id::new("ip", "10.0.0.1"), alice.clone()]));

    let mut again = new_session("10.0.0.2", Some(&[2; 16]));
    again.session = Some((s, g.password.clone()));
    let (grant, outs) = one.connect(2, again);
    assert_eq!(grant.expect("reattached").session, s);
    assert!(outs.contains(&Output::CloseClient { conn: ConnId(1) }), "the old connection is closed");
    assert_eq!(one.call(s, ClientOp::WhoAmI), ClientResult::Identities(vec![Id::new("ip", "10.0.0.2")]));
    let get = ClientOp::GetData { path: "/secret".into(), watch: false };
    assert_eq!(one.call(s, get.clone()), ClientResult::Error(ErrorCode::NoAuth));

    let add = ClientOp::AddAuth { scheme: "digest".into(), auth: b"alice:secret".to_vec() };
    assert_eq!(one.call(s, add), ClientResult::Ok);
    assert!(matches!(one.call(s, get), ClientResult::Data { .. }), "addauth again restores access");
}

/// Finding 9 of issue 8: exists checks no permission (ZooKeeper 3.6–3.8's
/// `FinalRequestProcessor`; Curator's `checkExists` relies on it), while getData still needs
/// READ.
#[test]
fn exists_needs_no_read_permission() {
    let mut one = One::serving();
    let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
    let s = grant.expect("granted").session;
    let no_read = vec![Acl { perms: crate::acl::ALL & !crate::acl::READ, id: Id::new("world", "anyone") }];
    let create = Op::Create { path: "/hidden".into(), data: "x".into(), acl: no_read, mode: CreateMode::Persistent };
    assert!(matches!(
        one.call(s, ClientOp::Write(create)),
        ClientResult::Write(crate::datatree::OpResult::Created { .. })
    ));
    let exists = one.call(s, ClientOp::Exists { path: "/hidden".into(), watch: true });
    assert!(matches!(exists, ClientResult::Exists(Some(st)) if st.data_length == 1), "{exists:?}");
    let get = one.call(s, ClientOp::GetData { path: "/hidden".into(), watch: false });
    assert_eq!(get, ClientResult::Error(ErrorCode::NoAuth));
}

/// Finding 9 of issue 8: a create and a setData with null data read back as null through the
/// serving peer (what kazoo's `test_create_null_data` and `test_set_null_data` check).
#[test]
fn null_data_reads_back_as_null_at_the_serving_peer() {
    use crate::datatree::Data;
    let mut one = One::serving();
    let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
    let s = grant.expect("granted").session;
    let create = Op::Create {
        path: "/n".into(),
        data: Data::NULL,
        acl: crate::acl::open_acl_unsafe(),
        mode: CreateMode::Persistent,
    };
    one.call(s, ClientOp::Write(create));
    let get = || ClientOp::GetData { path: "/n".into(), watch: false };
    assert!(matches!(one.call(s, get()), ClientResult::Data { data, stat } if data.is_null() && stat.data_length == 0));
    one.call(s, ClientOp::Write(Op::SetData { path: "/n".into(), data: "x".into(), version: -1 }));
    assert!(matches!(one.call(s, get()), ClientResult::Data { data, .. } if data == Data::from("x")));
    one.call(s, ClientOp::Write(Op::SetData { path: "/n".into(), data: Data::NULL, version: -1 }));
    assert!(matches!(one.call(s, get()), ClientResult::Data { data, stat } if data.is_null() && stat.version == 2));
}

/// Pipelined requests of one session, fed before any write is durable, are answered in
/// order and each write is proposed once: a read waits for the writes before it and holds
/// back the writes after it, which go out once it is answered (the submitted-prefix count in
/// `client.rs` must agree with a walk over the queue).
#[test]
fn pipelined_requests_are_answered_in_order_and_proposed_once() {
    use crate::datatree::Data;
    let mut one = One::serving();
    let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
    let s = grant.expect("granted").session;
    let set = |d: &str| ClientOp::Write(Op::SetData { path: "/a".into(), data: d.into(), version: -1 });
    let get = || ClientOp::GetData { path: "/a".into(), watch: false };
    let ops = [
        ClientOp::Write(Op::create("/a", b"1", CreateMode::Persistent)),
        set("2"),
        get(),
        set("3"),
        ClientOp::Write(Op::create("/b", b"", CreateMode::Persistent)),
        ClientOp::Sync,
        get(),
        set("4"),
        ClientOp::Exists { path: "/b".into(), watch: false },
    ];
    let mut outs = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let req = ClientRequest { session: s, xid: i as i64 + 1, op: op.clone() };
        outs.extend(one.feed(Input::Client(req)));
    }
    let all = one.settle(outs);
    let replies: Vec<(i64, ClientResult)> = all
        .iter()
        .filter_map(|o| if let Output::Reply(r) = o { Some((r.xid, r.result.clone())) } else { None })
        .collect();
    assert_eq!(replies.iter().map(|r| r.0).collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>(), "{replies:?}");
    let data = |i: usize| match &replies[i].1 {
        ClientResult::Data { data, .. } => data.clone(),
        r => panic!("a read answered {r:?}"),
    };
    assert_eq!((data(2), data(6)), (Data::from("2"), Data::from("3")));
    assert!(matches!(replies[8].1, ClientResult::Exists(Some(_))));
    let proposed = all.iter().filter(|o| matches!(o, Output::Trace(TraceEvent::Proposed { .. }))).count();
    assert_eq!(proposed, 5, "each of the five writes proposed once");
}
