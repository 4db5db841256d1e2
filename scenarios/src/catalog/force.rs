//! The forced flag against the RCU thread's read of `n`: force_rcu() (or, in
//! versions without it, drain_call_rcu()) racing call_rcu1() and the reads of
//! rcu_call_count and of `forced`.
//!
//! Provenance: the SEED review thread (Peter Xu ↔ Akihiko Odaki, spec §7 item
//! 3): Akihiko's counterexamples to both semaphore orderings (`enter_qs(!xchg(
//! forced))` after reading n loses a force meant for a later node; reading
//! `forced` before n lets a node counted in n miss its force), and the
//! spurious-forcing race he found in his own v1 code (2025-11-15).
//!
//! Timeouts never fire in [`force_covers_earlier_callback`]: a force request
//! that gets lost then shows up as a deadlock (the grace period waits for a
//! timeout that never comes) instead of as a 10-50 ms latency.  Polling
//! sleeps that happen anyway (`g_usleep()` in MASTER and UNIFY) are counted
//! and fail the property as `slow-force`.

use std::sync::Arc;

use models::Version;
use rcu_core::platform::Platform;

use super::util::{Done, Vcpu};
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// Ask for a forced grace period the way the version can: force_rcu(), or
/// drain_call_rcu() in MASTER and UNIFY (which have no force_rcu()).
fn force_request<P: Platform>(rcu: &models::Rcu<P>) {
    if !rcu.force_rcu() {
        rcu.drain_call_rcu();
    }
}

/// main queues A then X and asks for a forced grace period; a vCPU sits in
/// cpu_exec() and only leaves when its force_rcu notifier kicks it.
fn force_covers_earlier_callback<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let vcpu = Vcpu::<P>::new();
    let (rcu2, vcpu2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
    let t = x.spawn("vcpu", move || vcpu2.run(&rcu2, &obs, 2));
    vcpu.wait_in_cs();
    x.setup_done();

    let done = Done::<P>::with_target("X_done", 1);
    let a = rcu.alloc_head("A");
    rcu.call_rcu1(a, || {});
    let xh = rcu.alloc_head("X");
    let polls_at_request = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let (done2, diag, par) = (done.clone(), x.rt.diag.clone(), polls_at_request.clone());
    rcu.call_rcu1(xh, move || {
        let before = par.load(std::sync::atomic::Ordering::Relaxed);
        let now = diag.probe("poll_sleep");
        if before != u64::MAX && now > before {
            panic!(
                "[slow-force] X, queued before the force request, waited through {} polling sleep(s) after it",
                now - before
            );
        }
        done2.hit();
    });
    polls_at_request.store(x.rt.diag.probe("poll_sleep"), std::sync::atomic::Ordering::Relaxed);
    force_request(&rcu);
    done.wait_for(1, "waiting for X's callback after the force request [force lost?]");
    x.observe("x_ran");
    x.finish_with_vcpu(&rcu, &vcpu, t);
}

fn expect_force_covers(v: Version) -> Expect {
    match v {
        Version::Master => Expect::Violated {
            kind: "slow-force",
            why: "call_rcu_thread() polls 5 x 10 ms for a pile-up before starting any grace period; a drain arriving meanwhile is not noticed (spec §3.5)",
        },
        Version::Unify => Expect::Violated {
            kind: "slow-force",
            why: "wait_for_readers() re-reads in_drain_call_rcu only after each 10 ms sleep (the latency SEED's \"wake the RCU thread\" removes)",
        },
        Version::Seed => Expect::Violated {
            kind: "deadlock",
            why: "weak memory: force_rcu()'s relaxed store to forced can become visible before call_rcu1()'s increment of rcu_call_count (a seq_cst RMW does not order later relaxed stores), so the RCU thread's xchg(&forced) consumes the force and re-reads a stale n that lacks X; X's grace period then waits for a timeout",
        },
        Version::SemaphoreDraft => Expect::Violated {
            kind: "deadlock",
            why: "enter_qs(!xchg(&forced, false)) after reading n consumes a force meant for X, counted after n; X's grace period then waits for a timeout (Akihiko Odaki's first counterexample)",
        },
        Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "forced is consumed before n is read, so X, counted in n, gets an unforced grace period whose wait ends only by a timeout; the post that force_rcu() adds does not help because the draft reads qemu_sem_timedwait()'s 0 as \"not yet\"",
        },
        _ => Expect::Holds,
    }
}

