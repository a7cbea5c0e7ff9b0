//! What a leader tells monitoring about its learners: ZooKeeper's `mntr` shows
//! `zk_learners`, `zk_synced_followers` and `zk_pending_syncs`, so an operator sees a follower
//! that is connected but stuck before Broadcast.

use super::{Peer, Role};
use crate::ids::{SessionId, Sid};
use crate::time::Instant;
use serde::Serialize;

/// One learner as the leader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LearnerReport {
    pub sid: Sid,
    pub observer: bool,
    /// It acknowledged NEWLEADER: its acks count (ZooKeeper's "synced").
    pub synced: bool,
    /// "discovery", "synchronization" or "broadcast", as ZooKeeper's `zk_peer_state` names
    /// the phases.
    pub stage: &'static str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LeaderReport {
    /// Learners with a live connection to this leader, by sid.
    pub learners: Vec<LearnerReport>,
    /// `sync` requests waiting for a quorum round.
    pub pending_syncs: usize,
}

impl Peer {
    /// The leader's view of its learners; `None` unless this peer is leading.
    pub fn leader_report(&self) -> Option<LeaderReport> {
        match &self.role {
            Role::Leading(l) => Some(l.report()),
            _ => None,
        }
    }

    /// Voting members other than this peer: the followers a leader should have.
    pub fn expected_followers(&self) -> Vec<Sid> {
        self.cfg.members.voters.iter().copied().filter(|s| *s != self.cfg.sid).collect()
    }

    /// Every session of the replicated table with its timeout and, on the leader, the instant
    /// it expires unless renewed (`dump`'s session sets).
    pub fn session_deadlines(&self) -> Vec<(SessionId, u32, Option<Instant>)> {
        let tracker = match &self.role {
            Role::Leading(l) => Some(&l.tracker),
            _ => None,
        };
        self.tree.sessions().map(|(s, i)| (s, i.timeout_ms, tracker.and_then(|t| t.deadline(s)))).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::ids::Sid;
    use crate::sim::Sim;
    use crate::time::Duration;

    fn report(sim: &Sim, leader: Sid) -> Vec<(u64, bool, &'static str)> {
        let r = sim.peer(leader).and_then(|p| p.leader_report()).expect("leading");
        r.learners.iter().map(|l| (l.sid.0, l.synced, l.stage)).collect()
    }

    /// A restarted follower whose leader's messages stop arriving mid-way stays outside
    /// Broadcast, and the leader says so: one synced follower of the two it expects.
    #[test]
    fn a_follower_stuck_before_broadcast_shows_in_the_leaders_report() {
        let mut sim = Sim::new(5, 3, 0, Vec::new());
        sim.start_all();
        sim.run_for(Duration::from_millis(2_000));
        let leader = sim.leader().expect("a leader");
        let others: Vec<Sid> = sim.sids().into_iter().filter(|s| *s != leader).collect();
        assert_eq!(report(&sim, leader), vec![(others[0].0, true, "broadcast"), (others[1].0, true, "broadcast")]);
        assert_eq!(sim.peer(leader).unwrap().expected_followers(), others);
        assert!(sim.peer(others[0]).unwrap().leader_report().is_none());
        sim.crash(others[1]);
        sim.run_for(Duration::from_millis(100));
        sim.start(others[1]);
        let joining = |sim: &Sim| report(sim, leader).iter().any(|l| l.0 == others[1].0 && !l.1);
        for _ in 0..2_000 {
            if joining(&sim) {
                break;
            }
            sim.run_for(Duration::from_millis(1));
        }
        assert!(joining(&sim), "the restarted follower reached the leader");
        sim.stall(leader, others[1]);
        sim.run_for(Duration::from_millis(300));
        let own = sim.status(others[1]).expect("up");
        assert_ne!(own.phase, crate::peer::Phase::Broadcast, "{own:?}");
        let r = report(&sim, leader);
        assert!(r.contains(&(others[0].0, true, "broadcast")), "{r:?}");
        assert!(r.iter().any(|l| l.0 == others[1].0 && !l.1 && l.2 != "broadcast"), "{r:?}");
    }
}
