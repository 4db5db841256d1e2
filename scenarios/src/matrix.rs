//! The verdict matrix: scenarios × versions, each cell checked against its
//! expectation; text and JSON renderings; the summary.
#![allow(clippy::disallowed_types)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use models::Version;
use serde_json::{json, Value};

use crate::catalog::{self, Expect, Scenario, Scope};
use crate::cell::{run_cell, CellResult, CellSpec};
use crate::harness::{Checker, Verdict};

/// What to run.
#[derive(Clone, Debug)]
pub struct MatrixOpts {
    /// Versions (columns).
    pub versions: Vec<Version>,
    /// Scenarios (rows).
    pub scenarios: Vec<&'static Scenario>,
    /// Override every scenario's default checker.
    pub checker: Option<Checker>,
    /// Override loom preemption bounds.
    pub preemptions: Option<usize>,
    /// Override shuttle iterations / std runs.
    pub iterations: Option<usize>,
    /// Per-cell wall-clock budget (loom/shuttle), seconds.
    pub budget_secs: Option<f64>,
    /// Worker threads.
    pub jobs: usize,
    /// Produce replay tokens for violated cells.
    pub replay: bool,
    /// Memory-model profile.
    pub profile: rcu_core::site::Profile,
}

impl Default for MatrixOpts {
    fn default() -> Self {
        MatrixOpts {
            versions: Version::ALL.to_vec(),
            scenarios: catalog::all(),
            checker: None,
            preemptions: None,
            iterations: None,
            budget_secs: None,
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            replay: true,
            profile: rcu_core::site::Profile::C11,
        }
    }
}

/// The cells of a matrix, in display order.  Primitive scenarios get one
/// cell (they do not depend on the version).
pub fn cells(o: &MatrixOpts) -> Vec<CellSpec> {
    let mut v = vec![];
    for s in &o.scenarios {
        let versions: Vec<Version> =
            if s.scope == Scope::Primitive { vec![Version::Master] } else { o.versions.clone() };
        let checker = o.checker.unwrap_or(s.checker);
        for ver in versions.into_iter().filter(|v| catalog::not_on(s, *v, checker).is_none()) {
            let mut spec = CellSpec::new(s, ver, checker);
            if ver.is_c() {
                // Interpreted C: five times the port's budget (issue 11's cost limit).
                spec.bounds.budget_secs *= C_BUDGET_FACTOR;
            }
            if let Some(p) = o.preemptions {
                spec.bounds.preemption_bound = p;
            }
            if let Some(i) = o.iterations {
                spec.bounds.iterations = i;
            }
            if let Some(b) = o.budget_secs {
                spec.bounds.budget_secs = b;
            }
            spec.want_replay = o.replay;
            spec.profile = o.profile;
            v.push(spec);
        }
    }
    v
}

/// A C tree's cell gets this many times its port's wall-clock budget: the
/// interpreter may cost up to 5× the port per cell.
pub const C_BUDGET_FACTOR: f64 = 5.0;

/// `scenario × version` cells the matrix leaves out because the scenario
/// cannot run on that C tree, with the reason.
pub fn skipped(o: &MatrixOpts) -> Vec<(&'static str, Version, &'static str)> {
    let mut v = vec![];
    for s in o.scenarios.iter().filter(|s| s.scope == Scope::Versions) {
        for ver in &o.versions {
            if let Some(why) = catalog::not_on(s, *ver, o.checker.unwrap_or(s.checker)) {
                v.push((s.name, *ver, why));
            }
        }
    }
    v
}

/// Run cells on `jobs` workers; `progress(done, total, cell)` after each one.
pub fn run_cells(
    specs: Vec<CellSpec>,
    jobs: usize,
    progress: &(dyn Fn(usize, usize, &CellResult) + Sync),
) -> Vec<CellResult> {
    let n = specs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CellResult>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = run_cell(&specs[i]);
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(d, n, &r);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.expect("every cell ran")).collect()
}

/// Median and maximum of a list of seconds.
pub fn median_max(mut xs: Vec<f64>) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = if xs.len() % 2 == 1 { xs[xs.len() / 2] } else { (xs[xs.len() / 2 - 1] + xs[xs.len() / 2]) / 2.0 };
    Some((m, *xs.last().unwrap()))
}

