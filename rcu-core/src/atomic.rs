//! QEMU's atomic and barrier vocabulary (include/qemu/atomic.h,
//! docs/devel/atomics.rst), mapped so that loom judges what QEMU's contract
//! promises (spec §10, checkers.md §0.1):
//!
//! | QEMU | here | backend op |
//! |---|---|---|
//! | `qatomic_read` / `qatomic_set` | [`qatomic_read`] / [`qatomic_set`] | Relaxed load / store |
//! | `qatomic_load_acquire` / `qatomic_store_release` | same names, with a [`Site`] | Acquire load / Release store |
//! | `qatomic_rcu_read` / `qatomic_rcu_set` | same names, with a site | Acquire load (Rust has no consume) / Release store |
//! | `qatomic_xchg`, `qatomic_cmpxchg`, `qatomic_fetch_*`, `qatomic_*_fetch`, `qatomic_{inc,dec,add,sub,and,or}` | same names, with a site | SeqCst RMW (loom treats it as AcqRel) |
//! | `smp_mb`, `smp_mb_global`, `smp_mb_placeholder` | same names | `fence(SeqCst)` (QEMU's default non-membarrier build) |
//! | `smp_wmb`, `smp_mb_release` / `smp_rmb`, `smp_mb_acquire` | same names | `fence(Release)` / `fence(Acquire)` |
//! | `smp_mb__before_rmw`, `smp_mb__after_rmw` | same names | **always** `fence(SeqCst)`: QEMU makes them compiler barriers only on x86-64/s390x, where LOCK-prefixed RMWs are full fences; C11 SeqCst RMWs do not order surrounding relaxed accesses (atomics.rst) |
//!
//! QEMU's SeqCst RMWs "do not order surrounding relaxed accesses"; no argument
//! in this project relies on the SC total order between an RMW and an access to
//! another variable, and loom would not honour one (it drops SC on accesses).
//!
//! Every ordered operation takes the [`Site`] it is (declared with
//! [`site!`](crate::site!) at the call) and consults the run's
//! [`MutationSet`](crate::site::MutationSet); relaxed operations have no site.

use std::fmt;
use std::marker::PhantomData;

use crate::platform::{Ordering, Platform, RawAtomic};
use crate::runtime::try_current;
use crate::site::{Mutation, Site, SiteKind};

/// A word type QEMU code uses atomically.
pub trait Word: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// The backend atomic that stores it.
    type Atomic<P: Platform>: RawAtomic<Self>;
    /// For traces.
    fn show(self) -> String {
        format!("{self:?}")
    }
}

impl Word for u32 {
    type Atomic<P: Platform> = P::AtomicU32;
}
impl Word for u64 {
    type Atomic<P: Platform> = P::AtomicU64;
}
impl Word for bool {
    type Atomic<P: Platform> = P::AtomicBool;
}

/// The name of a model variable, built only when a trace needs it.
#[derive(Clone, Debug)]
pub enum Name {
    /// A fixed name.
    Static(&'static str),
    /// `prefix[index]suffix`, e.g. `reader[2].ctr`.
    Indexed(&'static str, u32, &'static str),
    /// Anything else.
    Owned(String),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Static(s) => f.write_str(s),
            Name::Indexed(p, i, s) => write!(f, "{p}[{i}]{s}"),
            Name::Owned(s) => f.write_str(s),
        }
    }
}

impl From<&'static str> for Name {
    fn from(s: &'static str) -> Name {
        Name::Static(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::Owned(s)
    }
}

/// An atomic variable of a model, with a name for traces (`rcu_gp_ctr`,
/// `reader[2].ctr`, `h3.next`, …).
pub struct QAtomic<P: Platform, T: Word> {
    raw: T::Atomic<P>,
    name: Name,
    show: Option<fn(T) -> String>,
    _p: PhantomData<P>,
}

impl<P: Platform, T: Word> fmt::Debug for QAtomic<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QAtomic({})", self.name)
    }
}

impl<P: Platform, T: Word> QAtomic<P, T> {
    /// A new atomic (under loom: inside the model).
    pub fn new(name: impl Into<Name>, v: T) -> Self {
        QAtomic { raw: T::Atomic::<P>::new(v), name: name.into(), show: None, _p: PhantomData }
    }

