//! The view model's tests (beside it, to keep `viewmodel.rs` short): it agrees with the
//! simulator along whole runs, and times spells without a leader as the nodes saw them.

use super::*;
use crate::model::{Action, Classroom, Setup};
use crate::view;

/// The model, fed the simulator's trace one event at a time, agrees with the peers' own
/// status (what Classroom drew before) after every action, through elections, writes,
/// crashes and restarts.
#[test]
fn the_model_agrees_with_the_peers_status_along_whole_runs() {
    for seed in [1u64, 7, 42] {
        let setup = Setup { seed, nodes: 5, ..Setup::default() };
        let mut c = Classroom::new(setup, vec![Action::StartAll], vec![]);
        let script = [
            Action::Stabilize,
            Action::ClientWrite { sid: 2, path: "/a".into(), data: "x".into() },
            Action::Stabilize,
            Action::Crash { sid: 1 },
            Action::Crash { sid: 5 },
            Action::Stabilize,
            Action::ClientWrite { sid: 3, path: "/b".into(), data: "y".into() },
            Action::RunFor { ms: 300 },
            Action::Restart { sid: 1 },
            Action::Restart { sid: 5 },
            Action::Stabilize,
        ];
        for a in script {
            c.push(a.clone());
            let sim = view::peers(c.sim());
            let vm = c.view_model().peer_views();
            for (s, m) in sim.iter().zip(&vm) {
                let key = |p: &PeerView| (p.sid, p.role, p.current_epoch, p.accepted_epoch, p.leader, p.serving);
                assert_eq!(key(m), key(s), "seed {seed}, after {a:?}");
                if s.up() {
                    assert_eq!(m.last_committed, s.last_committed, "seed {seed}, peer {}, after {a:?}", s.sid);
                    assert_eq!(m.last_logged, s.last_logged, "seed {seed}, peer {}, after {a:?}", s.sid);
                }
            }
            assert_eq!(c.view_model().election(), view::election(c.sim()), "seed {seed}, after {a:?}");
        }
    }
}

#[test]
fn a_killed_leader_opens_a_spell_that_the_next_established_epoch_closes() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let old = c.sim().leader().expect("a leader").0;
    assert!(c.view_model().open_outage().is_none(), "{:?}", c.view_model().outages);
    c.push(Action::Crash { sid: old });
    c.push(Action::Stabilize);
    let o = c.view_model().last_outage().expect("a closed spell").clone();
    let (new, epoch) = o.new_leader.expect("a new leader");
    assert_ne!(new, old);
    assert_eq!(o.lost, Some(old));
    assert!(epoch > c.view_model().peers[&old].current_epoch);
    assert!(o.duration_ms().is_some_and(|d| d > 0.0), "{o:?}");
}

fn role(
    sid: u64,
    from: ServerState,
    to: ServerState,
    leader: Option<u64>,
    reason: Option<LookingReason>,
) -> TraceEvent {
    use zabra_core::{time::Instant, Sid};
    TraceEvent::RoleChanged { sid: Sid(sid), at: Instant(0), from, to, leader: leader.map(Sid), reason }
}

fn established(sid: u64, epoch: u32) -> TraceEvent {
    TraceEvent::EpochEstablished { sid: zabra_core::Sid(sid), epoch, committed: Zxid::ZERO }
}

fn silent(leader: u64, silent_ms: u64) -> Option<LookingReason> {
    Some(LookingReason::LeaderSilent { leader: zabra_core::Sid(leader), silent_ms, limit_ms: 500 })
}

/// Leader 1 leads epoch 1 with followers 2 and 3, as three streams report it.
fn led_by_1() -> ViewModel {
    use ServerState::*;
    let mut m = ViewModel::with_peers([1, 2, 3]);
    m.feed(&role(1, Looking, Leading, Some(1), None), 900.0);
    m.feed(&role(2, Looking, Following, Some(1), None), 900.0);
    m.feed(&role(3, Looking, Following, Some(1), None), 900.0);
    m.feed(&established(1, 1), 1000.0);
    m
}

