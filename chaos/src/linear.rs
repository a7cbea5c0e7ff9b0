//! Linearizability of one key's register history.
//!
//! First the cheap witness: the order the leader committed writes in (their zxids, also
//! learnt from reads for writes whose answer was lost), with each read placed after the write
//! it saw and each refused CAS at the first place its version differs. If that order respects
//! real time and the register model, the history is linearizable, in O(n log n). Otherwise a
//! Wing–Gong–Lowe search (Lowe's memoized version, as in Porcupine) decides, within a budget
//! of steps.

use crate::history::{Call, Op, Outcome};
use crate::model::{self, Reg, States};
use std::collections::{BTreeMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Linearizable; `by_witness` when the zxid order alone showed it.
    Ok { by_witness: bool },
    /// Not linearizable: no order of the ops respects real time and the register.
    Violation,
    /// The search ran out of steps before deciding.
    Undecided,
}

/// Steps the search may take on one key before giving up.
pub const DEFAULT_BUDGET: u64 = 5_000_000;

/// Checks one key's ops (those `model::relevant` keeps) from register state `init`.
pub fn check(ops: &[Op], init: Reg, budget: u64) -> Verdict {
    let ops: Vec<&Op> = ops.iter().filter(|o| model::relevant(o)).collect();
    if witness(&ops, init) {
        return Verdict::Ok { by_witness: true };
    }
    search(&ops, init, budget)
}

/// The zxid-order witness: true only if it is a valid linearization.
pub fn witness(ops: &[&Op], init: Reg) -> bool {
    witness_explained(ops, init).is_ok()
}

/// Where the zxid order stops being a linearization, for reports.
pub fn witness_explained(ops: &[&Op], init: Reg) -> Result<(), String> {
    let order = witness_order(ops, init)?;
    valid(&order, init)
}

/// The writes that took effect, in zxid order, with the states they lead through.
struct Chain<'a> {
    writes: Vec<&'a Op>,
    /// `states[g]`: the register after the first g writes.
    states: Vec<Reg>,
    /// The gap (index into `states`) each known write zxid leads to.
    gap_of_zxid: BTreeMap<u64, usize>,
    /// Everything else: reads, refused CASes, unknown writes with no sign of an effect.
    rest: Vec<&'a Op>,
}

/// Acknowledged writes by zxid, unknown writes dated by a read of their value, and a skipped
/// version filled by the earliest unknown write nobody read that fits.
fn chain<'a>(ops: &[&'a Op], init: Reg) -> Result<Chain<'a>, String> {
    // zxid of each value seen by a read: dates writes whose answer was lost.
    let mut seen: BTreeMap<u64, (u64, i32)> = BTreeMap::new();
    for op in ops {
        if let (Call::Read, Outcome::Ok { value, zxid, version }) = (&op.call, &op.outcome) {
            seen.insert(*value, (*zxid, *version));
        }
    }
    let mut writes: Vec<(u64, &Op)> = Vec::new();
    let mut others: Vec<&Op> = Vec::new();
    let mut unseen: Vec<&Op> = Vec::new();
    for op in ops {
        match (&op.call, &op.outcome) {
            (Call::Write { .. }, Outcome::Ok { zxid, .. }) => writes.push((*zxid, op)),
            (Call::Write { value, .. }, Outcome::Unknown { .. }) => match seen.get(value) {
                Some((z, _)) => writes.push((*z, op)),
                None => unseen.push(op),
            },
            _ => others.push(op),
        }
    }
    writes.sort_by_key(|(z, op)| (*z, op.id));
    unseen.sort_by_key(|o| (o.invoke, o.id));
    let mut used = vec![false; unseen.len()];
    // The writes that took effect, in order; states[g] is the state after g of them.
    let mut chain: Vec<&Op> = Vec::new();
    let mut states = vec![init];
    let mut gap_of_zxid: BTreeMap<u64, usize> = BTreeMap::new();
    for (z, w) in &writes {
        let mut r = states[states.len() - 1];
        // A version skipped: an unknown write nobody read took effect; take the earliest
        // that fits.
        // The version it made: acknowledged, or seen by a read of its value.
        let made = match (w.call, &w.outcome) {
            (_, Outcome::Ok { version, .. }) => Some(*version),
            (Call::Write { value, .. }, _) => seen.get(&value).map(|(_, v)| *v),
            _ => None,
        };
        if let Some(version) = made {
            while r.1 + 1 < version {
                let fits =
                    |(i, u): &(usize, &&Op)| !used[*i] && u.invoke < w.end() && model::step_one(r, u, true).is_some();
                let Some(i) = unseen.iter().enumerate().find(fits).map(|(i, _)| i) else { break };
                used[i] = true;
                r = model::step_one(r, unseen[i], true).unwrap_or(r);
                chain.push(unseen[i]);
                states.push(r);
            }
        }
        let next =
            model::step_one(r, w, true).ok_or_else(|| format!("write #{} cannot follow {r:?} in zxid order", w.id))?;
        chain.push(w);
        states.push(next);
        gap_of_zxid.insert(*z, chain.len());
    }
    others.extend(unseen.iter().zip(&used).filter(|(_, u)| !**u).map(|(o, _)| *o));
    Ok(Chain { writes: chain, states, gap_of_zxid, rest: others })
}

