//! ACL checks on the tree and multi: one test per rule (sections are those of
//! `zk-wire-protocol.md`; "capture" means `zk-wire/`).

use super::*;
use crate::acl::{self, open_acl_unsafe, Acl, Id, ADMIN, ALL, CREATE, DELETE, READ, WRITE};
use crate::ids::SessionId;
use crate::txn::{CreateMode, Op, Txn};
use crate::zxid::Zxid;
use ErrorCode::*;

fn z(counter: u32) -> Zxid {
    Zxid::new(0, counter)
}

fn acl(perms: u32, scheme: &str, id: &str) -> Acl {
    Acl { perms, id: Id::new(scheme, id) }
}

fn create_with(path: &str, data: &[u8], acl: Vec<Acl>) -> Op {
    Op::Create { path: path.into(), data: data.into(), acl, mode: CreateMode::Persistent }
}

fn create(path: &str) -> Op {
    create_with(path, b"", open_acl_unsafe())
}

fn seq(path: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: Data::empty(),
        acl: open_acl_unsafe(),
        mode: CreateMode::PersistentSequential,
    }
}

fn delete(path: &str, version: i32) -> Op {
    Op::Delete { path: path.into(), version }
}

fn set(path: &str, data: &[u8], version: i32) -> Op {
    Op::SetData { path: path.into(), data: data.into(), version }
}

fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Op {
    Op::SetAcl { path: path.into(), acl, version }
}

fn check(path: &str, version: i32) -> Op {
    Op::Check { path: path.into(), version }
}

fn user() -> Id {
    Id::new("digest", &acl::digest_id("user:pass"))
}

/// Applies `op` with identities `auth` at zxid (0, `n`), time `1000 + n`, checking the digest
/// and that `validate` predicted the outcome.
fn run_auth(t: &mut DataTree, n: u32, auth: &[Id], op: Op) -> OpResult {
    let txn = Txn { session: SessionId(0x0100_0000_0000_0001), time_ms: 1000 + u64::from(n), auth: auth.to_vec(), op };
    let predicted = t.validate(&txn);
    let r = t.apply(z(n), &txn);
    let failed = match &r {
        OpResult::Error(e) => Some(*e),
        OpResult::Multi(rs) => multi_failure(rs),
        _ => None,
    };
    assert_eq!(predicted.err(), failed);
    assert_eq!(t.digest(), t.compute_digest());
    r
}

fn run(t: &mut DataTree, n: u32, op: Op) -> OpResult {
    run_auth(t, n, &[], op)
}

/// A tree with `/locked` (ACL: `user` ALL) holding a child `/locked/c`.
fn locked() -> DataTree {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/locked"));
    run(&mut t, 2, create("/locked/c"));
    run(&mut t, 3, set_acl("/locked", vec![acl(ALL, "digest", &user().id)], -1));
    t
}

/// §7.1: InvalidACL before NoNode; CREATE on the parent before NodeExists; a `super` identity
/// and the right digest pass (§11.4).
#[test]
fn create_checks_acl_in_order() {
    let mut t = locked();
    assert_eq!(run(&mut t, 4, create_with("/x/y", b"", vec![])), OpResult::Error(InvalidAcl));
    assert_eq!(run(&mut t, 5, create("/locked/c")), OpResult::Error(NoAuth));
    assert_eq!(run(&mut t, 6, create("/locked/d")), OpResult::Error(NoAuth));
    assert!(matches!(run_auth(&mut t, 7, &[acl::super_id()], create("/locked/d")), OpResult::Created { .. }));
    assert!(matches!(run_auth(&mut t, 8, &[user()], create("/locked/e")), OpResult::Created { .. }));
    assert_eq!(run_auth(&mut t, 9, &[user()], create("/locked/e")), OpResult::Error(NodeExists));
}

