//! Positive controls on the models themselves: dropping the barriers the
//! argument rests on (proofs.md §4) must be caught under loom, on MASTER and
//! on the latest proposal.  If a checker change or a scenario change stops
//! catching one of them, the suite fails.

use models::Version;
use rcu_core::site::{Mutation, SITES};
use scenarios::mutants::{self, Status};

fn assert_killed(v: Version, id: &str, m: Mutation) {
    let site = SITES.iter().find(|s| s.id == id && v.sites().iter().any(|x| std::ptr::eq(*x, *s))).unwrap();
    let r = mutants::run_mutant(v, site, m, &[]);
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
