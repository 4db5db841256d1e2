//! Litmus self-tests: the platform layer can fail.  Each test asserts an
//! *outcome set* (the weak outcome was observed where C11 allows it, never
//! where the barriers forbid it) or that a known-bad configuration is caught.
//! They are the positive controls of issue 2 item 7 and 8(c): if the checker
//! stops catching one of them, the build fails.

use models::Version;
use scenarios::catalog;
use scenarios::cell::{parse_mutations, run_cell, CellResult, CellSpec};
use scenarios::harness::{Checker, Verdict};
use scenarios::litmus;

fn run(name: &str, version: Version, checker: Checker, mutations: &str) -> CellResult {
    let s = catalog::find(name).unwrap();
    let mut spec = CellSpec::new(s, version, checker);
    spec.mutations = parse_mutations(mutations).unwrap();
    run_cell(&spec)
}

fn outcomes(r: &CellResult, prefix: &str) -> Vec<(String, u64)> {
    r.outcome.stats.obs.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), *v)).collect()
}

fn assert_violated(r: &CellResult, kind: &str) {
    match &r.outcome.verdict {
        Verdict::Violated { kind: k, .. } => assert_eq!(k, kind, "{:?}", r.outcome.verdict),
        v => panic!("expected a {kind} counterexample, got {v:?}"),
    }
}

#[test]
fn store_buffering_with_smp_mb_never_reads_both_zero() {
    let r = run("litmus_sb", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.verdict, Verdict::Holds);
    let o = outcomes(&r, "sb:");
    assert!(!o.iter().any(|(k, _)| k == "sb:00"), "SB+fences showed 00: {o:?}");
    assert!(o.iter().any(|(k, _)| k == "sb:01") && o.iter().any(|(k, _)| k == "sb:10"), "{o:?}");
}

#[test]
fn store_buffering_without_smp_mb_reads_both_zero() {
    let r = run("litmus_sb", Version::Master, Checker::Loom, "B110:drop,B111:drop");
    assert!(r.outcome.stats.get("sb:00") > 0, "loom did not show SB's weak outcome: {:?}", outcomes(&r, "sb:"));
}

#[test]
fn store_buffering_with_acqrel_fences_reads_both_zero() {
    // Only a SeqCst fence forbids SB; weakening it must be visible.
    let r = run("litmus_sb", Version::Master, Checker::Loom, "B110:weaken:acqrel,B111:weaken:acqrel");
    assert!(r.outcome.stats.get("sb:00") > 0, "{:?}", outcomes(&r, "sb:"));
}

#[test]
fn message_passing_release_acquire_never_reads_stale_data() {
    let r = run("litmus_mp", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.stats.get("mp:10"), 0, "{:?}", outcomes(&r, "mp:"));
    assert!(r.outcome.stats.get("mp:11") > 0 && r.outcome.stats.get("mp:00") > 0);
}

#[test]
fn message_passing_relaxed_reads_stale_data() {
    let r = run("litmus_mp", Version::Master, Checker::Loom, "B112:drop,B113:drop");
    assert!(r.outcome.stats.get("mp:10") > 0, "{:?}", outcomes(&r, "mp:"));
}

#[test]
fn load_buffering_is_never_explored_by_loom() {
    // C11 allows lb:11; loom 0.7.2 cannot produce it (checkers.md §0.1).  If
    // this starts failing, loom learned load buffering: update proofs.md.
    let r = run("litmus_lb", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.stats.get("lb:11"), 0);
    assert!(r.outcome.stats.get("lb:00") > 0);
}

#[test]
fn s_shape_coherence_inversion_is_observed_with_exact_stores() {
    // With release/acquire the inversion is forbidden ...
    let r = run("litmus_s", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.stats.get("s:12"), 0, "{:?}", outcomes(&r, "s:"));
    assert!(r.outcome.stats.get("s:11") > 0, "{:?}", outcomes(&r, "s:"));
    // ... and without the acquire it must be seen: stores are C11 stores.
    let r = run("litmus_s", Version::Master, Checker::Loom, "B115:drop");
    assert!(r.outcome.stats.get("s:12") > 0, "loom did not show the S inversion: {:?}", outcomes(&r, "s:"));
}

#[test]
fn s_shape_inversion_is_hidden_when_stores_are_swaps() {
    // Why only declared single-purpose locations issue stores as swaps.
    let r = run("litmus_s_swaps", Version::Master, Checker::Loom, "B115:drop");
    assert_eq!(r.outcome.stats.get("s:12"), 0, "{:?}", outcomes(&r, "s:"));
    assert!(r.outcome.stats.get("s:11") > 0);
}

#[test]
fn isa2_with_sc_fences_and_a_barrierless_relay_is_never_shown_by_loom() {
    // C11/RC11, ARMv8 and POWER allow isa2:110; loom's global SC-fence clock
    // forbids it (barrier-survivors.md §2.3).  A documented over-approximation:
    // if this starts failing, loom changed its SC fences: update proofs.md.
    let r = run("litmus_isa2_sc_relay", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.verdict, Verdict::Holds);
    assert_eq!(r.outcome.stats.get("isa2:110"), 0, "{:?}", outcomes(&r, "isa2:"));
    // The window: the relay did pass the value on, and w's store was missed
    // in other executions.
    assert!(r.outcome.stats.get("isa2:111") > 0, "{:?}", outcomes(&r, "isa2:"));
    assert!(r.outcome.stats.get("isa2:000") > 0 || r.outcome.stats.get("isa2:010") > 0, "{:?}", outcomes(&r, "isa2:"));
    // Without the fences loom does show it: the blind spot is the fences'.
    let r = run("litmus_isa2_sc_relay", Version::Master, Checker::Loom, "B116:drop,B117:drop");
    assert!(r.outcome.stats.get("isa2:110") > 0, "{:?}", outcomes(&r, "isa2:"));
}

