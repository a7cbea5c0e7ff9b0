//! The text of each four-letter word, as ZooKeeper 3.8 prints it (wire reference §18,
//! captured outputs in `zk-wire/fourlw.txt`).

use crate::fourlw::{ConnStats, FourLetter, FourLetterInfo, ServerMode, ServerStats};
use crate::opcode;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What ZooKeeper prints for most commands while it is not serving.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The answer to a known command that is not whitelisted.
pub fn not_whitelisted(cmd: FourLetter) -> String {
    format!("{cmd} is not executed because it is not in the whitelist.\n")
}

/// The full answer to `cmd` (the node writes it and closes the connection). `stmk`'s new
/// mask is the node's to apply; its answer prints `info.trace_mask`.
pub fn render_four_letter(cmd: FourLetter, info: &FourLetterInfo) -> String {
    let s = &info.stats;
    if cmd.needs_serving() && !s.serving {
        return NOT_SERVING.to_string();
    }
    match cmd {
        FourLetter::Ruok => "imok".into(),
        FourLetter::Srvr => srvr(s, None),
        FourLetter::Stat => srvr(s, Some(&info.connections)),
        FourLetter::Mntr => mntr(s),
        FourLetter::Conf => conf(info),
        FourLetter::Cons => cons(&info.connections),
        FourLetter::Wchs => wchs(&info.watches),
        FourLetter::Wchc => wchc(&info.watches),
        FourLetter::Wchp => wchp(&info.watches),
        FourLetter::Envi => envi(info),
        FourLetter::Dump => dump(info),
        FourLetter::Isro => isro(s).into(),
        FourLetter::Dirs => {
            format!("datadir_size: {}\nlogdir_size: {}\n", info.conf.data_dir_size, info.conf.data_log_size)
        }
        FourLetter::Crst => "Connection stats reset.\n".into(),
        FourLetter::Srst => "Server stats reset.\n".into(),
        FourLetter::Gtmk | FourLetter::Stmk => info.trace_mask.to_string(),
    }
}

fn isro(s: &ServerStats) -> &'static str {
    match (s.serving, s.mode) {
        (false, _) => "null",
        (true, ServerMode::ReadOnly) => "ro",
        (true, _) => "rw",
    }
}

