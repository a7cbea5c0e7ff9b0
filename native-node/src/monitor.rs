//! What operators and monitoring read about a node: the four-letter words' figures
//! (`mntr`, `stat`, `srvr`, `conf`, `cons`, `wchs`, `dump`, ...) and the Prometheus `/metrics`
//! page, both drawn from one `NodeView` (plus a `DumpView` for the watch and session dumps).
//!
//! `mntr` uses ZooKeeper 3.8's field names (`MonitorCommand`, `ServerMetrics`), so tools
//! written for ZooKeeper read it unchanged. A follower stuck outside Broadcast shows twice:
//! on the leader as `zk_synced_followers` < `zk_followers`, and on itself as its phase
//! (`zk_peer_state`, and `zabra_phase` on `/metrics`, which also answers while not serving).

use crate::config::NodeConfig;
use crate::node::{DumpView, Event, NodeView};
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::oneshot;
use zabra_core::message::ServerState;
use zabra_core::peer::{Now, Peer, Phase};
use zabra_zkwire as wire;

pub use crate::prometheus::{prometheus, CONTENT_TYPE};

pub fn state_name(s: ServerState) -> &'static str {
    match s {
        ServerState::Looking => "looking",
        ServerState::Following => "following",
        ServerState::Leading => "leading",
        ServerState::Observing => "observing",
    }
}

pub fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Election => "election",
        Phase::Discovery => "discovery",
        Phase::Synchronization => "synchronization",
        Phase::Broadcast => "broadcast",
    }
}

/// ZooKeeper's `getDetailedPeerState`: `looking`, or e.g. `following - broadcast`.
pub fn peer_state(v: &NodeView) -> String {
    match v.status.state {
        ServerState::Looking => "looking".into(),
        s => format!("{} - {}", state_name(s), phase_name(v.status.phase)),
    }
}

fn leader_stats(v: &NodeView) -> Option<wire::LeaderStats> {
    let r = v.leader_report.as_ref()?;
    let count =
        |f: &dyn Fn(&zabra_core::peer::LearnerReport) -> bool| r.learners.iter().filter(|l| f(l)).count() as u64;
    Some(wire::LeaderStats {
        learners: r.learners.len() as u64,
        followers: v.expected_followers as u64,
        synced_followers: count(&|l| l.synced && !l.observer),
        synced_observers: count(&|l| l.synced && l.observer),
        pending_syncs: r.pending_syncs as u64,
    })
}

fn server_stats(v: &NodeView, cfg: &NodeConfig) -> wire::ServerStats {
    let s = &v.status;
    let mode = match s.state {
        ServerState::Leading => wire::ServerMode::Leader,
        ServerState::Following | ServerState::Looking => wire::ServerMode::Follower,
        ServerState::Observing => wire::ServerMode::Observer,
    };
    let m = &v.metrics;
    let (latency_min, latency_avg, latency_max) = m.latency();
    let (open_fds, max_fds) = crate::metrics::file_descriptors();
    let timings = [
        ("fsynctime", &m.fsync),
        ("snapshottime", &m.snapshot),
        ("readlatency", &m.read_latency),
        ("updatelatency", &m.update_latency),
    ];
    wire::ServerStats {
        version: wire::full_version("zabra"),
        mode,
        serving: s.serving,
        zxid: s.last_committed.as_u64(),
        // ZooKeeper counts the root twice (under "" and "/"), see `DataTree::zk_node_count`.
        node_count: v.node_count as u64 + 1,
        connections: v.connections as u64,
        outstanding: v.outstanding as u64,
        latency_min,
        latency_avg,
        latency_max,
        received: v.requests,
        sent: v.replies + v.watch_events,
        watch_count: v.watches as u64,
        ephemerals_count: v.ephemerals as u64,
        approximate_data_size: v.approximate_data_size,
        global_sessions: v.sessions as u64,
        uptime_ms: m.uptime().as_millis() as u64,
        server_id: cfg.id,
        leader: leader_stats(v),
        open_fds,
        max_fds,
        quorum_size: (cfg.members.len() > 1).then_some(v.quorum_size as u64),
        peer_state: Some(peer_state(v)),
        // Refused peer connections and peer links ended by an error (each logged with its cause).
        counters: vec![("peer_link_errors".into(), v.link_errors)],
        timings: timings.into_iter().map(|(n, t)| (n.to_string(), t.summary())).collect(),
    }
}

/// A member as ZooKeeper's `conf` lists it: `server.ID=HOST:PORT:ROLE;CLIENT`, ROLE
/// `participant` (a voter) or `observer`. Zabra has one peer port where ZooKeeper has a
/// quorum and an election port.
fn server_line(m: &crate::config::Member) -> String {
    let role = if m.observer { "observer" } else { "participant" };
    format!("server.{}={}:{}:{role};{}", m.id, m.peer.ip(), m.peer.port(), m.client)
}

