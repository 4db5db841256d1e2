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

use crate::platform::{Ordering, Platform, RawAtomic, RawCell};
use crate::runtime::try_current;
use crate::site::{Mutation, Profile, Site, SiteKind};

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

/// How stores to a location are issued under loom.
///
/// C11 stores are exact stores ([`StoreAs::Exact`], the default): loom may then
/// order two unordered stores to one location either way in modification
/// order, so coherence inversions (the S litmus shape) are explored.  A swap
/// makes every store read, and so follow, the latest store loom executed: on a
/// location with one writer that changes nothing (the writer's stores are
/// ordered by program order anyway), on a location with several writers it
/// hides every inversion.  [`StoreAs::Swap`] is therefore only for locations
/// that need it, each with its reason (the constructor's argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAs {
    /// A C11 store.
    Exact,
    /// A swap whose result is discarded, for the stated reason.
    Swap(&'static str),
}

/// An atomic variable of a model, with a name for traces (`rcu_gp_ctr`,
/// `reader[2].ctr`, `h3.next`, …).
///
/// A location that QEMU also accesses *plainly* (`node->next = NULL`) is made
/// with [`QAtomic::mixed`]: it carries a race-checked shadow cell, so a plain
/// access that is not ordered by happens-before with another access of the
/// location is a `data-race` failure under loom, naming both accesses.  Every
/// location gets one in runs with a `plain` mutation.
pub struct QAtomic<P: Platform, T: Word> {
    raw: T::Atomic<P>,
    name: Name,
    show: Option<fn(T) -> String>,
    stores: StoreAs,
    shadow: Option<Shadow<P>>,
    /// The last value stored, kept only while a trace is captured, so that a
    /// load of an older value says so.
    last: std::sync::Mutex<Option<T>>,
    _p: PhantomData<P>,
}

/// The race check of a location's plain accesses: a backend cell whose
/// accesses loom checks for happens-before, and who accessed it last
/// (scaffolding, for the report).
struct Shadow<P: Platform> {
    cell: P::Cell<()>,
    log: std::sync::Mutex<Vec<(String, String, bool)>>,
}

impl<P: Platform, T: Word> fmt::Debug for QAtomic<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QAtomic({})", self.name)
    }
}

/// Whether the run race-checks every location (a `plain` mutation is active).
fn run_has_plain<P: Platform>() -> bool {
    with_ctx::<P, _>(|ctx| ctx.is_some_and(|c| c.rt.cfg.mutations.has_plain()))
}

/// The run's memory-model profile.
fn profile<P: Platform>() -> Profile {
    with_ctx::<P, _>(|ctx| ctx.map_or(Profile::C11, |c| c.rt.cfg.profile))
}

impl<P: Platform, T: Word> QAtomic<P, T> {
    fn make(name: Name, v: T, show: Option<fn(T) -> String>, mixed: bool) -> Self {
        // Only loom checks races; std and shuttle would only pay for the cell.
        let shadow = ((mixed || run_has_plain::<P>()) && P::NAME == "loom")
            .then(|| Shadow { cell: P::Cell::new(()), log: std::sync::Mutex::new(vec![]) });
        QAtomic {
            raw: T::Atomic::<P>::new(v),
            name,
            show,
            stores: StoreAs::Exact,
            shadow,
            last: std::sync::Mutex::new(Some(v)),
            _p: PhantomData,
        }
    }

    /// A new atomic (under loom: inside the model).
    pub fn new(name: impl Into<Name>, v: T) -> Self {
        Self::make(name.into(), v, None, false)
    }

    /// Like [`QAtomic::new`], with a value printer for traces (e.g. node names).
    pub fn with_show(name: impl Into<Name>, v: T, show: fn(T) -> String) -> Self {
        Self::make(name.into(), v, Some(show), false)
    }

    /// A location QEMU accesses both plainly ([`plain_store`]) and atomically.
    pub fn mixed(name: impl Into<Name>, v: T, show: fn(T) -> String) -> Self {
        Self::make(name.into(), v, Some(show), true)
    }

    /// Issue this location's stores as swaps under loom, for `why` (see [`StoreAs`]).
    pub fn stores_as_swaps(mut self, why: &'static str) -> Self {
        self.stores = StoreAs::Swap(why);
        self
    }

