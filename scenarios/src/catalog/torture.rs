//! rcutorture-sized configurations, sampled under shuttle (spec §13.1): more
//! readers and updaters than loom's five threads allow.  shuttle is
//! sequentially consistent, so these check the protocol (grace periods,
//! callbacks, drain, force, wake-ups), not barrier placement.

use std::sync::Arc;

use models::Version;
use rcu_core::atomic::{qatomic_read, qatomic_set, QAtomic};
use rcu_core::platform::Platform;

use super::gp::Objs;
use super::util::Done;
use super::{cfg, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

const READERS: usize = 3;
const UPDATES: u32 = 3;

/// 3 readers (nested sections), 1 updater (publish + call_rcu1 free +
/// synchronize_rcu), 1 drainer (call_rcu1 + drain_call_rcu), 1 forcer.
fn torture<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    x.setup_done();
    let objs = Objs::<P>::new(UPDATES + 1);
    let stop = Arc::new(QAtomic::<P, bool>::new("stop", false));
    let mut readers = vec![];
    for i in 0..READERS {
        let (rcu2, objs2, stop2, obs) = (rcu.clone(), objs.clone(), stop.clone(), x.obs.clone());
        readers.push(x.spawn(["reader0", "reader1", "reader2"][i], move || {
            rcu2.rcu_register_thread();
            for _ in 0..3 {
                if qatomic_read(&stop2) {
                    break;
                }
                rcu2.rcu_read_lock();
                let p = objs2.rcu_dereference();
                rcu2.rcu_read_lock();
                objs2.use_obj(p, "reader");
                rcu2.rcu_read_unlock();
                objs2.use_obj(p, "reader (outer)");
                rcu2.rcu_read_unlock();
                obs.add("reads", 1);
            }
            rcu2.rcu_unregister_thread();
        }));
    }
    let rcu3 = rcu.clone();
    let drainer = x.spawn("drainer", move || {
        rcu3.rcu_register_thread();
        let ran = Arc::new(QAtomic::<P, bool>::new("D_ran", false));
        let h = rcu3.alloc_head("D");
        let r2 = ran.clone();
        rcu3.call_rcu1(h, move || qatomic_set(&r2, true));
        rcu3.drain_call_rcu();
        assert!(qatomic_read(&ran), "[lost-callback] drain_call_rcu() returned before D ran");
        rcu3.rcu_unregister_thread();
    });
    let rcu4 = rcu.clone();
    let forcer = x.spawn("forcer", move || {
        rcu4.force_rcu();
    });
    // updater: A -> B -> C -> D, each old object freed by call_rcu1, and a
    // synchronize_rcu() in the middle.
    let freed = Done::<P>::with_target("freed", UPDATES);
    for i in 1..=UPDATES {
        objs.publish(i);
        let h = rcu.alloc_head(["A", "B", "C", "D"][(i - 1) as usize]);
        let (objs2, f2) = (objs.clone(), freed.clone());
        rcu.call_rcu1(h, move || {
            objs2.free(i - 1);
            f2.hit();
        });
        if i == 2 {
            rcu.synchronize_rcu();
        }
    }
    freed.wait_for(UPDATES, "updater waits for its call_rcu frees [lost-callback if stuck]");
    qatomic_set(&stop, true);
    for r in readers {
        r.join();
    }
    drainer.join();
    forcer.join();
    x.observe("torture_done");
    x.finish(&rcu);
}

fn expect_torture(v: Version) -> Expect {
    match v {
        Version::Seed | Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "several producers: the dequeue loop's lost wake-up (call_rcu1 signals only on 0->1) or a lost force leaves a callback or the drain unprocessed",
        },
        _ => Expect::Holds,
    }
}

const DONE: Window = Window { what: "a whole torture run completed", reached: |s| s.get("torture_done") > 0 };
const READ: Window = Window { what: "readers read objects", reached: |s| s.get("reads") > 0 };

/// The family.
pub static SCENARIOS: [Scenario; 1] = [Scenario {
    name: "torture_shuttle",
    family: "torture",
    provenance: "tests/unit/rcutorture.c and test-rcu-list.c (spec §13.1-13.2), resized for a model checker",
    summary: "3 readers with nested sections, an updater (call_rcu1 frees + synchronize_rcu), a drainer and a forcer",
    legend: "reader0..2: 3 x { lock; p = rcu_read(ptr); lock; use(*p); unlock; use(*p); unlock }\n\
             updater:   3 x { publish next; call_rcu1(old, free) }, synchronize_rcu() after the second\n\
             drainer:   call_rcu1(D); drain_call_rcu(); assert D ran\n\
             forcer:    force_rcu()",
    property: "no use-after-free, every callback runs once, drain waits for D, nobody is left blocked",
    scope: Scope::Versions,
    checker: Checker::Shuttle,
    loom_threads: 8,
    preemption_bound: 2,
    bound_overrides: &[],
    // The lost wake-up needs a producer preempted mid-link while the RCU
    // thread and another producer run on.  With seed 0x5eed, depth 3 did not
    // reach it in 300000 runs; depth 8 reaches it after 8738 (seed), 7801
    // (semaphore-draft) and 25826 (semaphore-followup) runs, so the default
    // leaves about twice that.
    shuttle_iterations: 60000,
    shuttle_pct_depth: 8,
    configure: cfg::standard,
    expect: expect_torture,
    windows: &[DONE, READ],
    bodies: bodies!(torture),
}];
