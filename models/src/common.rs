//! What every version shares, ported once: the reader side (include/qemu/rcu.h,
//! identical in all versions), `rcu_gp_ongoing()`, the registry and its
//! `QLIST`s, the wait-free callback queue (`enqueue()` / `try_dequeue()`),
//! registration, force_rcu notifiers, and the dequeue-and-run loop of
//! call_rcu_thread() that every version shares (SEMAPHORE with a semaphore
//! wait and no reset).
//!
//! Provenance: util/rcu.c blob `b703c86f15a3` (MASTER; line numbers here are
//! to it).  These functions have the same text in every version's blob, at
//! other lines (e.g. `enqueue()` is UNIFY 213-234, SEED and SEMAPHORE 214-235,
//! V3 219-240).  include/qemu/rcu.h is blob `020dbe4d8b77` (MASTER, UNIFY);
//! SEED and V3 have `d6aa4e5854d3`, which only adds `void force_rcu(void);` at
//! line 121, after the reader side.
//!
//! `rcu_reader` is QEMU's coroutine-safe TLS: here each model thread's slot is
//! `readers[thread index]`, found through the backend thread-local
//! ([`get_ptr_rcu_reader`](RcuCommon::get_ptr_rcu_reader)).
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as StdOrdering};
use std::sync::{Arc, Mutex};

use rcu_core::atomic::{
    plain_store, qatomic_load_acquire, qatomic_read, qatomic_set, qatomic_store_release, qatomic_xchg,
    smp_mb_placeholder, Name, QAtomic,
};
use rcu_core::event::{qemu_event_reset, qemu_event_set, qemu_event_wait, QemuEvent};
use rcu_core::mutex::{qemu_mutex_lock, qemu_mutex_unlock, Bql, Guarded, QemuMutex};
use rcu_core::notifier::{Notifier, NotifierList};
use rcu_core::platform::{Platform, RawCell};
use rcu_core::runtime::{current, GpMode, Runtime};
use rcu_core::site::Site;
use rcu_core::{logic, rcu_trace, site, site_doc};

/// `RCU_GP_LOCKED`: bit 0 of `rcu_gp_ctr` is always one (rcu.c:43).
pub const RCU_GP_LOCKED: u64 = 1 << 0;
/// `RCU_GP_CTR`: the grace-period counter starts at bit 1 (rcu.c:44).
pub const RCU_GP_CTR: u64 = 1 << 1;
/// `RCU_CALL_MIN_SIZE`: "a decent number of callbacks" (MASTER rcu.c:177; rcu.c:47 in every later version).
pub const RCU_CALL_MIN_SIZE: u32 = 30;

/// Why SEED's and the semaphore drafts' `forced` issues its stores as swaps
/// under loom ([`rcu_core::atomic::StoreAs`]).
pub const FORCED_SWAPS: &str = "forced mixes qatomic_set(true) (force_rcu) with qatomic_xchg(false) (the RCU thread): \
     loom 0.7.2's partial modification order lets a later xchg read a value an exact store overwrote (a false alarm). \
     An inversion a swap hides would need the true-store to be mo-before an xchg that did not read it, \
     which leaves forced true either way";

/// A pointer to an `rcu_head`: an index into the run's head arena.
pub type HeadRef = u32;
/// `NULL`.
pub const NULL: HeadRef = u32::MAX;
/// `&dummy` (rcu.c:182).
pub const DUMMY: HeadRef = 0;

/// A callback (`void (*func)(struct rcu_head *)`); closures capture what the
/// C callback would reach through `container_of`.
pub type RcuCallback = Box<dyn FnOnce() + Send + 'static>;

/// `struct rcu_head` (rcu.h:138-141).
pub struct RcuHead<P: Platform> {
    /// `next`: written plainly by enqueue() (`node->next = NULL`, B19), then by
    /// the successor's store-release (B21); read with load-acquire by
    /// try_dequeue() (B22).  A mixed location: the plain store is race-checked
    /// against every other access, and stores are exact (two writers: the
    /// node's producer and its successor's).
    pub next: QAtomic<P, u32>,
    /// `func`: written plainly by call_rcu1() before enqueue(), read by the RCU
    /// thread after try_dequeue(); loom checks that the two are ordered.
    pub func: P::Cell<Option<RcuCallback>>,
}

