//! The checker against hand-made histories (linearizable ones accepted, broken ones
//! rejected with a small window) and generated linearizable histories (always accepted).

use crate::check::{self, INITIAL};
use crate::checks::{self, FinalView};
use crate::history::{Call, Op, Outcome};
use crate::linear::{self, Verdict};
use proptest::prelude::*;

fn op(id: usize, session: u64, t: (u64, Option<u64>), call: Call, outcome: Outcome) -> Op {
    Op { id, session, key: "/r".into(), invoke: t.0, complete: t.1, call, outcome, multi: None }
}
fn ok(value: u64, version: i32, zxid: u64) -> Outcome {
    Outcome::Ok { value, version, zxid }
}
fn unknown() -> Outcome {
    Outcome::Unknown { error: "timeout".into() }
}
fn write(value: u64) -> Call {
    Call::Write { value, expect: None }
}
fn cas(value: u64, expect: i32) -> Call {
    Call::Write { value, expect: Some(expect) }
}

/// Both the whole check (witness first) and the search alone.
fn verdicts(ops: &[Op]) -> (Verdict, Verdict) {
    let refs: Vec<&Op> = ops.iter().filter(|o| crate::model::relevant(o)).collect();
    (linear::check(ops, INITIAL, 1_000_000), linear::search(&refs, INITIAL, 1_000_000))
}

fn assert_linearizable(ops: &[Op]) {
    let (a, b) = verdicts(ops);
    assert!(matches!(a, Verdict::Ok { .. }), "{a:?}");
    assert_eq!(b, Verdict::Ok { by_witness: false });
}

/// Rejected by the witness-then-search check and by the search alone; the window's op ids.
fn assert_rejected(ops: &[Op]) -> Vec<usize> {
    assert_eq!(verdicts(ops), (Verdict::Violation, Verdict::Violation));
    crate::window::smallest(ops, INITIAL).iter().map(|o| o.id).collect()
}

#[test]
fn sequential_writes_and_reads_pass_by_witness() {
    let h = [
        op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)),
        op(1, 2, (20, Some(30)), Call::Read, ok(1, 1, 5)),
        op(2, 1, (40, Some(50)), cas(2, 1), ok(2, 2, 6)),
        op(3, 2, (60, Some(70)), cas(3, 1), Outcome::BadVersion),
        op(4, 2, (80, Some(90)), Call::Read, ok(2, 2, 6)),
    ];
    assert_linearizable(&h);
    assert_eq!(linear::check(&h, INITIAL, 10), Verdict::Ok { by_witness: true });
}

#[test]
fn expecting_version_minus_one_matches_any_version() {
    let h = [op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)), op(1, 1, (20, Some(30)), cas(2, -1), ok(2, 2, 6))];
    assert_linearizable(&h);
}

#[test]
fn a_read_concurrent_with_a_write_may_see_either() {
    for seen in [ok(0, 0, 1), ok(1, 1, 5)] {
        let h = [op(0, 1, (0, Some(100)), write(1), ok(1, 1, 5)), op(1, 2, (10, Some(20)), Call::Read, seen)];
        assert_linearizable(&h);
    }
}

#[test]
fn stale_read_after_a_completed_write_is_rejected() {
    let mut h = vec![
        op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)),
        op(1, 1, (20, Some(30)), write(2), ok(2, 2, 6)),
        op(2, 2, (40, Some(50)), Call::Read, ok(1, 1, 5)),
    ];
    // Unrelated history before it, so the window has something to cut.
    for i in 0..40u64 {
        let t = 100 + i * 10;
        h.push(op(3 + i as usize, 3, (t, Some(t + 5)), Call::Read, ok(2, 2, 6)));
    }
    let window = assert_rejected(&h);
    assert_eq!(window, vec![1, 2]);
    // In a campaign a plain read may be stale (ZooKeeper reads are served locally); a read
    // right after a sync may not.
    assert!(check::check(&h, &[], 1_000_000).ok());
    let mut synced = h.clone();
    synced.push(op(43, 2, (35, Some(38)), Call::Sync, Outcome::Synced));
    let r = check::check(&synced, &[], 1_000_000);
    assert_eq!(r.anomalies.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(), ["not-linearizable", "sync-then-read"]);
    assert_eq!(r.anomalies[0].window, vec![1, 2]);
}