/// The cell text: `holds 1.2s`, `VIOLATED(deadlock) 0.1s`, `bounded-out 60s`,
/// with ` pbN` when the cell's loom bound differs from its row's (`row_pb`).
pub fn cell_text(r: &CellResult, row_pb: usize) -> String {
    let v = match &r.outcome.verdict {
        Verdict::Holds => "holds".to_string(),
        Verdict::Violated { kind, .. } => format!("VIOLATED({kind})"),
        Verdict::BoundedOut { .. } => "bounded-out".to_string(),
    };
    let mark = if r.matches() { "" } else { " *" };
    let bound = if r.spec.checker == Checker::Loom && r.spec.bounds.preemption_bound != row_pb {
        format!(" pb{}", r.spec.bounds.preemption_bound)
    } else {
        String::new()
    };
    format!("{v} {}{bound}{mark}", secs(r.outcome.seconds))
}

/// `0.4s`, `12s`.
pub fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// A scenario's default bound under its own checker, with its per-version
/// loom overrides: `loom pb=2 (master pb1, unify pb1)`.
pub fn scenario_bound_text(s: &'static Scenario) -> String {
    let mut spec = CellSpec::new(s, Version::Master, s.checker);
    spec.bounds.preemption_bound = s.preemption_bound;
    let mut t = bound_text(&spec);
    if s.checker == Checker::Loom && !s.bound_overrides.is_empty() {
        let o: Vec<String> = s.bound_overrides.iter().map(|(v, b)| format!("{v} pb{b}")).collect();
        t.push_str(&format!(" ({})", o.join(", ")));
    }
    t
}

/// The bound a cell ran with, for display.
pub fn bound_text(spec: &CellSpec) -> String {
    match spec.checker {
        Checker::Loom => format!("loom pb={}", spec.bounds.preemption_bound),
        Checker::Shuttle => format!("shuttle pct{}x{}", spec.bounds.pct_depth, spec.bounds.iterations),
        Checker::Std => format!("std x{}", spec.bounds.iterations),
    }
}

/// The cell whose bound a row shows: one at the scenario's default bound if
/// any (the others are per-version overrides), else the most common bound.
fn row_cell<'a>(cs: &[Option<&'a CellResult>]) -> Option<&'a CellResult> {
    let cells: Vec<&CellResult> = cs.iter().flatten().copied().collect();
    if let Some(r) = cells.iter().find(|r| r.spec.bounds.preemption_bound == r.spec.scenario.preemption_bound) {
        return Some(r);
    }
    cells
        .iter()
        .max_by_key(|r| {
            cells.iter().filter(|o| o.spec.bounds.preemption_bound == r.spec.bounds.preemption_bound).count()
        })
        .copied()
}

type Row<'a> = (&'static Scenario, Vec<Option<&'a CellResult>>);

/// The results as rows (one per scenario, in first-seen order) of one cell per version.
fn rows<'a>(results: &'a [CellResult], versions: &[Version]) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'a>> = vec![];
    for r in results {
        let s = r.spec.scenario;
        let idx = match rows.iter().position(|(x, _)| x.name == s.name) {
            Some(i) => i,
            None => {
                rows.push((s, vec![None; versions.len()]));
                rows.len() - 1
            }
        };
        if s.scope == Scope::Primitive {
            rows[idx].1[0] = Some(r);
        } else if let Some(c) = versions.iter().position(|v| *v == r.spec.version) {
            rows[idx].1[c] = Some(r);
        }
    }
    rows
}

fn row_pb(cs: &[Option<&CellResult>]) -> usize {
    row_cell(cs).map(|r| r.spec.bounds.preemption_bound).unwrap_or(0)
}

/// The width the default matrix fits in.
pub const WIDTH: usize = 120;

/// A version's column heading in the 120-column matrix.
pub fn short_version(v: Version) -> &'static str {
    match v {
        Version::SemaphoreDraft => "sem-draft",
        Version::SemaphoreFollowup => "sem-followup",
        v => v.name(),
    }
}

/// A violation kind in at most five capitals, for the 120-column matrix.
pub fn kind_code(kind: &str) -> String {
    match kind {
        "data-race" => "RACE".into(),
        "deadlock" => "DEAD".into(),
        "slow-force" => "SLOW".into(),
        "spurious-force" => "SPUR".into(),
        "use-after-free" => "UAF".into(),
        "unlocked-access" => "UNLCK".into(),
        "lost-callback" => "LOST".into(),
        "assertion" => "ASSRT".into(),
        k => k.chars().filter(|c| c.is_alphanumeric()).take(5).collect::<String>().to_uppercase(),
    }
}

