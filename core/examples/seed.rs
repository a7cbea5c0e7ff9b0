//! Run one seed and print its report: `cargo run -p zabra-core --example seed -- SEED NODES`.
use zabra_core::sim::{run_seed, SimOptions};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("number")).collect();
    let mut o = SimOptions::new(args.first().copied().unwrap_or(1), args.get(1).copied().unwrap_or(3) as usize);
    o.record_trace = true;
    let r = run_seed(&o);
    println!("events {} violations {:?}", r.events, r.violations);
    println!("{}", r.stats.summary());
    println!("trace events {}", r.trace.len());
}
