//! A [`Coord`] wrapper that counts the watch notifications its client receives: how a test
//! or a lesson shows that a recipe has no herd effect (one deletion, one notified client).

use crate::{Coord, Mode, Result, Stat, WatchEvent};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

pub struct Counted<C> {
    inner: C,
    notified: Arc<AtomicU64>,
}

impl<C: Coord> Counted<C> {
    pub fn new(inner: C) -> Self {
        Counted { inner, notified: Arc::default() }
    }

    /// Watch notifications delivered so far (to watches that were awaited).
    pub fn notified(&self) -> u64 {
        self.notified.load(Ordering::SeqCst)
    }

    /// A handle on the count that outlives a borrow of the client.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.notified.clone()
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }
}

/// Counts its event when it resolves.
pub struct CountedWatch<W> {
    inner: W,
    notified: Arc<AtomicU64>,
}

impl<W: Future<Output = WatchEvent> + Unpin> Future for CountedWatch<W> {
    type Output = WatchEvent;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchEvent> {
        let event = std::task::ready!(Pin::new(&mut self.inner).poll(cx));
        self.notified.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(event)
    }
}

impl<C: Coord> Counted<C> {
    fn wrap(&self, inner: C::Watch) -> CountedWatch<C::Watch> {
        CountedWatch { inner, notified: self.notified.clone() }
    }
}

impl<C: Coord> Coord for Counted<C> {
    type Watch = CountedWatch<C::Watch>;
    fn session_id(&self) -> i64 {
        self.inner.session_id()
    }
    async fn create(&self, path: &str, data: &[u8], mode: Mode) -> Result<(String, Stat)> {
        self.inner.create(path, data, mode).await
    }
    async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        self.inner.get_data(path).await
    }
    async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, Self::Watch)> {
        let (d, s, w) = self.inner.get_data_watch(path).await?;
        Ok((d, s, self.wrap(w)))
    }
    async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        self.inner.set_data(path, data, version).await
    }
    async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        self.inner.delete(path, version).await
    }
    async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        self.inner.exists(path).await
    }
    async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, Self::Watch)> {
        let (s, w) = self.inner.exists_watch(path).await?;
        Ok((s, self.wrap(w)))
    }
    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        self.inner.get_children(path).await
    }
    async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, Self::Watch)> {
        let (c, w) = self.inner.get_children_watch(path).await?;
        Ok((c, self.wrap(w)))
    }
    async fn sync(&self, path: &str) -> Result<()> {
        self.inner.sync(path).await
    }
    async fn sleep(&self, ms: u64) {
        self.inner.sleep(ms).await
    }
    fn next_tag(&self) -> u64 {
        self.inner.next_tag()
    }
}
