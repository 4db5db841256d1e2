//! Registration, unregistration and notifier add/remove while a grace period
//! waits, and the lock discipline of the registry.
//!
//! rcu.c:118-133 states the invariant: wait_for_readers() drops
//! rcu_registry_lock while it waits; meanwhile rcu_register_thread() adds to
//! `registry`, and rcu_unregister_thread() may remove a node from the on-stack
//! `qsreaders` list instead; "the node is part of one list when
//! rcu_registry_lock is released".  The registry and every reader's force_rcu
//! notifier list are protected by rcu_registry_lock (rcu.h:66-73), and the
//! notifiers are "called with rcu_registry_lock held" (dd47a8f654).
//!
//! This is the one family where an access to the registry without the lock
//! fails the run (`unlocked-access`), instead of being counted.

use models::Version;
use rcu_core::notifier::Notifier;
use rcu_core::platform::Platform;

use super::util::{Done, Vcpu};
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// A vCPU sits in cpu_exec(); main drains (a forced grace period that walks
/// the registry and fires notifiers); meanwhile thread N registers, adds and
/// removes a notifier, and unregisters.
fn register_during_gp<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let vcpu = Vcpu::<P>::new();
    let (rcu2, vcpu2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
    let t = x.spawn("vcpu", move || vcpu2.run(&rcu2, &obs, 2));
    vcpu.wait_in_cs();
    x.setup_done();

    let rcu3 = rcu.clone();
    let n = x.spawn("N", move || {
        rcu3.rcu_register_thread();
        rcu3.rcu_add_force_rcu_notifier(Notifier {
            id: 0x4e,
            name: "N_notifier".into(),
            notify: std::sync::Arc::new(|| {}),
        });
        rcu3.rcu_remove_force_rcu_notifier(0x4e);
        rcu3.rcu_unregister_thread();
    });
    rcu.drain_call_rcu();
    n.join();
    // The invariant, checked under the lock: every registered thread is on
    // `registry` exactly once (main, call_rcu and the vCPU; N unregistered).
    let me = rcu.me();
    let members = rcu.registry_members();
    assert!(
        members.iter().filter(|&&m| m == me).count() == 1 && members.len() == 3,
        "[assertion] registry after the grace period is {members:?}: a node was lost or duplicated (the one-list invariant)"
    );
    x.finish_with_vcpu(&rcu, &vcpu, t);
}

/// R1 leaves its critical section and unregisters while R2, still inside
/// its own, keeps a grace period waiting with R1's node on qsreaders.
fn register_unregister_vs_sync<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let r1_gone = Done::<P>::new("r1_unregistered");
    let ready = Done::<P>::with_target("set_up", 2);
    let go = Done::<P>::new("go");
    let (rcu1, gone1, ready1, go1) = (rcu.clone(), r1_gone.clone(), ready.clone(), go.clone());
    let r1 = x.spawn("R1", move || {
        rcu1.rcu_register_thread();
        ready1.hit();
        go1.wait_for(1, "R1 waits for the set-up to end");
        rcu1.rcu_read_lock();
        rcu1.rcu_read_unlock();
        rcu1.rcu_unregister_thread();
        gone1.hit();
    });
    let (rcu2, gone2, ready2) = (rcu.clone(), r1_gone.clone(), ready.clone());
    let r2 = x.spawn("R2", move || {
        rcu2.rcu_register_thread();
        rcu2.rcu_read_lock();
        ready2.hit();
        gone2.wait_for(1, "R2 stays in its critical section until R1 unregistered");
        rcu2.rcu_read_unlock();
        rcu2.rcu_unregister_thread();
    });
    ready.wait_for(2, "waiting for R1 and R2 to register");
    x.setup_done();
    go.hit();
    let done = Done::<P>::with_target("cb", 1);
    let h = rcu.alloc_head("A");
    let d2 = done.clone();
    rcu.call_rcu1(h, move || d2.hit());
    done.wait_for(1, "waiting for A");
    r1.join();
    r2.join();
    let members = rcu.registry_members();
    assert!(
        members.len() == 2,
        "[assertion] registry after the grace period is {members:?} (expected main and call_rcu)"
    );
    x.finish(&rcu);
}

fn expect_locked_walk(v: Version) -> Expect {
    match v {
        Version::Seed | Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "unlocked-access",
            why: "SEED 4/5 enters the forced state after qemu_mutex_unlock(&rcu_registry_lock) and walks the registry and the notifier lists without it (v2/v3 moved the walk back under the lock)",
        },
        _ => Expect::Holds,
    }
}

const DURING_GP: Window = Window {
    what: "a thread registered or unregistered while wait_for_readers() had dropped the lock",
    reached: |s| s.get("register_during_gp") + s.get("unregister_during_gp") > 0,
};
const FROM_QS: Window = Window {
    what: "rcu_unregister_thread() removed a node from the on-stack qsreaders list",
    reached: |s| s.get("unregister_from_qsreaders") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "register_during_forced_gp",
        family: "registry",
        provenance: "rcu.c:118-133 (the one-list invariant, c097a60b10); rcu.h:66-73 lock rules; dd47a8f654 (notifiers called with rcu_registry_lock held)",
        summary: "(un)registration and notifier add/remove race a forced grace period's registry walk and notifier calls",
        legend: "vcpu:     register; add notifier; loop { rcu_read_lock; busy until kicked; rcu_read_unlock }\n\
                 N:        rcu_register_thread; add notifier; remove notifier; rcu_unregister_thread\n\
                 main:     drain_call_rcu()\n\
                 call_rcu: forced state: for each reader: notifier_list_notify; waiting = true (must hold rcu_registry_lock)",
        property: "no access to the registry or a notifier list without rcu_registry_lock; every node on exactly one list",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::strict_locks_no_timeouts,
        expect: expect_locked_walk,
        windows: &[DURING_GP],
        bodies: bodies!(register_during_gp),
    },
    Scenario {
        name: "unregister_from_qsreaders",
        family: "registry",
        provenance: "rcu.c:129-133: \"rcu_unregister_thread() may remove nodes from &qsreaders instead of &registry\"",
        summary: "a reader unregisters while a grace period holds its node on the qsreaders list",
        legend: "R1:       rcu_register_thread; rcu_read_lock; rcu_read_unlock; rcu_unregister_thread\n\
                 R2:       rcu_register_thread; rcu_read_lock; (until R1 unregistered) rcu_read_unlock\n\
                 main:     call_rcu1(A); wait for A\n\
                 call_rcu: wait_for_readers: R1 quiescent -> qsreaders; R2 ongoing: unlock; wait; lock; QLIST_SWAP",
        property: "the registry ends with exactly the registered threads; no unlocked access",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 5,
        preemption_bound: 2,
        // v3 at pb2: holds, 279534 executions, 63 s, 195 MB (ci/loom-deep.sh).
        bound_overrides: &[(Version::V3, 1)],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::strict_locks,
        expect: expect_locked_walk,
        windows: &[FROM_QS],
        bodies: bodies!(register_unregister_vs_sync),
    },
];
