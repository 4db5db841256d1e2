//! The barrier-mutation matrix: for every mutable site of each version, drop
//! it (and weaken it where weaker orderings exist), run that version's loom
//! scenarios that hold unmutated, and report which one kills the mutant.
//! A survivor is either justified in proofs.md's survivor table or is a gap.
#![allow(clippy::disallowed_types)]

use models::Version;
use rcu_core::site::{Mutation, MutationSet, Site};
use serde_json::{json, Value};

use crate::catalog::{self, Expect, Scenario, Scope};
use crate::cell::{run_cell, CellSpec};
use crate::harness::{Checker, Verdict};

/// proofs.md, compiled in: the survivor justifications live there.
pub const PROOFS_MD: &str = include_str!("../../proofs.md");

/// What happened to one mutant.
#[derive(Clone, Debug)]
pub enum Status {
    /// A scenario failed.
    Killed {
        /// The scenario.
        by: &'static str,
        /// Failure kind.
        kind: String,
        /// Seconds to the counterexample in that scenario.
        seconds: f64,
    },
    /// No scenario failed, and proofs.md says why that is expected.
    Justified(String),
    /// No scenario failed and nothing explains it: a gap.
    Survived,
}

/// One mutant's result.
#[derive(Clone, Debug)]
pub struct MutantResult {
    /// Version.
    pub version: Version,
    /// Site.
    pub site: &'static Site,
    /// Mutation.
    pub mutation: Mutation,
    /// Outcome.
    pub status: Status,
    /// Seconds spent on this mutant.
    pub seconds: f64,
    /// Scenarios run (in order) and their verdict labels.
    pub tried: Vec<(&'static str, String)>,
}

/// One row of proofs.md's survivor table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification {
    /// Site ID.
    pub site: String,
    /// `all` or version names.
    pub versions: Vec<String>,
    /// `*`, `drop` or `weaken:<ordering>`.
    pub mutation: String,
    /// Why it survives.
    pub why: String,
}

/// Parse the table under the `## Survivors` heading of proofs.md:
/// `| B42 | all | drop | why … |`.
pub fn justifications(md: &str) -> Vec<Justification> {
    crate::proofs::section_rows(md, "Survivors")
        .into_iter()
        .filter(|cols| cols.len() >= 4)
        .map(|cols| Justification {
            site: cols[0].clone(),
            versions: cols[1].split(',').map(|s| s.trim().to_string()).collect(),
            mutation: cols[2].clone(),
            why: cols[3..].join(" | "),
        })
        .collect()
}

/// The justification for a survivor, if proofs.md has one.
pub fn justification_for(js: &[Justification], v: Version, site: &str, m: Mutation) -> Option<String> {
    js.iter()
        .find(|j| {
            j.site == site
                && (j.versions.iter().any(|x| x == "all" || x == v.name()))
                && (j.mutation == "*" || j.mutation == m.to_string())
        })
        .map(|j| j.why.clone())
}

/// The mutants of a version: every mutable site it executes, every mutation.
pub fn mutants_of(v: Version) -> Vec<(&'static Site, Mutation)> {
    let mut out = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for s in v.sites() {
        if !s.kind.is_mutable() {
            continue;
        }
        for m in s.mutations() {
            if seen.insert((s.id, m.to_string())) {
                out.push((s, m));
            }
        }
    }
    out
}

/// The IDs of the sites mutated for these versions, each once, in `B<n>` order.
pub fn mutable_site_ids_of(versions: &[Version]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = versions.iter().flat_map(|v| mutants_of(*v)).map(|(s, _)| s.id).collect();
    ids.sort_by(|a, b| rcu_core::site::site_order(a, b));
    ids.dedup();
    ids
}

/// The scenarios that can kill a mutant of `v`: loom scenarios that hold on
/// `v` unmutated (a scenario already failing cannot tell).
pub fn killers(v: Version) -> Vec<&'static Scenario> {
    catalog::all()
        .into_iter()
        .filter(|s| s.checker == Checker::Loom && s.scope == Scope::Versions && (s.expect)(v) == Expect::Holds)
        .collect()
}

/// Run one mutant.
pub fn run_mutant(v: Version, site: &'static Site, m: Mutation, js: &[Justification]) -> MutantResult {
    let start = std::time::Instant::now();
    let mut tried = vec![];
    let mut status = Status::Survived;
    for s in killers(v) {
        let mut spec = CellSpec::new(s, v, Checker::Loom);
        spec.mutations = MutationSet::one(site.id, m);
        let r = run_cell(&spec);
        tried.push((s.name, r.outcome.verdict.label().to_string()));
        if let Verdict::Violated { kind, .. } = &r.outcome.verdict {
            status = Status::Killed { by: s.name, kind: kind.clone(), seconds: r.outcome.seconds };
            break;
        }
    }
    if matches!(status, Status::Survived) {
        if let Some(why) = justification_for(js, v, site.id, m) {
            status = Status::Justified(why);
        }
    }
    MutantResult { version: v, site, mutation: m, status, seconds: start.elapsed().as_secs_f64(), tried }
}

/// `killed` / `survived` / `justified`.
pub fn status_label(s: &Status) -> &'static str {
    match s {
        Status::Killed { .. } => "killed",
        Status::Justified(_) => "justified",
        Status::Survived => "survived",
    }
}

/// One mutant as JSON (the stable schema of `mutants --json`).
pub fn mutant_json(r: &MutantResult) -> Value {
    let (killed_by, kind, ttc) = match &r.status {
        Status::Killed { by, kind, seconds } => (json!(by), json!(kind), json!(seconds)),
        _ => (Value::Null, Value::Null, Value::Null),
    };
    json!({
        "version": r.version.name(),
        "site": r.site.id,
        "function": r.site.func,
        "mutation": r.mutation.to_string(),
        "status": status_label(&r.status),
        "killed_by": killed_by,
        "kind": kind,
        "time_to_counterexample": ttc,
        "justification": match &r.status { Status::Justified(w) => json!(w), _ => Value::Null },
        "seconds": r.seconds,
        "tried": r.tried.iter().map(|(s, v)| json!({"scenario": s, "verdict": v})).collect::<Vec<_>>(),
    })
}
