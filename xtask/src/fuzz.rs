//! `cargo xtask fuzz`: the cargo-fuzz targets in `fuzz/` (a workspace of its own, built with
//! nightly Rust), each run for a bounded time, one process at a time.
//!
//! Installs what it needs: the nightly toolchain (`rustup toolchain install nightly --profile
//! minimal`) and cargo-fuzz (`cargo install cargo-fuzz --locked`). Each target starts from
//! `fuzz/corpus/<target>/` (kept between runs, not committed) and the committed seeds in
//! `fuzz/seeds/<target>/` (`script` also reads the scenarios of `core/testdata/`), with the
//! words of its format from `fuzz/dicts/<target>.dict` when there is one. A crash
//! is written to `fuzz/artifacts/<target>/`; the summary names it and the command fails.
//! Replay one with `cargo +nightly fuzz run -O -a TARGET fuzz/artifacts/TARGET/crash-...`
//! from `fuzz/`, then make it a regression test in the crate it belongs to.
//!
//! `cargo xtask fuzz --record` refreshes the seeds from real traffic: it runs the `clients`
//! stage with the nodes recording what they read (`ZABRA_RECORD_TRAFFIC`, see
//! `native-node/src/record.rs`) and merges that into `fuzz/seeds/` with `cargo fuzz cmin`.

use crate::util::{self, secs, Ctx, Shown};
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every target, in the order they run.
pub const TARGETS: [&str; 11] = [
    "zk_frame",
    "zk_fourlw",
    "peer_message",
    "peer_handshake",
    "peer_step",
    "storage_record",
    "storage_segment",
    "storage_snapshot",
    "storage_open",
    "config",
    "script",
];

/// Seconds per target in the bounded run of `cargo xtask test`.
const STAGE_SECONDS: u64 = 12;

/// libFuzzer's limits: a unit slower than this many seconds, a process above this RSS or a
/// single allocation above this size is a finding (hostile input must stay bounded).
const UNIT_TIMEOUT_S: u64 = 10;
const RSS_LIMIT_MB: u64 = 2048;
const MALLOC_LIMIT_MB: u64 = 512;

#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Run only this target (default: all of them).
    #[arg(long)]
    pub target: Option<String>,
    /// Instead of fuzzing: record the traffic of the `clients` stage (kazoo's suite, Curator,
    /// zkCli, the recipes, and the peer links of their cluster) and merge it into the
    /// committed seeds of `zk_frame` and `peer_message`, keeping what adds coverage.
    #[arg(long)]
    pub record: bool,
}

pub fn run(args: &FuzzArgs) -> Result {
    if args.record {
        return record(&Ctx::new()?);
    }
    let targets: Vec<&str> = match &args.target {
        None => TARGETS.to_vec(),
        Some(t) => match TARGETS.iter().find(|x| **x == t) {
            Some(x) => vec![*x],
            None => return Err(format!("no fuzz target {t:?} (targets: {})", TARGETS.join(", ")).into()),
        },
    };
    run_with(&Ctx::new()?, args.seconds, &targets)
}

/// The bounded run of `cargo xtask test`: every target for a few seconds.
pub fn stage(ctx: &Ctx) -> Result {
    run_with(ctx, STAGE_SECONDS, &TARGETS)
}

/// One target's outcome, read from libFuzzer's output.
struct Outcome {
    target: String,
    execs: Option<u64>,
    cov: Option<u64>,
    features: Option<u64>,
    corpus: Option<u64>,
    crash: Option<String>,
    took: Duration,
}

fn run_with(ctx: &Ctx, seconds: u64, targets: &[&str]) -> Result {
    let dir = ctx.root.join("fuzz");
    ensure_tools(ctx)?;
    let began = Instant::now();
    let mut build = nightly(&dir, &["fuzz", "build", "-O", "--debug-assertions"]);
    if let [one] = targets {
        build.arg(one);
    }
    util::run(&mut build)?;
    println!("fuzz: built in {}", secs(began.elapsed()));
    let mut outcomes = Vec::new();
    for t in targets {
        let o = run_target(ctx, &dir, t, seconds)?;
        println!(
            "fuzz {t}: {} execs, cov {}, ft {}, corpus {}{}",
            show(o.execs),
            show(o.cov),
            show(o.features),
            show(o.corpus),
            o.crash.as_ref().map_or(String::new(), |c| format!(", CRASH {c}"))
        );
        outcomes.push(o);
    }
    print_table(&outcomes);
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    let list: Vec<String> =
        crashed.iter().map(|o| format!("{}: {}", o.target, o.crash.as_deref().unwrap_or(""))).collect();
    Err(Shown(format!("fuzz: {} target(s) crashed:\n  {}", crashed.len(), list.join("\n  "))).into())
}