/// main queues A and waits for it; R then enters a critical section; main
/// queues B, whose 0→1 transition races the RCU thread's return to its idle
/// loop (reset, read n), and lets R go.
fn spurious_forcing<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let enter = Done::<P>::new("reader_enter");
    let inside = Done::<P>::new("reader_inside");
    let go = Done::<P>::new("reader_release");
    let (rcu2, e2, i2, g2) = (rcu.clone(), enter.clone(), inside.clone(), go.clone());
    let r = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        e2.wait_for(1, "reader waits to enter its critical section");
        rcu2.rcu_read_lock();
        i2.hit();
        g2.wait_for(1, "reader holds its critical section");
        rcu2.rcu_read_unlock();
    });
    x.setup_done();
    let done_a = Done::<P>::new("A_done");
    let a = rcu.alloc_head("A");
    let d2 = done_a.clone();
    rcu.call_rcu1(a, move || d2.hit());
    done_a.wait_for(1, "waiting for A");
    enter.hit();
    inside.wait_for(1, "waiting for the reader's critical section");
    let done_b = Done::<P>::new("B_done");
    let b = rcu.alloc_head("B");
    let d3 = done_b.clone();
    rcu.call_rcu1(b, move || d3.hit());
    go.hit();
    done_b.wait_for(1, "waiting for B");
    r.join();
    if x.rt.diag.probe("forced_early") > 0 {
        panic!("[spurious-force] a grace period entered the forced state (notifiers, waiting flags) with polls left, although nobody asked to force and fewer than 30 callbacks were pending");
    }
    x.finish(&rcu);
}

/// main drains once (nothing else queued, the reader outside its critical
/// section), then lets the reader — which has a force_rcu notifier — hold a
/// short critical section while main runs synchronize_rcu().  The drain is
/// over and nobody asks to force: no notifier may run outside a forced state
/// (MASTER calls them only while a drain is in progress), and no grace period
/// may enter the forced state with polls left.
///
/// Provenance: issue 14's logic mutants — MASTER's `in_drain_call_rcu`
/// condition (L8) and the drain's decrement (L35) survived every other
/// scenario.
fn no_force_after_drain<P: Platform>(x: &Exec<P>) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as O};
    const READER_NOTIFIER: u64 = 0x7d1;
    let rcu = x.rcu_init();
    let ready = Done::<P>::new("reader_ready");
    let enter = Done::<P>::new("reader_enter");
    let exit = Done::<P>::new("reader_exit");
    // Harness bookkeeping (not modelled memory): whether the drain returned,
    // and the notifier calls after it.
    let drained = Arc::new(AtomicBool::new(false));
    let late_notify = Arc::new(AtomicU64::new(0));
    let (rcu2, r2, e2, x2, d2, n2) =
        (rcu.clone(), ready.clone(), enter.clone(), exit.clone(), drained.clone(), late_notify.clone());
    let r = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        rcu2.rcu_add_force_rcu_notifier(rcu_core::notifier::Notifier {
            id: READER_NOTIFIER,
            name: "reader_force_rcu".into(),
            notify: Arc::new(move || {
                if d2.load(O::Relaxed) {
                    n2.fetch_add(1, O::Relaxed);
                }
            }),
        });
        r2.hit();
        e2.wait_for(1, "reader waits for the drain to end");
        rcu2.rcu_read_lock();
        rcu2.rcu_read_unlock();
        // Teardown after the RCU thread stopped (SEED walks the registry
        // without rcu_registry_lock, F6: not this scenario's question).
        x2.wait_for(1, "reader waits for the scenario's teardown");
        rcu2.rcu_remove_force_rcu_notifier(READER_NOTIFIER);
        rcu2.rcu_unregister_thread();
    });
    ready.wait_for(1, "waiting for the reader's notifier");
    x.setup_done();
    rcu.drain_call_rcu();
    drained.store(true, O::Relaxed);
    let forced0 = x.rt.diag.probe("forced_state");
    let early0 = x.rt.diag.probe("forced_early");
    enter.hit();
    rcu.synchronize_rcu();
    if x.rt.diag.probe("gp_saw_reader") > 0 {
        x.observe("gp_saw_reader_after_drain");
    }
    let forced = x.rt.diag.probe("forced_state") - forced0;
    let early = x.rt.diag.probe("forced_early") - early0;
    let notified = late_notify.load(O::Relaxed);
    if early > 0 || (notified > 0 && forced == 0) {
        panic!(
            "[spurious-force] after the drain returned, with no request: {notified} force_rcu notifier call(s), {forced} forced state(s) entered, {early} of them with polls left"
        );
    }
    x.finish(&rcu);
    exit.hit();
    r.join();
}

fn expect_no_force_after_drain(v: Version) -> Expect {
    match v {
        Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "spurious-force",
            why: "qemu_sem_timedwait() returns -1 on timeout, which the drafts read as \"force\" (F4): the first timeout of the grace period after the drain forces with polls left",
        },
        _ => Expect::Holds,
    }
}

