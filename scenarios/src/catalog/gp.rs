//! The grace-period guarantee and publish/subscribe.
//!
//! Objects are words: 0 = not yet initialised, a positive value = live,
//! [`POISON`] = reclaimed.  The updater initialises a new object, publishes it
//! with `qatomic_rcu_set()`, waits for a grace period (synchronize_rcu() or a
//! call_rcu1() callback) and then reclaims the old one by storing POISON.  A
//! reader that sees POISON inside its critical section has used freed memory;
//! one that sees 0 subscribed to an unpublished object.
//!
//! Why a relaxed POISON store and not a loom `UnsafeCell` write: C11 gives no
//! happens-before edge from the reader's `store_release(ctr, 0)` to the
//! updater's *relaxed* load of `ctr`, so loom would flag the free as a data race
//! in every version.  QEMU relies there on load→store ordering (no load
//! buffering, like the LKMM's control dependency), which loom does not explore
//! either; checking the *value* the reader observes loses nothing loom could find.

use std::sync::Arc;

use models::Version;
use rcu_core::atomic::{qatomic_rcu_read, qatomic_rcu_set, qatomic_read, qatomic_set, QAtomic};
use rcu_core::platform::{Platform, RawCell};
use rcu_core::runtime::{GpMode, RunConfig};
use rcu_core::site;

use super::{cfg, util::Done, Exec, Expect, Scenario, Scope, Window};
use crate::bodies;
use crate::harness::Checker;

/// The reclaimed value.
pub const POISON: u32 = 0xdead;

/// RCU-protected objects: `ptr` points to one of `data[..]`.
///
/// In the race-detecting variants (`payload` is `Some`) each object also has
/// a non-atomic payload: the updater's initialisation and its reclamation are
/// writes to it, the reader's uses are reads, and loom reports any of them not
/// ordered by happens-before as a `data-race` (C11's definition of the bug,
/// with no help from dependencies or the absence of load buffering).
pub struct Objs<P: Platform> {
    ptr: QAtomic<P, u32>,
    data: Vec<QAtomic<P, u32>>,
    payload: Option<Vec<P::Cell<u32>>>,
}

/// `A`, `B`, `C`, `D`, then `obj4`, … (object names in traces and messages).
pub fn obj_name(v: u32) -> String {
    ["A", "B", "C", "D"].get(v as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("obj{v}"))
}

impl<P: Platform> Objs<P> {
    /// `n` objects; object 0 (A) is live and published.
    pub fn new(n: u32) -> Arc<Self> {
        let data = (0..n).map(|i| QAtomic::new(format!("{}.data", obj_name(i)), if i == 0 { 1 } else { 0 })).collect();
        Arc::new(Objs { ptr: QAtomic::with_show("ptr", 0, obj_name), data, payload: None })
    }

    /// `n` objects with race-checked payloads (see the type's docs).
    pub fn racy(n: u32) -> Arc<Self> {
        let data = (0..n).map(|i| QAtomic::new(format!("{}.data", obj_name(i)), if i == 0 { 1 } else { 0 })).collect();
        let payload = Some((0..n).map(|i| P::Cell::new(u32::from(i == 0))).collect());
        Arc::new(Objs { ptr: QAtomic::with_show("ptr", 0, obj_name), data, payload })
    }

    /// A payload access, race-checked, named for the report.
    fn payload_access(&self, i: u32, what: &str, write: Option<u32>) -> u32 {
        let Some(p) = &self.payload else { return 0 };
        let ctx = rcu_core::runtime::try_current::<P>();
        if let Some(c) = &ctx {
            // Traced before the access, so that the access loom rejects is the
            // table's last row.
            if c.tracing() {
                c.trace(format_args!("{what}: {}.payload (plain)", obj_name(i)));
            }
            c.rt.diag.set_race_context(Some(format!(
                "{}.payload: {what} by {}, unordered with the other side's access (reader's use vs updater's initialisation or reclamation)",
                obj_name(i),
                c.name
            )));
        }
        let v = match write {
            Some(w) => p[i as usize].with_mut(|x| {
                *x = w;
                w
            }),
            None => p[i as usize].with(|x| *x),
        };
        if let Some(c) = &ctx {
            c.rt.diag.set_race_context(None);
        }
        v
    }

