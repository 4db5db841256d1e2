//! SEED: the force_rcu series v1 (2025-10-29), patches 3/5 "rcu: Use
//! call_rcu() in synchronize_rcu()" and 4/5 "rcu: Wake the RCU thread when
//! draining" (Message-Id `20251029-force_rcu-v1-4-bf860a6277a6@rsg.ci.i.u-tokyo.ac.jp`),
//! on top of UNIFY.  util/rcu.c blob `85f9333f5dff` (3/5 alone: `3c4af9d213c8`).
//! This is the code the two seed messages discuss.  Spec §5.
//!
//! The exact file: the CI mirror has no v1 commits (b4 could not apply v1 to
//! master), but the 4/5 mail's util/rcu.c hunk (`index 3c4af9d213c8..85f9333f5dff`)
//! applies to blob `3c4af9d213c8`, v3's post-3/5 file (pbo-linaro/qemu-ci commit
//! `76873115f47a`; being the hunk's pre-image, it is also v1 3/5's result), and
//! gives exactly blob `85f9333f5dff`.  The port follows that file; every line
//! number here and in the `site!` references is to it.
//!
//! | C function (seed rcu.c lines) | Rust |
//! |---|---|
//! | `force_rcu()` (80-84) | [`force_rcu`] |
//! | `wait_for_readers(bool sleep)` (87-176): polls with `qemu_event_timedwait(&sync_event, 10)`; **enters the forced state after dropping rcu_registry_lock** and walks the registry and the notifier lists without it | [`wait_for_readers`] |
//! | `enter_qs(bool sleep)` (178-206): MASTER's synchronize_rcu minus rcu_sync_lock | [`enter_qs`] (shared with SEMAPHORE and V3) |
//! | `call_rcu_thread()` (282-347): re-reads `n` while `xchg(&forced, false)` | [`call_rcu_thread`] |
//! | `call_rcu1()` (349-357): sets sync_event only on the 0→1 transition | [`call_rcu1`] |
//! | `synchronize_rcu()` (370-378, from 3/5): call_rcu + wait on a stack event | [`synchronize_rcu`] (shared) |
//! | `drain_call_rcu()` (389-422): call_rcu; force_rcu; wait | [`drain_call_rcu`] (shared) |

use std::sync::Arc;

use rcu_core::atomic::{
    qatomic_fetch_inc, qatomic_read, qatomic_set, qatomic_sub, qatomic_xchg, smp_mb_global, QAtomic,
};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_timedwait_v1, qemu_event_wait, QemuEvent};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock};
use rcu_core::platform::Platform;
use rcu_core::runtime::{GpMode, Runtime};
use rcu_core::{logic, rcu_trace, site, site_doc};

use crate::common::{HeadRef, RcuCallback, RcuCommon, FORCED_SWAPS, RCU_CALL_MIN_SIZE, RCU_GP_CTR, REGISTRY};
use crate::RcuVersion;

/// SEED's file-scope variables besides the common ones (seed rcu.c:52-57).
pub struct SeedGlobals<P: Platform> {
    /// `static bool forced`.
    pub forced: QAtomic<P, bool>,
    /// `static int rcu_call_count`.
    pub rcu_call_count: QAtomic<P, u32>,
    /// `static QemuEvent sync_event`: "Set when the forced variable is set or
    /// rcu_call_count becomes non-zero."  Initialised reset.
    pub sync_event: QemuEvent<P>,
}

/// A version whose grace period is `enter_qs(bool)` over its own
/// `wait_for_readers(bool)`: SEED, SEMAPHORE, V3.
pub trait EnterQs<P: Platform>: RcuVersion<P> {
    /// This version's `wait_for_readers(bool)` (`sleep` in SEED, `force` in V3).
    fn wait_for_readers(&self, flag: bool);
}

/// The SEED version.
pub struct Seed<P: Platform> {
    c: RcuCommon<P>,
    g: SeedGlobals<P>,
}