/// §7.2: DELETE on the parent, checked before the node's own existence.
#[test]
fn delete_needs_delete_on_the_parent() {
    let mut t = locked();
    assert_eq!(run(&mut t, 4, delete("/locked/nope", -1)), OpResult::Error(NoAuth));
    assert_eq!(run(&mut t, 5, delete("/locked/c", -1)), OpResult::Error(NoAuth));
    assert_eq!(run_auth(&mut t, 6, &[user()], delete("/locked/nope", -1)), OpResult::Error(NoNode));
    assert_eq!(run_auth(&mut t, 7, &[user()], delete("/locked/c", -1)), OpResult::Deleted);
    assert_eq!(run(&mut t, 8, delete("/locked", -1)), OpResult::Deleted, "the root's ACL decides");
}

/// §7.5: NoNode, then WRITE (NoAuth before BadVersion); the config node is read-only.
#[test]
fn set_data_needs_write() {
    let mut t = locked();
    assert_eq!(run(&mut t, 4, set("/locked/nope", b"", -1)), OpResult::Error(NoNode));
    assert_eq!(run(&mut t, 5, set("/locked", b"", 7)), OpResult::Error(NoAuth));
    assert_eq!(run_auth(&mut t, 6, &[user()], set("/locked", b"", 7)), OpResult::Error(BadVersion));
    assert!(matches!(run_auth(&mut t, 7, &[user()], set("/locked", b"", 0)), OpResult::SetData { .. }));
    assert_eq!(run(&mut t, 8, set(CONFIG, b"x", -1)), OpResult::Error(NoAuth));
}

/// §7.7 and checklist 15: validation, fixup (InvalidACL) before NoNode, ADMIN before the
/// version, the version is the aversion; the effect is aversion + 1 and nothing else.
#[test]
fn set_acl_checks_and_effects() {
    let mut t = locked();
    assert_eq!(run(&mut t, 4, set_acl("/a/", open_acl_unsafe(), -1)), OpResult::Error(BadArguments));
    assert_eq!(run(&mut t, 5, set_acl("/nope", vec![acl(ALL, "digest", "bad")], -1)), OpResult::Error(InvalidAcl));
    assert_eq!(run(&mut t, 6, set_acl("/nope", open_acl_unsafe(), -1)), OpResult::Error(NoNode));
    assert_eq!(run(&mut t, 7, set_acl("/locked", open_acl_unsafe(), 9)), OpResult::Error(NoAuth));
    assert_eq!(run_auth(&mut t, 8, &[user()], set_acl("/locked", open_acl_unsafe(), 9)), OpResult::Error(BadVersion));
    let before = t.exists("/locked").unwrap().unwrap();
    let r = run_auth(&mut t, 9, &[user()], set_acl("/locked", open_acl_unsafe(), 1));
    let after = Stat { aversion: 2, ..before };
    assert_eq!(r, OpResult::SetAcl { stat: after });
    assert_eq!(t.get_acl("/locked"), Ok((open_acl_unsafe(), after)));
}

/// §11.2, capture (authacl_transcript.txt): an `auth` ACL after `addauth digest user:pass`
/// is stored as `digest:user:smGaoVKd/cQkjm7b88GyorAUz20=` with the same perms; without a
/// digest identity it is InvalidACL (✔wire), an ip identity does not count.
#[test]
fn auth_acl_expands_to_the_callers_digest() {
    let mut t = DataTree::new();
    let auth_acl = vec![acl(ALL, "auth", "")];
    assert_eq!(run(&mut t, 1, create_with("/authacl", b"", auth_acl.clone())), OpResult::Error(InvalidAcl));
    let ip = Id::new("ip", "127.0.0.1");
    assert_eq!(
        run_auth(&mut t, 2, std::slice::from_ref(&ip), create_with("/authacl", b"", auth_acl.clone())),
        OpResult::Error(InvalidAcl)
    );
    run_auth(&mut t, 3, &[ip, user()], create_with("/authacl", b"", auth_acl));
    let stored = t.get_acl("/authacl").unwrap().0;
    assert_eq!(stored, vec![acl(ALL, "digest", "user:smGaoVKd/cQkjm7b88GyorAUz20=")]);
}

