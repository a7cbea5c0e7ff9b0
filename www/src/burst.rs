//! Live mode's burst of client writes, as a state machine over the JSON client API (`/api`)
//! so it is unit-tested natively; `livepage` only carries its requests and replies.
//!
//! Every burst writes under one parent, [`DIR`] (made on first use), and first deletes what
//! the previous burst left there (at most [`MAX_CLEAN`] znodes). So the cluster holds at most
//! one burst's znodes at a time, named in one place a presenter can remove with one
//! `deleteall`, and the last burst stays readable for anyone who wants to check it. After
//! its [`BURST`] creates are answered (each answer means committed by a quorum), the burst
//! reads every znode it made back and compares the data.
//!
//! One session carries everything, and ZooKeeper answers a session's requests in order, so
//! the deletes of the old znodes are applied before the new creates.

use std::collections::BTreeMap;
use zabra_core::datatree::OpResult;
use zabra_core::peer::{ClientOp, ClientResult, Reply};
use zabra_core::txn::{CreateMode, ErrorCode, Op};

/// Writes per burst.
pub const BURST: usize = 20;
/// The parent of every burst's znodes, and its own parent.
pub const PARENT: &str = "/zabra-live";
pub const DIR: &str = "/zabra-live/burst";
/// Znodes of an earlier burst deleted by one burst at most.
pub const MAX_CLEAN: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Setup,
    List,
    Delete,
    Create(usize),
    Read(usize),
}

/// One burst: the requests to send next, and what its replies said.
#[derive(Clone, Debug, Default)]
pub struct Burst {
    next_xid: i64,
    pending: BTreeMap<i64, Expect>,
    /// The path each create got (sequential names), by write number.
    pub created: BTreeMap<usize, String>,
    pub removed: usize,
    pub read_back: usize,
    pub errors: Vec<String>,
    writes_answered: usize,
}

/// A failed request's code: a write's comes inside its `OpResult`, other requests' alone.
fn error_of(r: &ClientResult) -> Option<ErrorCode> {
    match r {
        ClientResult::Error(e) | ClientResult::Write(OpResult::Error(e)) => Some(*e),
        _ => None,
    }
}

fn data_of(i: usize) -> String {
    format!("burst write {i}")
}

impl Burst {
    fn request(&mut self, op: ClientOp, expect: Expect) -> String {
        self.next_xid += 1;
        self.pending.insert(self.next_xid, expect);
        serde_json::json!({ "xid": self.next_xid, "op": op }).to_string()
    }

    /// The first requests, once the session is granted: make the parents (already there
    /// is fine) and list what an earlier burst left.
    pub fn start(&mut self) -> Vec<String> {
        let mk = |p: &str| ClientOp::Write(Op::create(p, b"", CreateMode::Persistent));
        vec![
            self.request(mk(PARENT), Expect::Setup),
            self.request(mk(DIR), Expect::Setup),
            self.request(ClientOp::GetChildren { path: DIR.into(), watch: false }, Expect::List),
        ]
    }

    /// A reply: the requests it leads to (none once the burst is over).
    pub fn on_reply(&mut self, r: &Reply) -> Vec<String> {
        let Some(expect) = self.pending.remove(&r.xid) else { return Vec::new() };
        let failed = |what: &str, r: &ClientResult| format!("{what}: {r:?}");
        match (expect, &r.result) {
            (Expect::Setup, ClientResult::Write(OpResult::Created { .. })) => {}
            (Expect::Setup, r) if error_of(r) == Some(ErrorCode::NodeExists) => {}
            (Expect::List, ClientResult::Children { children, .. }) => return self.clean_then_write(children),
            (Expect::Delete, ClientResult::Write(OpResult::Deleted)) => self.removed += 1,
            (Expect::Delete, r) if error_of(r) == Some(ErrorCode::NoNode) => {}
            (Expect::Create(i), res) => {
                self.writes_answered += 1;
                match res {
                    ClientResult::Write(OpResult::Created { path, .. }) => {
                        self.created.insert(i, path.clone());
                    }
                    other => self.errors.push(failed(&format!("write {i}"), other)),
                }
                if self.writes_answered == BURST {
                    return self.read_all();
                }
            }
            (Expect::Read(i), ClientResult::Data { data, .. }) if data.bytes() == data_of(i).as_bytes() => {
                self.read_back += 1
            }
            (what, other) => self.errors.push(failed(&format!("{what:?}"), other)),
        }
        Vec::new()
    }

    fn clean_then_write(&mut self, children: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for c in children.iter().take(MAX_CLEAN) {
            out.push(
                self.request(ClientOp::Write(Op::Delete { path: format!("{DIR}/{c}"), version: -1 }), Expect::Delete),
            );
        }
        for i in 1..=BURST {
            let op = Op::create(&format!("{DIR}/w-"), data_of(i).as_bytes(), CreateMode::PersistentSequential);
            out.push(self.request(ClientOp::Write(op), Expect::Create(i)));
        }
        out
    }

