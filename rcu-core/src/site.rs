//! Barrier sites: every fence and every ordered (non-relaxed) access of every
//! model is a [`Site`] with a stable ID (`B<n>`), declared *at the call* with
//! [`site!`](crate::site!) and collected in one link-time table ([`SITES`]).
//!
//! A run carries a [`MutationSet`]: "drop the fence at B12", "weaken B21 to
//! Relaxed".  The primitives in [`crate::atomic`] consult it on every ordered
//! operation, so a mutant is a run-time value, never an edited copy of code.
//!
//! Every site's `doc` follows the project's grammar (checked by
//! [`Site::check_grammar`] and by the test suite):
//!
//! * `<what> before <what>. Pairs with B<n> in <fn>() [B<id>]` (more pairings
//!   with `and B<m> in <fn>()`, extra duties as `Also orders …` sentences), or
//! * `No barrier needed: <why> [B<id>]`.
//!
//! Sites of kinds that cannot be mutated (relaxed and plain accesses, locks,
//! calls into QemuEvent) are documentation anchors: they exist so that every
//! row of the spec's barrier table (§9.1) has an ID in the code.
//!
//! **Logic sites** (`L<n>`, a separate range) mark statements rather than
//! orderings: a call to an event/semaphore/notifier primitive
//! ([`SiteKind::CallStmt`], operator `drop-call`), a relaxed store or counter
//! update ([`SiteKind::StoreStmt`], `drop-store`), one condition of a
//! heuristic ([`SiteKind::OrCond`] / [`SiteKind::AndCond`], `negate` and
//! `drop-cond`), and two adjacent statements the C could plausibly write in
//! either order ([`SiteKind::SwapPair`], `swap`).  The model runs the
//! statement through [`crate::logic`], which consults the same
//! [`MutationSet`]: unmutated, the statement runs exactly as the C has it.
//! A logic site's `doc` is a plain description ending in `[L<n>]`; a swap
//! site's first sentence is `<first> before <second>` (the C order the swap
//! inverts).  Logic sites are documented in proofs.md's `## Logic sites`
//! table, barrier sites in its pairing table.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use linkme;

use crate::platform::Ordering;

/// A memory ordering that can be serialised (mirror of [`Ordering`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ord {
    /// `Relaxed`.
    Relaxed,
    /// `Acquire`.
    Acquire,
    /// `Release`.
    Release,
    /// `AcqRel`.
    AcqRel,
    /// `SeqCst`.
    SeqCst,
}

impl Ord {
    /// The std ordering.
    pub fn to_std(self) -> Ordering {
        match self {
            Ord::Relaxed => Ordering::Relaxed,
            Ord::Acquire => Ordering::Acquire,
            Ord::Release => Ordering::Release,
            Ord::AcqRel => Ordering::AcqRel,
            Ord::SeqCst => Ordering::SeqCst,
        }
    }

    /// Lower-case name, as used in mutation strings.
    pub fn name(self) -> &'static str {
        match self {
            Ord::Relaxed => "relaxed",
            Ord::Acquire => "acquire",
            Ord::Release => "release",
            Ord::AcqRel => "acqrel",
            Ord::SeqCst => "seqcst",
        }
    }

    /// Parse a lower-case name.
    pub fn parse(s: &str) -> Option<Ord> {
        Some(match s {
            "relaxed" => Ord::Relaxed,
            "acquire" => Ord::Acquire,
            "release" => Ord::Release,
            "acqrel" => Ord::AcqRel,
            "seqcst" => Ord::SeqCst,
            _ => return None,
        })
    }
}

/// The memory model a run judges the barriers under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// C11/RC11 as loom models it (the default): what a compiler and every
    /// architecture QEMU supports may do.
    #[default]
    C11,
    /// x86-TSO hardware: every load is an acquire, every store a release,
    /// every RMW a full fence (LOCK prefix), `smp_mb__before/after_rmw()`
    /// compiler barriers only (QEMU's own choice on x86-64); other fences
    /// stay.  Plain accesses are still race-checked (a C data race is
    /// undefined on any hardware).  A kill that disappears under this
    /// profile matters only on weakly ordered hardware (ARM, POWER, RISC-V).
    Tso,
}

