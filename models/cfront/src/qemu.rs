//! A QEMU tree as a version: its `util/rcu.c`, `util/event.c` and
//! `util/notify.c`, compiled with the project's environment
//! (`qemu/env.c`, `qemu/shadow/`) into one program ([`CTree::load`]), and
//! util/rcu.c's public API called from Rust on it, per execution ([`CRcu`]).
//!
//! No QEMU code is in this repository: the tree is a checkout the user points
//! at (`util/`, `include/`, `linux-headers/` are enough).  Compile flags:
//! `clang-14 -O2 -g -D_GNU_SOURCE -DCONFIG_LINUX -DCONFIG_POSIX
//! -DQEMU_SANITIZE_THREAD`, with `qemu/shadow` (stand-ins for `qemu/osdep.h`
//! and `qemu/main-loop.h`, which RCU does not decide), the tree's `include/`
//! and `linux-headers/`, and glib's include directories (`pkg-config
//! glib-2.0`).  `QEMU_SANITIZE_THREAD` makes `qatomic_rcu_read()` a consume
//! (acquire) load instead of a relaxed load plus an address dependency, which
//! neither C11 nor loom tracks: the same choice as the Rust ports (B100).
//!
//! **Harness scaffolding** (as the Rust ports' `request_stop`): QEMU's
//! call_rcu thread never returns.  [`CRcu::shutdown`] asks it to stop, wakes
//! its idle wait exactly as `call_rcu1()` would (`qemu_event_set(&rcu_call_ready_event)`;
//! force_rcu v1 4/5 renamed the event `sync_event`, and Peter Xu's drafts
//! made it a QemuSemaphore, woken by `qemu_sem_post()`),
//! and the thread exits when it is next about to sleep on
//! that object with no harness work pending
//! ([`crate::Instance::stop_at`]).  Nothing else differs from the C.
//!
//! A tree whose util/rcu.c declares a `QemuSemaphore` also gets the
//! environment's `qemu/env-sem.c` (QEMU implements the semaphore in
//! util/qemu-thread-posix.c, which is not compiled).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::sync::Arc;

use rcu_core::platform::Platform;

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::{compile_and_link, Error, Event, FuncId, Instance, Options, Program, View, Watch};

/// A loaded QEMU tree.
#[derive(Debug)]
pub struct CTree {
    /// The directory given.
    pub dir: PathBuf,
    /// Column label (`c:LABEL`): the directory's name unless given.
    pub label: String,
    /// The linked program.
    pub prog: Arc<Program>,
    /// Whether the tree's rcu.c defines `force_rcu()`.
    pub has_force_rcu: bool,
    /// Whether its RCU thread uses timed waits (`qemu_event_timedwait`).
    pub timed_waits: bool,
    f: Funcs,
    probes: Arc<Probes>,
    /// The flags for a native build (the interpreter's minus TSan's).
    native_flags: Vec<String>,
    native: std::sync::OnceLock<Result<Arc<crate::native::NativeLib>, Error>>,
}

