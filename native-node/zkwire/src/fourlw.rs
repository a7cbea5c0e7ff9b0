//! Four-letter words (wire reference §18): detection and the facts their answers need.
//! The text itself is produced by [`render`](crate::fourlw_text::render).

/// A known four-letter command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FourLetter {
    Ruok,
    Srvr,
    Stat,
    Mntr,
    Conf,
    Cons,
    Wchs,
    Envi,
    Dump,
    Isro,
    Dirs,
    Wchc,
    Wchp,
    Crst,
    Srst,
    Gtmk,
    Stmk,
}

impl FourLetter {
    pub const ALL: [FourLetter; 17] = [
        FourLetter::Ruok,
        FourLetter::Srvr,
        FourLetter::Stat,
        FourLetter::Mntr,
        FourLetter::Conf,
        FourLetter::Cons,
        FourLetter::Wchs,
        FourLetter::Envi,
        FourLetter::Dump,
        FourLetter::Isro,
        FourLetter::Dirs,
        FourLetter::Wchc,
        FourLetter::Wchp,
        FourLetter::Crst,
        FourLetter::Srst,
        FourLetter::Gtmk,
        FourLetter::Stmk,
    ];

    /// The command's four ASCII letters.
    pub fn as_str(self) -> &'static str {
        match self {
            FourLetter::Ruok => "ruok",
            FourLetter::Srvr => "srvr",
            FourLetter::Stat => "stat",
            FourLetter::Mntr => "mntr",
            FourLetter::Conf => "conf",
            FourLetter::Cons => "cons",
            FourLetter::Wchs => "wchs",
            FourLetter::Envi => "envi",
            FourLetter::Dump => "dump",
            FourLetter::Isro => "isro",
            FourLetter::Dirs => "dirs",
            FourLetter::Wchc => "wchc",
            FourLetter::Wchp => "wchp",
            FourLetter::Crst => "crst",
            FourLetter::Srst => "srst",
            FourLetter::Gtmk => "gtmk",
            FourLetter::Stmk => "stmk",
        }
    }

    /// The command whose letters are `b` (exact, lowercase), if any.
    pub fn from_bytes(b: [u8; 4]) -> Option<FourLetter> {
        FourLetter::ALL.into_iter().find(|c| c.as_str().as_bytes() == b)
    }

    /// Parse a command name such as `"ruok"` (for whitelists in config files).
    pub fn parse(s: &str) -> Option<FourLetter> {
        <[u8; 4]>::try_from(s.as_bytes()).ok().and_then(FourLetter::from_bytes)
    }

    /// Whether ZooKeeper answers "not currently serving" instead while it is not serving.
    pub fn needs_serving(self) -> bool {
        !matches!(self, FourLetter::Ruok | FourLetter::Envi | FourLetter::Isro | FourLetter::Gtmk | FourLetter::Stmk)
    }
}

impl std::fmt::Display for FourLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The version Zabra reports. kazoo's `server_version()` takes the leading digits and dots
/// of `zookeeper.version=` from `envi` (regex `([\d\.]*)`), so this reads as (3, 8, 4): the
/// ZooKeeper release whose behaviour we follow (3.8 wire, ZOOKEEPER-4799 watch filtering).
pub const ZK_VERSION: &str = "3.8.4-zabra";

/// The full version line as `srvr`, `envi` and `mntr` print it.
pub fn full_version(built_on: &str) -> String {
    format!("{ZK_VERSION}, built on {built_on}")
}

/// The server's role as `srvr` (`Mode:`) and `mntr` (`zk_server_state`) name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ServerMode {
    #[default]
    Standalone,
    Leader,
    Follower,
    Observer,
    ReadOnly,
}

impl ServerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerMode::Standalone => "standalone",
            ServerMode::Leader => "leader",
            ServerMode::Follower => "follower",
            ServerMode::Observer => "observer",
            ServerMode::ReadOnly => "read-only",
        }
    }
}