    /// The same, with every name in traces prefixed (`t1.ptr`, `t1.B.data`),
    /// for programs with one set of objects per updater.
    pub fn named(prefix: &str, n: u32) -> Arc<Self> {
        let data =
            (0..n).map(|i| QAtomic::new(format!("{prefix}{}.data", obj_name(i)), if i == 0 { 1 } else { 0 })).collect();
        Arc::new(Objs { ptr: QAtomic::with_show(format!("{prefix}ptr"), 0, obj_name), data, payload: None })
    }

    /// Reader: `p = qatomic_rcu_read(&ptr)`.
    pub fn rcu_dereference(&self) -> u32 {
        qatomic_rcu_read(
            &self.ptr,
            site!(
                B100,
                Access(Acquire),
                "reader",
                "qatomic_rcu_read(&ptr) (scenario code)",
                "Load of the pointer before the loads of the object it points to. Pairs with B101 in updater() [B100]"
            ),
        )
    }

    /// Reader: read the object; fail on freed or unpublished memory.
    pub fn use_obj(&self, p: u32, who: &str) -> u32 {
        self.payload_access(p, "read of the payload", None);
        let v = qatomic_read(&self.data[p as usize]);
        if v == POISON {
            panic!(
                "[use-after-free] {who} read object {} inside its critical section after it was reclaimed",
                obj_name(p)
            );
        }
        if v == 0 {
            panic!(
                "[assertion] {who} read object {} before its initialisation was visible (publish/subscribe broken)",
                obj_name(p)
            );
        }
        v
    }

    /// Updater: initialise object `i` and publish it.
    pub fn publish(&self, i: u32) {
        self.payload_access(i, "initialisation of the payload", Some(1));
        qatomic_set(&self.data[i as usize], 1);
        qatomic_rcu_set(
            &self.ptr,
            i,
            site!(B101, Access(Release), "updater", "qatomic_rcu_set(&ptr, new) (scenario code)",
            "Initialisation of the new object before the store that publishes it. Pairs with B100 in reader() [B101]"),
        );
    }

    /// Updater: reclaim object `i`.
    pub fn free(&self, i: u32) {
        self.payload_access(i, "reclamation (free) of the payload", Some(POISON));
        qatomic_set(&self.data[i as usize], POISON);
    }
}

/// The reader thread.  It registers during the set-up and stays registered
/// (like a long-lived QEMU thread), so that registration, the registry
/// family's subject, does not race with the grace periods checked here; its
/// critical section starts once exploration does.
fn reader_thread<P: Platform>(
    x: &Exec<P>,
    rcu: &Arc<models::Rcu<P>>,
    objs: &Arc<Objs<P>>,
    nested: bool,
) -> rcu_core::runtime::QemuThread<P> {
    let ready = Done::<P>::new("reader_registered");
    let go = Done::<P>::new("go");
    let (rcu2, objs2, obs, ready2, go2) = (rcu.clone(), objs.clone(), x.obs.clone(), ready.clone(), go.clone());
    let t = x.spawn("reader", move || {
        rcu2.rcu_register_thread();
        ready2.hit();
        go2.wait_for(1, "reader waits for the set-up to end");
        reader_cs(&rcu2, &objs2, &obs, nested);
    });
    ready.wait_for(1, "updater waits for the reader to register");
    x.setup_done();
    go.hit();
    t
}

fn reader_cs<P: Platform>(rcu: &models::Rcu<P>, objs: &Objs<P>, obs: &crate::harness::Obs, nested: bool) {
    rcu.rcu_read_lock();
    if nested {
        rcu.rcu_read_lock();
    }
    let p = objs.rcu_dereference();
    objs.use_obj(p, "reader");
    // A critical section usually touches the object more than once; the
    // second use is what sees a reclamation that happened meanwhile.
    objs.use_obj(p, "reader (second use)");
    if nested {
        rcu.rcu_read_unlock();
        // Still inside the outer critical section: the object must stay live.
        objs.use_obj(p, "reader (outer section)");
    }
    rcu.rcu_read_unlock();
    obs.add(if p == 0 { "reader_saw_old" } else { "reader_saw_new" }, 1);
}

/// RCU+sync+read / RCU+sync+free, with synchronize_rcu().
fn gp_sync_read<P: Platform>(x: &Exec<P>) {
    gp_sync_common(x, false, Objs::new(2))
}

