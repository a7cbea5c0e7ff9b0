//! The recipe lessons (`recipes/lessons/*.txt`, shown by the UI in its "use cases" group):
//! each runs through [`RecipeScenario`] and its transcript must equal the `.golden` beside
//! it (`ZABRA_REWRITE=1 cargo test -p zabra-recipes --test lessons` regenerates them:
//! review the diff). Then what each lesson claims, checked step by step.

use std::path::Path;
use zabra_recipes::lesson::{run_lesson, ActorView, RecipeScenario};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

#[test]
fn lesson_transcripts() {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .expect("lessons")
        .filter_map(|e| Some(e.ok()?.path()).filter(|p| p.extension().is_some_and(|x| x == "txt")))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let rewrite = std::env::var_os("ZABRA_REWRITE").is_some();
    let mut failures = Vec::new();
    for f in &files {
        let got = match run_lesson(&std::fs::read_to_string(f).expect("readable")) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        if got.contains("\nVIOLATION:") {
            failures.push(format!("{}: a safety violation", f.display()));
        }
        let golden = f.with_extension("golden");
        if rewrite {
            std::fs::write(&golden, &got).expect("writable");
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(got.as_str()) {
            failures.push(format!("{}: transcript differs from {} (ZABRA_REWRITE=1)", f.display(), golden.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The lesson `id` run up to the end of step `step` (its `step`-th `say`, from 0).
fn at_step(id: &str, step: usize) -> RecipeScenario {
    let text = std::fs::read_to_string(dir().join(format!("{id}.txt"))).expect("lesson");
    let mut r = RecipeScenario::new(false);
    let mut says = 0;
    for line in text.lines() {
        if line.trim_start().starts_with("say ") {
            if says == step {
                return r;
            }
            says += 1;
        }
        r.run(line).unwrap_or_else(|e| panic!("{id}: {line}: {e}"));
    }
    panic!("{id} has no step {step}");
}

fn actor<'a>(v: &'a [ActorView], name: &str) -> &'a ActorView {
    v.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("no {name} in {v:?}"))
}

fn token(a: &ActorView) -> u64 {
    let t = a.phase.rsplit("token 0x").next().filter(|_| a.phase.contains("token")).expect("a token");
    u64::from_str_radix(t, 16).expect("hex")
}

fn notified(v: &[ActorView]) -> Vec<u64> {
    v.iter().map(|a| a.notified).collect()
}

#[test]
fn the_lock_lesson_wakes_only_the_next_in_line() {
    let v = at_step("lock", 3).actors();
    assert!(actor(&v, "a").phase.starts_with("holds"), "{v:?}");
    assert!(actor(&v, "b").watches.iter().any(|w| w.contains(&actor(&v, "a").znodes[0])), "b watches a: {v:?}");
    assert!(actor(&v, "c").watches.iter().any(|w| w.contains(&actor(&v, "b").znodes[0])), "c watches b: {v:?}");
    assert_eq!(actor(&v, "c").watches.len(), 1, "one watch each, on the predecessor");
    let first = token(actor(&v, "a"));
    let v = at_step("lock", 4).actors();
    assert_eq!(actor(&v, "a").znodes.len(), 1, "the session is not over yet: {v:?}");
    assert_eq!(notified(&v), [0, 0, 0]);
    let v = at_step("lock", 5).actors();
    assert!(actor(&v, "a").znodes.is_empty(), "the holder's ephemeral went with its session");
    assert_eq!(notified(&v), [0, 1, 0], "only the next in line was notified");
    assert!(actor(&v, "b").phase.starts_with("holds") && !actor(&v, "c").phase.starts_with("holds"));
    let second = token(actor(&v, "b"));
    assert!(second > first, "the token grows");
    let v = at_step("lock", 6).actors();
    assert_eq!(notified(&v), [0, 1, 1]);
    assert!(token(actor(&v, "c")) > second);
}

#[test]
fn the_election_lesson_has_no_herd() {
    let v = at_step("election", 3).actors();
    assert!(actor(&v, "z").watches.iter().any(|w| w.contains(&actor(&v, "y").znodes[0])), "z watches y: {v:?}");
    assert!(!actor(&v, "z").watches.iter().any(|w| w.contains(&actor(&v, "x").znodes[0])), "z does not watch x");
    let v = at_step("election", 4).actors();
    assert!(actor(&v, "x").phase.starts_with("is the leader") && notified(&v) == [0, 0, 0], "no takeover yet: {v:?}");
    let v = at_step("election", 5).actors();
    assert_eq!(notified(&v), [0, 1, 0], "x's expiry woke y only: {v:?}");
    assert!(actor(&v, "y").phase.starts_with("is the leader") && actor(&v, "x").znodes.is_empty());
}

#[test]
fn the_membership_lesson_drops_the_crashed_member() {
    let v = at_step("membership", 4).actors();
    assert_eq!(actor(&v, "monitor").phase, "sees members [web1, web2]", "{v:?}");
    assert_eq!(actor(&v, "web2").znodes, ["/group/web2"], "still there before the expiry");
    let v = at_step("membership", 5).actors();
    assert_eq!(actor(&v, "monitor").phase, "sees members [web1]");
    assert!(actor(&v, "web2").znodes.is_empty());
    assert_eq!(actor(&v, "monitor").notified, 3, "two joins and one departure");
}

#[test]
fn the_config_lesson_reaches_every_subscriber() {
    let v = at_step("config", 3).actors();
    for app in ["app1", "app2"] {
        assert_eq!(actor(&v, app).phase, "sees config \"v2\" (version 1)", "{v:?}");
        assert_eq!(actor(&v, app).notified, 2, "one notification per update");
        assert_eq!(actor(&v, app).watches, ["data /app/config"], "re-armed: {v:?}");
    }
}

#[test]
fn the_queue_and_barrier_lessons_end_as_they_say() {
    let v = at_step("queue", 3).actors();
    assert_eq!(actor(&v, "worker").phase, "took job-a, job-b, job-c", "in order: {v:?}");
    let v = at_step("barrier", 1).actors();
    assert!(v.iter().all(|a| a.phase.starts_with("waits at the barrier")), "nobody enters with 2 of 3: {v:?}");
    let v = at_step("barrier", 4).actors();
    assert!(v.iter().all(|a| a.phase == "left the barrier"), "{v:?}");
}
