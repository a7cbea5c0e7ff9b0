//! The browser side of the checks and commands: the UI stages of `cargo xtask test`
//! (`ui-build`, `ui-wasm-test`, `ui-e2e`), `cargo xtask bench ui`, and the local cluster
//! serving the UI that `demo` and both of those use (the nodes serve the UI themselves).
//!
//! Everything here installs what it needs (Debian's `chromium` and `chromium-driver` with
//! apt-get, `playwright-core` with npm into `www/e2e/node_modules`), listens on loopback only,
//! bounds every child in time, and ends only the processes it started (each child runs in a
//! process group of its own, which is what a timeout kills).

use crate::util::{self, secs, Ctx};
use crate::wasm::WASM_TARGET;
use crate::Result;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Bounds on the children (cold builds on 2 cores included).
const APT_TIMEOUT: Duration = Duration::from_secs(600);
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
const WASM_TEST_TIMEOUT: Duration = Duration::from_secs(1200);
const E2E_TIMEOUT: Duration = Duration::from_secs(360);
const BENCH_TIMEOUT: Duration = Duration::from_secs(300);

/// Port offsets of the clusters serving the UI to the browser tests and the UI benchmark.
const E2E_OFFSET: u16 = 760;
const BENCH_OFFSET: u16 = 780;

/// The dist folder built by this process (`ui-build`), so later stages do not build it again.
static DIST: OnceLock<PathBuf> = OnceLock::new();

/// The release UI's dist folder: built once per process by `crate::ui::build`.
pub fn dist(ctx: &Ctx) -> Result<PathBuf> {
    if let Some(dir) = DIST.get() {
        return Ok(dir.clone());
    }
    let dir = crate::ui::build(ctx, true)?;
    if !dir.join("index.html").is_file() {
        return Err(format!("the UI build gave no {}", dir.join("index.html").display()).into());
    }
    Ok(DIST.get_or_init(|| dir).clone())
}

/// Stage `ui-build`: the release UI (wasm, its JS glue, index.html), with its sizes.
pub fn ui_build(ctx: &Ctx) -> Result {
    let dir = dist(ctx)?;
    println!("UI dist: {}", dir.display());
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let len = std::fs::metadata(&path)?.len();
            println!("  {}: {len} bytes ({:.0} KB)", path.display(), len as f64 / 1024.0);
        }
    }
    Ok(())
}

/// Stage `ui-wasm-test`: the UI crate's `wasm_bindgen_test` tests in headless Chromium
/// (wasm-bindgen-test-runner driving chromedriver).
pub fn ui_wasm_test(ctx: &Ctx) -> Result {
    ensure_chromium()?;
    let runner = match test_runner(ctx)? {
        Some(r) => r,
        None => {
            // The UI build installs wasm-bindgen-cli at the locked version (with the runner).
            dist(ctx)?;
            test_runner(ctx)?.ok_or("no wasm-bindgen-test-runner at the Cargo.lock version of wasm-bindgen, even after the UI build installed wasm-bindgen-cli")?
        }
    };
    println!("runner: {}", runner.display());
    // Never `-q`: it breaks the runner. Never the whole workspace: only the UI crate, and the
    // browser runtime (its IndexedDB store against the core's storage conformance suite).
    let mut cmd = ctx.cargo(["test", "--target", WASM_TARGET, "-p", "zabra-www", "-p", "zabra-wasm"]);
    cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &runner)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env_remove("NO_HEADLESS")
        .env_remove("GECKODRIVER")
        .env_remove("SAFARIDRIVER");
    run_bounded(&mut cmd, WASM_TEST_TIMEOUT, false).map(drop)
}

