//! `DataTree` against an obviously correct model (`model.rs`; etcd raft's `quorum/quick_test.go`
//! habit).
//!
//! Random sequences of writes and reads over small alphabets — paths (valid and invalid ones,
//! ZooKeeper's own nodes, a sequential prefix), every create mode, sessions created and closed,
//! a few ACLs and caller identities, check, multi (with sub-ops that fail and ones that are not
//! allowed), deleteContainer — must give identical results, change lists and stats. Further
//! properties: the incremental digest always equals the recomputed one, `validate` predicts
//! `apply`, and snapshotting (serde_json) part-way changes nothing.

use super::model::Model;
use super::*;
use crate::acl::{Acl, Id, ADMIN, ALL, CREATE, DELETE, READ, WRITE};
use crate::ids::SessionId;
use crate::txn::{CreateMode, ErrorCode, Op, Txn};
use crate::zxid::Zxid;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Write {
    session: SessionId,
    auth: Vec<Id>,
    op: Op,
}

#[derive(Clone, Debug)]
enum Step {
    Write(Write),
    Exists(String),
    GetData(String),
    GetChildren(String),
    GetAcl(String),
    AllChildren(String),
    Ephemerals(SessionId),
}

const USER_PATHS: &[&str] = &[
    "/a",
    "/a/b",
    "/a/b/c",
    "/a/c",
    "/b",
    "/b/a",
    "/s",
    "/s/n-0000000000",
    "/s/n-0000000001",
    "/m",
    "/m/x-0000000001",
];
const ZK_PATHS: &[&str] = &["/", "/zookeeper", "/zookeeper/x", "/zookeeper/quota", "/zookeeper/config"];
const BAD_PATHS: &[&str] = &["a", "/a/", "/a//b", "/.", "/a/..", "/b\0", ""];
/// Two ordinary sessions, the reserved id 0 and one the owner encoding would read as a TTL.
const SESSIONS: &[u64] = &[0x0100_005f_47a0_0000, 0x0200_0000_0000_0007, 0, 0xFF00_0000_0000_0005];

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(USER_PATHS),
        2 => prop::sample::select(ZK_PATHS),
        1 => prop::sample::select(BAD_PATHS),
    ]
    .prop_map(str::to_string)
}

/// Paths for creates: sequential ones mostly under `/s` with the `n-` prefix.
fn create_path() -> impl Strategy<Value = String> {
    let top = prop::sample::select(&["/a", "/b", "/s"][..]).prop_map(str::to_string);
    prop_oneof![3 => top, 4 => path(), 1 => Just("/s/n-".to_string())]
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![2 => Just(-1), 1 => 0..3i32]
}

/// Null data too: ZooKeeper keeps it apart from empty data, and so must the tree.
fn data() -> impl Strategy<Value = Data> {
    prop::sample::select(vec![Data::NULL, Data::empty(), Data::from("x"), Data::from("yz"), Data::from(&[0, 255])])
}

fn session() -> impl Strategy<Value = SessionId> {
    prop_oneof![6 => prop::sample::select(&SESSIONS[..2]), 1 => prop::sample::select(&SESSIONS[2..])]
        .prop_map(SessionId)
}

fn digest_a() -> Id {
    Id::new("digest", &crate::acl::digest_id("a:pw"))
}

fn auth() -> impl Strategy<Value = Vec<Id>> {
    prop::sample::select(vec![
        vec![],
        vec![],
        vec![digest_a()],
        vec![Id::new("ip", "10.1.2.3")],
        vec![Id::new("digest", "b:h"), Id::new("ip", "192.168.0.1")],
        vec![Id::new("super", "")],
    ])
}

fn acl() -> impl Strategy<Value = Vec<Acl>> {
    let a = |perms, scheme: &str, id: &str| Acl { perms, id: Id::new(scheme, id) };
    let others = prop::sample::select(vec![
        vec![a(ALL, "world", "anyone"), a(ALL, "world", "anyone")],
        vec![a(READ, "world", "anyone")],
        vec![a(ALL, "digest", &digest_a().id)],
        vec![a(ALL, "auth", "")],
        vec![a(READ | WRITE, "digest", "b:h"), a(CREATE | DELETE | ADMIN, "ip", "10.0.0.0/8")],
        vec![],
        vec![a(ALL, "world", "x")],
        vec![a(ALL, "digest", "nocolon")],
    ]);
    prop_oneof![3 => Just(crate::acl::open_acl_unsafe()), 1 => others]
}