/// A paused leader is noticed only after the sync limit: the spell starts when the
/// followers last heard from it (the latest of them), not when the first noticed.
#[test]
fn a_silent_leader_is_lost_from_when_its_followers_last_heard_from_it() {
    use ServerState::*;
    let mut m = led_by_1();
    m.feed(&role(2, Following, Looking, None, silent(1, 520)), 3000.0);
    assert!(m.open_outage().is_none(), "leader 1 may still lead 3: {:?}", m.outages);
    m.feed(&role(3, Following, Looking, None, silent(1, 500)), 3010.0);
    assert_eq!(m.open_outage().map(|o| (o.from_ms, o.lost)), Some((2510.0, Some(1))));
    m.feed(&role(3, Looking, Leading, Some(3), None), 3200.0);
    m.feed(&established(3, 2), 3300.0);
    let o = m.last_outage().expect("closed").clone();
    assert_eq!((o.duration_ms(), o.new_leader), (Some(790.0), Some((3, 2))));
    // A closed connection is noticed at once: the first to notice starts the spell.
    let mut k = led_by_1();
    let gone = || Some(LookingReason::LeaderDisconnected { leader: zabra_core::Sid(1) });
    k.feed(&role(2, Following, Looking, None, gone()), 2000.0);
    k.feed(&role(3, Following, Looking, None, gone()), 2004.0);
    assert_eq!(k.open_outage().map(|o| o.from_ms), Some(2000.0));
    // A killed leader's stream closes: then the first follower to notice starts it.
    let mut g = led_by_1();
    g.gone(1, 1990.0);
    g.feed(&role(2, Following, Looking, None, gone()), 2000.0);
    assert_eq!(g.open_outage().map(|o| o.from_ms), Some(2000.0));
}

/// A follower that was stopped for a while loses its leader when it runs again; the
/// leader kept its quorum all along, so there was no spell without a leader.
#[test]
fn a_follower_losing_its_leader_alone_opens_no_spell() {
    use ServerState::*;
    let mut m = led_by_1();
    m.feed(&role(2, Following, Looking, None, silent(1, 4000)), 6000.0);
    m.feed(&role(2, Looking, Following, Some(1), None), 6100.0);
    assert!(m.outages.is_empty(), "{:?}", m.outages);
    assert_eq!(m.established, Some((1, 1)));
}

/// The old leader, resumed after a pause, steps down long after a new leader was
/// established: that is no new spell without a leader.
#[test]
fn a_deposed_leader_stepping_down_later_opens_no_spell() {
    use ServerState::*;
    let mut m = led_by_1();
    m.feed(&role(2, Following, Looking, None, silent(1, 500)), 3000.0);
    m.feed(&role(2, Looking, Leading, Some(2), None), 3100.0);
    m.feed(&role(3, Following, Looking, None, silent(1, 500)), 3000.0);
    m.feed(&role(3, Looking, Following, Some(2), None), 3100.0);
    m.feed(&established(2, 2), 3200.0);
    let quorum_lost = Some(LookingReason::QuorumLost { synced: vec![], quorum: 2, after: None });
    m.feed(&role(1, Leading, Looking, None, quorum_lost), 9000.0);
    m.feed(&role(1, Looking, Following, Some(2), None), 9100.0);
    assert!(m.open_outage().is_none(), "{:?}", m.outages);
    assert_eq!(m.established, Some((2, 2)));
    assert_eq!(m.outages.len(), 1);
}

/// Messages are their nodes' own events: each counts as a sign of life of its node.
#[test]
fn messages_are_signs_of_life_of_their_nodes() {
    use zabra_core::message::{MsgId, MsgKind};
    use zabra_core::Sid;
    let mut m = led_by_1();
    let id = MsgId { from: Sid(1), seq: 9 };
    m.feed(&TraceEvent::MsgSent { id, from: Sid(1), to: Sid(2), kind: MsgKind::Ping, detail: String::new() }, 5000.0);
    m.feed(&TraceEvent::MsgDelivered { id, from: Sid(1), to: Sid(2), kind: MsgKind::Ping }, 5001.0);
    assert_eq!((m.peers[&1].last_ms, m.peers[&2].last_ms, m.peers[&3].last_ms), (5000.0, 5001.0, 900.0));
    assert_eq!(m.msgs.views(5100.0).len(), 1);
}

