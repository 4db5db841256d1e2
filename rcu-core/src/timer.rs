//! Time for checkers that have none: the model timer thread.
//!
//! loom and shuttle never time out a wait (checkers.md §0.9).  Modelling a
//! timeout as a plain yes/no choice made at the start of the wait either
//! misses "the timer fires later, after other threads moved" or reports false
//! deadlocks ("never fires" while nobody else will ever wake the waiter).
//!
//! Instead, a run that allows timeouts ([`Timeouts::Fire`]) has one extra model
//! thread, the *timer*.  A timed waiter arms it before sleeping; the timer,
//! which the checker schedules like any other thread, may then fire the armed
//! timeout at *any* later point of the schedule: immediately, after some other
//! threads ran, after the waiter was already woken (the wake-vs-timeout race),
//! or only when nothing else can run.  Both outcomes of every timed wait are
//! explored (loom) or sampled (shuttle), and they replay like any schedule.
//! The price is one of loom's five threads.  With [`Timeouts::Never`] no timer
//! exists and a timed wait is a plain wait.
//!
//! The armed slot is one model atomic: the waiter stores its thread index, and
//! whichever of the timer (firing) and the waiter (disarming on wake-up) swaps
//! it out first decides whether the wait timed out.  Every timed wait in the
//! models is made by the RCU thread, so one slot is enough; a second
//! concurrent timed waiter is reported rather than mis-modelled.
//!
//! [`Timeouts::Fire`]: crate::runtime::Timeouts::Fire
//! [`Timeouts::Never`]: crate::runtime::Timeouts::Never
#![allow(clippy::disallowed_types)]

use std::sync::{Arc, Mutex};

use crate::platform::{Ordering, Platform, RawAtomic};
use crate::runtime::{current, qemu_thread_create, unpark, QemuThread, Runtime, ThreadCtx};

const NONE: u32 = u32::MAX;
const STOP: u32 = u32::MAX - 1;

/// The run's timer (see the module docs).
pub struct Timer<P: Platform> {
    /// Thread index of the armed waiter, [`NONE`], or [`STOP`].
    armed: P::AtomicU32,
    /// The timer thread's context and the waiters', by index (scaffolding:
    /// written before the atomics that publish them).
    threads: Mutex<Vec<Option<Arc<ThreadCtx<P>>>>>,
    timer: Mutex<Option<Arc<ThreadCtx<P>>>>,
    join: Mutex<Option<QemuThread<P>>>,
}

impl<P: Platform> Timer<P> {
    pub(crate) fn new() -> Self {
        Timer {
            armed: P::AtomicU32::new(NONE),
            threads: Mutex::new(Vec::new()),
            timer: Mutex::new(None),
            join: Mutex::new(None),
        }
    }

    pub(crate) fn start(rt: &Arc<Runtime<P>>) {
        let rt2 = rt.clone();
        let th = qemu_thread_create::<P>("timer", move || rt2.timer.run());
        *rt.timer.join.lock().unwrap() = Some(th);
    }

    fn run(&self) {
        let me = current::<P>();
        *self.timer.lock().unwrap() = Some(me.clone());
        loop {
            // Acquire: see the thread the waiter registered before arming.
            let t = self.armed.swap(NONE, Ordering::AcqRel);
            if t == STOP {
                return;
            }
            if t != NONE {
                let th = self.threads.lock().unwrap()[t as usize].clone().expect("armed thread registered");
                me.trace(format_args!("timer fires: timeout of {}", th.name));
                unpark(&th);
                continue;
            }
            me.set_blocked("idle (no armed timeout)".into());
            me.park();
            me.clear_blocked();
        }
    }

    /// Arm a timeout for `me` (false if no timer runs: it will never fire).
    pub(crate) fn arm(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        // Slot first, then look for the timer thread: it registers its handle
        // before its first look at the slot, so one of the two sees the other.
        let ok = self.arm_slot(me);
        if ok {
            if let Some(timer) = self.timer.lock().unwrap().clone() {
                unpark(&timer);
            }
        }
        ok
    }

    fn arm_slot(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        if self.join.lock().unwrap().is_none() {
            return false;
        }
        {
            let mut th = self.threads.lock().unwrap();
            if th.len() <= me.id {
                th.resize(me.id + 1, None);
            }
            th[me.id] = Some(me.clone());
        }
        match self.armed.compare_exchange(NONE, me.id as u32, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(STOP) => false,
            Err(other) => panic!(
                "[assertion] two concurrent timed waits ({} and {}): the model timer has one slot",
                me.rt.diag.thread_name(other as usize),
                me.name
            ),
        }
    }

    /// Disarm `me`'s timeout; true if it had fired.
    pub(crate) fn disarm(&self, me: &Arc<ThreadCtx<P>>) -> bool {
        // Failing means the timer took the slot (and unparked us, or is about to).
        self.armed.compare_exchange(me.id as u32, NONE, Ordering::AcqRel, Ordering::Acquire).is_err()
    }

    pub(crate) fn stop(&self) {
        let th = self.join.lock().unwrap().take();
        let Some(th) = th else { return };
        self.armed.swap(STOP, Ordering::AcqRel);
        if let Some(t) = self.timer.lock().unwrap().clone() {
            unpark(&t);
        }
        th.join();
    }
}
