//! MASTER: QEMU's util/rcu.c as of the 2026-02-13 master (upstream merge
//! `ece408818d`), blob `b703c86f15a3`: byte-identical to the file before
//! "rcu: Unify force quiescent state" (55d98e3ede), which was reverted by
//! ddb4d9d174.  Spec §3.
//!
//! What this module ports (the rest is in [`crate::common`]):
//!
//! | C function (rcu.c lines) | Rust |
//! |---|---|
//! | `wait_for_readers()` (75-142) | [`wait_for_readers`] |
//! | `synchronize_rcu()` (144-174) | [`synchronize_rcu`] (shared with UNIFY) |
//! | `call_rcu_thread()` (255-306) | [`call_rcu_thread`] |
//! | `call_rcu1()` (308-314) | [`call_rcu1`] (shared with UNIFY) |
//! | `drain_call_rcu()`, `drain_rcu_callback()` (317-371) | [`drain_call_rcu`] (shared with UNIFY) |
//! | `rcu_init_complete()` (402-419) | [`Master::new`] + [`crate::Rcu::rcu_init`] |
//!
//! Fork support (`rcu_init_lock/unlock/child`, `atfork_depth`) is not modelled.

use std::sync::Arc;

use rcu_core::atomic::{qatomic_dec, qatomic_inc, qatomic_read, qatomic_set, qatomic_sub, smp_mb_global, QAtomic};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_wait, QemuEvent};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock, QemuMutex};
use rcu_core::platform::Platform;
use rcu_core::runtime::{g_usleep, GpMode, Runtime};
use rcu_core::{logic, rcu_trace, site, site_doc};

use crate::common::{HeadRef, RcuCallback, RcuCommon, RCU_CALL_MIN_SIZE, RCU_GP_CTR, REGISTRY};
use crate::RcuVersion;

/// MASTER's file-scope variables besides the common ones (rcu.c:49-51, 184-185).
/// UNIFY has exactly the same set.
pub struct MasterGlobals<P: Platform> {
    /// `static int in_drain_call_rcu`.
    pub in_drain_call_rcu: QAtomic<P, u32>,
    /// `static QemuMutex rcu_sync_lock`.
    pub rcu_sync_lock: QemuMutex<P>,
    /// `static int rcu_call_count`.
    pub rcu_call_count: QAtomic<P, u32>,
    /// `static QemuEvent rcu_call_ready_event` (initialised reset).
    pub rcu_call_ready_event: QemuEvent<P>,
}

impl<P: Platform> MasterGlobals<P> {
    /// As `rcu_init_complete()` initialises them.
    pub fn new() -> Self {
        MasterGlobals {
            in_drain_call_rcu: QAtomic::new("in_drain_call_rcu", 0),
            rcu_sync_lock: QemuMutex::new("rcu_sync_lock"),
            rcu_call_count: QAtomic::new("rcu_call_count", 0),
            rcu_call_ready_event: QemuEvent::new("rcu_call_ready_event", false),
        }
    }
}

impl<P: Platform> Default for MasterGlobals<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// A version with MASTER's globals: MASTER itself and UNIFY.  The functions
/// UNIFY did not change are written once, generic over this trait, and call
/// the version's own `wait_for_readers()` like the C file calls its static one.
pub trait MasterLike<P: Platform>: Send + Sync + 'static {
    /// The shared state.
    fn c(&self) -> &RcuCommon<P>;
    /// The file-scope variables.
    fn g(&self) -> &MasterGlobals<P>;
    /// This version's `wait_for_readers()`.
    fn wait_for_readers(&self);
}

/// The MASTER version.
pub struct Master<P: Platform> {
    c: RcuCommon<P>,
    g: MasterGlobals<P>,
}

impl<P: Platform> Master<P> {
    /// The state after `rcu_init_complete()`'s initialisations.
    pub fn new(rt: Arc<Runtime<P>>) -> Self {
        Master { c: RcuCommon::new(rt), g: MasterGlobals::new() }
    }
}

