//! `QemuEvent`: the futex state machine of util/event.c (MASTER blob
//! `5a8141cd0e46`, also UNIFY's; line numbers are to it; futex path, i.e.
//! Linux and, since 69e10db83e, Windows), plus `qemu_event_timedwait()` in the
//! two conventions of the unmerged force_rcu series (v1 2/5: blob
//! `e22cc08a629b`, `bool`, true iff set; v3 `b022d84717`: blob `cb26a0bfb952`,
//! `void`, lines 132-189), and the pre-2023 implementation as a positive
//! control.
//!
//! States (event.c:6-30): `EV_SET = 0`, `EV_FREE = 1`, `EV_BUSY = -1`.
//! Transitions: FREE→SET and BUSY→SET (set), SET→FREE (reset, with an OR so
//! that it is a no-op on FREE/BUSY), FREE→BUSY (wait announces a sleeper).
//! `set` is a release, `wait` an acquire (atomics.rst).
//!
//! | site | where | what |
//! |---|---|---|
//! | B40 | qemu_event_set | `smp_mb()` before reading `value` |
//! | B41 | qemu_event_set | `qatomic_xchg(value, EV_SET)` |
//! | B42 | qemu_event_set | `smp_mb__after_rmw()` before the futex wake |
//! | B43 | qemu_event_reset | `qatomic_or(value, EV_FREE)` |
//! | B44 | qemu_event_reset | `smp_mb__after_rmw()` before the caller's re-check |
//! | B45 | qemu_event_(timed)wait | `qatomic_load_acquire(value)` |
//! | B46 | qemu_event_(timed)wait | `qatomic_cmpxchg(value, EV_FREE, EV_BUSY)` |
//! | B47 | qemu_event_set | relaxed read of `value` (no barrier: B40 precedes it) |
//! | B48, B49 | pre-2023 reset / wait | `smp_mb_acquire()` after a relaxed read |

use std::fmt;

use crate::atomic::{
    qatomic_cmpxchg, qatomic_load_acquire, qatomic_or, qatomic_read, qatomic_xchg, smp_mb, smp_mb__after_rmw, QAtomic,
};
use crate::futex::{qemu_futex_timedwait, qemu_futex_wake_all, WaitQueue};
use crate::platform::Platform;
use crate::runtime::{current, EventImpl};
use crate::site;

/// `EV_SET`.
pub const EV_SET: u32 = 0;
/// `EV_FREE`.
pub const EV_FREE: u32 = 1;
/// `EV_BUSY` (-1 stored in an `unsigned`).
pub const EV_BUSY: u32 = u32::MAX;

fn state_name(v: u32) -> String {
    match v {
        EV_SET => "SET".into(),
        EV_FREE => "FREE".into(),
        EV_BUSY => "BUSY".into(),
        x => format!("{x}?"),
    }
}

/// `QemuEvent`: a manual-reset event.
pub struct QemuEvent<P: Platform> {
    value: QAtomic<P, u32>,
    futex: WaitQueue<P>,
    name: String,
}

impl<P: Platform> fmt::Debug for QemuEvent<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QemuEvent({})", self.name)
    }
}

