//! More than one grace period per execution: every other family runs one
//! grace period with `rcu_gp_event` starting SET (rcu.c:408), so the
//! interleavings of a *later* grace period (the event already FREE, a reader
//! that re-enters, a drain right after a drain, an RCU thread that is busy
//! when a callback arrives) were never explored.
//!
//! Where an earlier grace period only sets the stage, it runs in the set-up,
//! along one schedule (before `setup_done()`), so that loom's preemption bound
//! is spent on the grace period being judged; each scenario says which.
//!
//! Provenance: review of the mutants run (shared/reviews/barrier-survivors.md
//! §1.3 Q1, Q3); SEED 4/5 review question 2 (aQJbd5qYR10qcbr7@x1.local and
//! Akihiko Odaki's answer 38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp:
//! the waiting stores moved to the previous iteration).

use std::sync::Arc;

use models::Version;
use rcu_core::atomic::{qatomic_read, qatomic_set, QAtomic};
use rcu_core::platform::Platform;

use super::gp::{gp_call_rcu_common, Objs};
use super::util::Done;
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// Spin (yielding) until `cond` holds: only in a set-up, which runs along
/// one schedule, to wait for a state the model code reaches by itself.
fn spin_until<P: Platform>(what: &str, cond: impl Fn() -> bool) {
    let me = rcu_core::runtime::current::<P>();
    while !cond() {
        me.hint(what);
        P::yield_now();
    }
}

/// Two consecutive forced grace periods (drain_call_rcu() twice).  Set-up,
/// along one schedule: the reader sits in a critical section until the first
/// drain's grace period has set its `waiting` flag, then leaves it (setting
/// `rcu_gp_event`), so the first grace period waits on the event and resets it:
/// `rcu_gp_event` is FREE when the second one starts.  Explored: the second
/// drain against the reader's second critical section.  In SEED and the
/// semaphore drafts the `waiting` stores of one iteration are followed by the
/// next iteration's scan with no fence but B12 (the reset's B44 comes only
/// after a wait), so B12 alone orders them before the `ctr` loads.
fn gp_two_forced_gps<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let in_cs1 = Done::<P>::new("reader_in_cs1");
    let cs1_done = Done::<P>::new("reader_left_cs1");
    let go = Done::<P>::new("go");
    let (rcu2, in2, done2, go2) = (rcu.clone(), in_cs1.clone(), cs1_done.clone(), go.clone());
    let t = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        rcu2.rcu_read_lock();
        in2.hit();
        // Leave only once the grace period asked this reader to wake it.
        spin_until::<P>("reader waits for the first grace period's waiting store", || rcu2.peek_waiting());
        rcu2.rcu_read_unlock();
        done2.hit();
        go2.wait_for(1, "reader waits for the set-up to end");
        rcu2.rcu_read_lock();
        rcu2.rcu_read_unlock();
    });
    in_cs1.wait_for(1, "waiting for the reader's first critical section");
    rcu.drain_call_rcu();
    cs1_done.wait_for(1, "waiting for the reader to leave its first critical section");
    if !rcu.peek_gp_event_is_set() {
        x.observe("gp1_left_event_free");
    }
    x.setup_done();
    go.hit();
    let before = x.rt.diag.probe("gp_event_wait") + x.rt.diag.probe("reader_signaled");
    rcu.drain_call_rcu();
    if x.rt.diag.probe("gp_event_wait") + x.rt.diag.probe("reader_signaled") > before {
        x.observe("gp2_met_the_reader");
    }
    x.observe("drain2_returned");
    t.join();
    x.finish(&rcu);
}

/// call_rcu1() while the RCU thread is busy: X's callback wakes it, and the
/// freeing callback A is queued while it polls, so it picks A up from the
/// count without waiting on `rcu_call_ready_event`.  Then the increment's
/// release (B28, B64/B73, B84) is all that orders the updater's pointer store
/// before the grace period's `rcu_gp_ctr` store.
fn gp_call_rcu_busy_rcu_thread<P: Platform>(x: &Exec<P>) {
    gp_call_rcu_common(x, Objs::new(2), true)
}