/// The fuzz targets whose input the node records (`native-node/src/record.rs`).
const RECORDED: [&str; 2] = ["zk_frame", "peer_message"];

/// Runs the `clients` stage with `ZABRA_RECORD_TRAFFIC` set, then merges each recorded
/// target's inputs into `fuzz/seeds/<target>/` with `cargo fuzz cmin` (inputs that add no
/// coverage to the seeds already there are dropped).
fn record(ctx: &Ctx) -> Result {
    let recorded = ctx.target_dir()?.join("fuzz-traffic");
    let _ = std::fs::remove_dir_all(&recorded);
    std::fs::create_dir_all(&recorded)?;
    // Inherited by every zabra process the stage starts.
    std::env::set_var("ZABRA_RECORD_TRAFFIC", &recorded);
    let began = Instant::now();
    crate::clients::run(ctx)?;
    std::env::remove_var("ZABRA_RECORD_TRAFFIC");
    println!("fuzz --record: the clients stage ran in {}", secs(began.elapsed()));
    let dir = ctx.root.join("fuzz");
    ensure_tools(ctx)?;
    for target in RECORDED {
        let got = files(&recorded.join(target));
        let seeds = dir.join("seeds").join(target);
        let before = files(&seeds);
        let merged = ctx.target_dir()?.join("fuzz-merge").join(target);
        let _ = std::fs::remove_dir_all(&merged);
        std::fs::create_dir_all(&merged)?;
        for f in before.iter().chain(&got) {
            std::fs::copy(f, merged.join(f.file_name().expect("a file")))?;
        }
        util::run(nightly(&dir, &["fuzz", "cmin", "-O", "--debug-assertions", target]).arg(&merged))?;
        let kept = files(&merged);
        let _ = std::fs::remove_dir_all(&seeds);
        std::fs::create_dir_all(&seeds)?;
        for f in &kept {
            std::fs::copy(f, seeds.join(f.file_name().expect("a file")))?;
        }
        // cmin renames what it keeps (by content hash): compare contents.
        let recorded: std::collections::HashSet<Vec<u8>> = got.iter().filter_map(|f| std::fs::read(f).ok()).collect();
        let new = kept.iter().filter(|f| std::fs::read(f).is_ok_and(|b| recorded.contains(&b))).count();
        println!(
            "fuzz --record {target}: {} recorded, {} seeds before, {} after ({new} of them recorded)",
            got.len(),
            before.len(),
            kept.len()
        );
    }
    Ok(())
}

/// The files of a folder (none if it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_string(), |n| n.to_string())
}

fn print_table(outcomes: &[Outcome]) {
    println!("\n{:<18} {:>12} {:>7} {:>8} {:>7} {:>7}  result", "target", "execs", "cov", "ft", "corpus", "time");
    for o in outcomes {
        let verdict = o.crash.as_ref().map_or("ok".to_string(), |c| format!("CRASH {c}"));
        println!(
            "{:<18} {:>12} {:>7} {:>8} {:>7} {:>7}  {verdict}",
            o.target,
            show(o.execs),
            show(o.cov),
            show(o.features),
            show(o.corpus),
            secs(o.took)
        );
    }
}

/// `cargo fuzz ...` with the nightly toolchain, in `fuzz/`, whatever toolchain runs xtask.
fn nightly(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo"]).args(args).current_dir(dir);
    // The stable cargo that runs xtask must not leak into the nightly build.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        cmd.env_remove(var);
    }
    cmd
}

