//! The simulator's loops end: a violation stops a seed's liveness phase and a script's
//! `stabilize` (they used to wait on a clock the violation had stopped), the event budget
//! ends a run that would not, and the end-of-seed comparison waits for commits in flight.
//! Every loop they run is bounded by a count of slices (`Sim::run_while`) and the event
//! budget, not by the clock alone, so a regression fails an assertion instead of hanging.

use super::Sim;
use crate::config::Mutant;
use crate::peer::ClientOp;
use crate::time::Duration;
use crate::txn::{CreateMode, Op};

/// A 3-peer cluster that has elected a leader, with one connected client on peer 1.
fn serving(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, 3, 0, Vec::new());
    sim.start_all();
    sim.add_client(crate::ids::Sid(1));
    sim.run_for(Duration::from_millis(2_000));
    assert!(sim.leader().is_some() && sim.clients[0].connected, "the cluster serves");
    sim
}

/// The liveness phase stops at a violation instead of waiting for writes that can no longer
/// be acknowledged (`run_until` no longer moves the clock). Hung before the fix.
#[test]
fn liveness_stops_at_a_violation() {
    let v = {
        let mut sim = serving(3);
        sim.violation("injected".into());
        super::sweep::liveness(&mut sim);
        sim.violations
    };
    assert_eq!(v, vec!["injected".to_string()], "the first violation is the one reported");
}

/// `cargo xtask sim --seeds 1 --from 140 --nodes 3 --mutant diff-instead-of-trunc` never
/// ended: its violation came during the liveness phase. Now the seed ends with it. (Seed 5
/// is one whose violation comes in the liveness phase since connects wait for service.)
#[test]
fn a_seed_that_fails_in_its_liveness_phase_ends() {
    let r = {
        let mut o = super::SimOptions::new(5, 3);
        o.mutants.push(Mutant::DiffInsteadOfTrunc);
        super::run_seed(&o)
    };
    assert!(!r.passed(), "the mutant is caught");
    let order = |v: &String| v.contains("PrefixConsistency") || v.contains("TotalOrder");
    assert!(r.violations.iter().any(order), "{:?}", r.violations);
}

/// The ack-before-durable mutant's scenario with `stabilize` where the violation happens
/// (the write commits on acks the followers' slow disks have not made good): the script goes
/// on at its `expect-violation` line. Before the fix this hung `cargo test`: the commit was
/// still on its way to the followers, so the cluster never looked stable, and the clock had
/// stopped at the violation.
#[test]
fn stabilize_stops_at_a_violation() {
    let script = "cluster 3 seed=7 mutant=ack-before-durable
start
stabilize
client 3 get /
slowdisk 1 80ms..90ms
slowdisk 2 80ms..90ms
client 3 create /x 1
stabilize
expect-violation CommittedLogDurability
";
    let out = super::script::run_script(script).expect("the script runs");
    assert!(out.contains("caught: CommittedLogDurability"), "{out}");
    // Without the expectation, the transcript ends with the violation.
    let bare = script.replace("expect-violation CommittedLogDurability\n", "");
    let out = super::script::run_script(&bare).expect("the script runs");
    assert!(
        out.trim_end().ends_with("VIOLATION: CommittedLogDurability: only 1 voters durably hold committed 0x100000002"),
        "{out}"
    );
}

/// A run that would go on for ever is cut off by the event budget, with a violation.
#[test]
fn the_event_budget_ends_a_run() {
    let (v, events) = {
        let mut sim = Sim::new(1, 3, 0, Vec::new());
        sim.max_events = 300;
        sim.start_all();
        sim.run_for(Duration::from_millis(3_600_000));
        (sim.violations, sim.events)
    };
    assert_eq!(events, 300);
    assert!(v.len() == 1 && v[0].starts_with("event budget: 300 events"), "{v:?}");
}

/// The end-of-seed comparison of commit points waits until nothing is in flight: TTL nodes
/// the leader reaps make commits happen around the moment of comparison, at every phase of
/// the reaper's period, and none may be taken for divergence. Before the fix (compare after
/// a fixed 500 ms), some phases reported `converged=false`.
#[test]
fn convergence_is_judged_with_nothing_in_flight() {
    let failures = {
        let mut failures = Vec::new();
        for phase_ms in (0..200).step_by(2) {
            let mut sim = serving(5);
            for i in 0..40 {
                let ttl_ms = 100 + 50 * i;
                let op = Op::create(&format!("/t{i}"), b"", CreateMode::PersistentWithTtl { ttl_ms });
                sim.client_request(0, ClientOp::Write(op));
            }
            sim.run_for(Duration::from_millis(phase_ms));
            super::sweep::liveness(&mut sim);
            if let Some(v) = sim.violations.first() {
                failures.push(format!("phase {phase_ms} ms: {v}"));
            }
        }
        failures
    };
    assert!(failures.is_empty(), "{} phases failed:\n{}", failures.len(), failures.join("\n"));
}
