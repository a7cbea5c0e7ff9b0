//! `DataTree` against an obviously correct model (etcd raft's `quorum/quick_test.go` habit).
//!
//! The model is a flat `BTreeMap<path, node>` that finds children by scanning every key and
//! recomputes each visible `Stat` field from first principles; random sequences of writes and
//! reads over a small path alphabet (valid and invalid paths, ZooKeeper's own nodes) must give
//! identical results and stats. Further properties: the incremental digest always equals the
//! recomputed one, and snapshotting (serde_json) part-way changes nothing.

use super::tests::{create, delete, set, txn};
use super::*;
use crate::txn::{ErrorCode, Op};
use crate::zxid::Zxid;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct MNode {
    data: Vec<u8>,
    czxid: Zxid,
    mzxid: Zxid,
    ctime: i64,
    mtime: i64,
    version: i32,
    /// Successful child creates ever (deletes do not count), per ZooKeeper's StatPersisted.
    creates: i32,
    aversion: i32,
    pzxid: Zxid,
}

impl MNode {
    fn new(data: &[u8], zxid: Zxid, time: i64) -> Self {
        MNode {
            data: data.to_vec(),
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            creates: 0,
            aversion: 0,
            pzxid: zxid,
        }
    }
}

struct Model(BTreeMap<String, MNode>);

fn parent_of(path: &str) -> Option<String> {
    let i = path.rfind('/')?;
    Some(if i == 0 { "/".to_string() } else { path[..i].to_string() })
}

impl Model {
    fn new() -> Self {
        let mut m = BTreeMap::new();
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            m.insert(p.to_string(), MNode::new(b"", Zxid::ZERO, 0));
        }
        m.get_mut("/zookeeper/config").unwrap().aversion = -1;
        Model(m)
    }

    fn children(&self, path: &str) -> Vec<String> {
        let names = self.0.keys().filter(|k| k.as_str() != "/");
        let mine = names.filter(|k| parent_of(k).as_deref() == Some(path));
        mine.map(|k| k[k.rfind('/').unwrap() + 1..].to_string()).collect()
    }

    fn stat(&self, path: &str) -> Option<Stat> {
        let n = self.0.get(path)?;
        let kids = self.children(path).len() as i32;
        Some(Stat {
            czxid: n.czxid,
            mzxid: n.mzxid,
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: 2 * n.creates - kids,
            aversion: n.aversion,
            ephemeral_owner: 0,
            data_length: n.data.len() as i32,
            num_children: kids,
            pzxid: n.pzxid,
        })
    }

    fn create(&mut self, zxid: Zxid, time: i64, path: &str, data: &[u8]) -> OpResult {
        if !path.contains('/') || path.contains('\0') {
            return OpResult::Error(ErrorCode::BadArguments);
        }
        let parent = parent_of(path).unwrap();
        if !self.0.contains_key(&parent) {
            return OpResult::Error(ErrorCode::NoNode);
        }
        if validate_path(path).is_err() {
            return OpResult::Error(ErrorCode::BadArguments);
        }
        if self.0.contains_key(path) {
            return OpResult::Error(ErrorCode::NodeExists);
        }
        let p = self.0.get_mut(&parent).unwrap();
        p.creates += 1;
        p.pzxid = zxid;
        self.0.insert(path.to_string(), MNode::new(data, zxid, time));
        OpResult::Created { path: path.to_string(), stat: self.stat(path).unwrap() }
    }

    fn delete(&mut self, zxid: Zxid, path: &str, version: i32) -> OpResult {
        let special = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];
        if !path.contains('/') || path.contains('\0') || special.contains(&path) {
            return OpResult::Error(ErrorCode::BadArguments);
        }
        let parent = parent_of(path).unwrap();
        let Some(n) = self.0.get(&parent).and(self.0.get(path)) else {
            return OpResult::Error(ErrorCode::NoNode);
        };
        if version != -1 && version != n.version {
            return OpResult::Error(ErrorCode::BadVersion);
        }
        if !self.children(path).is_empty() {
            return OpResult::Error(ErrorCode::NotEmpty);
        }
        self.0.remove(path);
        self.0.get_mut(&parent).unwrap().pzxid = zxid;
        OpResult::Deleted
    }

    fn set(&mut self, zxid: Zxid, time: i64, path: &str, data: &[u8], version: i32) -> OpResult {
        if validate_path(path).is_err() {
            return OpResult::Error(ErrorCode::BadArguments);
        }
        let Some(n) = self.0.get_mut(path) else {
            return OpResult::Error(ErrorCode::NoNode);
        };
        if version != -1 && version != n.version {
            return OpResult::Error(ErrorCode::BadVersion);
        }
        n.data = data.to_vec();
        n.version += 1;
        n.mzxid = zxid;
        n.mtime = time;
        OpResult::SetData { stat: self.stat(path).unwrap() }
    }

    fn apply(&mut self, zxid: Zxid, time: i64, op: &Op) -> OpResult {
        match op {
            Op::Create { path, data, .. } => self.create(zxid, time, path, data),
            Op::Delete { path, version } => self.delete(zxid, path, *version),
            Op::SetData { path, data, version } => self.set(zxid, time, path, data, *version),
            _ => OpResult::Error(ErrorCode::Unimplemented),
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    Write(Op),
    Exists(String),
    GetData(String),
    GetChildren(String),
}

const USER_PATHS: &[&str] = &["/a", "/a/b", "/a/b/c", "/a/c", "/b", "/b/a"];
const ZK_PATHS: &[&str] = &["/", "/zookeeper", "/zookeeper/x", "/zookeeper/quota", "/zookeeper/config"];
const BAD_PATHS: &[&str] = &["a", "/a/", "/a//b", "/.", "/a/..", "/b\0", ""];

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(USER_PATHS),
        2 => prop::sample::select(ZK_PATHS),
        1 => prop::sample::select(BAD_PATHS),
    ]
    .prop_map(str::to_string)
}

