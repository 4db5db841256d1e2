//! Generated thread programs (issue #4, item 4; scenarios/src/program.rs):
//! proptest generates small programs of read sections (nested), call_rcu1,
//! synchronize_rcu, drain_call_rcu, force_rcu, re-registration and notifier
//! add/remove, and checks them under shuttle (and small ones under loom).
//!
//! * master, unify and v3 must hold every generated program;
//! * the same property over `seed` must find a failing program (positive
//!   control: the generator and the checks can fail);
//! * the text form round-trips, and bad text is rejected with a useful error.
//!
//! A failure is shrunk by proptest, then minimised ([`Program::minimise`]),
//! and the message prints the program text: keep it as a named scenario in
//! scenarios/src/catalog/regressions.rs (the ignored `check_program` test
//! checks one program text on every version).  proptest's own regression
//! file (which only stores seeds) is not written.  The RNG seeds are fixed
//! so that the run time is stable; `PROPTEST_CASES=<n> PROPTEST_RNG_SEED=<n>`
//! soaks other programs (the positive control on seed ignores both).

use models::Version;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use scenarios::harness::Verdict;
use scenarios::program::{self, check_loom, check_shuttle, describe, Op, Program};

/// shuttle executions per program and version.
const SHUTTLE_ITERATIONS: usize = 2000;
/// The shuttle seed (fixed: a program's verdict must not change while proptest shrinks it).
const SHUTTLE_SEED: u64 = 0x5eed;
/// Programs per version in the shuttle property.
const SHUTTLE_CASES: u32 = 32;
/// Programs in the positive control on seed (it stops at the first failure).
const SEED_CASES: u32 = 64;
/// loom: programs, and the preemption bound.
const LOOM_CASES: u32 = 16;
const LOOM_PB: usize = 1;