    /// How stores to this location are issued.
    pub fn store_policy(&self) -> StoreAs {
        self.stores
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

    fn capturing(&self) -> bool {
        with_ctx::<P, _>(|ctx| ctx.is_some_and(|c| c.capturing()))
    }

    /// Note a store for the trace's "reads an older value" remark.
    fn stored(&self, v: T) {
        if self.capturing() {
            *self.last.lock().unwrap() = Some(v);
        }
    }

    /// `" (reads an older value: the latest store in the table is X)"` when a
    /// load returned something else than the last store the trace shows.
    fn staleness(&self, v: T) -> String {
        match *self.last.lock().unwrap() {
            Some(w) if w != v => format!(" (reads an older value: the latest store in the table is {})", self.s(w)),
            _ => String::new(),
        }
    }

    /// Race-check one access of this location (`write`: a plain store; every
    /// other access is checked as a read, so only conflicts with a plain
    /// store are reported: two atomic accesses never race).
    fn race_check(&self, what: &str, write: bool) {
        let Some(sh) = &self.shadow else { return };
        let (me, diag) = with_ctx::<P, _>(|ctx| match ctx {
            Some(c) => (c.name.clone(), Some(c.rt.diag.clone())),
            None => ("?".to_string(), None),
        });
        if let Some(d) = &diag {
            let log = sh.log.lock().unwrap();
            // A plain store conflicts with every access, any other access only
            // with plain stores.
            let others: Vec<String> = log
                .iter()
                .filter(|(t, _, plain)| *t != me && (write || *plain))
                .map(|(t, w, _)| format!("{w} by {t}"))
                .collect();
            d.set_race_context(Some(format!(
                "{}: {what} by {me}, unordered with an earlier access: {}",
                self.name,
                if others.is_empty() {
                    "(an earlier access of the same thread's run)".to_string()
                } else {
                    others.join("; ")
                }
            )));
        }
        if write {
            sh.cell.with_mut(|_| ());
        } else {
            sh.cell.with(|_| ());
        }
        if let Some(d) = diag {
            d.set_race_context(None);
        }
        let mut log = sh.log.lock().unwrap();
        log.retain(|(t, _, plain)| *t != me || *plain != write);
        log.push((me, what.to_string(), write));
    }

    /// The backend store, as this location's policy says.
    fn raw_store(&self, v: T, o: Ordering) {
        match self.stores {
            StoreAs::Exact => self.raw.store(v, o),
            StoreAs::Swap(_) => {
                self.raw.swap(v, o);
            }
        }
    }
}

/// Run `f` with the calling thread's context, without cloning it.
fn with_ctx<P: Platform, R>(f: impl FnOnce(Option<&crate::runtime::ThreadCtx<P>>) -> R) -> R {
    P::ctx_slot(|s| f(s.borrow().as_deref()))
}

pub(crate) fn mutation_of<P: Platform>(site: &Site) -> Option<Mutation> {
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

/// The ordering a load is issued with under the run's profile (TSO: every
/// load is an acquire).
fn load_ord<P: Platform>(o: Ordering) -> Ordering {
    match (profile::<P>(), o) {
        (Profile::Tso, Ordering::Relaxed) => Ordering::Acquire,
        _ => o,
    }
}

/// The ordering a store is issued with under the run's profile (TSO: every
/// store is a release).
fn store_ord<P: Platform>(o: Ordering) -> Ordering {
    match (profile::<P>(), o) {
        (Profile::Tso, Ordering::Relaxed) => Ordering::Release,
        _ => o,
    }
}

/// The acquire half of an RMW ordering (the load of a split RMW).
fn load_half(o: Ordering) -> Ordering {
    match o {
        Ordering::SeqCst => Ordering::SeqCst,
        Ordering::AcqRel | Ordering::Acquire => Ordering::Acquire,
        _ => Ordering::Relaxed,
    }
}

/// The release half of an RMW ordering (the store of a split RMW).
fn store_half(o: Ordering) -> Ordering {
    match o {
        Ordering::SeqCst => Ordering::SeqCst,
        Ordering::AcqRel | Ordering::Release => Ordering::Release,
        _ => Ordering::Relaxed,
    }
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

/// A load of `a` with ordering `o` (profile applied, race-checked as a read).
fn do_load<P: Platform, T: Word>(a: &QAtomic<P, T>, o: Ordering, what: &str) -> T {
    a.race_check(what, false);
    a.raw.load(load_ord::<P>(o))
}

/// A store of `v` to `a` with ordering `o`; `plain`: a plain C store
/// (race-checked as a write).
fn do_store<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, o: Ordering, what: &str, plain: bool) {
    a.race_check(what, plain);
    a.raw_store(v, store_ord::<P>(o));
    a.stored(v);
}

/// An RMW of `a`: `f(old)` gives the new value (`None`: no store, a failed
/// CAS).  Under the TSO profile a full fence on each side (LOCK prefix);
/// under `split`, a separate load and store.
fn do_rmw<P: Platform, T: Word>(
    a: &QAtomic<P, T>,
    o: Ordering,
    split: bool,
    what: &str,
    rmw: impl FnOnce(&T::Atomic<P>, Ordering) -> T,
    f: impl FnOnce(T) -> Option<T>,
) -> T {
    a.race_check(what, false);
    let tso = profile::<P>() == Profile::Tso;
    if tso {
        P::fence(Ordering::SeqCst);
    }
    let old = if split {
        let old = a.raw.load(load_ord::<P>(load_half(o)));
        if let Some(new) = f(old) {
            a.raw.store(new, store_ord::<P>(store_half(o)));
            a.stored(new);
        }
        old
    } else {
        let old = rmw(&a.raw, if tso { Ordering::SeqCst } else { o });
        if let Some(new) = f(old) {
            a.stored(new);
        }
        old
    };
    if tso {
        P::fence(Ordering::SeqCst);
    }
    old
}

/// `qatomic_read(p)`: relaxed load.
pub fn qatomic_read<P: Platform, T: Word>(a: &QAtomic<P, T>) -> T {
    let v = do_load(a, Ordering::Relaxed, "qatomic_read");
    if a.tracing() {
        a.trace(format_args!("read {} = {}{}", a.name, a.s(v), a.staleness(v)));
    }
    v
}

/// `qatomic_set(p, v)`: relaxed store.
pub fn qatomic_set<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T) {
    do_store(a, v, Ordering::Relaxed, "qatomic_set", false);
    if a.tracing() {
        a.trace(format_args!("set {} = {}", a.name, a.s(v)));
    }
}

/// A plain C store (`node->next = NULL`) to a location made with
/// [`QAtomic::mixed`]: relaxed, and race-checked as a write.
pub fn plain_store<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
    debug_assert!(site.kind == SiteKind::Plain, "site {} is not a plain access", site.id);
    do_store(a, v, Ordering::Relaxed, &format!("plain store [{}]", site.id), true);
    if a.tracing() {
        a.trace(format_args!("{} = {} (plain) [{}]", a.name, a.s(v), site.id));
    }
}