impl<P: Platform> Seed<P> {
    /// The state after `rcu_init_complete()`'s initialisations.
    pub fn new(rt: Arc<Runtime<P>>) -> Self {
        Seed {
            c: RcuCommon::new(rt),
            g: SeedGlobals {
                forced: QAtomic::new("forced", false).stores_as_swaps(FORCED_SWAPS),
                rcu_call_count: QAtomic::new("rcu_call_count", 0),
                sync_event: QemuEvent::new("sync_event", false),
            },
        }
    }
}

impl<P: Platform> EnterQs<P> for Seed<P> {
    fn wait_for_readers(&self, sleep: bool) {
        wait_for_readers(self, &self.g.rcu_call_count, sleep, || qemu_event_timedwait_v1(&self.g.sync_event, 10))
    }
}

impl<P: Platform> RcuVersion<P> for Seed<P> {
    fn c(&self) -> &RcuCommon<P> {
        &self.c
    }
    fn synchronize_rcu(&self) {
        synchronize_rcu(self)
    }
    fn call_rcu1(&self, node: HeadRef, func: RcuCallback) {
        call_rcu1(self, node, func)
    }
    fn drain_call_rcu(&self) {
        drain_call_rcu(self)
    }
    fn force_rcu(&self) -> bool {
        force_rcu(self);
        true
    }
    fn call_rcu_thread(&self) {
        call_rcu_thread(self)
    }
    fn kick_idle(&self) {
        qemu_event_set(&self.g.sync_event)
    }
}

/// `force_rcu()` (seed rcu.c:80-84).
pub fn force_rcu<P: Platform>(v: &Seed<P>) {
    rcu_trace!(P, "force_rcu()");
    logic::store::<P>(
        site!(L26, StoreStmt, "force_rcu", "util/rcu.c@85f9333f5dff:82 qatomic_set(&forced, true)",
            "force_rcu() records the request, so that the RCU thread's next grace period forces at once (enter_qs(sleep = false)) [L26]"),
        || qatomic_set(&v.g.forced, true),
    );
    site_doc!(
        B60,
        Relaxed,
        "force_rcu",
        "util/rcu.c@85f9333f5dff:82 qatomic_set(&forced, true)",
        "No barrier needed: qemu_event_set() right after begins with the full barrier B40 [B60]"
    );
    logic::call::<P>(
        site!(
            L27,
            CallStmt,
            "force_rcu",
            "util/rcu.c@85f9333f5dff:83 qemu_event_set(&sync_event)",
            "force_rcu() wakes the RCU thread, or ends the timed wait of a grace period in progress [L27]"
        ),
        || qemu_event_set(&v.g.sync_event),
    );
}

const F: &str = "wait_for_readers";