#[test]
fn the_window_of_a_long_history_is_where_it_breaks() {
    // 200 ops by three sessions, then a CAS that succeeds from a version long gone.
    let mut h = Vec::new();
    for i in 0..200u64 {
        let v = i as i32 + 1;
        h.push(op(i as usize, i % 3, (i * 10, Some(i * 10 + 5)), cas(i + 1, v - 1), ok(i + 1, v, 10 + i)));
    }
    h.push(op(200, 1, (2000, Some(2005)), cas(999, 150), ok(999, 151, 300)));
    for i in 201..260u64 {
        h.push(op(i as usize, 2, (i * 10, Some(i * 10 + 5)), Call::Read, ok(999, 151, 300)));
    }
    let window = assert_rejected(&h);
    assert_eq!(window, vec![199, 200]);
}

#[test]
fn a_lost_write_is_rejected() {
    let h = [op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)), op(1, 2, (20, Some(30)), Call::Read, ok(0, 0, 1))];
    assert_eq!(assert_rejected(&h), vec![0, 1]);
    let finals = [FinalView { node: 2, registers: [("/r".to_string(), (0, 0))].into(), ..Default::default() }];
    let lost = checks::lost_writes(&h, &finals);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].kind, "lost-write");
}

#[test]
fn two_cas_from_one_version_both_succeeding_are_rejected() {
    let h = [op(0, 1, (0, Some(10)), cas(1, 0), ok(1, 1, 5)), op(1, 2, (5, Some(15)), cas(2, 0), ok(2, 1, 6))];
    assert_rejected(&h);
}

#[test]
fn a_read_of_a_value_never_written_is_rejected() {
    let h = [op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)), op(1, 2, (5, Some(30)), Call::Read, ok(7, 1, 5))];
    assert_rejected(&h);
    let found = checks::reads_written(&h);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].window, vec![1]);
}

#[test]
fn a_refused_cas_at_the_only_possible_version_is_rejected() {
    // Nothing was written: the version is 0, so a CAS expecting 0 must succeed.
    let h = [op(0, 1, (0, Some(10)), cas(1, 0), Outcome::BadVersion)];
    assert_rejected(&h);
}

#[test]
fn an_unknown_write_may_apply_or_not_but_not_come_and_go() {
    let w = op(0, 1, (0, None), write(1), unknown());
    let later = |id, t, seen| op(id, 2, (t, Some(t + 5)), Call::Read, seen);
    assert_linearizable(&[w.clone(), later(1, 10, ok(0, 0, 1)), later(2, 20, ok(1, 1, 5))]);
    assert_linearizable(&[w.clone(), later(1, 10, ok(0, 0, 1))]);
    assert_rejected(&[w, later(1, 10, ok(1, 1, 5)), later(2, 20, ok(0, 0, 1))]);
}

#[test]
fn the_witness_fills_a_skipped_version_with_an_unknown_write_nobody_read() {
    let h = [
        op(0, 1, (0, Some(10)), write(1), ok(1, 1, 5)),
        op(1, 2, (5, None), write(2), unknown()),
        op(2, 3, (30, Some(40)), cas(3, 2), ok(3, 3, 7)),
        op(3, 1, (50, Some(60)), cas(4, 2), Outcome::BadVersion),
    ];
    assert_eq!(linear::check(&h, INITIAL, 0), Verdict::Ok { by_witness: true });
    assert_linearizable(&h);
    // Also before an unknown write that a read saw.
    let h = [
        op(0, 1, (0, None), write(1), unknown()),
        op(1, 2, (5, None), write(2), unknown()),
        op(2, 3, (30, Some(40)), Call::Read, ok(2, 2, 7)),
    ];
    let synced = [h[0].clone(), h[1].clone(), op(3, 3, (20, Some(25)), Call::Sync, Outcome::Synced), h[2].clone()];
    assert_eq!(linear::check(&check::linearizable_ops(&synced), INITIAL, 0), Verdict::Ok { by_witness: true });
}

