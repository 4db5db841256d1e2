//! loom 0.7.2: exhaustive (bounded) exploration of C11 executions.
//!
//! Limits that matter here (checkers.md §0, §2): SeqCst *accesses* behave as
//! AcqRel, `fence(SeqCst)` is modelled; no load buffering; at most 5 threads
//! including the model's main thread; `park` never returns spuriously; no time.
//!
//! **Fences are not events of loom's exploration.**  `loom::sync::atomic::fence`
//! is neither a scheduling point nor an access its DPOR sees, so loom only
//! reorders two threads' `fence(SeqCst)` as a side effect of some conflicting
//! pair of accesses.  Yet in loom (as in C11) the order of SC fences decides
//! which stores later loads may read.  Found here: with `smp_mb_global()` B17
//! dropped, the reader's `rcu_read_lock()` can run between the updater's
//! `rcu_gp_ctr` store and its next fence, read the new counter, pass its own
//! fence B4 *before* the updater's, and still read the old pointer, a
//! use-after-free; plain loom never scheduled it (0 in 2,400 executions at
//! preemption bound 5), because every reordering it tried moved the reader's
//! accesses relative to conflicting accesses only.  So every `fence(SeqCst)`
//! here is preceded by a relaxed `fetch_add` on one per-run word: all SC fences
//! conflict pairwise, DPOR explores their orders, and the fence runs in the same
//! step as its `fetch_add` (no scheduling point in between).  The `fetch_add`
//! adds no synchronisation loom's SC fence does not already imply: a relaxed
//! RMW's store carries the thread's clock as of its *previous* release fence,
//! while loom joins every SC fence into one global clock anyway.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

use super::{Ordering, Platform, RawAtomic, RawCell, RawParker};
use crate::runtime::ThreadCtx;

/// loom's atomics.  Stores are loom's stores: whether a location's stores are
/// issued as swaps instead is that location's declaration
/// ([`crate::atomic::StoreAs`]), never the backend's.
///
/// loom 0.7.2 keeps modification order as a partial order and lets an RMW
/// read any store that is not mo-before another one.  A plain store that is
/// concurrent with an earlier RMW's write is then not forced after it, so a
/// *later* RMW of the same thread may read the older RMW's value although C11
/// (write-write coherence plus RMW atomicity) says the store overwrote it.
/// Observed here: `store(STOP)`, then `unpark`, then the woken thread's
/// `swap` read the value its own previous `swap` wrote.  Locations that mix
/// stores with RMWs and would meet that (SEED's `forced`) declare their stores
/// as swaps, with the reason; every other store is exact, so loom explores
/// coherence inversions (the S shape, `scenarios/tests/litmus.rs`).
pub struct LoomAtomic<A>(A);

macro_rules! loom_atomic {
    ($atomic:ty, $t:ty, |$s:ident, $v:ident, $o:ident| add: $add:expr, sub: $sub:expr) => {
        impl super::RawAtomic<$t> for LoomAtomic<$atomic> {
            fn new(v: $t) -> Self {
                LoomAtomic(<$atomic>::new(v))
            }
            fn load(&self, o: Ordering) -> $t {
                self.0.load(o)
            }
            fn store(&self, v: $t, o: Ordering) {
                self.0.store(v, o)
            }
            fn swap(&self, v: $t, o: Ordering) -> $t {
                self.0.swap(v, o)
            }
            fn compare_exchange(&self, c: $t, n: $t, s: Ordering, f: Ordering) -> Result<$t, $t> {
                self.0.compare_exchange(c, n, s, f)
            }
            fn fetch_add(&self, $v: $t, $o: Ordering) -> $t {
                let $s = self;
                $add
            }
            fn fetch_sub(&self, $v: $t, $o: Ordering) -> $t {
                let $s = self;
                $sub
            }
            fn fetch_and(&self, v: $t, o: Ordering) -> $t {
                self.0.fetch_and(v, o)
            }
            fn fetch_or(&self, v: $t, o: Ordering) -> $t {
                self.0.fetch_or(v, o)
            }
        }
    };
}

