//! The wasm side of the checks: build the wasm crates, prove the simulator module imports
//! nothing from its host, and run one seed in it under Node.js against a native run.
//!
//! Two independent proofs of "no imports": the import section read here, and Node
//! instantiating the module with an empty import object (`sim-wasm/run.mjs`).

use crate::util::{self, Ctx};
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::Command;
use zabra_core::sim::{run_seed, SimOptions};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The crates that must build for the browser; never `--workspace` (native crates cannot).
/// zabra-recipes: the recipes and their simulator client run in a tab too (lessons).
const WASM_CRATES: [&str; 6] =
    ["zabra-core", "zabra-peerwire", "zabra-sim-wasm", "zabra-wasm", "zabra-www", "zabra-recipes"];

#[derive(clap::Args, Debug)]
pub struct WasmSimArgs {
    /// The seed to run on both sides.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Voting peers.
    #[arg(long, default_value_t = 3)]
    pub nodes: u32,
}

/// `cargo xtask wasm-sim`: everything the wasm stages of `test` do, for one seed.
pub fn run_sim(args: &WasmSimArgs) -> Result {
    let ctx = &Ctx::new()?;
    crate::stages::ensure_wasm_target()?;
    util::run(&mut ctx.cargo(["build", "--release", "--target", WASM_TARGET, "-p", "zabra-sim-wasm"]))?;
    check_imports(ctx)?;
    compare_with_native(ctx, args.seed, args.nodes)
}

/// `cargo build --release --target wasm32-unknown-unknown -p <each wasm crate>`.
pub fn build(ctx: &Ctx) -> Result {
    let mut args = vec!["build", "--release", "--target", WASM_TARGET];
    for krate in WASM_CRATES {
        args.extend(["-p", krate]);
    }
    util::run(&mut ctx.cargo(args))
}

fn sim_module(target_dir: &Path) -> Result<PathBuf> {
    let path = target_dir.join(WASM_TARGET).join("release").join("zabra_sim_wasm.wasm");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is missing: build the wasm crates first", path.display()).into())
    }
}

/// Fails, listing them, if the simulator module imports anything from its host.
pub fn check_imports(ctx: &Ctx) -> Result {
    let path = sim_module(&ctx.target_dir()?)?;
    let bytes = std::fs::read(&path)?;
    let imports = imports(&bytes)?;
    if imports.is_empty() {
        println!("{}: {} bytes, no imports", path.display(), bytes.len());
        return Ok(());
    }
    for i in &imports {
        println!("  import {i}");
    }
    Err(format!("{} imports {} items from its host", path.display(), imports.len()).into())
}

/// Runs `seed` in the wasm module under Node and natively; the traces must match byte for
/// byte (and the module's own hash must match the native one).
pub fn compare_with_native(ctx: &Ctx, seed: u64, nodes: u32) -> Result {
    let target_dir = ctx.target_dir()?;
    let module = sim_module(&target_dir)?;
    let out_dir = target_dir.join("sim-wasm");
    std::fs::create_dir_all(&out_dir)?;
    let wasm_out = out_dir.join(format!("trace-seed-{seed}-n{nodes}.wasm.jsonl"));
    let mut node = Command::new("node");
    node.arg(ctx.root.join("sim-wasm/run.mjs")).arg(&module).args([seed.to_string(), nodes.to_string()]).arg(&wasm_out);
    let line =
        util::output(&mut node).map_err(|e| format!("{e}\n(Node.js 18 or later is needed: apt-get install nodejs)"))?;
    println!("wasm:   {}", line.trim());

    let mut opts = SimOptions::new(seed, nodes as usize);
    opts.record_trace = true;
    let native = run_seed(&opts);
    let native_trace = native.trace_json();
    let hash = format!("{:016x}", native.trace_hash());
    println!(
        "native: seed={seed} nodes={nodes} bytes={} hash={hash} violations={}",
        native_trace.len(),
        native.violations.len()
    );
    if native.trace.is_empty() {
        return Err("the native run recorded no trace events: nothing to compare".into());
    }
    let wasm_trace = std::fs::read(&wasm_out)?;
    if wasm_trace != native_trace.as_bytes() {
        let native_out = out_dir.join(format!("trace-seed-{seed}-n{nodes}.native.jsonl"));
        std::fs::write(&native_out, &native_trace)?;
        let at = first_difference(&wasm_trace, native_trace.as_bytes());
        return Err(format!(
            "wasm and native traces differ from line {at}: compare {} with {}",
            wasm_out.display(),
            native_out.display()
        )
        .into());
    }
    if !line.contains(&format!("hash={hash}")) {
        return Err(format!("same trace bytes, but the module's hash is not {hash}").into());
    }
    println!("same trace on both targets ({} events)", native.trace.len());
    Ok(())
}

