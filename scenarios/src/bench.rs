//! `rcu-check bench`: what each version *costs*, on real threads with real
//! 10 ms timers (the std backend): the latency of `drain_call_rcu()` and
//! `synchronize_rcu()` in three situations, the grace periods forced and the
//! vCPUs kicked when nobody asks for it (spurious forcing), and the read-side
//! cost of `rcu_read_lock()`/`rcu_read_unlock()`.
//!
//! The bench only calls the models' public API (the same calls QEMU code
//! makes) and reads the probes the models already count (`forced_state`,
//! `forced_early`, `force_rcu_notify`, `reader_signaled`); the vCPU is the
//! catalog's [`Vcpu`] (a TCG vCPU in `cpu_exec()` that leaves its critical
//! section only when kicked).  On the std backend `g_usleep(10000)` is
//! `std::thread::sleep(10 ms)` and a timed wait parks until a deadline on the
//! monotonic clock, so the polls take QEMU's real durations.
//!
//! # Situations
//!
//! * `idle`: no reader in a critical section; the RCU thread has been idle for
//!   the settle time (MASTER's thread is then in its event wait, past its
//!   first 10 ms sleep).
//! * `mid-poll`: a vCPU is in a critical section and a `call_rcu1()` was made
//!   `u` ms before the measured call, with `u` spread evenly over
//!   [0, poll window): the RCU thread is in its polling loop (MASTER: the
//!   pile-up sleeps before the grace period; the others: the unforced grace
//!   period's 10 ms polls) when the measured call starts.
//! * `busy-vcpu`: a vCPU is in a critical section, the RCU thread is idle.
//!
//! When a measured call waits for a vCPU that nothing kicks (MASTER's
//! `synchronize_rcu()` never forces; a lost force), a watchdog kicks the vCPU
//! every `watchdog_ms`, like a guest timer interrupt would end its busy loop,
//! and the cell reports how many runs needed it: such a latency is the
//! watchdog's period, not the version's.
//!
//! Figures of a port are the Rust port's: absolute read-side costs include
//! the port's per-thread context lookup and barrier-site hooks; what compares
//! is one version against another on the same machine.
//!
//! A C tree (`--c-tree DIR=LABEL`, version `c:LABEL`) is measured compiled
//! natively (cfront::native: the tree's util/rcu.c, util/event.c and
//! util/notify.c built by clang-14 -O2 as QEMU builds them on this host,
//! real pthreads and futexes, real `qemu_event_timedwait()`): QEMU's own
//! figures.  Its read-side pair is the tree's inline `rcu_read_lock()` /
//! `rcu_read_unlock()` behind one call each into the shared object.  The
//! native code has no probes, so the figures that count them (`forced`,
//! `early`, slow unlocks, forced GP/s) are `n/a` for it (`probes: false` in
//! the JSON); grace periods (from `rcu_gp_ctr`), notifier calls (counted as
//! the notifier runs) and vCPU kicks are measured.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use models::{Rcu, Version};
use rcu_core::runtime::{Diag, LockCheck, RunConfig, Runtime};
use rcu_core::StdPlatform;
use serde::Serialize;

use crate::catalog::util::{Done, Vcpu};
use crate::catalog::Exec;
use crate::harness::{self, Obs};

type P = StdPlatform;

/// What to run.
#[derive(Clone, Debug, Serialize)]
pub struct Opts {
    /// Versions (default: all).
    pub versions: Vec<Version>,
    /// Measured calls per latency cell (version × call × situation).
    pub runs: usize,
    /// `call_rcu1()` calls per spurious-forcing round.
    pub calls: usize,
    /// Spurious-forcing rounds per version (each on a fresh instance).
    pub rounds: usize,
    /// Gap between two `call_rcu1()` calls of a spurious-forcing round, µs.
    pub call_gap_us: u64,
    /// The guest timer tick that ends a vCPU's critical section on its own
    /// during the spurious-forcing rounds, ms.
    pub tick_ms: u64,
    /// The watchdog's period: a measured call still waiting after this long
    /// gets the vCPU kicked (again every period), ms.  Twice the longest
    /// latency a version has on its own (a `mid-poll` synchronize_rcu():
    /// the earlier grace period's 5 polls, then its own), so that only a
    /// call that nothing would end is cut short.
    pub watchdog_ms: u64,
    /// How long the RCU thread is left alone before a measured call, ms.
    pub settle_ms: u64,
    /// `mid-poll`: the earlier `call_rcu1()` is spread over [0, this) ms.
    pub poll_window_ms: u64,
    /// Read-side: lock/unlock pairs per timed batch.
    pub read_pairs: usize,
    /// Read-side: batches per state.
    pub read_batches: usize,
    /// A cell that has not finished after this many seconds is reported as stalled.
    pub cell_budget_secs: u64,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            versions: Version::ALL.to_vec(),
            runs: 30,
            calls: 1000,
            rounds: 3,
            call_gap_us: 1000,
            tick_ms: 4,
            watchdog_ms: 200,
            settle_ms: 20,
            poll_window_ms: 40,
            read_pairs: 200_000,
            read_batches: 7,
            cell_budget_secs: 60,
        }
    }
}