/// A reader that runs two critical sections while one grace period is in
/// progress: the grace period must wait for the first (which may hold the
/// old object) and must not wait for the second, which can only find the new one.
fn gp_reader_reenters<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let objs = Objs::<P>::new(2);
    let ready = Done::<P>::new("reader_registered");
    let go = Done::<P>::new("go");
    let (rcu2, objs2, obs, ready2, go2) = (rcu.clone(), objs.clone(), x.obs.clone(), ready.clone(), go.clone());
    let t = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        ready2.hit();
        go2.wait_for(1, "reader waits for the set-up to end");
        for cs in 0..2 {
            rcu2.rcu_read_lock();
            let p = objs2.rcu_dereference();
            objs2.use_obj(p, "reader");
            objs2.use_obj(p, "reader (second use)");
            rcu2.rcu_read_unlock();
            obs.add(if p == 0 { "reader_saw_old" } else { "reader_saw_new" }, 1);
            if cs == 1 && p == 0 {
                obs.add("second_cs_saw_old", 1);
            }
        }
    });
    ready.wait_for(1, "updater waits for the reader to register");
    x.setup_done();
    go.hit();
    objs.publish(1);
    rcu.synchronize_rcu();
    objs.free(0);
    t.join();
    x.finish(&rcu);
}

/// drain_call_rcu() twice in a row, each after its own call_rcu1(): the second
/// drain starts while the RCU thread may still be finishing the first batch
/// (its event FREE, its count just consumed).
fn drain_back_to_back<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    x.setup_done();
    let ran: Arc<[QAtomic<P, bool>; 2]> = Arc::new([QAtomic::new("A_ran", false), QAtomic::new("B_ran", false)]);
    for (i, name) in ["A", "B"].into_iter().enumerate() {
        let h = rcu.alloc_head(name);
        let r = ran.clone();
        rcu.call_rcu1(h, move || qatomic_set(&r[i], true));
        rcu.drain_call_rcu();
        assert!(
            qatomic_read(&ran[i]),
            "[lost-callback] drain_call_rcu() number {} returned before callback {name}, queued before it, ran",
            i + 1
        );
    }
    x.observe("both_drains_returned");
    x.finish(&rcu);
}

fn all_hold(_: Version) -> Expect {
    Expect::Holds
}

fn expect_two_forced(v: Version) -> Expect {
    match v {
        Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "F4: the drain's force posts are read as \"not yet\" (qemu_sem_timedwait() returns 0), so with timeouts that never fire the forced grace period never forces",
        },
        _ => Expect::Holds,
    }
}

const GP1_FREE: Window = Window {
    what: "the first grace period waited on rcu_gp_event and left it FREE",
    reached: |s| s.get("gp1_left_event_free") > 0,
};
const GP2_MET: Window = Window {
    what: "the second grace period found the reader inside its second critical section",
    reached: |s| s.get("gp2_met_the_reader") > 0,
};
const SAW_OLD: Window = Window {
    what: "a reader read the old object inside its critical section",
    reached: |s| s.get("reader_saw_old") > 0,
};
const GP_WAITED: Window = Window {
    what: "the grace period found the reader inside its critical section",
    reached: |s| s.get("gp_saw_reader") > 0,
};
const REENTERED: Window = Window {
    what: "the reader's second critical section still found the old object (it began before the pointer store was visible)",
    reached: |s| s.get("second_cs_saw_old") > 0,
};
const B2B: Window = Window { what: "both drains returned", reached: |s| s.get("both_drains_returned") > 0 };

