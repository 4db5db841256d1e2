//! The loader: LLVM IR (read with the `llvm-ir` crate) translated into a compact,
//! indexed form that the interpreter runs.  Orderings come from the text
//! ([`crate::text`]).  Constructs the interpreter does not support become
//! [`Op::Unsupported`] / [`Term::Unsupported`] with the C `file:line`: they fail
//! when executed, and [`Program::unsupported`] lists them all up front.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use rcu_core::site::{Ord as SOrd, SiteKind};

use llvm_ir::constant::Constant;
use llvm_ir::instruction::{self as li, Instruction};
use llvm_ir::terminator::Terminator;
use llvm_ir::types::{FPType, NamedStructDef, Type, TypeRef};
use llvm_ir::{DebugLoc, HasDebugLoc, IntPredicate, Module, Name, Operand};

use crate::text::{self, TextInst, TextOrdering};
use crate::Error;
use rcu_core::platform::Ordering;

/// Non-TLS globals are laid out from here (fixed addresses, the same in every run).
pub(crate) const GLOBAL_BASE: u64 = 0x1000_0000;
/// Function `i` has address `FUNC_BASE + 16 * i`.
pub(crate) const FUNC_BASE: u64 = 0x7000_0000_0000;
/// Run-time allocations (heap, stack, thread-locals) come from here.
pub(crate) const DYN_BASE: u64 = 0x2000_0000_0000;

/// An operand of an internal instruction.
#[derive(Clone, Debug)]
pub(crate) enum Opnd {
    Const(u64),
    Local(u32),
    /// Address inside the calling thread's instance of thread-local `g`.
    Tls(u32, u64),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    UDiv,
    SDiv,
    URem,
    SRem,
    And,
    Or,
    Xor,
    Shl,
    LShr,
    AShr,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum CastOp {
    Trunc,
    ZExt,
    SExt,
    /// ptrtoint / inttoptr / bitcast / freeze: the value, masked to the result width.
    Copy,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum RmwOp {
    Xchg,
    Add,
    Sub,
    And,
    Nand,
    Or,
    Xor,
    Max,
    Min,
    UMax,
    UMin,
}

impl RmwOp {
    /// The IR mnemonic (`xchg`, `add`, …) for traces.
    pub(crate) fn name(self) -> &'static str {
        match self {
            RmwOp::Xchg => "xchg",
            RmwOp::Add => "add",
            RmwOp::Sub => "sub",
            RmwOp::And => "and",
            RmwOp::Nand => "nand",
            RmwOp::Or => "or",
            RmwOp::Xor => "xor",
            RmwOp::Max => "max",
            RmwOp::Min => "min",
            RmwOp::UMax => "umax",
            RmwOp::UMin => "umin",
        }
    }
}

/// A function provided by the environment (not C code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extern {
    Malloc,
    Calloc,
    Free,
    PthreadCreate,
    ThreadCreate,
    PthreadJoin,
    PthreadExit,
    Callback,
    Notify,
    ClockGettime,
    Gettimeofday,
    AssertFail,
    Abort,
    Observe,
    Yield,
    Sleep,
    MutexInit,
    MutexLock,
    MutexUnlock,
    MutexDestroy,
    CondInit,
    CondDestroy,
    CondWait,
    CondTimedwait,
    CondSignal,
    CondBroadcast,
    IdlePoint,
    Syscall,
    Errno,
    Memset,
    Memcpy,
    Nop,
    Expect,
    UMax,
    UMin,
    SMax,
    SMin,
}

