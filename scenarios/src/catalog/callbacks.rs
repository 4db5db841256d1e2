//! call_rcu1() enqueue racing rcu_call_count, with the full call_rcu_thread()
//! loop (its event waits, resets and retries) as the consumer.
//!
//! Provenance: Peter Xu's question 4 and Akihiko Odaki's T/U table
//! (`38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp`, 2025-11-03,
//! in `../shared/seeds/`): between a producer's `xchg(&tail)` and its
//! store-release the list is broken, so `rcu_call_count` can count a node
//! that try_dequeue() cannot reach yet, and the consumer must wait for the
//! late link.
#![allow(clippy::disallowed_types)]

use std::sync::{Arc, Mutex};

use models::Version;
use rcu_core::platform::Platform;

use super::{cfg, util::Done, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// Callback log: `(producer, sequence)` in the order the callbacks ran.
type Log = Arc<Mutex<Vec<(u8, u8)>>>;

fn queue<P: Platform>(rcu: &models::Rcu<P>, log: &Log, done: &Arc<Done<P>>, producer: u8, seq: u8) {
    let name = format!("{}{}", ["T", "U", "V"][producer as usize], seq);
    let head = rcu.alloc_head(&name);
    let (log, done) = (log.clone(), done.clone());
    rcu.call_rcu1(head, move || {
        log.lock().unwrap().push((producer, seq));
        done.hit();
    });
}

fn check_log(log: &Log, expected: &[(u8, u8)]) {
    let got = log.lock().unwrap().clone();
    for e in expected {
        let n = got.iter().filter(|g| *g == e).count();
        assert!(n == 1, "[lost-callback] callback {e:?} ran {n} times (log {got:?})");
    }
    assert_eq!(got.len(), expected.len(), "[assertion] unexpected callbacks ran: {got:?}");
    for p in 0..3u8 {
        let seqs: Vec<u8> = got.iter().filter(|g| g.0 == p).map(|g| g.1).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "[assertion] producer {p}'s callbacks ran out of order: {got:?}");
    }
}

/// T (main) queues one callback, U queues two; the RCU thread must run all
/// three, once each, U's in order.
fn enqueue_race_two_producers<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let log: Log = Arc::default();
    let done = Done::<P>::with_target("all_callbacks", 3);
    let go = Done::<P>::new("go");
    let (rcu2, log2, done2, go2) = (rcu.clone(), log.clone(), done.clone(), go.clone());
    let u = x.spawn("U", move || {
        go2.wait_for(1, "U waits for the set-up to end");
        queue(&rcu2, &log2, &done2, 1, 1);
        queue(&rcu2, &log2, &done2, 1, 2);
    });
    x.setup_done();
    go.hit();
    queue(&rcu, &log, &done, 0, 1);
    done.wait_for(3, "waiting for callbacks T1, U1, U2 [lost-callback if stuck]");
    u.join();
    check_log(&log, &[(0, 1), (1, 1), (1, 2)]);
    x.finish(&rcu);
}

/// Three producers, one callback each.
fn enqueue_race_three_producers<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let log: Log = Arc::default();
    let done = Done::<P>::with_target("all_callbacks", 3);
    let mut threads = vec![];
    let go = super::util::Gate::<P>::new("go");
    for p in 1..=2u8 {
        let (rcu2, log2, done2, go2) = (rcu.clone(), log.clone(), done.clone(), go.clone());
        threads.push(x.spawn(["T", "U", "V"][p as usize], move || {
            go2.wait_for(1, "producer waits for the set-up to end");
            queue(&rcu2, &log2, &done2, p, 1)
        }));
    }
    x.setup_done();
    go.hit();
    queue(&rcu, &log, &done, 0, 1);
    done.wait_for(3, "waiting for callbacks T1, U1, V1 [lost-callback if stuck]");
    for t in threads {
        t.join();
    }
    check_log(&log, &[(0, 1), (1, 1), (2, 1)]);
    x.finish(&rcu);
}

fn expect_late_link(v: Version) -> Expect {
    match v {
        Version::Seed | Version::SemaphoreDraft | Version::SemaphoreFollowup => Expect::Violated {
            kind: "deadlock",
            why: "call_rcu1() signals sync_event only on rcu_call_count's 0->1 transition, but the dequeue loop sleeps on it waiting for a late link whose producer then increments 1->2 and signals nothing",
        },
        _ => Expect::Holds,
    }
}

const BROKEN_LIST: Window = Window {
    what: "a producer linked its node while an earlier producer was still between xchg and store-release (the list was broken)",
    reached: |s| s.get("late_link") > 0,
};
const LATE_LINK: Window = Window {
    what:
        "try_dequeue() returned NULL while rcu_call_count counted the node (a producer between xchg and store-release)",
    reached: |s| s.get("try_dequeue_null") > 0,
};

/// The family.
pub static SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "call_rcu_enqueue_race",
        family: "callbacks",
        provenance: "Akihiko Odaki's T/U table, Message-ID 38c07d37-1b4d-42d2-ab41-fbe1c860dd3b@rsg.ci.i.u-tokyo.ac.jp (2025-11-03); rcu.c enqueue()/try_dequeue()",
        summary: "two producers (one queues twice) race the RCU thread's count read and dequeue loop",
        legend: "T (main): call_rcu1(T1): enqueue: xchg tail … (stalls) … tail.next = T1; count++\n\
                 U:        call_rcu1(U1): enqueue after T1; count++ (A); call_rcu1(U2)\n\
                 call_rcu: n = count; grace period; try_dequeue() = NULL while T is stalled; wait; dequeue all",
        property: "every callback runs exactly once, U1 before U2, never the dummy node, and nobody is left blocked",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: cfg::no_timeouts,
        expect: expect_late_link,
        windows: &[BROKEN_LIST, LATE_LINK],
        bodies: bodies!(enqueue_race_two_producers),
    },
    Scenario {
        name: "call_rcu_three_producers",
        family: "callbacks",
        provenance: "extends the T/U table to three producers (spec §3.4)",
        summary: "three producers race the RCU thread's count read and dequeue loop (sampled: too many threads for an exhaustive loom run in the budget)",
        legend: "T (main): call_rcu1(T1)\nU: call_rcu1(U1)\nV: call_rcu1(V1)\n\
                 call_rcu: n = count; grace period; dequeue; wait for late links",
        property: "every callback runs exactly once and nobody is left blocked",
        scope: Scope::Versions,
        checker: Checker::Shuttle,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 30000,
        shuttle_pct_depth: 3,
        configure: cfg::no_timeouts,
        expect: expect_late_link,
        windows: &[BROKEN_LIST],
        bodies: bodies!(enqueue_race_three_producers),
    },
];
