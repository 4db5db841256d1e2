//! A QEMU tree compiled natively: the real code on the real machine.
//!
//! [`NativeLib::build`] compiles the tree's util/rcu.c, util/event.c and
//! util/notify.c with the environment's `qemu/env.c` (QEMU's mutexes over
//! pthread mutexes, the BQL, the harness API) and `qemu/native.c` (the
//! harness intrinsics of `cfront.h` over real pthreads) into one shared
//! object, with `clang-14 -O2 -g -fPIC` and the include path that
//! [`crate::CTree::load`] uses, **except `-DQEMU_SANITIZE_THREAD`**: natively
//! the tree is built as QEMU builds it on this host (x86-64, no TSan), so
//! `qatomic_rcu_read()` is a relaxed load with a compiler barrier and
//! `smp_mb__before_rmw()` a compiler barrier, as in a QEMU binary.
//! util/event.c's futex calls go to the kernel; `qemu_event_timedwait()`
//! waits on the real clock.
//!
//! [`NativeRcu::rcu_init`] loads a fresh copy of the object with `dlopen()`
//! (so every instance has its own globals, as QEMU has one per process);
//! the tree's `rcu_init()` constructor runs inside it: it creates the
//! call_rcu thread and registers the calling thread, as in QEMU.  The
//! call_rcu thread is detached and is never stopped (QEMU never stops it):
//! an instance's thread stays parked in its idle wait after the run.
//!
//! Each copy is written to the temporary directory and removed once loaded;
//! set `CFRONT_NATIVE_KEEP=1` to keep them (a debugger needs the file to read
//! the tree's debug information, e.g. `gdb --args rcu-check torture --c-tree …`).
//!
//! There is no interpreter here, so nothing is explored or mutated and no
//! probe counts a window: a native run is a stress test of the compiled C
//! under the OS scheduler, like `rcu-check torture` on a port.
#![allow(clippy::disallowed_types)]

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_long, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::compile::{find_clang, include_dir, tool_next_to};
use crate::qemu::{walk_registry, READER_TLS};
use crate::Error;

/// Which names of the tree's data the harness reads (file-scope statics are
/// found in the object's symbol table, exported ones the same way).
const DATA: [&str; 5] = ["registry", "rcu_gp_event", "rcu_registry_lock", "rcu_gp_ctr", "cfront_native_ctx"];

static BUILDS: AtomicU64 = AtomicU64::new(0);
static COPIES: AtomicU64 = AtomicU64::new(0);

/// A tree compiled to a shared object.
#[derive(Debug)]
pub struct NativeLib {
    /// The shared object's bytes (each instance loads a copy written to the
    /// temporary directory; the build directory is removed once built).
    so: Vec<u8>,
    /// The compiler flags it was built with.
    pub cflags: Vec<String>,
    /// Symbol-table values of [`DATA`] (statics included).
    data: HashMap<String, u64>,
    /// The tree's directory (for messages).
    dir: PathBuf,
}

fn run(cmd: &mut Command, what: &str) -> Result<std::process::Output, Error> {
    let o = cmd.output().map_err(|e| Error::new(format!("cannot run {what}: {e}")))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        // The linker's own line (`undefined reference to …`) before the driver's summary.
        let first = err
            .lines()
            .find(|l| l.contains("undefined"))
            .or_else(|| err.lines().find(|l| l.contains("error")))
            .unwrap_or_else(|| err.lines().next().unwrap_or(""));
        return Err(Error::new(format!("{what} failed: {}", first.trim())));
    }
    Ok(o)
}

impl NativeLib {
    /// Compile `dir`'s util/rcu.c, util/event.c, util/notify.c, the
    /// environment and the native intrinsics into one shared object (`cflags`:
    /// the tree's include path and defines).  Errors are one line.
    pub fn build(dir: &Path, cflags: &[String]) -> Result<NativeLib, Error> {
        let out = std::env::temp_dir().join(format!(
            "cfront-native-{}-{}",
            std::process::id(),
            BUILDS.fetch_add(1, Ordering::Relaxed)
        ));
        let r = Self::build_in(dir, cflags, &out);
        let _ = std::fs::remove_dir_all(&out);
        r
    }

