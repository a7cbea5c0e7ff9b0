//! The clients: each worker runs one ZooKeeper session at a time (`zookeeper-client`) against
//! every node's client address, and records each invocation and its completion. Operations:
//! reads, blind writes and compare-and-set writes of a few registers, sync-then-read, and
//! sequential creates. An operation without an answer in time is recorded as unknown and its
//! session is dropped: the next op runs in a new session (as a Jepsen process that crashed).

use crate::history::{Call, Op, Outcome};
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zookeeper_client as zk;

pub const ROOT: &str = "/chaos";
pub const SEQ_PARENT: &str = "/chaos/seq";
/// An op's answer wait before it counts as unknown.
const OP_TIMEOUT: Duration = Duration::from_secs(4);
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

pub fn register(k: usize) -> String {
    format!("{ROOT}/r{k}")
}

/// The history being recorded, shared by every worker.
pub struct Recorder {
    start: Instant,
    ops: Mutex<Vec<Op>>,
    next_value: AtomicU64,
    next_session: AtomicU64,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder { start, ops: Mutex::new(Vec::new()), next_value: AtomicU64::new(1), next_session: AtomicU64::new(1) }
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    pub fn new_session(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    fn value(&self) -> u64 {
        self.next_value.fetch_add(1, Ordering::Relaxed)
    }

    pub fn invoke(&self, session: u64, key: &str, call: Call) -> usize {
        let mut ops = self.ops.lock().expect("recorder lock");
        let id = ops.len();
        let outcome = Outcome::Unknown { error: "no answer".into() };
        ops.push(Op { id, session, key: key.into(), invoke: self.now(), complete: None, call, outcome, multi: None });
        id
    }

    /// Invokes the ops of one multi together (sharing the first one's id as their group).
    pub fn invoke_multi(&self, session: u64, parts: &[(&str, Call)]) -> Vec<usize> {
        let mut ops = self.ops.lock().expect("recorder lock");
        let (first, now) = (ops.len(), self.now());
        for (key, call) in parts {
            let (id, outcome) = (ops.len(), Outcome::Unknown { error: "no answer".into() });
            ops.push(Op {
                id,
                session,
                key: (*key).into(),
                invoke: now,
                complete: None,
                call: *call,
                outcome,
                multi: Some(first),
            });
        }
        (first..ops.len()).collect()
    }

    /// Unknown outcomes keep no completion time: they may take effect at any later time.
    pub fn complete(&self, id: usize, outcome: Outcome) {
        let now = self.now();
        let mut ops = self.ops.lock().expect("recorder lock");
        let op = &mut ops[id];
        op.complete = (!matches!(outcome, Outcome::Unknown { .. })).then_some(now);
        op.outcome = outcome;
    }

    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().expect("recorder lock").clone()
    }

    pub fn count(&self) -> usize {
        self.ops.lock().expect("recorder lock").len()
    }
}

/// What a failed request tells: refused without effect, or unknown.
fn failure(e: &zk::Error) -> Outcome {
    match e {
        zk::Error::BadVersion => Outcome::BadVersion,
        zk::Error::NoNode | zk::Error::BadArguments(_) => Outcome::Fail { error: e.to_string() },
        _ => Outcome::Unknown { error: e.to_string() },
    }
}

pub async fn connect(hosts: &str) -> Result<zk::Client, String> {
    let c = zk::Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .with_connection_timeout(Duration::from_millis(1500))
        .connect(hosts);
    match tokio::time::timeout(Duration::from_secs(5), c).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

fn parse(data: &[u8]) -> u64 {
    // A value no write wrote: the checker rejects it.
    std::str::from_utf8(data).ok().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX)
}

