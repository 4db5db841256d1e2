//! Generated thread programs (issue #4, item 4): a small language of RCU
//! operations, an interpreter that runs a program as a scenario body on any
//! platform, checks under shuttle and loom, and a proptest [`Strategy`].
//!
//! A program is a list of worker threads, each a list of [`Op`]s:
//!
//! | text | what the worker does |
//! |---|---|
//! | `read1@S`, `read2@S` | `rcu_read_lock()` 1 or 2 times; `p = rcu_dereference()` of worker S's pointer; use `*p` under each nesting level, unlocking one level after each use |
//! | `call` | publish its next object; `call_rcu1()` whose callback frees the old one |
//! | `sync` | publish its next object; `synchronize_rcu()`; free the old one |
//! | `drain` | `drain_call_rcu()`; then every callback it queued before must have run (`[lost-callback]`) |
//! | `force` | `force_rcu()` (nothing in versions without it) |
//! | `rereg` | `rcu_unregister_thread(); rcu_register_thread()` |
//! | `notifier` | add, then remove, a force_rcu notifier on its own list |
//!
//! Workers are separated by `|`, ops by spaces: `read2@1 call sync | drain force | read1@0`.
//! Worker `i` is the thread `t<i>`; it updates only its own objects ([`Objs`],
//! slot `i`), so no updater lock is needed, and any worker may read any slot.
//! Reading freed memory inside a critical section is `[use-after-free]`
//! ([`Objs::use_obj`]); a callback that never runs, or a wake-up that gets
//! lost, leaves someone blocked and the checker reports a deadlock.
//!
//! A failing program found by the proptest property is shrunk to a minimal
//! one and kept as a named scenario in [`crate::catalog::regressions`] (with
//! its text, so it survives changes to the generator; proptest's own
//! regression file only stores seeds).
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use models::{Rcu, Version};
use proptest::prelude::*;
use rcu_core::atomic::{qatomic_read, qatomic_set, QAtomic};
use rcu_core::notifier::Notifier;
use rcu_core::platform::Platform;
use rcu_core::runtime::{RunConfig, Runtime};

use crate::catalog::gp::{obj_name, Objs};
use crate::catalog::util::Done;
use crate::catalog::{cfg, Exec};
use crate::harness::{self, Bounds, Checker, Obs, Outcome, Verdict};

/// Most worker threads a program may have.
pub const MAX_THREADS: usize = 8;
/// Most ops one worker may have.
pub const MAX_OPS: usize = 8;
/// Deepest read-side nesting of a `read` op.
pub const MAX_DEPTH: u8 = 2;

/// One operation of a worker thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `rcu_read_lock()` `depth` times, dereference worker `slot`'s pointer,
    /// use the object under each level.
    Read {
        /// Nesting, 1..=[`MAX_DEPTH`].
        depth: u8,
        /// Whose objects (a worker index).
        slot: usize,
    },
    /// Publish the next object, `call_rcu1()` to free the old one.
    Call,
    /// Publish the next object, `synchronize_rcu()`, free the old one.
    Sync,
    /// `drain_call_rcu()`, then check this worker's earlier callbacks ran.
    Drain,
    /// `force_rcu()`.
    Force,
    /// `rcu_unregister_thread(); rcu_register_thread()`.
    Rereg,
    /// Add, then remove, a force_rcu notifier.
    Notifier,
}

const VALID_OPS: &str = "read1@<slot>, read2@<slot>, call, sync, drain, force, rereg, notifier";

impl Op {
    /// Whether the op replaces one of the worker's objects.
    fn updates(self) -> bool {
        matches!(self, Op::Call | Op::Sync)
    }

    /// `rcu_head`s the op takes from the arena: call_rcu1(), and in the
    /// force_rcu versions synchronize_rcu() and drain_call_rcu() queue one too.
    fn heads(self) -> usize {
        match self {
            Op::Call | Op::Sync | Op::Drain => 1,
            _ => 0,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read { depth, slot } => write!(f, "read{depth}@{slot}"),
            Op::Call => f.write_str("call"),
            Op::Sync => f.write_str("sync"),
            Op::Drain => f.write_str("drain"),
            Op::Force => f.write_str("force"),
            Op::Rereg => f.write_str("rereg"),
            Op::Notifier => f.write_str("notifier"),
        }
    }
}