    fn read_all(&mut self) -> Vec<String> {
        let paths: Vec<(usize, String)> = self.created.iter().map(|(i, p)| (*i, p.clone())).collect();
        paths
            .into_iter()
            .map(|(i, path)| self.request(ClientOp::GetData { path, watch: false }, Expect::Read(i)))
            .collect()
    }

    /// Over: every request answered (a reply that never comes keeps it going; the page gives
    /// up after its own timeout).
    pub fn finished(&self) -> bool {
        self.writes_answered == BURST && self.pending.is_empty()
    }

    /// What the presenter reads when it is over.
    pub fn summary(&self, ms: f64) -> String {
        let mut s = format!(
            "burst: {}/{BURST} writes committed under {DIR} in {ms:.0} ms, {} read back, {} of the previous burst deleted",
            self.created.len(),
            self.read_back,
            self.removed
        );
        if let Some(e) = self.errors.first() {
            s.push_str(&format!("; {} failed, first: {e}", self.errors.len()));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::datatree::Stat;
    use zabra_core::{SessionId, Zxid};

    fn reply(xid: i64, result: ClientResult) -> Reply {
        Reply { session: SessionId(1), xid, zxid: Zxid::ZERO, result }
    }

    fn op_of(req: &str) -> (i64, ClientOp) {
        let v: serde_json::Value = serde_json::from_str(req).unwrap();
        (v["xid"].as_i64().unwrap(), serde_json::from_value(v["op"].clone()).unwrap())
    }

    /// The server's side, on a tree given as a list of children of DIR.
    fn answer(req: &str, dir: &mut Vec<String>, seq: &mut u32) -> Reply {
        let (xid, op) = op_of(req);
        let stat = Stat::default();
        let result = match op {
            // As the node answers a failed write.
            ClientOp::Write(Op::Create { path, .. }) if path == PARENT || path == DIR => {
                ClientResult::Write(OpResult::Error(ErrorCode::NodeExists))
            }
            ClientOp::Write(Op::Create { path, .. }) => {
                *seq += 1;
                let name = format!("{}{:010}", path.rsplit('/').next().unwrap(), seq);
                dir.push(name.clone());
                ClientResult::Write(OpResult::Created { path: format!("{DIR}/{name}"), stat })
            }
            ClientOp::Write(Op::Delete { path, .. }) => {
                dir.retain(|c| format!("{DIR}/{c}") != path);
                ClientResult::Write(OpResult::Deleted)
            }
            ClientOp::GetChildren { .. } => ClientResult::Children { children: dir.clone(), stat },
            ClientOp::GetData { path, .. } => {
                let i = (path.rsplit('-').next().unwrap().parse::<u32>().unwrap() - 1) as usize % BURST + 1;
                ClientResult::Data { data: data_of(i).as_str().into(), stat }
            }
            other => panic!("unexpected {other:?}"),
        };
        reply(xid, result)
    }

    fn run(dir: &mut Vec<String>, seq: &mut u32) -> Burst {
        let mut b = Burst::default();
        let mut queue: std::collections::VecDeque<String> = b.start().into();
        let mut n = 0;
        while let Some(req) = queue.pop_front() {
            n += 1;
            assert!(n < 1000, "bounded");
            queue.extend(b.on_reply(&answer(&req, dir, seq)));
        }
        b
    }

    #[test]
    fn a_burst_writes_twenty_under_one_parent_reads_them_back_and_the_next_removes_them() {
        let (mut dir, mut seq) = (Vec::new(), 0);
        let first = run(&mut dir, &mut seq);
        assert!(first.finished());
        assert_eq!((first.created.len(), first.read_back, first.removed), (BURST, BURST, 0));
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert!(first.created.values().all(|p| p.starts_with(&format!("{DIR}/w-"))));
        assert_eq!(dir.len(), BURST);
        let second = run(&mut dir, &mut seq);
        assert_eq!((second.created.len(), second.read_back, second.removed), (BURST, BURST, BURST));
        assert_eq!(dir.len(), BURST, "only the last burst's znodes stay");
        assert!(second.errors.is_empty(), "{:?}", second.errors);
        assert!(second.summary(5.0).starts_with("burst: 20/20 writes committed"), "{}", second.summary(5.0));
    }

    #[test]
    fn a_failed_write_is_reported_and_the_burst_still_ends() {
        let mut b = Burst::default();
        let reqs = b.start();
        let list = op_of(&reqs[2]).0;
        let writes = b.on_reply(&reply(list, ClientResult::Children { children: vec![], stat: Stat::default() }));
        assert_eq!(writes.len(), BURST);
        for w in &writes {
            b.on_reply(&reply(op_of(w).0, ClientResult::Error(ErrorCode::ConnectionLoss)));
        }
        for r in &reqs[..2] {
            b.on_reply(&reply(op_of(r).0, ClientResult::Error(ErrorCode::NodeExists)));
        }
        assert!(b.finished());
        assert_eq!(b.errors.len(), BURST);
        assert!(b.summary(1.0).contains("0/20 writes committed"), "{}", b.summary(1.0));
    }
}