/// A restarted peer shows what its snapshot had committed from its first event.
#[test]
fn a_restarted_peer_shows_what_it_had_committed() {
    use zabra_core::{time::Instant, Sid};
    let mut m = ViewModel::with_peers([1, 2, 3]);
    let committed = Zxid::new(2, 7);
    let e = TraceEvent::Started {
        sid: Sid(2),
        at: Instant(0),
        accepted_epoch: 2,
        current_epoch: 2,
        last_zxid: Zxid::new(2, 9),
        committed,
    };
    m.feed(&e, 10.0);
    let v = m.peer_views().into_iter().find(|p| p.sid == 2).expect("peer 2");
    assert_eq!((v.role, v.last_committed), ("LOOKING", committed.to_string()));
}

#[test]
fn proposals_count_acks_and_tables_stay_bounded() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    c.push(Action::ClientWrite { sid: 1, path: "/a".into(), data: "x".into() });
    c.push(Action::Stabilize);
    let rows = c.view_model().recent_proposals(10);
    let row = rows.iter().find(|r| r.op.contains("/a")).expect("the write's proposal");
    let (acks, quorum) = row.acks.expect("counted");
    assert!(acks >= quorum && quorum == 2 && row.committed, "{row:?}");
    let mut m = ViewModel::default();
    for i in 0..(MAX_PROPOSALS as u32 + 50) {
        let e = TraceEvent::Proposed { sid: zabra_core::Sid(1), zxid: Zxid::new(1, i + 1), op: "x".into() };
        m.feed(&e, 0.0);
    }
    assert_eq!(m.proposals.len(), MAX_PROPOSALS);
    assert_eq!(m.proposals.keys().next(), Some(&Zxid::new(1, 51)), "the oldest are forgotten");
}

/// The event log keeps the newest lines only, along a run with elections, writes, a crash
/// and a restart, and a topic filter picks its own lines.
#[test]
fn the_event_log_stays_bounded_and_filters_by_topic() {
    let mut c = Classroom::new(Setup { nodes: 5, ..Setup::default() }, vec![Action::StartAll], vec![]);
    for a in [
        Action::Stabilize,
        Action::ClientWrite { sid: 2, path: "/a".into(), data: "x".into() },
        Action::Stabilize,
        Action::Crash { sid: 1 },
        Action::Stabilize,
        Action::Restart { sid: 1 },
        Action::Stabilize,
    ] {
        c.push(a);
    }
    for i in 0..120 {
        c.push(Action::ClientWrite { sid: 3, path: format!("/w{i}"), data: "y".into() });
        c.push(Action::Stabilize);
    }
    let kept = c.sim().trace.iter().filter(|e| Topic::of(e) == Some(Topic::Client)).count();
    assert!(kept > MAX_STORY, "the run logs more client replies than the log keeps ({kept})");
    let lines = c.view_model().narration(usize::MAX);
    assert!(lines.len() <= MAX_STORY * Topic::ALL.len(), "{}", lines.len());
    let last = c.sim().trace.iter().rev().find_map(crate::explain::plain).expect("a logged event");
    assert!(lines.last().is_some_and(|l| l.ends_with(&last)), "{:?} vs {last}", lines.last());
    // A filter keeps its topic's lines only, the newest last.
    let elections = c.view_model().log_lines(|t| t == Topic::Election, 5);
    assert!(!elections.is_empty() && elections.iter().all(|(t, _)| *t == Topic::Election), "{elections:?}");
    let last_election =
        c.sim().trace.iter().rev().filter(|e| Topic::of(e) == Some(Topic::Election)).find_map(crate::explain::plain);
    assert!(elections
        .last()
        .is_some_and(|(_, l)| Some(l).is_some_and(|l| l.ends_with(last_election.as_deref().unwrap_or("?")))));
}