/// `struct rcu_reader_data` (rcu.h:57-74): the fields the reader and the
/// grace-period code share.  `node` and `force_rcu` live in [`ThreadLists`],
/// protected by rcu_registry_lock like in C.
pub struct RcuReaderData<P: Platform> {
    /// `ctr`: 0 outside a critical section, else a snapshot of `rcu_gp_ctr`.
    pub ctr: QAtomic<P, u64>,
    /// `waiting`: the GP waiter asks the reader to set rcu_gp_event on exit.
    pub waiting: QAtomic<P, bool>,
    /// `depth`: nesting, used by the owner thread only.
    pub depth: P::Cell<u32>,
}

/// A QLIST head index in [`ThreadLists`]: 0 is `registry`; others are the
/// on-stack `qsreaders` lists of wait_for_readers() calls.
pub type ListHead = usize;
/// `registry` (rcu.c:71-72).
pub const REGISTRY: ListHead = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prev {
    Head(ListHead),
    Next(usize),
}

/// Everything rcu_registry_lock protects: the QLIST links of every reader
/// (`rcu_reader_data.node`), every list head (`registry` and the on-stack
/// `qsreaders` lists, which other threads reach through `le_prev` when they
/// unregister), and every reader's `force_rcu` NotifierList.
#[derive(Debug)]
pub struct ThreadLists {
    heads: Vec<Option<usize>>,
    free_heads: Vec<ListHead>,
    next: Vec<Option<usize>>,
    prev: Vec<Option<Prev>>,
    force_rcu: Vec<NotifierList>,
}

impl ThreadLists {
    fn new(slots: usize) -> Self {
        ThreadLists {
            heads: vec![None],
            free_heads: vec![],
            next: vec![None; slots],
            prev: vec![None; slots],
            force_rcu: vec![NotifierList::default(); slots],
        }
    }

    /// `QLIST_HEAD_INITIALIZER` for an on-stack list.
    pub fn new_head(&mut self) -> ListHead {
        match self.free_heads.pop() {
            Some(h) => h,
            None => {
                self.heads.push(None);
                self.heads.len() - 1
            }
        }
    }

    /// The on-stack list goes out of scope (it must be empty by then).
    pub fn drop_head(&mut self, h: ListHead) {
        assert!(self.heads[h].is_none(), "[assertion] an on-stack QLIST goes out of scope while non-empty");
        self.free_heads.push(h);
    }

    /// `QLIST_FIRST(head)`.
    pub fn first(&self, h: ListHead) -> Option<usize> {
        self.heads[h]
    }

    /// `QLIST_NEXT(elm, node)`.
    pub fn next(&self, r: usize) -> Option<usize> {
        self.next[r]
    }

    /// `QLIST_EMPTY(head)`.
    pub fn is_empty(&self, h: ListHead) -> bool {
        self.heads[h].is_none()
    }

    /// Whether a wait_for_readers() is between its QLIST_HEAD_INITIALIZER and
    /// its QLIST_SWAP (an on-stack qsreaders list exists).
    pub fn gp_in_progress(&self) -> bool {
        self.heads.len() - 1 > self.free_heads.len()
    }

    /// Whether reader `r` is on `registry` (not on a qsreaders list).
    pub fn on_registry(&self, r: usize) -> bool {
        let mut p = self.prev[r];
        while let Some(Prev::Next(q)) = p {
            p = self.prev[q];
        }
        p == Some(Prev::Head(REGISTRY))
    }

    /// Whether reader `r` is linked on some list.
    pub fn is_linked(&self, r: usize) -> bool {
        self.prev[r].is_some()
    }

    /// `QLIST_INSERT_HEAD(head, elm, node)`.
    pub fn insert_head(&mut self, h: ListHead, r: usize) {
        assert!(self.prev[r].is_none(), "[assertion] QLIST_INSERT_HEAD of reader {r}, which is already on a list");
        let old = self.heads[h];
        self.next[r] = old;
        if let Some(o) = old {
            self.prev[o] = Some(Prev::Next(r));
        }
        self.heads[h] = Some(r);
        self.prev[r] = Some(Prev::Head(h));
    }

