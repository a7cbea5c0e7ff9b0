//! kazoo's own test suite (the `kazoo/tests` shipped inside kazoo 2.11, unmodified) against
//! a fresh local 3-node `zabra cluster`, part of the `clients` stage.
//!
//! kazoo's harness normally starts Java ZooKeeper servers; the pytest plugin
//! `tests/clients/zabra_kazoo.py` gives it this cluster instead, and stops and starts nodes
//! through the supervisor's HTTP control. The plugin lists the tests skipped (features zabra
//! does not have) with their reasons. Every test has a time limit, and so has the whole run.

use crate::clients::{start_cluster, wait_leader};
use crate::util::Ctx;
use crate::Result;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Ports of this cluster: clients 3081-3083, peers 3791-3793, HTTP 8981-8983, supervisor 8980.
const OFFSET: u16 = 900;
const TOKEN: &str = "kazoo-suite";
/// The tick that gives the timeouts kazoo's harness gives its ZooKeeper servers (tickTime 2 s,
/// initLimit 4, syncLimit 2: a follower gives up after 4 s of silence, a new leader waits 8 s
/// for its quorum), with sync and init limits of 5 and 10 ticks. Our default tick of 100 ms
/// (500 ms of silence) turns a CPU-starved debug build writing 512 KB values into elections:
/// kazoo's suite tests its client, not our failure detector.
const TICK_MS: u64 = 800;
/// One test may take this long (kazoo's slowest wait for ZooKeeper is 30 s).
const TEST_LIMIT_S: u32 = 120;
/// The whole suite (it takes about 4 minutes on 2 cores).
const SUITE_LIMIT: Duration = Duration::from_secs(25 * 60);

pub fn run_suite(ctx: &Ctx, python: &Path, zabra: &Path) -> Result {
    let target = ctx.target_dir()?;
    let data = target.join("kazoo-suite-data");
    let tick = TICK_MS.to_string();
    let flags = ["--tick-ms", &tick, "--init-limit", "10", "--sync-limit", "5"];
    let _cluster = start_cluster(zabra, &data, OFFSET, TOKEN, &flags)?;
    wait_leader(OFFSET, Duration::from_secs(60))?;
    let report = target.join("kazoo-suite.xml");
    // The installed `kazoo/tests` folder, given as a path so that test ids read
    // `test_client.py::TestClient::...`.
    let find = "import kazoo.tests, os; print(os.path.dirname(kazoo.tests.__file__))";
    let tests = crate::util::output(Command::new(python).args(["-c", find]))?.trim().to_string();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", &tests, "--rootdir", &tests, "-p", "zabra_kazoo", "-p", "no:cacheprovider"])
        .args(["-p", "no:warnings", "-q", "-rfEsxX", &format!("--timeout={TEST_LIMIT_S}")])
        .arg(format!("--junitxml={}", report.display()))
        .current_dir(&target)
        .env("PYTHONPATH", ctx.root.join("tests/clients"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ZABRA_PORT_OFFSET", OFFSET.to_string())
        .env("ZABRA_NODES", "3")
        .env("ZABRA_TOKEN", TOKEN)
        .env("ZABRA_DATA_DIR", &data)
        // kazoo's tests read these: with CI set, its build check runs too; with no
        // ZOOKEEPER_VERSION they ask the server for its version (the `envi` word).
        .env("CI", "true")
        .env_remove("ZOOKEEPER_VERSION");
    println!("kazoo's test suite against zabra (cluster at port offset {OFFSET}, per-node logs in {})", data.display());
    let began = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("starting pytest: {e}"))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if began.elapsed() > SUITE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kazoo's suite did not finish within {SUITE_LIMIT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!("kazoo's test suite took {} (JUnit report: {})", crate::util::secs(began.elapsed()), report.display());
    if !status.success() {
        return Err(format!("kazoo's test suite failed ({status})").into());
    }
    Ok(())
}
