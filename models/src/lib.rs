//! # models: every version of QEMU's RCU, ported faithfully
//!
//! | name | module | what |
//! |---|---|---|
//! | `master` | [`master`] | util/rcu.c today (blob b703c86f15a3) |
//! | `unify` | [`unify`] | 55d98e3ede "rcu: Unify force quiescent state" (blob acac9446ea98) |
//! | `seed` | [`seed`] | force_rcu v1 3/5 + 4/5, the patch under review in the seed messages (blob 85f9333f5dff) |
//! | `semaphore-draft` | [`semaphore`] | Peter Xu's "Make sync_event a semaphore" (2025-11-06, blob dfe031a5c96e) |
//! | `semaphore-followup` | [`semaphore`] | the same, reading `forced` before `n` (2025-11-07, blob aff98d9ee29c) |
//! | `v3` | [`v3`] | force_rcu v3 3/5 + 4/5 (blob 2f58f3627f74) |
//! | `c:LABEL` | [`ctree`] | a QEMU tree's own util/rcu.c, compiled and interpreted (cfront) |
//!
//! **Faithful before clever.**  Each port keeps QEMU's function names, control
//! flow, order of accesses, locks held *and not held*, events set and reset,
//! including where the C code looks wrong.  What every version shares is in
//! [`common`]; a version module holds only what its C patch changed and maps
//! each C function to its port in a table at the top of the module.
//!
//! The only harness-specific addition is the way out of call_rcu_thread():
//! QEMU's RCU thread is detached and infinite; here it returns when the
//! harness asked it to stop *and* it is about to sleep with nothing to do
//! ([`RcuVersion::kick_idle`], [`common::RcuCommon::stop_requested`]).
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rcu_core::platform::Platform;
use rcu_core::runtime::{qemu_thread_create, QemuThread, Runtime};
use serde::Serialize;

pub mod common;
pub mod ctree;
pub mod master;
pub mod seed;
pub mod semaphore;
pub mod unify;
pub mod v3;

pub use common::{HeadRef, RcuCallback, RcuCommon};

/// The public API of util/rcu.c that scenarios call, per version.
pub trait RcuVersion<P: Platform>: Send + Sync + 'static {
    /// The shared state.
    fn c(&self) -> &RcuCommon<P>;
    /// `synchronize_rcu()`.
    fn synchronize_rcu(&self);
    /// `call_rcu1(node, func)`.
    fn call_rcu1(&self, node: HeadRef, func: RcuCallback);
    /// `drain_call_rcu()`.
    fn drain_call_rcu(&self);
    /// `force_rcu()`; returns false for versions that have none (MASTER, UNIFY).
    fn force_rcu(&self) -> bool;
    /// The body of the `call_rcu` thread.
    fn call_rcu_thread(&self);
    /// Harness: wake the RCU thread's idle wait exactly as call_rcu1() would.
    fn kick_idle(&self);
}

/// The versions, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// Today's QEMU.
    Master,
    /// "rcu: Unify force quiescent state".
    Unify,
    /// force_rcu v1 3/5 + 4/5.
    Seed,
    /// Peter Xu's semaphore draft.
    SemaphoreDraft,
    /// Peter Xu's semaphore follow-up.
    SemaphoreFollowup,
    /// force_rcu v3.
    V3,
    /// A QEMU tree's own C ([`ctree::register`]): `c:LABEL`.
    C(ctree::CTreeId),
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Where a version comes from, and which barrier sites it has.
#[derive(Debug, Serialize)]
pub struct VersionInfo {
    /// Command-line name.
    pub name: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Commit / Message-ID / blob.
    pub provenance: &'static str,
    /// What it is based on.
    pub based_on: &'static str,
    /// Whether it has `force_rcu()`.
    pub has_force_rcu: bool,
    /// Whether its RCU thread uses timed waits (needs the model timer).
    pub timed_waits: bool,
    /// `(module, functions)` whose sites this version executes; an empty
    /// function list means the whole module.
    #[serde(skip)]
    pub site_sources: &'static [(&'static str, &'static [&'static str])],
}