/// §11.2: ip ACLs match the caller's `ip` identity by CIDR; get_acl/check_perm for the serving
/// peer (NoNode, NoAuth).
#[test]
fn ip_acl_and_read_helpers() {
    let mut t = DataTree::new();
    run(
        &mut t,
        1,
        create_with("/net", b"", vec![acl(READ | CREATE, "ip", "10.0.0.0/8"), acl(ADMIN, "world", "anyone")]),
    );
    let inside = [Id::new("ip", "10.20.30.40")];
    let outside = [Id::new("ip", "11.0.0.1")];
    assert!(matches!(run_auth(&mut t, 2, &inside, create("/net/a")), OpResult::Created { .. }));
    assert_eq!(run_auth(&mut t, 3, &outside, create("/net/b")), OpResult::Error(NoAuth));
    assert_eq!(t.check_perm("/net", READ, &inside), Ok(()));
    assert_eq!(t.check_perm("/net", READ, &outside), Err(NoAuth));
    assert_eq!(t.check_perm("/net", WRITE | DELETE, &inside), Err(NoAuth));
    assert_eq!(t.check_perm("/net", ADMIN, &[]), Ok(()));
    assert_eq!(t.check_perm("/nope", READ, &inside), Err(NoNode));
    assert_eq!(t.get_acl("/nope"), Err(NoNode));
    assert_eq!(t.get_acl(CONFIG).unwrap().0, acl::read_acl_unsafe());
}

/// The kazoo capture's multi (§20.10): create, check, setData, delete at one zxid, each with
/// its own result; the setData Stat is byte for byte what ZooKeeper 3.8.0 sent.
#[test]
fn multi_matches_the_kazoo_capture() {
    let mut t = DataTree::new();
    let (t1, t2, t3, t4) = (0x1a2_11ab_1987u64, 0x1a2_11ab_19a1, 0x1a2_11ab_19ae, 0x1a2_11ab_19bb);
    let mut at = |zxid: u32, time: u64, op| {
        t.apply(z(zxid), &Txn { session: SessionId(0), time_ms: time, auth: vec![], op });
    };
    at(2, t1, create_with("/a", b"x", open_acl_unsafe()));
    at(4, t2, set("/a", b"yz", -1));
    at(6, t2, create("/a/s-0000000000"));
    at(7, t2, create("/a/s-0000000001"));
    at(8, t3, create("/a/c"));
    at(9, t3, set("/a", b"zz", -1));
    let multi = Op::Multi(vec![
        create_with("/t1", b"1", open_acl_unsafe()),
        check("/a", 2),
        set("/a", b"tx", -1),
        delete("/a/c", -1),
    ]);
    let (r, changes) =
        t.apply_with_changes(z(0xc), &Txn { session: SessionId(0), time_ms: t4, auth: vec![], op: multi });
    let a = Stat {
        czxid: z(2),
        mzxid: z(0xc),
        ctime: t1 as i64,
        mtime: t4 as i64,
        version: 3,
        cversion: 3,
        ..Stat::default()
    };
    let a = Stat { data_length: 2, num_children: 3, pzxid: z(8), ..a };
    let t1_stat =
        Stat { czxid: z(0xc), mzxid: z(0xc), pzxid: z(0xc), ctime: t4 as i64, mtime: t4 as i64, data_length: 1, ..a };
    let t1_stat = Stat { version: 0, cversion: 0, num_children: 0, ..t1_stat };
    let want = vec![
        OpResult::Created { path: "/t1".into(), stat: t1_stat },
        OpResult::Checked,
        OpResult::SetData { stat: a },
        OpResult::Deleted,
    ];
    assert_eq!(r, OpResult::Multi(want));
    let names = ["/t1", "/a", "/a/c"].map(String::from);
    assert_eq!(
        changes,
        vec![
            Change::Created(names[0].clone()),
            Change::DataChanged(names[1].clone()),
            Change::Deleted(names[2].clone())
        ]
    );
}

