//! Clients' writes as the student follows them: pending until answered, then how they ended,
//! in plain words. A write sent to a leader that cannot reach a quorum must not vanish: it
//! shows as pending (with why it cannot commit), and when the peer gives up the page says the
//! write failed and whether it was committed anyway.
//!
//! Fed after each action from the trace (`ClientRequest`, `ClientReply`, `Applied`) and the
//! simulated clients (a request dropped with its connection gets no reply: it disappears
//! from its client's outstanding requests). Bounded: [`MAX_DONE`] outcomes are kept.

use std::collections::{BTreeMap, VecDeque};
use zabra_core::ids::{SessionId, Sid};
use zabra_core::message::ServerState;
use zabra_core::sim::Sim;
use zabra_core::trace::TraceEvent;

/// Finished writes kept (the latest).
pub const MAX_DONE: usize = 6;

/// One write, as the client panel lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestView {
    /// The peer the client sent it to.
    pub peer: u64,
    /// What it does, as the core describes it (`create /a "x"`).
    pub what: String,
    /// The znode it writes (for tests and markers).
    pub path: String,
    /// "pending", "ok" or "failed".
    pub state: &'static str,
    /// What happened, or why it still waits, in plain words.
    pub words: String,
}

#[derive(Clone, Debug)]
struct Pending {
    peer: u64,
    what: String,
    committed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Requests {
    pending: BTreeMap<(SessionId, i64), Pending>,
    done: VecDeque<RequestView>,
    seen: usize,
}

/// Client operations that only read (or keep the session alive): not followed here.
fn is_read(op: &str) -> bool {
    let first = op.split_whitespace().next().unwrap_or("");
    matches!(
        first,
        "get"
            | "exists"
            | "ls"
            | "getAcl"
            | "getEphemerals"
            | "getAllChildrenNumber"
            | "multiRead"
            | "sync"
            | "addWatch"
            | "removeWatches"
            | "checkWatches"
            | "setWatches"
            | "addauth"
            | "whoami"
            | "ping"
    )
}

fn path_of(what: &str) -> String {
    what.split_whitespace().find(|w| w.starts_with('/')).unwrap_or("").to_string()
}

impl Requests {
    /// Reads what the last action did to clients' writes.
    pub fn track(&mut self, sim: &Sim) {
        let new = sim.trace.get(self.seen..).unwrap_or_default();
        self.seen = sim.trace.len();
        for e in new {
            match e {
                TraceEvent::ClientRequest { sid, session, xid, op } if !is_read(op) => {
                    self.pending.entry((*session, *xid)).or_insert(Pending {
                        peer: sid.0,
                        what: op.clone(),
                        committed: false,
                    });
                }
                TraceEvent::Applied { origin: Some(o), .. } => {
                    if let Some(p) = self.pending.get_mut(&(o.session, o.xid)) {
                        p.committed = true;
                    }
                }
                TraceEvent::ClientReply { session, xid, result, .. } => {
                    if let Some(p) = self.pending.remove(&(*session, *xid)) {
                        self.answered(p, result);
                    }
                }
                _ => {}
            }
        }
        // Dropped with its connection: no reply will come (ZooKeeper's ConnectionLoss).
        let lost: Vec<(SessionId, i64)> = self
            .pending
            .keys()
            .filter(|(s, x)| !sim.clients.iter().any(|c| c.session == *s && c.outstanding.contains_key(x)))
            .copied()
            .collect();
        for k in lost {
            if let Some(p) = self.pending.remove(&k) {
                self.answered(p, "error ConnectionLoss");
            }
        }
    }

    fn answered(&mut self, p: Pending, result: &str) {
        let failed = result.starts_with("error");
        let words = if result.contains("ConnectionLoss") {
            format!(
                "failed: peer {} stopped serving before it answered (connection lost). {} The client itself cannot tell whether it happened: it must check and retry.",
                p.peer,
                if p.committed {
                    "The write was committed anyway."
                } else {
                    "It never reached a quorum, so it was never committed."
                }
            )
        } else if failed {
            format!("failed: peer {} answered {}", p.peer, result.trim_start_matches("error "))
        } else {
            format!("committed: peer {} answered {result}", p.peer)
        };
        if self.done.len() == MAX_DONE {
            self.done.pop_front();
        }
        let path = path_of(&p.what);
        self.done.push_back(RequestView {
            peer: p.peer,
            what: p.what,
            path,
            state: if failed { "failed" } else { "ok" },
            words,
        });
    }

