//! A QEMU tree's own C as a version: `c:LABEL`.
//!
//! [`load`] compiles a tree's util/rcu.c, util/event.c and util/notify.c with
//! cfront (clang-14 `-O2`, LLVM IR interpreted over rcu-core's platforms) and
//! registers it for the run of the tool; from then on `Version::C(id)` is a
//! column like the ports, and [`crate::Rcu`] runs the scenarios' API calls on
//! the interpreted C ([`cfront::CRcu`]).  A C tree has no barrier sites of its
//! own yet (its mutants are future work) and uses the expected results,
//! bounds and configuration of the port it is checked against
//! ([`Version::port`]): the port named by its label, else V3 for a tree with
//! `force_rcu()` and MASTER for one without.
//!
//! The registry is configuration for the process (which trees were given on
//! the command line), not model state: the checkers never see it.
#![allow(clippy::disallowed_types)]

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use cfront::qemu::NotifierRef;
use cfront::{CRcu, CTree, Options};
use rcu_core::notifier::Notifier;
use rcu_core::platform::Platform;
use rcu_core::runtime::current;
use rcu_core::site::Site;

use crate::{Version, VersionInfo};

/// A registered C tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CTreeId(u16);

struct Entry {
    tree: Arc<CTree>,
    info: &'static VersionInfo,
    port: Version,
    sites: Vec<&'static Site>,
}

static TREES: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

fn entry<R>(id: CTreeId, f: impl FnOnce(&Entry) -> R) -> R {
    f(&TREES.read().unwrap()[id.0 as usize])
}

/// The metadata of a registered tree.
pub fn info(id: CTreeId) -> &'static VersionInfo {
    entry(id, |e| e.info)
}

/// The port a registered tree is checked against.
pub fn port(id: CTreeId) -> Version {
    entry(id, |e| e.port)
}

/// The loaded tree.
pub fn tree(id: CTreeId) -> Arc<CTree> {
    entry(id, |e| e.tree.clone())
}

/// The mutation sites of a registered tree: one per C line with fences or
/// ordered atomics (`util/rcu.c:124`, cfront's [`cfront::CSite`]), as
/// [`Site`]s whose `c_ref` is the line's text.
pub fn sites(id: CTreeId) -> Vec<&'static Site> {
    entry(id, |e| e.sites.clone())
}

/// A C site with this ID in any registered tree.
pub fn find_site(site_id: &str) -> Option<&'static Site> {
    TREES.read().unwrap().iter().flat_map(|e| e.sites.iter().copied()).find(|s| s.id == site_id)
}

/// The port's `B<n>` site that the C site `c` is (same file and line in
/// the port's `c_ref`, and the statement the port names is on that C line).
pub fn port_site(v: Version, c: &Site) -> Option<&'static str> {
    let Version::C(_) = v else { return None };
    let (file, line) = c.id.rsplit_once(':')?;
    let line: u32 = line.parse().ok()?;
    let text = c.c_ref.split_once(' ').map(|(_, t)| t).unwrap_or("");
    v.port().sites().into_iter().filter(|s| s.kind.is_mutable()).find_map(|s| {
        let (loc, stmt) = s.c_ref.split_once(' ')?;
        let (f, lines) = loc.rsplit_once(':')?;
        let f = f.split('@').next()?;
        let (a, b) = match lines.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => (lines.parse::<u32>().ok()?, lines.parse::<u32>().ok()?),
        };
        let call = stmt.split('(').next()?.trim();
        (f == file && (a..=b).contains(&line) && !call.is_empty() && text.contains(call)).then_some(s.id)
    })
}

/// The tree registered under `label`.
pub fn by_label(label: &str) -> Option<CTreeId> {
    TREES.read().unwrap().iter().position(|e| e.tree.label == label).map(|i| CTreeId(i as u16))
}

/// Every registered tree, in the order given.
pub fn all() -> Vec<CTreeId> {
    (0..TREES.read().unwrap().len() as u16).map(CTreeId).collect()
}

