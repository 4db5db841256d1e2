//! The waiting-store / ctr-load ordering: the store-buffering (Dekker) pair
//! between a reader leaving its critical section and the grace-period waiter
//! (spec §9.5, first pair).
//!
//! reader (rcu_read_unlock): `store_release(ctr, 0); smp_mb_placeholder() [B6];
//! if (waiting) set(rcu_gp_event)`.  waiter (wait_for_readers): `waiting =
//! true; smp_mb_global() [B12]; if ctr still ongoing: wait(rcu_gp_event)`.
//! Without either fence both may miss the other's store: the reader skips the
//! event, the waiter sleeps forever.
//!
//! Provenance: Peter Xu's question 2 on SEED 4/5 ("is the smp_mb_global()
//! comment still applicable?") and Akihiko Odaki's answer (the waiting stores
//! moved to the previous iteration and still need ordering before the ctr
//! loads), Message-IDs aQJbd5qYR10qcbr7@x1.local and
//! 38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp.

use models::Version;
use rcu_core::platform::Platform;

use super::util::Done;
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// A reader leaves its critical section while drain_call_rcu()'s forced grace
/// period publishes `waiting` and reads `ctr`.
fn reader_exit_vs_waiter<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let registered = Done::<P>::new("reader_registered");
    let go = Done::<P>::new("go");
    let (rcu2, reg2, go2) = (rcu.clone(), registered.clone(), go.clone());
    let r = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        reg2.hit();
        go2.wait_for(1, "reader waits for the set-up to end");
        rcu2.rcu_read_lock();
        rcu2.rcu_read_unlock();
    });
    registered.wait_for(1, "waiting for the reader to register");
    x.setup_done();
    go.hit();
    rcu.drain_call_rcu();
    x.observe("drain_returned");
    r.join();
    x.finish(&rcu);
}

fn expect_sb(v: Version) -> Expect {
    match v {
        Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "the drain's force posts are read as \"not yet\" (qemu_sem_timedwait() returns 0, which the draft's condition treats as no force), so the grace period polls and, with timeouts that never fire, never forces",
        },
        _ => Expect::Holds,
    }
}

const SIGNALED: Window = Window {
    what: "the reader saw waiting == true on exit and set rcu_gp_event",
    reached: |s| s.get("reader_signaled") > 0,
};
const SLEPT: Window = Window {
    what: "the waiter found the reader's ctr ongoing and slept on rcu_gp_event",
    reached: |s| s.get("gp_event_wait") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 1] = [Scenario {
    name: "reader_exit_vs_waiter",
    family: "waiting-vs-ctr",
    provenance: "spec §9.5 (first Dekker pair); seed review question 2 (aQJbd5qYR10qcbr7@x1.local, 38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp)",
    summary: "a reader leaving its critical section and the forced grace period's waiter never both miss each other",
    legend: "reader:   rcu_read_lock; rcu_read_unlock: ctr = 0 (release); smp_mb_placeholder [B6]; if waiting: set(rcu_gp_event)\n\
             main:     drain_call_rcu()  (a forced grace period in every version)\n\
             call_rcu: waiting = true; smp_mb_global [B12]; scan: ctr ongoing? -> wait(rcu_gp_event)",
    property: "drain_call_rcu() returns (no thread left asleep); timeouts never fire",
    scope: Scope::Versions,
    checker: Checker::Loom,
    loom_threads: 3,
    preemption_bound: 2,
    bound_overrides: &[],
    shuttle_iterations: 4000,
    shuttle_pct_depth: 3,
    configure: cfg::no_timeouts,
    expect: expect_sb,
    windows: &[SIGNALED, SLEPT],
    bodies: bodies!(reader_exit_vs_waiter),
}];
