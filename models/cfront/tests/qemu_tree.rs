//! A QEMU tree as a version (cfront::qemu): the loader's bad-input paths, the
//! project's own mini QEMU-style RCU through the same loader and API, and
//! (ignored unless asked, `CFRONT_QEMU_TREES=master=DIR,v3=DIR`) real trees.
//! SPDX-License-Identifier: LGPL-2.1-or-later

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering as O};
use std::sync::Arc;

use cfront::{CRcu, CTree, Options};
use rcu_core::platform::{Ordering, Platform, RawAtomic};
use rcu_core::runtime::{current, qemu_thread_create, unpark, Diag, RunConfig, Runtime, ThreadCtx};
use rcu_core::LoomPlatform;

/// gp_sync_read on a C tree: the reader reads object A or B inside a
/// critical section; the updater publishes B, waits for a grace period
/// (`synchronize_rcu()`, or a `call_rcu1()` callback when `call`), and frees
/// A.  `skip_gp` drops the wait (the positive control).
fn gp_read<P: Platform>(tree: &Arc<CTree>, call: bool, skip_gp: bool) -> String {
    let rt = Runtime::<P>::new(Arc::new(RunConfig::default()), Arc::new(Diag::default()));
    rt.enter("main");
    if tree.timed_waits {
        rt.start_timer();
    }
    let rcu = CRcu::<P>::rcu_init(tree, &Options::default());
    // ptr: 0 = A, 1 = B; data[i]: 1 live, 2 freed.
    let ptr = Arc::new(<P::AtomicU32 as RawAtomic<u32>>::new(0));
    let data = Arc::new([<P::AtomicU32 as RawAtomic<u32>>::new(1), <P::AtomicU32 as RawAtomic<u32>>::new(0)]);
    let saw = Arc::new(AtomicU32::new(9));
    let (rcu2, ptr2, data2, saw2) = (rcu.clone(), ptr.clone(), data.clone(), saw.clone());
    let reader = qemu_thread_create::<P>("reader", move || {
        rcu2.rcu_register_thread();
        rcu2.rcu_read_lock();
        let p = ptr2.load(Ordering::Acquire);
        let v = data2[p as usize].load(Ordering::Relaxed);
        assert_eq!(v, 1, "[use-after-free] reader read object {p} after it was freed");
        rcu2.rcu_read_unlock();
        rcu2.rcu_unregister_thread();
        saw2.store(p, O::Relaxed);
    });
    data[1].store(1, Ordering::Relaxed);
    ptr.store(1, Ordering::Release);
    if !skip_gp {
        if call {
            let done = Arc::new(<P::AtomicU32 as RawAtomic<u32>>::new(0));
            let (d2, data3) = (done.clone(), data.clone());
            rcu.call_rcu1(move || {
                data3[0].store(2, Ordering::Relaxed);
                d2.store(1, Ordering::Release);
            });
            reader.join();
            rcu.shutdown();
            assert_eq!(done.load(Ordering::Acquire), 1, "callback did not run");
            rt.stop_timer();
            rt.leave();
            return format!("saw={}", saw.load(O::Relaxed));
        }
        rcu.synchronize_rcu();
    }
    data[0].store(2, Ordering::Relaxed);
    reader.join();
    rcu.shutdown();
    rt.stop_timer();
    rt.leave();
    format!("saw={}", saw.load(O::Relaxed))
}

/// A one-shot signal that parks its waiter (scenarios' `Done`): before
/// `Platform::explore()` loom runs one schedule and a yield loop would spin.
struct Signal<P: Platform> {
    v: P::AtomicU32,
    waiters: std::sync::Mutex<Vec<Arc<ThreadCtx<P>>>>,
}

impl<P: Platform> Signal<P> {
    fn new() -> Arc<Self> {
        Arc::new(Signal { v: RawAtomic::new(0), waiters: Default::default() })
    }
    fn hit(&self) {
        self.v.fetch_add(1, Ordering::AcqRel);
        for w in self.waiters.lock().unwrap().clone() {
            unpark(&w);
        }
    }
    fn wait(&self) {
        let me = current::<P>();
        self.waiters.lock().unwrap().push(me.clone());
        while self.v.fetch_add(0, Ordering::AcqRel) == 0 {
            me.park();
        }
    }
}

