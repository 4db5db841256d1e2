//! Regressions found by the proptest property (scenarios/tests/proptest.rs):
//! generated thread programs ([`crate::program`]) that failed on some
//! version, shrunk by proptest and minimised ([`Program::minimise`]), kept
//! here under a name with their text (proptest's own regression file only
//! stores seeds, which stop meaning anything when the generator changes).
//!
//! Each scenario runs a fixed program text ([`Program`] syntax) through
//! [`run_program`]: `PROGRAM` is parsed in the body, and
//! scenarios/tests/proptest.rs checks that every text in [`PROGRAMS`] parses
//! and round-trips.
//!
//! To add one: a `const` with the program text, a body `fn` that calls
//! [`run_text`], a `Scenario` (checker, expected result per version, windows)
//! and an entry in [`PROGRAMS`]; then `rcu-check matrix --scenario <name>`
//! must show every cell as expected.

use models::Version;
use rcu_core::platform::Platform;

use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;
use crate::program::{run_program, Program};

/// Parse `text` and run it (the body of every regression scenario).
pub fn run_text<P: Platform>(x: &Exec<P>, text: &str) {
    let prog: Program = text.parse().unwrap_or_else(|e| panic!("[harness] regression program: {e}"));
    run_program(x, &prog);
}

/// `regress_two_producers_lost_wakeup`.
pub const TWO_PRODUCERS_LOST_WAKEUP: &str = "sync | call read1@0 call";

fn two_producers_lost_wakeup<P: Platform>(x: &Exec<P>) {
    run_text(x, TWO_PRODUCERS_LOST_WAKEUP)
}

/// Every regression program, by scenario name.
pub const PROGRAMS: &[(&str, &str)] = &[("regress_two_producers_lost_wakeup", TWO_PRODUCERS_LOST_WAKEUP)];

fn expect_lost_wakeup(v: Version) -> Expect {
    match v {
        Version::Seed | Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "synchronize_rcu() is a call_rcu1() in these versions, so t0 and t1 are two producers and t1 queues twice: the dequeue loop sleeps on sync_event for t0's late link, and t1's second call_rcu1() counts 1->2 and signals nothing (the lost wake-up of call_rcu_enqueue_race)",
        },
        _ => Expect::Holds,
    }
}

const DONE: Window = Window { what: "the program completed", reached: |s| s.get("program_done") > 0 };
const READER_WAITED: Window = Window {
    what: "a grace period found t1 inside its critical section on t0's object",
    reached: |s| s.get("reads") > 0 && s.get("gp_saw_reader") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 1] = [Scenario {
    name: "regress_two_producers_lost_wakeup",
    family: "regressions",
    provenance: "proptest shrink of a generated program failing on seed (tests/proptest.rs, \
                 the_property_finds_a_failing_program_on_seed: shrunk to `sync rereg | call read1@0 call`, \
                 minimised to `sync | call read1@0 call`), 2026-11-22",
    summary: "generated: a synchronize_rcu() racing another thread's two call_rcu1()s (seed: two producers, one queues twice)",
    legend: "t0:       sync      (publish B; synchronize_rcu(); free A)\n\
             t1:       call read1@0 call   (publish B; call_rcu1(free A); rcu_read_lock; use t0's object; \
             rcu_read_unlock; publish C; call_rcu1(free B))\n\
             main:     wait for t1's two callbacks\n\
             call_rcu: grace periods; in seed and the semaphore drafts t0's synchronize_rcu() is a third callback",
    property: "every callback runs, no use-after-free, and nobody is left blocked",
    scope: Scope::Versions,
    checker: Checker::Shuttle,
    loom_threads: 5,
    // `--checker loom`: at pb1 every cell is as expected in < 0.5 s.  At pb2
    // master, unify and v3 hold in 18 s, 8.8 s and 46 s, and loom reports
    // seed's unlocked registry walk (racing t0's and t1's unregistration) as a
    // data race before the deadlock.
    preemption_bound: 1,
    bound_overrides: &[],
    // PCT depth 8 (the property's), seed 0x5eed: found after 692 (seed), 6857
    // (semaphore-draft) and 1973 (semaphore-followup) executions; twice that.
    shuttle_iterations: 15000,
    shuttle_pct_depth: 8,
    configure: cfg::standard,
    expect: expect_lost_wakeup,
    windows: &[DONE, READER_WAITED],
    bodies: bodies!(two_producers_lost_wakeup),
}];
