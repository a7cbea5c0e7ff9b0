//! The rows the page draws, and what only the in-tab simulator knows (znode trees, messages
//! in flight, safety checks, narration). Roles, epochs, zxids, votes, ACK counts and sync
//! modes come from the incremental view model (`viewmodel.rs`), fed the core's own
//! `TraceEvent`s; `peers` reads `Peer::status` directly and is the reference that model is
//! tested against.

use crate::model::role_name;
use std::collections::BTreeMap;
use zabra_core::ids::Sid;
use zabra_core::message::MsgId;
use zabra_core::message::MsgKind;
use zabra_core::message::ServerState;
use zabra_core::peer::Phase;
use zabra_core::sim::Sim;
#[cfg(test)]
use zabra_core::trace::TraceEvent;
use zabra_core::{Instant, Zxid};

#[derive(Clone, Debug, PartialEq)]
pub struct PeerView {
    pub sid: u64,
    /// LOOKING, FOLLOWING, LEADING, OBSERVING or DOWN.
    pub role: &'static str,
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    pub last_logged: String,
    pub last_committed: String,
    /// `(epoch,counter)`: short enough to fit inside a peer's circle.
    pub committed_short: String,
    pub leader: Option<u64>,
    pub round: u64,
    pub serving: bool,
}

impl PeerView {
    pub fn up(&self) -> bool {
        self.role != "DOWN"
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MsgView {
    /// The core's message id, stable while the message is in flight (a key for animation).
    pub id: String,
    pub from: u64,
    pub to: u64,
    /// The core's message kind name (`data-kind`): Notification, FollowerInfo, Proposal, ...
    pub kind: String,
    /// What a student reads on the dot: "vote" for a notification, else the kind.
    pub label: String,
    pub detail: String,
    /// 0 for the head of its connection, the only one that may be delivered next.
    pub position: usize,
    pub stalled: bool,
    /// How far along its link the message is drawn: 0 at the sender, 1 at the receiver.
    pub progress: f64,
    /// Sent during the last move forward: when it left, as a fraction of that move (the
    /// picture draws it entering from its sender).
    pub enter: Option<f64>,
}

/// One zxid in a peer's history: what it holds and how far the transaction got.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRow {
    pub zxid: String,
    pub op: String,
    pub committed: bool,
    /// ACKs counted by the leader that proposed it, and the quorum it needed.
    pub acks: Option<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ElectionRow {
    pub sid: u64,
    pub round: u64,
    /// (proposed leader, its zxid, its epoch) as this peer votes now.
    pub vote: Option<(u64, String, u32)>,
    /// The latest vote received from each peer in the current round: from → proposed leader.
    pub received: BTreeMap<u64, u64>,
    pub decided: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyncRow {
    pub leader: u64,
    pub learner: u64,
    pub mode: String,
    pub learner_zxid: String,
    pub to: String,
    /// What the leader sent, in words: for DIFF the entries after the learner's last zxid up
    /// to the leader's, for TRUNC where the learner cuts its log, for SNAP the snapshot's zxid.
    pub sent: String,
}

/// A znode row of the tree table (the one listing of `zabra_core::datatree`).
pub use zabra_core::datatree::ZnodeRow as NodeRow;

#[derive(Clone, Debug, PartialEq)]
pub struct SafetyView {
    pub ok: bool,
    pub violations: Vec<String>,
}

/// The properties the simulator checks after every step (core/src/sim/check.rs and the
/// client-history checkers), named after the ZAB TLA+ specs.
pub const CHECKERS: [(&str, &str); 9] = [
    ("Agreement / PrefixConsistency / TotalOrder", "every peer applies one committed sequence, in order"),
    ("LocalPrimaryOrder", "a peer applies zxids in increasing order"),
    ("Leadership", "at most one established leader per epoch"),
    ("PrimaryIntegrity", "a new leader holds every committed transaction"),
    ("CommittedLogDurability", "a quorum of voters durably holds the last commit"),
    ("ProcessConsistency", "with no write pending, memory and disk agree"),
    ("Epochs", "epochs never go back; accepted ≥ current on disk"),
    ("Client history", "replies match the committed order (linearizable writes)"),
    ("Watches", "each watch fires once, for the right change"),
];

pub fn peers(sim: &Sim) -> Vec<PeerView> {
    sim.sids().into_iter().map(|sid| peer_view(sim, sid)).collect()
}

fn peer_view(sim: &Sim, sid: Sid) -> PeerView {
    match sim.status(sid) {
        Some(s) => PeerView {
            sid: sid.0,
            role: role_name(Some(s.state)),
            accepted_epoch: s.accepted_epoch,
            current_epoch: s.current_epoch,
            last_logged: s.last_logged.to_string(),
            last_committed: s.last_committed.to_string(),
            committed_short: format!("{:?}", s.last_committed),
            leader: s.leader.map(|l| l.0),
            round: s.round,
            serving: s.serving,
        },
        None => {
            let disk = sim.storage(sid);
            PeerView {
                sid: sid.0,
                role: role_name(None),
                accepted_epoch: disk.map_or(0, |d| d.accepted_epoch),
                current_epoch: disk.map_or(0, |d| d.current_epoch),
                last_logged: disk.map_or(Zxid::ZERO, |d| d.last_zxid()).to_string(),
                last_committed: "-".into(),
                committed_short: "-".into(),
                leader: None,
                round: 0,
                serving: false,
            }
        }
    }
}

pub fn kind_label(k: MsgKind) -> String {
    match k {
        MsgKind::Notification => "vote".into(),
        other => format!("{other:?}"),
    }
}

/// How far a message has travelled: `(now − sent) / (deliver − sent)` clamped to [0, 1]. A
/// message due now (or overdue, as on a stalled direction) is at the receiver.
pub fn progress(now: Instant, sent: Instant, deliver: Instant) -> f64 {
    if deliver <= sent {
        return 1.0;
    }
    let done = now.0.saturating_sub(sent.0) as f64;
    (done / (deliver.0 - sent.0) as f64).clamp(0.0, 1.0)
}

/// Where a message whose send time is unknown is drawn: by its place in the queue, the head
/// nearest the receiver.
pub fn progress_by_position(position: usize) -> f64 {
    (0.9 - 0.12 * position as f64).max(0.2)
}

/// Messages in flight, without send times (drawn by queue position).
pub fn in_flight(sim: &Sim) -> Vec<MsgView> {
    in_flight_timed(sim, &BTreeMap::new(), None)
}

/// Messages in flight, each placed along its link by the time since it was sent, and marked
/// when it left during the last move (`motion`).
pub fn in_flight_timed(
    sim: &Sim,
    sent: &BTreeMap<(MsgId, Sid), Instant>,
    motion: Option<&crate::motion::Motion>,
) -> Vec<MsgView> {
    let now = sim.now;
    sim.in_flight_messages()
        .into_iter()
        .map(|m| MsgView {
            progress: sent
                .get(&(m.id, m.to))
                .map_or(progress_by_position(m.position), |s| progress(now, *s, m.deliver_at)),
            id: format!("{:?}", m.id),
            from: m.from.0,
            to: m.to.0,
            kind: format!("{:?}", m.kind),
            label: kind_label(m.kind),
            detail: m.detail,
            position: m.position,
            stalled: m.stalled,
            enter: motion.and_then(|mo| mo.entered(m.id, m.to)),
        })
        .collect()
}

/// The selected peer's log, newest first, with the ACK counts its leader saw for each zxid
/// (from the view model: no pass over the trace).
pub fn history(sim: &Sim, vm: &crate::viewmodel::ViewModel, sid: u64) -> Vec<HistoryRow> {
    let Some(p) = sim.peer(Sid(sid)) else { return disk_history(sim, sid) };
    let committed = p.status().last_committed;
    p.log()
        .entries()
        .iter()
        .rev()
        .map(|e| {
            let proposal = vm.proposal(&e.zxid);
            HistoryRow {
                zxid: e.zxid.to_string(),
                op: proposal.map_or_else(|| e.txn.op.path().to_string(), |p| p.op.clone()),
                committed: e.zxid <= committed,
                acks: proposal.filter(|p| p.quorum > 0).map(|p| (p.acks, p.quorum)),
            }
        })
        .collect()
}

/// One link of the cluster picture: `state` is "ok", "cut" (a partition), "down" (the
/// connection is closed, e.g. a crashed peer), or "stalled" (a silent partition or a
/// one-way cut: messages wait); `title` says it in words.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkView {
    pub a: u64,
    pub b: u64,
    pub state: &'static str,
    pub title: String,
}

pub fn links(sim: &Sim) -> Vec<LinkView> {
    let sids = sim.sids();
    let mut out = Vec::new();
    for (i, a) in sids.iter().enumerate() {
        for b in &sids[i + 1..] {
            let (cut, down, ab, ba) = sim.link_state(*a, *b);
            let (state, title) = if cut {
                ("cut", format!("{a} – {b}: cut by a partition"))
            } else if ab || ba {
                let dirs = match (ab, ba) {
                    (true, true) => format!("both ways ({a} ↔ {b})"),
                    (true, false) => format!("{a} → {b}"),
                    _ => format!("{b} → {a}"),
                };
                ("stalled", format!("{a} – {b}: messages wait {dirs} (silent partition or one-way cut)"))
            } else if down {
                ("down", format!("{a} – {b}: no connection"))
            } else {
                ("ok", format!("{a} – {b}: connected"))
            };
            out.push(LinkView { a: a.0, b: b.0, state, title });
        }
    }
    out
}

/// Every peer's log side by side, aligned by zxid (the last `n` zxids any peer holds), so a
/// DIFF shows as boxes appearing, a TRUNC as a tail disappearing, and a SNAP as a row that
/// starts over. A down peer's row is what its disk holds.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LogsView {
    pub zxids: Vec<Zxid>,
    /// (sid, up, one cell per zxid: `Some(committed)` where the peer holds it).
    pub rows: Vec<(u64, bool, Vec<Option<bool>>)>,
    /// Where a peer's log starts (its snapshot), when that is after the first column.
    pub bases: BTreeMap<u64, Zxid>,
}

pub fn logs(sim: &Sim, n: usize) -> LogsView {
    let mut held: BTreeMap<u64, (bool, Vec<Zxid>, Zxid, Zxid)> = BTreeMap::new();
    for s in sim.sids() {
        let entry = match sim.peer(s) {
            Some(p) => {
                (true, p.log().entries().iter().map(|e| e.zxid).collect(), p.status().last_committed, p.log().base())
            }
            None => match sim.storage(s) {
                Some(st) => (false, st.log.iter().map(|e| e.zxid).collect(), Zxid::ZERO, st.snapshot_zxid()),
                None => (false, Vec::new(), Zxid::ZERO, Zxid::ZERO),
            },
        };
        held.insert(s.0, entry);
    }
    let all: std::collections::BTreeSet<Zxid> = held.values().flat_map(|h| h.1.iter().copied()).collect();
    let zxids: Vec<Zxid> = all.iter().rev().take(n).rev().copied().collect();
    let first = zxids.first().copied().unwrap_or(Zxid::ZERO);
    let mut bases = BTreeMap::new();
    let rows = held
        .iter()
        .map(|(sid, (up, log, committed, base))| {
            if *base > first {
                bases.insert(*sid, *base);
            }
            let have: std::collections::BTreeSet<&Zxid> = log.iter().collect();
            let cells = zxids.iter().map(|z| have.contains(z).then_some(*up && z <= committed)).collect();
            (*sid, *up, cells)
        })
        .collect();
    LogsView { zxids, rows, bases }
}

/// A down peer's log as its disk holds it (what it will restart from), newest first: the
/// page can inspect a crashed peer's disk.
fn disk_history(sim: &Sim, sid: u64) -> Vec<HistoryRow> {
    let Some(st) = sim.storage(Sid(sid)) else { return Vec::new() };
    st.log
        .iter()
        .rev()
        .map(|e| HistoryRow {
            zxid: e.zxid.to_string(),
            op: format!("on disk: {}", e.txn.op.path()),
            committed: false,
            acks: None,
        })
        .collect()
}

/// Every peer's vote and round, read from the whole trace: the reference the view model's
/// incremental rows are tested against.
#[cfg(test)]
pub fn election(sim: &Sim) -> Vec<ElectionRow> {
    let mut rows: BTreeMap<u64, ElectionRow> =
        sim.sids().into_iter().map(|s| (s.0, ElectionRow { sid: s.0, ..ElectionRow::default() })).collect();
    for e in &sim.trace {
        match e {
            TraceEvent::NewRound { sid, round, vote } => {
                let r = rows.entry(sid.0).or_default();
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
                r.received.clear();
                r.decided = None;
            }
            TraceEvent::VoteChanged { sid, round, vote } => {
                let r = rows.entry(sid.0).or_default();
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
            }
            TraceEvent::VoteReceived { sid, from, vote, .. } => {
                rows.entry(sid.0).or_default().received.insert(from.0, vote.leader.0);
            }
            TraceEvent::ElectionDecided { sid, leader, .. } => rows.entry(sid.0).or_default().decided = Some(leader.0),
            TraceEvent::Crashed { sid, .. } => {
                let r = rows.entry(sid.0).or_default();
                (r.vote, r.decided) = (None, None);
                r.received.clear();
            }
            _ => {}
        }
    }
    rows.into_values().collect()
}

/// The selected peer's znode tree, depth first, with each node's Stat.
pub fn tree(sim: &Sim, sid: u64) -> Vec<NodeRow> {
    sim.peer(Sid(sid)).map_or_else(Vec::new, |p| p.tree().rows(usize::MAX))
}

/// The sessions the selected peer knows (replicated: every peer has the same table).
pub fn sessions(sim: &Sim, sid: u64) -> Vec<(String, u32)> {
    let Some(p) = sim.peer(Sid(sid)) else { return Vec::new() };
    // The leader tracks each session's deadline: show how long until it expires.
    p.session_deadlines()
        .into_iter()
        .map(|(id, timeout, deadline)| {
            let left = deadline.map_or(String::new(), |d| {
                format!(" · expires in {} ms unless its client is heard", d.0.saturating_sub(sim.now.0) / 1000)
            });
            (format!("{id}{left}"), timeout)
        })
        .collect()
}

/// A timer the picture draws as a shrinking ring around a peer.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerView {
    pub sid: u64,
    /// What is left of it, from 1 (just reset) to 0 (it fires).
    pub left: f64,
    pub title: String,
    /// Rings around the same peer, from the inside out (several sessions on one peer).
    pub ring: usize,
    /// The session it counts down for (session timers only).
    pub session: Option<String>,
}