    fn build_in(dir: &Path, cflags: &[String], out: &Path) -> Result<NativeLib, Error> {
        let clang = find_clang()?;
        std::fs::create_dir_all(out).map_err(|e| Error::new(format!("cannot create {}: {e}", out.display())))?;
        let env = crate::qemu::env_dir();
        let mut srcs: Vec<PathBuf> =
            ["rcu", "event", "notify"].iter().map(|f| dir.join(format!("util/{f}.c"))).collect();
        srcs.push(env.join("env.c"));
        if crate::qemu::uses_semaphore(dir) {
            // Peter Xu's drafts: QemuSemaphore, as the interpreter links it.
            srcs.push(env.join("env-sem.c"));
        }
        srcs.push(env.join("native.c"));
        let mut objs = vec![];
        for (i, s) in srcs.iter().enumerate() {
            let o = out.join(format!("{i}-{}.o", s.file_stem().unwrap_or_default().to_string_lossy()));
            run(
                Command::new(&clang)
                    // CFRONT_NATIVE: where the environment differs natively (env-sem.c's clock).
                    .args(["-O2", "-g", "-fPIC", "-std=gnu11", "-c", "-DCFRONT_NATIVE"])
                    .arg("-I")
                    .arg(include_dir())
                    .args(cflags)
                    .arg("-o")
                    .arg(&o)
                    .arg(s),
                &format!("clang-14 on {}", s.display()),
            )?;
            objs.push(o);
        }
        let so = out.join("libqemu-rcu.so");
        // -Bsymbolic: the tree's own references bind inside the object (the
        // environment's no-op pthread_atfork(), not the C library's).
        // -z defs: a function neither the tree, the environment, the C
        // library nor glib defines is a link error here, not a crash later.
        run(
            Command::new(&clang)
                .args(["-shared", "-fPIC", "-pthread", "-Wl,-Bsymbolic", "-Wl,-z,defs", "-o"])
                .arg(&so)
                .args(&objs)
                .arg("-lglib-2.0"),
            &format!("linking {}'s native object", dir.display()),
        )?;
        let nm = tool_next_to(&clang, "llvm-nm");
        let o = run(Command::new(&nm).arg("--defined-only").arg(&so), "llvm-nm-14")?;
        let mut data = HashMap::new();
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let mut w = l.split_whitespace();
            if let (Some(addr), Some(kind), Some(name)) = (w.next(), w.next(), w.next()) {
                if DATA.contains(&name) && "bBdDrRsS".contains(kind) {
                    if let Ok(a) = u64::from_str_radix(addr, 16) {
                        // A name defined twice (a static in two files) is ambiguous: drop it.
                        if data.insert(name.to_string(), a).is_some() {
                            data.insert(name.to_string(), u64::MAX);
                        }
                    }
                }
            }
        }
        if !data.contains_key("cfront_native_ctx") {
            return Err(Error::new(format!("{}: the native object has no cfront_native_ctx", so.display())));
        }
        let bytes = std::fs::read(&so).map_err(|e| Error::new(format!("cannot read {}: {e}", so.display())))?;
        Ok(NativeLib { so: bytes, cflags: cflags.to_vec(), data, dir: dir.to_path_buf() })
    }
}

type Hook = Box<dyn Fn() + Send + Sync>;

/// What the C calls back into (`cfront_native_ctx`).
struct Ctx {
    callbacks: Mutex<HashMap<i64, Box<dyn FnOnce() + Send>>>,
    notifiers: Mutex<HashMap<i64, Arc<dyn Fn() + Send + Sync>>>,
    next: AtomicI64,
    /// Run before every call into Rust from C (e.g. make the call_rcu
    /// thread known to the harness's runtime).
    on_entry: Hook,
    /// Counted: notifier calls.
    notify_calls: AtomicU64,
}