/// Stage `ui-e2e`: `www/e2e/run.mjs` (Playwright, Debian's Chromium) against the built page
/// as a real 3-node `zabra cluster` serves it on loopback (control enabled, a fresh admin
/// token): the classroom tests, then Live mode on that cluster (the tests kill its leader
/// through the page; `live.mjs` pauses and partitions it and writes bursts). Screenshots in
/// `target/screenshots/`.
pub fn ui_e2e(ctx: &Ctx) -> Result {
    let dir = dist(ctx)?;
    ensure_chromium()?;
    ensure_node_modules(ctx)?;
    let zabra = crate::demo::build(ctx)?;
    let data = ctx.target_dir()?.join("ui-e2e-data");
    let cluster = UiCluster::start(&zabra, &dir, &data, E2E_OFFSET, &crate::demo::fresh_token()?)?;
    check_ui_served(cluster.http_port(1), &dir)?;
    let out = ctx.root.join("target").join("screenshots");
    std::fs::create_dir_all(&out)?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/run.mjs")).arg(cluster.url()).arg(&out).current_dir(ctx.root.join("www/e2e"));
    node.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string())
        .env("E2E_LIVE_TOKEN", &cluster.token)
        .env("E2E_LIVE_SUPERVISOR", cluster.supervisor());
    let result = run_bounded(&mut node, E2E_TIMEOUT, false).map(drop);
    // The other presenter controls (pause/resume, partition/heal, the burst of writes) on the
    // same cluster, once the kill test has brought it back whole.
    let result = result.and_then(|()| {
        let mut live = Command::new("node");
        live.arg(ctx.root.join("www/e2e/live.mjs")).arg(cluster.url()).arg(&out).current_dir(ctx.root.join("www/e2e"));
        live.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string())
            .env("E2E_LIVE_TOKEN", &cluster.token)
            .env("E2E_LIVE_SUPERVISOR", cluster.supervisor());
        run_bounded(&mut live, E2E_TIMEOUT, false).map(drop)
    });
    // Tabs mode: pages of one browser context form a cluster of tab peers (the page comes
    // from the same node; the tab peers only talk among themselves).
    let result = result.and_then(|()| {
        let mut tabs = Command::new("node");
        tabs.arg(ctx.root.join("www/e2e/tabs.mjs")).arg(cluster.url()).arg(&out).current_dir(ctx.root.join("www/e2e"));
        tabs.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string());
        run_bounded(&mut tabs, E2E_TIMEOUT, false).map(drop)
    });
    // Tabs joining a native cluster as observer and voter (shape 2 of issue 9).
    result.and_then(|()| mixed(ctx, &cluster.url(), &out))
}

/// Port offset of the native cluster of `www/e2e/mixed.mjs` (ui-e2e).
const MIXED_OFFSET: u16 = 1390;

/// `www/e2e/mixed.mjs`: a native 3-node cluster (debug `zabra`, allowing the served page's
/// origin) that tabs join as browser observer and voter; kazoo (from the `clients` stage's
/// venv, made here when missing) writes to it.
fn mixed(ctx: &Ctx, page: &str, out: &Path) -> Result {
    let python = crate::clients::venv(ctx)?;
    let mut node = native_script(ctx, "mixed.mjs", &[page.as_ref(), out.as_os_str()], "mixed-data", MIXED_OFFSET)?;
    node.arg(&python).arg(ctx.root.join("tests/clients/kazoo_writes.py"));
    node.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string());
    run_bounded(&mut node, E2E_TIMEOUT, false).map(drop)
}

/// Port offset of the `edge` stage's cluster (native-node tests use others).
const EDGE_OFFSET: u16 = 1360;
const EDGE_TIMEOUT: Duration = Duration::from_secs(180);

/// Stage `edge`: `www/e2e/edge.mjs`: the UI build's wasm peer (the Tabs mode worker's entry
/// point) under Node.js joins a 2-node native cluster as its third voter, and commits writes
/// with it while a native node is killed.
pub fn edge(ctx: &Ctx) -> Result {
    let dir = dist(ctx)?;
    ensure_node_modules(ctx)?;
    let mut node = native_script(ctx, "edge.mjs", &[dir.as_os_str()], "edge-data", EDGE_OFFSET)?;
    node.env("EDGE_TIMEOUT_MS", (EDGE_TIMEOUT.as_millis() - 20_000).to_string());
    run_bounded(&mut node, EDGE_TIMEOUT, false).map(drop)
}

/// `node www/e2e/SCRIPT ARGS... ZABRA WORK-DIR OFFSET`: a script that starts its own native
/// cluster with the debug `zabra` (built if needed) in `target/DATA`, on port offset `offset`.
fn native_script(ctx: &Ctx, script: &str, args: &[&std::ffi::OsStr], data: &str, offset: u16) -> Result<Command> {
    let zabra = crate::demo::build(ctx)?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e").join(script))
        .args(args)
        .arg(zabra)
        .arg(ctx.target_dir()?.join(data))
        .arg(offset.to_string())
        .current_dir(ctx.root.join("www/e2e"));
    Ok(node)
}