#[test]
fn a_session_that_goes_back_in_time_is_reported() {
    let mut h = vec![op(0, 1, (0, Some(10)), write(1), ok(1, 1, 8)), op(1, 2, (20, Some(30)), Call::Read, ok(1, 1, 8))];
    h.push(Op { key: "/a".into(), ..op(2, 1, (40, Some(50)), write(1), ok(1, 1, 10)) });
    h.push(Op { key: "/a".into(), ..op(3, 2, (60, Some(70)), Call::Read, ok(1, 1, 10)) });
    // Session 2 saw zxid 10; then reads /r at zxid 1, older than the write of /r at 8.
    h.push(op(4, 2, (80, Some(90)), Call::Read, ok(0, 0, 1)));
    let found = checks::session_order(&h);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].window, vec![3, 0, 4]);
    assert!(checks::session_order(&h[..4]).is_empty());
}

#[test]
fn a_read_after_sync_must_see_writes_acknowledged_before_the_sync() {
    let h = [
        op(0, 1, (0, Some(10)), write(1), ok(1, 1, 8)),
        op(1, 2, (20, Some(30)), Call::Sync, Outcome::Synced),
        op(2, 2, (40, Some(50)), Call::Read, ok(0, 0, 1)),
    ];
    let found = checks::sync_reads(&h);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        checks::sync_reads(&[h[0].clone(), h[1].clone(), op(2, 2, (40, Some(50)), Call::Read, ok(1, 1, 8))]).is_empty()
    );
}

#[test]
fn sequential_creates_are_distinct_and_in_real_time_order() {
    let c = |id, t: u64, seq| op(id, 1, (t, Some(t + 5)), Call::Create, Outcome::Created { seq, zxid: 0 });
    assert!(checks::sequential_creates(&[c(0, 0, 1), c(1, 10, 2), c(2, 20, 5)]).is_empty());
    assert_eq!(checks::sequential_creates(&[c(0, 0, 3), c(1, 10, 2)])[0].kind, "sequence-order");
    assert_eq!(checks::sequential_creates(&[c(0, 0, 3), c(1, 10, 3)])[0].kind, "duplicate-sequence");
    let finals = [FinalView { node: 1, children: [("/r".to_string(), [1].into())].into(), ..Default::default() }];
    assert_eq!(checks::lost_writes(&[c(0, 0, 1), c(1, 10, 2)], &finals).len(), 1);
}

#[test]
fn histories_round_trip_as_json_lines() {
    let h = [op(0, 1, (0, None), cas(1, 0), unknown()), op(1, 2, (5, Some(9)), Call::Read, ok(0, 0, 1))];
    let text = crate::history::to_jsonl(&h);
    assert_eq!(crate::history::from_jsonl(&text).unwrap(), h);
}

