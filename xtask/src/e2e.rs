//! The browser side of the checks and commands: the UI stages of `cargo xtask test`
//! (`ui-build`, `ui-wasm-test`, `ui-e2e`), `cargo xtask bench ui`, and the static file server
//! that `demo` and both of those use.
//!
//! Everything here installs what it needs (Debian's `chromium` and `chromium-driver` with
//! apt-get, `playwright-core` with npm into `www/e2e/node_modules`), listens on loopback only,
//! bounds every child in time, and ends only the processes it started (each child runs in a
//! process group of its own, which is what a timeout kills).

use crate::util::{self, secs, Ctx};
use crate::wasm::WASM_TARGET;
use crate::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Bounds on the children (cold builds on 2 cores included).
const APT_TIMEOUT: Duration = Duration::from_secs(600);
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
const WASM_TEST_TIMEOUT: Duration = Duration::from_secs(1200);
const E2E_TIMEOUT: Duration = Duration::from_secs(360);
const BENCH_TIMEOUT: Duration = Duration::from_secs(300);

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

/// Stage `ui-e2e`: `www/e2e/run.mjs` (Playwright, Debian's Chromium) against the built page,
/// served on loopback; screenshots in `target/screenshots/`.
pub fn ui_e2e(ctx: &Ctx) -> Result {
    let dir = dist(ctx)?;
    ensure_chromium()?;
    ensure_node_modules(ctx)?;
    let server = StaticServer::start(&dir, 0)?;
    let out = ctx.root.join("target").join("screenshots");
    std::fs::create_dir_all(&out)?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/run.mjs")).arg(server.url()).arg(&out).current_dir(ctx.root.join("www/e2e"));
    node.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string());
    let result = run_bounded(&mut node, E2E_TIMEOUT, false).map(drop);
    // Tabs mode: pages of one browser context form a cluster of tab peers.
    let result = result.and_then(|()| {
        let mut tabs = Command::new("node");
        tabs.arg(ctx.root.join("www/e2e/tabs.mjs")).arg(server.url()).arg(&out).current_dir(ctx.root.join("www/e2e"));
        tabs.env("E2E_TIMEOUT_MS", (E2E_TIMEOUT.as_millis() - 20_000).to_string());
        run_bounded(&mut tabs, E2E_TIMEOUT, false).map(drop)
    });
    // Tabs joining a native cluster as observer and voter (shape 2 of issue 9).
    let result = result.and_then(|()| mixed(ctx, &server, &out));
    println!("UI server: {} requests served", server.requests());
    result
}

/// Port offset of the native cluster of `www/e2e/mixed.mjs` (ui-e2e).
const MIXED_OFFSET: u16 = 1390;

/// `www/e2e/mixed.mjs`: a native 3-node cluster (debug `zabra`, allowing the served page's
/// origin) that tabs join as browser observer and voter.
fn mixed(ctx: &Ctx, server: &StaticServer, out: &Path) -> Result {
    let status = ctx.cargo(["build", "--quiet", "-p", "zabra-node"]).status()?;
    if !status.success() {
        return Err("building zabra failed".into());
    }
    let target = ctx.target_dir()?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/mixed.mjs"))
        .arg(server.url())
        .arg(out)
        .arg(target.join("debug").join("zabra"))
        .arg(target.join("mixed-data"))
        .arg(MIXED_OFFSET.to_string())
        .current_dir(ctx.root.join("www/e2e"));
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
    let status = ctx.cargo(["build", "--quiet", "-p", "zabra-node"]).status()?;
    if !status.success() {
        return Err("building zabra failed".into());
    }
    let target = ctx.target_dir()?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/edge.mjs"))
        .arg(&dir)
        .arg(target.join("debug").join("zabra"))
        .arg(target.join("edge-data"))
        .arg(EDGE_OFFSET.to_string())
        .current_dir(ctx.root.join("www/e2e"));
    node.env("EDGE_TIMEOUT_MS", (EDGE_TIMEOUT.as_millis() - 20_000).to_string());
    run_bounded(&mut node, EDGE_TIMEOUT, false).map(drop)
}