fn mode() -> impl Strategy<Value = CreateMode> {
    prop_oneof![
        6 => Just(CreateMode::Persistent),
        2 => Just(CreateMode::Ephemeral),
        1 => Just(CreateMode::PersistentSequential),
        1 => Just(CreateMode::EphemeralSequential),
        1 => Just(CreateMode::Container),
        1 => prop::sample::select(vec![0, 5, 30, 0x100_0000_0000]).prop_map(|ttl_ms| CreateMode::PersistentWithTtl { ttl_ms }),
        1 => Just(CreateMode::PersistentSequentialWithTtl { ttl_ms: 30 }),
    ]
}

fn create() -> impl Strategy<Value = Op> {
    (create_path(), data(), acl(), mode()).prop_map(|(path, data, acl, mode)| Op::Create { path, data, acl, mode })
}

fn delete() -> impl Strategy<Value = Op> {
    (path(), version()).prop_map(|(path, version)| Op::Delete { path, version })
}

fn set_data() -> impl Strategy<Value = Op> {
    (path(), data(), version()).prop_map(|(path, data, version)| Op::SetData { path, data, version })
}

fn check() -> impl Strategy<Value = Op> {
    (path(), version()).prop_map(|(path, version)| Op::Check { path, version })
}

/// The ops a multi may hold (plus, rarely, one it may not).
fn sub_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => create(),
        2 => delete(),
        2 => set_data(),
        3 => check(),
        1 => path().prop_map(|path| Op::SetAcl { path, acl: crate::acl::open_acl_unsafe(), version: -1 }),
    ]
}