impl<P: Platform> QemuEvent<P> {
    /// `qemu_event_init(ev, init)`.
    pub fn new(name: impl Into<String>, init: bool) -> Self {
        let name = name.into();
        QemuEvent {
            value: QAtomic::with_show(format!("{name}.value"), if init { EV_SET } else { EV_FREE }, state_name),
            futex: WaitQueue::new(),
            name,
        }
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Current state, for harness assertions only.
    pub fn peek_is_set(&self) -> bool {
        self.value.peek() == EV_SET
    }
}

fn event_impl<P: Platform>() -> EventImpl {
    current::<P>().rt.cfg.event_impl
}

/// `qemu_event_set(ev)` (event.c:53-82).
pub fn qemu_event_set<P: Platform>(ev: &QemuEvent<P>) {
    if event_impl::<P>() == EventImpl::Pre2023 {
        return pre2023::qemu_event_set(ev);
    }
    let me = current::<P>();
    let mut outcome = None;
    me.quietly(|| {
        smp_mb::<P>(site!(B40, Fence(SeqCst), "qemu_event_set", "util/event.c:64 smp_mb()",
            "Caller's prior stores before the load of ev->value. Pairs with B44 in qemu_event_reset() and B45 in qemu_event_wait(). Also makes set a release although it loads value [B40]"));
        let v = qatomic_read(&ev.value);
        crate::site_doc!(B47, Relaxed, "qemu_event_set", "util/event.c:65 qatomic_read(&ev->value)",
            "No barrier needed: B40 already orders the caller's stores before this load, and a stale SET only means another set is in flight [B47]");
        if v != EV_SET {
            let old = qatomic_xchg(&ev.value, EV_SET, site!(B41, Rmw(SeqCst), "qemu_event_set",
                "util/event.c:66 qatomic_xchg(&ev->value, EV_SET)",
                "Store of EV_SET before the futex wake. Pairs with B46 in qemu_event_wait(): the waiter's FREE->BUSY cmpxchg and this xchg are totally ordered on value [B41]"));
            smp_mb__after_rmw::<P>(site!(B42, Fence(SeqCst), "qemu_event_set", "util/event.c:69 smp_mb__after_rmw()",
                "The xchg before the futex wake-up. Pairs with B45 in qemu_event_wait() via the barrier inside the kernel's FUTEX_WAIT [B42]"));
            if old == EV_BUSY {
                qemu_futex_wake_all(&ev.futex);
            }
            outcome = Some(old);
        }
    });
    if me.capturing() {
        match outcome {
            Some(EV_BUSY) => me.trace(format_args!("qemu_event_set({}): BUSY→SET, futex_wake_all", ev.name)),
            Some(old) => me.trace(format_args!("qemu_event_set({}): {}→SET", ev.name, state_name(old))),
            None => me.trace(format_args!("qemu_event_set({}): already SET", ev.name)),
        }
    }
}

/// `qemu_event_reset(ev)` (event.c:84-122).
pub fn qemu_event_reset<P: Platform>(ev: &QemuEvent<P>) {
    if event_impl::<P>() == EventImpl::Pre2023 {
        return pre2023::qemu_event_reset(ev);
    }
    let me = current::<P>();
    let old = me.quietly(|| {
        let old = crate::atomic::qatomic_fetch_or(&ev.value, EV_FREE, site!(B43, Rmw(SeqCst), "qemu_event_reset",
            "util/event.c:93 qatomic_or(&ev->value, EV_FREE)",
            "SET->FREE before the caller re-checks its condition. Pairs with B41 in qemu_event_set(): OR and xchg are totally ordered on value, so a reset cannot undo a later set [B43]"));
        smp_mb__after_rmw::<P>(site!(B44, Fence(SeqCst), "qemu_event_reset", "util/event.c:99 smp_mb__after_rmw()",
            "The reset before the caller's check of its condition. Pairs with B40 in qemu_event_set() [B44]"));
        old
    });
    if me.capturing() {
        me.trace(format_args!(
            "qemu_event_reset({}): {}",
            ev.name,
            if old == EV_SET { "SET→FREE".to_string() } else { format!("{} (unchanged)", state_name(old)) }
        ));
    }
}

/// `qemu_event_wait(ev)` (event.c:124-171): loops until SET, re-checking after
/// every futex return (6e2d11bf04: futex waits can return spuriously).
pub fn qemu_event_wait<P: Platform>(ev: &QemuEvent<P>) {
    if event_impl::<P>() == EventImpl::Pre2023 {
        return pre2023::qemu_event_wait(ev);
    }
    timedwait_loop(ev, None);
}

/// `qemu_event_timedwait(ev, ms)` of force_rcu v2/v3 (b022d84717): returns
/// nothing; the caller cannot tell a timeout from a set.
pub fn qemu_event_timedwait<P: Platform>(ev: &QemuEvent<P>, ms: u32) {
    timedwait_loop(ev, Some(ms));
}

/// `qemu_event_timedwait(ev, ms)` of force_rcu v1 2/5: returns true iff the
/// event was set before the deadline, false on timeout.
pub fn qemu_event_timedwait_v1<P: Platform>(ev: &QemuEvent<P>, ms: u32) -> bool {
    timedwait_loop(ev, Some(ms))
}

fn timedwait_loop<P: Platform>(ev: &QemuEvent<P>, ms: Option<u32>) -> bool {
    let me = current::<P>();
    let what = || match ms {
        None => format!("qemu_event_wait({})", ev.name),
        Some(ms) => format!("qemu_event_timedwait({}, {ms})", ev.name),
    };
    loop {
        let (done, blocked) = me.quietly(|| {
            let value = qatomic_load_acquire(&ev.value, site!(B45, Access(Acquire), "qemu_event_wait",
                "util/event.c:135 qatomic_load_acquire(&ev->value)",
                "Load of value before the caller's accesses after the wait. Pairs with B40 in qemu_event_set(), also on the fast path [B45]"));
            if value == EV_SET {
                return (true, false);
            }
            if value == EV_FREE
                && qatomic_cmpxchg(&ev.value, EV_FREE, EV_BUSY, site!(B46, Rmw(SeqCst), "qemu_event_wait",
                    "util/event.c:152 qatomic_cmpxchg(&ev->value, EV_FREE, EV_BUSY)",
                    "FREE->BUSY before sleeping. Pairs with B41 in qemu_event_set(): a failing CAS that reads SET needs acquire like B45 [B46]"))
                    == EV_SET
            {
                return (true, false);
            }
            (false, true)
        });
        if done {
            me.drop_hint();
            if me.capturing() {
                me.trace(format_args!("{}: SET, return", what()));
            }
            return true;
        }
        debug_assert!(blocked);
        let what = what();
        me.trace(format_args!("{what}: BUSY … blocked"));
        let ok = qemu_futex_timedwait(&ev.futex, || ev.value.peek(), EV_BUSY, ms, &what);
        if !ok {
            me.trace(format_args!("{what}: timed out"));
            return false;
        }
        me.trace(format_args!("{what}: futex returned, re-check"));
    }
}

/// Declare a documentation-only site (a relaxed or plain access, a lock, or a
/// call) where it happens; it has no run-time effect.
#[macro_export]
macro_rules! site_doc {
    ($id:ident, $kind:ident, $func:literal, $c:literal, $doc:literal $(,)?) => {{
        let _: &'static $crate::site::Site = $crate::site!($id, $kind, $func, $c, $doc);
    }};
}

/// The futex path before 9586a1329f "qemu-thread-posix: cleanup, fix, document
/// QemuEvent" (2023-03): reset does `read; smp_mb_acquire(); if SET: or` with
/// no barrier after the OR, set has no barrier after its xchg, and wait does
/// not loop.  Broken on ARM (threads slept forever in qemu_event_wait); kept
/// as a positive control that the checker must catch.
pub mod pre2023 {
    use super::*;
    use crate::atomic::smp_mb_acquire;

