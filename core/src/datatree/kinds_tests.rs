//! Node kinds, sessions, reaping and the change list: one test per rule (sections are those
//! of `zk-wire-protocol.md`; "capture" means `zk-wire/`).

use super::*;
use crate::acl::open_acl_unsafe;
use crate::ids::SessionId;
use crate::txn::{CreateMode, Op, Txn};
use crate::zxid::Zxid;
use CreateMode::*;
use ErrorCode::*;

const S: SessionId = SessionId(0x0100_0005_f47a_000b);
const T: SessionId = SessionId(0x0100_0005_f47a_000c);

fn z(counter: u32) -> Zxid {
    Zxid::new(0, counter)
}

fn create(path: &str, mode: CreateMode) -> Op {
    Op::Create { path: path.into(), data: Data::empty(), acl: open_acl_unsafe(), mode }
}

fn new_session() -> Op {
    Op::CreateSession { timeout_ms: 4000, password: vec![1; 16] }
}

/// Applies `op` from `session` at zxid (0, `n`) and time `1000 + n`, checking the digest.
fn run_as(t: &mut DataTree, session: SessionId, n: u32, op: Op) -> (OpResult, Vec<Change>) {
    let txn = Txn { session, time_ms: 1000 + u64::from(n), auth: vec![], op };
    let r = t.apply_with_changes(z(n), &txn);
    assert_eq!(t.digest(), t.compute_digest());
    r
}

fn run(t: &mut DataTree, n: u32, op: Op) -> OpResult {
    run_as(t, S, n, op).0
}

fn created(r: OpResult) -> (String, Stat) {
    match r {
        OpResult::Created { path, stat } => (path, stat),
        r => panic!("not created: {r:?}"),
    }
}

fn stat(t: &DataTree, path: &str) -> Stat {
    t.exists(path).unwrap().unwrap_or_else(|| panic!("{path} exists"))
}

/// Capture (probe_ops.txt, "create2 ephemeral /eph"): the owner is the session, every other
/// field as for a persistent node; a child of it is NoChildrenForEphemerals (✔wire), whatever
/// its own mode.
#[test]
fn ephemeral_owner_and_no_children() {
    let mut t = DataTree::new();
    assert_eq!(run(&mut t, 1, new_session()), OpResult::SessionCreated);
    let (_, s) = created(run(&mut t, 0xc8, create("/eph", Ephemeral)));
    let want = Stat { czxid: z(0xc8), mzxid: z(0xc8), pzxid: z(0xc8), ctime: 1200, mtime: 1200, ..Stat::default() };
    assert_eq!(s, Stat { ephemeral_owner: 0x0100_0005_f47a_000b, ..want });
    for mode in [Persistent, Ephemeral, PersistentSequential, Container, PersistentWithTtl { ttl_ms: 9 }] {
        assert_eq!(run(&mut t, 0xc9, create("/eph/c", mode)), OpResult::Error(NoChildrenForEphemerals));
    }
    assert_eq!(t.ephemerals(S), vec!["/eph"]);
    assert_eq!(t.ephemerals(T), Vec::<String>::new());
}

/// An ephemeral create needs a live session (`checkGlobalSession`): never created or already
/// closed is SessionExpired, checked before the path (so even a bad path says SessionExpired).
#[test]
fn ephemeral_needs_a_session() {
    let mut t = DataTree::new();
    assert_eq!(run(&mut t, 1, create("/e", Ephemeral)), OpResult::Error(SessionExpired));
    assert_eq!(run(&mut t, 2, create("bad", EphemeralSequential)), OpResult::Error(SessionExpired));
    assert!(
        matches!(run(&mut t, 3, create("/p", Persistent)), OpResult::Created { .. }),
        "persistent: no session check"
    );
    run(&mut t, 4, new_session());
    run(&mut t, 5, create("/e", Ephemeral));
    run(&mut t, 6, Op::CloseSession);
    assert_eq!(run(&mut t, 7, create("/e2", Ephemeral)), OpResult::Error(SessionExpired));
}

