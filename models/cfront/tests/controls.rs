//! Positive controls: the checker must be able to fail.  Each bug is found
//! (and its corrected twin passes), each bad input gives one line.
//! SPDX-License-Identifier: LGPL-2.1-or-later

mod common;

use std::path::{Path, PathBuf};

use common::{loom, program};

fn failure(c: &common::Checked) -> &str {
    c.failure.as_deref().unwrap_or_else(|| panic!("expected a failure, got outcomes {:?}", c.outcomes))
}

#[test]
fn unordered_plain_accesses_are_a_data_race() {
    // writer: data = 42; flag = 1 (relaxed) -- reader: if (flag) r = data.
    let c = loom(&program("race", &["-DSYNC=0"]), 3);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [data-race] plain "), "{f}");
    assert!(f.contains("global `data`+0 races (Causality violation"), "{f}");
}

#[test]
fn release_acquire_orders_the_plain_accesses() {
    // The same with release/acquire: no race.  -O2 loads `data` before testing
    // `flag` (a select); the check waits for the select (program.rs).
    let c = loom(&program("race", &["-DSYNC=1"]), 3);
    c.ok();
    assert_eq!(c.keys(), ["r=-1", "r=42"]);
}

#[test]
fn use_after_free_is_reported() {
    let c = loom(&program("heap", &["-DMODE=1"]), 3);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [use-after-free] 4-byte load of heap#1"), "{f}");
    assert!(f.contains("(freed at heap.c:39 (in main) by main) at heap.c:40"), "{f}");
}

#[test]
fn double_free_is_reported() {
    let c = loom(&program("heap", &["-DMODE=2"]), 3);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [double-free] heap#1"), "{f}");
    assert!(f.contains("(first freed at heap.c:42 (in main) by main), again at heap.c:43"), "{f}");
}

#[test]
fn freeing_while_a_reader_may_hold_the_node_is_found() {
    // Unpublish, then free without waiting for the reader: loom finds the
    // reader dereferencing the freed node (after the free, or unordered with it).
    let c = loom(&program("heap", &["-DMODE=3"]), 3);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [use-after-free]") || f.starts_with("cfront: [data-race]"), "{f}");
}

#[test]
fn freeing_after_the_reader_is_done_holds() {
    let c = loom(&program("heap", &["-DMODE=0"]), 3);
    c.ok();
    assert_eq!(c.keys(), ["", "val=7"]);
}

#[test]
fn a_lost_update_fails_an_assert() {
    let c = loom(&program("mix", &["-DLOST_UPDATE"]), 2);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [assertion] `got == expect` failed at mix.c:"), "{f}");
}

#[test]
fn unsupported_constructs_are_listed_and_fail_with_their_line() {
    let p = program("unsupported", &[]);
    assert!(
        p.unsupported().iter().any(|u| u.starts_with("[unsupported] instruction `fdiv` at unsupported.c:11")),
        "{:?}",
        p.unsupported()
    );
    let c = loom(&p, 2);
    let f = failure(&c);
    assert!(f.starts_with("cfront: [unsupported] instruction `fdiv` at unsupported.c:11 (in main)"), "{f}");
}

#[test]
fn calling_an_undefined_function_fails_with_its_name() {
    let p = program("unsupported", &[]);
    let r = std::panic::catch_unwind(|| cfront::run::<rcu_core::StdPlatform>(&p, "calls_printf"));
    let e = r.expect_err("printf is not part of the environment");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.starts_with("cfront: [unsupported] call to undefined function `printf` at unsupported.c:18"), "{msg}");
}

fn one_line(e: cfront::Error) -> String {
    let s = e.to_string();
    assert!(!s.is_empty() && !s.contains('\n'), "not one line: {s:?}");
    s
}

#[test]
fn bad_input_gives_one_line() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cfront-bad");
    std::fs::create_dir_all(&out).unwrap();
    let e = one_line(cfront::compile(Path::new("/nonexistent/x.c"), &out, &[]).unwrap_err());
    assert_eq!(e, "/nonexistent/x.c: no such C file");

    let bad_c = out.join("bad.c");
    std::fs::write(&bad_c, "int main(void) { return 0 }\n").unwrap();
    let e = one_line(cfront::compile(&bad_c, &out, &[]).unwrap_err());
    assert!(e.contains("does not compile") && e.contains("error"), "{e}");

    let bad_ll = out.join("bad.ll");
    std::fs::write(&bad_ll, "this is not IR\n").unwrap();
    let e = one_line(cfront::Program::load(&bad_ll).unwrap_err());
    assert!(e.contains("not valid LLVM IR"), "{e}");
}

#[test]
fn a_missing_clang_says_what_to_install() {
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cfront-no-clang");
    std::fs::create_dir_all(&empty).unwrap();
    let e = one_line(cfront::find_clang_in([empty]).unwrap_err());
    assert_eq!(e, cfront::CLANG_MISSING);
    assert!(e.contains("ci/setup-c.sh") && e.contains("apt-get install -y clang-14"));
}

#[test]
fn constructors_run_once_per_execution_and_empty_asm_is_understood() {
    // `ready` is 1 in every execution (not 1, 2, 3…): constructors run per run.
    let p = program("asm_ctor", &[]);
    let c = loom(&p, 2);
    c.ok();
    assert_eq!(c.keys(), ["ready=1 slot=6"]);
    for _ in 0..3 {
        assert_eq!(cfront::run::<rcu_core::StdPlatform>(&p, "main").key(), "ready=1 slot=6");
    }
    assert!(
        p.unsupported().iter().any(|u| u.starts_with("[unsupported] inline assembly \"nop\" at asm_ctor.c:")),
        "{:?}",
        p.unsupported()
    );
}

/// C11's view of `free` against QEMU's: see `cfront::Options::free_races`.
#[test]
fn a_grace_period_by_relaxed_load_orders_the_free_only_by_control_dependency() {
    let p = program("grace", &[]);
    let c = loom(&p, 3);
    c.ok();
    assert_eq!(c.keys(), ["v=1"]);
    let c = common::loom_with(&p, 3, cfront::Options { free_races: true });
    let f = failure(&c);
    assert!(f.starts_with("cfront: [data-race] free() of 8 bytes at heap#1"), "{f}");
}

#[test]
fn an_undefined_global_is_named() {
    let p = program("extern", &[]);
    assert_eq!(p.undefined_globals(), ["provided_elsewhere"]);
    let r = std::panic::catch_unwind(|| cfront::run::<rcu_core::StdPlatform>(&p, "main"));
    let msg = r.expect_err("read an undefined global").downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.starts_with(
            "cfront: [unsupported] load of global `provided_elsewhere`, which is declared but not defined at extern.c:"
        ),
        "{msg}"
    );
}
