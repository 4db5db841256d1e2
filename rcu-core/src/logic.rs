//! Logic mutants: a statement of a model, run through one of these helpers
//! with its `L<n>` site, can be dropped, negated or swapped with its
//! neighbour by the run's [`MutationSet`](crate::site::MutationSet), by site
//! ID, without editing the code.
//!
//! Unmutated, every helper runs its closure(s) exactly once, in the order
//! written, and adds no operation the checkers see: the model makes the same
//! calls in the same order as the C.  A mutated helper writes one trace line
//! (`L3: drop-call: qemu_event_set(&rcu_gp_event) not made`) so that a
//! counterexample shows the mutant.

use crate::atomic::mutation_of;
use crate::platform::Platform;
use crate::runtime::current;
use crate::site::{Mutation, Site, SiteKind};

fn mutated<P: Platform>(site: &'static Site, expect: fn(SiteKind) -> bool) -> Option<Mutation> {
    debug_assert!(expect(site.kind), "site {} used with the wrong logic helper", site.id);
    let m = mutation_of::<P>(site)?;
    current::<P>().trace(format_args!("{}: {m}: {}", site.id, site.c_ref));
    Some(m)
}

/// A call to an event/semaphore/notifier primitive (site kind
/// [`SiteKind::CallStmt`]): `drop-call` does not make it.
pub fn call<P: Platform>(site: &'static Site, f: impl FnOnce()) {
    match mutated::<P>(site, |k| k == SiteKind::CallStmt) {
        Some(Mutation::DropCall) => {}
        _ => f(),
    }
}

/// A relaxed store or counter update (site kind [`SiteKind::StoreStmt`]):
/// `drop-store` does not make it.
pub fn store<P: Platform>(site: &'static Site, f: impl FnOnce()) {
    match mutated::<P>(site, |k| k == SiteKind::StoreStmt) {
        Some(Mutation::DropStore) => {}
        _ => f(),
    }
}

/// One condition of a heuristic (site kind [`SiteKind::OrCond`] for a
/// disjunct, [`SiteKind::AndCond`] for a conjunct): `negate` negates it,
/// `drop-cond` leaves it out (false in an `||`, true in an `&&`) without
/// evaluating it.
pub fn cond<P: Platform>(site: &'static Site, f: impl FnOnce() -> bool) -> bool {
    match mutated::<P>(site, |k| matches!(k, SiteKind::OrCond | SiteKind::AndCond)) {
        Some(Mutation::Negate) => !f(),
        Some(Mutation::DropCond) => site.kind == SiteKind::AndCond,
        _ => f(),
    }
}

/// Two adjacent statements (site kind [`SiteKind::SwapPair`]): `first` then
/// `second`, or under `swap` `second` then `first`.
pub fn swap<P: Platform, A, B>(site: &'static Site, first: impl FnOnce() -> A, second: impl FnOnce() -> B) -> (A, B) {
    match mutated::<P>(site, |k| k == SiteKind::SwapPair) {
        Some(Mutation::Swap) => {
            let b = second();
            let a = first();
            (a, b)
        }
        _ => {
            let a = first();
            let b = second();
            (a, b)
        }
    }
}

/// Whether the run swaps the statements of `site` (kind
/// [`SiteKind::SwapPair`]), for a swap that overlaps another one (three
/// statements, two swap sites) and cannot be written with [`swap`].
pub fn swapped<P: Platform>(site: &'static Site) -> bool {
    mutated::<P>(site, |k| k == SiteKind::SwapPair) == Some(Mutation::Swap)
}
