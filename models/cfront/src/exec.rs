//! The interpreter, generic over rcu-core's [`Platform`].
//!
//! # Memory
//! One address space of allocations (globals at fixed addresses; heap, stack
//! and thread-local instances from a bump allocator; addresses are never
//! reused, so a stale pointer always finds its freed allocation).  Each
//! naturally aligned scalar location of an allocation is a *slot*: a backend
//! atomic that holds its value plus a `P::Cell<()>` shadow for the race check.
//! Typed objects (globals, `alloca`s, thread-locals) get their slots from their
//! LLVM type when they come to life, created by the thread that creates the
//! object (loom counts a creation as a write by the creating thread, so a slot
//! created lazily by a reader would report a false race).  `malloc`ed memory
//! has no type: its slots are created by the first access (in C, the
//! initialising store).
//!
//! * plain load: `shadow.with`, then a relaxed load of the slot's atomic;
//! * plain store: `shadow.with_mut`, then a relaxed store;
//! * atomic access: `shadow.with`, then the backend atomic with the IR's ordering
//!   (monotonic → Relaxed, acquire, release, acq_rel, seq_cst);
//! * fence: [`Platform::fence`] (under loom a SeqCst fence is also made an
//!   exploration event by rcu-core's loom backend);
//! * `free`: the block is marked freed: a later access is `[use-after-free]`,
//!   a second free `[double-free]`; with [`Options::free_races`] also a
//!   `shadow.with_mut` on every slot (C11's view of `free`).
//!
//! So under loom a plain write that is unordered with any other access to the
//! same location is a data race: loom's "Causality violation", re-raised as
//! `cfront: [data-race] <access> of <object> races (…) at file:line`.  Not detected: a
//! plain *read* racing with an *atomic* write (both are `with`); the plain read
//! then just reads some store that loom allows.  Race-free plain accesses read
//! the latest write, as coherence forces.
//!
//! LLVM's memory model differs from C11's in one way that `-O2` uses: a racing
//! plain *load* returns `undef` instead of being undefined behaviour, so
//! SimplifyCFG turns `if (flag) r = data;` into an unconditional load of `data`
//! feeding a `select`.  Such a speculated load is race-checked when the
//! `select` picks its value (`program::mark_speculative_loads` says exactly
//! which loads qualify); every other plain load is checked when it executes.
//!
//! Mixed-size accesses to one location (e.g. a 4-byte access into an 8-byte
//! slot) are reported as `[unsupported]`.
//!
//! # Failures
//! Every failure is a panic whose message starts with `cfront: [kind]` and
//! ends with the C `file:line` and the thread: under loom/shuttle it fails the
//! execution with that message; on std threads it fails the run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as StdOrdering};
use std::sync::{Arc, Mutex, MutexGuard};

use rcu_core::futex::{WaitQueue, WaitResult};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock, QemuMutex};
use rcu_core::platform::{Ordering, Platform, RawAtomic, RawCell};
use rcu_core::runtime::{current, qemu_thread_create, Diag, QemuThread, RunConfig, Runtime};
use rcu_core::sem::{qemu_cond_broadcast, qemu_cond_signal, qemu_cond_timedwait, QemuCond};
use rcu_core::site::Mutation;

use crate::program::{
    sext, BinOp, Block, Callee, CastOp, Extern, Func, Op, Opnd, Program, RmwOp, Term, DYN_BASE, FUNC_BASE,
};
use llvm_ir::IntPredicate;

/// What one execution observed: the `cfront_observe` calls, in order, and the
/// entry function's return value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `(name, value)` in call order (per thread program order; across threads
    /// in the order the calls happened).
    pub observations: Vec<(String, i64)>,
    /// The entry function's return value.
    pub ret: u64,
}

impl Outcome {
    /// `r1=0 r2=1`: the observations sorted by name (so that the order in which
    /// threads observed does not split one outcome into several).
    pub fn key(&self) -> String {
        let mut o = self.observations.clone();
        o.sort();
        o.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// Run `entry` (no arguments, or zeros) of `prog` to completion on backend `P`,
/// after the program's constructors (`__attribute__((constructor))`).
/// Call it inside the model closure (`loom::model`, `shuttle::check_*`) or
/// directly for std.  Fails (panics) with a `cfront: [kind] …` message.
pub fn run<P: Platform>(prog: &Arc<Program>, entry: &str) -> Outcome {
    run_with::<P>(prog, entry, &Options::default())
}

/// Choices of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Treat `free()` as a write to the whole block for the race check (C11:
    /// "memory allocation functions behave as though they accessed the memory
    /// locations accessible through their arguments"), so a reader's access
    /// that does not *happen before* the free is a data race even when it ran
    /// earlier.  Off by default, as in the Rust scenarios (scenarios'
    /// catalog/gp.rs): QEMU's grace period orders the readers' critical
    /// sections before the free through a relaxed load of `ctr` and the control
    /// dependency to the free (no load buffering, as in the LKMM), which C11 does
    /// not count; strict mode reports that in every version.  Without it, a free
    /// still fails every access that runs after it (`[use-after-free]`).
    pub free_races: bool,
}

/// [`run`] with [`Options`].
pub fn run_with<P: Platform>(prog: &Arc<Program>, entry: &str, opts: &Options) -> Outcome {
    let Some(&f) = prog.func_by_name.get(entry).filter(|&&i| prog.funcs[i as usize].blocks.is_some()) else {
        panic!("cfront: [bad-entry] no function `{entry}` defined in the program");
    };
    let rt = Runtime::<P>::new(Arc::new(RunConfig::default()), Arc::new(Diag::default()));
    rt.enter("main");
    // Constructors (QEMU's rcu_init) run in every execution, before the entry.
    let inst = Instance::<P>::start(prog, opts);
    let nparams = prog.funcs[f as usize].nparams;
    let ret = inst.call_id(f, &vec![0; nparams]);
    let observations = std::mem::take(&mut *lock(&inst.m.obs));
    rt.leave();
    Outcome { observations, ret }
}

/// The program in one execution, for a harness written in Rust: its memory
/// and constructors ([`Instance::start`]), calls into it from any thread of
/// the run ([`Instance::call`]; each thread keeps its thread-locals across
/// calls), Rust closures the C calls back (`cfront_callback`,
/// `cfront_notify`), and the end of the threads the C created.
pub struct Instance<P: Platform> {
    m: Arc<Machine<P>>,
}

impl<P: Platform> std::fmt::Debug for Instance<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Instance({})", P::NAME)
    }
}

/// What the interpreter reports to a watcher ([`Instance::start_watched`]).
#[derive(Debug)]
pub enum Event<'a> {
    /// A call is about to be made (defined or environment function).
    Call {
        /// The callee.
        callee: &'a str,
        /// Its arguments.
        args: &'a [u64],
        /// The call site.
        loc: u32,
    },
    /// That call returned.
    Returned {
        /// The callee.
        callee: &'a str,
        /// Its arguments.
        args: &'a [u64],
        /// The call site.
        loc: u32,
    },
    /// An atomic access (load, store, read-modify-write, compare-exchange),
    /// after it took effect.
    Atomic {
        /// The location.
        addr: u64,
        /// The value it read, if it reads.
        read: Option<u64>,
        /// The value it wrote, if it wrote.
        wrote: Option<u64>,
        /// The instruction's location id ([`Program::loc_line`]).
        loc: u32,
    },
}

/// A watcher: see [`Instance::start_watched`].
pub type Watch<P> = Arc<dyn Fn(&View<'_, P>, &Event<'_>) + Send + Sync>;

/// What a watcher may look at: the program, the calling thread, memory as
/// last written (no model access), the other threads' calls in progress.
pub struct View<'a, P: Platform> {
    th: &'a Th<P>,
}

impl<P: Platform> View<'_, P> {
    /// The program.
    pub fn program(&self) -> &Program {
        &self.th.prog
    }

    /// The calling thread's name.
    pub fn thread(&self) -> &str {
        &self.th.st.name
    }

    /// The address of the calling thread's instance of thread-local `name`.
    pub fn tls(&self, name: &str) -> Option<u64> {
        tls_of(&self.th.prog, &self.th.st, name)
    }

    /// The value last written to the `size`-byte location at `addr`, in
    /// execution order, without a model access (`None`: no such location).
    pub fn peek(&self, addr: u64, size: u8) -> Option<u64> {
        self.th.m.peek(addr, size)
    }

    /// Count a diagnostic probe (the rcu-core run's `Diag`), as the Rust
    /// ports' `rt.probe(…)` calls do.
    pub fn probe(&self, name: &'static str) {
        if let Some(ctx) = rcu_core::runtime::try_current::<P>() {
            ctx.rt.probe(name);
        }
    }

    /// Whether the calling thread has a call in progress whose call site is
    /// in one of `locs`.
    pub fn self_in(&self, locs: &std::collections::BTreeSet<u32>) -> bool {
        lock(&self.th.st.frames).iter().any(|l| locs.contains(l))
    }

    /// Whether a thread other than the caller has a call in progress whose
    /// call site is in one of `locs` (e.g. a function's lines: the thread is
    /// inside it, blocked or not).
    pub fn others_in(&self, locs: &std::collections::BTreeSet<u32>) -> bool {
        let ths: Vec<Arc<ThState>> = lock(&self.th.m.ths).values().cloned().collect();
        ths.iter().filter(|t| !Arc::ptr_eq(t, &self.th.st)).any(|t| lock(&t.frames).iter().any(|l| locs.contains(l)))
    }
}

