//! Running one model program under one checker: loom (exhaustive within a
//! preemption bound), shuttle (PCT or random sampling), or std (real threads
//! with a stall watchdog).  Failures are classified, timed, and made
//! replayable.
//!
//! A *program* is a closure run once per execution on the run's main model
//! thread, after a fresh [`Runtime`] was created and entered.  Everything it
//! observes across executions goes into [`Stats`] (probes from the models,
//! observations from the scenario), so a scenario can prove that it reached
//! its window.
#![allow(clippy::disallowed_types)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use rcu_core::platform::Platform;
use rcu_core::runtime::{Diag, RunConfig, Runtime};
use rcu_core::StdPlatform;
use serde::Serialize;

use crate::capture::{Capture, TraceLine};

/// A model program for platform `P`.
pub type Program<P> = Arc<dyn Fn(&Arc<Runtime<P>>) + Send + Sync + 'static>;

/// Which checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Checker {
    /// loom 0.7.2: exhaustive within a preemption bound; models C11 fences.
    Loom,
    /// shuttle 0.9.9: randomized scheduling (PCT or random); sequentially consistent.
    Shuttle,
    /// Real threads and time: a smoke test.
    Std,
}

impl Checker {
    /// Name.
    pub fn name(self) -> &'static str {
        match self {
            Checker::Loom => "loom",
            Checker::Shuttle => "shuttle",
            Checker::Std => "std",
        }
    }
    /// Parse a name.
    pub fn parse(s: &str) -> Result<Checker, String> {
        match s {
            "loom" => Ok(Checker::Loom),
            "shuttle" => Ok(Checker::Shuttle),
            "std" => Ok(Checker::Std),
            _ => Err(format!("unknown checker `{s}` (valid: loom, shuttle, std)")),
        }
    }
}

impl fmt::Display for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shuttle's scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sched {
    /// Probabilistic concurrency testing with the given depth.
    Pct,
    /// Uniformly random scheduling.
    Random,
}

/// The bounds of one check.
#[derive(Clone, Debug, Serialize)]
pub struct Bounds {
    /// loom: maximum preemptions per execution.
    pub preemption_bound: usize,
    /// loom: maximum branch points per execution.
    pub max_branches: usize,
    /// shuttle: executions; std: runs.
    pub iterations: usize,
    /// shuttle: PCT depth.
    pub pct_depth: usize,
    /// shuttle: scheduler.
    pub sched: Sched,
    /// shuttle: seed.
    pub seed: u64,
    /// loom/shuttle: wall-clock budget; an unfinished exploration is `bounded-out`.
    pub budget_secs: f64,
    /// std: a run that makes no progress for this long is reported as a stall.
    pub watchdog_secs: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            preemption_bound: 2,
            max_branches: 10_000,
            iterations: 2_000,
            pct_depth: 3,
            sched: Sched::Pct,
            seed: 0x5eed,
            budget_secs: 60.0,
            watchdog_secs: 20.0,
        }
    }
}

/// Counters aggregated over all executions of a check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Probes counted by the models (`rt.probe`).
    pub probes: BTreeMap<String, u64>,
    /// Observations recorded by the scenario.
    pub obs: BTreeMap<String, u64>,
}