/// Where the scenarios' windows are in this tree's C: the same diagnostic
/// probes the Rust ports count (`rt.probe(…)`), found from the tree's
/// util/rcu.c (a function's lines) and its globals, and counted by a watcher
/// on the interpreter's calls and atomic accesses.  Nothing here touches the
/// model: a probe reads memory as last written ([`View::peek`]).
///
/// | probe | in the C |
/// |---|---|
/// | `gp_saw_reader` | an atomic load in `rcu_gp_ongoing()` reads a `ctr` that is neither 0 nor `rcu_gp_ctr` |
/// | `gp_event_wait` | `qemu_event_wait(&rcu_gp_event)` (or the timed wait it is inlined into) |
/// | `reader_signaled` | `qemu_event_set(&rcu_gp_event)` |
/// | `timed_poll` | a `qemu_event_timedwait()` of another event (or a `qemu_sem_timedwait()`) called from `wait_for_readers()` |
/// | `forced_state` | the first `notifier_list_notify()` called from `wait_for_readers()` in a grace period (from its store to `rcu_gp_ctr`) |
/// | `forced_early` | … before five polls of that grace period (timed waits or `g_usleep()` there), unless it started forced, as the ports' `sleeps`: V3, the `rcu_call_state` the RCU thread fetched before it had FORCED set; SEED and the semaphore drafts, an `xchg` of `forced` by that thread that read true after its last read of `rcu_call_count` that found 0 (SEED's re-read loop, the draft's `enter_qs(!xchg)`, the follow-up's `sleep = !xchg` before each read of the count) |
/// | `late_link` | `enqueue()`'s linking store while an earlier `enqueue()` is between its exchange and its store |
/// | `try_dequeue_null` | `try_dequeue()`'s acquire load of `node->next` reads NULL |
/// | `register_during_gp` / `unregister_during_gp` | `rcu_(un)register_thread()` takes `rcu_registry_lock` while another thread is inside `wait_for_readers()` |
/// | `unregister_from_qsreaders` | … and the caller's node is not on `registry` |
/// | `poll_sleep` | `g_usleep()` (counted by rcu-core) |
#[derive(Debug, Default)]
struct Probes {
    gp_ongoing: BTreeSet<u32>,
    wfr: BTreeSet<u32>,
    enqueue: BTreeSet<u32>,
    try_dequeue: BTreeSet<u32>,
    register: BTreeSet<u32>,
    unregister: BTreeSet<u32>,
    rcu_gp_event: u64,
    rcu_gp_ctr: u64,
    rcu_call_state: u64,
    forced: u64,
    rcu_call_count: u64,
    rcu_registry_lock: u64,
    registry: u64,
    off_node: u64,
    off_waiting: u64,
    off_event_value: u64,
}

/// The thread-local `rcu_reader`: QEMU_DEFINE_CO_TLS(…, rcu_reader) names it
/// `co_tls_rcu_reader`; a plain `__thread` keeps the name.
pub(crate) const READER_TLS: [&str; 2] = ["co_tls_rcu_reader", "rcu_reader"];

/// The call_rcu thread's idle object, by the name each version gives it.
const IDLE: [&str; 2] = ["rcu_call_ready_event", "sync_event"];

/// Whether the tree's util/rcu.c declares a `QemuSemaphore` (Peter Xu's
/// drafts): then the program needs the environment's `env-sem.c`.
pub(crate) fn uses_semaphore(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("util/rcu.c")).is_ok_and(|s| s.contains("QemuSemaphore"))
}

/// The lines of C function `name`'s definition in `src` (from its header at
/// column 0 to the first `}` at column 0), 1-based.
fn function_lines(src: &str, name: &str) -> Option<std::ops::RangeInclusive<u32>> {
    let lines: Vec<&str> = src.lines().collect();
    let start = lines.iter().position(|l| {
        !l.starts_with([' ', '\t', '#', '/', '*', '{', '}'])
            && !l.trim_end().ends_with(';')
            && l.split('(')
                .next()
                .is_some_and(|h| h.split_whitespace().last().map(|w| w.trim_start_matches('*')) == Some(name))
    })?;
    let end = lines[start..].iter().position(|l| l.starts_with('}'))? + start;
    Some(start as u32 + 1..=end as u32 + 1)
}

impl Probes {
    fn find(dir: &Path, prog: &Program) -> Probes {
        let src = std::fs::read_to_string(dir.join("util/rcu.c")).unwrap_or_default();
        let locs = |f: &str| -> BTreeSet<u32> {
            function_lines(&src, f).map(|r| prog.locs_at("util/rcu.c", r).into_iter().collect()).unwrap_or_default()
        };
        let g = |n: &str| prog.global_addr(n).unwrap_or(u64::MAX);
        let konst = |n: &str| prog.global_addr(n).and_then(|a| prog.constant_u64(a)).unwrap_or(u64::MAX);
        Probes {
            gp_ongoing: locs("rcu_gp_ongoing"),
            wfr: locs("wait_for_readers"),
            enqueue: locs("enqueue"),
            try_dequeue: locs("try_dequeue"),
            register: locs("rcu_register_thread"),
            unregister: locs("rcu_unregister_thread"),
            rcu_gp_event: g("rcu_gp_event"),
            rcu_gp_ctr: g("rcu_gp_ctr"),
            rcu_call_state: g("rcu_call_state"),
            forced: g("forced"),
            rcu_call_count: g("rcu_call_count"),
            rcu_registry_lock: g("rcu_registry_lock"),
            registry: g("registry"),
            off_node: konst("cfront_off_reader_node"),
            off_waiting: konst("cfront_off_reader_waiting"),
            off_event_value: konst("cfront_off_event_value"),
        }
    }

