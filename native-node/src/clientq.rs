//! The queue from the node task to one client connection, bounded by bytes.
//!
//! The node task must never wait for a client, so it cannot use a channel that blocks when
//! full; and a client that sends small reads of big znodes without reading the replies made
//! an unbounded channel grow by hundreds of megabytes. So every message is counted at its
//! approximate encoded size when the node sends it and uncounted when the connection has
//! written it out. The connection stops reading requests while its queue holds more than
//! `max_queued_bytes` (throttling, as ZooKeeper does); replies to requests already read can
//! still arrive, and if the queue passes the hard limit anyway the node closes the
//! connection (the send fails with [`Overflow`]) instead of growing further.

use crate::node::ClientOut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};
use zabra_core::datatree::OpResult;
use zabra_core::peer::ClientResult;

/// Counted for every message on top of its data: headers, stats, and the channel slot.
const OVERHEAD: usize = 96;

struct Shared {
    queued: AtomicUsize,
    hard: usize,
    overflowed: AtomicBool,
    wake: Notify,
}

/// The node task's end.
#[derive(Clone)]
pub struct ClientTx {
    tx: mpsc::UnboundedSender<(ClientOut, usize)>,
    shared: Arc<Shared>,
}

/// The connection's end of the queue.
pub struct ClientRx {
    rx: mpsc::UnboundedReceiver<(ClientOut, usize)>,
    shared: Arc<Shared>,
}

/// The count of what is queued, apart from the receiver, so a connection can check it (and
/// hear of an overflow) while it waits on the receiver.
#[derive(Clone)]
pub struct QueueHandle {
    shared: Arc<Shared>,
}

/// The connection's queue passed the hard limit; it must be closed.
#[derive(Debug)]
pub struct Overflow {
    pub queued: usize,
    pub hard: usize,
}

pub fn channel(hard: usize) -> (ClientTx, ClientRx) {
    // Bounded by bytes, not slots: `ClientTx::send` refuses what would pass `hard`.
    let (tx, rx) = mpsc::unbounded_channel();
    let shared =
        Arc::new(Shared { queued: AtomicUsize::new(0), hard, overflowed: AtomicBool::new(false), wake: Notify::new() });
    (ClientTx { tx, shared: shared.clone() }, ClientRx { rx, shared })
}

impl ClientTx {
    /// Queue `out`, or report that this connection's queue is over the hard limit (then
    /// nothing is queued, and the connection is told to close at once).
    pub fn send(&self, out: ClientOut) -> Result<(), Overflow> {
        let n = size_of(&out);
        let queued = self.shared.queued.fetch_add(n, Ordering::Relaxed) + n;
        if queued > self.shared.hard {
            self.shared.queued.fetch_sub(n, Ordering::Relaxed);
            self.shared.overflowed.store(true, Ordering::Relaxed);
            self.shared.wake.notify_one();
            return Err(Overflow { queued, hard: self.shared.hard });
        }
        if self.tx.send((out, n)).is_err() {
            // The connection is gone; its closing event is on its way to the node.
            self.shared.queued.fetch_sub(n, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl ClientRx {
    /// The next message and its counted size; call [`QueueHandle::done`] with that size once
    /// it is written (or dropped).
    pub async fn recv(&mut self) -> Option<(ClientOut, usize)> {
        self.rx.recv().await
    }

    pub fn handle(&self) -> QueueHandle {
        QueueHandle { shared: self.shared.clone() }
    }
}

impl QueueHandle {
    pub fn done(&self, n: usize) {
        self.shared.queued.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Resolves once the node has given up on this connection (its queue overflowed).
    pub async fn overflowed(&self) -> Overflow {
        while !self.shared.overflowed.load(Ordering::Relaxed) {
            self.shared.wake.notified().await;
        }
        Overflow { queued: self.queued(), hard: self.shared.hard }
    }
}

/// Roughly what `out` takes encoded (and in memory): its data, names and ids.
pub fn size_of(out: &ClientOut) -> usize {
    OVERHEAD
        + match out {
            ClientOut::Reply(r) => result_size(&r.result),
            ClientOut::Watch { event, .. } => event.path.len(),
            ClientOut::Connected(_) | ClientOut::Close => 0,
        }
}

fn strings(v: &[String]) -> usize {
    v.iter().map(|s| s.len() + 4).sum()
}

fn result_size(r: &ClientResult) -> usize {
    match r {
        ClientResult::Data { data, .. } => data.len(),
        ClientResult::Children { children, .. } => strings(children),
        ClientResult::Paths(p) => strings(p),
        ClientResult::Acl { acl, .. } => acl.iter().map(|a| a.id.scheme.len() + a.id.id.len() + 12).sum(),
        ClientResult::Identities(ids) => ids.iter().map(|i| i.scheme.len() + i.id.len() + 8).sum(),
        ClientResult::MultiRead(v) => v.iter().map(|r| result_size(r) + 16).sum(),
        ClientResult::Write(w) => op_result_size(w),
        ClientResult::Exists(_) | ClientResult::Count(_) | ClientResult::Synced => 0,
        ClientResult::Ok | ClientResult::Error(_) => 0,
    }
}

fn op_result_size(r: &OpResult) -> usize {
    match r {
        OpResult::Created { path, .. } => path.len(),
        OpResult::Multi(v) => v.iter().map(|r| op_result_size(r) + 16).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::datatree::Stat;
    use zabra_core::peer::Reply;
    use zabra_core::{SessionId, Zxid};

    fn data_reply(n: usize) -> ClientOut {
        let result = ClientResult::Data { data: vec![0; n].into(), stat: Stat::default() };
        ClientOut::Reply(Reply { session: SessionId(1), xid: 1, zxid: Zxid::ZERO, result })
    }

    #[tokio::test]
    async fn the_queue_is_bounded_by_bytes_and_written_bytes_free_room() {
        let (tx, mut rx) = channel(10_000);
        let h = rx.handle();
        tx.send(data_reply(4_000)).unwrap();
        tx.send(data_reply(4_000)).unwrap();
        let err = tx.send(data_reply(4_000)).unwrap_err();
        assert!(err.queued > 10_000 && err.hard == 10_000);
        assert_eq!(h.queued(), 2 * (4_000 + OVERHEAD), "the refused message is not counted");
        let o = h.overflowed().await;
        assert_eq!(o.hard, 10_000);
        let (_, n) = rx.recv().await.unwrap();
        h.done(n);
        assert_eq!(h.queued(), 4_000 + OVERHEAD);
    }
}
