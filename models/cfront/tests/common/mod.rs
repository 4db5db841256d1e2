//! Test helpers: compile a C file of `tests/c`, run it under loom or shuttle,
//! and collect the outcome set.  SPDX-License-Identifier: LGPL-2.1-or-later
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cfront::Program;
use rcu_core::{LoomPlatform, ShuttlePlatform};

/// Compile `tests/c/<name>.c` with `defs` (e.g. `-DFENCE=1`) and load it.
/// Fails with the one-line message when clang-14 is missing.
pub fn program(name: &str, defs: &[&str]) -> Arc<Program> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c").join(format!("{name}.c"));
    let tag: String = defs.concat().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cfront").join(format!("{name}-{tag}"));
    let ll = cfront::compile(&src, &out, defs).unwrap_or_else(|e| panic!("{e}"));
    Program::load(&ll).unwrap_or_else(|e| panic!("{e}"))
}

/// The result of a model check: outcome keys (`r1=0 r2=1`) with the number of
/// executions that produced each, or the first failure's message.
#[derive(Debug)]
pub struct Checked {
    pub outcomes: BTreeMap<String, u64>,
    pub executions: u64,
    pub failure: Option<String>,
    pub secs: f64,
}

impl Checked {
    pub fn keys(&self) -> Vec<&str> {
        self.outcomes.keys().map(|k| k.as_str()).collect()
    }
    pub fn has(&self, k: &str) -> bool {
        self.outcomes.contains_key(k)
    }
    pub fn ok(&self) -> &Self {
        if let Some(f) = &self.failure {
            panic!("the model failed: {f}");
        }
        self
    }
}

fn message(e: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "(non-string panic)".into()
    }
}

fn collect(f: impl FnOnce(Arc<Mutex<BTreeMap<String, u64>>>)) -> Checked {
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let t = Instant::now();
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| f(outcomes.clone())));
    let outcomes = outcomes.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Checked {
        executions: outcomes.values().sum(),
        outcomes,
        failure: r.err().map(message),
        secs: t.elapsed().as_secs_f64(),
    }
}

/// Explore `main` of `prog` with loom at preemption bound `pb`.
pub fn loom(prog: &Arc<Program>, pb: usize) -> Checked {
    loom_with(prog, pb, cfront::Options::default())
}

/// [`loom`] with run options.
pub fn loom_with(prog: &Arc<Program>, pb: usize, opts: cfront::Options) -> Checked {
    let p = prog.clone();
    collect(move |o| {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(pb);
        b.max_branches = 10_000;
        b.check(move || {
            let out = cfront::run_with::<LoomPlatform>(&p, "main", &opts);
            *o.lock().unwrap().entry(out.key()).or_default() += 1;
        });
    })
}

/// Run `main` of `prog` under shuttle's PCT scheduler.
pub fn shuttle(prog: &Arc<Program>, iterations: usize) -> Checked {
    let p = prog.clone();
    collect(move |o| {
        shuttle::check_pct(
            move || {
                let out = cfront::run::<ShuttlePlatform>(&p, "main");
                *o.lock().unwrap().entry(out.key()).or_default() += 1;
            },
            iterations,
            3,
        );
    })
}
