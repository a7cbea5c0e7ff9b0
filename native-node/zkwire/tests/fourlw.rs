//! Four-letter-word text against ZooKeeper 3.8.0's outputs (`zk-wire/fourlw.txt`).

use zabra_zkwire::*;

const V380: &str = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";

fn info() -> FourLetterInfo {
    let stats = ServerStats {
        version: V380.into(),
        mode: ServerMode::Standalone,
        serving: true,
        zxid: 0xb7,
        node_count: 5,
        connections: 1,
        latency_avg: 0.4845,
        latency_max: 15,
        received: 395,
        sent: 430,
        ..ServerStats::default()
    };
    let conf = ServerConf {
        client_port: 22181,
        data_dir: "/var/lib/zookeeper/data/version-2".into(),
        data_dir_size: 67109337,
        data_log_dir: "/var/lib/zookeeper/data/version-2".into(),
        data_log_size: 67109337,
        tick_time_ms: 2000,
        min_session_timeout_ms: 4000,
        max_session_timeout_ms: 40000,
        ..ServerConf::default()
    };
    let me = ConnStats { addr: "127.0.0.1:37438".into(), received: 1, ..ConnStats::default() };
    FourLetterInfo { stats, conf, connections: vec![me], trace_mask: 306, ..FourLetterInfo::default() }
}

const SRVR_TAIL: &str = "Latency min/avg/max: 0/0.4845/15\nReceived: 395\nSent: 430\nConnections: 1\nOutstanding: 0\nZxid: 0xb7\nMode: standalone\nNode count: 5\n";

#[test]
fn srvr_and_stat() {
    let i = info();
    assert_eq!(render_four_letter(FourLetter::Srvr, &i), format!("Zookeeper version: {V380}\n{SRVR_TAIL}"));
    let clients = "Clients:\n /127.0.0.1:37438[0](queued=0,recved=1,sent=0)\n\n";
    assert_eq!(render_four_letter(FourLetter::Stat, &i), format!("Zookeeper version: {V380}\n{clients}{SRVR_TAIL}"));
}

#[test]
fn conf_cons_wchs_dirs_and_friends() {
    let mut i = info();
    let conf = "clientPort=22181\nsecureClientPort=-1\ndataDir=/var/lib/zookeeper/data/version-2\ndataDirSize=67109337\ndataLogDir=/var/lib/zookeeper/data/version-2\ndataLogSize=67109337\ntickTime=2000\nmaxClientCnxns=0\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n";
    assert_eq!(render_four_letter(FourLetter::Conf, &i), conf);
    i.connections[0].addr = "127.0.0.1:37466".into();
    assert_eq!(render_four_letter(FourLetter::Cons, &i), " /127.0.0.1:37466[0](queued=0,recved=1,sent=0)\n\n");
    assert_eq!(render_four_letter(FourLetter::Wchs, &i), "0 connections watching 0 paths\nTotal watches:0\n");
    assert_eq!(render_four_letter(FourLetter::Wchc, &i), "\n");
    assert_eq!(render_four_letter(FourLetter::Wchp, &i), "\n");
    assert_eq!(render_four_letter(FourLetter::Dirs, &i), "datadir_size: 67109337\nlogdir_size: 67109337\n");
    assert_eq!(render_four_letter(FourLetter::Crst, &i), "Connection stats reset.\n");
    assert_eq!(render_four_letter(FourLetter::Srst, &i), "Server stats reset.\n");
    assert_eq!(render_four_letter(FourLetter::Gtmk, &i), "306");
    assert_eq!(render_four_letter(FourLetter::Isro, &i), "rw");
    assert_eq!(render_four_letter(FourLetter::Ruok, &i), "imok");
}

#[test]
fn cons_with_a_session() {
    let mut i = info();
    let c = &mut i.connections[0];
    (c.interest_ops, c.session_id, c.last_op, c.established_ms, c.timeout_ms) = (1, 0x1a2, 11, 1700, 10000);
    (c.last_cxid, c.last_zxid, c.last_response_ms, c.latency_avg) = (5, -1, 1800, 0.5);
    let want = " /127.0.0.1:37438[1](queued=0,recved=1,sent=0,sid=0x1a2,lop=PING,est=1700,to=10000,lcxid=0x5,lzxid=0xffffffffffffffff,lresp=1800,llat=0,minlat=0,avglat=0.5,maxlat=0)\n\n";
    assert_eq!(render_four_letter(FourLetter::Cons, &i), want);
}

#[test]
fn watches_by_session_and_path() {
    let mut i = info();
    i.watches = vec![("/a".into(), vec![0x10, 0x20]), ("/b".into(), vec![0x10])];
    assert_eq!(render_four_letter(FourLetter::Wchs, &i), "2 connections watching 2 paths\nTotal watches:3\n");
    assert_eq!(render_four_letter(FourLetter::Wchc, &i), "0x10\n\t/a\n\t/b\n0x20\n\t/a\n\n");
    assert_eq!(render_four_letter(FourLetter::Wchp, &i), "/a\n\t0x10\n\t0x20\n/b\n\t0x10\n\n");
}

