//! What a simulated run reports: violations, and counts of what was exercised.

use crate::trace::TraceEvent;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How a simulated run is set up.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// Voting peers (1..=9).
    pub nodes: usize,
    pub observers: usize,
    /// Keep every trace event (for replay files and the native-vs-wasm comparison).
    pub record_trace: bool,
    pub mutants: Vec<crate::config::Mutant>,
}

impl SimOptions {
    pub fn new(seed: u64, nodes: usize) -> Self {
        SimOptions { seed, nodes, observers: 0, record_trace: false, mutants: Vec::new() }
    }
}

/// Counts of what a run (or a sweep, after `merge`) exercised.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultStats {
    pub leader_crashes: u64,
    pub other_crashes: u64,
    pub partitions: u64,
    pub one_way_partitions: u64,
    pub broken_links: u64,
    pub dropped_notifications: u64,
    /// Named crash points (zab-notes.md) that fired, by name.
    pub crash_points: BTreeMap<String, u64>,
    pub writes_committed: u64,
    pub reads_checked: u64,
    pub syncs_checked: u64,
    /// Sessions the leader expired (closeSession it proposed itself).
    pub sessions_expired: u64,
    /// Watch events delivered to clients (each checked against the model).
    pub watch_events: u64,
    /// Seeds whose final healed phase committed fresh writes.
    pub healed_and_live: u64,
    /// What the safety argument depends on (`FaultStats::coverage` names them).
    pub coverage: super::Coverage,
    /// Elections the election oracle ended (with any voter as leader).
    pub oracle_elections: u64,
    /// Crashes that kept some of the writes not yet durable (a prefix).
    pub torn_crashes: u64,
}

impl FaultStats {
    pub fn merge(&mut self, o: &FaultStats) {
        self.leader_crashes += o.leader_crashes;
        self.other_crashes += o.other_crashes;
        self.partitions += o.partitions;
        self.one_way_partitions += o.one_way_partitions;
        self.broken_links += o.broken_links;
        self.dropped_notifications += o.dropped_notifications;
        for (k, v) in &o.crash_points {
            *self.crash_points.entry(k.clone()).or_default() += v;
        }
        self.writes_committed += o.writes_committed;
        self.reads_checked += o.reads_checked;
        self.syncs_checked += o.syncs_checked;
        self.sessions_expired += o.sessions_expired;
        self.watch_events += o.watch_events;
        self.healed_and_live += o.healed_and_live;
        self.coverage.merge(&o.coverage);
        self.oracle_elections += o.oracle_elections;
        self.torn_crashes += o.torn_crashes;
    }

    /// The counts printed after a sweep's summary, on one line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "leader crashes {}, other crashes {}, partitions {} ({} one-way), broken links {}, \
             dropped notifications {}, crash points hit {}/{} [",
            self.leader_crashes,
            self.other_crashes,
            self.partitions,
            self.one_way_partitions,
            self.broken_links,
            self.dropped_notifications,
            self.crash_points.values().filter(|v| **v > 0).count(),
            crate::sim::CrashPoint::ALL.len(),
        );
        for (i, (k, v)) in self.crash_points.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(s, "{sep}{k}={v}");
        }
        let _ = write!(
            s,
            "], torn crashes {}, oracle elections {}, client writes committed {}, reads checked {}, syncs checked {}, \
             sessions expired {}, watch events {}, healed+live {}",
            self.torn_crashes,
            self.oracle_elections,
            self.writes_committed,
            self.reads_checked,
            self.syncs_checked,
            self.sessions_expired,
            self.watch_events,
            self.healed_and_live
        );
        s
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug, Serialize)]
pub struct SeedReport {
    pub seed: u64,
    pub nodes: usize,
    /// Simulator events processed (message deliveries, timeouts, persists, faults, client ops).
    pub events: u64,
    /// Safety, liveness or history violations; empty when the seed passed.
    pub violations: Vec<String>,
    pub stats: FaultStats,
    /// Every trace event, when `record_trace` was set.
    pub trace: Vec<TraceEvent>,
}

impl SeedReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The trace as JSON lines: one event per line (the replay file format).
    pub fn trace_json(&self) -> String {
        let mut s = String::new();
        for e in &self.trace {
            s.push_str(&serde_json::to_string(e).expect("trace events serialize"));
            s.push('\n');
        }
        s
    }

    /// FNV-1a 64 of `trace_json()`: compares traces across targets cheaply.
    pub fn trace_hash(&self) -> u64 {
        crate::describe::fnv1a(self.trace_json().as_bytes())
    }

    /// The command line that replays this seed.
    pub fn replay_command(&self) -> String {
        format!("cargo xtask sim --seeds 1 --from {} --nodes {}", self.seed, self.nodes)
    }
}