/// A cell of the 120-column matrix: `ok 1.2s`, `DEAD 0.1s`, `OUT 60s`; `^`
/// when the cell ran at another loom bound than its row, `*` when it differs
/// from its expected result.
pub fn compact_cell_text(r: &CellResult, row_pb: usize) -> String {
    let v = match &r.outcome.verdict {
        Verdict::Holds => "ok".to_string(),
        Verdict::Violated { kind, .. } => kind_code(kind),
        Verdict::BoundedOut { .. } => "OUT".to_string(),
    };
    let bound = if r.spec.checker == Checker::Loom && r.spec.bounds.preemption_bound != row_pb { "^" } else { "" };
    let mark = if r.matches() { "" } else { "*" };
    format!("{v} {}{bound}{mark}", secs(r.outcome.seconds))
}

/// Wrap a line of notes at [`WIDTH`], continuation lines indented.
fn wrap(line: &str, indent: &str) -> String {
    let o = textwrap::Options::new(WIDTH).subsequent_indent(indent).break_words(false);
    textwrap::wrap(line, o).join("\n") + "\n"
}

/// The text matrix in [`WIDTH`] columns: one row per scenario, one short
/// verdict and time per version; under the table the legend, every bound,
/// the cells run at another bound, the mismatches and the summary.
pub fn render_text(results: &[CellResult], versions: &[Version]) -> String {
    let rows = rows(results, versions);
    let name_w = rows.iter().map(|(s, _)| s.name.chars().count()).max().unwrap_or(8).max(8);
    let col_w = rows
        .iter()
        .flat_map(|(_, cs)| cs.iter().flatten().map(|r| compact_cell_text(r, row_pb(cs)).chars().count()))
        .chain(versions.iter().map(|v| short_version(*v).len()))
        .max()
        .unwrap_or(8)
        .max("(primitive)".len());
    let mut out = format!("{:<name_w$}", "scenario");
    for v in versions {
        out.push_str(&format!("  {:<col_w$}", short_version(*v)));
    }
    out.push('\n');
    out.push_str(&"-".repeat(name_w));
    for _ in versions {
        out.push_str(&format!("  {}", "-".repeat(col_w)));
    }
    out.push('\n');
    let mut codes: Vec<(String, String)> = vec![];
    for (s, cs) in &rows {
        let pb = row_pb(cs);
        out.push_str(&format!("{:<name_w$}", s.name));
        for (i, c) in cs.iter().enumerate() {
            let t = match c {
                Some(r) => {
                    if let Verdict::Violated { kind, .. } = &r.outcome.verdict {
                        if !codes.iter().any(|(k, _)| k == kind) {
                            codes.push((kind.clone(), kind_code(kind)));
                        }
                    }
                    compact_cell_text(r, pb)
                }
                None if s.scope == Scope::Primitive && i > 0 => "(primitive)".into(),
                None => "-".into(),
            };
            out.push_str(&format!("  {:<col_w$}", t));
        }
        out.push('\n');
    }
    out = out.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n") + "\n\n";

    // The legend: every code used, the renamed columns.
    codes.sort();
    let mut legend = String::from("ok = holds (no counterexample within the bound)");
    for (k, c) in &codes {
        legend.push_str(&format!(", {c} = VIOLATED({k})"));
    }
    legend.push_str(", OUT = bounded-out; time = the cell's wall time; ^ = another loom bound (below); * = differs from the expected result");
    out.push_str(&wrap(&legend, "  "));
    let renamed: Vec<String> = versions
        .iter()
        .filter(|v| short_version(**v) != v.name())
        .map(|v| format!("{} = {}", short_version(*v), v.name()))
        .collect();
    if !renamed.is_empty() {
        out.push_str(&wrap(&format!("columns: {}", renamed.join(", ")), "  "));
    }
    // Every row's bound: the most common one once, the others by row.
    let bounds: Vec<(String, &str)> =
        rows.iter().map(|(s, cs)| (row_cell(cs).map(|r| bound_text(&r.spec)).unwrap_or_default(), s.name)).collect();
    let mut common: Vec<(&str, usize)> = vec![];
    for (b, _) in &bounds {
        match common.iter_mut().find(|(x, _)| x == b) {
            Some(e) => e.1 += 1,
            None => common.push((b, 1)),
        }
    }
    if let Some((default, _)) = common.iter().max_by_key(|(_, n)| *n) {
        let mut others: Vec<String> = vec![];
        for (b, _) in &common {
            if b != default {
                let names: Vec<&str> = bounds.iter().filter(|(x, _)| x == b).map(|(_, n)| *n).collect();
                others.push(format!("{b}: {}", names.join(", ")));
            }
        }
        let mut line = format!("bounds: {default} for every row");
        if !others.is_empty() {
            line.push_str(&format!(" except {}", others.join("; ")));
        }
        out.push_str(&wrap(&line, "  "));
    }
    let other_pb: Vec<String> = rows
        .iter()
        .flat_map(|(s, cs)| {
            let pb = row_pb(cs);
            cs.iter()
                .flatten()
                .filter(move |r| r.spec.checker == Checker::Loom && r.spec.bounds.preemption_bound != pb)
                .map(move |r| format!("{} × {} pb={}", s.name, r.spec.version, r.spec.bounds.preemption_bound))
        })
        .collect();
    if !other_pb.is_empty() {
        out.push_str(&wrap(&format!("^ cells at another loom bound: {}", other_pb.join(", ")), "  "));
    }
    for l in notes_text(results, true).lines() {
        out.push_str(&wrap(l, "    "));
    }
    out
}