impl Profile {
    /// `c11` or `tso`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::C11 => "c11",
            Profile::Tso => "tso",
        }
    }

    /// Parse a profile name.
    pub fn parse(s: &str) -> Result<Profile, String> {
        match s {
            "c11" => Ok(Profile::C11),
            "tso" => Ok(Profile::Tso),
            _ => Err(format!("unknown memory-model profile `{s}` (valid: c11, tso)")),
        }
    }
}

/// What a site is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "ordering", rename_all = "kebab-case")]
pub enum SiteKind {
    /// A fence (`smp_mb()`, `smp_mb_global()`, …).  Mutable: drop, weaken.
    Fence(Ord),
    /// An ordered load or store (`qatomic_load_acquire`, `qatomic_store_release`,
    /// `qatomic_rcu_read/set`).  Mutable: drop (= Relaxed).
    Access(Ord),
    /// A read-modify-write (`qatomic_xchg`, `qatomic_cmpxchg`, `qatomic_fetch_*`).
    /// Mutable: drop (= Relaxed), weaken.
    Rmw(Ord),
    /// A relaxed access (`qatomic_read` / `qatomic_set`): documentation only.
    Relaxed,
    /// A plain (non-atomic) C access: documentation only.
    Plain,
    /// A mutex operation: documentation only.
    Lock,
    /// A call into QemuEvent/QemuSemaphore, whose barriers are sites of their own.
    Call,
    /// Logic site: a call to an event/semaphore/notifier primitive (or a
    /// callback that makes one).  Mutable: `drop-call`.
    CallStmt,
    /// Logic site: a relaxed store or a counter update.  Mutable: `drop-store`.
    StoreStmt,
    /// Logic site: one disjunct of a heuristic (`a || b`).  Mutable: `negate`,
    /// `drop-cond` (the disjunct is false and is not evaluated).
    OrCond,
    /// Logic site: one conjunct of a heuristic (`a && b`).  Mutable: `negate`,
    /// `drop-cond` (the conjunct is true and is not evaluated).
    AndCond,
    /// Logic site: two adjacent statements the C could plausibly write in
    /// either order.  Mutable: `swap`.
    SwapPair,
}

impl SiteKind {
    /// Whether a run may drop or weaken this site (a barrier site).
    pub fn is_mutable(self) -> bool {
        matches!(self, SiteKind::Fence(_) | SiteKind::Access(_) | SiteKind::Rmw(_))
    }

    /// Whether this is a logic site (`L<n>`: a statement, not an ordering).
    pub fn is_logic(self) -> bool {
        matches!(
            self,
            SiteKind::CallStmt | SiteKind::StoreStmt | SiteKind::OrCond | SiteKind::AndCond | SiteKind::SwapPair
        )
    }

    /// Whether `mutants` mutates this site (a barrier or a logic site).
    pub fn is_target(self) -> bool {
        self.is_mutable() || self.is_logic()
    }
}

/// One barrier site.  Declare with [`site!`](crate::site!) at the call.
#[derive(Debug, Serialize)]
pub struct Site {
    /// Stable ID, `B<n>`.  The same ID names the same C statement in every
    /// version that has it (e.g. B12 is `smp_mb_global()` in wait_for_readers()).
    pub id: &'static str,
    /// Kind and default ordering.
    pub kind: SiteKind,
    /// The C function that contains it (also the name of the Rust port).
    pub func: &'static str,
    /// The C counterpart: file:line and statement, for the blob the module ports.
    pub c_ref: &'static str,
    /// The barrier comment, in the project's grammar.
    pub doc: &'static str,
    /// Rust module path of the declaration (decides which versions have it).
    pub module: &'static str,
    /// Rust source file.
    pub file: &'static str,
    /// Rust source line.
    pub line: u32,
}

