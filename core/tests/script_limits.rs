//! Scenario lines are also what students type in the classroom and what share links carry:
//! hostile values must be errors, never a panic, a huge allocation or a run without end.
//! Each of these panicked, ran out of memory or ran for minutes before the limits (found
//! with the fuzz target `script`, `fuzz/fuzz_targets/script.rs`).

use zabra_core::sim::script::{run_script, Scenario};

fn refused(script: &str, why: &str) {
    let err = run_script(script).expect_err(script);
    assert!(err.contains(why), "{script:?}: {err}");
    // The classroom runs the same lines one at a time.
    let mut s = Scenario::new(false);
    let last = script.lines().map(|l| s.run(l)).last().expect("a line");
    assert!(last.is_err(), "{script:?}");
}

#[test]
fn a_duration_that_overflows_is_refused() {
    refused("cluster 3\nrun 18446744073709551s\n", "bad duration");
    refused("cluster 3\nslowdisk 1 18446744073709551615ms..18446744073709551615ms\n", "bad duration");
    refused("cluster 3\nnetdelay 1 1ms..99999999999999999s\n", "bad duration");
}

#[test]
fn durations_above_ten_minutes_are_refused() {
    refused("cluster 3\nrun 601s\n", "at most 10 minutes");
    refused("cluster 3\nstabilize 100000000ms\n", "at most 10 minutes");
    // The classroom records every event of that time (fuzz target `script`, oom-8db2f364…:
    // `run 7777777` in a 5-peer cluster recorded over 512 MB).
    refused("cluster 5\nstart\nrun 7777777\n", "at most 10 minutes");
}

#[test]
fn a_log_range_of_billions_of_entries_is_refused() {
    refused("cluster 1\nset 1 log=(1,1)..(1,4000000000)\n", "at most 100000 entries");
}

#[test]
fn observers_are_bounded_like_voters() {
    refused("cluster 3 observers=100000000\n", "0 to 9 observers");
}

/// Fuzz target `script` (crash-043761f2…): `set` gave peer 3 a log entry of epoch 7249 with
/// accepted epoch 7. Elected for its longer history, it led epoch 8 and proposed (8,1) after
/// (7249,1): `Log::append` panicked. A peer refuses to start from a history newer than the
/// epochs it promised (no real run writes one), and the script says so.
#[test]
fn a_log_newer_than_the_accepted_epoch_is_refused_at_start() {
    let script =
        "cluster 3\nset 3 accepted=7 current=7 log=(7249,1)\nstart\nstabilize 5s\nclient 1 write /a x\nrun 1s\n";
    let out = run_script(script);
    let text = match &out {
        Ok(t) | Err(t) => t,
    };
    assert!(!text.contains("(8,"), "no epoch 8 after (7249,1): {out:?}");
    let mut s = Scenario::new(false);
    for line in script.lines() {
        let _ = s.run(line);
    }
}

/// Fuzz target `script` (crash-850267fd…): a `set` log out of zxid order reached
/// `Log::new`'s assertion when the peer started. The line is refused, and a peer refuses to
/// start from such a store.
#[test]
fn a_log_out_of_zxid_order_is_refused() {
    refused("cluster 3\nset 1 accepted=7 current=7 log=(7,3),(7,1)\n", "zxids must increase");
    refused("cluster 3\nset 1 accepted=7 current=7 log=(7,1)..(7,3),(7,2)\n", "zxids must increase");
    use zabra_core::config::{Config, Membership};
    use zabra_core::peer::{Now, Peer};
    use zabra_core::sim::script::seeded_entry;
    use zabra_core::storage::PersistedState;
    use zabra_core::{Sid, Zxid};
    let log = vec![seeded_entry(Zxid::new(7, 2)), seeded_entry(Zxid::new(7, 1))];
    let state = PersistedState { accepted_epoch: 7, current_epoch: 7, log, ..PersistedState::default() };
    let cfg = Config::new(Sid(1), Membership::numbered(3, 0));
    assert!(Peer::restore(cfg, state, Now::default()).is_err());
}

/// Fuzz target `script` (crash-70f22da1…): `slowdisk 1 40ms..5ms` (low above high) reached the
/// random range's assertion at the next write; now read as 40ms..40ms, as `netdelay` reads it.
#[test]
fn a_slowdisk_range_upside_down_does_not_panic() {
    let out = run_script("cluster 3\nslowdisk 1 40ms..5ms\nstart\nstabilize\nclient 1 write /a x\nrun 1s\n");
    assert!(out.is_ok(), "{out:?}");
}
