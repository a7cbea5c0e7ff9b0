//! `zabra cluster`: a local cluster under one folder. The supervisor writes each node's
//! config, starts the node processes and owns them: it prints the client connect string,
//! offers kill (SIGKILL), restart, pause (SIGSTOP) and resume (SIGCONT) on its own HTTP port
//! (with the admin token), and stops every node gracefully (SIGTERM) on Ctrl-C or SIGTERM.
//!
//! With `--ui-dir` every node serves the built UI, and the UI's presenter controls call this
//! port from a node's page: a cross-origin call, so the port answers CORS for the members'
//! own origins (and `--allowed-origin`s) only, refuses every other page (`origin.rs`), and
//! still wants the admin token on every action.

use crate::config::{BrowserMember, Member, NodeConfig};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::process::{Child, Command};

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Voting members.
    #[arg(long, default_value_t = 3)]
    pub nodes: u64,
    /// Observers, numbered after the voters.
    #[arg(long, default_value_t = 0)]
    pub observers: u64,
    /// Voting members run by browser tabs or Node.js peers (sids after the native nodes):
    /// the native nodes never dial them; each dials every node with its join token.
    #[arg(long, default_value_t = 0)]
    pub browser_voters: u64,
    /// Observers run by browser tabs or Node.js peers, numbered after the browser voters.
    #[arg(long, default_value_t = 0)]
    pub browser_observers: u64,
    /// Where every node keeps its data (a folder per node).
    #[arg(long, default_value = "zabra-data")]
    pub data_dir: PathBuf,
    /// Shift every port by this much (to run two clusters side by side).
    #[arg(long, default_value_t = 0)]
    pub port_offset: u16,
    /// Admin token for control actions (kill, restart, pause, partition); 128 random bits if absent.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// The supervisor's own HTTP port (control of the node processes).
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
    /// Tick in milliseconds (timeouts scale with it).
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
    /// A web page origin (`http://host:port`) allowed to use the nodes and the supervisor
    /// besides their own (repeatable).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// Ticks a learner has to connect and sync with its leader (a large state needs more).
    #[arg(long, default_value_t = 100)]
    pub init_limit: u64,
    /// Ticks of silence after which a peer is considered gone.
    #[arg(long, default_value_t = 5)]
    pub sync_limit: u64,
    /// Each node snapshots (and drops older log entries) after between half and all of this
    /// many commits, drawn at random (ZooKeeper's snapCount and its default).
    #[arg(long, default_value_t = 100_000)]
    pub snapshot_every: u64,
    /// Event-loop threads of each node (its `threads`; fsyncs have a thread of their own).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The built UI (a folder with index.html), served by every node from its HTTP port.
    #[arg(long)]
    pub ui_dir: Option<PathBuf>,
    /// Client connections from one IP address, per port, on each node (`limits.max_client_cnxns`,
    /// ZooKeeper's `maxClientCnxns`); 0: no limit.
    #[arg(long, default_value_t = crate::limits::Limits::default().max_client_cnxns)]
    pub max_client_cnxns: u32,
    /// Client connections per port in all, on each node (`limits.max_connections`).
    #[arg(long, default_value_t = crate::limits::Limits::default().max_connections)]
    pub max_connections: u32,
}

/// The cluster's shared secret, kept across runs in its data folder.
fn secret_path(a: &ClusterArgs) -> PathBuf {
    a.data_dir.join("cluster.secret")
}

struct Supervisor {
    dir: PathBuf,
    token: String,
    children: BTreeMap<u64, Option<Child>>,
    /// Nodes stopped with SIGSTOP (and not resumed, killed or restarted since).
    paused: std::collections::BTreeSet<u64>,
    /// Held across one control action, waits included: two restarts of one node never start
    /// two processes, and no action sees a node half killed.
    gate: Arc<tokio::sync::Mutex<()>>,
}

type Shared = Arc<Mutex<Supervisor>>;

fn node_config(a: &ClusterArgs, members: &[Member], id: u64, token: &str, supervisor: &str) -> NodeConfig {
    NodeConfig {
        id,
        cluster: "zabra-local".into(),
        data_dir: a.data_dir.join(format!("node-{id}")),
        tick_ms: a.tick_ms,
        init_limit: a.init_limit,
        sync_limit: a.sync_limit,
        min_session_timeout_ms: 4_000,
        max_session_timeout_ms: 40_000,
        snapshot_every: a.snapshot_every,
        threads: a.threads,
        max_frame: 0xFFFFF,
        admin_token: Some(token.to_string()),
        control: true,
        super_digest: None,
        allowed_origins: a.allowed_origins.clone(),
        viewer_token: None,
        limits: crate::limits::Limits {
            max_client_cnxns: a.max_client_cnxns,
            max_connections: a.max_connections,
            ..Default::default()
        },
        fourlw_whitelist: vec!["*".into()],
        secret_file: Some(secret_path(a)),
        // Absolute: a restarted node must find it whatever its working folder.
        ui_dir: a.ui_dir.as_ref().map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
        supervisor: Some(supervisor.to_string()),
        members: members.to_vec(),
        browser_members: browser_members(a),
    }
}