/// Each learner's sync-limit timer: how long it still waits for a word from its leader before
/// it gives up and goes LOOKING (reset by every message from the leader).
pub fn timers(sim: &Sim) -> Vec<TimerView> {
    sim.sids()
        .into_iter()
        .filter_map(|s| {
            let p = sim.peer(s)?;
            let st = p.status();
            let learner = matches!(st.state, ServerState::Following | ServerState::Observing);
            if !learner || st.phase != Phase::Broadcast {
                return None;
            }
            let total = p.config().sync_timeout().0.max(1);
            let left_us = p.next_deadline()?.0.saturating_sub(sim.now.0);
            Some(TimerView {
                sid: s.0,
                left: (left_us as f64 / total as f64).clamp(0.0, 1.0),
                title: format!(
                    "sync limit: peer {s} gives up on its leader in {} ms unless it hears from it (limit {} ms)",
                    left_us / 1000,
                    total / 1000
                ),
                ring: 0,
                session: None,
            })
        })
        .collect()
}

/// Each session's timeout as the leader counts it down (reset whenever the session's client
/// is heard): a ring around the peer its client is connected to, or around the leader when
/// the client is not connected (only the leader's clock runs then). None without a leader.
pub fn session_timers(sim: &Sim) -> Vec<TimerView> {
    let Some(leader) = sim.leader() else { return Vec::new() };
    let Some(p) = sim.peer(leader) else { return Vec::new() };
    let mut rings: BTreeMap<u64, usize> = BTreeMap::new();
    p.session_deadlines()
        .into_iter()
        .filter_map(|(id, timeout, deadline)| {
            let left_us = deadline?.0.saturating_sub(sim.now.0);
            let client = sim.clients.iter().find(|c| c.session == id && c.connected);
            let sid = client.map_or(leader.0, |c| c.peer.0);
            let ring = rings.entry(sid).or_default();
            *ring += 1;
            let whose = match client {
                Some(c) => format!("its client is connected to peer {}", c.peer),
                None => format!("its client is not connected: leader {leader} counts down alone"),
            };
            Some(TimerView {
                sid,
                left: (left_us as f64 / (u64::from(timeout).max(1) * 1000) as f64).clamp(0.0, 1.0),
                title: format!(
                    "session {id}: leader {leader} expires it in {} ms unless its client is heard (timeout {timeout} ms); {whose}",
                    left_us / 1000
                ),
                ring: *ring - 1,
                session: Some(format!("{id}")),
            })
        })
        .collect()
}

