//! Node configuration: a TOML file and/or flags, validated with errors that name the field.
//!
//! ```toml
//! id = 1
//! data_dir = "data/1"
//! tick_ms = 100          # init_limit (default 100) / sync_limit (default 5) are in ticks
//! admin_token = "secret" # control actions need it, and `control = true`
//! viewer_token = "look"  # for /observe (the admin token works too)
//! allowed_origins = ["http://127.0.0.1:8000"]  # web pages allowed besides the node's own
//! [limits]               # optional; ZooKeeper-like defaults (see limits.rs)
//! max_client_cnxns = 60
//! snapshot_every = 100000 # each snapshot after 50000..100000 commits, drawn at random
//! threads = 1            # event-loop threads (fsyncs have their own thread either way)
//! fourlw_whitelist = ["srvr", "mntr"]  # four-letter words answered (default ["*"]: all)
//! secret_file = "cluster.secret" # the peers' shared key; needed with more than one member
//! ui_dir = "target/www-dist"     # serve the built UI from the HTTP port (optional)
//! [[members]]
//! id = 1
//! peer = "127.0.0.1:2891"
//! client = "127.0.0.1:2181"
//! http = "127.0.0.1:8081"
//! [[browser_members]]    # sids run by browser tabs (or Node.js peers): they dial every
//! id = 4                 # native node's peer port with a join token; never dialled
//! observer = false
//! ```

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use zabra_core::config::{Config, Membership};
use zabra_core::{Duration, Sid};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: u64,
    pub peer: SocketAddr,
    pub client: SocketAddr,
    pub http: SocketAddr,
    #[serde(default)]
    pub observer: bool,
}

/// A member run by a browser tab (or a Node.js peer): no address, since it only dials (a
/// tab cannot listen); it proves itself with its join token (`zabra_peerwire::join_token`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserMember {
    pub id: u64,
    #[serde(default)]
    pub observer: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub id: u64,
    #[serde(default = "default_cluster")]
    pub cluster: String,
    pub data_dir: PathBuf,
    #[serde(default = "default_tick")]
    pub tick_ms: u64,
    #[serde(default = "default_init")]
    pub init_limit: u64,
    #[serde(default = "default_sync")]
    pub sync_limit: u64,
    #[serde(default = "default_min_session")]
    pub min_session_timeout_ms: u64,
    #[serde(default = "default_max_session")]
    pub max_session_timeout_ms: u64,
    /// Snapshot after between half and all of this many commits (drawn anew each time, so
    /// the nodes of a cluster snapshot at different zxids; ZooKeeper's snapCount).
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// Threads of the node's event loop. 1 (the default): the node task and every client,
    /// peer and HTTP connection share one thread (only the fsyncs run on a thread of their
    /// own), so a message between them is a queue push, not a wake-up of another thread.
    /// More: tokio's work-stealing runtime with that many workers.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Largest client frame accepted (ZooKeeper's jute.maxbuffer).
    #[serde(default = "default_max_frame")]
    pub max_frame: usize,
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Accept control actions (partition, heal) with the admin token.
    #[serde(default)]
    pub control: bool,
    /// `user:base64(sha1(user:password))` of the super user.
    #[serde(default)]
    pub super_digest: Option<String>,
    /// Web page origins (`http://host:port`) allowed besides the node's own (`origin.rs`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Token for watching `/observe` (the admin token also works).
    #[serde(default)]
    pub viewer_token: Option<String>,
    /// Connection, queue and memory limits of the client ports (`[limits]`, `limits.rs`).
    #[serde(default)]
    pub limits: crate::limits::Limits,
    /// Four-letter words answered on the client port (ZooKeeper's `4lw.commands.whitelist`):
    /// command names, or `"*"` for all. Others get "… is not in the whitelist."
    #[serde(default = "default_fourlw_whitelist")]
    pub fourlw_whitelist: Vec<String>,
    /// The cluster secret peers authenticate each other with (at least 32 bytes, mode 0600).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// A folder of static files (the built UI) served from the HTTP port, so the UI's Live
    /// mode is same-origin with `/observe`, `/api` and `/cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_dir: Option<PathBuf>,
    /// The supervisor that runs this node (`zabra cluster`), as `http://host:port`:
    /// `/cluster` names it so a page can find the kill/restart/pause controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<String>,
    pub members: Vec<Member>,
    /// Members run by browser tabs or Node.js peers (voters or observers), never dialled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub browser_members: Vec<BrowserMember>,
}

