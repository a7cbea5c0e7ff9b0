//! A bound on the memory that partly received frames hold, across every client connection.
//!
//! A client may announce a 1 MiB frame and send all of it but the last byte; three hundred
//! such connections held 350 MB. Buffers grow only with bytes actually received (never by
//! an announced length), each connection may hold [`FREE`] bytes on its own, and beyond
//! that it must reserve room from one budget shared by the node's client ports. A connection
//! that finds no room waits, unread (its bytes stay in the kernel's socket buffer), until
//! others complete their frames or close; the pre-session and session timeouts bound how long
//! anyone keeps room.
//!
//! [`Budgeted`] wraps a socket: every read first reserves room for what it may add, and the
//! connection's owner tells the [`Hold`] how much of what was read it still keeps
//! ([`Hold::settle`]) once it has taken a whole frame or message out.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes a connection may buffer without reserving room from the budget.
pub const FREE: usize = 64 * 1024;
/// The most one read takes from the socket.
pub const CHUNK: usize = 16 * 1024;

/// The node's budget for partly received frames (bytes).
#[derive(Clone)]
pub struct ReadBudget(Arc<Semaphore>);

impl ReadBudget {
    pub fn new(bytes: usize) -> ReadBudget {
        ReadBudget(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }

    /// Room left in the budget.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

/// What one connection has read and reserved; shared by its socket wrapper and its owner.
pub struct Hold {
    budget: ReadBudget,
    /// Bytes read and still kept by the owner (per its last `settle`, plus reads since).
    kept: AtomicUsize,
    /// Room reserved from the budget, returned on `settle` and on drop.
    reserved: AtomicUsize,
}

impl Hold {
    /// The owner now keeps `still_buffered` bytes of what it read: return the room it no
    /// longer needs.
    pub fn settle(&self, still_buffered: usize) {
        self.kept.store(still_buffered, Ordering::Relaxed);
        let need = still_buffered.saturating_sub(FREE);
        let had = self.reserved.load(Ordering::Relaxed);
        if had > need {
            self.reserved.store(need, Ordering::Relaxed);
            self.budget.0.add_permits(had - need);
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.budget.0.add_permits(*self.reserved.get_mut());
    }
}

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, tokio::sync::AcquireError>> + Send>>;

/// A socket whose reads are paid for from the budget.
pub struct Budgeted<S> {
    inner: S,
    hold: Arc<Hold>,
    acquiring: Option<(usize, Acquire)>,
}

impl<S> Budgeted<S> {
    pub fn new(inner: S, budget: &ReadBudget) -> Budgeted<S> {
        let hold = Hold { budget: budget.clone(), kept: AtomicUsize::new(0), reserved: AtomicUsize::new(0) };
        Budgeted { inner, hold: Arc::new(hold), acquiring: None }
    }

    pub fn hold(&self) -> Arc<Hold> {
        self.hold.clone()
    }

    /// Reserve room for one more chunk, waiting for it if the budget is spent.
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some((n, fut)) = &mut self.acquiring {
                let permit = ready!(fut.as_mut().poll(cx)).map_err(io::Error::other)?;
                permit.forget();
                self.hold.reserved.fetch_add(*n, Ordering::Relaxed);
                self.acquiring = None;
            }
            let want = (self.hold.kept.load(Ordering::Relaxed) + CHUNK).saturating_sub(FREE);
            let short = want.saturating_sub(self.hold.reserved.load(Ordering::Relaxed));
            if short == 0 {
                return Poll::Ready(Ok(()));
            }
            let n = short.min(Semaphore::MAX_PERMITS).min(u32::MAX as usize);
            let fut = self.hold.budget.0.clone().acquire_many_owned(n as u32);
            self.acquiring = Some((n, Box::pin(fut)));
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Budgeted<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_room(cx))?;
        let n = CHUNK.min(buf.remaining());
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(n));
        ready!(Pin::new(&mut me.inner).poll_read(cx, &mut part))?;
        let got = part.filled().len();
        buf.advance(got);
        me.hold.kept.fetch_add(got, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Budgeted<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_past_the_free_room_wait_for_the_budget() {
        let budget = ReadBudget::new(CHUNK);
        let (mut far, near) = tokio::io::duplex(1 << 20);
        let mut sock = Budgeted::new(near, &budget);
        let hold = sock.hold();
        far.write_all(&vec![7u8; 4 * FREE]).await.unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4 * FREE];
        // FREE bytes come for nothing, then one chunk of budget; after that a read waits.
        while got.len() < FREE + CHUNK {
            let n = sock.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(budget.available(), 0);
        let more = tokio::time::timeout(std::time::Duration::from_millis(50), sock.read(&mut buf)).await;
        assert!(more.is_err(), "no room: the read waits");
        // The owner took a whole frame out: the room comes back and reading goes on.
        hold.settle(0);
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0);
        drop(sock);
        drop(hold);
        assert_eq!(budget.available(), CHUNK, "everything reserved is returned");
    }
}