    /// `QLIST_REMOVE(elm, node)`: works on whichever list holds `r`.
    pub fn remove(&mut self, r: usize) {
        let p = self.prev[r].expect("[assertion] QLIST_REMOVE of a reader that is on no list");
        let n = self.next[r];
        if let Some(n) = n {
            self.prev[n] = Some(p);
        }
        match p {
            Prev::Head(h) => self.heads[h] = n,
            Prev::Next(q) => self.next[q] = n,
        }
        self.next[r] = None;
        self.prev[r] = None;
    }

    /// `QLIST_SWAP(a, b, node)`.
    pub fn swap(&mut self, a: ListHead, b: ListHead) {
        self.heads.swap(a, b);
        if let Some(f) = self.heads[a] {
            self.prev[f] = Some(Prev::Head(a));
        }
        if let Some(f) = self.heads[b] {
            self.prev[f] = Some(Prev::Head(b));
        }
    }

    /// The members of a list, in order (for invariant checks).
    pub fn members(&self, h: ListHead) -> Vec<usize> {
        let mut v = vec![];
        let mut i = self.heads[h];
        while let Some(r) = i {
            v.push(r);
            i = self.next[r];
        }
        v
    }

    /// Reader `r`'s force_rcu notifier list.
    pub fn force_rcu(&mut self, r: usize) -> &mut NotifierList {
        &mut self.force_rcu[r]
    }
}

/// State and functions shared by every version.
pub struct RcuCommon<P: Platform> {
    /// The run.
    pub rt: Arc<Runtime<P>>,
    /// `unsigned long rcu_gp_ctr = RCU_GP_LOCKED` (rcu.c:46).
    pub rcu_gp_ctr: QAtomic<P, u64>,
    /// `QemuEvent rcu_gp_event`, initialised set (rcu.c:408).
    pub rcu_gp_event: QemuEvent<P>,
    /// `rcu_registry_lock` (rcu.c:50).
    pub rcu_registry_lock: Arc<QemuMutex<P>>,
    /// `registry`, the qsreaders lists and the notifier lists.
    pub lists: Guarded<P, ThreadLists>,
    /// Each thread's `rcu_reader` TLS, by thread index.
    pub readers: Vec<RcuReaderData<P>>,
    /// The `rcu_head` arena; `heads[0]` is `dummy`.
    pub heads: Vec<RcuHead<P>>,
    head_names: Mutex<Vec<String>>,
    next_head: AtomicUsize,
    /// Scaffolding for a positive control: the tickets (xchg order) of the
    /// producers between their xchg and their store-release.
    in_flight: Mutex<(u64, Vec<u64>)>,
    /// `static struct rcu_head *head = &dummy`: consumer-private.
    pub head: P::Cell<HeadRef>,
    /// `static struct rcu_head **tail = &dummy.next`: the head whose `next` is
    /// the tail slot.
    pub tail: QAtomic<P, u32>,
    /// The BQL (callbacks run under it).
    pub bql: Bql<P>,
    /// How the grace-period counter advances.
    pub gp_mode: GpMode,
    stop: AtomicBool,
}

impl<P: Platform> fmt::Debug for RcuCommon<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RcuCommon<{}>", P::NAME)
    }
}

fn head_show(v: u32) -> String {
    match v {
        NULL => "NULL".into(),
        DUMMY => "&dummy".into(),
        x => format!("h{x}"),
    }
}

impl<P: Platform> RcuCommon<P> {
    /// The state `rcu_init_complete()` initialises (the thread is created by
    /// the version).
    pub fn new(rt: Arc<Runtime<P>>) -> Self {
        let cfg = rt.cfg.clone();
        let lock = Arc::new(QemuMutex::new("rcu_registry_lock"));
        let readers = (0..cfg.max_threads)
            .map(|i| RcuReaderData {
                ctr: QAtomic::new(Name::Indexed("reader", i as u32, ".ctr"), 0),
                waiting: QAtomic::new(Name::Indexed("reader", i as u32, ".waiting"), false),
                depth: P::Cell::new(0),
            })
            .collect();
        let heads = (0..cfg.max_heads)
            .map(|i| RcuHead {
                next: QAtomic::mixed(
                    if i == 0 { Name::Static("dummy.next") } else { Name::Indexed("h", i as u32, ".next") },
                    NULL,
                    head_show,
                ),
                func: P::Cell::new(None),
            })
            .collect();
        RcuCommon {
            rcu_gp_ctr: QAtomic::new("rcu_gp_ctr", cfg.gp_ctr_init | RCU_GP_LOCKED),
            rcu_gp_event: QemuEvent::new("rcu_gp_event", true),
            lists: Guarded::new(lock.clone(), "registry", ThreadLists::new(cfg.max_threads)),
            rcu_registry_lock: lock,
            readers,
            heads,
            head_names: Mutex::new(vec!["dummy".into()]),
            next_head: AtomicUsize::new(1),
            in_flight: Mutex::new((0, vec![])),
            head: P::Cell::new(DUMMY),
            tail: QAtomic::with_show("tail", DUMMY, head_show),
            bql: Bql::default(),
            gp_mode: cfg.gp_mode,
            stop: AtomicBool::new(false),
            rt,
        }
    }

