//! A 3-node Apache ZooKeeper ensemble on loopback, from Debian's `zookeeper` package, run
//! as three JVMs this command starts and ends by PID. The launch is the package's own
//! (`QuorumPeerMain` from `/usr/share/java/zookeeper.jar`) plus upstream's default heap
//! (`-Xmx1000m`, what `zkEnv.sh` of Apache's tarball sets) and a log4j file log at INFO.
//!
//! Ports: client 21181-3, quorum 21281-3, election 21381-3 (the test suite uses none).

use super::Servers;
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const JAR: &str = "/usr/share/java/zookeeper.jar";
const LOG_JARS: [&str; 2] = ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"];

/// ZooKeeper's timing: its defaults (Debian's example config) or scaled to Zabra's.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub label: &'static str,
    pub tick_ms: u64,
    pub init_limit: u64,
    pub sync_limit: u64,
    /// FastLeaderElection's first and longest notification interval (None: ZK's 200 ms, 60 s).
    pub fle_ms: Option<(u64, u64)>,
}

/// tickTime 2000, initLimit 10, syncLimit 5: a silent leader is noticed after 10 s.
pub const DEFAULT: Timing = Timing { label: "defaults", tick_ms: 2000, init_limit: 10, sync_limit: 5, fle_ms: None };

/// Zabra's defaults (native-node config.rs, DESIGN.md): tick 100 ms, init 100 ticks, sync 5
/// ticks (a silent leader noticed after 0.5 s), election notifications from 50 ms doubling
/// to 2 s. ZooKeeper's finalize wait (200 ms) is a constant and stays.
pub const SCALED: Timing = Timing {
    label: "timing scaled to Zabra's",
    tick_ms: 100,
    init_limit: 100,
    sync_limit: 5,
    fle_ms: Some((50, 2000)),
};

pub struct Ensemble {
    dir: PathBuf,
    timing: Timing,
    children: Vec<Child>,
}

fn client_port(i: usize) -> u16 {
    21181 + i as u16
}

fn config(dir: &Path, i: usize, t: &Timing) -> String {
    let servers: String = (0..3).map(|j| format!("server.{}=127.0.0.1:{}:{}\n", j + 1, 21281 + j, 21381 + j)).collect();
    // Session bounds as Zabra's (4 s to 40 s): ZooKeeper derives them from the tick otherwise.
    format!(
        "tickTime={}\ninitLimit={}\nsyncLimit={}\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
         forceSync=yes\n4lw.commands.whitelist=*\nadmin.enableServer=false\nmaxClientCnxns=0\n\
         minSessionTimeout=4000\nmaxSessionTimeout=40000\n{servers}",
        t.tick_ms,
        t.init_limit,
        t.sync_limit,
        dir.join("data").display(),
        client_port(i)
    )
}

fn log4j(dir: &Path) -> String {
    format!(
        "log4j.rootLogger=INFO, FILE\nlog4j.appender.FILE=org.apache.log4j.FileAppender\n\
         log4j.appender.FILE.File={}\nlog4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
        dir.join("zookeeper.log").display()
    )
}

/// Whether Debian's ZooKeeper and a Java runtime are here.
pub fn installed() -> bool {
    Path::new(JAR).is_file() && LOG_JARS.iter().all(|j| Path::new(j).is_file()) && Path::new("/usr/bin/java").is_file()
}

impl Ensemble {
    /// Writes the three configs under `dir` (emptied first) and starts the JVMs.
    pub fn start(dir: &Path, timing: Timing) -> Result<Ensemble> {
        let _ = std::fs::remove_dir_all(dir);
        for i in 0..3 {
            let node = dir.join(format!("zk-{}", i + 1));
            std::fs::create_dir_all(node.join("data"))?;
            std::fs::write(node.join("data").join("myid"), format!("{}\n", i + 1))?;
            std::fs::write(node.join("zoo.cfg"), config(&node, i, &timing))?;
            std::fs::write(node.join("log4j.properties"), log4j(&node))?;
        }
        let mut e = Ensemble { dir: dir.to_path_buf(), timing, children: Vec::new() };
        for i in 0..3 {
            let child = e.spawn(i)?;
            e.children.push(child);
        }
        Ok(e)
    }

    fn spawn(&self, i: usize) -> Result<Child> {
        let node = self.dir.join(format!("zk-{}", i + 1));
        let cp = [node.display().to_string(), JAR.into(), LOG_JARS[0].into(), LOG_JARS[1].into()].join(":");
        let mut cmd = Command::new("/usr/bin/java");
        cmd.arg("-Xmx1000m");
        if let Some((min, max)) = self.timing.fle_ms {
            cmd.arg(format!("-Dzookeeper.fastleader.minNotificationInterval={min}"));
            cmd.arg(format!("-Dzookeeper.fastleader.maxNotificationInterval={max}"));
        }
        let out = std::fs::File::create(node.join("stdout.log"))?;
        cmd.arg("-cp").arg(cp).arg("org.apache.zookeeper.server.quorum.QuorumPeerMain").arg(node.join("zoo.cfg"));
        Ok(cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn()?)
    }
}

impl Servers for Ensemble {
    fn name(&self) -> String {
        format!("ZooKeeper 3.8 ({})", self.timing.label)
    }

    fn servers(&self) -> Vec<String> {
        (0..3).map(|i| format!("127.0.0.1:{}", client_port(i))).collect()
    }

    fn pids(&mut self) -> Result<Vec<i32>> {
        Ok(self.children.iter().map(|c| c.id() as i32).collect())
    }

    fn restart(&mut self, i: usize) -> Result {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
        self.children[i] = self.spawn(i)?;
        Ok(())
    }

    fn resume(&mut self, i: usize) -> Result {
        super::signal(self.children[i].id() as i32, nix::sys::signal::Signal::SIGCONT)
    }

    /// A follower's socket read timeout once synced (Learner: tickTime x syncLimit).
    fn silence_limit_ms(&self) -> u64 {
        self.timing.tick_ms * self.timing.sync_limit
    }
}

impl Drop for Ensemble {
    /// SIGCONT (a paused JVM cannot act on SIGTERM), SIGTERM, then SIGKILL after 10 s: only
    /// the JVMs this ensemble started.
    fn drop(&mut self) {
        use nix::sys::signal::Signal;
        for c in &self.children {
            let _ = super::signal(c.id() as i32, Signal::SIGCONT);
            let _ = super::signal(c.id() as i32, Signal::SIGTERM);
        }
        let until = std::time::Instant::now() + Duration::from_secs(10);
        for c in &mut self.children {
            while std::time::Instant::now() < until && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