fn version() -> impl Strategy<Value = i32> {
    prop_oneof![2 => Just(-1), 1 => 0..3i32]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![vec![], b"x".to_vec(), b"yz".to_vec(), vec![0, 255]])
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (path(), data()).prop_map(|(p, d)| Step::Write(create(&p, &d))),
        3 => (path(), version()).prop_map(|(p, v)| Step::Write(delete(&p, v))),
        3 => (path(), data(), version()).prop_map(|(p, d, v)| Step::Write(set(&p, &d, v))),
        1 => path().prop_map(Step::Exists),
        1 => path().prop_map(Step::GetData),
        1 => path().prop_map(Step::GetChildren),
    ]
}

/// The zxid and time of the i-th step (reads ignore them). Epochs change now and then.
fn clock(i: usize) -> (Zxid, u64) {
    let i = i as u32;
    (Zxid::new(1 + i / 16, 1 + i % 16), 1_700_000_000_000 + u64::from(i) * 7)
}

fn check_read(tree: &DataTree, model: &Model, step: &Step) {
    match step {
        Step::Write(_) => {}
        Step::Exists(p) if p.contains('\0') => {
            assert_eq!(tree.exists(p), Err(ErrorCode::BadArguments));
        }
        Step::Exists(p) => assert_eq!(tree.exists(p), Ok(model.stat(p))),
        Step::GetData(p) => {
            let want = model.0.get(p.as_str()).map(|n| (n.data.clone(), model.stat(p).unwrap()));
            assert_eq!(tree.get_data(p), want.ok_or(ErrorCode::NoNode));
        }
        Step::GetChildren(p) => {
            let want = model.stat(p).map(|s| (model.children(p), s));
            assert_eq!(tree.get_children(p), want.ok_or(ErrorCode::NoNode));
        }
    }
}

fn check_whole_tree(tree: &DataTree, model: &Model) {
    assert_eq!(tree.digest(), tree.compute_digest(), "incremental digest drifted");
    assert_eq!(tree.node_count(), model.0.len());
    for (p, n) in &model.0 {
        assert_eq!(tree.get_data(p), Ok((n.data.clone(), model.stat(p).unwrap())), "{p}");
    }
}

fn apply_steps(tree: &mut DataTree, steps: &[Step], first: usize) {
    for (i, s) in steps.iter().enumerate() {
        if let Step::Write(op) = s {
            let (zxid, time) = clock(first + i);
            tree.apply(zxid, &txn(op.clone(), time));
        }
    }
}

proptest! {
    #[test]
    fn apply_agrees_with_the_model(steps in prop::collection::vec(step(), 0..60)) {
        let mut tree = DataTree::new();
        let mut model = Model::new();
        for (i, s) in steps.iter().enumerate() {
            if let Step::Write(op) = s {
                let (zxid, time) = clock(i);
                prop_assert_eq!(tree.validate(op).err(), match model_result(&model, zxid, op) {
                    OpResult::Error(e) => Some(e),
                    _ => None,
                });
                let got = tree.apply(zxid, &txn(op.clone(), time));
                prop_assert_eq!(got, model.apply(zxid, time as i64, op), "step {}: {:?}", i, s);
            }
            check_read(&tree, &model, s);
            check_whole_tree(&tree, &model);
        }
    }

    #[test]
    fn snapshot_midway_changes_nothing(
        steps in prop::collection::vec(step(), 0..60),
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

/// What the model would answer, without changing it (for checking `validate`).
fn model_result(model: &Model, zxid: Zxid, op: &Op) -> OpResult {
    let mut scratch = Model(model.0.clone());
    scratch.apply(zxid, 0, op)
}