/// Every site of every model, collected at link time.
#[linkme::distributed_slice]
pub static SITES: [Site];

/// Declare a site at its call and evaluate to `&'static Site`.
///
/// ```ignore
/// smp_mb_global::<P>(site!(B12, Fence(SeqCst), "wait_for_readers",
///     "util/rcu.c:98 smp_mb_global()",
///     "Stores to index->waiting before loads of index->ctr. Pairs with B6 in rcu_read_unlock() [B12]"));
/// ```
#[macro_export]
macro_rules! site {
    ($id:ident, $kind:ident $(($ord:ident))?, $func:literal, $c:literal, $doc:literal $(,)?) => {{
        #[$crate::site::linkme::distributed_slice($crate::site::SITES)]
        #[linkme(crate = $crate::site::linkme)]
        static SITE: $crate::site::Site = $crate::site::Site {
            id: stringify!($id),
            kind: $crate::site::SiteKind::$kind $(($crate::site::Ord::$ord))?,
            func: $func,
            c_ref: $c,
            doc: $doc,
            module: module_path!(),
            file: file!(),
            line: line!(),
        };
        &SITE
    }};
}

/// All sites declared in the given modules (exact module paths).
pub fn sites_in(modules: &[&str]) -> Vec<&'static Site> {
    let mut v: Vec<&'static Site> = SITES.iter().filter(|s| modules.contains(&s.module)).collect();
    v.sort_by(|a, b| site_order(a.id, b.id).then(a.module.cmp(b.module)).then(a.line.cmp(&b.line)));
    v
}

/// The IDs of every site a run may mutate (barrier and logic sites), each
/// once, `B<n>` before `L<n>`.
pub fn mutable_site_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = SITES.iter().filter(|x| x.kind.is_target()).map(|x| x.id).collect();
    ids.sort_by(|a, b| site_order(a, b));
    ids.dedup();
    ids
}

/// Order `B2` before `B10`, and every `B<n>` before every `L<n>`.
pub fn site_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| {
        let range = match s.as_bytes().first() {
            Some(b'B') => 0,
            Some(b'L') => 1,
            _ => 2,
        };
        (range, s.get(1..).and_then(|n| n.parse::<u32>().ok()).unwrap_or(u32::MAX))
    };
    key(a).cmp(&key(b)).then(a.cmp(b))
}

/// Whether `id` is `<prefix><n>`.
fn is_id(id: &str, prefix: char) -> bool {
    id.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.parse::<u32>().is_ok())
}

impl Site {
    /// The mutations that make sense for this site, in the order `mutants` runs them.
    pub fn mutations(&self) -> Vec<Mutation> {
        match self.kind {
            SiteKind::Fence(Ord::SeqCst) => vec![Mutation::Drop, Mutation::Weaken(Ord::AcqRel)],
            SiteKind::Fence(_) => vec![Mutation::Drop],
            SiteKind::Access(o) if o != Ord::Relaxed => vec![Mutation::Drop, Mutation::Plain],
            // loom treats a SeqCst RMW as AcqRel already, so weaken:acqrel would be
            // a no-op by construction (checkers.md §0.1); the weaker ones are not.
            SiteKind::Rmw(Ord::SeqCst) | SiteKind::Rmw(Ord::AcqRel) => {
                vec![Mutation::Drop, Mutation::Weaken(Ord::Acquire), Mutation::Weaken(Ord::Release), Mutation::Split]
            }
            SiteKind::Rmw(o) if o != Ord::Relaxed => vec![Mutation::Drop, Mutation::Split],
            SiteKind::CallStmt => vec![Mutation::DropCall],
            SiteKind::StoreStmt => vec![Mutation::DropStore],
            SiteKind::OrCond | SiteKind::AndCond => vec![Mutation::Negate, Mutation::DropCond],
            SiteKind::SwapPair => vec![Mutation::Swap],
            _ => vec![],
        }
    }

