//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/`, from the
//! project's own encoders and (for the ZooKeeper client port) the captures of real clients
//! in `zk-wire/` (default `/work/shared/zk-wire`, or the first argument). The seeds are
//! committed; run this again after a format change:
//! `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds [ZK_WIRE_DIR]`.
//! (`script` needs none here: `cargo xtask fuzz` feeds it `core/testdata/`.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use zabra_core::log::Entry;
use zabra_core::message::{Envelope, Message, MsgId, ServerState, Snapshot, Vote};
use zabra_core::storage::PersistOp;
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Sid, Zxid};
use zabra_fuzz::{hello, join, HANDSHAKE_KEY};
use zabra_peerwire::{encode, frames, Acceptor, Dialer, Handshake};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join(name), bytes).unwrap();
}

fn entry(z: Zxid, op: Op) -> Entry {
    Entry {
        zxid: z,
        txn: Txn { session: SessionId(0x100), time_ms: 1_700_000_000_000, auth: Vec::new(), op }.into(),
        origin: None,
    }
}

fn create(z: Zxid, path: &str) -> Entry {
    entry(z, Op::create(path, b"some data", CreateMode::Persistent))
}

/// Client port: per captured connection the whole client stream, and the ConnectRequest
/// with each request alone, at a few socket read sizes.
fn zk_wire(out: &Path, captures: &Path) {
    let mut streams: BTreeMap<(String, u64), Vec<Vec<u8>>> = BTreeMap::new();
    for file in ["real.jsonl", "java.jsonl"] {
        let Ok(text) = fs::read_to_string(captures.join(file)) else {
            eprintln!("no {} (skipped)", captures.join(file).display());
            continue;
        };
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["dir"] != "c2s" {
                continue;
            }
            let hex = v["hex"].as_str().unwrap();
            let bytes: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            streams.entry((file.to_string(), v["conn"].as_u64().unwrap())).or_default().push(bytes);
        }
    }
    let mut singles = std::collections::BTreeSet::new();
    for ((file, conn), frames) in &streams {
        let all: Vec<u8> = frames.concat();
        for read in [0u8, 7] {
            write(out, "zk_frame", &format!("{file}-{conn}-read{read}"), &[&[read][..], &all].concat());
        }
        let (connect, rest) = frames.split_first().unwrap();
        for f in rest {
            singles.insert([&[0u8][..], connect, f].concat());
        }
    }
    for (i, s) in singles.iter().enumerate() {
        write(out, "zk_frame", &format!("request-{i:03}"), s);
    }
    for cmd in zabra_zkwire::FourLetter::ALL {
        let mut b = vec![0u8];
        b.extend_from_slice(cmd.as_str().as_bytes());
        if cmd == zabra_zkwire::FourLetter::Stmk {
            b.extend_from_slice(&0x1234i64.to_be_bytes());
        }
        write(out, "zk_fourlw", cmd.as_str(), &b);
    }
    write(out, "zk_fourlw", "frame", &[1, 0, 0, 0, 45, 0, 0]);
}

fn messages() -> Vec<Message> {
    let z = Zxid::new(3, 7);
    let e = create(z, "/seed");
    let s = Snapshot { zxid: Zxid::new(3, 5), tree: zabra_core::datatree::DataTree::new() };
    vec![
        Message::Notification {
            state: ServerState::Looking,
            vote: Vote { leader: Sid(2), zxid: z, peer_epoch: 3 },
            round: 4,
        },
        Message::FollowerInfo { accepted_epoch: 3, last_zxid: z },
        Message::ObserverInfo { accepted_epoch: 3, last_zxid: z },
        Message::LeaderInfo { epoch: 4 },
        Message::AckEpoch { epoch: 4, current_epoch: 3, last_zxid: z, counted: true },
        Message::Diff { epoch: 4, entries: vec![e.clone(), create(Zxid::new(3, 8), "/b")] },
        Message::Trunc { epoch: 4, to: Zxid::new(3, 6), entries: vec![e.clone()] },
        Message::Snap { epoch: 4, snapshot: Box::new(s), entries: vec![e.clone()] },
        Message::NewLeader { epoch: 4, zxid: z },
        Message::AckNewLeader { epoch: 4 },
        Message::UpToDate { epoch: 4, committed: z },
        Message::Proposal { epoch: 4, entry: e.clone() },
        Message::Ack { epoch: 4, zxid: z },
        Message::Commit { epoch: 4, zxid: z },
        Message::Inform {
            epoch: 4,
            entry: entry(
                Zxid::new(4, 1),
                Op::Multi(vec![Op::Delete { path: "/a".into(), version: -1 }, Op::CloseSession]),
            ),
        },
        Message::Ping { epoch: 4, round: 9 },
        Message::PingAck { epoch: 4, round: 9, sessions: vec![SessionId(0x100), SessionId(0x101)] },
        Message::Request {
            epoch: 4,
            session: SessionId(0x100),
            xid: 5,
            op: Op::SetData { path: "/a".into(), data: b"x".as_slice().into(), version: 2 },
            auth: Vec::new(),
        },
        Message::Sync { epoch: 4, session: SessionId(0x100), xid: 6 },
        Message::SyncReply { epoch: 4, session: SessionId(0x100), xid: 6, zxid: z },
    ]
}

