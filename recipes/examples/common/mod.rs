//! What every example shares: `--connect`, sessions (one that can crash), bounded waits, and
//! checks that end the run with a non-zero status when an outcome is wrong.

#![allow(dead_code)] // each example uses part of it

use std::time::Duration;
use zabra_recipes::zk::ZkClient;

/// The connect string from `--connect host:port,...` (default: a local `zabra cluster`).
pub fn hosts() -> String {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--connect") {
        Some(i) => args.get(i + 1).cloned().unwrap_or_else(|| usage()),
        None if args.len() > 1 => usage(),
        None => "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183".into(),
    }
}

fn usage() -> ! {
    eprintln!("usage: {} [--connect host:port,host:port,...]", std::env::args().next().unwrap_or_default());
    std::process::exit(2)
}

/// A session with a 10 s timeout, closed when the client is dropped.
pub async fn session(hosts: &str) -> ZkClient {
    ZkClient::connect(hosts).await.unwrap_or_else(|e| fail(&format!("connecting to {hosts}: {e}")))
}

/// How long a crashed participant's session lives on: zabra's minimum session timeout.
pub const CRASH_SESSION: Duration = Duration::from_secs(4);

/// A session that is never closed: dropping its client is a crash, and the server ends the
/// session (deleting its ephemerals) only after [`CRASH_SESSION`].
pub async fn crashable(hosts: &str) -> ZkClient {
    ZkClient::connect_with(hosts, CRASH_SESSION, true).await.unwrap_or_else(|e| fail(&format!("connecting: {e}")))
}

/// Enough for a crashed session to expire and everyone to react.
pub const AFTER_CRASH: Duration = Duration::from_secs(30);
pub const STEP: Duration = Duration::from_secs(15);

/// Awaits `f` for at most `limit`.
pub async fn within<T>(limit: Duration, what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| fail(&format!("{what}: not within {limit:?}")))
}

/// Prints a passed check, or fails the run.
pub fn check(ok: bool, what: &str) {
    if !ok {
        fail(what);
    }
    println!("  ok: {what}");
}

pub fn fail(what: &str) -> ! {
    eprintln!("FAILED: {what}");
    std::process::exit(1)
}

/// Removes this example's znodes from an earlier run.
pub async fn fresh(c: &ZkClient, root: &str) {
    if let Err(e) = zabra_recipes::delete_all(c, root).await {
        fail(&format!("cleaning {root}: {e}"));
    }
}

pub fn ok<T>(r: zabra_recipes::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| fail(&format!("{what}: {e}")))
}

/// Waits (bounded) until `dir` has at least `n` children: contenders spawned one after the
/// other then line up in that order.
pub async fn wait_children(c: &ZkClient, dir: &str, n: usize) {
    use zabra_recipes::Coord;
    within(STEP, &format!("{n} znodes in {dir}"), async {
        while c.get_children(dir).await.map(|v| v.len()).unwrap_or(0) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}