/// A linearizable history made by running a real register: each op takes effect at a point
/// between its invocation and completion; some writes never hear back (and took effect or not).
fn generated(clients: usize, plan: &[(usize, u8, u8, u64, u64, u64, bool)]) -> Vec<Op> {
    let mut clock = vec![0u64; clients];
    // (effect time, id, client, invoke, complete, kind byte, expect delta, unknown, applied)
    let mut pending = Vec::new();
    for (id, &(c, kind, delta, gap, a, b, lost)) in plan.iter().enumerate() {
        let c = c % clients;
        let invoke = clock[c] + gap;
        let at = invoke + a;
        let complete = at + b;
        clock[c] = complete + 1;
        pending.push((at, id, c, invoke, complete, kind, delta, lost));
    }
    pending.sort_by_key(|p| (p.0, p.2));
    let (mut reg, mut zxid, mut mzxid) = ((0u64, 0i32), 1u64, 1u64);
    let mut ops = Vec::new();
    for (_, id, c, invoke, complete, kind, delta, lost) in pending {
        let value = id as u64 + 1;
        let expect = match kind % 3 {
            0 => None,
            _ => Some((reg.1 + i32::from(delta % 3) - 1).max(0)),
        };
        let (call, mut outcome) = match kind % 4 {
            3 => (Call::Read, ok(reg.0, reg.1, mzxid)),
            _ if expect.is_some_and(|e| e != reg.1) => (Call::Write { value, expect }, Outcome::BadVersion),
            _ => {
                zxid += 1;
                mzxid = zxid;
                reg = (value, reg.1 + 1);
                (Call::Write { value, expect }, ok(value, reg.1, zxid))
            }
        };
        let mut complete = Some(complete);
        if lost && matches!(call, Call::Write { .. }) {
            (outcome, complete) = (unknown(), None);
        }
        ops.push(Op { id, session: c as u64, key: "/r".into(), invoke, complete, call, outcome, multi: None });
    }
    ops.sort_by_key(|o| o.id);
    ops
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn generated_linearizable_histories_are_accepted(
        clients in 1usize..5,
        plan in proptest::collection::vec((0usize..5, 0u8..12, 0u8..3, 0u64..20, 0u64..30, 0u64..30, proptest::bool::weighted(0.1)), 1..60),
    ) {
        let h = generated(clients, &plan);
        let (a, b) = verdicts(&h);
        prop_assert!(matches!(a, Verdict::Ok { .. }), "{:?}", a);
        prop_assert_eq!(b, Verdict::Ok { by_witness: false });
        prop_assert!(checks::session_order(&h).is_empty());
    }

    /// With every answer known, the zxid order alone shows it.
    #[test]
    fn without_lost_answers_the_witness_suffices(
        clients in 1usize..5,
        plan in proptest::collection::vec((0usize..5, 0u8..12, 0u8..3, 0u64..20, 0u64..30, 0u64..30, Just(false)), 1..200),
    ) {
        let h = generated(clients, &plan);
        prop_assert_eq!(linear::check(&h, INITIAL, 0), Verdict::Ok { by_witness: true });
    }
}

#[test]
fn a_watch_must_fire_for_a_change_and_only_for_one() {
    let watch = |id, t: u64, version, outcome| Op {
        key: "/r".into(),
        ..op(id, 1, (t, Some(t + 50)), Call::Watch { version }, outcome)
    };
    let fine = [
        op(0, 1, (0, Some(5)), Call::Read, ok(1, 1, 5)),
        watch(1, 5, 1, Outcome::Fired),
        op(2, 1, (60, Some(65)), Call::Read, ok(2, 2, 6)),
    ];
    assert!(checks::watches(&fine).is_empty());
    let mut spurious = fine.clone();
    spurious[2] = op(2, 1, (60, Some(65)), Call::Read, ok(1, 1, 5));
    assert_eq!(checks::watches(&spurious)[0].kind, "watch-without-change");
    let missed = [op(0, 1, (0, Some(5)), Call::Read, ok(1, 1, 5)), watch(1, 5, 1, Outcome::Missed { version: 3 })];
    assert_eq!(checks::watches(&missed)[0].kind, "watch-missed");
}

#[test]
fn an_ephemeral_left_after_its_session_expired_is_reported() {
    let e = Op { key: "/eph".into(), ..op(0, 1, (0, Some(5)), Call::Ephemeral, Outcome::Created { seq: 7, zxid: 9 }) };
    let gone = FinalView { node: 1, children: [("/eph".to_string(), Default::default())].into(), ..Default::default() };
    let kept = FinalView { node: 2, children: [("/eph".to_string(), [7].into())].into(), ..Default::default() };
    assert!(checks::ephemerals_gone(std::slice::from_ref(&e), std::slice::from_ref(&gone), "/eph").is_empty());
    let found = checks::ephemerals_gone(std::slice::from_ref(&e), &[gone, kept], "/eph");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].window, vec![0]);
    // Ephemerals are not sequential creates that must survive.
    assert!(checks::lost_writes(&[e], &[]).is_empty());
}