    /// The readers on `registry` (their addresses), as last written, read
    /// through `peek`.
    fn registry(&self, peek: impl Fn(u64, u8) -> Option<u64>) -> Vec<u64> {
        walk_registry(self.registry, self.off_node, peek)
    }
}

/// The readers on the list whose head is at `head` (a `QLIST_HEAD`, or a
/// plain first pointer), each `rcu_reader_data` linked by the `le_next` at
/// `off_node`, read through `peek(addr, bytes)` (at most 64: a corrupt list
/// does not loop).  Shared by the interpreter's probes and the native view.
pub(crate) fn walk_registry(head: u64, off_node: u64, peek: impl Fn(u64, u8) -> Option<u64>) -> Vec<u64> {
    let mut v = vec![];
    let mut p = peek(head, 8).unwrap_or(0);
    while p != 0 && v.len() < 64 {
        v.push(p);
        p = peek(p + off_node, 8).unwrap_or(0);
    }
    v
}

/// One execution's probe state.
#[derive(Default)]
struct ProbeState {
    /// `enqueue()`s between exchange and store: (thread, sequence number).
    in_flight: Mutex<Vec<(String, u64)>>,
    seq: std::sync::atomic::AtomicU64,
    /// Per thread: its current grace period (from its last store to
    /// `rcu_gp_ctr`, which starts every grace period).
    gps: Mutex<std::collections::BTreeMap<String, Gp>>,
    /// Per thread: the value its last read-modify-write of `rcu_call_state` read.
    state: Mutex<std::collections::BTreeMap<String, u64>>,
    /// Per thread: an `xchg` of `forced` read true since the thread's last
    /// read of `rcu_call_count` that found 0 and its last grace period's start.
    took_force: Mutex<std::collections::BTreeMap<String, bool>>,
}

/// One grace period as the probes see it.
#[derive(Default)]
struct Gp {
    /// Polls so far (timed waits of another event, `g_usleep()`).
    polls: u32,
    /// It entered the forced state (called a force_rcu notifier).
    forced: bool,
    /// It started forced (V3: the FORCED bit was in the `rcu_call_state` the
    /// RCU thread fetched for it: `wait_for_readers(true)`, no polls).
    started_forced: bool,
}