/// The ordered load of a site: a plain load under the `plain` mutation.
fn site_load<P: Platform, T: Word>(a: &QAtomic<P, T>, site: &'static Site, op: &str) -> T {
    let m = mutation_of::<P>(site);
    let o = access_ord::<P>(site, is_access);
    let v = do_load(a, o, &format!("{op} [{}{}]", site.id, m.map(|m| format!(" {m}")).unwrap_or_default()));
    if a.tracing() {
        a.trace(format_args!("{op} {} = {}{}{}", a.name, a.s(v), mark(site, m), a.staleness(v)));
    }
    v
}

/// The ordered store of a site: a plain (race-checked) store under `plain`.
fn site_store<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site, op: &str) {
    let m = mutation_of::<P>(site);
    let o = access_ord::<P>(site, is_access);
    let what = format!("{op} [{}{}]", site.id, m.map(|m| format!(" {m}")).unwrap_or_default());
    do_store(a, v, o, &what, m == Some(Mutation::Plain));
    if a.tracing() {
        a.trace(format_args!("{op} {} = {}{}", a.name, a.s(v), mark(site, m)));
    }
}

/// `qatomic_load_acquire(p)`.
pub fn qatomic_load_acquire<P: Platform, T: Word>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    site_load(a, site, "load_acquire")
}

