//! The checkers bite: every mutant (a deliberately wrong behaviour, `Config::mutants`) is
//! caught by the random seed sweep alone, at every cluster size from 3 to 9 voters, within
//! `MUTANT_SEED_BOUND` seeds. No scenario fallback and no exemption list: a mutant the sweep
//! cannot reach means the fault model misses an interleaving the safety argument depends on.
//! (`cargo xtask mutants` runs the same search in parallel and prints the seeds it took.)

use zabra_core::config::Mutant;
use zabra_core::sim::{first_catch, run_seed, SimOptions, MUTANT_SEED_BOUND};

#[test]
fn every_mutant_is_caught_by_the_sweep_on_3_to_9_nodes() {
    let mut missed = Vec::new();
    for m in Mutant::ALL {
        for nodes in [3, 5, 7, 9] {
            match first_catch(m, nodes, 0..MUTANT_SEED_BOUND) {
                Some(r) => println!("{m} n={nodes}: seed {}: {}", r.seed, r.violations[0]),
                None => missed.push(format!("{m} at {nodes} nodes")),
            }
        }
    }
    assert!(missed.is_empty(), "not caught within {MUTANT_SEED_BOUND} seeds: {missed:?}");
}

#[test]
fn without_mutants_the_same_seeds_pass() {
    for seed in 0..10 {
        let r = run_seed(&SimOptions::new(seed, 3));
        assert!(r.passed(), "{}: {:?}", r.replay_command(), r.violations);
    }
}
