//! Guided lessons. A lesson is a scenario file in `core/testdata/lessons/` (the core's
//! scenario commands, plus `say` lines that close a lesson step with its narration and
//! `select N` lines that point the page at a peer); the core's golden tests run every one of
//! them, and the page runs the same commands through the same runner, so a lesson can be
//! scrubbed, shared, downloaded and pasted back.
//!
//! A file starts with `# Lesson: TITLE`, `# level: beginner|usecase|advanced`, optionally `# bug:
//! ID` (the known bug it retells: see ../shared/zab-notes.md), then its `cluster` line, the
//! prelude (commands before the first `say`), and its steps.
//!
//! The use-case lessons (`recipes/lessons/`, listed here as `recipe-NAME`) add `recipe` lines
//! that run zabra-recipes' recipes on the same simulator (`zabra_recipes::lesson`); their
//! golden tests are zabra-recipes' `tests/lessons.rs`.

use crate::model::{decode_line, Action, Classroom, Setup};
use std::sync::OnceLock;

/// The lessons, in the order the page lists them.
const FILES: &[(&str, &str)] = &[
    ("intro", include_str!("../../core/testdata/lessons/intro.txt")),
    ("first-election", include_str!("../../core/testdata/lessons/first-election.txt")),
    ("write-committed", include_str!("../../core/testdata/lessons/write-committed.txt")),
    ("leader-crash", include_str!("../../core/testdata/lessons/leader-crash.txt")),
    ("sync-diff", include_str!("../../core/testdata/lessons/sync-diff.txt")),
    ("sync-trunc", include_str!("../../core/testdata/lessons/sync-trunc.txt")),
    ("sync-snap", include_str!("../../core/testdata/lessons/sync-snap.txt")),
    ("sessions-ephemerals-watches", include_str!("../../core/testdata/lessons/sessions-ephemerals-watches.txt")),
    ("partitions", include_str!("../../core/testdata/lessons/partitions.txt")),
    // Use cases: the recipes of zabra-recipes on the simulator (their golden tests live there).
    ("recipe-lock", include_str!("../../recipes/lessons/lock.txt")),
    ("recipe-election", include_str!("../../recipes/lessons/election.txt")),
    ("recipe-membership", include_str!("../../recipes/lessons/membership.txt")),
    ("recipe-config", include_str!("../../recipes/lessons/config.txt")),
    ("recipe-queue", include_str!("../../recipes/lessons/queue.txt")),
    ("recipe-barrier", include_str!("../../recipes/lessons/barrier.txt")),
    ("zk-1154", include_str!("../../core/testdata/lessons/zk-1154.txt")),
    ("g1-commit-lost-in-flight", include_str!("../../core/testdata/lessons/g1-commit-lost-in-flight.txt")),
    ("g2-proposal-only-on-leader", include_str!("../../core/testdata/lessons/g2-proposal-only-on-leader.txt")),
    ("g3-leader-partitioned", include_str!("../../core/testdata/lessons/g3-leader-partitioned.txt")),
    ("zk-335", include_str!("../../core/testdata/lessons/zk-335.txt")),
    ("zk-3911", include_str!("../../core/testdata/lessons/zk-3911.txt")),
    ("bug-zk-3911", include_str!("../../core/testdata/lessons/bug-zk-3911.txt")),
    ("zk-2832", include_str!("../../core/testdata/lessons/zk-2832.txt")),
    ("zk-1277", include_str!("../../core/testdata/lessons/zk-1277.txt")),
    ("g7-pipelined-writes", include_str!("../../core/testdata/lessons/g7-pipelined-writes.txt")),
    ("bug-ack-before-durable", include_str!("../../core/testdata/lessons/bug-ack-before-durable.txt")),
    ("zk-4685", include_str!("../../core/testdata/lessons/zk-4685.txt")),
    ("zk-4394", include_str!("../../core/testdata/lessons/zk-4394.txt")),
    ("spec-issue-1", include_str!("../../core/testdata/lessons/spec-issue-1.txt")),
    ("zk-4712", include_str!("../../core/testdata/lessons/zk-4712.txt")),
    ("zk-3642", include_str!("../../core/testdata/lessons/zk-3642.txt")),
    ("g4-one-way-cut", include_str!("../../core/testdata/lessons/g4-one-way-cut.txt")),
    ("g5-proposal-lost-mid-stream", include_str!("../../core/testdata/lessons/g5-proposal-lost-mid-stream.txt")),
    ("g6-observer-crashes-mid-sync", include_str!("../../core/testdata/lessons/g6-observer-crashes-mid-sync.txt")),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Beginner,
    /// What ZooKeeper is used for: a recipe of zabra-recipes at work (`recipes/lessons/`).
    UseCase,
    Advanced,
}