/// The 1-based line where two texts first differ.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    1 + a[..same].iter().filter(|&&c| c == b'\n').count()
}

/// The imports of a wasm binary, as `module.name (kind)`, from its import section.
pub fn imports(bytes: &[u8]) -> Result<Vec<String>> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != b"\0asm" {
        return Err("not a wasm binary (bad magic)".into());
    }
    r.take(4)?; // version
    while r.pos < r.bytes.len() {
        let id = r.byte()?;
        let size = usize::try_from(r.leb()?)?;
        let body = r.take(size)?;
        if id == IMPORT_SECTION {
            return import_entries(body);
        }
    }
    Ok(Vec::new())
}

const IMPORT_SECTION: u8 = 2;

fn import_entries(body: &[u8]) -> Result<Vec<String>> {
    let mut r = Reader { bytes: body, pos: 0 };
    let count = r.leb()?;
    let mut out = Vec::new();
    for i in 0..count {
        let (module, name, kind) = (r.name()?, r.name()?, r.byte()?);
        out.push(format!("{module}.{name} ({})", kind_name(kind)));
        // Listing the rest needs each description skipped; the count alone decides.
        if skip_description(&mut r, kind).is_err() {
            out.push(format!("... and {} more (not decoded)", count - i - 1));
            break;
        }
    }
    Ok(out)
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        0 => "function",
        1 => "table",
        2 => "memory",
        3 => "global",
        4 => "tag",
        _ => "unknown kind",
    }
}

/// Skips an import's type description (wasm core spec 5.5.5 and its extensions).
fn skip_description(r: &mut Reader, kind: u8) -> Result {
    match kind {
        0 => r.leb().map(drop),                                // type index
        1 => r.value_type().and_then(|()| r.limits()),         // table: reftype, limits
        2 => r.limits(),                                       // memory
        3 => r.value_type().and_then(|()| r.byte().map(drop)), // global: type, mutability
        4 => r.byte().and_then(|_| r.leb()).map(drop),         // tag: attribute, type index
        _ => Err("unknown import kind".into()),
    }
}

/// A cursor over wasm bytes: LEB128 integers, names, limits.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("truncated wasm binary")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("LEB128 integer too long".into())
    }

    fn name(&mut self) -> Result<String> {
        let len = usize::try_from(self.leb()?)?;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn limits(&mut self) -> Result {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }

    /// A value or reference type: one byte, or `ref`/`ref null` (0x64/0x63) and a heap type.
    fn value_type(&mut self) -> Result {
        if matches!(self.byte()?, 0x63 | 0x64) {
            self.leb()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn a_module_without_an_import_section_imports_nothing() {
        // A type section (id 1) holding one `() -> ()` function type.
        let module = [HEADER, &[1, 4, 1, 0x60, 0, 0]].concat();
        assert!(imports(&module).unwrap().is_empty());
    }

    #[test]
    fn imports_are_listed_with_module_name_and_kind() {
        let entries: &[u8] = &[
            2, // two imports
            3, b'e', b'n', b'v', 1, b'f', 0, 0, // env.f: function of type 0
            3, b'e', b'n', b'v', 3, b'm', b'e', b'm', 2, 1, 1, 2, // env.mem: memory 1..2
        ];
        let section = [&[IMPORT_SECTION, entries.len() as u8][..], entries].concat();
        let module = [HEADER, &section].concat();
        assert_eq!(imports(&module).unwrap(), vec!["env.f (function)", "env.mem (memory)"]);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(imports(b"\x7fELF\x02\x01\x01\0").is_err());
        assert!(imports(&[HEADER, &[IMPORT_SECTION, 9, 1]].concat()).is_err());
    }
}