fn watcher<P: Platform>(pr: Arc<Probes>) -> Watch<P> {
    let st = Arc::new(ProbeState::default());
    Arc::new(move |v: &View<'_, P>, ev: &Event<'_>| match *ev {
        Event::Call { callee, args, loc } => {
            let a0 = args.first().copied().unwrap_or(0);
            if pr.wfr.contains(&loc) {
                let mut w = st.gps.lock().unwrap();
                let gp = w.entry(v.thread().to_string()).or_default();
                if matches!(callee, "qemu_event_timedwait" | "qemu_sem_timedwait") && a0 != pr.rcu_gp_event {
                    gp.polls += 1;
                    v.probe("timed_poll");
                }
                if callee == "g_usleep" {
                    gp.polls += 1;
                }
                if callee == "notifier_list_notify" && !gp.forced {
                    // The first force_rcu notifier of this grace period: it entered the forced state.
                    gp.forced = true;
                    v.probe("forced_state");
                    if gp.polls < 5 && !gp.started_forced {
                        v.probe("forced_early");
                    }
                }
            }
            if a0 == pr.rcu_gp_event {
                match callee {
                    // V3 1/5 makes qemu_event_wait() an inline timed wait of INT_MAX ms.
                    "qemu_event_wait" | "qemu_event_timedwait" => v.probe("gp_event_wait"),
                    "qemu_event_set" => v.probe("reader_signaled"),
                    _ => {}
                }
            }
        }
        Event::Returned { callee, args, loc: _ } => {
            if callee == "pthread_mutex_lock" && args.first() == Some(&pr.rcu_registry_lock) {
                let (reg, unreg) = (v.self_in(&pr.register), v.self_in(&pr.unregister));
                if (reg || unreg) && v.others_in(&pr.wfr) {
                    if reg {
                        v.probe("register_during_gp");
                    } else {
                        v.probe("unregister_during_gp");
                        let on = |me| pr.registry(|a, n| v.peek(a, n)).contains(&me);
                        if READER_TLS.iter().find_map(|n| v.tls(n)).is_some_and(|me| !on(me)) {
                            v.probe("unregister_from_qsreaders");
                        }
                    }
                }
            }
        }
        Event::Atomic { addr, read, wrote, loc } => {
            if addr == pr.rcu_call_state {
                if let (Some(r), Some(_)) = (read, wrote) {
                    st.state.lock().unwrap().insert(v.thread().to_string(), r);
                }
            }
            if addr == pr.forced {
                if let (Some(r), Some(_)) = (read, wrote) {
                    if r != 0 {
                        st.took_force.lock().unwrap().insert(v.thread().to_string(), true);
                    }
                }
            }
            if addr == pr.rcu_call_count && wrote.is_none() && read == Some(0) {
                st.took_force.lock().unwrap().remove(v.thread());
            }
            if addr == pr.rcu_gp_ctr && wrote.is_some() {
                let state = st.state.lock().unwrap().get(v.thread()).copied().unwrap_or(0);
                let took = st.took_force.lock().unwrap().remove(v.thread()).unwrap_or(false);
                let started_forced = state & (1 << 31) != 0 || took;
                st.gps.lock().unwrap().insert(v.thread().to_string(), Gp { started_forced, ..Gp::default() });
            }
            if pr.gp_ongoing.contains(&loc) {
                if let Some(r) = read {
                    if r != 0 && Some(r) != v.peek(pr.rcu_gp_ctr, 8) {
                        v.probe("gp_saw_reader");
                    }
                }
            } else if pr.enqueue.contains(&loc) {
                let me = v.thread().to_string();
                let mut f = st.in_flight.lock().unwrap();
                match (read, wrote) {
                    (Some(_), Some(_)) => {
                        f.push((me, st.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
                    }
                    (None, Some(_)) => {
                        if let Some(i) = f.iter().position(|(t, _)| *t == me) {
                            let (_, mine) = f.remove(i);
                            if f.iter().any(|(_, s)| *s < mine) {
                                v.probe("late_link");
                            }
                        }
                    }
                    _ => {}
                }
            } else if pr.try_dequeue.contains(&loc) && read == Some(0) {
                v.probe("try_dequeue_null");
            }
        }
    })
}

#[derive(Debug, Clone, Copy)]
struct Funcs {
    register: FuncId,
    unregister: FuncId,
    read_lock: FuncId,
    read_unlock: FuncId,
    synchronize: FuncId,
    call_rcu1: FuncId,
    drain: FuncId,
    force: Option<FuncId>,
    add_notifier: FuncId,
    remove_notifier: FuncId,
    /// What wakes the call_rcu thread's idle wait: `qemu_event_set()`, or
    /// `qemu_sem_post()` when the idle object is a semaphore.
    wake: FuncId,
    /// The idle object: `rcu_call_ready_event`, or SEED's and the drafts' `sync_event`.
    idle: &'static str,
    bql_lock: FuncId,
    bql_unlock: FuncId,
}

/// The environment's directory (`env.c`, `shadow/`).
pub fn env_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("qemu")
}

/// glib's include flags (`pkg-config --cflags glib-2.0`).
fn glib_cflags() -> Result<Vec<String>, Error> {
    const MISSING: &str =
        "glib's headers not found (`pkg-config --cflags glib-2.0` failed): run `ci/setup-c.sh` (apt-get install -y libglib2.0-dev pkg-config)";
    let query =
        || Command::new("pkg-config").args(["--cflags", "glib-2.0"]).output().ok().filter(|o| o.status.success());
    let o = match query() {
        Some(o) => o,
        None => {
            crate::compile::run_setup_once();
            query().ok_or_else(|| Error::new(MISSING.to_string()))?
        }
    };
    Ok(String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect())
}

static LOADS: AtomicU64 = AtomicU64::new(0);

impl CTree {
    /// Compile and link the tree at `dir` (see the module docs).  Errors are
    /// one line: a missing directory, a directory that is not a QEMU tree, a
    /// file that does not compile, or a program that needs something the
    /// environment does not provide.
    pub fn load(dir: &Path) -> Result<CTree, Error> {
        Self::load_with(dir, &[])
    }

    /// [`CTree::load`] with extra compiler arguments (e.g. `-DBUG=1`).
    pub fn load_with(dir: &Path, extra: &[&str]) -> Result<CTree, Error> {
        let d = dir.display();
        if !dir.is_dir() {
            return Err(Error::new(format!("{d}: no such directory (expected a QEMU tree with util/ and include/)")));
        }
        let srcs: Vec<PathBuf> = ["rcu", "event", "notify"].iter().map(|f| dir.join(format!("util/{f}.c"))).collect();
        for s in &srcs {
            if !s.is_file() {
                return Err(Error::new(format!(
                    "{d}: not a QEMU tree (no {})",
                    s.strip_prefix(dir).unwrap().display()
                )));
            }
        }
        if !dir.join("include/qemu/rcu.h").is_file() {
            return Err(Error::new(format!("{d}: not a QEMU tree (no include/qemu/rcu.h)")));
        }
        let env = env_dir();
        let mut flags: Vec<String> =
            ["-D_GNU_SOURCE", "-DCONFIG_LINUX", "-DCONFIG_POSIX", "-DQEMU_SANITIZE_THREAD"].map(String::from).to_vec();
        for inc in [env.join("shadow"), dir.join("include"), dir.join("linux-headers")] {
            flags.push("-I".into());
            flags.push(inc.display().to_string());
        }
        flags.extend(glib_cflags()?);
        flags.extend(extra.iter().map(|s| s.to_string()));
        let native_flags: Vec<String> = flags.iter().filter(|f| *f != "-DQEMU_SANITIZE_THREAD").cloned().collect();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let out = std::env::temp_dir().join(format!(
            "cfront-ctree-{}-{}",
            std::process::id(),
            LOADS.fetch_add(1, StdOrdering::Relaxed)
        ));
        let env_c = env.join("env.c");
        let env_sem = env.join("env-sem.c");
        let mut all: Vec<&Path> = srcs.iter().map(PathBuf::as_path).collect();
        all.push(&env_c);
        if uses_semaphore(dir) {
            all.push(&env_sem);
        }
        let linked = compile_and_link(&all, &out, "qemu", &flags).and_then(|ll| Program::load(&ll));
        let _ = std::fs::remove_dir_all(&out);
        let prog = linked?;
        let label = dir.canonicalize().unwrap_or(dir.to_path_buf());
        let label = label.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "tree".into());
        Self::check(dir, label, prog, native_flags)
    }

    /// The tree compiled natively (built on first use, once per process):
    /// see [`crate::native`].
    pub fn native(&self) -> Result<Arc<crate::native::NativeLib>, Error> {
        self.native.get_or_init(|| crate::native::NativeLib::build(&self.dir, &self.native_flags).map(Arc::new)).clone()
    }

    fn check(dir: &Path, label: String, prog: Arc<Program>, native_flags: Vec<String>) -> Result<CTree, Error> {
        let d = dir.display();
        if let Some(u) = prog.unsupported().first() {
            return Err(Error::new(format!("{d}: the program has a construct cfront does not support: {u}")));
        }
        if let Some(f) = prog.undefined_functions().first() {
            return Err(Error::new(format!(
                "{d}: the program calls `{f}`, which neither the tree nor cfront's QEMU environment defines"
            )));
        }
        if let Some(g) = prog.undefined_globals().first() {
            return Err(Error::new(format!(
                "{d}: the program uses global `{g}`, which neither the tree nor cfront's QEMU environment defines"
            )));
        }
        let need = |n: &str| {
            prog.func(n).ok_or_else(|| Error::new(format!("{d}: util/rcu.c (or the environment) defines no `{n}()`")))
        };
        // The call_rcu thread's idle wait: MASTER, UNIFY and V3 sleep on
        // rcu_call_ready_event; force_rcu v1 4/5 (SEED) on sync_event, which
        // Peter Xu's drafts make a QemuSemaphore.
        let Some(idle) = IDLE.iter().copied().find(|n| prog.has_global(n)) else {
            return Err(Error::new(format!(
                "{d}: util/rcu.c has no `rcu_call_ready_event` or `sync_event` (the call_rcu thread's idle wait)"
            )));
        };
        let idle_is_sem = idle == "sync_event" && uses_semaphore(dir);
        let f = Funcs {
            register: need("rcu_register_thread")?,
            unregister: need("rcu_unregister_thread")?,
            read_lock: need("cfront_rcu_read_lock")?,
            read_unlock: need("cfront_rcu_read_unlock")?,
            synchronize: need("synchronize_rcu")?,
            call_rcu1: need("cfront_call_rcu1")?,
            drain: need("drain_call_rcu")?,
            force: prog.func("force_rcu"),
            add_notifier: need("cfront_add_force_rcu_notifier")?,
            remove_notifier: need("cfront_remove_force_rcu_notifier")?,
            wake: need(if idle_is_sem { "qemu_sem_post" } else { "qemu_event_set" })?,
            idle,
            bql_lock: need("cfront_bql_lock")?,
            bql_unlock: need("cfront_bql_unlock")?,
        };
        need("call_rcu_thread")?;
        if !READER_TLS.iter().any(|n| prog.has_tls(n)) {
            return Err(Error::new(format!("{d}: util/rcu.c defines no thread-local `rcu_reader`")));
        }
        Ok(CTree {
            dir: dir.to_path_buf(),
            label,
            has_force_rcu: f.force.is_some(),
            timed_waits: prog.has_function("qemu_event_timedwait") || idle_is_sem,
            probes: Arc::new(Probes::find(dir, &prog)),
            prog,
            f,
            native_flags,
            native: Default::default(),
        })
    }
}

