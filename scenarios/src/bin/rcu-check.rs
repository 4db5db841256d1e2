//! `rcu-check`: the verdict matrix, the barrier-mutation matrix, readable
//! counterexamples and exact replay for QEMU's RCU models.
//!
//! Run from the repository root as `cargo rcu-check …` (a cargo alias that
//! builds in release mode).  With no arguments it prints the matrix.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::{Parser, Subcommand};
use models::Version;
use rcu_core::site::{Profile, Site};
use scenarios::catalog::{self, Scenario, Scope};
use scenarios::cell::{self, CellSpec};
use scenarios::harness::{Checker, Verdict};
use scenarios::matrix::{self, MatrixOpts};
use scenarios::mutants;
use scenarios::render;

#[derive(Parser)]
#[command(
    name = "rcu-check",
    about = "Model-checked verdicts for QEMU's userspace RCU and the force_rcu rework",
    long_about = "Model-checked verdicts for QEMU's userspace RCU (util/rcu.c) and the force-quiescent-state rework.\n\
                  With no subcommand: the verdict matrix at the default bounds.",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Versions (with provenance), scenarios (with expected results), barrier sites.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// A QEMU tree to check as C: `DIR[=LABEL]` adds version `c:LABEL` (repeatable; see README).
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
    /// Run scenarios × versions and compare every cell with its expected result.
    Matrix(MatrixArgs),
    /// Drop / weaken every barrier site (B<n>) and drop / negate / swap every logic
    /// site (L<n>) of each version, and report what kills each mutant.
    Mutants {
        /// Versions to mutate (repeat or comma-separate; default: all).
        #[arg(long = "version", value_name = "V", value_parser = parse_version, value_delimiter = ',')]
        versions: Vec<Version>,
        /// Only these sites (repeat or comma-separate; default: all of the version's mutable sites).
        #[arg(long = "site", value_name = "B<n>|L<n>", value_parser = parse_site, value_delimiter = ',')]
        sites: Vec<&'static str>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: number of CPUs).
        #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
        jobs: Option<usize>,
        /// Run every killer at this loom preemption bound (default: each scenario's matrix bound,
        /// then the deeper per-site runs listed in proofs.md, Survivors).
        #[arg(long, value_name = "N", value_parser = parse_bound, allow_negative_numbers = true)]
        preemptions: Option<usize>,
        /// Per-site preemption bound for every killer of that site, e.g. `B17=3` (repeatable).
        #[arg(long = "site-bound", value_name = "B<n>=N", value_parser = parse_site_bound)]
        site_bounds: Vec<(String, usize)>,
        /// Wall-clock budget per killer cell in seconds; a cell that runs out makes the mutant inconclusive.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
        budget: Option<f64>,
        /// Memory-model profile: c11 (default) or tso (x86-TSO hardware).
        #[arg(long, value_parser = parse_profile, default_value = "c11")]
        profile: Profile,
        /// Only these operators (barrier: drop, weaken, split, plain; logic: drop-call, drop-store,
        /// negate, drop-cond, swap; the groups `barrier` and `logic`; repeat or comma-separate; default: all).
        #[arg(long = "operator", value_name = "OP", value_parser = parse_operator, value_delimiter = ',')]
        operators: Vec<&'static str>,
        /// Mutate a QEMU tree's own C: every C line with a fence or an ordered atomic is a site
        /// (`util/rcu.c:124`); without --version only the C trees are mutated.
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
    /// Find the first (fewest-preemption) counterexample of a cell and print it
    /// as a thread-column table, with the command that replays it.
    Explain {
        /// Version name.
        #[arg(value_parser = parse_version)]
        version: Version,
        /// Scenario name.
        #[arg(value_parser = parse_scenario)]
        scenario: &'static Scenario,
        /// Checker (default: the scenario's).
        #[arg(long, value_parser = parse_checker)]
        checker: Option<Checker>,
        /// Largest loom preemption bound to try (default: the scenario's).
        #[arg(long, value_name = "N", value_parser = parse_bound, allow_negative_numbers = true)]
        preemptions: Option<usize>,
        /// Apply mutations, e.g. `B12:drop` or `B21:weaken:relaxed` (comma-separated).
        #[arg(long, value_name = "SITE:MUTATION")]
        mutate: Option<String>,
        /// Wall-clock budget per bound tried, in seconds (default 60).
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
        budget: Option<f64>,
        /// Memory-model profile: c11 (default) or tso (x86-TSO hardware).
        #[arg(long, value_parser = parse_profile, default_value = "c11")]
        profile: Profile,
        /// A QEMU tree to check as C: `DIR[=LABEL]` adds version `c:LABEL` (repeatable; see README).
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
    /// QEMU's rcutorture stress test on real threads (std backend), with a
    /// stall watchdog: a smoke test of each version under the OS scheduler.
    Torture {
        /// Versions (repeat or comma-separate; default: all).
        #[arg(long = "version", value_name = "V", value_parser = parse_version, value_delimiter = ',')]
        versions: Vec<Version>,
        /// Stress duration per version, in seconds.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true, default_value = "1")]
        seconds: f64,
        /// Reader threads.
        #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true, default_value = "4")]
        readers: usize,
        /// Threads looping on synchronize_rcu() (QEMU's "fake" updaters).
        #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true, default_value = "2")]
        fake_updaters: usize,
        /// Seconds without completion, past the duration, before a run is a stall.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true, default_value = "30")]
        watchdog: f64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// A QEMU tree to torture as C, compiled natively (real pthreads and futexes):
        /// `DIR[=LABEL]` adds version `c:LABEL` (repeatable; see README).
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
    /// Review a patch: apply it to a copy of a QEMU tree, run the matrix on the base and
    /// the patched C side by side, list the barriers it adds, removes or moves (each with its
    /// mutant status), and print every new counterexample as a C trace.  Exit 1 when the
    /// patched tree has a violation the base did not have.
    Review {
        /// The QEMU tree the patch applies to.
        #[arg(long, value_name = "DIR")]
        base: std::path::PathBuf,
        /// The patch: an mbox from the list (a reply with a diff inside will do) or `git
        /// format-patch` files, in order (repeatable).
        #[arg(long = "patch", value_name = "FILE", required = true)]
        patches: Vec<std::path::PathBuf>,
        /// Applied to the base first, in order (repeatable): the earlier patches of a series, or the
        /// patch a posted diff is on top of.  The base column is the base with these applied.
        #[arg(long = "base-patch", value_name = "FILE")]
        base_patches: Vec<std::path::PathBuf>,
        /// The port the patched tree is checked against: its expected results, and the per-version
        /// loom bounds of its cells, which the base's cells share (default: v3 for a tree with
        /// force_rcu(), else master).
        #[arg(long, value_name = "V", value_parser = parse_port)]
        port: Option<Version>,
        /// Scenarios (repeat or comma-separate; default: all that run on C).
        #[arg(long = "scenario", value_name = "S", value_parser = parse_scenario, value_delimiter = ',')]
        scenarios: Vec<&'static Scenario>,
        /// Worker threads (default: number of CPUs).
        #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
        jobs: Option<usize>,
        /// Skip the mutants of the patch's barriers.
        #[arg(long)]
        no_mutants: bool,
    },
    /// What each version costs on real threads (std backend, real 10 ms timers):
    /// drain_call_rcu()/synchronize_rcu() latency when idle, mid-poll and with a busy
    /// vCPU; forced grace periods and vCPU kicks per 1000 call_rcu1() with nobody
    /// draining; read-side cost.  Prints a table, writes bench.json and SVG plots.
    Bench {
        /// Versions (repeat or comma-separate; default: all).
        #[arg(long = "version", value_name = "V", value_parser = parse_version, value_delimiter = ',')]
        versions: Vec<Version>,
        /// Measured calls per latency cell (version × call × situation).
        #[arg(long, value_name = "N", value_parser = parse_runs, allow_negative_numbers = true, default_value = "30")]
        runs: usize,
        /// call_rcu1() calls per spurious-forcing round.
        #[arg(long, value_name = "N", value_parser = parse_calls, allow_negative_numbers = true, default_value = "1000")]
        calls: usize,
        /// Spurious-forcing rounds per version.
        #[arg(long, value_name = "N", value_parser = parse_rounds, allow_negative_numbers = true, default_value = "3")]
        rounds: usize,
        /// Kick a vCPU that a measured call has waited on for this long (and again every period).
        #[arg(long, value_name = "MS", value_parser = parse_watchdog_ms, allow_negative_numbers = true, default_value = "200")]
        watchdog_ms: u64,
        /// Lock/unlock pairs per read-side batch.
        #[arg(long, value_name = "N", value_parser = parse_read_pairs, allow_negative_numbers = true, default_value = "200000")]
        read_pairs: usize,
        /// Directory for bench.json and the SVG plots (created if missing).
        #[arg(long, value_name = "DIR", default_value = "target/rcu-bench")]
        out: std::path::PathBuf,
        /// Print the JSON report on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// A QEMU tree to measure as C, compiled natively (real pthreads and futexes):
        /// `DIR[=LABEL]` adds version `c:LABEL` (repeatable; see README).
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
    /// Re-execute one recorded schedule and print its trace.
    Replay {
        /// The token printed by `explain` or `matrix --json`.
        token: String,
        /// A QEMU tree to check as C: `DIR[=LABEL]` adds version `c:LABEL` (repeatable; see README).
        #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
        c_trees: Vec<String>,
    },
}

#[derive(clap::Args, Default)]
struct MatrixArgs {
    /// Versions (columns; repeat or comma-separate; default: all).
    #[arg(long = "version", value_name = "V", value_parser = parse_version, value_delimiter = ',')]
    versions: Vec<Version>,
    /// Scenarios (rows; repeat or comma-separate; default: all).
    #[arg(long = "scenario", value_name = "S", value_parser = parse_scenario, value_delimiter = ',')]
    scenarios: Vec<&'static Scenario>,
    /// Run every cell under this checker instead of the scenario's own.
    #[arg(long, value_parser = parse_checker)]
    checker: Option<Checker>,
    /// loom preemption bound for every cell.
    #[arg(long, value_name = "N", value_parser = parse_bound, allow_negative_numbers = true)]
    preemptions: Option<usize>,
    /// shuttle iterations (std: runs) for every cell.
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    iterations: Option<usize>,
    /// Wall-clock budget per cell in seconds; an unfinished exploration is bounded-out.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    budget: Option<f64>,
    /// Machine-readable output: {"cells": [...], "summary": {...}}.
    #[arg(long)]
    json: bool,
    /// Memory-model profile: c11 (default) or tso (x86-TSO hardware).
    #[arg(long, value_parser = parse_profile, default_value = "c11")]
    profile: Profile,
    /// Worker threads (default: number of CPUs).
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    jobs: Option<usize>,
    /// Skip producing replay tokens for violated cells.
    #[arg(long)]
    no_replay: bool,
    /// A QEMU tree to check as C: `DIR[=LABEL]` adds the column `c:LABEL`
    /// (repeatable).  Its expected results are the port's named LABEL, else
    /// v3's for a tree with force_rcu() and master's for one without.
    #[arg(long = "c-tree", value_name = "DIR[=LABEL]")]
    c_trees: Vec<String>,
    /// With --c-tree: per scenario, the C tree's verdict beside its port's
    /// (and the cost ratio); exit 1 when any differs.
    #[arg(long)]
    compare: bool,
    /// The wide table (a bound column, `VIOLATED(kind) time` per cell; about 250 columns
    /// with six versions) instead of the 120-column one.
    #[arg(long)]
    wide: bool,
}

/// Compile and register every `--c-tree DIR[=LABEL]` of the command line
/// (before clap parses it, so that version names `c:LABEL` resolve).
fn load_c_trees() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let spec = if let Some(v) = args[i].strip_prefix("--c-tree=") {
            Some(v.to_string())
        } else if args[i] == "--c-tree" {
            i += 1;
            Some(args.get(i).cloned().ok_or("--c-tree needs a value: DIR[=LABEL], e.g. --c-tree ../qemu=v3")?)
        } else {
            None
        };
        if let Some(spec) = spec {
            models::ctree::load(&spec)?;
        }
        i += 1;
    }
    Ok(())
}

/// The C trees given, as versions.
fn c_versions() -> Vec<Version> {
    models::ctree::all().into_iter().map(Version::C).collect()
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

/// A port (not a C tree).
fn parse_port(s: &str) -> Result<Version, String> {
    match s.parse::<Version>() {
        Ok(v) if !v.is_c() => Ok(v),
        _ => Err(format!(
            "`{s}` is not a port (valid: {})",
            Version::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn parse_scenario(s: &str) -> Result<&'static Scenario, String> {
    catalog::find(s)
}

fn parse_checker(s: &str) -> Result<Checker, String> {
    Checker::parse(s)
}

// The numeric options set `allow_negative_numbers` so that `-1` reaches
// their parser (and its "valid: …" message) instead of reading as a flag.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` is not a positive integer")),
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 64 => Ok(n),
        _ => Err(format!("`{s}` is not a thread count (valid: 0 to 64)")),
    }
}

fn parse_in_range(s: &str, what: &str, lo: u64, hi: u64) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not {what} (valid: {lo} to {hi})")),
    }
}

fn parse_runs(s: &str) -> Result<usize, String> {
    parse_in_range(s, "a number of runs", 1, 10_000).map(|n| n as usize)
}

fn parse_calls(s: &str) -> Result<usize, String> {
    parse_in_range(s, "a number of calls", 1, 100_000).map(|n| n as usize)
}

fn parse_rounds(s: &str) -> Result<usize, String> {
    parse_in_range(s, "a number of rounds", 1, 100).map(|n| n as usize)
}

fn parse_watchdog_ms(s: &str) -> Result<u64, String> {
    parse_in_range(s, "a watchdog period in ms", 10, 60_000)
}

fn parse_read_pairs(s: &str) -> Result<usize, String> {
    parse_in_range(s, "a number of lock/unlock pairs", 1000, 100_000_000).map(|n| n as usize)
}

fn parse_bound(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 10 => Ok(n),
        _ => Err(format!("`{s}` is not a preemption bound (valid: 0 to 10)")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::parse(s)
}

fn parse_operator(s: &str) -> Result<&'static str, String> {
    use rcu_core::site::{BARRIER_OPERATORS, LOGIC_OPERATORS};
    ["barrier", "logic"].into_iter().chain(BARRIER_OPERATORS).chain(LOGIC_OPERATORS).find(|o| *o == s).ok_or_else(
        || {
            format!(
                "unknown mutation operator `{s}` (valid: {}, {}, or the groups barrier, logic)",
                BARRIER_OPERATORS.join(", "),
                LOGIC_OPERATORS.join(", ")
            )
        },
    )
}

/// `barrier` and `logic` stand for their operators.
fn expand_operators(ops: Vec<&'static str>) -> Vec<&'static str> {
    use rcu_core::site::{BARRIER_OPERATORS, LOGIC_OPERATORS};
    let mut out = vec![];
    for op in ops {
        let group: &[&'static str] = match op {
            "barrier" => &BARRIER_OPERATORS,
            "logic" => &LOGIC_OPERATORS,
            _ => std::slice::from_ref(&op),
        };
        for o in group {
            if !out.contains(o) {
                out.push(*o);
            }
        }
    }
    out
}

fn parse_site_bound(s: &str) -> Result<(String, usize), String> {
    let (site, n) = s.split_once('=').ok_or_else(|| format!("bad site bound `{s}` (expected B<n>=N, e.g. B17=3)"))?;
    let site = parse_site(site)?;
    Ok((site.to_string(), parse_bound(n)?))
}

fn parse_site(s: &str) -> Result<&'static str, String> {
    let ids = rcu_core::site::mutable_site_ids();
    ids.iter().find(|&&x| x == s).copied().or_else(|| models::ctree::find_site(s).map(|c| c.id)).ok_or_else(|| {
        format!("unknown or non-mutable site `{s}` (valid: {}, or a --c-tree's FILE:LINE)", ids.join(", "))
    })
}

/// The terminal's stderr while the checker-noise filter is installed.
static TERM: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

/// Write to the real stderr (bypassing the noise filter).
fn term_write(s: &str) {
    match TERM.get() {
        Some(mut f) => {
            let _ = f.write_all(s.as_bytes());
            let _ = f.flush();
        }
        None => {
            let mut e = std::io::stderr();
            let _ = e.write_all(s.as_bytes());
            let _ = e.flush();
        }
    }
}

/// A clap error as one line: clap's message, then what is valid there (the
/// subcommands, the subcommand's arguments, the usage) and clap's suggestion.
fn clap_error_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let text = e.render().to_string();
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let mut msg = lines.next().unwrap_or("bad arguments").trim_start_matches("error: ").trim_end().to_string();
    if msg.ends_with(':') {
        // "the following required arguments were not provided:" and its indented list.
        let items: Vec<&str> =
            lines.take_while(|l| l.starts_with(' ') && !l.trim().is_empty()).map(str::trim).collect();
        msg = format!("{msg} {}", items.join(" "));
    }
    let root = Cli::command();
    let subcommands: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).filter(|n| *n != "help").collect();
    // The top level takes no option with a value: its first word that is not
    // a flag names the subcommand.
    let sub = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .find(|a| !a.starts_with('-'))
        .and_then(|n| root.find_subcommand(&n).cloned());
    let suggestion = [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|k| match e.get(k) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join("`, `")),
            _ => None,
        })
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    let hint = match (e.kind(), &sub) {
        (ErrorKind::InvalidSubcommand, _) | (ErrorKind::UnknownArgument, None) => {
            format!(" (valid: a subcommand, one of {}; or --help, --version{suggestion})", subcommands.join(", "))
        }
        (ErrorKind::UnknownArgument, Some(c)) => {
            let mut valid: Vec<String> = c
                .get_arguments()
                .filter_map(|a| match a.get_long() {
                    Some(l) => Some(format!("--{l}")),
                    None if a.is_positional() => Some(format!("<{}>", a.get_id().as_str().to_uppercase())),
                    None => None,
                })
                .collect();
            valid.push("--help".into());
            format!(" (valid for `{}`: {}{suggestion})", c.get_name(), valid.join(", "))
        }
        (ErrorKind::MissingRequiredArgument, _) => match text.lines().find_map(|l| l.strip_prefix("Usage: ")) {
            Some(u) => format!(" (usage: {})", u.trim()),
            None => " (see --help)".to_string(),
        },
        (ErrorKind::ValueValidation, _) => String::new(),
        (_, Some(c)) => format!(" (see `rcu-check {} --help`)", c.get_name()),
        (_, None) => " (see `rcu-check --help`)".to_string(),
    };
    format!("{msg}{hint}")
}

