//! `cargo xtask mutants`: every mutant in `Mutant::ALL` must be caught by the random sweep
//! alone (no scenario, no exemption) at each cluster size, within `MUTANT_SEED_BOUND` seeds.
//!
//! Prints per mutant the first catching seed at each size (how many seeds it took) and fails
//! naming each mutant a size did not catch. One (mutant, size) search per task on a pool of
//! std threads; each search runs its seeds in order, so the result is the same on any pool.

use crate::util::{secs, Shown};
use crate::Result;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;
use zabra_core::config::Mutant;
use zabra_core::sim::{first_catch, MUTANT_SEED_BOUND};

#[derive(clap::Args, Clone, Debug)]
pub struct MutantsArgs {
    /// Cluster sizes (voting peers), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "3,5,7,9")]
    pub nodes: Vec<usize>,
    /// Seeds each mutant may take at each size.
    #[arg(long, default_value_t = MUTANT_SEED_BOUND)]
    pub seeds: u64,
    /// Only these mutants (repeatable; default: all).
    #[arg(long = "mutant")]
    pub mutants: Vec<Mutant>,
}

impl Default for MutantsArgs {
    fn default() -> MutantsArgs {
        MutantsArgs { nodes: vec![3, 5, 7, 9], seeds: MUTANT_SEED_BOUND, mutants: Vec::new() }
    }
}

/// The first catching seed of each (mutant, size), None when not caught within the bound.
type Found = BTreeMap<(Mutant, usize), Option<(u64, String)>>;

pub fn run(args: &MutantsArgs) -> Result {
    let mutants: Vec<Mutant> = if args.mutants.is_empty() { Mutant::ALL.to_vec() } else { args.mutants.clone() };
    let plan: Vec<(Mutant, usize)> = mutants.iter().flat_map(|&m| args.nodes.iter().map(move |&n| (m, n))).collect();
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, plan.len().max(1));
    println!(
        "mutants: {} mutants x nodes {:?}, each within {} seeds, on {threads} threads",
        mutants.len(),
        args.nodes,
        args.seeds
    );
    let start = Instant::now();
    let found: Mutex<Found> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(&(m, n)) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let hit = first_catch(m, n, 0..args.seeds).map(|r| (r.seed, r.violations[0].clone()));
                    found.lock().expect("no worker panics holding it").insert((m, n), hit);
                }
            });
        }
    });
    let found = found.into_inner().expect("no worker panicked");
    let mut missed = Vec::new();
    for m in &mutants {
        let mut line = format!("{:<30}", m.name());
        for n in &args.nodes {
            match &found[&(*m, *n)] {
                Some((seed, _)) => line.push_str(&format!("  n{n}: {:>3} seeds", seed + 1)),
                None => {
                    line.push_str(&format!("  n{n}: MISSED"));
                    missed.push(format!("{m} at {n} nodes"));
                }
            }
        }
        println!("{line}");
    }
    println!("mutants searched in {}", secs(start.elapsed()));
    if missed.is_empty() {
        return Ok(());
    }
    let msg = format!("not caught by the sweep within {} seeds: {}", args.seeds, missed.join(", "));
    println!("{msg}");
    Err(Shown(msg).into())
}
