//! Peer configuration: membership, timings and (for tests and the classroom) mutants.
//!
//! Bad configuration is rejected when the peer is built (`Config::validate`), never discovered
//! later as odd behaviour.

use crate::ids::Sid;
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A deliberately wrong behaviour, compiled in always and chosen at run time, used to prove
/// that the checkers bite and to show a property breaking in the classroom's buggy mode.
/// `zabra serve` refuses every mutant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mutant {
    /// A follower acks a proposal before its log write is durable.
    AckBeforeDurable,
    /// The leader counts itself in a quorum before its own write is durable.
    LeaderCountsBeforeDurable,
    /// The leader sends DIFF where TRUNC (or SNAP) is needed (ZOOKEEPER-1154).
    DiffInsteadOfTrunc,
    /// The leader counts an AckEpoch that said "not counted" (ZOOKEEPER-335/1653).
    CountNotCountedAckEpoch,
    /// The leader answers `sync` at once, without a quorum round.
    SyncWithoutQuorum,
    /// A follower writes current_epoch before the synced history is durable (ZOOKEEPER-4643).
    EpochBeforeHistory,
    /// The leader commits a proposal with one ack fewer than a quorum.
    CommitOneAckShort,
    /// A follower applies a proposal when it arrives, before the leader's Commit.
    ApplyOnProposal,
    /// FLE ranks votes by zxid the wrong way round (the lowest last zxid wins).
    ElectionZxidReversed,
    /// A leader in discovery never abdicates for a learner whose history is ahead of its own.
    NoAbdication,
    /// A read is answered at once, ahead of a write of its session still pending.
    ReadsBypassWrites,
    /// A follower's cumulative Ack names the last proposal it logged, not the last one its
    /// disk has made durable (so it vouches for writes still in flight).
    AckLastLogged,
}

impl Mutant {
    pub const ALL: [Mutant; 12] = [
        Mutant::AckBeforeDurable,
        Mutant::LeaderCountsBeforeDurable,
        Mutant::DiffInsteadOfTrunc,
        Mutant::CountNotCountedAckEpoch,
        Mutant::SyncWithoutQuorum,
        Mutant::EpochBeforeHistory,
        Mutant::CommitOneAckShort,
        Mutant::ApplyOnProposal,
        Mutant::ElectionZxidReversed,
        Mutant::NoAbdication,
        Mutant::ReadsBypassWrites,
        Mutant::AckLastLogged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mutant::AckBeforeDurable => "ack-before-durable",
            Mutant::LeaderCountsBeforeDurable => "leader-counts-before-durable",
            Mutant::DiffInsteadOfTrunc => "diff-instead-of-trunc",
            Mutant::CountNotCountedAckEpoch => "count-not-counted-ackepoch",
            Mutant::SyncWithoutQuorum => "sync-without-quorum",
            Mutant::EpochBeforeHistory => "epoch-before-history",
            Mutant::CommitOneAckShort => "commit-one-ack-short",
            Mutant::ApplyOnProposal => "apply-on-proposal",
            Mutant::ElectionZxidReversed => "election-zxid-reversed",
            Mutant::NoAbdication => "no-abdication",
            Mutant::ReadsBypassWrites => "reads-bypass-writes",
            Mutant::AckLastLogged => "ack-last-logged",
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mutant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mutant::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| format!("unknown mutant {s:?}"))
    }
}

/// Static membership: every peer shares the same lists (DESIGN: nothing adds a voter at run time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub voters: BTreeSet<Sid>,
    pub observers: BTreeSet<Sid>,
}