/// `wait_for_readers(bool sleep)` (seed rcu.c:87-176), with the timed wait as
/// a parameter: SEED passes `qemu_event_timedwait(&sync_event, 10)` (v1 2/5,
/// util/event.c blob `e22cc08a629b`: true iff set); SEMAPHORE passes
/// `qemu_sem_timedwait(&sync_event, 10)` as the draft wrote it (0 on success,
/// -1 on timeout, used as a C truth value).  Lines 87-206 are the same in the
/// SEMAPHORE blobs `dfe031a5c96e` and `aff98d9ee29c` (only line 151 differs).
pub fn wait_for_readers<P: Platform, V: RcuVersion<P> + ?Sized>(
    v: &V,
    rcu_call_count: &QAtomic<P, u32>,
    sleep: bool,
    timedwait: impl Fn() -> bool,
) {
    let c = v.c();
    let qsreaders = c.lists.with_mut(F, |l| l.new_head());
    let mut sleeps = if sleep { 5 } else { 0 };
    let mut waiting = false;

    loop {
        // Here, order the stores to index->waiting before the loads of
        // index->ctr.  Pairs with smp_mb_placeholder() in rcu_read_unlock().
        // (The waiting stores are now made in the previous iteration.)
        smp_mb_global::<P>(site!(B12, Fence(SeqCst), "wait_for_readers", "util/rcu.c@85f9333f5dff:103 smp_mb_global()",
            "Stores to index->waiting (made by the previous iteration) before the loads of index->ctr. Pairs with B6 in rcu_read_unlock(). Also orders the rcu_gp_ctr update before the ctr loads (nothing orders the last scan before the caller's frees but the control dependency or, in SEED and later, the completion event's fences: proofs.md F11) [B12]"));

        let mut index = c.qlist_first(F, REGISTRY);
        while let Some(i) = index {
            let tmp = c.qlist_next(F, i);
            if !c.rcu_gp_ongoing(&c.readers[i].ctr) {
                c.qlist_move(F, i, qsreaders);
                // No need for memory barriers here, worst of all we get some
                // extra futex wakeups.
                logic::store::<P>(
                    site!(L6, StoreStmt, "wait_for_readers", "util/rcu.c@85f9333f5dff:113 qatomic_set(&index->waiting, false)",
                        "The grace period clears the waiting flag of a reader it found quiescent, so that its next unlock does not set rcu_gp_event [L6]"),
                    || qatomic_set(&c.readers[i].waiting, false),
                );
                site_doc!(
                    B13,
                    Relaxed,
                    "wait_for_readers",
                    "util/rcu.c@85f9333f5dff:113 qatomic_set(&index->waiting, false)",
                    "No barrier needed: worst of all we get some extra futex wake-ups [B13]"
                );
            }
            index = tmp;
        }

        if c.qlist_empty(F, REGISTRY) {
            break;
        }

        qemu_mutex_unlock(&c.rcu_registry_lock);

        if waiting {
            // Wait for the forced quiescent state.
            logic::swap::<P, _, _>(
                site!(L38, SwapPair, "wait_for_readers", "util/rcu.c@85f9333f5dff:143,149 qemu_event_wait(&rcu_gp_event); qemu_event_reset(&rcu_gp_event)",
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
                        site!(L4, CallStmt, "wait_for_readers", "util/rcu.c@85f9333f5dff:149 qemu_event_reset(&rcu_gp_event)",
                            "The grace period resets rcu_gp_event after each wait, so that the next wait sleeps until a reader it saw leaves [L4]"),
                        || qemu_event_reset(&c.rcu_gp_event),
                    );
                    site_doc!(
                        B10,
                        Call,
                        "wait_for_readers",
                        "util/rcu.c@85f9333f5dff:143,149 qemu_event_wait; qemu_event_reset(&rcu_gp_event)",
                        "No barrier needed: reset after the wait; it ends with B44, and a stale SET only costs a rescan [B10]"
                    );
                },
            );
        } else if logic::cond::<P>(
            site!(L21, OrCond, "wait_for_readers", "util/rcu.c@85f9333f5dff:150 qatomic_read(&rcu_call_count) >= RCU_CALL_MIN_SIZE",
                "The grace period forces when a decent number of callbacks piled up [L21]"),
            || qatomic_read(rcu_call_count) >= RCU_CALL_MIN_SIZE,
        ) || logic::cond::<P>(
            site!(L22, OrCond, "wait_for_readers", "util/rcu.c@85f9333f5dff:151 !sleeps",
                "The grace period forces when it has no sleeps left: at once for enter_qs(false), after five timed waits otherwise [L22]"),
            || sleeps == 0,
        ) || logic::cond::<P>(
            site!(L23, OrCond, "wait_for_readers", "util/rcu.c@85f9333f5dff:151 qemu_event_timedwait(&sync_event, 10) (semaphore: qemu_sem_timedwait(&sync_event, 10))",
                "The grace period waits 10 ms on sync_event and forces when it was set (force_rcu(), a new first callback) or, in the semaphore drafts, when the wait timed out [L23]"),
            &timedwait,
        ) {
            site_doc!(
                B61,
                Relaxed,
                "wait_for_readers",
                "util/rcu.c@85f9333f5dff:150 qatomic_read(&rcu_call_count)",
                "No barrier needed: a heuristic; a stale value only delays forcing [B61]"
            );
            // Now one of the following heuristical conditions is satisfied:
            // - A decent number of callbacks piled up.
            // - It timed out.
            // - force_rcu() was called.
            // Force a quiescent state.
            waiting = true;
            rcu_trace!(P, "wait_for_readers: enter the forced state (sleeps left {})", sleeps);
            c.rt.probe("forced_state");
            if sleeps > 0 {
                c.rt.probe("forced_early");
            }

            // NB: rcu_registry_lock is not held here (unlocked at rcu.c:139,
            // re-taken at rcu.c:171): the registry and the notifier lists are
            // walked without it.
            let mut index = c.qlist_first(F, REGISTRY);
            while let Some(i) = index {
                logic::swap::<P, _, _>(
                    site!(L39, SwapPair, "wait_for_readers", "util/rcu.c@85f9333f5dff:163-164 notifier_list_notify(&index->force_rcu, NULL); qatomic_set(&index->waiting, true)",
                        "The force_rcu notifiers of a reader before its waiting flag is set. Swapped, the reader is marked waiting before it is kicked [L39]"),
                    || {
                        logic::call::<P>(
                            site!(L7, CallStmt, "wait_for_readers", "util/rcu.c@85f9333f5dff:163 notifier_list_notify(&index->force_rcu, NULL)",
                                "The forced grace period asks each reader to leave its critical section (force_rcu notifiers: a vCPU kicked out of TCG) [L7]"),
                            || c.notifier_list_notify(F, i),
                        )
                    },
                    || {
                        logic::store::<P>(
                            site!(L5, StoreStmt, "wait_for_readers", "util/rcu.c@85f9333f5dff:164 qatomic_set(&index->waiting, true)",
                                "The forced grace period marks each reader it will wait for, so that the reader's rcu_read_unlock() sets rcu_gp_event [L5]"),
                            || qatomic_set(&c.readers[i].waiting, true),
                        );
                        site_doc!(B11, Relaxed, "wait_for_readers", "util/rcu.c@85f9333f5dff:164 qatomic_set(&index->waiting, true)",
                            "No barrier needed: B12 at the top of the next iteration orders these stores before the loads of index->ctr [B11]");
                    },
                );
                index = c.qlist_next(F, i);
            }
        } else {
            // Try again.
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

/// `enter_qs(bool sleep)` (seed rcu.c:178-206; v3 `enter_qs(bool force)`, v3 rcu.c:182-210):
/// MASTER's synchronize_rcu() without rcu_sync_lock (only the RCU thread calls it).
pub fn enter_qs<P: Platform, V: EnterQs<P> + ?Sized>(v: &V, flag: bool) {
    let c = v.c();
    rcu_trace!(P, "enter_qs({})", flag);
    // Write RCU-protected pointers before reading p_rcu_reader->ctr.  Pairs
    // with smp_mb_placeholder() in rcu_read_lock().  Also orders write to
    // RCU-protected pointers before write to rcu_gp_ctr.
    smp_mb_global::<P>(site!(B17, Fence(SeqCst), "enter_qs", "util/rcu.c@85f9333f5dff:186 smp_mb_global()",
        "The updaters' stores to RCU-protected pointers before the loads of p_rcu_reader->ctr and the store to rcu_gp_ctr. Pairs with B4 in rcu_read_lock() [B17]"));

    qemu_mutex_lock(&c.rcu_registry_lock);
    if !c.qlist_empty("enter_qs", REGISTRY) {
        let l9 = site!(L9, StoreStmt, "enter_qs", "util/rcu.c@85f9333f5dff:196,198,201 (v3 2f58f3627f74:200,202,205) qatomic_set(&rcu_gp_ctr, ...)",
            "The grace period advances rcu_gp_ctr (both parity flips on 32-bit hosts), so that a reader that entered before it looks old to rcu_gp_ongoing() [L9]");
        match c.gp_mode {
            GpMode::TwoPhase => {
                // Switch parity: 0 -> 1, 1 -> 0.
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, qatomic_read(&c.rcu_gp_ctr) ^ RCU_GP_CTR));
                v.wait_for_readers(flag);
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, qatomic_read(&c.rcu_gp_ctr) ^ RCU_GP_CTR));
            }
            GpMode::Increment { .. } => {
                // Increment current grace period.
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, c.gp_ctr_increment(qatomic_read(&c.rcu_gp_ctr))));
            }
        }
        site_doc!(B18, Relaxed, "enter_qs", "util/rcu.c@85f9333f5dff:196,198,201 qatomic_set(&rcu_gp_ctr, ...)",
            "No barrier needed: B17 orders it after the pointer stores and B12 in the next wait_for_readers() before the ctr loads [B18]");
        v.wait_for_readers(flag);
    }
    qemu_mutex_unlock(&c.rcu_registry_lock);
}