/// The wide matrix (`matrix --wide`): the bound column, and each cell as
/// `VIOLATED(kind) time`; rows of about 250 columns with six versions.
pub fn render_wide(results: &[CellResult], versions: &[Version]) -> String {
    let rows = rows(results, versions);
    let name_w = rows.iter().map(|(s, _)| s.name.len()).max().unwrap_or(8).max(8);
    let bound_w = results.iter().map(|r| bound_text(&r.spec).len()).max().unwrap_or(5).max(5);
    let col_w = rows
        .iter()
        .flat_map(|(_, cs)| cs.iter().flatten().map(|r| cell_text(r, row_pb(cs)).len()))
        .max()
        .unwrap_or(8)
        .max(18);
    let mut out = String::new();
    out.push_str(&format!("{:<name_w$}  {:<bound_w$}", "scenario", "bound"));
    for v in versions {
        out.push_str(&format!("  {:<col_w$}", v.name()));
    }
    out.push('\n');
    out.push_str(&format!("{}  {}", "-".repeat(name_w), "-".repeat(bound_w)));
    for _ in versions {
        out.push_str(&format!("  {}", "-".repeat(col_w)));
    }
    out.push('\n');
    for (s, cs) in &rows {
        let bound = row_cell(cs).map(|r| bound_text(&r.spec)).unwrap_or_default();
        let pb = row_pb(cs);
        out.push_str(&format!("{:<name_w$}  {:<bound_w$}", s.name, bound));
        for (i, c) in cs.iter().enumerate() {
            let t = match c {
                Some(r) => cell_text(r, pb),
                None if s.scope == Scope::Primitive && i > 0 => "(primitive)".into(),
                None => "-".into(),
            };
            out.push_str(&format!("  {:<col_w$}", t));
        }
        out.push('\n');
    }
    out = out.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n") + "\n";
    out.push_str(&notes_text(results, false));
    out
}

/// Under either table: the mismatches, the cells with unlocked registry
/// accesses, then the summary.
fn notes_text(results: &[CellResult], compact: bool) -> String {
    let mut out = String::new();
    let mism: Vec<&CellResult> = results.iter().filter(|r| !r.matches()).collect();
    if !mism.is_empty() {
        out.push_str("\n* differs from the expected result:\n");
        for r in &mism {
            out.push_str(&format!(
                "  {} × {}: expected {}, got {}",
                r.spec.scenario.name,
                r.spec.version,
                r.expected.label(),
                r.outcome.verdict.label()
            ));
            match &r.outcome.verdict {
                Verdict::Violated { kind, message } => out.push_str(&format!(" ({kind}): {message}")),
                Verdict::BoundedOut { reason } => out.push_str(&format!(": {reason}")),
                Verdict::Holds => {
                    let missed = r.missed_windows();
                    if !missed.is_empty() {
                        out.push_str(&format!(" but the window was never reached: {}", missed.join("; ")));
                    }
                }
            }
            out.push('\n');
        }
    }
    let unlocked: Vec<&CellResult> = results
        .iter()
        .filter(|r| r.outcome.stats.get("unlocked_access") > 0 && matches!(r.outcome.verdict, Verdict::Holds))
        .collect();
    if !unlocked.is_empty() {
        out.push_str("\nnote: these cells hold their own property but accessed the registry without rcu_registry_lock (counted, see register_during_forced_gp):\n");
        if compact {
            // One line per scenario, its versions listed.
            let mut by: Vec<(&str, Vec<&str>)> = vec![];
            for r in unlocked {
                match by.iter_mut().find(|(s, _)| *s == r.spec.scenario.name) {
                    Some(e) => e.1.push(r.spec.version.name()),
                    None => by.push((r.spec.scenario.name, vec![r.spec.version.name()])),
                }
            }
            for (s, vs) in by {
                out.push_str(&format!("  {s} × {}\n", vs.join(", ")));
            }
        } else {
            for r in unlocked {
                out.push_str(&format!("  {} × {}\n", r.spec.scenario.name, r.spec.version));
            }
        }
    }
    out.push('\n');
    out.push_str(&summary_text(results));
    out
}

