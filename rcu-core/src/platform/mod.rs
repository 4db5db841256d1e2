//! The platform layer: the only module of the project that names `std::sync`,
//! `loom` or `shuttle` primitives.
//!
//! A [`Platform`] is a *type*, not a cfg: `StdPlatform` always exists, and the
//! additive cargo features `loom` and `shuttle` add `LoomPlatform` and
//! `ShuttlePlatform`.  The same generic model code is instantiated for each, so
//! one `cargo test` runs all three (checkers.md §0.11, §4).
//!
//! # Compiles under X ≠ checked under X
//!
//! | backend | memory model | what it cannot see |
//! |---|---|---|
//! | std | the hardware's (x86-64 here: TSO) | nearly all weak-memory bugs; only a smoke test |
//! | loom 0.7.2 | C11 *minus* SC accesses: a SeqCst load/store/RMW is treated as AcqRel; `fence(SeqCst)` is modelled | load buffering; spurious futex wake-ups (its park never wakes spuriously); >5 threads |
//! | shuttle 0.9.9 | sequentially consistent; fences are no-ops | every barrier bug; only protocol/logic bugs |
//!
//! Consequences taken here: every QEMU full barrier is an explicit
//! `fence(SeqCst)` ([`crate::atomic`]); `smp_mb__before/after_rmw()` are always
//! real fences (QEMU makes them compiler barriers only on x86-64/s390x); the
//! asymmetric membarrier pair is modelled as QEMU's default build does it (both
//! sides real fences).  A shim that cannot honour a call panics instead of
//! returning a plausible value (e.g. [`RawParker::park_timeout`] off std).

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

pub use std::sync::atomic::Ordering;

use crate::runtime::ThreadCtx;

#[cfg(feature = "loom")]
pub mod loom_backend;
#[cfg(feature = "shuttle")]
pub mod shuttle_backend;
pub mod std_backend;

#[cfg(feature = "loom")]
pub use loom_backend::LoomPlatform;
#[cfg(feature = "shuttle")]
pub use shuttle_backend::ShuttlePlatform;
pub use std_backend::StdPlatform;

/// An atomic cell of the backend, for one word type.
pub trait RawAtomic<T>: Send + Sync + 'static {
    /// Create the atomic.  Under loom this must happen inside a model.
    fn new(v: T) -> Self;
    /// Backend load.
    fn load(&self, o: Ordering) -> T;
    /// Backend store.
    fn store(&self, v: T, o: Ordering);
    /// Backend exchange (RMW).
    fn swap(&self, v: T, o: Ordering) -> T;
    /// Backend strong compare-exchange (RMW on success).
    fn compare_exchange(&self, current: T, new: T, s: Ordering, f: Ordering) -> Result<T, T>;
    /// Backend fetch-and-add (wrapping).  Panics for `bool`.
    fn fetch_add(&self, v: T, o: Ordering) -> T;
    /// Backend fetch-and-sub (wrapping).  Panics for `bool`.
    fn fetch_sub(&self, v: T, o: Ordering) -> T;
    /// Backend fetch-and-and.
    fn fetch_and(&self, v: T, o: Ordering) -> T;
    /// Backend fetch-and-or.
    fn fetch_or(&self, v: T, o: Ordering) -> T;
}

/// A thread's parking spot: only its owner parks on it, anyone may unpark it.
/// An unpark that finds the owner running is kept, so the next park returns
/// at once; parks may also return spuriously.  Unparks never affect any other
/// kind of blocking: no backend mutex is used in model code, and
/// [`crate::runtime::QemuThread::join`] waits on a parker too, never in the
/// backend's own join (loom's thread-level `unpark` would wake a thread blocked
/// there and trip loom's internal assertions).
pub trait RawParker: Send + Sync + 'static {
    /// A parker owned by the calling thread.
    fn new() -> Self;
    /// Block until unparked (or spuriously).
    fn park(&self);
    /// Block until unparked, spuriously, or `d` elapsed.  Only std has time;
    /// the model backends panic (timeouts there come from [`crate::timer`]).
    fn park_timeout(&self, d: Duration);
    /// Wake the owner (or let its next park return at once).
    fn unpark(&self);
}

