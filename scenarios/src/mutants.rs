//! The mutation matrix: for every mutable site of each version, drop
//! it, weaken it where weaker orderings exist, split an RMW into a load and a
//! store, make an ordered access plain (barrier mutants, `B<n>`); drop a call
//! or a store, negate or drop a condition, swap two statements (logic
//! mutants, `L<n>`, see [`rcu_core::logic`]); run that version's loom scenarios that
//! hold unmutated (and, for QemuEvent's own sites, the primitive scenarios),
//! and report which one kills the mutant.  A mutant none kills is
//! `inconclusive` when some killer cell ran out of its budget, else a
//! survivor: justified by a classed row of proofs.md's survivor table
//! (redundant / checker-blind / open-gap) or an unexplained gap.
#![allow(clippy::disallowed_types)]

use models::Version;
use rcu_core::site::{Mutation, MutationSet, Profile, Site, BARRIER_OPERATORS, LOGIC_OPERATORS};
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
    Justified {
        /// `redundant`, `checker-blind` or `open-gap`.
        class: String,
        /// The argument.
        why: String,
    },
    /// No scenario failed, but some killer cell did not finish its
    /// exploration: no verdict.
    Inconclusive {
        /// The cells that ran out of budget.
        bounded_out: Vec<String>,
    },
    /// No scenario failed and nothing explains it: a gap.
    Survived,
}

/// The classes a survivor row may give:
/// * `redundant`: another ordering does the barrier's job in this version;
///   the row names it and the litmus shape it rests on (`Shape: <shape>`).
/// * `checker-blind`: the mutant may matter, but the checker cannot show it;
///   the row names the limit (`Limit: …`).
/// * `open-gap`: the mutant may matter and no scenario judges it yet; the
///   row names the scenario that would (`Judge: \`name\``).
pub const CLASSES: [&str; 3] = ["redundant", "checker-blind", "open-gap"];

/// The litmus shapes a `redundant` row may rest on: message passing, store
/// buffering, fence synchronisation (a relaxed access read by, or reading,
/// an access that a fence orders), RMW atomicity (one location's total
/// order), coherence (one location, program order), and `unused` (the
/// weakened half orders nothing the protocol reads).
pub const SHAPES: [&str; 6] = ["MP", "SB", "fence-sync", "RMW-atomicity", "coherence", "unused"];

/// The shapes a `redundant` row of a *logic* site (`L<n>`) may rest on:
/// `duplicate` (another statement does the same job: the row names it),
/// `cost-only` (the statement only saves work — wake-ups, polls, notifier
/// calls, latency — and no property the scenarios state depends on it; the
/// row says what it costs), and `commute` (a swap: the two statements touch
/// nothing the other orders; the row says why either order is correct).
pub const LOGIC_SHAPES: [&str; 3] = ["duplicate", "cost-only", "commute"];

/// What a survivor row of class `class` must contain, or `Err` naming what
/// is missing (a barrier site's row: [`SHAPES`]).
pub fn check_class(class: &str, why: &str) -> Result<(), String> {
    check_class_with(class, why, &SHAPES)
}

/// [`check_class`] for the row of site `site`: a logic site's redundant row
/// rests on a [`LOGIC_SHAPES`] shape, a barrier site's on a [`SHAPES`] one.
pub fn check_class_of(site: &str, class: &str, why: &str) -> Result<(), String> {
    if site.starts_with('L') {
        check_class_with(class, why, &LOGIC_SHAPES)
    } else {
        check_class_with(class, why, &SHAPES)
    }
}

