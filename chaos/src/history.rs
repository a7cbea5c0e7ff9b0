//! The recorded history: every invocation with its start time, and its completion (end time
//! and result) or the fact that none came (the outcome is unknown: a write may or may not
//! have taken effect). One JSON object per line when written to a file.

use serde::{Deserialize, Serialize};

/// Microseconds since the run began, on one monotonic clock for every client.
pub type Micros = u64;

/// One operation of one client session on one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history (unique).
    pub id: usize,
    /// The logical client: one ZooKeeper session (a new session is a new number).
    pub session: u64,
    /// The register's znode path, or the parent of sequential creates.
    pub key: String,
    pub invoke: Micros,
    /// `None`: no answer came (timeout, connection loss): completes "at infinity".
    pub complete: Option<Micros>,
    pub call: Call,
    pub outcome: Outcome,
    /// Ops of one multi share its number: all take effect at one zxid, or none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// getData of a register.
    Read,
    /// setData of a register to `value`, with `expect` as the expected version (`None`: -1).
    Write { value: u64, expect: Option<i32> },
    /// sync of the key (a later read of the same session must see all acknowledged before).
    Sync,
    /// A sequential create under the key.
    Create,
    /// An ephemeral sequential create under the key, by a session later abandoned (it must
    /// expire and its node vanish everywhere).
    Ephemeral,
    /// A one-shot data watch on the register, set by a read that returned `version`:
    /// completes when it fires.
    Watch { version: i32 },
    /// A persistent watch's notifications, counted after a read of its session: `pre` is the
    /// version read just before the watch was added, `first` the first read after.
    WatchCount { pre: i32, first: i32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A read's value and stat, or a write's new version and zxid (`mzxid` of the stat).
    Ok { value: u64, version: i32, zxid: u64 },
    /// A sync that returned.
    Synced,
    /// A sequential create: the sequence number the server gave, and the new node's zxid.
    Created { seq: u64, zxid: u64 },
    /// A conditional write refused because the version differed: ordered, no effect.
    BadVersion,
    /// A definite failure that had no effect and says nothing about the state (e.g. the
    /// request was never sent).
    Fail { error: String },
    /// No answer, or an answer that leaves the effect unknown (connection loss, expiry).
    Unknown { error: String },
    /// A watch that fired (data changed).
    Fired,
    /// A watch that had not fired long after its node changed, its session alive throughout.
    Missed { version: i32 },
    /// All notifications received when counted after the read that returned `seen` (its
    /// `mzxid`: `seen_zxid`); `next`: what the session's next read returned; `zxids`: the
    /// zxids the notifications carried that arrived since the previous count, in arrival order.
    Counted {
        events: u64,
        seen: i32,
        next: i32,
        #[serde(default)]
        seen_zxid: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        zxids: Vec<u64>,
    },
}

impl Op {
    /// Completion time for ordering: unknown outcomes complete after everything.
    pub fn end(&self) -> Micros {
        self.complete.unwrap_or(Micros::MAX)
    }

    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. } | Outcome::Synced | Outcome::Created { .. } | Outcome::Fired)
    }

    /// The zxid the op is known to have happened at (reads: the zxid of the value read).
    pub fn zxid(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Ok { zxid, .. } | Outcome::Created { zxid, .. } => Some(zxid),
            _ => None,
        }
    }

    /// `a` completed before `b` was invoked: every linearization puts `a` first.
    pub fn precedes(&self, b: &Op) -> bool {
        self.end() < b.invoke
    }
}

/// A history as JSON lines.
pub fn to_jsonl(ops: &[Op]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&serde_json::to_string(op).expect("an op always serializes"));
        out.push('\n');
    }
    out
}

pub fn from_jsonl(text: &str) -> Result<Vec<Op>, serde_json::Error> {
    text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect()
}

/// One line per op, for reports: `#12 s3 /r/1 [1.204000, 1.210000] write 7 if v3 -> ok v4 z0x100000005`.
pub fn describe(op: &Op) -> String {
    let t = |m: Micros| format!("{}.{:06}", m / 1_000_000, m % 1_000_000);
    let end = op.complete.map_or("?".to_string(), t);
    let call = match op.call {
        Call::Read => "read".to_string(),
        Call::Write { value, expect: Some(v) } => format!("cas {value} if v{v}"),
        Call::Write { value, expect: None } => format!("write {value}"),
        Call::Sync => "sync".to_string(),
        Call::Create => "create-seq".to_string(),
        Call::Ephemeral => "create-ephemeral".to_string(),
        Call::Watch { version } => format!("watch from v{version}"),
        Call::WatchCount { pre, first } => format!("persistent watch added after v{pre}, first read v{first}"),
    };
    let outcome = match &op.outcome {
        Outcome::Ok { value, version, zxid } => format!("ok {value} v{version} z{zxid:#x}"),
        Outcome::Synced => "ok".to_string(),
        Outcome::Created { seq, zxid } => format!("created #{seq} z{zxid:#x}"),
        Outcome::BadVersion => "bad version".to_string(),
        Outcome::Fail { error } => format!("failed ({error})"),
        Outcome::Unknown { error } => format!("unknown ({error})"),
        Outcome::Fired => "fired".to_string(),
        Outcome::Missed { version } => format!("MISSED (node at v{version})"),
        Outcome::Counted { events, seen, next, seen_zxid, zxids } => {
            let z: Vec<String> = zxids.iter().map(|z| format!("{z:#x}")).collect();
            format!(
                "{events} notifications after reading v{seen} z{seen_zxid:#x} (next read v{next}; new: [{}])",
                z.join(" ")
            )
        }
    };
    format!("#{} s{} {} [{}, {}] {call} -> {outcome}", op.id, op.session, op.key, t(op.invoke), end)
}