/// createSession: reserved ids are BadArguments, an existing id NodeExists (the old entry
/// stays); sessions are replicated state: in the snapshot and in equality.
#[test]
fn session_table() {
    let mut t = DataTree::new();
    for id in [0, 0x8000_0000_0000_0000, 0xFF00_0000_0000_0005] {
        assert_eq!(run_as(&mut t, SessionId(id), 1, new_session()).0, OpResult::Error(BadArguments), "{id:x}");
    }
    assert_eq!(run(&mut t, 2, new_session()), OpResult::SessionCreated);
    let again = Op::CreateSession { timeout_ms: 9, password: vec![2] };
    assert_eq!(run(&mut t, 3, again), OpResult::Error(NodeExists));
    assert_eq!(t.session(S), Some(&SessionInfo { timeout_ms: 4000, password: vec![1; 16] }));
    run_as(&mut t, T, 4, new_session());
    assert_eq!(t.sessions().map(|(id, _)| id).collect::<Vec<_>>(), vec![S, T]);
    let back: DataTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
    let mut other = t.clone();
    run(&mut other, 5, Op::CloseSession);
    assert_ne!(other, t);
    assert_eq!(other.digest(), t.digest(), "the digest covers nodes only");
}

/// closeSession (§7.11, §15): the session's ephemerals go at its zxid, in path order, each as a
/// delete (parent pzxid = zxid, visible cversion + 1); other sessions' stay. Closing a session
/// that does not exist is SessionClosed with no effect, as in ZooKeeper.
#[test]
fn close_session_removes_its_ephemerals() {
    let mut t = DataTree::new();
    run(&mut t, 1, new_session());
    run_as(&mut t, T, 2, new_session());
    run(&mut t, 3, create("/p", Persistent));
    run(&mut t, 4, create("/p/x", Ephemeral));
    run(&mut t, 5, create("/a", Ephemeral));
    run_as(&mut t, T, 6, create("/p/t", Ephemeral));
    let (p, root) = (stat(&t, "/p"), stat(&t, "/"));
    let (r, changes) = run_as(&mut t, S, 9, Op::CloseSession);
    assert_eq!(r, OpResult::SessionClosed);
    assert_eq!(changes, vec![Change::Deleted("/a".into()), Change::Deleted("/p/x".into())]);
    assert_eq!(t.session(S), None);
    assert_eq!(t.ephemerals(S), Vec::<String>::new());
    assert_eq!(t.ephemerals(T), vec!["/p/t"]);
    let p2 = stat(&t, "/p");
    assert_eq!((p2.pzxid, p2.cversion, p2.num_children, p2.mzxid), (z(9), p.cversion + 1, 1, p.mzxid));
    assert_eq!((stat(&t, "/").pzxid, stat(&t, "/").cversion), (z(9), root.cversion + 1));
    let before = t.clone();
    assert_eq!(run_as(&mut t, S, 10, Op::CloseSession), (OpResult::SessionClosed, vec![]));
    assert_eq!(t, before);
}

/// §8.3: the suffix is the parent's child-create counter, `%010d`, before the increment; it
/// does not go back after deletes (✔wire: n-0000000000, delete, n-0000000001, cversion 3).
#[test]
fn sequential_suffix_counts_creates() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/sq", Persistent));
    assert_eq!(created(run(&mut t, 2, create("/sq/n-", PersistentSequential))).0, "/sq/n-0000000000");
    run(&mut t, 3, Op::Delete { path: "/sq/n-0000000000".into(), version: -1 });
    assert_eq!(created(run(&mut t, 4, create("/sq/n-", PersistentSequential))).0, "/sq/n-0000000001");
    assert_eq!(stat(&t, "/sq").cversion, 3);
    run(&mut t, 5, create("/sq/n-0000000003", Persistent));
    assert_eq!(run(&mut t, 6, create("/sq/n-", PersistentSequential)), OpResult::Error(NodeExists));
    assert_eq!(created(run(&mut t, 7, create("/sq/", PersistentSequential))).0, "/sq/0000000003");
    run(&mut t, 8, new_session());
    let (path, s) = created(run(&mut t, 9, create("/sq/e-", EphemeralSequential)));
    assert_eq!((path.as_str(), s.ephemeral_owner), ("/sq/e-0000000004", S.0 as i64));
    let (path, s) = created(run(&mut t, 10, create("/sq/t-", PersistentSequentialWithTtl { ttl_ms: 5 })));
    assert_eq!((path.as_str(), s.ephemeral_owner), ("/sq/t-0000000005", 0));
}