fn check_class_with(class: &str, why: &str, shapes: &[&str]) -> Result<(), String> {
    match class {
        "redundant" => {
            let shape = why
                .split("Shape: ")
                .nth(1)
                .map(|r| r.split([' ', '.', ';', ',', ')']).next().unwrap_or("").trim_end_matches('*'));
            match shape {
                Some(sh) if shapes.contains(&sh) => Ok(()),
                Some(sh) => Err(format!("unknown shape `{sh}` (valid: {})", shapes.join(", "))),
                None => Err(format!("a redundant row must name its shape: `Shape: <{}>`", shapes.join("|"))),
            }
        }
        "checker-blind" if why.contains("Limit: ") || why.contains("Limit:** ") => Ok(()),
        "checker-blind" => Err("a checker-blind row must name the limit: `Limit: …`".into()),
        "open-gap" if why.contains("Judge: `") => Ok(()),
        "open-gap" => Err("an open-gap row must name the scenario that would judge it: ``Judge: `name` ``".into()),
        c => Err(format!("unknown class `{c}` (valid: {})", CLASSES.join(", "))),
    }
}

/// Deeper bounds some sites need, run after the matrix-bound killers:
/// `(site, scenario, preemption bound)`.  B17 in enter_qs() and the count
/// increment B84 matter on exactly one path of gp_sync_busy_rcu_thread, and
/// the completion event's barriers (B40, B45, B46) on the path of
/// gp_sync_read_race where the grace period ends before the updater waits;
/// each takes three preemptions (proofs.md, Survivors).
pub const DEEP: &[(&str, &str, usize)] = &[
    ("B17", "gp_sync_busy_rcu_thread", 3),
    ("B84", "gp_sync_busy_rcu_thread", 3),
    ("B40", "gp_sync_read_race", 3),
    ("B45", "gp_sync_read_race", 3),
    ("B46", "gp_sync_read_race", 3),
];

/// Wall-clock budget of a [`DEEP`] cell when `--budget` does not say: a full
/// pb-3 exploration of gp_sync_busy_rcu_thread takes 2-3 minutes on 2 cores.
pub const DEEP_BUDGET_SECS: f64 = 400.0;

/// How a mutants run explores.
#[derive(Clone, Debug, Default)]
pub struct Opts {
    /// Every killer at this preemption bound instead of its matrix bound.
    pub preemptions: Option<usize>,
    /// Per-site preemption bounds for every killer (`--site-bound B17=3`).
    pub site_bounds: Vec<(String, usize)>,
    /// Wall-clock budget per killer cell, seconds (default: the cell's).
    pub budget: Option<f64>,
    /// Memory-model profile.
    pub profile: Profile,
    /// Skip the [`DEEP`] runs.
    pub no_deep: bool,
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
    /// `*`, `drop`, `weaken:<ordering>`, `split` or `plain`.
    pub mutation: String,
    /// `redundant`, `checker-blind` or `open-gap` (see [`CLASSES`]).
    pub class: String,
    /// Why it survives.
    pub why: String,
}

/// Parse the table under the `## Survivors` heading of proofs.md:
/// `| B42 | all | drop | redundant | why … |`.
pub fn justifications(md: &str) -> Vec<Justification> {
    crate::proofs::section_rows(md, "Survivors")
        .into_iter()
        .filter(|cols| cols.len() >= 5)
        .map(|cols| Justification {
            site: cols[0].clone(),
            versions: cols[1].split(',').map(|s| s.trim().to_string()).collect(),
            mutation: cols[2].clone(),
            class: cols[3].trim_matches('*').to_string(),
            why: cols[4..].join(" | "),
        })
        .collect()
}

/// The row that justifies a survivor, if proofs.md has one.
pub fn justification_for<'a>(
    js: &'a [Justification],
    v: Version,
    site: &str,
    m: Mutation,
) -> Option<&'a Justification> {
    js.iter().find(|j| {
        j.site == site
            && (j.versions.iter().any(|x| x == "all" || x == v.name()))
            && (j.mutation == "*" || j.mutation == m.to_string())
    })
}