/// gp_sync_read with race-checked payloads.
fn gp_sync_read_race<P: Platform>(x: &Exec<P>) {
    gp_sync_common(x, false, Objs::racy(2))
}

/// The same with the reader's section nested twice.
fn gp_nested_read<P: Platform>(x: &Exec<P>) {
    gp_sync_common(x, true, Objs::new(2))
}

fn gp_sync_common<P: Platform>(x: &Exec<P>, nested: bool, objs: Arc<Objs<P>>) {
    let rcu = x.rcu_init();
    let reader = reader_thread(x, &rcu, &objs, nested);
    // updater: replace A by B, wait for a grace period, free A.
    objs.publish(1);
    rcu.synchronize_rcu();
    objs.free(0);
    reader.join();
    x.finish(&rcu);
}

/// Updater: `call_rcu1(A.rcu, free A)`, then wait until the callback ran.
fn call_rcu_free_a<P: Platform>(rcu: &models::Rcu<P>, objs: &Arc<Objs<P>>) {
    let freed = Done::<P>::new("freed");
    let (objs3, freed2) = (objs.clone(), freed.clone());
    let a = rcu.alloc_head("A.rcu");
    rcu.call_rcu1(a, move || {
        objs3.free(0);
        freed2.hit();
    });
    freed.wait_for(1, "waiting for A's call_rcu callback");
}

/// The same with call_rcu1(): the callback frees A.
fn gp_call_rcu_read<P: Platform>(x: &Exec<P>) {
    gp_call_rcu_common(x, Objs::new(2), false)
}

/// gp_call_rcu_read with race-checked payloads.
fn gp_call_rcu_read_race<P: Platform>(x: &Exec<P>) {
    gp_call_rcu_common(x, Objs::racy(2), false)
}

/// The call_rcu1() grace-period program; `busy`: an earlier callback X is
/// queued first, so the RCU thread is busy when A arrives
/// (gp_call_rcu_busy_rcu_thread).
pub(crate) fn gp_call_rcu_common<P: Platform>(x: &Exec<P>, objs: Arc<Objs<P>>, busy: bool) {
    let rcu = x.rcu_init();
    let reader = reader_thread(x, &rcu, &objs, false);
    if busy {
        let hx = rcu.alloc_head("X.rcu");
        rcu.call_rcu1(hx, || {});
    }
    objs.publish(1);
    call_rcu_free_a(&rcu, &objs);
    reader.join();
    x.finish(&rcu);
}

/// synchronize_rcu() right after an earlier call_rcu1().  In SEED and later,
/// synchronize_rcu() is call_rcu1() + wait, and the RCU thread starts the
/// grace period.  When the RCU thread is woken by the synchronize_rcu node's
/// own event set, that set's fence (B40) and the reset after the wake-up
/// (B44) publish the updater's pointer store before the rcu_gp_ctr store.
/// When it is woken by the *earlier* callback's set and its count snapshot
/// already includes the synchronize_rcu node (whose set comes later), it has
/// acquired the pointer store through the count but executed no fence since:
/// only B17 in enter_qs() orders that store before the rcu_gp_ctr store.
/// With B17 dropped, loom finds the use-after-free at pb 3 (v3: execution
/// 54,885, 12 s); the matrix runs pb 2, where the unmutated cells hold.
fn gp_sync_busy_rcu_thread<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let objs = Objs::<P>::new(2);
    let reader = reader_thread(x, &rcu, &objs, false);
    // An earlier batch keeps the RCU thread busy.
    let h = rcu.alloc_head("X.rcu");
    rcu.call_rcu1(h, || {});
    objs.publish(1);
    rcu.synchronize_rcu();
    objs.free(0);
    reader.join();
    x.finish(&rcu);
}

/// Two grace periods and a reader whose `rcu_gp_ctr` snapshot is stale: the
/// classic counter-wrap race, reachable with a 2-bit counter.
fn gp_counter_wrap<P: Platform>(x: &Exec<P>) {
    let rcu = x.rcu_init();
    let objs = Objs::<P>::new(3);
    let reader = reader_thread(x, &rcu, &objs, false);
    // A -> B, GP 1, free A; B -> C, GP 2, free B.
    objs.publish(1);
    rcu.synchronize_rcu();
    objs.free(0);
    objs.publish(2);
    rcu.synchronize_rcu();
    objs.free(1);
    reader.join();
    x.finish(&rcu);
}

