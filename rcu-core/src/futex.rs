//! Futex emulation (`qemu_futex_wait` / `qemu_futex_timedwait` /
//! `qemu_futex_wake_all`, include/qemu/futex.h) over per-thread park/unpark.
//!
//! The kernel's contract, which this reproduces: FUTEX_WAIT compares the word
//! with the expected value and queues the caller *atomically* with respect to
//! FUTEX_WAKE; a waker that changed the word before calling wake either makes
//! the waiter see the new value or finds it queued.  The kernel gets this from
//! its barriers (A)/(B) and the hash-bucket lock (kernel/futex/waitwake.c);
//! here the bucket lock is a backend mutex, which is at least as strong.  So a
//! missing QEMU barrier *around* the futex call (e.g. `smp_mb__after_rmw()`
//! after the xchg in qemu_event_set) cannot be seen here either, exactly as
//! on Linux: see the justified survivors in proofs.md.
//!
//! A waiter may return without a wake-up: under std and shuttle `park()` can
//! return spuriously, and under every backend a stale unpark token (e.g. from a
//! timer that fired for an earlier wait) ends the next park early.  QEMU's
//! loops must (and do, since 6e2d11bf04) re-check.  loom's park never wakes
//! spuriously (loom#1), so only std/shuttle exercise that path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::platform::{Platform, RawCell, RawLock};
use crate::runtime::{current, unpark, ThreadCtx, Timeouts};

/// A wait queue: the emulated futex hash bucket (also used by QemuCond).
pub struct WaitQueue<P: Platform> {
    lock: P::Lock,
    waiters: P::Cell<Vec<Arc<ThreadCtx<P>>>>,
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The word did not hold the expected value (EWOULDBLOCK).
    Mismatch,
    /// Woken by a wake call.
    Woken,
    /// Returned without a wake (spurious, or a stale unpark token).
    Spurious,
    /// The timeout fired (ETIMEDOUT).
    TimedOut,
}

impl<P: Platform> Default for WaitQueue<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Platform> WaitQueue<P> {
    /// An empty queue.
    pub fn new() -> Self {
        WaitQueue { lock: P::Lock::new(), waiters: P::Cell::new(Vec::new()) }
    }

    /// Queue the caller if `still_expected()` holds (checked under the bucket
    /// lock), release `before_sleep` (e.g. the cond's mutex) and sleep.
    ///
    /// `timeout_ms`: `None` waits forever; `Some(ms)` can time out (std: the
    /// clock; loom/shuttle: the run's timer thread, at any point; never with
    /// [`Timeouts::Never`]).  `what` names the wait for deadlock reports.
    pub fn wait(
        &self,
        still_expected: impl FnOnce() -> bool,
        before_sleep: impl FnOnce(),
        timeout_ms: Option<u32>,
        what: &str,
    ) -> WaitResult {
        let me = current::<P>();
        let timed = timeout_ms.is_some() && me.rt.cfg.timeouts == Timeouts::Fire;
        self.lock.lock();
        if !still_expected() {
            self.lock.unlock();
            me.drop_hint();
            before_sleep();
            return WaitResult::Mismatch;
        }
        me.mark_parking();
        self.waiters.with_mut(|w| w.push(me.clone()));
        let armed = timed && !P::HAS_TIME && me.rt.timer.arm(&me);
        me.set_blocked(if timed { format!("{what} (timed)") } else { what.to_string() });
        self.lock.unlock();
        before_sleep();

        let mut timed_out = false;
        if timed && P::HAS_TIME {
            let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms.unwrap()));
            loop {
                let now = Instant::now();
                if now >= deadline {
                    timed_out = true;
                    break;
                }
                P::park_timeout(deadline - now);
                if !self.is_queued(&me) {
                    break;
                }
            }
            me.unmark_parking();
        } else {
            me.park();
        }
        me.clear_blocked();

        let still_queued = self.dequeue(&me);
        if armed && me.rt.timer.disarm(&me) {
            timed_out = true;
        }
        if timed_out {
            WaitResult::TimedOut
        } else if still_queued {
            WaitResult::Spurious
        } else {
            WaitResult::Woken
        }
    }

    fn is_queued(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        self.lock.lock();
        let q = self.waiters.with(|w| w.iter().any(|t| t.id == me.id));
        self.lock.unlock();
        q
    }

    /// Remove the caller if still queued; true if it was.
    fn dequeue(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        self.lock.lock();
        let q = self.waiters.with_mut(|w| match w.iter().position(|t| t.id == me.id) {
            Some(i) => {
                w.remove(i);
                true
            }
            None => false,
        });
        self.lock.unlock();
        q
    }

    /// Wake up to `n` waiters, oldest first.  Returns how many were woken.
    pub fn wake(&self, n: usize) -> usize {
        self.lock.lock();
        let woken: Vec<Arc<ThreadCtx<P>>> = self.waiters.with_mut(|w| {
            let k = n.min(w.len());
            w.drain(..k).collect()
        });
        self.lock.unlock();
        for t in &woken {
            unpark(t);
        }
        woken.len()
    }
}

/// `qemu_futex_wait(f, val)` / `qemu_futex_timedwait(f, val, deadline)`:
/// sleep while `word() == val`.  Returns false only on timeout (v3 1/5
/// convention: true on EWOULDBLOCK, wake, or spurious return).
pub fn qemu_futex_timedwait<P: Platform>(
    q: &WaitQueue<P>,
    word: impl FnOnce() -> u32,
    val: u32,
    timeout_ms: Option<u32>,
    what: &str,
) -> bool {
    q.wait(|| word() == val, || {}, timeout_ms, what) != WaitResult::TimedOut
}

/// `qemu_futex_wake_all(f)`.
pub fn qemu_futex_wake_all<P: Platform>(q: &WaitQueue<P>) {
    q.wake(usize::MAX);
}
