//! One test per rule, each citing where the rule comes from (section numbers are those of
//! `zk-wire-protocol.md`; "capture" means `zk-wire/`).

use super::*;
use crate::ids::SessionId;
use crate::txn::{CreateMode, Op, Txn};
use crate::zxid::Zxid;
use ErrorCode::*;

pub(super) fn create(path: &str, data: &[u8]) -> Op {
    Op::Create {
        path: path.into(),
        data: data.into(),
        acl: crate::acl::open_acl_unsafe(),
        mode: CreateMode::Persistent,
    }
}
pub(super) fn delete(path: &str, version: i32) -> Op {
    Op::Delete { path: path.into(), version }
}
pub(super) fn set(path: &str, data: &[u8], version: i32) -> Op {
    Op::SetData { path: path.into(), data: data.into(), version }
}
pub(super) fn txn(op: Op, time_ms: u64) -> Txn {
    Txn { session: SessionId(0x1000005f47a0000), time_ms, auth: Vec::new(), op }
}
fn z(counter: u32) -> Zxid {
    Zxid::new(0, counter)
}

/// Applies `op` at zxid (0, `counter`) and time `1000 + counter`, checking the digest.
fn run(tree: &mut DataTree, counter: u32, op: Op) -> OpResult {
    let r = tree.apply(z(counter), &txn(op, 1000 + u64::from(counter)));
    assert_eq!(tree.digest(), tree.compute_digest());
    r
}

/// `DataTree::validate` of `op` sent by the default session with no identities.
fn check(tree: &DataTree, op: Op) -> Result<(), ErrorCode> {
    tree.validate(&txn(op, 0))
}

fn stat(tree: &DataTree, path: &str) -> Stat {
    tree.exists(path).unwrap().unwrap_or_else(|| panic!("{path} exists"))
}

/// A fresh 3.8 server: four nodes, zero stats; `/` and `/zookeeper` show cversion
/// `2·0 − numChildren` (DataNode.copyStat over addChild-linked nodes); the config node has
/// aversion -1 (capture: getConfig in probe_ops.txt). ZK's 4lw says "Node count: 5" (fourlw.txt)
/// because the root has two keys.
#[test]
fn fresh_tree_is_zookeeper_3_8s() {
    let t = DataTree::new();
    assert_eq!(t, DataTree::default());
    assert_eq!(t.node_count(), 4);
    assert_eq!(t.zk_node_count(), 5);
    let root = stat(&t, "/");
    assert_eq!((root.num_children, root.cversion, root.pzxid), (1, -1, Zxid::ZERO));
    assert_eq!(t.get_children("/").unwrap().0, vec!["zookeeper"]);
    let zk = stat(&t, "/zookeeper");
    assert_eq!((zk.num_children, zk.cversion), (2, -2));
    assert_eq!(t.get_children("/zookeeper").unwrap().0, vec!["config", "quota"]);
    let config = Stat { aversion: -1, ..Stat::default() };
    assert_eq!(t.get_data("/zookeeper/config").unwrap(), (Data::empty(), config));
    assert_eq!(stat(&t, "/zookeeper/quota"), Stat::default());
    assert_eq!(t.digest(), t.compute_digest());
    let text = "/ = \"\" v0 cv-1 children=1\n/zookeeper = \"\" v0 cv-2 children=2\n\
                /zookeeper/config = \"\" v0 cv0 children=0\n/zookeeper/quota = \"\" v0 cv0 children=0\n";
    assert_eq!(t.describe(), text);
}

