//! C11 litmus programs written in C, compiled with clang-14 -O2, explored by
//! loom through the interpreter.  Each test asserts an *outcome set*: the weak
//! outcome is observed where C11 allows it and never where the orderings or
//! fences forbid it.  Where loom cannot produce an outcome that C11 allows (LB,
//! S) or produces one C11 forbids (SeqCst accesses), the test asserts loom's
//! behaviour and says so: these are loom 0.7.2's limits, the same for the Rust
//! models (rcu-core's platform docs, checkers.md §0.1).
//! SPDX-License-Identifier: LGPL-2.1-or-later

mod common;

use common::{loom, program, Checked};

fn check(name: &str, defs: &[&str], pb: usize) -> Checked {
    let c = loom(&program(name, defs), pb);
    c.ok();
    eprintln!("{name} {defs:?} pb={pb}: {} executions in {:.2}s: {:?}", c.executions, c.secs, c.outcomes);
    c
}

const SB_ALL: [&str; 4] = ["r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=0", "r1=1 r2=1"];

#[test]
fn sb_relaxed_reads_both_zero() {
    let c = check("sb", &["-DFENCE=0"], 3);
    assert_eq!(c.keys(), SB_ALL);
}

#[test]
fn sb_with_seq_cst_fences_never_reads_both_zero() {
    let c = check("sb", &["-DFENCE=1"], 3);
    assert_eq!(c.keys(), SB_ALL[1..]);
}

#[test]
fn sb_with_acq_rel_fences_reads_both_zero() {
    // Only a seq_cst fence forbids SB.
    let c = check("sb", &["-DFENCE=2"], 3);
    assert_eq!(c.keys(), SB_ALL);
}

const MP_ALL: [&str; 4] = ["r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=0", "r1=1 r2=1"];

#[test]
fn mp_relaxed_reads_stale_data() {
    let c = check("mp", &["-DORD=0"], 3);
    assert_eq!(c.keys(), MP_ALL);
}

#[test]
fn mp_release_acquire_never_reads_stale_data() {
    let c = check("mp", &["-DORD=1"], 3);
    assert_eq!(c.keys(), ["r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=1"]);
}

#[test]
fn mp_release_and_acquire_fences_never_read_stale_data() {
    let c = check("mp", &["-DORD=2"], 3);
    assert_eq!(c.keys(), ["r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=1"]);
}

#[test]
fn lb_is_never_explored_by_loom() {
    // C11 allows r1=1 r2=1; loom 0.7.2 cannot produce load buffering.  If this
    // fails, loom learned it: update the docs (and the Rust litmus test).
    let c = check("lb", &[], 3);
    assert_eq!(c.keys(), ["r1=0 r2=0", "r1=0 r2=1", "r1=1 r2=0"]);
}

#[test]
fn s_release_acquire_keeps_coherence() {
    // r1=1 x=2 is forbidden: t2's x = 1 happens after t1's x = 2.
    let c = check("s", &["-DSTRONG=1"], 3);
    assert_eq!(c.keys(), ["r1=0 x=1", "r1=0 x=2", "r1=1 x=1"]);
}

#[test]
fn s_relaxed_shows_the_coherence_inversion() {
    // C11 allows r1=1 x=2 with relaxed accesses (the two stores to x may be
    // ordered against execution order).  rcu-core's loom stores are C11
    // stores, so loom must show it: a positive control for the interpreter's
    // stores (and for the platform's; see scenarios/tests/litmus.rs `litmus_s`).
    let c = check("s", &["-DSTRONG=0"], 3);
    assert!(c.has("r1=1 x=2"), "{:?}", c.keys());
}

#[test]
fn isa2_relaxed_breaks_transitivity() {
    let c = check("isa2", &["-DSTRONG=0"], 2);
    assert!(c.has("r1=1 r2=1 r3=0"), "{:?}", c.keys());
    assert_eq!(c.outcomes.len(), 8);
}

#[test]
fn isa2_release_acquire_is_transitive() {
    let c = check("isa2", &["-DSTRONG=1"], 2);
    assert!(!c.has("r1=1 r2=1 r3=0"), "{:?}", c.keys());
    assert_eq!(c.outcomes.len(), 7);
}

const IRIW_WEAK: &str = "r1=1 r2=0 r3=1 r4=0";

#[test]
fn iriw_relaxed_readers_disagree() {
    let c = check("iriw", &["-DMODE=0"], 1);
    assert!(c.has(IRIW_WEAK));
    assert_eq!(c.outcomes.len(), 16);
}

#[test]
fn iriw_with_seq_cst_fences_readers_agree() {
    let c = check("iriw", &["-DMODE=1"], 1);
    assert!(!c.has(IRIW_WEAK), "{:?}", c.keys());
    assert_eq!(c.outcomes.len(), 15);
}

#[test]
fn iriw_seq_cst_accesses_are_acq_rel_under_loom() {
    // C11 forbids IRIW's weak outcome when all four accesses are seq_cst; loom
    // 0.7.2 treats a SeqCst access as AcqRel and shows it (a false alarm).
    // This is why QEMU's full barriers must be modelled as fences.
    let c = check("iriw", &["-DMODE=2"], 1);
    assert!(c.has(IRIW_WEAK));
}
