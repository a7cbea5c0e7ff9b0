//! `/metrics`: the node's figures in the OpenMetrics text format (`prometheus-client`), with
//! their proper types: gauges for levels, counters (`_total`) for what only grows, and
//! histograms (`_seconds`) for request latency, fsync and snapshot times. Every sample carries
//! the node's `sid` label. Names follow ZooKeeper's `mntr` where one exists.

use crate::node::NodeView;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use zabra_core::message::ServerState;
use zabra_core::peer::Phase;

/// OpenMetrics, which Prometheus negotiates and parses natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition of one node's view.
pub fn prometheus(v: &NodeView, id: u64) -> String {
    let labels = [(Cow::Borrowed("sid"), Cow::Owned(id.to_string()))];
    let mut r = Registry::with_prefix_and_labels("zabra", labels.into_iter());
    gauges(&mut r, v);
    storage(&mut r, v);
    counters(&mut r, v);
    timings(&mut r, v);
    learners(&mut r, v);
    let mut out = String::new();
    encode(&mut out, &r).expect("encoding into a String cannot fail");
    out
}

fn gauge(r: &mut Registry, name: &str, help: &str, value: u64) {
    r.register(name, help, ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)));
}

fn counter(r: &mut Registry, name: &str, help: &str, value: u64) {
    r.register(name, help, ConstCounter::new(value));
}

fn gauges(r: &mut Registry, v: &NodeView) {
    let s = &v.status;
    let state = match s.state {
        ServerState::Looking => 0,
        ServerState::Following => 1,
        ServerState::Leading => 2,
        ServerState::Observing => 3,
    };
    let phase = match s.phase {
        Phase::Election => 0,
        Phase::Discovery => 1,
        Phase::Synchronization => 2,
        Phase::Broadcast => 3,
    };
    let (open_fds, max_fds) = crate::metrics::file_descriptors();
    let rows: [(&str, &str, u64); 20] = [
        ("state", "0 looking, 1 following, 2 leading, 3 observing", state),
        ("phase", "0 election, 1 discovery, 2 synchronization, 3 broadcast (serving needs 3)", phase),
        ("serving", "1 when serving clients", s.serving as u64),
        ("accepted_epoch", "last epoch promised", u64::from(s.accepted_epoch)),
        ("current_epoch", "last epoch accepted", u64::from(s.current_epoch)),
        ("last_logged_zxid", "last logged zxid", s.last_logged.as_u64()),
        ("last_committed_zxid", "last committed zxid", s.last_committed.as_u64()),
        ("znodes", "znodes in the tree (zk_znode_count)", v.node_count as u64),
        (
            "approximate_data_size",
            "path and data bytes of every znode (zk_approximate_data_size)",
            v.approximate_data_size,
        ),
        ("sessions", "live sessions (zk_global_sessions)", v.sessions as u64),
        ("client_connections", "client connections here (zk_num_alive_connections)", v.connections as u64),
        ("outstanding_requests", "requests received and not answered yet", v.outstanding as u64),
        ("watches", "watches held here (zk_watch_count)", v.watches as u64),
        ("ephemerals", "ephemeral znodes (zk_ephemerals_count)", v.ephemerals as u64),
        ("peers_connected", "peer links up", v.peers_connected.len() as u64),
        ("quorum_size", "voting members (zk_quorum_size)", v.quorum_size as u64),
        ("uptime_seconds", "seconds since the node started (zk_uptime)", v.metrics.uptime().as_secs()),
        ("open_file_descriptors", "open file descriptors", open_fds.unwrap_or(0)),
        ("max_file_descriptors", "file descriptor limit", max_fds.unwrap_or(0)),
        ("observe_viewers", "/observe viewers", v.observers as u64),
    ];
    for (name, help, value) in rows {
        gauge(r, name, help, value);
    }
}

fn storage(r: &mut Registry, v: &NodeView) {
    let st = *v.metrics.storage.lock().expect("not poisoned");
    gauge(r, "log_records", "records in the log segments on disk", st.records);
    gauge(r, "log_segments", "log segment files", st.segments);
    gauge(r, "snapshot_files", "snapshot files kept", st.snapshots);
    counter(r, "fsyncs", "fsync calls on log, snapshot and directory", st.fsyncs);
    r.register_with_unit(
        "disk_written",
        "bytes written to the data directory",
        Unit::Bytes,
        ConstCounter::new(st.bytes_written),
    );
    counter(r, "log_records_written", "log records appended", st.records_written);
    counter(r, "snapshots_written", "snapshots written in the background", st.snapshots_written);
    counter(
        r,
        "snapshots_skipped",
        "checkpoints replaced by a newer one while the writer was busy",
        st.snapshots_skipped,
    );
    counter(
        r,
        "snapshot_failures",
        "background snapshots that failed (the log kept their history)",
        st.snapshot_failures,
    );
}

fn counters(r: &mut Registry, v: &NodeView) {
    counter(r, "requests", "client requests received (zk_packets_received)", v.requests);
    counter(r, "replies", "client replies sent", v.replies);
    counter(r, "watch_events", "watch notifications sent", v.watch_events);
    counter(r, "packets_sent", "replies and notifications sent (zk_packets_sent)", v.replies + v.watch_events);
    counter(r, "commits", "commit steps applied", v.commits);
    counter(r, "peer_link_errors", "peer connections refused and peer links ended by an error (logged)", v.link_errors);
}

fn timings(r: &mut Registry, v: &NodeView) {
    let m = &v.metrics;
    let rows = [
        ("read_latency", "client reads, arrival to reply (zk readlatency)", &m.read_latency),
        ("update_latency", "client writes, arrival to reply after commit (zk updatelatency)", &m.update_latency),
        ("fsync", "log fsync of a group commit (zk fsynctime)", &m.fsync),
        ("snapshot", "background snapshot, hand-over to durable (zk snapshottime)", &m.snapshot),
    ];
    for (name, help, t) in rows {
        r.register_with_unit(name, help, Unit::Seconds, t.histogram.clone());
    }
}

/// The leader's view of each learner, and what it expects: a stuck follower reads
/// `zabra_synced_followers` < `zabra_followers` and `zabra_learner_synced{learner=..} 0`.
fn learners(r: &mut Registry, v: &NodeView) {
    let Some(rep) = &v.leader_report else { return };
    let synced = rep.learners.iter().filter(|l| l.synced && !l.observer).count() as u64;
    gauge(r, "learners", "learners connected to this leader (zk_learners)", rep.learners.len() as u64);
    gauge(r, "followers", "voting followers this leader should have (zk_followers)", v.expected_followers as u64);
    gauge(r, "synced_followers", "followers in Broadcast (zk_synced_followers)", synced);
    gauge(r, "pending_syncs", "sync requests waiting for a quorum (zk_pending_syncs)", rep.pending_syncs as u64);
    let per: Family<Vec<(String, String)>, Gauge> = Family::default();
    for l in &rep.learners {
        per.get_or_create(&vec![("learner".into(), l.sid.0.to_string())]).set(l.synced as i64);
    }
    r.register("learner_synced", "1 when this learner acknowledged NEWLEADER (leader only)", per);
}