/// util/rcu.c's API on one execution of a [`CTree`]: the C counterpart of
/// `models::Rcu`.  Call every method from a thread of the run; each thread
/// keeps its own `rcu_reader` (a thread-local of the program).
#[derive(Debug)]
pub struct CRcu<P: Platform> {
    inst: Instance<P>,
    f: Funcs,
    ready: u64,
    probes: Arc<Probes>,
}

/// A force_rcu notifier added with [`CRcu::add_force_rcu_notifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifierRef(u64);

impl<P: Platform> CRcu<P> {
    /// The program's constructors: `rcu_init()` creates the call_rcu thread
    /// and registers the calling thread, as in QEMU.
    pub fn rcu_init(tree: &CTree, opts: &Options) -> Arc<Self> {
        let inst = Instance::start_watched(&tree.prog, opts, Some(watcher::<P>(tree.probes.clone())));
        assert!(inst.stop_at("call_rcu_thread", tree.f.idle), "checked by CTree::load");
        let ready = inst.global(tree.f.idle).expect("checked by CTree::load");
        Arc::new(CRcu { inst, f: tree.f, ready, probes: tree.probes.clone() })
    }

    /// The interpreted program.
    pub fn instance(&self) -> &Instance<P> {
        &self.inst
    }

    /// `rcu_register_thread()`.
    pub fn rcu_register_thread(&self) {
        self.inst.call(self.f.register, &[]);
    }

