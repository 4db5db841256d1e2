//! drain_call_rcu(): "ensures that all pending RCU callbacks on the current
//! thread are done executing" (rcu.c:328-335), and it must not depend on a
//! timeout to get there.
//!
//! Provenance: d816614ca4 (2020, drain_call_rcu for device_del); ef149763a8 +
//! dd47a8f654 (2021, force_rcu notifiers, QEMU issue #650); SEED 4/5 and V3 4/5
//! ("Wake the RCU thread when draining").

use models::Version;
use rcu_core::atomic::{qatomic_read, qatomic_set, QAtomic};
use rcu_core::platform::Platform;

use super::util::Vcpu;
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// main queues A and B, then drains while a vCPU sits in cpu_exec().
fn drain_waits_for_own_callbacks<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let vcpu = Vcpu::<P>::new();
    let (rcu2, vcpu2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
    let t = x.spawn("vcpu", move || vcpu2.run(&rcu2, &obs, 2));
    vcpu.wait_in_cs();
    x.setup_done();

    let ran: std::sync::Arc<[QAtomic<P, bool>; 2]> =
        std::sync::Arc::new([QAtomic::new("A_ran", false), QAtomic::new("B_ran", false)]);
    for (i, name) in ["A", "B"].into_iter().enumerate() {
        let h = rcu.alloc_head(name);
        let r = ran.clone();
        rcu.call_rcu1(h, move || qatomic_set(&r[i], true));
    }
    if !ran[0].peek() || !ran[1].peek() {
        x.observe("drain_started_with_pending");
    }
    rcu.drain_call_rcu();
    for (i, name) in ["A", "B"].into_iter().enumerate() {
        assert!(
            qatomic_read(&ran[i]),
            "[lost-callback] drain_call_rcu() returned before callback {name}, queued before it by this thread, ran"
        );
    }
    x.finish_with_vcpu(&rcu, &vcpu, t);
}

fn expect_drain(v: Version) -> Expect {
    match v {
        Version::Master => Expect::Violated {
            kind: "deadlock",
            why: "a grace period already asleep on rcu_gp_event when drain_call_rcu() starts never rescans, so the in_drain_call_rcu check that calls the force_rcu notifiers is never reached while the vCPU busy-loops (the issue #650 hang, in a window ef149763a8 does not close)",
        },
        Version::Seed => Expect::Violated {
            kind: "deadlock",
            why: "weak memory: drain's force_rcu() can be consumed with a stale rcu_call_count (see force_covers_earlier_callback), leaving the drain node in an unforced grace period",
        },
        Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "the force request inside drain_call_rcu() can be consumed by an earlier batch or read as \"not yet\" (qemu_sem_timedwait() == 0), so the drain node's grace period waits for a timeout",
        },
        _ => Expect::Holds,
    }
}

const PENDING: Window = Window {
    what: "drain_call_rcu() started while A or B had not run yet",
    reached: |s| s.get("drain_started_with_pending") > 0,
};
const KICKED: Window = Window {
    what: "the vCPU was kicked out of its critical section by its force_rcu notifier",
    reached: |s| s.get("vcpu_kicked_by_notifier") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 1] = [Scenario {
    name: "drain_waits_for_own_callbacks",
    family: "drain",
    provenance: "rcu.c drain_call_rcu() (d816614ca4); QEMU issue #650 (ef149763a8, dd47a8f654); force_rcu series 4/5",
    summary: "drain_call_rcu() returns only after this thread's earlier callbacks ran, without relying on a timeout",
    legend: "vcpu:     register; add force_rcu notifier; loop { rcu_read_lock; busy until kicked; rcu_read_unlock }\n\
             main:     call_rcu1(A); call_rcu1(B); drain_call_rcu(); assert A and B ran\n\
             call_rcu: grace periods, forced by the drain (notifiers kick the vCPU); callbacks in FIFO order",
    property: "drain returns (timeouts never fire) and A and B have run by then",
    scope: Scope::Versions,
    checker: Checker::Loom,
    loom_threads: 3,
    preemption_bound: 2,
    // master's deadlock takes 0.6 s at pb1 and 10.6 s at pb2 (61503 executions).
    bound_overrides: &[(Version::Master, 1)],
    shuttle_iterations: 4000,
    shuttle_pct_depth: 3,
    configure: cfg::no_timeouts,
    expect: expect_drain,
    windows: &[PENDING, KICKED],
    bodies: bodies!(drain_waits_for_own_callbacks),
}];
