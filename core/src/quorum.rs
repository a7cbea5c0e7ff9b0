//! Majority quorums over the voting members (observers never count).

use crate::ids::Sid;
use std::collections::BTreeSet;

/// The smallest strict majority of `n` voters.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// True when the voters among `sids` form a strict majority of `voters` (duplicates and
/// non-voters are ignored).
pub fn is_majority<'a>(voters: &BTreeSet<Sid>, sids: impl IntoIterator<Item = &'a Sid>) -> bool {
    let counted: BTreeSet<&Sid> = sids.into_iter().filter(|s| voters.contains(s)).collect();
    counted.len() >= majority(voters.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against the obvious definition: more than half of the voters agree.
        #[test]
        fn matches_slow_definition(n in 1u64..10, picks in proptest::collection::vec(0u64..12, 0..20)) {
            let voters: BTreeSet<Sid> = (1..=n).map(Sid).collect();
            let sids: Vec<Sid> = picks.into_iter().map(Sid).collect();
            let distinct: BTreeSet<u64> = sids.iter().filter(|s| s.0 >= 1 && s.0 <= n).map(|s| s.0).collect();
            prop_assert_eq!(is_majority(&voters, &sids), 2 * distinct.len() > n as usize);
        }
    }
}
