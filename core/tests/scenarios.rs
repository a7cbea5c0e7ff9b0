//! Scenario transcripts: every `core/testdata/**/*.txt` script runs in the simulator and its
//! transcript must equal the `.golden` file beside it. `ZABRA_REWRITE=1 cargo test -p
//! zabra-core --test scenarios` regenerates the golden files (review the diff).
//! A transcript must not end in a safety violation unless the script expected it.

use std::path::{Path, PathBuf};

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("testdata exists") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            scripts(&p, out);
        } else if p.extension().is_some_and(|x| x == "txt") {
            out.push(p);
        }
    }
}

#[test]
fn scenario_transcripts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files = Vec::new();
    scripts(&root, &mut files);
    files.sort();
    assert!(!files.is_empty());
    let rewrite = std::env::var_os("ZABRA_REWRITE").is_some();
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        let got = match zabra_core::sim::script::run_script(&text) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        if got.lines().any(|l| l.starts_with("VIOLATION:")) {
            failures.push(format!(
                "{}: unexpected violation:\n{}",
                f.display(),
                got.lines().filter(|l| l.starts_with("VIOLATION")).collect::<Vec<_>>().join("\n")
            ));
        }
        let golden = f.with_extension("golden");
        if rewrite {
            std::fs::write(&golden, &got).expect("writable");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(_) => failures.push(format!(
                "{}: transcript differs from {} (ZABRA_REWRITE=1 to regenerate)",
                f.display(),
                golden.display()
            )),
            Err(_) => failures.push(format!("{}: no golden file (ZABRA_REWRITE=1 to create)", f.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
