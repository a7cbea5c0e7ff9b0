//! `zabra serve`: start one node: open storage, build the peer, start the peer, client and
//! HTTP listeners, and run the node task.

use crate::config::NodeConfig;
use crate::node::{Event, Node};
use crate::transport::Transport;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zabra_core::peer::Peer;
use zabra_core::storage::PersistOp;
use zabra_core::Token;

/// Group commit: take every op queued so far, write them all, one fsync, report the last
/// token. A storage error stops the node: nothing may be acknowledged past a failed write.
fn storage_thread(
    mut store: zabra_storage::DiskStore,
    rx: std::sync::mpsc::Receiver<(Token, PersistOp)>,
    events: mpsc::UnboundedSender<Event>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let last = batch.last().expect("non-empty").0;
        let ops: Vec<PersistOp> = batch.into_iter().map(|(_, op)| op).collect();
        if let Err(e) = store.write(&ops).and_then(|_| store.sync()) {
            tracing::error!("storage failed: {e}; stopping this node");
            std::process::exit(3);
        }
        if events.send(Event::Persisted(last)).is_err() {
            return;
        }
    }
}

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
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (store_tx, store_rx) = std::sync::mpsc::channel();
    let ev = events_tx.clone();
    std::thread::Builder::new()
        .name("storage".into())
        .spawn(move || storage_thread(store, store_rx, ev))
        .map_err(|e| e.to_string())?;
    let transport = Transport::new(&cfg, secret, events_tx.clone());
    let bind = |addr| async move { TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}")) };
    let peer_l = bind(me.peer).await?;
    let client_l = bind(me.client).await?;
    let http_l = bind(me.http).await?;
    tokio::spawn(transport.clone().listen(peer_l));
    for m in cfg.members.iter().filter(|m| m.id < cfg.id) {
        tokio::spawn(transport.clone().dial(m.id, m.peer));
    }
    let cfg = Arc::new(cfg);
    tokio::spawn(crate::clients::listen(client_l, events_tx.clone(), cfg.clone()));
    let router = crate::http::router(crate::http::Http { cfg: cfg.clone(), events: events_tx.clone() });
    // TCP_NODELAY on /api and /observe: small replies must not wait for a delayed ACK.
    let http_l = axum::serve::ListenerExt::tap_io(http_l, |tcp| drop(tcp.set_nodelay(true)));
    tokio::spawn(async move { axum::serve(http_l, router).await });
    tracing::info!("node {} serving clients on {}, peers on {}, HTTP on {}", cfg.id, me.client, me.peer, me.http);
    Node::new(peer, start, store_tx, transport).run(events_rx).await;
    Ok(())
}