/// Replays the start of the kazoo capture (real_transcript.txt, session 1) and compares every
/// Stat field with what ZooKeeper 3.8.0 sent back.
#[test]
fn matches_the_kazoo_capture() {
    let mut t = DataTree::new();
    let (t1, t2, t3) = (0x1a2_11ab_1987, 0x1a2_11ab_19a1, 0x1a2_11ab_19ae);
    let at = |t: &mut DataTree, zxid: u32, time: u64, op| t.apply(z(zxid), &txn(op, time));
    let created = at(&mut t, 2, t1, create("/a", b"x"));
    let a = Stat { czxid: z(2), mzxid: z(2), ctime: t1 as i64, mtime: t1 as i64, ..Stat::default() };
    let a = Stat { data_length: 1, pzxid: z(2), ..a };
    assert_eq!(created, OpResult::Created { path: "/a".into(), stat: a });
    assert_eq!(at(&mut t, 3, t1, create("/a", b"x")), OpResult::Error(NodeExists));
    assert_eq!(t.get_data("/a").unwrap(), ("x".into(), a));
    let set_reply = at(&mut t, 4, t2, set("/a", b"yz", -1));
    let a = Stat { mzxid: z(4), mtime: t2 as i64, version: 1, data_length: 2, ..a };
    assert_eq!(set_reply, OpResult::SetData { stat: a });
    assert_eq!(at(&mut t, 5, t2, set("/a", b"q", 42)), OpResult::Error(BadVersion));
    at(&mut t, 6, t2, create("/a/s-0000000000", b""));
    at(&mut t, 7, t2, create("/a/s-0000000001", b""));
    let a = Stat { cversion: 2, num_children: 2, pzxid: z(7), ..a };
    assert_eq!(t.get_children("/a").unwrap().1, a);
    at(&mut t, 8, t3, create("/a/c", b"c"));
    let set_reply = at(&mut t, 9, t3, set("/a", b"zz", -1));
    let a = Stat { mzxid: z(9), mtime: t3 as i64, version: 2, cversion: 3, num_children: 3, ..a };
    assert_eq!(set_reply, OpResult::SetData { stat: Stat { pzxid: z(8), ..a } });
}

/// §7.1 effects: czxid = mzxid = pzxid = zxid, ctime = mtime = txn time, versions 0; the
/// parent gets cversion + 1, pzxid = zxid and one more child.
#[test]
fn create_sets_stat_and_touches_parent() {
    let mut t = DataTree::new();
    let before = stat(&t, "/");
    let OpResult::Created { path, stat: s } = run(&mut t, 5, create("/a", b"hello")) else { panic!("create failed") };
    assert_eq!(path, "/a");
    assert_eq!((s.czxid, s.mzxid, s.pzxid), (z(5), z(5), z(5)));
    assert_eq!((s.ctime, s.mtime), (1005, 1005));
    assert_eq!((s.version, s.cversion, s.aversion, s.ephemeral_owner), (0, 0, 0, 0));
    assert_eq!((s.data_length, s.num_children), (5, 0));
    let root = stat(&t, "/");
    assert_eq!(root.cversion, before.cversion + 1);
    assert_eq!(root.num_children, before.num_children + 1);
    assert_eq!((root.pzxid, root.mzxid, root.version), (z(5), Zxid::ZERO, 0));
}

/// §7.1 check order: quick check (BadArguments), parent (NoNode), full validation
/// (BadArguments), existence (NodeExists). ✔wire: `e` → -8, `/.` → -8, `/e/` with `/e`
/// missing → -101. Creating under /zookeeper is allowed in 3.8 (§9, ✔wire).
#[test]
fn create_errors_in_zookeeper_order() {
    let mut t = DataTree::new();
    assert_eq!(check(&t, create("e", b"")), Err(BadArguments));
    assert_eq!(check(&t, create("/a\0", b"")), Err(BadArguments));
    assert_eq!(check(&t, create("/.", b"")), Err(BadArguments));
    assert_eq!(check(&t, create("/e/", b"")), Err(NoNode));
    assert_eq!(check(&t, create("/x/y", b"")), Err(NoNode));
    assert_eq!(check(&t, create("/a//b", b"")), Err(NoNode));
    run(&mut t, 1, create("/e", b""));
    assert_eq!(check(&t, create("/e/", b"")), Err(BadArguments));
    assert_eq!(check(&t, create("/e", b"")), Err(NodeExists));
    assert_eq!(check(&t, create("/zookeeper", b"")), Err(NodeExists));
    assert_eq!(check(&t, create("/zookeeper/x", b"")), Ok(()));
}

/// Creating `/`: its parent is the root alias `""`, which exists, `/` is a valid path, and it
/// exists, so ZooKeeper's `pRequest2TxnCreate` answers NodeExists.
#[test]
fn create_root_is_node_exists() {
    let t = DataTree::new();
    assert_eq!(check(&t, create("/", b"")), Err(NodeExists));
}