impl Stats {
    /// A probe or an observation.
    pub fn get(&self, key: &str) -> u64 {
        self.probes.get(key).copied().unwrap_or(0) + self.obs.get(key).copied().unwrap_or(0)
    }
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// No counterexample within the bounds.
    Holds,
    /// A counterexample.
    Violated {
        /// `deadlock`, `assertion`, `use-after-free`, `unlocked-access`, …
        kind: String,
        /// The failure message (with who was blocked on what, for deadlocks).
        message: String,
    },
    /// The exploration did not finish within its bounds.
    BoundedOut {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// `holds`, `violated`, `bounded-out`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated { .. } => "violated",
            Verdict::BoundedOut { .. } => "bounded-out",
        }
    }
    /// The kind of a violation.
    pub fn kind(&self) -> Option<&str> {
        match self {
            Verdict::Violated { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// How to replay the failing execution exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// loom's checkpoint (its execution path, as JSON).
    Loom(String),
    /// shuttle's schedule: seed and task IDs.
    Shuttle(String),
}

/// The result of one check.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Verdict.
    pub verdict: Verdict,
    /// Executions run.
    pub executions: u64,
    /// loom: the exploration finished within the bound; shuttle/std: every
    /// iteration ran.
    pub complete: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Aggregated counters.
    pub stats: Stats,
    /// The failing execution's trace, if captured.
    pub trace: Vec<TraceLine>,
    /// Thread names of the last execution, by index.
    pub threads: Vec<String>,
    /// The failing schedule, when the checker can give one.
    pub schedule: Option<Schedule>,
}

// ---------------------------------------------------------------------------
// Panic capture

thread_local! {
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static FIRST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static LOOM_COMPLETED: Cell<bool> = const { Cell::new(false) };
}

/// A panic payload as text.
pub fn payload_string(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panic with a non-string payload".into()
    }
}

/// Install the panic hook that keeps expected model failures quiet and records
/// the first one (idempotent).
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        crate::capture::install();
        // shuttle installs its own hook (which prints its failure banner) the
        // first time it runs; let it do so now, then replace it.
        #[cfg(feature = "shuttle")]
        {
            let mut cfg = shuttle::Config::new();
            cfg.silence_warnings = true;
            // The hook keeps this config: never print schedules (we record them).
            cfg.failure_persistence = shuttle::FailurePersistence::None;
            shuttle::Runner::new(shuttle::scheduler::RandomScheduler::new(1), cfg).run(|| {});
        }
        // Drop shuttle's banner-printing hook and chain to std's default one.
        drop(panic::take_hook());
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let quiet = CATCHING.with(|c| c.get()) || rcu_core::platform::std_backend::quiet_panics();
            if quiet {
                let mut msg = payload_string(info.payload());
                if msg.starts_with("deadlock") || msg.contains("Causality violation") {
                    if let Some(l) = info.location() {
                        msg.push_str(&format!(" (at {}:{})", l.file(), l.line()));
                    }
                }
                if rcu_core::platform::std_backend::quiet_panics() {
                    if let Some(ctx) = rcu_core::runtime::try_current::<StdPlatform>() {
                        ctx.rt.diag.record_panic(&ctx.name, &msg);
                    }
                }
                FIRST_PANIC.with(|f| {
                    let mut f = f.borrow_mut();
                    if f.is_none() {
                        *f = Some(msg);
                    }
                });
                return;
            }
            default(info)
        }));
    });
}

struct Catching;
impl Catching {
    fn begin() -> Catching {
        install_panic_hook();
        CATCHING.with(|c| c.set(true));
        FIRST_PANIC.with(|f| *f.borrow_mut() = None);
        Catching
    }
    fn first_panic(&self) -> Option<String> {
        FIRST_PANIC.with(|f| f.borrow().clone())
    }
}
impl Drop for Catching {
    fn drop(&mut self) {
        CATCHING.with(|c| c.set(false));
    }
}