/// `call_rcu_thread()` (seed rcu.c:282-347).
pub fn call_rcu_thread<P: Platform>(v: &Seed<P>) {
    let c = &v.c;
    let g = &v.g;
    c.rcu_register_thread();

    loop {
        let mut sleep = true;
        let mut n;

        // Fetch rcu_call_count now, we only must process elements that were
        // added before enter_qs() starts.
        loop {
            n = logic::swap::<P, _, _>(
                site!(L40, SwapPair, "call_rcu_thread", "util/rcu.c@85f9333f5dff:297-298 qemu_event_reset(&sync_event); n = qatomic_read(&rcu_call_count)",
                    "The reset of sync_event before the read of rcu_call_count (reset-check-wait). Swapped, an increment and set between the read and the reset is lost [L40]"),
                || {
                    logic::call::<P>(
                        site!(L16, CallStmt, "call_rcu_thread", "util/rcu.c@85f9333f5dff:297 qemu_event_reset(&sync_event)",
                            "The RCU thread resets sync_event before it reads the count and sleeps [L16]"),
                        || qemu_event_reset(&g.sync_event),
                    )
                },
                || qatomic_read(&g.rcu_call_count),
            )
            .1;
            site_doc!(B62, Relaxed, "call_rcu_thread", "util/rcu.c@85f9333f5dff:298,322 qatomic_read(&rcu_call_count)",
                "No barrier needed: the reset's B44 orders the first load after the reset; later ones follow the xchg of forced [B62]");
            if n != 0 {
                break;
            }
            rcu_trace!(P, "malloc_trim()");
            if c.stop_requested() {
                return;
            }
            qemu_event_wait(&g.sync_event);
        }

        // Ensure that an event for a rcu_call_count change will not interrupt
        // wait_for_readers().
        logic::call::<P>(
            site!(L17, CallStmt, "call_rcu_thread", "util/rcu.c@85f9333f5dff:313 qemu_event_reset(&sync_event)",
                "The RCU thread resets sync_event once more before the grace period, so that the increment that woke it does not end wait_for_readers()' first timed wait [L17]"),
            || qemu_event_reset(&g.sync_event),
        );

        // Ensure that the forced variable has not been set after fetching
        // rcu_call_count; otherwise we may get confused by a force quiescent
        // state request for an element later than n.
        while qatomic_xchg(&g.forced, false, site!(B63, Rmw(SeqCst), "call_rcu_thread",
            "util/rcu.c@85f9333f5dff:320 qatomic_xchg(&forced, false)",
            "Consumption of a force request before re-reading rcu_call_count. Pairs with B60 in force_rcu() through B40 in qemu_event_set() [B63]"))
        {
            sleep = false;
            n = qatomic_read(&g.rcu_call_count);
        }

        enter_qs(v, sleep);
        logic::store::<P>(
            site!(
                L18,
                StoreStmt,
                "call_rcu_thread",
                "util/rcu.c@85f9333f5dff:326 qatomic_sub(&rcu_call_count, n)",
                "The RCU thread takes the batch of n callbacks off the count [L18]"
            ),
            || {
                qatomic_sub(&g.rcu_call_count, n, site!(B27, Rmw(SeqCst), "call_rcu_thread",
                    "util/rcu.c@85f9333f5dff:326 qatomic_sub(&rcu_call_count, n)",
                    "The grace period before the subtraction of the batch. Pairs with B64 in call_rcu1(): the RMWs keep the count exact [B27]"));
            },
        );
        c.dequeue_and_run(
            n,
            &g.sync_event,
            site!(L3, CallStmt, "call_rcu_thread", "util/rcu.c@85f9333f5dff:332 qemu_event_reset(&sync_event)",
                "The dequeue loop resets sync_event before it re-checks a link that a producer has not stored yet, and waits [L3]"),
        );
    }
}