/// Java's `%010d` keeps the sign inside the width and the counter wraps like a Java int
/// (§17: "wraps to -2147483648").
#[test]
fn sequential_suffix_is_java_format() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/w", Persistent));
    t.update_node("/w", |n| n.stat.cversion = i32::MAX);
    assert_eq!(created(run(&mut t, 2, create("/w/n-", PersistentSequential))).0, "/w/n-2147483647");
    assert_eq!(created(run(&mut t, 3, create("/w/n-", PersistentSequential))).0, "/w/n--2147483648");
    t.update_node("/w", |n| n.stat.cversion = -5);
    assert_eq!(created(run(&mut t, 4, create("/w/n-", PersistentSequential))).0, "/w/n--000000005");
}

/// §8.2: a container shows owner 0; it is reapable only once it has had a child and has none
/// (checklist 18); deleteContainer re-checks and deletes like a delete.
#[test]
fn container_life_cycle() {
    let mut t = DataTree::new();
    let (_, s) = created(run(&mut t, 1, create("/c", Container)));
    assert_eq!(s.ephemeral_owner, 0);
    assert!(t.describe().contains("/c = \"\" v0 cv0 children=0 container\n"));
    let reap = |path: &str| Op::DeleteContainer { path: path.into() };
    assert_eq!(t.reapable(u64::MAX), Vec::<String>::new(), "never used: kept");
    assert_eq!(run(&mut t, 2, reap("/c")), OpResult::Error(BadArguments));
    run(&mut t, 3, create("/c/x", Persistent));
    assert_eq!(t.reapable(u64::MAX), Vec::<String>::new());
    assert_eq!(run(&mut t, 4, reap("/c")), OpResult::Error(NotEmpty));
    run(&mut t, 5, Op::Delete { path: "/c/x".into(), version: -1 });
    assert_eq!(t.reapable(0), vec!["/c"]);
    let root = stat(&t, "/");
    assert_eq!(run_as(&mut t, SessionId(0), 6, reap("/c")), (OpResult::Deleted, vec![Change::Deleted("/c".into())]));
    assert_eq!((stat(&t, "/").pzxid, stat(&t, "/").cversion), (z(6), root.cversion + 1));
    assert_eq!(run(&mut t, 7, reap("/c")), OpResult::Error(NoNode));
    run(&mut t, 8, create("/p", Persistent));
    for (path, e) in [("/p", BadArguments), ("/", BadArguments), ("/zookeeper", BadArguments), ("c", BadArguments)] {
        assert_eq!(run(&mut t, 9, reap(path)), OpResult::Error(e), "{path}");
    }
}

/// §7.1 step 2 and §8.2: ttl in 1..=0xFF_FFFF_FFFF (✔wire: ttl 0 is -8); owner shown 0;
/// reapable when childless and `now − mtime > ttl`, where setData moves mtime.
#[test]
fn ttl_life_cycle() {
    let mut t = DataTree::new();
    for ttl_ms in [0, MAX_TTL_MS + 1] {
        assert_eq!(run(&mut t, 1, create("/t", PersistentWithTtl { ttl_ms })), OpResult::Error(BadArguments));
    }
    assert!(matches!(
        run(&mut t, 1, create("/max", PersistentWithTtl { ttl_ms: MAX_TTL_MS })),
        OpResult::Created { .. }
    ));
    let (_, s) = created(run(&mut t, 2, create("/t", PersistentWithTtl { ttl_ms: 100 })));
    assert_eq!((s.ephemeral_owner, s.mtime), (0, 1002));
    assert!(t.describe().contains("/t = \"\" v0 cv0 children=0 ttl=100ms\n"));
    assert_eq!(t.reapable(1102), Vec::<String>::new(), "exactly ttl: not yet");
    assert_eq!(t.reapable(1103), vec!["/t"]);
    run(&mut t, 50, Op::SetData { path: "/t".into(), data: "x".into(), version: -1 });
    assert_eq!(t.reapable(1103), Vec::<String>::new());
    run(&mut t, 51, create("/t/c", Persistent));
    assert_eq!(t.reapable(9999), Vec::<String>::new());
    run(&mut t, 52, Op::Delete { path: "/t/c".into(), version: -1 });
    let reap = Op::DeleteContainer { path: "/t".into() };
    let txn = |time_ms| Txn { session: SessionId(0), time_ms, auth: vec![], op: reap.clone() };
    assert_eq!(t.apply(z(53), &txn(1150)), OpResult::Error(BadArguments), "the txn's time decides");
    assert_eq!(t.apply(z(54), &txn(1151)), OpResult::Deleted);
}

