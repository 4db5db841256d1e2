//! Real threads, real time, the hardware's memory model: a smoke test only.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use super::{Ordering, Platform, RawCell, RawParker};
use crate::runtime::ThreadCtx;

super::impl_raw_atomic_int!(AtomicU32, u32);
super::impl_raw_atomic_int!(AtomicU64, u64);
super::impl_raw_atomic_bool!(AtomicBool);

/// A plain `UnsafeCell`: std does not check races.
pub struct StdCell<T>(std::cell::UnsafeCell<T>);

// SAFETY: callers of `with_mut` guarantee exclusion (a lock or a single owner);
// that is the contract of `RawCell`, which loom checks for us.
unsafe impl<T: Send> Sync for StdCell<T> {}

impl<T: Send + 'static> RawCell<T> for StdCell<T> {
    fn new(v: T) -> Self {
        StdCell(std::cell::UnsafeCell::new(v))
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

/// std's thread park token.
pub struct StdParker(std::thread::Thread);

impl RawParker for StdParker {
    fn new() -> Self {
        StdParker(std::thread::current())
    }
    fn park(&self) {
        std::thread::park()
    }
    fn park_timeout(&self, d: Duration) {
        std::thread::park_timeout(d)
    }
    fn unpark(&self) {
        self.0.unpark()
    }
}

std::thread_local! {
    static CTX: RefCell<Option<Arc<ThreadCtx<StdPlatform>>>> = const { RefCell::new(None) };
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether panics on this OS thread are expected by a harness (which reports
/// them itself).  Inherited by threads spawned through [`StdPlatform`].
pub fn quiet_panics() -> bool {
    QUIET_PANICS.with(|q| q.get())
}

/// Set [`quiet_panics`] for this OS thread.
pub fn set_quiet_panics(on: bool) {
    QUIET_PANICS.with(|q| q.set(on));
}

/// Real OS threads and clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdPlatform;

impl Platform for StdPlatform {
    const NAME: &'static str = "std";
    const HAS_TIME: bool = true;
    type AtomicU32 = AtomicU32;
    type AtomicU64 = AtomicU64;
    type AtomicBool = AtomicBool;
    type Cell<T: Send + 'static> = StdCell<T>;
    type Parker = StdParker;
    type Join = std::thread::JoinHandle<()>;

    fn spawn(name: String, f: Box<dyn FnOnce() + Send + 'static>) -> Self::Join {
        // A scoped tracing dispatcher does not follow OS threads by itself.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let quiet = quiet_panics();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                set_quiet_panics(quiet);
                tracing::dispatcher::with_default(&dispatch, f)
            })
            .expect("spawning an OS thread")
    }
    fn join(h: Self::Join) -> Result<(), Box<dyn Any + Send + 'static>> {
        h.join()
    }
    fn fence(o: Ordering) {
        std::sync::atomic::fence(o)
    }
    fn yield_now() {
        std::thread::yield_now()
    }
    fn model_sleep() {
        std::thread::yield_now()
    }
    fn ctx_slot<R>(f: impl FnOnce(&RefCell<Option<Arc<ThreadCtx<Self>>>>) -> R) -> R {
        CTX.with(f)
    }
}