/// A multi that succeeds on a tree without `/m` (and fails part-way otherwise, or when the
/// session is gone): sequential creates that see the earlier creates, a check and a delete that
/// see the earlier setData and creates.
fn good_multi() -> impl Strategy<Value = Op> {
    let parent = prop::sample::select(vec![CreateMode::Persistent, CreateMode::Container]);
    let eph = prop::sample::select(vec![CreateMode::PersistentSequential, CreateMode::EphemeralSequential]);
    (parent, eph, data()).prop_map(|(parent, eph, data)| {
        let open = crate::acl::open_acl_unsafe();
        let create = |path: &str, mode| Op::Create { path: path.into(), data: data.clone(), acl: open.clone(), mode };
        Op::Multi(vec![
            create("/m", parent),
            create("/m/x-", CreateMode::PersistentSequential),
            create("/m/x-", eph),
            Op::SetData { path: "/m".into(), data: "m".into(), version: 0 },
            Op::Check { path: "/m".into(), version: 1 },
            Op::Delete { path: "/m/x-0000000000".into(), version: 0 },
        ])
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => create(),
        3 => delete(),
        3 => set_data(),
        3 => (path(), acl(), version()).prop_map(|(path, acl, version)| Op::SetAcl { path, acl, version }),
        1 => check(),
        4 => prop::collection::vec(sub_op(), 0..4).prop_map(Op::Multi),
        2 => good_multi(),
        2 => Just(Op::CreateSession { timeout_ms: 4000, password: vec![7; 16] }),
        1 => Just(Op::CloseSession),
        1 => path().prop_map(|path| Op::DeleteContainer { path }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (session(), auth(), op()).prop_map(|(session, auth, op)| Step::Write(Write { session, auth, op })),
        1 => path().prop_map(Step::Exists),
        1 => path().prop_map(Step::GetData),
        1 => path().prop_map(Step::GetChildren),
        1 => path().prop_map(Step::GetAcl),
        1 => path().prop_map(Step::AllChildren),
        1 => session().prop_map(Step::Ephemerals),
    ]
}

/// The zxid and time of the i-th step (reads ignore them). Epochs change now and then.
fn clock(i: usize) -> (Zxid, u64) {
    let i = i as u32;
    (Zxid::new(1 + i / 16, 1 + i % 16), 1_700_000_000_000 + u64::from(i) * 7)
}

fn txn_of(w: &Write, time_ms: u64) -> Txn {
    Txn { session: w.session, time_ms, auth: w.auth.clone(), op: w.op.clone() }
}

fn error_of(r: &OpResult) -> Option<ErrorCode> {
    match r {
        OpResult::Error(e) => Some(*e),
        OpResult::Multi(rs) => multi_failure(rs),
        _ => None,
    }
}

fn check_read(tree: &DataTree, model: &Model, step: &Step) {
    let node = |p: &str| model.nodes.get(p).ok_or(ErrorCode::NoNode);
    match step {
        Step::Write(_) => {}
        Step::Exists(p) if p.contains('\0') => assert_eq!(tree.exists(p), Err(ErrorCode::BadArguments)),
        Step::Exists(p) => assert_eq!(tree.exists(p), Ok(model.stat(p))),
        Step::GetData(p) => {
            assert_eq!(tree.get_data(p), node(p).map(|n| (n.data.clone(), model.stat(p).unwrap())));
        }
        Step::GetChildren(p) => {
            assert_eq!(tree.get_children(p), node(p).map(|_| (model.children(p), model.stat(p).unwrap())));
        }
        Step::GetAcl(p) => assert_eq!(tree.get_acl(p), node(p).map(|n| (n.acl.clone(), model.stat(p).unwrap()))),
        Step::AllChildren(p) => {
            let prefix = if p == "/" { "/".to_string() } else { format!("{p}/") };
            let below = model.nodes.keys().filter(|k| *k != "/" && k.starts_with(&prefix)).count();
            assert_eq!(tree.all_children_number(p), node(p).map(|_| below));
        }
        Step::Ephemerals(s) => assert_eq!(tree.ephemerals(*s), model.ephemerals(*s)),
    }
}

fn check_whole_tree(tree: &DataTree, model: &Model, now: u64) {
    assert_eq!(tree.digest(), tree.compute_digest(), "incremental digest drifted");
    assert_eq!(tree.node_count(), model.nodes.len());
    for (p, n) in &model.nodes {
        assert_eq!(tree.get_data(p), Ok((n.data.clone(), model.stat(p).unwrap())), "{p}");
        assert_eq!(tree.get_acl(p).unwrap().0, n.acl, "{p}");
    }
    let sessions: Vec<(SessionId, &SessionInfo)> = model.sessions.iter().map(|(k, v)| (*k, v)).collect();
    assert_eq!(tree.sessions().collect::<Vec<_>>(), sessions);
    for later in [now, now + 20, now + 100] {
        let want: Vec<String> = model.nodes.keys().filter(|p| model.reapable(p, later)).cloned().collect();
        assert_eq!(tree.reapable(later), want, "reapable at {later}");
    }
}

fn apply_steps(tree: &mut DataTree, steps: &[Step], first: usize) {
    for (i, s) in steps.iter().enumerate() {
        if let Step::Write(w) = s {
            let (zxid, time) = clock(first + i);
            tree.apply(zxid, &txn_of(w, time));
        }
    }
}

/// Occasionally a deleteContainer of what the tree itself says is reapable, so that reaping
/// does happen (random paths rarely hit an expired TTL node at the right time).
fn with_reaps(tree: &DataTree, step: &Step, now: u64) -> Step {
    match (step, tree.reapable(now).first()) {
        (Step::Write(Write { op: Op::DeleteContainer { path }, .. }), Some(first)) if path.len() % 2 == 0 => {
            Step::Write(Write { session: SessionId(0), auth: vec![], op: Op::DeleteContainer { path: first.clone() } })
        }
        _ => step.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn apply_agrees_with_the_model(steps in prop::collection::vec(step(), 0..80)) {
        let mut tree = DataTree::new();
        let mut model = Model::new();
        for (i, s) in steps.iter().enumerate() {
            let (zxid, time) = clock(i);
            let s = with_reaps(&tree, s, time);
            if let Step::Write(w) = &s {
                let txn = txn_of(w, time);
                let want = model.apply(zxid, &txn);
                prop_assert_eq!(tree.validate(&txn).err(), error_of(&want.0), "validate, step {}: {:?}", i, s);
                let before = tree.clone();
                let got = tree.apply_with_changes(zxid, &txn);
                prop_assert_eq!(&got, &want, "step {}: {:?}", i, s);
                if error_of(&got.0).is_some() {
                    prop_assert_eq!(&tree, &before, "a failed op changed the tree");
                }
            }
            check_read(&tree, &model, &s);
            check_whole_tree(&tree, &model, time);
        }
    }

    #[test]
    fn snapshot_midway_changes_nothing(
        steps in prop::collection::vec(step(), 0..80),
        cut in any::<prop::sample::Index>(),
    ) {
        let k = cut.index(steps.len() + 1);
        let mut straight = DataTree::new();
        apply_steps(&mut straight, &steps, 0);

        let mut restored = DataTree::new();
        apply_steps(&mut restored, &steps[..k], 0);
        let json = serde_json::to_string(&restored).unwrap();
        let mut restored: DataTree = serde_json::from_str(&json).unwrap();
        apply_steps(&mut restored, &steps[k..], k);

        prop_assert_eq!(restored.digest(), straight.digest());
        prop_assert_eq!(restored.describe(), straight.describe());
        prop_assert_eq!(restored, straight);
    }
}
