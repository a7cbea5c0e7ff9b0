//! The `clients` stage of `cargo xtask test`: real ZooKeeper clients against a real local
//! `zabra` cluster. It installs what it needs by itself: kazoo 2.11 in a virtual environment
//! (`target/venv`), and Debian's `zookeeper` package for `zkCli.sh` (apt-get, as root).
//! zkCli runs a scripted session against a follower; a Rust client (`zookeeper-client`,
//! through `zabra-loadgen smoke` and a second of pipelined load) checks create/get/set/watch/
//! delete on every node; the Rust recipes' examples run their use cases, crashes included
//! (`recipes.rs`); kazoo's recipes run the coordination use cases, with a participant
//! that stalls until its session expires and nodes killed mid-run
//! (`tests/clients/kazoo_usecases.py`); Apache Curator's recipes do the same from Java
//! (`curator.rs`); kazoo runs its recipes and a write across a leader failover; then kazoo's
//! own test suite runs against a fresh cluster (`kazoo.rs`).
//! Loopback only; every wait is bounded.

use crate::util::Ctx;
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const OFFSET: u16 = 600;
const TOKEN: &str = "clients-test";
const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// A script of use cases takes 10-20 s; its waits are bounded, and so is the whole.
const USECASES_LIMIT: Duration = Duration::from_secs(180);

pub fn run(ctx: &Ctx) -> Result {
    let python = venv(ctx)?;
    let zkcli = zookeeper_package()?;
    let status = ctx.cargo(["build", "--quiet", "-p", "zabra-node", "-p", "zabra-loadgen"]).status()?;
    if !status.success() {
        return Err("building zabra and zabra-loadgen failed".into());
    }
    let zabra = ctx.target_dir()?.join("debug").join("zabra");
    let loadgen = ctx.target_dir()?.join("debug").join("zabra-loadgen");
    let cluster = start_cluster(&zabra, &ctx.target_dir()?.join("clients-test-data"), OFFSET, TOKEN, &[])?;
    let leader = wait_leader(OFFSET, Duration::from_secs(60))?;
    let hosts: Vec<String> = (1..=3u16).map(|i| format!("127.0.0.1:{}", 2180 + i + OFFSET)).collect();
    let follower = (1..=3u16).find(|i| *i != leader).expect("a follower");
    if let Some(zkcli) = zkcli {
        zkcli_session(&zkcli, &hosts[follower as usize - 1])?;
    }
    rust_client(&loadgen, &hosts.join(","))?;
    crate::recipes::run(ctx, &hosts.join(","))?;
    // The use cases kill nodes and restart them; the leader stays the one found above.
    let supervisor = format!("http://127.0.0.1:{}", 8080 + OFFSET);
    let began = Instant::now();
    let usecases = ctx.root.join("tests/clients/kazoo_usecases.py");
    let mut cmd = Command::new(&python);
    cmd.arg(usecases).arg(hosts.join(",")).args([&supervisor, TOKEN]);
    run_bounded(&mut cmd, USECASES_LIMIT, "kazoo use cases (tests/clients/kazoo_usecases.py)")?;
    println!("kazoo use cases: {}", crate::util::secs(began.elapsed()));
    let began = Instant::now();
    crate::curator::run(ctx, &hosts.join(","), &supervisor, TOKEN)?;
    println!("Curator recipes: {}", crate::util::secs(began.elapsed()));
    let leader = wait_leader(OFFSET, Duration::from_secs(60))?;
    let kill = format!("{supervisor}/nodes/{leader}/kill?token={TOKEN}");
    let script = ctx.root.join("tests/clients/kazoo_recipes.py");
    let mut cmd = Command::new(&python);
    cmd.arg(script).arg(hosts.join(",")).arg(kill);
    run_bounded(&mut cmd, USECASES_LIMIT, "kazoo recipes (tests/clients/kazoo_recipes.py)")?;
    drop(cluster);
    crate::kazoo::run_suite(ctx, &python, &zabra)
}

/// `zabra cluster` with 3 nodes under `data` (emptied first), shifted by `offset`, with its
/// default tick unless `tick_ms` is given.
pub fn start_cluster(
    zabra: &Path,
    data: &Path,
    offset: u16,
    token: &str,
    flags: &[&str],
) -> Result<crate::util::Supervisor> {
    let _ = std::fs::remove_dir_all(data);
    let mut cmd = Command::new(zabra);
    cmd.args(["cluster", "--nodes", "3", "--admin-token", token, "--port-offset", &offset.to_string()]);
    cmd.args(flags);
    let child = cmd.arg("--data-dir").arg(data).stdout(Stdio::null()).spawn()?;
    Ok(crate::util::Supervisor(child))
}

