//! A TCG vCPU stuck in a read-side critical section: the virtio-gpu stall that
//! motivated UNIFY (spec §12) and QEMU issue #650 (the monitor hang in
//! drain_call_rcu, fixed by the force_rcu notifiers, ef149763a8 + dd47a8f654).
//!
//! cpu_exec() holds `RCU_READ_LOCK_GUARD()` for the whole TB loop; a guest
//! that busy-waits for the host (here: for an RCU callback, like virtio-gpu's
//! unmap waiting for the old FlatView to be freed) never leaves it unless its
//! force_rcu notifier kicks it.  Which versions fire the notifier without a
//! drain?

use models::Version;
use rcu_core::platform::Platform;

use super::util::{Done, Vcpu};
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// main queues X (the FlatView) and waits for its callback while the vCPU
/// busy-loops inside cpu_exec().  Nobody drains or forces.
fn tcg_vcpu_stall<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let vcpu = Vcpu::<P>::new();
    let (rcu2, vcpu2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
    let t = x.spawn("vcpu", move || vcpu2.run(&rcu2, &obs, 2));
    vcpu.wait_in_cs();
    x.setup_done();
    let done = Done::<P>::with_target("flatview_freed", 1);
    let h = rcu.alloc_head("flatview");
    let d2 = done.clone();
    rcu.call_rcu1(h, move || d2.hit());
    done.wait_for(1, "virtio-gpu unmap waits for the old FlatView's call_rcu callback [stall]");
    x.finish_with_vcpu(&rcu, &vcpu, t);
}

fn expect_stall(v: Version) -> Expect {
    match v {
        Version::Master => Expect::Violated {
            kind: "deadlock",
            why: "MASTER fires force_rcu notifiers only while drain_call_rcu() runs; the grace period waits for the busy vCPU forever (the virtio-gpu stall UNIFY fixed)",
        },
        _ => Expect::Holds,
    }
}

const KICKED: Window = Window {
    what: "the vCPU was kicked out of its critical section by its force_rcu notifier",
    reached: |s| s.get("vcpu_kicked_by_notifier") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 1] = [Scenario {
    name: "tcg_vcpu_stall",
    family: "tcg-vcpu",
    provenance: "spec §12 (virtio-gpu blob unmap stall, Alex Bennée's test_gpu_blob.py); QEMU issue #650; UNIFY commit message",
    summary: "a callback queued while a TCG vCPU busy-loops inside cpu_exec() eventually runs, with nobody draining or forcing",
    legend: "vcpu:     register; add force_rcu notifier; loop { rcu_read_lock; busy until kicked; rcu_read_unlock }\n\
             main:     call_rcu1(flatview); wait for its callback\n\
             call_rcu: grace period; polls (timeouts fire); forced state? -> notifier kicks the vCPU",
    property: "the callback runs (timeouts fire at any time)",
    scope: Scope::Versions,
    checker: Checker::Loom,
    loom_threads: 4,
    preemption_bound: 2,
    bound_overrides: &[],
    shuttle_iterations: 4000,
    shuttle_pct_depth: 3,
    configure: cfg::standard,
    expect: expect_stall,
    windows: &[KICKED],
    bodies: bodies!(tcg_vcpu_stall),
}];