/// The family.
pub static SCENARIOS: [Scenario; 5] = [
    Scenario {
        name: "gp_two_forced_gps",
        family: "multi-gp",
        provenance: "barrier-survivors.md §1.3 Q1; SEED 4/5 review question 2 (aQJbd5qYR10qcbr7@x1.local, 38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp)",
        summary: "a forced grace period entered with rcu_gp_event already FREE (an earlier one waited and reset it)",
        legend: "set-up:   reader in CS1; drain_call_rcu() #1: waiting = true, wait(rcu_gp_event), reader leaves CS1 and sets it, reset → FREE\n\
                 reader:   rcu_read_lock; rcu_read_unlock (CS2)\n\
                 main:     drain_call_rcu() #2 (forced): waiting stores; [B12]; scan; wait(rcu_gp_event) if ongoing\n\
                 call_rcu: runs grace period #2",
        property: "the second drain_call_rcu() returns; timeouts never fire",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::no_timeouts,
        expect: expect_two_forced,
        windows: &[GP1_FREE, GP2_MET],
        bodies: bodies!(gp_two_forced_gps),
    },
    Scenario {
        name: "gp_two_forced_gps_timed",
        family: "multi-gp",
        provenance: "as gp_two_forced_gps, with timeouts that fire: the semaphore drafts force on their first timeout (F4), so their forced path is reached too (barrier-survivors.md §1.3 Q1)",
        summary: "gp_two_forced_gps with timeouts that fire: the second forced grace period on every version, the semaphore drafts included",
        legend: "as gp_two_forced_gps; timed waits may time out (the semaphore drafts then force)",
        property: "the second drain_call_rcu() returns",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[GP1_FREE, GP2_MET],
        bodies: bodies!(gp_two_forced_gps),
    },
    Scenario {
        name: "gp_call_rcu_busy_rcu_thread",
        family: "multi-gp",
        provenance: "barrier-survivors.md §1.3 Q3 (MASTER's polling path: rcu.c call_rcu_thread() reads the count without waiting); the call_rcu1() analogue of gp_sync_busy_rcu_thread",
        summary: "call_rcu1() that frees, queued while the RCU thread is busy with an earlier callback",
        legend: "reader:   rcu_read_lock; p = rcu_read(ptr); use(*p); use(*p); rcu_read_unlock\n\
                 updater:  call_rcu1(X); init B; rcu_set(ptr, B); call_rcu1(A.rcu, free A); wait for the callback\n\
                 call_rcu: woken by X; polls; count includes A without a wait; grace period; run X, free A",
        property: "the reader never reads POISON nor an uninitialised object; the callback runs",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, GP_WAITED],
        bodies: bodies!(gp_call_rcu_busy_rcu_thread),
    },
    Scenario {
        name: "gp_reader_reenters",
        family: "multi-gp",
        provenance: "rcu.c wait_for_readers() (a reader that re-enters gets the new rcu_gp_ctr and must not be waited for); tests/unit/rcutorture.c readers loop",
        summary: "a reader runs two critical sections while one synchronize_rcu() is in progress",
        legend: "reader:  2 × { rcu_read_lock; p = rcu_read(ptr); use(*p); use(*p); rcu_read_unlock }\n\
                 updater: init B; rcu_set(ptr, B); synchronize_rcu(); free(A)",
        property: "no critical section reads POISON; synchronize_rcu() returns",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, GP_WAITED, REENTERED],
        bodies: bodies!(gp_reader_reenters),
    },
    Scenario {
        name: "drain_back_to_back",
        family: "multi-gp",
        provenance: "d816614ca4 drain_call_rcu() contract (device_del drains repeatedly); SEED/V3 4/5 \"Wake the RCU thread when draining\"",
        summary: "two drain_call_rcu() calls in a row, each after its own call_rcu1()",
        legend: "main:     call_rcu1(A); drain_call_rcu(); A ran?; call_rcu1(B); drain_call_rcu(); B ran?\n\
                 call_rcu: two batches, the second one queued as the first completes",
        property: "each drain returns after its callback ran; timeouts never fire",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::no_timeouts,
        expect: all_hold,
        windows: &[B2B],
        bodies: bodies!(drain_back_to_back),
    },
];
