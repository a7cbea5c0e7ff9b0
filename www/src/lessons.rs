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
    /// Observers (non-voting peers 4, ...) besides the three voters.
    pub observers: usize,
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
        observers: 0,
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
        observers: 0,
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
        observers: 0,
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
        observers: 0,
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
        observers: 0,
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
        observers: 0,
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
        observers: 0,
        prelude: "e1:7:7:7.1-4~e2:7:7:7.1-3~e3:7:7:7.1-3~r2~r3",
        steps: &[
            ("", "Peer 1 led epoch 7 and logged (7,4) alone, then everyone crashed. Peers 2 and 3 come back first."),
            ("z~w2:/epoch8=x~z", "They form epoch 8 and commit a new write."),
            ("r1~z", "What would go wrong: sending peer 1 a DIFF keeps its (7,4), a transaction nobody committed, and peer 1 would apply it. Zabra compares histories and sends TRUNC (or SNAP): (7,4) disappears. The safety panel stays green."),
        ],
    },
    Lesson {
        id: "g1-commit-lost-in-flight",
        title: "Known case: leader crashes before its Commit arrives",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z",
        steps: &[
            ("", "A stable cluster led by peer 3."),
            ("w1:/p=x~t12~y3-1~y3-2~t50", "A write reaches a quorum of Acks, but the leader's outgoing links stall: its Commit never leaves."),
            ("c3~h~z", "What would go wrong: forgetting a transaction that a quorum acked (a client might have seen it). In ZAB the next leader has the most recent logged history, which holds the proposal, and commits it in the new epoch."),
        ],
    },
    Lesson {
        id: "g2-proposal-only-on-leader",
        title: "Known case: leader crashes before anyone received its proposal (G2)",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z~g1:/",
        steps: &[
            ("", "A stable cluster led by peer 3; a client of follower 1 is connected."),
            ("y3-1~y3-2~a3:after-fsync-before-ack~w1:/p=x~t100", "The leader's outgoing links stall. The client writes /p: follower 1 forwards it, leader 3 logs proposal P to its own disk and crashes right there. Nobody else ever saw P."),
            ("h~z", "Peers 1 and 2 (already LOOKING once the leader went silent) elect a new leader in a higher epoch. Neither holds P, so P was never committed and is not part of the new epoch."),
            ("w1:/q=y~z", "The new epoch commits /q at zxid (2,1): a zxid of the new epoch, so it can never be confused with P's (1,2)."),
            ("r3~z", "What would go wrong: peer 3 returns holding P on disk; if it kept P it would apply a write no quorum accepted (and that the client was never told succeeded). Zabra's leader sees that peer 3's history diverges and sends TRUNC (or SNAP): P is discarded everywhere."),
        ],
    },
    Lesson {
        id: "g3-leader-partitioned",
        title: "Known case: the leader is cut off from the majority (G3)",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z~g3:/~g1:/",
        steps: &[
            ("", "A stable cluster led by peer 3, with a client on peer 3 and one on peer 1."),
            ("y3-1~y3-2~y1-3~y2-3~w3:/old=x~t100", "A silent partition separates leader 3 from peers 1 and 2: every message between them waits, nobody sees a connection close. The client of peer 3 writes /old: the leader logs and proposes it, but only its own Ack can arrive: 1 of 3 is no quorum, so /old is not committed."),
            ("t3000", "The leader misses its followers' pings for a sync limit and gives up leadership: an old leader stops committing instead of serving stale or split data. Peers 1 and 2 elect a new leader in a higher epoch."),
            ("w1:/new=y~t1000", "The majority commits /new in the new epoch: the cluster stays available on the side that has a quorum."),
            ("h~z", "What would go wrong: after healing, the old leader's tail (/old) conflicts with the new epoch's history. Zabra's new leader truncates it (TRUNC or SNAP): /old disappears, /new is everywhere."),
        ],
    },
    Lesson {
        id: "zk-335",
        title: "Known bug: two leaders propose the same epoch (ZOOKEEPER-335/1653)",
        seed: 8,
        mutant: None,
        observers: 0,
        prelude: "e1:8:8:8.1-3~e2:8:8:8.1-3~e3:8:8:8.1-3~a3:after-accepted-epoch~u",
        steps: &[
            ("", "Every peer is at epoch 8 with (8,1)..(8,3). Peer 3 will crash right after writing its accepted epoch, before its current epoch."),
            ("t100", "Peer 3 wins the election, proposes epoch 9, writes accepted_epoch=9 and crashes (its disk now says accepted 9, current 8)."),
            ("z", "Peers 1 and 2 elect peer 2, which proposes the same epoch 9 and establishes it."),
            ("r3~z", "What would go wrong: a peer that already promised epoch 9 to one leader must not promise it again to another; if its AckEpoch were counted twice, two leaders could each establish epoch 9 with different histories. Peer 3 restarts cleanly from accepted 9 / current 8, answers LeaderInfo(9) \"not counted\" (it only reports its last zxid) and is synchronized."),
            ("w1:/x=y~z", "A write commits in epoch 9: at most one leader established it, and the safety panel stays green."),
        ],
    },
    Lesson {
        id: "zk-3911",
        title: "Known bug: Ack(NewLeader) before the synced txns are durable (ZOOKEEPER-3911/4643)",
        seed: 5,
        mutant: None,
        observers: 0,
        prelude: "e1:7:7:7.1-5~e2:7:7:7.1-2~e3:7:7:7.1-2~a2:after-ack-newleader~r1~r2",
        steps: &[
            ("", "Peer 1 holds (7,1)..(7,5); peers 2 and 3 only (7,1)..(7,2). Peers 1 and 2 start; peer 2 will crash right after it sends Ack(NewLeader)."),
            ("t300", "Peer 1 leads epoch 8 and syncs peer 2 by DIFF. Peer 2 acks NewLeader and crashes; with that Ack the leader establishes epoch 8, so (7,3)..(7,5) are now committed."),
            ("c1~r3~r2~z", "The leader crashes too; peer 3 (at (7,2)) restarts with peer 2. What would go wrong: in ZooKeeper peer 2 acked before the DIFF was on disk, came back without it, and with peer 3 formed a quorum that lost committed txns. Zabra makes the synced history durable before the Ack, so peer 2 leads with (7,3)..(7,5)."),
            ("w3:/after=x~z", "The cluster serves again; nothing committed was lost (compare the buggy lesson that follows)."),
        ],
    },
    Lesson {
        id: "bug-zk-3911",
        title: "Buggy mode: epoch written before the synced history (ZOOKEEPER-3911/4643)",
        seed: 5,
        mutant: Some("epoch-before-history"),
        observers: 0,
        prelude: "e1:7:7:7.1-5~e2:7:7:7.1-2~e3:7:7:7.1-2~k2:50-60~a2:after-ack-newleader~r1~r2",
        steps: &[
            ("", "The same cluster as the ZOOKEEPER-3911 lesson, but follower 2 is deliberately broken: it writes its new current epoch and acks NewLeader before the synced transactions are on its (slow) disk."),
            ("t300", "Peer 1 syncs peer 2 by DIFF and establishes epoch 8 with peer 2's early Ack: (7,3)..(7,5) are committed, yet only peer 1's disk holds them. The CommittedLogDurability checker turns red: one more crash and a committed write is gone."),
        ],
    },
    Lesson {
        id: "zk-2832",
        title: "Known bug: an uncommitted txn survives a sync (ZOOKEEPER-2832)",
        seed: 3,
        mutant: None,
        observers: 0,
        prelude: "e1:7:7:7.1-4~e2:7:7:7.1-4~e3:7:7:7.1-5~r1~r2",
        steps: &[
            ("", "Peer 3 logged (7,5) alone: it was never committed. Peers 1 and 2 hold (7,1)..(7,4)."),
            ("z", "Peers 1 and 2 elect a leader without peer 3; its last zxid is (7,4)."),
            ("r3~z", "What would go wrong: a leader that only sends what the learner lacks (or nothing, since the learner looks ahead) leaves (7,5) in peer 3's log, and peer 3 would one day apply or even propagate a txn the cluster never committed. Zabra sees the learner is ahead of the leader and sends TRUNC to (7,4)."),
            ("w3:/x=y~z", "A new write through peer 3 commits in the new epoch; peer 3's history is the leader's."),
        ],
    },
    Lesson {
        id: "zk-1277",
        title: "Known bug: the zxid counter runs out (ZOOKEEPER-1277)",
        seed: 1,
        mutant: None,
        observers: 0,
        prelude: "f4294967280~e1:7:7:7.4294967280-4294967280~e2:7:7:7.4294967280-4294967280~e3:7:7:7.4294967280-4294967280~u",
        steps: &[
            ("", "A zxid is (epoch, counter), 32 bits each. Here every epoch's counter starts at 0xfffffff0, 15 zxids before the end."),
            ("z", "The peers elect a leader for epoch 8; its counter starts at 0xfffffff0."),
            ("w1:/w01=x~w1:/w02=x~w1:/w03=x~w1:/w04=x~w1:/w05=x~w1:/w06=x~w1:/w07=x~w1:/w08=x~w1:/w09=x~w1:/w10=x~w1:/w11=x~w1:/w12=x~w1:/w13=x~w1:/w14=x~w1:/w15=x~w1:/w16=x~w1:/w17=x~w1:/w18=x~w1:/w19=x~w1:/w20=x", "A client of peer 1 writes 20 znodes, more than the counter has left."),
            ("z~z", "What would go wrong: in ZooKeeper the counter carried into the epoch bits, so a zxid of epoch 8 looked like one of epoch 9 and ordering broke. Zabra's leader refuses the zxid after 0xffffffff, steps down and forces epoch 9: zxids stay unique and ordered; the writes that could not be ordered fail and the client may retry."),
        ],
    },
    Lesson {
        id: "g7-pipelined-writes",
        title: "Known case: pipelined writes through a follower that dies (G7)",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z~w1:/seq=0~z",
        steps: &[
            ("", "A client of follower 1 created /seq = 0. It will now send writes one after another without waiting for replies (pipelining)."),
            ("w1:/seq=1~w1:/seq=2~w1:/seq=3~w1:/seq=4~w1:/seq=5~w1:/seq=6~w1:/seq=7~w1:/seq=8~w1:/seq=9~w1:/seq=10~w1:/seq=11~w1:/seq=12~t2", "Twelve writes set /seq to 1, 2, ... 12; follower 1 forwards them to the leader in order, on one FIFO connection."),
            ("c1~w1:/seq=13~w1:/seq=14~w1:/seq=15~w1:/seq=16~t3000", "Follower 1 is killed midway: writes still in flight may or may not have been committed; the later ones fail (connection loss)."),
            ("r1~t3000~g1:/seq~t500~g2:/seq~t500", "What would go wrong: a write applied out of order, or twice after the client reconnects. In ZAB one leader orders all writes and a follower forwards a session's requests in FIFO order: /seq holds some value k with version k, writes 1..k applied exactly once, in order."),
        ],
    },
    Lesson {
        id: "bug-ack-before-durable",
        title: "Buggy mode: a follower acks before its disk has the write",
        seed: 7,
        mutant: Some("ack-before-durable"),
        observers: 0,
        prelude: "u~z",
        steps: &[
            ("", "This cluster runs a deliberately broken follower: it sends Ack before its log write is durable."),
            ("k1:80-90~k2:80-90~w3:/x=1", "Followers 1 and 2 get slow disks; a client writes /x through the leader."),
            ("t30", "The leader commits with their early Acks, though neither disk holds /x yet. The CommittedLogDurability checker turns red: a committed write is not on a quorum of disks, so a crash could lose it."),
        ],
    },
    Lesson {
        id: "zk-4685",
        title: "Known bug: an Ack during sync makes the leader step down (ZOOKEEPER-4685)",
        seed: 4,
        mutant: None,
        observers: 0,
        prelude: "r1~r2~z~g2:/",
        steps: &[
            ("", "Peers 1 and 2 form the cluster; a client of peer 2 is connected. Peer 3 is still down."),
            ("k3:5-15~r3~w2:/a=1~t12~w2:/b=2~t12", "Peer 3 starts with a slow disk and joins while the client streams writes: the leader adds it to the broadcast set from its AckEpoch, so proposals reach it between DIFF and UpToDate."),
            ("w2:/c=3~t12~w2:/d=4~z", "What would go wrong: in ZooKeeper the joiner's Ack for such a proposal could reach the leader before its Ack(NewLeader); the leader took it for a protocol error and stepped down, and the cluster was unavailable for an election. Zabra's follower holds the Acks of proposals received during sync until its Ack(NewLeader) is sent, and the leader accepts them in that order: the join completes, the leader stays, /a../d are everywhere."),
        ],
    },
    Lesson {
        id: "zk-4394",
        title: "Known bug: a joiner drops proposals that arrive during sync (ZOOKEEPER-4394)",
        seed: 9,
        mutant: None,
        observers: 0,
        prelude: "r1~r2~z~w2:/a=1~z",
        steps: &[
            ("", "Peers 1 and 2 serve; peer 2 leads and /a is committed. Peer 3 will join in the exact order that crashed ZooKeeper: DIFF, P(a), C(a), P(b), NEWLEADER, C(b), UPTODATE."),
            ("y1-2~w2:/b=2~t20", "Follower 1's link to the leader is cut one way (1→2), so its Ack of the next write waits. The client writes /b: leader 2 proposes b, which cannot commit yet."),
            ("r3~t14~y2-3~t30", "Peer 3 starts and follows 2. The link 2→3 is stalled: everything the leader sends 3 now waits, to be delivered one message at a time."),
            ("d2-3~t30", "LeaderInfo reaches 3, its AckEpoch reaches the leader, and the leader syncs 3 by DIFF: a (committed) and b (proposed, not committed), then NewLeader. In ZooKeeper's terms: DIFF, P(a), C(a), P(b), NEWLEADER."),
            ("d1-2~d2-3~d2-3~d2-3~d2-3", "Follower 1's Ack arrives: b commits, and Commit(b) queues behind NewLeader. Peer 3 takes the Diff, NewLeader, a ping of the leader and Commit(b): it keeps b and notes the commit, but applies nothing before UpToDate."),
            ("t30~d2-3", "Peer 3 acks NewLeader once its disk holds the history; UpToDate comes last and peer 3 commits a and b. What would go wrong: in ZooKeeper the follower dropped P(b) as \"not in the sync set\" and crashed on C(b), a commit for a proposal it did not have. Zabra's follower keeps every proposal of the sync stream and applies each commit to a proposal it holds."),
            ("h~z", "The cut heals; all three serve /a and /b at one committed zxid."),
        ],
    },
    Lesson {
        id: "spec-issue-1",
        title: "Known case: a follower joins while the leader commits (spec issues 1 and 3)",
        seed: 13,
        mutant: None,
        observers: 0,
        prelude: "r1~r2~z~w2:/a=1~z",
        steps: &[
            ("", "Peers 1 and 2 serve and have committed /a. Peer 3 is down."),
            ("r3~w2:/b=2~t5~w2:/c=3~t5", "Peer 3 joins while a client keeps writing. The leader adds it to the broadcast set as soon as it answers with AckEpoch, so proposals made during its sync reach it too."),
            ("w2:/d=4~t5~w2:/e=5~z", "What would go wrong: a joiner that is added to the broadcast set too late misses the proposals made between its sync snapshot and its UpToDate, and would serve with a hole; an UpToDate carrying an old committed zxid would let it serve stale data. In Zabra it gets every transaction in order and serves at the same committed zxid as the others."),
        ],
    },
    Lesson {
        id: "zk-4712",
        title: "Known bug: a follower crashes while its log is flushing (ZOOKEEPER-4712)",
        seed: 2,
        mutant: None,
        observers: 0,
        prelude: "u~z",
        steps: &[
            ("", "A stable cluster. Follower 2 gets a slow disk and will crash right after appending a proposal, before the fsync."),
            ("k2:20-40~a2:after-append-before-fsync~w3:/a=1~w3:/b=2~z", "Two writes: peer 2 appends the first proposal and crashes before it is durable, so that append is lost. The other two peers are a quorum: /a and /b commit."),
            ("r2~z", "What would go wrong: in ZooKeeper the restarted follower's memory and disk disagreed (it believed in a write its disk never got). Zabra's peer restarts only from what its disk holds, reports that last zxid to the leader, and is synchronized by DIFF: memory and disk agree (ProcessConsistency), nothing committed is lost."),
        ],
    },
    Lesson {
        id: "zk-3642",
        title: "Known bug: a crash in the middle of SNAP or TRUNC (ZOOKEEPER-3642/5094)",
        seed: 6,
        mutant: None,
        observers: 0,
        prelude: "e1:7:7:7.1-4~e2:7:7:7.1-3~e3:6:6:6.1-1~a3:mid-snap~r2~r3",
        steps: &[
            ("", "Peer 1 holds (7,1)..(7,4), (7,4) uncommitted; peer 2 holds (7,1)..(7,3); peer 3 holds only an uncommitted (6,1). Peers 2 and 3 start; peer 3 will crash in the middle of a snapshot."),
            ("t300", "Peer 3's history diverges across epochs, so the leader sends SNAP; peer 3 crashes after the snapshot write was issued but before it is durable."),
            ("r3~z", "What would go wrong: in ZooKeeper the peer reconnected reporting its in-memory zxid, not what its disk held, and was then sent a DIFF from the wrong point, leaving a hole in its log. Zabra restarts from the disk: peer 3 reports what the disk holds and is synchronized again."),
            ("a1:mid-trunc~r1~t300", "Peer 1 returns ahead of the leader with (7,4): it gets TRUNC and crashes in the middle of it."),
            ("r1~z~w1:/x=y~z", "It restarts from its disk, reports that zxid, is truncated or sent a snapshot again and serves: no hole, the new write /x is everywhere."),
        ],
    },
    Lesson {
        id: "g4-one-way-cut",
        title: "Known case: a follower can hear the leader but not answer (G4)",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z~g2:/",
        steps: &[
            ("", "A stable cluster led by peer 3; a client of follower 2 is connected."),
            ("y1-3~w2:/a=1~t100~w2:/b=2~t2000", "A one-way cut: leader 3 → follower 1 still works, but follower 1 → leader 3 is cut. Peer 1's Acks and pings never arrive, so the leader does not count it; with its own Ack and peer 2's it still has a quorum (2 of 3): /a and /b commit."),
            ("w2:/c=3~t200", "The cluster stays available: /c commits too, with quorum {2, 3}."),
            ("h~z", "What would go wrong: counting a follower whose Acks cannot arrive would stall every commit; a leader that needed everyone would be unavailable. Zabra's leader counts only the Acks it receives and drops the silent follower after a sync limit; after the heal peer 1 resyncs and holds /a, /b and /c."),
        ],
    },
    Lesson {
        id: "g5-proposal-lost-mid-stream",
        title: "Known case: a proposal lost in the middle of the stream (G5)",
        seed: 7,
        mutant: None,
        observers: 0,
        prelude: "u~z~w2:/a=1~z",
        steps: &[
            ("", "A stable cluster led by peer 3; a client of follower 2 has created /a."),
            ("y3-1~w2:/b=2~w2:/c=3~w2:/d=4~t10", "The leader's link to follower 1 stalls (3→1): its proposals for /b, /c and /d queue up there."),
            ("v3-1", "The proposal for /b vanishes while the connection stays up. Over TCP that cannot happen (a loss means a broken connection, and both ends see it close), but a faulty driver could do it: follower 1 will see a gap."),
            ("h~t5", "The queue drains: follower 1 receives the proposal for /c right after /a's. What would go wrong: a follower that accepted it would hold a log with a hole and, once it applied it, diverge. Zabra's follower refuses any proposal that does not follow its last zxid: it goes back to LOOKING."),
            ("z", "It finds the leader again and is resynchronized by DIFF: its log holds /a../d with no gap, like everyone's."),
        ],
    },
    Lesson {
        id: "g6-observer-crashes-mid-sync",
        title: "Known case: an observer joins during broadcast and crashes mid-sync (G6)",
        seed: 7,
        mutant: None,
        observers: 1,
        prelude: "r1~r2~r3~z~w1:/a=1~z",
        steps: &[
            ("", "Three voters serve and have committed /a. Peer 4 is an observer: it learns every commit but never votes and never acks, so it is not part of any quorum. It is still down."),
            ("a4:after-synced-history~r4~w1:/b=2~t300", "Observer 4 starts while a client writes /b. It syncs from the leader and crashes right after its synced history became durable, before acknowledging NewLeader."),
            ("w2:/c=3~z", "What would go wrong: if the leader waited for the observer, or counted it, a crashed observer could stall commits or make a quorum that does not exist. Observers are outside every quorum: /b and /c commit with the voters alone."),
            ("r4~z", "Observer 4 restarts from its disk, is synchronized again and converges: it holds /a, /b and /c, and serves reads at the voters' committed zxid."),
        ],
    },
];

