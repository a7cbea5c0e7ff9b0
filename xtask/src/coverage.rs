//! Coverage floors: a sweep that no longer reaches what the safety argument depends on (TRUNC
//! and SNAP syncs, crashes in the middle of them, abdications, stale servers answering
//! clients, would-be leaders at the same time) would still pass every check, so CI's sweep
//! stage requires a minimum count of each per 1,000 seeds (`cargo xtask sim --floors`).

use zabra_core::sim::FaultStats;

/// Minimum counts per 1,000 seeds, set from what CI's sweep (`--seeds 300 --nodes 3,5`)
/// reaches, with a margin for changes of the fault model that shift seeds. A count the fault
/// model cannot reach yet (or too rarely for a floor to hold) has floor 0: raise it here, one
/// line per count, once it does. Every name is one of `FaultStats::coverage` (a test checks).
pub const FLOORS: [(&str, u64); 9] = [
    // Measured with `cargo xtask sim --seeds 300 --nodes 3,5` after the wider fault model
    // (per-peer timings, election oracle, learner churn, armed mid-sync crashes); floors at
    // about a third of that. In brackets: 2,100 seeds at 3, 5 and 7 voters.
    ("trunc-syncs", 50),         // 157 (164)
    ("snap-syncs", 600),         // 895 (1,094)
    ("mid-trunc-crashes", 3),    // 10 (11)
    ("mid-snap-crashes", 20),    // 62 (65)
    ("abdications", 150),        // 515 (440)
    ("stale-replies", 70),       // 210 (229)
    ("concurrent-leaders", 120), // 3,325 (3,317)
    ("overlapping-epochs", 15),  // 53 (47)
    ("cumulative-acks", 2500),   // 7,578, with acks cumulative and the simulated disks group-committing
];

/// `count` per 1,000 of `runs`, rounded to the nearest.
fn per_thousand(count: u64, runs: u64) -> u64 {
    (count * 1000 + runs / 2) / runs.max(1)
}

/// `coverage per 1,000 seeds: trunc-syncs 123, ...` for a sweep of `runs` seeds.
pub fn line(stats: &FaultStats, runs: u64) -> String {
    let counts: Vec<String> =
        stats.coverage().iter().map(|(name, n)| format!("{name} {}", per_thousand(*n, runs))).collect();
    format!("coverage per 1,000 seeds: {}", counts.join(", "))
}

/// Every count below its floor, by name; `Ok` when none is.
pub fn check(stats: &FaultStats, runs: u64) -> Result<(), String> {
    let counts = stats.coverage();
    let mut low = Vec::new();
    for (name, floor) in FLOORS {
        let n = counts.iter().find(|(c, _)| *c == name).map_or(0, |(_, n)| *n);
        // Compared exactly: n per `runs` seeds against `floor` per 1,000.
        if n * 1000 < floor * runs {
            low.push(format!("{name} {} per 1,000 seeds ({n} in {runs}), floor {floor}", per_thousand(n, runs)));
        }
    }
    if low.is_empty() {
        Ok(())
    } else {
        Err(format!("coverage below its floor: {}", low.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_floor_names_a_coverage_count() {
        let names: Vec<&str> = FaultStats::default().coverage().into_iter().map(|(n, _)| n).collect();
        for (name, _) in FLOORS {
            assert!(names.contains(&name), "floor {name:?} names no coverage count; counts are {names:?}");
        }
        assert_eq!(names.len(), FLOORS.len(), "every coverage count has a floor (0 if not reached yet)");
    }

    #[test]
    fn a_count_below_its_floor_fails_by_name() {
        let mut stats = FaultStats::default();
        stats.coverage.trunc_syncs = 1_000;
        stats.coverage.snap_syncs = 1_000;
        stats.coverage.concurrent_leaders = 1_000;
        stats.coverage.abdications = 1_000;
        stats.coverage.stale_replies = 1_000;
        stats.coverage.overlapping_epochs = 1_000;
        stats.coverage.cumulative_acks = 10_000;
        stats.crash_points.insert("mid-trunc".into(), 100);
        stats.crash_points.insert("mid-snap".into(), 100);
        assert_eq!(check(&stats, 1_000), Ok(()));
        stats.coverage.snap_syncs = 1;
        let e = check(&stats, 1_000).expect_err("snap-syncs is below its floor");
        assert!(e.contains("snap-syncs 1 per 1,000 seeds") && !e.contains("trunc-syncs"), "{e}");
        assert!(line(&stats, 2_000).contains("trunc-syncs 500, snap-syncs 1,"), "{}", line(&stats, 2_000));
    }
}
