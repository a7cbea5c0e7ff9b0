//! The compare-and-set register a znode is: a value and a version. Reads return both; a
//! write with an expected version applies only at that version; a write whose outcome is
//! unknown may have applied or not. The model is made deterministic the usual way: its state
//! is the set of register states still possible.

use crate::history::{Call, Op, Outcome};

/// Value and data version of one znode.
pub type Reg = (u64, i32);

/// The possible register states, sorted and without duplicates (small: one state per
/// unknown write at most), or any state at all (`any`: a window of a history that starts
/// where nothing is known yet).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct States {
    pub any: bool,
    pub set: Vec<Reg>,
}

impl States {
    pub fn one(r: Reg) -> States {
        States { any: false, set: vec![r] }
    }

    pub fn any() -> States {
        States { any: true, set: Vec::new() }
    }
}

/// Whether an op takes part in the register check (syncs, creates and failures that say
/// nothing do not).
pub fn relevant(op: &Op) -> bool {
    matches!(
        (&op.call, &op.outcome),
        (Call::Read, Outcome::Ok { .. })
            | (Call::Write { .. }, Outcome::Ok { .. } | Outcome::BadVersion | Outcome::Unknown { .. })
    )
}

/// A conditional write applies at its expected version; -1 (ZooKeeper's "any") always.
fn applies(expect: Option<i32>, r: Reg) -> bool {
    expect.is_none_or(|v| v == -1 || v == r.1)
}

/// The states after `op` from any of `from`; `None` if the op cannot happen in any of them.
pub fn step(from: &States, op: &Op) -> Option<States> {
    if from.any {
        return step_from_any(op);
    }
    let mut next: Vec<Reg> = Vec::new();
    for &r in &from.set {
        match (op.call, &op.outcome) {
            (Call::Read, Outcome::Ok { value, version, .. }) => {
                if r == (*value, *version) {
                    next.push(r);
                }
            }
            (Call::Write { value, expect }, Outcome::Ok { version, .. }) => {
                if applies(expect, r) && r.1 + 1 == *version {
                    next.push((value, *version));
                }
            }
            (Call::Write { expect, .. }, Outcome::BadVersion) => {
                if !applies(expect, r) {
                    next.push(r);
                }
            }
            (Call::Write { value, expect }, Outcome::Unknown { .. }) => {
                next.push(r);
                if applies(expect, r) {
                    next.push((value, r.1 + 1));
                }
            }
            _ => next.push(r),
        }
    }
    next.sort_unstable();
    next.dedup();
    (!next.is_empty()).then_some(States { any: false, set: next })
}

/// From an unknown state: a read or an acknowledged write pins it down; a refused CAS or an
/// unknown write leaves it unknown.
fn step_from_any(op: &Op) -> Option<States> {
    match (op.call, &op.outcome) {
        (Call::Read, Outcome::Ok { value, version, .. }) => Some(States::one((*value, *version))),
        (Call::Write { value, expect }, Outcome::Ok { version, .. }) => {
            expect.is_none_or(|e| e == -1 || e + 1 == *version).then_some(States::one((value, *version)))
        }
        _ => Some(States::any()),
    }
}

/// One op applied to a single known state, with an unknown write's effect chosen: `effect`
/// says whether it applied. `None` if impossible.
pub fn step_one(r: Reg, op: &Op, effect: bool) -> Option<Reg> {
    match (op.call, &op.outcome) {
        (Call::Write { value, expect }, Outcome::Unknown { .. }) => match effect {
            true => applies(expect, r).then_some((value, r.1 + 1)),
            false => Some(r),
        },
        _ => step(&States::one(r), op).map(|s| s.set[0]),
    }
}