fn tls_of(prog: &Program, st: &ThState, name: &str) -> Option<u64> {
    prog.globals.iter().position(|g| g.tls && g.name == name).map(|i| st.tls[i])
}

/// A function of the program, resolved once ([`Instance::func`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncId(pub(crate) u32);

impl<P: Platform> Instance<P> {
    /// Bring the program's globals to life and run its constructors
    /// (QEMU's `rcu_init`) on the calling thread, which must belong to a
    /// rcu-core run ([`Runtime::enter`] or a `qemu_thread_create` thread).
    pub fn start(prog: &Arc<Program>, opts: &Options) -> Self {
        Self::start_watched(prog, opts, None)
    }

    /// [`Instance::start`] with a watcher that sees every call, return and
    /// atomic access of the program (the constructors' included), on the
    /// thread that makes it.  A watcher is scaffolding: it must not call into
    /// the program; it reads memory with [`View::peek`] (no model access) and
    /// counts with [`View::probe`].
    pub fn start_watched(prog: &Arc<Program>, opts: &Options, watch: Option<Watch<P>>) -> Self {
        let m = Arc::new(Machine::<P>::new(prog.clone(), opts.clone(), watch));
        m.init_globals();
        let mut t = Th::current(&m, u32::MAX);
        for &c in &prog.ctors {
            t.call(c, Vec::new());
        }
        Instance { m }
    }

    /// The defined function `name`, if any.
    pub fn func(&self, name: &str) -> Option<FuncId> {
        self.m.prog.func(name)
    }

    /// The address of global `name` (not thread-local), if defined.
    pub fn global(&self, name: &str) -> Option<u64> {
        self.m.prog.globals.iter().find(|g| g.name == name && !g.tls && !g.external).map(|g| g.addr)
    }

    /// Call `f` with `args` on the calling thread; returns its value.  Fails
    /// (panics) with a `cfront: [kind] …` message, as [`run`] does.
    pub fn call(&self, f: FuncId, args: &[u64]) -> u64 {
        self.call_id(f.0, args)
    }

    fn call_id(&self, f: u32, args: &[u64]) -> u64 {
        let mut t = Th::current(&self.m, u32::MAX);
        let mut a = args.to_vec();
        a.resize(a.len().max(self.m.prog.funcs[f as usize].nparams), 0);
        t.call(f, a)
    }

    /// [`Instance::call`], counted as pending work for [`Instance::stop_at`]
    /// while it runs (e.g. `synchronize_rcu()`, whose callback the stopping
    /// thread still has to run).
    pub fn call_pending(&self, f: FuncId, args: &[u64]) -> u64 {
        self.m.pending.fetch_add(1, StdOrdering::Relaxed);
        let r = self.call(f, args);
        self.m.pending.fetch_sub(1, StdOrdering::Relaxed);
        r
    }

    /// Register `f` for one `cfront_callback(id)`; returns the id.  Pending
    /// work until it has run.
    pub fn callback(&self, f: impl FnOnce() + Send + 'static) -> u64 {
        let id = self.m.next_id.fetch_add(1, StdOrdering::Relaxed);
        self.m.pending.fetch_add(1, StdOrdering::Relaxed);
        lock(&self.m.callbacks).insert(id, Box::new(f));
        id
    }

    /// Register `f` for any number of `cfront_notify(id)`; returns the id.
    pub fn notifier(&self, f: impl Fn() + Send + Sync + 'static) -> u64 {
        let id = self.m.next_id.fetch_add(1, StdOrdering::Relaxed);
        lock(&self.m.notifiers).insert(id, Arc::new(f));
        id
    }

    /// Harness scaffolding: the thread created to run `entry` exits (as by
    /// `pthread_exit`) when it is about to wait on a futex inside global
    /// `global` (a QemuEvent's value), or reaches `cfront_idle_point()` on
    /// it (the environment's `qemu_sem_wait()`, before it takes the
    /// semaphore's mutex), after [`Instance::request_stop`], with no pending
    /// work.  QEMU's call_rcu thread never returns; this is its way out at
    /// its idle wait, the C counterpart of the Rust ports' `request_stop`.
    /// Returns false when the program has no such function or global.
    pub fn stop_at(&self, entry: &str, global: &str) -> bool {
        let Some(f) = self.func(entry) else { return false };
        let Some(g) = self.m.prog.globals.iter().find(|g| g.name == global && !g.tls && !g.external) else {
            return false;
        };
        *lock(&self.m.stop_at) = Some((f.0, g.addr, g.addr + g.size.max(1)));
        true
    }

    /// Ask the [`Instance::stop_at`] thread to exit at its next idle wait.
    pub fn request_stop(&self) {
        self.m.stop.store(true, StdOrdering::Relaxed);
    }

    /// Join every thread the program created and nobody joined (detached
    /// threads included): a thread that never ends makes this block, and the
    /// checker reports the deadlock.
    pub fn join_threads(&self) {
        loop {
            let next = {
                let mut t = lock(&self.m.threads);
                let k = t.keys().next().copied();
                k.and_then(|k| t.remove(&k))
            };
            match next {
                Some(j) => j.th.join(),
                None => return,
            }
        }
    }

    /// The value last written to the `size`-byte location at `addr`, in
    /// execution order, without a model access (harness assertions and
    /// windows only; `None`: no such location).
    pub fn peek(&self, addr: u64, size: u8) -> Option<u64> {
        self.m.peek(addr, size)
    }

    /// The address of the calling thread's instance of thread-local `name`
    /// (created on its first call into the program).
    pub fn tls(&self, name: &str) -> Option<u64> {
        let t = Th::current(&self.m, u32::MAX);
        tls_of(&self.m.prog, &t.st, name)
    }

    /// Run `f` holding the `pthread_mutex_t` at `addr` (the harness's quiet
    /// view of lock-protected data, as the Rust ports' `registry_members`);
    /// `None` when no mutex was initialised there.
    pub fn with_mutex<R>(&self, addr: u64, f: impl FnOnce() -> R) -> Option<R> {
        let mx = lock(&self.m.mutexes).get(&addr).cloned()?;
        let me = current::<P>();
        me.quietly(|| qemu_mutex_lock(&mx));
        let r = f();
        me.quietly(|| qemu_mutex_unlock(&mx));
        Some(r)
    }

    /// The `cfront_observe` calls so far.
    pub fn observations(&self) -> Vec<(String, i64)> {
        lock(&self.m.obs).clone()
    }
}

/// A name that lives as long as the process (rcu-core's mutexes take
/// `&'static str`), leaked once per distinct name.
fn intern(s: &str) -> &'static str {
    static NAMES: Mutex<std::collections::BTreeSet<&'static str>> = Mutex::new(std::collections::BTreeSet::new());
    let mut n = lock(&NAMES);
    if let Some(&k) = n.get(s) {
        return k;
    }
    let k: &'static str = Box::leak(s.to_string().into_boxed_str());
    n.insert(k);
    k
}

/// Which half of an ordering an instruction can carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    Acquire,
    Release,
    Both,
}

/// The part of `o` an instruction of kind `h` can carry (a load cannot
/// release, a store cannot acquire).
fn split_half(o: Ordering, h: Half) -> Ordering {
    let (acq, rel) = match o {
        Ordering::Relaxed => (false, false),
        Ordering::Acquire => (true, false),
        Ordering::Release => (false, true),
        _ => (true, true),
    };
    match h {
        Half::Acquire if acq => Ordering::Acquire,
        Half::Release if rel => Ordering::Release,
        Half::Both => o,
        _ => Ordering::Relaxed,
    }
}

/// The ordering an instruction uses under mutation `m` of its site: drop
/// and plain make it relaxed, weaken gives the weaker ordering (as much of it
/// as the instruction can carry).
fn mutated(o: Ordering, m: Option<Mutation>, h: Half) -> Ordering {
    match m {
        Some(Mutation::Drop) | Some(Mutation::Plain) => Ordering::Relaxed,
        Some(Mutation::Weaken(w)) => split_half(w.to_std(), h),
        // Split is applied by the RMW itself; logic operators have no C site.
        _ => o,
    }
}