    /// Hand out a fresh `rcu_head` (the caller's object in C), named for traces.
    pub fn alloc_head(&self, name: &str) -> HeadRef {
        let i = self.next_head.fetch_add(1, StdOrdering::Relaxed);
        assert!(i < self.heads.len(), "rcu_head arena exhausted (raise RunConfig::max_heads)");
        let mut names = self.head_names.lock().unwrap();
        if names.len() <= i {
            names.resize(i + 1, String::new());
        }
        names[i] = name.to_string();
        i as HeadRef
    }

    /// How many `rcu_head`s are left in the arena (long real-thread runs stop
    /// queueing before it runs out).
    pub fn heads_free(&self) -> usize {
        self.heads.len().saturating_sub(self.next_head.load(StdOrdering::Relaxed))
    }

    /// The name of a head for traces (`O`, `P`, `sync.rcu`, `dummy`).
    pub fn head_name(&self, h: HeadRef) -> String {
        if h == NULL {
            return "NULL".into();
        }
        self.head_names.lock().unwrap().get(h as usize).cloned().unwrap_or_else(|| head_show(h))
    }

    /// Which thread is calling (its `rcu_reader` slot).
    pub fn me(&self) -> usize {
        current::<P>().id
    }

    /// `get_ptr_rcu_reader()`.
    pub fn get_ptr_rcu_reader(&self) -> &RcuReaderData<P> {
        &self.readers[self.me()]
    }

    // ----------------------------------------------------------------------
    // include/qemu/rcu.h

    /// `rcu_read_lock()` (rcu.h:78-95).
    pub fn rcu_read_lock(&self) {
        let p_rcu_reader = self.get_ptr_rcu_reader();
        let depth = p_rcu_reader.depth.with_mut(|d| {
            let old = *d;
            *d += 1;
            old
        });
        site_doc!(
            B1,
            Plain,
            "rcu_read_lock",
            "include/qemu/rcu.h:83 p_rcu_reader->depth++",
            "No barrier needed: depth is private to the reader thread [B1]"
        );
        if depth > 0 {
            rcu_trace!(P, "rcu_read_lock: nested, depth {}", depth + 1);
            return;
        }

        // `unsigned ctr`: the snapshot is truncated to 32 bits before the store.
        let ctr = qatomic_read(&self.rcu_gp_ctr) as u32;
        site_doc!(B2, Relaxed, "rcu_read_lock", "include/qemu/rcu.h:87 qatomic_read(&rcu_gp_ctr)",
            "No barrier needed: a stale snapshot only makes the reader look older; B4 orders it before the critical section [B2]");
        qatomic_set(&p_rcu_reader.ctr, u64::from(ctr));
        site_doc!(
            B3,
            Relaxed,
            "rcu_read_lock",
            "include/qemu/rcu.h:88 qatomic_set(&p_rcu_reader->ctr, ctr)",
            "No barrier needed: B4 orders the store before the critical section's loads [B3]"
        );

        smp_mb_placeholder::<P>(site!(B4, Fence(SeqCst), "rcu_read_lock",
            "include/qemu/rcu.h:94 smp_mb_placeholder()",
            "Load of rcu_gp_ctr and store to p_rcu_reader->ctr before the critical section's loads of RCU-protected pointers. Pairs with B17 in synchronize_rcu() [B4]"));
    }