/// scenarios' gp_sync_read / gp_call_rcu_read (catalog/gp.rs) written again
/// against CRcu, access for access: the reader registers during the set-up
/// (explored along one schedule), then reads `ptr` (acquire) and uses the
/// object twice inside its section; the updater publishes B (release), waits
/// for a grace period, and stores POISON into A.  Returns the executions'
/// outcome (`old`/`new`).
fn scenario_gp_read<P: Platform>(tree: &Arc<CTree>, call: bool) -> &'static str {
    const POISON: u32 = 0xdead;
    let rt = Runtime::<P>::new(Arc::new(RunConfig::default()), Arc::new(Diag::default()));
    rt.enter("main");
    if tree.timed_waits {
        rt.start_timer();
    }
    let rcu = CRcu::<P>::rcu_init(tree, &Options::default());
    let new_atomic = |v| <P::AtomicU32 as RawAtomic<u32>>::new(v);
    let ptr = Arc::new(new_atomic(0));
    let data = Arc::new([new_atomic(1), new_atomic(0)]);
    let (ready, go) = (Signal::<P>::new(), Signal::<P>::new());
    let saw = Arc::new(AtomicU32::new(9));
    let (rcu2, ptr2, data2, saw2, ready2, go2) =
        (rcu.clone(), ptr.clone(), data.clone(), saw.clone(), ready.clone(), go.clone());
    let reader = qemu_thread_create::<P>("reader", move || {
        rcu2.rcu_register_thread();
        ready2.hit();
        go2.wait();
        rcu2.rcu_read_lock();
        let p = ptr2.load(Ordering::Acquire);
        for _ in 0..2 {
            let v = data2[p as usize].load(Ordering::Relaxed);
            assert_ne!(
                v, POISON,
                "[use-after-free] reader read object {p} inside its critical section after it was reclaimed"
            );
            assert_ne!(v, 0, "[assertion] reader read object {p} before its initialisation was visible");
        }
        rcu2.rcu_read_unlock();
        saw2.store(p, O::Relaxed);
    });
    ready.wait();
    P::explore();
    go.hit();
    data[1].store(1, Ordering::Relaxed);
    ptr.store(1, Ordering::Release);
    if call {
        let freed = Signal::<P>::new();
        let (f2, d3) = (freed.clone(), data.clone());
        rcu.call_rcu1(move || {
            d3[0].store(POISON, Ordering::Relaxed);
            f2.hit();
        });
        freed.wait();
    } else {
        rcu.synchronize_rcu();
        data[0].store(POISON, Ordering::Relaxed);
    }
    reader.join();
    rcu.shutdown();
    rt.stop_timer();
    rt.leave();
    if saw.load(O::Relaxed) == 0 {
        "old"
    } else {
        "new"
    }
}

fn loom_check(pb: usize, f: impl Fn() + Send + Sync + 'static) -> (u64, f64) {
    loom_check_with(pb, false, f)
}

/// `explicit`: explore only after `Platform::explore()` (the scenarios' set-up rule).
fn loom_check_with(pb: usize, explicit: bool, f: impl Fn() + Send + Sync + 'static) -> (u64, f64) {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let n2 = n.clone();
    let t = std::time::Instant::now();
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(pb);
    b.max_branches = 100_000;
    b.expect_explicit_explore = explicit;
    b.check(move || {
        f();
        n2.fetch_add(1, O::Relaxed);
    });
    (n.load(O::Relaxed), t.elapsed().as_secs_f64())
}

fn mini_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ctree/mini")
}

fn mini(extra: &[&str]) -> Arc<CTree> {
    Arc::new(CTree::load_with(&mini_dir(), extra).unwrap_or_else(|e| panic!("{e}")))
}