/// Map a failure message to a verdict.
pub fn classify(msg: &str, diag: &Diag) -> Verdict {
    if msg.contains("Model exceeded maximum number of branches") {
        return Verdict::BoundedOut {
            reason: "loom: an execution exceeded max_branches (an unbounded loop or a very long execution)".into(),
        };
    }
    if msg.contains("exceeded max_steps") {
        return Verdict::BoundedOut { reason: "shuttle: an execution exceeded max_steps".into() };
    }
    if let Some(rest) = msg.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let kind = &rest[..end];
            if !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                return Verdict::Violated { kind: kind.to_string(), message: msg.to_string() };
            }
        }
    }
    if msg.starts_with("deadlock") || msg.contains("deadlock!") {
        return Verdict::Violated {
            kind: "deadlock".into(),
            message: format!("every thread is blocked: {}", diag.blocked_report()),
        };
    }
    if msg.contains("Causality violation") {
        // loom names neither access; the race-checked location said which
        // access was being made and which unordered ones it had seen.
        let first = msg.lines().next().unwrap_or(msg).trim_end_matches('.');
        let message = match diag.race_context() {
            Some(ctx) => format!("{first}: {ctx}"),
            None => format!("{first} (a race-checked cell: an rcu_head's func, a reader's depth, or a payload)"),
        };
        return Verdict::Violated { kind: "data-race".into(), message };
    }
    Verdict::Violated { kind: "panic".into(), message: msg.to_string() }
}

// ---------------------------------------------------------------------------
// Scaffolding shared by the runners

/// Per-check scaffolding handed to programs: aggregated observations.
#[derive(Default)]
pub struct Obs(Mutex<BTreeMap<String, u64>>, AtomicBool);

impl Obs {
    /// The program finished its set-up and started exploration.
    pub fn mark_explored(&self) {
        self.1.store(true, Ordering::Relaxed);
    }

    /// Whether [`Obs::mark_explored`] was called since the last call (per execution).
    pub fn take_explored(&self) -> bool {
        self.1.swap(false, Ordering::Relaxed)
    }

    /// Count an observation.
    pub fn add(&self, key: &str, by: u64) {
        *self.0.lock().unwrap().entry(key.to_string()).or_default() += by;
    }

    /// The count of one observation so far.
    pub fn get(&self, key: &str) -> u64 {
        self.0.lock().unwrap().get(key).copied().unwrap_or(0)
    }
    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    verdict: Verdict,
    executions: u64,
    complete: bool,
    start: Instant,
    diag: &Diag,
    obs: &Obs,
    cap: Option<&Capture>,
    schedule: Option<Schedule>,
) -> Outcome {
    Outcome {
        verdict,
        executions,
        complete,
        seconds: start.elapsed().as_secs_f64(),
        stats: Stats { probes: diag.probes(), obs: obs.snapshot() },
        trace: cap.map(|c| c.lines()).unwrap_or_default(),
        threads: diag.thread_names(),
        schedule,
    }
}

/// How a loom check runs.
#[derive(Clone, Debug)]
pub enum LoomMode {
    /// Explore.
    Explore,
    /// Explore and save the path of execution `n` (1-based) as the schedule.
    Record(u64),
    /// Run exactly the given path.
    Replay(String),
}

// ---------------------------------------------------------------------------
// loom