fn narrow_single_flip(v: Version, c: &mut RunConfig) {
    cfg::standard(v, c);
    c.gp_mode = GpMode::Increment { bits: 2 };
}

fn narrow_two_phase(v: Version, c: &mut RunConfig) {
    cfg::standard(v, c);
    c.gp_mode = GpMode::TwoPhase;
}

fn all_hold(_: Version) -> Expect {
    Expect::Holds
}

fn wrap_breaks(_: Version) -> Expect {
    Expect::Violated {
        kind: "use-after-free",
        why: "with one parity flip per grace period a reader's stale snapshot equals rcu_gp_ctr again after two grace periods, so the second one does not wait for it",
    }
}

const SAW_OLD: Window = Window {
    what: "a reader read the old object inside its critical section",
    reached: |s| s.get("reader_saw_old") > 0,
};
const SAW_NEW: Window = Window { what: "a reader read the new object", reached: |s| s.get("reader_saw_new") > 0 };
const GP_WAITED: Window = Window {
    what: "the grace period found the reader inside its critical section",
    reached: |s| s.get("gp_saw_reader") > 0,
};

fn expect_sync_race(v: Version) -> Expect {
    match v {
        Version::Master | Version::Unify => Expect::Violated {
            kind: "data-race",
            why: "MASTER/UNIFY's synchronize_rcu() ends with relaxed ctr loads and no acquire after them: the free is ordered after the reader's critical section only by the control dependency (LKMM, real hardware), not by C11 happens-before",
        },
        _ => Expect::Holds,
    }
}

fn expect_call_race(_: Version) -> Expect {
    Expect::Violated {
        kind: "data-race",
        why: "no version executes an acquire between the RCU thread's last relaxed ctr load and the callback's free: call_rcu1() reclamation is ordered after the reader's critical section only by the control dependency (LKMM, real hardware), not by C11 happens-before",
    }
}

