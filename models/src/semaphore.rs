//! SEMAPHORE: Peter Xu's draft "rcu: Make sync_event a semaphore", on top of
//! SEED, in its two orderings, both posted as diffs inside replies in the thread
//! on SEED 4/5 (never as a series):
//!
//! * **draft** (Message-ID `aQ0Ys09WtlSPoapm@x1.local`, 2025-11-06; diff
//!   `index 85f9333f5d..dfe031a5c9`): after the idle loop read `n`, the grace
//!   period is started with `enter_qs(!qatomic_xchg(&forced, false))`.
//!   util/rcu.c blob `dfe031a5c96e` (the diff applied to SEED's `85f9333f5dff`);
//! * **follow-up** (Message-ID `aQ37hd0fVJltYtt-@x1.local`, 2025-11-07; diff
//!   `index dfe031a5c9..aff98d9ee2` on top of the draft): `sleep =
//!   !qatomic_xchg(&forced, false)` is read inside the idle loop, *before* `n`.
//!   util/rcu.c blob `aff98d9ee29c`.
//!
//! Spec §6b and §7 item 3.  The port follows those two exact files; line
//! numbers are to them (draft / follow-up where they differ).  The draft kept
//! wait_for_readers()'s condition as written with `qemu_sem_timedwait()` in
//! place of the v1 event timed wait, although the former returns 0 on success
//! and -1 on timeout (the opposite truth value): the port keeps that too.
//!
//! | C function (draft / follow-up rcu.c lines) | Rust |
//! |---|---|
//! | `force_rcu()` (80-84): `qatomic_set(&forced, true); qemu_sem_post(&sync_event)` | [`force_rcu`] |
//! | `wait_for_readers(bool sleep)` (87-176): SEED's with `qemu_sem_timedwait(&sync_event, 10)` (line 151) | SEED's [`crate::seed::wait_for_readers`] with that timed wait |
//! | `call_rcu_thread()` (282-328 / 282-330): no resets, `sem_wait` when idle and in the dequeue loop | [`call_rcu_thread`] |
//! | `call_rcu1()` (330-338 / 332-340): posts on the 0→1 transition | [`call_rcu1`] |
//! | `enter_qs()` (178-206), `synchronize_rcu()` (351-359 / 353-361), `drain_call_rcu()` (370-403 / 372-405) | SEED's, unchanged |

use std::sync::Arc;

use rcu_core::atomic::{qatomic_fetch_inc, qatomic_read, qatomic_set, qatomic_sub, qatomic_xchg, QAtomic};
use rcu_core::platform::Platform;
use rcu_core::runtime::Runtime;
use rcu_core::sem::{qemu_sem_post, qemu_sem_timedwait, qemu_sem_wait, QemuSemaphore};
use rcu_core::{logic, rcu_trace, site, site_doc};

use crate::common::{HeadRef, RcuCallback, RcuCommon, FORCED_SWAPS};
use crate::seed::{self, EnterQs};
use crate::RcuVersion;

/// Which of Peter Xu's two orderings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordering {
    /// 2025-11-06 (blob `dfe031a5c96e`): `enter_qs(!xchg(&forced, false))` after reading `n`.
    Draft,
    /// 2025-11-07 (blob `aff98d9ee29c`): `sleep = !xchg(&forced, false)` before reading `n`.
    Followup,
}

/// SEMAPHORE's file-scope variables besides the common ones (rcu.c:52-57).
pub struct SemGlobals<P: Platform> {
    /// `static bool forced`.
    pub forced: QAtomic<P, bool>,
    /// `static int rcu_call_count`.
    pub rcu_call_count: QAtomic<P, u32>,
    /// `static QemuSemaphore sync_event` (initial count 0).
    pub sync_event: QemuSemaphore<P>,
}

/// The SEMAPHORE version (either ordering).
pub struct Semaphore<P: Platform> {
    c: RcuCommon<P>,
    g: SemGlobals<P>,
    ordering: Ordering,
}

impl<P: Platform> Semaphore<P> {
    /// The state after `rcu_init_complete()`'s initialisations.
    pub fn new(rt: Arc<Runtime<P>>, ordering: Ordering) -> Self {
        Semaphore {
            c: RcuCommon::new(rt),
            g: SemGlobals {
                forced: QAtomic::new("forced", false).stores_as_swaps(FORCED_SWAPS),
                rcu_call_count: QAtomic::new("rcu_call_count", 0),
                sync_event: QemuSemaphore::new("sync_event", 0),
            },
            ordering,
        }
    }
}

impl<P: Platform> EnterQs<P> for Semaphore<P> {
    fn wait_for_readers(&self, sleep: bool) {
        // `qemu_sem_timedwait(&sync_event, 10)` in the position of the v1
        // `qemu_event_timedwait()`, as a C truth value: -1 (timeout) is true.
        seed::wait_for_readers(self, &self.g.rcu_call_count, sleep, || qemu_sem_timedwait(&self.g.sync_event, 10) != 0)
    }
}

impl<P: Platform> RcuVersion<P> for Semaphore<P> {
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
        qemu_sem_post(&self.g.sync_event)
    }
}