/// Peer port: each message kind as an encoded envelope in one chunk, one split into a
/// first and a continuation chunk, and the bare entry bytes.
fn peer(out: &Path) {
    for (i, msg) in messages().into_iter().enumerate() {
        let bytes = encode(&Envelope { id: MsgId { from: Sid(2), seq: i as u64 }, msg }).unwrap();
        let chunks = frames(&bytes);
        write(out, "peer_message", &format!("msg-{i:02}"), &join(chunks.iter().map(|c| &c[..])));
        if bytes.len() > 4 {
            let mut first = vec![1u8];
            first.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            first.extend_from_slice(&bytes[..3]);
            let more = [&[2u8][..], &bytes[3..]].concat();
            write(out, "peer_message", &format!("split-{i:02}"), &join([&first[..], &more[..]]));
        }
    }
    write(out, "peer_message", "entry", &zabra_peerwire::encode_entry(&create(Zxid::new(1, 1), "/e")));
    // Handshake: an honest dialer's Hello and Proof to acceptor 1; an honest Challenge to
    // dialer 1 (as the harness's peers would send them); and a Refused.
    let (dialer, their_hello) = Dialer::new(hello(2, 2), 1);
    let (_, challenge) = Acceptor::new(hello(1, 1), their_hello.clone(), HANDSHAKE_KEY).unwrap();
    let (_, proof) = dialer.on_challenge(challenge, HANDSHAKE_KEY).unwrap();
    let (h, p) = (their_hello.to_bytes(), proof.to_bytes());
    write(out, "peer_handshake", "acceptor", &join([&h[..], &p[..]]));
    let (_, to_me) = Acceptor::new(hello(2, 2), Handshake::Hello(hello(1, 1)), HANDSHAKE_KEY).unwrap();
    write(out, "peer_handshake", "dialer", &join([&to_me.to_bytes()[..]]));
    let refused = Handshake::Refused { reason: "no".into() }.to_bytes();
    write(out, "peer_handshake", "refused", &join([&refused[..]]));
}

