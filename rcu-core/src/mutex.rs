//! `QemuMutex` with C-style lock/unlock, and data that *reports* unlocked access.
//!
//! `QemuMutex` is a pthread mutex: lock is an acquire, unlock a release, and
//! nothing more.  loom's own `Mutex` is stronger (every lock and unlock joins
//! loom's global sequentially-consistent order, like a `fence(SeqCst)`), which
//! would hide a missing barrier next to a lock operation (e.g. `smp_mb_global()`
//! B17, right before `qemu_mutex_lock(&rcu_registry_lock)`).  So the mutex is
//! built here the way glibc's low-level lock is ("Futexes Are Tricky", mutex
//! #3): a word with 0 = unlocked, 1 = locked, 2 = locked with waiters, an
//! acquire CAS/exchange to lock, a release exchange to unlock, and the emulated
//! futex for the contended path (whose own lock stands for the kernel's).
//!
//! In util/rcu.c the registry and every reader's force_rcu notifier list are
//! "protected by rcu_registry_lock".  The port must be able to *see* a version
//! that walks them without the lock, so [`Guarded`] does not make unlocked
//! access impossible (which a Rust guard type would); it makes it a failure:
//! every access checks that the calling thread owns the mutex and panics with
//! `[unlocked-access] …` otherwise (all backends), and the data sits in a loom
//! `UnsafeCell`, so loom also reports unsynchronised accesses as races.
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

use crate::futex::WaitQueue;
use crate::platform::{Ordering, Platform, RawAtomic, RawCell};
use crate::runtime::{current, try_current, LockCheck};

const NO_OWNER: usize = usize::MAX;

/// `QemuMutex`.
pub struct QemuMutex<P: Platform> {
    /// 0 unlocked, 1 locked, 2 locked and contended.
    state: P::AtomicU32,
    futex: WaitQueue<P>,
    // Scaffolding: who holds the lock (thread index), for the ownership checks.
    owner: AtomicUsize,
    name: &'static str,
}

impl<P: Platform> fmt::Debug for QemuMutex<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QemuMutex({})", self.name)
    }
}

impl<P: Platform> QemuMutex<P> {
    /// `qemu_mutex_init()`.
    pub fn new(name: &'static str) -> Self {
        QemuMutex { state: P::AtomicU32::new(0), futex: WaitQueue::new(), owner: AtomicUsize::new(NO_OWNER), name }
    }

    /// The mutex's name (`rcu_registry_lock`, `bql`, …).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the calling thread holds it (`bql_locked()` for the BQL).
    pub fn held_by_me(&self) -> bool {
        match try_current::<P>() {
            Some(me) => self.owner.load(StdOrdering::Relaxed) == me.id,
            None => false,
        }
    }
}

/// `qemu_mutex_lock()`.
pub fn qemu_mutex_lock<P: Platform>(m: &QemuMutex<P>) {
    let me = current::<P>();
    assert!(
        m.owner.load(StdOrdering::Relaxed) != me.id,
        "[assertion] {} locks {} twice (QemuMutex is not recursive)",
        me.name,
        m.name
    );
    if m.state.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
        // Contended: the caller's pending hint is for its own later wait.
        let saved = me.take_hint();
        while m.state.swap(2, Ordering::Acquire) != 0 {
            let what = format!("qemu_mutex_lock({})", m.name);
            m.futex.wait(|| m.state.load(Ordering::Relaxed) == 2, || {}, None, &what);
        }
        me.restore_hint(saved);
    }
    m.owner.store(me.id, StdOrdering::Relaxed);
    me.trace(format_args!("lock({})", m.name));
}

/// `qemu_mutex_unlock()`.
pub fn qemu_mutex_unlock<P: Platform>(m: &QemuMutex<P>) {
    let me = current::<P>();
    assert!(
        m.owner.load(StdOrdering::Relaxed) == me.id,
        "[assertion] {} unlocks {}, which it does not hold",
        me.name,
        m.name
    );
    me.trace(format_args!("unlock({})", m.name));
    m.owner.store(NO_OWNER, StdOrdering::Relaxed);
    if m.state.swap(0, Ordering::Release) == 2 {
        m.futex.wake(1);
    }
}

/// Data protected by a [`QemuMutex`]; access without holding it is reported.
pub struct Guarded<P: Platform, T: Send + 'static> {
    data: P::Cell<T>,
    lock: Arc<QemuMutex<P>>,
    what: &'static str,
}

impl<P: Platform, T: Send + 'static> fmt::Debug for Guarded<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guarded({} by {})", self.what, self.lock.name)
    }
}

impl<P: Platform, T: Send + 'static> Guarded<P, T> {
    /// `what` names the data in reports (`registry`, `force_rcu notifier list`).
    pub fn new(lock: Arc<QemuMutex<P>>, what: &'static str, v: T) -> Self {
        Guarded { data: P::Cell::new(v), lock, what }
    }

    fn check(&self, func: &str) {
        if !self.lock.held_by_me() {
            let me = current::<P>();
            if me.rt.cfg.lock_check == LockCheck::Count {
                me.rt.probe("unlocked_access");
                me.trace(format_args!(
                    "[unlocked-access] {} in {}() without {} (counted)",
                    self.what, func, self.lock.name
                ));
                return;
            }
            panic!(
                "[unlocked-access] {} accessed by thread '{}' in {}() without holding {}",
                self.what, me.name, func, self.lock.name
            );
        }
    }

    /// Read access; `func` is the C function doing it (for the report).
    pub fn with<R>(&self, func: &str, f: impl FnOnce(&T) -> R) -> R {
        self.check(func);
        self.data.with(f)
    }

    /// Write access; `func` is the C function doing it (for the report).
    pub fn with_mut<R>(&self, func: &str, f: impl FnOnce(&mut T) -> R) -> R {
        self.check(func);
        self.data.with_mut(f)
    }
}

/// The Big QEMU Lock: `bql_lock()`, `bql_unlock()`, `bql_locked()`.
pub struct Bql<P: Platform>(QemuMutex<P>);

impl<P: Platform> fmt::Debug for Bql<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bql")
    }
}

impl<P: Platform> Default for Bql<P> {
    fn default() -> Self {
        Bql(QemuMutex::new("bql"))
    }
}

impl<P: Platform> Bql<P> {
    /// `bql_lock()`.
    pub fn bql_lock(&self) {
        qemu_mutex_lock(&self.0)
    }
    /// `bql_unlock()`.
    pub fn bql_unlock(&self) {
        qemu_mutex_unlock(&self.0)
    }
    /// `bql_locked()`: whether the calling thread holds the BQL.
    pub fn bql_locked(&self) -> bool {
        self.0.held_by_me()
    }
}
