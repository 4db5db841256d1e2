//! Positive controls on the models themselves: dropping the barriers the
//! argument rests on (proofs.md §4) must be caught under loom, on MASTER and
//! on the latest proposal.  If a checker change or a scenario change stops
//! catching one of them, the suite fails.

use models::Version;
use rcu_core::site::{Mutation, SITES};
use scenarios::mutants::{self, Status};

fn assert_killed(v: Version, id: &str, m: Mutation) {
    let site = SITES.iter().find(|s| s.id == id && v.sites().iter().any(|x| std::ptr::eq(*x, *s))).unwrap();
    let opts = mutants::Opts { no_deep: true, ..Default::default() };
    let r = mutants::run_mutant(v, site, m, &[], &opts);
    match &r.status {
        Status::Killed { by, kind, .. } => eprintln!("{v} {id}:{m} killed by {by} ({kind}) in {:.1}s", r.seconds),
        _ => panic!("{v} {id}:{m} survived every scenario: {:?}", r.tried),
    }
}

#[test]
fn dropping_smp_mb_global_in_wait_for_readers_is_caught() {
    assert_killed(Version::Master, "B12", Mutation::Drop);
    assert_killed(Version::V3, "B12", Mutation::Drop);
}

#[test]
fn dropping_the_placeholder_in_rcu_read_unlock_is_caught() {
    assert_killed(Version::Master, "B6", Mutation::Drop);
    assert_killed(Version::V3, "B6", Mutation::Drop);
}

#[test]
fn dropping_the_placeholder_in_rcu_read_lock_is_caught() {
    assert_killed(Version::Master, "B4", Mutation::Drop);
    assert_killed(Version::V3, "B4", Mutation::Drop);
}

#[test]
fn dropping_smp_mb_global_in_synchronize_rcu_is_caught() {
    assert_killed(Version::Master, "B17", Mutation::Drop);
    assert_killed(Version::Unify, "B17", Mutation::Drop);
}

#[test]
fn dropping_qemu_event_barriers_is_caught() {
    assert_killed(Version::Master, "B40", Mutation::Drop);
    assert_killed(Version::Master, "B44", Mutation::Drop);
}

/// SEED and later start the grace period on the RCU thread.  B17 in
/// enter_qs() is load-bearing only when that thread's count snapshot includes
/// the synchronize_rcu() node although an earlier callback's event woke it
/// (proofs.md, Survivors): loom needs 3 preemptions for that, one more than
/// the mutants run uses, so the positive control is here.
#[test]
fn dropping_smp_mb_global_in_enter_qs_is_caught_at_pb3() {
    use scenarios::catalog;
    use scenarios::cell::{parse_mutations, run_cell, CellSpec};
    use scenarios::harness::{Checker, Verdict};
    let s = catalog::find("gp_sync_busy_rcu_thread").unwrap();
    let mut spec = CellSpec::new(s, Version::V3, Checker::Loom);
    spec.bounds.preemption_bound = 3;
    spec.bounds.budget_secs = 300.0;
    spec.mutations = parse_mutations("B17:drop").unwrap();
    let r = run_cell(&spec);
    assert_eq!(r.outcome.verdict.kind(), Some("use-after-free"), "{:?}", r.outcome.verdict);
    // And the unmutated version holds where the matrix runs it.
    let r = run_cell(&CellSpec::new(s, Version::V3, Checker::Loom));
    assert_eq!(r.outcome.verdict, Verdict::Holds);
}

/// A targeted positive control: `scenario` on `v` with `mutations` must fail
/// with `kind` at the scenario's matrix bound (or `pb`).
fn assert_kills(v: Version, scenario: &str, mutations: &str, kind: &str, pb: Option<usize>) {
    use scenarios::catalog;
    use scenarios::cell::{parse_mutations, run_cell, CellSpec};
    use scenarios::harness::Checker;
    let s = catalog::find(scenario).unwrap();
    let mut spec = CellSpec::new(s, v, Checker::Loom);
    if let Some(pb) = pb {
        spec.bounds.preemption_bound = pb;
        spec.bounds.budget_secs = 300.0;
    }
    spec.mutations = parse_mutations(mutations).unwrap();
    let r = run_cell(&spec);
    assert_eq!(r.outcome.verdict.kind(), Some(kind), "{v} {scenario} {mutations}: {:?}", r.outcome.verdict);
}