extern "C" fn callback_tramp(ctx: *mut c_void, id: c_long) {
    // SAFETY: ctx is the Ctx that NativeRcu keeps alive for the process.
    let ctx = unsafe { &*(ctx as *const Ctx) };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        (ctx.on_entry)();
        let f = ctx.callbacks.lock().unwrap().remove(&{ id });
        match f {
            Some(f) => f(),
            None => panic!("cfront native: callback {id} run twice or never registered"),
        }
    }));
}

extern "C" fn notify_tramp(ctx: *mut c_void, id: c_long) {
    // SAFETY: as in callback_tramp.
    let ctx = unsafe { &*(ctx as *const Ctx) };
    ctx.notify_calls.fetch_add(1, Ordering::Relaxed);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        (ctx.on_entry)();
        let f = ctx.notifiers.lock().unwrap().get(&{ id }).cloned();
        if let Some(f) = f {
            f()
        }
    }));
}

type Fn0 = unsafe extern "C" fn();
type FnL = unsafe extern "C" fn(c_long);
type FnLP = unsafe extern "C" fn(c_long) -> *mut c_void;
type FnP = unsafe extern "C" fn(*mut c_void);
type FnPtr = unsafe extern "C" fn() -> *mut c_void;
type FnMutex = unsafe extern "C" fn(*mut c_void, *const c_char, c_int);

#[derive(Clone, Copy)]
struct Fns {
    register: Fn0,
    unregister: Fn0,
    read_lock: Fn0,
    read_unlock: Fn0,
    synchronize: Fn0,
    call_rcu1: FnL,
    drain: Fn0,
    force: Option<Fn0>,
    add_notifier: FnLP,
    remove_notifier: FnP,
    mutex_lock: FnMutex,
    mutex_unlock: FnMutex,
}

/// A force_rcu notifier added with [`NativeRcu::add_force_rcu_notifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeNotifier(usize);

/// util/rcu.c's API on one natively loaded instance of a tree.
pub struct NativeRcu {
    handle: usize,
    f: Fns,
    ctx: Arc<Ctx>,
    /// Run-time addresses of [`DATA`] that the object defines.
    data: HashMap<String, usize>,
    off_node: usize,
    off_waiting: usize,
    off_event_value: usize,
    get_ptr: Option<FnPtr>,
    tls: Option<CString>,
    /// The OS thread that ran the constructors (registered by `rcu_init()`).
    init_thread: std::thread::ThreadId,
}