    /// Like [`QAtomic::new`], with a value printer for traces (e.g. node names).
    pub fn with_show(name: impl Into<Name>, v: T, show: fn(T) -> String) -> Self {
        QAtomic { raw: T::Atomic::<P>::new(v), name: name.into(), show: Some(show), _p: PhantomData }
    }

    /// Name used in traces.
    pub fn name(&self) -> &Name {
        &self.name
    }

    fn s(&self, v: T) -> String {
        match self.show {
            Some(f) => f(v),
            None => v.show(),
        }
    }

    /// Read without tracing or ordering (harness assertions only, never model logic).
    pub fn peek(&self) -> T {
        self.raw.load(Ordering::Relaxed)
    }

    fn trace(&self, args: fmt::Arguments<'_>) {
        with_ctx::<P, _>(|ctx| {
            if let Some(ctx) = ctx {
                if ctx.tracing() {
                    ctx.trace(args);
                }
            }
        })
    }

    fn tracing(&self) -> bool {
        with_ctx::<P, _>(|ctx| ctx.is_some_and(|c| c.tracing()))
    }
}

/// Run `f` with the calling thread's context, without cloning it.
fn with_ctx<P: Platform, R>(f: impl FnOnce(Option<&crate::runtime::ThreadCtx<P>>) -> R) -> R {
    P::ctx_slot(|s| f(s.borrow().as_deref()))
}

fn mutation_of<P: Platform>(site: &Site) -> Option<Mutation> {
    with_ctx::<P, _>(|ctx| ctx.and_then(|c| c.rt.cfg.mutations.get(site.id)))
}

fn access_ord<P: Platform>(site: &'static Site, expect: fn(SiteKind) -> bool) -> Ordering {
    debug_assert!(expect(site.kind), "site {} used with the wrong primitive", site.id);
    site.access_ordering(mutation_of::<P>(site))
}

fn is_access(k: SiteKind) -> bool {
    matches!(k, SiteKind::Access(_))
}
fn is_rmw(k: SiteKind) -> bool {
    matches!(k, SiteKind::Rmw(_))
}

/// The failure ordering of a compare-exchange for a given success ordering.
fn cas_failure(o: Ordering) -> Ordering {
    match o {
        Ordering::SeqCst => Ordering::SeqCst,
        Ordering::AcqRel | Ordering::Acquire => Ordering::Acquire,
        _ => Ordering::Relaxed,
    }
}

fn mark(site: &Site, m: Option<Mutation>) -> String {
    match m {
        None => String::new(),
        Some(m) => format!(" [{} {}]", site.id, m),
    }
}

/// `qatomic_read(p)`: relaxed load.
pub fn qatomic_read<P: Platform, T: Word>(a: &QAtomic<P, T>) -> T {
    let v = a.raw.load(Ordering::Relaxed);
    if a.tracing() {
        a.trace(format_args!("read {} = {}", a.name, a.s(v)));
    }
    v
}

/// `qatomic_set(p, v)`: relaxed store.
pub fn qatomic_set<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T) {
    if a.tracing() {
        a.trace(format_args!("set {} = {}", a.name, a.s(v)));
    }
    a.raw.store(v, Ordering::Relaxed);
}

/// `qatomic_load_acquire(p)`.
pub fn qatomic_load_acquire<P: Platform, T: Word>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_access);
    let v = a.raw.load(o);
    if a.tracing() {
        a.trace(format_args!("load_acquire {} = {}{}", a.name, a.s(v), mark(site, mutation_of::<P>(site))));
    }
    v
}

/// `qatomic_store_release(p, v)`.
pub fn qatomic_store_release<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
    let o = access_ord::<P>(site, is_access);
    if a.tracing() {
        a.trace(format_args!("store_release {} = {}{}", a.name, a.s(v), mark(site, mutation_of::<P>(site))));
    }
    a.raw.store(v, o);
}

/// `qatomic_rcu_read(p)`: Acquire (Rust has no consume ordering).
pub fn qatomic_rcu_read<P: Platform, T: Word>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_access);
    let v = a.raw.load(o);
    if a.tracing() {
        a.trace(format_args!("rcu_read {} = {}{}", a.name, a.s(v), mark(site, mutation_of::<P>(site))));
    }
    v
}