impl<P: Platform> MasterLike<P> for Master<P> {
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

impl<P: Platform> RcuVersion<P> for Master<P> {
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

/// `wait_for_readers()` (rcu.c:75-142): wait for the previous parity/grace
/// period to be empty of readers.  Called and returns with rcu_registry_lock
/// held; drops it while it waits.
pub fn wait_for_readers<P: Platform, V: MasterLike<P>>(v: &V) {
    let c = v.c();
    let qsreaders = c.lists.with_mut(F, |l| l.new_head());

    loop {
        // We want to be notified of changes made to rcu_gp_ongoing while we
        // walk the list.
        logic::swap::<P, _, _>(
            site!(L37, SwapPair, "wait_for_readers", "util/rcu.c:84-88 qemu_event_reset(&rcu_gp_event); QLIST_FOREACH waiting = true",
                "The reset of rcu_gp_event before the stores to index->waiting. Swapped, a reader that sees waiting and sets the event before the reset has its wake-up erased [L37]"),
            || {
                logic::call::<P>(
                    site!(L4, CallStmt, "wait_for_readers", "util/rcu.c:84 qemu_event_reset(&rcu_gp_event)",
                        "The grace period resets rcu_gp_event before each scan, so that the wait after the scan sleeps until a reader it saw leaves [L4]"),
                    || qemu_event_reset(&c.rcu_gp_event),
                );
                site_doc!(B10, Call, "wait_for_readers", "util/rcu.c:84 qemu_event_reset(&rcu_gp_event)",
                    "No barrier needed: qemu_event_reset() ends with its own full barrier B44, ordering the reset before the waiting stores [B10]");
            },
            || {
                let mut index = c.qlist_first(F, REGISTRY);
                while let Some(i) = index {
                    logic::store::<P>(
                        site!(L5, StoreStmt, "wait_for_readers", "util/rcu.c:87 qatomic_set(&index->waiting, true)",
                            "The grace period marks each reader it will wait for, so that the reader's rcu_read_unlock() sets rcu_gp_event [L5]"),
                        || qatomic_set(&c.readers[i].waiting, true),
                    );
                    site_doc!(
                        B11,
                        Relaxed,
                        "wait_for_readers",
                        "util/rcu.c:87 qatomic_set(&index->waiting, true)",
                        "No barrier needed: B12 orders these stores before the loads of index->ctr [B11]"
                    );
                    index = c.qlist_next(F, i);
                }
            },
        );

        // Here, order the stores to index->waiting before the loads of
        // index->ctr.  Pairs with smp_mb_placeholder() in rcu_read_unlock(),
        // ensuring that the loads of index->ctr are sequentially consistent.
        //
        // If this is the last iteration, this barrier also prevents frees from
        // seeping upwards, and orders the two wait phases on architectures with
        // 32-bit longs; see synchronize_rcu().
        smp_mb_global::<P>(site!(B12, Fence(SeqCst), "wait_for_readers", "util/rcu.c:98 smp_mb_global()",
            "Stores to index->waiting before the loads of index->ctr. Pairs with B6 in rcu_read_unlock(). Also orders the rcu_gp_ctr update before the ctr loads, and the two 32-bit phases (nothing orders the last scan before the caller's frees but the control dependency: proofs.md F11) [B12]"));

        let mut index = c.qlist_first(F, REGISTRY);
        while let Some(i) = index {
            let tmp = c.qlist_next(F, i);
            if !c.rcu_gp_ongoing(&c.readers[i].ctr) {
                c.qlist_move(F, i, qsreaders);

                // No need for memory barriers here, worst of all we get some
                // extra futex wakeups.
                logic::store::<P>(
                    site!(L6, StoreStmt, "wait_for_readers", "util/rcu.c:108 qatomic_set(&index->waiting, false)",
                        "The grace period clears the waiting flag of a reader it found quiescent, so that its next unlock does not set rcu_gp_event [L6]"),
                    || qatomic_set(&c.readers[i].waiting, false),
                );
                site_doc!(
                    B13,
                    Relaxed,
                    "wait_for_readers",
                    "util/rcu.c:108 qatomic_set(&index->waiting, false)",
                    "No barrier needed: worst of all we get some extra futex wake-ups [B13]"
                );
            } else if logic::cond::<P>(
                site!(L8, AndCond, "wait_for_readers", "util/rcu.c:109 if (qatomic_read(&in_drain_call_rcu))",
                    "While a drain_call_rcu() is in progress, the grace period calls the force_rcu notifiers of every reader it still waits for [L8]"),
                || qatomic_read(&v.g().in_drain_call_rcu) != 0,
            ) {
                site_doc!(
                    B14,
                    Relaxed,
                    "wait_for_readers",
                    "util/rcu.c:109 qatomic_read(&in_drain_call_rcu)",
                    "No barrier needed: a heuristic; a stale zero only delays the notifiers to the next scan [B14]"
                );
                logic::call::<P>(
                    site!(L7, CallStmt, "wait_for_readers", "util/rcu.c:110 notifier_list_notify(&index->force_rcu, NULL)",
                        "The grace period asks a reader that it waits for to leave its critical section (force_rcu notifiers: a vCPU kicked out of TCG) [L7]"),
                    || c.notifier_list_notify(F, i),
                );
            }
            index = tmp;
        }

        if c.qlist_empty(F, REGISTRY) {
            break;
        }

        // Wait for one thread to report a quiescent state and try again.
        // Release rcu_registry_lock, so rcu_(un)register_thread() doesn't wait
        // too much time.  The invariant is that the node is part of one list
        // when rcu_registry_lock is released.
        qemu_mutex_unlock(&c.rcu_registry_lock);
        c.rt.probe("gp_event_wait");
        rcu_core::runtime::current::<P>()
            .hint("wait_for_readers(): waiting for a reader to leave its critical section");
        qemu_event_wait(&c.rcu_gp_event);
        site_doc!(
            B15,
            Call,
            "wait_for_readers",
            "util/rcu.c:135-137 unlock; qemu_event_wait(&rcu_gp_event); lock",
            "No barrier needed: qemu_event_wait() is an acquire (B45) and the rescan starts with B10 and B12 [B15]"
        );
        qemu_mutex_lock(&c.rcu_registry_lock);
    }

    // put back the reader list in the registry
    c.lists.with_mut(F, |l| {
        l.swap(REGISTRY, qsreaders);
        l.drop_head(qsreaders);
    });
}

/// `synchronize_rcu()` (rcu.c:144-174).  Shared by MASTER and UNIFY.
pub fn synchronize_rcu<P: Platform, V: MasterLike<P>>(v: &V) {
    let c = v.c();
    rcu_trace!(P, "synchronize_rcu()");
    qemu_mutex_lock(&v.g().rcu_sync_lock);
    site_doc!(
        B16,
        Lock,
        "synchronize_rcu",
        "util/rcu.c:146,156 QEMU_LOCK_GUARD(&rcu_sync_lock), (&rcu_registry_lock)",
        "No barrier needed: rcu_sync_lock only serialises grace periods, so rcu_gp_event has a single waiter [B16]"
    );

    // Write RCU-protected pointers before reading p_rcu_reader->ctr.  Pairs
    // with smp_mb_placeholder() in rcu_read_lock().  Also orders write to
    // RCU-protected pointers before write to rcu_gp_ctr.
    smp_mb_global::<P>(site!(B17, Fence(SeqCst), "synchronize_rcu", "util/rcu.c:154 smp_mb_global()",
        "The updater's stores to RCU-protected pointers before the loads of p_rcu_reader->ctr and the store to rcu_gp_ctr. Pairs with B4 in rcu_read_lock() [B17]"));

    qemu_mutex_lock(&c.rcu_registry_lock);
    if !c.qlist_empty("synchronize_rcu", REGISTRY) {
        let l9 = site!(L9, StoreStmt, "synchronize_rcu", "util/rcu.c:164,166,169 qatomic_set(&rcu_gp_ctr, ...)",
            "The grace period advances rcu_gp_ctr (both parity flips on 32-bit hosts), so that a reader that entered before it looks old to rcu_gp_ongoing() [L9]");
        match c.gp_mode {
            GpMode::TwoPhase => {
                // For architectures with 32-bit longs, a two-subphases
                // algorithm ensures we do not encounter overflow bugs.
                // Switch parity: 0 -> 1, 1 -> 0.
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, qatomic_read(&c.rcu_gp_ctr) ^ RCU_GP_CTR));
                v.wait_for_readers();
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, qatomic_read(&c.rcu_gp_ctr) ^ RCU_GP_CTR));
            }
            GpMode::Increment { .. } => {
                // Increment current grace period.
                logic::store::<P>(l9, || qatomic_set(&c.rcu_gp_ctr, c.gp_ctr_increment(qatomic_read(&c.rcu_gp_ctr))));
            }
        }
        site_doc!(B18, Relaxed, "synchronize_rcu", "util/rcu.c:164,166,169 qatomic_set(&rcu_gp_ctr, ...)",
            "No barrier needed: B17 orders it after the pointer stores and B12 in the next wait_for_readers() before the ctr loads [B18]");
        v.wait_for_readers();
    }
    qemu_mutex_unlock(&c.rcu_registry_lock);
    qemu_mutex_unlock(&v.g().rcu_sync_lock);
}

