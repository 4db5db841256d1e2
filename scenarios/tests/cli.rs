//! The `rcu-check` binary as a user runs it: every subcommand on small, fast
//! cells (stdout, stderr, exit code, the JSON schemas), the explain → replay
//! round trip, and bad input, which must always be one line on stderr saying
//! what is wrong and what is valid, nothing on stdout, and exit code 2.
//!
//! Cells are picked to take well under a second each (`--jobs 1`, so the file
//! stays cheap on a busy machine); the whole file runs in a few seconds in release.

use std::process::Command;

use models::Version;
use serde_json::Value;

/// One run of the binary.
struct Run {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "rcu-check {:?}: exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    /// Exit code `code` and nothing on stderr (the checkers' own banners are
    /// filtered; a success prints only its report).
    fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "{}", self.describe());
        assert!(self.stderr.is_empty(), "unexpected stderr: {}", self.describe());
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.describe()))
    }
}

fn rcu_check(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcu-check"));
    cmd.args(args);
    // The checkers' and the trace's environment knobs would change bounds,
    // output or timing: run as a user with none set.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("LOOM_") || k.starts_with("SHUTTLE_") || k == "RCU_LOG" || k == "RUST_BACKTRACE" {
            cmd.env_remove(&*k);
        }
    }
    let out = cmd.output().expect("run rcu-check");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        // A signal (a crash) has no code: never one of the codes expected here.
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn version_names() -> Vec<&'static str> {
    Version::ALL.iter().map(|v| v.name()).collect()
}

fn scenario_names() -> Vec<&'static str> {
    scenarios::catalog::all().iter().map(|s| s.name).collect()
}

/// The token of the `replay: cargo rcu-check replay <token>` line.
fn replay_token(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: cargo rcu-check replay "))
        .unwrap_or_else(|| panic!("no replay command in:\n{stdout}"));
    assert!(line.starts_with("rcu1."), "{line}");
    line.trim().to_string()
}

/// The rows of the thread-column table (from its header to the first blank line).
fn thread_table(stdout: &str) -> Vec<&str> {
    stdout.lines().skip_while(|l| !l.starts_with("step |")).take_while(|l| !l.trim().is_empty()).collect()
}

fn verdict_line(stdout: &str) -> &str {
    stdout.lines().find(|l| l.starts_with("verdict ")).unwrap_or_else(|| panic!("no verdict line in:\n{stdout}"))
}

// ---------------------------------------------------------------- list

#[test]
fn list_text_names_every_version_scenario_and_site_section() {
    let r = rcu_check(&["list"]).expect(0);
    for section in ["VERSIONS", "SCENARIOS", "SITES (barrier B<n>, logic L<n>"] {
        assert!(r.stdout.lines().any(|l| l.starts_with(section)), "no {section} section:\n{}", r.stdout);
    }
    for v in version_names() {
        assert!(r.stdout.lines().any(|l| l.trim_start().starts_with(v)), "version {v} not listed:\n{}", r.stdout);
    }
    for s in scenario_names() {
        assert!(r.stdout.contains(s), "scenario {s} not listed");
    }
    assert!(r.stdout.lines().any(|l| l.trim_start().starts_with("B12 ")), "site B12 not listed");
    assert!(r.stdout.lines().any(|l| l.trim_start().starts_with("L1 ")), "logic site L1 not listed");
}

#[test]
fn list_json_has_versions_scenarios_and_sites() {
    let r = rcu_check(&["list", "--json"]).expect(0);
    let j = r.json();

    let versions: Vec<&str> = j["versions"]
        .as_array()
        .expect("versions array")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_else(|| panic!("version without a name: {v}")))
        .collect();
    assert_eq!(versions, version_names());

    let scenarios: Vec<&str> = j["scenarios"]
        .as_array()
        .expect("scenarios array")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_else(|| panic!("scenario without a name: {s}")))
        .collect();
    assert_eq!(scenarios, scenario_names());

    let sites = j["sites"].as_array().expect("sites array");
    assert!(!sites.is_empty());
    for s in sites {
        for key in ["id", "kind", "function", "file", "line", "comment", "versions", "mutations"] {
            assert!(s.get(key).is_some(), "site without `{key}`: {s}");
        }
        assert!(s["id"].as_str().is_some_and(|id| id.starts_with('B') || id.starts_with('L')), "{s}");
        assert!(s["function"].as_str().is_some(), "{s}");
        assert!(s["file"].as_str().is_some_and(|f| f.ends_with(".rs")), "{s}");
        assert!(s["line"].as_u64().is_some_and(|n| n > 0), "{s}");
        for v in s["versions"].as_array().expect("versions is an array") {
            assert!(versions.contains(&v.as_str().unwrap_or("")), "unknown version {v} in {s}");
        }
        assert!(s["mutations"].is_array(), "{s}");
    }
    // B12 (smp_mb_global() in wait_for_readers) is on master and can be dropped.
    let b12 = sites
        .iter()
        .find(|s| s["id"] == "B12" && s["versions"].as_array().unwrap().iter().any(|v| v == "master"))
        .expect("B12 on master");
    assert!(b12["mutations"].as_array().unwrap().iter().any(|m| m == "drop"), "{b12}");
    // L1 (qemu_event_set(&rcu_gp_event) in rcu_read_unlock) is on every version and can be dropped.
    let l1 = sites.iter().find(|s| s["id"] == "L1").expect("L1");
    assert_eq!(l1["versions"].as_array().unwrap().len(), versions.len(), "{l1}");
    assert_eq!(l1["mutations"], serde_json::json!(["drop-call"]), "{l1}");
}

// ---------------------------------------------------------------- matrix

fn only_cell(j: &Value) -> &Value {
    let cells = j["cells"].as_array().expect("cells array");
    assert_eq!(cells.len(), 1, "{j}");
    &cells[0]
}

#[test]
fn matrix_json_cell_that_holds() {
    let r =
        rcu_check(&["matrix", "--scenario", "gp_sync_read", "--version", "master", "--json", "--jobs", "1"]).expect(0);
    let j = r.json();
    let c = only_cell(&j);
    assert_eq!(c["scenario"], "gp_sync_read");
    assert_eq!(c["version"], "master");
    assert_eq!(c["checker"], "loom");
    assert!(c["preemption_bound"].as_u64().is_some(), "loom cell without its bound: {c}");
    assert!(c["iterations"].is_null(), "{c}");
    assert_eq!(c["verdict"], "holds");
    assert_eq!(c["expected"], "holds");
    assert_eq!(c["matches_expected"], true);
    assert!(c["replay"].is_null(), "{c}");
    assert!(c["executions"].as_u64().is_some_and(|n| n > 0), "{c}");

    let s = &j["summary"];
    assert_eq!(s["cells"], 1);
    assert_eq!(s["matching"], 1);
    assert_eq!(s["mismatching"], 0);
    let ttc = &s["time_to_counterexample"];
    assert_eq!(ttc["n"], 0, "{s}");
    // No counterexample: the keys are there, with no value.
    assert!(ttc.get("median_seconds").is_some_and(Value::is_null), "{s}");
    assert!(ttc.get("max_seconds").is_some_and(Value::is_null), "{s}");
}