/// The summary: counts and time to the first counterexample.
pub fn summary_json(results: &[CellResult]) -> Value {
    let count = |f: &dyn Fn(&CellResult) -> bool| results.iter().filter(|r| f(r)).count();
    let ttc: Vec<f64> = results
        .iter()
        .filter(|r| matches!(r.outcome.verdict, Verdict::Violated { .. }))
        .map(|r| r.outcome.seconds)
        .collect();
    let mm = median_max(ttc.clone());
    json!({
        "cells": results.len(),
        "matching": count(&|r| r.matches()),
        "mismatching": count(&|r| !r.matches()),
        "holds": count(&|r| matches!(r.outcome.verdict, Verdict::Holds)),
        "violated": count(&|r| matches!(r.outcome.verdict, Verdict::Violated { .. })),
        "bounded_out": count(&|r| matches!(r.outcome.verdict, Verdict::BoundedOut { .. })),
        "time_to_counterexample": {
            "n": ttc.len(),
            "median_seconds": mm.map(|m| m.0),
            "max_seconds": mm.map(|m| m.1),
        },
        "total_cell_seconds": results.iter().map(|r| r.outcome.seconds).sum::<f64>(),
    })
}

fn summary_text(results: &[CellResult]) -> String {
    let s = summary_json(results);
    let ttc = &s["time_to_counterexample"];
    let mut out = format!(
        "{} cells: {} as expected, {} differ; {} hold, {} violated, {} bounded-out\n",
        s["cells"], s["matching"], s["mismatching"], s["holds"], s["violated"], s["bounded_out"]
    );
    if let (Some(m), Some(x)) = (ttc["median_seconds"].as_f64(), ttc["max_seconds"].as_f64()) {
        out.push_str(&format!(
            "time to first counterexample over {} violated cells: median {}, max {}\n",
            ttc["n"],
            secs(m),
            secs(x)
        ));
    }
    out.push_str(
        "\"holds\" means no counterexample within the stated bound (loom: preemption bound; shuttle: iterations), never \"verified\"; see proofs.md for what each checker cannot see.\n",
    );
    out
}