    /// The ordering the backend sees for an access/RMW site under `m`.
    pub fn access_ordering(&self, m: Option<Mutation>) -> Ordering {
        let default = match self.kind {
            SiteKind::Access(o) | SiteKind::Rmw(o) | SiteKind::Fence(o) => o,
            _ => Ord::Relaxed,
        };
        match m {
            Some(Mutation::Drop) | Some(Mutation::Plain) => Ordering::Relaxed,
            Some(Mutation::Weaken(o)) => o.to_std(),
            // Split and the logic operators leave an access's ordering alone.
            _ => default.to_std(),
        }
    }

    /// Check the comment grammar.  `Err` says what is wrong.
    pub fn check_grammar(&self) -> Result<(), String> {
        let doc = self.doc.trim();
        let tail = format!("[{}]", self.id);
        if !doc.ends_with(&tail) {
            return Err(format!("{}: comment must end with `{}`", self.id, tail));
        }
        if self.kind.is_logic() {
            return self.check_logic_grammar(doc, &tail);
        }
        if !is_id(self.id, 'B') {
            return Err(format!("{}: ID must be B<n>", self.id));
        }
        if let Some(rest) = doc.strip_prefix("No barrier needed:") {
            if rest.trim().len() <= tail.len() + 3 {
                return Err(format!("{}: `No barrier needed:` must say why", self.id));
            }
            if self.kind.is_mutable() && !matches!(self.kind, SiteKind::Rmw(_)) {
                return Err(format!("{}: a fence or ordered access cannot say `No barrier needed`", self.id));
            }
            return Ok(());
        }
        let first = doc.split(". ").next().unwrap_or("");
        if !first.contains(" before ") {
            return Err(format!("{}: first sentence must be `<what> before <what>` (got `{}`)", self.id, first));
        }
        let pairs = self.pairs_with();
        if pairs.is_empty() {
            return Err(format!("{}: missing `Pairs with B<n> in <fn>()`", self.id));
        }
        Ok(())
    }

    /// The grammar of a logic site: ID `L<n>`, a plain description of the
    /// statement (at least a sentence) ending in `[L<n>]`; a swap site's first
    /// sentence is `<first> before <second>`.
    fn check_logic_grammar(&self, doc: &str, tail: &str) -> Result<(), String> {
        if !is_id(self.id, 'L') {
            return Err(format!("{}: a logic site's ID must be L<n>", self.id));
        }
        let body = doc[..doc.len() - tail.len()].trim();
        if body.len() < 20 {
            return Err(format!("{}: a logic site's comment must describe the statement", self.id));
        }
        if body.starts_with("No barrier needed") {
            return Err(format!("{}: a logic site describes a statement, not a barrier", self.id));
        }
        if self.kind == SiteKind::SwapPair && !body.split(". ").next().unwrap_or("").contains(" before ") {
            return Err(format!("{}: a swap site's first sentence must be `<first> before <second>`", self.id));
        }
        Ok(())
    }

    /// The `(site, function)` pairs named by `Pairs with B<n> in <fn>()`
    /// (and `and B<m> in <fn>()` continuations).
    pub fn pairs_with(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        let Some(idx) = self.doc.find("Pairs with ") else { return out };
        let mut rest = &self.doc[idx + "Pairs with ".len()..];
        loop {
            let rest_t = rest.trim_start();
            let id: String = rest_t.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if !id.starts_with('B') {
                break;
            }
            let after = &rest_t[id.len()..];
            let Some(after) = after.strip_prefix(" in ") else { break };
            let func: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let after_fn = &after[func.len()..];
            if !after_fn.starts_with("()") {
                break;
            }
            out.push((id, func));
            rest = &after_fn[2..];
            match rest.trim_start().strip_prefix("and ") {
                Some(r) => rest = r,
                None => break,
            }
        }
        out
    }
}

