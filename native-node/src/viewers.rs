//! The node task's side of `/observe`: every trace event goes to every viewer through a
//! bounded queue. The node never waits for a viewer: when a viewer's queue is full its
//! events are skipped and counted, and once there is room again the viewer first gets
//! `{"type":"Dropped","count":N}` so it knows its picture has a gap (rather than being cut
//! off, as before, or slowing the node down).

use tokio::sync::mpsc;
use zabra_core::trace::TraceEvent;

/// Trace lines queued per viewer.
pub const QUEUE: usize = 1024;

struct Viewer {
    tx: mpsc::Sender<String>,
    /// Events skipped since the last one delivered.
    skipped: u64,
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
    pub fn add(&mut self, tx: mpsc::Sender<String>) {
        self.list.push(Viewer { tx, skipped: 0 });
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
        let line = serde_json::to_string(e).expect("trace events serialize");
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

enum Offer {
    Sent,
    Skipped,
    Gone,
}

fn offer(v: &mut Viewer, line: &str) -> Offer {
    use mpsc::error::TrySendError;
    let result = match v.skipped {
        0 => v.tx.try_send(line.to_string()),
        n => v.tx.try_send(dropped_marker(n)).and_then(|_| {
            v.skipped = 0;
            v.tx.try_send(line.to_string())
        }),
    };
    match result {
        Ok(()) => Offer::Sent,
        Err(TrySendError::Full(_)) => {
            v.skipped += 1;
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
    fn a_slow_viewer_gets_a_marker_for_what_it_missed_then_the_rest() {
        let mut vs = Viewers::default();
        let (tx, mut rx) = mpsc::channel(4);
        vs.add(tx);
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
}
