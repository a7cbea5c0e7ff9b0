//! Coverage: how often a run reached the situations the safety argument depends on (TRUNC and
//! SNAP syncs, crashes in the middle of them, abdications, stale servers answering clients,
//! would-be leaders at the same time). A checker can only catch a bug on a path a run takes:
//! a sweep prints these counts per 1,000 seeds and CI holds them above floors, so a change to
//! the fault model that stops reaching one of them fails instead of passing quietly.

use super::Sim;
use crate::message::ServerState;
use crate::peer::ClientOp;
use crate::trace::{SyncMode, TraceEvent};
use serde::Serialize;

/// The counts that are not already kept elsewhere in `FaultStats` (crash points are).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// Learners the leader synced by TRUNC (cut their log back) and by SNAP.
    pub trunc_syncs: u64,
    pub snap_syncs: u64,
    /// A would-be leader stepped down because a learner is ahead of it.
    pub abdications: u64,
    /// Client requests (pings aside) answered by a peer that serves an epoch older than the
    /// newest established one: a stale server, left behind by a quorum that moved on.
    pub stale_replies: u64,
    /// A peer began to lead while another still believed it led.
    pub concurrent_leaders: u64,
    /// An epoch was established while the leader of an older epoch still served.
    pub overlapping_epochs: u64,
    /// A follower's Ack the leader counted for several outstanding proposals at once (acks
    /// are cumulative: one per durable batch).
    pub cumulative_acks: u64,
}

impl Coverage {
    pub fn merge(&mut self, o: &Coverage) {
        self.trunc_syncs += o.trunc_syncs;
        self.snap_syncs += o.snap_syncs;
        self.abdications += o.abdications;
        self.stale_replies += o.stale_replies;
        self.concurrent_leaders += o.concurrent_leaders;
        self.overlapping_epochs += o.overlapping_epochs;
        self.cumulative_acks += o.cumulative_acks;
    }
}

impl super::FaultStats {
    /// The coverage counts by name, in a fixed order: what `cargo xtask sim` prints per 1,000
    /// seeds and what its floors name.
    pub fn coverage(&self) -> Vec<(&'static str, u64)> {
        let crashes = |p: super::CrashPoint| self.crash_points.get(p.name()).copied().unwrap_or(0);
        let c = &self.coverage;
        vec![
            ("trunc-syncs", c.trunc_syncs),
            ("snap-syncs", c.snap_syncs),
            ("mid-trunc-crashes", crashes(super::CrashPoint::MidTrunc)),
            ("mid-snap-crashes", crashes(super::CrashPoint::MidSnap)),
            ("abdications", c.abdications),
            ("stale-replies", c.stale_replies),
            ("concurrent-leaders", c.concurrent_leaders),
            ("overlapping-epochs", c.overlapping_epochs),
            ("cumulative-acks", c.cumulative_acks),
        ]
    }
}

impl Sim {
    /// Counts what a trace event shows of the situations above (peers' states are those after
    /// the step that emitted it).
    pub(super) fn count_coverage(&mut self, e: &TraceEvent) {
        let c = &mut self.stats.coverage;
        match e {
            TraceEvent::SyncModeChosen { mode: SyncMode::Trunc, .. } => c.trunc_syncs += 1,
            TraceEvent::SyncModeChosen { mode: SyncMode::Snap, .. } => c.snap_syncs += 1,
            TraceEvent::Abdicated { .. } => c.abdications += 1,
            TraceEvent::RoleChanged { sid, to: ServerState::Leading, .. } if self.another_leads(*sid, None) => {
                self.stats.coverage.concurrent_leaders += 1
            }
            TraceEvent::EpochEstablished { sid, epoch, .. } if self.another_leads(*sid, Some(*epoch)) => {
                self.stats.coverage.overlapping_epochs += 1
            }
            _ => {}
        }
    }

    /// Counts a follower's Ack that covered several proposals: the leader's step for one
    /// input (one Ack message) traced more than one AckReceived from another peer.
    pub(super) fn count_cumulative_ack(&mut self, sid: crate::ids::Sid, outs: &[crate::peer::Output]) {
        let from_others = |o: &&crate::peer::Output| matches!(o, crate::peer::Output::Trace(TraceEvent::AckReceived { from, .. }) if *from != sid);
        if outs.iter().filter(from_others).nth(1).is_some() {
            self.stats.coverage.cumulative_acks += 1;
        }
    }

    /// Whether a peer other than `sid` is leading (with `older_than`: serving an older epoch).
    fn another_leads(&self, sid: crate::ids::Sid, older_than: Option<crate::zxid::Epoch>) -> bool {
        self.statuses().iter().any(|s| {
            s.sid != sid
                && s.state == ServerState::Leading
                && older_than.is_none_or(|e| s.serving && s.current_epoch < e)
        })
    }

    /// Counts a reply to `op` from `sid` if `sid` serves an epoch older than the newest one.
    pub(super) fn count_reply(&mut self, sid: crate::ids::Sid, op: &ClientOp) {
        if matches!(op, ClientOp::Ping) {
            return;
        }
        let newest = self.checker.newest_epoch();
        if self.status(sid).is_some_and(|s| newest.is_some_and(|n| s.current_epoch < n)) {
            self.stats.coverage.stale_replies += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sid;
    use crate::time::Duration;

    /// A leader and one follower with a sync limit six times the others' are cut off together
    /// (silently): the other three elect a new leader and establish a newer epoch while the
    /// old pair still believes in the old one, and the follower answers its client's reads.
    #[test]
    fn a_stale_pair_is_counted() {
        let mut sim = Sim::new(1, 5, 0, Vec::new());
        for s in [Sid(4), Sid(5)] {
            sim.override_timing(s, None, None, Some(30));
        }
        sim.start_all();
        let c = sim.add_client(Sid(4));
        sim.run_for(Duration::from_millis(2_000));
        assert_eq!(sim.leader(), Some(Sid(5)), "the highest sid leads");
        assert!(sim.clients[c].connected);
        let before = sim.stats.coverage.clone();
        sim.silent_partition(&[vec![Sid(4), Sid(5)], vec![Sid(1), Sid(2), Sid(3)]]);
        for _ in 0..30 {
            sim.client_request(c, ClientOp::Exists { path: "/".into(), watch: false });
            sim.run_for(Duration::from_millis(50));
        }
        assert!(sim.violations.is_empty(), "{:?}", sim.violations);
        let after = &sim.stats.coverage;
        assert_eq!(before.concurrent_leaders, 0, "{before:?}");
        assert!(after.concurrent_leaders >= 1, "{after:?}");
        assert_eq!(before.overlapping_epochs, 0, "{before:?}");
        assert!(after.overlapping_epochs >= 1, "{after:?}");
        assert_eq!(before.stale_replies, 0, "{before:?}");
        assert!(after.stale_replies >= 1, "{after:?}");
    }
}
