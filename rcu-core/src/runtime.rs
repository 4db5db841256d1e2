//! The per-run context: configuration, threads, thread-locals, diagnostics.
//!
//! Everything a model run needs lives in a [`Runtime`] that the run creates
//! (under loom: once per execution).  There is no process-global model state:
//! loom cannot construct its objects in statics and shuttle would keep their
//! values across executions (checkers.md §0.3).  Each model thread has a
//! [`ThreadCtx`] in the *backend's* thread-local slot ([`Platform::ctx_slot`]),
//! never in `std::thread_local!`, which loom and shuttle share between all model
//! threads (checkers.md §0.4).
//!
//! Scaffolding that the checkers must not explore (thread names, the
//! "who is blocked on what" table, probe counters) uses std types on purpose: it
//! is never held across a model operation and carries no synchronisation the
//! model relies on.
#![allow(clippy::disallowed_types)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering as StdOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::platform::{Ordering, Platform, RawAtomic, RawParker};
use crate::site::MutationSet;
use crate::timer::Timer;

/// Whether `qemu_event_timedwait` / `qemu_sem_timedwait` can time out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeouts {
    /// Under loom/shuttle a timer thread may fire any armed timeout at any
    /// point of the schedule (both outcomes explored, replayable); under std the
    /// clock decides.
    Fire,
    /// Timeouts never fire: a timed wait is a plain wait.  A version that needs
    /// a timeout to make progress then deadlocks, which is the point.
    Never,
}

/// Which QemuEvent implementation the run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventImpl {
    /// util/event.c at the MASTER base (futex path; 9586a1329f + 6e2d11bf04).
    Current,
    /// The futex path before 9586a1329f (2023): no `smp_mb__after_rmw()` after
    /// reset's OR and set's xchg, and wait does not loop on spurious wake-ups.
    Pre2023,
}

/// What an access to [`Guarded`](crate::mutex::Guarded) data without its lock does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockCheck {
    /// Fail the run with `[unlocked-access]` (the default).
    Fail,
    /// Count it (probe `unlocked_access`) and go on, so that a scenario about
    /// another property can still judge a version that has this defect.
    /// loom still reports a *concurrent* unsynchronised access as a race.
    Count,
}

/// How `rcu_gp_ctr` advances (MASTER rcu.c:158-170).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpMode {
    /// `sizeof(long) == 8`: add `RCU_GP_CTR` once per grace period.  `bits` is
    /// the counter width (64 on real hosts; narrow widths make wrap-around
    /// reachable: with 2 bits the increment degenerates to a single parity flip).
    Increment {
        /// Counter width in bits (2..=64).
        bits: u32,
    },
    /// `sizeof(long) < 8`: flip the parity bit, wait, flip back, wait.
    TwoPhase,
}

/// Immutable configuration of one run (one loom/shuttle check or one std run).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Barrier mutations.
    pub mutations: MutationSet,
    /// Timeout behaviour.
    pub timeouts: Timeouts,
    /// QemuEvent implementation.
    pub event_impl: EventImpl,
    /// Grace-period counter mode.
    pub gp_mode: GpMode,
    /// Initial value of `rcu_gp_ctr` (`RCU_GP_LOCKED` in QEMU); a large value
    /// reaches the 32-bit truncation in rcu_read_lock().
    pub gp_ctr_init: u64,
    /// Non-zero: emit trace events tagged with this capture ID.
    pub capture: u64,
    /// Unlocked access to lock-protected data: fail or count.
    pub lock_check: LockCheck,
    /// Number of per-thread reader slots (the TLS `rcu_reader` of each thread).
    pub max_threads: usize,
    /// Number of `rcu_head`s the callback arena can hand out.
    pub max_heads: usize,
    /// loom only: make every `fence(SeqCst)` an event of the exploration (see
    /// [`crate::platform::loom_backend`]).  Off only in the test that shows
    /// what plain loom misses.
    pub loom_fence_events: bool,
    /// The memory-model profile the accesses are issued under.
    pub profile: crate::site::Profile,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            mutations: MutationSet::none(),
            timeouts: Timeouts::Fire,
            event_impl: EventImpl::Current,
            gp_mode: GpMode::Increment { bits: 64 },
            gp_ctr_init: 1,
            capture: 0,
            lock_check: LockCheck::Fail,
            max_threads: 16,
            max_heads: 32,
            loom_fence_events: true,
            profile: crate::site::Profile::C11,
        }
    }
}

/// Scaffolding shared with the harness: survives the run, holds no model objects.
#[derive(Default)]
pub struct Diag {
    threads: Mutex<Vec<String>>,
    blocked: Mutex<BTreeMap<usize, String>>,
    probes: Mutex<BTreeMap<&'static str, u64>>,
    first_panic: Mutex<Option<String>>,
    race_ctx: Mutex<Option<String>>,
}

