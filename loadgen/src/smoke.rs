//! `zabra-loadgen smoke`: a functional check of a Rust client against every server: create
//! (persistent, ephemeral, sequential), getData, setData with a version, a data watch that
//! fires when another session (on another server) writes, children, the expected errors
//! (NodeExists, BadVersion, NotEmpty), delete. Every wait is bounded.

use crate::Result;
use serde_json::json;
use std::time::Duration;
use zookeeper_client::{Acls, CreateMode, Error, EventType};

#[derive(clap::Args, Debug)]
pub struct SmokeArgs {
    /// Comma-separated servers; the check uses each of them.
    #[arg(long)]
    pub servers: String,
    /// Parent znode of the check (must not exist yet).
    #[arg(long, default_value = "/loadgen-smoke")]
    pub prefix: String,
}

fn check(ok: bool, what: &str) -> Result {
    if ok {
        Ok(())
    } else {
        Err(format!("smoke: {what}").into())
    }
}

pub async fn run(a: SmokeArgs) -> Result<serde_json::Value> {
    let servers = crate::split_servers(&a.servers);
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(crate::connect(s).await?);
    }
    let (first, last) = (&clients[0], &clients[clients.len() - 1]);
    let p = &a.prefix;
    let open = CreateMode::Persistent.with_acls(Acls::anyone_all());
    first.create(p, b"parent", &open).await?;
    check(first.create(p, b"again", &open).await.err() == Some(Error::NodeExists), "second create gives NodeExists")?;
    let child = format!("{p}/child");
    let (stat, _) = first.create(&child, b"one", &open).await?;
    check(stat.version == 0, "a new znode has version 0")?;
    // The watch is set through the last server, the write goes through the first.
    last.sync(&child).await?;
    let (data, _, watcher) = last.get_and_watch_data(&child).await?;
    check(data == b"one", "getData returns what create wrote")?;
    let stat = first.set_data(&child, b"two", Some(0)).await?;
    check(stat.version == 1, "setData bumps the version")?;
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
        .await
        .map_err(|_| "smoke: the data watch did not fire within 10 s")?;
    check(event.event_type == EventType::NodeDataChanged, "the watch reports NodeDataChanged")?;
    check(
        first.set_data(&child, b"x", Some(0)).await.err() == Some(Error::BadVersion),
        "stale version gives BadVersion",
    )?;
    let seq_mode = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    let (_, seq) = last.create(&format!("{p}/eph-"), b"e", &seq_mode).await?;
    first.sync(p).await?;
    let mut children = first.list_children(p).await;
    if let Ok(list) = &mut children {
        list.sort();
    }
    let want = vec!["child".to_string(), format!("eph-{seq}")];
    check(children.as_ref() == Ok(&want), &format!("children are {want:?}, got {children:?}"))?;
    check(first.delete(p, None).await.err() == Some(Error::NotEmpty), "deleting a parent gives NotEmpty")?;
    for c in clients.iter().skip(1) {
        c.sync(&child).await?;
        let (data, _) = c.get_data(&child).await?;
        check(data == b"two", "every server reads the last write")?;
    }
    first.delete(&child, Some(1)).await?;
    last.delete(&format!("{p}/eph-{seq}"), None).await?;
    first.delete(p, None).await?;
    check(first.check_stat(p).await?.is_none(), "the parent is gone")?;
    Ok(json!({ "smoke": "ok", "servers": servers.len() }))
}
