//! The same IR on the other backends: shuttle (sequentially consistent,
//! sampled schedules) and real threads.  SPDX-License-Identifier: LGPL-2.1-or-later

mod common;

use common::{program, shuttle};
use rcu_core::StdPlatform;

const MIX: &str = "kinds=70 n=4 total=156";

#[test]
fn loom_runs_the_small_program() {
    let c = common::loom(&program("mix", &[]), 2);
    c.ok();
    assert_eq!(c.keys(), [MIX]);
}

#[test]
fn shuttle_runs_the_small_program() {
    let c = shuttle(&program("mix", &[]), 500);
    c.ok();
    assert_eq!(c.keys(), [MIX]);
    assert_eq!(c.executions, 500);
}

#[test]
fn shuttle_finds_the_lost_update() {
    let c = shuttle(&program("mix", &["-DLOST_UPDATE"]), 500);
    let f = c.failure.as_deref().expect("shuttle missed the lost update");
    assert!(f.contains("[assertion] `got == expect` failed at mix.c:"), "{f}");
}

#[test]
fn shuttle_cannot_judge_a_barrier() {
    // shuttle is sequentially consistent: SB without fences never reads 0/0.
    let c = shuttle(&program("sb", &["-DFENCE=0"]), 500);
    c.ok();
    assert!(!c.has("r1=0 r2=0"), "{:?}", c.keys());
}

#[test]
fn std_threads_run_the_small_program() {
    let p = program("mix", &[]);
    for _ in 0..20 {
        let o = cfront::run::<StdPlatform>(&p, "main");
        assert_eq!(o.key(), MIX);
    }
}

#[test]
fn std_threads_run_a_bigger_instance() {
    // 4 threads x 200 pushes each, on real threads.
    let p = program("mix", &["-DNTHREADS=4", "-DPUSHES=200"]);
    let o = cfront::run::<StdPlatform>(&p, "main");
    let n = o.observations.iter().find(|(k, _)| k == "n").map(|x| x.1);
    assert_eq!(n, Some(800), "{o:?}");
}
