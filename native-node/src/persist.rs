//! The storage thread: performs the core's `Persist` ops on the disk store with group commit
//! and reports `Persisted`; checkpoints go on to the store's snapshot-writer thread, so a
//! large snapshot never holds up an fsync.
//!
//! Shutdown: when the node task drops its sender, the thread writes and syncs everything
//! still queued, waits for a snapshot being written, closes the store and ends; `finish`
//! waits for that, so `zabra serve` exits only once every op it accepted is durable.
//!
//! Bounded: the ops handed over and not yet durable weigh at most [`MAX_BACKLOG`] bytes. Past
//! it the node task waits for the disk ([`StoreQueue::wait_for_room`]) before it takes another
//! event, so a disk slower than the traffic (a slow follower whose leader keeps proposing)
//! slows the node instead of growing its memory: its links stop reading at their allowance,
//! its leader drops it when its send queue fills, and it catches up by resync.

use crate::metrics::Metrics;
use crate::node::Event;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use zabra_core::Token;
use zabra_storage::{DiskStore, Prepared};

/// How often an idle storage thread looks whether a background snapshot has finished (its
/// cleanup then runs without waiting for the next write).
const SNAPSHOT_POLL: Duration = Duration::from_millis(100);

/// The most bytes of ops (by [`weight`]) handed to the storage thread and not yet durable.
pub const MAX_BACKLOG: u32 = 64 << 20;

/// The weight of a snapshot op: the tree it carries is shared with the core's, so it is not
/// copied, but a few of them queued is already a disk far behind.
const SNAPSHOT_WEIGHT: u32 = MAX_BACKLOG / 4;

/// What an op costs the backlog: its encoded entries twice (they and their decoded form wait
/// in the queue) and a little per entry; a snapshot a fixed quarter of the backlog.
pub fn weight(p: &Prepared) -> u32 {
    use zabra_core::storage::PersistOp as P;
    let w = match &p.op {
        P::Append(entries) => p.encoded.iter().map(|b| 2 * b.len() + 64).sum::<usize>() + 64 * entries.len(),
        P::InstallSnapshot(..) | P::Checkpoint(_) => SNAPSHOT_WEIGHT as usize,
        P::AcceptedEpoch(_) | P::CurrentEpoch(_) | P::Truncate(_) => 64,
    };
    w.clamp(1, MAX_BACKLOG as usize) as u32
}

struct Item {
    token: Token,
    op: Prepared,
    weight: u32,
}

/// The node task's end of the storage queue: ops go to the thread in order while the backlog
/// has room; past it they wait here until the node task calls [`StoreQueue::wait_for_room`].
pub struct StoreQueue {
    tx: Sender<Item>,
    room: Arc<Semaphore>,
    waiting: VecDeque<Item>,
}

/// The storage thread is gone (it stops the process when a write fails, so this is a bug).
#[derive(Debug)]
pub struct StorageGone;

impl StoreQueue {
    /// Hands `op` to the storage thread, or keeps it (in order) until the backlog has room.
    pub fn push(&mut self, token: Token, op: Prepared) -> Result<(), StorageGone> {
        let item = Item { token, weight: weight(&op), op };
        if self.waiting.is_empty() {
            if let Ok(permit) = self.room.try_acquire_many(item.weight) {
                permit.forget();
                return self.tx.send(item).map_err(|_| StorageGone);
            }
        }
        self.waiting.push_back(item);
        Ok(())
    }