/// Storage: the files a real store writes (segments, snapshot, epochs), and an install
/// marker framed as the store frames it.
fn storage(out: &Path) {
    use zabra_storage::{DiskStore, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions { segment_bytes: 1024, keep_snapshots: 2, preallocate: 0 };
    let (mut store, _, _) = DiskStore::open(dir.path(), opts).unwrap();
    let log: Vec<Entry> = (1..=12).map(|c| create(Zxid::new(1, c), &format!("/n{c}"))).collect();
    let snap = Snapshot { zxid: Zxid::new(1, 4), tree: zabra_core::datatree::DataTree::new() };
    let ops = [
        PersistOp::AcceptedEpoch(2),
        PersistOp::CurrentEpoch(1),
        PersistOp::Append(log[..6].to_vec()),
        PersistOp::Checkpoint(snap),
        PersistOp::Append(log[6..].to_vec()),
    ];
    store.apply_and_sync(&ops).unwrap();
    drop(store);
    let mut names: Vec<PathBuf> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    // The whole directory for `storage_open`: kind, the zxid of the name, the bytes.
    let mut files = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (kind, hex) = match name.split_once('.') {
            Some(("log", hex)) => (0u8, hex),
            Some(("snapshot", hex)) => (1, hex),
            _ if name == "epochs" => (2, "0"),
            _ => continue,
        };
        let z = u64::from_str_radix(hex, 16).unwrap();
        files.push([&[kind][..], &z.to_be_bytes(), &fs::read(path).unwrap()].concat());
    }
    write(out, "storage_open", "directory", &join(files.iter().map(|f| &f[..])));
    write(out, "storage_open", "no-snapshot", &join(files.iter().filter(|f| f[0] != 1).map(|f| &f[..])));
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(&path).unwrap();
        if name.starts_with("log.") {
            write(out, "storage_segment", &format!("{name}-last"), &[&[1u8][..], &bytes].concat());
            write(out, "storage_segment", &format!("{name}-middle"), &[&[0u8][..], &bytes].concat());
            write(out, "storage_record", &name, &bytes[20..]);
        } else if name.starts_with("snapshot.") {
            write(out, "storage_snapshot", &name, &[&[0u8][..], &bytes].concat());
            write(out, "storage_record", &name, &bytes[8..]);
        } else if name == "epochs" {
            write(out, "storage_snapshot", "epochs", &[&[2u8][..], &bytes].concat());
        }
    }
    // The install marker: magic, then one record of postcard((snapshot zxid, entries)).
    let z = Zxid::new(1, 4);
    let payload = postcard_of(&(z, log[4..7].to_vec()));
    let mut marker = b"ZBINST02".to_vec();
    marker.extend_from_slice(&record(z, &payload));
    write(out, "storage_snapshot", "install", &[&[1u8][..], &marker].concat());
    let install = [&[3u8][..], &0u64.to_be_bytes(), &marker].concat();
    write(out, "storage_open", "install-without-snapshot", &join([&install[..]]));
}

/// postcard of the marker's fields in order: what postcard writes for the struct.
fn postcard_of<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).unwrap()
}

/// A framed record as `zabra-storage` writes it (see its crate docs).
fn record(z: Zxid, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(20 + payload.len());
    h.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    h.extend_from_slice(&z.as_u64().to_le_bytes());
    h.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let crc = crc32fast::hash(&h[..16]);
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(payload);
    h
}

/// Config: the documented example, a generated 3-node cluster, a browser member.
fn config(out: &Path) {
    let documented = r#"id = 1
data_dir = "data/1"
tick_ms = 100
admin_token = "secret"
control = true
viewer_token = "look"
allowed_origins = ["http://127.0.0.1:8000"]
fourlw_whitelist = ["srvr", "mntr"]
secret_file = "cluster.secret"
[limits]
max_client_cnxns = 60
[[members]]
id = 1
peer = "127.0.0.1:2891"
client = "127.0.0.1:2181"
http = "127.0.0.1:8081"
[[members]]
id = 2
peer = "127.0.0.1:2892"
client = "127.0.0.1:2182"
http = "127.0.0.1:8082"
observer = true
[[browser_members]]
id = 4
observer = false
"#;
    write(out, "config", "documented.toml", documented.as_bytes());
    let mut local = zabra_node::config::NodeConfig::local(2, 3);
    local.secret_file = Some("cluster.secret".into());
    write(out, "config", "local.toml", toml::to_string(&local).unwrap().as_bytes());
    let solo = zabra_node::config::NodeConfig::local(1, 1);
    write(out, "config", "solo.toml", toml::to_string(&solo).unwrap().as_bytes());
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("seeds");
    let captures = std::env::args().nth(1).map_or_else(|| PathBuf::from("/work/shared/zk-wire"), PathBuf::from);
    let _ = fs::remove_dir_all(&out);
    zk_wire(&out, &captures);
    peer(&out);
    storage(&out);
    config(&out);
    let mut total = 0;
    for d in fs::read_dir(&out).unwrap() {
        let d = d.unwrap();
        let files: Vec<_> = fs::read_dir(d.path()).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).collect();
        total += files.iter().sum::<u64>();
        println!(
            "{:<18} {:>4} seeds, {:>7} bytes",
            d.file_name().to_string_lossy(),
            files.len(),
            files.iter().sum::<u64>()
        );
    }
    println!("total {total} bytes in {}", out.display());
}