/// One step of a lesson: its actions, then what the page says once they ran.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub actions: Vec<Action>,
    pub say: String,
    /// The peer the step is about (the page selects it).
    pub select: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    /// The known bug or case it retells (ZOOKEEPER-1154, G2, ...).
    pub bug: Option<String>,
    pub level: Level,
    pub setup: Setup,
    /// Actions before the first step: stored histories, then which peers start.
    pub prelude: Vec<Action>,
    pub steps: Vec<Step>,
    /// The scenario file itself (what "download" gives and a golden test runs).
    pub text: String,
}

impl Lesson {
    /// A lesson from its scenario text (`id`: its name).
    pub fn parse(id: &str, text: &str) -> Result<Lesson, String> {
        let mut title = id.to_string();
        let (mut bug, mut level) = (None, Level::Advanced);
        let mut setup = None;
        let mut prelude = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut pending = Step { actions: Vec::new(), say: String::new(), select: None };
        let mut started = false;
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            let err = |e: String| format!("{id}, line {}: {e}", i + 1);
            if let Some(t) = l.strip_prefix("# Lesson:") {
                title = t.trim().to_string();
            } else if let Some(b) = l.strip_prefix("# bug:") {
                bug = Some(b.trim().to_string());
            } else if let Some(v) = l.strip_prefix("# level:") {
                level = match v.trim() {
                    "beginner" => Level::Beginner,
                    "usecase" => Level::UseCase,
                    _ => Level::Advanced,
                };
            } else if l.starts_with("cluster ") && setup.is_none() {
                let (s, counter) = Setup::parse_cluster(l).map_err(err)?;
                setup = Some(s);
                prelude.extend(counter.map(|counter| Action::FirstCounter { counter }));
            } else if let Some(text) = l.strip_prefix("say ") {
                pending.say = text.trim().to_string();
                if started {
                    steps.push(std::mem::replace(
                        &mut pending,
                        Step { actions: Vec::new(), say: String::new(), select: None },
                    ));
                } else {
                    // The prelude ends here: the first step shows its state as it is.
                    prelude.append(&mut pending.actions);
                    steps.push(std::mem::replace(
                        &mut pending,
                        Step { actions: Vec::new(), say: String::new(), select: None },
                    ));
                    started = true;
                }
            } else if let Some(n) = l.strip_prefix("select ") {
                pending.select = Some(n.trim().parse().map_err(|_| err(format!("bad peer {n:?}")))?);
            } else {
                if setup.is_none() && !l.is_empty() && !l.starts_with('#') {
                    return Err(err("a lesson starts with its `cluster` line".into()));
                }
                pending.actions.extend(decode_line(l).map_err(err)?);
            }
        }
        if !pending.actions.is_empty() {
            return Err(format!("{id}: commands after the last `say` would never be shown"));
        }
        let setup = setup.ok_or(format!("{id}: no `cluster` line"))?;
        Ok(Lesson { id: id.to_string(), title, bug, level, setup, prelude, steps, text: text.to_string() })
    }

    pub fn prelude(&self) -> Vec<Action> {
        self.prelude.clone()
    }

    /// Every step's actions, concatenated, and where each step ends in that list.
    pub fn actions(&self) -> (Vec<Action>, Vec<usize>) {
        let mut all = Vec::new();
        let mut ends = Vec::new();
        for s in &self.steps {
            all.extend(s.actions.iter().cloned());
            ends.push(all.len());
        }
        (all, ends)
    }
}