/// One cell as JSON (the stable schema of `matrix --json`).
pub fn cell_json(r: &CellResult) -> Value {
    let (kind, message) = match &r.outcome.verdict {
        Verdict::Violated { kind, message } => (Some(kind.clone()), Some(message.clone())),
        Verdict::BoundedOut { reason } => (None, Some(reason.clone())),
        Verdict::Holds => (None, None),
    };
    let expected = match r.expected {
        Expect::Holds => json!("holds"),
        Expect::Violated { .. } => json!("violated"),
    };
    let expected_kind = match r.expected {
        Expect::Violated { kind, .. } => json!(kind),
        Expect::Holds => Value::Null,
    };
    json!({
        "version": if r.spec.scenario.scope == Scope::Primitive { Value::Null } else { json!(r.spec.version.name()) },
        "scenario": r.spec.scenario.name,
        "family": r.spec.scenario.family,
        "checker": r.spec.checker.name(),
        "verdict": r.outcome.verdict.label(),
        "kind": kind,
        "message": message,
        "expected": expected,
        "expected_kind": expected_kind,
        "matches_expected": r.matches(),
        "executions": r.outcome.executions,
        "seconds": r.outcome.seconds,
        "preemption_bound": if r.spec.checker == Checker::Loom { json!(r.spec.bounds.preemption_bound) } else { Value::Null },
        "iterations": if r.spec.checker == Checker::Loom { Value::Null } else { json!(r.spec.bounds.iterations) },
        "complete": r.outcome.complete,
        "replay": r.replay,
        "windows": r.windows.iter().map(|(w, ok)| json!({"what": w, "reached": ok})).collect::<Vec<_>>(),
        "metrics": r.outcome.stats.probes.iter().chain(r.outcome.stats.obs.iter()).map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

/// `{"cells": [...], "summary": {...}}`.
pub fn render_json(results: &[CellResult]) -> Value {
    json!({
        "cells": results.iter().map(cell_json).collect::<Vec<_>>(),
        "summary": summary_json(results),
    })
}

/// One row of `matrix --compare`: a C tree's cell beside its port's.
#[derive(Clone, Debug)]
pub struct CompareRow {
    /// Scenario.
    pub scenario: &'static str,
    /// The C version (`c:LABEL`) and its port.
    pub c: Version,
    /// The port.
    pub port: Version,
    /// `holds` / `VIOLATED (kind)` / … of each.
    pub c_verdict: String,
    /// The port's.
    pub port_verdict: String,
    /// Whether each met its expectation (windows included).
    pub c_as_expected: bool,
    /// The port's.
    pub port_as_expected: bool,
    /// Executions of each.
    pub executions: (u64, u64),
    /// Seconds of each.
    pub seconds: (f64, f64),
    /// Same verdict and same agreement with the expectation.
    pub same: bool,
}

/// A cell's verdict as comparisons see it: `holds`, `violated (kind)`, `bounded-out`.
pub fn verdict_key(r: &CellResult) -> String {
    match r.outcome.verdict.kind() {
        Some(k) => format!("{} ({k})", r.outcome.verdict.label()),
        None => r.outcome.verdict.label().to_string(),
    }
}

/// Pair every C cell with its port's cell of the same scenario.
pub fn compare(results: &[CellResult]) -> Vec<CompareRow> {
    let mut rows = vec![];
    for c in results.iter().filter(|r| r.spec.version.is_c()) {
        let port = c.spec.version.port();
        let Some(p) = results.iter().find(|r| r.spec.scenario.name == c.spec.scenario.name && r.spec.version == port)
        else {
            continue;
        };
        let (cv, pv) = (verdict_key(c), verdict_key(p));
        rows.push(CompareRow {
            scenario: c.spec.scenario.name,
            c: c.spec.version,
            port,
            same: cv == pv && c.matches() == p.matches(),
            c_verdict: cv,
            port_verdict: pv,
            c_as_expected: c.matches(),
            port_as_expected: p.matches(),
            executions: (c.outcome.executions, p.outcome.executions),
            seconds: (c.outcome.seconds, p.outcome.seconds),
        });
    }
    rows
}

/// The comparison as text: one line per scenario, then the count.
pub fn compare_text(rows: &[CompareRow]) -> String {
    let mut s = String::from("\nC tree against its port (same scenario, same checker and bound):\n");
    s += &format!(
        "{:<34} {:<10} {:<24} {:<24} {:>7} {:>7}  same\n",
        "scenario", "tree", "C verdict", "port verdict", "execs", "cost"
    );
    for r in rows {
        let mark = |ok: bool| if ok { "" } else { " !" };
        s += &format!(
            "{:<34} {:<10} {:<24} {:<24} {:>7} {:>6.1}×  {}\n",
            r.scenario,
            r.c.name(),
            format!("{}{}", r.c_verdict, mark(r.c_as_expected)),
            format!("{}={}{}", r.port.name(), r.port_verdict, mark(r.port_as_expected)),
            format!("{:.2}", r.executions.0 as f64 / r.executions.1.max(1) as f64),
            r.seconds.0 / r.seconds.1.max(1e-3),
            if r.same { "yes" } else { "NO" }
        );
    }
    let differ = rows.iter().filter(|r| !r.same).count();
    s += &format!(
        "{} scenario(s) compared, {} differ (`!`: not as expected; execs and cost: C / port)\n",
        rows.len(),
        differ
    );
    s
}

/// The comparison as JSON.
pub fn compare_json(rows: &[CompareRow]) -> Value {
    json!(rows
        .iter()
        .map(|r| json!({
            "scenario": r.scenario, "version": r.c.name(), "port": r.port.name(),
            "c_verdict": r.c_verdict, "port_verdict": r.port_verdict,
            "c_as_expected": r.c_as_expected, "port_as_expected": r.port_as_expected,
            "c_executions": r.executions.0, "port_executions": r.executions.1,
            "c_seconds": r.seconds.0, "port_seconds": r.seconds.1,
            "cost_ratio": r.seconds.0 / r.seconds.1.max(1e-3), "same": r.same,
        }))
        .collect::<Vec<_>>())
}
