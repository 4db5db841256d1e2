//! V3: the force_rcu series v3 (2026-01-15, Message-Id
//! `20260115-force_rcu-v3-0-1f8bfaff4815@rsg.ci.i.u-tokyo.ac.jp`; v2 of
//! 2025-12-13 has the same rcu.c logic), patches 3/5 (`76873115f47a`) and 4/5
//! (`04befc2b7ad8`) on the pbo-linaro/qemu-ci branch of that Message-Id (head
//! `36db4321c061`), util/rcu.c blob `2f58f3627f74`.  Not merged.  Spec §6.
//!
//! v2 split the event in two (call_rcu1() always sets `rcu_call_ready_event`
//! again; force_rcu() has `rcu_call_force_event`) and folded the `forced` flag
//! into the count word, so no re-read loop is needed.
//!
//! | C function (v3 rcu.c lines) | Rust |
//! |---|---|
//! | `force_rcu()` (79-83): `qatomic_or(&rcu_call_state, FORCED)`; set force event | [`force_rcu`] |
//! | `wait_for_readers(bool force)` (86-180): resets the force event on entry; forced state entered at the top of the loop, under the lock, when `state >= 30` (a set FORCED bit counts) or after 5 timed waits | [`wait_for_readers`] |
//! | `enter_qs(bool force)` (182-210) | SEED's [`crate::seed::enter_qs`] (same text) |
//! | `call_rcu_thread()` (287-337): `fetch_and` snapshots the count and clears FORCED | [`call_rcu_thread`] |
//! | `call_rcu1()` (339-345): `qatomic_inc` + unconditional set | [`call_rcu1`] |
//! | `synchronize_rcu()` (358-366), `drain_call_rcu()` (377-410) | SEED's (3/5 and 4/5 texts are the same) |

use std::sync::Arc;

use rcu_core::atomic::{
    qatomic_fetch_and, qatomic_inc, qatomic_or, qatomic_read, qatomic_set, qatomic_sub, smp_mb_global, QAtomic,
};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_timedwait, qemu_event_wait, QemuEvent};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock};
use rcu_core::platform::Platform;
use rcu_core::runtime::Runtime;
use rcu_core::{logic, rcu_trace, site, site_doc};

use crate::common::{HeadRef, RcuCallback, RcuCommon, RCU_CALL_MIN_SIZE, REGISTRY};
use crate::seed::{self, EnterQs};
use crate::RcuVersion;

/// `RCU_CALL_STATE_FORCED` (v3 rcu.c:48): bit 31 of `rcu_call_state`.
pub const RCU_CALL_STATE_FORCED: u32 = 1 << 31;
/// `RCU_CALL_STATE_COUNT` (v3 rcu.c:49): bits 0-30.
pub const RCU_CALL_STATE_COUNT: u32 = !RCU_CALL_STATE_FORCED;

fn state_show(v: u32) -> String {
    if v & RCU_CALL_STATE_FORCED != 0 {
        format!("FORCED|{}", v & RCU_CALL_STATE_COUNT)
    } else {
        format!("{v}")
    }
}

/// V3's file-scope variables besides the common ones (v3 rcu.c:54-55, 217).
pub struct V3Globals<P: Platform> {
    /// `static QemuEvent rcu_call_force_event` (initialised reset).
    pub rcu_call_force_event: QemuEvent<P>,
    /// `static uint32_t rcu_call_state`: count in bits 0-30, FORCED in bit 31.
    pub rcu_call_state: QAtomic<P, u32>,
    /// `static QemuEvent rcu_call_ready_event` (initialised reset).
    pub rcu_call_ready_event: QemuEvent<P>,
}

/// The V3 version.
pub struct V3<P: Platform> {
    c: RcuCommon<P>,
    g: V3Globals<P>,
}

impl<P: Platform> V3<P> {
    /// The state after `rcu_init_complete()`'s initialisations.
    pub fn new(rt: Arc<Runtime<P>>) -> Self {
        V3 {
            c: RcuCommon::new(rt),
            g: V3Globals {
                rcu_call_force_event: QemuEvent::new("rcu_call_force_event", false),
                rcu_call_state: QAtomic::with_show("rcu_call_state", 0, state_show),
                rcu_call_ready_event: QemuEvent::new("rcu_call_ready_event", false),
            },
        }
    }
}