impl fmt::Debug for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diag").field("blocked", &self.blocked_report()).finish()
    }
}

impl Diag {
    /// Record a model thread's panic (the first one wins).  On real threads a
    /// panicking thread other than main is otherwise only seen when joined,
    /// which may never happen if the others wait for it.
    pub fn record_panic(&self, thread: &str, msg: &str) {
        let mut f = self.first_panic.lock().unwrap();
        if f.is_none() {
            *f = Some(format!("{msg} (in thread {thread})"));
        }
    }

    /// Describe the race-checked access about to be made (both accesses of a
    /// race loom reports next are then named); `None` once it is made.
    pub fn set_race_context(&self, what: Option<String>) {
        *self.race_ctx.lock().unwrap() = what;
    }

    /// The race-checked access in progress when the run failed, if any.
    pub fn race_context(&self) -> Option<String> {
        self.race_ctx.lock().unwrap().clone()
    }

    /// The first panic recorded with [`Diag::record_panic`], if any.
    pub fn first_panic(&self) -> Option<String> {
        self.first_panic.lock().unwrap().clone()
    }

    /// Name of thread `id`.
    pub fn thread_name(&self, id: usize) -> String {
        self.threads.lock().unwrap().get(id).cloned().unwrap_or_else(|| format!("t{id}"))
    }

    /// All thread names, by ID.
    pub fn thread_names(&self) -> Vec<String> {
        self.threads.lock().unwrap().clone()
    }

    /// Which thread is blocked on what, right now.
    pub fn blocked(&self) -> Vec<(String, String)> {
        let b = self.blocked.lock().unwrap();
        b.iter().map(|(id, what)| (self.thread_name(*id), what.clone())).collect()
    }

    /// One line: `main: qemu_event_wait(sync.complete_event) in drain_call_rcu; …`.
    pub fn blocked_report(&self) -> String {
        let b = self.blocked();
        if b.is_empty() {
            return "no thread recorded as blocked".into();
        }
        b.iter().map(|(t, w)| format!("{t}: {w}")).collect::<Vec<_>>().join("; ")
    }

    /// Count of a probe.
    pub fn probe(&self, name: &str) -> u64 {
        self.probes.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    /// All probes.
    pub fn probes(&self) -> BTreeMap<String, u64> {
        self.probes.lock().unwrap().iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn bump(&self, name: &'static str, by: u64) {
        *self.probes.lock().unwrap().entry(name).or_default() += by;
    }
}

/// One model run's context.
pub struct Runtime<P: Platform> {
    /// Configuration.
    pub cfg: Arc<RunConfig>,
    /// Scaffolding the harness reads after the run (even after a failure).
    pub diag: Arc<Diag>,
    next_tid: AtomicUsize,
    pub(crate) timer: Timer<P>,
    /// A word every `fence(SeqCst)` updates first, under loom only: see
    /// [`crate::platform::loom_backend`] ("fences are not events").
    #[cfg_attr(not(feature = "loom"), allow(dead_code))]
    pub(crate) sc_fence_order: P::AtomicU32,
}

impl<P: Platform> fmt::Debug for Runtime<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("platform", &P::NAME).finish()
    }
}

/// The per-thread context, in the backend's thread-local slot.
pub struct ThreadCtx<P: Platform> {
    /// Thread index: 0 for the run's main thread, then creation order.  Also the
    /// index of the thread's `rcu_reader` slot.
    pub id: usize,
    /// Name (as given to `qemu_thread_create`).
    pub name: String,
    /// The run.
    pub rt: Arc<Runtime<P>>,
    /// Where this thread parks.
    pub parker: P::Parker,
    /// Says why the thread's next blocking wait happens (for deadlock reports).
    hint: Mutex<Option<String>>,
    /// Non-zero while a primitive (QemuEvent, …) traces one summary line
    /// instead of its individual atomic operations.
    quiet: AtomicU32,
}

impl<P: Platform> fmt::Debug for ThreadCtx<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThreadCtx({}:{})", self.id, self.name)
    }
}

impl<P: Platform> Runtime<P> {
    /// Create a run.  Under loom/shuttle call this inside the model closure.
    pub fn new(cfg: Arc<RunConfig>, diag: Arc<Diag>) -> Arc<Self> {
        diag.threads.lock().unwrap().clear();
        diag.blocked.lock().unwrap().clear();
        Arc::new(Runtime {
            cfg,
            diag,
            next_tid: AtomicUsize::new(0),
            timer: Timer::new(),
            sc_fence_order: RawAtomic::new(0),
        })
    }