/// (op, effect) in witness order, or why some op cannot be placed.
fn witness_order<'a>(ops: &[&'a Op], init: Reg) -> Result<Vec<(&'a Op, bool)>, String> {
    let Chain { writes: chain, states, gap_of_zxid, rest: others } = chain(ops, init)?;
    let mut placed: Vec<Vec<(&Op, bool)>> = vec![Vec::new(); states.len()];
    // (end, gap) of every op placed so far, for the lower bound of a refused CAS: after
    // everything that completed before it began.
    let mut ends: Vec<(u64, usize)> = chain.iter().enumerate().map(|(i, w)| (w.end(), i + 1)).collect();
    let mut refused: Vec<&Op> = Vec::new();
    for op in others {
        let gap = match (&op.call, &op.outcome) {
            (Call::Read, Outcome::Ok { value, version, zxid }) if (*value, *version) == init => {
                gap_of_zxid.get(zxid).copied().unwrap_or(0)
            }
            (Call::Read, Outcome::Ok { zxid, .. }) => {
                *gap_of_zxid.get(zxid).ok_or_else(|| format!("read #{} saw zxid {zxid:#x} of no known write", op.id))?
            }
            (Call::Write { .. }, Outcome::BadVersion) => {
                refused.push(op);
                continue;
            }
            // An unknown write nobody saw: it did not take effect, at the end.
            _ => states.len() - 1,
        };
        ends.push((op.end(), gap));
        placed[gap].push((op, false));
    }
    place_refused(refused, ends, &states, &mut placed)?;
    let mut order = Vec::with_capacity(ops.len());
    for (g, mut in_gap) in placed.into_iter().enumerate() {
        if g > 0 {
            order.push((chain[g - 1], true));
        }
        in_gap.sort_by_key(|(op, _)| (op.invoke, op.id));
        order.extend(in_gap);
    }
    Ok(order)
}