/// The browser members: voters, then observers, numbered after the native nodes.
fn browser_members(a: &ClusterArgs) -> Vec<BrowserMember> {
    let first = a.nodes + a.observers + 1;
    (0..a.browser_voters + a.browser_observers)
        .map(|i| BrowserMember { id: first + i, observer: i >= a.browser_voters })
        .collect()
}

/// One line per browser member with its join token (the terminal of the one who started the
/// cluster is as private as the secret file; `GET /join` gives the same to an admin).
fn print_join_tokens(a: &ClusterArgs) -> Result<(), String> {
    let secret = crate::secrets::read_cluster_secret(&secret_path(a))?;
    for b in browser_members(a) {
        let role = if b.observer { "observer" } else { "voter" };
        let token = zabra_peerwire::join_token(&secret, "zabra-local", b.id);
        println!("  browser {role} {}: join token {token}", b.id);
    }
    Ok(())
}

/// This binary's path. Once the file was replaced (a rebuild or an upgrade while the cluster
/// runs), Linux names it `PATH (deleted)`: a restarted node then runs the file now at PATH.
fn own_binary() -> std::io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let replaced = exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")).map(std::path::PathBuf::from);
    Ok(replaced.filter(|p| p.is_file()).unwrap_or(exe))
}

fn spawn_node(dir: &std::path::Path, id: u64) -> std::io::Result<Child> {
    let exe = own_binary()?;
    // Appended, not truncated: a restart keeps the log of the run that ended (often the crash
    // being investigated).
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("node-{id}.log")))?;
    Command::new(exe)
        .arg("serve")
        .arg("--config")
        .arg(dir.join(format!("node-{id}.toml")))
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
}

pub async fn run(a: ClusterArgs) -> Result<(), String> {
    let token = a.admin_token.clone().unwrap_or_else(crate::secrets::random_token);
    std::fs::create_dir_all(&a.data_dir).map_err(|e| format!("{}: {e}", a.data_dir.display()))?;
    crate::secrets::ensure_cluster_secret(&secret_path(&a))
        .map_err(|e| format!("{}: {e}", secret_path(&a).display()))?;
    let mut members: Vec<Member> =
        (1..=a.nodes + a.observers).map(|i| NodeConfig::local_member(i, a.port_offset)).collect();
    for m in members.iter_mut().skip(a.nodes as usize) {
        m.observer = true;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], a.http_port + a.port_offset));
    let mut children = BTreeMap::new();
    for m in &members {
        let cfg = node_config(&a, &members, m.id, &token, &format!("http://{addr}"));
        cfg.validate().map_err(|e| e.to_string())?;
        let path = a.data_dir.join(format!("node-{}.toml", m.id));
        // The config holds the admin token: owner-only, like every file with a secret.
        crate::secrets::write_private(&path, toml::to_string(&cfg).expect("config serializes").as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        children.insert(m.id, Some(spawn_node(&a.data_dir, m.id).map_err(|e| format!("starting node {}: {e}", m.id))?));
    }
    let connect: Vec<String> = members.iter().map(|m| m.client.to_string()).collect();
    println!("zabra cluster: {} nodes ({} observers), data in {}", members.len(), a.observers, a.data_dir.display());
    println!("connect string: {}", connect.join(","));
    for m in &members {
        println!(
            "  node {}: client {} peer {} http http://{}  log {}",
            m.id,
            m.client,
            m.peer,
            m.http,
            a.data_dir.join(format!("node-{}.log", m.id)).display()
        );
    }
    print_join_tokens(&a)?;
    let sup: Shared = Arc::new(Mutex::new(Supervisor {
        dir: a.data_dir.clone(),
        token: token.clone(),
        children,
        paused: Default::default(),
        gate: Default::default(),
    }));
    // Bound before its address and token are printed: a script that reads the line may call
    // the supervisor at once (supervisor.rs's test got "connection refused" that way).
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("supervisor port {addr}: {e}"))?;
    println!("supervisor: http://{addr}/nodes  (control: POST /nodes/ID/kill|restart|pause|resume?token={token})");
    if a.ui_dir.is_some() {
        println!("UI: http://{}/", members[0].http);
    }
    println!("Ctrl-C stops every node.");
    let router = control_router(addr, &members, &a.allowed_origins).with_state(sup.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("stopping every node");
    let children: Vec<Child> =
        std::mem::take(&mut sup.lock().expect("not poisoned").children).into_values().flatten().collect();
    stop_gracefully(children).await;
    Ok(())
}