/// The measured call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Call {
    /// `drain_call_rcu()`.
    #[serde(rename = "drain_call_rcu")]
    Drain,
    /// `synchronize_rcu()`.
    #[serde(rename = "synchronize_rcu")]
    Sync,
}

impl Call {
    /// Both.
    pub const ALL: [Call; 2] = [Call::Drain, Call::Sync];
    /// The C name.
    pub fn name(self) -> &'static str {
        match self {
            Call::Drain => "drain_call_rcu",
            Call::Sync => "synchronize_rcu",
        }
    }
}

/// Where the RCU thread and the vCPU are when the measured call starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Situation {
    /// No reader in a critical section, RCU thread idle.
    Idle,
    /// A vCPU in a critical section, an earlier call_rcu1() being polled for.
    MidPoll,
    /// A vCPU in a critical section, RCU thread idle.
    BusyVcpu,
}

impl Situation {
    /// All three.
    pub const ALL: [Situation; 3] = [Situation::Idle, Situation::MidPoll, Situation::BusyVcpu];
    /// Command-line / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Situation::Idle => "idle",
            Situation::MidPoll => "mid-poll",
            Situation::BusyVcpu => "busy-vcpu",
        }
    }
}

/// A distribution summary (nearest-rank percentiles).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile (equal to max below 100 samples).
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// Summarise `xs` (any order).
    pub fn of(xs: &[f64]) -> Summary {
        if xs.is_empty() {
            return Summary::default();
        }
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Summary {
            n: v.len(),
            min: v[0],
            p10: rank(0.10),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: v[v.len() - 1],
        }
    }
}

/// One latency cell: version × call × situation.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyCell {
    /// Version.
    pub version: Version,
    /// The measured call.
    pub call: Call,
    /// The situation.
    pub situation: Situation,
    /// Latencies in ms, in run order.
    pub samples_ms: Vec<f64>,
    /// Their summary, ms.
    pub ms: Summary,
    /// Runs in which the watchdog had to kick the vCPU before the call returned.
    pub watchdog_runs: usize,
    /// Kicks of the vCPU by its force_rcu notifier during the measured calls.
    pub notifier_kicks: u64,
    /// Set when the cell did not finish (a stall past the cell budget, or a panic).
    pub error: Option<String>,
}

/// Spurious forcing: counts per 1000 `call_rcu1()` with nobody draining.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ForcingCounts {
    /// Grace periods completed.
    pub grace_periods: f64,
    /// Grace periods that entered the forced state (probe `forced_state`).
    pub forced: f64,
    /// Of which before the 5 × 10 ms polls ran out (probe `forced_early`).
    pub forced_early: f64,
    /// force_rcu notifier lists called (probe `force_rcu_notify`).
    pub notifier_calls: f64,
    /// vCPU kicks by its force_rcu notifier.
    pub vcpu_kicks: f64,
    /// The guest tick's kicks (the vCPU leaving on its own), for scale.
    pub tick_kicks: f64,
}

/// One version's spurious-forcing rounds.
#[derive(Clone, Debug, Serialize)]
pub struct ForcingCell {
    /// Version.
    pub version: Version,
    /// Each round, per 1000 calls.
    pub rounds: Vec<ForcingCounts>,
    /// Mean over the rounds, per 1000 calls.
    pub mean: ForcingCounts,
    /// Whether `forced` and `forced_early` were counted (false for natively
    /// compiled C, which has no probes: then they read 0 and mean nothing).
    pub probes: bool,
    /// Set when a round did not finish.
    pub error: Option<String>,
}