impl Extern {
    fn by_name(n: &str) -> Option<Extern> {
        Some(match n {
            "malloc" => Extern::Malloc,
            "calloc" => Extern::Calloc,
            "free" => Extern::Free,
            "pthread_create" => Extern::PthreadCreate,
            "pthread_join" => Extern::PthreadJoin,
            "pthread_exit" => Extern::PthreadExit,
            "cfront_thread_create" => Extern::ThreadCreate,
            "cfront_callback" => Extern::Callback,
            "cfront_notify" => Extern::Notify,
            "clock_gettime" => Extern::ClockGettime,
            "gettimeofday" => Extern::Gettimeofday,
            "__assert_fail" => Extern::AssertFail,
            "abort" => Extern::Abort,
            "cfront_observe" => Extern::Observe,
            "sched_yield" | "cfront_yield" => Extern::Yield,
            "g_usleep" | "usleep" => Extern::Sleep,
            "pthread_mutex_init" => Extern::MutexInit,
            "pthread_mutex_lock" => Extern::MutexLock,
            "pthread_mutex_unlock" => Extern::MutexUnlock,
            "pthread_mutex_destroy" => Extern::MutexDestroy,
            "pthread_cond_init" => Extern::CondInit,
            "pthread_cond_destroy" => Extern::CondDestroy,
            "pthread_cond_wait" => Extern::CondWait,
            "pthread_cond_timedwait" => Extern::CondTimedwait,
            "pthread_cond_signal" => Extern::CondSignal,
            "pthread_cond_broadcast" => Extern::CondBroadcast,
            "cfront_idle_point" => Extern::IdlePoint,
            "syscall" => Extern::Syscall,
            "__errno_location" => Extern::Errno,
            _ if n.starts_with("llvm.memset.") => Extern::Memset,
            _ if n.starts_with("llvm.memcpy.") || n.starts_with("llvm.memmove.") => Extern::Memcpy,
            _ if n.starts_with("llvm.lifetime.")
                || n.starts_with("llvm.dbg.")
                || n == "llvm.assume"
                || n == "llvm.experimental.noalias.scope.decl" =>
            {
                Extern::Nop
            }
            _ if n.starts_with("llvm.expect.") => Extern::Expect,
            _ if n.starts_with("llvm.umax.") => Extern::UMax,
            _ if n.starts_with("llvm.umin.") => Extern::UMin,
            _ if n.starts_with("llvm.smax.") => Extern::SMax,
            _ if n.starts_with("llvm.smin.") => Extern::SMin,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Callee {
    Func(u32),
    Indirect(Opnd),
}

/// One internal instruction.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Bin {
        op: BinOp,
        w: u32,
        a: Opnd,
        b: Opnd,
    },
    ICmp {
        pred: IntPredicate,
        w: u32,
        a: Opnd,
        b: Opnd,
    },
    Select {
        c: Opnd,
        a: Opnd,
        b: Opnd,
    },
    Cast {
        op: CastOp,
        from: u32,
        to: u32,
        a: Opnd,
    },
    /// `base + off + Σ sext(idx, w) * scale`
    Gep {
        base: Opnd,
        off: i64,
        terms: Vec<(Opnd, u32, i64)>,
    },
    Alloca {
        size: u64,
        leaves: Arc<Vec<(u64, u8)>>,
        name: String,
    },
    /// `spec`: a plain load whose value only feeds `select`s right after it
    /// (see `mark_speculative_loads`).
    Load {
        p: Opnd,
        size: u8,
        ord: Option<Ordering>,
        spec: bool,
    },
    Store {
        p: Opnd,
        v: Opnd,
        size: u8,
        ord: Option<Ordering>,
    },
    Rmw {
        op: RmwOp,
        p: Opnd,
        v: Opnd,
        size: u8,
        ord: Ordering,
    },
    /// Result: the old value; `flag` gets the success bit.
    CmpXchg {
        p: Opnd,
        exp: Opnd,
        new: Opnd,
        size: u8,
        succ: Ordering,
        fail: Ordering,
        flag: u32,
    },
    Copy {
        a: Opnd,
    },
    Fence {
        ord: Ordering,
    },
    Call {
        callee: Callee,
        args: Vec<Opnd>,
    },
    Nop,
    Unsupported(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Inst {
    pub dst: Option<u32>,
    pub op: Op,
    pub loc: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum Term {
    Ret(Option<Opnd>),
    Br(u32),
    CondBr(Opnd, u32, u32),
    Switch(Opnd, u32, Vec<(u64, u32)>, u32),
    Unreachable,
    Unsupported(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Block {
    /// `(dst, [(predecessor block, value)])`
    pub phis: Vec<(u32, Vec<(u32, Opnd)>)>,
    pub insts: Vec<Inst>,
    pub term: Term,
    pub term_loc: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub name: String,
    pub nparams: usize,
    pub nlocals: usize,
    /// Width of the return value in bits (0: void).
    pub ret_w: u32,
    /// `None`: a declaration (environment function or undefined).
    pub blocks: Option<Vec<Block>>,
    pub ext: Option<Extern>,
}

#[derive(Clone, Debug)]
pub(crate) struct Global {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub tls: bool,
    pub constant: bool,
    /// Declared (`extern`) but not defined here: the environment must define it.
    pub external: bool,
    /// Initial image (TLS: the per-thread initial image).
    pub image: Arc<Vec<u8>>,
    /// Naturally aligned scalar leaves `(offset, size)` from the type, for
    /// creating the race-checked slots when the object comes to life.
    pub leaves: Arc<Vec<(u64, u8)>>,
}

/// What the loader saw for one atomic instruction (for tests and reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtomicOp {
    /// `load`, `store`, `fence`, `atomicrmw` or `cmpxchg`.
    pub opcode: String,
    /// The ordering the interpreter uses (read from the text; cmpxchg: success).
    pub ordering: TextOrdering,
    /// cmpxchg only: the failure ordering.
    pub failure: Option<TextOrdering>,
    /// The ordering the LLVM C API reported (`None`: it said `NotAtomic`).
    pub api_ordering: Option<TextOrdering>,
    /// `syncscope("singlethread")`.
    pub single_thread: bool,
    /// C `file:line`.
    pub loc: String,
}

/// A loaded program: functions, globals and their fixed addresses.
#[derive(Debug)]
pub struct Program {
    pub(crate) funcs: Vec<Func>,
    pub(crate) func_by_name: BTreeMap<String, u32>,
    pub(crate) globals: Vec<Global>,
    pub(crate) locs: Vec<String>,
    /// Per loc: `(file, line)` (`file` relative to the tree: `util/rcu.c`,
    /// `include/qemu/rcu.h`; line 0 without debug information).
    pub(crate) loc_lines: Vec<(Arc<str>, u32)>,
    /// `__attribute__((constructor))` functions, in priority order.
    pub(crate) ctors: Vec<u32>,
    atomics: BTreeMap<String, Vec<AtomicOp>>,
    unsupported: Vec<String>,
    csites: Vec<CSite>,
    /// Per loc id: its C site's index (`u32::MAX`: none).
    loc_site: Vec<u32>,
}

/// A mutation site of compiled C: one C line of the tree (`util/…`,
/// `include/…`) with fences or ordered atomic instructions; every such
/// instruction compiled from the line (inlined copies included) is the site.
#[derive(Clone, Debug)]
pub struct CSite {
    /// `util/rcu.c:124`.
    pub id: String,
    /// `(file, line)`.
    pub file: String,
    /// The line.
    pub line: u32,
    /// What the line's first such instruction is (its ordering decides the mutations).
    pub kind: SiteKind,
    /// The instructions, e.g. `fence seq_cst`, `store release` (each once).
    pub ops: Vec<String>,
    /// The LLVM functions they are in (after inlining).
    pub funcs: Vec<String>,
}

fn site_ord(t: TextOrdering) -> SOrd {
    match t {
        TextOrdering::Unordered | TextOrdering::Monotonic => SOrd::Relaxed,
        TextOrdering::Acquire => SOrd::Acquire,
        TextOrdering::Release => SOrd::Release,
        TextOrdering::AcqRel => SOrd::AcqRel,
        TextOrdering::SeqCst => SOrd::SeqCst,
    }
}

/// Group the ordered atomics and fences by C line of the tree.
fn csites(site_locs: &[(u32, String, TextOrdering, String)], loc_lines: &[(Arc<str>, u32)]) -> (Vec<CSite>, Vec<u32>) {
    let mut sites: Vec<CSite> = vec![];
    let mut loc_site = vec![u32::MAX; loc_lines.len()];
    for (loc, opcode, ord, func) in site_locs {
        let (file, line) = &loc_lines[*loc as usize];
        let tree = file.starts_with("util/") || file.starts_with("include/");
        if !tree || *line == 0 || (opcode != "fence" && site_ord(*ord) == SOrd::Relaxed) {
            continue;
        }
        let id = format!("{file}:{line}");
        let i = match sites.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                let o = site_ord(*ord);
                let kind = match opcode.as_str() {
                    "fence" => SiteKind::Fence(o),
                    "load" | "store" => SiteKind::Access(o),
                    _ => SiteKind::Rmw(o),
                };
                sites.push(CSite { id, file: file.to_string(), line: *line, kind, ops: vec![], funcs: vec![] });
                sites.len() - 1
            }
        };
        let op = format!("{opcode} {}", ord.name());
        if !sites[i].ops.contains(&op) {
            sites[i].ops.push(op);
        }
        if !sites[i].funcs.contains(func) {
            sites[i].funcs.push(func.clone());
        }
        loc_site[*loc as usize] = i as u32;
    }
    (sites, loc_site)
}

impl Program {
    /// The C mutation sites, in order of first appearance.
    pub fn csites(&self) -> &[CSite] {
        &self.csites
    }

    pub(crate) fn loc_site(&self, loc: u32) -> Option<u32> {
        self.loc_site.get(loc as usize).copied().filter(|&i| i != u32::MAX)
    }

    /// Load a textual `.ll` file.
    pub fn load(ll: &Path) -> Result<Arc<Program>, Error> {
        let text = std::fs::read_to_string(ll).map_err(|e| Error::new(format!("cannot read {}: {e}", ll.display())))?;
        let module = Module::from_ir_path(ll).map_err(|e| {
            Error::new(format!("{}: not valid LLVM IR: {}", ll.display(), e.lines().next().unwrap_or("")))
        })?;
        let insts =
            text::parse(&text).map_err(|e| Error::new(format!("{}: cannot read the IR text: {e}", ll.display())))?;
        Loader::new(&module, insts).run().map(Arc::new).map_err(|e| Error::new(format!("{}: {e}", ll.display())))
    }

    /// The atomic instructions of function `f` (in block order) as the
    /// interpreter reads them.
    pub fn atomic_ops(&self, f: &str) -> &[AtomicOp] {
        self.atomics.get(f).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Every construct the interpreter does not support, one line each
    /// (`construct in function at file:line`).  They fail only when executed.
    pub fn unsupported(&self) -> &[String] {
        &self.unsupported
    }

    /// The functions the program declares but neither defines nor gets from the
    /// environment: calling one fails.  The list of what an environment for
    /// this C still has to provide.
    pub fn undefined_functions(&self) -> Vec<&str> {
        self.funcs.iter().filter(|f| f.blocks.is_none() && f.ext.is_none()).map(|f| f.name.as_str()).collect()
    }

    /// The globals the program declares but does not define (`extern`):
    /// accessing one fails.
    pub fn undefined_globals(&self) -> Vec<&str> {
        self.globals.iter().filter(|g| g.external).map(|g| g.name.as_str()).collect()
    }

    /// The defined function `name`, for [`crate::Instance::call`].
    pub fn func(&self, name: &str) -> Option<crate::FuncId> {
        self.func_by_name.get(name).copied().filter(|&i| self.funcs[i as usize].blocks.is_some()).map(crate::FuncId)
    }

    /// The fixed address of defined, non-thread-local global `name`.
    pub fn global_addr(&self, name: &str) -> Option<u64> {
        self.globals.iter().find(|g| g.name == name && !g.tls && !g.external).map(|g| g.addr)
    }

    /// The first 8 bytes of the constant global at `addr` (a layout the
    /// environment exports), if it is one.
    pub fn constant_u64(&self, addr: u64) -> Option<u64> {
        let g = self.globals.iter().find(|g| g.addr == addr && g.constant)?;
        let mut b = [0u8; 8];
        let n = g.image.len().min(8);
        b[..n].copy_from_slice(&g.image[..n]);
        Some(u64::from_le_bytes(b))
    }

    /// Whether a thread-local of this name is defined.
    pub fn has_tls(&self, name: &str) -> bool {
        self.globals.iter().any(|g| g.name == name && g.tls && !g.external)
    }

    /// Whether a global of this name is defined (not only declared).
    pub fn has_global(&self, name: &str) -> bool {
        self.globals.iter().any(|g| g.name == name && !g.external)
    }

    /// Whether a function of this name is defined.
    pub fn has_function(&self, name: &str) -> bool {
        self.func_by_name.get(name).is_some_and(|&i| self.funcs[i as usize].blocks.is_some())
    }

    pub(crate) fn loc(&self, i: u32) -> &str {
        &self.locs[i as usize]
    }

    /// The C `(file, line)` of a location id (as the interpreter reports it
    /// to a watcher); `("", 0)` without debug information.
    pub fn loc_line(&self, i: u32) -> (&str, u32) {
        let (f, l) = &self.loc_lines[i as usize];
        (f, *l)
    }

    /// The location ids whose C file ends with `file` and whose line is in
    /// `lines` (a watcher's probe points).
    pub fn locs_at(&self, file: &str, lines: std::ops::RangeInclusive<u32>) -> Vec<u32> {
        (0..self.loc_lines.len() as u32)
            .filter(|&i| {
                let (f, l) = &self.loc_lines[i as usize];
                f.ends_with(file) && lines.contains(l)
            })
            .collect()
    }
}

/// A source path as a reader of a QEMU tree knows it: from its `util/`,
/// `include/` or `linux-headers/` component on (`util/rcu.c`), else the file
/// name alone (`driver.c`).
fn tree_relative(path: &str) -> String {
    for top in ["/util/", "/include/", "/linux-headers/", "/qemu/shadow/"] {
        if let Some(i) = path.rfind(top) {
            return path[i + 1..].to_string();
        }
    }
    Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Dynamic GEP terms: `(index, index width, scale)`.
type GepTerms = Vec<(Opnd, u32, i64)>;

/// A constant value: an integer, or an offset into a thread-local.
#[derive(Clone, Copy, Debug)]
struct Cv {
    tls: Option<u32>,
    v: u64,
}

fn ord_of(t: TextOrdering) -> Ordering {
    match t {
        TextOrdering::Unordered | TextOrdering::Monotonic => Ordering::Relaxed,
        TextOrdering::Acquire => Ordering::Acquire,
        TextOrdering::Release => Ordering::Release,
        TextOrdering::AcqRel => Ordering::AcqRel,
        TextOrdering::SeqCst => Ordering::SeqCst,
    }
}

fn api_ord(o: li::MemoryOrdering) -> Option<TextOrdering> {
    use li::MemoryOrdering as M;
    Some(match o {
        M::Unordered => TextOrdering::Unordered,
        M::Monotonic => TextOrdering::Monotonic,
        M::Acquire => TextOrdering::Acquire,
        M::Release => TextOrdering::Release,
        M::AcquireRelease => TextOrdering::AcqRel,
        M::SequentiallyConsistent => TextOrdering::SeqCst,
        M::NotAtomic => return None,
    })
}

fn mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

struct Loader<'m> {
    m: &'m Module,
    text: BTreeMap<String, Vec<TextInst>>,
    funcs: Vec<Func>,
    func_by_name: BTreeMap<String, u32>,
    globals: Vec<Global>,
    global_by_name: HashMap<String, u32>,
    locs: Vec<String>,
    loc_lines: Vec<(Arc<str>, u32)>,
    loc_ids: HashMap<String, u32>,
    atomics: BTreeMap<String, Vec<AtomicOp>>,
    unsupported: Vec<String>,
    /// Every atomic instruction: (loc, opcode, ordering, function).
    site_locs: Vec<(u32, String, TextOrdering, String)>,
}

/// Per-function translation state.
struct FnCx {
    name: String,
    locals: HashMap<Name, u32>,
    blocks: HashMap<Name, u32>,
    nlocals: u32,
    /// cmpxchg result local -> its success-flag local.
    pairs: HashMap<u32, u32>,
}

impl FnCx {
    fn local(&mut self, n: &Name) -> u32 {
        if let Some(&i) = self.locals.get(n) {
            return i;
        }
        let i = self.nlocals;
        self.nlocals += 1;
        self.locals.insert(n.clone(), i);
        i
    }
    fn fresh(&mut self) -> u32 {
        self.nlocals += 1;
        self.nlocals - 1
    }
}

impl<'m> Loader<'m> {
    fn new(m: &'m Module, text: BTreeMap<String, Vec<TextInst>>) -> Self {
        Loader {
            m,
            text,
            funcs: Vec::new(),
            func_by_name: BTreeMap::new(),
            globals: Vec::new(),
            global_by_name: HashMap::new(),
            locs: vec!["(thread entry)".to_string()],
            loc_lines: vec![(Arc::from(""), 0)],
            loc_ids: HashMap::new(),
            atomics: BTreeMap::new(),
            site_locs: Vec::new(),
            unsupported: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Program, String> {
        if let Some(t) = &self.m.target_triple {
            if !t.starts_with("x86_64") {
                return Err(format!("target {t} is not supported (the data layout is x86-64's)"));
            }
        }
        if !self.m.global_aliases.is_empty() || !self.m.global_ifuncs.is_empty() {
            return Err("global aliases and ifuncs are not supported".into());
        }
        // Function indices first (constants refer to them).
        for f in &self.m.functions {
            self.add_func(&f.name, f.parameters.len(), &f.return_type, true);
        }
        for f in &self.m.func_declarations {
            self.add_func(&f.name, f.parameters.len(), &f.return_type, false);
        }
        // Global addresses, then their initial images (which may refer to each other).
        let mut next = GLOBAL_BASE;
        for g in &self.m.global_vars {
            let ty = pointee(&g.ty).ok_or_else(|| format!("global {} has a non-pointer type", g.name))?;
            let (size, align) = self.layout(&ty)?;
            let align = align.max(u64::from(g.alignment)).max(1);
            let tls = g.thread_local_mode != llvm_ir::module::ThreadLocalMode::NotThreadLocal;
            let addr = if tls {
                0
            } else {
                next = next.next_multiple_of(align.max(16));
                let a = next;
                next += size.max(1) + 16; // a gap: one past the end is nobody's
                a
            };
            let name = name_str(&g.name);
            let mut leaves = Vec::new();
            self.leaves(&ty, 0, &mut leaves)?;
            self.global_by_name.insert(name.clone(), self.globals.len() as u32);
            self.globals.push(Global {
                name,
                addr,
                size,
                tls,
                constant: g.is_constant,
                external: g.initializer.is_none(),
                image: Arc::new(Vec::new()),
                leaves: Arc::new(leaves),
            });
        }
        for (i, g) in self.m.global_vars.iter().enumerate() {
            let size = self.globals[i].size as usize;
            let mut image = vec![0u8; size];
            if let Some(init) = &g.initializer {
                self.write_const(init, 0, &mut image).map_err(|e| format!("initializer of {}: {e}", g.name))?;
            }
            self.globals[i].image = Arc::new(image);
        }
        let ctors = self.ctors()?;
        for f in &self.m.functions {
            let blocks = self.translate(f)?;
            let idx = self.func_by_name[&f.name] as usize;
            self.funcs[idx].nlocals = blocks.1;
            self.funcs[idx].blocks = Some(blocks.0);
        }
        let (csites, loc_site) = csites(&self.site_locs, &self.loc_lines);
        Ok(Program {
            funcs: self.funcs,
            func_by_name: self.func_by_name,
            globals: self.globals,
            locs: self.locs,
            loc_lines: self.loc_lines,
            ctors,
            atomics: self.atomics,
            unsupported: self.unsupported,
            csites,
            loc_site,
        })
    }

    /// `@llvm.global_ctors`: `[{ i32 priority, void ()* f, i8* data }]`.
    fn ctors(&self) -> Result<Vec<u32>, String> {
        let Some(g) = self.m.global_vars.iter().find(|g| name_str(&g.name) == "llvm.global_ctors") else {
            return Ok(Vec::new());
        };
        let mut v = Vec::new();
        if let Some(Constant::Array { elements, .. }) = g.initializer.as_ref().map(|c| c.as_ref()) {
            for e in elements {
                let Constant::Struct { values, .. } = e.as_ref() else { return Err("llvm.global_ctors entry".into()) };
                let prio = self.eval_const(&values[0])?.v;
                let f = self.eval_const(&values[1])?.v;
                v.push((prio, ((f - FUNC_BASE) / 16) as u32));
            }
        }
        v.sort_by_key(|x| x.0);
        Ok(v.into_iter().map(|x| x.1).collect())
    }

    fn add_func(&mut self, name: &str, nparams: usize, ret: &TypeRef, defined: bool) {
        let ret_w = match ret.as_ref() {
            Type::VoidType => 0,
            Type::IntegerType { bits } => *bits,
            _ => 64,
        };
        self.func_by_name.insert(name.to_string(), self.funcs.len() as u32);
        self.funcs.push(Func {
            name: name.to_string(),
            nparams,
            nlocals: 0,
            ret_w,
            blocks: None,
            ext: if defined { None } else { Extern::by_name(name) },
        });
    }

    // ----- types ---------------------------------------------------------

    fn resolve(&self, t: &TypeRef) -> Result<TypeRef, String> {
        if let Type::NamedStructType { name } = t.as_ref() {
            return match self.m.types.named_struct_def(name) {
                Some(NamedStructDef::Defined(d)) => Ok(d.clone()),
                _ => Err(format!("opaque struct %{name} has no layout")),
            };
        }
        Ok(t.clone())
    }

    /// x86-64 size and alignment.
    fn layout(&self, t: &TypeRef) -> Result<(u64, u64), String> {
        let t = self.resolve(t)?;
        Ok(match t.as_ref() {
            Type::IntegerType { bits } => {
                let b = u64::from(bits.div_ceil(8)).next_power_of_two();
                (b, b.min(16))
            }
            Type::PointerType { .. } => (8, 8),
            Type::FPType(fp) => match fp {
                FPType::Half | FPType::BFloat => (2, 2),
                FPType::Single => (4, 4),
                FPType::Double => (8, 8),
                _ => (16, 16),
            },
            Type::ArrayType { element_type, num_elements } => {
                let (s, a) = self.layout(element_type)?;
                (s * *num_elements as u64, a)
            }
            Type::VectorType { element_type, num_elements, .. } => {
                let (s, _) = self.layout(element_type)?;
                let total = (s * *num_elements as u64).next_power_of_two();
                (total, total.min(64))
            }
            Type::StructType { element_types, is_packed } => {
                let (mut off, mut align) = (0u64, 1u64);
                for e in element_types {
                    let (s, a) = self.layout(e)?;
                    let a = if *is_packed { 1 } else { a };
                    off = off.next_multiple_of(a) + s;
                    align = align.max(a);
                }
                (off.next_multiple_of(align), align)
            }
            other => return Err(format!("type {other} has no memory layout here")),
        })
    }

    fn field_offset(&self, st: &TypeRef, idx: u64) -> Result<(u64, TypeRef), String> {
        let st = self.resolve(st)?;
        let Type::StructType { element_types, is_packed } = st.as_ref() else {
            return Err(format!("field index into non-struct type {st}"));
        };
        let mut off = 0u64;
        for (i, e) in element_types.iter().enumerate() {
            let (s, a) = self.layout(e)?;
            off = off.next_multiple_of(if *is_packed { 1 } else { a });
            if i as u64 == idx {
                return Ok((off, e.clone()));
            }
            off += s;
        }
        Err(format!("field {idx} out of range in {st}"))
    }

    /// Scalar leaves of a type (for the race-checked slots of a typed object).
    fn leaves(&self, t: &TypeRef, base: u64, out: &mut Vec<(u64, u8)>) -> Result<(), String> {
        const MAX_LEAVES: usize = 4096;
        if out.len() > MAX_LEAVES {
            return Ok(());
        }
        let t = self.resolve(t)?;
        match t.as_ref() {
            Type::IntegerType { .. } | Type::PointerType { .. } | Type::FPType(_) => {
                let (s, _) = self.layout(&t)?;
                if s <= 8 {
                    out.push((base, s as u8));
                }
            }
            Type::ArrayType { element_type, num_elements } => {
                let (s, _) = self.layout(element_type)?;
                for i in 0..*num_elements as u64 {
                    self.leaves(element_type, base + i * s, out)?;
                }
            }
            Type::StructType { element_types, .. } => {
                for i in 0..element_types.len() {
                    let (off, e) = self.field_offset(&t, i as u64)?;
                    self.leaves(&e, base + off, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn int_width(&self, t: &TypeRef) -> u32 {
        match t.as_ref() {
            Type::IntegerType { bits } => *bits,
            _ => 64,
        }
    }

    // ----- constants -----------------------------------------------------

    fn global_ref(&self, n: &Name) -> Result<Cv, String> {
        let s = name_str(n);
        if let Some(&g) = self.global_by_name.get(&s) {
            let g = &self.globals[g as usize];
            return Ok(if g.tls {
                Cv { tls: Some(self.global_by_name[&s]), v: 0 }
            } else {
                Cv { tls: None, v: g.addr }
            });
        }
        if let Some(&f) = self.func_by_name.get(&s) {
            return Ok(Cv { tls: None, v: FUNC_BASE + 16 * u64::from(f) });
        }
        Err(format!("reference to unknown global @{s}"))
    }

    fn eval_const(&self, c: &Constant) -> Result<Cv, String> {
        let int = |v: u64| Ok(Cv { tls: None, v });
        match c {
            Constant::Int { value, .. } => int(*value),
            Constant::Null(_) | Constant::AggregateZero(_) | Constant::Undef(_) | Constant::Poison(_) => int(0),
            Constant::GlobalReference { name, .. } => self.global_ref(name),
            Constant::BitCast(x) => self.eval_const(&x.operand),
            Constant::AddrSpaceCast(x) => self.eval_const(&x.operand),
            Constant::PtrToInt(x) => {
                let v = self.eval_const(&x.operand)?;
                Ok(Cv { v: v.v & mask(self.int_width(&x.to_type)), ..v })
            }
            Constant::IntToPtr(x) => self.eval_const(&x.operand),
            Constant::GetElementPtr(g) => {
                let base = self.eval_const(&g.address)?;
                let pty = self.m.type_of(&*g.address);
                let src = pointee(&pty).ok_or("constant GEP on a non-pointer")?;
                let idx: Vec<i64> = g
                    .indices
                    .iter()
                    .map(|i| match i.as_ref() {
                        Constant::Int { bits, value } => Ok(sext(*value, *bits)),
                        other => Err(format!("non-integer constant GEP index {other}")),
                    })
                    .collect::<Result<_, String>>()?;
                let (off, terms) = self.gep_offsets(&src, idx.iter().map(|&i| Either::C(i)))?;
                debug_assert!(terms.is_empty());
                Ok(Cv { tls: base.tls, v: base.v.wrapping_add(off as u64) })
            }
            Constant::Add(x) => self.const_bin(&x.operand0, &x.operand1, u64::wrapping_add),
            Constant::Sub(x) => self.const_bin(&x.operand0, &x.operand1, u64::wrapping_sub),
            Constant::Mul(x) => self.const_bin(&x.operand0, &x.operand1, u64::wrapping_mul),
            Constant::And(x) => self.const_bin(&x.operand0, &x.operand1, |a, b| a & b),
            Constant::Or(x) => self.const_bin(&x.operand0, &x.operand1, |a, b| a | b),
            Constant::Xor(x) => self.const_bin(&x.operand0, &x.operand1, |a, b| a ^ b),
            other => Err(format!("constant {other}")),
        }
    }

    fn const_bin(&self, a: &Constant, b: &Constant, f: fn(u64, u64) -> u64) -> Result<Cv, String> {
        let (a, b) = (self.eval_const(a)?, self.eval_const(b)?);
        if a.tls.is_some() || b.tls.is_some() {
            return Err("arithmetic on a thread-local address".into());
        }
        Ok(Cv { tls: None, v: f(a.v, b.v) })
    }

    fn write_const(&self, c: &Constant, off: usize, image: &mut [u8]) -> Result<(), String> {
        let ty = self.m.type_of(c);
        let (size, _) = self.layout(&ty)?;
        match c {
            Constant::Struct { values, .. } => {
                for (i, v) in values.iter().enumerate() {
                    let (fo, _) = self.field_offset(&ty, i as u64)?;
                    self.write_const(v, off + fo as usize, image)?;
                }
            }
            Constant::Array { elements, element_type } => {
                let (es, _) = self.layout(element_type)?;
                for (i, e) in elements.iter().enumerate() {
                    self.write_const(e, off + i * es as usize, image)?;
                }
            }
            Constant::Float(f) => {
                let bits = match f {
                    llvm_ir::constant::Float::Single(x) => u64::from(x.to_bits()),
                    llvm_ir::constant::Float::Double(x) => x.to_bits(),
                    other => return Err(format!("float constant {other:?}")),
                };
                image[off..off + size as usize].copy_from_slice(&bits.to_le_bytes()[..size as usize]);
            }
            _ => {
                let v = self.eval_const(c)?;
                if v.tls.is_some() {
                    return Err("a thread-local address in a global initializer".into());
                }
                if size > 8 {
                    if v.v != 0 {
                        return Err(format!("{size}-byte scalar constant"));
                    }
                } else {
                    image[off..off + size as usize].copy_from_slice(&v.v.to_le_bytes()[..size as usize]);
                }
            }
        }
        Ok(())
    }

    /// Offsets of a GEP's indices over source element type `src`.
    fn gep_offsets(&self, src: &TypeRef, idx: impl Iterator<Item = Either>) -> Result<(i64, GepTerms), String> {
        let mut off = 0i64;
        let mut terms = Vec::new();
        let mut cur: Option<TypeRef> = None;
        for (n, i) in idx.enumerate() {
            let (scale, next) = if n == 0 {
                (self.layout(src)?.0 as i64, src.clone())
            } else {
                let t = self.resolve(cur.as_ref().unwrap())?;
                match t.as_ref() {
                    Type::StructType { .. } => {
                        let Either::C(k) = i else { return Err("non-constant struct index in GEP".into()) };
                        let (fo, ft) = self.field_offset(&t, k as u64)?;
                        off += fo as i64;
                        cur = Some(ft);
                        continue;
                    }
                    Type::ArrayType { element_type, .. } | Type::VectorType { element_type, .. } => {
                        (self.layout(element_type)?.0 as i64, element_type.clone())
                    }
                    other => return Err(format!("GEP into {other}")),
                }
            };
            match i {
                Either::C(k) => off = off.wrapping_add(k.wrapping_mul(scale)),
                Either::D(o, w) => terms.push((o, w, scale)),
            }
            cur = Some(next);
        }
        Ok((off, terms))
    }

    // ----- functions -----------------------------------------------------

    fn loc_id(&mut self, func: &str, d: Option<&DebugLoc>) -> u32 {
        let (file, line) = match d {
            Some(d) => (tree_relative(&d.filename), d.line),
            None => (String::new(), 0),
        };
        let s = match d {
            Some(_) => format!("{file}:{line} (in {func})"),
            None => format!("{func} (no debug location)"),
        };
        if let Some(&i) = self.loc_ids.get(&s) {
            return i;
        }
        self.loc_lines.push((Arc::from(file.as_str()), line));
        self.locs.push(s.clone());
        self.loc_ids.insert(s, self.locs.len() as u32 - 1);
        self.locs.len() as u32 - 1
    }

    fn opnd(&self, cx: &mut FnCx, o: &Operand) -> Result<Opnd, String> {
        match o {
            Operand::LocalOperand { name, .. } => Ok(Opnd::Local(cx.local(name))),
            Operand::ConstantOperand(c) => {
                let v = self.eval_const(c)?;
                Ok(match v.tls {
                    Some(g) => Opnd::Tls(g, v.v),
                    None => Opnd::Const(v.v),
                })
            }
            Operand::MetadataOperand => Err("metadata operand".into()),
        }
    }

    fn width_of(&self, o: &Operand) -> u32 {
        self.int_width(&self.m.type_of(o))
    }

    fn access_size(&self, o: &Operand) -> Result<u8, String> {
        // `o` is the pointer operand: its pointee's store size.
        let t = pointee(&self.m.type_of(o)).ok_or("access through a non-pointer")?;
        let (s, _) = self.layout(&t)?;
        if !matches!(s, 1 | 2 | 4 | 8) {
            return Err(format!("{s}-byte memory access (type {t})"));
        }
        Ok(s as u8)
    }

    fn translate(&mut self, f: &llvm_ir::Function) -> Result<(Vec<Block>, usize), String> {
        let mut cx = FnCx {
            name: f.name.clone(),
            locals: HashMap::new(),
            blocks: HashMap::new(),
            nlocals: 0,
            pairs: HashMap::new(),
        };
        for p in &f.parameters {
            cx.local(&p.name);
        }
        for (i, b) in f.basic_blocks.iter().enumerate() {
            cx.blocks.insert(b.name.clone(), i as u32);
        }
        let text = self.text.remove(&f.name).ok_or_else(|| format!("function {} not found in the IR text", f.name))?;
        let n_api: usize = f.basic_blocks.iter().map(|b| b.instrs.len() + 1).sum();
        if n_api != text.len() {
            return Err(format!(
                "function {}: the IR text has {} instructions, the C API {n_api}: cannot pair them",
                f.name,
                text.len()
            ));
        }
        let mut text = text.into_iter();
        let mut blocks = Vec::new();
        for b in &f.basic_blocks {
            let mut blk = Block { phis: Vec::new(), insts: Vec::new(), term: Term::Unreachable, term_loc: 0 };
            for inst in &b.instrs {
                let t = text.next().unwrap();
                check_opcode(inst, &t, &f.name)?;
                let loc = self.loc_id(&f.name, inst.get_debug_loc().as_ref());
                if let Instruction::Phi(p) = inst {
                    let dst = cx.local(&p.dest);
                    let mut inc = Vec::new();
                    for (v, bn) in &p.incoming_values {
                        let o = self.opnd(&mut cx, v).unwrap_or_else(|e| Opnd::Const(self.unsup_const(&e, loc)));
                        inc.push((cx.blocks[bn], o));
                    }
                    blk.phis.push((dst, inc));
                    continue;
                }
                let (dst, op) = match self.inst(&mut cx, inst, &t, loc) {
                    Ok(x) => x,
                    Err(e) => {
                        let msg = format!("[unsupported] {e} at {}", self.locs[loc as usize]);
                        self.unsupported.push(msg.clone());
                        (inst.try_get_result().map(|n| cx.local(n)), Op::Unsupported(msg))
                    }
                };
                if matches!(op, Op::Nop) && dst.is_none() {
                    continue;
                }
                blk.insts.push(Inst { dst, op, loc });
            }
            let t = text.next().unwrap();
            blk.term_loc = self.loc_id(&f.name, b.term.get_debug_loc().as_ref());
            blk.term = match self.term(&mut cx, &b.term, &t) {
                Ok(t) => t,
                Err(e) => {
                    let msg = format!("[unsupported] {e} at {}", self.locs[blk.term_loc as usize]);
                    self.unsupported.push(msg.clone());
                    Term::Unsupported(msg)
                }
            };
            blocks.push(blk);
        }
        mark_speculative_loads(&mut blocks);
        Ok((blocks, cx.nlocals as usize))
    }

    fn unsup_const(&mut self, e: &str, loc: u32) -> u64 {
        self.unsupported.push(format!("[unsupported] {e} at {}", self.locs[loc as usize]));
        0
    }

    fn record_atomic(&mut self, f: &str, t: &TextInst, api: Option<TextOrdering>, loc: u32) -> Result<(), String> {
        let ordering = *t.orderings.first().ok_or_else(|| format!("no ordering on .ll line {}", t.ll_line))?;
        // For fences the C API's answer is meaningless in LLVM 14 (seq_cst
        // comes back NotAtomic, acquire as monotonic: tests/orderings.rs):
        // recorded, never trusted.  For the others it must agree.
        if let Some(a) = api.filter(|_| t.opcode != "fence") {
            if a != ordering {
                return Err(format!(
                    "the C API says {a:?} but the IR text says {ordering:?} (.ll line {}): refusing to guess",
                    t.ll_line
                ));
            }
        }
        if !t.single_thread {
            self.site_locs.push((loc, t.opcode.clone(), ordering, f.to_string()));
        }
        self.atomics.entry(f.to_string()).or_default().push(AtomicOp {
            opcode: t.opcode.clone(),
            ordering,
            failure: t.orderings.get(1).copied(),
            api_ordering: api,
            single_thread: t.single_thread,
            loc: self.locs[loc as usize].clone(),
        });
        Ok(())
    }

    fn inst(&mut self, cx: &mut FnCx, inst: &Instruction, t: &TextInst, loc: u32) -> Result<(Option<u32>, Op), String> {
        macro_rules! bin {
            ($x:expr, $op:expr) => {{
                let w = self.width_of(&$x.operand0);
                if matches!(self.m.type_of(&$x.operand0).as_ref(), Type::VectorType { .. }) {
                    return Err(format!("vector arithmetic `{}`", t.opcode));
                }
                let (a, b) = (self.opnd(cx, &$x.operand0)?, self.opnd(cx, &$x.operand1)?);
                (Some(cx.local(&$x.dest)), Op::Bin { op: $op, w, a, b })
            }};
        }
        macro_rules! cast {
            ($x:expr, $op:expr) => {{
                let from = self.width_of(&$x.operand);
                let to = self.int_width(&$x.to_type);
                if matches!($x.to_type.as_ref(), Type::VectorType { .. } | Type::FPType(_)) {
                    return Err(format!("`{}` to {}", t.opcode, $x.to_type));
                }
                let a = self.opnd(cx, &$x.operand)?;
                (Some(cx.local(&$x.dest)), Op::Cast { op: $op, from, to, a })
            }};
        }
        let fname = cx.name.clone();
        Ok(match inst {
            Instruction::Add(x) => bin!(x, BinOp::Add),
            Instruction::Sub(x) => bin!(x, BinOp::Sub),
            Instruction::Mul(x) => bin!(x, BinOp::Mul),
            Instruction::UDiv(x) => bin!(x, BinOp::UDiv),
            Instruction::SDiv(x) => bin!(x, BinOp::SDiv),
            Instruction::URem(x) => bin!(x, BinOp::URem),
            Instruction::SRem(x) => bin!(x, BinOp::SRem),
            Instruction::And(x) => bin!(x, BinOp::And),
            Instruction::Or(x) => bin!(x, BinOp::Or),
            Instruction::Xor(x) => bin!(x, BinOp::Xor),
            Instruction::Shl(x) => bin!(x, BinOp::Shl),
            Instruction::LShr(x) => bin!(x, BinOp::LShr),
            Instruction::AShr(x) => bin!(x, BinOp::AShr),
            Instruction::Trunc(x) => cast!(x, CastOp::Trunc),
            Instruction::ZExt(x) => cast!(x, CastOp::ZExt),
            Instruction::SExt(x) => cast!(x, CastOp::SExt),
            Instruction::PtrToInt(x) => cast!(x, CastOp::Copy),
            Instruction::IntToPtr(x) => cast!(x, CastOp::Copy),
            Instruction::BitCast(x) => cast!(x, CastOp::Copy),
            Instruction::AddrSpaceCast(x) => cast!(x, CastOp::Copy),
            Instruction::Freeze(x) => {
                let a = self.opnd(cx, &x.operand)?;
                (Some(cx.local(&x.dest)), Op::Copy { a })
            }
            Instruction::ICmp(x) => {
                if matches!(self.m.type_of(&x.operand0).as_ref(), Type::VectorType { .. }) {
                    return Err("vector icmp".into());
                }
                let w = self.width_of(&x.operand0);
                let (a, b) = (self.opnd(cx, &x.operand0)?, self.opnd(cx, &x.operand1)?);
                (Some(cx.local(&x.dest)), Op::ICmp { pred: x.predicate, w, a, b })
            }
            Instruction::Select(x) => {
                let (c, a, b) =
                    (self.opnd(cx, &x.condition)?, self.opnd(cx, &x.true_value)?, self.opnd(cx, &x.false_value)?);
                (Some(cx.local(&x.dest)), Op::Select { c, a, b })
            }
            Instruction::GetElementPtr(g) => {
                let base = self.opnd(cx, &g.address)?;
                let mut idx = Vec::new();
                for i in &g.indices {
                    idx.push(match self.opnd(cx, i)? {
                        Opnd::Const(k) => Either::C(sext(k, self.width_of(i))),
                        o => Either::D(o, self.width_of(i)),
                    });
                }
                let (off, terms) = self.gep_offsets(&g.source_element_type, idx.into_iter())?;
                (Some(cx.local(&g.dest)), Op::Gep { base, off, terms })
            }
            Instruction::Alloca(a) => {
                let n = match self.opnd(cx, &a.num_elements)? {
                    Opnd::Const(n) => n,
                    _ => return Err("variable-length alloca".into()),
                };
                let (s, _) = self.layout(&a.allocated_type)?;
                let mut leaves = Vec::new();
                for i in 0..n {
                    self.leaves(&a.allocated_type, i * s, &mut leaves)?;
                }
                let name = format!("stack `{}` of {}", name_str(&a.dest), cx.name);
                (Some(cx.local(&a.dest)), Op::Alloca { size: s * n, leaves: Arc::new(leaves), name })
            }
            Instruction::Load(l) => {
                let size = self.access_size(&l.address)?;
                let ord = if t.atomic {
                    let api = l.atomicity.as_ref().and_then(|a| api_ord(a.mem_ordering));
                    self.record_atomic(&fname, t, api, loc)?;
                    Some(ord_of(t.orderings[0]))
                } else {
                    None
                };
                let p = self.opnd(cx, &l.address)?;
                (Some(cx.local(&l.dest)), Op::Load { p, size, ord, spec: false })
            }
            Instruction::Store(s) => {
                let size = self.access_size(&s.address)?;
                let ord = if t.atomic {
                    let api = s.atomicity.as_ref().and_then(|a| api_ord(a.mem_ordering));
                    self.record_atomic(&fname, t, api, loc)?;
                    Some(ord_of(t.orderings[0]))
                } else {
                    None
                };
                let (p, v) = (self.opnd(cx, &s.address)?, self.opnd(cx, &s.value)?);
                (None, Op::Store { p, v, size, ord })
            }
            Instruction::Fence(fe) => {
                let api = api_ord(fe.atomicity.mem_ordering);
                self.record_atomic(&fname, t, api, loc)?;
                if t.single_thread {
                    // atomic_signal_fence: orders against this thread's signal
                    // handlers only; the IR already respects it.  No inter-thread effect.
                    (None, Op::Nop)
                } else {
                    (None, Op::Fence { ord: ord_of(t.orderings[0]) })
                }
            }
            Instruction::AtomicRMW(r) => {
                let api = api_ord(r.atomicity.mem_ordering);
                self.record_atomic(&fname, t, api, loc)?;
                if t.single_thread {
                    return Err("syncscope(\"singlethread\") atomicrmw".into());
                }
                use li::RMWBinOp as R;
                let op = match r.operation {
                    R::Xchg => RmwOp::Xchg,
                    R::Add => RmwOp::Add,
                    R::Sub => RmwOp::Sub,
                    R::And => RmwOp::And,
                    R::Nand => RmwOp::Nand,
                    R::Or => RmwOp::Or,
                    R::Xor => RmwOp::Xor,
                    R::Max => RmwOp::Max,
                    R::Min => RmwOp::Min,
                    R::UMax => RmwOp::UMax,
                    R::UMin => RmwOp::UMin,
                    other => return Err(format!("atomicrmw {other:?}")),
                };
                let size = self.access_size(&r.address)?;
                let (p, v) = (self.opnd(cx, &r.address)?, self.opnd(cx, &r.value)?);
                (Some(cx.local(&r.dest)), Op::Rmw { op, p, v, size, ord: ord_of(t.orderings[0]) })
            }
            Instruction::CmpXchg(c) => {
                let api = api_ord(c.atomicity.mem_ordering);
                self.record_atomic(&fname, t, api, loc)?;
                if t.orderings.len() != 2 || t.single_thread {
                    return Err(format!("cmpxchg orderings on .ll line {}", t.ll_line));
                }
                let size = self.access_size(&c.address)?;
                let (p, exp, new) =
                    (self.opnd(cx, &c.address)?, self.opnd(cx, &c.expected)?, self.opnd(cx, &c.replacement)?);
                let dst = cx.local(&c.dest);
                let flag = cx.fresh();
                cx.pairs.insert(dst, flag);
                (
                    Some(dst),
                    Op::CmpXchg { p, exp, new, size, succ: ord_of(t.orderings[0]), fail: ord_of(t.orderings[1]), flag },
                )
            }
            Instruction::ExtractValue(e) => {
                let Operand::LocalOperand { name, .. } = &e.aggregate else {
                    return Err("extractvalue of a constant aggregate".into());
                };
                let agg = cx.local(name);
                let Some(&flag) = cx.pairs.get(&agg) else {
                    return Err("extractvalue of an aggregate other than a cmpxchg result".into());
                };
                let a = match e.indices.as_slice() {
                    [0] => Opnd::Local(agg),
                    [1] => Opnd::Local(flag),
                    _ => return Err("extractvalue index".into()),
                };
                (Some(cx.local(&e.dest)), Op::Copy { a })
            }
            Instruction::Call(c) => {
                let dst = c.dest.as_ref().map(|d| cx.local(d));
                let callee = match &c.function {
                    either::Either::Left(_) => return self.inline_asm(cx, c, t, dst),
                    either::Either::Right(Operand::ConstantOperand(k)) => match k.as_ref() {
                        Constant::GlobalReference { name, .. } => {
                            let n = name_str(name);
                            let Some(&i) = self.func_by_name.get(&n) else {
                                return Err(format!("call to unknown symbol {n}"));
                            };
                            let fi = &self.funcs[i as usize];
                            if n.starts_with("llvm.dbg.") {
                                return Ok((None, Op::Nop));
                            }
                            if fi.ext == Some(Extern::Nop) {
                                return Ok((dst, Op::Nop));
                            }
                            Callee::Func(i)
                        }
                        _ => Callee::Indirect(self.opnd(cx, c.function.as_ref().right().unwrap())?),
                    },
                    either::Either::Right(o) => Callee::Indirect(self.opnd(cx, o)?),
                };
                let mut args = Vec::new();
                for (a, _) in &c.arguments {
                    args.push(match a {
                        Operand::MetadataOperand => Opnd::Const(0),
                        a => self.opnd(cx, a)?,
                    });
                }
                (dst, Op::Call { callee, args })
            }
            other => {
                let what = format!("{other}");
                let what = what.split_whitespace().find(|w| !w.starts_with('%') && *w != "=").unwrap_or("?");
                return Err(format!("instruction `{what}`"));
            }
        })
    }

    /// Inline assembly with an empty template: what QEMU uses as compiler
    /// barriers (`barrier()`: no operands; the IR already respects it) and to
    /// hide a value from the optimiser (`asm volatile("" : "+rm"(p))` in
    /// QEMU_DEFINE_CO_TLS: an indirect output tied to an input, i.e. a store of
    /// the input through the output pointer).  Anything else is unsupported.
    fn inline_asm(
        &mut self,
        cx: &mut FnCx,
        c: &li::Call,
        t: &TextInst,
        dst: Option<u32>,
    ) -> Result<(Option<u32>, Op), String> {
        let Some((template, constraints)) = &t.asm else {
            return Err(format!("inline assembly (.ll line {})", t.ll_line));
        };
        if !template.is_empty() {
            return Err(format!("inline assembly \"{template}\""));
        }
        let ops: Vec<&str> = constraints.split(',').filter(|c| !c.starts_with("~{")).collect();
        if ops.is_empty() && dst.is_none() {
            return Ok((None, Op::Nop));
        }
        if let ([out, "0"], [(a0, _), (a1, _)], None) = (ops.as_slice(), c.arguments.as_slice(), dst) {
            if out.starts_with("=*") {
                let size = self.access_size(a0)?;
                let (p, v) = (self.opnd(cx, a0)?, self.opnd(cx, a1)?);
                return Ok((None, Op::Store { p, v, size, ord: None }));
            }
        }
        Err(format!("inline assembly with operands \"{constraints}\""))
    }

    fn term(&mut self, cx: &mut FnCx, t: &Terminator, _tt: &TextInst) -> Result<Term, String> {
        Ok(match t {
            Terminator::Ret(r) => Term::Ret(match &r.return_operand {
                Some(o) => Some(self.opnd(cx, o)?),
                None => None,
            }),
            Terminator::Br(b) => Term::Br(cx.blocks[&b.dest]),
            Terminator::CondBr(b) => {
                Term::CondBr(self.opnd(cx, &b.condition)?, cx.blocks[&b.true_dest], cx.blocks[&b.false_dest])
            }
            Terminator::Switch(s) => {
                let w = self.width_of(&s.operand);
                let mut cases = Vec::new();
                for (k, d) in &s.dests {
                    let v = self.eval_const(k)?;
                    cases.push((v.v & mask(w), cx.blocks[d]));
                }
                Term::Switch(self.opnd(cx, &s.operand)?, w, cases, cx.blocks[&s.default_dest])
            }
            Terminator::Unreachable(_) => Term::Unreachable,
            other => {
                let s = format!("{other}");
                return Err(format!("terminator `{}`", s.split_whitespace().next().unwrap_or("?")));
            }
        })
    }
}

enum Either {
    C(i64),
    D(Opnd, u32),
}

/// Mark the plain loads that `-O2` speculated into a `select`.
///
/// In LLVM's memory model (unlike C11's) a non-atomic load that races with a
/// write is not undefined behaviour: it returns `undef`.  So SimplifyCFG may
/// hoist `if (flag) r = data;` into `%d = load data; r = select flag, %d, r`,
/// which loads `data` even when `flag` is 0 and races with its writer although
/// the C does not.  Such a load is race-checked when a `select` *picks* its
/// value, not when it loads.  Only the exact pattern is recognised: every use
/// of the value is a select arm in the same block, after the load, with no
/// atomic access, fence or call in between (so the thread's happens-before
/// knowledge at the select is the same as at the load).
fn mark_speculative_loads(blocks: &mut [Block]) {
    let mut uses: HashMap<u32, usize> = HashMap::new();
    let mut count = |o: &Opnd| {
        if let Opnd::Local(i) = o {
            *uses.entry(*i).or_default() += 1;
        }
    };
    for b in blocks.iter() {
        for (_, inc) in &b.phis {
            inc.iter().for_each(|(_, o)| count(o));
        }
        for i in &b.insts {
            operands(&i.op).into_iter().for_each(&mut count);
        }
        match &b.term {
            Term::Ret(Some(o)) | Term::CondBr(o, _, _) | Term::Switch(o, _, _, _) => count(o),
            _ => {}
        }
    }
    for b in blocks.iter_mut() {
        for k in 0..b.insts.len() {
            let (Op::Load { ord: None, .. }, Some(d)) = (&b.insts[k].op, b.insts[k].dst) else { continue };
            let mut arms = 0;
            for later in &b.insts[k + 1..] {
                match &later.op {
                    Op::Select { c, a, b } => {
                        if matches!(c, Opnd::Local(x) if *x == d) {
                            break;
                        }
                        arms += [a, b].iter().filter(|o| matches!(o, Opnd::Local(x) if *x == d)).count();
                    }
                    Op::Load { ord: Some(_), .. }
                    | Op::Store { ord: Some(_), .. }
                    | Op::Rmw { .. }
                    | Op::CmpXchg { .. }
                    | Op::Fence { .. }
                    | Op::Call { .. }
                    | Op::Unsupported(_) => break,
                    _ => {}
                }
                if arms == uses.get(&d).copied().unwrap_or(0) {
                    break;
                }
            }
            if arms > 0 && arms == uses.get(&d).copied().unwrap_or(0) {
                if let Op::Load { spec, .. } = &mut b.insts[k].op {
                    *spec = true;
                }
            }
        }
    }
}

fn operands(op: &Op) -> Vec<&Opnd> {
    match op {
        Op::Bin { a, b, .. } | Op::ICmp { a, b, .. } => vec![a, b],
        Op::Select { c, a, b } => vec![c, a, b],
        Op::Cast { a, .. } | Op::Copy { a } => vec![a],
        Op::Gep { base, terms, .. } => std::iter::once(base).chain(terms.iter().map(|t| &t.0)).collect(),
        Op::Load { p, .. } => vec![p],
        Op::Store { p, v, .. } | Op::Rmw { p, v, .. } => vec![p, v],
        Op::CmpXchg { p, exp, new, .. } => vec![p, exp, new],
        Op::Call { callee, args } => {
            let mut v: Vec<&Opnd> = args.iter().collect();
            if let Callee::Indirect(o) = callee {
                v.push(o);
            }
            v
        }
        Op::Alloca { .. } | Op::Fence { .. } | Op::Nop | Op::Unsupported(_) => vec![],
    }
}

fn check_opcode(inst: &Instruction, t: &TextInst, f: &str) -> Result<(), String> {
    let want = match inst {
        Instruction::Load(_) => "load",
        Instruction::Store(_) => "store",
        Instruction::Fence(_) => "fence",
        Instruction::AtomicRMW(_) => "atomicrmw",
        Instruction::CmpXchg(_) => "cmpxchg",
        Instruction::Call(_) => "call",
        Instruction::Phi(_) => "phi",
        _ => {
            if matches!(t.opcode.as_str(), "load" | "store" | "fence" | "atomicrmw" | "cmpxchg" | "call" | "phi") {
                "(another instruction)"
            } else {
                return Ok(());
            }
        }
    };
    if want != t.opcode {
        return Err(format!(
            "function {f}: .ll line {} is `{}` where the C API has `{want}`: the text and the module disagree",
            t.ll_line, t.opcode
        ));
    }
    Ok(())
}

fn pointee(t: &TypeRef) -> Option<TypeRef> {
    match t.as_ref() {
        Type::PointerType { pointee_type, .. } => Some(pointee_type.clone()),
        _ => None,
    }
}

fn name_str(n: &Name) -> String {
    match n {
        Name::Name(s) => s.to_string(),
        Name::Number(i) => i.to_string(),
    }
}

pub(crate) fn sext(v: u64, w: u32) -> i64 {
    if w >= 64 || w == 0 {
        v as i64
    } else {
        let s = 64 - w;
        ((v << s) as i64) >> s
    }
}
