//! The simulator: one fixed seed of the chaos sweep (3 voters), in simulator events per
//! second.

use criterion::{Criterion, Throughput};
use zabra_core::sim::{run_seed, SimOptions};

const SEED: u64 = 7;

pub fn bench(c: &mut Criterion) {
    let opts = SimOptions::new(SEED, 3);
    let events = run_seed(&opts).events;
    println!("sim seed {SEED}, 3 voters: {events} events");
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("seed7_3voters", |b| b.iter(|| run_seed(std::hint::black_box(&opts))));
    g.finish();
}
