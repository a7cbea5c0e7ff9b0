//! `cargo xtask sim`: a seeded chaos sweep of the simulator, on all cores.
//!
//! Runs seeds `from..from+seeds` for each node count, one seed per task on a pool of std
//! threads, prints the coverage counts per 1,000 seeds (`coverage.rs`; with `--floors`, each
//! below its floor fails the sweep) and ends with one line:
//! `N seeds, V violations, E events/s, <fault counts>`.
//! Each failing seed prints its violations and the command that replays it, and is run again
//! with its trace recorded into `sim-failures/seed-<S>-n<nodes>.jsonl`.

use crate::util::{secs, Ctx, Shown};
use crate::Result;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use zabra_core::config::Mutant;
use zabra_core::sim::{run_seed, FaultStats, SeedReport, SimOptions};

/// Failing seeds whose details (and trace files) are printed; the rest are only counted.
const SHOWN_FAILURES: usize = 10;
/// Violations printed per failing seed.
const SHOWN_VIOLATIONS: usize = 5;

#[derive(clap::Args, Clone, Debug)]
pub struct SimArgs {
    /// Seeds to run for each node count.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Cluster sizes (voting peers), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "3")]
    pub nodes: Vec<usize>,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Run with a deliberately wrong behaviour (repeatable); see `Mutant::ALL`.
    #[arg(long = "mutant")]
    pub mutants: Vec<Mutant>,
    /// Observers in each cluster, besides the voters.
    #[arg(long, default_value_t = 0)]
    pub observers: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Succeed only if some violation is found: shows that a mutant gets caught.
    #[arg(long)]
    pub expect_violations: bool,
    /// Fail when a coverage count per 1,000 seeds is below its floor (as CI's sweep does;
    /// the floors are set for `--seeds 300 --nodes 3,5`).
    #[arg(long)]
    pub floors: bool,
}

impl SimArgs {
    /// A plain sweep (no mutants, no observers) with default threads.
    pub fn sweep(seeds: u64, nodes: &[usize]) -> SimArgs {
        SimArgs {
            seeds,
            nodes: nodes.to_vec(),
            from: 0,
            mutants: Vec::new(),
            observers: 0,
            jobs: None,
            expect_violations: false,
            floors: false,
        }
    }

    fn options(&self, seed: u64, nodes: usize) -> SimOptions {
        let mut opts = SimOptions::new(seed, nodes);
        opts.observers = self.observers;
        opts.mutants = self.mutants.clone();
        opts
    }

    /// `SeedReport::replay_command` plus the flags a report does not know about.
    fn replay_command(&self, report: &SeedReport) -> String {
        let mut cmd = report.replay_command();
        if self.observers > 0 {
            cmd.push_str(&format!(" --observers {}", self.observers));
        }
        for m in &self.mutants {
            cmd.push_str(&format!(" --mutant {m}"));
        }
        cmd
    }
}

/// What a sweep found, summed over its runs.
#[derive(Default)]
pub struct Sweep {
    pub runs: u64,
    pub events: u64,
    pub violations: u64,
    pub stats: FaultStats,
    /// Failing seeds, sorted by node count then seed.
    pub failures: Vec<SeedReport>,
    pub elapsed: Duration,
}

impl Sweep {
    fn add(&mut self, report: SeedReport) {
        self.runs += 1;
        self.events += report.events;
        self.violations += report.violations.len() as u64;
        self.stats.merge(&report.stats);
        if !report.passed() {
            self.failures.push(report);
        }
    }

    pub fn events_per_sec(&self) -> u64 {
        per_sec(self.events, self.elapsed)
    }

    /// The closing line: `N seeds, V violations, E events/s, <FaultStats::summary()>`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} seeds, {} violations, {} events/s, {}",
            self.runs,
            self.violations,
            self.events_per_sec(),
            self.stats.summary()
        )
    }
}

/// `count` per second of `elapsed` (all of `count` if no time could be measured).
pub fn per_sec(count: u64, elapsed: Duration) -> u64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        (count as f64 / s).round() as u64
    } else {
        count
    }
}

/// `cargo xtask sim`: sweep, report failures, print the closing line, judge the outcome.
pub fn run(args: &SimArgs) -> Result {
    run_with(&Ctx::new()?, args)
}

/// `cargo xtask sim` with a given context (the `test` command's sweep stage calls this).
pub fn run_with(ctx: &Ctx, args: &SimArgs) -> Result {
    if let Some(n) = args.nodes.iter().find(|n| !(1..=9).contains(*n)) {
        return Err(format!("--nodes {n}: clusters have 1 to 9 voters").into());
    }
    let sweep = sweep(args, ctx.ci);
    report_failures(&ctx.root, args, &sweep)?;
    if !args.mutants.is_empty() {
        for line in catch_fractions(args, &sweep) {
            println!("{line}");
        }
    }
    println!("{}", crate::coverage::line(&sweep.stats, sweep.runs));
    let floors = if args.floors { crate::coverage::check(&sweep.stats, sweep.runs) } else { Ok(()) };
    if let Err(e) = &floors {
        println!("{e}");
    }
    println!("{}", sweep.summary_line());
    let failure = match (sweep.violations, args.expect_violations) {
        (0, false) | (1.., true) => match floors {
            Ok(()) => return Ok(()),
            Err(e) => e,
        },
        (0, true) => "no violations found, but --expect-violations was given".to_string(),
        (v, false) => format!("{v} violations in {} seeds", sweep.failures.len()),
    };
    Err(Shown(failure).into())
}

