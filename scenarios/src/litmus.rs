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

/// S: `x = 2; store_release(y, 1)` ∥ `r = load_acquire(y); x = 1`, then the
/// final value of x.  With release/acquire (B114, B115) and `r = 1`, `x = 2`
/// happens before `x = 1`, so x ends 1: `s:12` is forbidden.  With B115
/// dropped nothing orders the two stores and C11 allows `x = 1` to be
/// coherence-before `x = 2` (`s:12`): the coherence inversion that loses a
/// node when B20's ordering is gone.  A positive control that stores are
/// issued as C11 stores, not as swaps.
fn s_shape<P: Platform>(x: &Exec<P>) {
    s_shape_with(x, QAtomic::<P, u32>::new("x", 0))
}

/// The S shape with x's stores issued as swaps: the swap of `x = 1` reads
/// `x = 2` whenever it ran later, so `s:12` never appears.  Documents what a
/// swap hides on a multi-writer location (why only declared locations use it).
fn s_shape_swaps<P: Platform>(x: &Exec<P>) {
    s_shape_with(x, QAtomic::<P, u32>::new("x", 0).stores_as_swaps("litmus: shows what swaps hide"))
}

fn s_shape_with<P: Platform>(x: &Exec<P>, xa: QAtomic<P, u32>) {
    let a = Arc::new(xa);
    let b = Arc::new(QAtomic::<P, u32>::new("y", 0));
    let (a2, b2) = (a.clone(), b.clone());
    x.setup_done();
    let t = x.spawn("t1", move || {
        qatomic_set(&a2, 2);
        qatomic_store_release(
            &b2,
            1,
            site!(
                B114,
                Access(Release),
                "s_shape",
                "litmus S, thread 1: qatomic_store_release(&y, 1)",
                "Store x = 2 before the store to y. Pairs with B115 in s_shape() [B114]"
            ),
        );
    });
    let r = qatomic_load_acquire(
        &b,
        site!(
            B115,
            Access(Acquire),
            "s_shape",
            "litmus S, thread 0: qatomic_load_acquire(&y)",
            "Load of y before the store x = 1. Pairs with B114 in s_shape() [B115]"
        ),
    );
    qatomic_set(&a, 1);
    t.join();
    let fin = qatomic_read(&a);
    x.observe(&format!("s:{}{}", bit(r), fin));
}

/// ISA2 with SC fences at both ends and a relay without any barrier (review
/// barrier-survivors.md §2.3): `w = 1; smp_mb [B116]; x = 1` ∥ `r1 = x; y = 1`
/// ∥ `r2 = y; smp_mb [B117]; r3 = w`.  `isa2:110` is allowed by C11/RC11,
/// ARMv8 and POWER (the relay's read and write are unordered) and forbidden by
/// x86-TSO.  loom never produces it: its `fence(SeqCst)` joins one global
/// clock, so an SC fence happens-after every SC fence executed before it, and
/// any po∪rf path between two SC fences acts as synchronisation.  A mutant
/// that drops a relay's barrier between two SC fences survives under loom
/// for that reason alone: the test asserts the blind spot, so a loom upgrade
/// that changes it is noticed.
fn isa2_sc_relay<P: Platform>(x: &Exec<P>) {
    let w = Arc::new(QAtomic::<P, u32>::new("w", 0));
    let xa = Arc::new(QAtomic::<P, u32>::new("x", 0));
    let y = Arc::new(QAtomic::<P, u32>::new("y", 0));
    let out = Arc::new(std::sync::Mutex::new((0u32, 0u32)));
    x.setup_done();
    let (w1, x1) = (w.clone(), xa.clone());
    let t1 = x.spawn("t1", move || {
        qatomic_set(&w1, 1);
        smp_mb::<P>(site!(
            B116,
            Fence(SeqCst),
            "isa2_sc_relay",
            "litmus ISA2, thread 1: smp_mb()",
            "Store to w before the store to x. Pairs with B117 in isa2_sc_relay() [B116]"
        ));
        qatomic_set(&x1, 1);
    });
    let (x2, y2, out2) = (xa.clone(), y.clone(), out.clone());
    let t2 = x.spawn("relay", move || {
        let r1 = qatomic_read(&x2);
        qatomic_set(&y2, 1);
        out2.lock().unwrap().0 = r1;
    });
    let r2 = qatomic_read(&y);
    smp_mb::<P>(site!(
        B117,
        Fence(SeqCst),
        "isa2_sc_relay",
        "litmus ISA2, thread 3: smp_mb()",
        "Load of y before the load of w. Pairs with B116 in isa2_sc_relay() [B117]"
    ));
    let r3 = qatomic_read(&w);
    t1.join();
    t2.join();
    let r1 = out.lock().unwrap().0;
    x.observe(&format!("isa2:{}{}{}", bit(r1), bit(r2), bit(r3)));
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
pub static ALL: [Scenario; 7] = [
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
    litmus!(
        "litmus_s",
        "coherence inversion (S+poonceonce+porelease... relaxed): exact stores",
        "t1: x = 2; store_release(y, 1) [B114]\nt0: r = load_acquire(y) [B115]; x = 1; then read x",
        s_shape
    ),
    litmus!(
        "litmus_s_swaps",
        "the S shape with x's stores issued as swaps: the inversion is hidden",
        "t1: x = 2; store_release(y, 1) [B114]\nt0: r = load_acquire(y) [B115]; x = 1 (as a swap); then read x",
        s_shape_swaps
    ),
    litmus!(
        "litmus_isa2_sc_relay",
        "ISA2 with SC fences at both ends and a barrier-less relay: loom's SC-fence blind spot",
        "t1: w = 1; smp_mb [B116]; x = 1\nrelay: r1 = x; y = 1\nt0: r2 = y; smp_mb [B117]; r3 = w",
        isa2_sc_relay
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