    /// Make the calling thread this run's main thread (ID 0) and return its context.
    pub fn enter(self: &Arc<Self>, name: &str) -> Arc<ThreadCtx<P>> {
        let id = self.alloc_id(name);
        let ctx = self.new_ctx(id, name.to_string());
        P::ctx_slot(|s| *s.borrow_mut() = Some(ctx.clone()));
        ctx
    }

    /// Undo [`Runtime::enter`] (needed on std, where the OS thread outlives the run).
    pub fn leave(&self) {
        P::ctx_slot(|s| *s.borrow_mut() = None);
    }

    fn alloc_id(&self, name: &str) -> usize {
        let id = self.next_tid.fetch_add(1, StdOrdering::Relaxed);
        assert!(
            id < self.cfg.max_threads,
            "more than {} threads in one run (raise RunConfig::max_threads)",
            self.cfg.max_threads
        );
        {
            let mut names = self.diag.threads.lock().unwrap();
            if names.len() <= id {
                names.resize(id + 1, String::new());
            }
            names[id] = name.to_string();
        }
        id
    }

    fn new_ctx(self: &Arc<Self>, id: usize, name: String) -> Arc<ThreadCtx<P>> {
        Arc::new(ThreadCtx {
            id,
            name,
            rt: self.clone(),
            parker: P::Parker::new(),
            hint: Mutex::new(None),
            quiet: AtomicU32::new(0),
        })
    }

    /// Count one occurrence of an interesting window (positive controls).
    pub fn probe(&self, name: &'static str) {
        self.diag.bump(name, 1);
    }

    /// Start the model timer thread if this run needs one (loom/shuttle with
    /// [`Timeouts::Fire`]).  It costs one of loom's five threads.
    pub fn start_timer(self: &Arc<Self>) {
        if !P::HAS_TIME && self.cfg.timeouts == Timeouts::Fire {
            Timer::start(self);
        }
    }

    /// Stop and join the timer thread, if running.
    pub fn stop_timer(&self) {
        self.timer.stop();
    }
}

/// The calling thread's context.  Panics outside a run.
pub fn current<P: Platform>() -> Arc<ThreadCtx<P>> {
    P::ctx_slot(|s| s.borrow().clone())
        .expect("not inside a qrcu-check run: call Runtime::enter() or spawn with qemu_thread_create()")
}

/// The calling thread's context, if any.
pub fn try_current<P: Platform>() -> Option<Arc<ThreadCtx<P>>> {
    P::ctx_slot(|s| s.borrow().clone())
}

impl<P: Platform> ThreadCtx<P> {
    /// Emit a trace line for the counterexample table (no-op unless capturing).
    #[inline]
    pub fn trace(&self, args: fmt::Arguments<'_>) {
        if self.rt.cfg.capture != 0 {
            tracing::info!(
                target: "rcu",
                capture = self.rt.cfg.capture,
                tid = self.id as u64,
                thread = %self.name,
                "{}",
                args
            );
        }
    }

    /// Whether individual operations should trace (capturing, and not inside a
    /// primitive that traces a summary line instead).
    #[inline]
    pub fn tracing(&self) -> bool {
        self.rt.cfg.capture != 0 && self.quiet.load(StdOrdering::Relaxed) == 0
    }

    /// Whether trace lines are captured at all.
    #[inline]
    pub fn capturing(&self) -> bool {
        self.rt.cfg.capture != 0
    }

    /// Run `f` with per-operation tracing suppressed.
    pub fn quietly<R>(&self, f: impl FnOnce() -> R) -> R {
        self.quiet.fetch_add(1, StdOrdering::Relaxed);
        struct Undo<'a>(&'a AtomicU32);
        impl Drop for Undo<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, StdOrdering::Relaxed);
            }
        }
        let _u = Undo(&self.quiet);
        f()
    }

    /// Say why the next blocking wait of this thread happens; it is appended
    /// to the deadlock report (e.g. "dequeue loop: a producer has not linked its node").
    pub fn hint(&self, why: &str) {
        *self.hint.lock().unwrap() = Some(why.to_string());
    }

    /// Park until [`unpark`]ed.  May return spuriously; callers re-check.
    pub fn park(&self) {
        self.parker.park();
    }

    /// Take the pending hint (a primitive that blocks internally sets it
    /// aside and puts it back with [`ThreadCtx::restore_hint`]).
    pub fn take_hint(&self) -> Option<String> {
        self.hint.lock().unwrap().take()
    }

    /// Put back a hint taken with [`ThreadCtx::take_hint`].
    pub fn restore_hint(&self, h: Option<String>) {
        *self.hint.lock().unwrap() = h;
    }

    /// Drop a pending hint (the wait it was meant for did not block).
    pub fn drop_hint(&self) {
        self.hint.lock().unwrap().take();
    }

    /// Record that this thread is about to block on `what` (for deadlock reports).
    pub fn set_blocked(&self, what: String) {
        let what = match self.hint.lock().unwrap().take() {
            Some(h) => format!("{what} [{h}]"),
            None => what,
        };
        self.rt.diag.blocked.lock().unwrap().insert(self.id, what);
    }

    /// This thread is running again.
    pub fn clear_blocked(&self) {
        self.rt.diag.blocked.lock().unwrap().remove(&self.id);
    }
}

