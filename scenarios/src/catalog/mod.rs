//! The scenario library.  One module per family; each scenario is a
//! [`Scenario`]: a thread program written once, generic over the platform,
//! with its provenance, the interleaving as a per-thread legend, the property,
//! the expected result per version, and the windows (positive controls) that
//! a passing run must prove it reached.
//!
//! Scenario programs only use the models' public C API (`rcu_read_lock`,
//! `call_rcu1`, `synchronize_rcu`, `drain_call_rcu`, `force_rcu`, …) plus
//! scaffolding that the checkers do not explore (observation counters).
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::sync::Arc;

use models::{Rcu, Version};
use rcu_core::platform::Platform;
use rcu_core::runtime::{qemu_thread_create, QemuThread, RunConfig, Runtime, Timeouts};
use rcu_core::StdPlatform;
use serde::Serialize;

use crate::harness::{Checker, Obs, Stats};

pub mod callbacks;
pub mod drain;
pub mod force;
pub mod gp;
pub mod multi;
pub mod primitives;
pub mod registry;
pub mod regressions;
pub mod sb;
pub mod tcg;
pub mod torture;

/// What a scenario program sees in one execution.
pub struct Exec<P: Platform> {
    /// The run.
    pub rt: Arc<Runtime<P>>,
    /// The version under test (primitive scenarios ignore it).
    pub version: Version,
    /// Observations aggregated over executions.
    pub obs: Arc<Obs>,
}

impl<P: Platform> Exec<P> {
    /// `rcu_init()`: start the model timer if the version needs one, create
    /// the `call_rcu` thread and register the calling (main) thread.
    pub fn rcu_init(&self) -> Arc<Rcu<P>> {
        if self.version.info().timed_waits {
            self.rt.start_timer();
        }
        Rcu::rcu_init(self.version, self.rt.clone())
    }

    /// Stop the `call_rcu` thread (at its idle wait) and the timer.
    pub fn finish(&self, rcu: &Rcu<P>) {
        rcu.shutdown();
        self.rt.stop_timer();
    }

    /// Teardown with a vCPU: stop it, stop the RCU thread, then let the vCPU
    /// thread remove its notifier, unregister and exit.
    pub fn finish_with_vcpu(&self, rcu: &Rcu<P>, vcpu: &util::Vcpu<P>, t: QemuThread<P>) {
        vcpu.stop_and_kick();
        self.finish(rcu);
        vcpu.exit.hit();
        t.join();
    }

    /// The set-up is over (threads created, registered, parked where the
    /// scenario wants them): from here on loom explores every interleaving.
    /// The set-up before it runs along one schedule.  Every program must call
    /// this once.
    pub fn setup_done(&self) {
        self.obs.mark_explored();
        P::explore();
        rcu_core::rcu_trace!(P, "— set-up done; interleavings explored from here —");
    }

    /// Count an observation (aggregated over executions).
    pub fn observe(&self, key: &str) {
        self.obs.add(key, 1);
    }

    /// `qemu_thread_create()`.
    pub fn spawn(&self, name: &str, f: impl FnOnce() + Send + 'static) -> QemuThread<P> {
        qemu_thread_create::<P>(name, f)
    }
}

/// A scenario body for one platform.
pub type Body<P> = fn(&Exec<P>);

/// The body instantiated for every backend.
#[derive(Clone, Copy)]
pub struct Bodies {
    /// Real threads.
    pub std: Body<StdPlatform>,
    /// loom.
    #[cfg(feature = "loom")]
    pub loom: Body<rcu_core::LoomPlatform>,
    /// shuttle.
    #[cfg(feature = "shuttle")]
    pub shuttle: Body<rcu_core::ShuttlePlatform>,
}

/// Instantiate a generic body `fn f<P: Platform>(x: &Exec<P>)` for every backend.
#[macro_export]
macro_rules! bodies {
    ($f:ident) => {
        $crate::catalog::Bodies {
            std: $f::<rcu_core::StdPlatform>,
            #[cfg(feature = "loom")]
            loom: $f::<rcu_core::LoomPlatform>,
            #[cfg(feature = "shuttle")]
            shuttle: $f::<rcu_core::ShuttlePlatform>,
        }
    };
}

/// The expected result of a scenario on a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "expect", rename_all = "kebab-case")]
pub enum Expect {
    /// No counterexample.
    Holds,
    /// A counterexample of this kind, for this reason.
    Violated {
        /// Failure kind.
        kind: &'static str,
        /// One-line explanation (proofs.md has the trace).
        why: &'static str,
    },
}

impl Expect {
    /// `holds` or `violated (<kind>)`.
    pub fn label(&self) -> String {
        match self {
            Expect::Holds => "holds".into(),
            Expect::Violated { kind, .. } => format!("violated ({kind})"),
        }
    }
}