/// §7.2 step 1: `/` and ZooKeeper's own nodes cannot be deleted (✔wire for `/` and
/// `/zookeeper`); a path without `/` or with NUL is BadArguments too.
#[test]
fn delete_special_paths_is_bad_arguments() {
    let t = DataTree::new();
    for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "a", "/a\0"] {
        assert_eq!(check(&t, delete(p, -1)), Err(BadArguments), "{p:?}");
    }
}

/// §7.2 order: parent missing → NoNode, node missing → NoNode, version → BadVersion,
/// children → NotEmpty (✔wire). -1 matches any version.
#[test]
fn delete_errors_in_zookeeper_order() {
    let mut t = DataTree::new();
    assert_eq!(check(&t, delete("/x/y", -1)), Err(NoNode));
    assert_eq!(check(&t, delete("/x", -1)), Err(NoNode));
    run(&mut t, 1, create("/a", b""));
    run(&mut t, 2, create("/a/b", b""));
    run(&mut t, 3, set("/a", b"1", -1));
    assert_eq!(check(&t, delete("/a", 0)), Err(BadVersion));
    assert_eq!(check(&t, delete("/a", 1)), Err(NotEmpty));
    assert_eq!(check(&t, delete("/a", -1)), Err(NotEmpty));
    assert_eq!(check(&t, delete("/a/", -1)), Err(NoNode));
    assert_eq!(run(&mut t, 4, delete("/a/b", 0)), OpResult::Deleted);
    assert_eq!(run(&mut t, 5, delete("/a", 1)), OpResult::Deleted);
    assert_eq!(t.exists("/a"), Ok(None));
}

/// §7.2 effects and §8.3: delete sets the parent's pzxid and leaves its create counter, so the
/// visible cversion still rises by one. ✔wire: create, delete, create under `/sq` shows
/// cversion 3.
#[test]
fn delete_updates_parent_and_cversion_counts_changes() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/sq", b""));
    run(&mut t, 2, create("/sq/n-0000000000", b""));
    run(&mut t, 3, delete("/sq/n-0000000000", -1));
    let sq = stat(&t, "/sq");
    assert_eq!((sq.cversion, sq.num_children, sq.pzxid), (2, 0, z(3)));
    assert_eq!((sq.mzxid, sq.version), (z(1), 0));
    run(&mut t, 4, create("/sq/n-0000000001", b""));
    assert_eq!(stat(&t, "/sq").cversion, 3);
}

/// §7.5: validation (BadArguments), NoNode, BadVersion; then version + 1, mzxid, mtime and
/// dataLength change while czxid, ctime and the parent stay put.
#[test]
fn set_data_checks_and_effects() {
    let mut t = DataTree::new();
    assert_eq!(check(&t, set("/a/", b"", -1)), Err(BadArguments));
    assert_eq!(check(&t, set("a", b"", -1)), Err(BadArguments));
    assert_eq!(check(&t, set("/a", b"", -1)), Err(NoNode));
    run(&mut t, 1, create("/a", b"x"));
    let root = stat(&t, "/");
    assert_eq!(check(&t, set("/a", b"", 1)), Err(BadVersion));
    let OpResult::SetData { stat: s } = run(&mut t, 7, set("/a", b"four", 0)) else { panic!("setData failed") };
    assert_eq!((s.version, s.mzxid, s.mtime, s.data_length), (1, z(7), 1007, 4));
    assert_eq!((s.czxid, s.ctime, s.pzxid), (z(1), 1001, z(1)));
    assert_eq!(t.get_data("/a").unwrap(), ("four".into(), s));
    assert_eq!(stat(&t, "/"), root);
    assert!(matches!(run(&mut t, 8, set("/", b"r", -1)), OpResult::SetData { .. }));
}

/// ZooKeeper 3.8's `checkAndIncVersion` returns `currentVersion + 1` in Java `int`: it wraps.
#[test]
fn version_wraps_like_java_int() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/a", b""));
    t.update_node("/a", |n| n.stat.version = i32::MAX);
    let OpResult::SetData { stat: s } = run(&mut t, 2, set("/a", b"", i32::MAX)) else { panic!("setData failed") };
    assert_eq!(s.version, i32::MIN);
}