impl Membership {
    /// Voters `1..=voters`, observers numbered after them.
    pub fn numbered(voters: u64, observers: u64) -> Self {
        Membership {
            voters: (1..=voters).map(Sid).collect(),
            observers: (voters + 1..=voters + observers).map(Sid).collect(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = Sid> + '_ {
        self.voters.iter().chain(self.observers.iter()).copied()
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }

    pub fn contains(&self, sid: Sid) -> bool {
        self.voters.contains(&sid) || self.observers.contains(&sid)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub sid: Sid,
    pub members: Membership,
    /// ZooKeeper's tickTime.
    pub tick: Duration,
    /// Ticks a leader waits for discovery and synchronization quorums.
    pub init_limit: u64,
    /// Ticks of silence after which leader and followers give up on each other.
    pub sync_limit: u64,
    /// FLE: how long to wait for a better vote once a quorum agrees.
    pub finalize_window: Duration,
    /// FLE: first notification resend interval; doubles up to `notify_max`.
    pub notify_min: Duration,
    pub notify_max: Duration,
    /// The leader sends SNAP rather than DIFF when more than this many entries are missing.
    pub snap_threshold: usize,
    /// Take a snapshot (and compact the in-memory log) after between half and all of this many
    /// commits, drawn at random for each snapshot (ZooKeeper's snapCount); 0 = never.
    pub snapshot_every: u64,
    /// Keep at most this many committed entries in memory between snapshots (dropped in steps
    /// of half as many); 0 = keep them all until the next snapshot. Older ones serve no DIFF
    /// once this is at least `snap_threshold` (a learner further behind gets SNAP), so a node
    /// with rare snapshots need not hold its whole log (ZooKeeper keeps 500: commitLogCount).
    /// The disk keeps them until a snapshot covers them.
    #[serde(default)]
    pub log_retain: usize,
    /// The counter of an epoch's first zxid (1). Scenarios start it near `u32::MAX` to show
    /// the rollover forcing a new epoch (ZOOKEEPER-1277).
    pub first_counter: u32,
    /// Session timeouts are clamped into this range (ZooKeeper: 2 and 20 ticks of a 2 s tick;
    /// here not tied to our short tick, so clients asking for 10 s get 10 s).
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
    /// `user:base64(sha1(user:password))` of the super user, if any (§11.2).
    pub super_digest: Option<String>,
    /// How often the leader looks for empty containers and expired TTL nodes.
    pub reap_interval: Duration,
    /// Fill the readable text fields of trace events (message details, persist ops, client
    /// ops and results). Drivers that keep no trace (seed sweeps) turn it off, and the native
    /// node keeps it on only while an `/observe` viewer is connected
    /// ([`crate::peer::Peer::set_trace_details`]): formatting them, and judging from the
    /// pending transactions what they may show, is much of a step's cost.
    pub trace_details: bool,
    /// Emit `TraceEvent::Applied` for each commit, with its path, result and changes (the
    /// simulator's checks and the classroom read them). The native node turns it off with
    /// `trace_details` while no `/observe` viewer listens: building it allocates on every
    /// commit, for nobody.
    #[serde(default = "yes")]
    pub trace_applied: bool,
    /// Seed for election jitter.
    pub seed: u64,
    pub mutants: BTreeSet<Mutant>,
    /// Test-only, like the mutants (`zabra serve` never sets it): the driver may end this
    /// peer's election with any voter as leader (`Input::Elect`). FLE only has to pick a likely
    /// leader fast; discovery (epoch quorums, abdication) is what keeps ZAB safe, so safety
    /// must hold whatever an election decides, and the simulator checks that it does.
    #[serde(default)]
    pub election_oracle: bool,
}

fn yes() -> bool {
    true
}

impl Config {
    /// Defaults from DESIGN.md "Contracts and defaults", sized for a laptop cluster.
    pub fn new(sid: Sid, members: Membership) -> Self {
        Config {
            sid,
            members,
            tick: Duration::from_millis(100),
            init_limit: 10,
            sync_limit: 5,
            finalize_window: Duration::from_millis(50),
            notify_min: Duration::from_millis(50),
            notify_max: Duration::from_millis(2000),
            snap_threshold: 1000,
            snapshot_every: 0,
            log_retain: 0,
            first_counter: 1,
            trace_details: true,
            trace_applied: true,
            min_session_timeout: Duration::from_millis(4_000),
            max_session_timeout: Duration::from_millis(40_000),
            super_digest: None,
            reap_interval: Duration::from_millis(1_000),
            seed: sid.0,
            mutants: BTreeSet::new(),
            election_oracle: false,
        }
    }

    pub fn mutant(&self, m: Mutant) -> bool {
        self.mutants.contains(&m)
    }

    pub fn sync_timeout(&self) -> Duration {
        self.tick.saturating_mul(self.sync_limit)
    }

    pub fn init_timeout(&self) -> Duration {
        self.tick.saturating_mul(self.init_limit)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let m = &self.members;
        if m.voters.is_empty() {
            return Err(ConfigError("members.voters: at least one voter is needed".into()));
        }
        if m.voters.len() + m.observers.len() > 64 {
            return Err(ConfigError("members: at most 64 peers".into()));
        }
        if let Some(s) = m.voters.intersection(&m.observers).next() {
            return Err(ConfigError(format!("members: sid {s} is both voter and observer")));
        }
        if m.all().any(|s| s.0 == 0) {
            return Err(ConfigError("members: sid 0 is reserved".into()));
        }
        if !m.contains(self.sid) {
            return Err(ConfigError(format!("sid: {} is not a member", self.sid)));
        }
        if self.tick.as_micros() == 0 {
            return Err(ConfigError("tick: must be positive".into()));
        }
        if self.init_limit == 0 || self.sync_limit == 0 {
            return Err(ConfigError("init_limit/sync_limit: must be at least 1 tick".into()));
        }
        if self.first_counter == 0 || self.first_counter == u32::MAX {
            return Err(ConfigError("first_counter: must be in 1..u32::MAX".into()));
        }
        if self.notify_min.as_micros() == 0 || self.notify_max < self.notify_min {
            return Err(ConfigError("notify_min/notify_max: need 0 < min <= max".into()));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}