/// A positive control: something at least one execution must have shown.
#[derive(Clone, Copy)]
pub struct Window {
    /// What the window is.
    pub what: &'static str,
    /// Whether the aggregated counters show it was reached.
    pub reached: fn(&Stats) -> bool,
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
}

/// Whether a scenario runs per version or on the primitives alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Runs on every version.
    Versions,
    /// Exercises rcu-core primitives only (one column).
    Primitive,
}

/// One scenario.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Named after the race.
    pub name: &'static str,
    /// Family (module).
    pub family: &'static str,
    /// Where the interleaving comes from (Message-ID, commit, issue).
    pub provenance: &'static str,
    /// One line.
    pub summary: &'static str,
    /// The interleaving, one line per thread (`T: step; step; …`).
    pub legend: &'static str,
    /// The property, as asserted.
    pub property: &'static str,
    /// Per version or primitive.
    pub scope: Scope,
    /// The checker the matrix uses by default.
    pub checker: Checker,
    /// loom threads including main (must be ≤ 5), for `list`.
    pub loom_threads: usize,
    /// Default loom preemption bound.
    pub preemption_bound: usize,
    /// Versions whose cell uses another loom bound (shown in the matrix): a
    /// full exploration at the default bound does not fit the matrix's time
    /// budget; ci/loom-deep.sh runs those cells at the default bound.
    pub bound_overrides: &'static [(Version, usize)],
    /// Default shuttle iterations.
    pub shuttle_iterations: usize,
    /// Default depth of shuttle's PCT scheduler (how many priority changes per
    /// execution, so how many "unlucky" preemptions a bug may need).
    pub shuttle_pct_depth: usize,
    /// Adjust the run configuration for a version (timeouts, lock check, …).
    pub configure: fn(Version, &mut RunConfig),
    /// Expected result per version.
    pub expect: fn(Version) -> Expect,
    /// Positive controls for a passing run.
    pub windows: &'static [Window],
    /// The program.
    pub bodies: Bodies,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scenario({})", self.name)
    }
}

/// Configuration helpers for `Scenario::configure`.
///
/// Unless a scenario is about the registry's lock discipline, an access to
/// lock-protected data without the lock is *counted* (metric
/// `unlocked_access`, shown in the matrix) rather than fatal, so that the
/// scenario still judges its own property on a version with that defect;
/// [`registry`] has the scenario that fails on it.  loom still reports a
/// concurrent unsynchronised access as a data race in every mode.
pub mod cfg {
    use super::*;
    use rcu_core::runtime::LockCheck;

    /// Timeouts fire (the model timer); unlocked access is counted.
    pub fn standard(_: Version, c: &mut RunConfig) {
        c.lock_check = LockCheck::Count;
    }

    /// Timeouts never fire: a version that needs one to make progress
    /// deadlocks.  Unlocked access is counted.
    pub fn no_timeouts(_: Version, c: &mut RunConfig) {
        c.timeouts = Timeouts::Never;
        c.lock_check = LockCheck::Count;
    }

    /// Timeouts fire; unlocked access fails the run.
    pub fn strict_locks(_: Version, c: &mut RunConfig) {
        c.lock_check = LockCheck::Fail;
    }

    /// Timeouts never fire; unlocked access fails the run.
    pub fn strict_locks_no_timeouts(_: Version, c: &mut RunConfig) {
        c.timeouts = Timeouts::Never;
        c.lock_check = LockCheck::Fail;
    }
}

/// Scenarios that configure a port's internals, so that a C tree (`c:LABEL`)
/// cannot run them, with the reason (`list`, the matrix and `--compare` show
/// it).  Everything else runs on C trees through the same API.
pub const PORT_ONLY: &[(&str, &str)] = &[
    (
        "gp_counter_wrap_single_flip",
        "narrows the port's rcu_gp_ctr to 2 bits (RunConfig::gp_mode); a C tree's counter is an unsigned long, fixed when it is compiled",
    ),
    (
        "gp_counter_wrap_two_phase",
        "runs the port's 32-bit two-phase path (sizeof(rcu_gp_ctr) < 8), which a 64-bit C build never takes",
    ),
];

/// Scenarios whose *verdict* (not only a window) reads a probe that the
/// interpreter counts on a C tree's memory and calls: compiled natively
/// (a C tree under the std checker) the C has no probes, so these cells
/// cannot judge and are not run.  Measured before they were excluded:
/// `no_force_after_drain` × V3's C failed natively for want of the
/// `forced_state` count (a notifier call inside a forced grace period read
/// as one outside it).
pub const NOT_NATIVE: &[(&str, &str)] = &[
    (
        "force_covers_earlier_callback",
        "its verdict counts the RCU thread's polling sleeps (probe poll_sleep), which natively compiled C does not report",
    ),
    (
        "spurious_forcing",
        "its verdict reads the forced_early probe (a forced state entered with polls left), which natively compiled C does not report",
    ),
    (
        "no_force_after_drain",
        "its verdict reads the forced_state and forced_early probes, which natively compiled C does not report",
    ),
];

