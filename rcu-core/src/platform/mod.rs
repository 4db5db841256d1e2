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
//! returning a plausible value (e.g. [`Platform::park_timeout`] off std).

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

/// A C-style lock: `lock()` and `unlock()` are separate calls, as with
/// `qemu_mutex_lock()` / `qemu_mutex_unlock()`.  `unlock` must be called by the
/// thread that locked (the owner check lives in [`crate::mutex::QemuMutex`]).
pub trait RawLock: Send + Sync + 'static {
    /// A new, unlocked lock.
    fn new() -> Self;
    /// Block until the lock is taken (a scheduling point in loom/shuttle).
    fn lock(&self);
    /// Release the lock taken by this thread.
    fn unlock(&self);
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
    /// A C-style mutex.
    type Lock: RawLock;
    /// A race-checked cell.
    type Cell<T: Send + 'static>: RawCell<T>;
    /// A handle used to unpark a thread.
    type Thread: Clone + Send + Sync + 'static;
    /// A join handle.
    type Join: Send + 'static;

    /// Spawn a model thread.
    fn spawn(name: String, f: Box<dyn FnOnce() + Send + 'static>) -> Self::Join;
    /// Join a model thread; `Err` carries its panic payload.
    fn join(h: Self::Join) -> Result<(), Box<dyn Any + Send + 'static>>;
    /// The calling thread's unpark handle.
    fn current_thread() -> Self::Thread;
    /// Block until unparked (std and shuttle may also return spuriously).
    fn park();
    /// Block until unparked or `d` elapsed.  Only std has time: the model
    /// backends panic (timeouts there come from [`crate::timer`]).
    fn park_timeout(d: Duration);
    /// Wake a parked thread (or let its next `park` return at once).
    fn unpark(t: &Self::Thread);
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

/// A lock built on a backend mutex whose guard is stashed while held, so that
/// lock and unlock can be separate calls (QEMU style).
macro_rules! stashed_lock {
    ($name:ident, $mutex:ty, $guard:ident) => {
        /// C-style lock over the backend's mutex (see [`crate::platform::RawLock`]).
        pub struct $name {
            // Field order matters: the stashed guard is dropped before the mutex.
            guard: std::cell::UnsafeCell<Option<$guard<'static, ()>>>,
            mutex: Box<$mutex>,
        }

        // SAFETY: `guard` is only touched by the thread that holds `mutex`
        // (between its `lock` and `unlock`), so accesses never overlap.
        unsafe impl Send for $name {}
        // SAFETY: as above.
        unsafe impl Sync for $name {}

        impl $crate::platform::RawLock for $name {
            fn new() -> Self {
                $name { guard: std::cell::UnsafeCell::new(None), mutex: Box::new(<$mutex>::new(())) }
            }
            fn lock(&self) {
                let g = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
                // SAFETY: the mutex is boxed and outlives the guard: the guard
                // is dropped in `unlock` or, at the latest, before the box in
                // `Drop` (field order).  Extending the lifetime is sound
                // because the guard never escapes this struct.
                let g: $guard<'static, ()> = unsafe { std::mem::transmute(g) };
                // SAFETY: we hold the mutex, so we are the only accessor.
                unsafe { *self.guard.get() = Some(g) };
            }
            fn unlock(&self) {
                // SAFETY: only the holder calls unlock (checked by QemuMutex).
                let g = unsafe { (*self.guard.get()).take() };
                drop(g.expect("unlock of a lock that is not held"));
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                let g = self.guard.get_mut().take();
                if std::thread::panicking() {
                    // Unwinding out of a failed model execution: touching the
                    // checker's state from a destructor could abort the process
                    // (loom#52), so leak the guard instead.
                    std::mem::forget(g);
                } else {
                    drop(g);
                }
            }
        }
    };
}

pub(crate) use impl_raw_atomic_bool;
pub(crate) use impl_raw_atomic_int;
pub(crate) use stashed_lock;