loom_atomic!(AtomicU32, u32, |s, v, o| add: s.0.fetch_add(v, o), sub: s.0.fetch_sub(v, o));
loom_atomic!(AtomicU64, u64, |s, v, o| add: s.0.fetch_add(v, o), sub: s.0.fetch_sub(v, o));
loom_atomic!(
    AtomicBool,
    bool,
    |s, v, o| add: { let _ = (s, v, o); panic!("fetch_add on a bool atomic is not a QEMU operation") },
    sub: { let _ = (s, v, o); panic!("fetch_sub on a bool atomic is not a QEMU operation") }
);

/// loom's `UnsafeCell`: concurrent unsynchronised accesses fail the model.
pub struct LoomCell<T>(loom::cell::UnsafeCell<T>);

// SAFETY: loom checks every access for causality; the cell is only shared
// between loom model threads, which run one at a time on one OS thread.
unsafe impl<T: Send> Sync for LoomCell<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for LoomCell<T> {}

impl<T: Send + 'static> RawCell<T> for LoomCell<T> {
    fn new(v: T) -> Self {
        LoomCell(loom::cell::UnsafeCell::new(v))
    }
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: loom's `with` reports a race instead of allowing one.
        self.0.with(|p| f(unsafe { &*p }))
    }
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: as above.
        self.0.with_mut(|p| f(unsafe { &mut *p }))
    }
}

/// loom's thread park token, through the owner's `loom::thread::Thread`.
///
/// loom's `park` never returns spuriously, and an `unpark` joins the
/// unparker's causality into the parked thread (as a real futex wake-up does
/// through the kernel's locks).  A `loom::sync::Notify` per thread would also
/// explore one spurious wake-up per parker, but that multiplied the state
/// space of every scenario far beyond its bound; stale unparks (a timer firing
/// just as a waker dequeues the waiter) already exercise QEMU's re-check loops.
pub struct LoomParker(loom::thread::Thread);

// SAFETY: loom objects are only touched by loom model threads, which run one at
// a time on one OS thread.
unsafe impl Sync for LoomParker {}
// SAFETY: as above.
unsafe impl Send for LoomParker {}

impl RawParker for LoomParker {
    fn new() -> Self {
        LoomParker(loom::thread::current())
    }
    fn park(&self) {
        loom::thread::park()
    }
    fn park_timeout(&self, _: Duration) {
        panic!("loom has no time: timed waits go through rcu_core::timer")
    }
    fn unpark(&self) {
        self.0.unpark()
    }
}

loom::thread_local! {
    static CTX: RefCell<Option<Arc<ThreadCtx<LoomPlatform>>>> = RefCell::new(None);
}

/// The loom backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoomPlatform;

impl Platform for LoomPlatform {
    const NAME: &'static str = "loom";
    const HAS_TIME: bool = false;
    type AtomicU32 = LoomAtomic<AtomicU32>;
    type AtomicU64 = LoomAtomic<AtomicU64>;
    type AtomicBool = LoomAtomic<AtomicBool>;
    type Cell<T: Send + 'static> = LoomCell<T>;
    type Parker = LoomParker;
    type Join = loom::thread::JoinHandle<()>;

    fn spawn(name: String, f: Box<dyn FnOnce() + Send + 'static>) -> Self::Join {
        loom::thread::Builder::new().name(name).spawn(f).expect("loom spawn (at most 5 threads including main)")
    }
    fn join(h: Self::Join) -> Result<(), Box<dyn Any + Send + 'static>> {
        // Never block in loom's join: a stale `unpark` would wake it and trip
        // loom's internal assertion.  QemuThread::join has already waited for
        // the thread's exit handshake, and loom runs every thread to its end
        // before an execution completes (a panic fails the whole model).
        drop(h);
        Ok(())
    }
    fn fence(o: Ordering) {
        if o == Ordering::SeqCst {
            // Make the fence an event of the exploration (see the module docs).
            let ctx = CTX.with(|c| c.borrow().clone());
            if let Some(ctx) = ctx.filter(|c| c.rt.cfg.loom_fence_events) {
                ctx.rt.sc_fence_order.fetch_add(1, Ordering::Relaxed);
            }
        }
        loom::sync::atomic::fence(o)
    }
    fn yield_now() {
        loom::thread::yield_now()
    }
    fn model_sleep() {}
    fn explore() {
        loom::explore()
    }
    fn ctx_slot<R>(f: impl FnOnce(&RefCell<Option<Arc<ThreadCtx<Self>>>>) -> R) -> R {
        CTX.with(f)
    }
}
