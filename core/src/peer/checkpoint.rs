//! When a peer takes a checkpoint (a snapshot of the committed tree).
//!
//! ZooKeeper does not snapshot every server at the same zxid: each server waits `snapCount/2`
//! transactions plus a random part below `snapCount/2`, drawn afresh after every snapshot
//! (`SyncRequestProcessor.shouldSnapshot`), so the servers of an ensemble do not all pause
//! for a snapshot at once. We draw the random part from a seeded PRNG of its own (not the
//! election one, so enabling snapshots leaves election traces unchanged); peers have different
//! seeds, so they snapshot at different zxids.

use crate::rng::SplitMix64;

/// Mixed into the peer's seed so this stream differs from the election jitter stream.
const SALT: u64 = 0x736e_6170_5f72_6f6c; // "snap_rol"

#[derive(Clone, Debug)]
pub(crate) struct CheckpointSchedule {
    rng: SplitMix64,
    /// `Config::snapshot_every` (0: never).
    every: u64,
    since: u64,
    /// Commits after the last checkpoint at which the next one is due.
    due: u64,
}

impl CheckpointSchedule {
    pub fn new(every: u64, seed: u64) -> Self {
        let mut s = CheckpointSchedule { rng: SplitMix64::new(seed ^ SALT), every, since: 0, due: 0 };
        s.roll();
        s
    }

    /// Draws the next threshold in `every/2 ..= every - 1` (`every` itself when it is 1).
    fn roll(&mut self) {
        let half = self.every / 2;
        self.due = if self.every <= 1 { self.every } else { half + self.rng.range(0, self.every - half - 1) };
    }

    /// Counts one applied commit.
    pub fn committed(&mut self) {
        self.since += 1;
    }

    /// True when a checkpoint is due; the count restarts and a new threshold is drawn.
    pub fn take_due(&mut self) -> bool {
        if self.every == 0 || self.since < self.due {
            return false;
        }
        self.since = 0;
        self.roll();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(every: u64, seed: u64, n: usize) -> Vec<u64> {
        let mut s = CheckpointSchedule::new(every, seed);
        (0..n)
            .map(|_| {
                let mut commits = 0;
                while !s.take_due() {
                    s.committed();
                    commits += 1;
                }
                commits
            })
            .collect()
    }

    #[test]
    fn thresholds_stay_in_the_upper_half_and_vary() {
        let t = thresholds(100, 7, 50);
        assert!(t.iter().all(|c| (50..100).contains(c)), "{t:?}");
        assert!(t.windows(2).any(|w| w[0] != w[1]), "drawn afresh after each checkpoint: {t:?}");
        assert_ne!(thresholds(100, 1, 5), thresholds(100, 2, 5), "peers with other seeds differ");
    }

    #[test]
    fn small_and_zero_intervals() {
        assert_eq!(thresholds(1, 3, 4), vec![1, 1, 1, 1]);
        assert!(thresholds(2, 3, 8).iter().all(|c| *c == 1));
        let mut never = CheckpointSchedule::new(0, 1);
        for _ in 0..1000 {
            never.committed();
        }
        assert!(!never.take_due());
    }
}
