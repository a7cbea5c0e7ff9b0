//! What ZooKeeper's monitoring reads, from a running 3-node cluster: `mntr` fields with sane
//! values, `/metrics` with proper Prometheus types, the watch and session dumps, the
//! four-letter whitelist, and a follower that cannot sync showing on the leader and on itself.
//! Loopback only, bounded waits; run under the port lock.

mod support;

use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::*;

fn mntr(c: &Cluster, id: u64) -> BTreeMap<String, String> {
    let text = four_letter(2180 + id as u16 + c.offset, "mntr");
    text.lines().filter_map(|l| l.split_once('\t')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn num(m: &BTreeMap<String, String>, k: &str) -> f64 {
    m.get(k).unwrap_or_else(|| panic!("mntr has no {k}: {m:?}")).parse().unwrap_or_else(|_| panic!("{k}: {m:?}"))
}

fn metrics(c: &Cluster, id: u64) -> String {
    let (code, body) = http_request(&c.http(id), "GET", "/metrics").expect("/metrics answers");
    assert_eq!(code, 200, "{body}");
    body
}

/// The value of the sample `name{sid="id"...}` in an OpenMetrics text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn ephemeral(path: &str) -> serde_json::Value {
    let acl = [json!({"perms": 31, "id": {"scheme": "world", "id": "anyone"}})];
    json!({"Write": {"Create": {"path": path, "data": [1, 2, 3], "acl": acl, "mode": "Ephemeral"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mntr_metrics_and_dumps_from_a_running_cluster() {
    let c = Cluster::start(3, 760);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    let leader = c.wait_leader(Duration::from_secs(10));
    let on = if leader == 1 { 2 } else { 1 };
    let mut client = Client::connect(&c.http(on), None).await.expect("session");
    for i in 0..20 {
        let r = client.call(create(&format!("/m{i}"), "some data")).await.expect("write");
        assert!(r["Write"]["Created"].is_object(), "{r}");
        client.call(get(&format!("/m{i}"))).await.expect("read");
    }
    let r = client.call(ephemeral("/m0/eph")).await.expect("ephemeral");
    assert!(r["Write"]["Created"].is_object(), "{r}");
    let r = client.call(json!({"GetData": {"path": "/m1", "watch": true}})).await.expect("watch");
    assert!(r["GetData"].is_object() || r.is_object(), "{r}");
    c.wait_converged(&[1, 2, 3], Duration::from_secs(10));

    for id in 1..=3 {
        let m = mntr(&c, id);
        let state = m.get("zk_server_state").map(String::as_str);
        assert_eq!(state, Some(if id == leader { "leader" } else { "follower" }), "{m:?}");
        let peer_state = m.get("zk_peer_state").map(String::as_str);
        assert_eq!(peer_state, Some(if id == leader { "leading - broadcast" } else { "following - broadcast" }));
        assert!(num(&m, "zk_uptime") > 0.0 && num(&m, "zk_znode_count") >= 26.0, "{m:?}");
        assert!(num(&m, "zk_approximate_data_size") > 44.0 + 20.0 * 9.0, "paths and data count: {m:?}");
        assert!(num(&m, "zk_open_file_descriptor_count") > 0.0, "{m:?}");
        assert!(num(&m, "zk_max_file_descriptor_count") >= num(&m, "zk_open_file_descriptor_count"));
        assert_eq!(num(&m, "zk_ephemerals_count"), 1.0, "{m:?}");
        assert_eq!(num(&m, "zk_quorum_size"), 3.0);
        assert!(num(&m, "zk_cnt_fsynctime") > 0.0, "every node fsyncs its log: {m:?}");
        assert!(num(&m, "zk_max_fsynctime") >= num(&m, "zk_min_fsynctime"));
        for k in ["zk_outstanding_requests", "zk_avg_latency", "zk_min_latency", "zk_max_latency", "zk_watch_count"] {
            num(&m, k);
        }
        assert_eq!(m.contains_key("zk_synced_followers"), id == leader, "leader fields only on the leader");
    }
    let lm = mntr(&c, leader);
    for (k, want) in
        [("zk_learners", 2.0), ("zk_followers", 2.0), ("zk_synced_followers", 2.0), ("zk_pending_syncs", 0.0)]
    {
        assert_eq!(num(&lm, k), want, "{k}: {lm:?}");
    }
    let m = mntr(&c, on);
    assert!(num(&m, "zk_packets_received") >= 42.0 && num(&m, "zk_packets_sent") >= 42.0, "{m:?}");
    assert_eq!(num(&m, "zk_cnt_updatelatency"), 21.0, "{m:?}");
    assert!(num(&m, "zk_cnt_readlatency") >= 21.0, "{m:?}");
    assert!(num(&m, "zk_max_latency") >= num(&m, "zk_min_latency"));
    assert!(num(&m, "zk_avg_latency") > 0.0, "{m:?}");
    assert_eq!(num(&m, "zk_watch_count"), 1.0);

    let text = metrics(&c, on);
    for (name, kind) in [
        ("zabra_requests", "counter"),
        ("zabra_packets_sent", "counter"),
        ("zabra_fsyncs", "counter"),
        ("zabra_znodes", "gauge"),
        ("zabra_phase", "gauge"),
        ("zabra_outstanding_requests", "gauge"),
        ("zabra_update_latency_seconds", "histogram"),
        ("zabra_read_latency_seconds", "histogram"),
        ("zabra_fsync_seconds", "histogram"),
        ("zabra_snapshot_seconds", "histogram"),
    ] {
        assert!(text.contains(&format!("\n# TYPE {name} {kind}\n")), "{name} is not a {kind}:\n{text}");
    }
    assert!(sample(&text, "zabra_requests_total").is_some_and(|v| v >= 42.0), "{text}");
    assert_eq!(sample(&text, "zabra_update_latency_seconds_count"), Some(21.0), "{text}");
    assert!(sample(&text, "zabra_fsync_seconds_count").is_some_and(|v| v > 0.0), "{text}");
    assert!(text.contains(&format!("zabra_phase{{sid=\"{on}\"}} 3")), "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    let lt = metrics(&c, leader);
    assert_eq!((sample(&lt, "zabra_followers"), sample(&lt, "zabra_synced_followers")), (Some(2.0), Some(2.0)));

    let session = client.session["session"].as_str().expect("session id").trim_start_matches("0x").to_string();
    let sid = format!("0x{}", session.trim_start_matches('0'));
    let port = 2180 + on as u16 + c.offset;
    assert_eq!(four_letter(port, "wchs"), "1 connections watching 1 paths\nTotal watches:1\n");
    assert_eq!(four_letter(port, "wchc"), format!("{sid}\n\t/m1\n\n"));
    assert_eq!(four_letter(port, "wchp"), format!("/m1\n\t{sid}\n\n"));
    // cons: this client's connection with its counters (connect, 22 requests, their replies)
    // and its last request; crst zeroes them.
    let counters = |line: &str| -> (u64, u64) {
        let field = |k: &str| {
            let at = line.find(&format!("{k}=")).unwrap_or_else(|| panic!("no {k} in {line}"));
            let v: String = line[at + k.len() + 1..].chars().take_while(char::is_ascii_digit).collect();
            v.parse::<u64>().expect("a count")
        };
        (field("recved"), field("sent"))
    };
    let cons = four_letter(port, "cons");
    let line = cons.lines().find(|l| l.contains(&format!("sid={sid},"))).unwrap_or_else(|| panic!("{cons}"));
    let (recved, sent) = counters(line);
    assert!(recved >= 42 && sent >= 42, "connect, 20 creates, 20 reads, the ephemeral, the watch: {line}");
    assert!(
        line.contains(",lop=GETD,") && line.contains(",to=") && !line.contains("lzxid=0xffffffffffffffff"),
        "{line}"
    );
    assert!(line.contains(",minlat=") && line.contains(",maxlat="), "{line}");
    assert_eq!(four_letter(port, "crst"), "Connection stats reset.\n");
    let cons = four_letter(port, "cons");
    let line = cons.lines().find(|l| l.contains(&format!("sid={sid},"))).unwrap_or_else(|| panic!("{cons}"));
    let (recved, sent) = counters(line);
    assert!(recved <= 2 && sent <= 2, "crst zeroes the counters (a ping may come since): {line}");
    // dirs: the snapshots and log segments in the data directory.
    let dirs = four_letter(port, "dirs");
    let size = |k: &str| -> u64 {
        let line = dirs.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).unwrap_or_else(|| panic!("{dirs}"));
        line.parse().unwrap_or_else(|_| panic!("{dirs}"))
    };
    assert!(size("logdir_size") > 0, "the log segments that hold the writes: {dirs}");
    size("datadir_size");
    // conf prints the same log size (only `dirs` and `conf` read the directory).
    let conf = four_letter(port, "conf");
    let log_size = conf.lines().find_map(|l| l.strip_prefix("dataLogSize=")).unwrap_or_else(|| panic!("{conf}"));
    assert!(log_size.parse::<u64>().is_ok_and(|n| n > 0), "{conf}");
    let dump = four_letter(c.offset + 2180 + leader as u16, "dump");
    assert!(dump.contains(&format!("Sessions with Ephemerals (1):\n{sid}:\n\t/m0/eph\n")), "{dump}");
    assert!(dump.contains("Session Sets (1)/(1):\n1 expire at ") && dump.contains(&format!(":\n\t{sid}\n")), "{dump}");
}

/// A follower cut off from its leader cannot sync: the leader counts one synced follower of
/// the two it expects, and the follower's own `/metrics` shows it outside Broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_cannot_sync_shows_up() {
    let c = Cluster::start(3, 770);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    let leader = c.wait_leader(Duration::from_secs(10));
    let stuck = if leader == 3 { 2 } else { 3 };
    let path = format!("/control/partition?token={TOKEN}&peers={leader}");
    let (code, body) = http_request(&c.http(stuck), "POST", &path).expect("control");
    assert_eq!(code, 200, "{body}");
    let until = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let m = mntr(&c, leader);
        let own = metrics(&c, stuck);
        let synced = m.get("zk_synced_followers").and_then(|v| v.parse::<f64>().ok());
        if synced == Some(1.0) && sample(&own, "zabra_phase") != Some(3.0) {
            break (m, own);
        }
        assert!(Instant::now() < until, "the stuck follower never showed: {m:?}\n{own}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (m, own) = seen;
    assert_eq!(num(&m, "zk_followers"), 2.0, "{m:?}");
    assert_eq!(sample(&own, "zabra_serving"), Some(0.0), "{own}");
    assert_eq!(
        four_letter(2180 + stuck as u16 + c.offset, "mntr"),
        "This ZooKeeper instance is not currently serving requests\n"
    );
    let lt = metrics(&c, leader);
    assert_eq!(sample(&lt, "zabra_synced_followers"), Some(1.0), "{lt}");
    assert_eq!(sample(&lt, "zabra_followers"), Some(2.0), "{lt}");

    let (code, _) = http_request(&c.http(stuck), "POST", &format!("/control/heal?token={TOKEN}")).expect("heal");
    assert_eq!(code, 200);
    let until = Instant::now() + Duration::from_secs(20);
    while num(&mntr(&c, leader), "zk_synced_followers") != 2.0 {
        assert!(Instant::now() < until, "the follower did not sync again after the heal");
        std::thread::sleep(Duration::from_millis(100));
    }
}