/// The x86-TSO profile: every load acquires and every store releases, so
/// relaxed MP is ordered, while SB without its fences still shows 00 (TSO's
/// store buffer) and the fences still forbid it.
#[test]
fn tso_profile_orders_message_passing_but_not_store_buffering() {
    use rcu_core::site::Profile;
    let run_tso = |name: &str, m: &str| {
        let s = catalog::find(name).unwrap();
        let mut spec = CellSpec::new(s, Version::Master, Checker::Loom);
        spec.mutations = parse_mutations(m).unwrap();
        spec.profile = Profile::Tso;
        run_cell(&spec)
    };
    let r = run_tso("litmus_mp", "B112:drop,B113:drop");
    assert_eq!(r.outcome.stats.get("mp:10"), 0, "TSO showed MP's weak outcome: {:?}", outcomes(&r, "mp:"));
    assert!(r.outcome.stats.get("mp:11") > 0);
    let r = run_tso("litmus_sb", "B110:drop,B111:drop");
    assert!(r.outcome.stats.get("sb:00") > 0, "TSO must keep SB's weak outcome: {:?}", outcomes(&r, "sb:"));
    let r = run_tso("litmus_sb", "");
    assert_eq!(r.outcome.stats.get("sb:00"), 0, "{:?}", outcomes(&r, "sb:"));
    // ISA2 with a barrier-less relay is forbidden on TSO even without fences.
    let r = run_tso("litmus_isa2_sc_relay", "B116:drop,B117:drop");
    assert_eq!(r.outcome.stats.get("isa2:110"), 0, "{:?}", outcomes(&r, "isa2:"));
}

#[test]
fn shuttle_cannot_judge_a_barrier() {
    // shuttle is sequentially consistent: SB without fences never shows 00.
    let r = run("litmus_sb", Version::Master, Checker::Shuttle, "B110:drop,B111:drop");
    assert_eq!(r.outcome.verdict, Verdict::Holds);
    assert_eq!(r.outcome.stats.get("sb:00"), 0);
}

#[test]
fn qemu_event_without_first_set_barrier_loses_a_wakeup() {
    // event.c:64: "qemu_event_set has release semantics, but because it
    // *loads* ev->value we need a full memory barrier here."
    let r = run("event_reset_check_wait", Version::Master, Checker::Loom, "B40:drop");
    assert_violated(&r, "deadlock");
}

#[test]
fn qemu_event_without_reset_barrier_loses_a_wakeup() {
    let r = run("event_reset_check_wait", Version::Master, Checker::Loom, "B44:drop");
    assert_violated(&r, "deadlock");
}

#[test]
fn qemu_event_before_2023_loses_a_wakeup() {
    let r = run("litmus_event_pre2023", Version::Master, Checker::Loom, "");
    assert_violated(&r, "deadlock");
}

#[test]
fn qemu_event_as_merged_holds() {
    let r = run("event_reset_check_wait", Version::Master, Checker::Loom, "");
    assert_eq!(r.outcome.verdict, Verdict::Holds);
}

/// Dekker pair 1 (spec §9.5): reader exit (ctr = 0; F; read waiting) against
/// the waiter (waiting = 1; F; read ctr).  Either fence gone: a waiter asleep
/// forever.
#[test]
fn dekker_reader_exit_vs_waiter_needs_both_fences() {
    for site in ["B6", "B12"] {
        let r = run("reader_exit_vs_waiter", Version::Master, Checker::Loom, &format!("{site}:drop"));
        assert_violated(&r, "deadlock");
    }
}

/// Dekker pair 2: reader entry (ctr = gp; F; read ptr) against the updater
/// (ptr = new; F; read ctr).  Either fence gone: use after free.
#[test]
fn dekker_reader_entry_vs_updater_needs_both_fences() {
    for site in ["B4", "B17"] {
        let r = run("gp_sync_read", Version::Master, Checker::Loom, &format!("{site}:drop"));
        assert_violated(&r, "use-after-free");
    }
}

/// Why rcu-core makes every `fence(SeqCst)` an exploration event under loom:
/// without it, loom never orders the reader's B4 before the updater's next
/// fence while the reader reads the new rcu_gp_ctr, and the missing B17
/// survives even at preemption bound 5.  If this starts failing, loom's DPOR
/// learned about fences: update proofs.md ("Checker limits").
#[test]
fn plain_loom_misses_a_dropped_b17() {
    let s = catalog::find("gp_sync_read").unwrap();
    let mut spec = CellSpec::new(s, Version::Master, Checker::Loom);
    spec.mutations = parse_mutations("B17:drop").unwrap();
    spec.loom_fence_events = false;
    spec.bounds.preemption_bound = 5;
    let r = run_cell(&spec);
    assert_eq!(r.outcome.verdict, Verdict::Holds);
    assert!(r.outcome.stats.get("reader_saw_old") > 0, "the window was not reached");
}

/// Dekker pair 3 is the QemuEvent pair above (set: F; read value — reset:
/// RMW; F; read condition).  And the publish side: MP through the RCU pointer.
#[test]
fn rcu_publish_needs_release_and_acquire() {
    for site in ["B100", "B101"] {
        let r = run("gp_sync_read", Version::Master, Checker::Loom, &format!("{site}:drop"));
        assert_violated(&r, "assertion");
    }
}

#[test]
fn every_litmus_program_is_listed() {
    assert_eq!(litmus::ALL.len(), 7);
    for s in &litmus::ALL {
        assert!(catalog::find(s.name).is_ok());
    }
}
