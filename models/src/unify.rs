//! UNIFY: commit 55d98e3ede "rcu: Unify force quiescent state" (posted
//! 2025-10-16 as Message-Id
//! `20251016-force-v1-1-919a82112498@rsg.ci.i.u-tokyo.ac.jp`, merged
//! 2025-10-29, in v10.2.0, reverted 2026-02-12 by ddb4d9d174), util/rcu.c blob
//! `acac9446ea98`.  Spec §4.
//!
//! The patch changed two functions; everything else is MASTER's:
//!
//! | C function (unify rcu.c lines) | Rust |
//! |---|---|
//! | `wait_for_readers()` (79-172): polls 5×10 ms, then enters the forced state (notifiers + `waiting`, once); wait *then* reset `rcu_gp_event` | [`wait_for_readers`] |
//! | `call_rcu_thread()` (281-329): starts the grace period at once; `qatomic_sub` moved after it | [`call_rcu_thread`] |
//! | `synchronize_rcu()`, `call_rcu1()`, `drain_call_rcu()` | unchanged: [`crate::master`] |

use std::sync::Arc;

use rcu_core::atomic::{qatomic_read, qatomic_set, qatomic_sub, smp_mb_global};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_wait};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock};
use rcu_core::platform::Platform;
use rcu_core::runtime::{g_usleep, Runtime};
use rcu_core::{logic, rcu_trace, site, site_doc};

use crate::common::{HeadRef, RcuCallback, RcuCommon, RCU_CALL_MIN_SIZE, REGISTRY};
use crate::master::{self, MasterGlobals, MasterLike};
use crate::RcuVersion;

/// The UNIFY version (same globals as MASTER).
pub struct Unify<P: Platform> {
    c: RcuCommon<P>,
    g: MasterGlobals<P>,
}

impl<P: Platform> Unify<P> {
    /// The state after `rcu_init_complete()`'s initialisations.
    pub fn new(rt: Arc<Runtime<P>>) -> Self {
        Unify { c: RcuCommon::new(rt), g: MasterGlobals::new() }
    }
}

impl<P: Platform> MasterLike<P> for Unify<P> {
    fn c(&self) -> &RcuCommon<P> {
        &self.c
    }
    fn g(&self) -> &MasterGlobals<P> {
        &self.g
    }
    fn wait_for_readers(&self) {
        wait_for_readers(self)
    }
}

impl<P: Platform> RcuVersion<P> for Unify<P> {
    fn c(&self) -> &RcuCommon<P> {
        &self.c
    }
    fn synchronize_rcu(&self) {
        master::synchronize_rcu(self)
    }
    fn call_rcu1(&self, node: HeadRef, func: RcuCallback) {
        master::call_rcu1(self, node, func)
    }
    fn drain_call_rcu(&self) {
        master::drain_call_rcu(self)
    }
    fn force_rcu(&self) -> bool {
        false
    }
    fn call_rcu_thread(&self) {
        call_rcu_thread(self)
    }
    fn kick_idle(&self) {
        qemu_event_set(&self.g.rcu_call_ready_event)
    }
}

const F: &str = "wait_for_readers";