/// Wake `t` from [`ThreadCtx::park`] (or make its next park return at once).
pub fn unpark<P: Platform>(t: &ThreadCtx<P>) {
    t.parker.unpark();
}

/// Emit a trace line from the current thread: `rcu_trace!("enqueue({}): …", x)`.
#[macro_export]
macro_rules! rcu_trace {
    ($P:ty, $($arg:tt)*) => {{
        if let Some(ctx) = $crate::runtime::try_current::<$P>() {
            if ctx.tracing() {
                ctx.trace(format_args!($($arg)*));
            }
        }
    }};
}

/// A model thread (`QemuThread`).
pub struct QemuThread<P: Platform> {
    join: Option<P::Join>,
    exit: Arc<ExitHandshake<P>>,
    /// Thread index.
    pub id: usize,
    /// Name.
    pub name: String,
}

impl<P: Platform> fmt::Debug for QemuThread<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QemuThread({}:{})", self.id, self.name)
    }
}

/// The end of a thread, as its joiner sees it: an `exited` flag (read and
/// written only by read-modify-writes, so the joiner never reads a stale
/// value) and the joiner to unpark.  Scaffolding: no QEMU site.
struct ExitHandshake<P: Platform> {
    exited: P::AtomicBool,
    joiner: Mutex<Option<Arc<ThreadCtx<P>>>>,
}

/// `qemu_thread_create()`: spawn a model thread that runs `f` with its own
/// [`ThreadCtx`].  Unlike QEMU's `QEMU_THREAD_DETACHED`, every thread is joined.
pub fn qemu_thread_create<P: Platform>(name: &str, f: impl FnOnce() + Send + 'static) -> QemuThread<P> {
    let parent = current::<P>();
    let rt = parent.rt.clone();
    let name_s = name.to_string();
    // The ID is allocated by the creator, so IDs follow the creating thread's
    // program order and are the same in every execution of a deterministic model.
    let id = rt.alloc_id(name);
    let ctx_name = name_s.clone();
    parent.trace(format_args!("qemu_thread_create({name})"));
    let exit = Arc::new(ExitHandshake::<P> { exited: RawAtomic::new(false), joiner: Mutex::new(None) });
    let exit2 = exit.clone();
    let join = P::spawn(
        name_s.clone(),
        Box::new(move || {
            let ctx = rt.new_ctx(id, ctx_name);
            P::ctx_slot(|s| *s.borrow_mut() = Some(ctx));
            f();
            exit2.exited.swap(true, Ordering::AcqRel);
            let joiner = exit2.joiner.lock().unwrap().take();
            if let Some(j) = joiner {
                unpark(&j);
            }
            P::ctx_slot(|s| *s.borrow_mut() = None);
        }),
    );
    QemuThread { join: Some(join), exit, id, name: name_s }
}

impl<P: Platform> QemuThread<P> {
    /// `qemu_thread_join()`: wait for the thread; re-raise its panic.
    pub fn join(mut self) {
        let me = current::<P>();
        *self.exit.joiner.lock().unwrap() = Some(me.clone());
        while !self.exit.exited.fetch_or(false, Ordering::AcqRel) {
            me.set_blocked(format!("qemu_thread_join({})", self.name));
            me.park();
            me.clear_blocked();
        }
        let r = P::join(self.join.take().expect("joined twice"));
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
    }
}

/// `g_usleep()`: real sleep under std; [`Platform::model_sleep`] under loom and
/// shuttle, which have no time.  Every `g_usleep` in util/rcu.c sits in a loop
/// bounded by a counter (`tries`, `sleeps`), so no model spins.
pub fn g_usleep<P: Platform>(us: u64) {
    if let Some(ctx) = try_current::<P>() {
        ctx.rt.probe("poll_sleep");
        ctx.trace(format_args!("g_usleep({us})"));
    }
    if P::HAS_TIME {
        std::thread::sleep(Duration::from_micros(us));
    } else {
        P::model_sleep();
    }
}