impl<P: Platform> EnterQs<P> for V3<P> {
    fn wait_for_readers(&self, force: bool) {
        wait_for_readers(self, force)
    }
}

impl<P: Platform> RcuVersion<P> for V3<P> {
    fn c(&self) -> &RcuCommon<P> {
        &self.c
    }
    fn synchronize_rcu(&self) {
        seed::synchronize_rcu(self)
    }
    fn call_rcu1(&self, node: HeadRef, func: RcuCallback) {
        call_rcu1(self, node, func)
    }
    fn drain_call_rcu(&self) {
        seed::drain_call_rcu(self)
    }
    fn force_rcu(&self) -> bool {
        force_rcu(self);
        true
    }
    fn call_rcu_thread(&self) {
        call_rcu_thread(self)
    }
    fn kick_idle(&self) {
        qemu_event_set(&self.g.rcu_call_ready_event)
    }
}

/// `force_rcu()` (v3 rcu.c:79-83).
pub fn force_rcu<P: Platform>(v: &V3<P>) {
    rcu_trace!(P, "force_rcu()");
    logic::store::<P>(
        site!(L29, StoreStmt, "force_rcu", "util/rcu.c@2f58f3627f74:81 qatomic_or(&rcu_call_state, RCU_CALL_STATE_FORCED)",
            "force_rcu() sets the FORCED bit, so that the RCU thread's next grace period forces at once and a grace period in progress forces at its next poll [L29]"),
        || {
            qatomic_or(&v.g.rcu_call_state, RCU_CALL_STATE_FORCED, site!(B80, Rmw(SeqCst), "force_rcu",
                "util/rcu.c@2f58f3627f74:81 qatomic_or(&rcu_call_state, RCU_CALL_STATE_FORCED)",
                "The FORCED bit before setting rcu_call_force_event. Pairs with B83 in call_rcu_thread() (fetch_and) and B82 in wait_for_readers() [B80]"));
        },
    );
    logic::call::<P>(
        site!(
            L30,
            CallStmt,
            "force_rcu",
            "util/rcu.c@2f58f3627f74:82 qemu_event_set(&rcu_call_force_event)",
            "force_rcu() ends the timed wait of a grace period in progress [L30]"
        ),
        || qemu_event_set(&v.g.rcu_call_force_event),
    );
}

const F: &str = "wait_for_readers";