/// A failing op changes nothing: same tree, same digest (the error txn of ZooKeeper).
#[test]
fn failed_ops_change_nothing() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/a", b"x"));
    run(&mut t, 2, create("/a/b", b""));
    let before = t.clone();
    let bad = [
        create("/a", b""),
        create("/q/r", b""),
        create("/a/", b""),
        delete("/a", -1),
        delete("/a/b", 3),
        delete("/", -1),
        set("/a", b"", 9),
        set("/nope", b"", -1),
    ];
    for (i, op) in bad.into_iter().enumerate() {
        assert!(matches!(run(&mut t, 3 + i as u32, op), OpResult::Error(_)));
        assert_eq!(t, before);
    }
}

/// §7.3, §7.4, §7.8: getData and getChildren do no validation (✔wire: getData `a` → NoNode);
/// exists rejects only NUL (✔wire) and answers `None` for anything missing.
#[test]
fn reads_validate_like_zookeeper() {
    let mut t = DataTree::new();
    assert_eq!(t.get_data("a"), Err(NoNode));
    assert_eq!(t.get_data("/a"), Err(NoNode));
    assert_eq!(t.get_children("/a"), Err(NoNode));
    assert_eq!(t.exists("/a\0b"), Err(BadArguments));
    assert_eq!(t.exists("a"), Ok(None));
    assert_eq!(t.exists("/a/"), Ok(None));
    for (i, p) in ["/a", "/a/z", "/a/b", "/a/a-x", "/a/b/c"].into_iter().enumerate() {
        run(&mut t, 1 + i as u32, create(p, b""));
    }
    let (names, s) = t.get_children("/a").unwrap();
    assert_eq!(names, vec!["a-x", "b", "z"]);
    assert_eq!((s.num_children, s.cversion), (3, 3));
}

/// Parents come before children and siblings go by name, whatever the string order of paths.
#[test]
fn describe_walks_the_tree() {
    let mut t = DataTree::new();
    for (i, p) in ["/a", "/a-x", "/a/b"].into_iter().enumerate() {
        run(&mut t, 1 + i as u32, create(p, b"x"));
    }
    run(&mut t, 4, set("/a", b"v\n", -1));
    let text = t.describe();
    let lines: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "/ = \"\" v0 cv1 children=3",
            "/a = \"v\\x0a\" v1 cv1 children=1",
            "/a/b = \"x\" v0 cv0 children=0",
            "/a-x = \"x\" v0 cv0 children=0",
        ]
    );
}