#[test]
fn dump_matches_capture_shape() {
    let mut i = info();
    i.connections[0].addr = "127.0.0.1:37476".into();
    i.connections[0].last_response_ms = 1_795_592_996_000; // Wed Nov 25 07:49:56 UTC 2026
    let want = "SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\nSessions with Ephemerals (0):\nConnections dump:\nConnections Sets (1)/(1):\n1 expire at Wed Nov 25 07:49:56 UTC 2026:\n\tip: /127.0.0.1:37476 sessionId: 0x0\n";
    assert_eq!(render_four_letter(FourLetter::Dump, &i), want);
    i.ephemerals = vec![(0xab, vec!["/e".into()])];
    assert!(render_four_letter(FourLetter::Dump, &i).contains("Sessions with Ephemerals (1):\n0xab:\n\t/e\n"));
}

#[test]
fn envi_version_parses_like_kazoo() {
    let mut i = info();
    i.stats.version = full_version("2026-11-25 10:00 UTC");
    i.host_name = "localhost".into();
    i.environment = vec![("os.name".into(), "Linux".into())];
    let out = render_four_letter(FourLetter::Envi, &i);
    assert!(out.starts_with("Environment:\nzookeeper.version=3.8.4-zabra, built on 2026-11-25 10:00 UTC\n"));
    assert!(out.ends_with("host.name=localhost\nos.name=Linux\n"));
    // kazoo: split lines on the first '=', take `zookeeper.version`, leading [\d.]*.
    let v = out.lines().find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == "zookeeper.version")).unwrap().1;
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let parts: Vec<u32> = digits.split('.').map(|d| d.parse().unwrap()).collect();
    assert_eq!(parts, [3, 8, 4]);
}

#[test]
fn mntr_and_not_serving() {
    let mut i = info();
    let m = render_four_letter(FourLetter::Mntr, &i);
    assert!(m.starts_with(&format!("zk_version\t{V380}\nzk_server_state\tstandalone\n")));
    assert!(m.contains("\nzk_avg_latency\t0.4845\n") && m.contains("\nzk_znode_count\t5\n"));
    i.stats.latency_avg = 0.0;
    assert!(render_four_letter(FourLetter::Mntr, &i).contains("\nzk_avg_latency\t0.0\n"));
    i.stats.serving = false;
    assert_eq!(render_four_letter(FourLetter::Srvr, &i), NOT_SERVING);
    assert_eq!(render_four_letter(FourLetter::Ruok, &i), "imok");
    assert_eq!(render_four_letter(FourLetter::Isro, &i), "null");
    assert_eq!(not_whitelisted(FourLetter::Stat), "stat is not executed because it is not in the whitelist.\n");
}

#[test]
fn names_and_numbers() {
    for c in FourLetter::ALL {
        assert_eq!(FourLetter::parse(c.as_str()), Some(c));
    }
    assert_eq!(FourLetter::parse("RUOK"), None);
    assert_eq!(java_double(1.0), "1.0");
    assert_eq!(java_double(0.0001), "1.0E-4");
    assert_eq!(java_double(12345678.0), "1.2345678E7");
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
}

/// The quorum fields and ZooKeeper's summary metrics (`zk_avg_fsynctime`, ...; names as
/// captured from 3.8.0's `mntr` in `zk-wire/fourlw.txt`).
#[test]
fn mntr_quorum_fields_and_summaries() {
    let mut i = info();
    i.stats.mode = ServerMode::Leader;
    i.stats.quorum_size = Some(3);
    i.stats.peer_state = Some("leading - broadcast".into());
    i.stats.leader =
        Some(LeaderStats { learners: 2, followers: 2, synced_followers: 1, synced_observers: 0, pending_syncs: 0 });
    let fsync = Timing { count: 180, sum: 9, min: 0, max: 3, percentiles: None };
    let reads = Timing { count: 3, sum: 2, min: 0, max: 1, percentiles: Some([0, 1, 1, 1]) };
    i.stats.timings = vec![("fsynctime".into(), fsync), ("readlatency".into(), reads)];
    let m = render_four_letter(FourLetter::Mntr, &i);
    for line in [
        "zk_quorum_size\t3",
        "zk_peer_state\tleading - broadcast",
        "zk_learners\t2",
        "zk_followers\t2",
        "zk_synced_followers\t1",
        "zk_pending_syncs\t0",
        "zk_avg_fsynctime\t0.05\nzk_min_fsynctime\t0\nzk_max_fsynctime\t3\nzk_cnt_fsynctime\t180\nzk_sum_fsynctime\t9",
        "zk_avg_readlatency\t0.6667",
        "zk_p50_readlatency\t0\nzk_p95_readlatency\t1\nzk_p99_readlatency\t1\nzk_p999_readlatency\t1",
    ] {
        assert!(m.contains(&format!("\n{line}\n")), "{line:?} missing from:\n{m}");
    }
}