const COMMON: (&str, &[&str]) = ("models::common", &[]);
const EVENT: (&str, &[&str]) = ("rcu_core::event", &[]);
const MASTER_SHARED: (&str, &[&str]) =
    ("models::master", &["synchronize_rcu", "call_rcu1", "drain_call_rcu", "drain_rcu_callback"]);
const SEED_SHARED: (&str, &[&str]) = ("models::seed", &["enter_qs", "wait_for_readers", "sync_rcu_callback"]);

impl Version {
    /// All versions, in history order.
    pub const ALL: [Version; 6] = [
        Version::Master,
        Version::Unify,
        Version::Seed,
        Version::SemaphoreDraft,
        Version::SemaphoreFollowup,
        Version::V3,
    ];

    /// Metadata.
    pub fn info(self) -> &'static VersionInfo {
        match self {
            Version::C(id) => ctree::info(id),
            Version::Master => &VersionInfo {
                name: "master",
                title: "QEMU master util/rcu.c (== pre-Unify)",
                provenance: "master 2026-02-13 (merge ece408818d), util/rcu.c blob b703c86f15a3",
                based_on: "-",
                has_force_rcu: false,
                timed_waits: false,
                site_sources: &[COMMON, EVENT, ("models::master", &[])],
            },
            Version::Unify => &VersionInfo {
                name: "unify",
                title: "rcu: Unify force quiescent state",
                provenance: "55d98e3ede (Message-Id 20251016-force-v1-1-919a82112498@rsg.ci.i.u-tokyo.ac.jp), blob acac9446ea98; reverted by ddb4d9d174",
                based_on: "master",
                has_force_rcu: false,
                timed_waits: false,
                site_sources: &[COMMON, EVENT, MASTER_SHARED, ("models::unify", &[])],
            },
            Version::Seed => &VersionInfo {
                name: "seed",
                title: "force_rcu v1 3/5 + 4/5 (the patch the seed review discusses)",
                provenance: "Message-Id 20251029-force_rcu-v1-4-bf860a6277a6@rsg.ci.i.u-tokyo.ac.jp applied to blob 3c4af9d213c8 (3/5; qemu-ci 76873115f47a), giving blob 85f9333f5dff",
                based_on: "unify",
                has_force_rcu: true,
                timed_waits: true,
                site_sources: &[COMMON, EVENT, ("models::seed", &[])],
            },
            Version::SemaphoreDraft => &VersionInfo {
                name: "semaphore-draft",
                title: "Peter Xu: rcu: Make sync_event a semaphore (enter_qs(!xchg(forced)) after n)",
                provenance: "Message-ID aQ0Ys09WtlSPoapm@x1.local (2025-11-06) applied to seed's 85f9333f5dff, giving blob dfe031a5c96e",
                based_on: "seed",
                has_force_rcu: true,
                timed_waits: true,
                site_sources: &[COMMON, EVENT, ("models::semaphore", &[]), SEED_SHARED],
            },
            Version::SemaphoreFollowup => &VersionInfo {
                name: "semaphore-followup",
                title: "Peter Xu's semaphore draft, follow-up ordering (xchg(forced) before n)",
                provenance: "Message-ID aQ37hd0fVJltYtt-@x1.local (2025-11-07) applied to the draft's dfe031a5c96e, giving blob aff98d9ee29c",
                based_on: "seed",
                has_force_rcu: true,
                timed_waits: true,
                site_sources: &[COMMON, EVENT, ("models::semaphore", &[]), SEED_SHARED],
            },
            Version::V3 => &VersionInfo {
                name: "v3",
                title: "force_rcu v3 3/5 + 4/5 (count and FORCED in one word, two events)",
                provenance: "Message-Id 20260115-force_rcu-v3-0-1f8bfaff4815@rsg.ci.i.u-tokyo.ac.jp, qemu-ci commits 76873115f4 + 04befc2b7a, blob 2f58f3627f74",
                based_on: "unify",
                has_force_rcu: true,
                timed_waits: true,
                site_sources: &[COMMON, EVENT, ("models::v3", &[]), ("models::seed", &["enter_qs", "sync_rcu_callback"])],
            },
        }
    }

    /// Command-line name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The port whose expected results, bounds and configuration a version
    /// uses: itself, or for a C tree the port it is checked against.
    pub fn port(self) -> Version {
        match self {
            Version::C(id) => ctree::port(id),
            v => v,
        }
    }

    /// Whether this is a compiled C tree (not a Rust port).
    pub fn is_c(self) -> bool {
        matches!(self, Version::C(_))
    }

    /// Instantiate a port's state (`rcu_init_complete()`'s initialisations).
    /// Panics for a C tree, which [`Rcu::rcu_init`] starts instead.
    pub fn build<P: Platform>(self, rt: Arc<Runtime<P>>) -> Arc<dyn RcuVersion<P>> {
        match self {
            Version::C(_) => unreachable!("a C tree is not built from a port"),
            Version::Master => Arc::new(master::Master::new(rt)),
            Version::Unify => Arc::new(unify::Unify::new(rt)),
            Version::Seed => Arc::new(seed::Seed::new(rt)),
            Version::SemaphoreDraft => Arc::new(semaphore::Semaphore::new(rt, semaphore::Ordering::Draft)),
            Version::SemaphoreFollowup => Arc::new(semaphore::Semaphore::new(rt, semaphore::Ordering::Followup)),
            Version::V3 => Arc::new(v3::V3::new(rt)),
        }
    }

    /// The barrier sites this version executes, sorted by ID (a C tree's:
    /// its C lines with fences or ordered atomics, in file order).
    pub fn sites(self) -> Vec<&'static rcu_core::site::Site> {
        if let Version::C(id) = self {
            return ctree::sites(id);
        }
        let mut v: Vec<&'static rcu_core::site::Site> = rcu_core::site::SITES
            .iter()
            .filter(|s| {
                self.info()
                    .site_sources
                    .iter()
                    .any(|(m, fns)| s.module == *m && (fns.is_empty() || fns.contains(&s.func)))
            })
            .collect();
        v.sort_by(|a, b| rcu_core::site::site_order(a.id, b.id).then(a.line.cmp(&b.line)));
        v
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(label) = s.strip_prefix("c:") {
            return ctree::by_label(label).map(Version::C).ok_or_else(|| {
                format!("version `{s}` names a C tree that was not given (add `--c-tree DIR={label}`)")
            });
        }
        Version::ALL.iter().copied().chain(ctree::all().into_iter().map(Version::C)).find(|v| v.name() == s).ok_or_else(
            || {
                format!(
                    "unknown version `{s}` (valid: {}, or c:LABEL with --c-tree DIR=LABEL)",
                    Version::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
                )
            },
        )
    }
}