/// With mutants: per cluster size, the share of seeds that caught them (`caught at 5 nodes:
/// 37 of 200 seeds (18.5%)`), the figure that says how hard the sweep bites.
fn catch_fractions(args: &SimArgs, sweep: &Sweep) -> Vec<String> {
    let mut lines = Vec::new();
    for &n in &args.nodes {
        let caught = sweep.failures.iter().filter(|r| r.nodes == n).count() as u64;
        let pct = caught as f64 * 100.0 / args.seeds.max(1) as f64;
        lines.push(format!("caught at {n} nodes: {caught} of {} seeds ({pct:.1}%)", args.seeds));
    }
    lines
}

/// Runs every (seed, nodes) pair of `args` on a pool of threads and sums the reports.
pub fn sweep(args: &SimArgs, ci: bool) -> Sweep {
    let plan: Vec<(u64, usize)> = args
        .nodes
        .iter()
        .flat_map(|&n| (args.from..args.from.saturating_add(args.seeds)).map(move |s| (s, n)))
        .collect();
    let default_jobs = || thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.jobs.unwrap_or_else(default_jobs).clamp(1, plan.len().max(1));
    println!("{}", describe_plan(args, plan.len(), threads));

    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut sweep = Sweep::default();
    thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, plan, next) = (tx.clone(), &plan, &next);
            scope.spawn(move || {
                while let Some(&(seed, nodes)) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if tx.send(run_guarded(&args.options(seed, nodes))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut progress = Progress::new(plan.len(), ci);
        for report in rx {
            sweep.add(report);
            progress.tick(&sweep, start);
        }
    });
    sweep.elapsed = start.elapsed();
    sweep.failures.sort_by_key(|r| (r.nodes, r.seed));
    sweep
}

fn describe_plan(args: &SimArgs, runs: usize, threads: usize) -> String {
    let mut s = format!(
        "sim: seeds {}..{} x nodes {:?} = {runs} runs on {threads} threads",
        args.from,
        args.from.saturating_add(args.seeds),
        args.nodes
    );
    if args.observers > 0 {
        s.push_str(&format!(", {} observers", args.observers));
    }
    if !args.mutants.is_empty() {
        let names: Vec<&str> = args.mutants.iter().map(|m| m.name()).collect();
        s.push_str(&format!(", mutants: {}", names.join(", ")));
    }
    s
}

/// Runs one seed; a panic in the simulator becomes a violation of that seed rather than
/// ending the sweep (the panic message itself is printed by the default hook).
fn run_guarded(opts: &SimOptions) -> SeedReport {
    catch_unwind(AssertUnwindSafe(|| run_seed(opts))).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_string());
        SeedReport {
            seed: opts.seed,
            nodes: opts.nodes,
            events: 0,
            violations: vec![format!("simulator panicked: {msg}")],
            stats: FaultStats::default(),
            trace: Vec::new(),
        }
    })
}

/// Progress on stderr, at most every few seconds, so long sweeps show life and short ones
/// print nothing but their result.
struct Progress {
    total: usize,
    every: Duration,
    last: Instant,
}

impl Progress {
    fn new(total: usize, ci: bool) -> Progress {
        let every = Duration::from_secs(if ci { 30 } else { 5 });
        Progress { total, every, last: Instant::now() }
    }

    fn tick(&mut self, sweep: &Sweep, start: Instant) {
        if self.last.elapsed() < self.every || sweep.runs as usize >= self.total {
            return;
        }
        self.last = Instant::now();
        eprintln!(
            "  {}/{} runs, {} violations, {} events/s, {}",
            sweep.runs,
            self.total,
            sweep.violations,
            per_sec(sweep.events, start.elapsed()),
            secs(start.elapsed())
        );
    }
}

/// Prints the first failing seeds with their replay commands and writes their traces.
fn report_failures(root: &Path, args: &SimArgs, sweep: &Sweep) -> Result {
    if sweep.failures.is_empty() {
        return Ok(());
    }
    let dir = root.join("sim-failures");
    std::fs::create_dir_all(&dir)?;
    println!("{} failing seeds:", sweep.failures.len());
    for report in sweep.failures.iter().take(SHOWN_FAILURES) {
        println!("FAIL seed {} with {} nodes: {} violations", report.seed, report.nodes, report.violations.len());
        for v in report.violations.iter().take(SHOWN_VIOLATIONS) {
            println!("  - {v}");
        }
        println!("  replay: {}", args.replay_command(report));
        println!("  trace:  {}", write_trace(&dir, args, report)?);
    }
    if sweep.failures.len() > SHOWN_FAILURES {
        println!("... and {} more failing seeds", sweep.failures.len() - SHOWN_FAILURES);
    }
    Ok(())
}

/// Reruns a failing seed with its trace recorded and writes it as JSON lines; says where,
/// and whether the rerun disagreed with the first run (which would break determinism).
fn write_trace(dir: &Path, args: &SimArgs, failed: &SeedReport) -> Result<String> {
    let mut opts = args.options(failed.seed, failed.nodes);
    opts.record_trace = true;
    let rerun = run_guarded(&opts);
    let path = dir.join(format!("seed-{}-n{}.jsonl", failed.seed, failed.nodes));
    std::fs::write(&path, rerun.trace_json())?;
    let shown = path.strip_prefix(dir.parent().unwrap_or(dir)).unwrap_or(&path);
    let mut note = format!("{} ({} events)", shown.display(), rerun.trace.len());
    if rerun.violations != failed.violations {
        note.push_str(" -- WARNING: the recorded rerun found different violations");
    }
    Ok(note)
}