/// One tab peer's own events (what Tabs mode feeds): its election row, its narration.
#[test]
fn a_single_peers_events_fill_its_election_row_and_narration() {
    use zabra_core::message::Vote;
    use zabra_core::Sid;
    let mut v = ViewModel::with_peers([1]);
    let vote = Vote { leader: Sid(3), zxid: Zxid::ZERO, peer_epoch: 0 };
    let looking = ServerState::Looking;
    v.feed(&TraceEvent::NewRound { sid: Sid(1), round: 1, vote }, 10.0);
    v.feed(&TraceEvent::VoteReceived { sid: Sid(1), from: Sid(2), state: looking, round: 1, vote }, 20.0);
    v.feed(&TraceEvent::ElectionDecided { sid: Sid(1), round: 1, leader: Sid(3), state: looking }, 30.0);
    let row = v.election().into_iter().find(|r| r.sid == 1).expect("its row");
    assert_eq!((row.round, row.received.get(&2), row.decided), (1, Some(&3), Some(3)));
    let lines = v.narration(10);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("votes for peer 3") && lines[0].trim_start().starts_with("0.030s"), "{lines:?}");
    assert_eq!(v.events, 3);
}

/// A follower that missed three writes is brought back by DIFF, and the sync row says what
/// the leader sent: the entries after the follower's last zxid up to the leader's last.
#[test]
fn a_diff_row_names_the_entries_the_leader_sent() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let leader = c.sim().leader().expect("a leader").0;
    let follower = (1..=3).find(|s| *s != leader).expect("a follower");
    c.push(Action::Crash { sid: follower });
    for i in 0..3 {
        c.push(Action::ClientWrite { sid: leader, path: format!("/d{i}"), data: "x".into() });
        c.push(Action::Stabilize);
    }
    let before = c.view_model().peers[&follower].last_logged;
    let last = c.view_model().peers[&leader].last_logged;
    c.push(Action::Restart { sid: follower });
    c.push(Action::Stabilize);
    let row = c.view_model().syncs().into_iter().find(|r| r.learner == follower).expect("a sync row");
    assert_eq!(row.mode, "DIFF", "{row:?}");
    assert!(before < last);
    assert_eq!(row.sent, format!("learner at {before}; sends the entries after {before} up to {last}"));
}

/// What the student does to the cluster (a crash, a partition) shows in the event log as a
/// fault line, at the time it happened, before what it caused.
#[test]
fn a_crash_and_a_partition_show_as_fault_lines() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let leader = c.sim().leader().expect("a leader").0;
    c.push(Action::Crash { sid: leader });
    c.push(Action::Partition { groups: vec![vec![1], vec![2, 3]] });
    let faults = c.view_model().log_lines(|t| t == Topic::Faults, 10);
    let text: Vec<&str> = faults.iter().map(|(_, l)| l.as_str()).collect();
    assert!(text.iter().any(|l| l.ends_with(&format!("** {leader} crashed (leader)"))), "{text:?}");
    assert!(text.iter().any(|l| l.contains("** partition")), "{text:?}");
}

/// A crashed peer's election row is emptied (no stale vote for a peer that is down).
#[test]
fn a_crashed_peers_election_row_is_emptied() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let row = |c: &Classroom, s: u64| c.view_model().election().into_iter().find(|r| r.sid == s).expect("row");
    assert!(row(&c, 1).vote.is_some());
    c.push(Action::Crash { sid: 1 });
    let r = row(&c, 1);
    assert!(r.vote.is_none() && r.decided.is_none() && r.received.is_empty(), "{r:?}");
}

/// A crashed peer's history shows what its disk holds (the page can inspect it).
#[test]
fn a_crashed_peers_disk_can_be_inspected() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    c.push(Action::ClientWrite { sid: 1, path: "/kept".into(), data: "x".into() });
    c.push(Action::Stabilize);
    c.push(Action::Crash { sid: 1 });
    let rows = view::history(c.sim(), c.view_model(), 1);
    assert!(rows.iter().any(|r| r.op == "on disk: /kept"), "{rows:?}");
}

