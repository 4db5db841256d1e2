//! `QemuCond` and `QemuSemaphore` (util/qemu-thread-posix.c, since a0d45db854:
//! a counter protected by a QemuMutex and a QemuCond).
//!
//! All their ordering comes from the mutex, so they have no barrier sites.  A
//! semaphore counts every post: unlike QemuEvent it does not de-duplicate
//! concurrent kicks (the crux of the SEMAPHORE discussion, spec §7 item 3).

use std::fmt;

use crate::futex::{WaitQueue, WaitResult};
use crate::mutex::{qemu_mutex_lock, qemu_mutex_unlock, QemuMutex};
use crate::platform::{Platform, RawCell};
use crate::runtime::current;

/// `QemuCond` (pthread condition variable semantics: may wake spuriously).
pub struct QemuCond<P: Platform> {
    q: WaitQueue<P>,
    name: &'static str,
}

impl<P: Platform> fmt::Debug for QemuCond<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QemuCond({})", self.name)
    }
}

impl<P: Platform> QemuCond<P> {
    /// `qemu_cond_init()`.
    pub fn new(name: &'static str) -> Self {
        QemuCond { q: WaitQueue::new(), name }
    }
}

/// `qemu_cond_wait()` / `qemu_cond_timedwait()`: releases `m`, sleeps, re-takes
/// `m`.  Returns false on timeout.
pub fn qemu_cond_timedwait<P: Platform>(c: &QemuCond<P>, m: &QemuMutex<P>, ms: Option<u32>) -> bool {
    let what = match ms {
        None => format!("qemu_cond_wait({})", c.name),
        Some(ms) => format!("qemu_cond_timedwait({}, {ms})", c.name),
    };
    // Queued before the mutex is released, so a signal sent under the mutex
    // after this point is never lost.
    let r = c.q.wait(|| true, || qemu_mutex_unlock(m), ms, &what);
    qemu_mutex_lock(m);
    r != WaitResult::TimedOut
}

/// `qemu_cond_signal()`.  glibc's pthread_cond_signal() returns at once,
/// with no barrier, when nobody waits (it reads `__wrefs` relaxed); only a
/// signal with waiters enters the kernel (FUTEX_WAKE and its barrier).  The
/// callers hold the condition's mutex, so the waiter count is stable here.
/// (Issuing the futex-wake fence on every signal was stronger than glibc:
/// barrier-survivors.md §2.4.)
pub fn qemu_cond_signal<P: Platform>(c: &QemuCond<P>) {
    if c.q.has_waiters() {
        c.q.wake(1);
    }
}

/// `qemu_cond_broadcast()`: as [`qemu_cond_signal`], for every waiter.
pub fn qemu_cond_broadcast<P: Platform>(c: &QemuCond<P>) {
    if c.q.has_waiters() {
        c.q.wake(usize::MAX);
    }
}

/// `QemuSemaphore`.
pub struct QemuSemaphore<P: Platform> {
    mutex: QemuMutex<P>,
    cond: QemuCond<P>,
    count: P::Cell<u32>,
    name: String,
}

impl<P: Platform> fmt::Debug for QemuSemaphore<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QemuSemaphore({})", self.name)
    }
}

impl<P: Platform> QemuSemaphore<P> {
    /// `qemu_sem_init(sem, init)`.
    pub fn new(name: impl Into<String>, init: u32) -> Self {
        QemuSemaphore {
            mutex: QemuMutex::new("sem->mutex"),
            cond: QemuCond::new("sem->cond"),
            count: P::Cell::new(init),
            name: name.into(),
        }
    }

    /// Current count, for harness assertions only (racy by design).
    pub fn peek_count(&self) -> u32 {
        self.count.with(|c| *c)
    }
}

/// `qemu_sem_post()` (qemu-thread-posix.c:273-283).
pub fn qemu_sem_post<P: Platform>(sem: &QemuSemaphore<P>) {
    let me = current::<P>();
    me.quietly(|| qemu_mutex_lock(&sem.mutex));
    let n = sem.count.with_mut(|c| {
        assert!(*c != u32::MAX, "qemu_sem_post: count overflow (EINVAL)");
        *c += 1;
        *c
    });
    qemu_cond_signal(&sem.cond);
    me.quietly(|| qemu_mutex_unlock(&sem.mutex));
    me.trace(format_args!("qemu_sem_post({}): count → {n}", sem.name));
}

/// `qemu_sem_wait()` (qemu-thread-posix.c:310-318).
pub fn qemu_sem_wait<P: Platform>(sem: &QemuSemaphore<P>) {
    let r = qemu_sem_timedwait_impl(sem, None);
    debug_assert_eq!(r, 0);
}

/// `qemu_sem_timedwait(sem, ms)` (qemu-thread-posix.c:285-308): 0 on success,
/// -1 on timeout; `ms == 0` only tries.
pub fn qemu_sem_timedwait<P: Platform>(sem: &QemuSemaphore<P>, ms: u32) -> i32 {
    qemu_sem_timedwait_impl(sem, Some(ms))
}

fn qemu_sem_timedwait_impl<P: Platform>(sem: &QemuSemaphore<P>, ms: Option<u32>) -> i32 {
    let me = current::<P>();
    let what = match ms {
        None => format!("qemu_sem_wait({})", sem.name),
        Some(ms) => format!("qemu_sem_timedwait({}, {ms})", sem.name),
    };
    let mut rc = true;
    me.quietly(|| qemu_mutex_lock(&sem.mutex));
    while sem.count.with(|c| *c) == 0 {
        if ms == Some(0) {
            rc = false;
        } else {
            me.trace(format_args!("{what}: count 0 … blocked"));
            rc = me.quietly(|| qemu_cond_timedwait(&sem.cond, &sem.mutex, ms));
        }
        if !rc {
            break;
        }
    }
    let left = if rc {
        sem.count.with_mut(|c| {
            *c -= 1;
            *c
        })
    } else {
        0
    };
    me.quietly(|| qemu_mutex_unlock(&sem.mutex));
    if rc {
        me.trace(format_args!("{what}: got it, count → {left}"));
        0
    } else {
        me.trace(format_args!("{what}: timed out"));
        -1
    }
}