fn default_cluster() -> String {
    "zabra".into()
}
fn default_tick() -> u64 {
    100
}
/// 10 s for a learner to connect and sync (ZooKeeper: 20 s). A SNAP of 200k znodes takes
/// seconds; a smaller limit makes a follower with a large state retry forever.
fn default_init() -> u64 {
    100
}
fn default_sync() -> u64 {
    5
}
fn default_min_session() -> u64 {
    4_000
}
fn default_max_session() -> u64 {
    40_000
}
fn default_threads() -> usize {
    // Measured (same machine, 3 nodes on 2 cores, 100-byte values, release builds): one
    // thread against tokio's default of one worker per core gave setData 1x1 1542-1838
    // against 1194-1257 ops/s, delete 1x1 1816-1876 against 1406-1445, and 24-38% less
    // server CPU per 1x1 write (16-36% with dist builds).
    1
}
fn default_snapshot_every() -> u64 {
    // ZooKeeper's snapCount. A snapshot of a large tree costs CPU while the node serves: at
    // 10000 (the earlier default) a 2-core machine showed it in the write p99 (setData 1x64,
    // debug build: 17-21 ms at 10000, 12-13 ms at 100000, same machine and run).
    100_000
}
fn default_max_frame() -> usize {
    0xFFFFF
}
fn default_fourlw_whitelist() -> Vec<String> {
    vec!["*".into()]
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("config field `{field}`: {problem}")]
    Invalid { field: &'static str, problem: String },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field, problem: problem.into() }
}

impl NodeConfig {
    pub fn load(path: &std::path::Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        NodeConfig::parse(&text, path)
    }

    /// The configuration in `text`, validated (`path` names the file in errors).
    pub fn parse(text: &str, path: &std::path::Path) -> Result<NodeConfig, ConfigError> {
        let cfg: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(path.to_path_buf(), e))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// A local cluster member `i` (from 1) with DESIGN's ports: client 2180+i, peer 2890+i,
    /// HTTP 8080+i (each shifted by `base_offset`).
    pub fn local_member(i: u64, base_offset: u16) -> Member {
        let at = |p: u64| SocketAddr::from(([127, 0, 0, 1], (p + i) as u16 + base_offset));
        Member { id: i, peer: at(2890), client: at(2180), http: at(8080), observer: false }
    }

    /// Member `id` of a local cluster of `nodes` with the default settings.
    pub fn local(id: u64, nodes: u64) -> NodeConfig {
        NodeConfig {
            id,
            cluster: default_cluster(),
            data_dir: format!("zabra-data/node-{id}").into(),
            tick_ms: default_tick(),
            init_limit: default_init(),
            sync_limit: default_sync(),
            min_session_timeout_ms: default_min_session(),
            max_session_timeout_ms: default_max_session(),
            snapshot_every: default_snapshot_every(),
            threads: default_threads(),
            max_frame: default_max_frame(),
            admin_token: None,
            control: false,
            super_digest: None,
            allowed_origins: Vec::new(),
            viewer_token: None,
            limits: Default::default(),
            fourlw_whitelist: default_fourlw_whitelist(),
            secret_file: None,
            ui_dir: None,
            supervisor: None,
            members: (1..=nodes).map(|i| NodeConfig::local_member(i, 0)).collect(),
            browser_members: Vec::new(),
        }
    }

    pub fn fourlw_allowed(&self, cmd: zabra_zkwire::FourLetter) -> bool {
        self.fourlw_whitelist.iter().any(|w| w == "*" || w == cmd.as_str())
    }