#[test]
fn a_multi_succeeds_whole_at_one_zxid_or_not_at_all() {
    let part =
        |id, key: &str, outcome| Op { key: key.into(), multi: Some(0), ..op(id, 1, (0, Some(9)), write(5), outcome) };
    let whole = [part(0, "/a", ok(5, 3, 9)), part(1, "/b", ok(5, 7, 9))];
    assert!(checks::multis(&whole).is_empty());
    let aborted = [part(0, "/a", Outcome::BadVersion), part(1, "/b", Outcome::Fail { error: "multi aborted".into() })];
    assert!(checks::multis(&aborted).is_empty());
    let half = [part(0, "/a", Outcome::BadVersion), part(1, "/b", ok(5, 7, 9))];
    assert_eq!(checks::multis(&half)[0].kind, "multi-not-atomic");
    let two_zxids = [part(0, "/a", ok(5, 3, 9)), part(1, "/b", ok(5, 7, 10))];
    assert_eq!(checks::multis(&two_zxids)[0].window, vec![0, 1]);
}

#[test]
fn a_persistent_watch_brings_one_notification_per_change() {
    // Added after v4, first read v5: after reading v9, 4..=6 notifications (next read v10).
    let count = |events| {
        let outcome = Outcome::Counted { events, seen: 9, next: 10, seen_zxid: 0, zxids: vec![] };
        op(0, 1, (0, Some(9)), Call::WatchCount { pre: 4, first: 5 }, outcome)
    };
    for fine in 4..=6 {
        assert!(checks::watch_counts(&[count(fine)]).is_empty(), "{fine}");
    }
    assert_eq!(checks::watch_counts(&[count(3)])[0].kind, "watch-count");
    assert_eq!(checks::watch_counts(&[count(7)])[0].kind, "watch-count");
}

#[test]
fn a_persistent_watch_notifies_in_zxid_order_before_the_read_that_shows_the_change() {
    // First read v5; reads then return v6 (at 0x10) and v8 (at 0x30).
    let count = |id, seen, seen_zxid, zxids: &[u64]| {
        let outcome = Outcome::Counted { events: 0, seen, next: seen, seen_zxid, zxids: zxids.to_vec() };
        op(id, 1, (0, Some(9)), Call::WatchCount { pre: 5, first: 5 }, outcome)
    };
    let fine = [count(0, 6, 0x10, &[0x10]), count(1, 8, 0x30, &[0x20, 0x30])];
    assert!(checks::watch_order(&fine).is_empty());
    // The notification of v7 arrived after the one of v8; or twice.
    let reordered = [count(0, 6, 0x10, &[0x10]), count(1, 8, 0x30, &[0x30, 0x20])];
    assert_eq!(checks::watch_order(&reordered)[0].kind, "watch-order");
    let repeated = [count(0, 6, 0x10, &[0x10]), count(1, 8, 0x30, &[0x10, 0x20, 0x30])];
    assert_eq!(checks::watch_order(&repeated)[0].kind, "watch-order");
    // The read of v8 came back before v8's notification (or the notification had another zxid).
    let late = [count(0, 6, 0x10, &[0x10]), count(1, 8, 0x30, &[0x20])];
    assert_eq!(checks::watch_order(&late)[0].kind, "watch-zxid");
    // Another session's watch is checked on its own.
    let mut other = count(2, 8, 0x30, &[0x20, 0x30]);
    other.session = 2;
    assert!(checks::watch_order(&[count(0, 6, 0x10, &[0x10]), count(1, 8, 0x30, &[0x20, 0x30]), other]).is_empty());
}