/// A program: one op list per worker thread.  `Display` and `FromStr` use the
/// text form (`read2@1 call | drain`), which round-trips; `Debug` prints it
/// too, so that proptest's "minimal failing input" is the text to keep.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Program {
    /// Worker `i`'s ops.
    pub threads: Vec<Vec<Op>>,
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ops) in self.threads.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            for (j, op) in ops.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{op}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program(\"{self}\")")
    }
}

impl FromStr for Program {
    type Err = String;

    /// Parse the text form; `Err` is one line naming what is wrong and what is valid.
    fn from_str(s: &str) -> Result<Program, String> {
        let parts: Vec<&str> = s.split('|').map(str::trim).collect();
        let n = parts.len();
        if n > MAX_THREADS {
            return Err(format!("bad program `{s}`: {n} threads, at most {MAX_THREADS} are valid"));
        }
        let mut threads = vec![];
        for (t, part) in parts.iter().enumerate() {
            let words: Vec<&str> = part.split_whitespace().collect();
            if words.is_empty() {
                return Err(format!(
                    "bad program `{s}`: thread {t} has no ops (threads are separated by `|`, ops by spaces; valid ops: {VALID_OPS})"
                ));
            }
            if words.len() > MAX_OPS {
                return Err(format!(
                    "bad program `{s}`: thread {t} has {} ops, at most {MAX_OPS} are valid",
                    words.len()
                ));
            }
            let ops = words.iter().map(|w| parse_op(w, t, n)).collect::<Result<Vec<Op>, String>>();
            threads.push(ops.map_err(|e| format!("bad program `{s}`: {e}"))?);
        }
        Ok(Program { threads })
    }
}

fn parse_op(w: &str, t: usize, n: usize) -> Result<Op, String> {
    Ok(match w {
        "call" => Op::Call,
        "sync" => Op::Sync,
        "drain" => Op::Drain,
        "force" => Op::Force,
        "rereg" => Op::Rereg,
        "notifier" => Op::Notifier,
        _ => {
            let rest =
                w.strip_prefix("read").ok_or_else(|| format!("unknown op `{w}` in thread {t} (valid: {VALID_OPS})"))?;
            let (d, slot) = rest
                .split_once('@')
                .ok_or_else(|| format!("`{w}` in thread {t} names no slot (valid: read1@<slot>, read2@<slot>)"))?;
            let depth: u8 = d.parse().ok().filter(|d| (1..=MAX_DEPTH).contains(d)).ok_or_else(|| {
                format!("bad nesting depth `{d}` in `{w}` (thread {t}): valid depths are 1..={MAX_DEPTH}")
            })?;
            let slot: usize = slot.parse().ok().filter(|s| *s < n).ok_or_else(|| {
                format!("bad slot `{slot}` in `{w}` (thread {t}): a slot is a thread index, valid: 0..={}", n - 1)
            })?;
            Op::Read { depth, slot }
        }
    })
}

impl Program {
    /// Parse (see [`FromStr`]).
    pub fn parse(s: &str) -> Result<Program, String> {
        s.parse()
    }

    /// How many `call` ops (callbacks the program queues).
    pub fn calls(&self) -> usize {
        self.threads.iter().flatten().filter(|o| **o == Op::Call).count()
    }

    /// `rcu_head`s the program needs at most (see [`RunConfig::max_heads`]).
    pub fn heads(&self) -> usize {
        self.threads.iter().flatten().map(|o| o.heads()).sum()
    }

    /// loom threads including main, the `call_rcu` thread and, for versions
    /// with timed waits, the model timer (loom allows 5).
    pub fn loom_threads(&self, v: Version) -> usize {
        self.threads.len() + 2 + usize::from(v.info().timed_waits)
    }

    /// Ops over all threads.
    pub fn len(&self) -> usize {
        self.threads.iter().map(Vec::len).sum()
    }

    /// No threads (never true of a parsed or generated program).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// The programs one step simpler: one op removed (a thread left without
    /// ops goes, if no other thread reads its slot; later slots are
    /// renumbered), or one nested read made flat.
    pub fn simpler(&self) -> Vec<Program> {
        let mut v = vec![];
        for (t, ops) in self.threads.iter().enumerate() {
            for (k, op) in ops.iter().enumerate() {
                if ops.len() > 1 {
                    let mut p = self.clone();
                    p.threads[t].remove(k);
                    v.push(p);
                } else if let Some(p) = self.without_thread(t) {
                    v.push(p);
                }
                if let Op::Read { depth, slot } = *op {
                    if depth > 1 {
                        let mut p = self.clone();
                        p.threads[t][k] = Op::Read { depth: depth - 1, slot };
                        v.push(p);
                    }
                }
            }
        }
        v
    }