    /// `rcu_read_unlock()` (rcu.h:97-119).
    pub fn rcu_read_unlock(&self) {
        let p_rcu_reader = self.get_ptr_rcu_reader();
        let depth = p_rcu_reader.depth.with_mut(|d| {
            assert!(*d != 0, "[assertion] rcu_read_unlock() without rcu_read_lock() (depth underflow)");
            *d -= 1;
            *d
        });
        if depth > 0 {
            rcu_trace!(P, "rcu_read_unlock: nested, depth {}", depth);
            return;
        }

        qatomic_store_release(&p_rcu_reader.ctr, 0, site!(B5, Access(Release), "rcu_read_unlock",
            "include/qemu/rcu.h:111 qatomic_store_release(&p_rcu_reader->ctr, 0)",
            "The critical section before the store of ctr = 0. Pairs with B40 in qemu_event_set(): the grace period's relaxed ctr load, followed by the completion event's fence (SEED and later synchronize_rcu()), synchronises with it; elsewhere only the control dependency from that load to the free orders them (proofs.md F11). Also, with B6, makes the ctr stores sequentially consistent [B5]"));

        smp_mb_placeholder::<P>(site!(B6, Fence(SeqCst), "rcu_read_unlock",
            "include/qemu/rcu.h:114 smp_mb_placeholder()",
            "Store of ctr = 0 before the load of p_rcu_reader->waiting. Pairs with B12 in wait_for_readers() (store-buffering: otherwise the reader misses waiting and the waiter misses ctr = 0) [B6]"));
        if qatomic_read(&p_rcu_reader.waiting) {
            self.rt.probe("reader_signaled");
            logic::store::<P>(
                site!(L2, StoreStmt, "rcu_read_unlock", "include/qemu/rcu.h:116 qatomic_set(&p_rcu_reader->waiting, false)",
                    "The reader clears its own waiting flag before it wakes the grace period, so that a later unlock does not set rcu_gp_event again for the same wait [L2]"),
                || qatomic_set(&p_rcu_reader.waiting, false),
            );
            site_doc!(B7, Relaxed, "rcu_read_unlock", "include/qemu/rcu.h:115-116 qatomic_read/qatomic_set(&p_rcu_reader->waiting)",
                "No barrier needed: B6 orders the load after ctr = 0, and clearing waiting early only costs the waiter an extra wake-up [B7]");
            logic::call::<P>(
                site!(L1, CallStmt, "rcu_read_unlock", "include/qemu/rcu.h:117 qemu_event_set(&rcu_gp_event)",
                    "The reader that saw waiting set wakes the grace period sleeping in qemu_event_wait(&rcu_gp_event) in wait_for_readers() [L1]"),
                || qemu_event_set(&self.rcu_gp_event),
            );
            site_doc!(
                B8,
                Call,
                "rcu_read_unlock",
                "include/qemu/rcu.h:117 qemu_event_set(&rcu_gp_event)",
                "No barrier needed: qemu_event_set() begins with its own full barrier B40 and is a release [B8]"
            );
        }
    }

    /// `rcu_gp_ongoing(ctr)` (rcu.c:57-63).
    pub fn rcu_gp_ongoing(&self, ctr: &QAtomic<P, u64>) -> bool {
        let v = qatomic_read(ctr);
        // rcu_gp_ctr is read plainly in C: only the grace-period owner writes it.
        let ongoing = v != 0 && v != qatomic_read(&self.rcu_gp_ctr);
        if ongoing {
            self.rt.probe("gp_saw_reader");
        }
        site_doc!(B9, Relaxed, "rcu_gp_ongoing", "util/rcu.c:61-62 qatomic_read(ctr); plain rcu_gp_ctr",
            "No barrier needed: the caller's B12 orders these loads after the waiting stores and the rcu_gp_ctr update [B9]");
        ongoing
    }

    /// The next value of `rcu_gp_ctr` for the 64-bit path
    /// (`rcu_gp_ctr + RCU_GP_CTR`), wrapped to the configured width.
    pub fn gp_ctr_increment(&self, v: u64) -> u64 {
        match self.gp_mode {
            GpMode::Increment { bits } if bits < 64 => (v.wrapping_add(RCU_GP_CTR)) & ((1u64 << bits) - 1),
            _ => v.wrapping_add(RCU_GP_CTR),
        }
    }

    // ----------------------------------------------------------------------
    // Registry, QLIST helpers (all under rcu_registry_lock)

    /// `QLIST_FIRST(head)` under the registry lock; `func` names the C caller.
    pub fn qlist_first(&self, func: &str, h: ListHead) -> Option<usize> {
        self.lists.with(func, |l| l.first(h))
    }