/// Bytes of snapshots and of log segments in `dir` (ZooKeeper's `dirs`: the snapshot files
/// under dataDir, the transaction logs under dataLogDir; both live in Zabra's one data
/// directory). A segment counts with its preallocated tail, as ZooKeeper's padded logs do.
fn dir_sizes(dir: &std::path::Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, 0) };
    let (mut snaps, mut logs) = (0, 0);
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let len = e.metadata().map_or(0, |m| m.len());
        if name.starts_with("snapshot.") && !name.ends_with(".tmp") {
            snaps += len;
        } else if name.starts_with("log.") {
            logs += len;
        }
    }
    (snaps, logs)
}

pub fn four_letter_info(v: &NodeView, cfg: &NodeConfig) -> wire::FourLetterInfo {
    let me = cfg.me();
    let members = cfg.members.iter().map(server_line).collect();
    let conf = wire::ServerConf {
        client_port: me.client.port(),
        data_dir: cfg.data_dir.display().to_string(),
        data_log_dir: cfg.data_dir.display().to_string(),
        tick_time_ms: cfg.tick_ms,
        max_client_cnxns: cfg.limits.max_client_cnxns as u64,
        min_session_timeout_ms: cfg.min_session_timeout_ms,
        max_session_timeout_ms: cfg.max_session_timeout_ms,
        server_id: cfg.id,
        members,
        ..Default::default()
    };
    let environment = vec![("os.name".to_string(), std::env::consts::OS.to_string())];
    let stats = server_stats(v, cfg);
    wire::FourLetterInfo { stats, conf, host_name: "localhost".into(), environment, ..Default::default() }
}

/// The dump of watches, sessions and ephemerals (on the node task).
pub fn dump_view(peer: &Peer, now: Now) -> DumpView {
    let tree = peer.tree();
    let sessions = peer
        .session_deadlines()
        .into_iter()
        .map(|(s, timeout_ms, deadline)| {
            let left_ms = match deadline {
                Some(d) => d.0.saturating_sub(now.instant.0) / 1000,
                None => u64::from(timeout_ms),
            };
            (s.0, now.wall_ms + left_ms)
        })
        .collect();
    let ephemerals =
        tree.sessions().map(|(s, _)| (s.0, tree.ephemerals(s))).filter(|(_, paths)| !paths.is_empty()).collect();
    let mut by_path: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (path, _, session) in peer.watch_list() {
        by_path.entry(path).or_default().insert(session.0);
    }
    let watches = by_path.into_iter().map(|(p, s)| (p, s.into_iter().collect())).collect();
    DumpView { sessions, ephemerals, watches }
}

async fn dump(events: &crate::node::Events) -> Option<DumpView> {
    let (tx, rx) = oneshot::channel();
    events.send(Event::Dump(tx)).ok()?;
    rx.await.ok()
}

/// The whole answer to a four-letter word on the client port, `None` if the node stopped.
/// A command outside `fourlw_whitelist` gets ZooKeeper's refusal and runs nothing.
pub async fn four_letter_text(cmd: wire::FourLetter, events: &crate::node::Events, cfg: &NodeConfig) -> Option<String> {
    use wire::FourLetter::*;
    if !cfg.fourlw_allowed(cmd) {
        return Some(wire::not_whitelisted(cmd));
    }
    let view = crate::http::view(events).await?;
    let mut info = four_letter_info(&view, cfg);
    if matches!(cmd, Wchs | Wchc | Wchp | Dump) {
        let d = dump(events).await?;
        (info.sessions, info.ephemerals, info.watches) = (d.sessions, d.ephemerals, d.watches);
    }
    if cmd == Srst && view.status.serving {
        view.metrics.reset();
    }
    if matches!(cmd, Dirs | Conf) {
        // Only for the words that print them, and off the event loop: it reads the disk.
        let dir = cfg.data_dir.clone();
        (info.conf.data_dir_size, info.conf.data_log_size) =
            tokio::task::spawn_blocking(move || dir_sizes(&dir)).await.ok()?;
    }
    if matches!(cmd, Stat | Cons | Dump | Crst) {
        // Asked only by the words that print them: the node builds a line per connection.
        let (reply, rx) = oneshot::channel();
        events.send(Event::Connections { reset: cmd == Crst, reply }).ok()?;
        info.connections = rx.await.ok()?;
    }
    Some(wire::render_four_letter(cmd, &info))
}

#[cfg(test)]
mod tests {
    use crate::config::Member;

    #[test]
    fn conf_names_each_member_by_its_role() {
        let at = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let voter = Member { id: 1, peer: at(2891), client: at(2181), http: at(8081), observer: false };
        let observer = Member { id: 4, observer: true, ..voter.clone() };
        assert_eq!(super::server_line(&voter), "server.1=127.0.0.1:2891:participant;127.0.0.1:2181");
        assert_eq!(super::server_line(&observer), "server.4=127.0.0.1:2891:observer;127.0.0.1:2181");
    }
}
