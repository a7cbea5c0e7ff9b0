//! The node task's side of `/observe`: every trace event goes to every viewer through a
//! bounded queue. The node never waits for a viewer: when a viewer's queue is full its
//! events are skipped and counted, and once there is room again the viewer first gets
//! `{"type":"Dropped","count":N}` so it knows its picture has a gap (rather than being cut
//! off, as before, or slowing the node down).
//!
//! The count is shared with the viewer's connection task ([`ViewerTx`]): the marker goes in
//! front of the next event queued, or, when no event follows, the connection task sends it
//! once it has drained the queue. Whoever takes the count (a swap to 0) sends the marker, so
//! it always comes after the events before the gap and before those after it.
//!
//! Each line is the event's JSON with `wall_ms` added: the node's wall clock (Unix
//! milliseconds) when it published the event. The core's own `at` instants count from each
//! node's start, so only this lets a viewer line up the events of several nodes (Live mode
//! measures how long a cluster had no leader from it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use zabra_core::trace::TraceEvent;

/// Trace lines queued per viewer.
pub const QUEUE: usize = 1024;

/// One viewer's queue of trace lines, with the count of lines skipped since its last marker.
#[derive(Clone, Debug)]
pub struct ViewerTx {
    pub lines: mpsc::Sender<String>,
    pub skipped: Arc<AtomicU64>,
}

impl ViewerTx {
    /// A viewer's queue (bounded by [`QUEUE`]) and the receiving end for its connection.
    pub fn channel() -> (ViewerTx, mpsc::Receiver<String>) {
        let (lines, rx) = mpsc::channel(QUEUE);
        (ViewerTx { lines, skipped: Arc::default() }, rx)
    }
}

/// The marker for what a viewer missed since its last one, if it missed anything: the
/// viewer's connection task asks once it has drained the viewer's queue.
pub fn take_marker(skipped: &AtomicU64) -> Option<String> {
    match skipped.swap(0, Ordering::SeqCst) {
        0 => None,
        n => Some(dropped_marker(n)),
    }
}

struct Viewer {
    tx: ViewerTx,
}

#[derive(Default)]
pub struct Viewers {
    list: Vec<Viewer>,
    skipped: u64,
}

/// The marker a viewer gets in place of `count` skipped events.
pub fn dropped_marker(count: u64) -> String {
    serde_json::json!({ "type": "Dropped", "count": count }).to_string()
}

impl Viewers {
    pub fn add(&mut self, tx: ViewerTx) {
        self.list.push(Viewer { tx });
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Events skipped for slow viewers so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn publish(&mut self, e: &TraceEvent) {
        if self.list.is_empty() {
            return;
        }
        let line = stamped(&serde_json::to_string(e).expect("trace events serialize"), wall_ms());
        let mut skipped = 0;
        self.list.retain_mut(|v| match offer(v, &line) {
            Offer::Sent => true,
            Offer::Skipped => {
                skipped += 1;
                true
            }
            Offer::Gone => false,
        });
        self.skipped += skipped;
    }
}

/// The first line a new viewer gets: the node's status now (`{"type":"Status","status":..}`),
/// so a viewer that joins a running cluster knows roles, epochs and zxids before the next
/// event changes them.
pub fn status_line(status: &zabra_core::peer::Status) -> String {
    let json = serde_json::json!({ "type": "Status", "status": status }).to_string();
    stamped(&json, wall_ms())
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `{"wall_ms":MS,` in front of the fields of an event's JSON object.
fn stamped(event_json: &str, wall_ms: u64) -> String {
    match event_json.strip_prefix('{') {
        Some(rest) => format!("{{\"wall_ms\":{wall_ms},{rest}"),
        None => event_json.to_string(),
    }
}

enum Offer {
    Sent,
    Skipped,
    Gone,
}

fn offer(v: &mut Viewer, line: &str) -> Offer {
    use mpsc::error::TrySendError;
    let (tx, skipped) = (&v.tx.lines, &v.tx.skipped);
    // What is still owed after this offer: the count taken, unless its marker went out.
    let mut owed = skipped.swap(0, Ordering::SeqCst);
    let marker = match owed {
        0 => Ok(()),
        n => tx.try_send(dropped_marker(n)).map(|_| owed = 0),
    };
    match marker.and_then(|_| tx.try_send(line.to_string())) {
        Ok(()) => Offer::Sent,
        Err(TrySendError::Full(_)) => {
            skipped.fetch_add(owed + 1, Ordering::SeqCst);
            Offer::Skipped
        }
        Err(TrySendError::Closed(_)) => Offer::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::Sid;

    fn event(i: u64) -> TraceEvent {
        TraceEvent::Anomaly { sid: Sid(1), what: format!("e{i}") }
    }

    #[test]
    fn every_line_carries_the_wall_clock() {
        let mut vs = Viewers::default();
        let (tx, mut rx) = ViewerTx::channel();
        vs.add(tx);
        vs.publish(&event(1));
        let v: serde_json::Value = serde_json::from_str(&rx.try_recv().unwrap()).unwrap();
        assert!(v["wall_ms"].as_u64().is_some_and(|ms| ms > 1_600_000_000_000), "{v}");
        let back: TraceEvent = serde_json::from_value(v).expect("the event still parses");
        assert_eq!(back, event(1));
    }

    #[test]
    fn a_slow_viewer_gets_a_marker_for_what_it_missed_then_the_rest() {
        let mut vs = Viewers::default();
        let (lines, mut rx) = mpsc::channel(4);
        vs.add(ViewerTx { lines, skipped: Arc::default() });
        for i in 0..10 {
            vs.publish(&event(i));
        }
        assert_eq!((vs.len(), vs.skipped()), (1, 6), "the viewer stays; six events skipped");
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got.len(), 4);
        vs.publish(&event(10));
        vs.publish(&event(11));
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got[0], dropped_marker(6));
        assert!(got[1].contains("e10") && got[2].contains("e11"), "{got:?}");
        drop(rx);
        vs.publish(&event(12));
        assert_eq!(vs.len(), 0, "a closed viewer is removed");
    }

    /// A gap with no event after it is still reported: the connection task, having drained
    /// the queue, takes the count and sends the marker; the count is not reported twice.
    #[test]
    fn a_gap_at_the_end_is_reported_by_the_connection_task() {
        let mut vs = Viewers::default();
        let (lines, mut rx) = mpsc::channel(4);
        let skipped = Arc::new(AtomicU64::new(0));
        vs.add(ViewerTx { lines, skipped: skipped.clone() });
        for i in 0..10 {
            vs.publish(&event(i));
        }
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(take_marker(&skipped), Some(dropped_marker(6)));
        assert_eq!(take_marker(&skipped), None);
        vs.publish(&event(10));
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(got.len() == 1 && got[0].contains("e10"), "no second marker: {got:?}");
    }
}