/// `cases` programs from a fixed RNG seed; `PROPTEST_CASES` and
/// `PROPTEST_RNG_SEED` override both (for a longer soak), and no regression
/// file is written.
fn config(cases: u32, rng_seed: u64) -> Config {
    let mut c = Config { failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if c.rng_seed == RngSeed::Random {
        c.rng_seed = RngSeed::Fixed(rng_seed);
    }
    c
}

fn fail_message(checker: &str, v: Version, prog: &Program, what: String) -> String {
    format!(
        "program `{prog}` on {v} under {checker}: {what}\n\
         add it to scenarios/src/catalog/regressions.rs as a named regression scenario \
         (const PROGRAM: &str = \"{prog}\"; checker {checker}; expected result per version)"
    )
}

fn shuttle_fails(v: Version, prog: &Program) -> bool {
    !matches!(check_shuttle(v, prog, SHUTTLE_ITERATIONS, SHUTTLE_SEED).verdict, Verdict::Holds)
}

fn holds_under_shuttle(v: Version, prog: &Program) -> Result<(), TestCaseError> {
    let o = check_shuttle(v, prog, SHUTTLE_ITERATIONS, SHUTTLE_SEED);
    match o.verdict {
        Verdict::Holds => Ok(()),
        _ => Err(TestCaseError::fail(fail_message("shuttle", v, prog, describe(&o)))),
    }
}

/// Run the shuttle property on `v`; on failure, finish proptest's shrinking
/// with [`Program::minimise`] and return the minimal program.
fn shuttle_property(v: Version, config: Config) -> Result<(), (Program, Program)> {
    let mut runner = TestRunner::new(config);
    match runner.run(&program::strategy(3, 3), |prog| holds_under_shuttle(v, &prog)) {
        Ok(()) => Ok(()),
        Err(TestError::Fail(_, shrunk)) => {
            let min = shrunk.minimise(|p| shuttle_fails(v, p));
            Err((shrunk, min))
        }
        Err(TestError::Abort(why)) => panic!("proptest aborted on {v}: {why}"),
    }
}

fn generated_programs_hold(v: Version, rng_seed: u64) {
    if let Err((shrunk, min)) = shuttle_property(v, config(SHUTTLE_CASES, rng_seed)) {
        let o = check_shuttle(v, &min, SHUTTLE_ITERATIONS, SHUTTLE_SEED);
        panic!(
            "a generated program fails on {v} (proptest shrank it to `{shrunk}`, minimised to `{min}`):\n{}",
            fail_message("shuttle", v, &min, describe(&o))
        );
    }
}

#[test]
fn generated_programs_hold_on_master_under_shuttle() {
    generated_programs_hold(Version::Master, 0x4d41);
}

#[test]
fn generated_programs_hold_on_unify_under_shuttle() {
    generated_programs_hold(Version::Unify, 0x554e);
}

#[test]
fn generated_programs_hold_on_v3_under_shuttle() {
    generated_programs_hold(Version::V3, 0x5633);
}

#[test]
fn small_generated_programs_hold_under_loom() {
    let versions = prop_oneof![Just(Version::Master), Just(Version::Unify), Just(Version::V3)];
    let mut runner = TestRunner::new(config(LOOM_CASES, 0x4c4f));
    let r = runner.run(&(versions, program::strategy(2, 2)), |(v, prog)| {
        let o = check_loom(v, &prog, LOOM_PB);
        match o.verdict {
            Verdict::Holds => Ok(()),
            _ => Err(TestCaseError::fail(fail_message("loom", v, &prog, describe(&o)))),
        }
    });
    match r {
        Ok(()) => {}
        Err(TestError::Fail(why, (v, prog))) => {
            panic!("a small generated program fails on {v} under loom (shrunk to `{prog}`):\n{why}")
        }
        Err(TestError::Abort(why)) => panic!("proptest aborted: {why}"),
    }
}

/// Positive control: the same property over `seed`, which has the lost
/// wake-up of call_rcu_enqueue_race, finds a failing program; the shrunk
/// and minimised program still fails when re-run, as a deadlock.
#[test]
fn the_property_finds_a_failing_program_on_seed() {
    // Not overridden by the environment: this must find its failure.
    let fixed =
        Config { cases: SEED_CASES, rng_seed: RngSeed::Fixed(0x5eed), failure_persistence: None, ..Config::default() };
    let (shrunk, min) = match shuttle_property(Version::Seed, fixed) {
        Err(found) => found,
        Ok(()) => panic!("the property found no failing program on seed in {SEED_CASES} cases: the generator or the check lost its power"),
    };
    let again = check_shuttle(Version::Seed, &min, SHUTTLE_ITERATIONS, SHUTTLE_SEED);
    eprintln!("seed: proptest shrank a failure to `{shrunk}`, minimised to `{min}`: {}", describe(&again));
    assert!(min.len() <= shrunk.len(), "`{min}` is larger than `{shrunk}`");
    assert!(min.simpler().iter().all(|p| !shuttle_fails(Version::Seed, p)), "`{min}` is not minimal");
    match &again.verdict {
        Verdict::Violated { kind, .. } if kind == "deadlock" => {}
        _ => panic!(
            "{}",
            fail_message(
                "shuttle",
                Version::Seed,
                &min,
                format!("a new kind of failure on seed: {}", describe(&again))
            )
        ),
    }
}

proptest! {
    #![proptest_config(config(256, 0x7478))]
    #[test]
    fn program_text_round_trips(prog in program::strategy(program::MAX_THREADS, program::MAX_OPS)) {
        let text = prog.to_string();
        let back: Program = text.parse().map_err(TestCaseError::fail)?;
        prop_assert_eq!(&back, &prog);
        prop_assert_eq!(back.to_string(), text);
    }
}

#[test]
fn program_text_examples() {
    let p: Program = "read2@1 call sync | drain force | read1@0 rereg notifier".parse().unwrap();
    assert_eq!(
        p.threads,
        vec![
            vec![Op::Read { depth: 2, slot: 1 }, Op::Call, Op::Sync],
            vec![Op::Drain, Op::Force],
            vec![Op::Read { depth: 1, slot: 0 }, Op::Rereg, Op::Notifier],
        ]
    );
    assert_eq!(p.to_string(), "read2@1 call sync | drain force | read1@0 rereg notifier");
    // Spacing is free; the text form is canonical.
    let q: Program = "  call   call|call ".parse().unwrap();
    assert_eq!(q.to_string(), "call call | call");
    assert_eq!(format!("{q:?}"), "Program(\"call call | call\")");
}

#[test]
fn bad_program_text_is_rejected_with_a_useful_error() {
    let cases: &[(&str, &[&str])] = &[
        ("call | jump", &["unknown op `jump`", "thread 1", "valid: read1@<slot>", "notifier"]),
        ("read3@0", &["bad nesting depth `3`", "valid depths are 1..=2"]),
        ("read1@2 | call", &["bad slot `2`", "valid: 0..=1"]),
        ("read1", &["names no slot", "read1@<slot>"]),
        ("call || call", &["thread 1 has no ops", "separated by `|`"]),
        ("", &["thread 0 has no ops"]),
        ("call | call | call | call | call | call | call | call | call", &["9 threads", "at most 8"]),
    ];
    for (text, needles) in cases {
        let e = text.parse::<Program>().expect_err(text);
        assert!(!e.contains('\n'), "not one line: {e}");
        assert!(e.contains(&format!("`{text}`")), "the error does not quote the program: {e}");
        for n in *needles {
            assert!(e.contains(n), "error for `{text}` lacks `{n}`: {e}");
        }
    }
}

#[test]
fn every_regression_program_parses_and_round_trips() {
    use scenarios::catalog::{self, regressions};
    assert!(!regressions::PROGRAMS.is_empty());
    for (name, text) in regressions::PROGRAMS {
        let s = catalog::find(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.family, "regressions", "{name}");
        let p: Program = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&p.to_string(), text, "{name}: the program text is not in canonical form");
    }
    let listed: Vec<&str> = regressions::PROGRAMS.iter().map(|(n, _)| *n).collect();
    for s in regressions::SCENARIOS.iter() {
        assert!(listed.contains(&s.name), "{} is missing from regressions::PROGRAMS", s.name);
    }
}