/// `force_rcu()` (rcu.c:80-84): `qatomic_set(&forced, true); qemu_sem_post(&sync_event)`.
pub fn force_rcu<P: Platform>(v: &Semaphore<P>) {
    rcu_trace!(P, "force_rcu()");
    logic::store::<P>(
        site!(L26, StoreStmt, "force_rcu", "util/rcu.c@dfe031a5c96e:82 (follow-up aff98d9ee29c:82) qatomic_set(&forced, true)",
            "force_rcu() records the request, so that the RCU thread's next grace period forces at once (enter_qs(sleep = false)) [L26]"),
        || qatomic_set(&v.g.forced, true),
    );
    site_doc!(
        B70,
        Relaxed,
        "force_rcu",
        "util/rcu.c@dfe031a5c96e:82 (follow-up aff98d9ee29c:82) qatomic_set(&forced, true)",
        "No barrier needed: qemu_sem_post() right after takes the semaphore's mutex, a release [B70]"
    );
    logic::call::<P>(
        site!(
            L28,
            CallStmt,
            "force_rcu",
            "util/rcu.c@dfe031a5c96e:83 (follow-up aff98d9ee29c:83) qemu_sem_post(&sync_event)",
            "force_rcu() posts sync_event: it wakes the idle RCU thread, or ends a grace period's timed wait [L28]"
        ),
        || qemu_sem_post(&v.g.sync_event),
    );
}

fn xchg_forced<P: Platform>(v: &Semaphore<P>) -> bool {
    qatomic_xchg(&v.g.forced, false, site!(B71, Rmw(SeqCst), "call_rcu_thread",
        "util/rcu.c@dfe031a5c96e:307 (follow-up aff98d9ee29c:297) qatomic_xchg(&forced, false)",
        "Consumption of a force request before (follow-up) or after (draft) reading rcu_call_count. Pairs with B70 in force_rcu() through the semaphore's mutex [B71]"))
}

/// `call_rcu_thread()` of the draft (rcu.c:282-328) / follow-up (rcu.c:282-330).
pub fn call_rcu_thread<P: Platform>(v: &Semaphore<P>) {
    let c = &v.c;
    let g = &v.g;
    c.rcu_register_thread();

    loop {
        let mut sleep = true;
        let n;

        // Fetch rcu_call_count now, we only must process elements that were
        // added before enter_qs() starts.
        loop {
            if v.ordering == Ordering::Followup {
                sleep = !xchg_forced(v);
            }
            let k = qatomic_read(&g.rcu_call_count);
            site_doc!(
                B72,
                Relaxed,
                "call_rcu_thread",
                "util/rcu.c@dfe031a5c96e:296 (follow-up aff98d9ee29c:298) qatomic_read(&rcu_call_count)",
                "No barrier needed: ordered after the semaphore wait by its mutex [B72]"
            );
            if k != 0 {
                n = k;
                break;
            }
            rcu_trace!(P, "malloc_trim()");
            if c.stop_requested() {
                return;
            }
            qemu_sem_wait(&g.sync_event);
        }

        if v.ordering == Ordering::Draft {
            sleep = !xchg_forced(v);
        }
        seed::enter_qs(v, sleep);
        logic::store::<P>(
            site!(
                L18,
                StoreStmt,
                "call_rcu_thread",
                "util/rcu.c@dfe031a5c96e:308 (follow-up aff98d9ee29c:310) qatomic_sub(&rcu_call_count, n)",
                "The RCU thread takes the batch of n callbacks off the count [L18]"
            ),
            || {
                qatomic_sub(&g.rcu_call_count, n, site!(B27, Rmw(SeqCst), "call_rcu_thread",
                    "util/rcu.c@dfe031a5c96e:308 (follow-up aff98d9ee29c:310) qatomic_sub(&rcu_call_count, n)",
                    "The grace period before the subtraction of the batch. Pairs with B73 in call_rcu1(): the RMWs keep the count exact [B27]"));
            },
        );
        c.dequeue_and_run_with(n, || {}, || qemu_sem_wait(&g.sync_event));
    }
}

/// `call_rcu1()` (draft rcu.c:330-338, follow-up 332-340): posts sync_event on
/// the 0→1 transition of rcu_call_count.
pub fn call_rcu1<P: Platform>(v: &Semaphore<P>, node: HeadRef, func: RcuCallback) {
    let c = &v.c;
    rcu_trace!(P, "call_rcu1({})", c.head_name(node));
    c.set_func(node, func);
    let ((), old) = logic::swap::<P, _, _>(
        site!(L15, SwapPair, "call_rcu1", "util/rcu.c@dfe031a5c96e:333-335 (follow-up aff98d9ee29c:335-337) enqueue(node); qatomic_fetch_inc(&rcu_call_count)",
            "The enqueue before the increment of the count. Swapped, the RCU thread can count a node that is not linked yet [L15]"),
        || c.enqueue(node),
        || {
            qatomic_fetch_inc(
                &v.g.rcu_call_count,
                site!(B73, Rmw(SeqCst), "call_rcu1",
                "util/rcu.c@dfe031a5c96e:335 (follow-up aff98d9ee29c:337) qatomic_fetch_inc(&rcu_call_count)",
                "The enqueue before the count that makes the RCU thread dequeue it. Pairs with B27 in call_rcu_thread() [B73]"),
            )
        },
    );
    if logic::cond::<P>(
        site!(
            L13,
            AndCond,
            "call_rcu1",
            "util/rcu.c@dfe031a5c96e:335 (follow-up aff98d9ee29c:337) if (!qatomic_fetch_inc(&rcu_call_count))",
            "call_rcu1() wakes the RCU thread only on the count's 0 to 1 transition [L13]"
        ),
        || old == 0,
    ) {
        logic::call::<P>(
            site!(
                L12,
                CallStmt,
                "call_rcu1",
                "util/rcu.c@dfe031a5c96e:336 (follow-up aff98d9ee29c:338) qemu_sem_post(&sync_event)",
                "call_rcu1() posts sync_event when the count leaves zero: it wakes the idle RCU thread [L12]"
            ),
            || qemu_sem_post(&v.g.sync_event),
        );
    }
}