#[test]
fn matrix_json_violated_as_expected_has_a_token_that_replays() {
    let r = rcu_check(&["matrix", "--scenario", "call_rcu_enqueue_race", "--version", "seed", "--json", "--jobs", "1"])
        .expect(0);
    let j = r.json();
    let c = only_cell(&j);
    assert_eq!(c["scenario"], "call_rcu_enqueue_race");
    assert_eq!(c["version"], "seed");
    assert_eq!(c["verdict"], "violated");
    assert_eq!(c["kind"], "deadlock");
    assert_eq!(c["expected"], "violated");
    assert_eq!(c["expected_kind"], "deadlock");
    assert_eq!(c["matches_expected"], true);
    let token = c["replay"].as_str().unwrap_or_else(|| panic!("violated cell without a replay token: {c}"));
    assert!(token.starts_with("rcu1."), "{token}");

    let ttc = &j["summary"]["time_to_counterexample"];
    assert_eq!(ttc["n"], 1, "{j}");
    let (median, max) = (ttc["median_seconds"].as_f64().unwrap(), ttc["max_seconds"].as_f64().unwrap());
    assert!(median >= 0.0 && median == max, "{ttc}");

    let again = rcu_check(&["replay", token]).expect(0);
    assert!(verdict_line(&again.stdout).contains("VIOLATED (deadlock)"), "{}", again.stdout);
    assert!(!thread_table(&again.stdout).is_empty(), "{}", again.stdout);
}

/// A cell that differs from its expected result makes the matrix exit 1.
///
/// call_rcu_enqueue_race × seed deadlocks only when a producer is preempted
/// between its `xchg(tail)` and its store-release (the broken-list window).
/// loom explores *every* schedule with at most `--preemptions` preemptions, so
/// at bound 0 it deterministically finds none and the cell holds where
/// `violated (deadlock)` is expected.  (A `--checker std` run is no good here:
/// whether real threads hit or miss the window depends on the OS scheduler.)
#[test]
fn matrix_mismatch_exits_1() {
    let args =
        ["matrix", "--scenario", "call_rcu_enqueue_race", "--version", "seed", "--preemptions", "0", "--jobs", "1"];
    let r = rcu_check(&[&args[..], &["--json"]].concat()).expect(1);
    let j = r.json();
    let c = only_cell(&j);
    assert_eq!(c["preemption_bound"], 0);
    assert_eq!(c["verdict"], "holds");
    assert_eq!(c["expected"], "violated");
    assert_eq!(c["matches_expected"], false);
    assert_eq!(j["summary"]["mismatching"], 1);

    let r = rcu_check(&args).expect(1);
    assert!(r.stdout.contains("differs from the expected result"), "{}", r.stdout);
    assert!(r.stdout.contains("call_rcu_enqueue_race × seed: expected violated (deadlock), got holds"), "{}", r.stdout);
}

/// The default matrix reads in 120 columns with six versions: a short verdict
/// and the time per cell, the legend, bounds and notes under the table, every
/// line at most 120 characters.  `--wide` keeps the old form.
#[test]
fn matrix_text_fits_120_columns_and_wide_keeps_every_figure_on_the_row() {
    let args = ["matrix", "--scenario", "gp_sync_read_race", "--jobs", "2"];
    let r = rcu_check(&args).expect(0);
    for l in r.stdout.lines() {
        assert!(l.chars().count() <= 120, "line of {} columns: `{l}`\n{}", l.chars().count(), r.stdout);
    }
    let mut lines = r.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["scenario", "master", "unify", "seed", "sem-draft", "sem-followup", "v3"], "{}", r.stdout);
    assert!(lines.next().unwrap().starts_with("-----"), "{}", r.stdout);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    // name, then (verdict, time) per version: master and unify race (F11), the others hold.
    assert_eq!(row.len(), 1 + 2 * 6, "{}", r.stdout);
    assert_eq!(row[0], "gp_sync_read_race");
    let verdicts: Vec<&str> = row[1..].iter().step_by(2).copied().collect();
    assert_eq!(verdicts, ["RACE", "RACE", "ok", "ok", "ok", "ok"], "{}", r.stdout);
    assert!(row[2..].iter().step_by(2).all(|t| t.ends_with('s')), "times: {}", r.stdout);
    for needle in [
        "RACE = VIOLATED(data-race)",
        "sem-draft = semaphore-draft",
        "sem-followup = semaphore-followup",
        "bounds: loom pb=2 for every row",
        "6 cells: 6 as expected, 0 differ; 4 hold, 2 violated",
    ] {
        assert!(r.stdout.replace("\n  ", " ").contains(needle), "`{needle}` missing:\n{}", r.stdout);
    }

    let r = rcu_check(&[&args[..], &["--wide"]].concat()).expect(0);
    let header: Vec<&str> = r.stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..2], ["scenario", "bound"]);
    assert_eq!(header[2..], version_names()[..], "{}", r.stdout);
    let row = r.stdout.lines().nth(2).unwrap();
    assert!(row.starts_with("gp_sync_read_race") && row.contains("loom pb=2"), "{}", r.stdout);
    assert_eq!(row.matches("VIOLATED(data-race)").count(), 2, "{}", r.stdout);
    assert!(row.chars().count() > 120, "the wide form is the wide one: {row}");
}

// ---------------------------------------------------------------- bench