/// Run a program under loom.
#[cfg(feature = "loom")]
pub fn run_loom(
    prog: Program<rcu_core::LoomPlatform>,
    cfg: RunConfig,
    b: &Bounds,
    mode: LoomMode,
    obs: Arc<Obs>,
    cap: Option<&Capture>,
) -> Outcome {
    use rcu_core::LoomPlatform;
    let catching = Catching::begin();
    let cfg = Arc::new(cfg);
    let diag = Arc::new(Diag::default());
    let execs = Arc::new(AtomicU64::new(0));
    let start = Instant::now();

    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(b.preemption_bound);
    builder.max_branches = b.max_branches;
    builder.max_duration = Some(Duration::from_secs_f64(b.budget_secs));
    builder.checkpoint_interval = 256;
    builder.checkpoint_file = None;
    builder.max_permutations = None;
    builder.location = false;
    builder.log = false;
    // Programs run their set-up (threads created, registered, inside their
    // critical sections) along one schedule and then call `Platform::explore`:
    // interleavings of the set-up itself are not the subject of any scenario.
    builder.expect_explicit_explore = true;
    let tmp = std::env::temp_dir().join(format!(
        "rcu-check-loom-{}-{}.json",
        std::process::id(),
        NEXT_TMP.fetch_add(1, Ordering::Relaxed)
    ));
    match &mode {
        LoomMode::Explore => {}
        LoomMode::Record(n) => {
            builder.checkpoint_interval = *n as usize;
            builder.checkpoint_file = Some(tmp.clone());
        }
        LoomMode::Replay(path) => {
            std::fs::write(&tmp, path).expect("writing the loom checkpoint to a temporary file");
            builder.checkpoint_interval = 1;
            builder.max_permutations = Some(2);
            builder.checkpoint_file = Some(tmp.clone());
            builder.max_duration = None;
        }
    }

    LOOM_COMPLETED.with(|c| c.set(false));
    let (cfg2, diag2, execs2, prog2, obs2) = (cfg.clone(), diag.clone(), execs.clone(), prog.clone(), obs.clone());
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        builder.check(move || {
            execs2.fetch_add(1, Ordering::Relaxed);
            if cfg2.capture != 0 {
                Capture::clear(cfg2.capture);
            }
            let rt = Runtime::<LoomPlatform>::new(cfg2.clone(), diag2.clone());
            rt.enter("main");
            prog2(&rt);
            assert!(
                obs2.take_explored(),
                "[harness] the program never called Exec::setup_done(): loom explored nothing"
            );
        })
    }));
    let n = execs.load(Ordering::Relaxed);
    let completed = LOOM_COMPLETED.with(|c| c.get());
    let schedule = match (&mode, &r) {
        (LoomMode::Record(_), Err(_)) | (LoomMode::Replay(_), Err(_)) => {
            std::fs::read_to_string(&tmp).ok().map(Schedule::Loom)
        }
        _ => None,
    };
    let _ = std::fs::remove_file(&tmp);
    let verdict = match r {
        Ok(()) => {
            if completed || matches!(mode, LoomMode::Replay(_)) {
                Verdict::Holds
            } else {
                Verdict::BoundedOut {
                    reason: format!(
                        "loom: {n} executions explored in the {:.0} s budget without finishing (preemption bound {})",
                        b.budget_secs, b.preemption_bound
                    ),
                }
            }
        }
        Err(p) => {
            let msg = catching.first_panic().unwrap_or_else(|| payload_string(&*p));
            classify(&msg, &diag)
        }
    };
    let complete = completed || !matches!(verdict, Verdict::BoundedOut { .. });
    drop(catching);
    finish(verdict, n, complete, start, &diag, &obs, cap, schedule)
}

static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// Called by the capture layer when loom reports a finished exploration.
pub(crate) fn note_loom_completed() {
    LOOM_COMPLETED.with(|c| c.set(true));
}

// ---------------------------------------------------------------------------
// shuttle

#[cfg(feature = "shuttle")]
mod shuttle_sched {
    use std::sync::{Arc, Mutex};

    use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};

    /// Records the task choices of the current execution (for replay).
    pub struct Recording<S> {
        pub inner: S,
        pub current: Arc<Mutex<Schedule>>,
    }

    impl<S: Scheduler> Scheduler for Recording<S> {
        fn new_execution(&mut self) -> Option<Schedule> {
            let s = self.inner.new_execution()?;
            *self.current.lock().unwrap() = Schedule::new(s.seed);
            Some(s)
        }
        fn next_task(&mut self, runnable: &[&Task], current: Option<TaskId>, yielding: bool) -> Option<TaskId> {
            let t = self.inner.next_task(runnable, current, yielding)?;
            self.current.lock().unwrap().push_task(t);
            Some(t)
        }
        fn next_u64(&mut self) -> u64 {
            self.current.lock().unwrap().push_random();
            self.inner.next_u64()
        }
    }
}

/// How a shuttle check runs.
#[derive(Clone, Debug)]
pub enum ShuttleMode {
    /// Sample schedules.
    Explore,
    /// Run exactly one recorded schedule.
    Replay(String),
}