/// `srvr`, or `stat` when `clients` is given.
fn srvr(s: &ServerStats, clients: Option<&[ConnStats]>) -> String {
    let mut o = format!("Zookeeper version: {}\n", s.version);
    if s.mode == ServerMode::ReadOnly {
        o.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if let Some(clients) = clients {
        o.push_str("Clients:\n");
        for c in clients {
            o.push_str(&conn_line(c, true));
            o.push('\n');
        }
        o.push('\n');
    }
    let avg = java_double(s.latency_avg);
    let _ = writeln!(o, "Latency min/avg/max: {}/{}/{}", s.latency_min, avg, s.latency_max);
    let _ = writeln!(o, "Received: {}\nSent: {}\nConnections: {}", s.received, s.sent, s.connections);
    let _ = writeln!(o, "Outstanding: {}\nZxid: 0x{:x}", s.outstanding, s.zxid);
    let _ = writeln!(o, "Mode: {}\nNode count: {}", s.mode.as_str(), s.node_count);
    if s.mode == ServerMode::Leader {
        o.push_str("Proposal sizes last/min/max: -1/-1/-1\n");
    }
    o
}

/// ` /ip:port[ops](queued=…,recved=…,sent=…[,sid=…])` (`ServerCnxn.dumpConnectionInfo`).
fn conn_line(c: &ConnStats, brief: bool) -> String {
    let (addr, ops) = (&c.addr, c.interest_ops);
    let mut o = format!(" /{addr}[{ops:x}](queued={},recved={},sent={}", c.queued, c.received, c.sent);
    if !brief && c.session_id != 0 {
        let _ = write!(o, ",sid=0x{:x},lop={},est={}", c.session_id, opcode::name(c.last_op), c.established_ms);
        if c.timeout_ms > 0 {
            let _ = write!(o, ",to={}", c.timeout_ms);
        }
        if c.last_cxid >= 0 {
            let _ = write!(o, ",lcxid=0x{:x}", c.last_cxid);
        }
        let _ = write!(o, ",lzxid=0x{:x},lresp={},llat={}", c.last_zxid, c.last_response_ms, c.last_latency);
        let avg = java_double(c.latency_avg);
        let _ = write!(o, ",minlat={},avglat={},maxlat={}", c.latency_min, avg, c.latency_max);
    }
    o.push(')');
    o
}

fn cons(conns: &[ConnStats]) -> String {
    let mut o = String::new();
    for c in conns {
        o.push_str(&conn_line(c, false));
        o.push('\n');
    }
    o.push('\n');
    o
}

fn mntr(s: &ServerStats) -> String {
    let mut o = String::new();
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(o, "zk_{k}\t{v}");
    };
    kv("version", s.version.clone());
    kv("server_state", s.mode.as_str().into());
    kv("ephemerals_count", s.ephemerals_count.to_string());
    kv("num_alive_connections", s.connections.to_string());
    kv("avg_latency", java_double(s.latency_avg));
    kv("outstanding_requests", s.outstanding.to_string());
    kv("znode_count", s.node_count.to_string());
    kv("global_sessions", s.global_sessions.to_string());
    kv("packets_sent", s.sent.to_string());
    kv("packets_received", s.received.to_string());
    kv("watch_count", s.watch_count.to_string());
    kv("min_latency", s.latency_min.to_string());
    kv("max_latency", s.latency_max.to_string());
    kv("approximate_data_size", s.approximate_data_size.to_string());
    kv("uptime", s.uptime_ms.to_string());
    if let Some(n) = s.open_fds {
        kv("open_file_descriptor_count", n.to_string());
    }
    if let Some(n) = s.max_fds {
        kv("max_file_descriptor_count", n.to_string());
    }
    if let Some(n) = s.quorum_size {
        kv("quorum_size", n.to_string());
    }
    if let Some(p) = &s.peer_state {
        kv("peer_state", p.clone());
    }
    for (name, n) in &s.counters {
        kv(name, n.to_string());
    }
    if let Some(l) = s.leader {
        kv("learners", l.learners.to_string());
        kv("followers", l.followers.to_string());
        kv("synced_followers", l.synced_followers.to_string());
        kv("synced_non_voting_followers", "0".into());
        kv("synced_observers", l.synced_observers.to_string());
        kv("pending_syncs", l.pending_syncs.to_string());
    }
    for (name, t) in &s.timings {
        kv(&format!("avg_{name}"), java_double(t.avg()));
        kv(&format!("min_{name}"), t.min.to_string());
        kv(&format!("max_{name}"), t.max.to_string());
        kv(&format!("cnt_{name}"), t.count.to_string());
        kv(&format!("sum_{name}"), t.sum.to_string());
        if let Some(p) = t.percentiles {
            for (q, v) in ["p50", "p95", "p99", "p999"].iter().zip(p) {
                kv(&format!("{q}_{name}"), v.to_string());
            }
        }
    }
    o
}

fn conf(info: &FourLetterInfo) -> String {
    let c = &info.conf;
    let mut o = String::new();
    let _ = writeln!(o, "clientPort={}\nsecureClientPort=-1", c.client_port);
    let _ = writeln!(o, "dataDir={}\ndataDirSize={}", c.data_dir, c.data_dir_size);
    let _ = writeln!(o, "dataLogDir={}\ndataLogSize={}", c.data_log_dir, c.data_log_size);
    let _ = writeln!(o, "tickTime={}\nmaxClientCnxns={}", c.tick_time_ms, c.max_client_cnxns);
    let _ = writeln!(o, "minSessionTimeout={}", c.min_session_timeout_ms);
    let _ = writeln!(o, "maxSessionTimeout={}", c.max_session_timeout_ms);
    let _ = writeln!(o, "clientPortListenBacklog=-1\nserverId={}", c.server_id);
    if !c.members.is_empty() {
        let _ = writeln!(o, "peerType=0\nmembership: ");
        for m in &c.members {
            let _ = writeln!(o, "{m}");
        }
    }
    o
}