/// §7.13 and the capture's failed multi: earlier sub-ops keep their (rolled back) results, the
/// failing one has its code, earlier ones are rolled back, later ones RuntimeInconsistency; nothing changes, no change is
/// listed, and the tree (digest included) is exactly as before.
#[test]
fn failed_multi_changes_nothing() {
    let mut t = DataTree::new();
    run(&mut t, 1, create("/a"));
    run(&mut t, 2, create("/a/c"));
    let before = t.clone();
    let ops = vec![create("/t2"), check("/a", 99), create("/t3")];
    let txn = Txn { session: SessionId(0), time_ms: 5, auth: vec![], op: Op::Multi(ops) };
    let (r, changes) = t.apply_with_changes(z(3), &txn);
    let OpResult::Multi(rs) = r else { panic!("{r:?}") };
    assert_eq!(rs[0], OpResult::RolledBack, "ZooKeeper's code-0 result for an undone sub-op");
    assert_eq!(rs[1..], [OpResult::Error(BadVersion), OpResult::Error(RuntimeInconsistency)]);
    assert_eq!(multi_failure(&rs), Some(BadVersion));
    assert_eq!((changes, &t), (vec![], &before));
    // Deletes, re-creates, data and sequence counters are all restored.
    let ops = vec![delete("/a/c", -1), create("/a/c"), set("/a/c", b"new", -1), seq("/a/n-"), delete("/a", -1)];
    assert!(matches!(run(&mut t, 4, Op::Multi(ops)), OpResult::Multi(rs) if rs[4] == OpResult::Error(NotEmpty)));
    assert_eq!(t, before);
    assert_eq!(t.digest(), before.digest());
}

/// Sequential creates in a multi see the earlier sub-ops; a check sees an earlier setData.
#[test]
fn multi_sub_ops_see_each_other() {
    let mut t = DataTree::new();
    let ops = vec![
        create("/q"),
        seq("/q/n-"),
        seq("/q/n-"),
        set("/q", b"v", 0),
        check("/q", 1),
        delete("/q/n-0000000000", 0),
    ];
    let OpResult::Multi(rs) = run(&mut t, 1, Op::Multi(ops)) else { panic!() };
    assert!(matches!(&rs[2], OpResult::Created { path, .. } if path == "/q/n-0000000001"));
    assert_eq!(rs[4..], [OpResult::Checked, OpResult::Deleted]);
    assert_eq!(t.get_children("/q").unwrap().0, vec!["n-0000000001"]);
    assert!(matches!(run(&mut t, 2, seq("/q/n-")), OpResult::Created { path, .. } if path == "/q/n-0000000002"));
}

/// A multi may hold only create, delete, setData and check: anything else (a nested multi,
/// setACL, session ops, deleteContainer) makes the whole request MarshallingError, as ZooKeeper
/// cannot read it. An empty multi succeeds; a check outside a multi is Unimplemented (§7.12).
#[test]
fn multi_shape_rules() {
    let mut t = DataTree::new();
    assert_eq!(run(&mut t, 1, Op::Multi(vec![])), OpResult::Multi(vec![]));
    let bad = [
        Op::Multi(vec![]),
        set_acl("/", open_acl_unsafe(), -1),
        Op::CloseSession,
        Op::CreateSession { timeout_ms: 1, password: vec![] },
        Op::DeleteContainer { path: "/a".into() },
    ];
    for op in bad {
        let multi = Op::Multi(vec![create("/a"), op.clone()]);
        assert_eq!(run(&mut t, 2, multi), OpResult::Error(MarshallingError), "{op:?}");
    }
    assert_eq!(t.exists("/a"), Ok(None));
    assert_eq!(run(&mut t, 3, check("/", -1)), OpResult::Error(Unimplemented));
    let checks = Op::Multi(vec![check("/a/", -1), check("/nope", -1)]);
    assert_eq!(
        run(&mut t, 4, checks),
        OpResult::Multi(vec![OpResult::Error(BadArguments), OpResult::Error(RuntimeInconsistency)])
    );
    run(&mut t, 5, create_with("/r", b"", vec![acl(WRITE, "world", "anyone")]));
    assert_eq!(run(&mut t, 6, Op::Multi(vec![check("/r", -1)])), OpResult::Multi(vec![OpResult::Error(NoAuth)]));
}
