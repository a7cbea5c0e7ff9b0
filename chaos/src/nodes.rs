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
    /// Data folders mounted as tmpfs (unmounted on drop).
    mounts: Vec<PathBuf>,
    /// Nodes whose disk is full now.
    pub disk_full: std::collections::BTreeSet<u64>,
    /// Nodes that met a full disk since they last started: their exit is expected (a write
    /// that failed just before the disk was emptied ends the node just after), not a crash.
    pub met_full_disk: std::collections::BTreeSet<u64>,
}

/// Size of each node's tmpfs data folder (memory is used only as it fills).
const TMPFS_SIZE: &str = "size=256m";
const BALLAST: &str = "ballast";

fn sh(cmd: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd} {:?}: {}", args, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// One member's config: its addresses inside its namespace, short timeouts so faults are
/// noticed within a second or two.
fn config(net: &Net, dir: &Path, id: u64, tick_ms: u64) -> String {
    let mut t = render(net, dir, id, tick_ms);
    // Binaries from before the peers authenticated know no secret (ZABRA_CHAOS_NO_SECRET=1).
    if std::env::var_os("ZABRA_CHAOS_NO_SECRET").is_some() {
        t = t.lines().filter(|l| !l.starts_with("secret_file")).map(|l| format!("{l}\n")).collect();
    }
    t
}

fn render(net: &Net, dir: &Path, id: u64, tick_ms: u64) -> String {
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
            // A dead run's tmpfs mounts under it are gone already (`net::cleanup_dead_runs`).
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_secret(&dir.join("cluster.secret"))?;
        let mut nodes = Nodes {
            zabra: zabra.to_path_buf(),
            dir: dir.to_path_buf(),
            nodes: Vec::new(),
            ns: Vec::new(),
            mounts: Vec::new(),
            disk_full: Default::default(),
            met_full_disk: Default::default(),
        };
        for id in 1..=net.nodes {
            // A tmpfs per node, named after the run (so `cleanup` finds a dead run's), that
            // the disk-full fault can fill.
            let data = dir.join(format!("node-{id}"));
            std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
            let source = format!("{}tmpfs", net.prefix);
            sh(
                "mount",
                &[
                    "-t".as_ref(),
                    "tmpfs".as_ref(),
                    "-o".as_ref(),
                    TMPFS_SIZE.as_ref(),
                    source.as_ref(),
                    data.as_os_str(),
                ],
            )?;
            nodes.mounts.push(data);
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
        self.met_full_disk.remove(&id);
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

    /// Nodes that exited by themselves, with their status and whether their disk was full
    /// (an exit then is expected; otherwise it is a crash the nemesis did not cause).
    pub fn exited(&mut self) -> Vec<(u64, String, bool)> {
        let mut out = Vec::new();
        for n in &mut self.nodes {
            if let Some(c) = &mut n.child {
                if let Ok(Some(status)) = c.try_wait() {
                    out.push((n.id, status.to_string(), self.met_full_disk.contains(&n.id)));
                    n.child = None;
                }
            }
        }
        out
    }

    /// Every node running and not paused, every disk with room.
    pub fn revive_all(&mut self) -> Result<(), String> {
        for id in 1..=self.nodes.len() as u64 {
            if self.disk_full.remove(&id) {
                self.free_disk(id);
            }
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

impl Nodes {
    fn data(&self, id: u64) -> PathBuf {
        self.dir.join(format!("node-{id}"))
    }

    /// Fills node `id`'s data folder to the last byte; the free space it took.
    pub fn fill_disk(&mut self, id: u64) -> Result<u64, String> {
        let data = self.data(id);
        let avail = sh("df", &["--output=avail".as_ref(), "-B1".as_ref(), data.as_os_str()])?;
        let bytes: u64 = avail.lines().nth(1).and_then(|l| l.trim().parse().ok()).ok_or("df said nothing")?;
        self.disk_full.insert(id);
        self.met_full_disk.insert(id);
        // Most of it at once, then the last bytes a chunk at a time until the disk says no.
        let ballast = data.join(BALLAST);
        let bulk = bytes.saturating_sub(1 << 20).max(4096);
        sh("fallocate", &["-l".as_ref(), bulk.to_string().as_ref(), ballast.as_os_str()])?;
        let mut rest = std::fs::File::create(data.join(format!("{BALLAST}2"))).map_err(|e| e.to_string())?;
        let chunk = vec![0u8; 64 << 10];
        for _ in 0..64 {
            if std::io::Write::write_all(&mut rest, &chunk).is_err() {
                break;
            }
        }
        Ok(bytes)
    }

    pub fn free_disk(&mut self, id: u64) {
        let _ = std::fs::remove_file(self.data(id).join(BALLAST));
        let _ = std::fs::remove_file(self.data(id).join(format!("{BALLAST}2")));
    }

    /// Node `id` must be down: appends a torn record to its newest log segment, the way a
    /// crash in the middle of a write leaves it (a header and part of a payload that was
    /// never synced, so never acknowledged). Returns the segment and the bytes added.
    pub fn tear_log(&mut self, id: u64, garbage: &[u8]) -> Result<(PathBuf, usize), String> {
        use std::io::Write;
        let data = self.data(id);
        let newest = std::fs::read_dir(&data)
            .map_err(|e| format!("{}: {e}", data.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("log.")))
            .max()
            .ok_or("no log segment")?;
        let mut f =
            std::fs::OpenOptions::new().append(true).open(&newest).map_err(|e| format!("{}: {e}", newest.display()))?;
        f.write_all(garbage).map_err(|e| format!("{}: {e}", newest.display()))?;
        Ok((newest, garbage.len()))
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for id in 1..=self.nodes.len() as u64 {
            self.kill(id);
        }
        for m in &self.mounts {
            if let Err(e) = sh("umount", &[m.as_os_str()]) {
                eprintln!("chaos: cleanup: {e}");
            }
        }
    }
}