pub fn lesson(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.id == id)
}

/// A classroom loaded with a lesson: its seed and buggy mode override the student's setup
/// (the cluster size and network mode stay at 3 voters and automatic, as the lessons were written).
pub fn classroom_for(id: &str, base: &Setup) -> Option<Classroom> {
    let l = lesson(id)?;
    let setup = Setup {
        seed: l.seed,
        nodes: 3,
        observers: l.observers,
        mutant: l.mutant.and_then(mutant_by_name),
        manual: false,
    };
    let _ = base;
    let (actions, _) = l.actions();
    Some(Classroom::new(setup, l.prelude(), actions))
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
        for l in LESSONS {
            let (acts, ends) = l.actions();
            assert_eq!(ends.len(), l.steps.len());
            assert_eq!(ends.last().copied(), Some(acts.len()));
            let c = run_to_end(l.id);
            if l.mutant.is_none() {
                assert!(safety(c.sim()).ok, "{}: {:?}", l.id, c.sim().violations);
            } else {
                assert!(!safety(c.sim()).ok, "{}: a buggy-mode lesson shows the panel turning red", l.id);
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
        let c = end_of_step("g4-one-way-cut", 2);
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
        let ps = peers(c.sim());
        assert_eq!(ps.len(), 4);
        assert_eq!(ps[3].role, "DOWN", "the observer crashed mid-sync");
        let c = end_of_step("g6-observer-crashes-mid-sync", 2);
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