/// The nightly toolchain and cargo-fuzz, installed if missing.
fn ensure_tools(ctx: &Ctx) -> Result {
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_nightly {
        util::run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    let has_fuzz = nightly(&ctx.root, &["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_fuzz {
        util::run(&mut ctx.cargo(["install", "cargo-fuzz", "--locked"]))?;
    }
    println!("{}", util::output(&mut nightly(&ctx.root, &["fuzz", "--version"]))?.trim());
    Ok(())
}

/// Runs one target for `seconds` and reads its figures; a run that overstays its time by
/// more than five minutes is killed (it is the process this command started; `cargo fuzz
/// run` rebuilds first when a source changed since the build above, which takes minutes).
fn run_target(ctx: &Ctx, dir: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let logs = dir.join("target").join("logs");
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = nightly(dir, &["fuzz", "run", "-O", "--debug-assertions", target]);
    cmd.arg(&corpus);
    for seeds in seed_dirs(ctx, dir, target) {
        cmd.arg(seeds);
    }
    cmd.arg("--").args([
        format!("-max_total_time={seconds}"),
        format!("-timeout={UNIT_TIMEOUT_S}"),
        format!("-rss_limit_mb={RSS_LIMIT_MB}"),
        format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"),
        "-print_final_stats=1".to_string(),
    ]);
    // The words of a text format, so mutations reach past its parser's first error.
    let dict = dir.join("dicts").join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    cmd.stdout(log.try_clone()?).stderr(log);
    println!("$ {}  (log: {})", util::show(&cmd), log_path.display());
    let began = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start cargo fuzz: {e}"))?;
    let deadline = began + Duration::from_secs(seconds + 300);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut o = parse(target, &text);
    o.took = began.elapsed();
    match status {
        None => {
            o.crash = Some(format!("overstayed {seconds}s by 5 minutes and was killed; see {}", log_path.display()))
        }
        Some(s) if !s.success() && o.crash.is_none() => {
            o.crash = Some(format!("exited with {s} and no crash file; see {}", log_path.display()))
        }
        _ => {}
    }
    Ok(o)
}

/// The committed seeds of `target`, and for `script` the project's scenarios.
fn seed_dirs(ctx: &Ctx, dir: &Path, target: &str) -> Vec<PathBuf> {
    let mut out = vec![dir.join("seeds").join(target)];
    if target == "script" {
        out.push(ctx.root.join("core").join("testdata"));
    }
    out.into_iter().filter(|d| d.is_dir()).collect()
}

/// Figures from libFuzzer's output: the last status line (`#N ... cov: C ft: F corp: K/..`),
/// the final stats (`stat::number_of_executed_units: N`) and a crash file, if any.
fn parse(target: &str, text: &str) -> Outcome {
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty())?.parse().ok()
    };
    let status = text.lines().rev().find(|l| l.starts_with('#') && l.contains("cov: "));
    let execs = text
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| status.and_then(|l| field(l, "#")));
    let crash = text
        .lines()
        .find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim().to_string()))
        .or_else(|| text.contains("==ERROR: libFuzzer").then(|| "libFuzzer error (see the log)".to_string()));
    Outcome {
        target: target.to_string(),
        execs,
        cov: status.and_then(|l| field(l, "cov: ")),
        features: status.and_then(|l| field(l, "ft: ")),
        corpus: status.and_then(|l| field(l, "corp: ")),
        crash,
        took: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzers_figures_and_crash_file() {
        let ok = "INFO: Seed: 1\n#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0\n#5000\tDONE   cov: 812 ft: 2301 corp: 140/9Kb lim: 4 exec/s: 2500 rss: 60Mb\nDone 5000 runs in 2 second(s)\nstat::number_of_executed_units: 5003\n";
        let o = parse("t", ok);
        assert_eq!((o.execs, o.cov, o.features, o.corpus), (Some(5003), Some(812), Some(2301), Some(140)));
        assert!(o.crash.is_none());
        let crashed = "#9\tNEW    cov: 5 ft: 5 corp: 2/3b\nthread panicked at x.rs:1:1\n==1== ERROR: libFuzzer: deadly signal\nartifact_prefix='a/'; Test unit written to a/crash-abc\n";
        let o = parse("t", crashed);
        assert_eq!(o.crash.as_deref(), Some("a/crash-abc"));
        assert_eq!((o.execs, o.cov), (Some(9), Some(5)));
    }
}