    /// Writes still waiting, each with why, then the latest finished ones (newest first).
    pub fn views(&self, sim: &Sim) -> Vec<RequestView> {
        let pending = self.pending.values().map(|p| RequestView {
            peer: p.peer,
            what: p.what.clone(),
            path: path_of(&p.what),
            state: "pending",
            words: why_pending(sim, p.peer),
        });
        pending.chain(self.done.iter().rev().cloned()).collect()
    }
}

/// Whether `a` and `b` can talk now (no partition, stall or closed connection).
fn reachable(sim: &Sim, a: Sid, b: Sid) -> bool {
    let (cut, down, ab, ba) = sim.link_state(a, b);
    !(cut || down || ab || ba)
}

/// Why a write sent to `peer` has no answer yet, in plain words.
pub fn why_pending(sim: &Sim, peer: u64) -> String {
    let p = Sid(peer);
    let Some(st) = sim.status(p) else {
        return format!("pending: peer {peer} is down; the client will see its connection drop and the write fail.");
    };
    let voters = sim.voters();
    let quorum = voters.len() / 2 + 1;
    match st.state {
        ServerState::Leading => {
            let hears = voters
                .iter()
                .filter(|v| {
                    **v == p
                        || (reachable(sim, p, **v)
                            && sim.status(**v).is_some_and(|s| s.state == ServerState::Following && s.leader == Some(p)))
                })
                .count();
            if hears < quorum {
                format!(
                    "pending, and it cannot commit: peer {peer} still leads, but only {hears} of the {} voters are with it and a quorum is {quorum}. When its followers stay silent past the sync limit it steps down, and the write fails.",
                    voters.len()
                )
            } else {
                format!("pending: leader {peer} waits for acks from a quorum ({quorum} of {}).", voters.len())
            }
        }
        ServerState::Following | ServerState::Observing => match st.leader {
            Some(l) if reachable(sim, p, l) => format!("pending: peer {peer} passed it to leader {l}; waiting for the commit."),
            Some(l) => format!(
                "pending, and it cannot commit: peer {peer} cannot reach its leader {l}. It waits until it gives up on that leader (sync limit); then the write fails."
            ),
            None => format!("pending: peer {peer} has no leader yet."),
        },
        ServerState::Looking => format!(
            "pending, and it cannot commit: peer {peer} has no leader (LOOKING); nothing commits until an election ends."
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Action, Classroom, Setup};

    /// The case: a write to a leader cut off from its followers (a silent partition:
    /// it still believes it leads) shows as pending with "cannot commit", then as failed,
    /// never committed, once the leader gives up.
    #[test]
    fn a_write_to_an_isolated_leader_is_pending_then_fails_in_plain_words() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        c.push(Action::Stabilize);
        let leader = c.sim().leader().expect("a leader").0;
        c.push(Action::ClientWrite { sid: leader, path: "/pre".into(), data: "x".into() });
        c.push(Action::Stabilize);
        let v = c.requests().views(c.sim());
        assert_eq!((v.len(), v[0].state, v[0].path.as_str()), (1, "ok", "/pre"), "{v:?}");
        let rest: Vec<u64> = (1..=3).filter(|s| *s != leader).collect();
        c.push(Action::SilentPartition { groups: vec![vec![leader], rest] });
        c.push(Action::ClientWrite { sid: leader, path: "/iso".into(), data: "x".into() });
        c.push(Action::Step);
        let v = c.requests().views(c.sim());
        assert_eq!((v[0].state, v[0].path.as_str(), v[0].peer), ("pending", "/iso", leader), "{v:?}");
        assert!(v[0].words.contains("cannot commit") && v[0].words.contains("quorum"), "{}", v[0].words);
        for _ in 0..400 {
            if c.requests().views(c.sim())[0].state != "pending" {
                break;
            }
            c.push(Action::Step);
        }
        let v = c.requests().views(c.sim());
        assert_eq!((v[0].state, v[0].path.as_str()), ("failed", "/iso"), "{v:?}");
        assert!(v[0].words.contains("never committed"), "{}", v[0].words);
    }

    #[test]
    fn finished_writes_are_bounded() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        c.push(Action::Stabilize);
        for i in 0..(super::MAX_DONE + 3) {
            c.push(Action::ClientWrite { sid: 1, path: format!("/w{i}"), data: "x".into() });
            c.push(Action::Stabilize);
        }
        let v = c.requests().views(c.sim());
        assert_eq!(v.len(), super::MAX_DONE);
        assert!(v.iter().all(|r| r.state == "ok"), "{v:?}");
        assert_eq!(v[0].path, format!("/w{}", super::MAX_DONE + 2), "newest first");
    }
}
