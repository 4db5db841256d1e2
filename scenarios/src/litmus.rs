//! Litmus self-tests: proof that the platform layer can fail.
//!
//! Each litmus test records the outcome of every execution (e.g. `sb:00`),
//! and the test suite asserts the *outcome set*: the weak outcome was observed
//! where C11 allows it, and never where the barriers forbid it.  The variants
//! without barriers are the same programs run with the barrier sites dropped
//! (a [`MutationSet`](rcu_core::site::MutationSet)), so the mutation machinery
//! is exercised too.  Shapes follow the Linux LKMM names (`SB+fencembonceonces`,
//! `MP+pooncerelease+poacquireonce`) and QEMU's three Dekker pairs (spec §9.5).
//!
//! Not in the version matrix: run by `cargo test` (scenarios/tests/litmus.rs).

use std::sync::Arc;

use models::Version;
use rcu_core::atomic::{qatomic_load_acquire, qatomic_read, qatomic_set, qatomic_store_release, smp_mb, QAtomic};
use rcu_core::platform::Platform;
use rcu_core::site;

use crate::bodies;
use crate::catalog::primitives::event_reset_check_wait;
use crate::catalog::{cfg, Exec, Expect, Scenario, Scope};
use crate::harness::Checker;

fn bit(v: u32) -> char {
    if v == 0 {
        '0'
    } else {
        '1'
    }
}

/// SB: `x = 1; F; r1 = y` ∥ `y = 1; F; r2 = x`.  `sb:00` is forbidden with
/// the fences (B110, B111), allowed without.
fn store_buffering<P: Platform>(x: &Exec<P>) {
    let a = Arc::new(QAtomic::<P, u32>::new("x", 0));
    let b = Arc::new(QAtomic::<P, u32>::new("y", 0));
    let (a2, b2) = (a.clone(), b.clone());
    let out = Arc::new(std::sync::Mutex::new(0u32));
    let out2 = out.clone();
    x.setup_done();
    let t = x.spawn("t1", move || {
        qatomic_set(&b2, 1);
        smp_mb::<P>(site!(
            B111,
            Fence(SeqCst),
            "store_buffering",
            "litmus SB, thread 1: smp_mb()",
            "Store to y before the load of x. Pairs with B110 in store_buffering() [B111]"
        ));
        *out2.lock().unwrap() = qatomic_read(&a2);
    });
    qatomic_set(&a, 1);
    smp_mb::<P>(site!(
        B110,
        Fence(SeqCst),
        "store_buffering",
        "litmus SB, thread 0: smp_mb()",
        "Store to x before the load of y. Pairs with B111 in store_buffering() [B110]"
    ));
    let r1 = qatomic_read(&b);
    t.join();
    let r2v = *out.lock().unwrap();
    x.observe(&format!("sb:{}{}", bit(r1), bit(r2v)));
}

/// MP: `data = 1; flag = 1 (release)` ∥ `r1 = flag (acquire); r2 = data`.
/// `mp:10` (flag seen, data stale) is forbidden with release/acquire (B112,
/// B113), allowed when both are relaxed.
fn message_passing<P: Platform>(x: &Exec<P>) {
    let data = Arc::new(QAtomic::<P, u32>::new("data", 0));
    let flag = Arc::new(QAtomic::<P, u32>::new("flag", 0));
    let (d2, f2) = (data.clone(), flag.clone());
    x.setup_done();
    let t = x.spawn("writer", move || {
        qatomic_set(&d2, 1);
        qatomic_store_release(
            &f2,
            1,
            site!(
                B112,
                Access(Release),
                "message_passing",
                "litmus MP, writer: qatomic_store_release(&flag, 1)",
                "Store to data before the store to flag. Pairs with B113 in message_passing() [B112]"
            ),
        );
    });
    let r1 = qatomic_load_acquire(
        &flag,
        site!(
            B113,
            Access(Acquire),
            "message_passing",
            "litmus MP, reader: qatomic_load_acquire(&flag)",
            "Load of flag before the load of data. Pairs with B112 in message_passing() [B113]"
        ),
    );
    let r2 = qatomic_read(&data);
    t.join();
    x.observe(&format!("mp:{}{}", bit(r1), bit(r2)));
}