/// A change to one site for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mutation {
    /// Remove the fence, or make the access Relaxed.
    Drop,
    /// Use a weaker ordering.
    Weaken(Ord),
    /// An RMW as a separate load and store (the load keeps the RMW's acquire
    /// half, the store its release half; another thread may run in between):
    /// tests every "only the RMW's atomicity matters" claim.
    Split,
    /// An ordered access made a plain (non-atomic) C access: relaxed, and
    /// race-checked under loom like QEMU's plain accesses.
    Plain,
    /// Logic: the call is not made.
    DropCall,
    /// Logic: the store (or counter update) is not made.
    DropStore,
    /// Logic: the condition is negated.
    Negate,
    /// Logic: the condition is left out of its `||` (false) or `&&` (true),
    /// and not evaluated.
    DropCond,
    /// Logic: the two statements run in the other order.
    Swap,
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::Drop => write!(f, "drop"),
            Mutation::Weaken(o) => write!(f, "weaken:{}", o.name()),
            Mutation::Split => write!(f, "split"),
            Mutation::Plain => write!(f, "plain"),
            m => write!(f, "{}", m.operator()),
        }
    }
}

/// The barrier operators, in kill-score order.
pub const BARRIER_OPERATORS: [&str; 4] = ["drop", "weaken", "split", "plain"];

/// The logic operators, in kill-score order.
pub const LOGIC_OPERATORS: [&str; 5] = ["drop-call", "drop-store", "negate", "drop-cond", "swap"];

impl Mutation {
    /// The operator's name, for kill scores (`drop`, `weaken`, `split`,
    /// `plain`; logic: `drop-call`, `drop-store`, `negate`, `drop-cond`, `swap`).
    pub fn operator(self) -> &'static str {
        match self {
            Mutation::Drop => "drop",
            Mutation::Weaken(_) => "weaken",
            Mutation::Split => "split",
            Mutation::Plain => "plain",
            Mutation::DropCall => "drop-call",
            Mutation::DropStore => "drop-store",
            Mutation::Negate => "negate",
            Mutation::DropCond => "drop-cond",
            Mutation::Swap => "swap",
        }
    }

    /// Whether this is a logic operator (applies to `L<n>` sites).
    pub fn is_logic(self) -> bool {
        LOGIC_OPERATORS.contains(&self.operator())
    }

    /// Parse `drop`, `weaken:<ordering>`, `split`, `plain`, or a logic
    /// operator (`drop-call`, `drop-store`, `negate`, `drop-cond`, `swap`).
    pub fn parse(s: &str) -> Result<Mutation, String> {
        match s {
            "drop" => return Ok(Mutation::Drop),
            "split" => return Ok(Mutation::Split),
            "plain" => return Ok(Mutation::Plain),
            "drop-call" => return Ok(Mutation::DropCall),
            "drop-store" => return Ok(Mutation::DropStore),
            "negate" => return Ok(Mutation::Negate),
            "drop-cond" => return Ok(Mutation::DropCond),
            "swap" => return Ok(Mutation::Swap),
            _ => {}
        }
        if let Some(o) = s.strip_prefix("weaken:") {
            return Ord::parse(o)
                .map(Mutation::Weaken)
                .ok_or_else(|| format!("unknown ordering `{o}` (valid: relaxed, acquire, release, acqrel, seqcst)"));
        }
        Err(format!(
            "unknown mutation `{s}` (valid: drop, weaken:<ordering>, split, plain, drop-call, drop-store, negate, drop-cond, swap)"
        ))
    }
}

/// The set of mutations applied in one run, by site ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MutationSet(BTreeMap<&'static str, Mutation>);

impl MutationSet {
    /// No mutation.
    pub fn none() -> Self {
        Self::default()
    }