/// The mutants of a version: every mutable site it executes (barrier and
/// logic sites), every mutation.
pub fn mutants_of(v: Version) -> Vec<(&'static Site, Mutation)> {
    let mut out = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for s in v.sites() {
        if !s.kind.is_target() {
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

/// The scenarios that can kill a mutant of `v` at `site`: loom scenarios that
/// hold on `v` unmutated (a scenario already failing cannot tell), and for
/// QemuEvent's own sites (module `rcu_core::event`) the primitive loom
/// scenarios that hold, which exercise the event alone.
pub fn killers(v: Version, site: &Site) -> Vec<&'static Scenario> {
    let primitive_site = site.module.starts_with("rcu_core::event");
    catalog::all()
        .into_iter()
        .filter(|s| {
            s.checker == Checker::Loom
                && (s.expect)(v.port()) == Expect::Holds
                && catalog::not_on(s, v, s.checker).is_none()
                && (s.scope == Scope::Versions || (primitive_site && s.scope == Scope::Primitive))
        })
        .collect()
}

/// Run one mutant.
pub fn run_mutant(v: Version, site: &'static Site, m: Mutation, js: &[Justification], opts: &Opts) -> MutantResult {
    run_mutant_with(v, site, m, js, opts, killers(v, site))
}

/// [`run_mutant`] with these killer scenarios instead of [`killers`] (e.g.
/// `rcu-check review`: only the scenarios the unmutated tree was measured to
/// hold, whatever its port expects).
pub fn run_mutant_with(
    v: Version,
    site: &'static Site,
    m: Mutation,
    js: &[Justification],
    opts: &Opts,
    killers: Vec<&'static Scenario>,
) -> MutantResult {
    let start = std::time::Instant::now();
    let mut tried = vec![];
    let mut status = Status::Survived;
    let mut bounded_out = vec![];
    // Cells that ended because an execution exceeded loom's branch limit (an
    // unbounded loop: a wait the mutant turned into a busy loop), as opposed
    // to cells that ran out of their time budget.
    let mut all_max_branches = true;
    let site_bound = opts.site_bounds.iter().find(|(s, _)| s == site.id).map(|(_, b)| *b);
    let deep: Vec<(&'static Scenario, Option<usize>, bool)> = if opts.no_deep || opts.preemptions.is_some() {
        vec![]
    } else {
        DEEP.iter()
            .filter(|(s, _, _)| *s == site.id)
            .filter_map(|(_, sc, pb)| catalog::find(sc).ok().map(|sc| (sc, Some(*pb), true)))
            .filter(|(sc, _, _)| (sc.expect)(v.port()) == Expect::Holds)
            .collect()
    };
    let deep: Vec<_> = deep.into_iter().filter(|(sc, _, _)| killers.iter().any(|k| k.name == sc.name)).collect();
    let plan = killers.into_iter().map(|s| (s, opts.preemptions.or(site_bound), false)).chain(deep);
    for (s, pb, is_deep) in plan {
        let mut spec = CellSpec::new(s, v, Checker::Loom);
        spec.mutations = MutationSet::one(site.id, m);
        spec.profile = opts.profile;
        if let Some(pb) = pb {
            spec.bounds.preemption_bound = pb;
        }
        match opts.budget {
            Some(b) => spec.bounds.budget_secs = b,
            None if is_deep => spec.bounds.budget_secs = DEEP_BUDGET_SECS,
            // Interpreted C: the matrix's budget for its cells.
            None if v.is_c() => spec.bounds.budget_secs *= crate::matrix::C_BUDGET_FACTOR,
            None => {}
        }
        let r = run_cell(&spec);
        let label = format!("{} pb={}", s.name, spec.bounds.preemption_bound);
        tried.push((s.name, format!("{} (pb={})", r.outcome.verdict.label(), spec.bounds.preemption_bound)));
        match &r.outcome.verdict {
            Verdict::Violated { kind, .. } => {
                status = Status::Killed { by: s.name, kind: kind.clone(), seconds: r.outcome.seconds };
                break;
            }
            Verdict::BoundedOut { reason } => {
                all_max_branches &= reason.contains("max_branches");
                bounded_out.push(label)
            }
            Verdict::Holds => {}
        }
    }
    if matches!(status, Status::Survived) {
        let j = justification_for(js, v, site.id, m);
        if !bounded_out.is_empty() {
            // Only a checker-blind row may account for cells that never
            // finished, and only when every one of them hit the branch limit
            // (the checker cannot judge an unbounded loop); a time budget
            // running out stays inconclusive.
            match j {
                Some(j) if all_max_branches && j.class == "checker-blind" => {
                    status = Status::Justified {
                        class: j.class.clone(),
                        why: format!("{} [{} cell(s) ended at loom's branch limit]", j.why, bounded_out.len()),
                    };
                }
                _ => status = Status::Inconclusive { bounded_out },
            }
        } else if let Some(j) = j {
            status = Status::Justified { class: j.class.clone(), why: j.why.clone() };
        }
    }
    MutantResult { version: v, site, mutation: m, status, seconds: start.elapsed().as_secs_f64(), tried }
}

/// `barrier` (a `B<n>` site's ordering) or `logic` (an `L<n>` statement).
pub fn family(m: Mutation) -> &'static str {
    if m.is_logic() {
        "logic"
    } else {
        "barrier"
    }
}

/// The kill score of one family of mutants: counts by status, by operator,
/// by survivor class, and the median and maximum time to kill (seconds to
/// the first counterexample in the killing scenario).
pub fn kill_score(results: &[&MutantResult]) -> Value {
    let count = |l: &str| results.iter().filter(|r| status_label(&r.status) == l).count();
    let ttk: Vec<f64> = results
        .iter()
        .filter_map(|r| match r.status {
            Status::Killed { seconds, .. } => Some(seconds),
            _ => None,
        })
        .collect();
    let mm = crate::matrix::median_max(ttk.clone());
    let by_op: Vec<&str> = BARRIER_OPERATORS
        .iter()
        .chain(LOGIC_OPERATORS.iter())
        .copied()
        .filter(|op| results.iter().any(|r| r.mutation.operator() == *op))
        .collect();
    let by_class =
        |c: &str| results.iter().filter(|r| matches!(&r.status, Status::Justified { class, .. } if class == c)).count();
    json!({
        "mutants": results.len(),
        "killed": count("killed"),
        "justified": count("justified"),
        "inconclusive": count("inconclusive"),
        "survived": count("survived"),
        "justified_by_class": CLASSES.iter().map(|c| (c.to_string(), json!(by_class(c)))).collect::<serde_json::Map<_, _>>(),
        "by_operator": by_op.iter().map(|op| {
            let of: Vec<_> = results.iter().filter(|r| r.mutation.operator() == *op).collect();
            json!({"operator": op, "killed": of.iter().filter(|r| matches!(r.status, Status::Killed { .. })).count(), "mutants": of.len()})
        }).collect::<Vec<_>>(),
        "time_to_kill": {"n": ttk.len(), "median_seconds": mm.map(|m| m.0), "max_seconds": mm.map(|m| m.1)},
    })
}

/// `killed` / `survived` / `justified` / `inconclusive`.
pub fn status_label(s: &Status) -> &'static str {
    match s {
        Status::Killed { .. } => "killed",
        Status::Justified { .. } => "justified",
        Status::Inconclusive { .. } => "inconclusive",
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
        "c_text": if r.version.is_c() { json!(r.site.c_ref) } else { Value::Null },
        "port_site": models::ctree::port_site(r.version, r.site),
        "function": r.site.func,
        "mutation": r.mutation.to_string(),
        "status": status_label(&r.status),
        "killed_by": killed_by,
        "kind": kind,
        "time_to_counterexample": ttc,
        "operator": r.mutation.operator(),
        "family": family(r.mutation),
        "reason": match &r.status { Status::Justified { class, .. } => json!(class), _ => Value::Null },
        "justification": match &r.status { Status::Justified { why, .. } => json!(why), _ => Value::Null },
        "bounded_out": match &r.status { Status::Inconclusive { bounded_out } => json!(bounded_out), _ => Value::Null },
        "seconds": r.seconds,
        "tried": r.tried.iter().map(|(s, v)| json!({"scenario": s, "verdict": v})).collect::<Vec<_>>(),
    })
}