/// `cargo xtask bench ui`: `window.zabraBench(steps)` in the built page with `nodes` peers,
/// in headless Chromium; prints rendered events per second and frame time per event.
pub fn bench_ui(steps: u64, nodes: usize) -> Result {
    let ctx = Ctx::new()?;
    let dir = dist(&ctx)?;
    ensure_chromium()?;
    ensure_node_modules(&ctx)?;
    let server = StaticServer::start(&dir, 0)?;
    let mut node = Command::new("node");
    node.arg(ctx.root.join("www/e2e/bench.mjs"))
        .arg(server.url())
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

/// A static file server for the dist folder, on 127.0.0.1, in a background thread (one short
/// thread per connection). Stops when dropped.
pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `root` on `127.0.0.1:port` (`0`: any free port).
    pub fn start(root: &Path, port: u16) -> Result<StaticServer> {
        let root = root.canonicalize().map_err(|e| format!("cannot serve {}: {e}", root.display()))?;
        let listener =
            TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (stop2, served2) = (stop.clone(), served.clone());
        let thread = std::thread::Builder::new().name("ui-server".into()).spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, served) = (root.clone(), served2.clone());
                std::thread::spawn(move || {
                    if handle(conn, &root).is_ok() {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        })?;
        Ok(StaticServer { addr, stop, served, thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request (GET or HEAD), then close.
fn handle(mut conn: TcpStream, root: &Path) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.by_ref().take(8192).read_line(&mut request_line)?;
    // Skip the headers (bounded).
    let mut header_bytes = 0;
    loop {
        let mut line = String::new();
        let n = reader.by_ref().take(8192).read_line(&mut line)?;
        header_bytes += n;
        if n == 0 || line == "\r\n" || line == "\n" || header_bytes > 64 * 1024 {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let response = if method != "GET" && method != "HEAD" {
        Response::text(405, "Method Not Allowed", "GET and HEAD only\n")
    } else {
        match resolve(root, target) {
            Some(path) => match std::fs::read(&path) {
                Ok(body) => Response { status: 200, reason: "OK", mime: mime(&path), body },
                Err(_) => Response::text(404, "Not Found", "not found\n"),
            },
            None => Response::text(404, "Not Found", "not found\n"),
        }
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.status,
        response.reason,
        response.mime,
        response.body.len()
    );
    conn.write_all(head.as_bytes())?;
    if method != "HEAD" {
        conn.write_all(&response.body)?;
    }
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Write);
    Ok(())
}

struct Response {
    status: u16,
    reason: &'static str,
    mime: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response { status, reason, mime: "text/plain; charset=utf-8", body: body.as_bytes().to_vec() }
    }
}

/// The file a request target names inside `root`: no query or fragment, percent-decoded,
/// never outside `root`; a folder means its index.html, and a path without an extension that
/// names no file is the app itself (index.html).
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut file = root.to_path_buf();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => file.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    if file.is_file() {
        return Some(file);
    }
    if file.extension().is_none() {
        let index = root.join("index.html");
        return index.is_file().then_some(index);
    }
    None
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
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

/// What `demo --smoke` checks of the UI server: index.html (and the wasm it loads, with the
/// right MIME type).
pub fn check_ui_server(server: &StaticServer, dist: &Path) -> Result {
    let port = server.addr.port();
    let (status, mime, body) = http_get(port, "/index.html")?;
    if status != 200 || !mime.starts_with("text/html") || !String::from_utf8_lossy(&body).contains("<") {
        return Err(format!("UI server: /index.html gave {status} {mime:?}").into());
    }
    for entry in std::fs::read_dir(dist)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") {
            let (status, mime, body) = http_get(port, &format!("/{name}"))?;
            if status != 200 || mime != "application/wasm" || !body.starts_with(b"\0asm") {
                return Err(format!("UI server: /{name} gave {status} {mime:?}").into());
            }
        }
    }
    println!("UI server: {} answers index.html and its wasm", server.url());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_files_with_their_mime_types_and_stays_inside_its_root() {
        let dir = std::env::temp_dir().join(format!("zabra-xtask-static-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><p>hi</p>").unwrap();
        std::fs::write(dir.join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.join("app.js"), "export {}").unwrap();
        std::fs::write(dir.join("sub/a b.css"), "p{}").unwrap();
        let server = StaticServer::start(&dir, 0).unwrap();
        let port = server.addr.port();
        let get = |p: &str| http_get(port, p).unwrap();
        assert_eq!(get("/").0, 200);
        assert_eq!(get("/?seed=3&lesson=first-election#a").1, "text/html; charset=utf-8");
        assert_eq!(get("/app.wasm").1, "application/wasm");
        assert_eq!(get("/app.js").1, "text/javascript; charset=utf-8");
        assert_eq!(get("/sub/a%20b.css").1, "text/css; charset=utf-8");
        assert_eq!(get("/some/route").0, 200, "paths without an extension are the app");
        assert_eq!(get("/missing.js").0, 404);
        assert_eq!(get("/../Cargo.toml").0, 404);
        assert_eq!(get("/%2e%2e/Cargo.toml").0, 404);
        check_ui_server(&server, &dir).unwrap();
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