impl std::fmt::Debug for NativeRcu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NativeRcu({:#x})", self.handle)
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a C string owned by libc.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown dlopen error".into()
    } else {
        // SAFETY: non-null C string from dlerror.
        unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// The instances the calling thread registered with.
struct AtExit(Vec<Arc<NativeRcu>>);

impl Drop for AtExit {
    fn drop(&mut self) {
        // Runs among the thread's TLS destructors, before the C library frees
        // its thread-locals (rcu_reader among them).
        for rcu in self.0.drain(..) {
            if rcu.registry_members().contains(&rcu.me()) {
                rcu.rcu_unregister_thread();
            }
        }
    }
}

// Harness state on real threads only (cfront::native never runs under loom or shuttle).
#[allow(clippy::disallowed_macros)]
mod at_exit {
    thread_local! {
        pub(super) static REGISTERED: std::cell::RefCell<super::AtExit> =
            const { std::cell::RefCell::new(super::AtExit(Vec::new())) };
    }
}

fn unregister_at_exit(rcu: &Arc<NativeRcu>) {
    at_exit::REGISTERED.with(|r| {
        let mut r = r.borrow_mut();
        if !r.0.iter().any(|x| Arc::ptr_eq(x, rcu)) {
            r.0.push(rcu.clone());
        }
    });
}

impl NativeRcu {
    /// Load a fresh copy of `lib`: its constructors run `rcu_init()` (the
    /// call_rcu thread created, the calling thread registered).  `on_entry`
    /// runs on a C thread before each of its calls into Rust.
    ///
    /// A Rust thread registered with this instance (the loading thread, and
    /// any that calls [`NativeRcu::rcu_register_thread`]) unregisters when it
    /// exits, if it has not: QEMU's threads do, and a `rcu_reader` left on the
    /// registry by a dead thread is freed thread-local memory that the next
    /// grace period would read (the checkers' scenarios may end a thread
    /// registered, since their runs end with it).
    pub fn rcu_init(lib: &NativeLib, on_entry: impl Fn() + Send + Sync + 'static) -> Result<Arc<NativeRcu>, Error> {
        let copy = std::env::temp_dir().join(format!(
            "cfront-native-{}-{}.so",
            std::process::id(),
            COPIES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&copy, &lib.so).map_err(|e| Error::new(format!("cannot write {}: {e}", copy.display())))?;
        let path = CString::new(copy.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
        // SAFETY: loading a shared object we built; its constructors are the
        // tree's rcu_init() and the environment's.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if std::env::var_os("CFRONT_NATIVE_KEEP").is_none() {
            let _ = std::fs::remove_file(&copy);
        }
        if handle.is_null() {
            return Err(Error::new(format!("dlopen of {}'s native object failed: {}", lib.dir.display(), dlerror())));
        }
        let sym = |n: &str| -> Option<*mut c_void> {
            let c = CString::new(n).unwrap();
            // SAFETY: dlsym on a live handle.
            let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        let need = |n: &str| {
            sym(n).ok_or_else(|| Error::new(format!("{}: the native object defines no `{n}`", lib.dir.display())))
        };
        // SAFETY: each symbol is the C function of that name, with the
        // signature declared in env.c / qemu/rcu.h.
        let f = unsafe {
            Fns {
                register: std::mem::transmute::<*mut c_void, Fn0>(need("rcu_register_thread")?),
                unregister: std::mem::transmute::<*mut c_void, Fn0>(need("rcu_unregister_thread")?),
                read_lock: std::mem::transmute::<*mut c_void, Fn0>(need("cfront_rcu_read_lock")?),
                read_unlock: std::mem::transmute::<*mut c_void, Fn0>(need("cfront_rcu_read_unlock")?),
                synchronize: std::mem::transmute::<*mut c_void, Fn0>(need("synchronize_rcu")?),
                call_rcu1: std::mem::transmute::<*mut c_void, FnL>(need("cfront_call_rcu1")?),
                drain: std::mem::transmute::<*mut c_void, Fn0>(need("drain_call_rcu")?),
                force: sym("force_rcu").map(|p| std::mem::transmute::<*mut c_void, Fn0>(p)),
                add_notifier: std::mem::transmute::<*mut c_void, FnLP>(need("cfront_add_force_rcu_notifier")?),
                remove_notifier: std::mem::transmute::<*mut c_void, FnP>(need("cfront_remove_force_rcu_notifier")?),
                mutex_lock: std::mem::transmute::<*mut c_void, FnMutex>(need("qemu_mutex_lock_impl")?),
                mutex_unlock: std::mem::transmute::<*mut c_void, FnMutex>(need("qemu_mutex_unlock_impl")?),
            }
        };
        // The load bias: where the anchor is against where nm says it is.
        let anchor = need("cfront_native_ctx")? as usize;
        let bias = anchor.wrapping_sub(lib.data["cfront_native_ctx"] as usize);
        let data =
            lib.data.iter().filter(|(_, a)| **a != u64::MAX).map(|(n, a)| (n.clone(), bias + *a as usize)).collect();
        // SAFETY: the exported offsets are `const unsigned long`s in env.c.
        let konst = |n: &str| -> Result<usize, Error> { Ok(unsafe { *(need(n)? as *const u64) } as usize) };
        let (off_node, off_waiting, off_event_value) =
            (konst("cfront_off_reader_node")?, konst("cfront_off_reader_waiting")?, konst("cfront_off_event_value")?);
        // QEMU_DEFINE_CO_TLS makes the variable static and exports
        // get_ptr_rcu_reader(); a plain `__thread` is found by dlsym.
        // SAFETY: `type *get_ptr_rcu_reader(void)`.
        let get_ptr = sym("get_ptr_rcu_reader").map(|p| unsafe { std::mem::transmute::<*mut c_void, FnPtr>(p) });
        let tls = READER_TLS.iter().find(|n| sym(n).is_some()).map(|n| CString::new(*n).unwrap());
        if get_ptr.is_none() && tls.is_none() {
            return Err(Error::new(format!("{}: util/rcu.c defines no thread-local `rcu_reader`", lib.dir.display())));
        }
        let ctx = Arc::new(Ctx {
            callbacks: Mutex::new(HashMap::new()),
            notifiers: Mutex::new(HashMap::new()),
            next: AtomicI64::new(1),
            on_entry: Box::new(on_entry),
            notify_calls: AtomicU64::new(0),
        });
        // SAFETY: the three pointers are the native.c globals of those names;
        // the C side reads them with acquire loads.  The Ctx is leaked into
        // the instance (its call_rcu thread outlives any Rust owner).
        unsafe {
            let p = Arc::into_raw(ctx.clone()) as *mut c_void;
            let cb = need("cfront_native_callback")? as *mut usize;
            let nt = need("cfront_native_notify")? as *mut usize;
            let cx = anchor as *mut usize;
            (*(cx as *const std::sync::atomic::AtomicUsize)).store(p as usize, Ordering::Release);
            (*(nt as *const std::sync::atomic::AtomicUsize))
                .store(notify_tramp as *const () as usize, Ordering::Release);
            (*(cb as *const std::sync::atomic::AtomicUsize))
                .store(callback_tramp as *const () as usize, Ordering::Release);
        }
        let rcu = Arc::new(NativeRcu {
            handle: handle as usize,
            f,
            ctx,
            data,
            off_node,
            off_waiting,
            off_event_value,
            get_ptr,
            tls,
            init_thread: std::thread::current().id(),
        });
        unregister_at_exit(&rcu);
        Ok(rcu)
    }

    /// `rcu_register_thread()` (and unregister when the thread exits, if it
    /// has not: see [`NativeRcu::rcu_init`]).
    pub fn rcu_register_thread(self: &Arc<Self>) {
        // SAFETY: a C function without arguments (all calls below likewise).
        unsafe { (self.f.register)() }
        unregister_at_exit(self);
    }

    /// `rcu_unregister_thread()`.
    pub fn rcu_unregister_thread(&self) {
        unsafe { (self.f.unregister)() }
    }

    /// `rcu_read_lock()` (the tree's static inline, through the environment).
    pub fn rcu_read_lock(&self) {
        unsafe { (self.f.read_lock)() }
    }

    /// `rcu_read_unlock()`.
    pub fn rcu_read_unlock(&self) {
        unsafe { (self.f.read_unlock)() }
    }

    /// `synchronize_rcu()`.
    pub fn synchronize_rcu(&self) {
        unsafe { (self.f.synchronize)() }
    }

    /// `call_rcu1()` of a C node that runs `func` on the call_rcu thread.
    pub fn call_rcu1(&self, func: impl FnOnce() + Send + 'static) {
        let id = self.ctx.next.fetch_add(1, Ordering::Relaxed);
        self.ctx.callbacks.lock().unwrap().insert(id, Box::new(func));
        unsafe { (self.f.call_rcu1)(id as c_long) }
    }

    /// `drain_call_rcu()`.
    pub fn drain_call_rcu(&self) {
        unsafe { (self.f.drain)() }
    }

    /// `force_rcu()`; false (and nothing called) when the tree has none.
    pub fn force_rcu(&self) -> bool {
        match self.f.force {
            Some(f) => {
                unsafe { f() };
                true
            }
            None => false,
        }
    }

    /// `rcu_add_force_rcu_notifier()` for the calling thread, running `f`.
    pub fn add_force_rcu_notifier(&self, f: impl Fn() + Send + Sync + 'static) -> NativeNotifier {
        let id = self.ctx.next.fetch_add(1, Ordering::Relaxed);
        self.ctx.notifiers.lock().unwrap().insert(id, Arc::new(f));
        NativeNotifier(unsafe { (self.f.add_notifier)(id as c_long) } as usize)
    }

    /// `rcu_remove_force_rcu_notifier()`.
    pub fn remove_force_rcu_notifier(&self, n: NativeNotifier) {
        unsafe { (self.f.remove_notifier)(n.0 as *mut c_void) }
    }

    /// The address of a symbol the object exports (a function or a global),
    /// for tests and diagnostics.
    pub fn symbol(&self, name: &str) -> Option<*mut c_void> {
        let c = CString::new(name).ok()?;
        // SAFETY: dlsym on the instance's live handle.
        let p = unsafe { libc::dlsym(self.handle as *mut c_void, c.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    /// How many times the C called a force_rcu notifier.
    pub fn notifier_calls(&self) -> u64 {
        self.ctx.notify_calls.load(Ordering::Relaxed)
    }

    /// Harness view: the calling thread's `rcu_reader` (its address).
    pub fn me(&self) -> u64 {
        match (self.get_ptr, &self.tls) {
            // SAFETY: the tree's accessor of its thread-local.
            (Some(f), _) => unsafe { f() as u64 },
            // SAFETY: dlsym of a TLS symbol gives the calling thread's instance.
            (None, Some(n)) => unsafe { libc::dlsym(self.handle as *mut c_void, n.as_ptr()) as u64 },
            (None, None) => unreachable!("checked by rcu_init"),
        }
    }

    fn peek<T: Copy>(&self, addr: usize) -> T {
        // SAFETY: a live object of the tree (read racily, as a diagnostic).
        unsafe { std::ptr::read_volatile(addr as *const T) }
    }

    /// Harness view: the calling thread's `rcu_reader.waiting`.
    pub fn peek_waiting(&self) -> bool {
        self.peek::<u8>(self.me() as usize + self.off_waiting) != 0
    }

    /// Harness view: whether `rcu_gp_event` is set (0, `EV_SET`).
    pub fn peek_gp_event_is_set(&self) -> bool {
        self.data.get("rcu_gp_event").is_some_and(|a| self.peek::<u32>(a + self.off_event_value) == 0)
    }

    /// Harness view: `rcu_gp_ctr` (0 when the tree has none).
    pub fn peek_gp_ctr(&self) -> u64 {
        self.data.get("rcu_gp_ctr").map(|a| self.peek::<u64>(*a)).unwrap_or(0)
    }

    /// Harness view: the readers on `registry`, read holding `rcu_registry_lock`.
    pub fn registry_members(&self) -> Vec<u64> {
        let (Some(&reg), Some(&lock)) = (self.data.get("registry"), self.data.get("rcu_registry_lock")) else {
            return vec![];
        };
        let file = c"cfront-native";
        unsafe { (self.f.mutex_lock)(lock as *mut c_void, file.as_ptr(), 0) };
        let v = walk_registry(reg as u64, self.off_node as u64, |a, _| Some(self.peek::<u64>(a as usize)));
        unsafe { (self.f.mutex_unlock)(lock as *mut c_void, file.as_ptr(), 0) };
        v
    }

    /// Harness teardown: the thread that loaded the instance (registered by
    /// `rcu_init()`) unregisters now, if it has not, so that the call_rcu
    /// thread, which lives on, never walks a dead thread's `rcu_reader`.
    /// Nothing else stops: QEMU never stops its call_rcu thread.
    pub fn shutdown(&self) {
        if std::thread::current().id() == self.init_thread && self.registry_members().contains(&self.me()) {
            self.rcu_unregister_thread();
        }
    }
}
