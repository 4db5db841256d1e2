//! shuttle 0.9.9: randomized (PCT / random) and exhaustive (DFS) scheduling of
//! a *sequentially consistent* program.
//!
//! Limits that matter here (checkers.md §0.2, §3): every atomic is SeqCst and
//! fences are no-ops, so no barrier mutant can ever fail under shuttle; it is
//! for protocol bugs (lost wake-ups, list races, deadlocks) at sizes loom cannot
//! reach.  `park` may return spuriously (the scheduler may pick a parked task),
//! which exercises QEMU's re-check loops.  No time.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use shuttle::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

use super::{Ordering, Platform, RawCell, RawParker};
use crate::runtime::ThreadCtx;

super::impl_raw_atomic_int!(AtomicU32, u32);
super::impl_raw_atomic_int!(AtomicU64, u64);
super::impl_raw_atomic_bool!(AtomicBool);

/// shuttle has no race checker: a plain `UnsafeCell` (tasks are coroutines on
/// one OS thread, so accesses never overlap physically).
pub struct ShuttleCell<T>(std::cell::UnsafeCell<T>);

// SAFETY: shuttle runs one task at a time on one OS thread; logical races are
// the model's business (loom checks them).
unsafe impl<T: Send> Sync for ShuttleCell<T> {}

impl<T: Send + 'static> RawCell<T> for ShuttleCell<T> {
    fn new(v: T) -> Self {
        ShuttleCell(std::cell::UnsafeCell::new(v))
    }
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: see the `Sync` impl.
        f(unsafe { &*self.0.get() })
    }
    fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: see the `Sync` impl.
        f(unsafe { &mut *self.0.get() })
    }
}

/// shuttle's thread park token (shuttle keeps it apart from other blocking;
/// its scheduler may also wake a parked task spuriously).
pub struct ShuttleParker(shuttle::thread::Thread);

impl RawParker for ShuttleParker {
    fn new() -> Self {
        ShuttleParker(shuttle::thread::current())
    }
    fn park(&self) {
        shuttle::thread::park()
    }
    fn park_timeout(&self, _: Duration) {
        panic!("shuttle has no time: timed waits go through rcu_core::timer")
    }
    fn unpark(&self) {
        self.0.unpark()
    }
}

shuttle::thread_local! {
    static CTX: RefCell<Option<Arc<ThreadCtx<ShuttlePlatform>>>> = RefCell::new(None);
}

/// The shuttle backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShuttlePlatform;

impl Platform for ShuttlePlatform {
    const NAME: &'static str = "shuttle";
    const HAS_TIME: bool = false;
    type AtomicU32 = AtomicU32;
    type AtomicU64 = AtomicU64;
    type AtomicBool = AtomicBool;
    type Cell<T: Send + 'static> = ShuttleCell<T>;
    type Parker = ShuttleParker;
    type Join = shuttle::thread::JoinHandle<()>;

    fn spawn(name: String, f: Box<dyn FnOnce() + Send + 'static>) -> Self::Join {
        shuttle::thread::Builder::new().name(name).spawn(f).expect("shuttle spawn")
    }
    fn join(h: Self::Join) -> Result<(), Box<dyn Any + Send + 'static>> {
        h.join()
    }
    fn fence(o: Ordering) {
        shuttle::sync::atomic::fence(o)
    }
    fn yield_now() {
        shuttle::thread::yield_now()
    }
    fn model_sleep() {
        shuttle::thread::yield_now()
    }
    fn ctx_slot<R>(f: impl FnOnce(&RefCell<Option<Arc<ThreadCtx<Self>>>>) -> R) -> R {
        CTX.with(f)
    }
}