/// Issue 10: B19 (`node->next = NULL`) is a plain store, race-checked; without
/// B20's release and acquire the successor's link races with it.
#[test]
fn weakening_the_enqueue_xchg_is_a_data_race_on_next() {
    for v in [Version::Master, Version::V3] {
        for m in ["B20:drop", "B20:weaken:acquire", "B20:weaken:release"] {
            assert_kills(v, "call_rcu_enqueue_race", m, "data-race", None);
        }
    }
}

/// barrier-survivors.md Q1: in SEED the waiting stores of one iteration reach
/// the next scan with no fence but B12; a second forced grace period, entered
/// with rcu_gp_event FREE, loses the wake-up.
#[test]
fn dropping_b12_in_seed_loses_the_wakeup_of_a_second_forced_gp() {
    assert_kills(Version::Seed, "gp_two_forced_gps", "B12:drop", "deadlock", None);
    assert_kills(Version::Seed, "gp_two_forced_gps", "B12:weaken:acqrel", "deadlock", None);
    // The semaphore drafts reach their forced path only through a timeout (F4).
    for v in [Version::SemaphoreDraft, Version::SemaphoreFollowup] {
        assert_kills(v, "gp_two_forced_gps_timed", "B12:drop", "deadlock", None);
    }
}

/// barrier-survivors.md Q3: when MASTER's RCU thread picks a callback up from
/// the count without waiting, only the increment's release publishes the
/// caller's pointer store to the grace period.
#[test]
fn relaxing_the_call_rcu_increment_is_caught_with_a_busy_rcu_thread() {
    for v in [Version::Master, Version::Unify] {
        assert_kills(v, "gp_call_rcu_busy_rcu_thread", "B28:drop", "use-after-free", None);
        assert_kills(v, "gp_call_rcu_busy_rcu_thread", "B28:weaken:acquire", "use-after-free", None);
    }
}

/// The race-detecting grace period: in SEED and later the reader's release
/// store of ctr = 0 is what the completion event's fences acquire.
#[test]
fn dropping_the_release_in_rcu_read_unlock_is_a_data_race() {
    assert_kills(Version::V3, "gp_sync_read_race", "B5:drop", "data-race", None);
    assert_kills(Version::Seed, "gp_sync_read_race", "B5:drop", "data-race", None);
}

/// Logic mutants (issue 14): the call that wakes the grace period is needed.
/// Dropping `qemu_event_set(&rcu_gp_event)` in rcu_read_unlock() (L1) leaves
/// wait_for_readers() asleep after the reader it waits for has left: caught
/// as a deadlock on MASTER and on the latest proposal.
#[test]
fn dropping_the_event_set_that_wakes_synchronize_rcu_is_caught() {
    for v in [Version::Master, Version::V3] {
        assert_killed(v, "L1", Mutation::DropCall);
        assert_kills(v, "gp_sync_read", "L1:drop-call", "deadlock", None);
    }
}

/// The mutation set reaches the logic helpers only by site ID: an unmutated
/// run and a run that mutates a site the scenario never executes give the
/// same verdict (the helpers change nothing when not asked to).
#[test]
fn a_logic_mutant_of_an_unexecuted_site_changes_nothing() {
    use scenarios::catalog;
    use scenarios::cell::{parse_mutations, run_cell, CellSpec};
    use scenarios::harness::{Checker, Verdict};
    let s = catalog::find("gp_sync_read").unwrap();
    let base = run_cell(&CellSpec::new(s, Version::Master, Checker::Loom));
    assert_eq!(base.outcome.verdict, Verdict::Holds);
    let mut spec = CellSpec::new(s, Version::Master, Checker::Loom);
    // L32 is the drain callback's event set: gp_sync_read never drains.
    spec.mutations = parse_mutations("L32:drop-call").unwrap();
    let r = run_cell(&spec);
    assert_eq!(r.outcome.verdict, Verdict::Holds);
    assert_eq!(r.outcome.executions, base.outcome.executions, "same exploration");
    assert_eq!(r.outcome.stats.probes, base.outcome.stats.probes, "same probes");
}
