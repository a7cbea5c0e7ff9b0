//! Guided lessons. A lesson is a setup (stored histories, a buggy mode), then steps, each a few
//! actions and a short narration of what happens and why. The actions are the same ones a
//! student performs, so a lesson runs on the real simulator and can be scrubbed and shared.
//!
//! The known-failure lessons retell core/testdata/known/*.txt (see ../shared/zab-notes.md) as
//! "what would go wrong, and why Zabra does not"; the checkers watch every step.

use crate::model::{decode_actions, mutant_by_name, Action, Classroom, Setup};

pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    pub seed: u64,
    pub mutant: Option<&'static str>,
    /// Actions before the first step: stored histories, then which peers start.
    pub prelude: &'static str,
    /// (actions in the compact text of `model::Action`, narration).
    pub steps: &'static [(&'static str, &'static str)],
}

impl Lesson {
    pub fn prelude(&self) -> Vec<Action> {
        decode_actions(self.prelude).expect("lesson prelude parses")
    }

    /// Every step's actions, concatenated, and where each step ends in that list.
    pub fn actions(&self) -> (Vec<Action>, Vec<usize>) {
        let mut all = Vec::new();
        let mut ends = Vec::new();
        for (acts, _) in self.steps {
            all.extend(decode_actions(acts).expect("lesson step parses"));
            ends.push(all.len());
        }
        (all, ends)
    }
}

const S4: &str = "s~s~s~s";
const S8: &str = "s~s~s~s~s~s~s~s";