/// Check one program by hand, e.g. a candidate regression:
/// `PROGRAM='sync | call call' [VERSIONS=seed,v3] [ITERATIONS=20000] [PCT_DEPTH=8] [LOOM_PB=1]
/// cargo test --release -p scenarios --test proptest -- --ignored check_program --nocapture`.
#[test]
#[ignore = "manual: set PROGRAM"]
fn check_program() {
    fn env<T: std::str::FromStr>(k: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        std::env::var(k).ok().map(|s| s.parse().unwrap_or_else(|e| panic!("{k}={s}: {e}")))
    }
    let prog: Program = env("PROGRAM").expect("set PROGRAM to a program text");
    let versions: Vec<Version> = std::env::var("VERSIONS")
        .map(|s| s.split(',').map(|v| v.trim().parse().unwrap_or_else(|e| panic!("{e}"))).collect())
        .unwrap_or_else(|_| Version::ALL.to_vec());
    let loom_pb: Option<usize> = env("LOOM_PB");
    let b = scenarios::harness::Bounds {
        iterations: env("ITERATIONS").unwrap_or(SHUTTLE_ITERATIONS),
        pct_depth: env("PCT_DEPTH").unwrap_or(program::SHUTTLE_PCT_DEPTH),
        seed: SHUTTLE_SEED,
        ..Default::default()
    };
    for v in versions {
        let o = match loom_pb {
            Some(pb) => check_loom(v, &prog, pb),
            None => program::check_shuttle_with(v, &prog, &b),
        };
        eprintln!("{v}: {}\n  observed {:?}\n  probes {:?}", describe(&o), o.stats.obs, o.stats.probes);
    }
}