/// `call_rcu1()` (seed rcu.c:349-357): only the 0→1 transition of
/// rcu_call_count sets sync_event.
pub fn call_rcu1<P: Platform>(v: &Seed<P>, node: HeadRef, func: RcuCallback) {
    let c = &v.c;
    rcu_trace!(P, "call_rcu1({})", c.head_name(node));
    c.set_func(node, func);
    let ((), old) = logic::swap::<P, _, _>(
        site!(L15, SwapPair, "call_rcu1", "util/rcu.c@85f9333f5dff:352-354 enqueue(node); qatomic_fetch_inc(&rcu_call_count)",
            "The enqueue before the increment of the count. Swapped, the RCU thread can count a node that is not linked yet [L15]"),
        || c.enqueue(node),
        || {
            qatomic_fetch_inc(
                &v.g.rcu_call_count,
                site!(B64, Rmw(SeqCst), "call_rcu1",
                "util/rcu.c@85f9333f5dff:354 qatomic_fetch_inc(&rcu_call_count)",
                "The enqueue before the count that makes the RCU thread dequeue it. Pairs with B27 in call_rcu_thread() [B64]"),
            )
        },
    );
    if logic::cond::<P>(
        site!(
            L13,
            AndCond,
            "call_rcu1",
            "util/rcu.c@85f9333f5dff:354 if (!qatomic_fetch_inc(&rcu_call_count))",
            "call_rcu1() wakes the RCU thread only on the count's 0 to 1 transition [L13]"
        ),
        || old == 0,
    ) {
        logic::call::<P>(
            site!(
                L11,
                CallStmt,
                "call_rcu1",
                "util/rcu.c@85f9333f5dff:355 qemu_event_set(&sync_event)",
                "call_rcu1() wakes the RCU thread sleeping on sync_event when the count leaves zero [L11]"
            ),
            || qemu_event_set(&v.g.sync_event),
        );
    }
}