/// Server-wide figures (ZooKeeper's `ServerStats` and friends). Latencies in ms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerStats {
    /// Full version line, e.g. [`full_version`]`("2026-11-25 10:00 UTC")`.
    pub version: String,
    pub mode: ServerMode,
    /// False while the peer is not serving (electing, syncing).
    pub serving: bool,
    pub zxid: u64,
    pub node_count: u64,
    pub connections: u64,
    pub outstanding: u64,
    pub latency_min: u64,
    pub latency_avg: f64,
    pub latency_max: u64,
    pub received: u64,
    pub sent: u64,
    pub watch_count: u64,
    pub ephemerals_count: u64,
    pub approximate_data_size: u64,
    pub global_sessions: u64,
    pub uptime_ms: u64,
    pub server_id: u64,
    /// Leader only: learners, synced followers, synced observers, pending syncs.
    pub leader: Option<LeaderStats>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    /// Voting members (`zk_quorum_size`); `None` for a standalone server.
    pub quorum_size: Option<u64>,
    /// `zk_peer_state`, e.g. `following - broadcast` (ZooKeeper's `getDetailedPeerState`).
    pub peer_state: Option<String>,
    /// Further counters by name, printed as `zk_<name>` (e.g. `peer_link_errors`).
    pub counters: Vec<(String, u64)>,
    /// ZooKeeper's summary metrics by name (`fsynctime`, `readlatency`, ...), printed as
    /// `zk_avg_<name>`, `zk_min_<name>`, `zk_max_<name>`, `zk_cnt_<name>`, `zk_sum_<name>`.
    pub timings: Vec<(String, Timing)>,
}

/// A ZooKeeper `AvgMinMaxCounter` (ms), with the percentiles of an
/// `AvgMinMaxPercentileCounter` when known.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    /// p50, p95, p99, p999.
    pub percentiles: Option<[u64; 4]>,
}

impl Timing {
    /// The average ZooKeeper prints: 4 decimals, 0.0 when empty.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        (self.sum as f64 / self.count as f64 * 10_000.0).round() / 10_000.0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaderStats {
    pub learners: u64,
    /// Voting followers the configuration expects (ZooKeeper 3.4's `zk_followers`); fewer
    /// `synced_followers` means one is down, cut off, or stuck before Broadcast.
    pub followers: u64,
    pub synced_followers: u64,
    pub synced_observers: u64,
    pub pending_syncs: u64,
}

/// `conf` (ZooKeeper's `dumpConf`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerConf {
    pub client_port: u16,
    pub data_dir: String,
    pub data_dir_size: u64,
    pub data_log_dir: String,
    pub data_log_size: u64,
    pub tick_time_ms: u64,
    pub max_client_cnxns: u64,
    pub min_session_timeout_ms: u64,
    pub max_session_timeout_ms: u64,
    pub server_id: u64,
    /// Ensemble members as `server.N=host:quorumPort:electionPort:participant;clientHost:port`
    /// lines; empty for a standalone server.
    pub members: Vec<String>,
}

/// One client connection, for `stat`, `cons` and `dump`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnStats {
    /// `ip:port` of the client.
    pub addr: String,
    /// Selector interest: 1 (read) for a normal connection, 0 for the one asking.
    pub interest_ops: u32,
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
    /// 0 until the session is established.
    pub session_id: u64,
    /// Last opcode answered (see [`crate::opcode::name`]).
    pub last_op: i32,
    pub established_ms: u64,
    pub timeout_ms: u64,
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub last_response_ms: u64,
    pub last_latency: u64,
    pub latency_min: u64,
    pub latency_avg: f64,
    pub latency_max: u64,
}

/// Everything the four-letter words may print. The node fills what it has; [`render`]
/// picks what each command shows.
///
/// [`render`]: crate::render_four_letter
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FourLetterInfo {
    pub stats: ServerStats,
    pub conf: ServerConf,
    pub connections: Vec<ConnStats>,
    /// `(session id, expiry time in ms since the epoch)` of live sessions (`dump`).
    pub sessions: Vec<(u64, u64)>,
    /// `(session id, its ephemeral paths)` (`dump`).
    pub ephemerals: Vec<(u64, Vec<String>)>,
    /// `(path, watching session ids)`, one entry per watch table row (`wchs`, `wchc`, `wchp`).
    pub watches: Vec<(String, Vec<u64>)>,
    /// `envi` lines after `zookeeper.version` and `host.name`, e.g. `("os.name", "Linux")`.
    pub host_name: String,
    pub environment: Vec<(String, String)>,
    pub trace_mask: i64,
}