    pub(super) fn qemu_event_set<P: Platform>(ev: &QemuEvent<P>) {
        let me = current::<P>();
        me.trace(format_args!("qemu_event_set({}) [pre-2023]", ev.name));
        smp_mb::<P>(site!(
            B40,
            Fence(SeqCst),
            "qemu_event_set",
            "util/qemu-thread-posix.c@9586a1329f~1 smp_mb()",
            "Caller's prior stores before the load of ev->value. Pairs with B48 in qemu_event_reset() [B40]"
        ));
        if qatomic_read(&ev.value) != EV_SET
            && qatomic_xchg(
                &ev.value,
                EV_SET,
                site!(
                    B41,
                    Rmw(SeqCst),
                    "qemu_event_set",
                    "util/qemu-thread-posix.c@9586a1329f~1 qatomic_xchg(&ev->value, EV_SET)",
                    "Store of EV_SET before the futex wake. Pairs with B46 in qemu_event_wait() [B41]"
                ),
            ) == EV_BUSY
        {
            qemu_futex_wake_all(&ev.futex);
        }
    }

    pub(super) fn qemu_event_reset<P: Platform>(ev: &QemuEvent<P>) {
        let me = current::<P>();
        me.trace(format_args!("qemu_event_reset({}) [pre-2023]", ev.name));
        let value = qatomic_read(&ev.value);
        smp_mb_acquire::<P>(site!(
            B48,
            Fence(Acquire),
            "qemu_event_reset",
            "util/qemu-thread-posix.c@9586a1329f~1 smp_mb_acquire()",
            "Load of value before the OR and the caller's check. Pairs with B40 in qemu_event_set() [B48]"
        ));
        if value == EV_SET {
            qatomic_or(&ev.value, EV_FREE, site!(B43, Rmw(SeqCst), "qemu_event_reset",
                "util/qemu-thread-posix.c@9586a1329f~1 qatomic_or(&ev->value, EV_FREE)",
                "SET->FREE before the caller re-checks its condition (but no fence follows it). Pairs with B41 in qemu_event_set() [B43]"));
        }
    }

    pub(super) fn qemu_event_wait<P: Platform>(ev: &QemuEvent<P>) {
        let me = current::<P>();
        let value = qatomic_read(&ev.value);
        smp_mb_acquire::<P>(site!(
            B49,
            Fence(Acquire),
            "qemu_event_wait",
            "util/qemu-thread-posix.c@9586a1329f~1 smp_mb_acquire()",
            "Load of value before the caller's later accesses. Pairs with B40 in qemu_event_set() [B49]"
        ));
        if value != EV_SET {
            if value == EV_FREE
                && qatomic_cmpxchg(
                    &ev.value,
                    EV_FREE,
                    EV_BUSY,
                    site!(
                        B46,
                        Rmw(SeqCst),
                        "qemu_event_wait",
                        "util/qemu-thread-posix.c@9586a1329f~1 qatomic_cmpxchg(&ev->value, EV_FREE, EV_BUSY)",
                        "FREE->BUSY before sleeping. Pairs with B41 in qemu_event_set() [B46]"
                    ),
                ) == EV_SET
            {
                return;
            }
            let what = format!("qemu_event_wait({}) [pre-2023]", ev.name);
            me.trace(format_args!("{what}: BUSY … blocked"));
            qemu_futex_timedwait(&ev.futex, || ev.value.peek(), EV_BUSY, None, &what);
        }
    }
}
