//! Builds the Yew UI (`www/`, crate `zabra-www`) into `target/www-dist`: the wasm32 target,
//! wasm-bindgen-cli at exactly the `wasm-bindgen` version in Cargo.lock (the CLI and the
//! library must match; `--locked` fails for it, see toolchain-notes.md), the wasm build, the
//! JS bindings, and the static files.

use crate::util::{output, run, Ctx};
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build the UI; returns the dist folder (open its `index.html` through any static server).
/// `release` uses the size profile `wasm-release`; otherwise the dev profile (faster builds).
pub fn build(ctx: &Ctx, release: bool) -> Result<PathBuf> {
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    let version = lock_version(&ctx.root.join("Cargo.lock"), "wasm-bindgen")?;
    let bindgen = ensure_wasm_bindgen(ctx, &version)?;
    let profile = if release { "wasm-release" } else { "dev" };
    let mut cmd = ctx.cargo(["build", "--target", "wasm32-unknown-unknown", "-p", "zabra-www", "--profile", profile]);
    run(&mut cmd)?;
    let target = ctx.target_dir()?;
    let folder = if release { "wasm-release" } else { "debug" };
    let wasm = target.join("wasm32-unknown-unknown").join(folder).join("zabra_www.wasm");
    let dist = target.join("www-dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    std::fs::create_dir_all(&dist)?;
    run(Command::new(&bindgen).args(["--target", "web", "--no-typescript", "--out-dir"]).arg(&dist).arg(&wasm))?;
    if release {
        shrink(&target, &dist.join("zabra_www_bg.wasm"))?;
    }
    // worker.js: the Tabs mode's peer worker, which imports the module built above.
    for f in ["index.html", "style.css", "worker.js"] {
        std::fs::copy(ctx.root.join("www").join(f), dist.join(f))?;
    }
    println!("UI built: {}", dist.display());
    Ok(dist)
}

/// `wasm-opt -Oz` from the npm package binaryen@132 (Debian's binaryen 108 cannot read current
/// wasm-bindgen output; toolchain-notes.md), installed under the target folder on first use.
/// It about halves the release wasm.
fn shrink(target: &Path, wasm: &Path) -> Result {
    let prefix = target.join("binaryen");
    let opt = prefix.join("node_modules").join(".bin").join("wasm-opt");
    if !opt.is_file() {
        std::fs::create_dir_all(&prefix)?;
        let npm = ["install", "--silent", "--no-audit", "--no-fund", "--prefix"];
        run(Command::new("npm").args(npm).arg(&prefix).arg("binaryen@132"))?;
    }
    let features = [
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
    ];
    run(Command::new(&opt).arg("-Oz").args(features).arg(wasm).arg("-o").arg(wasm))?;
    Ok(())
}

/// The version Cargo.lock pins for a package (the first entry named exactly `name`).
fn lock_version(lock: &Path, name: &str) -> Result<String> {
    let text = std::fs::read_to_string(lock)?;
    let want = format!("name = \"{name}\"");
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == want {
            let v = lines.next().and_then(|v| v.trim().strip_prefix("version = \"")?.strip_suffix('"'));
            return v.map(str::to_string).ok_or_else(|| format!("no version for {name} in Cargo.lock").into());
        }
    }
    Err(format!("{name} is not in Cargo.lock").into())
}

/// `wasm-bindgen` at `version`: the one on PATH or in cargo's bin folder if it matches, else
/// `cargo install wasm-bindgen-cli --version <version>` (~2 minutes cold).
fn ensure_wasm_bindgen(ctx: &Ctx, version: &str) -> Result<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join("wasm-bindgen"));
    let candidates = [Some(PathBuf::from("wasm-bindgen")), cargo_bin.clone()];
    for c in candidates.into_iter().flatten() {
        if let Ok(v) = output(Command::new(&c).arg("--version")) {
            if v.split_whitespace().nth(1) == Some(version) {
                return Ok(c);
            }
        }
    }
    run(&mut ctx.cargo(["install", "wasm-bindgen-cli", "--version", version]))?;
    Ok(cargo_bin.unwrap_or_else(|| PathBuf::from("wasm-bindgen")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_version_finds_the_exact_package() {
        let dir = std::env::temp_dir().join(format!("zabra-ui-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("Cargo.lock");
        let text = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9.9.9\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        std::fs::write(&lock, text).unwrap();
        assert_eq!(lock_version(&lock, "wasm-bindgen").unwrap(), "0.2.130");
        assert!(lock_version(&lock, "yew").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