/// `qatomic_rcu_set(p, v)`: Release store.
pub fn qatomic_rcu_set<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
    let o = access_ord::<P>(site, is_access);
    if a.tracing() {
        a.trace(format_args!("rcu_set {} = {}{}", a.name, a.s(v), mark(site, mutation_of::<P>(site))));
    }
    a.raw.store(v, o);
}

/// `qatomic_xchg(p, v)`: returns the old value.
pub fn qatomic_xchg<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_rmw);
    let old = a.raw.swap(v, o);
    if a.tracing() {
        a.trace(format_args!("xchg {} {} → {}{}", a.name, a.s(old), a.s(v), mark(site, mutation_of::<P>(site))));
    }
    old
}

/// `qatomic_cmpxchg(p, old, new)`: strong CAS, returns the value read whether or
/// not it succeeded.
pub fn qatomic_cmpxchg<P: Platform, T: Word>(a: &QAtomic<P, T>, old: T, new: T, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_rmw);
    let r = a.raw.compare_exchange(old, new, o, cas_failure(o));
    let seen = match r {
        Ok(v) | Err(v) => v,
    };
    if a.tracing() {
        a.trace(format_args!(
            "cmpxchg {} {}→{}: saw {} ({}){}",
            a.name,
            a.s(old),
            a.s(new),
            a.s(seen),
            if r.is_ok() { "ok" } else { "failed" },
            mark(site, mutation_of::<P>(site))
        ));
    }
    seen
}

macro_rules! fetch_op {
    ($(#[$doc:meta])* $fetch:ident, $op_fetch:ident, $plain:ident, $raw:ident, $sym:literal, $apply:expr) => {
        $(#[$doc])*
        pub fn $fetch<P: Platform, T: Word + FetchOps>(a: &QAtomic<P, T>, v: T, site: &'static Site) -> T {
            let o = access_ord::<P>(site, is_rmw);
            let old = a.raw.$raw(v, o);
            let new = ($apply)(old, v);
            if a.tracing() {
                a.trace(format_args!(
                    concat!("fetch_", $sym, " {} {} → {}{}"),
                    a.name,
                    a.s(old),
                    a.s(new),
                    mark(site, mutation_of::<P>(site))
                ));
            }
            old
        }

        /// As the `qatomic_*_fetch` form: returns the new value.
        pub fn $op_fetch<P: Platform, T: Word + FetchOps>(a: &QAtomic<P, T>, v: T, site: &'static Site) -> T {
            let old = $fetch(a, v, site);
            ($apply)(old, v)
        }

        /// As the `qatomic_<op>` form: result discarded.
        pub fn $plain<P: Platform, T: Word + FetchOps>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
            $fetch(a, v, site);
        }
    };
}

/// Arithmetic used to report RMW results in traces.
pub trait FetchOps: Sized {
    /// Wrapping add.
    fn wadd(self, o: Self) -> Self;
    /// Wrapping sub.
    fn wsub(self, o: Self) -> Self;
    /// Bitwise and.
    fn band(self, o: Self) -> Self;
    /// Bitwise or.
    fn bor(self, o: Self) -> Self;
}

macro_rules! fetch_ops_int {
    ($t:ty) => {
        impl FetchOps for $t {
            fn wadd(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn wsub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn band(self, o: Self) -> Self {
                self & o
            }
            fn bor(self, o: Self) -> Self {
                self | o
            }
        }
    };
}
fetch_ops_int!(u32);
fetch_ops_int!(u64);

impl FetchOps for bool {
    fn wadd(self, _: Self) -> Self {
        unreachable!()
    }
    fn wsub(self, _: Self) -> Self {
        unreachable!()
    }
    fn band(self, o: Self) -> Self {
        self & o
    }
    fn bor(self, o: Self) -> Self {
        self | o
    }
}

fetch_op!(
    /// `qatomic_fetch_add(p, v)`: returns the old value.
    qatomic_fetch_add, qatomic_add_fetch, qatomic_add, fetch_add, "add", |a: T, b: T| a.wadd(b)
);
fetch_op!(
    /// `qatomic_fetch_sub(p, v)`: returns the old value.
    qatomic_fetch_sub, qatomic_sub_fetch, qatomic_sub, fetch_sub, "sub", |a: T, b: T| a.wsub(b)
);
fetch_op!(
    /// `qatomic_fetch_and(p, v)`: returns the old value.
    qatomic_fetch_and, qatomic_and_fetch, qatomic_and, fetch_and, "and", |a: T, b: T| a.band(b)
);
fetch_op!(
    /// `qatomic_fetch_or(p, v)`: returns the old value.
    qatomic_fetch_or, qatomic_or_fetch, qatomic_or, fetch_or, "or", |a: T, b: T| a.bor(b)
);

/// `qatomic_fetch_inc(p)`: returns the old value.
pub fn qatomic_fetch_inc<P: Platform, T: Word + FetchOps + From<u8>>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    qatomic_fetch_add(a, T::from(1u8), site)
}

/// `qatomic_fetch_dec(p)`: returns the old value.
pub fn qatomic_fetch_dec<P: Platform, T: Word + FetchOps + From<u8>>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    qatomic_fetch_sub(a, T::from(1u8), site)
}