/// `DIR[=LABEL]`: compile and register the tree at DIR as version
/// `c:LABEL` (LABEL defaults to the directory's name).  Errors are one line.
pub fn load(spec: &str) -> Result<Version, String> {
    let (dir, label) = match spec.split_once('=') {
        Some((d, l)) => (d, Some(l)),
        None => (spec, None),
    };
    if let Some(l) = label {
        if l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!(
                "--c-tree {spec}: bad label `{l}` (letters, digits, `-`, `_` and `.` only, e.g. DIR=v3)"
            ));
        }
    }
    let mut tree = CTree::load(Path::new(dir)).map_err(|e| format!("--c-tree {spec}: {e}"))?;
    if let Some(l) = label {
        tree.label = l.to_string();
    }
    if by_label(&tree.label).is_some() {
        return Err(format!("--c-tree {spec}: label `{}` given twice (give each tree its own =LABEL)", tree.label));
    }
    let port = Version::ALL.iter().copied().find(|v| v.name() == tree.label).unwrap_or(if tree.has_force_rcu {
        Version::V3
    } else {
        Version::Master
    });
    let head = std::process::Command::new("git")
        .args(["-C", dir, "rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!(" at commit {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let info: &'static VersionInfo = Box::leak(Box::new(VersionInfo {
        name: leak(format!("c:{}", tree.label)),
        title: leak(format!(
            "util/rcu.c of {} compiled by clang-14 -O2 and interpreted (cfront); expected results as {}",
            tree.dir.display(),
            port.name()
        )),
        provenance: leak(format!("{}{head}", tree.dir.display())),
        based_on: port.name(),
        has_force_rcu: tree.has_force_rcu,
        timed_waits: tree.timed_waits,
        site_sources: &[],
    }));
    let module = info.name;
    let sites = tree
        .prog
        .csites()
        .iter()
        .map(|c| {
            let text = std::fs::read_to_string(tree.dir.join(&c.file))
                .ok()
                .and_then(|src| src.lines().nth(c.line as usize - 1).map(|l| l.trim().to_string()))
                .unwrap_or_default();
            let site: &'static Site = Box::leak(Box::new(Site {
                id: leak(c.id.clone()),
                kind: c.kind,
                func: leak(c.funcs.first().cloned().unwrap_or_default()),
                c_ref: leak(format!("{} {text}", c.id)),
                doc: leak(format!("compiled to: {} (in {})", c.ops.join(", "), c.funcs.join(", "))),
                module,
                file: leak(tree.dir.join(&c.file).display().to_string()),
                line: c.line,
            }));
            site
        })
        .collect();
    let mut t = TREES.write().unwrap();
    t.push(Entry { tree: Arc::new(tree), info, port, sites });
    Ok(Version::C(CTreeId(t.len() as u16 - 1)))
}

/// The C handles of the force_rcu notifiers a C tree's threads added, by
/// (thread, scenario notifier id): `rcu_remove_force_rcu_notifier()` needs the
/// handle `rcu_add_force_rcu_notifier()` gave.
struct Notifiers<R>(Mutex<Vec<((usize, u64), R)>>);

impl<R> Default for Notifiers<R> {
    fn default() -> Self {
        Notifiers(Mutex::new(vec![]))
    }
}

impl<R> Notifiers<R> {
    fn add(&self, thread: usize, id: u64, r: R) {
        self.0.lock().unwrap().push(((thread, id), r));
    }

    /// The handle of `thread`'s notifier `id`, forgotten.
    fn take(&self, thread: usize, id: u64) -> R {
        let mut ns = self.0.lock().unwrap();
        let i = ns.iter().position(|(k, _)| *k == (thread, id)).expect("remove of a notifier the thread did not add");
        ns.remove(i).1
    }
}

/// A C tree in one execution (behind [`crate::Rcu`]).
pub struct CImpl<P: Platform> {
    /// The interpreted program's API.
    pub rcu: Arc<CRcu<P>>,
    notifiers: Notifiers<NotifierRef>,
    stopped: std::sync::atomic::AtomicBool,
}