    /// `rcu_unregister_thread()`.
    pub fn rcu_unregister_thread(&self) {
        self.inst.call(self.f.unregister, &[]);
    }

    /// `rcu_read_lock()` (static inline in qemu/rcu.h, through the environment).
    pub fn rcu_read_lock(&self) {
        self.inst.call(self.f.read_lock, &[]);
    }

    /// `rcu_read_unlock()`.
    pub fn rcu_read_unlock(&self) {
        self.inst.call(self.f.read_unlock, &[]);
    }

    /// `synchronize_rcu()`.
    pub fn synchronize_rcu(&self) {
        self.inst.call_pending(self.f.synchronize, &[]);
    }

    /// `call_rcu1(node, func)`: `func` runs on the call_rcu thread when the
    /// callback does (the node is a C allocation carrying its id).
    pub fn call_rcu1(&self, func: impl FnOnce() + Send + 'static) {
        let id = self.inst.callback(func);
        self.inst.call(self.f.call_rcu1, &[id]);
    }

    /// `drain_call_rcu()`.
    pub fn drain_call_rcu(&self) {
        self.inst.call_pending(self.f.drain, &[]);
    }

    /// `force_rcu()`; false (and nothing called) when the tree has none.
    pub fn force_rcu(&self) -> bool {
        match self.f.force {
            Some(f) => {
                self.inst.call(f, &[]);
                true
            }
            None => false,
        }
    }