/// `wait_for_readers()` (unify rcu.c:79-172).
pub fn wait_for_readers<P: Platform, V: MasterLike<P>>(v: &V) {
    let c = v.c();
    let g = v.g();
    let qsreaders = c.lists.with_mut(F, |l| l.new_head());
    let mut sleeps = 0;
    let mut forced = false;

    loop {
        // Force the grace period to end and wait for it if any of the
        // following heuristical conditions are satisfied:
        // - A decent number of callbacks piled up.
        // - It timed out.
        // - It is in a drain_call_rcu() call.
        // Otherwise, periodically poll the grace period, hoping it ends promptly.
        if !forced
            && (logic::cond::<P>(
                site!(
                    L21,
                    OrCond,
                    "wait_for_readers",
                    "util/rcu.c@acac9446ea98:98 qatomic_read(&rcu_call_count) >= RCU_CALL_MIN_SIZE",
                    "The grace period forces when a decent number of callbacks piled up [L21]"
                ),
                || qatomic_read(&g.rcu_call_count) >= RCU_CALL_MIN_SIZE,
            ) || logic::cond::<P>(
                site!(
                    L22,
                    OrCond,
                    "wait_for_readers",
                    "util/rcu.c@acac9446ea98:99 sleeps >= 5",
                    "The grace period forces when it timed out: five polls without the readers leaving [L22]"
                ),
                || sleeps >= 5,
            ) || logic::cond::<P>(
                site!(
                    L24,
                    OrCond,
                    "wait_for_readers",
                    "util/rcu.c@acac9446ea98:99 qatomic_read(&in_drain_call_rcu)",
                    "The grace period forces when a drain_call_rcu() is in progress [L24]"
                ),
                || qatomic_read(&g.in_drain_call_rcu) != 0,
            ))
        {
            site_doc!(
                B50,
                Relaxed,
                "wait_for_readers",
                "util/rcu.c@acac9446ea98:98-99 qatomic_read(&rcu_call_count), qatomic_read(&in_drain_call_rcu)",
                "No barrier needed: heuristics; a stale value only delays forcing to the next poll [B50]"
            );
            forced = true;
            rcu_trace!(P, "wait_for_readers: enter the forced state (sleeps = {})", sleeps);
            c.rt.probe("forced_state");
            if sleeps < 5 {
                c.rt.probe("forced_early");
            }

            let mut index = c.qlist_first(F, REGISTRY);
            while let Some(i) = index {
                logic::swap::<P, _, _>(
                    site!(L39, SwapPair, "wait_for_readers", "util/rcu.c@acac9446ea98:103-104 notifier_list_notify(&index->force_rcu, NULL); qatomic_set(&index->waiting, true)",
                        "The force_rcu notifiers of a reader before its waiting flag is set. Swapped, the reader is marked waiting before it is kicked [L39]"),
                    || {
                        logic::call::<P>(
                            site!(L7, CallStmt, "wait_for_readers", "util/rcu.c@acac9446ea98:103 notifier_list_notify(&index->force_rcu, NULL)",
                                "The forced grace period asks each reader to leave its critical section (force_rcu notifiers: a vCPU kicked out of TCG) [L7]"),
                            || c.notifier_list_notify(F, i),
                        )
                    },
                    || {
                        logic::store::<P>(
                            site!(L5, StoreStmt, "wait_for_readers", "util/rcu.c@acac9446ea98:104 qatomic_set(&index->waiting, true)",
                                "The forced grace period marks each reader it will wait for, so that the reader's rcu_read_unlock() sets rcu_gp_event [L5]"),
                            || qatomic_set(&c.readers[i].waiting, true),
                        );
                        site_doc!(
                            B11,
                            Relaxed,
                            "wait_for_readers",
                            "util/rcu.c@acac9446ea98:104 qatomic_set(&index->waiting, true)",
                            "No barrier needed: B12 below orders these stores before the loads of index->ctr [B11]"
                        );
                    },
                );
                index = c.qlist_next(F, i);
            }
        }

        // Here, order the stores to index->waiting before the loads of
        // index->ctr.  Pairs with smp_mb_placeholder() in rcu_read_unlock().
        smp_mb_global::<P>(site!(B12, Fence(SeqCst), "wait_for_readers", "util/rcu.c@acac9446ea98:116 smp_mb_global()",
            "Stores to index->waiting before the loads of index->ctr. Pairs with B6 in rcu_read_unlock(). Also orders the rcu_gp_ctr update before the ctr loads (nothing orders the last scan before the caller's frees but the control dependency or, in SEED and later, the completion event's fences: proofs.md F11) [B12]"));

        let mut index = c.qlist_first(F, REGISTRY);
        while let Some(i) = index {
            let tmp = c.qlist_next(F, i);
            if !c.rcu_gp_ongoing(&c.readers[i].ctr) {
                c.qlist_move(F, i, qsreaders);
                // No need for memory barriers here, worst of all we get some
                // extra futex wakeups.
                logic::store::<P>(
                    site!(L6, StoreStmt, "wait_for_readers", "util/rcu.c@acac9446ea98:126 qatomic_set(&index->waiting, false)",
                        "The grace period clears the waiting flag of a reader it found quiescent, so that its next unlock does not set rcu_gp_event [L6]"),
                    || qatomic_set(&c.readers[i].waiting, false),
                );
                site_doc!(
                    B13,
                    Relaxed,
                    "wait_for_readers",
                    "util/rcu.c@acac9446ea98:126 qatomic_set(&index->waiting, false)",
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
                site!(L38, SwapPair, "wait_for_readers", "util/rcu.c@acac9446ea98:155,161 qemu_event_wait(&rcu_gp_event); qemu_event_reset(&rcu_gp_event)",
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
                        site!(L4, CallStmt, "wait_for_readers", "util/rcu.c@acac9446ea98:161 qemu_event_reset(&rcu_gp_event)",
                            "The grace period resets rcu_gp_event after each wait, so that the next wait sleeps until a reader it saw leaves [L4]"),
                        || qemu_event_reset(&c.rcu_gp_event),
                    );
                    site_doc!(
                        B10,
                        Call,
                        "wait_for_readers",
                        "util/rcu.c@acac9446ea98:161 qemu_event_reset(&rcu_gp_event)",
                        "No barrier needed: reset after the wait; it ends with B44, and a stale SET only costs a rescan [B10]"
                    );
                },
            );
        } else {
            g_usleep::<P>(10000);
            sleeps += 1;
        }

        qemu_mutex_lock(&c.rcu_registry_lock);
    }

    // put back the reader list in the registry
    c.lists.with_mut(F, |l| {
        l.swap(REGISTRY, qsreaders);
        l.drop_head(qsreaders);
    });
}