/// A running RCU instance: a port's state plus its `call_rcu` thread, or a
/// C tree's program in one execution.  Scenarios see one API.
pub struct Rcu<P: Platform> {
    /// The version.
    pub version: Version,
    imp: Imp<P>,
}

enum Imp<P: Platform> {
    Port { v: Arc<dyn RcuVersion<P>>, thread: Mutex<Option<QemuThread<P>>> },
    C(ctree::CImpl<P>),
    Native(ctree::NativeImpl),
}

impl<P: Platform> fmt::Debug for Rcu<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rcu({}, {})", self.version, P::NAME)
    }
}

impl<P: Platform> Rcu<P> {
    /// `rcu_init()` / `rcu_init_complete()`: initialise, create the detached
    /// `call_rcu` thread (joinable here), and register the calling thread.
    pub fn rcu_init(version: Version, rt: Arc<Runtime<P>>) -> Arc<Self> {
        if let Version::C(id) = version {
            // On real threads a C tree runs compiled, not interpreted.
            if P::NAME == "std" {
                let any: Arc<dyn std::any::Any + Send + Sync> = rt;
                let rt = any.downcast::<Runtime<rcu_core::StdPlatform>>().expect("the std platform");
                return Arc::new(Rcu { version, imp: Imp::Native(ctree::NativeImpl::rcu_init(id, rt)) });
            }
            return Arc::new(Rcu { version, imp: Imp::C(ctree::CImpl::rcu_init(id)) });
        }
        let v = version.build(rt);
        let v2 = v.clone();
        // The caller is assumed to have BQL, so the call_rcu thread must have
        // been quiescent even after forking, just recreate it.
        let th = qemu_thread_create::<P>("call_rcu", move || v2.call_rcu_thread());
        v.c().rcu_register_thread();
        Arc::new(Rcu { version, imp: Imp::Port { v, thread: Mutex::new(Some(th)) } })
    }