fn load_err(dir: &std::path::Path, extra: &[&str]) -> String {
    let e = CTree::load_with(dir, extra).expect_err("loaded").to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

#[test]
fn a_missing_directory_is_one_line() {
    let e = load_err(std::path::Path::new("/nonexistent/qemu"), &[]);
    assert!(e.starts_with("/nonexistent/qemu: no such directory"), "{e}");
}

#[test]
fn a_directory_without_util_rcu_c_is_not_a_tree() {
    let e = load_err(&mini_dir().join("include"), &[]);
    assert!(e.contains("not a QEMU tree (no util/rcu.c)"), "{e}");
}

#[test]
fn a_file_that_does_not_compile_is_named() {
    let e = load_err(&mini_dir(), &["-include", "/nonexistent/header.h"]);
    assert!(e.contains("rcu.c does not compile"), "{e}");
}

#[test]
fn a_tree_without_the_api_is_refused() {
    let e = load_err(&mini_dir(), &["-Ddrain_call_rcu=renamed_drain_call_rcu"]);
    assert!(e.contains("defines no `drain_call_rcu()`"), "{e}");
}

#[test]
fn a_tree_without_the_idle_object_is_refused() {
    let e = load_err(&mini_dir(), &["-Drcu_call_ready_event=renamed_ready_event"]);
    assert!(e.contains("no `rcu_call_ready_event` or `sync_event`"), "{e}");
}

/// The mini tree with `tests/ctree/mini-sem.patch`: its call_rcu thread
/// sleeps on a QemuSemaphore called `sync_event` (the shape of Peter Xu's
/// drafts), so the program links the environment's env-sem.c and the
/// interpreter's condition variables, and the harness stops the thread at
/// `qemu_sem_wait()` after a `qemu_sem_post()`.
fn mini_sem() -> Arc<CTree> {
    let dir = std::env::temp_dir().join(format!("cfront-mini-sem-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = std::process::Command::new("cp").arg("-r").arg(mini_dir()).arg(&dir).status().unwrap();
    assert!(st.success());
    let patch = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ctree/mini-sem.patch");
    let st = std::process::Command::new("git").current_dir(&dir).arg("apply").arg(&patch).status().unwrap();
    assert!(st.success(), "mini-sem.patch does not apply");
    let t = Arc::new(CTree::load(&dir).unwrap_or_else(|e| panic!("{e}")));
    let _ = std::fs::remove_dir_all(&dir);
    t
}

#[test]
fn a_semaphore_idle_wait_runs_and_stops_under_loom() {
    let t = mini_sem();
    assert!(t.timed_waits, "a semaphore idle object counts as timed waits (env-sem.c has qemu_sem_timedwait)");
    assert!(t.prog.undefined_functions().is_empty(), "{:?}", t.prog.undefined_functions());
    for call in [false, true] {
        let t2 = t.clone();
        let (n, _) = loom_check(2, move || {
            gp_read::<LoomPlatform>(&t2, call, false);
        });
        assert!(n > 10, "{n} executions");
    }
}

#[test]
fn the_mini_tree_loads_as_a_version() {
    let t = mini(&[]);
    assert_eq!(t.label, "mini");
    assert!(!t.has_force_rcu && !t.timed_waits);
    assert!(t.prog.undefined_functions().is_empty(), "{:?}", t.prog.undefined_functions());
}

#[test]
fn mini_gp_sync_read_and_call_rcu_read_hold_under_loom() {
    let t = mini(&[]);
    for call in [false, true] {
        let t2 = t.clone();
        let (n, _) = loom_check(2, move || {
            gp_read::<LoomPlatform>(&t2, call, false);
        });
        assert!(n > 10, "{n} executions");
    }
}

#[test]
fn mini_without_the_grace_period_the_free_is_found() {
    for (defs, skip) in [(&["-DMINI_BUG=1"][..], false), (&[][..], true)] {
        let t = mini(defs);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loom_check(2, move || {
                gp_read::<LoomPlatform>(&t, false, skip);
            })
        }));
        let msg = r.err().map(message).expect("no use-after-free found");
        assert!(msg.contains("[use-after-free]"), "{msg}");
    }
}

#[test]
fn mini_scenario_shape_holds_under_loom() {
    let t = mini(&[]);
    for call in [false, true] {
        let t2 = t.clone();
        let (n, _) = loom_check_with(2, true, move || {
            scenario_gp_read::<LoomPlatform>(&t2, call);
        });
        assert!(n > 1, "{n} executions");
    }
}

#[test]
fn mini_runs_on_std_threads() {
    let t = mini(&[]);
    for call in [false, true] {
        let out = gp_read::<rcu_core::StdPlatform>(&t, call, false);
        assert!(out == "saw=0" || out == "saw=1", "{out}");
    }
}