/// LB: `r1 = x; y = 1` ∥ `r2 = y; x = 1`.  `lb:11` is allowed by C11 but loom
/// never explores load buffering (checkers.md §0.1): a documented blind spot.
fn load_buffering<P: Platform>(x: &Exec<P>) {
    let a = Arc::new(QAtomic::<P, u32>::new("x", 0));
    let b = Arc::new(QAtomic::<P, u32>::new("y", 0));
    let (a2, b2) = (a.clone(), b.clone());
    let out = Arc::new(std::sync::Mutex::new(0u32));
    let out2 = out.clone();
    x.setup_done();
    let t = x.spawn("t1", move || {
        *out2.lock().unwrap() = qatomic_read(&b2);
        qatomic_set(&a2, 1);
    });
    let r1 = qatomic_read(&a);
    qatomic_set(&b, 1);
    t.join();
    let r2 = *out.lock().unwrap();
    x.observe(&format!("lb:{}{}", bit(r1), bit(r2)));
}

fn none(_: Version) -> Expect {
    Expect::Holds
}

macro_rules! litmus {
    ($name:literal, $summary:literal, $legend:literal, $body:ident) => {
        Scenario {
            name: $name,
            family: "litmus",
            provenance: "Linux tools/memory-model litmus-tests; spec §9.5",
            summary: $summary,
            legend: $legend,
            property: "outcome set asserted by scenarios/tests/litmus.rs",
            scope: Scope::Primitive,
            checker: Checker::Loom,
            loom_threads: 2,
            preemption_bound: 3,
            bound_overrides: &[],
            shuttle_iterations: 2000,
            shuttle_pct_depth: 3,
            configure: cfg::standard,
            expect: none,
            windows: &[],
            bodies: bodies!($body),
        }
    };
}

fn pre2023(v: Version, c: &mut rcu_core::runtime::RunConfig) {
    cfg::standard(v, c);
    c.event_impl = rcu_core::runtime::EventImpl::Pre2023;
}

/// The litmus programs.
pub static ALL: [Scenario; 4] = [
    litmus!(
        "litmus_sb",
        "store buffering (SB+fencembonceonces)",
        "t0: x = 1; smp_mb [B110]; r1 = y\nt1: y = 1; smp_mb [B111]; r2 = x",
        store_buffering
    ),
    litmus!(
        "litmus_mp",
        "message passing (MP+pooncerelease+poacquireonce)",
        "writer: data = 1; store_release(flag, 1) [B112]\nreader: r1 = load_acquire(flag) [B113]; r2 = data",
        message_passing
    ),
    litmus!(
        "litmus_lb",
        "load buffering (LB): loom's blind spot",
        "t0: r1 = x; y = 1\nt1: r2 = y; x = 1",
        load_buffering
    ),
    Scenario {
        name: "litmus_event_pre2023",
        family: "litmus",
        provenance: "9586a1329f (2023-03) \"qemu-thread-posix: cleanup, fix, document QemuEvent\": the QemuEvent it fixed",
        summary: "event_reset_check_wait on the pre-2023 QemuEvent (no barrier after reset's OR): a lost wake-up",
        legend: "producer1/2: condN = 1; set(ev)\nmain:        loop { reset(ev) [read; smp_mb_acquire; if SET: or]; if cond1 && cond2 break; wait(ev) }",
        property: "the consumer returns (it does not: deadlock expected)",
        scope: Scope::Primitive,
        checker: Checker::Loom,
        loom_threads: 3,
        preemption_bound: 3,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: pre2023,
        expect: none,
        windows: &[],
        bodies: bodies!(event_reset_check_wait),
    },
];

/// Look a litmus program up by name.
pub fn find(name: &str) -> &'static Scenario {
    ALL.iter().find(|s| s.name == name).expect("litmus program")
}