/// Run a program under shuttle.
#[cfg(feature = "shuttle")]
pub fn run_shuttle(
    prog: Program<rcu_core::ShuttlePlatform>,
    cfg: RunConfig,
    b: &Bounds,
    mode: ShuttleMode,
    obs: Arc<Obs>,
    cap: Option<&Capture>,
) -> Outcome {
    use rcu_core::ShuttlePlatform;
    use shuttle::scheduler::{PctScheduler, RandomScheduler, ReplayScheduler, Schedule as SSchedule};
    use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};

    let catching = Catching::begin();
    let cfg = Arc::new(cfg);
    let diag = Arc::new(Diag::default());
    let execs = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let current = Arc::new(Mutex::new(SSchedule::new(0)));

    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    config.silence_warnings = true;
    config.max_steps = shuttle::MaxSteps::FailAfter(200_000);
    config.max_time = Some(Duration::from_secs_f64(b.budget_secs));

    let (cfg2, diag2, execs2, prog2) = (cfg.clone(), diag.clone(), execs.clone(), prog.clone());
    let body = move || {
        execs2.fetch_add(1, Ordering::Relaxed);
        if cfg2.capture != 0 {
            Capture::clear(cfg2.capture);
        }
        let rt = Runtime::<ShuttlePlatform>::new(cfg2.clone(), diag2.clone());
        rt.enter("main");
        prog2(&rt);
    };
    let requested = match &mode {
        ShuttleMode::Explore => b.iterations as u64,
        ShuttleMode::Replay(_) => 1,
    };
    let r = panic::catch_unwind(AssertUnwindSafe(|| match &mode {
        ShuttleMode::Explore => {
            let inner: Box<dyn shuttle::scheduler::Scheduler + Send> = match b.sched {
                Sched::Pct => Box::new(PctScheduler::new_from_seed(b.seed, b.pct_depth, b.iterations)),
                Sched::Random => Box::new(RandomScheduler::new_from_seed(b.seed, b.iterations)),
            };
            let sched = shuttle_sched::Recording { inner, current: current.clone() };
            shuttle::Runner::new(sched, config).run(body);
        }
        ShuttleMode::Replay(s) => {
            let sch = deserialize_schedule(s).expect("schedule validated by the caller");
            let mut rs = ReplayScheduler::new_from_schedule(sch);
            rs.set_allow_incomplete();
            shuttle::Runner::new(rs, config).run(body);
        }
    }));
    let n = execs.load(Ordering::Relaxed);
    let (verdict, schedule) = match r {
        Ok(()) => {
            if n < requested {
                (
                    Verdict::BoundedOut {
                        reason: format!("shuttle: {n} of {requested} executions in the {:.0} s budget", b.budget_secs),
                    },
                    None,
                )
            } else {
                (Verdict::Holds, None)
            }
        }
        Err(p) => {
            let msg = catching.first_panic().unwrap_or_else(|| payload_string(&*p));
            let sch = match &mode {
                ShuttleMode::Explore => serialize_schedule(&current.lock().unwrap()),
                ShuttleMode::Replay(s) => s.clone(),
            };
            (classify(&msg, &diag), Some(Schedule::Shuttle(sch)))
        }
    };
    let complete = n >= requested || matches!(verdict, Verdict::Violated { .. });
    drop(catching);
    finish(verdict, n, complete, start, &diag, &obs, cap, schedule)
}

/// Check that a shuttle schedule string can be decoded.
#[cfg(feature = "shuttle")]
pub fn shuttle_schedule_ok(s: &str) -> bool {
    shuttle_engine::scheduler::serialization::deserialize_schedule(s).is_some()
}

// ---------------------------------------------------------------------------
// std

