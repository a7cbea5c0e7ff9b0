//! What this peer's trace texts may show of a znode.
//!
//! Every viewer of a node's `/observe` reads its trace, so a trace text shows a znode's data,
//! child names and ACL ids only if anyone may READ the node (`describe`'s module docs). The
//! committed tree says who may now; transactions this peer has logged but not yet applied
//! may change it (a setACL, or a delete and a create with another ACL), so every ACL the node
//! may have once the text's operation applies must grant world READ.

use super::Peer;
use crate::acl::grants_world_read;
use crate::txn::Op;

impl Peer {
    /// Whether a trace text may show the contents of the znode at `path`.
    pub(crate) fn world_readable(&self, path: &str) -> bool {
        let committed = self.tree.node(path).ok().map(|n| grants_world_read(&n.acl));
        if committed == Some(false) {
            return false;
        }
        let mut any = committed.is_some();
        for e in self.log.after(self.last_committed) {
            let mut all = true;
            for_acls(&e.txn.op, path, &mut |readable| {
                any = true;
                all &= readable;
            });
            if !all {
                return false;
            }
        }
        any
    }

    /// The trace text of an op (see [`crate::describe::op_shown`]).
    pub(crate) fn shown_op(&self, op: &Op) -> String {
        self.detail(|| crate::describe::op_shown(op, &|p| self.world_readable(p)))
    }
}

/// Calls `f` with whether each ACL that `op` may give the node at `path` grants world READ.
fn for_acls(op: &Op, path: &str, f: &mut impl FnMut(bool)) {
    match op {
        // A sequential create appends ten digits to its path.
        Op::Create { path: p, acl, mode, .. }
            if p == path || (mode.is_sequential() && path.starts_with(p.as_str())) =>
        {
            f(grants_world_read(acl))
        }
        Op::SetAcl { path: p, acl, .. } if p == path => f(grants_world_read(acl)),
        Op::Multi(ops) => ops.iter().for_each(|o| for_acls(o, path, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::serving_tests::{new_session, One};
    use crate::acl::{Acl, Id, ALL, READ};
    use crate::datatree::Data;
    use crate::peer::{ClientOp, Input, Output};
    use crate::trace::TraceEvent;
    use crate::txn::{CreateMode, Op};

    fn create(path: &str, data: &str, perms: u32) -> ClientOp {
        let acl = vec![Acl { perms, id: Id::new("world", "anyone") }];
        ClientOp::Write(Op::Create { path: path.into(), data: Data::from(data), acl, mode: CreateMode::Persistent })
    }

    /// Every trace text of the outputs, as `/observe` would stream them.
    fn texts(outs: &[Output]) -> String {
        outs.iter()
            .filter_map(|o| match o {
                Output::Trace(e) => Some(serde_json::to_string(e).expect("serializes")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Finding 5 of issue 8: no trace text carries the data, child names or ACL ids of a
    /// node whose ACL does not grant world READ — not the create or setData request, not
    /// the proposal, not the getData, getChildren or getACL reply; a world-readable node's
    /// contents are shown as before.
    #[test]
    fn traces_hide_the_contents_of_nodes_not_world_readable() {
        let mut one = One::serving();
        let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
        let s = grant.expect("granted").session;
        let mut outs = Vec::new();
        let mut call = |one: &mut One, op: ClientOp| {
            let o = one.feed(Input::Client(crate::peer::ClientRequest { session: s, xid: 0, op }));
            outs.extend(one.settle(o));
        };
        call(&mut one, create("/open", "visible-data", ALL));
        call(&mut one, create("/open/kid-open", "", ALL));
        let alice = Id::new("digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
        let shut =
            vec![Acl { perms: ALL & !READ, id: Id::new("world", "anyone") }, Acl { perms: READ, id: alice.clone() }];
        let mk =
            Op::Create { path: "/shut".into(), data: "secret-one".into(), acl: shut, mode: CreateMode::Persistent };
        call(&mut one, ClientOp::Write(mk));
        call(&mut one, create("/shut/kid-shut", "", ALL));
        call(&mut one, ClientOp::Write(Op::SetData { path: "/shut".into(), data: "secret-two".into(), version: -1 }));
        call(&mut one, ClientOp::Write(Op::SetData { path: "/open".into(), data: "visible-two".into(), version: -1 }));
        let acl = vec![Acl { perms: ALL, id: alice }, Acl { perms: ALL & !READ, id: Id::new("world", "anyone") }];
        call(&mut one, ClientOp::Write(Op::SetAcl { path: "/open/kid-open".into(), acl, version: -1 }));
        call(&mut one, ClientOp::AddAuth { scheme: "digest".into(), auth: b"alice:secret".to_vec() });
        for path in ["/open", "/shut", "/open/kid-open"] {
            call(&mut one, ClientOp::GetData { path: path.into(), watch: false });
            call(&mut one, ClientOp::GetChildren { path: path.into(), watch: false });
            call(&mut one, ClientOp::GetAcl { path: path.into() });
        }
        let t = texts(&outs);
        for secret in ["secret-one", "secret-two", "kid-shut]", "aYXlLOpEooaV1cRAvUL1fp9Qt7E"] {
            assert!(!t.contains(secret), "{secret:?} leaked into the trace:\n{t}");
        }
        for shown in ["visible-data", "visible-two", "[kid-open]", "world:anyone:cdrwa"] {
            assert!(t.contains(shown), "{shown:?} missing from the trace:\n{t}");
        }
        assert!(t.contains("<10 bytes, not world-readable>"), "{t}");
        assert!(t.contains("<1 children, not world-readable>"), "{t}");
        assert!(t.contains("acl <2 entries, not world-readable>"), "{t}");
        assert!(outs
            .iter()
            .any(|o| matches!(o, Output::Trace(TraceEvent::Proposed { op, .. }) if op.contains("<10 bytes"))));
    }

    /// Logged but not yet applied transactions count: a pending setACL that takes READ away
    /// hides the node at once; a pending create with world READ shows its node's contents.
    #[test]
    fn pending_acl_changes_count() {
        let mut one = One::serving();
        let (grant, _) = one.connect(1, new_session("10.0.0.1", Some(&[1; 16])));
        let s = grant.expect("granted").session;
        let o = one.feed(Input::Client(crate::peer::ClientRequest { session: s, xid: 1, op: create("/a", "x", ALL) }));
        one.settle(o);
        assert!(one.p.world_readable("/a"));
        assert!(!one.p.world_readable("/b"), "no node: nothing to show");
        let next =
            |one: &One, n: u32| crate::zxid::Zxid::new(one.p.last_committed.epoch, one.p.last_committed.counter + n);
        let pending = |op: Op, z| crate::log::Entry {
            zxid: z,
            txn: crate::txn::Txn { session: s, time_ms: 0, auth: Vec::new(), op }.into(),
            origin: None,
        };
        let shut = vec![Acl { perms: ALL & !READ, id: Id::new("world", "anyone") }];
        let z = next(&one, 1);
        one.p.log_append(pending(Op::SetAcl { path: "/a".into(), acl: shut, version: -1 }, z));
        assert!(!one.p.world_readable("/a"), "a pending setACL without world READ hides /a");
        let z = next(&one, 2);
        let mk = Op::Create {
            path: "/b".into(),
            data: Data::from("y"),
            acl: crate::acl::open_acl_unsafe(),
            mode: CreateMode::Persistent,
        };
        one.p.log_append(pending(Op::Multi(vec![mk]), z));
        assert!(one.p.world_readable("/b"), "a pending open create shows /b");
    }
}