/// The family.
pub static SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "gp_sync_read",
        family: "grace-period",
        provenance: "QEMU rcu.c synchronize_rcu() contract; LKMM RCU+sync+read / RCU+sync+free; tests/unit/rcutorture.c",
        summary: "a read-side critical section that began before synchronize_rcu() never sees the reclaimed object",
        legend: "reader:  rcu_read_lock; p = rcu_read(ptr); use(*p); rcu_read_unlock\n\
                 updater: init B; rcu_set(ptr, B); synchronize_rcu(); free(A)",
        property: "the reader never reads POISON (use-after-free) nor an uninitialised object",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_sync_read),
    },
    Scenario {
        name: "gp_call_rcu_read",
        family: "grace-period",
        provenance: "QEMU call_rcu1() contract (include/qemu/rcu.h); tests/unit/test-rcu-list.c",
        summary: "a read-side critical section that began before call_rcu1() never sees the object its callback reclaims",
        legend: "reader:   rcu_read_lock; p = rcu_read(ptr); use(*p); rcu_read_unlock\n\
                 updater:  init B; rcu_set(ptr, B); call_rcu1(A.rcu, free A); wait for the callback\n\
                 call_rcu: grace period; free(A)",
        property: "the reader never reads POISON nor an uninitialised object; the callback runs",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_call_rcu_read),
    },
    Scenario {
        name: "gp_sync_busy_rcu_thread",
        family: "grace-period",
        provenance: "force_rcu v1 3/5 \"rcu: Use call_rcu() in synchronize_rcu()\" (same text in v3 3/5, 76873115f4): the grace period is started by the RCU thread; spec §5.1",
        summary: "synchronize_rcu() right after call_rcu1(): one batch, the RCU thread woken by the earlier callback's set",
        legend: "reader:   rcu_read_lock; p = rcu_read(ptr); use(*p); rcu_read_unlock\n\
                 updater:  call_rcu1(X); init B; rcu_set(ptr, B); synchronize_rcu(); free(A)\n\
                 call_rcu: woken by X's set; count snapshot = {X, sync}; enter_qs: B17; rcu_gp_ctr store; scan; run X, sync",
        property: "the reader never reads POISON (use-after-free) nor an uninitialised object",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_sync_busy_rcu_thread),
    },
    Scenario {
        name: "gp_sync_read_race",
        family: "grace-period",
        provenance: "barrier-survivors.md §4 rec. 1 (race-detecting grace period); gp_sync_read with a non-atomic payload",
        summary: "gp_sync_read with a non-atomic payload: the free must happen-after the reader's uses in C11",
        legend: "reader:  rcu_read_lock; p = rcu_read(ptr); read p->payload (twice); rcu_read_unlock\n\
                 updater: write B->payload; rcu_set(ptr, B); synchronize_rcu(); write A->payload = POISON (free)",
        property: "no data race on a payload (C11 happens-before from every use to the free), no POISON read",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: expect_sync_race,
        windows: &[SAW_OLD, SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_sync_read_race),
    },
    Scenario {
        name: "gp_call_rcu_read_race",
        family: "grace-period",
        provenance: "barrier-survivors.md §4 rec. 1; gp_call_rcu_read with a non-atomic payload",
        summary: "gp_call_rcu_read with a non-atomic payload: the callback's free must happen-after the reader's uses in C11",
        legend: "reader:   rcu_read_lock; p = rcu_read(ptr); read p->payload (twice); rcu_read_unlock\n\
                 updater:  write B->payload; rcu_set(ptr, B); call_rcu1(A.rcu, free A)\n\
                 call_rcu: grace period; write A->payload = POISON (free)",
        property: "no data race on a payload, no POISON read; the callback runs",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: expect_call_race,
        windows: &[SAW_OLD, SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_call_rcu_read_race),
    },
    Scenario {
        name: "gp_nested_read",
        family: "grace-period",
        provenance: "d62cb4f2fd (2015) read-side nesting; include/qemu/rcu.h depth",
        summary: "only the outermost rcu_read_unlock() ends the critical section",
        legend: "reader:  lock; lock; p = rcu_read(ptr); use(*p); unlock; use(*p); unlock\n\
                 updater: init B; rcu_set(ptr, B); synchronize_rcu(); free(A)",
        property: "the reader never reads POISON between the inner and the outer unlock",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 2000,
        shuttle_pct_depth: 3,
        configure: cfg::standard,
        expect: all_hold,
        windows: &[SAW_OLD, GP_WAITED],
        bodies: bodies!(gp_nested_read),
    },
    Scenario {
        name: "gp_counter_wrap_single_flip",
        family: "grace-period",
        provenance: "rcu.c:158-170 and the urcu two-phase argument (spec §3.3); counter narrowed to 2 bits",
        summary: "a 2-bit rcu_gp_ctr advanced once per grace period (one parity flip) lets a stale reader snapshot look current",
        legend: "reader:  [load rcu_gp_ctr = 1] … (preempted) … ctr = 1; fence; p = rcu_read(ptr) = B; use(*p)\n\
                 updater: rcu_set(ptr, B); GP1 (ctr 1→3, reader not yet in); free(A); rcu_set(ptr, C);\n\
                 \x20        GP2 (ctr 3→1 == reader's stale 1: looks new); free(B)",
        property: "the reader never reads POISON",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 3,
        // seed/v3 at pb3: found after 67522 / 70229 executions (14 s); at pb2 in 1 s.
        bound_overrides: &[(Version::Seed, 2), (Version::V3, 2)],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: narrow_single_flip,
        expect: wrap_breaks,
        windows: &[SAW_NEW],
        bodies: bodies!(gp_counter_wrap),
    },
    Scenario {
        name: "gp_counter_wrap_two_phase",
        family: "grace-period",
        provenance: "rcu.c:158-166 sizeof(rcu_gp_ctr) < 8 path (spec §3.3)",
        summary: "the 32-bit two-phase parity flip catches the stale reader of the single-flip case",
        legend: "as gp_counter_wrap_single_flip, with each grace period = flip; wait; flip; wait",
        property: "the reader never reads POISON",
        scope: Scope::Versions,
        checker: Checker::Loom,
        loom_threads: 4,
        preemption_bound: 2,
        bound_overrides: &[],
        shuttle_iterations: 4000,
        shuttle_pct_depth: 3,
        configure: narrow_two_phase,
        expect: all_hold,
        windows: &[SAW_NEW, GP_WAITED],
        bodies: bodies!(gp_counter_wrap),
    },
];