    fn without_thread(&self, t: usize) -> Option<Program> {
        if self.threads.len() == 1 {
            return None;
        }
        let mut threads = self.threads.clone();
        threads.remove(t);
        for op in threads.iter_mut().flatten() {
            if let Op::Read { slot, .. } = op {
                match (*slot).cmp(&t) {
                    std::cmp::Ordering::Equal => return None,
                    std::cmp::Ordering::Greater => *slot -= 1,
                    std::cmp::Ordering::Less => {}
                }
            }
        }
        Some(Program { threads })
    }

    /// Shrink a failing program greedily until no [`Program::simpler`] one
    /// still fails (`fails` must be deterministic, e.g. a shuttle check with a
    /// fixed seed).  proptest's own shrinking can stop in a local minimum (it
    /// does not retry deleting an element after it simplified another); this
    /// pass finishes the job.
    pub fn minimise(&self, mut fails: impl FnMut(&Program) -> bool) -> Program {
        let mut cur = self.clone();
        'smaller: loop {
            for p in cur.simpler() {
                if fails(&p) {
                    cur = p;
                    continue 'smaller;
                }
            }
            return cur;
        }
    }
}

// ---------------------------------------------------------------------------
// The interpreter

/// What one worker needs (all shared state is per execution).
struct Worker<P: Platform> {
    /// Index (`t<i>`, slot `i`).
    t: usize,
    ops: Vec<Op>,
    rcu: Arc<Rcu<P>>,
    /// Every worker's objects, by slot.
    objs: Arc<Vec<Arc<Objs<P>>>>,
    /// `ran[c]`: callback `c` (numbered over the whole program) ran.
    ran: Arc<Vec<QAtomic<P, bool>>>,
    /// This worker's first callback number.
    first_cb: usize,
    /// Counts every callback that ran.
    done: Arc<Done<P>>,
    obs: Arc<Obs>,
}

impl<P: Platform> Worker<P> {
    fn run(&self) {
        let (t, rcu, mine) = (self.t, &self.rcu, &self.objs[self.t]);
        // The object this worker has published (0 = A, live from the start).
        let mut cur = 0u32;
        let mut next_cb = self.first_cb;
        for (k, op) in self.ops.iter().enumerate() {
            match *op {
                Op::Read { depth, slot } => {
                    for _ in 0..depth {
                        rcu.rcu_read_lock();
                    }
                    let o = &self.objs[slot];
                    let p = o.rcu_dereference();
                    for level in (1..=depth).rev() {
                        o.use_obj(p, &format!("t{t} ({op}, nesting level {level})"));
                        rcu.rcu_read_unlock();
                    }
                    self.obs.add("reads", 1);
                    if depth > 1 {
                        self.obs.add("nested_reads", 1);
                    }
                    if p > 0 {
                        self.obs.add("read_updated_object", 1);
                    }
                }
                Op::Call => {
                    let old = cur;
                    cur += 1;
                    mine.publish(cur);
                    let c = next_cb;
                    next_cb += 1;
                    let head = rcu.alloc_head(&format!("t{t}.{}.rcu", obj_name(old)));
                    let (o, ran, done) = (mine.clone(), self.ran.clone(), self.done.clone());
                    rcu.call_rcu1(head, move || {
                        assert!(!ran[c].peek(), "[assertion] t{t}'s callback freeing {} ran twice", obj_name(old));
                        o.free(old);
                        qatomic_set(&ran[c], true);
                        done.hit();
                    });
                    self.obs.add("calls", 1);
                }
                Op::Sync => {
                    let old = cur;
                    cur += 1;
                    mine.publish(cur);
                    rcu.synchronize_rcu();
                    mine.free(old);
                    self.obs.add("syncs", 1);
                }
                Op::Drain => {
                    rcu.drain_call_rcu();
                    for c in self.first_cb..next_cb {
                        assert!(
                            qatomic_read(&self.ran[c]),
                            "[lost-callback] t{t}: drain_call_rcu() returned before its callback #{} (queued before it by this thread) ran",
                            c - self.first_cb
                        );
                    }
                    self.obs.add("drains", 1);
                }
                Op::Force => {
                    if rcu.force_rcu() {
                        self.obs.add("forces", 1);
                    }
                }
                Op::Rereg => {
                    rcu.rcu_unregister_thread();
                    rcu.rcu_register_thread();
                    self.obs.add("reregs", 1);
                }
                Op::Notifier => {
                    let id = 0x1000 + ((t as u64) << 8) + k as u64;
                    let obs = self.obs.clone();
                    rcu.rcu_add_force_rcu_notifier(Notifier {
                        id,
                        name: format!("t{t}.notifier{k}"),
                        notify: Arc::new(move || obs.add("notifier_fired", 1)),
                    });
                    rcu.rcu_remove_force_rcu_notifier(id);
                    self.obs.add("notifiers", 1);
                }
            }
        }
    }
}