/// Why `s` cannot run on version `v` under `checker` (`None`: it can).
pub fn not_on(s: &Scenario, v: Version, checker: crate::harness::Checker) -> Option<&'static str> {
    if !v.is_c() {
        return None;
    }
    let native = if checker == crate::harness::Checker::Std { NOT_NATIVE } else { &[] };
    PORT_ONLY.iter().chain(native).find(|(n, _)| *n == s.name).map(|(_, why)| *why)
}

/// Every scenario, in catalog order.
pub fn all() -> Vec<&'static Scenario> {
    let mut v: Vec<&'static Scenario> = vec![];
    v.extend(gp::SCENARIOS.iter());
    v.extend(multi::SCENARIOS.iter());
    v.extend(callbacks::SCENARIOS.iter());
    v.extend(force::SCENARIOS.iter());
    v.extend(sb::SCENARIOS.iter());
    v.extend(drain::SCENARIOS.iter());
    v.extend(tcg::SCENARIOS.iter());
    v.extend(registry::SCENARIOS.iter());
    v.extend(torture::SCENARIOS.iter());
    v.extend(regressions::SCENARIOS.iter());
    v.extend(primitives::SCENARIOS.iter());
    v
}

/// Look a scenario (or a litmus program) up by name.
pub fn find(name: &str) -> Result<&'static Scenario, String> {
    all().into_iter().chain(crate::litmus::ALL.iter()).find(|s| s.name == name).ok_or_else(|| {
        format!("unknown scenario `{name}` (valid: {})", all().iter().map(|s| s.name).collect::<Vec<_>>().join(", "))
    })
}

/// Shared helpers for scenario programs.
pub mod util {
    use super::*;
    use rcu_core::notifier::Notifier;
    use rcu_core::platform::RawAtomic;
    use std::sync::atomic::Ordering;

    /// A completion counter the scenario waits on: callbacks or threads call
    /// [`Done::hit`], the waiters call [`Done::wait_for`].
    ///
    /// This is scaffolding, not model code, and deliberately cheap for the
    /// checkers: one RMW per hit and per check, and park/unpark, instead of a
    /// QemuEvent (whose fences and futex would multiply the interleavings of
    /// every scenario).  The RMWs are AcqRel, so a waiter that returns
    /// happens-after every hit it counted, as after any real handshake.
    pub struct Done<P: Platform> {
        count: P::AtomicU32,
        target: u32,
        waiters: std::sync::Mutex<Vec<Arc<rcu_core::runtime::ThreadCtx<P>>>>,
        name: &'static str,
    }

    impl<P: Platform> Done<P> {
        /// A one-shot signal (target 1).
        pub fn new(name: &'static str) -> Arc<Self> {
            Self::with_target(name, 1)
        }

        /// A counter whose waiters return once `target` hits happened.
        pub fn with_target(name: &'static str, target: u32) -> Arc<Self> {
            Arc::new(Done { count: P::AtomicU32::new(0), target, waiters: Default::default(), name })
        }

        /// Count one (any thread).
        pub fn hit(&self) {
            let n = self.count.fetch_add(1, Ordering::AcqRel) + 1;
            rcu_core::rcu_trace!(P, "[scenario] {} {}/{}", self.name, n, self.target);
            // Waiters re-check their own count: wake them all.
            let ws = self.waiters.lock().unwrap().clone();
            for w in &ws {
                rcu_core::runtime::unpark(w);
            }
        }

        /// Wait until `n` hits happened.  If they never do, the run deadlocks
        /// here and the report names what was awaited.
        pub fn wait_for(&self, n: u32, what: &str) {
            let me = rcu_core::runtime::current::<P>();
            self.waiters.lock().unwrap().push(me.clone());
            loop {
                // An RMW reads the newest value: no stale "not yet".
                if self.count.fetch_add(0, Ordering::AcqRel) >= n {
                    return;
                }
                me.hint(what);
                me.set_blocked(format!("wait({})", self.name));
                me.park();
                me.clear_blocked();
            }
        }

        /// How many so far (harness view).
        pub fn peek(&self) -> u32 {
            self.count.load(Ordering::Relaxed)
        }
    }

    /// A gate that opens once ([`Done::hit`]), for any number of waiters.
    pub type Gate<P> = Done<P>;