/// A tiny bench (two versions, two runs per cell): the table, and the JSON
/// report with the machine, every latency cell, the forcing counts and the
/// read-side cost; bench.json and the plots are written.  No timing is
/// asserted: the bench reports speed, the tests only its shape.
#[test]
fn bench_tiny_run_writes_the_json_and_the_plots() {
    let dir = std::env::temp_dir().join(format!("rcu-bench-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_str().unwrap();
    let tiny = ["--version", "master,v3", "--runs", "2", "--rounds", "1", "--calls", "20", "--read-pairs", "1000"];
    let r = rcu_check(&[&["bench"][..], &tiny, &["--out", out, "--json"]].concat()).expect(0);
    let j = r.json();
    let m = &j["machine"];
    assert!(m["cpus"].as_u64().is_some_and(|n| n >= 1), "{m}");
    assert!(m["cpu_model"].as_str().is_some_and(|s| !s.is_empty()), "{m}");
    assert!(m["loadavg_before"].is_string() && m["loadavg_after"].is_string(), "{m}");
    assert_eq!(j["options"]["runs"], 2);
    assert!(j["wall_seconds"].as_f64().is_some(), "{j}");

    let lat = j["latency"].as_array().expect("latency array");
    assert_eq!(lat.len(), 2 * 2 * 3, "two versions × two calls × three situations");
    for c in lat {
        assert!(c["error"].is_null(), "{c}");
        assert!(["master", "v3"].contains(&c["version"].as_str().unwrap()), "{c}");
        assert!(["drain_call_rcu", "synchronize_rcu"].contains(&c["call"].as_str().unwrap()), "{c}");
        assert!(["idle", "mid-poll", "busy-vcpu"].contains(&c["situation"].as_str().unwrap()), "{c}");
        assert_eq!(c["samples_ms"].as_array().unwrap().len(), 2, "{c}");
        for k in ["n", "min", "p10", "p50", "p90", "p99", "max"] {
            assert!(c["ms"][k].is_number(), "no ms.{k}: {c}");
        }
        assert!(c["ms"]["p50"].as_f64() <= c["ms"]["max"].as_f64(), "{c}");
        assert!(c["watchdog_runs"].is_u64() && c["notifier_kicks"].is_u64(), "{c}");
    }
    // MASTER's synchronize_rcu() never forces: a busy vCPU is only ever
    // released by the watchdog (a count, not a time).
    let master_sync_busy = lat
        .iter()
        .find(|c| c["version"] == "master" && c["call"] == "synchronize_rcu" && c["situation"] == "busy-vcpu")
        .unwrap();
    assert_eq!(master_sync_busy["watchdog_runs"], 2, "{master_sync_busy}");

    let forcing = j["forcing"].as_array().expect("forcing array");
    assert_eq!(forcing.len(), 2);
    for c in forcing {
        assert!(c["error"].is_null(), "{c}");
        assert_eq!(c["rounds"].as_array().unwrap().len(), 1, "{c}");
        for k in ["grace_periods", "forced", "forced_early", "notifier_calls", "vcpu_kicks", "tick_kicks"] {
            assert!(c["mean"][k].is_number(), "no mean.{k}: {c}");
        }
    }
    let master = forcing.iter().find(|c| c["version"] == "master").unwrap();
    assert_eq!(master["mean"]["forced"], 0.0, "MASTER has no forced state: {master}");

    let rs = j["read_side"].as_array().expect("read_side array");
    assert_eq!(rs.len(), 2);
    for c in rs {
        assert!(c["error"].is_null(), "{c}");
        assert!(c["normal_ns"]["p50"].as_f64().is_some_and(|x| x > 0.0), "{c}");
        assert!(c["forced_ns"]["p50"].as_f64().is_some_and(|x| x > 0.0), "{c}");
    }

    let written = std::fs::read_to_string(dir.join("bench.json")).expect("bench.json written");
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap()["latency"], j["latency"]);
    for f in ["latency-cdf-master.svg", "latency-cdf-v3.svg", "forcing.svg"] {
        let svg = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(svg.contains("<svg"), "{f} is not an SVG");
    }

    // The text form: the machine, the three tables, where the files went.
    let r = rcu_check(
        &[
            &["bench"][..],
            &tiny[..2],
            &["--runs", "1", "--rounds", "1", "--calls", "10", "--read-pairs", "1000", "--out", out],
        ]
        .concat(),
    )
    .expect(0);
    for needle in ["machine: ", "LATENCY", "SPURIOUS FORCING", "READ SIDE", "wall time", "wrote "] {
        assert!(r.stdout.contains(needle), "`{needle}` missing:\n{}", r.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- explain / replay

#[test]
fn explain_prints_a_thread_table_and_its_replay_reproduces_it() {
    let r = rcu_check(&["explain", "seed", "force_covers_earlier_callback"]).expect(0);
    assert!(r.stdout.starts_with("scenario   force_covers_earlier_callback"), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l == "version    seed"), "{}", r.stdout);
    let verdict = verdict_line(&r.stdout);
    assert!(verdict.starts_with("verdict    VIOLATED (deadlock)"), "{verdict}");
    let table = thread_table(&r.stdout);
    let header: Vec<&str> = table.first().expect("a thread table").split('|').map(str::trim).collect();
    assert_eq!(header, ["step", "main", "call_rcu", "vcpu"], "{}", r.stdout);
    assert!(table.len() > 10, "{}", r.stdout);
    let token = replay_token(&r.stdout);

    // replay exits 0 when the recorded schedule fails again (1 if it no
    // longer does, 2 for a token it cannot read), with the same trace.
    let again = rcu_check(&["replay", &token]).expect(0);
    assert_eq!(verdict_line(&again.stdout), verdict);
    assert_eq!(thread_table(&again.stdout), table);
}

#[test]
fn explain_with_a_mutation_and_its_replay_keep_the_mutation() {
    let r = rcu_check(&["explain", "master", "gp_sync_read", "--mutate", "B12:drop"]).expect(0);
    assert!(r.stdout.lines().any(|l| l == "mutations  B12:drop"), "{}", r.stdout);
    let verdict = verdict_line(&r.stdout).to_string();
    assert!(verdict.contains("VIOLATED"), "{verdict}");
    let again = rcu_check(&["replay", &replay_token(&r.stdout)]).expect(0);
    assert!(again.stdout.lines().any(|l| l == "mutations  B12:drop"), "{}", again.stdout);
    assert_eq!(verdict_line(&again.stdout), verdict);
}

#[test]
fn explain_of_a_cell_that_holds_says_so() {
    let r = rcu_check(&["explain", "master", "gp_sync_read"]).expect(0);
    assert!(r.stdout.contains("gp_sync_read × master: holds"), "{}", r.stdout);
    assert!(r.stdout.contains("nothing to explain"), "{}", r.stdout);
    assert!(!r.stdout.contains("replay:"), "{}", r.stdout);
}

// ---------------------------------------------------------------- mutants

#[test]
fn mutants_of_one_site_are_killed_by_a_named_scenario() {
    let scenarios = scenario_names();
    let r = rcu_check(&["mutants", "--version", "master", "--site", "B12", "--jobs", "1"]).expect(0);
    let rows: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("master ")).collect();
    assert!(!rows.is_empty(), "{}", r.stdout);
    for row in &rows {
        let w: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&w[..2], ["master", "B12"], "{row}");
        assert_eq!(w[3], "killed", "{row}");
        let by = row.split("killed by ").nth(1).and_then(|x| x.split_whitespace().next()).unwrap_or("");
        assert!(scenarios.contains(&by), "no killing scenario named in `{row}`");
    }
    assert!(rows.iter().any(|r| r.split_whitespace().nth(2) == Some("drop")), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "{n} mutants (c11 profile): {n} killed, 0 justified survivors, 0 inconclusive",
            n = rows.len()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("killed per operator: drop 1/1, weaken 1/1; wall time"), "{}", r.stdout);

    let r = rcu_check(&["mutants", "--version", "master", "--site", "B12", "--jobs", "1", "--json"]).expect(0);
    let j = r.json();
    let ms = j["mutants"].as_array().expect("mutants array");
    assert_eq!(ms.len(), rows.len(), "{j}");
    for m in ms {
        assert_eq!(m["version"], "master");
        assert_eq!(m["site"], "B12");
        assert_eq!(m["status"], "killed", "{m}");
        assert!(scenarios.contains(&m["killed_by"].as_str().unwrap_or("")), "{m}");
        assert!(m["kind"].is_string(), "{m}");
        assert!(m["time_to_counterexample"].as_f64().is_some(), "{m}");
    }
    let s = &j["summary"];
    assert_eq!(s["mutants"], ms.len());
    assert_eq!(s["killed"], ms.len());
    assert_eq!(s["survived"], 0);
    assert_eq!(s["inconclusive"], 0);
    assert_eq!(s["profile"], "c11");
    assert_eq!(s["time_to_counterexample"]["n"], ms.len());
    for m in ms {
        assert!(m["operator"] == "drop" || m["operator"] == "weaken", "{m}");
        assert!(m["reason"].is_null(), "{m}");
    }
}

#[test]
fn mutants_operators_split_and_plain_run_and_report_reason_or_kill() {
    // B20's split (a separate load and store of tail) is caught; the JSON of
    // a killed mutant carries its operator and no reason.
    let r = rcu_check(&["mutants", "--version", "v3", "--site", "B20", "--operator", "split", "--jobs", "1", "--json"]);
    let j = r.json();
    let ms = j["mutants"].as_array().expect("mutants array");
    assert_eq!(ms.len(), 1, "{j}");
    assert_eq!(ms[0]["operator"], "split");
    assert_eq!(ms[0]["status"], "killed", "{j}");
}

/// A logic mutant goes through the same run and the same statuses: the
/// `qemu_event_set(&rcu_gp_event)` that wakes the grace period (L1) is
/// killed, reported under its own family with a time to kill.
#[test]
fn logic_mutant_is_killed_and_scored_apart_from_barrier_mutants() {
    let scenarios = scenario_names();
    let r = rcu_check(&["mutants", "--version", "master", "--site", "L1", "--jobs", "1"]).expect(0);
    let row = r.stdout.lines().find(|l| l.starts_with("master ")).expect("a result row");
    let w: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&w[..4], ["master", "L1", "drop-call", "killed"], "{row}");
    assert!(r.stdout.contains("logic mutants: 1/1 killed;"), "{}", r.stdout);
    assert!(r.stdout.contains("time to kill median"), "{}", r.stdout);
    assert!(!r.stdout.contains("barrier mutants:"), "{}", r.stdout);
    assert!(r.stdout.contains("killed per operator: drop-call 1/1;"), "{}", r.stdout);

    let r = rcu_check(&["mutants", "--version", "master", "--site", "L1,B12", "--jobs", "1", "--json"]).expect(0);
    let j = r.json();
    let ms = j["mutants"].as_array().expect("mutants array");
    let l1 = ms.iter().find(|m| m["site"] == "L1").expect("L1 mutant");
    assert_eq!(l1["mutation"], "drop-call");
    assert_eq!(l1["operator"], "drop-call");
    assert_eq!(l1["family"], "logic");
    assert_eq!(l1["status"], "killed", "{l1}");
    assert!(scenarios.contains(&l1["killed_by"].as_str().unwrap_or("")), "{l1}");
    let fam = &j["summary"]["families"];
    assert_eq!(fam["logic"]["mutants"], 1, "{fam}");
    assert_eq!(fam["logic"]["killed"], 1, "{fam}");
    assert!(fam["logic"]["time_to_kill"]["median_seconds"].as_f64().is_some(), "{fam}");
    assert!(fam["logic"]["time_to_kill"]["max_seconds"].as_f64().is_some(), "{fam}");
    assert_eq!(fam["barrier"]["mutants"], ms.len() - 1, "{fam}");
    for c in ["redundant", "checker-blind", "open-gap"] {
        assert!(fam["logic"]["justified_by_class"][c].is_u64(), "{fam}");
    }
}