/// `synchronize_rcu()` of 3/5 (seed rcu.c:370-378, v3 the same): queue a
/// callback that sets an on-stack event, and wait for it.  Shared by SEED,
/// SEMAPHORE and V3.
pub fn synchronize_rcu<P: Platform, V: RcuVersion<P> + ?Sized>(v: &V) {
    let c = v.c();
    rcu_trace!(P, "synchronize_rcu() [via call_rcu]");
    let sync_rcu = c.alloc_head("sync.rcu");
    let complete_event = Arc::new(QemuEvent::<P>::new("sync.complete_event", false));
    let ev = complete_event.clone();
    // sync_rcu_callback()
    v.call_rcu1(sync_rcu, Box::new(move || sync_rcu_callback::<P>(&ev)));
    qemu_event_wait(&complete_event);
}

/// `sync_rcu_callback()` (seed rcu.c:365-368; semaphore draft 346-349,
/// follow-up 348-351; v3 353-356): wake the synchronize_rcu() or
/// drain_call_rcu() caller.
pub fn sync_rcu_callback<P: Platform>(complete_event: &QemuEvent<P>) {
    logic::call::<P>(
        site!(L33, CallStmt, "sync_rcu_callback", "util/rcu.c@85f9333f5dff:367 (draft :348, follow-up :350, v3 :355) qemu_event_set(&sync->complete_event)",
            "The callback wakes the synchronize_rcu() or drain_call_rcu() caller waiting on the on-stack complete_event [L33]"),
        || qemu_event_set(complete_event),
    )
}

/// `drain_call_rcu()` of 4/5 (seed rcu.c:389-422; v3 the same): call_rcu, then
/// force_rcu() so that the forced request covers the drain node, then wait.
/// Shared by SEED, SEMAPHORE and V3.
pub fn drain_call_rcu<P: Platform, V: RcuVersion<P> + ?Sized>(v: &V) {
    let c = v.c();
    rcu_trace!(P, "drain_call_rcu()");
    let sync_rcu = c.alloc_head("sync.rcu");
    let complete_event = Arc::new(QemuEvent::<P>::new("sync.complete_event", false));
    let locked = c.bql.bql_locked();

    if locked {
        c.bql.bql_unlock();
    }

    let ev = complete_event.clone();
    v.call_rcu1(sync_rcu, Box::new(move || sync_rcu_callback::<P>(&ev)));
    let has = v.force_rcu();
    debug_assert!(has);
    qemu_event_wait(&complete_event);

    if locked {
        c.bql.bql_lock();
    }
}
