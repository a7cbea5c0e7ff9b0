//! Criterion benchmarks of the core's hot paths (`cargo bench -p zabra-core`): applying
//! transactions to the data tree, the leader's proposal/ack/commit path, the encodings a
//! write goes through, and the simulator. Each is kept short (a small `measurement_time`) so
//! the whole run takes a few minutes on a busy machine; the figures are for comparing before
//! and after a change on one machine, not absolute.

mod cluster;
mod encode;
mod sim;
mod tree;

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// Short runs: a few seconds per benchmark.
fn quick() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = quick();
    targets = tree::bench, cluster::bench, encode::bench, sim::bench
}
criterion_main!(benches);
