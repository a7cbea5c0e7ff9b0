//! The smallest failing window of a non-linearizable key history.
//!
//! First the earliest moment T at which the history already fails: the history as it stood
//! at T (ops invoked by then; those still running have unknown outcomes, so reads drop out
//! and writes may or may not apply) is not linearizable, and linearizability is closed under
//! such prefixes, so this bisects soundly. Then the latest quiet moment t0 before T (no op
//! with a known outcome running across it) such that the ops from t0 on still fail from an
//! unknown starting state: everything before t0 is summed up by that unknown state, so the
//! window fails on its own.

use crate::history::{Op, Outcome};
use crate::linear::{self, Verdict};
use crate::model::{self, Reg, States};

/// Steps each trial check may take while shrinking.
const TRIAL_BUDGET: u64 = 300_000;

/// The history as it stood at time `t`.
fn prefix_at(ops: &[Op], t: u64) -> Vec<Op> {
    let mut out = Vec::new();
    for op in ops.iter().filter(|o| o.invoke <= t) {
        if op.end() <= t {
            out.push(op.clone());
        } else if matches!(op.call, crate::history::Call::Write { .. }) {
            out.push(Op {
                complete: None,
                outcome: Outcome::Unknown { error: "running at the cut".into() },
                ..op.clone()
            });
        }
    }
    out
}

fn fails_from(ops: &[Op], start: States) -> bool {
    let refs: Vec<&Op> = ops.iter().filter(|o| model::relevant(o)).collect();
    if !start.any && linear::witness(&refs, start.set[0]) {
        return false;
    }
    linear::search_from(&refs, start, TRIAL_BUDGET) == Verdict::Violation
}

/// Smallest index in `0..n` for which `f` holds, given that it holds at `n - 1` and is
/// monotone (false, then true).
fn first_true(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if f(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// The window, oldest op first (the whole history if even that cannot be shown failing).
pub fn smallest(ops: &[Op], init: Reg) -> Vec<Op> {
    let mut ops: Vec<Op> = ops.iter().filter(|o| model::relevant(o)).cloned().collect();
    ops.sort_by_key(|o| (o.invoke, o.id));
    let mut times: Vec<u64> = ops.iter().filter_map(|o| o.complete).collect();
    times.push(u64::MAX);
    times.sort_unstable();
    times.dedup();
    if !fails_from(&prefix_at(&ops, u64::MAX), States::one(init)) {
        return ops;
    }
    let t = times[first_true(times.len(), |i| fails_from(&prefix_at(&ops, times[i]), States::one(init)))];
    let p = prefix_at(&ops, t);
    // Quiet moments: invocation times that no op with a known outcome spans.
    let mut cuts = Vec::new();
    let mut busy_until = 0;
    for op in &p {
        if op.invoke > busy_until {
            cuts.push(op.invoke);
        }
        if op.complete.is_some() {
            busy_until = busy_until.max(op.end());
        }
    }
    let window =
        |cut: u64| -> Vec<Op> { p.iter().filter(|o| o.invoke >= cut || o.complete.is_none()).cloned().collect() };
    // Later cuts leave less: find the latest that still fails from an unknown state.
    let fails_at = |k: usize| fails_from(&window(cuts[cuts.len() - 1 - k]), States::any());
    if cuts.is_empty() || !fails_at(cuts.len() - 1) {
        return p;
    }
    let k = first_true(cuts.len(), fails_at);
    window(cuts[cuts.len() - 1 - k])
}
