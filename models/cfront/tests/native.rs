//! A tree compiled natively (cfront::native): the project's mini QEMU-style
//! tree as a shared object on real threads, its API, the harness views, and
//! the bad-input path.  Real QEMU trees: `scenarios` (torture/bench/matrix
//! with `--checker std`) and `CFRONT_QEMU_TREES` below.
//! SPDX-License-Identifier: LGPL-2.1-or-later
#![allow(clippy::disallowed_types)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use cfront::{CTree, NativeRcu};

fn mini(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ctree").join(name)
}

/// A scratch copy of the mini tree (the caller removes it).
fn mini_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfront-native-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = std::process::Command::new("cp").arg("-r").arg(mini("mini")).arg(&dir).status().unwrap();
    assert!(st.success(), "cannot copy the mini tree to {}", dir.display());
    dir
}

/// The whole API on one instance, from two real threads.
fn exercise(tree: &CTree) {
    let lib = tree.native().expect("native build");
    let entries = Arc::new(AtomicU64::new(0));
    let e2 = entries.clone();
    let rcu = NativeRcu::rcu_init(&lib, move || {
        e2.fetch_add(1, Ordering::Relaxed);
    })
    .unwrap();
    // rcu_init() registered this thread (and the call_rcu thread itself).
    let me = rcu.me();
    assert_ne!(me, 0);
    assert!(rcu.registry_members().contains(&me), "the loading thread is registered by rcu_init()");
    rcu.rcu_read_lock();
    rcu.rcu_read_unlock();
    rcu.synchronize_rcu();
    let (tx, rx) = mpsc::channel();
    rcu.call_rcu1(move || tx.send(std::fs::read_to_string("/proc/thread-self/comm").unwrap()).unwrap());
    rcu.drain_call_rcu();
    let ran_on = rx.recv_timeout(Duration::from_secs(10)).expect("the callback ran before drain_call_rcu() returned");
    assert_eq!(ran_on.trim(), "call_rcu", "callbacks run on the tree's call_rcu thread (a named pthread)");
    assert!(entries.load(Ordering::Relaxed) >= 1);
    // A second thread: its own rcu_reader, registered and unregistered.
    let r2 = rcu.clone();
    std::thread::spawn(move || {
        r2.rcu_register_thread();
        let m = r2.me();
        assert_ne!(m, me, "each thread has its own thread-local rcu_reader");
        assert!(r2.registry_members().contains(&m));
        r2.rcu_unregister_thread();
        assert!(!r2.registry_members().contains(&m));
    })
    .join()
    .unwrap();
    // A thread that exits registered is unregistered as it exits (its
    // rcu_reader is freed with it; QEMU's threads unregister themselves).
    let r3 = rcu.clone();
    let gone = std::thread::spawn(move || {
        r3.rcu_register_thread();
        r3.me()
    })
    .join()
    .unwrap();
    assert!(!rcu.registry_members().contains(&gone), "a dead thread's rcu_reader left on the registry");
    rcu.synchronize_rcu();
    rcu.shutdown();
    assert!(!rcu.registry_members().contains(&me), "shutdown unregisters the loading thread");
}

#[test]
fn mini_tree_runs_natively() {
    let tree = CTree::load(&mini("mini")).unwrap();
    exercise(&tree);
    // Two instances of one tree have their own globals and call_rcu threads.
    exercise(&tree);
}