/// One line on stderr, exit code 2.
fn bad_input(msg: &str) -> ExitCode {
    term_write(&format!("rcu-check: {msg}\n"));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Behave like a Unix filter when the reader goes away (`rcu-check | head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before
    // any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // C trees first: `--version c:LABEL` and `explain c:LABEL …` name them.
    if let Err(e) = load_c_trees() {
        return bad_input(&e);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            return bad_input(&clap_error_line(&e));
        }
    };
    scenarios::harness::install_panic_hook();
    let filter = match cli.cmd {
        // bench runs no checker (nothing to filter) and draws its progress bar on stderr.
        Some(Cmd::List { .. } | Cmd::Bench { .. }) => None,
        _ => scenarios::quiet::filter_stderr(),
    };
    if let Some(f) = &filter {
        if let Ok(c) = f.orig().try_clone() {
            let _ = TERM.set(c);
        }
    }
    let code = run(cli);
    if let Some(f) = filter {
        f.finish();
    }
    code
}

fn run(cli: Cli) -> ExitCode {
    match cli.cmd {
        None => cmd_matrix(MatrixArgs::default()),
        Some(Cmd::List { json, .. }) => cmd_list(json),
        Some(Cmd::Matrix(a)) => cmd_matrix(a),
        Some(Cmd::Mutants {
            versions,
            sites,
            json,
            jobs,
            preemptions,
            site_bounds,
            budget,
            profile,
            operators,
            ..
        }) => {
            let opts = mutants::Opts { preemptions, site_bounds, budget, profile, no_deep: false };
            cmd_mutants(versions, sites, operators, json, jobs, opts)
        }
        Some(Cmd::Explain { version, scenario, checker, preemptions, mutate, budget, profile, .. }) => {
            cmd_explain(version, scenario, checker, preemptions, mutate, budget, profile)
        }
        Some(Cmd::Replay { token, .. }) => cmd_replay(&token),
        Some(Cmd::Review { base, patches, base_patches, port, scenarios, jobs, no_mutants }) => {
            cmd_review(&base, &base_patches, &patches, port, scenarios, jobs, no_mutants)
        }
        Some(Cmd::Bench { versions, runs, calls, rounds, watchdog_ms, read_pairs, out, json, .. }) => {
            let d = scenarios::bench::Opts::default();
            let versions = native_versions(versions);
            if let Err(e) = build_native(&versions) {
                return bad_input(&e);
            }
            let o = scenarios::bench::Opts { versions, runs, calls, rounds, watchdog_ms, read_pairs, ..d };
            cmd_bench(o, &out, json)
        }
        Some(Cmd::Torture { versions, seconds, readers, fake_updaters, watchdog, json, .. }) => {
            let o = scenarios::rcutorture::Opts { readers, fake_updaters, seconds, watchdog_secs: watchdog };
            let versions = native_versions(versions);
            if let Err(e) = build_native(&versions) {
                return bad_input(&e);
            }
            cmd_torture(versions, o, json)
        }
    }
}

/// The versions of a real-threads command: those named, else every port
/// and every `--c-tree` (which runs compiled natively).
fn native_versions(named: Vec<Version>) -> Vec<Version> {
    if named.is_empty() {
        Version::ALL.iter().copied().chain(c_versions()).collect()
    } else {
        named
    }
}

/// Compile each C tree among `versions` natively (once per process), so that
/// a tree that does not build is one line of bad input, not a failed run.
fn build_native(versions: &[Version]) -> Result<(), String> {
    for v in versions {
        if let Version::C(id) = v {
            let t = models::ctree::tree(*id);
            t.native().map_err(|e| format!("{v} ({}): does not build natively: {e}", t.dir.display()))?;
        }
    }
    Ok(())
}

fn cmd_torture(versions: Vec<Version>, o: scenarios::rcutorture::Opts, json: bool) -> ExitCode {
    use scenarios::rcutorture;
    let torture = catalog::find("torture_shuttle").expect("torture_shuttle is in the catalog");
    let mut ok = true;
    let mut cells = vec![];
    let versions_c = versions.iter().any(|v| v.is_c());
    for v in versions {
        let r = rcutorture::run(v, &o);
        let failed = !matches!(r.outcome.verdict, Verdict::Holds);
        // Versions whose torture_shuttle cell is expected to fail may or may
        // not hit their bug on real threads: only the others gate the exit code.
        let must_hold = (torture.expect)(v.port()) == catalog::Expect::Holds;
        if failed && must_hold {
            ok = false;
        }
        if json {
            cells.push(serde_json::json!({
                "version": v.name(), "native": v.is_c(), "verdict": r.outcome.verdict.label(), "kind": r.outcome.verdict.kind(),
                "message": match &r.outcome.verdict { Verdict::Violated { message, .. } => serde_json::json!(message), _ => serde_json::Value::Null },
                "must_hold": must_hold, "seconds": r.outcome.seconds, "options": &r.opts,
                "reads": r.get("reads"), "updates": r.get("updates"), "fake_grace_periods": r.get("fake_grace_periods"),
                "drains": r.get("drains"), "forces": r.get("forces"),
                "callbacks_queued": r.get("callbacks_queued"), "callbacks_run": r.get("callbacks_run"),
                "age_histogram": r.histogram(),
            }));
        } else {
            let note = if failed && !must_hold { "  (known-bad version: see torture_shuttle)" } else { "" };
            println!("{}{note}", rcutorture::report_line(&r));
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "torture": cells })).unwrap());
    } else {
        println!(
            "\nreal threads, {} readers, {} fake updaters, {:.1} s per version: a pass is a smoke test, not evidence (see proofs.md)",
            o.readers, o.fake_updaters, o.seconds
        );
        if versions_c {
            println!(
                "c:LABEL: the tree's util/rcu.c, util/event.c, util/notify.c compiled natively (clang-14 -O2, as QEMU builds on this host) on real pthreads and futexes"
            );
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn cmd_bench(o: scenarios::bench::Opts, out: &std::path::Path, json: bool) -> ExitCode {
    use scenarios::bench;
    // Fail on an unusable output directory before minutes of measuring.
    if let Err(e) = std::fs::create_dir_all(out) {
        return bad_input(&format!(
            "cannot create output directory `{}`: {e} (valid: a writable directory path)",
            out.display()
        ));
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(bench::steps(&o));
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid progress template")
                .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let r = bench::run(&o, &mut |step| match step {
        Some(what) => bar.set_message(what.to_string()),
        None => bar.inc(1),
    });
    bar.finish_and_clear();
    let written = match bench::write_outputs(&r, out) {
        Ok(w) => w,
        Err(e) => {
            term_write(&format!("rcu-check: {e}\n"));
            return ExitCode::from(1);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
    } else {
        print!("{}", bench::render(&r));
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("wrote {}", names.join(", "));
    }
    let failed = r.latency.iter().any(|c| c.error.is_some())
        || r.forcing.iter().any(|c| c.error.is_some())
        || r.read_side.iter().any(|c| c.error.is_some());
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Progress on a terminal, for runs longer than a moment.
struct Progress {
    on: bool,
    start: Instant,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    fn new(json: bool) -> Progress {
        Progress { on: !json && std::io::stderr().is_terminal(), start: Instant::now(), last: Mutex::new(None) }
    }
    fn update(&self, done: usize, total: usize, what: &str) {
        if !self.on || self.start.elapsed().as_secs_f64() < 2.0 {
            return;
        }
        let mut last = self.last.lock().unwrap();
        if last.is_some_and(|l| l.elapsed().as_millis() < 200) && done < total {
            return;
        }
        *last = Some(Instant::now());
        let line: String =
            format!("[{done}/{total}] {:.0}s  {what}", self.start.elapsed().as_secs_f64()).chars().take(150).collect();
        term_write(&format!("\r\x1b[2K{line}"));
    }
    fn finish(&self) {
        if self.on && self.last.lock().unwrap().is_some() {
            term_write("\r\x1b[2K");
        }
    }
}

fn cmd_list(json: bool) -> ExitCode {
    if json {
        let v = serde_json::json!({
            "versions": Version::ALL.into_iter().chain(c_versions()).map(|v| serde_json::to_value(v.info()).unwrap()).collect::<Vec<_>>(),
            "scenarios": catalog::all().iter().map(|s| scenario_json(s)).collect::<Vec<_>>(),
            "sites": all_sites().iter().map(|(s, vs)| site_json(s, vs)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
        return ExitCode::SUCCESS;
    }
    println!("VERSIONS");
    for v in Version::ALL.into_iter().chain(c_versions()) {
        let i = v.info();
        println!("  {:<19} {}", i.name, i.title);
        println!("  {:<19} {}; based on {}", "", i.provenance, i.based_on);
    }
    println!("\nSCENARIOS (checker, default bound; expected result per version)");
    for s in catalog::all() {
        println!("  {:<30} [{}] {}", s.name, matrix::scenario_bound_text(s), s.summary);
        println!("  {:<30} provenance: {}", "", s.provenance);
        if s.scope == Scope::Primitive {
            println!("  {:<30} primitive: {}", "", (s.expect)(Version::Master).label());
        } else {
            let exp: Vec<String> = Version::ALL.iter().map(|v| format!("{}={}", v, (s.expect)(*v).label())).collect();
            println!("  {:<30} expect: {}", "", exp.join(", "));
        }
    }
    println!("\nSITES (barrier B<n>, logic L<n>; ID, kind, Rust function @ file:line, C counterpart; versions)");
    for (s, vs) in all_sites() {
        let kind = match s.kind {
            rcu_core::site::SiteKind::Fence(o) => format!("fence({})", o.name()),
            rcu_core::site::SiteKind::Access(o) => format!("access({})", o.name()),
            rcu_core::site::SiteKind::Rmw(o) => format!("rmw({})", o.name()),
            k => format!("{k:?}").to_lowercase(),
        };
        println!(
            "  {:<5} {:<16} {}() @ {}:{}  [{}]  {}",
            s.id,
            kind,
            s.func,
            s.file,
            s.line,
            if vs.is_empty() { "litmus/scenario".to_string() } else { vs.join(",") },
            s.c_ref
        );
    }
    ExitCode::SUCCESS
}

fn all_sites() -> Vec<(&'static Site, Vec<&'static str>)> {
    let mut v: Vec<&'static Site> = rcu_core::site::SITES.iter().collect();
    v.sort_by(|a, b| rcu_core::site::site_order(a.id, b.id).then(a.module.cmp(b.module)).then(a.line.cmp(&b.line)));
    v.into_iter()
        .map(|s| {
            let vs = Version::ALL
                .iter()
                .filter(|ver| ver.sites().iter().any(|x| std::ptr::eq(*x, s)))
                .map(|ver| ver.name())
                .collect();
            (s, vs)
        })
        .collect()
}

fn site_json(s: &Site, vs: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "id": s.id, "kind": s.kind, "function": s.func, "c": s.c_ref, "comment": s.doc,
        "module": s.module, "file": s.file, "line": s.line, "versions": vs,
        "mutations": s.mutations().iter().map(|m| m.to_string()).collect::<Vec<_>>(),
    })
}

fn scenario_json(s: &'static Scenario) -> serde_json::Value {
    let b = CellSpec::new(s, Version::Master, s.checker);
    serde_json::json!({
        "name": s.name, "family": s.family, "provenance": s.provenance, "summary": s.summary,
        "legend": s.legend, "property": s.property, "scope": s.scope, "checker": s.checker,
        "preemption_bound": s.preemption_bound,
        "preemption_bound_overrides": s.bound_overrides.iter().map(|(v, b)| (v.name().to_string(), serde_json::json!(b))).collect::<serde_json::Map<_, _>>(),
        "iterations": b.bounds.iterations, "pct_depth": b.bounds.pct_depth,
        "loom_threads": s.loom_threads,
        "expected": if s.scope == Scope::Primitive {
            serde_json::json!({"primitive": (s.expect)(Version::Master)})
        } else {
            serde_json::Value::Object(Version::ALL.iter().map(|v| (v.name().to_string(), serde_json::to_value((s.expect)(*v)).unwrap())).collect())
        },
        "windows": s.windows.iter().map(|w| w.what).collect::<Vec<_>>(),
    })
}

fn cmd_matrix(a: MatrixArgs) -> ExitCode {
    let mut o = MatrixOpts::default();
    // Repeated names (`--version master,master`) select a row or column once.
    if !a.versions.is_empty() {
        o.versions = a.versions.clone();
    }
    // Every --c-tree is a column; --compare also needs the port of each.
    for c in c_versions() {
        if a.compare && !o.versions.contains(&c.port()) {
            o.versions.push(c.port());
        }
        o.versions.push(c);
    }
    if a.compare && c_versions().is_empty() {
        return bad_input("--compare needs at least one --c-tree DIR[=LABEL] (it compares a C tree with its port)");
    }
    {
        let mut seen = std::collections::BTreeSet::new();
        o.versions.retain(|v| seen.insert(*v));
    }
    if !a.scenarios.is_empty() {
        o.scenarios = a.scenarios.clone();
        let mut seen = std::collections::BTreeSet::new();
        o.scenarios.retain(|s| seen.insert(s.name));
    }
    o.checker = a.checker;
    if a.checker == Some(Checker::Std) {
        // On real threads a C tree runs compiled natively.
        if let Err(e) = build_native(&o.versions) {
            return bad_input(&e);
        }
    }
    o.preemptions = a.preemptions;
    o.iterations = a.iterations;
    o.budget_secs = a.budget;
    if let Some(j) = a.jobs {
        o.jobs = j;
    }
    o.replay = !a.no_replay;
    o.profile = a.profile;
    #[cfg(not(feature = "loom"))]
    if o.checker == Some(Checker::Loom)
        || (o.checker.is_none() && o.scenarios.iter().any(|s| s.checker == Checker::Loom))
    {
        return bad_input("this rcu-check was built without the `loom` feature");
    }
    let specs = matrix::cells(&o);
    let progress = Progress::new(a.json);
    let results = matrix::run_cells(specs, o.jobs, &|d, n, r| {
        progress.update(d, n, &format!("{} × {}: {}", r.spec.scenario.name, r.spec.version, r.outcome.verdict.label()))
    });
    progress.finish();
    let differ = a.compare.then(|| matrix::compare(&results));
    if a.json {
        let mut j = matrix::render_json(&results);
        if let Some(c) = &differ {
            j["compare"] = matrix::compare_json(c);
        }
        let skipped = matrix::skipped(&o);
        if !skipped.is_empty() {
            j["not_run"] = skipped
                .iter()
                .map(|(s, v, why)| serde_json::json!({"scenario": s, "version": v.name(), "why": why}))
                .collect();
        }
        println!("{}", serde_json::to_string_pretty(&j).unwrap());
    } else {
        let text = if a.wide { matrix::render_wide } else { matrix::render_text };
        print!("{}", text(&results, &o.versions));
        for (s, v, why) in matrix::skipped(&o) {
            println!("not run: {s} × {v}: {why}");
        }
        if let Some(c) = &differ {
            print!("{}", matrix::compare_text(c));
        }
    }
    if differ.as_ref().is_some_and(|c| c.iter().any(|r| !r.same)) {
        return ExitCode::from(1);
    }
    if results.iter().all(|r| r.matches()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn cmd_mutants(
    versions: Vec<Version>,
    sites: Vec<&'static str>,
    operators: Vec<&'static str>,
    json: bool,
    jobs: Option<usize>,
    opts: mutants::Opts,
) -> ExitCode {
    let versions = match (versions.is_empty(), c_versions().is_empty()) {
        (true, true) => Version::ALL.to_vec(),
        (true, false) => c_versions(),
        (false, _) => {
            let mut v = versions;
            v.extend(c_versions().into_iter().filter(|c| !v.contains(c)).collect::<Vec<_>>());
            v
        }
    };
    // A --site must be mutable in at least one selected version.
    let valid = mutants::mutable_site_ids_of(&versions);
    if let Some(s) = sites.iter().find(|s| !valid.contains(s)) {
        let names: Vec<&str> = versions.iter().map(|v| v.name()).collect();
        return bad_input(&format!(
            "site {s} is not a mutable site of {} (valid: {})",
            names.join(", "),
            valid.join(", ")
        ));
    }
    let operators = expand_operators(operators);
    let js = mutants::justifications(mutants::PROOFS_MD);
    let mut work = vec![];
    for v in &versions {
        for (s, m) in mutants::mutants_of(*v) {
            if (sites.is_empty() || sites.contains(&s.id))
                && (operators.is_empty() || operators.contains(&m.operator()))
            {
                work.push((*v, s, m));
            }
        }
    }
    if work.is_empty() {
        if !sites.is_empty() && !operators.is_empty() {
            // Every --site exists, but no --operator applies to it.
            let valid: Vec<String> = sites
                .iter()
                .map(|id| {
                    let mut ms: Vec<String> = vec![];
                    for v in &versions {
                        for (s, m) in mutants::mutants_of(*v) {
                            let op = m.operator().to_string();
                            if s.id == *id && !ms.contains(&op) {
                                ms.push(op);
                            }
                        }
                    }
                    format!("{id}: {}", ms.join(", "))
                })
                .collect();
            return bad_input(&format!(
                "operator {} does not apply to site {} (valid: {})",
                operators.join(","),
                sites.join(","),
                valid.join("; ")
            ));
        }
        return bad_input("the selected versions have no mutable site");
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let progress = Progress::new(json);
    let started = Instant::now();
    let n = work.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<mutants::MutantResult>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|sc| {
        for _ in 0..jobs.min(n) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (v, s, m) = work[i];
                let r = mutants::run_mutant(v, s, m, &js, &opts);
                let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress.update(d, n, &format!("{v} {} {}: {}", s.id, m, mutants::status_label(&r.status)));
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    progress.finish();
    let results: Vec<mutants::MutantResult> = results.into_inner().unwrap().into_iter().flatten().collect();
    let ttc: Vec<f64> = results
        .iter()
        .filter_map(|r| match r.status {
            mutants::Status::Killed { seconds, .. } => Some(seconds),
            _ => None,
        })
        .collect();
    let mm = matrix::median_max(ttc.clone());
    // A C site that is a port's B<n>, both mutated the same way in this run:
    // does one die and not the other?
    let killed = |r: &mutants::MutantResult| matches!(r.status, mutants::Status::Killed { .. });
    let disagree: Vec<(&mutants::MutantResult, &mutants::MutantResult)> = results
        .iter()
        .filter_map(|c| {
            let b = models::ctree::port_site(c.version, c.site)?;
            let p =
                results.iter().find(|p| p.version == c.version.port() && p.site.id == b && p.mutation == c.mutation)?;
            (killed(c) != killed(p)).then_some((c, p))
        })
        .collect();
    let count = |l: &str| results.iter().filter(|r| mutants::status_label(&r.status) == l).count();
    let wall = started.elapsed().as_secs_f64();
    // Kill score per family (barrier / logic), reported separately.
    let families: Vec<(&str, serde_json::Value)> = ["barrier", "logic"]
        .into_iter()
        .map(|f| {
            let of: Vec<&mutants::MutantResult> = results.iter().filter(|r| mutants::family(r.mutation) == f).collect();
            (f, mutants::kill_score(&of))
        })
        .filter(|(_, s)| s["mutants"].as_u64().unwrap_or(0) > 0)
        .collect();
    // Kill score per operator: `killed/total`.
    let score: Vec<(&str, usize, usize)> = rcu_core::site::BARRIER_OPERATORS
        .into_iter()
        .chain(rcu_core::site::LOGIC_OPERATORS)
        .map(|op| {
            let of: Vec<_> = results.iter().filter(|r| r.mutation.operator() == op).collect();
            (op, of.iter().filter(|r| matches!(r.status, mutants::Status::Killed { .. })).count(), of.len())
        })
        .filter(|(_, _, n)| *n > 0)
        .collect();
    if json {
        let v = serde_json::json!({
            "mutants": results.iter().map(mutants::mutant_json).collect::<Vec<_>>(),
            "summary": {
                "mutants": results.len(), "killed": count("killed"), "justified": count("justified"),
                "inconclusive": count("inconclusive"), "survived": count("survived"),
                "profile": opts.profile.name(),
                "by_operator": score.iter().map(|(op, k, n)| serde_json::json!({"operator": op, "killed": k, "mutants": n})).collect::<Vec<_>>(),
                "time_to_counterexample": {"n": ttc.len(), "median_seconds": mm.map(|m| m.0), "max_seconds": mm.map(|m| m.1)},
                "families": families.iter().map(|(f, s)| (f.to_string(), s.clone())).collect::<serde_json::Map<_, _>>(),
                "wall_seconds": wall,
            },
            "c_port_disagreements": disagree.iter().map(|(c, p)| serde_json::json!({
                "version": c.version.name(), "site": c.site.id, "port": p.version.name(), "port_site": p.site.id,
                "mutation": c.mutation.to_string(), "c_status": mutants::status_label(&c.status),
                "port_status": mutants::status_label(&p.status),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        println!("{:<19} {:<5} {:<16} {:<10} detail", "version", "site", "mutation", "status");
        for r in &results {
            let detail = match &r.status {
                mutants::Status::Killed { by, kind, seconds } => {
                    format!("killed by {by} ({kind}) in {}", matrix::secs(*seconds))
                }
                mutants::Status::Justified { class, why } => format!("justified ({class}): {why}"),
                mutants::Status::Inconclusive { bounded_out } => {
                    format!("INCONCLUSIVE: no verdict, cells ran out of budget: {}", bounded_out.join(", "))
                }
                mutants::Status::Survived => {
                    format!("SURVIVED {} scenario(s): a gap (not justified in proofs.md)", r.tried.len())
                }
            };
            let c = match (r.version.is_c(), models::ctree::port_site(r.version, r.site)) {
                (false, _) => String::new(),
                (true, Some(b)) => format!(" [{}; port site {b}]", r.site.c_ref),
                (true, None) => format!(" [{}]", r.site.c_ref),
            };
            println!(
                "{:<19} {:<5} {:<16} {:<10} {detail}{c}",
                r.version.name(),
                r.site.id,
                r.mutation.to_string(),
                mutants::status_label(&r.status)
            );
        }
        for (c, p) in &disagree {
            println!(
                "C and port disagree: {} {} {} is {}, {} {} {} is {}",
                c.version,
                c.site.id,
                c.mutation,
                mutants::status_label(&c.status),
                p.version,
                p.site.id,
                p.mutation,
                mutants::status_label(&p.status)
            );
        }
        println!(
            "\n{} mutants ({} profile): {} killed, {} justified survivors, {} inconclusive, {} unexplained survivors",
            results.len(),
            opts.profile.name(),
            count("killed"),
            count("justified"),
            count("inconclusive"),
            count("survived")
        );
        for (f, s) in &families {
            let n = |k: &str| s[k].as_u64().unwrap_or(0);
            let classes: Vec<String> = mutants::CLASSES
                .iter()
                .map(|c| format!("{} {c}", s["justified_by_class"][*c].as_u64().unwrap_or(0)))
                .collect();
            let ttk = &s["time_to_kill"];
            let time = match (ttk["median_seconds"].as_f64(), ttk["max_seconds"].as_f64()) {
                (Some(m), Some(x)) => format!("time to kill median {}, max {}", matrix::secs(m), matrix::secs(x)),
                _ => "no kill".to_string(),
            };
            println!(
                "{f} mutants: {}/{} killed; {} justified survivors ({}); {} inconclusive; {} unexplained; {time}",
                n("killed"),
                n("mutants"),
                n("justified"),
                classes.join(", "),
                n("inconclusive"),
                n("survived"),
            );
        }
        let per_op: Vec<String> = score.iter().map(|(op, k, n)| format!("{op} {k}/{n}")).collect();
        println!("killed per operator: {}; wall time {}", per_op.join(", "), matrix::secs(wall));
        if let Some((m, x)) = mm {
            println!(
                "time to first counterexample over {} killed mutants: median {}, max {}",
                ttc.len(),
                matrix::secs(m),
                matrix::secs(x)
            );
        }
    }
    if count("survived") == 0 && count("inconclusive") == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_counterexample(r: &cell::CellResult) {
    let s = r.spec.scenario;
    println!("scenario   {} ({})", s.name, s.summary);
    println!("version    {}", r.spec.version);
    println!("checker    {}", matrix::bound_text(&r.spec));
    if !r.spec.mutations.is_empty() {
        println!("mutations  {}", r.spec.mutations);
    }
    match &r.outcome.verdict {
        Verdict::Violated { kind, message } => println!("verdict    VIOLATED ({kind}): {message}"),
        v => println!("verdict    {}", v.label()),
    }
    println!("found in   execution {} after {}", r.outcome.executions, matrix::secs(r.outcome.seconds));
    println!("\nlegend\n{}\n", indent(s.legend));
    print!("{}", render::thread_table(&r.outcome.trace, &r.outcome.threads, 46));
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {}", l.trim_start())).collect::<Vec<_>>().join("\n")
}

fn cmd_explain(
    version: Version,
    scenario: &'static Scenario,
    checker: Option<Checker>,
    preemptions: Option<usize>,
    mutate: Option<String>,
    budget: Option<f64>,
    profile: Profile,
) -> ExitCode {
    let mutations = match cell::parse_mutations(mutate.as_deref().unwrap_or("")) {
        Ok(m) => m,
        Err(e) => return bad_input(&e),
    };
    // A site of another version would silently mutate nothing (sites of
    // scenario and litmus code belong to no version and are left to the scenario).
    let own: Vec<&'static str> = version.sites().iter().map(|s| s.id).collect();
    let of_some_version = |id: &str| Version::ALL.iter().any(|v| v.sites().iter().any(|s| s.id == id));
    if let Some((id, _)) = mutations.iter().find(|(id, _)| !own.contains(id) && of_some_version(id)) {
        let valid = mutants::mutable_site_ids_of(&[version]);
        return bad_input(&format!("site {id} is not in version {version} (its mutable sites: {})", valid.join(", ")));
    }
    let checker = checker.unwrap_or(scenario.checker);
    if let Some(why) = catalog::not_on(scenario, version, checker) {
        return bad_input(&format!("{} cannot run on {version}: {why}", scenario.name));
    }
    let mut base = CellSpec::new(scenario, version, checker);
    base.profile = profile;
    if let Some(b) = budget {
        base.bounds.budget_secs = b;
    } else if version.is_c() {
        base.bounds.budget_secs *= matrix::C_BUDGET_FACTOR;
    }
    let top = preemptions.unwrap_or(base.bounds.preemption_bound);
    // Fewest preemptions first: the first bound that fails gives the shortest
    // story (loom); shuttle: PCT depth 1 up to the scenario's depth when that
    // is small, else the scenario's depth alone (a deep PCT search at every
    // lower depth would take minutes for the rcutorture-sized programs).
    let depth = base.bounds.pct_depth;
    let steps: Vec<usize> = match checker {
        Checker::Loom => (0..=top).collect(),
        Checker::Shuttle if depth <= 3 => (1..=depth).collect(),
        Checker::Shuttle => vec![depth],
        Checker::Std => vec![0],
    };
    let mut last = None;
    for k in steps {
        let mut spec = base.clone();
        spec.mutations = mutations.clone();
        spec.capture = true;
        spec.want_replay = true;
        match checker {
            Checker::Loom => spec.bounds.preemption_bound = k,
            Checker::Shuttle => spec.bounds.pct_depth = k,
            Checker::Std => {}
        }
        let r = cell::run_cell(&spec);
        if matches!(r.outcome.verdict, Verdict::Violated { .. }) {
            print_counterexample(&r);
            match &r.replay {
                Some(t) => println!("\nreplay: cargo rcu-check replay {}{t}", c_tree_args(version)),
                None => println!("\n(no replay token: {} runs cannot be replayed)", checker),
            }
            return ExitCode::SUCCESS;
        }
        last = Some(r);
    }
    let r = last.expect("at least one bound tried");
    println!(
        "{} × {}: {} — no counterexample within {} ({} executions, {}); nothing to explain",
        scenario.name,
        version,
        r.outcome.verdict.label(),
        matrix::bound_text(&r.spec),
        r.outcome.executions,
        matrix::secs(r.outcome.seconds)
    );
    ExitCode::SUCCESS
}

/// `--c-tree DIR=LABEL ` for a C version (what `replay` needs to find it).
fn c_tree_args(v: Version) -> String {
    match v {
        Version::C(id) => {
            let t = models::ctree::tree(id);
            format!("--c-tree {}={} ", t.dir.display(), t.label)
        }
        _ => String::new(),
    }
}

fn cmd_review(
    base: &std::path::Path,
    base_patches: &[std::path::PathBuf],
    patches: &[std::path::PathBuf],
    port: Option<Version>,
    scenarios: Vec<&'static Scenario>,
    jobs: Option<usize>,
    no_mutants: bool,
) -> ExitCode {
    use scenarios::review;
    let started = Instant::now();
    let review::Applied { base: base_dir, patched: dir, outside } = match review::apply(base, base_patches, patches) {
        Ok(x) => x,
        Err(e) => return bad_input(&e),
    };
    let load = |spec: String, what: &str| models::ctree::load(&spec).map_err(|e| format!("the {what} tree: {e}"));
    let (b, p) = match (
        load(format!("{}=base", base_dir.display()), "base"),
        load(format!("{}={}", dir.display(), port.map(|v| v.name()).unwrap_or("patched")), "patched"),
    ) {
        (Ok(b), Ok(p)) => (b, p),
        (Err(e), _) | (_, Err(e)) => return bad_input(&e),
    };
    let names = |ps: &[std::path::PathBuf]| ps.iter().map(|p| format!(" + {}", p.display())).collect::<String>();
    println!("base     {}{} (expected results: {})", base.display(), names(base_patches), b.port());
    println!("patched  {}{}{} (expected results: {})", base.display(), names(base_patches), names(patches), p.port());
    if !base_patches.is_empty() {
        println!("         (base as checked: {}; patched: {})", base_dir.display(), dir.display());
    }
    if !outside.is_empty() {
        println!("not compiled (outside util/, include/, linux-headers/): {}", outside.join(", "));
    }
    let mut o = MatrixOpts { versions: vec![b, p], ..MatrixOpts::default() };
    if !scenarios.is_empty() {
        o.scenarios = scenarios;
    }
    o.scenarios.retain(|s| s.scope == Scope::Versions);
    if let Some(j) = jobs {
        o.jobs = j;
    }
    o.replay = false;
    let mut cells = matrix::cells(&o);
    let other_bounds = review::same_bounds(&mut cells, p);
    let progress = Progress::new(false);
    let results = matrix::run_cells(cells, o.jobs, &|d, n, r| {
        progress.update(d, n, &format!("{} × {}: {}", r.spec.scenario.name, r.spec.version, r.outcome.verdict.label()))
    });
    progress.finish();
    println!("\n{:<34} {:<26} {:<26} change", "scenario", "base", "patched");
    let pairs = review::changed(&results, b, p);
    for (rb, rp) in &pairs {
        let (vb, vp) = (review::verdict(rb), review::verdict(rp));
        let mark = if review::is_new_violation(rb, rp) {
            "NEW VIOLATION"
        } else if vb != vp {
            "changed"
        } else {
            ""
        };
        println!("{:<34} {:<26} {:<26} {mark}", rb.spec.scenario.name, vb, vp);
    }
    if !other_bounds.is_empty() {
        let list: Vec<String> = other_bounds.iter().map(|(n, b)| format!("{n} pb={b}")).collect();
        println!(
            "both columns at the bound of {}'s cell (another than the scenario's default): {}",
            p.port().name(),
            list.join(", ")
        );
    }
    let d = review::site_diff(b, p);
    println!(
        "\nbarriers (C lines with fences or ordered atomics): {} added, {} removed, {} moved",
        d.added.len(),
        d.removed.len(),
        d.moved.len()
    );
    for s in &d.removed {
        println!("  removed  {}", s.c_ref);
    }
    let js = mutants::justifications(mutants::PROOFS_MD);
    let mopts =
        mutants::Opts { preemptions: None, site_bounds: vec![], budget: None, profile: Profile::C11, no_deep: true };
    let touched: Vec<(&str, &'static Site)> =
        d.added.iter().map(|s| ("added", *s)).chain(d.moved.iter().map(|(_, s)| ("moved", *s))).collect();
    for (what, s) in touched {
        let status = if no_mutants {
            String::new()
        } else {
            let r = mutants::run_mutant_with(
                p,
                s,
                rcu_core::site::Mutation::Drop,
                &js,
                &mopts,
                review::killers(&results, p, s),
            );
            match &r.status {
                mutants::Status::Killed { by, kind, .. } => format!(" — drop: killed by {by} ({kind})"),
                st => format!(" — drop: {}", mutants::status_label(st)),
            }
        };
        println!("  {what:<8} {} (in {}){status}", s.c_ref, s.func);
    }
    let mut new = 0;
    for (_, rp) in pairs.iter().filter(|(rb, rp)| review::is_new_violation(rb, rp)) {
        new += 1;
        let mut spec = rp.spec.clone();
        spec.capture = true;
        spec.want_replay = true;
        let r = cell::run_cell(&spec);
        println!("\n── new counterexample ──");
        print_counterexample(&r);
        if let Some(t) = &r.replay {
            let label = port.map(|v| v.name()).unwrap_or("patched");
            println!("\nreplay: cargo rcu-check replay --c-tree {}={label} {t}", dir.display());
        }
    }
    println!(
        "\n{} scenario(s) on base and patched, {} new violation(s); {:.0} s",
        pairs.len(),
        new,
        started.elapsed().as_secs_f64()
    );
    if new == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn cmd_replay(token: &str) -> ExitCode {
    match cell::replay(token) {
        Err(e) => bad_input(&e),
        Ok(r) => {
            print_counterexample(&r);
            if !matches!(r.outcome.verdict, Verdict::Violated { .. }) {
                println!("\nthe recorded schedule no longer fails: the model or the scenario changed since the token was made");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
    }
}
