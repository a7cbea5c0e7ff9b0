//! The smallest failing window of a non-linearizable key history: the shortest prefix (in
//! invocation order) that already fails, then as many ops removed as can be while it still
//! fails and every value read is still written by an op left in (so the window does not
//! turn into a misleading "read of a value never written").

use crate::history::{Call, Op, Outcome};
use crate::linear::{self, Verdict};
use crate::model::Reg;
use std::collections::BTreeSet;

/// Steps each trial check may take while shrinking.
const TRIAL_BUDGET: u64 = 200_000;

fn fails(ops: &[Op], init: Reg) -> bool {
    linear::check(ops, init, TRIAL_BUDGET) == Verdict::Violation
}

/// Every value read is the initial one or written by some op of `ops`.
fn reads_explained(ops: &[Op], init: Reg) -> bool {
    let written: BTreeSet<u64> =
        ops.iter().filter_map(|o| if let Call::Write { value, .. } = o.call { Some(value) } else { None }).collect();
    ops.iter().all(|o| match (&o.call, &o.outcome) {
        (Call::Read, Outcome::Ok { value, .. }) => *value == init.0 || written.contains(value),
        _ => true,
    })
}

/// The window, oldest op first; the whole history if it cannot be shown failing in pieces.
pub fn smallest(ops: &[Op], init: Reg) -> Vec<Op> {
    let mut ops: Vec<Op> = ops.iter().filter(|o| crate::model::relevant(o)).cloned().collect();
    ops.sort_by_key(|o| (o.invoke, o.id));
    // Shortest failing prefix: grow by doubling, then bisect.
    let mut hi = 1;
    while hi < ops.len() && !fails(&ops[..hi], init) {
        hi *= 2;
    }
    hi = hi.min(ops.len());
    if !fails(&ops[..hi], init) {
        return ops;
    }
    let mut lo = hi / 2;
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if fails(&ops[..mid], init) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let mut w: Vec<Op> = ops[..hi].to_vec();
    // Remove chunks, halving their size, while it still fails.
    let mut chunk = (w.len() / 2).max(1);
    loop {
        let mut start = 0;
        while start < w.len() {
            let mut trial = w.clone();
            trial.drain(start..(start + chunk).min(w.len()));
            if !trial.is_empty() && reads_explained(&trial, init) && fails(&trial, init) {
                w = trial;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 {
            return w;
        }
        chunk /= 2;
    }
}