/// Run a program on real threads, `b.iterations` times, each with a stall
/// watchdog: a run that does not finish within `b.watchdog_secs` is reported
/// as a stall with who is blocked on what (its threads are abandoned).
pub fn run_std(
    prog: Program<StdPlatform>,
    cfg: RunConfig,
    b: &Bounds,
    obs: Arc<Obs>,
    cap: Option<&Capture>,
) -> Outcome {
    install_panic_hook();
    let cfg = Arc::new(cfg);
    let diag = Arc::new(Diag::default());
    let start = Instant::now();
    let mut n = 0u64;
    for _ in 0..b.iterations.max(1) {
        n += 1;
        if cfg.capture != 0 {
            Capture::clear(cfg.capture);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let (cfg2, diag2, prog2) = (cfg.clone(), diag.clone(), prog.clone());
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let spawned = std::thread::Builder::new().name("main".into()).spawn(move || {
            rcu_core::platform::std_backend::set_quiet_panics(true);
            let r = tracing::dispatcher::with_default(&dispatch, || {
                panic::catch_unwind(AssertUnwindSafe(|| {
                    let rt = Runtime::<StdPlatform>::new(cfg2.clone(), diag2.clone());
                    rt.enter("main");
                    prog2(&rt);
                    rt.leave();
                }))
            });
            let _ = tx.send(r.map_err(|p| payload_string(&*p)));
        });
        if spawned.is_err() {
            return finish(
                Verdict::BoundedOut { reason: "could not spawn an OS thread".into() },
                n,
                false,
                start,
                &diag,
                &obs,
                cap,
                None,
            );
        }
        // Poll, so that a thread that died while the others wait for it is
        // reported a moment later instead of at the watchdog.
        let waited = Instant::now();
        let mut panic_seen: Option<Instant> = None;
        let got = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => break Ok(r),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Err(()),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if diag.first_panic().is_some() {
                let t = *panic_seen.get_or_insert_with(Instant::now);
                if t.elapsed() > Duration::from_secs(1) {
                    break Err(());
                }
            }
            if waited.elapsed().as_secs_f64() > b.watchdog_secs {
                break Err(());
            }
        };
        match got {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => {
                // A thread that failed first (e.g. an assertion in the RCU
                // thread) explains main's failure better than main's own.
                let msg = diag.first_panic().map(|m| strip_thread(&m, &msg)).unwrap_or(msg);
                let v = classify(&msg, &diag);
                return finish(v, n, true, start, &diag, &obs, cap, None);
            }
            Err(_) if diag.first_panic().is_some() => {
                // Everyone else waits for a thread that died.
                let msg = diag.first_panic().unwrap();
                let v = classify(&msg, &diag);
                return finish(v, n, true, start, &diag, &obs, cap, None);
            }
            Err(_) => {
                let v = Verdict::Violated {
                    kind: "stall".into(),
                    message: format!(
                        "no progress for {:.0} s on real threads (watchdog); blocked: {}",
                        b.watchdog_secs,
                        diag.blocked_report()
                    ),
                };
                return finish(v, n, true, start, &diag, &obs, cap, None);
            }
        }
        if start.elapsed().as_secs_f64() > b.budget_secs {
            break;
        }
    }
    let complete = n as usize >= b.iterations.max(1);
    finish(Verdict::Holds, n, complete, start, &diag, &obs, cap, None)
}

/// `first` is "<msg> (in thread T)"; if main failed with the same message
/// (re-raised by a join), keep main's plain message.
fn strip_thread(first: &str, main_msg: &str) -> String {
    if first.starts_with(main_msg) {
        main_msg.to_string()
    } else {
        first.to_string()
    }
}

/// Whether a flag is set, for simple one-shot scaffolding in programs.
#[derive(Default)]
pub struct Flag(AtomicBool);
impl Flag {
    /// Set.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed)
    }
    /// Read.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The platform name of a program type, for messages.
pub fn platform_name<P: Platform>() -> &'static str {
    P::NAME
}