    /// The web origins of every member's HTTP port (`http://host:port`): a page served by
    /// one member (the UI) reaches the others' `/observe` and the supervisor from there.
    pub fn member_origins(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.members {
            out.push(format!("http://{}", m.http));
            if m.http.ip().is_loopback() {
                out.push(format!("http://localhost:{}", m.http.port()));
            }
        }
        out
    }

    pub fn me(&self) -> &Member {
        self.members.iter().find(|m| m.id == self.id).expect("validated: id is a member")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 || self.id > 254 {
            return Err(invalid("id", "must be between 1 and 254"));
        }
        if !self.members.iter().any(|m| m.id == self.id) {
            return Err(invalid("members", format!("no member with id {} (this node's id)", self.id)));
        }
        let mut ids: Vec<u64> =
            self.members.iter().map(|m| m.id).chain(self.browser_members.iter().map(|m| m.id)).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("members", "two members (native or browser) share an id"));
        }
        if let Some(b) = self.browser_members.iter().find(|b| b.id == 0 || b.id > 254) {
            return Err(invalid("browser_members", format!("id {} is not between 1 and 254", b.id)));
        }
        if !self.members.iter().any(|m| !m.observer) {
            return Err(invalid("members", "at least one voting member is needed"));
        }
        if self.threads == 0 || self.threads > 1024 {
            return Err(invalid("threads", "must be between 1 and 1024"));
        }
        if self.tick_ms == 0 {
            return Err(invalid("tick_ms", "must be positive"));
        }
        if self.init_limit == 0 || self.sync_limit == 0 {
            return Err(invalid("init_limit/sync_limit", "must be at least 1 tick"));
        }
        if self.min_session_timeout_ms > self.max_session_timeout_ms {
            return Err(invalid("min_session_timeout_ms", "is above max_session_timeout_ms"));
        }
        if self.control && self.admin_token.as_deref().is_none_or(str::is_empty) {
            return Err(invalid("admin_token", "control actions need an admin token"));
        }
        if let Some(w) =
            self.fourlw_whitelist.iter().find(|w| *w != "*" && zabra_zkwire::FourLetter::parse(w).is_none())
        {
            return Err(invalid("fourlw_whitelist", format!("{w:?} is not a four-letter word (or \"*\")")));
        }
        if self.members.len() + self.browser_members.len() > 1 && self.secret_file.is_none() {
            return Err(invalid("secret_file", "peers authenticate with a cluster secret: give a file of at least 32 random bytes, mode 0600 (zabra cluster writes one)"));
        }
        if let Some(d) = self.ui_dir.as_ref().filter(|d| !d.join("index.html").is_file()) {
            return Err(invalid(
                "ui_dir",
                format!("{} has no index.html (build the UI: cargo xtask test --only ui-build)", d.display()),
            ));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_frame) {
            return Err(invalid("max_frame", "must be between 1 KiB and 64 MiB"));
        }
        self.limits.check(self.max_frame).map_err(|(field, problem)| invalid(field, problem))?;
        self.peer_config().validate().map_err(|e| invalid("members", e.to_string()))
    }

    /// The core's configuration (mutants are never set: `zabra serve` refuses them).
    pub fn peer_config(&self) -> Config {
        let all = || {
            self.members
                .iter()
                .map(|m| (m.id, m.observer))
                .chain(self.browser_members.iter().map(|b| (b.id, b.observer)))
        };
        let voters = all().filter(|m| !m.1).map(|m| Sid(m.0)).collect();
        let observers = all().filter(|m| m.1).map(|m| Sid(m.0)).collect();
        let mut c = Config::new(Sid(self.id), Membership { voters, observers });
        c.tick = Duration::from_millis(self.tick_ms);
        c.init_limit = self.init_limit;
        c.sync_limit = self.sync_limit;
        c.min_session_timeout = Duration::from_millis(self.min_session_timeout_ms);
        c.max_session_timeout = Duration::from_millis(self.max_session_timeout_ms);
        c.snapshot_every = self.snapshot_every;
        // Twice what a DIFF may send: snapshots are rare (snapCount), the log in memory small.
        c.log_retain = 2 * c.snap_threshold;
        c.super_digest = self.super_digest.clone();
        c.seed = self.id.wrapping_mul(0x9e37_79b9) ^ std::process::id() as u64;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> NodeConfig {
        NodeConfig {
            id: 1,
            cluster: "t".into(),
            data_dir: "d".into(),
            tick_ms: 100,
            init_limit: 10,
            sync_limit: 5,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            snapshot_every: 100,
            threads: 1,
            max_frame: 0xFFFFF,
            admin_token: None,
            control: false,
            super_digest: None,
            allowed_origins: Vec::new(),
            viewer_token: None,
            limits: Default::default(),
            fourlw_whitelist: vec!["*".into()],
            secret_file: Some("s".into()),
            ui_dir: None,
            supervisor: None,
            members: (1..=3).map(|i| NodeConfig::local_member(i, 0)).collect(),
            browser_members: Vec::new(),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert!(cfg().validate().is_ok());
        let mut c = cfg();
        c.id = 9;
        assert!(c.validate().unwrap_err().to_string().contains("`members`"));
        let mut c = cfg();
        c.control = true;
        assert!(c.validate().unwrap_err().to_string().contains("`admin_token`"));
        let mut c = cfg();
        c.tick_ms = 0;
        assert!(c.validate().unwrap_err().to_string().contains("`tick_ms`"));
        let mut c = cfg();
        c.threads = 0;
        assert!(c.validate().unwrap_err().to_string().contains("`threads`"));
        let mut c = cfg();
        c.limits.max_connections = 0;
        assert!(c.validate().unwrap_err().to_string().contains("`limits.max_connections`"));
        let mut c = cfg();
        c.fourlw_whitelist = vec!["srvr".into(), "mntrr".into()];
        assert!(c.validate().unwrap_err().to_string().contains("`fourlw_whitelist`"));
    }

    #[test]
    fn fourlw_whitelist_defaults_to_all() {
        use zabra_zkwire::FourLetter;
        let text = "id = 1\ndata_dir = \"d\"\n[[members]]\nid = 1\npeer = \"127.0.0.1:1\"\nclient = \"127.0.0.1:2\"\nhttp = \"127.0.0.1:3\"\n";
        let c: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(c.threads, 1, "one event-loop thread unless told otherwise");
        assert!(FourLetter::ALL.iter().all(|w| c.fourlw_allowed(*w)));
        let mut c = cfg();
        c.fourlw_whitelist = vec!["srvr".into(), "mntr".into()];
        assert!(c.validate().is_ok());
        assert!(c.fourlw_allowed(FourLetter::Mntr) && !c.fourlw_allowed(FourLetter::Dump));
        c.secret_file = None;
        assert!(c.validate().unwrap_err().to_string().contains("`secret_file`"));
        c.members.truncate(1);
        assert!(c.validate().is_ok(), "a single node has no peers to authenticate");
    }

    #[test]
    fn browser_members_count_in_the_membership_and_need_a_secret() {
        let text = "id = 1\ndata_dir = \"d\"\n[[members]]\nid = 1\npeer = \"127.0.0.1:1\"\nclient = \"127.0.0.1:2\"\nhttp = \"127.0.0.1:3\"\n[[browser_members]]\nid = 2\n[[browser_members]]\nid = 3\nobserver = true\n";
        let mut c: NodeConfig = toml::from_str(text).unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("`secret_file`"));
        c.secret_file = Some("s".into());
        assert!(c.validate().is_ok());
        let m = c.peer_config().members;
        assert_eq!(m.voters.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(m.observers.iter().map(|s| s.0).collect::<Vec<_>>(), [3]);
        c.browser_members.push(BrowserMember { id: 1, observer: false });
        assert!(c.validate().unwrap_err().to_string().contains("share an id"));
        let back: NodeConfig = toml::from_str(&toml::to_string(&cfg()).unwrap()).unwrap();
        assert!(back.browser_members.is_empty());
    }

    #[test]
    fn toml_round_trip_and_unknown_fields() {
        let text = toml::to_string(&cfg()).unwrap();
        let back: NodeConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg());
        let err = toml::from_str::<NodeConfig>(&format!("bogus = 1\n{text}")).unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
    }
}