pub const LESSONS: &[Lesson] = &[
    Lesson {
        id: "first-election",
        title: "The first election",
        seed: 7,
        mutant: None,
        prelude: "u",
        steps: &[
            ("", "Three peers start with empty logs. Each is LOOKING: it knows no leader yet. Press “next” to watch fast leader election."),
            (S8, "Each peer votes for itself and sends its vote (a notification) to every other peer, once a connection is up. A vote names a leader, that leader's last zxid and epoch."),
            ("s~s~s~s~s~s~s~s~s~s~s~s", "When a vote arrives that is better (higher epoch, then higher zxid, then higher sid), a peer changes its own vote and tells everyone. With equal empty histories the highest sid wins."),
            ("t300", "Once a quorum (2 of 3) votes for the same peer, and no better vote arrives for a short while, the election is decided: one peer is LEADING, the others FOLLOWING."),
            ("z", "Discovery and synchronization: followers send FollowerInfo, the leader proposes a new epoch (LeaderInfo), a quorum answers AckEpoch, then NewLeader and UpToDate. The epoch is now established: the cluster serves."),
        ],
    },
    Lesson {
        id: "write-committed",
        title: "A write is committed",
        seed: 7,
        mutant: None,
        prelude: "u~z",
        steps: &[
            ("", "A stable cluster: peer 3 leads. A client connected to follower 2 will create /app."),
            ("w2:/app=hello", "Follower 2 cannot order writes itself: it forwards the request to the leader."),
            (S4, "The leader assigns the next zxid (epoch, counter) and sends a Proposal to every follower; each logs it to disk before sending an Ack."),
            (S8, "The leader counts Acks (its own counts once its disk has it). Watch the history panel: ACKs against the quorum of 2."),
            ("z", "With a quorum of Acks the leader commits and sends Commit; every peer applies /app to its tree in zxid order, and follower 2 answers the client."),
        ],
    },
    Lesson {
        id: "leader-crash",
        title: "The leader crashes",
        seed: 7,
        mutant: None,
        prelude: "u~z~w2:/app=hello~z",
        steps: &[
            ("", "A stable cluster led by peer 3 has committed /app."),
            ("c3", "Peer 3 crashes. What it had written to disk stays; what was only in memory is lost."),
            ("t200", "The followers see the connection close (or miss pings) and go LOOKING: a new election starts, in a higher round."),
            ("z", "The peer with the most recent history wins, proposes a higher epoch, and synchronizes the other before serving. Every committed write survives."),
            ("r3~z", "Peer 3 restarts from its disk, finds a leader with a higher epoch, and rejoins as a follower (synchronized by DIFF)."),
        ],
    },
    Lesson {
        id: "sync-diff",
        title: "Catching up by DIFF",
        seed: 5,
        mutant: None,
        prelude: "e1:7:7:7.1-5~e2:7:7:7.1-5~e3:7:7:7.1-2~u",
        steps: &[
            ("", "Peers 1 and 2 hold (7,1)..(7,5); peer 3 missed the last three transactions and holds only (7,1)..(7,2)."),
            ("z", "The leader compares each learner's last zxid with its own history. Peer 3's history is a prefix of the leader's: the leader sends DIFF, just the missing transactions (see Sync modes)."),
        ],
    },
    Lesson {
        id: "sync-trunc",
        title: "Catching up by TRUNC",
        seed: 3,
        mutant: None,
        prelude: "e1:7:7:7.1-4~e2:7:7:7.1-4~e3:7:7:7.1-5~r1~r2",
        steps: &[
            ("", "Peer 3 logged (7,5) but it was never committed; peers 1 and 2 hold (7,1)..(7,4) (ZOOKEEPER-2832)."),
            ("z", "Peers 1 and 2 elect a leader without peer 3."),
            ("r3~z", "Peer 3 returns ahead of the leader. The leader tells it TRUNC to (7,4): the uncommitted (7,5) is removed, so no peer can ever apply a transaction the cluster did not commit."),
        ],
    },
    Lesson {
        id: "sync-snap",
        title: "Catching up by SNAP",
        seed: 6,
        mutant: None,
        prelude: "e1:7:7:7.1-3~e2:7:7:7.1-3~e3:6:6:6.1-1~r1~r2",
        steps: &[
            ("", "Peer 3 holds only (6,1), from an epoch the leader's history never had (ZOOKEEPER-3642)."),
            ("z", "Peers 1 and 2 form the cluster."),
            ("r3~z", "Peer 3's history diverges from the leader's before the leader's own history begins: neither DIFF nor TRUNC can fix it, so the leader sends a whole snapshot (SNAP)."),
        ],
    },
    Lesson {
        id: "zk-1154",
        title: "Known bug: DIFF where TRUNC was needed (ZOOKEEPER-1154)",
        seed: 3,
        mutant: None,
        prelude: "e1:7:7:7.1-4~e2:7:7:7.1-3~e3:7:7:7.1-3~r2~r3",
        steps: &[
            ("", "Peer 1 led epoch 7 and logged (7,4) alone, then everyone crashed. Peers 2 and 3 come back first."),
            ("z~w2:/epoch8=x~z", "They form epoch 8 and commit a new write."),
            ("r1~z", "What would go wrong: sending peer 1 a DIFF keeps its (7,4), a transaction nobody committed, and peer 1 would apply it. Zabra compares histories and sends TRUNC (or SNAP): (7,4) disappears. The safety panel stays green."),
        ],
    },
    Lesson {
        id: "zk-4643",
        title: "Known bug: epoch written before history (ZOOKEEPER-4643)",
        seed: 11,
        mutant: None,
        prelude: "e1:7:7:7.1-5~e2:7:7:7.1-2~e3:7:7:7.1-2~a2:after-current-epoch~u",
        steps: &[
            ("", "Leader-to-be 1 holds (7,1)..(7,5); peers 2 and 3 hold (7,1)..(7,2). Peer 2 will crash right after writing its new current epoch."),
            ("t300", "Peer 1 leads epoch 8 and syncs the others by DIFF; peer 2 crashes during its sync; with peer 3 the leader establishes epoch 8, so (7,3)..(7,5) are committed."),
            ("c1~c3~r2~r3~z", "What would go wrong: had peer 2 made its epoch durable before the synced history, it would win the next election (epochs compare first) and truncate committed transactions. Zabra writes the history first, so peer 2 holds them or has the old epoch: nothing committed is lost."),
        ],
    },
    Lesson {
        id: "g1-commit-lost-in-flight",
        title: "Known case: leader crashes before its Commit arrives",
        seed: 7,
        mutant: None,
        prelude: "u~z",
        steps: &[
            ("", "A stable cluster led by peer 3."),
            ("w1:/p=x~t12~y3-1~y3-2~t50", "A write reaches a quorum of Acks, but the leader's outgoing links stall: its Commit never leaves."),
            ("c3~h~z", "What would go wrong: forgetting a transaction that a quorum acked (a client might have seen it). In ZAB the next leader has the most recent logged history, which holds the proposal, and commits it in the new epoch."),
        ],
    },
    Lesson {
        id: "bug-ack-before-durable",
        title: "Buggy mode: a follower acks before its disk has the write",
        seed: 7,
        mutant: Some("ack-before-durable"),
        prelude: "u~z",
        steps: &[
            ("", "This cluster runs a deliberately broken follower: it sends Ack before its log write is durable."),
            ("k1:80-90~k2:80-90~w3:/x=1", "Followers 1 and 2 get slow disks; a client writes /x through the leader."),
            ("t30", "The leader commits with their early Acks, though neither disk holds /x yet. The CommittedLogDurability checker turns red: a committed write is not on a quorum of disks, so a crash could lose it."),
        ],
    },
];