/// The supervisor's routes, open to the pages of the members (the UI they serve) and the
/// allowed origins: the origin check refuses any other page, and CORS lets only those read
/// the answers. Actions still need the admin token.
fn control_router(addr: std::net::SocketAddr, members: &[Member], allowed: &[String]) -> Router<Shared> {
    use axum::http::{HeaderValue, Method};
    let origins: Vec<String> = members
        .iter()
        .flat_map(|m| {
            let mut o = vec![format!("http://{}", m.http)];
            if m.http.ip().is_loopback() {
                o.push(format!("http://localhost:{}", m.http.port()));
            }
            o
        })
        .chain(allowed.iter().map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()))
        .collect();
    let policy = crate::origin::OriginPolicy::new(addr, &origins);
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())))
        .allow_methods([Method::GET, Method::POST]);
    Router::new()
        .route("/nodes", get(list))
        .route("/nodes/{id}/{action}", post(control))
        .layer(axum::middleware::from_fn_with_state(policy, crate::origin::check))
        .layer(cors)
}

/// SIGTERM to every node (each makes its queued writes durable and exits; a paused one is
/// resumed to do so), then SIGKILL to any still running after a few seconds.
async fn stop_gracefully(mut children: Vec<Child>) {
    for c in &children {
        let _ = signal(c, nix::sys::signal::Signal::SIGTERM);
        let _ = signal(c, nix::sys::signal::Signal::SIGCONT);
    }
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    for c in &mut children {
        if tokio::time::timeout_at(until, c.wait()).await.is_err() {
            let _ = c.start_kill();
        }
    }
}

async fn list(State(sup): State<Shared>) -> Response {
    let mut s = sup.lock().expect("not poisoned");
    let mut out = BTreeMap::new();
    let Supervisor { children, paused, .. } = &mut *s;
    for (id, c) in children.iter_mut() {
        let state = match c {
            Some(ch) => match ch.try_wait() {
                Ok(None) if paused.contains(id) => format!("paused pid {}", ch.id().unwrap_or(0)),
                Ok(None) => format!("running pid {}", ch.id().unwrap_or(0)),
                Ok(Some(st)) => format!("exited: {st}"),
                Err(e) => format!("unknown: {e}"),
            },
            None => "killed".into(),
        };
        out.insert(*id, state);
    }
    Json(out).into_response()
}

fn signal(c: &Child, sig: nix::sys::signal::Signal) -> Result<(), String> {
    let pid = c.id().ok_or("the process has exited")?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).map_err(|e| e.to_string())
}

/// How long a killed node may take to exit before the supervisor gives up on it.
const REAP_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGKILL, then wait until the process is gone. `kill(2)` returns before the process has
/// exited (a thread inside an fsync finishes it first): a node started at once could find its
/// ports still bound and exit, which CI saw as a restart that never logged its start.
async fn kill_and_reap(mut c: Child) -> Result<(), String> {
    let _ = c.start_kill();
    match tokio::time::timeout(REAP_LIMIT, c.wait()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("waiting for the killed process: {e}")),
        Err(_) => Err(format!("the killed process did not exit within {REAP_LIMIT:?}")),
    }
}

async fn control(
    State(sup): State<Shared>,
    Path((id, action)): Path<(u64, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    use nix::sys::signal::Signal;
    let gate = {
        let s = sup.lock().expect("not poisoned");
        if !q.get("token").is_some_and(|t| crate::secrets::token_eq(t, &s.token)) {
            return (StatusCode::UNAUTHORIZED, "admin token missing or wrong\n").into_response();
        }
        if !s.children.contains_key(&id) {
            return (StatusCode::NOT_FOUND, "no such node\n").into_response();
        }
        s.gate.clone()
    };
    let _gate = gate.lock().await;
    // The process to kill leaves its slot under the lock and is waited for without it.
    let (dying, dir, mut result) = {
        let mut s = sup.lock().expect("not poisoned");
        let dir = s.dir.clone();
        let slot = s.children.get_mut(&id).expect("checked above");
        let mut dying = None;
        let result = match (action.as_str(), slot.as_mut()) {
            ("kill" | "restart", Some(_)) => {
                dying = slot.take();
                Ok(())
            }
            ("restart", None) => Ok(()),
            ("pause", Some(c)) => signal(c, Signal::SIGSTOP),
            ("resume", Some(c)) => signal(c, Signal::SIGCONT),
            ("kill" | "pause" | "resume", None) => Err("the node is not running".to_string()),
            _ => Err(format!("unknown action {action:?} (kill, restart, pause, resume)")),
        };
        // Paused until resumed, killed or restarted; a refused action changes nothing.
        if result.is_ok() {
            if action == "pause" {
                s.paused.insert(id);
            } else {
                s.paused.remove(&id);
            }
        }
        (dying, dir, result)
    };
    if let Some(c) = dying {
        result = kill_and_reap(c).await;
    }
    if result.is_ok() && action == "restart" {
        result = spawn_node(&dir, id).map_err(|e| e.to_string()).map(|c| {
            sup.lock().expect("not poisoned").children.insert(id, Some(c));
        });
    }
    match result {
        Ok(()) => (StatusCode::OK, format!("node {id}: {action} done\n")).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("node {id}: {e}\n")).into_response(),
    }
}