    /// `QLIST_NEXT(r, node)`.
    pub fn qlist_next(&self, func: &str, r: usize) -> Option<usize> {
        self.lists.with(func, |l| l.next(r))
    }

    /// `QLIST_EMPTY(head)`.
    pub fn qlist_empty(&self, func: &str, h: ListHead) -> bool {
        self.lists.with(func, |l| l.is_empty(h))
    }

    /// `QLIST_REMOVE(r); QLIST_INSERT_HEAD(to, r)`.
    pub fn qlist_move(&self, func: &str, r: usize, to: ListHead) {
        self.lists.with_mut(func, |l| {
            l.remove(r);
            l.insert_head(to, r);
        });
    }

    /// `notifier_list_notify(&index->force_rcu, NULL)`: call reader `r`'s
    /// force_rcu notifiers (QLIST_FOREACH_SAFE), from the grace-period thread,
    /// in MASTER, UNIFY and V3 with rcu_registry_lock held; SEED and SEMAPHORE
    /// call it after dropping the lock (seed rcu.c:139, 162-165), which
    /// [`Guarded`] reports (proofs.md F6).
    pub fn notifier_list_notify(&self, func: &str, r: usize) {
        let list = self.lists.with_mut(func, |l| l.force_rcu(r).snapshot());
        rcu_trace!(P, "notifier_list_notify(reader[{}].force_rcu): {} notifier(s)", r, list.len());
        self.rt.probe("force_rcu_notify");
        for n in list {
            (n.notify)();
        }
    }

    /// `rcu_register_thread()` (rcu.c:373-379).
    pub fn rcu_register_thread(&self) {
        let me = self.me();
        assert!(
            self.get_ptr_rcu_reader().ctr.peek() == 0,
            "[assertion] rcu_register_thread() inside a read-side critical section"
        );
        qemu_mutex_lock(&self.rcu_registry_lock);
        let during_gp = self.lists.with_mut("rcu_register_thread", |l| {
            l.insert_head(REGISTRY, me);
            l.gp_in_progress()
        });
        qemu_mutex_unlock(&self.rcu_registry_lock);
        if during_gp {
            self.rt.probe("register_during_gp");
        }
        site_doc!(
            B33,
            Lock,
            "rcu_register_thread",
            "util/rcu.c:373-400 qemu_mutex_lock(&rcu_registry_lock)",
            "No barrier needed: the registry and the notifier lists are only touched under rcu_registry_lock [B33]"
        );
    }

    /// `rcu_unregister_thread()` (rcu.c:381-386).
    pub fn rcu_unregister_thread(&self) {
        let me = self.me();
        qemu_mutex_lock(&self.rcu_registry_lock);
        let (during_gp, from_qs) = self.lists.with_mut("rcu_unregister_thread", |l| {
            let from_qs = l.gp_in_progress() && !l.on_registry(me);
            l.remove(me);
            (l.gp_in_progress(), from_qs)
        });
        qemu_mutex_unlock(&self.rcu_registry_lock);
        if during_gp {
            self.rt.probe("unregister_during_gp");
        }
        if from_qs {
            self.rt.probe("unregister_from_qsreaders");
        }
    }

    /// `rcu_add_force_rcu_notifier(n)` (rcu.c:388-393): to the *calling* thread's list.
    pub fn rcu_add_force_rcu_notifier(&self, n: Notifier) {
        let me = self.me();
        qemu_mutex_lock(&self.rcu_registry_lock);
        self.lists.with_mut("rcu_add_force_rcu_notifier", |l| l.force_rcu(me).notifier_list_add(n));
        qemu_mutex_unlock(&self.rcu_registry_lock);
    }

    /// `rcu_remove_force_rcu_notifier(n)` (rcu.c:395-400).
    pub fn rcu_remove_force_rcu_notifier(&self, id: u64) {
        qemu_mutex_lock(&self.rcu_registry_lock);
        let found = self.lists.with_mut("rcu_remove_force_rcu_notifier", |l| {
            (0..l.force_rcu.len()).any(|r| l.force_rcu(r).notifier_remove(id))
        });
        qemu_mutex_unlock(&self.rcu_registry_lock);
        assert!(found, "[assertion] notifier_remove() of a notifier that is on no list");
    }

