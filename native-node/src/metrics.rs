//! Figures a node counts as it runs, shared by the node task (request latency), the storage
//! thread (fsync and snapshot times) and the monitoring pages (`mntr`, `/metrics`).
//!
//! Each timing is kept twice: as a Prometheus histogram (bucket counts, for percentiles and
//! rates across scrapes) and as ZooKeeper's `AvgMinMaxCounter` (min, max, sum, count in ms),
//! which `mntr` prints and `srst` resets.

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zabra_core::peer::{ClientOp, ClientRequest};
use zabra_core::SessionId;
use zabra_zkwire as wire;

#[derive(Debug)]
pub struct Timing {
    pub histogram: Histogram,
    agg: Mutex<Agg>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Agg {
    count: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
}

impl Timing {
    /// Buckets from `first` seconds, doubling `n` times.
    fn new(first: f64, n: u16) -> Timing {
        Timing { histogram: Histogram::new(exponential_buckets(first, 2.0, n)), agg: Mutex::default() }
    }

    pub fn observe(&self, d: Duration) {
        self.histogram.observe(d.as_secs_f64());
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        let mut a = self.agg.lock().expect("not poisoned");
        a.min_us = if a.count == 0 { us } else { a.min_us.min(us) };
        a.max_us = a.max_us.max(us);
        a.sum_us = a.sum_us.saturating_add(us);
        a.count += 1;
    }

    /// Since the last reset, in ms as ZooKeeper prints them (min, max and sum rounded down).
    pub fn summary(&self) -> wire::Timing {
        let a = *self.agg.lock().expect("not poisoned");
        wire::Timing {
            count: a.count,
            sum: a.sum_us / 1000,
            min: a.min_us / 1000,
            max: a.max_us / 1000,
            percentiles: None,
        }
    }

    /// The average in ms with ZooKeeper's 4 decimals (from microseconds, so sub-ms latencies
    /// do not all read 0).
    pub fn avg_ms(&self) -> f64 {
        let a = *self.agg.lock().expect("not poisoned");
        if a.count == 0 {
            return 0.0;
        }
        (a.sum_us as f64 / a.count as f64 / 1000.0 * 10_000.0).round() / 10_000.0
    }

    /// `srst`: the min/avg/max figures start again (the histogram, a Prometheus counter,
    /// never goes back).
    pub fn reset(&self) {
        *self.agg.lock().expect("not poisoned") = Agg::default();
    }
}

#[derive(Debug)]
pub struct Metrics {
    pub started: Instant,
    /// Client reads (and pings) from arrival at the node task to the reply.
    pub read_latency: Timing,
    /// Client writes, from arrival to the reply after commit.
    pub update_latency: Timing,
    /// Group commits: the fsync of the log.
    pub fsync: Timing,
    /// Background snapshots, from hand-over to durable.
    pub snapshot: Timing,
    /// The disk store's counters, copied by the storage thread after each group commit.
    pub storage: Mutex<zabra_storage::Stats>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            read_latency: Timing::new(0.000_05, 18),
            update_latency: Timing::new(0.000_05, 18),
            fsync: Timing::new(0.000_05, 18),
            snapshot: Timing::new(0.001, 18),
            storage: Mutex::default(),
        }
    }
}

impl Metrics {
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Overall request latency for `srvr`/`mntr` (reads and writes together), ms.
    pub fn latency(&self) -> (u64, f64, u64) {
        let (r, u) = (self.read_latency.summary(), self.update_latency.summary());
        let count = r.count + u.count;
        let min = match (r.count, u.count) {
            (0, _) => u.min,
            (_, 0) => r.min,
            _ => r.min.min(u.min),
        };
        let avg = if count == 0 {
            0.0
        } else {
            let w = |t: &Timing, n: u64| t.avg_ms() * n as f64;
            ((w(&self.read_latency, r.count) + w(&self.update_latency, u.count)) / count as f64 * 10_000.0).round()
                / 10_000.0
        };
        (min, avg, r.max.max(u.max))
    }

    /// `srst`.
    pub fn reset(&self) {
        for t in [&self.read_latency, &self.update_latency, &self.fsync, &self.snapshot] {
            t.reset();
        }
    }
}

/// Requests the node task received and has not answered yet, with their arrival: ZooKeeper's
/// outstanding requests, and the start of each latency sample. Entries go with their reply or
/// their connection; the table is capped, so a flood only stops sampling.
#[derive(Debug)]
pub struct Inflight {
    started: BTreeMap<(SessionId, i64), (Instant, bool)>,
    metrics: Arc<Metrics>,
}

const MAX_TRACKED: usize = 1 << 16;

impl Inflight {
    pub fn new(metrics: Arc<Metrics>) -> Inflight {
        Inflight { started: BTreeMap::new(), metrics }
    }

    pub fn received(&mut self, req: &ClientRequest) {
        if self.started.len() < MAX_TRACKED {
            let write = matches!(req.op, ClientOp::Write(_));
            self.started.insert((req.session, req.xid), (Instant::now(), write));
        }
    }

    /// The request's latency, if it was sampled.
    pub fn answered(&mut self, session: SessionId, xid: i64) -> Option<Duration> {
        let (at, write) = self.started.remove(&(session, xid))?;
        let t = if write { &self.metrics.update_latency } else { &self.metrics.read_latency };
        let took = at.elapsed();
        t.observe(took);
        Some(took)
    }

    /// The connection of `session` closed: its requests will get no reply here.
    pub fn forget(&mut self, session: SessionId) {
        self.started.retain(|(s, _), _| *s != session);
    }

    pub fn len(&self) -> usize {
        self.started.len()
    }

    /// Requests of `session` received and not answered yet.
    pub fn outstanding(&self, session: SessionId) -> u64 {
        self.started.range((session, i64::MIN)..=(session, i64::MAX)).count() as u64
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }
}

/// Open file descriptors of this process and its limit (Linux: `/proc/self/fd`, rlimit).
pub fn file_descriptors() -> (Option<u64>, Option<u64>) {
    let open = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count().saturating_sub(1) as u64);
    let max = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok().map(|(soft, _)| soft);
    (open, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_keep_zookeepers_figures_and_reset() {
        let t = Timing::new(0.001, 4);
        assert_eq!(t.summary(), wire::Timing::default());
        for ms in [3, 1, 8] {
            t.observe(Duration::from_millis(ms));
        }
        let s = t.summary();
        assert_eq!((s.count, s.min, s.max, s.sum), (3, 1, 8, 12));
        assert_eq!(t.avg_ms(), 4.0);
        let count = |t: &Timing| {
            let mut r = prometheus_client::registry::Registry::default();
            r.register("t", "t", t.histogram.clone());
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
            out.lines().find_map(|l| l.strip_prefix("t_count ").map(str::to_string)).unwrap()
        };
        assert_eq!(count(&t), "3");
        t.reset();
        assert_eq!(t.summary().count, 0);
        assert_eq!(count(&t), "3", "the Prometheus histogram never goes back");
    }

    #[test]
    fn overall_latency_weights_reads_and_writes() {
        let m = Metrics::default();
        m.read_latency.observe(Duration::from_micros(500));
        m.update_latency.observe(Duration::from_millis(4));
        m.update_latency.observe(Duration::from_millis(6));
        let (min, avg, max) = m.latency();
        assert_eq!((min, max), (0, 6));
        assert!((avg - 3.5).abs() < 1e-9, "{avg}");
        let (open, limit) = file_descriptors();
        if cfg!(target_os = "linux") {
            assert!(open.is_some_and(|n| n > 0) && limit.is_some_and(|l| l >= open.unwrap()));
        }
    }
}
