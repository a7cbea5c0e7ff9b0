//! Quick sweep for development: `cargo run --release -p zabra-core --example sweep -- FROM N NODES [MUTANT]`.
use zabra_core::sim::{run_seed, FaultStats, SimOptions};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let from: u64 = a[0].parse().unwrap();
    let n: u64 = a[1].parse().unwrap();
    let nodes: usize = a[2].parse().unwrap();
    let mut total = FaultStats::default();
    let mut bad = 0;
    for seed in from..from + n {
        let mut o = SimOptions::new(seed, nodes);
        if let Some(m) = a.get(3) {
            o.mutants.push(m.parse().unwrap());
        }
        let r = run_seed(&o);
        total.merge(&r.stats);
        if !r.passed() {
            bad += 1;
            if bad <= 5 {
                println!("seed {seed}: {:?}", &r.violations[..r.violations.len().min(2)]);
            }
        }
    }
    println!("{n} seeds, {bad} failing; {}", total.summary());
}