/// `<n> connections watching <m> paths` / `Total watches:<k>`.
fn wchs(watches: &[(String, Vec<u64>)]) -> String {
    let sessions: std::collections::BTreeSet<u64> = watches.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    let paths: std::collections::BTreeSet<&str> = watches.iter().map(|(p, _)| p.as_str()).collect();
    let total: usize = watches.iter().map(|(_, s)| s.len()).sum();
    format!("{} connections watching {} paths\nTotal watches:{}\n", sessions.len(), paths.len(), total)
}

/// Watches by session: `0x<session>` then a tab-indented line per path.
fn wchc(watches: &[(String, Vec<u64>)]) -> String {
    let mut by_session: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (p, sessions) in watches {
        for s in sessions {
            by_session.entry(*s).or_default().push(p);
        }
    }
    let mut o = String::new();
    for (s, paths) in by_session {
        let _ = writeln!(o, "0x{s:x}");
        for p in paths {
            let _ = writeln!(o, "\t{p}");
        }
    }
    o.push('\n');
    o
}

/// Watches by path: the path then a tab-indented `0x<session>` per watcher.
fn wchp(watches: &[(String, Vec<u64>)]) -> String {
    let mut o = String::new();
    for (p, sessions) in watches {
        let _ = writeln!(o, "{p}");
        for s in sessions {
            let _ = writeln!(o, "\t0x{s:x}");
        }
    }
    o.push('\n');
    o
}

fn envi(info: &FourLetterInfo) -> String {
    let mut o = format!("Environment:\nzookeeper.version={}\nhost.name={}\n", info.stats.version, info.host_name);
    for (k, v) in &info.environment {
        let _ = writeln!(o, "{k}={v}");
    }
    o
}

fn dump(info: &FourLetterInfo) -> String {
    let mut by_expiry: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (s, at) in &info.sessions {
        by_expiry.entry(*at).or_default().push(*s);
    }
    let mut o = String::from("SessionTracker dump:\n");
    let _ = writeln!(o, "Session Sets ({})/({}):", by_expiry.len(), info.sessions.len());
    for (at, sessions) in &by_expiry {
        let _ = writeln!(o, "{} expire at {}:", sessions.len(), java_date(*at));
        for s in sessions {
            let _ = writeln!(o, "\t0x{s:x}");
        }
    }
    o.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(o, "Sessions with Ephemerals ({}):", info.ephemerals.len());
    for (s, paths) in &info.ephemerals {
        let _ = writeln!(o, "0x{s:x}:");
        for p in paths {
            let _ = writeln!(o, "\t{p}");
        }
    }
    o.push_str("Connections dump:\n");
    let n = info.connections.len();
    let _ = writeln!(o, "Connections Sets ({n})/({n}):");
    for c in &info.connections {
        let at = c.last_response_ms + c.timeout_ms;
        let _ = writeln!(o, "1 expire at {}:\n\tip: /{} sessionId: 0x{:x}", java_date(at), c.addr, c.session_id);
    }
    o
}

/// Java's `Double.toString` for the values ZooKeeper prints (latencies rounded to 4
/// decimals): `0.0`, `1.5`, `0.4845`; scientific outside [1e-3, 1e7).
pub fn java_double(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = v.abs();
    if v == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let m = if m.contains('.') { m.to_string() } else { format!("{m}.0") };
    format!("{m}E{e}")
}

/// `java.util.Date.toString` in UTC: `Wed Nov 25 07:49:56 UTC 2026`.
pub fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let wd = DAYS[(days % 7) as usize];
    let mon = MONTHS[(month - 1) as usize];
    format!("{wd} {mon} {day:02} {h:02}:{m:02}:{s:02} UTC {year}")
}