fn ord_name(o: Ordering) -> &'static str {
    match o {
        Ordering::Relaxed => "relaxed",
        Ordering::Acquire => "acquire",
        Ordering::Release => "release",
        Ordering::AcqRel => "acq_rel",
        _ => "seq_cst",
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// A location's value (a backend atomic) and its race-check shadow, plus a
/// mirror of the value last written in execution order (a std atomic the
/// checkers do not see): what a harness [`Instance::peek`] or a watcher's
/// [`View::peek`] reads without adding an access to the model.
struct Slot<P: Platform> {
    size: u8,
    word: Word<P>,
    shadow: P::Cell<()>,
    mirror: AtomicU64,
}

enum Word<P: Platform> {
    W32(P::AtomicU32),
    W64(P::AtomicU64),
}

impl<P: Platform> Slot<P> {
    fn new(size: u8, v: u64) -> Self {
        let word = if size == 8 { Word::W64(RawAtomic::new(v)) } else { Word::W32(RawAtomic::new(v as u32)) };
        Slot { size, word, shadow: RawCell::new(()), mirror: AtomicU64::new(v) }
    }
    fn mirror(&self, v: u64) {
        self.mirror.store(v, StdOrdering::Relaxed);
    }
    fn load(&self, o: Ordering) -> u64 {
        match &self.word {
            Word::W32(a) => u64::from(a.load(o)),
            Word::W64(a) => a.load(o),
        }
    }
    fn store(&self, v: u64, o: Ordering) {
        match &self.word {
            Word::W32(a) => a.store(v as u32, o),
            Word::W64(a) => a.store(v, o),
        }
        self.mirror(v);
    }
    fn cas(&self, c: u64, n: u64, s: Ordering, f: Ordering) -> Result<u64, u64> {
        let r = match &self.word {
            Word::W32(a) => a.compare_exchange(c as u32, n as u32, s, f).map(u64::from).map_err(u64::from),
            Word::W64(a) => a.compare_exchange(c, n, s, f),
        };
        if r.is_ok() {
            self.mirror(n);
        }
        r
    }
    fn rmw(&self, op: RmwOp, v: u64, o: Ordering) -> u64 {
        let old = self.rmw_raw(op, v, o);
        self.mirror(rmw_value(op, old, v, u32::from(self.size) * 8));
        old
    }
    fn rmw_raw(&self, op: RmwOp, v: u64, o: Ordering) -> u64 {
        let w = u32::from(self.size) * 8;
        match (&self.word, op) {
            (Word::W32(a), RmwOp::Xchg) => return u64::from(a.swap(v as u32, o)),
            (Word::W64(a), RmwOp::Xchg) => return a.swap(v, o),
            (Word::W32(a), RmwOp::And) => return u64::from(a.fetch_and(v as u32, o)),
            (Word::W64(a), RmwOp::And) => return a.fetch_and(v, o),
            (Word::W32(a), RmwOp::Or) => return u64::from(a.fetch_or(v as u32, o)),
            (Word::W64(a), RmwOp::Or) => return a.fetch_or(v, o),
            (Word::W32(a), RmwOp::Add) if w == 32 => return u64::from(a.fetch_add(v as u32, o)),
            (Word::W64(a), RmwOp::Add) => return a.fetch_add(v, o),
            (Word::W32(a), RmwOp::Sub) if w == 32 => return u64::from(a.fetch_sub(v as u32, o)),
            (Word::W64(a), RmwOp::Sub) => return a.fetch_sub(v, o),
            _ => {}
        }
        // The rest (and sub-word add/sub, which must not carry out of the
        // location): a CAS loop, an RMW with ordering `o` once it succeeds.
        let mut old = self.load(Ordering::Relaxed);
        loop {
            let new = rmw_value(op, old, v, w);
            match self.cas(old, new, o, Ordering::Relaxed) {
                Ok(_) => return old,
                Err(cur) => old = cur,
            }
        }
    }
}

fn rmw_value(op: RmwOp, old: u64, v: u64, w: u32) -> u64 {
    let r = match op {
        RmwOp::Xchg => v,
        RmwOp::Add => old.wrapping_add(v),
        RmwOp::Sub => old.wrapping_sub(v),
        RmwOp::And => old & v,
        RmwOp::Nand => !(old & v),
        RmwOp::Or => old | v,
        RmwOp::Xor => old ^ v,
        RmwOp::Max => {
            if sext(old, w) >= sext(v, w) {
                old
            } else {
                v
            }
        }
        RmwOp::Min => {
            if sext(old, w) <= sext(v, w) {
                old
            } else {
                v
            }
        }
        RmwOp::UMax => old.max(v),
        RmwOp::UMin => old.min(v),
    };
    r & mask(w)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Global,
    Heap,
    Stack,
    Tls,
}

struct Alloc<P: Platform> {
    size: u64,
    kind: Kind,
    name: String,
    /// `Some(where)`: freed (heap) or out of scope (stack).
    freed: Option<String>,
    /// Read-only object (a `constant` global): reads come from here.
    constant: Option<Arc<Vec<u8>>>,
    /// A declared, undefined global: any access fails.
    external: bool,
    /// Initial image for slots created later (`None`: zeros).
    init: Option<Arc<Vec<u8>>>,
    slots: BTreeMap<u64, Arc<Slot<P>>>,
}

impl<P: Platform> Alloc<P> {
    fn initial(&self, off: u64, size: u8) -> u64 {
        let Some(img) = &self.init else { return 0 };
        let mut b = [0u8; 8];
        let (s, e) = (off as usize, off as usize + size as usize);
        if e <= img.len() {
            b[..size as usize].copy_from_slice(&img[s..e]);
        }
        u64::from_le_bytes(b)
    }
}

struct Mem<P: Platform> {
    allocs: BTreeMap<u64, Alloc<P>>,
    next: u64,
    heap_count: u64,
}

enum Target<P: Platform> {
    Const(u64),
    Slot(Arc<Slot<P>>),
}

/// A speculated plain load whose race check waits for its `select`.
struct Pending<P: Platform> {
    local: u32,
    slot: Arc<Slot<P>>,
    addr: u64,
    loc: u32,
}

struct Joinable<P: Platform> {
    th: QemuThread<P>,
    ret: Arc<Mutex<Option<u64>>>,
}

/// One run's machine: program, memory, threads, observations.  The std
/// mutexes are scaffolding, never held across a backend operation.
struct Machine<P: Platform> {
    prog: Arc<Program>,
    opts: Options,
    mem: Mutex<Mem<P>>,
    threads: Mutex<BTreeMap<u64, Joinable<P>>>,
    next_tid: AtomicU64,
    obs: Mutex<Vec<(String, i64)>>,
    /// `pthread_mutex_t`s by address: rcu-core's QemuMutex (futex-based, no
    /// loom Mutex), created by `pthread_mutex_init`.
    mutexes: Mutex<BTreeMap<u64, Arc<QemuMutex<P>>>>,
    /// Futex wait queues by address (the kernel's hash buckets).
    futexes: Mutex<BTreeMap<u64, Arc<WaitQueue<P>>>>,
    /// `pthread_cond_t`s by address: rcu-core's QemuCond (glibc's
    /// semantics: a signal with no waiter issues nothing), created by
    /// `pthread_cond_init`.
    conds: Mutex<BTreeMap<u64, Arc<QemuCond<P>>>>,
    /// Per rcu-core thread: its interpreter state.
    ths: Mutex<BTreeMap<usize, Arc<ThState>>>,
    /// Harness scaffolding from here on (no C11 accesses): Rust closures the
    /// C calls back by id (`cfront_callback`, `cfront_notify`).
    callbacks: Mutex<BTreeMap<u64, Callback>>,
    notifiers: Mutex<BTreeMap<u64, Notifier>>,
    next_id: AtomicU64,
    /// Work the harness started and the program has not finished: pending
    /// Rust callbacks and harness calls made with [`Instance::call_pending`].
    pending: AtomicU64,
    /// [`Instance::stop_at`]: `(entry function, object start, object end)`.
    stop_at: Mutex<Option<(u32, u64, u64)>>,
    stop: AtomicBool,
    /// [`Instance::start_watched`].
    watch: Option<Watch<P>>,
    /// The run's mutation of each C site ([`Program::csites`]), from the
    /// rcu-core run's `RunConfig::mutations` (keyed by site ID, `util/rcu.c:124`).
    muts: Vec<Option<Mutation>>,
}

type Callback = Box<dyn FnOnce() + Send>;
type Notifier = Arc<dyn Fn() + Send + Sync>;

/// The unwinding payload of `pthread_exit()` (and of a harness stop).
struct ThreadExit(u64);

/// A futex deadline this far away is no timeout (see `syscall`).
const NO_TIMEOUT_NS: u64 = 24 * 3600 * 1_000_000_000;

/// `clock_gettime()`'s clock, in nanoseconds: real time on std; under loom and
/// shuttle, which have no time, a clock that stands still (so a deadline
/// computed from it is exactly the requested timeout, and the model timer
/// decides whether the timeout fires).
fn clock_ns<P: Platform>() -> u64 {
    if P::HAS_TIME {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = *START.get_or_init(std::time::Instant::now);
        1_000_000_000 + start.elapsed().as_nanos() as u64
    } else {
        1_000_000_000
    }
}

impl<P: Platform> Machine<P> {
    fn new(prog: Arc<Program>, opts: Options, watch: Option<Watch<P>>) -> Self {
        let muts = match rcu_core::runtime::try_current::<P>() {
            Some(ctx) if !ctx.rt.cfg.mutations.is_empty() => {
                prog.csites().iter().map(|c| ctx.rt.cfg.mutations.get(&c.id)).collect()
            }
            _ => vec![],
        };
        Machine {
            watch,
            muts,
            prog,
            opts,
            mem: Mutex::new(Mem { allocs: BTreeMap::new(), next: DYN_BASE, heap_count: 0 }),
            threads: Mutex::new(BTreeMap::new()),
            next_tid: AtomicU64::new(1),
            obs: Mutex::new(Vec::new()),
            mutexes: Mutex::new(BTreeMap::new()),
            futexes: Mutex::new(BTreeMap::new()),
            conds: Mutex::new(BTreeMap::new()),
            ths: Mutex::new(BTreeMap::new()),
            callbacks: Mutex::new(BTreeMap::new()),
            notifiers: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            pending: AtomicU64::new(0),
            stop_at: Mutex::new(None),
            stop: AtomicBool::new(false),
        }
    }

    /// Bring the non-thread-local globals to life (in the run's main thread,
    /// before any other thread exists).
    fn init_globals(&self) {
        let prog = self.prog.clone();
        let mut mem = lock(&self.mem);
        for g in prog.globals.iter().filter(|g| !g.tls) {
            let mut a = Alloc {
                size: g.size,
                kind: Kind::Global,
                name: format!("global `{}`", g.name),
                freed: None,
                constant: g.constant.then(|| g.image.clone()),
                external: g.external,
                init: Some(g.image.clone()),
                slots: BTreeMap::new(),
            };
            if !g.constant {
                make_slots(&mut a, &g.leaves);
            }
            mem.allocs.insert(g.addr, a);
        }
    }

    fn peek(&self, addr: u64, size: u8) -> Option<u64> {
        let mem = lock(&self.mem);
        let (&base, a) = mem.allocs.range(..=addr).next_back()?;
        if let Some(img) = &a.constant {
            let off = (addr - base) as usize;
            let mut b = [0u8; 8];
            b[..size as usize].copy_from_slice(img.get(off..off + size as usize)?);
            return Some(u64::from_le_bytes(b));
        }
        match a.slots.get(&(addr - base)) {
            Some(s) if s.size == size => Some(s.mirror.load(StdOrdering::Relaxed)),
            Some(_) => None,
            None if addr - base + u64::from(size) <= a.size => Some(a.initial(addr - base, size)),
            None => None,
        }
    }

    fn alloc(&self, size: u64, kind: Kind, name: String, init: Option<Arc<Vec<u8>>>, leaves: &[(u64, u8)]) -> u64 {
        let mut mem = lock(&self.mem);
        let base = mem.next.next_multiple_of(16);
        mem.next = base + size.max(1) + 16;
        let mut a =
            Alloc { size, kind, name, freed: None, constant: None, external: false, init, slots: BTreeMap::new() };
        make_slots(&mut a, leaves);
        mem.allocs.insert(base, a);
        base
    }
}

fn make_slots<P: Platform>(a: &mut Alloc<P>, leaves: &[(u64, u8)]) {
    for &(off, size) in leaves {
        if off + u64::from(size) <= a.size && off % u64::from(size) == 0 {
            let v = a.initial(off, size);
            a.slots.insert(off, Arc::new(Slot::new(size, v)));
        }
    }
}

/// What an interpreted thread keeps between calls into the program: its
/// name, its thread-local instances and its `errno`.  Kept by the machine per
/// rcu-core thread, so that every call a thread makes (the C's own threads,
/// and Rust threads calling in through [`Instance::call`]) sees the same
/// thread-locals.
struct ThState {
    name: String,
    /// Address of this thread's instance of each global (0: not thread-local).
    tls: Vec<u64>,
    /// This thread's `errno` (allocated on first use).
    errno: AtomicU64,
    /// The function the thread was created to run (`u32::MAX`: a thread the
    /// harness created).
    entry: u32,
    /// With a watcher: the call sites of the calls in progress, outermost
    /// first ([`View::in_lines`]).
    frames: Mutex<Vec<u32>>,
}

/// One interpreted thread.
struct Th<P: Platform> {
    m: Arc<Machine<P>>,
    prog: Arc<Program>,
    st: Arc<ThState>,
    /// The run captures trace lines (`explain`, `replay`): checked once.
    capturing: bool,
}

impl<P: Platform> Th<P> {
    /// The calling rcu-core thread's interpreter state, created (thread-locals
    /// brought to life by this thread) on its first call into the program.
    fn current(m: &Arc<Machine<P>>, entry: u32) -> Self {
        let me = current::<P>();
        let known = lock(&m.ths).get(&me.id).cloned();
        let st = known.unwrap_or_else(|| {
            let prog = &m.prog;
            let mut tls = vec![0; prog.globals.len()];
            for (i, g) in prog.globals.iter().enumerate().filter(|(_, g)| g.tls) {
                tls[i] = m.alloc(
                    g.size,
                    Kind::Tls,
                    format!("thread-local `{}` of {}", g.name, me.name),
                    Some(g.image.clone()),
                    &g.leaves,
                );
            }
            let st = Arc::new(ThState {
                name: me.name.clone(),
                tls,
                errno: AtomicU64::new(0),
                entry,
                frames: Mutex::new(Vec::new()),
            });
            lock(&m.ths).insert(me.id, st.clone());
            st
        });
        Th { m: m.clone(), prog: m.prog.clone(), st, capturing: me.capturing() }
    }

    fn watch(&self, ev: Event<'_>) {
        if let Some(w) = &self.m.watch {
            w(&View { th: self }, &ev);
        }
    }

    /// A trace line for the counterexample table: `file:line fn: what`.
    fn trace(&self, loc: u32, what: std::fmt::Arguments<'_>) {
        if !self.capturing {
            return;
        }
        if let Some(ctx) = rcu_core::runtime::try_current::<P>() {
            if ctx.tracing() {
                let (file, line) = self.prog.loc_line(loc);
                ctx.trace(format_args!("{file}:{line} {what}"));
            }
        }
    }

    /// A short name for a location in a trace: `rcu_gp_ctr`,
    /// `rcu_reader@reader+8`, `heap#3+0`.
    fn short_name(&self, addr: u64) -> String {
        let mem = lock(&self.m.mem);
        match mem.allocs.range(..=addr).next_back() {
            Some((base, a)) => {
                let n = match a.kind {
                    Kind::Global => a.name.trim_start_matches("global ").trim_matches('`').to_string(),
                    Kind::Tls => a
                        .name
                        .strip_prefix("thread-local `")
                        .and_then(|r| r.split_once("` of "))
                        .map(|(g, t)| format!("{g}@{t}"))
                        .unwrap_or_else(|| a.name.clone()),
                    Kind::Heap | Kind::Stack => a.name.split(" (").next().unwrap_or("").to_string(),
                };
                match addr - base {
                    0 => n,
                    off => format!("{n}+{off}"),
                }
            }
            None => format!("{addr:#x}"),
        }
    }

    /// Whether `addr` is inside some object (so a number is shown as one).
    fn is_object(&self, addr: u64) -> bool {
        let mem = lock(&self.m.mem);
        mem.allocs.range(..=addr).next_back().is_some_and(|(b, a)| addr - b < a.size.max(1))
    }

    fn tracing(&self) -> bool {
        self.capturing && rcu_core::runtime::try_current::<P>().is_some_and(|c| c.tracing())
    }

    fn fail(&self, kind: &str, msg: impl std::fmt::Display, loc: u32) -> ! {
        panic!("cfront: [{kind}] {msg} at {} (thread {})", self.prog.loc(loc), self.st.name)
    }

    fn val(&self, l: &[u64], o: &Opnd) -> u64 {
        match o {
            Opnd::Const(v) => *v,
            Opnd::Local(i) => l[*i as usize],
            Opnd::Tls(g, off) => self.st.tls[*g as usize].wrapping_add(*off),
        }
    }

    // ----- memory ----------------------------------------------------------

    fn target(&self, addr: u64, size: u8, write: bool, loc: u32) -> Target<P> {
        let what = if write { "store" } else { "load" };
        let mut mem = lock(&self.m.mem);
        let Some((&base, a)) = mem.allocs.range_mut(..=addr).next_back() else {
            drop(mem);
            self.fail("invalid-access", format_args!("{size}-byte {what} at {addr:#x}, which is no object"), loc);
        };
        let off = addr - base;
        if off + u64::from(size) > a.size {
            let n = a.name.clone();
            drop(mem);
            self.fail("invalid-access", format_args!("{size}-byte {what} at {n}+{off}, past its end"), loc);
        }
        if let Some(by) = &a.freed {
            let msg = format!("{size}-byte {what} of {}+{off} ({by})", a.name);
            drop(mem);
            self.fail("use-after-free", msg, loc);
        }
        if !addr.is_multiple_of(u64::from(size)) {
            drop(mem);
            self.fail("unsupported", format_args!("misaligned {size}-byte {what} at {addr:#x}"), loc);
        }
        if a.external {
            let n = a.name.clone();
            drop(mem);
            self.fail("unsupported", format_args!("{what} of {n}, which is declared but not defined"), loc);
        }
        if let Some(img) = &a.constant {
            if write {
                let n = a.name.clone();
                drop(mem);
                self.fail("invalid-access", format_args!("store to constant {n}"), loc);
            }
            let mut b = [0u8; 8];
            b[..size as usize].copy_from_slice(&img[off as usize..off as usize + size as usize]);
            return Target::Const(u64::from_le_bytes(b));
        }
        if let Some(s) = a.slots.get(&off) {
            if s.size == size {
                return Target::Slot(s.clone());
            }
        }
        let before = a.slots.range(..=off).next_back().filter(|(o, s)| *o + u64::from(s.size) > off);
        let after = a.slots.range(off + 1..off + u64::from(size)).next();
        if let Some((o, s)) = before.or(after) {
            let msg = format!(
                "mixed-size access: {size}-byte {what} at {}+{off} overlaps a {}-byte location at +{o}",
                a.name, s.size
            );
            drop(mem);
            self.fail("unsupported", msg, loc);
        }
        let s = Arc::new(Slot::new(size, a.initial(off, size)));
        a.slots.insert(off, s.clone());
        Target::Slot(s)
    }

    fn load(&self, addr: u64, size: u8, ord: Option<Ordering>, loc: u32) -> u64 {
        match self.target(addr, size, false, loc) {
            Target::Const(v) => v,
            Target::Slot(s) => {
                let what = if ord.is_some() { "atomic load" } else { "plain load" };
                self.race_check(&s, false, addr, what, loc);
                s.load(ord.unwrap_or(Ordering::Relaxed))
            }
        }
    }

    /// A plain load that `-O2` speculated into a `select`
    /// ([`crate::program`]'s `mark_speculative_loads`): its race check waits
    /// for the select that picks it.
    fn speculative_load(&self, addr: u64, size: u8, d: u32, loc: u32, pending: &mut Vec<Pending<P>>) -> u64 {
        match self.target(addr, size, false, loc) {
            Target::Const(v) => v,
            Target::Slot(s) => {
                let v = s.load(Ordering::Relaxed);
                pending.retain(|x| x.local != d);
                pending.push(Pending { local: d, slot: s, addr, loc });
                v
            }
        }
    }

    /// The race check of one access: the shadow's `with` (read) or `with_mut`
    /// (write).  loom reports a race by panicking inside it; the panic is
    /// re-raised with the C location and the object, because loom's own
    /// message names only interpreter source lines.
    fn race_check(&self, s: &Slot<P>, write: bool, addr: u64, what: &str, loc: u32) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if write {
                s.shadow.with_mut(|_| ())
            } else {
                s.shadow.with(|_| ())
            }
        }));
        if let Err(e) = r {
            let loom = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let loom = loom.lines().next().unwrap_or("").to_string();
            let obj = self.object_name(addr);
            self.fail("data-race", format_args!("{what} of {} bytes at {obj} races ({loom})", s.size), loc);
        }
    }

    fn object_name(&self, addr: u64) -> String {
        let mem = lock(&self.m.mem);
        match mem.allocs.range(..=addr).next_back() {
            Some((base, a)) => format!("{}+{}", a.name, addr - base),
            None => format!("{addr:#x}"),
        }
    }

    fn store(&self, addr: u64, size: u8, v: u64, ord: Option<Ordering>, loc: u32) {
        let Target::Slot(s) = self.target(addr, size, true, loc) else { unreachable!() };
        let v = v & mask(u32::from(size) * 8);
        match ord {
            None => {
                self.race_check(&s, true, addr, "plain store", loc);
                s.store(v, Ordering::Relaxed)
            }
            Some(o) => {
                self.race_check(&s, false, addr, "atomic store", loc);
                s.store(v, o)
            }
        }
    }

    fn atomic_slot(&self, addr: u64, size: u8, loc: u32) -> Arc<Slot<P>> {
        let Target::Slot(s) = self.target(addr, size, true, loc) else { unreachable!() };
        self.race_check(&s, false, addr, "atomic read-modify-write", loc);
        s
    }

    fn free(&self, addr: u64, loc: u32) {
        let where_ = format!("freed at {} by {}", self.prog.loc(loc), self.st.name);
        let slots: Vec<(u64, Arc<Slot<P>>)> = {
            let mut mem = lock(&self.m.mem);
            let a = match mem.allocs.get_mut(&addr) {
                Some(a) if a.kind == Kind::Heap => a,
                Some(a) => {
                    let n = a.name.clone();
                    drop(mem);
                    self.fail("invalid-free", format_args!("free() of {n}"), loc);
                }
                None => {
                    drop(mem);
                    self.fail(
                        "invalid-free",
                        format_args!("free({addr:#x}): not the start of a malloc()ed block"),
                        loc,
                    );
                }
            };
            if let Some(first) = &a.freed {
                let msg = format!("{} freed twice (first {first}), again", a.name);
                drop(mem);
                self.fail("double-free", msg, loc);
            }
            a.freed = Some(where_);
            a.slots.iter().map(|(o, s)| (addr + o, s.clone())).collect()
        };
        // Strict C11: a free is a write to the whole block, so unordered
        // accesses race with it (Options::free_races).
        for (a, s) in slots.into_iter().filter(|_| self.m.opts.free_races) {
            self.race_check(&s, true, a, "free()", loc);
        }
    }

    fn read_cstr(&self, addr: u64, loc: u32) -> String {
        let mut b = Vec::new();
        for i in 0..512 {
            let c = self.load(addr + i, 1, None, loc) as u8;
            if c == 0 {
                break;
            }
            b.push(c);
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    fn fill(&self, dst: u64, src: Option<u64>, byte: u8, n: u64, loc: u32) {
        // Piecewise, following the destination's (or the source's) slots.
        let mut off = 0;
        while off < n {
            let size = self.piece(src.map(|s| s + off).unwrap_or(dst + off), n - off);
            let v = match src {
                Some(s) => self.load(s + off, size, None, loc),
                None => u64::from_le_bytes([byte; 8]) & mask(u32::from(size) * 8),
            };
            self.store(dst + off, size, v, None, loc);
            off += u64::from(size);
        }
    }

    /// The size of the location at `addr` if it has a slot, else the largest
    /// natural size that fits.
    fn piece(&self, addr: u64, left: u64) -> u8 {
        let mem = lock(&self.m.mem);
        if let Some((&base, a)) = mem.allocs.range(..=addr).next_back() {
            if let Some(s) = a.slots.get(&(addr - base)) {
                if u64::from(s.size) <= left {
                    return s.size;
                }
            }
        }
        [8u8, 4, 2, 1].into_iter().find(|&s| addr.is_multiple_of(u64::from(s)) && u64::from(s) <= left).unwrap_or(1)
    }

    // ----- execution -------------------------------------------------------

    fn func_at(&self, addr: u64, loc: u32) -> u32 {
        let i = addr.wrapping_sub(FUNC_BASE) / 16;
        if addr < FUNC_BASE || !addr.is_multiple_of(16) || i as usize >= self.prog.funcs.len() {
            self.fail("invalid-call", format_args!("call through {addr:#x}, which is no function"), loc);
        }
        i as u32
    }

    fn call(&mut self, f: u32, args: Vec<u64>) -> u64 {
        self.call_at(f, args, 0)
    }

    fn call_at(&mut self, f: u32, args: Vec<u64>, loc: u32) -> u64 {
        let prog = self.prog.clone();
        let func = &prog.funcs[f as usize];
        let watched = self.m.watch.is_some();
        if watched {
            self.watch(Event::Call { callee: &func.name, args: &args, loc });
            lock(&self.st.frames).push(loc);
        }
        // Accessors and the environment's wrappers are left out of traces:
        // `lock(…)`/`unlock(…)` lines come from rcu-core's mutex.
        let noise = || ["get_ptr_", "cfront_", "qemu_mutex_"].iter().any(|p| func.name.starts_with(p));
        if self.capturing && func.blocks.is_some() && loc != 0 && !noise() && self.tracing() {
            let shown: Vec<String> = args.iter().map(|&a| self.show_arg(a)).collect();
            self.trace(loc, format_args!("{}({})", func.name, shown.join(", ")));
        }
        let saved = watched.then(|| args.clone());
        let r = match &func.blocks {
            Some(blocks) => self.exec(func, blocks, args),
            None => match func.ext {
                Some(e) => self.ext(e, func, &args, loc),
                None => self.fail("unsupported", format_args!("call to undefined function `{}`", func.name), loc),
            },
        };
        if let Some(args) = saved {
            lock(&self.st.frames).pop();
            self.watch(Event::Returned { callee: &func.name, args: &args, loc });
        }
        r
    }

    /// An argument in a trace: `&rcu_gp_event` for an address, else the number.
    fn show_arg(&self, a: u64) -> String {
        if a >= FUNC_BASE {
            let i = (a - FUNC_BASE) / 16;
            self.prog.funcs.get(i as usize).map(|f| f.name.clone()).unwrap_or_else(|| format!("{a:#x}"))
        } else if a >= crate::program::GLOBAL_BASE && self.is_object(a) {
            format!("&{}", self.short_name(a))
        } else {
            a.to_string()
        }
    }

    fn exec(&mut self, func: &Func, blocks: &[Block], args: Vec<u64>) -> u64 {
        let mut l = vec![0u64; func.nlocals.max(args.len())];
        l[..args.len()].copy_from_slice(&args);
        let mut allocas: Vec<u64> = Vec::new();
        // Speculated loads not yet race-checked.
        let mut pending: Vec<Pending<P>> = Vec::new();
        let (mut bi, mut prev) = (0usize, u32::MAX);
        loop {
            let b = &blocks[bi];
            if !b.phis.is_empty() {
                let vals: Vec<(u32, u64)> = b
                    .phis
                    .iter()
                    .map(|(d, inc)| {
                        let o = &inc.iter().find(|(p, _)| *p == prev).expect("phi without this predecessor").1;
                        (*d, self.val(&l, o))
                    })
                    .collect();
                for (d, v) in vals {
                    l[d as usize] = v;
                }
            }
            for inst in &b.insts {
                if let (Op::Load { p, size, spec: true, .. }, Some(d)) = (&inst.op, inst.dst) {
                    l[d as usize] = self.speculative_load(self.val(&l, p), *size, d, inst.loc, &mut pending);
                    continue;
                }
                if let Op::Select { c, a, b } = &inst.op {
                    if !pending.is_empty() {
                        let picked = if self.val(&l, c) & 1 != 0 { a } else { b };
                        if let Some(k) = pending.iter().position(|x| matches!(picked, Opnd::Local(y) if *y == x.local))
                        {
                            let x = pending.swap_remove(k);
                            self.race_check(&x.slot, false, x.addr, "plain load (speculated)", x.loc);
                        }
                    }
                }
                let r = self.op(&mut l, &inst.op, inst.loc, &mut allocas);
                if let Some(d) = inst.dst {
                    l[d as usize] = r;
                }
            }
            pending.clear();
            prev = bi as u32;
            bi = match &b.term {
                Term::Ret(v) => {
                    let r = v.as_ref().map(|o| self.val(&l, o)).unwrap_or(0);
                    if !allocas.is_empty() {
                        let mut mem = lock(&self.m.mem);
                        for a in allocas {
                            if let Some(a) = mem.allocs.get_mut(&a) {
                                a.freed = Some(format!("out of scope since {} returned", func.name));
                            }
                        }
                    }
                    return r;
                }
                Term::Br(t) => *t as usize,
                Term::CondBr(c, t, f) => {
                    if self.val(&l, c) & 1 != 0 {
                        *t as usize
                    } else {
                        *f as usize
                    }
                }
                Term::Switch(v, w, cases, d) => {
                    let v = self.val(&l, v) & mask(*w);
                    cases.iter().find(|(k, _)| *k == v).map(|(_, b)| *b).unwrap_or(*d) as usize
                }
                Term::Unreachable => self.fail("unreachable", "reached `unreachable`", b.term_loc),
                Term::Unsupported(msg) => panic!("cfront: {msg} (thread {})", self.st.name),
            };
        }
    }

    fn op(&mut self, l: &mut [u64], op: &Op, loc: u32, allocas: &mut Vec<u64>) -> u64 {
        match op {
            Op::Bin { op, w, a, b } => {
                let (a, b, w) = (self.val(l, a), self.val(l, b), *w);
                let m = mask(w);
                let r = match op {
                    BinOp::Add => a.wrapping_add(b),
                    BinOp::Sub => a.wrapping_sub(b),
                    BinOp::Mul => a.wrapping_mul(b),
                    BinOp::And => a & b,
                    BinOp::Or => a | b,
                    BinOp::Xor => a ^ b,
                    BinOp::Shl => a.checked_shl(b as u32).filter(|_| b < u64::from(w)).unwrap_or(0),
                    BinOp::LShr => (a & m).checked_shr(b as u32).filter(|_| b < u64::from(w)).unwrap_or(0),
                    BinOp::AShr => {
                        if b < u64::from(w) {
                            (sext(a, w) >> b) as u64
                        } else {
                            0
                        }
                    }
                    BinOp::UDiv | BinOp::SDiv | BinOp::URem | BinOp::SRem if b & m == 0 => {
                        self.fail("undefined-behaviour", "division by zero", loc)
                    }
                    BinOp::UDiv => (a & m) / (b & m),
                    BinOp::URem => (a & m) % (b & m),
                    BinOp::SDiv => sext(a, w).wrapping_div(sext(b, w)) as u64,
                    BinOp::SRem => sext(a, w).wrapping_rem(sext(b, w)) as u64,
                };
                r & m
            }
            Op::ICmp { pred, w, a, b } => {
                let (a, b) = (self.val(l, a) & mask(*w), self.val(l, b) & mask(*w));
                let (sa, sb) = (sext(a, *w), sext(b, *w));
                u64::from(match pred {
                    IntPredicate::EQ => a == b,
                    IntPredicate::NE => a != b,
                    IntPredicate::UGT => a > b,
                    IntPredicate::UGE => a >= b,
                    IntPredicate::ULT => a < b,
                    IntPredicate::ULE => a <= b,
                    IntPredicate::SGT => sa > sb,
                    IntPredicate::SGE => sa >= sb,
                    IntPredicate::SLT => sa < sb,
                    IntPredicate::SLE => sa <= sb,
                })
            }
            Op::Select { c, a, b } => {
                if self.val(l, c) & 1 != 0 {
                    self.val(l, a)
                } else {
                    self.val(l, b)
                }
            }
            Op::Cast { op, from, to, a } => {
                let a = self.val(l, a);
                match op {
                    CastOp::SExt => (sext(a, *from) as u64) & mask(*to),
                    CastOp::Trunc | CastOp::ZExt | CastOp::Copy => a & mask(*to),
                }
            }
            Op::Gep { base, off, terms } => {
                let mut p = self.val(l, base).wrapping_add(*off as u64);
                for (o, w, scale) in terms {
                    p = p.wrapping_add(sext(self.val(l, o), *w).wrapping_mul(*scale) as u64);
                }
                p
            }
            Op::Alloca { size, leaves, name } => {
                let a = self.m.alloc(*size, Kind::Stack, format!("{name} (thread {})", self.st.name), None, leaves);
                allocas.push(a);
                a
            }
            Op::Load { p, size, ord: Some(o), spec: false } => {
                let a = self.val(l, p);
                let o = match self.mutation(loc) {
                    Some(Mutation::Plain) => return self.load(a, *size, None, loc),
                    m => mutated(*o, m, Half::Acquire),
                };
                let v = self.load(a, *size, Some(o), loc);
                self.atomic_done(a, Some(v), None, o, "load", loc);
                v
            }
            Op::Load { p, size, ord: None, spec: false } => self.load(self.val(l, p), *size, None, loc),
            Op::Load { spec: true, .. } => unreachable!("handled in exec"),
            Op::Store { p, v, size, ord } => {
                let (a, v) = (self.val(l, p), self.val(l, v));
                let ord = match (ord, self.mutation(loc)) {
                    (Some(_), Some(Mutation::Plain)) => &None,
                    (Some(o), m @ Some(_)) => &Some(mutated(*o, m, Half::Release)),
                    (o, _) => o,
                };
                self.store(a, *size, v, *ord, loc);
                if let Some(o) = ord {
                    self.atomic_done(a, None, Some(v & mask(u32::from(*size) * 8)), *o, "store", loc);
                }
                0
            }
            Op::Rmw { op, p, v, size, ord } => {
                let a = self.val(l, p);
                let s = self.atomic_slot(a, *size, loc);
                let (w, v) = (u32::from(*size) * 8, self.val(l, v) & mask(u32::from(*size) * 8));
                let m = self.mutation(loc);
                let ord = mutated(*ord, m, Half::Both);
                let old = if m == Some(Mutation::Split) {
                    // A load and a store: another thread may run in between.
                    let old = s.load(split_half(ord, Half::Acquire));
                    s.store(rmw_value(*op, old, v, w), split_half(ord, Half::Release));
                    old
                } else {
                    s.rmw(*op, v, ord)
                };
                self.atomic_done(a, Some(old), Some(rmw_value(*op, old, v, w)), ord, op.name(), loc);
                old
            }
            Op::CmpXchg { p, exp, new, size, succ, fail, flag } => {
                let s = self.atomic_slot(self.val(l, p), *size, loc);
                let m = mask(u32::from(*size) * 8);
                let (a, new, exp) = (self.val(l, p), self.val(l, new) & m, self.val(l, exp) & m);
                let mu = self.mutation(loc);
                let (succ, fail) = (mutated(*succ, mu, Half::Both), mutated(*fail, mu, Half::Acquire));
                let (old, ok) = if mu == Some(Mutation::Split) {
                    let old = s.load(split_half(succ, Half::Acquire));
                    if old == exp {
                        s.store(new, split_half(succ, Half::Release));
                        (old, true)
                    } else {
                        (old, false)
                    }
                } else {
                    match s.cas(exp, new, succ, fail) {
                        Ok(v) => (v, true),
                        Err(v) => (v, false),
                    }
                };
                l[*flag as usize] = u64::from(ok);
                self.atomic_done(a, Some(old), ok.then_some(new), if ok { succ } else { fail }, "cmpxchg", loc);
                old
            }
            Op::Copy { a } => self.val(l, a),
            Op::Fence { ord } => {
                match self.mutation(loc) {
                    Some(Mutation::Drop) => self.trace(loc, format_args!("(mutant: fence dropped)")),
                    m => {
                        let o = mutated(*ord, m, Half::Both);
                        P::fence(o);
                        self.trace(loc, format_args!("fence {}", ord_name(o)));
                    }
                }
                0
            }
            Op::Call { callee, args } => {
                let args: Vec<u64> = args.iter().map(|a| self.val(l, a)).collect();
                let f = match callee {
                    Callee::Func(f) => *f,
                    Callee::Indirect(o) => self.func_at(self.val(l, o), loc),
                };
                self.call_at(f, args, loc)
            }
            Op::Nop => 0,
            Op::Unsupported(msg) => panic!("cfront: {msg} (thread {})", self.st.name),
        }
    }

    /// The run's mutation of the C site of `loc`, if any.
    fn mutation(&self, loc: u32) -> Option<Mutation> {
        if self.m.muts.is_empty() {
            return None;
        }
        self.prog.loc_site(loc).and_then(|i| self.m.muts[i as usize])
    }

    /// After an atomic access: tell the watcher, trace it.
    fn atomic_done(&self, addr: u64, read: Option<u64>, wrote: Option<u64>, o: Ordering, what: &str, loc: u32) {
        self.watch(Event::Atomic { addr, read, wrote, loc });
        if self.tracing() {
            let obj = self.short_name(addr);
            let ord = ord_name(o);
            match (read.map(|r| self.show_arg(r)), wrote.map(|w| self.show_arg(w))) {
                (Some(r), Some(w)) => self.trace(loc, format_args!("{what} {ord} {obj}: {r} → {w}")),
                (Some(r), None) => self.trace(loc, format_args!("{what} {ord} {obj} = {r}")),
                (None, Some(w)) => self.trace(loc, format_args!("{what} {ord} {obj} = {w}")),
                (None, None) => {}
            }
        }
    }

    /// `__errno_location()`: this thread's `errno`.
    fn errno_addr(&mut self) -> u64 {
        if self.st.errno.load(StdOrdering::Relaxed) == 0 {
            let name = format!("errno of {}", self.st.name);
            self.st.errno.store(self.m.alloc(4, Kind::Tls, name, None, &[(0, 4)]), StdOrdering::Relaxed);
        }
        self.st.errno.load(StdOrdering::Relaxed)
    }

    /// `syscall(SYS_futex, …)`: FUTEX_WAIT without timeout and FUTEX_WAKE,
    /// over rcu-core's futex emulation (the kernel's protocol, with its two
    /// barriers).  Other system calls are unsupported.
    fn syscall(&mut self, a: &[u64], loc: u32) -> u64 {
        const SYS_FUTEX: u64 = 202;
        const FUTEX_WAIT: u64 = 0;
        const FUTEX_WAKE: u64 = 1;
        const FUTEX_WAIT_BITSET: u64 = 9;
        const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;
        const EAGAIN: u64 = 11;
        const ETIMEDOUT: u64 = 110;
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        if arg(0) != SYS_FUTEX {
            self.fail("unsupported", format_args!("syscall({})", arg(0)), loc);
        }
        let (addr, op, val) = (arg(1), arg(2) & 0x7f, arg(3) as u32);
        let q = lock(&self.m.futexes).entry(addr).or_insert_with(|| Arc::new(WaitQueue::new())).clone();
        match op {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                if op == FUTEX_WAIT_BITSET && arg(6) as u32 as u64 != FUTEX_BITSET_MATCH_ANY {
                    self.fail("unsupported", "FUTEX_WAIT_BITSET with a bitset other than FUTEX_BITSET_MATCH_ANY", loc);
                }
                self.maybe_stop(addr);
                // FUTEX_WAIT: a relative timeout; FUTEX_WAIT_BITSET: an
                // absolute deadline on the clock of clock_ns().
                let timeout_ms = match arg(4) {
                    0 => None,
                    ts => {
                        let t =
                            self.load(ts, 8, None, loc).saturating_mul(1_000_000_000) + self.load(ts + 8, 8, None, loc);
                        let ns = if op == FUTEX_WAIT { t } else { t.saturating_sub(clock_ns::<P>()) };
                        // QEMU's qemu_event_wait() is a timed wait of INT_MAX ms
                        // (v3 1/5): a deadline a day or more away is no timeout.
                        (ns < NO_TIMEOUT_NS).then(|| ns.div_ceil(1_000_000) as u32)
                    }
                };
                let what = format!("futex wait on {}", self.object_name(addr));
                let r =
                    q.wait(|| self.load(addr, 4, Some(Ordering::Relaxed), loc) as u32 == val, || {}, timeout_ms, &what);
                let err = match r {
                    WaitResult::Mismatch => EAGAIN,
                    WaitResult::TimedOut => ETIMEDOUT,
                    WaitResult::Woken | WaitResult::Spurious => return 0,
                };
                let e = self.errno_addr();
                self.store(e, 4, err, None, loc);
                u64::MAX // -1
            }
            FUTEX_WAKE => q.wake((arg(3) as u32 as i32).max(0) as usize) as u64,
            _ => self.fail("unsupported", format_args!("futex op {op}"), loc),
        }
    }

    /// Harness scaffolding ([`Instance::stop_at`]): the stop point is a futex
    /// wait (or `cfront_idle_point()`) on one object by the thread running one function; once the
    /// harness asked for a stop and no Rust callback is pending, that thread
    /// exits there instead of sleeping.
    fn maybe_stop(&self, addr: u64) {
        let Some((entry, lo, hi)) = *lock(&self.m.stop_at) else { return };
        if (lo..hi).contains(&addr)
            && self.st.entry == entry
            && self.m.stop.load(StdOrdering::Relaxed)
            && self.m.pending.load(StdOrdering::Relaxed) == 0
        {
            if let Some(me) = rcu_core::runtime::try_current::<P>() {
                me.trace(format_args!("(harness) stop: {} exits at its idle wait", self.st.name));
            }
            std::panic::resume_unwind(Box::new(ThreadExit(0)));
        }
    }

    fn ext(&mut self, e: Extern, func: &Func, a: &[u64], loc: u32) -> u64 {
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        match e {
            Extern::Malloc | Extern::Calloc => {
                let n = if e == Extern::Calloc { arg(0).wrapping_mul(arg(1)) } else { arg(0) };
                let k = {
                    let mut mem = lock(&self.m.mem);
                    mem.heap_count += 1;
                    mem.heap_count
                };
                let name = format!("heap#{k} ({n} bytes, allocated at {} by {})", self.prog.loc(loc), self.st.name);
                self.m.alloc(n, Kind::Heap, name, None, &[])
            }
            Extern::Free => {
                if arg(0) != 0 {
                    self.free(arg(0), loc);
                }
                0
            }
            Extern::PthreadCreate | Extern::ThreadCreate => {
                let (f, fa) = (self.func_at(arg(2), loc), arg(3));
                let name = if e == Extern::ThreadCreate {
                    self.read_cstr(arg(1), loc)
                } else {
                    if arg(1) != 0 {
                        self.fail("unsupported", "pthread_create with attributes", loc);
                    }
                    self.prog.funcs[f as usize].name.clone()
                };
                let tid = self.m.next_tid.fetch_add(1, StdOrdering::Relaxed);
                let ret = Arc::new(Mutex::new(None));
                let (m2, ret2) = (self.m.clone(), ret.clone());
                let th = qemu_thread_create::<P>(&format!("t{tid}:{name}"), move || {
                    let mut t = Th::current(&m2, f);
                    // pthread_exit() unwinds to here with its value.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.call(f, vec![fa])));
                    let r = match r {
                        Ok(r) => r,
                        Err(e) => match e.downcast::<ThreadExit>() {
                            Ok(x) => x.0,
                            Err(e) => std::panic::resume_unwind(e),
                        },
                    };
                    *lock(&ret2) = Some(r);
                });
                lock(&self.m.threads).insert(tid, Joinable { th, ret });
                self.store(arg(0), 8, tid, None, loc);
                0
            }
            Extern::PthreadExit => std::panic::resume_unwind(Box::new(ThreadExit(arg(0)))),
            Extern::Callback => {
                let Some(f) = lock(&self.m.callbacks).remove(&arg(0)) else {
                    self.fail("invalid-callback", format_args!("no Rust callback {} (or it already ran)", arg(0)), loc);
                };
                f();
                self.m.pending.fetch_sub(1, StdOrdering::Relaxed);
                0
            }
            Extern::Notify => {
                let Some(f) = lock(&self.m.notifiers).get(&arg(0)).cloned() else {
                    self.fail("invalid-callback", format_args!("no Rust notifier {}", arg(0)), loc);
                };
                f();
                0
            }
            Extern::ClockGettime | Extern::Gettimeofday => {
                // { seconds, nanoseconds } or { seconds, microseconds }.
                // clock_gettime(clock, ts), gettimeofday(tv, tz).
                let ns = clock_ns::<P>();
                let (p, sub) = if e == Extern::ClockGettime {
                    (arg(1), ns % 1_000_000_000)
                } else {
                    (arg(0), ns % 1_000_000_000 / 1000)
                };
                self.store(p, 8, ns / 1_000_000_000, None, loc);
                self.store(p + 8, 8, sub, None, loc);
                0
            }
            Extern::PthreadJoin => {
                let Some(j) = lock(&self.m.threads).remove(&arg(0)) else {
                    self.fail("invalid-join", format_args!("pthread_join of unknown or joined thread {}", arg(0)), loc);
                };
                j.th.join();
                let r = lock(&j.ret).take().unwrap_or(0);
                if arg(1) != 0 {
                    self.store(arg(1), 8, r, None, loc);
                }
                0
            }
            Extern::AssertFail => {
                let expr = self.read_cstr(arg(0), loc);
                let file = self.read_cstr(arg(1), loc);
                let file = file.rsplit('/').next().unwrap_or("").to_string();
                panic!("cfront: [assertion] `{expr}` failed at {file}:{} (thread {})", arg(2) as u32, self.st.name)
            }
            Extern::Abort => self.fail("abort", "abort() called", loc),
            Extern::Observe => {
                let name = self.read_cstr(arg(0), loc);
                lock(&self.m.obs).push((name, arg(1) as i64));
                0
            }
            Extern::Yield => {
                P::yield_now();
                0
            }
            Extern::Sleep => {
                // rcu-core's g_usleep: real time on std, a moment in which
                // time passes on loom (nothing) and shuttle (a context switch).
                rcu_core::runtime::g_usleep::<P>(arg(0));
                0
            }
            Extern::Memset => {
                self.fill(arg(0), None, arg(1) as u8, arg(2), loc);
                0
            }
            Extern::Memcpy => {
                self.fill(arg(0), Some(arg(1)), 0, arg(2), loc);
                0
            }
            Extern::MutexInit => {
                if arg(1) != 0 {
                    self.fail("unsupported", "pthread_mutex_init with attributes", loc);
                }
                let name = intern(self.short_name(arg(0)).trim_end_matches("+0"));
                lock(&self.m.mutexes).insert(arg(0), Arc::new(QemuMutex::new(name)));
                0
            }
            Extern::MutexDestroy => {
                lock(&self.m.mutexes).remove(&arg(0));
                0
            }
            Extern::MutexLock | Extern::MutexUnlock => {
                let Some(mx) = lock(&self.m.mutexes).get(&arg(0)).cloned() else {
                    let obj = self.object_name(arg(0));
                    self.fail("unsupported", format_args!("{} of {obj}, never pthread_mutex_init()ed", func.name), loc);
                };
                if e == Extern::MutexLock {
                    qemu_mutex_lock(&mx);
                } else {
                    qemu_mutex_unlock(&mx);
                }
                0
            }
            Extern::CondInit => {
                if arg(1) != 0 {
                    self.fail("unsupported", "pthread_cond_init with attributes", loc);
                }
                let name = intern(self.short_name(arg(0)).trim_end_matches("+0"));
                lock(&self.m.conds).insert(arg(0), Arc::new(QemuCond::new(name)));
                0
            }
            Extern::CondDestroy => {
                lock(&self.m.conds).remove(&arg(0));
                0
            }
            Extern::CondWait | Extern::CondTimedwait | Extern::CondSignal | Extern::CondBroadcast => {
                const ETIMEDOUT: u64 = 110;
                let Some(c) = lock(&self.m.conds).get(&arg(0)).cloned() else {
                    let obj = self.object_name(arg(0));
                    self.fail("unsupported", format_args!("{} of {obj}, never pthread_cond_init()ed", func.name), loc);
                };
                match e {
                    Extern::CondSignal => qemu_cond_signal(&c),
                    Extern::CondBroadcast => qemu_cond_broadcast(&c),
                    _ => {
                        let Some(mx) = lock(&self.m.mutexes).get(&arg(1)).cloned() else {
                            let obj = self.object_name(arg(1));
                            self.fail(
                                "unsupported",
                                format_args!("{} with {obj}, never pthread_mutex_init()ed", func.name),
                                loc,
                            );
                        };
                        // pthread_cond_timedwait: an absolute deadline on the
                        // clock of clock_ns(), as FUTEX_WAIT_BITSET's.
                        let ms = match (e, arg(2)) {
                            (Extern::CondTimedwait, ts) if ts != 0 => {
                                let t = self.load(ts, 8, None, loc).saturating_mul(1_000_000_000)
                                    + self.load(ts + 8, 8, None, loc);
                                let ns = t.saturating_sub(clock_ns::<P>());
                                (ns < NO_TIMEOUT_NS).then(|| ns.div_ceil(1_000_000) as u32)
                            }
                            _ => None,
                        };
                        if !qemu_cond_timedwait(&c, &mx, ms) {
                            return ETIMEDOUT;
                        }
                    }
                }
                0
            }
            Extern::IdlePoint => {
                self.maybe_stop(arg(0));
                0
            }
            Extern::Syscall => self.syscall(a, loc),
            Extern::Errno => self.errno_addr(),
            Extern::Nop => 0,
            Extern::Expect => arg(0),
            Extern::UMax | Extern::UMin | Extern::SMax | Extern::SMin => {
                let w = func.ret_w;
                let (x, y) = (arg(0) & mask(w), arg(1) & mask(w));
                let pick_x = match e {
                    Extern::UMax => x >= y,
                    Extern::UMin => x <= y,
                    Extern::SMax => sext(x, w) >= sext(y, w),
                    _ => sext(x, w) <= sext(y, w),
                };
                if pick_x {
                    x
                } else {
                    y
                }
            }
        }
    }
}