    /// A modelled TCG vCPU (accel/tcg/tcg-accel-ops-mttcg.c and cpu-exec.c):
    /// a registered reader that sits in one read-side critical section
    /// (`RCU_READ_LOCK_GUARD()` around cpu_exec() with a busy guest) until its
    /// force_rcu notifier kicks it out (`async_run_on_cpu(cpu, do_nothing)` +
    /// `qemu_cpu_kick`), as MTTCG registers and removes that notifier.  The
    /// kick itself is scaffolding (an exit request and park/unpark), like [`Done`].
    pub struct Vcpu<P: Platform> {
        /// `cpu->exit_request`.
        exit_request: P::AtomicBool,
        /// The vCPU thread, once it runs.
        thread: std::sync::Mutex<Option<Arc<rcu_core::runtime::ThreadCtx<P>>>>,
        /// Hit each time the vCPU enters cpu_exec().
        pub in_cs: Arc<Done<P>>,
        /// The scenario asked the vCPU to stop (not re-enter cpu_exec()).
        stop: P::AtomicBool,
        /// The vCPU thread removes its notifier and unregisters only once this
        /// opens (after the RCU thread stopped), so that its exit does not race
        /// a grace period the scenario is not about.
        pub exit: Arc<Done<P>>,
    }

    /// Notifier identity for the vCPU's force_rcu notifier.
    pub const VCPU_NOTIFIER: u64 = 0x7c9;

    impl<P: Platform> Vcpu<P> {
        /// A vCPU.
        pub fn new() -> Arc<Self> {
            Arc::new(Vcpu {
                exit_request: P::AtomicBool::new(false),
                thread: Default::default(),
                in_cs: Done::new("cpu.in_cs"),
                stop: P::AtomicBool::new(false),
                exit: Done::new("cpu.exit"),
            })
        }

        /// `qemu_cpu_kick()`: make the vCPU leave its current critical
        /// section (or its next one at once).  The force_rcu notifier calls
        /// it; `rcu-check bench` also calls it as the guest's timer tick and
        /// as a watchdog (scaffolding, like the rest of this type).
        pub fn kick(&self) {
            self.exit_request.swap(true, Ordering::AcqRel);
            if let Some(t) = self.thread.lock().unwrap().clone() {
                rcu_core::runtime::unpark(&t);
            }
        }

        /// The vCPU thread body: register, add the notifier, run cpu_exec()
        /// up to `rounds` times or until [`Vcpu::stop_and_kick`] (each time one
        /// critical section, left only when kicked), then (at teardown) remove
        /// the notifier and unregister.
        pub fn run(self: &Arc<Self>, rcu: &Arc<Rcu<P>>, exec_obs: &Arc<Obs>, rounds: u32) {
            let me_ctx = rcu_core::runtime::current::<P>();
            *self.thread.lock().unwrap() = Some(me_ctx.clone());
            rcu.rcu_register_thread();
            let me = self.clone();
            let obs = exec_obs.clone();
            rcu.rcu_add_force_rcu_notifier(Notifier {
                id: VCPU_NOTIFIER,
                name: "mttcg_force_rcu".into(),
                notify: Arc::new(move || {
                    // async_run_on_cpu(cpu, do_nothing, RUN_ON_CPU_NULL): queue
                    // work and kick the vCPU out of cpu_exec().
                    obs.add("vcpu_kicked_by_notifier", 1);
                    rcu_core::rcu_trace!(P, "async_run_on_cpu(vcpu, do_nothing): kick");
                    me.kick();
                }),
            });
            for _ in 0..rounds {
                if self.stop.fetch_or(false, Ordering::AcqRel) {
                    break;
                }
                // cpu_exec(): RCU_READ_LOCK_GUARD(); the guest busy-loops until
                // an exit request.
                rcu.rcu_read_lock();
                self.in_cs.hit();
                loop {
                    if self.exit_request.swap(false, Ordering::AcqRel) {
                        break;
                    }
                    me_ctx.hint("vCPU in cpu_exec(): guest busy-loops inside rcu_read_lock()");
                    me_ctx.set_blocked("cpu_exec()".into());
                    me_ctx.park();
                    me_ctx.clear_blocked();
                }
                rcu.rcu_read_unlock();
            }
            self.exit.wait_for(1, "vCPU thread waits for the scenario's teardown before exiting");
            rcu.rcu_remove_force_rcu_notifier(VCPU_NOTIFIER);
            rcu.rcu_unregister_thread();
        }

        /// Teardown: make the vCPU leave (like `cpu_exit` from the main loop).
        pub fn stop_and_kick(&self) {
            self.stop.swap(true, Ordering::AcqRel);
            self.kick();
        }

        /// Wait until the vCPU entered cpu_exec() once.
        pub fn wait_in_cs(&self) {
            self.in_cs.wait_for(1, "waiting for the vCPU to enter cpu_exec()");
        }
    }
}
