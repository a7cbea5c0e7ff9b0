//! `zabra-loadgen hold`: open many sessions and/or set many watches, say `ready`, and keep
//! them until standard input closes, so the caller can measure the servers holding them.
//!
//! Sessions are spread over every server. Watches are exists-watches on znodes that do not
//! exist (`<prefix>/w<i>`), set pipelined over the sessions; a watch costs the server its
//! path and the watcher, no znode. Reports how long opening the sessions and setting the
//! watches took.

use crate::Result;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use std::time::Instant;
use zookeeper_client::Client;

#[derive(clap::Args, Debug)]
pub struct HoldArgs {
    #[arg(long)]
    pub servers: String,
    /// Sessions to open (each its own connection), spread over the servers.
    #[arg(long, default_value_t = 3)]
    pub sessions: usize,
    /// Exists-watches to set, spread over the sessions.
    #[arg(long, default_value_t = 0)]
    pub watches: u64,
    /// Parent of the watched paths.
    #[arg(long, default_value = "/loadgen-watch")]
    pub prefix: String,
}

/// Sets `n` watches on `client`, 256 requests at a time; the watchers are kept.
async fn watch_many(
    client: &Client,
    prefix: &str,
    ids: impl Iterator<Item = u64>,
) -> Result<Vec<zookeeper_client::OneshotWatcher>> {
    let mut kept = Vec::new();
    let mut inflight = FuturesUnordered::new();
    let mut ids = ids.fuse();
    loop {
        while inflight.len() < 256 {
            let Some(i) = ids.next() else { break };
            let path = format!("{prefix}/w{i}");
            inflight.push(async move { client.check_and_watch_stat(&path).await });
        }
        let Some(r) = inflight.next().await else { break };
        let (_, w) = r.map_err(|e| format!("exists-watch: {e}"))?;
        kept.push(w);
    }
    Ok(kept)
}

pub async fn run(a: HoldArgs) -> Result<serde_json::Value> {
    let servers = crate::split_servers(&a.servers);
    let start = Instant::now();
    let mut clients = Vec::new();
    for i in 0..a.sessions.max(1) {
        clients.push(crate::connect(&servers[i % servers.len()]).await?);
    }
    let sessions_secs = start.elapsed().as_secs_f64();
    let n = clients.len() as u64;
    let watch_start = Instant::now();
    let sets = clients.iter().enumerate().map(|(c, client)| {
        let ids = (0..a.watches).filter(move |i| i % n == c as u64);
        watch_many(client, &a.prefix, ids)
    });
    let mut watchers = Vec::new();
    for r in futures::future::join_all(sets).await {
        watchers.extend(r?);
    }
    let watches_secs = watch_start.elapsed().as_secs_f64();
    // Tell the caller, then wait for it to close our standard input.
    println!("ready");
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await;
    drop(watchers);
    Ok(json!({
        "sessions": clients.len(),
        "sessions_secs": sessions_secs,
        "watches": a.watches,
        "watches_secs": watches_secs,
    }))
}
