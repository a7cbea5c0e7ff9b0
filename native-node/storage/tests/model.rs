//! The disk store against the obviously correct in-memory backend (STYLE "Examples" 7): random
//! op sequences, with syncs, clean reopens and power losses, must load what the model holds.

mod common;

use common::*;
use tempfile::TempDir;
use zabra_core::rng::SplitMix64;
use zabra_core::storage::{Backend, MemoryBackend, PersistOp, PersistedState};
use zabra_core::Zxid;
use zabra_storage::{DiskStore, StoreOptions};

/// Generates ops a peer could emit: increasing zxids, truncations inside the log, checkpoints
/// between the snapshot and the tail, installs at a later epoch, accepted >= current.
struct Gen {
    rng: SplitMix64,
    state: PersistedState,
    epoch: u32,
    counter: u32,
}

impl Gen {
    fn op(&mut self) -> PersistOp {
        let op = match self.rng.range(0, 20) {
            0..=11 => {
                let n = self.rng.range(1, 6) as u32;
                let first = self.counter + 1;
                self.counter += n;
                append(self.epoch, first..=self.counter)
            }
            12 | 13 => PersistOp::Truncate(self.some_logged()),
            14 | 15 => PersistOp::Checkpoint(snapshot_at(self.between_snapshot_and_tail())),
            16 => {
                self.epoch += 1;
                self.counter = 0;
                PersistOp::AcceptedEpoch(self.epoch)
            }
            17 => PersistOp::CurrentEpoch(self.state.accepted_epoch),
            _ => {
                self.epoch += 1;
                let base = self.rng.range(1, 4) as u32;
                self.counter = base + self.rng.range(0, 4) as u32;
                PersistOp::InstallSnapshot(snapshot(self.epoch, base), entries(self.epoch, base - 1..=self.counter))
            }
        };
        self.state.apply(&op);
        if let PersistOp::Truncate(_) = op {
            let last = self.state.last_zxid();
            (self.epoch, self.counter) = (self.epoch.max(last.epoch) + 1, 0);
        }
        op
    }

    fn some_logged(&mut self) -> Zxid {
        let n = self.state.log.len();
        if n == 0 {
            return self.state.snapshot_zxid();
        }
        self.state.log[self.rng.index(n)].zxid
    }

    fn between_snapshot_and_tail(&mut self) -> Zxid {
        let candidates: Vec<Zxid> = self.state.log.iter().map(|e| e.zxid).collect();
        if candidates.is_empty() {
            return self.state.snapshot_zxid();
        }
        candidates[self.rng.index(candidates.len())]
    }
}

fn snapshot_at(z: Zxid) -> zabra_core::message::Snapshot {
    snapshot(z.epoch, z.counter)
}

fn run(seed: u64, opts: StoreOptions) {
    let dir = TempDir::new().unwrap();
    let (mut disk, _, _) = DiskStore::open(dir.path(), opts).unwrap();
    let mut model = MemoryBackend::default();
    let mut pending = Vec::new();
    let mut gen = Gen { rng: SplitMix64::new(seed), state: PersistedState::default(), epoch: 1, counter: 0 };
    for step in 0..300 {
        let op = gen.op();
        disk.write(std::slice::from_ref(&op)).unwrap();
        model.apply(std::slice::from_ref(&op));
        pending.push(op);
        match gen.rng.range(0, 10) {
            0..=3 => {
                Backend::sync(&mut disk);
                model.sync();
                pending.clear();
            }
            4 => {
                Backend::sync(&mut disk);
                model.sync();
                pending.clear();
                assert_eq!(disk.reopen(), model.reopen(), "seed {seed} step {step}: clean reopen");
            }
            5 => {
                let durable = model.clone().reopen();
                let got = power_loss(&mut disk, dir.path(), opts, seed);
                check_prefix(&durable, &pending, &got, &format!("seed {seed} step {step}"));
                model = MemoryBackend::default();
                model
                    .apply(&[PersistOp::AcceptedEpoch(got.accepted_epoch), PersistOp::CurrentEpoch(got.current_epoch)]);
                match &got.snapshot {
                    Some(s) => model.apply(&[PersistOp::InstallSnapshot(s.clone(), got.log.clone())]),
                    None => model.apply(&[PersistOp::Append(got.log.clone())]),
                }
                model.sync();
                pending.clear();
            }
            _ => {}
        }
    }
}

/// Cuts what was not synced (keeping a few torn bytes) and opens the store again.
fn power_loss(disk: &mut DiskStore, dir: &std::path::Path, opts: StoreOptions, seed: u64) -> PersistedState {
    let placeholder = DiskStore::open(&dir.join("placeholder"), opts).unwrap().0;
    std::mem::replace(disk, placeholder).simulate_power_loss(seed % 50).unwrap();
    let (store, got, _) = DiskStore::open(dir, opts).unwrap();
    *disk = store;
    got
}

/// After a power loss the store holds the durable state plus a prefix of the pending ops (an
/// append may be cut between entries), and at least every op up to the last one that is
/// durable on return (anything but an append).
fn check_prefix(durable: &PersistedState, pending: &[PersistOp], got: &PersistedState, at: &str) {
    let must = pending.iter().rposition(|op| !matches!(op, PersistOp::Append(_))).map_or(0, |i| i + 1);
    let mut state = durable.clone();
    let mut candidates = vec![state.clone()];
    for op in pending {
        if let PersistOp::Append(es) = op {
            for j in 1..es.len() {
                let mut partial = state.clone();
                partial.apply(&PersistOp::Append(es[..j].to_vec()));
                candidates.push(partial);
            }
        }
        state.apply(op);
        candidates.push(state.clone());
    }
    let allowed: Vec<_> = candidates.iter().skip(must_index(pending, must)).collect();
    assert!(allowed.contains(&got), "{at}: loaded state is not a prefix of the ops: {:?}", zxids(got));
}

/// Index in the candidate list of the state right after op `must - 1`.
fn must_index(pending: &[PersistOp], must: usize) -> usize {
    pending[..must]
        .iter()
        .map(|op| match op {
            PersistOp::Append(es) => es.len().max(1),
            _ => 1,
        })
        .sum()
}

#[test]
fn disk_store_matches_the_memory_model() {
    for seed in 0..20 {
        run(seed, StoreOptions::default());
    }
}

#[test]
fn disk_store_matches_the_memory_model_with_tiny_segments() {
    for seed in 100..120 {
        run(seed, StoreOptions { segment_bytes: 700, keep_snapshots: 2, preallocate: 300 });
    }
}