/// Run `prog` as a scenario body: `rcu_init()`; spawn the workers, which
/// register and wait (the set-up, along one schedule); [`Exec::setup_done`];
/// let them run their ops and unregister; wait for every `call` callback; join.
/// Observations: `program_done`, `reads`, `nested_reads`,
/// `read_updated_object`, `calls`, `syncs`, `drains`, `forces`, `reregs`,
/// `notifiers`, `notifier_fired`.
pub fn run_program<P: Platform>(x: &Exec<P>, prog: &Program) {
    let rcu = x.rcu_init();
    let n = prog.threads.len();
    let objs: Arc<Vec<Arc<Objs<P>>>> = Arc::new(
        prog.threads
            .iter()
            .enumerate()
            .map(|(t, ops)| Objs::named(&format!("t{t}."), 1 + ops.iter().filter(|o| o.updates()).count() as u32))
            .collect(),
    );
    let calls = prog.calls();
    let ran: Arc<Vec<QAtomic<P, bool>>> =
        Arc::new((0..calls).map(|c| QAtomic::new(format!("cb{c}.ran"), false)).collect());
    let done = Done::<P>::with_target("callbacks", calls as u32);
    let ready = Done::<P>::with_target("registered", n as u32);
    let go = Done::<P>::new("go");
    let mut workers = vec![];
    let mut first_cb = 0;
    for (t, ops) in prog.threads.iter().enumerate() {
        let w = Worker {
            t,
            ops: ops.clone(),
            rcu: rcu.clone(),
            objs: objs.clone(),
            ran: ran.clone(),
            first_cb,
            done: done.clone(),
            obs: x.obs.clone(),
        };
        first_cb += ops.iter().filter(|o| **o == Op::Call).count();
        let (ready2, go2) = (ready.clone(), go.clone());
        workers.push(x.spawn(&format!("t{t}"), move || {
            w.rcu.rcu_register_thread();
            ready2.hit();
            go2.wait_for(1, "worker waits for the set-up to end");
            w.run();
            w.rcu.rcu_unregister_thread();
        }));
    }
    ready.wait_for(n as u32, "main waits for the workers to register");
    x.setup_done();
    go.hit();
    if calls > 0 {
        done.wait_for(calls as u32, "main waits for every call_rcu1 callback [lost-callback if stuck]");
    }
    for w in workers {
        w.join();
    }
    x.observe("program_done");
    x.finish(&rcu);
}

// ---------------------------------------------------------------------------
// Checks

/// PCT depth of [`check_shuttle`].
pub const SHUTTLE_PCT_DEPTH: usize = 8;
/// Wall-clock budget of one check; an unfinished one is `bounded-out`.
pub const BUDGET_SECS: f64 = 30.0;

/// The run configuration programs use: [`cfg::standard`] (timeouts fire,
/// unlocked registry accesses counted), with loom's small arenas under loom.
pub fn run_config(v: Version, checker: Checker) -> RunConfig {
    let mut c = crate::cell::base_config(checker);
    cfg::standard(v, &mut c);
    c
}

fn closure<P: Platform>(v: Version, prog: &Program, obs: &Arc<Obs>) -> harness::Program<P> {
    let (prog, obs) = (prog.clone(), obs.clone());
    Arc::new(move |rt: &Arc<Runtime<P>>| run_program(&Exec { rt: rt.clone(), version: v, obs: obs.clone() }, &prog))
}