    /// One mutation.
    pub fn one(site: &'static str, m: Mutation) -> Self {
        let mut s = Self::default();
        s.0.insert(site, m);
        s
    }

    /// Add a mutation.
    pub fn insert(&mut self, site: &'static str, m: Mutation) {
        self.0.insert(site, m);
    }

    /// The mutation of a site, if any.
    pub fn get(&self, site: &str) -> Option<Mutation> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(site).copied()
    }

    /// Whether no site is mutated.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some site is made a plain access (then every location is
    /// race-checked, not only the ones QEMU accesses plainly).
    pub fn has_plain(&self) -> bool {
        self.0.values().any(|m| *m == Mutation::Plain)
    }

    /// Iterate.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Mutation)> + '_ {
        self.0.iter().map(|(k, v)| (*k, *v))
    }
}

impl fmt::Display for MutationSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in &self.0 {
            if !first {
                write!(f, ",")?;
            }
            first = false;
            write!(f, "{k}:{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &'static str, kind: SiteKind, doc: &'static str) -> Site {
        Site { id, kind, func: "f", c_ref: "c", doc, module: "m", file: "f.rs", line: 1 }
    }

    #[test]
    fn logic_operators_parse_and_print_back() {
        for op in LOGIC_OPERATORS {
            let m = Mutation::parse(op).unwrap();
            assert_eq!(m.to_string(), op);
            assert_eq!(m.operator(), op);
            assert!(m.is_logic());
        }
        for op in ["drop", "weaken:relaxed", "split", "plain"] {
            assert!(!Mutation::parse(op).unwrap().is_logic());
        }
        let e = Mutation::parse("drop-cal").unwrap_err();
        assert!(e.contains("drop-call") && e.contains("swap") && e.contains("weaken:<ordering>"), "{e}");
    }

    #[test]
    fn each_logic_kind_has_its_operators() {
        let m = |k| site("L1", k, "x [L1]").mutations();
        assert_eq!(m(SiteKind::CallStmt), vec![Mutation::DropCall]);
        assert_eq!(m(SiteKind::StoreStmt), vec![Mutation::DropStore]);
        assert_eq!(m(SiteKind::OrCond), vec![Mutation::Negate, Mutation::DropCond]);
        assert_eq!(m(SiteKind::AndCond), vec![Mutation::Negate, Mutation::DropCond]);
        assert_eq!(m(SiteKind::SwapPair), vec![Mutation::Swap]);
        assert!(m(SiteKind::Call).is_empty(), "documentation-only calls stay unmutated");
    }

    #[test]
    fn logic_site_grammar() {
        let ok = site("L7", SiteKind::CallStmt, "The grace period asks a reader to leave its critical section [L7]");
        assert_eq!(ok.check_grammar(), Ok(()));
        let bad_id = site("B7", SiteKind::CallStmt, "The grace period asks a reader to leave [B7]");
        assert!(bad_id.check_grammar().unwrap_err().contains("L<n>"));
        let short = site("L7", SiteKind::CallStmt, "a call [L7]");
        assert!(short.check_grammar().unwrap_err().contains("describe"));
        let swap = site("L9", SiteKind::SwapPair, "The reset and the stores, in this order [L9]");
        assert!(swap.check_grammar().unwrap_err().contains("before"));
        let swap = site("L9", SiteKind::SwapPair, "The reset before the stores. Swapped, a set is lost [L9]");
        assert_eq!(swap.check_grammar(), Ok(()));
        let barrier = site("L9", SiteKind::StoreStmt, "No barrier needed: B12 orders it [L9]");
        assert!(barrier.check_grammar().is_err());
    }

    #[test]
    fn logic_ids_sort_after_barrier_ids() {
        let mut ids = vec!["L10", "B40", "L2", "B3"];
        ids.sort_by(|a, b| site_order(a, b));
        assert_eq!(ids, vec!["B3", "B40", "L2", "L10"]);
    }
}
