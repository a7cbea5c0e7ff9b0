//! What each kind of recipe client does in a lesson: the crate's recipes, unchanged, with
//! their progress written in plain words for the page.

use super::{released, zxid_text, Shared};
use crate::barrier::DoubleBarrier;
use crate::config::{publish, Subscriber};
use crate::counting::Counted;
use crate::election::Candidate;
use crate::lock::Lock;
use crate::membership::Group;
use crate::queue::Queue;
use crate::sim::SimCoord;
use std::rc::Rc;

pub const LOCK: &str = "/lock";
pub const ELECTION: &str = "/election";
pub const GROUP: &str = "/group";
pub const CONFIG: &str = "/app/config";
pub const QUEUE: &str = "/queue";
pub const BARRIER: &str = "/barrier";

pub(super) enum Kind {
    Lock,
    Candidate,
    Member,
    WatchGroup,
    Subscribe,
    Publish(String),
    Put(String),
    Consume,
    Barrier(usize),
}

impl Kind {
    pub(super) fn parse(kind: &str, rest: &[&str]) -> Result<Kind, String> {
        let arg = || rest.first().map(|s| s.to_string()).ok_or(format!("recipe {kind} NAME PEER needs one more word"));
        Ok(match kind {
            "lock" => Kind::Lock,
            "candidate" => Kind::Candidate,
            "member" => Kind::Member,
            "watch-group" => Kind::WatchGroup,
            "subscribe" => Kind::Subscribe,
            "publish" => Kind::Publish(arg()?),
            "put" => Kind::Put(arg()?),
            "consume" => Kind::Consume,
            "barrier" => Kind::Barrier(arg()?.parse().ok().filter(|n| (1..=9).contains(n)).ok_or("count 1 to 9")?),
            other => return Err(format!("unknown recipe {other:?}")),
        })
    }

    /// One-shot actions a named client may do again.
    pub(super) fn reuses(&self) -> bool {
        matches!(self, Kind::Publish(_) | Kind::Put(_))
    }

    pub(super) fn recipe(&self) -> &'static str {
        match self {
            Kind::Lock => "lock",
            Kind::Candidate => "leader election",
            Kind::Member => "group member",
            Kind::WatchGroup => "group watcher",
            Kind::Subscribe => "config subscriber",
            Kind::Publish(_) => "config publisher",
            Kind::Put(_) => "queue producer",
            Kind::Consume => "queue consumer",
            Kind::Barrier(_) => "double barrier",
        }
    }
}

/// The task of one recipe client.
pub(super) async fn run(kind: Kind, c: Counted<SimCoord>, name: String, s: Rc<Shared>) {
    let say = |t: String| *s.phase.borrow_mut() = t;
    let failed = |e: crate::Error| format!("gave up: {e}");
    match kind {
        Kind::Lock => {
            say("asks for the lock and waits its turn".into());
            let mut lock = Lock::new(c, LOCK);
            match lock.acquire().await {
                Ok(t) => say(format!("holds the lock · fencing token {}", zxid_text(t.0))),
                Err(e) => return say(failed(e)),
            }
            released(&s).await;
            say(match lock.release().await {
                Ok(()) => "released the lock".into(),
                Err(e) => failed(e),
            });
        }
        Kind::Candidate => {
            say("runs for leader and waits its turn".into());
            let mut cand = Candidate::new(c, ELECTION, &name);
            match cand.campaign().await {
                Ok(l) => say(format!("is the leader · token {}", zxid_text(l.epoch))),
                Err(e) => return say(failed(e)),
            }
            released(&s).await;
            say(match cand.resign().await {
                Ok(()) => "stepped down".into(),
                Err(e) => failed(e),
            });
        }
        Kind::Member => {
            let g = Group::new(c, GROUP);
            say("joining the group".into());
            if let Err(e) = g.join(&name, b"up").await {
                return say(failed(e));
            }
            say("is a member".into());
            released(&s).await;
            say(match g.leave(&name).await {
                Ok(()) => "left the group".into(),
                Err(e) => failed(e),
            });
        }
        Kind::WatchGroup => {
            if let Err(e) = crate::ensure_path(&c, GROUP).await {
                return say(failed(e));
            }
            let g = Group::new(c, GROUP);
            loop {
                match g.watch_members().await {
                    Ok((m, w)) => {
                        say(format!("sees members [{}]", m.join(", ")));
                        w.await;
                    }
                    Err(e) => return say(failed(e)),
                }
            }
        }
        Kind::Subscribe => {
            let mut sub = Subscriber::new(c, CONFIG);
            say("waits for the configuration".into());
            loop {
                match sub.next().await {
                    Ok((data, st)) => {
                        say(format!("sees config {:?} (version {})", String::from_utf8_lossy(&data), st.version))
                    }
                    Err(e) => return say(failed(e)),
                }
            }
        }
        Kind::Publish(v) => {
            say(format!("publishing {v:?}"));
            say(match publish(&c, CONFIG, v.as_bytes()).await {
                Ok(st) => format!("published {v:?} (version {})", st.version),
                Err(e) => failed(e),
            });
        }
        Kind::Put(item) => {
            say(format!("adding {item:?}"));
            say(match Queue::new(c, QUEUE).put(item.as_bytes()).await {
                Ok(n) => format!("added {item:?} as item {n}"),
                Err(e) => failed(e),
            });
        }
        Kind::Consume => {
            let q = Queue::new(c, QUEUE);
            let mut took = Vec::new();
            say("waits for items".into());
            loop {
                match q.take().await {
                    Ok(item) => {
                        took.push(String::from_utf8_lossy(&item).into_owned());
                        say(format!("took {}", took.join(", ")));
                    }
                    Err(e) => return say(failed(e)),
                }
            }
        }
        Kind::Barrier(n) => {
            let b = DoubleBarrier::new(c, BARRIER, &name, n);
            say(format!("waits at the barrier for {n}"));
            if let Err(e) = b.enter().await {
                return say(failed(e));
            }
            say("entered: works".into());
            released(&s).await;
            say("done: waits for the others to finish".into());
            say(match b.leave().await {
                Ok(()) => "left the barrier".into(),
                Err(e) => failed(e),
            });
        }
    }
}