/// The change list (§13.4): one entry per effect, none for setACL or a failed op.
#[test]
fn changes_follow_the_effects() {
    let mut t = DataTree::new();
    assert_eq!(run_as(&mut t, S, 1, create("/a", Persistent)).1, vec![Change::Created("/a".into())]);
    let set = Op::SetData { path: "/a".into(), data: Data::empty(), version: -1 };
    assert_eq!(run_as(&mut t, S, 2, set).1, vec![Change::DataChanged("/a".into())]);
    let acl = Op::SetAcl { path: "/a".into(), acl: open_acl_unsafe(), version: -1 };
    assert!(matches!(run_as(&mut t, S, 3, acl), (OpResult::SetAcl { .. }, c) if c.is_empty()));
    assert_eq!(run_as(&mut t, S, 4, create("/a", Persistent)), (OpResult::Error(NodeExists), vec![]));
    assert_eq!(run_as(&mut t, S, 5, new_session()), (OpResult::SessionCreated, vec![]));
    assert_eq!(
        run_as(&mut t, S, 6, Op::Delete { path: "/a".into(), version: -1 }).1,
        vec![Change::Deleted("/a".into())]
    );
    let txn = Txn { session: S, time_ms: 0, auth: vec![], op: create("/b", Persistent) };
    let mut u = t.clone();
    assert_eq!(t.apply(z(7), &txn), u.apply_with_changes(z(7), &txn).0, "apply is the result part");
    assert_eq!(t, u);
}

/// getAllChildrenNumber (§7.18): all descendants; `/` counts ZooKeeper's own nodes (✔wire: 6
/// for three user nodes on a fresh server); a missing node is NoNode.
#[test]
fn all_children_number_counts_descendants() {
    let mut t = DataTree::new();
    assert_eq!(t.all_children_number("/"), Ok(3));
    for (i, p) in ["/nd", "/cnt", "/cnt/a", "/cnt/a/b", "/cnt-x"].into_iter().enumerate() {
        run(&mut t, 1 + i as u32, create(p, Persistent));
    }
    assert_eq!(t.all_children_number("/"), Ok(8));
    assert_eq!(t.all_children_number("/cnt"), Ok(2));
    assert_eq!(t.all_children_number("/cnt/a/b"), Ok(0));
    assert_eq!(t.all_children_number("/zookeeper"), Ok(2));
    assert_eq!(t.all_children_number("/nope"), Err(NoNode));
    assert_eq!(t.all_children_number("cnt"), Err(NoNode));
}

/// describe marks ephemerals with their owner, and a snapshot carries kinds and sessions.
#[test]
fn describe_and_snapshot_keep_kinds() {
    let mut t = DataTree::new();
    run(&mut t, 1, new_session());
    run(&mut t, 2, create("/e", Ephemeral));
    run(&mut t, 3, create("/c", Container));
    assert!(t.describe().contains("/e = \"\" v0 cv0 children=0 eph=0x1000005f47a000b\n"), "{}", t.describe());
    let back: DataTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.ephemerals(S), vec!["/e"]);
    assert_eq!(back.reapable(u64::MAX), t.reapable(u64::MAX));
}