/// `wait_for_readers(bool force)` (v3 rcu.c:86-180).
pub fn wait_for_readers<P: Platform>(v: &V3<P>, force: bool) {
    let c = &v.c;
    let g = &v.g;
    let qsreaders = c.lists.with_mut(F, |l| l.new_head());
    let mut sleeps = if force { 0 } else { 5 };
    let mut forced = false;

    logic::call::<P>(
        site!(L31, CallStmt, "wait_for_readers", "util/rcu.c@2f58f3627f74:93 qemu_event_reset(&rcu_call_force_event)",
            "The grace period resets rcu_call_force_event before it first reads rcu_call_state, so that only a force_rcu() from now on ends its timed waits early [L31]"),
        || qemu_event_reset(&g.rcu_call_force_event),
    );
    site_doc!(
        B81,
        Call,
        "wait_for_readers",
        "util/rcu.c@2f58f3627f74:93 qemu_event_reset(&rcu_call_force_event)",
        "No barrier needed: reset before the first read of rcu_call_state; it ends with B44 [B81]"
    );

    loop {
        // Force the grace period to end and wait for it if any of the
        // following heuristical conditions are satisfied:
        // - A decent number of callbacks piled up.
        // - force_rcu() was called.
        // - It timed out.
        if !forced
            && (logic::cond::<P>(
                site!(L21, OrCond, "wait_for_readers", "util/rcu.c@2f58f3627f74:107 qatomic_read(&rcu_call_state) >= RCU_CALL_MIN_SIZE",
                    "The grace period forces when a decent number of callbacks piled up or FORCED is set (the bit makes the state at least 30) [L21]"),
                || qatomic_read(&g.rcu_call_state) >= RCU_CALL_MIN_SIZE,
            ) || logic::cond::<P>(
                site!(L22, OrCond, "wait_for_readers", "util/rcu.c@2f58f3627f74:107 !sleeps",
                    "The grace period forces when it has no sleeps left: at once for enter_qs(true), after five timed waits otherwise [L22]"),
                || sleeps == 0,
            ))
        {
            site_doc!(B82, Relaxed, "wait_for_readers", "util/rcu.c@2f58f3627f74:107 qatomic_read(&rcu_call_state)",
                "No barrier needed: a set FORCED bit makes state >= 30; a stale value only delays forcing to the next poll, which the force event ends early [B82]");
            forced = true;
            rcu_trace!(P, "wait_for_readers: enter the forced state (sleeps left {})", sleeps);
            c.rt.probe("forced_state");
            if sleeps > 0 {
                c.rt.probe("forced_early");
            }

            let mut index = c.qlist_first(F, REGISTRY);
            while let Some(i) = index {
                logic::swap::<P, _, _>(
                    site!(L39, SwapPair, "wait_for_readers", "util/rcu.c@2f58f3627f74:111-112 notifier_list_notify(&index->force_rcu, NULL); qatomic_set(&index->waiting, true)",
                        "The force_rcu notifiers of a reader before its waiting flag is set. Swapped, the reader is marked waiting before it is kicked [L39]"),
                    || {
                        logic::call::<P>(
                            site!(L7, CallStmt, "wait_for_readers", "util/rcu.c@2f58f3627f74:111 notifier_list_notify(&index->force_rcu, NULL)",
                                "The forced grace period asks each reader to leave its critical section (force_rcu notifiers: a vCPU kicked out of TCG) [L7]"),
                            || c.notifier_list_notify(F, i),
                        )
                    },
                    || {
                        logic::store::<P>(
                            site!(L5, StoreStmt, "wait_for_readers", "util/rcu.c@2f58f3627f74:112 qatomic_set(&index->waiting, true)",
                                "The forced grace period marks each reader it will wait for, so that the reader's rcu_read_unlock() sets rcu_gp_event [L5]"),
                            || qatomic_set(&c.readers[i].waiting, true),
                        );
                        site_doc!(
                            B11,
                            Relaxed,
                            "wait_for_readers",
                            "util/rcu.c@2f58f3627f74:112 qatomic_set(&index->waiting, true)",
                            "No barrier needed: B12 below orders these stores before the loads of index->ctr [B11]"
                        );
                    },
                );
                index = c.qlist_next(F, i);
            }
        }

        // Here, order the stores to index->waiting before the loads of
        // index->ctr.  Pairs with smp_mb_placeholder() in rcu_read_unlock().
        smp_mb_global::<P>(site!(B12, Fence(SeqCst), "wait_for_readers", "util/rcu.c@2f58f3627f74:124 smp_mb_global()",
            "Stores to index->waiting before the loads of index->ctr. Pairs with B6 in rcu_read_unlock(). Also orders the rcu_gp_ctr update before the ctr loads (nothing orders the last scan before the caller's frees but the control dependency or, in SEED and later, the completion event's fences: proofs.md F11) [B12]"));

        let mut index = c.qlist_first(F, REGISTRY);
        while let Some(i) = index {
            let tmp = c.qlist_next(F, i);
            if !c.rcu_gp_ongoing(&c.readers[i].ctr) {
                c.qlist_move(F, i, qsreaders);
                // No need for memory barriers here, worst of all we get some
                // extra futex wakeups.
                logic::store::<P>(
                    site!(L6, StoreStmt, "wait_for_readers", "util/rcu.c@2f58f3627f74:134 qatomic_set(&index->waiting, false)",
                        "The grace period clears the waiting flag of a reader it found quiescent, so that its next unlock does not set rcu_gp_event [L6]"),
                    || qatomic_set(&c.readers[i].waiting, false),
                );
                site_doc!(
                    B13,
                    Relaxed,
                    "wait_for_readers",
                    "util/rcu.c@2f58f3627f74:134 qatomic_set(&index->waiting, false)",
                    "No barrier needed: worst of all we get some extra futex wake-ups [B13]"
                );
            }
            index = tmp;
        }

        if c.qlist_empty(F, REGISTRY) {
            break;
        }

        // Sleep for a while and try again.
        qemu_mutex_unlock(&c.rcu_registry_lock);

        if forced {
            logic::swap::<P, _, _>(
                site!(L38, SwapPair, "wait_for_readers", "util/rcu.c@2f58f3627f74:163,169 qemu_event_wait(&rcu_gp_event); qemu_event_reset(&rcu_gp_event)",
                    "The wait on rcu_gp_event before its reset (MASTER resets before the scan instead). Swapped, a set made after the scan is erased by the reset before the wait [L38]"),
                || {
                    c.rt.probe("gp_event_wait");
                    rcu_core::runtime::current::<P>()
                        .hint("wait_for_readers(): waiting for a reader to leave its critical section");
                    qemu_event_wait(&c.rcu_gp_event);
                },
                || {
                    // We want to be notified of changes made to rcu_gp_ongoing while
                    // we walk the list.
                    logic::call::<P>(
                        site!(L4, CallStmt, "wait_for_readers", "util/rcu.c@2f58f3627f74:169 qemu_event_reset(&rcu_gp_event)",
                            "The grace period resets rcu_gp_event after each wait, so that the next wait sleeps until a reader it saw leaves [L4]"),
                        || qemu_event_reset(&c.rcu_gp_event),
                    );
                    site_doc!(
                        B10,
                        Call,
                        "wait_for_readers",
                        "util/rcu.c@2f58f3627f74:169 qemu_event_reset(&rcu_gp_event)",
                        "No barrier needed: reset after the wait; it ends with B44, and a stale SET only costs a rescan [B10]"
                    );
                },
            );
        } else {
            logic::call::<P>(
                site!(
                    L25,
                    CallStmt,
                    "wait_for_readers",
                    "util/rcu.c@2f58f3627f74:171 qemu_event_timedwait(&rcu_call_force_event, 10)",
                    "The unforced grace period sleeps 10 ms between polls, woken early by force_rcu() [L25]"
                ),
                || {
                    qemu_event_timedwait(&g.rcu_call_force_event, 10);
                },
            );
            sleeps -= 1;
            c.rt.probe("timed_poll");
        }

        qemu_mutex_lock(&c.rcu_registry_lock);
    }

    // put back the reader list in the registry
    c.lists.with_mut(F, |l| {
        l.swap(REGISTRY, qsreaders);
        l.drop_head(qsreaders);
    });
}