/// A reader inside its critical section waits for its force_rcu notifier;
/// synchronize_rcu() (which notifies the readers it waits for) must call it,
/// and drain_call_rcu() returns after an earlier callback ran.
fn notifier_and_drain<P: Platform>(tree: &Arc<CTree>) {
    let rt = Runtime::<P>::new(Arc::new(RunConfig::default()), Arc::new(Diag::default()));
    rt.enter("main");
    let rcu = CRcu::<P>::rcu_init(tree, &Options::default());
    let kicked = Arc::new(<P::AtomicU32 as RawAtomic<u32>>::new(0));
    let inside = Arc::new(<P::AtomicU32 as RawAtomic<u32>>::new(0));
    let (rcu2, k2, in2) = (rcu.clone(), kicked.clone(), inside.clone());
    let reader = qemu_thread_create::<P>("reader", move || {
        rcu2.rcu_register_thread();
        let k3 = k2.clone();
        let n = rcu2.add_force_rcu_notifier(move || k3.store(1, Ordering::Release));
        rcu2.rcu_read_lock();
        in2.store(1, Ordering::Release);
        while k2.load(Ordering::Acquire) == 0 {
            P::yield_now();
        }
        rcu2.rcu_read_unlock();
        rcu2.remove_force_rcu_notifier(n);
        rcu2.rcu_unregister_thread();
    });
    while inside.load(Ordering::Acquire) == 0 {
        P::yield_now();
    }
    rcu.synchronize_rcu();
    assert_eq!(kicked.load(Ordering::Acquire), 1, "the reader's notifier was not called");
    let ran = Arc::new(<P::AtomicU32 as RawAtomic<u32>>::new(0));
    let r2 = ran.clone();
    rcu.call_rcu1(move || r2.store(1, Ordering::Relaxed));
    rcu.drain_call_rcu();
    assert_eq!(ran.load(Ordering::Relaxed), 1, "drain_call_rcu() returned before the callback ran");
    reader.join();
    rcu.shutdown();
    rt.leave();
}

#[test]
fn mini_force_rcu_notifiers_and_drain() {
    let t = mini(&[]);
    let t2 = t.clone();
    loom_check(2, move || notifier_and_drain::<LoomPlatform>(&t2));
    notifier_and_drain::<rcu_core::StdPlatform>(&t);
}

fn real_trees() -> Vec<(String, PathBuf)> {
    let v = std::env::var("CFRONT_QEMU_TREES").expect("set CFRONT_QEMU_TREES=LABEL=DIR,… to run the real-tree tests");
    v.split(',').map(|kv| kv.split_once('=').expect("LABEL=DIR")).map(|(l, d)| (l.to_string(), d.into())).collect()
}

#[test]
#[ignore = "needs QEMU trees: CFRONT_QEMU_TREES=master=DIR,v3=DIR"]
fn real_trees_gp_sync_read_and_call_rcu_read_hold_under_loom() {
    for (label, dir) in real_trees() {
        let t = std::time::Instant::now();
        let tree = Arc::new(CTree::load(&dir).unwrap_or_else(|e| panic!("{e}")));
        eprintln!("{label}: loaded in {:.1}s, force_rcu: {}", t.elapsed().as_secs_f64(), tree.has_force_rcu);
        for call in [false, true] {
            let tr = tree.clone();
            let (n, s) = loom_check(2, move || {
                gp_read::<LoomPlatform>(&tr, call, false);
            });
            eprintln!(
                "{label} {}: holds, {n} executions, {s:.2}s",
                if call { "gp_call_rcu_read" } else { "gp_sync_read" }
            );
        }
        for call in [false, true] {
            let tr = tree.clone();
            let (n, s) = loom_check_with(2, true, move || {
                scenario_gp_read::<LoomPlatform>(&tr, call);
            });
            let name = if call { "gp_call_rcu_read" } else { "gp_sync_read" };
            eprintln!("{label} {name} (the scenario's shape): holds, {n} executions, {s:.2}s");
        }
        // Positive control: without the grace period loom finds the free.
        let tr = tree.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loom_check(2, move || {
                gp_read::<LoomPlatform>(&tr, false, true);
            })
        }));
        let msg = r.err().map(message).expect("no use-after-free found without synchronize_rcu()");
        assert!(msg.contains("[use-after-free]"), "{msg}");
    }
}

fn message(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}