/// The watches the selected peer holds for its clients (watches are not replicated).
pub fn watches(sim: &Sim, sid: u64) -> Vec<String> {
    let Some(p) = sim.peer(Sid(sid)) else { return Vec::new() };
    p.watch_list().into_iter().map(|(path, table, s)| format!("{path} ({table} watch of {s})")).collect()
}

pub fn safety(sim: &Sim) -> SafetyView {
    SafetyView { ok: sim.violations.is_empty(), violations: sim.violations.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Classroom, Setup};

    fn stable_cluster() -> Classroom {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        c.push(Action::Stabilize);
        c
    }

    #[test]
    fn peers_show_one_leader_and_followers_after_election() {
        let c = stable_cluster();
        let ps = peers(c.sim());
        assert_eq!(ps.len(), 3);
        assert_eq!(ps.iter().filter(|p| p.role == "LEADING").count(), 1);
        assert_eq!(ps.iter().filter(|p| p.role == "FOLLOWING").count(), 2);
        assert!(ps.iter().all(|p| p.current_epoch >= 1 && p.last_committed.starts_with("0x")));
        let el = election(c.sim());
        let leader = ps.iter().find(|p| p.role == "LEADING").map(|p| p.sid);
        assert!(el.iter().all(|r| r.decided == leader));
    }

    #[test]
    fn down_peer_shows_its_disk_epochs() {
        let mut c = stable_cluster();
        let epoch = peers(c.sim())[0].current_epoch;
        c.push(Action::Crash { sid: 1 });
        let p = &peers(c.sim())[0];
        assert_eq!(p.role, "DOWN");
        assert!(!p.up());
        assert_eq!(p.current_epoch, epoch);
    }

    #[test]
    fn a_write_shows_acks_against_quorum_and_commits_in_the_tree() {
        let mut c = stable_cluster();
        c.push(Action::ClientWrite { sid: 2, path: "/a".into(), data: "x".into() });
        c.push(Action::Stabilize);
        let h = history(c.sim(), c.view_model(), 1);
        let row = h.iter().find(|r| r.op.contains("/a")).expect("the write is logged");
        assert!(row.committed);
        let (acks, quorum) = row.acks.expect("acks counted");
        assert_eq!(quorum, 2);
        assert!(acks >= quorum);
        let t = tree(c.sim(), 3);
        let a = t.iter().find(|n| n.path == "/a").expect("in the tree");
        assert_eq!(a.data, "x");
        assert_eq!(a.depth, 1);
        assert!(!sessions(c.sim(), 3).is_empty());
    }

    #[test]
    fn manual_network_shows_votes_in_flight_until_delivered() {
        let setup = Setup { manual: true, ..Setup::default() };
        let mut c = Classroom::new(setup, vec![Action::StartAll], vec![]);
        for _ in 0..20 {
            c.push(Action::Step);
        }
        let msgs = in_flight(c.sim());
        let head = msgs.iter().find(|m| m.position == 0).expect("something in flight").clone();
        assert!(msgs.iter().any(|m| m.kind == "Notification" && m.label == "vote"));
        let before = msgs.len();
        c.push(Action::Deliver { from: head.from, to: head.to });
        assert!(in_flight(c.sim()).len() < before + 3);
        assert!(safety(c.sim()).ok);
    }

    #[test]
    fn dropping_a_vote_keeps_safety_and_the_election_completes() {
        let setup = Setup { manual: true, ..Setup::default() };
        let mut c = Classroom::new(setup, vec![Action::StartAll], vec![]);
        let vote = |c: &Classroom| in_flight(c.sim()).into_iter().find(|m| m.position == 0 && m.kind == "Notification");
        let mut head = None;
        for _ in 0..200 {
            head = vote(&c);
            if head.is_some() {
                break;
            }
            c.push(Action::Step);
        }
        let head = head.expect("a vote at the head of a connection");
        let before = in_flight(c.sim()).len();
        c.push(Action::Drop { from: head.from, to: head.to });
        assert_eq!(in_flight(c.sim()).len(), before - 1, "the vote is lost");
        assert_eq!(c.sim().stats.dropped_notifications, 1);
        // Now play the network honestly: deliver every head, else let time pass (resends).
        for _ in 0..5000 {
            if peers(c.sim()).iter().filter(|p| p.serving).count() == 3 {
                break;
            }
            let heads: Vec<MsgView> = in_flight(c.sim()).into_iter().filter(|m| m.position == 0).collect();
            if heads.is_empty() {
                c.push(Action::Step);
            }
            for m in heads {
                c.push(Action::Deliver { from: m.from, to: m.to });
            }
            assert!(safety(c.sim()).ok, "{:?}", c.sim().violations);
        }
        let ps = peers(c.sim());
        assert_eq!(ps.iter().filter(|p| p.role == "LEADING").count(), 1, "{ps:?}");
        assert!(ps.iter().all(|p| p.serving), "{ps:?}");
        assert!(safety(c.sim()).ok);
    }

    #[test]
    fn buggy_mode_breaks_a_property() {
        let setup = Setup { mutant: crate::model::mutant_by_name("ack-before-durable"), ..Setup::default() };
        let c = crate::lessons::classroom_for("bug-ack-before-durable", &setup).expect("lesson");
        let mut c = c;
        let n = c.actions.len();
        c.seek(n);
        let s = safety(c.sim());
        assert!(!s.ok, "the checkers must catch the mutant");
        assert!(s.violations.iter().any(|v| v.contains("CommittedLogDurability")));
    }

    /// A session's ring shrinks while its client is silent, and goes with the session.
    #[test]
    fn a_session_ring_shrinks_while_its_client_is_silent_and_goes_when_it_expires() {
        let mut c = stable_cluster();
        c.push(Action::Script("client 2 create -e /e x".into()));
        c.push(Action::Stabilize);
        let t = session_timers(c.sim());
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].sid, 2, "drawn around the peer its client talks to");
        c.push(Action::Script("client 2 vanish 5s".into()));
        c.push(Action::RunFor { ms: 100 });
        let a = session_timers(c.sim());
        c.push(Action::RunFor { ms: 200 });
        let b = session_timers(c.sim());
        assert_eq!((a.len(), b.len()), (1, 1));
        assert!(b[0].left < a[0].left, "{a:?} then {b:?}");
        assert!(b[0].title.contains("not connected"), "{}", b[0].title);
        c.push(Action::RunFor { ms: 1500 });
        assert!(session_timers(c.sim()).is_empty(), "the session expired");
        assert!(!tree(c.sim(), 1).iter().any(|n| n.path == "/e"));
    }

    #[test]
    fn progress_is_the_clamped_fraction_of_the_trip() {
        let t = |us: u64| Instant(us);
        assert_eq!(progress(t(100), t(100), t(300)), 0.0);
        assert_eq!(progress(t(150), t(100), t(300)), 0.25);
        assert_eq!(progress(t(200), t(100), t(300)), 0.5);
        assert_eq!(progress(t(300), t(100), t(300)), 1.0);
        assert_eq!(progress(t(900), t(100), t(300)), 1.0, "overdue (stalled) stays at the end");
        assert_eq!(progress(t(50), t(100), t(300)), 0.0);
        assert_eq!(progress(t(100), t(100), t(100)), 1.0);
        assert!(progress_by_position(0) > progress_by_position(1));
        assert!(progress_by_position(50) > 0.0);
    }

    #[test]
    fn dots_travel_as_steps_pass() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        let mut moved = false;
        for _ in 0..40 {
            let before = in_flight_timed(c.sim(), &c.sent_times().at, None);
            c.push(Action::Step);
            let after = in_flight_timed(c.sim(), &c.sent_times().at, None);
            assert!(after.iter().all(|m| (0.0..=1.0).contains(&m.progress)));
            for a in &after {
                if let Some(b) = before.iter().find(|b| b.id == a.id && b.to == a.to) {
                    assert!(a.progress >= b.progress, "a dot never goes back: {b:?} -> {a:?}");
                    moved |= a.progress > b.progress;
                }
            }
        }
        assert!(moved, "some message moved along its link between steps");
        assert!(c.sent_times().at.len() < 200, "delivered messages are forgotten");
    }
}