/// `call_rcu_thread()` (v3 rcu.c:287-337).
pub fn call_rcu_thread<P: Platform>(v: &V3<P>) {
    let c = &v.c;
    let g = &v.g;
    c.rcu_register_thread();

    loop {
        let mut state;
        let mut n;

        // Fetch rcu_call_state now, we only must process elements that were
        // added before enter_qs() starts.
        loop {
            state = logic::swap::<P, _, _>(
                site!(L40, SwapPair, "call_rcu_thread", "util/rcu.c@2f58f3627f74:302-303 qemu_event_reset(&rcu_call_ready_event); state = qatomic_fetch_and(&rcu_call_state, RCU_CALL_STATE_COUNT)",
                    "The reset of rcu_call_ready_event before the snapshot of rcu_call_state (reset-check-wait). Swapped, an increment and set between the snapshot and the reset is lost [L40]"),
                || {
                    logic::call::<P>(
                        site!(L16, CallStmt, "call_rcu_thread", "util/rcu.c@2f58f3627f74:302 qemu_event_reset(&rcu_call_ready_event)",
                            "The RCU thread resets rcu_call_ready_event before it takes the state snapshot and sleeps [L16]"),
                        || qemu_event_reset(&g.rcu_call_ready_event),
                    )
                },
                || {
                    qatomic_fetch_and(&g.rcu_call_state, RCU_CALL_STATE_COUNT, site!(B83, Rmw(SeqCst), "call_rcu_thread",
                        "util/rcu.c@2f58f3627f74:303 qatomic_fetch_and(&rcu_call_state, RCU_CALL_STATE_COUNT)",
                        "Snapshot of the count and consumption of FORCED, atomically, before enter_qs(). Pairs with B80 in force_rcu() and B84 in call_rcu1() [B83]"))
                },
            )
            .1;
            n = state & RCU_CALL_STATE_COUNT;
            if n != 0 {
                break;
            }
            rcu_trace!(P, "malloc_trim()");
            if c.stop_requested() {
                return;
            }
            qemu_event_wait(&g.rcu_call_ready_event);
        }

        seed::enter_qs(v, state & RCU_CALL_STATE_FORCED != 0);
        logic::store::<P>(
            site!(
                L18,
                StoreStmt,
                "call_rcu_thread",
                "util/rcu.c@2f58f3627f74:316 qatomic_sub(&rcu_call_state, n)",
                "The RCU thread takes the batch of n callbacks off the count [L18]"
            ),
            || {
                qatomic_sub(&g.rcu_call_state, n, site!(B27, Rmw(SeqCst), "call_rcu_thread",
                    "util/rcu.c@2f58f3627f74:316 qatomic_sub(&rcu_call_state, n)",
                    "The grace period before the subtraction of the batch. Pairs with B84 in call_rcu1(): the RMWs keep the count exact [B27]"));
            },
        );
        c.dequeue_and_run(
            n,
            &g.rcu_call_ready_event,
            site!(L3, CallStmt, "call_rcu_thread", "util/rcu.c@2f58f3627f74:322 qemu_event_reset(&rcu_call_ready_event)",
                "The dequeue loop resets rcu_call_ready_event before it re-checks a link that a producer has not stored yet, and waits [L3]"),
        );
    }
}

