//! What operators and monitoring read about a node: the four-letter words' figures
//! (`mntr`, `stat`, `srvr`, `conf`, `cons`, ...) and the Prometheus `/metrics` page, both
//! drawn from one `NodeView`.

use crate::config::NodeConfig;
use crate::node::NodeView;
use zabra_zkwire as wire;

/// The Prometheus text exposition of a node's view.
pub fn prometheus(v: &NodeView, id: u64) -> String {
    let s = &v.status;
    let state = match s.state {
        zabra_core::message::ServerState::Looking => 0,
        zabra_core::message::ServerState::Following => 1,
        zabra_core::message::ServerState::Leading => 2,
        zabra_core::message::ServerState::Observing => 3,
    };
    let rows: [(&str, &str, u64); 12] = [
        ("zabra_state", "0 looking, 1 following, 2 leading, 3 observing", state),
        ("zabra_serving", "1 when serving clients", s.serving as u64),
        ("zabra_accepted_epoch", "last epoch promised", s.accepted_epoch as u64),
        ("zabra_current_epoch", "last epoch accepted", s.current_epoch as u64),
        ("zabra_last_logged_zxid", "last logged zxid", s.last_logged.as_u64()),
        ("zabra_last_committed_zxid", "last committed zxid", s.last_committed.as_u64()),
        ("zabra_znodes", "znodes in the tree", v.node_count as u64),
        ("zabra_sessions", "live sessions", v.sessions as u64),
        ("zabra_client_connections", "client connections here", v.connections as u64),
        ("zabra_watches", "watches held here", v.watches as u64),
        ("zabra_requests_total", "client requests received", v.requests),
        ("zabra_commits_total", "commit steps applied", v.commits),
    ];
    let mut out = String::new();
    for (name, help, value) in rows {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{sid=\"{id}\"}} {value}\n"));
    }
    out
}

pub fn four_letter_info(v: &NodeView, cfg: &NodeConfig) -> wire::FourLetterInfo {
    use zabra_core::message::ServerState;
    let s = &v.status;
    let mode = match s.state {
        ServerState::Leading => wire::ServerMode::Leader,
        ServerState::Following => wire::ServerMode::Follower,
        ServerState::Observing => wire::ServerMode::Observer,
        ServerState::Looking => wire::ServerMode::Follower,
    };
    let stats = wire::ServerStats {
        version: wire::full_version("zabra"),
        mode,
        serving: s.serving,
        zxid: s.last_committed.as_u64(),
        node_count: v.node_count as u64,
        connections: v.connections as u64,
        received: v.requests,
        sent: v.replies,
        watch_count: v.watches as u64,
        ephemerals_count: v.ephemerals as u64,
        global_sessions: v.sessions as u64,
        server_id: cfg.id,
        ..Default::default()
    };
    let me = cfg.me();
    let members = cfg
        .members
        .iter()
        .map(|m| format!("server.{}={}:{}:participant;{}", m.id, m.peer.ip(), m.peer.port(), m.client))
        .collect();
    let conf = wire::ServerConf {
        client_port: me.client.port(),
        data_dir: cfg.data_dir.display().to_string(),
        data_log_dir: cfg.data_dir.display().to_string(),
        tick_time_ms: cfg.tick_ms,
        max_client_cnxns: 0,
        min_session_timeout_ms: cfg.min_session_timeout_ms,
        max_session_timeout_ms: cfg.max_session_timeout_ms,
        server_id: cfg.id,
        members,
        ..Default::default()
    };
    let environment = vec![("os.name".to_string(), std::env::consts::OS.to_string())];
    let connections = v
        .clients
        .iter()
        .map(|(addr, session)| wire::ConnStats {
            addr: addr.clone(),
            interest_ops: 1,
            session_id: *session,
            ..Default::default()
        })
        .collect();
    wire::FourLetterInfo { stats, conf, connections, host_name: "localhost".into(), environment, ..Default::default() }
}