pub fn lesson(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.id == id)
}

/// A classroom loaded with a lesson: its seed and buggy mode override the student's setup
/// (the cluster size and network mode stay at 3 and automatic, as the lessons were written).
pub fn classroom_for(id: &str, base: &Setup) -> Option<Classroom> {
    let l = lesson(id)?;
    let setup = Setup { seed: l.seed, nodes: 3, mutant: l.mutant.and_then(mutant_by_name), manual: false };
    let _ = base;
    let (actions, _) = l.actions();
    Some(Classroom::new(setup, l.prelude(), actions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{peers, safety, syncs};

    fn run_to_end(id: &str) -> Classroom {
        let mut c = classroom_for(id, &Setup::default()).expect("lesson");
        let n = c.actions.len();
        c.seek(n);
        c
    }

    #[test]
    fn every_lesson_parses_and_runs() {
        for l in LESSONS {
            let (acts, ends) = l.actions();
            assert_eq!(ends.len(), l.steps.len());
            assert_eq!(ends.last().copied(), Some(acts.len()));
            let c = run_to_end(l.id);
            if l.mutant.is_none() {
                assert!(safety(c.sim()).ok, "{}: {:?}", l.id, c.sim().violations);
            }
        }
    }

    #[test]
    fn first_election_ends_with_a_leader() {
        let c = run_to_end("first-election");
        assert!(peers(c.sim()).iter().any(|p| p.role == "LEADING"));
    }

    #[test]
    fn leader_crash_elects_a_higher_epoch() {
        let mut c = classroom_for("leader-crash", &Setup::default()).expect("lesson");
        let ps = peers(c.sim());
        assert_eq!(ps[2].role, "LEADING", "the lesson's narration says peer 3 leads");
        let e0 = ps[2].current_epoch;
        c.seek(3);
        let ps = peers(c.sim());
        assert!(ps.iter().any(|p| p.role == "LEADING" && p.current_epoch > e0));
    }

    #[test]
    fn sync_lessons_show_their_mode() {
        for (id, mode, learner) in [("sync-diff", "DIFF", 3), ("sync-trunc", "TRUNC", 3), ("sync-snap", "SNAP", 3)] {
            let c = run_to_end(id);
            let s = syncs(c.sim());
            assert!(s.iter().any(|r| r.mode == mode && r.learner == learner), "{id}: {s:?}");
        }
    }
}
