//! # zabra-tests
//!
//! Tests that span crates or processes: seeded chaos at scale, linearizability checks,
//! multi-process clusters on loopback, and real ZooKeeper clients against a `zabra` cluster
//! (DESIGN.md, "Tests, from fastest to slowest", levels 3 to 6). The multi-process and
//! client tests arrive with the native node; for now this crate checks the core's public
//! simulator API as a downstream crate (and `cargo xtask sim`) sees it.

#[cfg(test)]
mod tests {
    use zabra_core::config::Mutant;
    use zabra_core::sim::{run_seed, SimOptions};

    /// `cargo xtask sim --mutant NAME` parses the names that `Mutant` prints.
    #[test]
    fn mutant_names_round_trip() {
        for m in Mutant::ALL {
            assert_eq!(m.name().parse::<Mutant>(), Ok(m));
        }
        assert!("no-such-mutant".parse::<Mutant>().is_err());
    }

    /// One seed through the public API: it passes, and its replay line names it.
    #[test]
    fn one_seed_passes_and_names_its_replay() {
        let report = run_seed(&SimOptions::new(7, 3));
        assert!(report.passed(), "violations: {:?}", report.violations);
        assert!(report.events > 0);
        assert!(report.replay_command().contains("--from 7"));
    }
}