/// One version's read-side cost.
#[derive(Clone, Debug, Serialize)]
pub struct ReadSideCell {
    /// Version.
    pub version: Version,
    /// ns per lock/unlock pair, no grace period in flight (one value per batch).
    pub normal_ns: Summary,
    /// ns per pair while another thread calls drain_call_rcu() back to back,
    /// so that grace periods are forced (MASTER, which has no forced state,
    /// sets `waiting` on every scan).
    pub forced_ns: Summary,
    /// Unlocks that found `waiting` set and called qemu_event_set(), per million pairs.
    pub slow_unlocks_per_million: f64,
    /// Forced grace periods per second during the forced batches.
    pub forced_gps_per_sec: f64,
    /// Drains completed per second during the forced batches.
    pub drains_per_sec: f64,
    /// Whether the slow unlocks and forced GP/s were counted (false for
    /// natively compiled C, which has no probes).
    pub probes: bool,
    /// Set when the cell did not finish.
    pub error: Option<String>,
}

/// The machine the figures were measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// /proc/loadavg before the bench.
    pub loadavg_before: String,
    /// /proc/loadavg after the bench.
    pub loadavg_after: String,
    /// The kernel (`uname -sr` from /proc/sys/kernel).
    pub os: String,
}

impl Machine {
    fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu_model,
            loadavg_before: read("/proc/loadavg"),
            loadavg_after: String::new(),
            os: format!("{} {}", read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease"))
                .trim()
                .to_string(),
        }
    }
}

/// Everything the bench measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The machine.
    pub machine: Machine,
    /// The options.
    pub options: Opts,
    /// Latency cells.
    pub latency: Vec<LatencyCell>,
    /// Spurious forcing.
    pub forcing: Vec<ForcingCell>,
    /// Read-side cost.
    pub read_side: Vec<ReadSideCell>,
    /// Wall time of the whole bench, s.
    pub wall_seconds: f64,
}

// ---------------------------------------------------------------------------
// Running one instance

/// Run `f` as the main thread of a fresh std run of `v` (the RCU thread
/// created, the caller registered).  An error if `f` panicked or did not
/// return within the budget (its threads are then left behind, blocked).
fn in_run<R: Send + 'static>(
    v: Version,
    cfg: RunConfig,
    budget: Duration,
    f: impl FnOnce(&Exec<P>, &Arc<Rcu<P>>) -> R + Send + 'static,
) -> Result<R, String> {
    let diag = Arc::new(Diag::default());
    let (tx, rx) = mpsc::channel();
    let d2 = diag.clone();
    std::thread::Builder::new()
        .name("main".into())
        .spawn(move || {
            rcu_core::platform::std_backend::set_quiet_panics(true);
            let r = catch_unwind(AssertUnwindSafe(|| {
                let rt = Runtime::<P>::new(Arc::new(cfg), d2);
                rt.enter("main");
                let x = Exec { rt: rt.clone(), version: v, obs: Arc::new(Obs::default()) };
                let rcu = x.rcu_init();
                let r = f(&x, &rcu);
                rt.leave();
                r
            }));
            let _ = tx.send(r.map_err(|p| harness::payload_string(&*p)));
        })
        .map_err(|e| format!("could not spawn a thread: {e}"))?;
    match rx.recv_timeout(budget) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(m)) => Err(diag.first_panic().unwrap_or(m)),
        Err(_) => Err(format!("stalled for {} s: {}", budget.as_secs(), diag.blocked_report())),
    }
}

fn cfg(heads: usize) -> RunConfig {
    RunConfig {
        // SEED and the semaphore drafts walk the registry without
        // rcu_registry_lock (proofs.md F6): count it, as rcutorture does.
        lock_check: LockCheck::Count,
        max_threads: 8,
        max_heads: heads + 64,
        ..RunConfig::default()
    }
}

fn sleep_ms(ms: f64) {
    std::thread::sleep(Duration::from_secs_f64(ms / 1000.0));
}

/// Wait until the vCPU has sat in one critical section for `ms` (its
/// `cpu_exec()` count unchanged; a stale kick makes it leave and re-enter).
fn settle_in_cs(vcpu: &Vcpu<P>, ms: u64) {
    loop {
        let a = vcpu.in_cs.peek();
        sleep_ms(ms as f64);
        if a > 0 && vcpu.in_cs.peek() == a {
            return;
        }
    }
}

/// Kicks the vCPU while armed, once per period (scaffolding: a guest timer).
struct Watchdog {
    deadline: Mutex<Option<Instant>>,
    kicks: AtomicU64,
    stop: AtomicBool,
    period: Duration,
}