    // ----------------------------------------------------------------------
    // The wait-free MPSC queue (liburcu wfqueue; rcu.c:179-253)

    /// `enqueue(node)` (rcu.c:187-208).
    pub fn enqueue(&self, node: HeadRef) {
        let me = current::<P>();
        let name = if me.capturing() { self.head_name(node) } else { String::new() };
        me.quietly(|| {
            plain_store(&self.heads[node as usize].next, NULL, site!(B19, Plain, "enqueue",
                "util/rcu.c:191 node->next = NULL",
                "No barrier needed: a plain store, ordered before the successor's link (B21, a store to the same field) by B20's release and the successor's B20 acquire, and before the consumer's B22 through B21 [B19]"));
        });

        // Make this node the tail of the list.  The node will be used by
        // further enqueue operations, but it will not be dequeued yet...
        let old_tail = me.quietly(|| {
            qatomic_xchg(&self.tail, node, site!(B20, Rmw(SeqCst), "enqueue",
                "util/rcu.c:198 qatomic_xchg(&tail, &node->next)",
                "The node's plain next = NULL (B19) before the claim of the tail slot, and the predecessor's claim before the link into its next field. Pairs with B20 in enqueue(): the successor's xchg reads this one, so its link B21 is ordered after B19 (else a C11 data race on next, and on ARM/POWER a link lost under a late NULL); concurrent producers are totally ordered on tail [B20]"))
        });
        if me.capturing() {
            me.trace(format_args!("enqueue({name}): xchg tail → &{}.next", self.head_name(old_tail)));
        }
        let ticket = {
            let mut f = self.in_flight.lock().unwrap();
            f.0 += 1;
            let t = f.0;
            f.1.push(t);
            t
        };

        // ... until it is pointed to from another item in the list.  In the
        // meantime, try_dequeue() will find a NULL next pointer and loop.
        me.quietly(|| {
            qatomic_store_release(&self.heads[old_tail as usize].next, node, site!(B21, Access(Release), "enqueue",
                "util/rcu.c:207 qatomic_store_release(old_tail, node)",
                "The node's contents (func, next = NULL) before the link that publishes it. Pairs with B22 in try_dequeue() [B21]"));
        });
        if me.capturing() {
            me.trace(format_args!("enqueue({name}): {}.next = {name}", self.head_name(old_tail)));
        }
        let late = {
            let mut f = self.in_flight.lock().unwrap();
            f.1.retain(|&t| t != ticket);
            f.1.iter().any(|&t| t < ticket)
        };
        if late {
            // This node is linked, but an earlier producer has not linked its
            // own yet: try_dequeue() cannot reach this one (Akihiko's T/U).
            self.rt.probe("late_link");
        }
    }

    /// `try_dequeue()` (rcu.c:210-253).  Only the RCU thread calls it.
    pub fn try_dequeue(&self) -> Option<HeadRef> {
        let me = current::<P>();
        loop {
            // retry: Head is only written by this thread, so no need for barriers.
            let node = self.head.with(|h| *h);
            site_doc!(
                B23,
                Plain,
                "try_dequeue",
                "util/rcu.c:216,244 head",
                "No barrier needed: head is only read and written by the consumer thread [B23]"
            );

            // If the head node has NULL in its next pointer, the value is wrong
            // and we need to wait until its enqueuer finishes the update.
            let next = me.quietly(|| {
                qatomic_load_acquire(&self.heads[node as usize].next, site!(B22, Access(Acquire), "try_dequeue",
                    "util/rcu.c:222 qatomic_load_acquire(&node->next)",
                    "Load of the link before reading the next node's contents and the tail. Pairs with B21 in enqueue() [B22]"))
            });
            if next == NULL {
                if me.capturing() {
                    me.trace(format_args!("try_dequeue: {}.next = NULL → NULL", self.head_name(node)));
                }
                return None;
            }

            // Test for an empty list, which we do not expect.
            if node == DUMMY {
                let t = me.quietly(|| qatomic_read(&self.tail));
                site_doc!(B24, Relaxed, "try_dequeue", "util/rcu.c:234 qatomic_read(&tail)",
                    "No barrier needed: a sanity check, read after B22 so it sees at least the tail that linked next [B24]");
                assert!(
                    t != DUMMY,
                    "[assertion] try_dequeue: abort(): head == &dummy && tail == &dummy.next with a non-NULL next"
                );
            }

            self.head.with_mut(|h| *h = next);

            // If we dequeued the dummy node, add it back at the end and retry.
            if node == DUMMY {
                me.trace(format_args!("try_dequeue: skip dummy, re-enqueue it"));
                self.enqueue(node);
                continue;
            }
            if me.capturing() {
                me.trace(format_args!("try_dequeue → {}", self.head_name(node)));
            }
            return Some(node);
        }
    }