/// `call_rcu_thread()` (rcu.c:255-306).  The thread never exits in QEMU; here
/// it returns when the harness requested a stop and it is about to sleep idle.
pub fn call_rcu_thread<P: Platform, V: MasterLike<P> + RcuVersion<P>>(v: &V) {
    let c = MasterLike::c(v);
    let g = v.g();
    c.rcu_register_thread();

    loop {
        let mut tries = 0;
        let mut n = qatomic_read(&g.rcu_call_count);
        site_doc!(B25, Relaxed, "call_rcu_thread", "util/rcu.c:263,273,281 qatomic_read(&rcu_call_count)",
            "No barrier needed: callbacks counted here were enqueued before their increment; the dequeue loop waits for late links [B25]");

        // Heuristically wait for a decent number of callbacks to pile up.
        // Fetch rcu_call_count now, we only must process elements that were
        // added before synchronize_rcu() starts.
        while n == 0
            || (logic::cond::<P>(
                site!(L19, AndCond, "call_rcu_thread", "util/rcu.c:269 n < RCU_CALL_MIN_SIZE",
                    "The RCU thread waits for RCU_CALL_MIN_SIZE callbacks to pile up before it starts a grace period [L19]"),
                || n < RCU_CALL_MIN_SIZE,
            ) && logic::cond::<P>(
                site!(L20, AndCond, "call_rcu_thread", "util/rcu.c:269 ++tries <= 5",
                    "The RCU thread waits for the pile-up at most five times 10 ms [L20]"),
                || {
                    tries += 1;
                    tries <= 5
                },
            ))
        {
            g_usleep::<P>(10000);
            if n == 0 {
                let ((), k) = logic::swap::<P, _, _>(
                    site!(L40, SwapPair, "call_rcu_thread", "util/rcu.c:272-273 qemu_event_reset(&rcu_call_ready_event); n = qatomic_read(&rcu_call_count)",
                        "The reset of rcu_call_ready_event before the re-read of rcu_call_count (reset-check-wait). Swapped, an increment and set between the read and the reset is lost [L40]"),
                    || {
                        logic::call::<P>(
                            site!(L16, CallStmt, "call_rcu_thread", "util/rcu.c:272 qemu_event_reset(&rcu_call_ready_event)",
                                "The idle RCU thread resets rcu_call_ready_event before it re-reads the count and sleeps [L16]"),
                            || qemu_event_reset(&g.rcu_call_ready_event),
                        );
                        site_doc!(
                            B26,
                            Call,
                            "call_rcu_thread",
                            "util/rcu.c:272,291 qemu_event_reset(&rcu_call_ready_event)",
                            "No barrier needed: reset-check-wait; qemu_event_reset() ends with B44 [B26]"
                        );
                    },
                    || qatomic_read(&g.rcu_call_count),
                );
                n = k;
                if n == 0 {
                    rcu_trace!(P, "malloc_trim()");
                    if c.stop_requested() {
                        return;
                    }
                    qemu_event_wait(&g.rcu_call_ready_event);
                }
            }
            n = qatomic_read(&g.rcu_call_count);
        }

        logic::store::<P>(
            site!(
                L18,
                StoreStmt,
                "call_rcu_thread",
                "util/rcu.c:284 qatomic_sub(&rcu_call_count, n)",
                "The RCU thread takes the batch of n callbacks off the count [L18]"
            ),
            || {
                qatomic_sub(&g.rcu_call_count, n, site!(B27, Rmw(SeqCst), "call_rcu_thread",
                    "util/rcu.c:284 qatomic_sub(&rcu_call_count, n)",
                    "Subtraction of the batch before the grace period starts. Pairs with B28 in call_rcu1(): the RMWs keep the count exact [B27]"));
            },
        );
        v.synchronize_rcu();
        c.dequeue_and_run(
            n,
            &g.rcu_call_ready_event,
            site!(L3, CallStmt, "call_rcu_thread", "util/rcu.c:291 qemu_event_reset(&rcu_call_ready_event)",
                "The dequeue loop resets rcu_call_ready_event before it re-checks a link that a producer has not stored yet, and waits [L3]"),
        );
    }
}