/// The side-by-side logs: a TRUNC lesson shows peer 3's extra tail, then without it.
#[test]
fn logs_side_by_side_show_a_trunc() {
    let (before, after) = {
        let l = crate::lessons::lesson("sync-trunc").expect("lesson");
        let mut c = crate::lessons::classroom_for("sync-trunc", &Setup::default()).expect("classroom");
        let (_, ends) = l.actions();
        c.seek(ends[0]);
        let before = view::logs(c.sim(), 10);
        c.seek(*ends.last().expect("steps"));
        (before, view::logs(c.sim(), 10))
    };
    let z75 = Zxid::new(7, 5);
    let col = before.zxids.iter().position(|z| *z == z75).expect("(7,5) is a column before");
    let row = |v: &view::LogsView, s: u64| v.rows.iter().find(|r| r.0 == s).expect("row").2.clone();
    assert_eq!(row(&before, 3)[col], Some(false), "peer 3 holds the uncommitted (7,5) on disk");
    assert_eq!(row(&before, 1)[col], None);
    assert!(!after.zxids.contains(&z75), "after TRUNC nobody holds (7,5): {:?}", after.zxids);
    assert!(after.rows.iter().all(|r| r.1 && r.2.last() == Some(&Some(true))), "{after:?}");
}

/// The picture draws partitions, silent partitions (stalls) and closed connections.
#[test]
fn links_show_partitions_stalls_and_closed_connections() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let state = |c: &Classroom, a: u64, b: u64| {
        view::links(c.sim()).into_iter().find(|l| l.a == a && l.b == b).map(|l| l.state).expect("link")
    };
    assert_eq!(state(&c, 1, 2), "ok");
    c.push(Action::Partition { groups: vec![vec![1], vec![2, 3]] });
    assert_eq!((state(&c, 1, 2), state(&c, 1, 3), state(&c, 2, 3)), ("cut", "cut", "ok"));
    c.push(Action::Heal);
    c.push(Action::Stabilize);
    c.push(Action::SilentPartition { groups: vec![vec![3], vec![1, 2]] });
    assert_eq!((state(&c, 1, 3), state(&c, 1, 2)), ("stalled", "ok"));
    c.push(Action::Heal);
    c.push(Action::Stabilize);
    c.push(Action::Crash { sid: 2 });
    c.push(Action::RunFor { ms: 50 });
    assert_eq!(state(&c, 1, 2), "down");
}

/// A follower's sync-limit ring shrinks while its leader is silent and is full again after
/// the leader is heard; sessions on the leader show when they expire.
#[test]
fn a_followers_sync_limit_ring_shrinks_while_its_leader_is_silent() {
    let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
    c.push(Action::Stabilize);
    let leader = c.sim().leader().expect("a leader").0;
    let f = (1..=3).find(|s| *s != leader).expect("a follower");
    let left = |c: &Classroom| view::timers(c.sim()).into_iter().find(|t| t.sid == f).map(|t| t.left);
    assert!(left(&c).is_some_and(|l| l > 0.0), "a follower in broadcast has a ring");
    assert!(view::timers(c.sim()).iter().all(|t| t.sid != leader), "no ring on the leader");
    let others: Vec<u64> = (1..=3).filter(|s| *s != leader).collect();
    c.push(Action::SilentPartition { groups: vec![vec![leader], others] });
    let start = left(&c).expect("ring");
    c.push(Action::RunFor { ms: 150 });
    let later = left(&c).expect("ring");
    assert!(later < start, "the ring shrinks while the leader is silent: {start} -> {later}");
    c.push(Action::Heal);
    c.push(Action::Stabilize);
    c.push(Action::ClientWrite { sid: leader, path: "/s".into(), data: "x".into() });
    c.push(Action::Stabilize);
    let leader = c.sim().leader().expect("a leader").0;
    let ss = view::sessions(c.sim(), leader);
    assert!(ss.iter().any(|(id, _)| id.contains("expires in")), "{ss:?}");
}
