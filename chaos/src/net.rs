//! The network the nodes run in: one Linux network namespace per node, each joined by a veth
//! pair to a bridge in the root namespace (where the clients and this process live), on a
//! /24 of 10.77.0.0/16 that no other interface uses. Every name starts with a prefix unique
//! to the run, so two runs never collide, and `Drop` removes all of it (the namespaces take
//! their veth ends with them), on success, failure, panic or Ctrl-C alike.
//!
//! Faults: a node's link down (it hears and reaches nobody: isolation, flapping), and
//! blackhole routes between two nodes' namespaces (the pair cannot talk; everyone else can:
//! majority/minority splits and rings).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;

/// Runs `ip` with `args`; an error names the command and what it printed.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip").args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

pub struct Net {
    pub prefix: String,
    /// The third octet of the run's subnet 10.77.X.0/24.
    pub subnet: u8,
    pub nodes: u64,
    /// Node pairs (low, high) cut by blackhole routes.
    blocked: BTreeSet<(u64, u64)>,
    /// Nodes whose link is down.
    down: BTreeSet<u64>,
    made_bridge: bool,
    made_ns: Vec<u64>,
}

impl Net {
    /// The namespace of node `i` (from 1).
    pub fn ns(&self, i: u64) -> String {
        format!("{}n{i}", self.prefix)
    }
    fn host_veth(&self, i: u64) -> String {
        format!("{}h{i}", self.prefix)
    }
    fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }
    pub fn addr(&self, i: u64) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.subnet, i as u8)
    }

    /// Makes the bridge and `nodes` namespaces; on an error, what was made is removed.
    pub fn create(nodes: u64, salt: u64) -> Result<Net, String> {
        // The owner's pid in the name: `cleanup` can tell a dead run's leftovers.
        let prefix = format!("zc{:x}x", std::process::id());
        let used = ip_output(&["-4", "-o", "addr"]);
        let subnet = (1..=250u8)
            .map(|k| ((salt as u8).wrapping_add(std::process::id() as u8).wrapping_add(k) % 250) + 1)
            .find(|x| !used.contains(&format!("10.77.{x}.")))
            .ok_or("no free /24 in 10.77.0.0/16")?;
        let mut net = Net {
            prefix,
            subnet,
            nodes,
            blocked: BTreeSet::new(),
            down: BTreeSet::new(),
            made_bridge: false,
            made_ns: Vec::new(),
        };
        net.build()?;
        Ok(net)
    }

    fn build(&mut self) -> Result<(), String> {
        let br = self.bridge();
        ip(&["link", "add", &br, "type", "bridge"])?;
        self.made_bridge = true;
        ip(&["addr", "add", &format!("10.77.{}.254/24", self.subnet), "dev", &br])?;
        ip(&["link", "set", &br, "up"])?;
        for i in 1..=self.nodes {
            let (ns, host, inner) = (self.ns(i), self.host_veth(i), format!("{}v{i}", self.prefix));
            ip(&["netns", "add", &ns])?;
            self.made_ns.push(i);
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &host, "master", &br])?;
            ip(&["link", "set", &host, "up"])?;
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", self.addr(i)), "dev", &inner])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Takes node `i`'s link down (`up = false`) or brings it back.
    pub fn set_link(&mut self, i: u64, up: bool) -> Result<(), String> {
        ip(&["link", "set", &self.host_veth(i), if up { "up" } else { "down" }])?;
        if up {
            self.down.remove(&i);
        } else {
            self.down.insert(i);
        }
        Ok(())
    }

    /// Cuts (or restores) the path between nodes `a` and `b`, both ways.
    pub fn set_blocked(&mut self, a: u64, b: u64, blocked: bool) -> Result<(), String> {
        let verb = if blocked { "add" } else { "del" };
        for (from, to) in [(a, b), (b, a)] {
            let dest = format!("{}/32", self.addr(to));
            ip(&["-n", &self.ns(from), "route", verb, "blackhole", &dest])?;
        }
        let pair = (a.min(b), a.max(b));
        if blocked {
            self.blocked.insert(pair);
        } else {
            self.blocked.remove(&pair);
        }
        Ok(())
    }

    /// Every link up and every cut restored.
    pub fn heal(&mut self) -> Result<(), String> {
        for (a, b) in self.blocked.clone() {
            self.set_blocked(a, b, false)?;
        }
        for i in self.down.clone() {
            self.set_link(i, true)?;
        }
        Ok(())
    }

    /// What is cut now, for the log.
    pub fn faults(&self) -> String {
        format!("links down {:?}, pairs cut {:?}", self.down, self.blocked)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in self.made_ns.clone() {
            // The node processes are stopped by their own guard first; this is in case.
            for pid in ip_output(&["netns", "pids", &self.ns(i)]).split_whitespace().filter_map(|p| p.parse().ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            if let Err(e) = ip(&["netns", "del", &self.ns(i)]) {
                eprintln!("chaos: cleanup: {e}");
            }
        }
        if self.made_bridge {
            if let Err(e) = ip(&["link", "del", &self.bridge()]) {
                eprintln!("chaos: cleanup: {e}");
            }
        }
        // The kernel removes a namespace's veth pairs a moment later: wait (2 s at most) so
        // the run ends with the links as it found them.
        for _ in 0..40 {
            if !ip_output(&["-o", "link"]).contains(&self.prefix) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// The pid in a name this module made (`zc<pid hex>x…`).
fn owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("zc")?;
    u32::from_str_radix(&rest[..rest.find('x')?], 16).ok()
}

/// Removes the namespaces and bridges of runs whose process is gone (killed before its
/// `Drop` could run), after SIGKILLing any process still inside those namespaces (the nodes
/// such a run started). Returns what it removed.
pub fn cleanup_dead_runs() -> Vec<String> {
    let dead = |n: &str| owner(n).is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
    let mut removed = Vec::new();
    for ns in ip_output(&["netns", "list"]).lines().filter_map(|l| l.split_whitespace().next()).filter(|n| dead(n)) {
        for pid in ip_output(&["netns", "pids", ns]).split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        if ip(&["netns", "del", ns]).is_ok() {
            removed.push(ns.to_string());
        }
    }
    // tmpfs data folders of dead runs (their source is named `zc<pid>xtmpfs`).
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        if let (Some(src), Some(at)) = (f.next(), f.next()) {
            if src.ends_with("tmpfs") && dead(src) && Command::new("umount").arg(at).status().is_ok_and(|s| s.success())
            {
                removed.push(at.to_string());
            }
        }
    }
    let links = ip_output(&["-o", "link"]);
    for name in links.lines().filter_map(|l| l.split(": ").nth(1)).map(|n| n.split('@').next().unwrap_or(n)) {
        if dead(name) && ip(&["link", "del", name]).is_ok() {
            removed.push(name.to_string());
        }
    }
    removed
}
