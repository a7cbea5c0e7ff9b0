//! The workers besides the register clients: watchers (a one-shot data watch on a register,
//! set again after each firing) and ephemeral owners (sessions that create ephemeral nodes
//! and are then abandoned without closing, so they must expire and their nodes vanish).

use crate::history::{Call, Outcome};
use crate::rng::Rng;
use crate::workload::{self, Recorder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zookeeper_client as zk;

pub const EPH_PARENT: &str = "/chaos/eph";
/// Session timeout of the abandoned sessions (the nodes allow 2 s and up).
pub const EPH_SESSION: Duration = Duration::from_secs(3);
/// How long a watch may take to fire once its node is known to have changed.
const FIRE_WAIT: Duration = Duration::from_secs(10);

/// One watcher until `stop`: set a watch by reading, wait for it, read again.
pub async fn watcher(rec: Arc<Recorder>, hosts: String, path: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(c) = workload::connect(&hosts).await else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let session = rec.new_session();
        while !stop.load(Ordering::Relaxed) {
            if !watch_once(&rec, &c, session, &path, &stop).await {
                break;
            }
        }
    }
}

/// One read-with-watch and its firing; false when the session should be replaced.
async fn watch_once(rec: &Recorder, c: &zk::Client, session: u64, path: &str, stop: &AtomicBool) -> bool {
    let id = rec.invoke(session, path, Call::Read);
    let (version, watcher) = match tokio::time::timeout(Duration::from_secs(4), c.get_and_watch_data(path)).await {
        Ok(Ok((data, stat, w))) => {
            let value = std::str::from_utf8(&data).ok().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
            rec.complete(id, Outcome::Ok { value, version: stat.version, zxid: stat.mzxid as u64 });
            (stat.version, w)
        }
        _ => {
            rec.complete(id, Outcome::Unknown { error: "watch read failed".into() });
            return false;
        }
    };
    let wid = rec.invoke(session, path, Call::Watch { version });
    let fired = watcher.changed();
    tokio::pin!(fired);
    loop {
        tokio::select! {
            e = &mut fired => {
                let outcome = match (e.event_type, e.session_state) {
                    (zk::EventType::NodeDataChanged, _) => Outcome::Fired,
                    (t, s) => Outcome::Unknown { error: format!("{t:?} {s:?}") },
                };
                let good = outcome == Outcome::Fired;
                rec.complete(wid, outcome);
                return good;
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if stop.load(Ordering::Relaxed) {
                    finish_pending(rec, c, wid, path, version, &mut fired).await;
                    return false;
                }
            }
        }
    }
}

/// One persistent watcher until `stop`: a read, a persistent watch on `path`, then reads
/// at random moments, counting the notifications received after each (`checks::watch_counts`
/// says what they must be). Any session event (a disconnection may lose notifications,
/// ZOOKEEPER-4698) ends the session and its count.
pub async fn persistent_watcher(rec: Arc<Recorder>, hosts: String, path: String, seed: u64, stop: Arc<AtomicBool>) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let Ok(c) = workload::connect(&hosts).await else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let session = rec.new_session();
        let Some((pre, _)) = recorded_read(&rec, &c, session, &path).await else { continue };
        let Ok(Ok(mut w)) =
            tokio::time::timeout(Duration::from_secs(4), c.watch(&path, zk::AddWatchMode::Persistent)).await
        else {
            continue;
        };
        // Notifications so far; the first read's version; the last read: (notifications,
        // version, mzxid, zxids notified since the count before).
        type LastRead = (u64, i32, u64, Vec<u64>);
        let (mut events, mut first, mut last): (u64, Option<i32>, Option<LastRead>) = (0, None, None);
        let mut zxids = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let Some((version, mzxid)) = recorded_read(&rec, &c, session, &path).await else { break };
            if let (Some(f), Some((e, seen, seen_zxid, zxids))) = (first, last.take()) {
                let cid = rec.invoke(session, &path, Call::WatchCount { pre, first: f });
                rec.complete(cid, Outcome::Counted { events: e, seen, next: version, seen_zxid, zxids });
            }
            // Every notification of a change the read saw is queued by now (some later ones too).
            let mut broken = false;
            while let Ok(e) = tokio::time::timeout(Duration::ZERO, w.changed()).await {
                match e.event_type {
                    zk::EventType::Session => broken = true,
                    _ => {
                        events += 1;
                        zxids.push(e.zxid as u64);
                    }
                }
            }
            if broken {
                break;
            }
            first.get_or_insert(version);
            last = Some((events, version, mzxid, std::mem::take(&mut zxids)));
            tokio::time::sleep(Duration::from_millis(rng.range(20, 300))).await;
        }
    }
}

/// A read recorded in the history; the version and its zxid, if it succeeded.
async fn recorded_read(rec: &Recorder, c: &zk::Client, session: u64, path: &str) -> Option<(i32, u64)> {
    let id = rec.invoke(session, path, Call::Read);
    let outcome = workload::read(c, path).await;
    rec.complete(id, outcome.clone());
    match outcome {
        Outcome::Ok { version, zxid, .. } => Some((version, zxid)),
        _ => None,
    }
}

/// At the end: if the node has changed since the watch was set, the watch must fire soon.
async fn finish_pending(
    rec: &Recorder,
    c: &zk::Client,
    wid: usize,
    path: &str,
    version: i32,
    fired: &mut std::pin::Pin<&mut impl std::future::Future<Output = zk::WatchedEvent>>,
) {
    let now = match workload::read(c, path).await {
        Outcome::Ok { version: v, .. } => v,
        _ => return rec.complete(wid, Outcome::Unknown { error: "session lost at the end".into() }),
    };
    if now == version {
        return rec.complete(wid, Outcome::Unknown { error: "no change by the end".into() });
    }
    let outcome = match tokio::time::timeout(FIRE_WAIT, fired.as_mut()).await {
        Ok(e) if e.event_type == zk::EventType::NodeDataChanged => Outcome::Fired,
        Ok(e) => Outcome::Unknown { error: format!("{:?} {:?}", e.event_type, e.session_state) },
        Err(_) => Outcome::Missed { version: now },
    };
    rec.complete(wid, outcome);
}

/// One ephemeral owner until `stop`: a session makes a few ephemeral nodes, lives a little,
/// and is dropped without closing (detached), to expire.
pub async fn ephemeral_owner(rec: Arc<Recorder>, hosts: String, seed: u64, stop: Arc<AtomicBool>) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let connect = zk::Client::connector()
            .with_session_timeout(EPH_SESSION)
            .with_connection_timeout(Duration::from_millis(1500))
            .with_detached()
            .connect(&hosts);
        let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let session = rec.new_session();
        let opts = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        let prefix = format!("{EPH_PARENT}/e-");
        for _ in 0..rng.range(1, 4) {
            let id = rec.invoke(session, EPH_PARENT, Call::Ephemeral);
            let outcome = match tokio::time::timeout(Duration::from_secs(4), c.create(&prefix, b"", &opts)).await {
                Ok(Ok((stat, seq))) => Outcome::Created { seq: seq.into_i64() as u64, zxid: stat.czxid as u64 },
                Ok(Err(e)) => Outcome::Unknown { error: e.to_string() },
                Err(_) => Outcome::Unknown { error: "timeout".into() },
            };
            rec.complete(id, outcome);
        }
        tokio::time::sleep(Duration::from_millis(rng.range(200, 2000))).await;
        // Detached: dropping it sends no close; the session must expire on its own.
        drop(c);
    }
}