/// `qatomic_inc(p)`.
pub fn qatomic_inc<P: Platform, T: Word + FetchOps + From<u8>>(a: &QAtomic<P, T>, site: &'static Site) {
    qatomic_fetch_inc(a, site);
}

/// `qatomic_dec(p)`.
pub fn qatomic_dec<P: Platform, T: Word + FetchOps + From<u8>>(a: &QAtomic<P, T>, site: &'static Site) {
    qatomic_fetch_dec(a, site);
}

fn fence_at<P: Platform>(site: &'static Site, name: &str) {
    let m = mutation_of::<P>(site);
    let o = match (site.kind, m) {
        (SiteKind::Fence(_), None) => Some(site.access_ordering(None)),
        (SiteKind::Fence(_), Some(Mutation::Drop)) => None,
        (SiteKind::Fence(_), Some(Mutation::Weaken(o))) => Some(o.to_std()),
        _ => panic!("site {} is not a fence but is used as {name}", site.id),
    };
    if let Some(ctx) = try_current::<P>() {
        if ctx.tracing() {
            match (o, m) {
                (_, None) => ctx.trace(format_args!("{name} [{}]", site.id)),
                (None, Some(m)) => ctx.trace(format_args!("{name} [{} {m}: no fence]", site.id)),
                (Some(o), Some(m)) => ctx.trace(format_args!("{name} [{} {m}: fence({o:?})]", site.id)),
            }
        }
    }
    if let Some(o) = o {
        P::fence(o);
    }
}

/// `smp_mb()`: full barrier.
pub fn smp_mb<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb()");
}

/// `smp_mb_global()`: `smp_mb()` in QEMU's default build (membarrier disabled).
pub fn smp_mb_global<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb_global()");
}

/// `smp_mb_placeholder()`: `smp_mb()` in QEMU's default build.  With
/// `--enable-membarrier` it is only a compiler barrier, paired with the
/// membarrier syscall in `smp_mb_global()`; that asymmetric pair is not modelled.
pub fn smp_mb_placeholder<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb_placeholder()");
}

/// `smp_wmb()`: release fence.
pub fn smp_wmb<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_wmb()");
}

/// `smp_rmb()`: acquire fence.
pub fn smp_rmb<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_rmb()");
}

/// `smp_mb_release()`: release fence.
pub fn smp_mb_release<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb_release()");
}

/// `smp_mb_acquire()`: acquire fence.
pub fn smp_mb_acquire<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb_acquire()");
}

/// `smp_mb__before_rmw()`: always a full fence in the model (see module docs).
#[allow(non_snake_case)] // QEMU's name
pub fn smp_mb__before_rmw<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb__before_rmw()");
}

/// `smp_mb__after_rmw()`: always a full fence in the model (see module docs).
#[allow(non_snake_case)] // QEMU's name
pub fn smp_mb__after_rmw<P: Platform>(site: &'static Site) {
    fence_at::<P>(site, "smp_mb__after_rmw()");
}
