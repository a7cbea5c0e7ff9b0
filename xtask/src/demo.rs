//! `cargo xtask demo`: the project's main job, shown to a person.
//!
//! Until the native node and the UI exist, the demo is the scenario script
//! `core/testdata/demo.txt` run in the deterministic simulator: a 3-peer cluster elects a
//! leader, takes some writes, loses its leader and recovers. Its `describe` output is the
//! readable trace printed here.
//!
//! The command is shaped as start / check that it answers / stop, which is what `--smoke`
//! does, so that a later issue can make `Demo::start` launch `zabra cluster` and the UI and
//! `Demo::stop` end them, without changing the callers.

use crate::util::{secs, Ctx};
use crate::Result;
use std::path::PathBuf;
use std::time::Instant;

/// The scenario the simulated demo runs, relative to the workspace root.
const DEMO_SCRIPT: &str = "core/testdata/demo.txt";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Start the demo, check that it answers (a leader is elected), stop; exit 0 or 1.
    #[arg(long)]
    pub smoke: bool,
}

pub fn run(args: &DemoArgs) -> Result {
    run_with(&Ctx::new()?, args)
}

/// `cargo xtask demo` with a given context (the `test` command's smoke stage calls this).
pub fn run_with(ctx: &Ctx, args: &DemoArgs) -> Result {
    let demo = Demo::start(ctx)?;
    if args.smoke {
        let answered = demo.check_answers();
        demo.stop();
        answered?;
        println!("demo smoke: ok (a leader was elected)");
    } else {
        demo.show();
        demo.stop();
    }
    Ok(())
}

/// A started demo. Today: a simulated cluster that has already run its script to the end.
struct Demo {
    script: PathBuf,
    transcript: String,
    took: std::time::Duration,
}

impl Demo {
    fn start(ctx: &Ctx) -> Result<Demo> {
        let script = ctx.root.join(DEMO_SCRIPT);
        let text = std::fs::read_to_string(&script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
        let start = Instant::now();
        let transcript = zabra_core::sim::script::run_script(&text)
            .map_err(|e| format!("the demo scenario {DEMO_SCRIPT} failed: {e}"))?;
        Ok(Demo { script, transcript, took: start.elapsed() })
    }

    /// The demo answers when some peer reports itself `LEADING`.
    fn check_answers(&self) -> Result {
        if self.transcript.lines().any(|l| l.contains("LEADING")) {
            Ok(())
        } else {
            Err(format!("demo smoke: no line with LEADING in the output of {}", self.script.display()).into())
        }
    }

    fn show(&self) {
        println!("Zabra demo: a simulated 3-peer cluster running {DEMO_SCRIPT}");
        println!("(an election, some writes, a leader crash and the recovery)\n");
        print!("{}", self.transcript);
        if !self.transcript.ends_with('\n') {
            println!();
        }
        println!("\nsimulated in {}; the native cluster and the UI arrive with later issues", secs(self.took));
    }

    /// Nothing to stop while the demo is a finished simulation; a live cluster ends here.
    fn stop(self) {}
}
