//! Where the repository is, how to start cargo and other tools, and how to time things.

use crate::Result;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What every command needs to know about its surroundings.
pub struct Ctx {
    /// The workspace root (the folder holding the root `Cargo.toml`).
    pub root: PathBuf,
    /// The cargo that runs xtask (`$CARGO`), so child builds use the same toolchain.
    pub cargo: OsString,
    /// Running under CI (`CI` set and not `false`/`0`): no colours, no progress bars.
    pub ci: bool,
}

impl Ctx {
    pub fn new() -> Result<Ctx> {
        let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Ok(Ctx { root: repo_root()?, cargo, ci })
    }

    /// `cargo <args>` in the workspace root, through `$CARGO`.
    pub fn cargo<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(&self.cargo);
        cmd.args(args).current_dir(&self.root);
        if self.ci {
            set_default_env(&mut cmd, "CARGO_TERM_COLOR", "never");
            set_default_env(&mut cmd, "CARGO_TERM_PROGRESS_WHEN", "never");
        }
        cmd
    }

    /// Cargo's target directory, as cargo itself resolves it (`CARGO_TARGET_DIR`, config, or
    /// `<root>/target`).
    pub fn target_dir(&self) -> Result<PathBuf> {
        let out = self.cargo(["metadata", "--format-version", "1", "--no-deps", "--offline"]).output()?;
        if !out.status.success() {
            return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let dir = meta["target_directory"].as_str().ok_or("cargo metadata gave no target_directory")?;
        Ok(PathBuf::from(dir))
    }
}

/// The workspace root: `$CARGO_MANIFEST_DIR/..` when cargo runs us, else where we were built.
fn repo_root() -> Result<PathBuf> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest.parent().ok_or("xtask's manifest folder has no parent")?;
    if !root.join("Cargo.toml").is_file() {
        return Err(format!("no Cargo.toml in {}", root.display()).into());
    }
    Ok(root.to_path_buf())
}

fn set_default_env(cmd: &mut Command, key: &str, value: &str) {
    if std::env::var_os(key).is_none() {
        cmd.env(key, value);
    }
}

/// Runs this same xtask command from an optimized build (`cargo run --release -p xtask`),
/// failing with that run's failure (already shown) if it fails.
pub fn rerun_optimized() -> Result {
    let ctx = Ctx::new()?;
    eprintln!("(running an optimized build of xtask: cargo run --release -p xtask)");
    let mut cmd = ctx.cargo(["run", "--quiet", "--release", "--package", "xtask", "--"]);
    let status = cmd.args(std::env::args_os().skip(1)).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(Shown(format!("optimized xtask failed ({status})")).into())
    }
}

/// Runs a command with inherited stdio, echoing it first; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result {
    println!("$ {}", show(cmd));
    let status = cmd.status().map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)).into())
    }
}

/// Runs a command and returns its stdout; fails (with its stderr) unless it exits 0.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`{}` failed ({}): {}", show(cmd), out.status, err.trim()).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A command as a user would type it (program name without its folder).
pub fn show(cmd: &Command) -> String {
    let prog = Path::new(cmd.get_program())
        .file_name()
        .map_or_else(|| cmd.get_program().to_string_lossy(), |f| f.to_string_lossy());
    let mut s = prog.into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// An error whose message has been shown already (e.g. `sim`, which must end with its
/// summary line): `main` exits non-zero without printing it again.
#[derive(Debug)]
pub struct Shown(pub String);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Shown {}

/// Seconds with one decimal, the unit every timing here is printed in.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// A `zabra cluster` supervisor this command started: stopped on drop with SIGTERM (it stops
/// its nodes), then killed if it lingers. Only the process we started is signalled.
pub struct Supervisor(pub std::process::Child);

impl Drop for Supervisor {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < until && matches!(self.0.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