/// `qatomic_store_release(p, v)`.
pub fn qatomic_store_release<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
    site_store(a, v, site, "store_release")
}

/// `qatomic_rcu_read(p)`: Acquire (Rust has no consume ordering).
pub fn qatomic_rcu_read<P: Platform, T: Word>(a: &QAtomic<P, T>, site: &'static Site) -> T {
    site_load(a, site, "rcu_read")
}

/// `qatomic_rcu_set(p, v)`: Release store.
pub fn qatomic_rcu_set<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) {
    site_store(a, v, site, "rcu_set")
}

/// `qatomic_xchg(p, v)`: returns the old value.
pub fn qatomic_xchg<P: Platform, T: Word>(a: &QAtomic<P, T>, v: T, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_rmw);
    let m = mutation_of::<P>(site);
    let old = do_rmw(a, o, m == Some(Mutation::Split), "xchg", |r, o| r.swap(v, o), |_| Some(v));
    if a.tracing() {
        a.trace(format_args!("xchg {} {} → {}{}{}", a.name, a.s(old), a.s(v), mark(site, m), a.staleness(old)));
    }
    old
}

/// `qatomic_cmpxchg(p, old, new)`: strong CAS, returns the value read whether or
/// not it succeeded.
pub fn qatomic_cmpxchg<P: Platform, T: Word>(a: &QAtomic<P, T>, old: T, new: T, site: &'static Site) -> T {
    let o = access_ord::<P>(site, is_rmw);
    let m = mutation_of::<P>(site);
    let seen = do_rmw(
        a,
        o,
        m == Some(Mutation::Split),
        "cmpxchg",
        |r, o| match r.compare_exchange(old, new, o, cas_failure(o)) {
            Ok(v) | Err(v) => v,
        },
        |seen| (seen == old).then_some(new),
    );
    if a.tracing() {
        a.trace(format_args!(
            "cmpxchg {} {}→{}: saw {} ({}){}",
            a.name,
            a.s(old),
            a.s(new),
            a.s(seen),
            if seen == old { "ok" } else { "failed" },
            mark(site, m)
        ));
    }
    seen
}

macro_rules! fetch_op {
    ($(#[$doc:meta])* $fetch:ident, $op_fetch:ident, $plain:ident, $raw:ident, $sym:literal, $apply:expr) => {
        $(#[$doc])*
        pub fn $fetch<P: Platform, T: Word + FetchOps>(a: &QAtomic<P, T>, v: T, site: &'static Site) -> T {
            let o = access_ord::<P>(site, is_rmw);
            let m = mutation_of::<P>(site);
            let old = do_rmw(
                a,
                o,
                m == Some(Mutation::Split),
                concat!("fetch_", $sym),
                |r, o| r.$raw(v, o),
                |old| Some(($apply)(old, v)),
            );
            let new = ($apply)(old, v);
            if a.tracing() {
                a.trace(format_args!(
                    concat!("fetch_", $sym, " {} {} → {}{}"),
                    a.name,
                    a.s(old),
                    a.s(new),
                    mark(site, m)
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
        _ => panic!("site {} is not a fence but is used as {name}, or `{m:?}` is not a fence mutation", site.id),
    };
    // x86-64: QEMU makes smp_mb__before/after_rmw() compiler barriers, the
    // LOCK-prefixed RMW being a full fence (include/qemu/atomic.h).
    let tso_noop = profile::<P>() == Profile::Tso && name.starts_with("smp_mb__");
    if let Some(o) = o.filter(|_| !tso_noop) {
        P::fence(o);
    }
    // Traced after the fence executed, so the table shows it where it takes effect.
    if let Some(ctx) = try_current::<P>() {
        if ctx.tracing() {
            match (o, m) {
                _ if tso_noop => ctx.trace(format_args!("{name} [{}: compiler barrier on x86-TSO]", site.id)),
                (_, None) => ctx.trace(format_args!("{name} [{}]", site.id)),
                (None, Some(m)) => ctx.trace(format_args!("{name} [{} {m}: no fence]", site.id)),
                (Some(o), Some(m)) => ctx.trace(format_args!("{name} [{} {m}: fence({o:?})]", site.id)),
            }
        }
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