    /// Ops are waiting for the disk: the node task should call `wait_for_room` before it
    /// takes another event.
    pub fn is_full(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Waits until every op kept here has gone to the storage thread.
    pub async fn wait_for_room(&mut self) -> Result<(), StorageGone> {
        while let Some(item) = self.waiting.pop_front() {
            let permit = self.room.acquire_many(item.weight).await.map_err(|_| StorageGone)?;
            permit.forget();
            self.tx.send(item).map_err(|_| StorageGone)?;
        }
        Ok(())
    }

    /// Bytes (by weight) handed over and not yet durable.
    #[cfg(test)]
    pub fn backlog(&self) -> u32 {
        MAX_BACKLOG - self.room.available_permits() as u32
    }

    /// A queue whose thread is a plain receiver (tests of the node task).
    #[cfg(test)]
    pub fn detached() -> (StoreQueue, Receiver<(Token, Prepared)>) {
        let (tx, rx) = std::sync::mpsc::channel::<Item>();
        let (out_tx, out_rx) = std::sync::mpsc::channel();
        let room = Arc::new(Semaphore::new(MAX_BACKLOG as usize));
        let r = room.clone();
        std::thread::spawn(move || {
            for item in rx {
                r.add_permits(item.weight as usize);
                let _ = out_tx.send((item.token, item.op));
            }
        });
        (StoreQueue { tx, room, waiting: VecDeque::new() }, out_rx)
    }
}

pub fn spawn(
    store: DiskStore,
    events: crate::node::Events,
    metrics: Arc<Metrics>,
) -> Result<(StoreQueue, JoinHandle<()>), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let room = Arc::new(Semaphore::new(MAX_BACKLOG as usize));
    let freed = room.clone();
    let handle = std::thread::Builder::new()
        .name("storage".into())
        .spawn(move || run(store, rx, events, metrics, freed))
        .map_err(|e| format!("cannot start the storage thread: {e}"))?;
    Ok((StoreQueue { tx, room, waiting: VecDeque::new() }, handle))
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

fn run(mut store: DiskStore, rx: Receiver<Item>, events: crate::node::Events, m: Arc<Metrics>, room: Arc<Semaphore>) {
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
        let last = batch.last().expect("non-empty").token;
        let weight: usize = batch.iter().map(|i| i.weight as usize).sum();
        let ops: Vec<Prepared> = batch.into_iter().map(|i| i.op).collect();
        group_commit(&mut store, &ops, &m);
        report(&mut store, &m);
        room.add_permits(weight);
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

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::log::Entry;
    use zabra_core::storage::PersistOp;
    use zabra_core::txn::{CreateMode, Op, Txn};
    use zabra_core::{SessionId, Zxid};

    fn append(n: usize, data: usize) -> Prepared {
        let entry = |i| Entry {
            zxid: Zxid::new(1, i as u32 + 1),
            txn: Txn {
                session: SessionId(1),
                time_ms: 0,
                auth: Vec::new(),
                op: Op::create("/a", &vec![7u8; data], CreateMode::Persistent),
            }
            .into(),
            origin: None,
        };
        let entries: Vec<Entry> = (0..n).map(entry).collect();
        let encoded = entries.iter().map(|e| zabra_peerwire::encode_entry(e).into()).collect();
        Prepared { op: PersistOp::Append(entries), encoded }
    }

    /// A disk that does not keep up: past the backlog ops wait in order, and the node task's
    /// wait ends once the disk has made room (and not before).
    #[tokio::test]
    async fn a_slow_disk_holds_ops_past_the_backlog_in_order() {
        let (tx, rx) = std::sync::mpsc::channel::<Item>();
        let room = Arc::new(Semaphore::new(MAX_BACKLOG as usize));
        let mut q = StoreQueue { tx, room: room.clone(), waiting: VecDeque::new() };
        let big = || append(64, 64 << 10); // 4 MiB of data, about 8 MiB by weight
        let mut t = 0;
        while !q.is_full() {
            t += 1;
            q.push(Token(t), big()).expect("the thread is there");
            assert!(t < 100, "the backlog never filled");
        }
        let sent: Vec<u64> = rx.try_iter().map(|i| i.token.0).collect();
        assert_eq!(sent, (1..t).collect::<Vec<_>>(), "everything before the full one went, in order");
        assert!(q.backlog() > MAX_BACKLOG - weight(&big()), "the backlog is nearly full: {}", q.backlog());
        q.push(Token(t + 1), append(1, 10)).expect("queued");
        assert!(rx.try_recv().is_err(), "a small op waits behind the one that did not fit");
        // The disk catches up with the first half.
        let waiter = tokio::spawn(async move {
            q.wait_for_room().await.expect("the thread is there");
            q
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "no room yet");
        room.add_permits((MAX_BACKLOG / 2) as usize);
        let q = tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await.expect("done").expect("joined");
        assert!(!q.is_full());
        let sent: Vec<u64> = rx.try_iter().map(|i| i.token.0).collect();
        assert_eq!(sent, vec![t, t + 1], "the waiting ops went in order");
    }
}