/// `call_rcu1()` (v3 rcu.c:339-345): always sets rcu_call_ready_event.
pub fn call_rcu1<P: Platform>(v: &V3<P>, node: HeadRef, func: RcuCallback) {
    let c = &v.c;
    rcu_trace!(P, "call_rcu1({})", c.head_name(node));
    c.set_func(node, func);
    let inc = || {
        qatomic_inc(&v.g.rcu_call_state, site!(B84, Rmw(SeqCst), "call_rcu1",
            "util/rcu.c@2f58f3627f74:343 qatomic_inc(&rcu_call_state)",
            "The caller's stores and the enqueue before the count that makes the RCU thread start a grace period for it. Pairs with B83 in call_rcu_thread() and B27 in call_rcu_thread(): when the RCU thread's snapshot includes a node whose event set comes later, this release, acquired by B83 and followed by B17, is all that orders the caller's pointer store before rcu_gp_ctr (gp_sync_busy_rcu_thread at pb 3) [B84]"))
    };
    let set = || {
        logic::call::<P>(
            site!(
                L10,
                CallStmt,
                "call_rcu1",
                "util/rcu.c@2f58f3627f74:344 qemu_event_set(&rcu_call_ready_event)",
                "call_rcu1() wakes the RCU thread sleeping on rcu_call_ready_event [L10]"
            ),
            || qemu_event_set(&v.g.rcu_call_ready_event),
        );
        site_doc!(B29, Call, "call_rcu1", "util/rcu.c@2f58f3627f74:344 qemu_event_set(&rcu_call_ready_event)",
            "No barrier needed: qemu_event_set() begins with the full barrier B40, ordering the count before the event [B29]");
    };
    // Two overlapping swap sites over three statements (one mutant at a time).
    if logic::swapped::<P>(site!(L15, SwapPair, "call_rcu1", "util/rcu.c@2f58f3627f74:342-343 enqueue(node); qatomic_inc(&rcu_call_state)",
        "The enqueue before the increment of the count. Swapped, the RCU thread can count a node that is not linked yet [L15]"))
    {
        inc();
        c.enqueue(node);
        set();
    } else if logic::swapped::<P>(site!(L14, SwapPair, "call_rcu1", "util/rcu.c@2f58f3627f74:343-344 qatomic_inc(&rcu_call_state); qemu_event_set(&rcu_call_ready_event)",
        "The increment of the count before the set of rcu_call_ready_event. Swapped, the RCU thread can wake, take a snapshot without the node and sleep again [L14]"))
    {
        c.enqueue(node);
        set();
        inc();
    } else {
        c.enqueue(node);
        inc();
        set();
    }
}