/// Snapshots round-trip exactly, and a snapshot that disagrees with its digest or is not a
/// tree is refused.
#[test]
fn snapshot_round_trips_and_is_verified() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/a", &[0, 255, 7]));
    run(&mut t, 2, create("/a/b", b"q"));
    run(&mut t, 3, Op::CreateSession { timeout_ms: 5000, password: vec![1, 2] });
    let json = serde_json::to_string(&t).unwrap();
    let back: DataTree = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.digest(), t.digest());
    // A session's fields sit inline beside its id.
    assert!(json.contains(r#""sessions":[{"id":"1000005f47a0000","timeout_ms":5000,"password":[1,2]}]"#), "{json}");

    let tampered = json.replace("\"data\":[113]", "\"data\":[114]");
    assert_ne!(tampered, json);
    let err = serde_json::from_str::<DataTree>(&tampered).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let nodes = v["nodes"].as_array_mut().unwrap();
    nodes.retain(|n| n["path"] != "/a");
    let err = serde_json::from_str::<DataTree>(&v.to_string()).unwrap_err();
    assert!(err.to_string().contains("no parent"), "{err}");
}

/// Zxids and session ids travel as hex strings (JavaScript numbers lose 64-bit values).
#[test]
fn stat_json_uses_hex_for_64_bit_ids() {
    let s = Stat { czxid: Zxid::new(1, 2), ephemeral_owner: -1, ..Stat::default() };
    let v: serde_json::Value = serde_json::to_value(s).unwrap();
    assert_eq!(v["czxid"], "100000002");
    assert_eq!(v["ephemeral_owner"], "ffffffffffffffff");
    assert_eq!(serde_json::from_value::<Stat>(v).unwrap(), s);
}

/// Equal trees have equal digests however they were reached, and a change shows.
#[test]
fn digest_depends_on_content_not_history() {
    let mut a = DataTree::new();
    run(&mut a, 1, create("/x", b""));
    run(&mut a, 2, create("/y", b""));
    let mut b = DataTree::new();
    b.update_node("/", |n| n.stat.cversion = 2);
    b.update_node("/", |n| n.stat.pzxid = z(2));
    b.insert_node("/y", super::tree::Node::new(Data::empty(), crate::acl::open_acl_unsafe(), a.nodes["/y"].stat));
    b.insert_node("/x", super::tree::Node::new(Data::empty(), crate::acl::open_acl_unsafe(), a.nodes["/x"].stat));
    assert_eq!(a, b);
    assert_eq!(a.digest(), b.digest());
    run(&mut a, 3, set("/x", b"", -1));
    assert_ne!(a.digest(), b.digest());
}

/// ZooKeeper keeps null data apart from empty data (`DataNode.data` is a nullable `byte[]`):
/// a create or setData with null gives a getData of null, dataLength 0 in the Stat, and the
/// digest of empty data (`DigestCalculator` skips a null array). Snapshots keep null. kazoo's
/// `test_create_null_data` and `test_set_null_data` check the round trip end to end.
#[test]
fn null_data_reads_back_as_null() {
    let null = |path: &str| Op::Create {
        path: path.into(),
        data: Data::NULL,
        acl: crate::acl::open_acl_unsafe(),
        mode: CreateMode::Persistent,
    };
    let mut t = DataTree::new();
    let mut e = DataTree::new();
    assert!(matches!(run(&mut t, 1, null("/n")), OpResult::Created { stat, .. } if stat.data_length == 0));
    run(&mut e, 1, create("/n", b""));
    let (data, st) = t.get_data("/n").unwrap();
    assert!(data.is_null(), "{data:?}");
    assert_eq!(st.data_length, 0);
    assert_eq!(e.get_data("/n").unwrap().0, Data::empty(), "empty stays empty");
    assert_ne!(t, e, "null and empty are different trees");
    assert_eq!(t.digest(), e.digest(), "…with ZooKeeper's digest");

    run(&mut t, 2, set("/n", b"x", -1));
    assert_eq!(t.get_data("/n").unwrap().0, Data::from("x"));
    let r = run(&mut t, 3, Op::SetData { path: "/n".into(), data: Data::NULL, version: -1 });
    assert!(matches!(r, OpResult::SetData { stat } if stat.data_length == 0 && stat.version == 2));
    assert!(t.get_data("/n").unwrap().0.is_null());
    assert!(t.describe().contains("/n = null v2"), "{}", t.describe());

    let back: DataTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert!(back.get_data("/n").unwrap().0.is_null(), "a snapshot keeps null");
    assert_eq!(back, t);
}

/// Nodes with the same well-known ACL share one stored copy (a 100k-znode tree held 100k
/// copies of `world:anyone`, three allocations each); other lists are stored as given, and
/// setACL back to the open list shares again.
#[test]
fn nodes_with_the_open_acl_share_one_copy() {
    let mut t = DataTree::new();
    let create = |path: &str, acl: Vec<crate::acl::Acl>| Op::Create {
        path: path.into(),
        data: Data::from(b"x".to_vec()),
        acl,
        mode: CreateMode::Persistent,
    };
    run(&mut t, 1, create("/a", crate::acl::open_acl_unsafe()));
    run(&mut t, 2, create("/b", crate::acl::open_acl_unsafe()));
    use crate::acl::{Acl, Id, ADMIN, READ};
    let read_admin = vec![Acl { perms: READ | ADMIN, id: Id::new("world", "anyone") }];
    run(&mut t, 3, create("/c", read_admin.clone()));
    let (a, b, c) = (t.node("/a").unwrap(), t.node("/b").unwrap(), t.node("/c").unwrap());
    assert!(std::sync::Arc::ptr_eq(&a.acl, &b.acl), "one shared copy");
    assert!(!std::sync::Arc::ptr_eq(&a.acl, &c.acl));
    assert_eq!(t.get_acl("/c").unwrap().0, read_admin);
    let r = run(&mut t, 4, Op::SetAcl { path: "/c".into(), acl: crate::acl::open_acl_unsafe(), version: -1 });
    assert!(matches!(r, OpResult::SetAcl { .. }), "{r:?}");
    assert!(std::sync::Arc::ptr_eq(&t.node("/a").unwrap().acl, &t.node("/c").unwrap().acl));
}