/// Every lesson, parsed once.
pub fn lessons() -> &'static [Lesson] {
    static ALL: OnceLock<Vec<Lesson>> = OnceLock::new();
    ALL.get_or_init(|| FILES.iter().map(|(id, text)| Lesson::parse(id, text).expect("a lesson file parses")).collect())
}

pub fn lesson(id: &str) -> Option<&'static Lesson> {
    lessons().iter().find(|l| l.id == id)
}

/// A classroom loaded with a lesson: the lesson's own cluster (its `cluster` line) replaces
/// the student's setup.
pub fn classroom_for(id: &str, base: &Setup) -> Option<Classroom> {
    let l = lesson(id)?;
    let _ = base;
    let (actions, _) = l.actions();
    Some(Classroom::new(l.setup.clone(), l.prelude(), actions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{peers, safety, tree};
    use zabra_core::message::MsgKind;
    use zabra_core::trace::TraceEvent;

    fn run_to_end(id: &str) -> Classroom {
        let mut c = classroom_for(id, &Setup::default()).expect("lesson");
        let n = c.actions.len();
        c.seek(n);
        c
    }

    #[test]
    fn every_lesson_parses_and_runs() {
        for l in lessons() {
            let (acts, ends) = l.actions();
            assert_eq!(ends.len(), l.steps.len());
            assert_eq!(ends.last().copied(), Some(acts.len()));
            let c = run_to_end(&l.id);
            if l.setup.mutant.is_none() {
                assert!(safety(c.sim()).ok, "{}: {:?}", l.id, c.sim().violations);
            } else {
                assert!(!safety(c.sim()).ok, "{}: a buggy-mode lesson shows the panel turning red", l.id);
            }
        }
    }

    /// The beginner path comes first, in its order; every lesson file in the folder is listed.
    #[test]
    fn the_beginner_path_comes_first_and_every_file_is_listed() {
        let ids: Vec<&str> = lessons().iter().map(|l| l.id.as_str()).collect();
        let path = [
            "intro",
            "first-election",
            "write-committed",
            "leader-crash",
            "sync-diff",
            "sync-trunc",
            "sync-snap",
            "sessions-ephemerals-watches",
            "partitions",
        ];
        assert_eq!(&ids[..path.len()], &path);
        assert!(lessons()[..path.len()].iter().all(|l| l.level == Level::Beginner));
        let rest = &lessons()[path.len()..];
        let uses = rest.iter().take_while(|l| l.level == Level::UseCase).count();
        assert!(uses >= 1 && rest[..uses].iter().all(|l| l.id.starts_with("recipe-")), "then the use cases");
        assert!(
            rest[uses..].iter().all(|l| l.level == Level::Advanced && l.bug.is_some()),
            "advanced lessons name their case"
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (dir, prefix) in [("core/testdata/lessons", ""), ("recipes/lessons", "recipe-")] {
            let files = std::fs::read_dir(root.join(dir)).expect("lessons").filter_map(|e| {
                let p = e.ok()?.path();
                let stem = p.file_stem()?.to_string_lossy().into_owned();
                (p.extension()? == "txt").then_some(stem)
            });
            for f in files {
                assert!(ids.contains(&format!("{prefix}{f}").as_str()), "{dir}/{f}.txt is not listed in FILES");
            }
        }
    }

    #[test]
    fn the_session_lesson_shows_an_ephemeral_going_with_its_session() {
        let c = end_of_step("sessions-ephemerals-watches", 3);
        assert!(has(&c, 1, "/workers/w3"), "the session is not over yet");
        let c = end_of_step("sessions-ephemerals-watches", 4);
        for sid in 1..=3 {
            assert!(!has(&c, sid, "/workers/w3") && has(&c, sid, "/workers/w2"), "peer {sid}");
        }
        let fired = c
            .sim()
            .trace
            .iter()
            .any(|e| matches!(e, TraceEvent::WatchFired { event, .. } if event.contains("/workers")));
        assert!(fired, "the coordinator's child watch fired");
    }

    #[test]
    fn the_partition_lesson_keeps_the_majority_serving_and_heals() {
        let c = end_of_step("partitions", 3);
        let ps = peers(c.sim());
        assert!(ps[2].role != "LEADING" && ps.iter().any(|p| p.role == "LEADING" && p.sid != 3), "{ps:?}");
        assert!(has(&c, 1, "/during") && !has(&c, 3, "/during"));
        let c = run_to_end("partitions");
        assert!(all_serve_same_commit(&c) && has(&c, 3, "/during") && has(&c, 3, "/before"));
    }

    /// The lock lesson in the classroom: the same recipe code as the example; after the
    /// crash step only the next in line was notified, and a replay (seek back and forth)
    /// shows the same clients, znodes and tokens.
    #[test]
    fn the_lock_lesson_runs_its_recipe_clients_and_replays_alike() {
        let c = end_of_step("recipe-lock", 4);
        let held = c.recipe_clients()[0].znodes.clone();
        assert_eq!(held.len(), 1, "a's lock znode, before its session expires");
        assert!(has(&c, 2, &held[0]));
        let mut c = end_of_step("recipe-lock", 5);
        let v = c.recipe_clients();
        let notified: Vec<u64> = v.iter().map(|a| a.notified).collect();
        assert_eq!(notified, [0, 1, 0], "{v:?}");
        assert!(v[0].znodes.is_empty() && v[1].phase.starts_with("holds"), "{v:?}");
        assert!((1..=3).all(|sid| !has(&c, sid, &held[0])), "a's znode is gone everywhere");
        let (_, ends) = lesson("recipe-lock").expect("lesson").actions();
        c.seek(ends[2]);
        c.seek(ends[5]);
        assert_eq!(c.recipe_clients(), v, "a replay is the same run");
    }

    #[test]
    fn first_election_ends_with_a_leader() {
        let c = run_to_end("first-election");
        assert!(peers(c.sim()).iter().any(|p| p.role == "LEADING"));
    }

    /// The lesson shows each phase in its own step: the crash, both followers LOOKING, the
    /// votes, the decision (LEADING and FOLLOWING, not serving yet), then a higher epoch.
    #[test]
    fn leader_crash_shows_each_phase_of_the_failover() {
        let c = end_of_step("leader-crash", 0);
        let ps = peers(c.sim());
        assert_eq!(ps[2].role, "LEADING", "the lesson's narration says peer 3 leads");
        let e0 = ps[2].current_epoch;
        let roles = |step| peers(end_of_step("leader-crash", step).sim()).iter().map(|p| p.role).collect::<Vec<_>>();
        assert_eq!(roles(1), ["FOLLOWING", "FOLLOWING", "DOWN"], "the crash: followers do not know yet");
        assert_eq!(roles(2), ["LOOKING", "LOOKING", "DOWN"], "the LOOKING phase has its own step");
        assert_eq!(roles(4), ["FOLLOWING", "LEADING", "DOWN"], "decided");
        assert!(peers(end_of_step("leader-crash", 4).sim()).iter().all(|p| !p.serving), "not serving yet");
        let c = end_of_step("leader-crash", 6);
        let ps = peers(c.sim());
        assert!(ps.iter().any(|p| p.role == "LEADING" && p.serving && p.current_epoch > e0));
        assert_eq!(lesson("leader-crash").expect("lesson").steps[2].select, Some(1), "the step selects a follower");
    }

    #[test]
    fn sync_lessons_show_their_mode() {
        for (id, mode, learner) in [("sync-diff", "DIFF", 3), ("sync-trunc", "TRUNC", 3), ("sync-snap", "SNAP", 3)] {
            let c = run_to_end(id);
            let s = c.view_model().syncs();
            assert!(s.iter().any(|r| r.mode == mode && r.learner == learner), "{id}: {s:?}");
        }
    }

    fn has(c: &Classroom, sid: u64, path: &str) -> bool {
        tree(c.sim(), sid).iter().any(|n| n.path == path)
    }

    fn end_of_step(id: &str, step: usize) -> Classroom {
        let mut c = classroom_for(id, &Setup::default()).expect("lesson");
        let (_, ends) = lesson(id).expect("lesson").actions();
        c.seek(ends[step]);
        c
    }

    #[test]
    fn new_lessons_are_listed() {
        for id in [
            "g2-proposal-only-on-leader",
            "g3-leader-partitioned",
            "zk-335",
            "zk-3911",
            "bug-zk-3911",
            "zk-2832",
            "zk-1277",
            "g7-pipelined-writes",
        ] {
            assert!(lesson(id).is_some(), "{id}");
        }
    }

    #[test]
    fn g2_discards_the_proposal_only_the_leader_logged() {
        let c = end_of_step("g2-proposal-only-on-leader", 1);
        assert_eq!(peers(c.sim())[2].role, "DOWN");
        assert_eq!(peers(c.sim())[2].last_logged, "0x100000002", "P is on the crashed leader's disk");
        let c = run_to_end("g2-proposal-only-on-leader");
        let s = c.view_model().syncs();
        assert!(s.iter().any(|r| r.learner == 3 && (r.mode == "TRUNC" || r.mode == "SNAP")), "{s:?}");
        for sid in 1..=3 {
            assert!(!has(&c, sid, "/p"), "P discarded on {sid}");
            assert!(has(&c, sid, "/q"));
        }
    }

    #[test]
    fn g3_old_leader_stops_and_its_tail_is_truncated() {
        let c = end_of_step("g3-leader-partitioned", 1);
        let ps = peers(c.sim());
        assert_eq!(ps[2].role, "LEADING");
        assert_ne!(ps[2].last_logged, ps[2].last_committed, "the old leader logged /old but cannot commit it");
        let c = end_of_step("g3-leader-partitioned", 3);
        assert_ne!(peers(c.sim())[2].role, "LEADING", "the old leader gave up");
        let c = end_of_step("g3-leader-partitioned", 5);
        let ps = peers(c.sim());
        assert_ne!(ps[2].role, "LEADING", "the old leader stopped leading");
        assert!(ps.iter().any(|p| p.role == "LEADING" && p.current_epoch > ps[2].current_epoch));
        let c = run_to_end("g3-leader-partitioned");
        let s = c.view_model().syncs();
        assert!(s.iter().any(|r| r.learner == 3 && (r.mode == "TRUNC" || r.mode == "SNAP")), "{s:?}");
        for sid in 1..=3 {
            assert!(!has(&c, sid, "/old") && has(&c, sid, "/new"), "peer {sid}");
        }
    }

    #[test]
    fn zk_335_restarts_between_the_epoch_writes_and_joins() {
        let c = end_of_step("zk-335", 1);
        let p3 = &peers(c.sim())[2];
        assert_eq!((p3.role, p3.accepted_epoch, p3.current_epoch), ("DOWN", 9, 8));
        let c = run_to_end("zk-335");
        let ps = peers(c.sim());
        assert_eq!(ps.iter().filter(|p| p.role == "LEADING").count(), 1);
        assert!(ps.iter().all(|p| p.serving && p.current_epoch == 9), "{ps:?}");
    }

    #[test]
    fn zk_3911_keeps_committed_txns_and_the_buggy_mode_does_not() {
        let c = run_to_end("zk-3911");
        for sid in [2, 3] {
            assert!(has(&c, sid, "/e7-5") && has(&c, sid, "/after"), "peer {sid}");
        }
        let c = run_to_end("bug-zk-3911");
        assert!(safety(c.sim()).violations.iter().any(|v| v.contains("CommittedLogDurability")));
    }

    #[test]
    fn zk_2832_truncates_the_uncommitted_txn() {
        let c = run_to_end("zk-2832");
        let s = c.view_model().syncs();
        assert!(s.iter().any(|r| r.mode == "TRUNC" && r.learner == 3 && r.to == "0x700000004"), "{s:?}");
        assert!(!has(&c, 3, "/e7-5") && has(&c, 3, "/x"));
    }

    #[test]
    fn zk_1277_forces_a_new_epoch_before_the_counter_overflows() {
        let c = run_to_end("zk-1277");
        let ps = peers(c.sim());
        assert!(ps.iter().all(|p| p.current_epoch == 9 && p.last_committed == "0x8fffffffe"), "{ps:?}");
        assert!(has(&c, 1, "/w14") && !has(&c, 1, "/w15"));
    }

    #[test]
    fn g7_pipelined_writes_apply_once_in_order() {
        let c = run_to_end("g7-pipelined-writes");
        for sid in 1..=3 {
            let n = tree(c.sim(), sid).into_iter().find(|n| n.path == "/seq").expect("/seq");
            assert_eq!(n.data, n.version.to_string(), "peer {sid}: each write applied once, in order");
        }
    }

    fn leader_of(c: &Classroom) -> Option<(u64, u32)> {
        peers(c.sim()).into_iter().find(|p| p.role == "LEADING").map(|p| (p.sid, p.current_epoch))
    }

    fn all_serve_same_commit(c: &Classroom) -> bool {
        let ps = peers(c.sim());
        ps.iter().all(|p| p.serving && p.last_committed == ps[0].last_committed)
    }

    #[test]
    fn zk_4685_joiner_does_not_make_the_leader_step_down() {
        let c = end_of_step("zk-4685", 0);
        let before = leader_of(&c).expect("a leader");
        let c = run_to_end("zk-4685");
        assert_eq!(leader_of(&c), Some(before), "same leader, same epoch: no step-down");
        assert!(all_serve_same_commit(&c), "{:?}", peers(c.sim()));
        for p in ["/a", "/b", "/c", "/d"] {
            assert!(has(&c, 3, p), "joiner has {p}");
        }
    }

    /// The kinds of the messages `to` received from `from`, in order.
    fn delivered(c: &Classroom, from: u64, to: u64) -> Vec<MsgKind> {
        c.sim()
            .trace
            .iter()
            .filter_map(|e| match e {
                TraceEvent::MsgDelivered { from: f, to: t, kind, .. } if f.0 == from && t.0 == to => Some(*kind),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn zk_4394_delivers_the_exact_order() {
        let c = end_of_step("zk-4394", 3);
        let leader = &peers(c.sim())[1];
        assert_ne!(leader.last_logged, leader.last_committed, "b is proposed, not committed, when 3 is synced");
        assert!(c.view_model().syncs().iter().any(|r| r.learner == 3 && r.mode == "DIFF"));
        let c = end_of_step("zk-4394", 4);
        let p3 = &peers(c.sim())[2];
        assert_eq!((p3.serving, p3.last_committed.as_str()), (false, "0x000000000"), "Commit(b) noted only");
        assert_eq!(p3.last_logged, leader.last_logged, "b is kept");
        let c = end_of_step("zk-4394", 5);
        use MsgKind::*;
        let got: Vec<MsgKind> =
            delivered(&c, 2, 3).into_iter().skip_while(|k| *k != LeaderInfo).filter(|k| *k != Ping).collect();
        assert_eq!(got, [LeaderInfo, Diff, NewLeader, Commit, UpToDate], "pings aside");
        assert!(has(&c, 3, "/a") && has(&c, 3, "/b"));
        assert_eq!(peers(c.sim())[2].last_committed, peers(c.sim())[1].last_committed);
    }

    #[test]
    fn joiners_keep_proposals_that_arrive_during_sync() {
        for (id, paths) in [("zk-4394", &["/a", "/b"][..]), ("spec-issue-1", &["/a", "/b", "/c", "/d", "/e"][..])] {
            let c = run_to_end(id);
            assert!(all_serve_same_commit(&c), "{id}: {:?}", peers(c.sim()));
            for p in paths {
                assert!(has(&c, 3, p), "{id}: joiner has {p}");
            }
            assert!(c.view_model().syncs().iter().any(|r| r.learner == 3), "{id}: peer 3 was synchronized");
        }
    }

    #[test]
    fn zk_4712_restart_reports_the_disk_and_loses_nothing() {
        let c = end_of_step("zk-4712", 1);
        assert_eq!(peers(c.sim())[1].role, "DOWN", "peer 2 crashed mid-flush");
        assert!(has(&c, 1, "/a") && has(&c, 3, "/b"), "the others committed");
        let c = run_to_end("zk-4712");
        assert!(all_serve_same_commit(&c));
        assert!(has(&c, 2, "/a") && has(&c, 2, "/b"));
    }

    #[test]
    fn zk_3642_crash_mid_snap_and_mid_trunc_converge() {
        let c = end_of_step("zk-3642", 1);
        assert_eq!(peers(c.sim())[2].role, "DOWN", "peer 3 crashed mid-snap");
        let c = end_of_step("zk-3642", 3);
        assert_eq!(peers(c.sim())[0].role, "DOWN", "peer 1 crashed mid-trunc");
        let c = run_to_end("zk-3642");
        assert!(all_serve_same_commit(&c), "{:?}", peers(c.sim()));
        let s = c.view_model().syncs();
        assert!(s.iter().any(|r| r.learner == 3 && r.mode == "SNAP"), "{s:?}");
        for sid in 1..=3 {
            assert!(has(&c, sid, "/x"), "peer {sid}");
            assert!(!has(&c, sid, "/e6-1") && !has(&c, sid, "/e7-4"), "peer {sid}: uncommitted tails gone");
        }
    }

    #[test]
    fn g4_cut_follower_is_not_counted_and_the_cluster_stays_available() {
        let c = end_of_step("g4-one-way-cut", 5);
        assert_eq!(leader_of(&c).map(|l| l.0), Some(3), "leader 3 keeps leading");
        for sid in [2, 3] {
            assert!(has(&c, sid, "/a") && has(&c, sid, "/b") && has(&c, sid, "/c"), "peer {sid}");
        }
        let c = run_to_end("g4-one-way-cut");
        assert!(all_serve_same_commit(&c));
        assert!(has(&c, 1, "/c"));
    }

    #[test]
    fn g5_a_gap_is_refused_and_peer_1_resyncs() {
        let c = end_of_step("g5-proposal-lost-mid-stream", 3);
        let p1 = &peers(c.sim())[0];
        assert_eq!((p1.role, p1.last_logged.as_str()), ("LOOKING", "0x100000002"), "nothing after the gap");
        let c = run_to_end("g5-proposal-lost-mid-stream");
        assert!(all_serve_same_commit(&c));
        for p in ["/a", "/b", "/c", "/d"] {
            assert!(has(&c, 1, p), "peer 1 has {p}");
        }
        assert!(
            c.view_model().syncs().iter().filter(|r| r.learner == 1).count() >= 2,
            "peer 1 resynchronized after the gap"
        );
    }

    #[test]
    fn g6_observer_crash_does_not_affect_quorums() {
        let c = end_of_step("g6-observer-crashes-mid-sync", 1);
        assert_eq!(peers(c.sim())[3].role, "OBSERVING", "the observer found its leader");
        assert!(has(&c, 1, "/b"), "the voters committed /b without it");
        let c = end_of_step("g6-observer-crashes-mid-sync", 2);
        let ps = peers(c.sim());
        assert_eq!(ps.len(), 4);
        assert_eq!(ps[3].role, "DOWN", "the observer crashed mid-sync");
        let c = end_of_step("g6-observer-crashes-mid-sync", 3);
        for sid in 1..=3 {
            assert!(has(&c, sid, "/b") && has(&c, sid, "/c"), "voter {sid} committed without the observer");
        }
        let c = run_to_end("g6-observer-crashes-mid-sync");
        let ps = peers(c.sim());
        assert_eq!(ps[3].role, "OBSERVING", "{ps:?}");
        assert!(all_serve_same_commit(&c), "{ps:?}");
        assert!(has(&c, 4, "/a") && has(&c, 4, "/b") && has(&c, 4, "/c"));
    }
}