fn expect_spurious(v: Version) -> Expect {
    match v {
        Version::Seed => Expect::Violated {
            kind: "spurious-force",
            why: "call_rcu1()'s 0->1 set of sync_event can land after the RCU thread's reset, so the next grace period's timed wait returns \"set\" and forces (Akihiko Odaki, 2025-11-15); a performance defect, not a safety one",
        },
        Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "spurious-force",
            why: "qemu_sem_timedwait() returns -1 on timeout, which the draft's condition reads as \"force\": the first 10 ms timeout forces (after 1 poll, not 5); a performance defect",
        },
        _ => Expect::Holds,
    }
}

const X_RAN: Window = Window { what: "X's callback ran after the force request", reached: |s| s.get("x_ran") > 0 };
const KICKED: Window = Window {
    what: "the vCPU was kicked out of its critical section by its force_rcu notifier",
    reached: |s| s.get("vcpu_kicked_by_notifier") > 0,
};
const GP_SAW_READER_AFTER_DRAIN: Window = Window {
    what: "the grace period after the drain found the reader inside its critical section",
    reached: |s| s.get("gp_saw_reader_after_drain") > 0,
};
const B_GP_POLLED: Window = Window {
    what: "a grace period polled while the reader was inside its critical section",
    reached: |s| s.get("timed_poll") + s.get("poll_sleep") > 0 && s.get("gp_saw_reader") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "force_covers_earlier_callback",
        family: "forced-vs-n",
        provenance: "seed review thread, spec §7 item 3 (Akihiko Odaki's counterexamples against both semaphore orderings); drain latency, spec §3.5 and §4",
        summary: "a callback queued before force_rcu() (drain_call_rcu() where there is none) is processed in a forced grace period, with no polling sleep spent on it",
        legend: "vcpu:     register; add force_rcu notifier; loop { rcu_read_lock; busy until kicked; rcu_read_unlock }\n\
                 main:     call_rcu1(A); call_rcu1(X); force_rcu() [or drain_call_rcu()]; wait for X\n\
                 call_rcu: n = count (A only, or A and X); xchg(forced) / fetch_and(state); enter_qs(...); …",
        property: "X's callback runs (timeouts never fire) and no g_usleep polling sleep happens between the request and X's callback",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::no_timeouts,
        expect: expect_force_covers,
        windows: &[X_RAN, KICKED],
        bodies: bodies!(force_covers_earlier_callback),
    },
    Scenario {
        name: "spurious_forcing",
        family: "forced-vs-n",
        provenance: "Akihiko Odaki, 2025-11-15, on his own v1 ordering (spec §7 item 3); Peter Xu's \"benign false positive\"",
        summary: "a plain call_rcu1() never makes a grace period enter the forced state early",
        legend: "reader:   (after A) rcu_read_lock; (until released) rcu_read_unlock\n\
                 main:     call_rcu1(A); wait A; let the reader in; call_rcu1(B): fetch_inc 0->1 … set(sync_event); release the reader; wait B\n\
                 call_rcu: A's GP; sub (count -> 0); reset(sync_event); n = 1 (B); enter_qs; timed wait returns \"set\" -> forced",
        property: "no grace period enters the forced state with polls left when nobody requested it (a performance property)",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        // v3 at pb2: holds, 494560 executions, 122 s, 330 MB (ci/loom-deep.sh).
        bound_overrides: &[(Version::V3, 1)],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: expect_spurious,
        windows: &[B_GP_POLLED],
        bodies: bodies!(spurious_forcing),
    },
    Scenario {
        name: "no_force_after_drain",
        family: "forced-vs-n",
        provenance: "issue 14 (logic mutants): MASTER's in_drain_call_rcu condition (L8) and the drain's decrement (L35) survived every scenario; QEMU's comment: notifiers run only while drain_call_rcu() is in progress",
        summary: "after drain_call_rcu() returns, a plain grace period calls no force_rcu notifier and does not force early",
        legend: "reader:   register; add force_rcu notifier; (after the drain) rcu_read_lock; rcu_read_unlock\n\
                 main:     drain_call_rcu(); let the reader in; synchronize_rcu()\n\
                 grace period: scans the reader inside its critical section; nobody asks to force",
        property: "no force_rcu notifier runs outside a forced state, and no grace period enters the forced state with polls left, once the drain has returned (a performance property)",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: expect_no_force_after_drain,
        windows: &[GP_SAW_READER_AFTER_DRAIN],
        bodies: bodies!(no_force_after_drain),
    },
];