/// `call_rcu_thread()` (unify rcu.c:281-329).
pub fn call_rcu_thread<P: Platform, V: MasterLike<P> + RcuVersion<P>>(v: &V) {
    let c = MasterLike::c(v);
    let g = v.g();
    c.rcu_register_thread();

    loop {
        let n;

        // Fetch rcu_call_count now, we only must process elements that were
        // added before synchronize_rcu() starts.
        loop {
            let ((), k) = logic::swap::<P, _, _>(
                site!(L40, SwapPair, "call_rcu_thread", "util/rcu.c@acac9446ea98:295-296 qemu_event_reset(&rcu_call_ready_event); n = qatomic_read(&rcu_call_count)",
                    "The reset of rcu_call_ready_event before the read of rcu_call_count (reset-check-wait). Swapped, an increment and set between the read and the reset is lost [L40]"),
                || {
                    logic::call::<P>(
                        site!(L16, CallStmt, "call_rcu_thread", "util/rcu.c@acac9446ea98:295 qemu_event_reset(&rcu_call_ready_event)",
                            "The RCU thread resets rcu_call_ready_event before it reads the count and sleeps [L16]"),
                        || qemu_event_reset(&g.rcu_call_ready_event),
                    );
                    site_doc!(
                        B26,
                        Call,
                        "call_rcu_thread",
                        "util/rcu.c@acac9446ea98:295 qemu_event_reset(&rcu_call_ready_event)",
                        "No barrier needed: reset-check-wait; qemu_event_reset() ends with B44 [B26]"
                    );
                },
                || qatomic_read(&g.rcu_call_count),
            );
            site_doc!(
                B25,
                Relaxed,
                "call_rcu_thread",
                "util/rcu.c@acac9446ea98:296 qatomic_read(&rcu_call_count)",
                "No barrier needed: B44 in the reset before it orders the load after the reset [B25]"
            );
            if k != 0 {
                n = k;
                break;
            }

            rcu_trace!(P, "malloc_trim()");
            if c.stop_requested() {
                return;
            }
            qemu_event_wait(&g.rcu_call_ready_event);
        }

        v.synchronize_rcu();
        logic::store::<P>(
            site!(
                L18,
                StoreStmt,
                "call_rcu_thread",
                "util/rcu.c@acac9446ea98:308 qatomic_sub(&rcu_call_count, n)",
                "The RCU thread takes the batch of n callbacks off the count [L18]"
            ),
            || {
                qatomic_sub(&g.rcu_call_count, n, site!(B27, Rmw(SeqCst), "call_rcu_thread",
                    "util/rcu.c@acac9446ea98:308 qatomic_sub(&rcu_call_count, n)",
                    "The grace period before the subtraction of the batch, so that wait_for_readers() sees the pile-up. Pairs with B28 in call_rcu1() [B27]"));
            },
        );
        c.dequeue_and_run(
            n,
            &g.rcu_call_ready_event,
            site!(L3, CallStmt, "call_rcu_thread", "util/rcu.c@acac9446ea98:314 qemu_event_reset(&rcu_call_ready_event)",
                "The dequeue loop resets rcu_call_ready_event before it re-checks a link that a producer has not stored yet, and waits [L3]"),
        );
    }
}