    /// `rcu_add_force_rcu_notifier(n)` for the calling thread, `n` running `f`.
    pub fn add_force_rcu_notifier(&self, f: impl Fn() + Send + Sync + 'static) -> NotifierRef {
        let id = self.inst.notifier(f);
        NotifierRef(self.inst.call(self.f.add_notifier, &[id]))
    }

    /// `rcu_remove_force_rcu_notifier(n)`.
    pub fn remove_force_rcu_notifier(&self, n: NotifierRef) {
        self.inst.call(self.f.remove_notifier, &[n.0]);
    }

    /// `bql_lock()` (the environment's BQL, which util/rcu.c takes around callbacks).
    pub fn bql_lock(&self) {
        self.inst.call(self.f.bql_lock, &[]);
    }

    /// `bql_unlock()`.
    pub fn bql_unlock(&self) {
        self.inst.call(self.f.bql_unlock, &[]);
    }

    /// Harness view: the calling thread's `rcu_reader` (its address).
    pub fn me(&self) -> u64 {
        READER_TLS.iter().find_map(|n| self.inst.tls(n)).expect("checked by CTree::load")
    }

    /// Harness view: `rcu_gp_ctr`, as last written.
    pub fn peek_gp_ctr(&self) -> u64 {
        self.inst.peek(self.probes.rcu_gp_ctr, 8).unwrap_or(0)
    }

    /// Harness view: the calling thread's `rcu_reader.waiting`, as last written.
    pub fn peek_waiting(&self) -> bool {
        self.inst.peek(self.me() + self.probes.off_waiting, 1).unwrap_or(0) != 0
    }

    /// Harness view: whether `rcu_gp_event` is set (`EV_SET`, 0), as last written.
    pub fn peek_gp_event_is_set(&self) -> bool {
        self.inst.peek(self.probes.rcu_gp_event + self.probes.off_event_value, 4) == Some(0)
    }

    /// Harness view: the readers on `registry` (their addresses), read
    /// holding `rcu_registry_lock` as the Rust ports' `registry_members()`.
    pub fn registry_members(&self) -> Vec<u64> {
        let pr = &self.probes;
        self.inst.with_mutex(pr.rcu_registry_lock, || pr.registry(|a, n| self.inst.peek(a, n))).unwrap_or_default()
    }

    /// Harness: stop the call_rcu thread at its next idle wait (waking it as
    /// `call_rcu1()` would) and join it.  A thread stuck elsewhere makes this
    /// block, and the checker reports the deadlock.
    pub fn shutdown(&self) {
        self.inst.request_stop();
        self.inst.call(self.f.wake, &[self.ready]);
        self.inst.join_threads();
    }
}
