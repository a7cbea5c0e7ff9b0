//! The storage thread: performs the core's `Persist` ops on the disk store with group commit
//! and reports `Persisted`; checkpoints go on to the store's snapshot-writer thread, so a
//! large snapshot never holds up an fsync.
//!
//! Shutdown: when the node task drops its sender, the thread writes and syncs everything
//! still queued, waits for a snapshot being written, closes the store and ends; `finish`
//! waits for that, so `zabra serve` exits only once every op it accepted is durable.

use crate::metrics::Metrics;
use crate::node::Event;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use zabra_core::Token;
use zabra_storage::{DiskStore, Prepared};

/// How often an idle storage thread looks whether a background snapshot has finished (its
/// cleanup then runs without waiting for the next write).
const SNAPSHOT_POLL: Duration = Duration::from_millis(100);

pub type StoreSender = Sender<(Token, Prepared)>;

pub fn spawn(
    store: DiskStore,
    events: UnboundedSender<Event>,
    metrics: Arc<Metrics>,
) -> Result<(StoreSender, JoinHandle<()>), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("storage".into())
        .spawn(move || run(store, rx, events, metrics))
        .map_err(|e| format!("cannot start the storage thread: {e}"))?;
    Ok((tx, handle))
}

/// Waits for the storage thread to drain its queue and close the store.
pub async fn finish(handle: JoinHandle<()>) {
    if tokio::task::spawn_blocking(move || handle.join()).await.is_err() {
        tracing::error!("the storage thread panicked");
    }
}

/// A storage error stops the node: nothing may be acknowledged past a failed write.
fn fail(e: zabra_storage::StoreError) -> ! {
    tracing::error!("storage failed: {e}; stopping this node");
    std::process::exit(3);
}

fn run(mut store: DiskStore, rx: Receiver<(Token, Prepared)>, events: UnboundedSender<Event>, m: Arc<Metrics>) {
    loop {
        let first = if store.snapshot_in_progress() {
            match rx.recv_timeout(SNAPSHOT_POLL) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => {
                    store.poll_snapshots().unwrap_or_else(|e| fail(e));
                    report(&mut store, &m);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(item) => item,
                Err(_) => break,
            }
        };
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let last = batch.last().expect("non-empty").0;
        let ops: Vec<Prepared> = batch.into_iter().map(|(_, op)| op).collect();
        group_commit(&mut store, &ops, &m);
        report(&mut store, &m);
        // After shutdown nobody listens; the queue is still written to the end.
        let _ = events.send(Event::Persisted(last));
    }
    let stats = store.stats();
    match store.close() {
        Ok(()) => tracing::info!("storage closed: every queued write is durable ({} fsyncs)", stats.fsyncs),
        Err(e) => fail(e),
    }
}

/// Write every op queued so far, then one fsync for all of them.
fn group_commit(store: &mut DiskStore, ops: &[Prepared], m: &Metrics) {
    store.write_prepared(ops).unwrap_or_else(|e| fail(e));
    let fsync = store.needs_sync();
    let t = Instant::now();
    store.sync().unwrap_or_else(|e| fail(e));
    if fsync {
        m.fsync.observe(t.elapsed());
    }
}

/// Logs finished background snapshots and copies the store's counters into the metrics.
fn report(store: &mut DiskStore, m: &Metrics) {
    for o in store.take_snapshot_outcomes() {
        match o.result {
            Ok((bytes, took)) => {
                m.snapshot.observe(took);
                tracing::info!("snapshot at zxid {} written: {bytes} bytes in {} ms", o.zxid, took.as_millis());
            }
            Err(why) => tracing::warn!("snapshot at zxid {} not written ({why}); the log still holds it", o.zxid),
        }
    }
    *m.storage.lock().expect("not poisoned") = store.stats();
}
