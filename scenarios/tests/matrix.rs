//! The verdict matrix at the default bounds, as `cargo rcu-check` runs it:
//! every cell must match its expected result (an expected `holds` that fails
//! *or* an expected `violated` that is no longer found fails the suite), every
//! passing cell must have reached its windows, and every counterexample must
//! come with a replay token that reproduces it.

use scenarios::cell::{replay, CellResult};
use scenarios::harness::Verdict;
use scenarios::matrix::{self, MatrixOpts};

fn describe(r: &CellResult) -> String {
    format!(
        "{} × {}: expected {}, got {}{}",
        r.spec.scenario.name,
        r.spec.version,
        r.expected.label(),
        r.outcome.verdict.label(),
        match &r.outcome.verdict {
            Verdict::Violated { message, .. } => format!(": {message}"),
            Verdict::BoundedOut { reason } => format!(": {reason}"),
            Verdict::Holds if !r.missed_windows().is_empty() =>
                format!(" but never reached: {}", r.missed_windows().join("; ")),
            Verdict::Holds => String::new(),
        }
    )
}

#[test]
fn default_matrix_matches_every_expectation_and_every_counterexample_replays() {
    let o = MatrixOpts::default();
    let results = matrix::run_cells(matrix::cells(&o), o.jobs, &|_, _, _| {});
    let bad: Vec<String> = results.iter().filter(|r| !r.matches()).map(describe).collect();
    assert!(bad.is_empty(), "{} of {} cells differ:\n{}", bad.len(), results.len(), bad.join("\n"));

    let violated: Vec<&CellResult> =
        results.iter().filter(|r| matches!(r.outcome.verdict, Verdict::Violated { .. })).collect();
    assert!(violated.len() >= 30, "only {} violated cells: the expected table shrank", violated.len());
    for r in violated {
        let token = r.replay.as_ref().unwrap_or_else(|| panic!("no replay token for {}", describe(r)));
        let again = replay(token).unwrap_or_else(|e| panic!("{}: {e}", describe(r)));
        assert_eq!(
            again.outcome.verdict.kind(),
            r.outcome.verdict.kind(),
            "replaying {} gave {:?}",
            describe(r),
            again.outcome.verdict
        );
        assert!(!again.outcome.trace.is_empty(), "replay of {} printed no trace", describe(r));
    }

    // The text matrix reads in 120 columns, table and notes alike.
    let text = matrix::render_text(&results, &o.versions);
    for l in text.lines() {
        assert!(l.chars().count() <= matrix::WIDTH, "line of {} columns: `{l}`", l.chars().count());
    }
    // One row per scenario: its name, then a verdict and a time per version
    // (a primitive scenario: one cell, then "(primitive)" under the others).
    for s in &o.scenarios {
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("{} ", s.name))).collect();
        assert_eq!(rows.len(), 1, "{}: {rows:?}", s.name);
        let words = rows[0].split_whitespace().count();
        let want = if s.scope == scenarios::catalog::Scope::Primitive { 1 + 2 + 5 } else { 1 + 2 * 6 };
        assert_eq!(words, want, "{}", rows[0]);
    }

    // The JSON summary reports the times to the first counterexample.
    let s = matrix::summary_json(&results);
    assert!(s["time_to_counterexample"]["median_seconds"].as_f64().is_some(), "{s}");
    assert!(s["time_to_counterexample"]["max_seconds"].as_f64().is_some(), "{s}");
}