    /// A port's shared state (its heads, lists, events) for port-only
    /// diagnostics.  Panics on a C tree: scenarios use the methods below.
    pub fn c(&self) -> &RcuCommon<P> {
        match &self.imp {
            Imp::Port { v, .. } => v.c(),
            Imp::C(_) | Imp::Native(_) => {
                panic!("Rcu::c(): {} is a C tree, which has no port state", self.version)
            }
        }
    }

    /// The port's version object (`None` for a C tree).
    pub fn port(&self) -> Option<&Arc<dyn RcuVersion<P>>> {
        match &self.imp {
            Imp::Port { v, .. } => Some(v),
            Imp::C(_) | Imp::Native(_) => None,
        }
    }

    /// Whether this instance is a C tree compiled natively (std platform).
    pub fn is_native(&self) -> bool {
        matches!(self.imp, Imp::Native(_))
    }

    /// `rcu_read_lock()`.
    pub fn rcu_read_lock(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_read_lock(),
            Imp::C(c) => c.rcu.rcu_read_lock(),
            Imp::Native(n) => n.rcu.rcu_read_lock(),
        }
    }

    /// `rcu_read_unlock()`.
    pub fn rcu_read_unlock(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_read_unlock(),
            Imp::C(c) => c.rcu.rcu_read_unlock(),
            Imp::Native(n) => n.rcu.rcu_read_unlock(),
        }
    }

    /// `rcu_register_thread()`.
    pub fn rcu_register_thread(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_register_thread(),
            Imp::C(c) => c.rcu.rcu_register_thread(),
            Imp::Native(n) => n.rcu.rcu_register_thread(),
        }
    }

    /// `rcu_unregister_thread()`.
    pub fn rcu_unregister_thread(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_unregister_thread(),
            Imp::C(c) => c.rcu.rcu_unregister_thread(),
            Imp::Native(n) => n.rcu.rcu_unregister_thread(),
        }
    }

    /// `synchronize_rcu()`.
    pub fn synchronize_rcu(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.synchronize_rcu(),
            Imp::C(c) => c.rcu.synchronize_rcu(),
            Imp::Native(n) => n.rcu.synchronize_rcu(),
        }
    }

    /// A fresh `rcu_head` for [`Rcu::call_rcu1`], named for traces (the
    /// caller's object in C; a C tree allocates its node in `call_rcu1`).
    pub fn alloc_head(&self, name: &str) -> HeadRef {
        match &self.imp {
            Imp::Port { v, .. } => v.c().alloc_head(name),
            Imp::C(_) | Imp::Native(_) => 0,
        }
    }

    /// How many `rcu_head`s are left (a C tree's come from its heap: no limit).
    pub fn heads_free(&self) -> usize {
        match &self.imp {
            Imp::Port { v, .. } => v.c().heads_free(),
            Imp::C(_) | Imp::Native(_) => usize::MAX,
        }
    }

    /// `call_rcu1(node, func)`.
    pub fn call_rcu1(&self, node: HeadRef, func: impl FnOnce() + Send + 'static) {
        match &self.imp {
            Imp::Port { v, .. } => v.call_rcu1(node, Box::new(func)),
            Imp::C(c) => c.rcu.call_rcu1(func),
            Imp::Native(n) => n.rcu.call_rcu1(func),
        }
    }

    /// `drain_call_rcu()`.
    pub fn drain_call_rcu(&self) {
        match &self.imp {
            Imp::Port { v, .. } => v.drain_call_rcu(),
            Imp::C(c) => c.rcu.drain_call_rcu(),
            Imp::Native(n) => n.rcu.drain_call_rcu(),
        }
    }

    /// `force_rcu()`, if the version has it.
    pub fn force_rcu(&self) -> bool {
        match &self.imp {
            Imp::Port { v, .. } => v.force_rcu(),
            Imp::C(c) => c.rcu.force_rcu(),
            Imp::Native(n) => n.rcu.force_rcu(),
        }
    }

    /// `rcu_add_force_rcu_notifier(n)` for the calling thread.
    pub fn rcu_add_force_rcu_notifier(&self, n: rcu_core::notifier::Notifier) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_add_force_rcu_notifier(n),
            Imp::C(c) => c.add_notifier(n),
            Imp::Native(c) => c.add_notifier(n),
        }
    }

    /// `rcu_remove_force_rcu_notifier(n)` for the calling thread, by id.
    pub fn rcu_remove_force_rcu_notifier(&self, id: u64) {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_remove_force_rcu_notifier(id),
            Imp::C(c) => c.remove_notifier(id),
            Imp::Native(c) => c.remove_notifier(id),
        }
    }

    /// Harness view: the calling thread's reader (a slot or an address).
    pub fn me(&self) -> u64 {
        match &self.imp {
            Imp::Port { v, .. } => v.c().me() as u64,
            Imp::C(c) => c.rcu.me(),
            Imp::Native(n) => n.rcu.me(),
        }
    }

    /// Harness view: the readers on `registry`, read under `rcu_registry_lock`.
    pub fn registry_members(&self) -> Vec<u64> {
        match &self.imp {
            Imp::Port { v, .. } => v.c().registry_members().into_iter().map(|m| m as u64).collect(),
            Imp::C(c) => c.rcu.registry_members(),
            Imp::Native(n) => n.rcu.registry_members(),
        }
    }

    /// Harness view: `rcu_gp_ctr`, without ordering.
    pub fn peek_gp_ctr(&self) -> u64 {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_gp_ctr.peek(),
            Imp::C(c) => c.rcu.peek_gp_ctr(),
            Imp::Native(n) => n.rcu.peek_gp_ctr(),
        }
    }

    /// Harness view: the calling thread's `waiting` flag, without ordering.
    pub fn peek_waiting(&self) -> bool {
        match &self.imp {
            Imp::Port { v, .. } => v.c().get_ptr_rcu_reader().waiting.peek(),
            Imp::C(c) => c.rcu.peek_waiting(),
            Imp::Native(n) => n.rcu.peek_waiting(),
        }
    }

    /// Harness view: whether `rcu_gp_event` is set, without ordering.
    pub fn peek_gp_event_is_set(&self) -> bool {
        match &self.imp {
            Imp::Port { v, .. } => v.c().rcu_gp_event.peek_is_set(),
            Imp::C(c) => c.rcu.peek_gp_event_is_set(),
            Imp::Native(n) => n.rcu.peek_gp_event_is_set(),
        }
    }

    /// Harness: stop the `call_rcu` thread at its next idle wait and join it.
    /// A thread stuck elsewhere (a lost callback, a stalled grace period) makes
    /// this block, and the checker reports the deadlock.
    pub fn shutdown(&self) {
        match &self.imp {
            Imp::Port { v, thread } => {
                let th = thread.lock().unwrap().take();
                if let Some(th) = th {
                    v.c().request_stop();
                    v.kick_idle();
                    th.join();
                }
            }
            Imp::C(c) => c.shutdown(),
            Imp::Native(n) => n.shutdown(),
        }
    }
}