/// Each refused CAS at the first gap, after everything that completed before it began,
/// whose version differs from the one it expected.
fn place_refused<'a>(
    mut refused: Vec<&'a Op>,
    mut ends: Vec<(u64, usize)>,
    states: &[Reg],
    placed: &mut [Vec<(&'a Op, bool)>],
) -> Result<(), String> {
    ends.sort_unstable();
    refused.sort_by_key(|o| (o.invoke, o.id));
    // Refused CASes in invocation order; `later` holds those placed whose end is not passed yet.
    let (mut i, mut lb) = (0, 0);
    let mut later: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>> = Default::default();
    for op in refused {
        while i < ends.len() && ends[i].0 < op.invoke {
            lb = lb.max(ends[i].1);
            i += 1;
        }
        while let Some(std::cmp::Reverse((_, gap))) = later.peek().copied().filter(|r| r.0 .0 < op.invoke) {
            lb = lb.max(gap);
            later.pop();
        }
        let Call::Write { expect, .. } = op.call else { continue };
        let gap = (lb..states.len())
            .find(|&g| Some(states[g].1) != expect)
            .ok_or_else(|| format!("refused CAS #{} expected the version every later state has", op.id))?;
        later.push(std::cmp::Reverse((op.end(), gap)));
        placed[gap].push((op, false));
    }
    Ok(())
}

/// A total order is a linearization: real time respected and every step legal.
fn valid(order: &[(&Op, bool)], init: Reg) -> Result<(), String> {
    let mut first_done: Option<&Op> = None;
    for (op, _) in order.iter().rev() {
        if let Some(d) = first_done.filter(|d| d.precedes(op)) {
            return Err(format!("#{} is ordered after #{} though it completed before #{} began", d.id, op.id, op.id));
        }
        if first_done.is_none_or(|d| op.end() < d.end()) {
            first_done = Some(op);
        }
    }
    let mut r = init;
    for (op, effect) in order {
        match model::step_one(r, op, *effect) {
            Some(next) => r = next,
            None => return Err(format!("#{} cannot happen at {r:?}", op.id)),
        }
    }
    Ok(())
}

struct Entry {
    op: usize,
    call: bool,
    /// Index of the matching entry (call ↔ return).
    mate: usize,
}

/// Wing–Gong–Lowe with memoization over (linearized set, states).
pub fn search(ops: &[&Op], init: Reg, budget: u64) -> Verdict {
    search_from(ops, States::one(init), budget)
}

/// A doubly linked list over the entries (index `m` is the head sentinel), from which calls
/// and their returns are lifted while linearized and put back on backtracking.
struct Links {
    next: Vec<usize>,
    prev: Vec<usize>,
}

const END: usize = usize::MAX;

impl Links {
    fn new(m: usize) -> Links {
        let mut next: Vec<usize> = (1..=m).collect();
        next[m - 1] = END;
        next.push(0);
        let mut prev: Vec<usize> = std::iter::once(m).chain(0..m - 1).collect();
        prev.push(m - 1);
        Links { next, prev }
    }

    fn lift(&mut self, e: usize, mate: usize) {
        for x in [e, mate] {
            let (p, nx) = (self.prev[x], self.next[x]);
            self.next[p] = nx;
            if nx != END {
                self.prev[nx] = p;
            }
        }
    }

    fn unlift(&mut self, e: usize, mate: usize) {
        for x in [mate, e] {
            let (p, nx) = (self.prev[x], self.next[x]);
            self.next[p] = x;
            if nx != END {
                self.prev[nx] = x;
            }
        }
    }
}

/// Call and return entries by time; at equal times calls first (such ops count as concurrent).
fn entries(ops: &[&Op]) -> Vec<Entry> {
    let n = ops.len();
    let mut ev: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        ev.push((op.invoke, true, i));
        ev.push((op.end(), false, i));
    }
    ev.sort_by_key(|&(t, call, i)| (t, !call, i));
    let mut pos = vec![[0usize; 2]; n];
    for (k, &(_, call, i)) in ev.iter().enumerate() {
        pos[i][usize::from(!call)] = k;
    }
    ev.iter().map(|&(_, call, i)| Entry { op: i, call, mate: pos[i][usize::from(call)] }).collect()
}

/// The search from any set of start states (`States::any()` for a window of a history).
pub fn search_from(ops: &[&Op], start: States, budget: u64) -> Verdict {
    let n = ops.len();
    if n == 0 {
        return Verdict::Ok { by_witness: false };
    }
    let entries = entries(ops);
    let m = entries.len();
    let mut links = Links::new(m);
    let mut linearized = vec![0u64; n.div_ceil(64)];
    let mut cache: HashSet<(Vec<u64>, States)> = HashSet::new();
    let mut stack: Vec<(usize, States)> = Vec::new();
    let mut state = start;
    let mut e = links.next[m];
    let mut steps = 0u64;
    while links.next[m] != END {
        steps += 1;
        if steps > budget {
            return Verdict::Undecided;
        }
        if entries[e].call {
            let op = entries[e].op;
            if let Some(after) = model::step(&state, ops[op]) {
                linearized[op / 64] |= 1 << (op % 64);
                if cache.insert((linearized.clone(), after.clone())) {
                    stack.push((e, std::mem::replace(&mut state, after)));
                    links.lift(e, entries[e].mate);
                    e = links.next[m];
                    continue;
                }
                linearized[op / 64] &= !(1 << (op % 64));
            }
            e = links.next[e];
        } else {
            let Some((top, before)) = stack.pop() else { return Verdict::Violation };
            state = before;
            let op = entries[top].op;
            linearized[op / 64] &= !(1 << (op % 64));
            links.unlift(top, entries[top].mate);
            e = links.next[top];
        }
    }
    Verdict::Ok { by_witness: false }
}