// ---------------------------------------------------------------- torture

#[test]
fn torture_smoke_run() {
    let args = ["torture", "--version", "master", "--seconds", "0.3", "--readers", "2", "--fake-updaters", "1"];
    let r = rcu_check(&args).expect(0);
    let row = r.stdout.lines().find(|l| l.starts_with("master ")).unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(row.split_whitespace().nth(1), Some("ok"), "{row}");
    assert!(r.stdout.contains("2 readers, 1 fake updaters"), "{}", r.stdout);

    let r = rcu_check(&[&args[..], &["--json"]].concat()).expect(0);
    let j = r.json();
    let runs = j["torture"].as_array().expect("torture array");
    assert_eq!(runs.len(), 1, "{j}");
    let t = &runs[0];
    assert_eq!(t["version"], "master");
    assert_eq!(t["verdict"], "holds", "{t}");
    assert_eq!(t["must_hold"], true);
    assert_eq!(t["options"]["readers"], 2);
    assert_eq!(t["options"]["fake_updaters"], 1);
    assert!(t["reads"].as_u64().is_some_and(|n| n > 0), "{t}");
    assert_eq!(t["callbacks_queued"], t["callbacks_run"], "{t}");
}

/// A C tree tortured natively (compiled to a shared object, real pthreads
/// and futexes): the project's mini tree holds, and its MINI_BUG build
/// (synchronize_rcu() returns without waiting) is caught as QEMU's
/// rcutorture would catch it: a reader sees an entry two grace periods old.
#[test]
fn torture_runs_a_c_tree_natively_and_catches_the_bug() {
    let (mini, bug) = (format!("{}=mini", ctree("mini")), format!("{}=minibug", ctree("mini-bug")));
    let args =
        ["torture", "--c-tree", &mini, "--c-tree", &bug, "--version", "c:mini,c:minibug", "--seconds", "0.5", "--json"];
    let r = rcu_check(&args).expect(1);
    let j = r.json();
    let runs = j["torture"].as_array().expect("torture array");
    let get = |v: &str| runs.iter().find(|t| t["version"] == v).unwrap_or_else(|| panic!("no {v}: {j}"));
    let (ok, bad) = (get("c:mini"), get("c:minibug"));
    assert_eq!(ok["native"], true, "{ok}");
    assert_eq!(ok["verdict"], "holds", "{ok}");
    assert!(ok["reads"].as_u64().is_some_and(|n| n > 0) && ok["updates"].as_u64().is_some_and(|n| n > 0), "{ok}");
    assert_eq!(ok["callbacks_queued"], ok["callbacks_run"], "{ok}");
    assert_eq!(bad["verdict"], "violated", "the positive control: {bad}");
    assert_eq!(bad["kind"], "use-after-free", "{bad}");
    assert_eq!(bad["must_hold"], true, "{bad}");
}