/// `target/venv` with what `tests/clients/requirements.txt` pins (kazoo 2.11.0, pytest, ...).
/// A copy of the installed list beside the venv tells whether it is current. The `ui-e2e`
/// stage uses it too (`www/e2e/mixed.mjs` writes with kazoo).
pub fn venv(ctx: &Ctx) -> Result<PathBuf> {
    let dir = ctx.target_dir()?.join("venv");
    let python = dir.join("bin").join("python");
    let wanted_path = ctx.root.join("tests/clients/requirements.txt");
    let wanted = std::fs::read_to_string(&wanted_path)?;
    let stamp = dir.join("zabra-requirements.txt");
    let current = python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted);
    if !current {
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(&dir), "python3 -m venv")?;
        run_checked(
            Command::new(&python).args(["-m", "pip", "install", "--quiet", "-r"]).arg(&wanted_path),
            "pip install -r tests/clients/requirements.txt",
        )?;
        std::fs::write(&stamp, wanted)?;
    }
    Ok(python)
}

/// Debian's zookeeper package provides zkCli.sh; install it when missing (CI runs as root).
fn zookeeper_package() -> Result<Option<PathBuf>> {
    if Path::new(ZKCLI).is_file() {
        return Ok(Some(ZKCLI.into()));
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run_checked(Command::new("apt-get").args(["update", "-qq"]).envs(env), "apt-get update")?;
    run_checked(
        Command::new("apt-get").args(["install", "-y", "-qq", "zookeeper"]).envs(env),
        "apt-get install zookeeper",
    )?;
    Ok(Some(ZKCLI.into()))
}

pub fn run_checked(cmd: &mut Command, what: &str) -> Result {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})").into());
    }
    Ok(())
}

/// Runs `cmd` to its end, or kills it after `limit`; fails unless it exits with success.
pub fn run_bounded(cmd: &mut Command, limit: Duration, what: &str) -> Result {
    let mut child = cmd.spawn().map_err(|e| format!("{what}: {e}"))?;
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            return Err(format!("{what} failed ({status})").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{what} did not finish within {}", crate::util::secs(limit)).into())
}

fn healthz(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

/// Waits (bounded) until all 3 nodes of the cluster at `offset` serve; returns the leader.
pub fn wait_leader(offset: u16, limit: Duration) -> Result<u16> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        let bodies: Vec<String> = (1..=3u16).map(|i| healthz(8080 + i + offset)).collect();
        let serving = bodies.iter().filter(|b| b.contains("\"serving\":true")).count();
        if let (3, Some(i)) = (serving, bodies.iter().position(|b| b.contains("\"state\":\"Leading\""))) {
            return Ok(i as u16 + 1);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("no serving leader within the limit".into())
}

/// The Rust client `zookeeper-client` (async, pipelined): `zabra-loadgen smoke` (create,
/// get, set, a watch set on one node fired by a write through another, children, the usual
/// errors, delete), then a second of creates, 3 connections x 16 outstanding, without error,
/// and their cleanup (every znode and the prefix deleted, as `bench vs-zk` does between rounds).
fn rust_client(loadgen: &Path, hosts: &str) -> Result {
    let smoke = crate::util::output(Command::new(loadgen).args(["smoke", "--servers", hosts]))?;
    if !smoke.contains("\"smoke\":\"ok\"") {
        return Err(format!("zabra-loadgen smoke: {smoke}").into());
    }
    let args = ["run", "--servers", hosts, "--op", "create", "--conns", "3", "--outstanding", "16"];
    let more = ["--ops", "2000", "--seconds", "1", "--prefix", "/loadgen-clients", "--cleanup"];
    let out = crate::util::output(Command::new(loadgen).args(args).args(more))?;
    let v: serde_json::Value = serde_json::from_str(out.trim())?;
    if v["errors"].as_u64() != Some(0) || v["ops"].as_u64().unwrap_or(0) == 0 || !v["cleanup_secs"].is_number() {
        return Err(format!("zabra-loadgen run against zabra: {out}").into());
    }
    println!("Rust client (zookeeper-client) against every node: ok ({} pipelined creates)", v["ops"]);
    Ok(())
}

/// A scripted zkCli session against one server; checks what it prints.
fn zkcli_session(zkcli: &Path, server: &str) -> Result {
    let script = "create /zkcli hello\ncreate -e /zkcli/eph e\ncreate -s /zkcli/seq- s\nset /zkcli world\nget /zkcli\nls /zkcli\nstat /zkcli\nsetAcl /zkcli world:anyone:cdrwa\ngetAcl /zkcli\nsync /zkcli\ndeleteall /zkcli\nls /\nquit\n";
    let mut child = Command::new(zkcli)
        .args(["-server", server])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", zkcli.display()))?;
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), script.as_bytes())?;
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // (zkCli prints "Created ..." to its log, not stdout.)
    let expect = [
        "world",
        "[eph, seq-0000000001]",
        "dataVersion = 1",
        "numChildren = 2",
        "'world,'anyone",
        "Sync is OK",
        "[zookeeper]",
    ];
    let missing: Vec<&&str> = expect.iter().filter(|e| !text.contains(**e)).collect();
    if !missing.is_empty() {
        return Err(format!("zkCli session: missing {missing:?} in its output:\n{text}").into());
    }
    println!("zkCli session against {server}: ok ({} checks)", expect.len());
    Ok(())
}