/// A program must fit the run's rcu_head arena.
fn assert_fits_heads(prog: &Program, cfg: &RunConfig) {
    assert!(
        prog.heads() <= cfg.max_heads,
        "program `{prog}` needs {} rcu_heads (at most {})",
        prog.heads(),
        cfg.max_heads
    );
}

/// Sample `iterations` schedules of `prog` on version `v` under shuttle (PCT,
/// depth [`SHUTTLE_PCT_DEPTH`], the given seed: the same program and seed
/// give the same verdict, which shrinking relies on).
#[cfg(feature = "shuttle")]
pub fn check_shuttle(v: Version, prog: &Program, iterations: usize, seed: u64) -> Outcome {
    let b = Bounds { iterations, seed, pct_depth: SHUTTLE_PCT_DEPTH, budget_secs: BUDGET_SECS, ..Bounds::default() };
    check_shuttle_with(v, prog, &b)
}

/// The same with explicit bounds (iterations, seed, scheduler, PCT depth, budget).
#[cfg(feature = "shuttle")]
pub fn check_shuttle_with(v: Version, prog: &Program, b: &Bounds) -> Outcome {
    let cfg = run_config(v, Checker::Shuttle);
    assert_fits_heads(prog, &cfg);
    let obs = Arc::new(Obs::default());
    harness::run_shuttle(closure(v, prog, &obs), cfg, b, harness::ShuttleMode::Explore, obs, None)
}

/// Explore `prog` on version `v` under loom within `preemption_bound`.
#[cfg(feature = "loom")]
pub fn check_loom(v: Version, prog: &Program, preemption_bound: usize) -> Outcome {
    let b = Bounds { preemption_bound, budget_secs: BUDGET_SECS, ..Bounds::default() };
    let cfg = run_config(v, Checker::Loom);
    assert!(
        prog.loom_threads(v) <= 5,
        "program `{prog}` needs {} loom threads on {v} (main, call_rcu, the timer if the version has timed waits, and the workers; loom allows 5)",
        prog.loom_threads(v)
    );
    assert_fits_heads(prog, &cfg);
    let obs = Arc::new(Obs::default());
    harness::run_loom(closure(v, prog, &obs), cfg, &b, harness::LoomMode::Explore, obs, None)
}

/// One line: `holds (N executions, 0.3s)`, `violated (deadlock): …`, `bounded-out: …`.
pub fn describe(o: &Outcome) -> String {
    match &o.verdict {
        Verdict::Holds => format!("holds ({} executions, {:.1}s)", o.executions, o.seconds),
        Verdict::Violated { kind, message } => {
            format!("violated ({kind}) after {} executions, {:.1}s: {message}", o.executions, o.seconds)
        }
        Verdict::BoundedOut { reason } => format!("bounded-out: {reason}"),
    }
}

// ---------------------------------------------------------------------------
// Generation

fn op_strategy() -> impl Strategy<Value = Op> {
    // Earlier alternatives are what proptest shrinks towards.
    prop_oneof![
        3 => (1..=MAX_DEPTH, 0..MAX_THREADS).prop_map(|(depth, slot)| Op::Read { depth, slot }),
        3 => Just(Op::Call),
        2 => Just(Op::Sync),
        2 => Just(Op::Drain),
        1 => Just(Op::Force),
        1 => Just(Op::Rereg),
        1 => Just(Op::Notifier),
    ]
}

/// Programs of 1..=`max_threads` workers with 1..=`max_ops` ops each.  A
/// read's slot is generated freely and taken modulo the number of workers,
/// so every shrink (fewer threads, fewer ops, simpler ops) is a valid program.
pub fn strategy(max_threads: usize, max_ops: usize) -> impl Strategy<Value = Program> {
    assert!((1..=MAX_THREADS).contains(&max_threads) && (1..=MAX_OPS).contains(&max_ops));
    prop::collection::vec(prop::collection::vec(op_strategy(), 1..=max_ops), 1..=max_threads).prop_map(|mut threads| {
        let n = threads.len();
        for op in threads.iter_mut().flatten() {
            if let Op::Read { slot, .. } = op {
                *slot %= n;
            }
        }
        Program { threads }
    })
}