/// `cargo xtask bench ui`: `window.zabraBench(steps)` in the built page with `nodes` peers,
/// in headless Chromium; prints rendered events per second and frame time per event.
pub fn bench_ui(steps: u64, nodes: usize) -> Result {
    let ctx = Ctx::new()?;
    let dir = dist(&ctx)?;
    ensure_chromium()?;
    ensure_node_modules(&ctx)?;
    let zabra = crate::demo::build(&ctx)?;
    let data = ctx.target_dir()?.join("bench-ui-data");
    let cluster = UiCluster::start(&zabra, &dir, &data, BENCH_OFFSET, &crate::demo::fresh_token()?)?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/bench.mjs"))
        .arg(cluster.url())
        .args([steps.to_string(), nodes.to_string()])
        .current_dir(ctx.root.join("www/e2e"));
    node.env("BENCH_TIMEOUT_MS", (BENCH_TIMEOUT.as_millis() - 20_000).to_string());
    let out = run_bounded(&mut node, BENCH_TIMEOUT, true)?;
    let line = out.lines().rev().find(|l| l.starts_with('{')).ok_or("bench.mjs printed no result")?;
    let r: serde_json::Value = serde_json::from_str(line)?;
    let done = r["steps"].as_f64().ok_or("zabraBench returned no steps")?;
    let ms = r["ms"].as_f64().ok_or("zabraBench returned no ms")?;
    if done <= 0.0 || ms <= 0.0 {
        return Err(format!("zabraBench returned {line}").into());
    }
    let chromium = r["chromium"].as_str().unwrap_or("?");
    println!("bench ui: {} peers, {done} events rendered in {ms:.0} ms (headless Chromium {chromium})", r["peers"]);
    println!("bench ui: {:.0} rendered events/s, {:.2} ms frame time per event", done * 1000.0 / ms, ms / done);
    Ok(())
}

/// Installs Debian's `chromium` and `chromium-driver` unless chromedriver is there already.
pub fn ensure_chromium() -> Result {
    if Path::new(CHROMEDRIVER).is_file() && Path::new(CHROMIUM).is_file() {
        return Ok(());
    }
    println!("installing Debian's chromium and chromium-driver (for the browser tests)");
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_bounded(&mut cmd, APT_TIMEOUT, false)
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "chromium", "chromium-driver"])?;
    if !Path::new(CHROMEDRIVER).is_file() {
        return Err(format!("{CHROMEDRIVER} is still missing after apt-get install").into());
    }
    Ok(())
}

/// `npm ci` (or `npm install` without a lockfile) in `www/e2e`, unless playwright-core is there.
/// playwright-core never downloads a browser: the scripts launch `/usr/bin/chromium`.
pub fn ensure_node_modules(ctx: &Ctx) -> Result {
    let dir = ctx.root.join("www/e2e");
    let installed = |m: &str| dir.join("node_modules").join(m).join("package.json").is_file();
    if installed("playwright-core") && installed("ws") {
        return Ok(());
    }
    let verb = if dir.join("package-lock.json").is_file() { "ci" } else { "install" };
    let mut npm = Command::new("npm");
    npm.args([verb, "--no-audit", "--no-fund"]).current_dir(&dir);
    run_bounded(&mut npm, NPM_TIMEOUT, false).map(drop)
}

/// `wasm-bindgen-test-runner` from `$PATH` (then `$CARGO_HOME/bin`, where `cargo install` puts
/// it), at exactly the `wasm-bindgen` version of Cargo.lock: the runner and the library must
/// match.
fn test_runner(ctx: &Ctx) -> Result<Option<PathBuf>> {
    let lock = std::fs::read_to_string(ctx.root.join("Cargo.lock"))?;
    let mut lines = lock.lines();
    let version = std::iter::from_fn(|| lines.next())
        .skip_while(|l| l.trim() != "name = \"wasm-bindgen\"")
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("version = \"")?.strip_suffix('"').map(str::to_string))
        .ok_or("wasm-bindgen is not in Cargo.lock")?;
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    } else if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    for runner in dirs.into_iter().map(|d| d.join("wasm-bindgen-test-runner")).filter(|p| p.is_file()) {
        let shown = util::output(Command::new(&runner).arg("--version")).unwrap_or_default();
        if shown.split_whitespace().nth(1) == Some(version.as_str()) {
            return Ok(Some(runner));
        }
        println!("{} is {}, not {version}: skipped", runner.display(), shown.trim());
    }
    Ok(None)
}