/// `call_rcu1()` (rcu.c:308-314).  Shared by MASTER and UNIFY.
pub fn call_rcu1<P: Platform, V: MasterLike<P>>(v: &V, node: HeadRef, func: RcuCallback) {
    let c = v.c();
    rcu_trace!(P, "call_rcu1({})", c.head_name(node));
    c.set_func(node, func);
    let inc = || {
        qatomic_inc(
            &v.g().rcu_call_count,
            site!(B28, Rmw(SeqCst), "call_rcu1",
            "util/rcu.c:312 qatomic_inc(&rcu_call_count)",
            "The caller's stores (its unpublish of the object) and the enqueue before the count that makes the RCU thread start a grace period for it. Pairs with B27 in call_rcu_thread() and B25 in call_rcu_thread(): when the RCU thread picks the count up without waiting on the event, this release, read by the count and followed by B17, is all that orders the caller's pointer store before rcu_gp_ctr (gp_call_rcu_busy_rcu_thread) [B28]"),
        )
    };
    let set = || {
        logic::call::<P>(
            site!(
                L10,
                CallStmt,
                "call_rcu1",
                "util/rcu.c:313 qemu_event_set(&rcu_call_ready_event)",
                "call_rcu1() wakes the RCU thread sleeping on rcu_call_ready_event [L10]"
            ),
            || qemu_event_set(&v.g().rcu_call_ready_event),
        );
        site_doc!(B29, Call, "call_rcu1", "util/rcu.c:313 qemu_event_set(&rcu_call_ready_event)",
            "No barrier needed: qemu_event_set() begins with the full barrier B40, ordering the count before the event [B29]");
    };
    // Two overlapping swap sites over three statements (one mutant at a time).
    if logic::swapped::<P>(site!(L15, SwapPair, "call_rcu1", "util/rcu.c:311-312 enqueue(node); qatomic_inc(&rcu_call_count)",
        "The enqueue before the increment of the count. Swapped, the RCU thread can count a node that is not linked yet [L15]"))
    {
        inc();
        c.enqueue(node);
        set();
    } else if logic::swapped::<P>(site!(L14, SwapPair, "call_rcu1", "util/rcu.c:312-313 qatomic_inc(&rcu_call_count); qemu_event_set(&rcu_call_ready_event)",
        "The increment of the count before the set of rcu_call_ready_event. Swapped, the RCU thread can wake, read the old count and sleep again [L14]"))
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

/// `drain_call_rcu()` with `drain_rcu_callback()` (rcu.c:317-371).  Shared by
/// MASTER and UNIFY.
pub fn drain_call_rcu<P: Platform, V: MasterLike<P> + RcuVersion<P>>(v: &V) {
    let c = MasterLike::c(v);
    rcu_trace!(P, "drain_call_rcu()");
    let rcu_drain = c.alloc_head("rcu_drain.rcu");
    let drain_complete_event = Arc::new(QemuEvent::<P>::new("drain_complete_event", false));
    let locked = c.bql.bql_locked();

    if locked {
        c.bql.bql_unlock();
    }

    // RCU callbacks are invoked in the same order as in which they are
    // registered, thus we can be sure that when 'drain_rcu_callback' is
    // called, all RCU callbacks that were registered on this thread prior to
    // calling this function are completed.
    logic::store::<P>(
        site!(
            L34,
            StoreStmt,
            "drain_call_rcu",
            "util/rcu.c:362 qatomic_inc(&in_drain_call_rcu)",
            "The drainer announces itself, so that grace periods call the force_rcu notifiers until it is done [L34]"
        ),
        || {
            qatomic_inc(&v.g().in_drain_call_rcu, site!(B31, Rmw(SeqCst), "drain_call_rcu",
                "util/rcu.c:362 qatomic_inc(&in_drain_call_rcu)",
                "The drain request before enqueueing the drain callback. Pairs with B14 in wait_for_readers(), a relaxed heuristic read [B31]"));
        },
    );
    let ev = drain_complete_event.clone();
    v.call_rcu1(
        rcu_drain,
        Box::new(move || {
            logic::call::<P>(
                site!(
                    L32,
                    CallStmt,
                    "drain_rcu_callback",
                    "util/rcu.c:325 qemu_event_set(&event->drain_complete_event)",
                    "The drain callback wakes the drainer waiting for it in drain_call_rcu() [L32]"
                ),
                || qemu_event_set(&ev),
            )
        }),
    );
    qemu_event_wait(&drain_complete_event);
    site_doc!(B32, Call, "drain_call_rcu", "util/rcu.c:364 qemu_event_wait / rcu.c:325 qemu_event_set(drain_complete_event)",
        "No barrier needed: set is a release and wait an acquire, so the callbacks' effects are visible to the drainer [B32]");
    logic::store::<P>(
        site!(
            L35,
            StoreStmt,
            "drain_call_rcu",
            "util/rcu.c:365 qatomic_dec(&in_drain_call_rcu)",
            "The drainer withdraws, so that later grace periods stop calling the force_rcu notifiers [L35]"
        ),
        || {
            qatomic_dec(
                &v.g().in_drain_call_rcu,
                site!(
                    B34,
                    Rmw(SeqCst),
                    "drain_call_rcu",
                    "util/rcu.c:365 qatomic_dec(&in_drain_call_rcu)",
                    "The end of the drain before later grace periods stop forcing. Pairs with B14 in wait_for_readers() [B34]"
                ),
            )
        },
    );

    if locked {
        c.bql.bql_lock();
    }
}