/// The stall watchdog on natively compiled C: a copy of the mini tree whose
/// wait_for_readers() never returns is reported as a stall, not a hang.
#[test]
fn torture_watchdog_catches_a_native_stall() {
    let dir = std::env::temp_dir().join(format!("rcu-check-mini-stall-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = std::process::Command::new("cp").arg("-r").arg(ctree("mini")).arg(&dir).status().unwrap();
    assert!(st.success());
    let rcu = dir.join("util/rcu.c");
    let src = std::fs::read_to_string(&rcu).unwrap();
    let stalled = src.replace(
        "static void wait_for_readers(void)\n{",
        "static void wait_for_readers(void)\n{\n    for (;;) {\n        sched_yield();\n    }",
    );
    assert_ne!(src, stalled, "the mini tree's wait_for_readers() moved");
    std::fs::write(&rcu, stalled).unwrap();
    let tree = format!("{}=stall", dir.display());
    let args = ["torture", "--c-tree", &tree, "--version", "c:stall", "--seconds", "0.3", "--watchdog", "2", "--json"];
    let r = rcu_check(&args).expect(1);
    let t = &r.json()["torture"][0];
    assert_eq!(t["kind"], "stall", "{t}");
    assert!(t["message"].as_str().unwrap().contains("watchdog"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bench on a natively compiled C tree: every latency cell measured,
/// grace periods counted from the tree's rcu_gp_ctr, and the probe-only
/// figures marked as not measured (`probes: false`, `n/a` in the table).
#[test]
fn bench_measures_a_c_tree_natively() {
    let dir = std::env::temp_dir().join(format!("rcu-bench-native-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mini = format!("{}=mini", ctree("mini"));
    let tiny = ["--version", "c:mini", "--runs", "2", "--rounds", "1", "--calls", "20", "--read-pairs", "1000"];
    let r =
        rcu_check(&[&["bench", "--c-tree", &mini][..], &tiny, &["--out", dir.to_str().unwrap()]].concat()).expect(0);
    assert!(r.stdout.contains("n/a (native C: no probes)"), "{}", r.stdout);
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    let lat = j["latency"].as_array().expect("latency array");
    assert_eq!(lat.len(), 2 * 3, "{j}");
    assert!(lat.iter().all(|c| c["error"].is_null() && c["samples_ms"].as_array().unwrap().len() == 2), "{j}");
    let f = &j["forcing"][0];
    assert_eq!(f["probes"], false, "{f}");
    assert!(f["mean"]["grace_periods"].as_f64().is_some_and(|g| g > 0.0), "rcu_gp_ctr read: {f}");
    assert_eq!(j["read_side"][0]["probes"], false);
    assert!(dir.join("latency-cdf-c-mini.svg").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `matrix --checker std` runs a C tree compiled natively; a scenario whose
/// verdict reads an interpreter probe is not run there, and says why.
#[test]
fn std_matrix_runs_a_c_tree_natively() {
    let mini = format!("{}=mini", ctree("mini"));
    let args = [
        "matrix",
        "--checker",
        "std",
        "--c-tree",
        &mini,
        "--version",
        "c:mini",
        "--scenario",
        "drain_back_to_back,no_force_after_drain",
        "--iterations",
        "2",
        "--json",
    ];
    let r = rcu_check(&args).expect(0);
    let j = r.json();
    let cells = j["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{j}");
    assert_eq!(cells[0]["scenario"], "drain_back_to_back");
    assert_eq!(cells[0]["verdict"], "holds", "{j}");
    let not_run = &j["not_run"][0];
    assert_eq!(not_run["scenario"], "no_force_after_drain", "{j}");
    assert!(not_run["why"].as_str().unwrap().contains("natively compiled C"), "{j}");
}

// ---------------------------------------------------------------- help

#[test]
fn help_and_version_exit_0() {
    let r = rcu_check(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.stdout.contains("Usage: rcu-check"), "{}", r.describe());
    let r = rcu_check(&["matrix", "--help"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.stdout.contains("--scenario"), "{}", r.describe());
    let r = rcu_check(&["--version"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.stdout.starts_with("rcu-check "), "{}", r.describe());
}

// ---------------------------------------------------------------- bad input

/// Exit code 2, nothing on stdout, one `rcu-check: …` line on stderr that
/// mentions every one of `needles` (what is wrong, and what is valid).
fn assert_bad_input(args: &[&str], needles: &[&str]) {
    let r = rcu_check(args);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(r.stdout.is_empty(), "bad input printed on stdout: {}", r.describe());
    assert_eq!(r.stderr.lines().count(), 1, "not one line on stderr: {}", r.describe());
    assert!(r.stderr.ends_with('\n'), "{}", r.describe());
    assert!(r.stderr.starts_with("rcu-check: "), "{}", r.describe());
    for bad in ["panicked", "Usage:", "For more information", "error:"] {
        assert!(!r.stderr.contains(bad), "`{bad}` in: {}", r.describe());
    }
    for n in needles {
        assert!(r.stderr.contains(n), "`{n}` missing from: {}", r.describe());
    }
}

#[test]
fn bad_subcommand_and_flags() {
    assert_bad_input(
        &["frobnicate"],
        &["frobnicate", "list", "matrix", "mutants", "explain", "torture", "bench", "replay"],
    );
    assert_bad_input(&["lst"], &["'lst'", "did you mean `list`"]);
    assert_bad_input(&["--frob"], &["--frob", "list", "--help"]);
    assert_bad_input(&["matrix", "--frob"], &["--frob", "`matrix`", "--scenario", "--json"]);
    assert_bad_input(&["matrix", "--jsn"], &["--jsn", "did you mean `--json`"]);
    assert_bad_input(&["list", "extra"], &["'extra'", "--json"]);
    assert_bad_input(&["torture", "--frob"], &["--frob", "--seconds"]);
    assert_bad_input(&["explain", "master"], &["<SCENARIO>", "usage: rcu-check explain"]);
    assert_bad_input(&["replay"], &["<TOKEN>"]);
    assert_bad_input(&["matrix", "--version"], &["--version", "rcu-check matrix --help"]);
}

#[test]
fn bad_names() {
    let versions = version_names().join(", ");
    assert_bad_input(&["matrix", "--version", "nope"], &["`nope`", &versions]);
    assert_bad_input(&["matrix", "--version", "master,nope"], &["`nope`", &versions]);
    assert_bad_input(&["torture", "--version", "nope"], &["`nope`", &versions]);
    assert_bad_input(&["mutants", "--version", "nope"], &["`nope`", &versions]);
    assert_bad_input(&["explain", "nope", "gp_sync_read"], &["`nope`", &versions]);

    let scenarios = scenario_names().join(", ");
    assert_bad_input(&["matrix", "--scenario", "nope"], &["`nope`", &scenarios]);
    assert_bad_input(&["explain", "master", "nope"], &["`nope`", &scenarios]);

    assert_bad_input(&["matrix", "--checker", "nope"], &["`nope`", "loom", "shuttle", "std"]);
    assert_bad_input(&["explain", "master", "gp_sync_read", "--checker", "nope"], &["`nope`", "loom"]);

    assert_bad_input(&["mutants", "--site", "B999"], &["`B999`", "B12"]);
    // B63 (the xchg(forced) of seed's call_rcu_thread) exists only from seed on.
    assert_bad_input(&["mutants", "--version", "master", "--site", "B63"], &["B63", "master", "B12"]);
}

#[test]
fn bad_numbers() {
    assert_bad_input(&["matrix", "--jobs", "0"], &["'0'", "--jobs", "positive integer"]);
    assert_bad_input(&["matrix", "--jobs", "x"], &["'x'", "--jobs", "positive integer"]);
    assert_bad_input(&["mutants", "--jobs", "0"], &["'0'", "--jobs", "positive integer"]);
    assert_bad_input(&["matrix", "--preemptions", "-1"], &["'-1'", "--preemptions", "0 to 10"]);
    assert_bad_input(&["matrix", "--preemptions", "11"], &["'11'", "0 to 10"]);
    assert_bad_input(&["explain", "master", "gp_sync_read", "--preemptions", "-1"], &["'-1'", "0 to 10"]);
    assert_bad_input(&["matrix", "--iterations", "0"], &["'0'", "--iterations", "positive integer"]);
    assert_bad_input(&["matrix", "--budget", "nan"], &["'nan'", "positive number of seconds"]);
    assert_bad_input(&["torture", "--seconds", "abc"], &["'abc'", "--seconds", "positive number of seconds"]);
    assert_bad_input(&["torture", "--seconds", "-1"], &["'-1'", "positive number of seconds"]);
    assert_bad_input(&["torture", "--readers", "0"], &["'0'", "--readers", "positive integer"]);
    assert_bad_input(&["torture", "--fake-updaters", "65"], &["'65'", "0 to 64"]);
    assert_bad_input(&["bench", "--runs", "0"], &["'0'", "--runs", "1 to 10000"]);
    assert_bad_input(&["bench", "--runs", "x"], &["'x'", "--runs", "1 to 10000"]);
    assert_bad_input(&["bench", "--calls", "-1"], &["'-1'", "--calls", "1 to 100000"]);
    assert_bad_input(&["bench", "--rounds", "101"], &["'101'", "--rounds", "1 to 100"]);
    assert_bad_input(&["bench", "--watchdog-ms", "5"], &["'5'", "--watchdog-ms", "10 to 60000"]);
    assert_bad_input(&["bench", "--read-pairs", "10"], &["'10'", "--read-pairs", "1000 to 100000000"]);
}

#[test]
fn bad_bench_input() {
    let versions = version_names().join(", ");
    assert_bad_input(&["bench", "--version", "nope"], &["`nope`", &versions]);
    assert_bad_input(&["bench", "--frob"], &["--frob", "`bench`", "--runs", "--out"]);
    // An output directory that cannot exist (under a regular file), before any measuring.
    let file = std::env::temp_dir().join(format!("rcu-bench-file-{}", std::process::id()));
    std::fs::write(&file, "").unwrap();
    let bad = file.join("out");
    assert_bad_input(
        &["bench", "--out", bad.to_str().unwrap()],
        &["cannot create output directory", "valid: a writable directory"],
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn bad_mutations() {
    let gp = ["explain", "master", "gp_sync_read", "--mutate"];
    assert_bad_input(&[&gp[..], &["B12:frobnicate"]].concat(), &["`frobnicate`", "drop", "weaken:<ordering>"]);
    assert_bad_input(&[&gp[..], &["nonsense"]].concat(), &["`nonsense`", "<site>:drop", "<site>:weaken:<ordering>"]);
    assert_bad_input(&[&gp[..], &["B999:drop"]].concat(), &["`B999`", "B12"]);
    assert_bad_input(&[&gp[..], &["B12:weaken:nope"]].concat(), &["`nope`", "relaxed", "seqcst"]);
    // A site of another version would otherwise mutate nothing and "hold".
    assert_bad_input(&[&gp[..], &["B63:drop"]].concat(), &["B63", "master", "B12"]);
}

#[test]
fn bad_replay_tokens() {
    use scenarios::cell::Token;
    assert_bad_input(&["replay", "garbage"], &["unreadable replay token", "`rcu1.`"]);
    assert_bad_input(&["replay", ""], &["unreadable replay token", "`rcu1.`"]);
    assert_bad_input(&["replay", "rcu1.!!"], &["unreadable replay token", "base64"]);
    assert_bad_input(&["replay", "rcu1.AAAA"], &["unreadable replay token"]);

    let token = |v: u32, scenario: &str| {
        Token {
            v,
            checker: "loom".into(),
            scenario: scenario.into(),
            version: "master".into(),
            mutations: String::new(),
            preemption_bound: 2,
            max_branches: 1000,
            schedule: "{}".into(),
            profile: None,
        }
        .encode()
    };
    assert_bad_input(&["replay", &token(2, "gp_sync_read")], &["format version 2", "reads 1"]);
    assert_bad_input(&["replay", &token(1, "nope")], &["`nope`", "gp_sync_read"]);
}

#[test]
fn bad_profiles_operators_and_site_bounds() {
    assert_bad_input(&["matrix", "--profile", "arm"], &["`arm`", "c11, tso"]);
    assert_bad_input(
        &["mutants", "--operator", "swop"],
        &["`swop`", "drop, weaken, split, plain", "drop-call, drop-store, negate, drop-cond, swap", "barrier, logic"],
    );
    assert_bad_input(&["mutants", "--site-bound", "B17"], &["B17", "B<n>=N"]);
    assert_bad_input(&["mutants", "--site-bound", "B999=3"], &["B999"]);
    assert_bad_input(&["explain", "v3", "gp_sync_read", "--mutate", "B17:split"], &["split", "B17", "drop"]);
    assert_bad_input(&["explain", "v3", "gp_sync_read", "--mutate", "B20:plain"], &["plain", "B20", "split"]);
}

// ---------------------------------------------------------------- C trees

/// The project's own QEMU-style trees (models/cfront/tests/ctree): `mini`
/// waits for readers, `mini-bug` does not (the positive control).
fn ctree(name: &str) -> String {
    format!("{}/../models/cfront/tests/ctree/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn c_tree_is_a_column_with_its_own_cells() {
    let mini = format!("{}=mini", ctree("mini"));
    let r = rcu_check(&[
        "matrix",
        "--c-tree",
        &mini,
        "--version",
        "master",
        "--scenario",
        "gp_sync_read",
        "--json",
        "--jobs",
        "1",
    ]);
    let j = r.json();
    let cells = j["cells"].as_array().unwrap();
    let c = cells.iter().find(|c| c["version"] == "c:mini").unwrap_or_else(|| panic!("{}", r.describe()));
    assert_eq!(c["verdict"], "holds", "{}", r.describe());
    assert_eq!(c["expected"], "holds", "expected results are master's: {}", r.describe());
    // The window probes are counted in the C: the grace period met the reader.
    assert!(c["metrics"]["gp_saw_reader"].as_u64().unwrap_or(0) > 0, "{}", r.describe());
    assert_eq!(r.code, 0, "{}", r.describe());
    let l = rcu_check(&["list", "--json", "--c-tree", &mini]).expect(0).json();
    assert!(l["versions"].as_array().unwrap().iter().any(|v| v["name"] == "c:mini" && v["based_on"] == "master"));
}

#[test]
fn c_tree_compare_names_the_difference_and_exits_1() {
    // The buggy tree labelled as master: its gp_sync_read differs from the port's.
    let bug = format!("{}=master", ctree("mini-bug"));
    let r = rcu_check(&["matrix", "--c-tree", &bug, "--compare", "--scenario", "gp_sync_read", "--jobs", "1"]);
    assert_eq!(r.code, 1, "{}", r.describe());
    let row = r.stdout.lines().find(|l| l.starts_with("gp_sync_read") && l.contains("c:master")).unwrap_or_else(|| {
        panic!("no comparison row: {}", r.describe());
    });
    assert!(row.contains("violated (use-after-free)") && row.contains("master=holds") && row.ends_with("NO"), "{row}");
    assert!(r.stdout.contains("1 differ"), "{}", r.describe());
}

#[test]
fn c_tree_explain_prints_file_line_and_replay_reproduces_it() {
    let bug = format!("{}=minibug", ctree("mini-bug"));
    let r = rcu_check(&["explain", "c:minibug", "gp_sync_read", "--c-tree", &bug]).expect(0);
    assert!(verdict_line(&r.stdout).contains("use-after-free"), "{}", r.describe());
    let table = thread_table(&r.stdout).join("\n");
    assert!(table.contains("util/rcu.c:"), "no C file:line in the trace: {}", r.describe());
    let line = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: cargo rcu-check replay "))
        .unwrap_or_else(|| panic!("{}", r.describe()));
    let (flags, token) = line.rsplit_once(' ').unwrap();
    assert_eq!(flags, format!("--c-tree {bug}"), "the replay command names the tree");
    let again = rcu_check(&["replay", "--c-tree", &bug, token]).expect(0);
    assert_eq!(thread_table(&again.stdout), thread_table(&r.stdout), "replay differs from explain");
    // Without the tree the token cannot be replayed: one line, exit 2.
    assert_bad_input(&["replay", token], &["c:minibug", "--c-tree"]);
}

#[test]
fn c_tree_bad_input() {
    assert_bad_input(&["matrix", "--c-tree", "/nonexistent/qemu"], &["/nonexistent/qemu", "no such directory"]);
    let dir = env!("CARGO_MANIFEST_DIR");
    assert_bad_input(&["matrix", "--c-tree", dir], &["not a QEMU tree", "util/rcu.c"]);
    let bad_label = format!("{}=a/b", ctree("mini"));
    assert_bad_input(&["matrix", "--c-tree", &bad_label], &["bad label `a/b`", "letters, digits"]);
    let twice = format!("{}=x", ctree("mini"));
    assert_bad_input(&["matrix", "--c-tree", &twice, "--c-tree", &twice], &["label `x` given twice"]);
    assert_bad_input(&["matrix", "--compare"], &["--compare needs", "--c-tree"]);
    assert_bad_input(&["matrix", "--version", "c:nope"], &["c:nope", "--c-tree DIR=nope"]);
    assert_bad_input(&["matrix", "--c-tree"], &["--c-tree", "DIR[=LABEL]"]);
    let mini = format!("{}=mini", ctree("mini"));
    assert_bad_input(
        &["explain", "c:mini", "gp_counter_wrap_single_flip", "--c-tree", &mini],
        &["cannot run on c:mini", "rcu_gp_ctr"],
    );
}

// ---------------------------------------------------------------- review

#[test]
fn review_marks_the_new_violation_and_prints_its_c_trace() {
    let patch = format!("{}/../models/cfront/tests/ctree/mini-no-wait.patch", env!("CARGO_MANIFEST_DIR"));
    let r = rcu_check(&[
        "review",
        "--base",
        &ctree("mini"),
        "--patch",
        &patch,
        "--scenario",
        "gp_sync_read",
        "--jobs",
        "1",
    ]);
    assert_eq!(r.code, 1, "a new violation exits 1: {}", r.describe());
    let row = r.stdout.lines().find(|l| l.starts_with("gp_sync_read")).unwrap_or_else(|| panic!("{}", r.describe()));
    assert!(
        row.contains("holds") && row.contains("violated (use-after-free)") && row.ends_with("NEW VIOLATION"),
        "{row}"
    );
    assert!(r.stdout.contains("── new counterexample ──"), "{}", r.describe());
    assert!(thread_table(&r.stdout).iter().any(|l| l.contains("util/rcu.c:")), "{}", r.describe());
    assert!(r.stdout.contains("1 new violation(s)"), "{}", r.describe());
}

/// A reply on the list with a diff inside, as Peter Xu posted his semaphore
/// drafts: prose, quoted text (with a quoted diff line), the diff between
/// `===8<===` lines, more prose.  This diff restores the wait that
/// mini-no-wait.patch removes, so it applies only on top of that patch.
const REPLY_RESTORING_THE_WAIT: &str = "From: A Reviewer <reviewer@example.org>
Subject: Re: [PATCH] mini: poll readers once
Message-ID: <reply-1@example.org>

On Mon, someone wrote:
> diff --git a/util/rcu.c b/util/rcu.c
> -        while (rcu_gp_ongoing(&r->ctr)) {
> +        if (rcu_gp_ongoing(&r->ctr)) {

This loses the wait; on top of your patch:

===8<===
diff --git a/util/rcu.c b/util/rcu.c
index ad7e32a..a820860 100644
--- a/util/rcu.c
+++ b/util/rcu.c
@@ -26,8 +26,9 @@ static void wait_for_readers(void)
 {
 #ifndef MINI_BUG
     for (struct rcu_reader_data *r = registry; r; r = r->node.le_next) {
-        if (rcu_gp_ongoing(&r->ctr)) {
+        while (rcu_gp_ongoing(&r->ctr)) {
             notifier_list_notify(&r->force_rcu, NULL);
+            sched_yield();
         }
     }
 #endif
===8<===

> quoted text after the diff
>     } else {

Thanks
";

fn review_scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rcu-check-review-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn review_base_patch_builds_the_base_and_a_reply_mail_applies() {
    let dir = review_scratch("base-patch");
    let reply = dir.join("reply.mbox");
    std::fs::write(&reply, REPLY_RESTORING_THE_WAIT).unwrap();
    let reply = reply.display().to_string();
    let no_wait = format!("{}/../models/cfront/tests/ctree/mini-no-wait.patch", env!("CARGO_MANIFEST_DIR"));
    let mini = ctree("mini");
    let r = rcu_check(&[
        "review",
        "--base",
        &mini,
        "--base-patch",
        &no_wait,
        "--patch",
        &reply,
        "--scenario",
        "gp_sync_read",
        "--jobs",
        "1",
    ]);
    assert_eq!(r.code, 0, "a fix is no new violation: {}", r.describe());
    assert!(r.stdout.contains(&format!("base     {mini} + {no_wait}")), "{}", r.describe());
    let row = r.stdout.lines().find(|l| l.starts_with("gp_sync_read")).unwrap_or_else(|| panic!("{}", r.describe()));
    let (bad, ok) = (row.find("violated (use-after-free)"), row.rfind("holds"));
    assert!(
        bad.is_some() && ok.is_some() && bad < ok && row.ends_with("changed"),
        "the base column has the base patch: {row}"
    );
    assert!(r.stdout.contains("0 new violation(s)"), "{}", r.describe());
    // Without its base patch the reply's diff does not apply: one line, exit 2.
    assert_bad_input(&["review", "--base", &mini, "--patch", &reply], &["--patch", "does not apply", "util/rcu.c"]);

    // The base patch makes mini's call_rcu thread sleep on a QemuSemaphore
    // (the shape of the semaphore drafts); the patch then drops the wait.
    let sem = format!("{}/../models/cfront/tests/ctree/mini-sem.patch", env!("CARGO_MANIFEST_DIR"));
    let r = rcu_check(&[
        "review",
        "--base",
        &mini,
        "--base-patch",
        &sem,
        "--patch",
        &no_wait,
        "--port",
        "unify",
        "--scenario",
        "gp_call_rcu_read",
        "--jobs",
        "1",
    ]);
    assert_eq!(r.code, 1, "{}", r.describe());
    // --port names the patched tree's port: its expected results and its label.
    assert!(r.stdout.lines().nth(1).is_some_and(|l| l.ends_with("(expected results: unify)")), "{}", r.describe());
    let replay = r.stdout.lines().find(|l| l.starts_with("replay: ")).unwrap_or_else(|| panic!("{}", r.describe()));
    assert!(replay.contains("/patched=unify "), "{replay}");
    let row =
        r.stdout.lines().find(|l| l.starts_with("gp_call_rcu_read")).unwrap_or_else(|| panic!("{}", r.describe()));
    assert!(row.contains("holds") && row.ends_with("NEW VIOLATION"), "{row}");
    assert!(thread_table(&r.stdout).iter().any(|l| l.contains("util/rcu.c:")), "{}", r.describe());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn review_bad_input() {
    let dir = std::env::temp_dir().join(format!("rcu-check-review-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.patch");
    std::fs::write(
        &bad,
        "diff --git a/util/rcu.c b/util/rcu.c\n--- a/util/rcu.c\n+++ b/util/rcu.c\n@@ -1,3 +1,3 @@\n-no such line\n+x\n context\n",
    )
    .unwrap();
    let elsewhere = dir.join("elsewhere.patch");
    std::fs::write(
        &elsewhere,
        "diff --git a/docs/x.txt b/docs/x.txt\n--- a/docs/x.txt\n+++ b/docs/x.txt\n@@ -1 +1 @@\n-a\n+b\n",
    )
    .unwrap();
    let (mini, bad, elsewhere) = (ctree("mini"), bad.display().to_string(), elsewhere.display().to_string());
    assert_bad_input(
        &["review", "--base", "/nonexistent", "--patch", &bad],
        &["--base /nonexistent", "not a QEMU tree"],
    );
    assert_bad_input(
        &["review", "--base", &mini, "--patch", "/nonexistent.mbox"],
        &["/nonexistent.mbox", "no such file"],
    );
    assert_bad_input(&["review", "--base", &mini, "--patch", &bad], &["does not apply", "util/rcu.c"]);
    assert_bad_input(
        &["review", "--base", &mini, "--patch", &elsewhere],
        &["change nothing under util/", "docs/x.txt"],
    );
    assert_bad_input(&["review", "--base", &mini], &["--patch"]);
    // Base patches: missing, not applying (named as such), and a file with no diff.
    let no_wait = format!("{}/../models/cfront/tests/ctree/mini-no-wait.patch", env!("CARGO_MANIFEST_DIR"));
    assert_bad_input(
        &["review", "--base", &mini, "--base-patch", "/nonexistent.patch", "--patch", &no_wait],
        &["--base-patch /nonexistent.patch", "no such file"],
    );
    assert_bad_input(
        &["review", "--base", &mini, "--base-patch", &bad, "--patch", &no_wait],
        &["--base-patch", "does not apply", "util/rcu.c"],
    );
    let prose = dir.join("prose.mbox");
    std::fs::write(&prose, "Looks good to me.\n").unwrap();
    let prose = prose.display().to_string();
    assert_bad_input(
        &["review", "--base", &mini, "--patch", &prose],
        &["--patch", "does not apply", "No valid patches"],
    );
    assert_bad_input(
        &["review", "--base", &mini, "--base-patch", &prose, "--patch", &no_wait],
        &["--base-patch", "does not apply", "No valid patches"],
    );
    assert_bad_input(
        &["review", "--base", &mini, "--patch", &no_wait, "--port", "nope"],
        &["`nope` is not a port", "semaphore-draft"],
    );
    assert_bad_input(&["review", "--base", &mini, "--patch", &no_wait, "--port", "c:x"], &["`c:x` is not a port"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Logic operators on the wrong site, logic sites that do not exist or are
/// not in the version: one line, exit 2.
#[test]
fn bad_logic_mutants() {
    // An operator that does not apply to the selected site (both directions).
    assert_bad_input(
        &["mutants", "--version", "master", "--site", "L3", "--operator", "weaken"],
        &["weaken", "does not apply", "L3", "drop-call"],
    );
    assert_bad_input(
        &["mutants", "--version", "master", "--site", "B12", "--operator", "swap"],
        &["swap", "does not apply", "B12", "drop, weaken"],
    );
    assert_bad_input(&["mutants", "--site", "L999"], &["`L999`", "L1", "B12"]);
    // L40's reset-check-wait swap has no counterpart in the semaphore drafts.
    assert_bad_input(&["mutants", "--version", "semaphore-draft", "--site", "L40"], &["L40", "semaphore-draft"]);
    let gp = ["explain", "master", "gp_sync_read", "--mutate"];
    assert_bad_input(&[&gp[..], &["L1:drop"]].concat(), &["`drop`", "L1", "drop-call"]);
    assert_bad_input(&[&gp[..], &["L37:negate"]].concat(), &["`negate`", "L37", "swap"]);
    assert_bad_input(&[&gp[..], &["B12:drop-call"]].concat(), &["`drop-call`", "B12", "drop, weaken:acqrel"]);
    assert_bad_input(&[&gp[..], &["L999:drop-call"]].concat(), &["`L999`", "L1"]);
    assert_bad_input(&[&gp[..], &["L1:frob"]].concat(), &["`frob`", "drop-call", "swap"]);
    // A logic site of another version would mutate nothing.
    assert_bad_input(&[&gp[..], &["L33:drop-call"]].concat(), &["L33", "master"]);
}

#[test]
fn c_tree_mutants_kill_the_mini_trees_reader_barriers() {
    // The mini tree's rcu_read_lock() fence and rcu_read_unlock() release
    // store, mutated in the compiled C: every mutant dies, and a bad C site is one line.
    let mini = format!("{}=mini", ctree("mini"));
    let sites = "include/qemu/rcu.h:24,include/qemu/rcu.h:32";
    let r = rcu_check(&["mutants", "--c-tree", &mini, "--site", sites, "--json", "--jobs", "1"]).expect(0);
    let j = r.json();
    let ms = j["mutants"].as_array().unwrap();
    assert_eq!(ms.len(), 4, "{}", r.describe());
    for m in ms {
        assert_eq!(m["version"], "c:mini");
        assert_eq!(m["status"], "killed", "{m}");
        assert!(m["c_text"].as_str().unwrap().contains("__atomic_"), "{m}");
    }
    assert_bad_input(
        &["mutants", "--c-tree", &mini, "--site", "include/qemu/rcu.h:1"],
        &["include/qemu/rcu.h:1", "FILE:LINE"],
    );
    let gp = ["explain", "c:mini", "gp_sync_read", "--c-tree", &mini, "--mutate"];
    assert_bad_input(&[&gp[..], &["include/qemu/rcu.h:24:split"]].concat(), &["split", "include/qemu/rcu.h:24"]);
}
