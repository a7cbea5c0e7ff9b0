//! The `zabra serve` processes, one per namespace, each with its own config file, data
//! folder and log. The guard SIGKILLs (by pid) every process it started when dropped.

use crate::net::Net;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub const CLIENT_PORT: u16 = 2181;
pub const PEER_PORT: u16 = 2888;
pub const HTTP_PORT: u16 = 8080;

pub struct Node {
    pub id: u64,
    child: Option<Child>,
    pub paused: bool,
}

pub struct Nodes {
    zabra: PathBuf,
    dir: PathBuf,
    pub nodes: Vec<Node>,
    ns: Vec<String>,
}

/// One member's config: its addresses inside its namespace, short timeouts so faults are
/// noticed within a second or two.
fn config(net: &Net, dir: &Path, id: u64, tick_ms: u64) -> String {
    let mut t = format!(
        "id = {id}\ncluster = \"chaos\"\ndata_dir = \"{}\"\ntick_ms = {tick_ms}\ninit_limit = 50\nsync_limit = 5\n\
         min_session_timeout_ms = 2000\nmax_session_timeout_ms = 20000\nsnapshot_every = 2000\n\
         secret_file = \"{}\"\n",
        dir.join(format!("node-{id}")).display(),
        dir.join("cluster.secret").display()
    );
    for m in 1..=net.nodes {
        let a = net.addr(m);
        t.push_str(&format!(
            "[[members]]\nid = {m}\npeer = \"{a}:{PEER_PORT}\"\nclient = \"{a}:{CLIENT_PORT}\"\nhttp = \"{a}:{HTTP_PORT}\"\n"
        ));
    }
    t
}

fn write_secret(path: &Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(hex.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

impl Nodes {
    /// Writes the configs and the secret under `dir` (made afresh) and starts every node.
    pub fn start(zabra: &Path, dir: &Path, net: &Net, tick_ms: u64) -> Result<Nodes, String> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_secret(&dir.join("cluster.secret"))?;
        let mut nodes = Nodes { zabra: zabra.to_path_buf(), dir: dir.to_path_buf(), nodes: Vec::new(), ns: Vec::new() };
        for id in 1..=net.nodes {
            std::fs::write(dir.join(format!("node-{id}.toml")), config(net, dir, id, tick_ms))
                .map_err(|e| format!("config: {e}"))?;
            nodes.ns.push(net.ns(id));
            nodes.nodes.push(Node { id, child: None, paused: false });
            nodes.spawn(id)?;
        }
        Ok(nodes)
    }

    fn node(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[id as usize - 1]
    }

    /// `ip netns exec` execs the node in place: the child's pid is the node's.
    fn spawn(&mut self, id: u64) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{id}.log")))
            .map_err(|e| format!("log: {e}"))?;
        let err = log.try_clone().map_err(|e| format!("log: {e}"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns[id as usize - 1]])
            .arg(&self.zabra)
            .arg("serve")
            .arg("--config")
            .arg(self.dir.join(format!("node-{id}.toml")))
            .env("ZABRA_LOG", "info")
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start node {id}: {e}"))?;
        let n = self.node(id);
        n.child = Some(child);
        n.paused = false;
        Ok(())
    }

    fn signal(&mut self, id: u64, sig: nix::sys::signal::Signal) {
        if let Some(c) = &self.node(id).child {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), sig);
        }
    }

    pub fn running(&self, id: u64) -> bool {
        self.nodes[id as usize - 1].child.is_some()
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, id: u64) {
        self.signal(id, nix::sys::signal::Signal::SIGKILL);
        if let Some(mut c) = self.node(id).child.take() {
            let _ = c.wait();
        }
        self.node(id).paused = false;
    }

    pub fn restart(&mut self, id: u64) -> Result<(), String> {
        if self.running(id) {
            return Ok(());
        }
        self.spawn(id)
    }

    pub fn pause(&mut self, id: u64) {
        self.signal(id, nix::sys::signal::Signal::SIGSTOP);
        self.node(id).paused = true;
    }

    pub fn resume(&mut self, id: u64) {
        self.signal(id, nix::sys::signal::Signal::SIGCONT);
        self.node(id).paused = false;
    }

    /// A node that exited by itself (a crash the nemesis did not cause), with its status.
    pub fn exited(&mut self) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for n in &mut self.nodes {
            if let Some(c) = &mut n.child {
                if let Ok(Some(status)) = c.try_wait() {
                    out.push((n.id, status.to_string()));
                    n.child = None;
                }
            }
        }
        out
    }

    /// Every node running and not paused.
    pub fn revive_all(&mut self) -> Result<(), String> {
        for id in 1..=self.nodes.len() as u64 {
            if self.node(id).paused {
                self.resume(id);
            }
            self.restart(id)?;
        }
        Ok(())
    }

    pub fn log_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("node-{id}.log"))
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for id in 1..=self.nodes.len() as u64 {
            self.kill(id);
        }
    }
}