impl<P: Platform> CImpl<P> {
    /// The program's constructors (`rcu_init()`: the call_rcu thread, the
    /// calling thread registered).
    pub fn rcu_init(id: CTreeId) -> Self {
        let tree = tree(id);
        CImpl {
            rcu: CRcu::rcu_init(&tree, &Options::default()),
            notifiers: Notifiers::default(),
            stopped: Default::default(),
        }
    }

    /// `rcu_add_force_rcu_notifier()` with the scenario's closure.
    pub fn add_notifier(&self, n: Notifier) {
        let f = n.notify.clone();
        let r = self.rcu.add_force_rcu_notifier(move || f());
        self.notifiers.add(current::<P>().id, n.id, r);
    }

    /// `rcu_remove_force_rcu_notifier()` of the calling thread's notifier `id`.
    pub fn remove_notifier(&self, id: u64) {
        self.rcu.remove_force_rcu_notifier(self.notifiers.take(current::<P>().id, id));
    }

    /// Stop the call_rcu thread (once).
    pub fn shutdown(&self) {
        if !self.stopped.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.rcu.shutdown();
        }
    }
}

/// A C tree compiled natively, on real threads (behind [`crate::Rcu`] when
/// the platform is std): the real code on the real machine.  No interpreter,
/// so no exploration, no mutation and no window probes; a notifier call is
/// counted as the `force_rcu_notify` probe, as the ports count it.
pub struct NativeImpl {
    /// The loaded instance.
    pub rcu: Arc<cfront::NativeRcu>,
    rt: Arc<rcu_core::runtime::Runtime<rcu_core::StdPlatform>>,
    notifiers: Notifiers<cfront::native::NativeNotifier>,
    stopped: std::sync::atomic::AtomicBool,
}

impl NativeImpl {
    /// Load a fresh instance of the tree's native object (its `rcu_init()`
    /// constructor creates the call_rcu thread and registers the caller).
    /// The C threads that call back into the scenario (the call_rcu thread)
    /// join the run as threads of its runtime, as an interpreted C thread
    /// would.  Panics (the one-line build error) when the tree does not
    /// build natively; the command line builds it first and reports that.
    pub fn rcu_init(id: CTreeId, rt: Arc<rcu_core::runtime::Runtime<rcu_core::StdPlatform>>) -> Self {
        assert!(
            rt.cfg.mutations.is_empty(),
            "C mutants run on the interpreted C (loom, shuttle); std runs {} compiled as is",
            info(id).name
        );
        let lib = tree(id).native().unwrap_or_else(|e| panic!("{}: {e}", info(id).name));
        let rt2 = rt.clone();
        let on_entry = move || {
            if rcu_core::runtime::try_current::<rcu_core::StdPlatform>().is_none() {
                rt2.enter("call_rcu");
            }
        };
        let rcu = cfront::NativeRcu::rcu_init(&lib, on_entry).unwrap_or_else(|e| panic!("{}: {e}", info(id).name));
        NativeImpl { rcu, rt, notifiers: Notifiers::default(), stopped: Default::default() }
    }

    /// `rcu_add_force_rcu_notifier()` with the scenario's closure.
    pub fn add_notifier(&self, n: Notifier) {
        let (f, rt) = (n.notify.clone(), self.rt.clone());
        let r = self.rcu.add_force_rcu_notifier(move || {
            rt.probe("force_rcu_notify");
            f()
        });
        self.notifiers.add(current::<rcu_core::StdPlatform>().id, n.id, r);
    }

    /// `rcu_remove_force_rcu_notifier()` of the calling thread's notifier `id`.
    pub fn remove_notifier(&self, id: u64) {
        self.rcu.remove_force_rcu_notifier(self.notifiers.take(current::<rcu_core::StdPlatform>().id, id));
    }

    /// Teardown (once): see [`cfront::NativeRcu::shutdown`].
    pub fn shutdown(&self) {
        if !self.stopped.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.rcu.shutdown();
        }
    }
}