/// A cell whose concurrent unsynchronised accesses the backend reports
/// (loom: "Causality violation"); std and shuttle do not check.
pub trait RawCell<T>: Send + Sync + 'static {
    /// A new cell.
    fn new(v: T) -> Self;
    /// Shared access.
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R;
    /// Exclusive access.  Callers guarantee exclusion (a lock, or single owner);
    /// loom checks the claim.
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// One execution backend: real threads, loom, or shuttle.
pub trait Platform: Sized + Send + Sync + 'static {
    /// `"std"`, `"loom"` or `"shuttle"`.
    const NAME: &'static str;
    /// Whether real time passes (only std): timed waits use clocks instead of
    /// the model's timer thread.
    const HAS_TIME: bool;

    /// 32-bit atomic (`int`, `unsigned`, `uint32_t`, queue indices).
    type AtomicU32: RawAtomic<u32>;
    /// 64-bit atomic (`unsigned long` on 64-bit hosts).
    type AtomicU64: RawAtomic<u64>;
    /// `bool` atomic.
    type AtomicBool: RawAtomic<bool>;
    /// A race-checked cell.
    type Cell<T: Send + 'static>: RawCell<T>;
    /// A per-thread parking spot.
    type Parker: RawParker;
    /// A join handle.
    type Join: Send + 'static;

    /// Spawn a model thread.
    fn spawn(name: String, f: Box<dyn FnOnce() + Send + 'static>) -> Self::Join;
    /// Join a model thread; `Err` carries its panic payload.
    fn join(h: Self::Join) -> Result<(), Box<dyn Any + Send + 'static>>;
    /// A memory fence.  loom models `fence(SeqCst)`; shuttle ignores fences.
    fn fence(o: Ordering);
    /// A scheduling hint: loom prefers other threads and stops re-reading old
    /// stores; shuttle context-switches; std yields.
    fn yield_now();
    /// `g_usleep()` in a model: a moment in which time passes.  loom: nothing
    /// (its exploration already lets any other thread run at any point, while
    /// a `yield_now` would *forbid* the sleeper to keep running ahead of a
    /// stalled thread); shuttle: a context switch; std: not used (real sleep).
    fn model_sleep();
    /// Start exploring interleavings (loom, after a scenario's set-up ran
    /// along one schedule); a no-op elsewhere.
    fn explore() {}
    /// Access the per-thread context slot (the backend's own thread-local).
    fn ctx_slot<R>(f: impl FnOnce(&RefCell<Option<Arc<ThreadCtx<Self>>>>) -> R) -> R;
}

/// Implements [`RawAtomic`] for a backend's integer atomic types.
macro_rules! impl_raw_atomic_int {
    ($atomic:ty, $t:ty) => {
        impl $crate::platform::RawAtomic<$t> for $atomic {
            fn new(v: $t) -> Self {
                <$atomic>::new(v)
            }
            fn load(&self, o: $crate::platform::Ordering) -> $t {
                <$atomic>::load(self, o)
            }
            fn store(&self, v: $t, o: $crate::platform::Ordering) {
                <$atomic>::store(self, v, o)
            }
            fn swap(&self, v: $t, o: $crate::platform::Ordering) -> $t {
                <$atomic>::swap(self, v, o)
            }
            fn compare_exchange(
                &self,
                c: $t,
                n: $t,
                s: $crate::platform::Ordering,
                f: $crate::platform::Ordering,
            ) -> Result<$t, $t> {
                <$atomic>::compare_exchange(self, c, n, s, f)
            }
            fn fetch_add(&self, v: $t, o: $crate::platform::Ordering) -> $t {
                <$atomic>::fetch_add(self, v, o)
            }
            fn fetch_sub(&self, v: $t, o: $crate::platform::Ordering) -> $t {
                <$atomic>::fetch_sub(self, v, o)
            }
            fn fetch_and(&self, v: $t, o: $crate::platform::Ordering) -> $t {
                <$atomic>::fetch_and(self, v, o)
            }
            fn fetch_or(&self, v: $t, o: $crate::platform::Ordering) -> $t {
                <$atomic>::fetch_or(self, v, o)
            }
        }
    };
}

/// Implements [`RawAtomic<bool>`] for a backend's `AtomicBool`.
macro_rules! impl_raw_atomic_bool {
    ($atomic:ty) => {
        impl $crate::platform::RawAtomic<bool> for $atomic {
            fn new(v: bool) -> Self {
                <$atomic>::new(v)
            }
            fn load(&self, o: $crate::platform::Ordering) -> bool {
                <$atomic>::load(self, o)
            }
            fn store(&self, v: bool, o: $crate::platform::Ordering) {
                <$atomic>::store(self, v, o)
            }
            fn swap(&self, v: bool, o: $crate::platform::Ordering) -> bool {
                <$atomic>::swap(self, v, o)
            }
            fn compare_exchange(
                &self,
                c: bool,
                n: bool,
                s: $crate::platform::Ordering,
                f: $crate::platform::Ordering,
            ) -> Result<bool, bool> {
                <$atomic>::compare_exchange(self, c, n, s, f)
            }
            fn fetch_add(&self, _: bool, _: $crate::platform::Ordering) -> bool {
                panic!("fetch_add on a bool atomic is not a QEMU operation")
            }
            fn fetch_sub(&self, _: bool, _: $crate::platform::Ordering) -> bool {
                panic!("fetch_sub on a bool atomic is not a QEMU operation")
            }
            fn fetch_and(&self, v: bool, o: $crate::platform::Ordering) -> bool {
                <$atomic>::fetch_and(self, v, o)
            }
            fn fetch_or(&self, v: bool, o: $crate::platform::Ordering) -> bool {
                <$atomic>::fetch_or(self, v, o)
            }
        }
    };
}

pub(crate) use impl_raw_atomic_bool;
pub(crate) use impl_raw_atomic_int;