pub async fn read(c: &zk::Client, path: &str) -> Outcome {
    match tokio::time::timeout(OP_TIMEOUT, c.get_data(path)).await {
        Ok(Ok((data, stat))) => Outcome::Ok { value: parse(&data), version: stat.version, zxid: stat.mzxid as u64 },
        Ok(Err(e)) => failure(&e),
        Err(_) => Outcome::Unknown { error: "timeout".into() },
    }
}

fn set_result(r: zk::MultiWriteResult, value: u64) -> Outcome {
    match r {
        zk::MultiWriteResult::SetData { stat } => Outcome::Ok { value, version: stat.version, zxid: stat.mzxid as u64 },
        other => Outcome::Fail { error: format!("unexpected multi result {other:?}") },
    }
}

pub struct Workload {
    pub rec: Arc<Recorder>,
    pub hosts: String,
    pub registers: usize,
    pub stop: Arc<AtomicBool>,
}

/// Counts of the ops done, by kind and outcome, for the report.
pub type Tally = BTreeMap<String, u64>;

impl Workload {
    /// One worker until `stop`: sessions one after another, one op at a time.
    pub async fn worker(self: Arc<Self>, seed: u64) -> Tally {
        let mut rng = Rng::new(seed);
        let mut tally = Tally::new();
        while !self.stop.load(Ordering::Relaxed) {
            let Ok(client) = connect(&self.hosts).await else {
                *tally.entry("connect-failed".into()).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let session = self.rec.new_session();
            *tally.entry("sessions".into()).or_default() += 1;
            let mut versions: BTreeMap<usize, i32> = BTreeMap::new();
            while !self.stop.load(Ordering::Relaxed) {
                let (kind, outcome) = self.one(&client, session, &mut rng, &mut versions).await;
                let verdict = match &outcome {
                    Outcome::Unknown { .. } => "unknown",
                    Outcome::Fail { .. } => "fail",
                    Outcome::BadVersion => "bad-version",
                    _ => "ok",
                };
                *tally.entry(format!("{kind} {verdict}")).or_default() += 1;
                if matches!(outcome, Outcome::Unknown { .. }) {
                    break;
                }
            }
        }
        tally
    }

    /// One random op (or a sync and its read); the kind and the last outcome.
    async fn one(
        &self,
        c: &zk::Client,
        session: u64,
        rng: &mut Rng,
        versions: &mut BTreeMap<usize, i32>,
    ) -> (&'static str, Outcome) {
        let k = rng.range(0, self.registers as u64) as usize;
        let path = register(k);
        let roll = rng.range(0, 100);
        if roll < 35 {
            return ("read", self.read(c, session, &path, k, versions).await);
        }
        if roll < 70 {
            return self.write(c, session, rng, versions, k, roll < 55).await;
        }
        if roll < 75 && self.registers > 1 {
            return ("multi", self.multi(c, session, rng, versions, k).await);
        }
        if roll < 88 {
            let id = self.rec.invoke(session, &path, Call::Sync);
            let outcome = match tokio::time::timeout(OP_TIMEOUT, c.sync(&path)).await {
                Ok(Ok(())) => Outcome::Synced,
                Ok(Err(e)) => failure(&e),
                Err(_) => Outcome::Unknown { error: "timeout".into() },
            };
            self.rec.complete(id, outcome.clone());
            if outcome != Outcome::Synced {
                return ("sync", outcome);
            }
            return ("sync-read", self.read(c, session, &path, k, versions).await);
        }
        let id = self.rec.invoke(session, SEQ_PARENT, Call::Create);
        let opts = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        let prefix = format!("{SEQ_PARENT}/n-");
        let outcome = match tokio::time::timeout(OP_TIMEOUT, c.create(&prefix, b"", &opts)).await {
            Ok(Ok((stat, seq))) => Outcome::Created { seq: seq.into_i64() as u64, zxid: stat.czxid as u64 },
            Ok(Err(e)) => failure(&e),
            Err(_) => Outcome::Unknown { error: "timeout".into() },
        };
        self.rec.complete(id, outcome.clone());
        ("create", outcome)
    }

    /// A CAS from the version last seen (sometimes a stale or future one), or blind.
    fn expect(rng: &mut Rng, versions: &BTreeMap<usize, i32>, k: usize) -> Option<i32> {
        // Never -1 (ZooKeeper's "any version"): a CAS always names a version.
        versions.get(&k).map(|v| (v + rng.range(0, 3) as i32 - 1).max(0)).or(Some(0))
    }

    async fn write(
        &self,
        c: &zk::Client,
        session: u64,
        rng: &mut Rng,
        versions: &mut BTreeMap<usize, i32>,
        k: usize,
        cas: bool,
    ) -> (&'static str, Outcome) {
        let path = register(k);
        let value = self.rec.value();
        let expect = if cas { Self::expect(rng, versions, k) } else { None };
        let id = self.rec.invoke(session, &path, Call::Write { value, expect });
        let outcome =
            match tokio::time::timeout(OP_TIMEOUT, c.set_data(&path, value.to_string().as_bytes(), expect)).await {
                Ok(Ok(stat)) => {
                    versions.insert(k, stat.version);
                    Outcome::Ok { value, version: stat.version, zxid: stat.mzxid as u64 }
                }
                Ok(Err(e)) => failure(&e),
                Err(_) => Outcome::Unknown { error: "timeout".into() },
            };
        self.rec.complete(id, outcome.clone());
        (if cas { "cas" } else { "write" }, outcome)
    }

    /// One multi: a CAS of register `k` and a blind write of the next, with one value.
    async fn multi(
        &self,
        c: &zk::Client,
        session: u64,
        rng: &mut Rng,
        versions: &mut BTreeMap<usize, i32>,
        k: usize,
    ) -> Outcome {
        let (a, b) = (register(k), register((k + 1) % self.registers));
        let value = self.rec.value();
        let expect = Self::expect(rng, versions, k);
        let parts = [(a.as_str(), Call::Write { value, expect }), (b.as_str(), Call::Write { value, expect: None })];
        let ids = self.rec.invoke_multi(session, &parts);
        let data = value.to_string();
        let mut m = c.new_multi_writer();
        let added =
            m.add_set_data(&a, data.as_bytes(), expect).and_then(|()| m.add_set_data(&b, data.as_bytes(), None));
        let outcomes: Vec<Outcome> = match added {
            Err(e) => vec![Outcome::Fail { error: e.to_string() }; 2],
            Ok(()) => match tokio::time::timeout(OP_TIMEOUT, m.commit()).await {
                Ok(Ok(results)) => results.into_iter().map(|r| set_result(r, value)).collect(),
                Ok(Err(zk::MultiWriteError::OperationFailed { index, source })) => (0..2)
                    .map(
                        |i| if i == index { failure(&source) } else { Outcome::Fail { error: "multi aborted".into() } },
                    )
                    .collect(),
                Ok(Err(zk::MultiWriteError::RequestFailed { source })) => vec![failure(&source); 2],
                Err(_) => vec![Outcome::Unknown { error: "timeout".into() }; 2],
            },
        };
        if let Some(Outcome::Ok { version, .. }) = outcomes.first() {
            versions.insert(k, *version);
        }
        for (id, o) in ids.iter().zip(&outcomes) {
            self.rec.complete(*id, o.clone());
        }
        outcomes.into_iter().next().unwrap_or(Outcome::Unknown { error: "no result".into() })
    }

    async fn read(
        &self,
        c: &zk::Client,
        session: u64,
        path: &str,
        k: usize,
        versions: &mut BTreeMap<usize, i32>,
    ) -> Outcome {
        let id = self.rec.invoke(session, path, Call::Read);
        let outcome = read(c, path).await;
        if let Outcome::Ok { version, .. } = outcome {
            versions.insert(k, version);
        }
        self.rec.complete(id, outcome.clone());
        outcome
    }
}
