//! QemuEvent and QemuSemaphore on their own (spec §9.3, §11): set / reset /
//! wait / timedwait under all interleavings, with spurious wake-ups where the
//! checker has them (shuttle's park; loom's park has none).

use std::sync::Arc;

use models::Version;
use rcu_core::atomic::{qatomic_read, qatomic_set, QAtomic};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_timedwait_v1, qemu_event_wait, QemuEvent};
use rcu_core::platform::Platform;
use rcu_core::sem::{qemu_sem_post, qemu_sem_timedwait, qemu_sem_wait, QemuSemaphore};

use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// One consumer uses the reset-check-wait idiom on one event for a condition
/// two producers make true (c7c4d063f5: QemuEvent is for multi-producer,
/// single-consumer structures; with two resetting consumers a wake-up *can* be
/// lost, which the checker finds: that is a misuse, not a QemuEvent bug).
pub fn event_reset_check_wait<P: Platform>(x: &Exec<P>) {
    x.setup_done();
    let ev = Arc::new(QemuEvent::<P>::new("ev", true));
    let bits = [Arc::new(QAtomic::<P, u32>::new("cond1", 0)), Arc::new(QAtomic::<P, u32>::new("cond2", 0))];
    let mut ps = vec![];
    for (i, name) in ["producer1", "producer2"].into_iter().enumerate() {
        let (ev2, b) = (ev.clone(), bits[i].clone());
        ps.push(x.spawn(name, move || {
            qatomic_set(&b, 1);
            qemu_event_set(&ev2);
        }));
    }
    loop {
        qemu_event_reset(&ev);
        if qatomic_read(&bits[0]) == 1 && qatomic_read(&bits[1]) == 1 {
            break;
        }
        x.observe("waited");
        qemu_event_wait(&ev);
    }
    for p in ps {
        p.join();
    }
}

/// A timed wait that may time out (model timer) racing a set: the v1 return
/// value must say "set" only if the event is set.
fn event_timedwait_vs_set<P: Platform>(x: &Exec<P>) {
    x.setup_done();
    x.rt.start_timer();
    let ev = Arc::new(QemuEvent::<P>::new("ev", false));
    let ev2 = ev.clone();
    let obs = x.obs.clone();
    let w = x.spawn("waiter", move || {
        let set = qemu_event_timedwait_v1(&ev2, 10);
        if set {
            assert!(ev2.peek_is_set(), "[assertion] qemu_event_timedwait() said \"set\" for an event that is not set");
            obs.add("returned_set", 1);
        } else {
            obs.add("timed_out", 1);
        }
    });
    qemu_event_set(&ev);
    w.join();
    x.rt.stop_timer();
}

/// Posts and (timed) waits balance: every post is consumed once.
fn sem_post_wait<P: Platform>(x: &Exec<P>) {
    x.setup_done();
    x.rt.start_timer();
    let sem = Arc::new(QemuSemaphore::<P>::new("sem", 0));
    let (s2, obs) = (sem.clone(), x.obs.clone());
    let w = x.spawn("waiter", move || {
        qemu_sem_wait(&s2);
        if qemu_sem_timedwait(&s2, 10) == 0 {
            obs.add("timedwait_got_post", 1);
        } else {
            obs.add("timedwait_timed_out", 1);
            qemu_sem_wait(&s2);
        }
    });
    qemu_sem_post(&sem);
    qemu_sem_post(&sem);
    w.join();
    assert_eq!(sem.peek_count(), 0, "[assertion] a post was lost or consumed twice");
    x.rt.stop_timer();
}

fn hold(_: Version) -> Expect {
    Expect::Holds
}

/// The family.
pub static SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "event_reset_check_wait",
        family: "primitives",
        provenance: "util/event.c (futex path); c7c4d063f5 usage idiom; 6e2d11bf04 (spurious futex wake-ups)",
        summary: "a consumer with reset-check-wait never sleeps through the set that makes its condition true",
        legend: "producer1/2: condN = 1; set(ev)\nmain:        loop { reset(ev); if cond1 && cond2 break; wait(ev) }",
        property: "the consumer returns",
        scope: Scope::Primitive,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 3,
        bound_overrides: &[],
        shuttle_iterations: 10000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: hold,
        windows: &[Window { what: "a waiter slept", reached: |s| s.get("waited") > 0 }],
        bodies: bodies!(event_reset_check_wait),
    },
    Scenario {
        name: "event_timedwait_vs_set",
        family: "primitives",
        provenance: "force_rcu v1 2/5 qemu_event_timedwait() (bool: set) and v3 b022d84717",
        summary: "a timed wait racing its set returns either outcome, and \"set\" only when set",
        legend: "waiter: r = qemu_event_timedwait(ev, 10)\nmain:   set(ev)\ntimer:  may fire the timeout at any point",
        property: "\"set\" implies the event is set; both outcomes occur",
        scope: Scope::Primitive,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 3,
        bound_overrides: &[],
        shuttle_iterations: 10000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: hold,
        windows: &[
            Window { what: "the wait returned \"set\"", reached: |s| s.get("returned_set") > 0 },
            Window { what: "the wait timed out", reached: |s| s.get("timed_out") > 0 },
        ],
        bodies: bodies!(event_timedwait_vs_set),
    },
    Scenario {
        name: "sem_post_wait",
        family: "primitives",
        provenance: "util/qemu-thread-posix.c qemu_sem_* (a0d45db854), spec §11.3",
        summary: "posts are counted, never lost or consumed twice, with a timed wait in between",
        legend:
            "waiter: sem_wait; if sem_timedwait(10) != 0: sem_wait\nmain:   post; post\ntimer:  may fire the timeout",
        property: "the count ends at 0 and the waiter returns",
        scope: Scope::Primitive,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 3,
        bound_overrides: &[],
        shuttle_iterations: 10000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: hold,
        windows: &[
            Window { what: "the timed wait got a post", reached: |s| s.get("timedwait_got_post") > 0 },
            Window { what: "the timed wait timed out", reached: |s| s.get("timedwait_timed_out") > 0 },
        ],
        bodies: bodies!(sem_post_wait),
    },
];