/// Runs `cmd` in a process group of its own, echoing it first; kills that group (and only it)
/// if it outlives `timeout`. Stdout is inherited, or captured and returned when `capture`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration, capture: bool) -> Result<String> {
    println!("$ {}", util::show(cmd));
    cmd.process_group(0);
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", util::show(cmd)))?;
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            return Err(format!("`{}` did not finish within {}; killed", util::show(cmd), secs(timeout)).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.map(|r| r.join().unwrap_or_default()).unwrap_or_default();
    if capture {
        print!("{out}");
    }
    if !status.success() {
        return Err(format!("`{}` failed ({status})", util::show(cmd)).into());
    }
    Ok(out)
}

/// `GET path` on a loopback port: the status code, the Content-Type and the body (bounded).
pub fn http_get(port: u16, path: &str) -> Result<(u16, String, Vec<u8>)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut raw = Vec::new();
    s.take(64 << 20).read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no HTTP header in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or("no HTTP status")?;
    let mime = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.trim()))
        .unwrap_or("")
        .to_string();
    Ok((status, mime, raw[split + 4..].to_vec()))
}

/// What `demo --smoke` and `ui-e2e` check of a node serving the UI: index.html at `/`, the
/// wasm it loads with the right MIME type, and `/cluster` naming the supervisor.
pub fn check_ui_served(port: u16, dist: &Path) -> Result {
    let (status, mime, body) = http_get(port, "/")?;
    if status != 200 || !mime.starts_with("text/html") || !String::from_utf8_lossy(&body).contains("zabra_www") {
        return Err(format!("node on port {port}: / gave {status} {mime:?}, not the UI's index.html").into());
    }
    for entry in std::fs::read_dir(dist)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            let (status, mime, body) = http_get(port, &format!("/{name}"))?;
            let want = if name.ends_with(".wasm") { "application/wasm" } else { "javascript" };
            if status != 200 || !mime.contains(want) || body.is_empty() {
                return Err(format!("node on port {port}: /{name} gave {status} {mime:?}").into());
            }
        }
    }
    let (status, _, body) = http_get(port, "/cluster")?;
    let cluster: serde_json::Value = serde_json::from_slice(&body)?;
    if status != 200 || !cluster["supervisor"].is_string() {
        return Err(format!("node on port {port}: /cluster names no supervisor: {cluster}").into());
    }
    println!("UI: http://127.0.0.1:{port}/ serves index.html, its JS and wasm, and /cluster");
    Ok(())
}

/// `zabra cluster` (3 nodes) serving the built UI, for the demo and the browser tests; its
/// supervisor (and with it every node) stops when this is dropped.
pub struct UiCluster {
    _running: util::Supervisor,
    pub offset: u16,
    pub token: String,
}

impl UiCluster {
    /// Starts it under `data` (emptied first) and waits (bounded) for a serving leader.
    pub fn start(zabra: &Path, dist: &Path, data: &Path, offset: u16, token: &str) -> Result<UiCluster> {
        let dist = dist.to_str().ok_or("the dist path is not UTF-8")?;
        let running = crate::clients::start_cluster(zabra, data, offset, token, &["--ui-dir", dist])?;
        let c = UiCluster { _running: running, offset, token: token.to_string() };
        crate::clients::wait_leader(offset, Duration::from_secs(60))?;
        Ok(c)
    }

    /// Node `id`'s HTTP port.
    pub fn http_port(&self, id: u16) -> u16 {
        8080 + id + self.offset
    }

    /// The page as node 1 serves it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port(1))
    }

    pub fn supervisor(&self) -> String {
        format!("http://127.0.0.1:{}", 8080 + self.offset)
    }
}