/// The mini tree with `tests/ctree/mini-sem.patch` (its call_rcu thread
/// sleeps on a QemuSemaphore, the shape of Peter Xu's drafts): the native
/// object links the environment's env-sem.c, and the API works.
#[test]
fn mini_sem_tree_runs_natively() {
    let dir = mini_copy("mini-sem");
    let patch = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ctree/mini-sem.patch");
    let st = std::process::Command::new("git").current_dir(&dir).arg("apply").arg(&patch).status().unwrap();
    assert!(st.success(), "mini-sem.patch does not apply");
    let tree = CTree::load(&dir).unwrap();
    exercise(&tree);
    // env-sem.c's timed wait waits natively: its condition variable is on
    // the monotonic clock its deadline is computed on (QEMU's qemu_cond_init);
    // on the default clock it timed out at once.
    let rcu = NativeRcu::rcu_init(&tree.native().unwrap(), || {}).unwrap();
    type Init = unsafe extern "C" fn(*mut u8, i32);
    type Timed = unsafe extern "C" fn(*mut u8, i32) -> i32;
    // SAFETY: env-sem.c's functions; the buffer is larger than a QemuSemaphore.
    let (init, timed): (Init, Timed) = unsafe {
        (
            std::mem::transmute::<*mut std::ffi::c_void, Init>(rcu.symbol("qemu_sem_init").unwrap()),
            std::mem::transmute::<*mut std::ffi::c_void, Timed>(rcu.symbol("qemu_sem_timedwait").unwrap()),
        )
    };
    let mut sem = vec![0u64; 64];
    let t0 = std::time::Instant::now();
    let r = unsafe {
        init(sem.as_mut_ptr() as *mut u8, 0);
        timed(sem.as_mut_ptr() as *mut u8, 20)
    };
    let waited = t0.elapsed();
    assert_eq!(r, -1, "nothing posted: a timeout");
    assert!(waited >= Duration::from_millis(19), "qemu_sem_timedwait(20 ms) returned after {waited:?}");
    rcu.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A notifier runs when a grace period finds its thread in a critical
/// section (the mini tree notifies while it polls).
#[test]
fn mini_tree_notifier_runs_natively() {
    let tree = CTree::load(&mini("mini")).unwrap();
    let lib = tree.native().unwrap();
    let rcu = NativeRcu::rcu_init(&lib, || {}).unwrap();
    let (in_cs_tx, in_cs_rx) = mpsc::channel();
    let (kick_tx, kick_rx) = mpsc::channel::<()>();
    let r2 = rcu.clone();
    let reader = std::thread::spawn(move || {
        r2.rcu_register_thread();
        let n = r2.add_force_rcu_notifier(move || {
            let _ = kick_tx.send(());
        });
        r2.rcu_read_lock();
        in_cs_tx.send(()).unwrap();
        kick_rx.recv_timeout(Duration::from_secs(10)).expect("notified");
        r2.rcu_read_unlock();
        r2.remove_force_rcu_notifier(n);
        r2.rcu_unregister_thread();
    });
    in_cs_rx.recv().unwrap();
    rcu.synchronize_rcu();
    reader.join().unwrap();
    assert!(rcu.notifier_calls() >= 1);
    rcu.shutdown();
}

/// A tree whose C does not link natively: one line naming the step.
#[test]
fn native_build_error_is_one_line() {
    let dir = mini_copy("bad");
    let tree = CTree::load(&dir).unwrap();
    // Break the tree after the interpreter loaded it: the native build sees it.
    let rcu = dir.join("util/rcu.c");
    let src = std::fs::read_to_string(&rcu).unwrap();
    std::fs::write(&rcu, src.replace("void drain_call_rcu(void)\n{", "void drain_call_rcu(void)\n{ undefined_fn();"))
        .unwrap();
    let e = tree.native().unwrap_err().to_string();
    assert!(!e.contains('\n') && e.contains("undefined_fn"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Real trees, when given: `CFRONT_QEMU_TREES=master=DIR,v3=DIR cargo test
/// --release -p cfront --test native -- --ignored`.
#[test]
#[ignore]
fn qemu_trees_run_natively() {
    let trees = std::env::var("CFRONT_QEMU_TREES").unwrap_or_default();
    for spec in trees.split(',').filter(|s| !s.is_empty()) {
        let dir = spec.split_once('=').map(|(_, d)| d).unwrap_or(spec);
        exercise(&CTree::load(std::path::Path::new(dir)).unwrap());
    }
}
