//! Futex emulation (`qemu_futex_wait` / `qemu_futex_timedwait` /
//! `qemu_futex_wake_all`, include/qemu/futex.h) over per-thread parkers,
//! following the Linux kernel's own protocol (kernel/futex/waitwake.c):
//!
//! ```text
//! waiter (FUTEX_WAIT)                 waker (caller changed the word, then FUTEX_WAKE)
//! enqueue self          (waiters++)   smp_mb()                          (B)
//! smp_mb()              (A)           if waiters queued: wake them
//! if *word != val: dequeue, return
//! sleep
//! ```
//!
//! (A) and (B) make it a store-buffering pair: either the waiter sees the new
//! word, or the waker sees the waiter queued.  Here they are real
//! `fence(SeqCst)` (loom models them), the queue itself is bookkeeping the
//! checkers do not explore (it is the kernel's hash bucket, serialised by its
//! lock), and sleeping is a per-thread parker.  No loom `Mutex` is involved:
//! loom's mutex joins its global sequentially-consistent order on every lock
//! and unlock, which would be far stronger than the kernel.
//!
//! Because the kernel's (B) barrier exists, a missing QEMU barrier between
//! the word's change and the wake (`smp_mb__after_rmw()` B42 in
//! qemu_event_set) cannot be seen here either, exactly as on Linux: see the
//! justified survivors in proofs.md.
//!
//! A waiter may return without a wake-up (spuriously under std and shuttle,
//! or by a stale unpark from an earlier wait); QEMU's loops must (and, since
//! 6e2d11bf04, do) re-check.
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::platform::{Ordering, Platform};
use crate::runtime::{current, unpark, ThreadCtx, Timeouts};

/// A wait queue: the emulated futex hash bucket (also used by QemuCond and
/// QemuMutex's contended path).
pub struct WaitQueue<P: Platform> {
    waiters: Mutex<Vec<Arc<ThreadCtx<P>>>>,
}

impl<P: Platform> fmt::Debug for WaitQueue<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WaitQueue({} waiting)", self.waiters.lock().unwrap().len())
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The word did not hold the expected value (EWOULDBLOCK).
    Mismatch,
    /// Woken by a wake call.
    Woken,
    /// Returned without a wake (spurious, or a stale unpark).
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
        WaitQueue { waiters: Mutex::new(Vec::new()) }
    }

    /// Queue the caller, then (after the kernel barrier (A)) check
    /// `still_expected()`; if it holds, release `before_sleep` (e.g. the cond's
    /// mutex) and sleep.
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
        self.waiters.lock().unwrap().push(me.clone());
        // Kernel barrier (A): queued before the word is read.
        P::fence(Ordering::SeqCst);
        if !still_expected() {
            self.dequeue(&me);
            me.drop_hint();
            before_sleep();
            return WaitResult::Mismatch;
        }
        let armed = timed && !P::HAS_TIME && me.rt.timer.arm(&me);
        me.set_blocked(if timed { format!("{what} (timed)") } else { what.to_string() });
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
                crate::platform::RawParker::park_timeout(&me.parker, deadline - now);
                if !self.is_queued(&me) {
                    break;
                }
            }
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

    /// Whether any thread is queued (scaffolding view, for callers that hold
    /// the lock their waiters queue under, like a condition variable's mutex).
    pub fn has_waiters(&self) -> bool {
        !self.waiters.lock().unwrap().is_empty()
    }

    fn is_queued(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        self.waiters.lock().unwrap().iter().any(|t| t.id == me.id)
    }

    /// Remove the caller if still queued; true if it was.
    fn dequeue(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        let mut w = self.waiters.lock().unwrap();
        match w.iter().position(|t| t.id == me.id) {
            Some(i) => {
                w.remove(i);
                true
            }
            None => false,
        }
    }

    /// Wake up to `n` waiters, oldest first.  Returns how many were woken.
    pub fn wake(&self, n: usize) -> usize {
        // Kernel barrier (B): the caller's change of the word before the
        // look at the queue.
        P::fence(Ordering::SeqCst);
        let woken: Vec<Arc<ThreadCtx<P>>> = {
            let mut w = self.waiters.lock().unwrap();
            let k = n.min(w.len());
            w.drain(..k).collect()
        };
        for t in &woken {
            unpark(t);
        }
        if let Some(me) = crate::runtime::try_current::<P>() {
            if me.capturing() && !woken.is_empty() {
                let names: Vec<&str> = woken.iter().map(|t| t.name.as_str()).collect();
                me.trace(format_args!("futex wake: {}", names.join(", ")));
            }
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