    /// `node->func = func` (call_rcu1's first statement, the same in every version).
    pub fn set_func(&self, node: HeadRef, func: RcuCallback) {
        assert!(node != DUMMY && node != NULL, "[assertion] call_rcu1 on the dummy node");
        self.heads[node as usize].func.with_mut(|f| {
            assert!(
                f.is_none(),
                "[assertion] call_rcu1: rcu_head {} is already queued (double call_rcu)",
                self.head_name(node)
            );
            *f = Some(func);
        });
    }

    /// `node->func(node)`.
    pub fn run_callback(&self, node: HeadRef) {
        assert!(node != DUMMY, "[assertion] the dummy node was handed to a callback");
        let f = self.heads[node as usize].func.with_mut(|f| f.take());
        let f = f.unwrap_or_else(|| {
            panic!("[lost-callback] rcu_head {} dequeued without a callback (run twice?)", self.head_name(node))
        });
        rcu_trace!(P, "callback {}()", self.head_name(node));
        f();
    }

    /// The dequeue-and-run loop of call_rcu_thread() (MASTER rcu.c:286-303;
    /// identical in UNIFY 309-326 and V3 317-334, and in SEED 327-344 with `ready = sync_event`):
    /// callbacks run under the BQL; when try_dequeue() finds a producer between
    /// its xchg and its store-release, wait for `ready` (reset-check-wait).
    /// `reset_site` is the caller's `L3` site for the reset (a logic site:
    /// `drop-call` leaves the reset out).
    pub fn dequeue_and_run(&self, n: u32, ready: &QemuEvent<P>, reset_site: &'static Site) {
        self.dequeue_and_run_with(
            n,
            || logic::call::<P>(reset_site, || qemu_event_reset(ready)),
            || qemu_event_wait(ready),
        );
    }

    /// The same loop with the wait primitive as parameters: `reset` before the
    /// re-check, `wait` when it still finds nothing (SEMAPHORE passes no reset
    /// and `qemu_sem_wait`).
    pub fn dequeue_and_run_with(&self, mut n: u32, reset: impl Fn(), wait: impl Fn()) {
        self.bql.bql_lock();
        site_doc!(
            B30,
            Lock,
            "call_rcu_thread",
            "util/rcu.c:286-303 bql_lock()/bql_unlock()",
            "No barrier needed: callbacks are serialised with other BQL holders by the lock itself [B30]"
        );
        while n > 0 {
            let mut node = self.try_dequeue();
            while node.is_none() {
                self.rt.probe("try_dequeue_null");
                self.bql.bql_unlock();
                reset();
                node = self.try_dequeue();
                if node.is_none() {
                    current::<P>().hint("call_rcu_thread() dequeue loop: count says n callbacks, a producer has not linked its node yet");
                    wait();
                    node = self.try_dequeue();
                }
                self.bql.bql_lock();
            }

            n -= 1;
            self.run_callback(node.unwrap());
        }
        self.bql.bql_unlock();
    }

    /// Harness only: ask the RCU thread to leave its idle wait (QEMU's thread
    /// never exits; the model's must, or the checker reports a deadlock).
    pub fn request_stop(&self) {
        self.stop.store(true, StdOrdering::Relaxed);
    }

    /// Harness only: checked by call_rcu_thread() right before each idle wait,
    /// i.e. only when it has nothing to do.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(StdOrdering::Relaxed)
    }

    /// The registry members, read under rcu_registry_lock (for scenario checks).
    pub fn registry_members(&self) -> Vec<usize> {
        let me = current::<P>();
        me.quietly(|| qemu_mutex_lock(&self.rcu_registry_lock));
        let m = self.lists.with("registry_members", |l| l.members(REGISTRY));
        me.quietly(|| qemu_mutex_unlock(&self.rcu_registry_lock));
        m
    }
}
