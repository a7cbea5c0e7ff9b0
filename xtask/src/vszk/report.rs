//! The side-by-side table: one row per figure, ZooKeeper's and Zabra's value, and their
//! ratio oriented so that > 1 always means Zabra is better (throughput: Zabra / ZooKeeper;
//! latency, memory, CPU and failover time: ZooKeeper / Zabra).

use super::run::WORKLOADS;
use serde_json::{json, Value};

pub struct Row {
    pub metric: String,
    pub unit: &'static str,
    pub zk: f64,
    pub zabra: f64,
    /// Bigger is better (throughput); otherwise smaller is.
    pub higher_better: bool,
    /// Which ZooKeeper run the row compares with ("defaults" or "scaled").
    pub zk_run: &'static str,
}

impl Row {
    /// > 1 means Zabra is better; None when a side is missing or zero.
    pub fn ratio(&self) -> Option<f64> {
        let (num, den) = if self.higher_better { (self.zabra, self.zk) } else { (self.zk, self.zabra) };
        let r = num / den;
        (r.is_finite() && r > 0.0).then_some(r)
    }
}

fn median(v: &Value) -> f64 {
    super::run::median(v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default())
}

fn mean_mib(v: &Value) -> f64 {
    let xs: Vec<f64> = v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    xs.iter().sum::<f64>() / xs.len().max(1) as f64 / 1024.0
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Every compared figure, from the `systems` part of the JSON.
pub fn rows(systems: &Value) -> Vec<Row> {
    let (zk, zs, za) = (&systems["zookeeper"], &systems["zookeeper_scaled"], &systems["zabra"]);
    let mut rows = Vec::new();
    let mut push = |metric: String, unit, zk: f64, zabra: f64, higher_better, zk_run| {
        rows.push(Row { metric, unit, zk, zabra, higher_better, zk_run })
    };
    for w in &WORKLOADS {
        let (a, b) = (&zk["workloads"][w.name], &za["workloads"][w.name]);
        push(format!("{} throughput", w.name), "ops/s", f(&a["ops_per_sec"]), f(&b["ops_per_sec"]), true, "defaults");
        for (key, label) in [("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")] {
            push(format!("{} {label}", w.name), "ms", f(&a[key]) / 1e3, f(&b[key]) / 1e3, false, "defaults");
        }
        let cpu = "server_cpu_us_per_op";
        push(format!("{} server CPU/op", w.name), "µs", f(&a[cpu]), f(&b[cpu]), false, "defaults");
    }
    push(
        "server CPU idle, 3 servers".into(),
        "ms/s",
        f(&zk["idle_cpu_ms_per_s"]),
        f(&za["idle_cpu_ms_per_s"]),
        false,
        "defaults",
    );
    push(
        "RSS idle, per server".into(),
        "MiB",
        mean_mib(&zk["rss_idle_kib"]),
        mean_mib(&za["rss_idle_kib"]),
        false,
        "defaults",
    );
    let n = f(&za["znodes_populated"]);
    let label = format!("RSS with {:.0}k znodes, per server", n / 1e3);
    push(label, "MiB", mean_mib(&zk["rss_populated_kib"]), mean_mib(&za["rss_populated_kib"]), false, "defaults");
    for (key, label) in
        [("failover_kill_ms", "failover, leader SIGKILL"), ("failover_stop_ms", "failover, leader SIGSTOP")]
    {
        push(format!("{label} (median)"), "ms", median(&zk[key]), median(&za[key]), false, "defaults");
        push(format!("{label} (median), ZK scaled"), "ms", median(&zs[key]), median(&za[key]), false, "scaled");
    }
    // Both wait out the same silence before they act: what each takes beyond it is the
    // protocol's own part (noticing, electing, syncing, the first write).
    let beyond = |s: &Value| median(&s["failover_stop_ms"]) - f(&s["silence_limit_ms"]);
    push(
        "failover, SIGSTOP, beyond the silence limit, ZK scaled".into(),
        "ms",
        beyond(zs),
        beyond(za),
        false,
        "scaled",
    );
    if !za["scale"].is_null() {
        let (a, b) = (&zk["scale"], &za["scale"]);
        let k = f(&b["znodes"]) / 1e3;
        push(
            format!("RSS with {k}k znodes, per server"),
            "MiB",
            mean_mib(&a["rss_1m_kib"]),
            mean_mib(&b["rss_1m_kib"]),
            false,
            "defaults",
        );
        push(
            format!("getData 3x64 at {k}k znodes throughput"),
            "ops/s",
            f(&a["get_1m"]["ops_per_sec"]),
            f(&b["get_1m"]["ops_per_sec"]),
            true,
            "defaults",
        );
        push(
            format!("getData 3x64 at {k}k znodes p99"),
            "ms",
            f(&a["get_1m"]["p99_us"]) / 1e3,
            f(&b["get_1m"]["p99_us"]) / 1e3,
            false,
            "defaults",
        );
        let w = |s: &Value| mean_mib(&s["watches_100k"]["rss_kib"]) - mean_mib(&s["watches_100k"]["rss_before_kib"]);
        let nw = f(&b["watches_100k"]["hold"]["watches"]) / 1e3;
        push(format!("RSS growth for {nw}k watches, per server"), "MiB", w(a), w(b), false, "defaults");
        let g = |s: &Value| mean_mib(&s["sessions_10k"]["rss_kib"]) - mean_mib(&s["sessions_10k"]["rss_before_kib"]);
        let ns = f(&b["sessions_10k"]["hold"]["sessions"]) / 1e3;
        push(format!("RSS growth for {ns}k sessions, per server"), "MiB", g(a), g(b), false, "defaults");
        let t = |s: &Value| f(&s["sessions_10k"]["hold"]["sessions_secs"]);
        push(format!("time to open {ns}k sessions"), "s", t(a), t(b), false, "defaults");
    }
    rows
}

pub fn rows_json(rows: &[Row]) -> Value {
    let nan_null = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    json!(rows
        .iter()
        .map(|r| json!({
            "metric": r.metric, "unit": r.unit, "zookeeper": nan_null(r.zk), "zabra": nan_null(r.zabra),
            "ratio": r.ratio(), "higher_is_better": r.higher_better, "zookeeper_run": r.zk_run,
        }))
        .collect::<Vec<_>>())
}

fn num(x: f64) -> String {
    match x.abs() {
        x if !x.is_finite() => "-".into(),
        x if x >= 100.0 => format!("{x:.0}"),
        x if x >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

/// The generator's CPU (share of one core) over each system's workloads: highest first.
fn generator_cpu(systems: &Value, key: &str) -> f64 {
    let Some(ws) = systems[key]["workloads"].as_object() else { return f64::NAN };
    let rounds = ws.values().flat_map(|w| w["rounds"].as_array().cloned().unwrap_or_else(|| vec![w.clone()]));
    rounds.filter_map(|w| w["loadgen_cpu_share"].as_f64()).fold(0.0, f64::max)
}

pub fn print(doc: &Value, rows: &[Row]) {
    let m = &doc["machine"];
    println!();
    println!(
        "ZooKeeper 3.8 (Debian) vs Zabra, 3 servers each on loopback, {} run, {}",
        doc["mode"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or("")
    );
    println!(
        "machine: {} CPUs ({}), load {} before, {} after; fsync on {}: 4 KiB append p50 {:.2} ms p99 {:.2} ms, 4 KiB rewrite p50 {:.2} ms p99 {:.2} ms",
        m["cpus"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["loadavg_before"].as_str().unwrap_or("?"),
        m["loadavg_after"].as_str().unwrap_or("?"),
        m["filesystem"].as_str().unwrap_or("?"),
        f(&m["fsync_4k"]["append"]["p50_us"]) / 1e3,
        f(&m["fsync_4k"]["append"]["p99_us"]) / 1e3,
        f(&m["fsync_4k"]["rewrite"]["p50_us"]) / 1e3,
        f(&m["fsync_4k"]["rewrite"]["p99_us"]) / 1e3
    );
    let systems = &doc["systems"];
    println!(
        "generator CPU, busiest workload: {:.0}% of a core against ZooKeeper, {:.0}% against Zabra",
        generator_cpu(systems, "zookeeper") * 100.0,
        generator_cpu(systems, "zabra") * 100.0
    );
    println!(
        "workloads: <op> <connections>x<outstanding per connection>, 100-byte values; {}",
        doc["workloads_method"].as_str().unwrap_or("")
    );
    println!();
    println!("{:<54} {:>6} {:>11} {:>11} {:>26}", "figure", "unit", "ZooKeeper", "Zabra", "ratio (>1: Zabra better)");
    for r in rows {
        let ratio = r.ratio().map_or("-".into(), |x| format!("{x:.2}"));
        println!("{:<54} {:>6} {:>11} {:>11} {:>26}", r.metric, r.unit, num(r.zk), num(r.zabra), ratio);
    }
    println!();
}

/// Now in UTC, as `date -u` prints it (ISO 8601).
pub fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
