//! The environment beyond threads and the heap: pthread mutexes, futexes,
//! and programs linked from several C files (the shape util/rcu.c needs:
//! QEMU's file + the project's environment + a driver).
//! SPDX-License-Identifier: LGPL-2.1-or-later

mod common;

use std::path::PathBuf;

use common::{loom, program, shuttle};

#[test]
fn a_mutex_orders_plain_accesses() {
    let c = loom(&program("mutex", &["-DLOCKED=1"]), 3);
    c.ok();
    assert_eq!(c.keys(), ["counter=2"]);
}

#[test]
fn without_the_mutex_the_counter_races() {
    let c = loom(&program("mutex", &["-DLOCKED=0"]), 3);
    let f = c.failure.as_deref().expect("no race found");
    assert!(f.starts_with("cfront: [data-race]") && f.contains("global `counter`+0"), "{f}");
}

#[test]
fn futex_wait_and_wake() {
    let p = program("futex", &["-DWAKE=1"]);
    let c = loom(&p, 3);
    c.ok();
    assert_eq!(c.keys(), ["word=1"]);
    let c = shuttle(&p, 200);
    c.ok();
    assert_eq!(c.keys(), ["word=1"]);
    assert_eq!(cfront::run::<rcu_core::StdPlatform>(&p, "main").key(), "word=1");
}

#[test]
fn a_forgotten_futex_wake_is_a_deadlock() {
    let c = loom(&program("futex", &["-DWAKE=0"]), 3);
    let f = c.failure.as_deref().expect("the lost wake-up was not found");
    assert!(f.contains("deadlock"), "{f}");
}

#[test]
fn two_c_files_link_into_one_program() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cfront").join("link");
    let ll = cfront::compile_and_link(&[&dir.join("link_a.c"), &dir.join("link_b.c")], &out, "linked", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let p = cfront::Program::load(&ll).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfront::run::<rcu_core::StdPlatform>(&p, "main").key(), "total=15");
}

#[test]
fn g_usleep_is_a_moment_in_which_time_passes() {
    // Bounded by `tries`, as every g_usleep loop of util/rcu.c: loom sees
    // both the poll that finds the flag and the one that gives up.
    let p = program("sleep", &[]);
    let c = loom(&p, 3);
    c.ok();
    assert_eq!(c.keys(), ["gave_up=0", "gave_up=1"]);
    assert_eq!(cfront::run::<rcu_core::StdPlatform>(&p, "main").observations.len(), 1);
}