impl Watchdog {
    fn start(vcpu: Arc<Vcpu<P>>, period_ms: u64) -> (Arc<Watchdog>, std::thread::JoinHandle<()>) {
        let w = Arc::new(Watchdog {
            deadline: Mutex::new(None),
            kicks: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            period: Duration::from_millis(period_ms),
        });
        let w2 = w.clone();
        let h = std::thread::spawn(move || {
            while !w2.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                let mut d = w2.deadline.lock().unwrap();
                if let Some(t) = *d {
                    if Instant::now() >= t {
                        vcpu.kick();
                        w2.kicks.fetch_add(1, Ordering::Relaxed);
                        *d = Some(Instant::now() + w2.period);
                    }
                }
            }
        });
        (w, h)
    }
    fn arm(&self) {
        *self.deadline.lock().unwrap() = Some(Instant::now() + self.period);
    }
    /// Disarm; how many kicks since the last disarm.
    fn disarm(&self) -> u64 {
        *self.deadline.lock().unwrap() = None;
        self.kicks.swap(0, Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// The three measurements

fn latency_cell(v: Version, call: Call, sit: Situation, o: &Opts) -> LatencyCell {
    let o2 = o.clone();
    let r = in_run(v, cfg(o.runs * 3), Duration::from_secs(o.cell_budget_secs), move |x, rcu| {
        let o = o2;
        let vcpu = Vcpu::<P>::new();
        let with_vcpu = sit != Situation::Idle;
        let vt = with_vcpu.then(|| {
            let (r2, v2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
            x.spawn("vcpu", move || v2.run(&r2, &obs, u32::MAX))
        });
        let (wd, wdh) = Watchdog::start(vcpu.clone(), o.watchdog_ms);
        let earlier = Done::<P>::new("earlier callbacks");
        let mut samples = Vec::with_capacity(o.runs);
        let mut watchdog_runs = 0;
        let mut notifier_kicks = 0;
        for i in 0..o.runs {
            if with_vcpu {
                settle_in_cs(&vcpu, o.settle_ms);
            } else {
                sleep_ms(o.settle_ms as f64);
            }
            if sit == Situation::MidPoll {
                let h = rcu.alloc_head("earlier.rcu");
                let d = earlier.clone();
                rcu.call_rcu1(h, move || d.hit());
                sleep_ms(o.poll_window_ms as f64 * (i as f64 + 0.5) / o.runs as f64);
            }
            let k0 = x.obs.get("vcpu_kicked_by_notifier");
            if with_vcpu {
                wd.arm();
            }
            let t0 = Instant::now();
            match call {
                Call::Drain => rcu.drain_call_rcu(),
                Call::Sync => rcu.synchronize_rcu(),
            }
            let dt = t0.elapsed();
            if with_vcpu && wd.disarm() > 0 {
                watchdog_runs += 1;
            }
            notifier_kicks += x.obs.get("vcpu_kicked_by_notifier") - k0;
            samples.push(dt.as_secs_f64() * 1000.0);
            if sit == Situation::MidPoll {
                // The earlier callback must have run before the next run
                // (MASTER's synchronize_rcu() does not wait for it).
                wd.arm();
                earlier.wait_for(i as u32 + 1, "bench: the earlier callback");
                wd.disarm();
            }
        }
        wd.stop.store(true, Ordering::Relaxed);
        let _ = wdh.join();
        match vt {
            Some(t) => x.finish_with_vcpu(rcu, &vcpu, t),
            None => x.finish(rcu),
        }
        (samples, watchdog_runs, notifier_kicks)
    });
    let (samples_ms, watchdog_runs, notifier_kicks, error) = match r {
        Ok((s, w, k)) => (s, w, k, None),
        Err(e) => (vec![], 0, 0, Some(e)),
    };
    LatencyCell {
        version: v,
        call,
        situation: sit,
        ms: Summary::of(&samples_ms),
        samples_ms,
        watchdog_runs,
        notifier_kicks,
        error,
    }
}

fn forcing_round(v: Version, o: &Opts) -> Result<ForcingCounts, String> {
    let o2 = o.clone();
    in_run(v, cfg(o.calls), Duration::from_secs(o.cell_budget_secs), move |x, rcu| {
        let o = o2;
        let vcpu = Vcpu::<P>::new();
        let (r2, v2, obs) = (rcu.clone(), vcpu.clone(), x.obs.clone());
        let vt = x.spawn("vcpu", move || v2.run(&r2, &obs, u32::MAX));
        settle_in_cs(&vcpu, o.settle_ms);
        // The guest's timer tick: the vCPU leaves cpu_exec() on its own
        // every tick_ms, so every version's grace periods end unforced.
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(AtomicU64::new(0));
        let tick = {
            let (stop, ticks, vcpu, ms) = (stop.clone(), ticks.clone(), vcpu.clone(), o.tick_ms);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(ms));
                    vcpu.kick();
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let diag = &x.rt.diag;
        let p0 = |k: &str| diag.probe(k);
        let (f0, e0, n0) = (p0("forced_state"), p0("forced_early"), p0("force_rcu_notify"));
        let k0 = x.obs.get("vcpu_kicked_by_notifier");
        let t0 = ticks.load(Ordering::Relaxed);
        let gp0 = rcu.peek_gp_ctr();
        let ran = Done::<P>::new("bench callbacks");
        for _ in 0..o.calls {
            let h = rcu.alloc_head("bench.rcu");
            let d = ran.clone();
            rcu.call_rcu1(h, move || d.hit());
            std::thread::sleep(Duration::from_micros(o.call_gap_us));
        }
        ran.wait_for(o.calls as u32, "bench: every callback ran");
        let per = 1000.0 / o.calls as f64;
        let c = ForcingCounts {
            grace_periods: (rcu.peek_gp_ctr().wrapping_sub(gp0) / models::common::RCU_GP_CTR) as f64 * per,
            forced: (p0("forced_state") - f0) as f64 * per,
            forced_early: (p0("forced_early") - e0) as f64 * per,
            notifier_calls: (p0("force_rcu_notify") - n0) as f64 * per,
            vcpu_kicks: (x.obs.get("vcpu_kicked_by_notifier") - k0) as f64 * per,
            tick_kicks: (ticks.load(Ordering::Relaxed) - t0) as f64 * per,
        };
        x.finish_with_vcpu(rcu, &vcpu, vt);
        stop.store(true, Ordering::Relaxed);
        let _ = tick.join();
        c
    })
}

fn forcing_cell(v: Version, o: &Opts, tick: &mut dyn FnMut()) -> ForcingCell {
    let mut rounds = vec![];
    let mut error = None;
    for _ in 0..o.rounds {
        match forcing_round(v, o) {
            Ok(c) => rounds.push(c),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        tick();
    }
    let n = rounds.len().max(1) as f64;
    let mean = |f: fn(&ForcingCounts) -> f64| rounds.iter().map(f).sum::<f64>() / n;
    let m = ForcingCounts {
        grace_periods: mean(|c| c.grace_periods),
        forced: mean(|c| c.forced),
        forced_early: mean(|c| c.forced_early),
        notifier_calls: mean(|c| c.notifier_calls),
        vcpu_kicks: mean(|c| c.vcpu_kicks),
        tick_kicks: mean(|c| c.tick_kicks),
    };
    ForcingCell { version: v, rounds, mean: m, probes: !v.is_c(), error }
}

fn pairs(rcu: &Rcu<P>, n: usize) -> f64 {
    let t0 = Instant::now();
    for _ in 0..n {
        rcu.rcu_read_lock();
        rcu.rcu_read_unlock();
    }
    t0.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn read_side_cell(v: Version, o: &Opts) -> ReadSideCell {
    let o2 = o.clone();
    // drain_call_rcu() takes a fresh rcu_head per call: the drainer stops
    // before the arena runs out.
    let r = in_run(v, cfg(200_000), Duration::from_secs(o.cell_budget_secs), move |x, rcu| {
        let o = o2;
        // Batches alternate between the normal state (the drainer paused, no
        // grace period in flight) and forced grace periods back to back (the
        // drainer running), so that drifts of the machine's load hit both.
        const PAUSE: u64 = 0;
        const RUN: u64 = 1;
        const STOP: u64 = 2;
        let mode = Arc::new(AtomicU64::new(PAUSE));
        let paused_epoch = Arc::new(AtomicU64::new(0));
        let drains = Arc::new(AtomicU64::new(0));
        let drainer = {
            let (rcu, mode, paused_epoch, drains) = (rcu.clone(), mode.clone(), paused_epoch.clone(), drains.clone());
            x.spawn("drainer", move || {
                rcu.rcu_register_thread();
                loop {
                    match mode.load(Ordering::SeqCst) {
                        STOP => break,
                        RUN if rcu.heads_free() > 64 => {
                            rcu.drain_call_rcu();
                            drains.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            paused_epoch.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                }
                rcu.rcu_unregister_thread();
            })
        };
        let pause = || {
            mode.store(PAUSE, Ordering::SeqCst);
            let e = paused_epoch.load(Ordering::SeqCst);
            while paused_epoch.load(Ordering::SeqCst) <= e + 1 {
                std::thread::sleep(Duration::from_micros(200));
            }
            // Let the RCU thread finish the last drain's grace period and go idle.
            sleep_ms(o.settle_ms as f64);
        };
        pairs(rcu, o.read_pairs / 4);
        let diag = &x.rt.diag;
        let (mut normal, mut forced) = (vec![], vec![]);
        let (mut slow, mut nforced, mut ndrains, mut secs) = (0, 0, 0, 0.0);
        for _ in 0..o.read_batches {
            pause();
            normal.push(pairs(rcu, o.read_pairs));
            mode.store(RUN, Ordering::SeqCst);
            let (s0, f0, d0) =
                (diag.probe("reader_signaled"), diag.probe("forced_state"), drains.load(Ordering::Relaxed));
            let t0 = Instant::now();
            forced.push(pairs(rcu, o.read_pairs));
            secs += t0.elapsed().as_secs_f64();
            slow += diag.probe("reader_signaled") - s0;
            nforced += diag.probe("forced_state") - f0;
            ndrains += drains.load(Ordering::Relaxed) - d0;
        }
        mode.store(STOP, Ordering::SeqCst);
        drainer.join();
        x.finish(rcu);
        let total = (o.read_pairs * o.read_batches) as f64;
        (normal, forced, slow as f64 * 1e6 / total, nforced as f64 / secs, ndrains as f64 / secs)
    });
    match r {
        Ok((n, f, slow, fps, dps)) => ReadSideCell {
            version: v,
            normal_ns: Summary::of(&n),
            forced_ns: Summary::of(&f),
            slow_unlocks_per_million: slow,
            forced_gps_per_sec: fps,
            drains_per_sec: dps,
            probes: !v.is_c(),
            error: None,
        },
        Err(e) => ReadSideCell {
            version: v,
            normal_ns: Summary::default(),
            forced_ns: Summary::default(),
            slow_unlocks_per_million: 0.0,
            forced_gps_per_sec: 0.0,
            drains_per_sec: 0.0,
            probes: !v.is_c(),
            error: Some(e),
        },
    }
}

/// The number of progress steps [`run`] reports.
pub fn steps(o: &Opts) -> u64 {
    (o.versions.len() * (Call::ALL.len() * Situation::ALL.len() + o.rounds + 1)) as u64
}

/// Run the whole bench; `progress(Some(what))` when a step starts,
/// `progress(None)` when it ends ([`steps`] of them).
pub fn run(o: &Opts, progress: &mut dyn FnMut(Option<&str>)) -> Report {
    harness::install_panic_hook();
    let start = Instant::now();
    let mut machine = Machine::probe();
    let mut latency = vec![];
    let mut forcing = vec![];
    let mut read_side = vec![];
    for &v in &o.versions {
        for call in Call::ALL {
            for sit in Situation::ALL {
                progress(Some(&format!("{v} {} {}", call.name(), sit.name())));
                latency.push(latency_cell(v, call, sit, o));
                progress(None);
            }
        }
        progress(Some(&format!("{v} spurious forcing")));
        forcing.push(forcing_cell(v, o, &mut || progress(None)));
        progress(Some(&format!("{v} read side")));
        read_side.push(read_side_cell(v, o));
        progress(None);
    }
    machine.loadavg_after = Machine::probe().loadavg_before;
    Report { machine, options: o.clone(), latency, forcing, read_side, wall_seconds: start.elapsed().as_secs_f64() }
}

// ---------------------------------------------------------------------------
// Output

fn fmt_ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The text report: machine, latency table, forcing table, read-side table.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "machine: {} CPUs, {}, {}; load average before {} / after {}",
        m.cpus, m.cpu_model, m.os, m.loadavg_before, m.loadavg_after
    );
    let o = &r.options;
    let _ = writeln!(
        s,
        "std backend (real threads, g_usleep and timed waits in real time); {} runs per latency cell, watchdog {} ms\n",
        o.runs, o.watchdog_ms
    );
    let note =
        "LATENCY, ms, over n runs. Spread = p10-p90: a rerun on the same machine gives p50s inside it, give or take \
         0.05 ms + 2% of scheduling jitter, except where the runs split between two modes (>=5ms counts the slow \
         ones; their share follows the machine's load). w = runs the watchdog ended by kicking the vCPU.";
    let _ = writeln!(s, "{}", textwrap::fill(note, 120));
    let _ = writeln!(
        s,
        "{:<18} {:<16} {:<10} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>4}",
        "version", "call", "situation", "n", "p10", "p50", "p90", "p99", "max", ">=5ms", "w"
    );
    for &v in &o.versions {
        for call in Call::ALL {
            for sit in Situation::ALL {
                let Some(c) = r.latency.iter().find(|c| c.version == v && c.call == call && c.situation == sit) else {
                    continue;
                };
                let head = format!("{:<18} {:<16} {:<10}", v.name(), call.name(), sit.name());
                if c.error.is_some() {
                    let _ = writeln!(s, "{head} FAILED (below)");
                    continue;
                }
                let m = &c.ms;
                let slow = c.samples_ms.iter().filter(|x| **x >= 5.0).count();
                let _ = writeln!(
                    s,
                    "{head} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>4}",
                    m.n,
                    fmt_ms(m.p10),
                    fmt_ms(m.p50),
                    fmt_ms(m.p90),
                    fmt_ms(m.p99),
                    fmt_ms(m.max),
                    slow,
                    c.watchdog_runs
                );
            }
        }
    }
    let errors: Vec<&LatencyCell> = r.latency.iter().filter(|c| c.error.is_some()).collect();
    for c in errors {
        let _ = writeln!(
            s,
            "  {} {} {}: {}",
            c.version,
            c.call.name(),
            c.situation.name(),
            c.error.as_deref().unwrap_or_default()
        );
    }
    let _ = writeln!(
        s,
        "\nSPURIOUS FORCING per 1000 call_rcu1(), nobody draining ({} rounds of {} calls, one every {} µs; the vCPU also leaves on a {} ms tick)",
        o.rounds, o.calls, o.call_gap_us, o.tick_ms
    );
    let _ = writeln!(
        s,
        "{:<18} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}  forced per round",
        "version", "GPs", "forced", "early", "notifiers", "kicks", "ticks"
    );
    for c in &r.forcing {
        let m = &c.mean;
        let per: Vec<String> = c.rounds.iter().map(|x| format!("{:.0}", x.forced)).collect();
        let per = if c.probes { per.join(", ") } else { "n/a (native C: no probes)".into() };
        let err = c.error.as_deref().map(|e| format!("  FAILED: {e}")).unwrap_or_default();
        let probed = |x: f64| if c.probes { format!("{x:.1}") } else { "n/a".into() };
        let _ = writeln!(
            s,
            "{:<18} {:>8.1} {:>8} {:>8} {:>10.1} {:>10.1} {:>10.1}  {}{err}",
            c.version.name(),
            m.grace_periods,
            probed(m.forced),
            probed(m.forced_early),
            m.notifier_calls,
            m.vcpu_kicks,
            m.tick_kicks,
            per
        );
    }
    let _ = writeln!(
        s,
        "\nREAD SIDE, ns per rcu_read_lock()+rcu_read_unlock() pair (p50 [min-max] of {} batches of {}; a port's is the Rust port's cost, compare versions only; c:LABEL's is the compiled C's, one call into it per lock and per unlock)",
        o.read_batches, o.read_pairs
    );
    let _ = writeln!(
        s,
        "{:<18} {:>22} {:>26} {:>14} {:>12} {:>10}",
        "version", "normal", "forced GPs back to back", "slow unlocks/M", "forced GP/s", "drains/s"
    );
    for c in &r.read_side {
        if let Some(e) = &c.error {
            let _ = writeln!(s, "{:<18} FAILED: {e}", c.version.name());
            continue;
        }
        let f = |x: &Summary| format!("{:.1} [{:.1}-{:.1}]", x.p50, x.min, x.max);
        let probed = |x: f64, d: usize| if c.probes { format!("{x:.d$}") } else { "n/a".into() };
        let _ = writeln!(
            s,
            "{:<18} {:>22} {:>26} {:>14} {:>12} {:>10.0}",
            c.version.name(),
            f(&c.normal_ns),
            f(&c.forced_ns),
            probed(c.slow_unlocks_per_million, 1),
            probed(c.forced_gps_per_sec, 0),
            c.drains_per_sec
        );
    }
    let _ = writeln!(s, "\nwall time {:.1} s", r.wall_seconds);
    s
}

/// Write `bench.json` and the SVG plots into `dir`; the paths written.
pub fn write_outputs(r: &Report, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create output directory `{}`: {e}", dir.display()))?;
    let mut out = vec![];
    let json = dir.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(r).unwrap() + "\n")
        .map_err(|e| format!("cannot write `{}`: {e}", json.display()))?;
    out.push(json);
    for &v in &r.options.versions {
        let p = dir.join(format!("latency-cdf-{}.svg", v.name().replace(':', "-")));
        plot_cdf(r, v, &p).map_err(|e| format!("cannot draw `{}`: {e}", p.display()))?;
        out.push(p);
    }
    let p = dir.join("forcing.svg");
    plot_forcing(r, &p).map_err(|e| format!("cannot draw `{}`: {e}", p.display()))?;
    out.push(p);
    Ok(out)
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One bar series of the forcing chart: label, value, colour.
type Bar = (&'static str, fn(&ForcingCounts) -> f64, plotters::style::RGBColor);

fn plot_cdf(r: &Report, v: Version, path: &Path) -> PlotResult {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let cells: Vec<&LatencyCell> = r.latency.iter().filter(|c| c.version == v && !c.samples_ms.is_empty()).collect();
    let lo = cells.iter().map(|c| c.ms.min).fold(f64::INFINITY, f64::min).max(1e-3);
    let hi = cells.iter().map(|c| c.ms.max).fold(0.0, f64::max).max(lo * 10.0);
    let (lo, hi) = (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil()));
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{v}: latency CDF (std backend, {} runs per curve)", r.options.runs), ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("latency, ms (log scale)")
        .y_desc("fraction of runs ≤ x")
        .x_label_formatter(&|x| fmt_ms(*x))
        .draw()?;
    for (i, c) in cells.iter().enumerate() {
        let mut xs = c.samples_ms.clone();
        xs.sort_by(f64::total_cmp);
        let n = xs.len() as f64;
        let mut pts = vec![(xs[0], 0.0)];
        for (k, x) in xs.iter().enumerate() {
            pts.push((*x, k as f64 / n));
            pts.push((*x, (k + 1) as f64 / n));
        }
        let color = Palette99::pick(i).to_rgba();
        let style = if c.call == Call::Drain { color.stroke_width(2) } else { color.stroke_width(1) };
        let label =
            format!("{} {}{}", c.call.name(), c.situation.name(), if c.watchdog_runs > 0 { " (watchdog)" } else { "" });
        chart
            .draw_series(LineSeries::new(pts, style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_forcing(r: &Report, path: &Path) -> PlotResult {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = r.forcing.len();
    let ymax =
        r.forcing.iter().flat_map(|c| [c.mean.forced, c.mean.vcpu_kicks, c.mean.grace_periods]).fold(1.0, f64::max)
            * 1.3;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Per 1000 call_rcu1() with nobody draining (mean of {} rounds)", r.options.rounds),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..n as f64, 0f64..ymax)?;
    let names: Vec<String> = r.forcing.iter().map(|c| c.version.name().to_string()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 0.01 && i < names.len() {
                names[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc("count per 1000 calls")
        .draw()?;
    let series: [Bar; 3] = [
        ("grace periods", |c| c.grace_periods, RGBColor(160, 160, 160)),
        ("forced grace periods", |c| c.forced, RGBColor(214, 39, 40)),
        ("vCPU kicks by force_rcu notifier", |c| c.vcpu_kicks, RGBColor(31, 119, 180)),
    ];
    for (k, (label, f, color)) in series.into_iter().enumerate() {
        let w = 0.8 / 3.0;
        chart
            // Natively compiled C has no probe for the forced state: no bar.
            .draw_series(r.forcing.iter().enumerate().filter(move |(_, c)| k != 1 || c.probes).map(|(i, c)| {
                let x0 = i as f64 + 0.1 + k as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.9, f(&c.mean))], color.filled())
            }))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_nearest_rank() {
        let s = Summary::of(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!((s.n, s.min, s.p50, s.p99, s.max), (100, 1.0, 50.0, 99.0, 100.0));
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.p50, s.p99, s.max), (2.0, 3.0, 3.0));
        assert_eq!(Summary::of(&[]).n, 0);
    }
}
