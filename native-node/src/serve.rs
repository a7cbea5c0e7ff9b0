//! `zabra serve`: start one node: open storage, build the peer, start the peer, client and
//! HTTP listeners, and run the node task.
//!
//! SIGTERM (or Ctrl-C) stops it gracefully: the listeners close, the node task ends (its
//! client and peer connections close with it), the storage thread makes everything queued
//! durable, and the process exits 0 with a log line saying so.

use crate::config::NodeConfig;
use crate::node::Node;
use crate::transport::Transport;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zabra_core::peer::Peer;

pub async fn serve(cfg: NodeConfig) -> Result<(), String> {
    let start = std::time::Instant::now();
    let secret = match &cfg.secret_file {
        Some(path) => crate::secrets::read_cluster_secret(path)?,
        None => Vec::new(),
    };
    let (store, state, report) = zabra_storage::DiskStore::open(&cfg.data_dir, Default::default())
        .map_err(|e| format!("storage at {}: {e}", cfg.data_dir.display()))?;
    if !report.is_clean() {
        for line in report.to_string().lines() {
            tracing::warn!("storage recovery: {line}");
        }
    }
    let peer = Peer::restore(cfg.peer_config(), state, crate::node::now(start)).map_err(|e| e.to_string())?;
    let me = cfg.me().clone();
    // What bounds this queue: `node::Events`.
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let (store_tx, storage) = crate::persist::spawn(store, events_tx.clone(), metrics.clone())?;
    let transport = Transport::new(&cfg, secret, events_tx.clone());
    let bind = |addr| async move { TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}")) };
    let peer_l = bind(me.peer).await?;
    let client_l = bind(me.client).await?;
    let http_l = bind(me.http).await?;
    let mut tasks = vec![tokio::spawn(transport.clone().listen(peer_l))];
    for m in cfg.members.iter().filter(|m| m.id < cfg.id) {
        tasks.push(tokio::spawn(transport.clone().dial(m.id, m.peer)));
    }
    let cfg = Arc::new(cfg);
    let budget = crate::budget::ReadBudget::new(cfg.limits.max_partial_bytes);
    tasks.push(tokio::spawn(crate::clients::listen(client_l, events_tx.clone(), cfg.clone(), budget.clone())));
    tasks.push(tokio::spawn(crate::http::serve(
        http_l,
        crate::http::Http::new(cfg.clone(), events_tx.clone()),
        budget,
    )));
    tracing::info!("node {} serving clients on {}, peers on {}, HTTP on {}", cfg.id, me.client, me.peer, me.http);
    let node = Node::new(peer, start, store_tx, transport, metrics);
    tokio::select! {
        _ = node.run(events_rx) => tracing::warn!("the node task ended"),
        sig = stop_signal() => tracing::info!("{sig}: stopping (no new connections; queued writes finish)"),
    }
    // The node task is gone: its connections are closed and the storage queue's sender dropped.
    for t in tasks {
        t.abort();
    }
    crate::persist::finish(storage).await;
    tracing::info!("node {} stopped", cfg.id);
    Ok(())
}

/// The first SIGTERM or SIGINT.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot listen for SIGTERM; stop this node with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
