//! One cell of the matrix: a scenario, a version, a checker, bounds and
//! mutations; its verdict compared with the expectation; and the replay token
//! that reproduces its counterexample.
#![allow(clippy::disallowed_types)]

use std::io::{Read, Write};
use std::sync::Arc;

use base64::Engine as _;
use models::Version;
use rcu_core::platform::Platform;
use rcu_core::runtime::{RunConfig, Runtime};
use rcu_core::site::{Mutation, MutationSet, Profile, SiteKind, SITES};
use serde::{Deserialize, Serialize};

use crate::capture::{Capture, TraceLine};
use crate::catalog::{Body, Exec, Expect, Scenario, Scope};
use crate::harness::{self, Bounds, Checker, Obs, Outcome, Program, Schedule, Stats, Verdict};

/// What to run.
#[derive(Clone, Debug)]
pub struct CellSpec {
    /// Scenario.
    pub scenario: &'static Scenario,
    /// Version (ignored by primitive scenarios).
    pub version: Version,
    /// Checker.
    pub checker: Checker,
    /// Bounds.
    pub bounds: Bounds,
    /// Mutations.
    pub mutations: MutationSet,
    /// Capture the failing execution's trace.
    pub capture: bool,
    /// After a loom/shuttle failure, produce a replay token (loom re-explores
    /// up to the failing execution once more to save its path).
    pub want_replay: bool,
    /// loom: make `fence(SeqCst)` an exploration event (default; see
    /// rcu_core::platform::loom_backend).  Only the test that measures what
    /// plain loom misses turns it off.
    pub loom_fence_events: bool,
    /// The memory-model profile (C11, or x86-TSO hardware).
    pub profile: Profile,
}

impl CellSpec {
    /// The scenario's defaults for a checker.
    pub fn new(scenario: &'static Scenario, version: Version, checker: Checker) -> CellSpec {
        let bounds = Bounds {
            preemption_bound: scenario
                .bound_overrides
                .iter()
                .find(|(v, _)| *v == version.port())
                .map(|(_, b)| *b)
                .unwrap_or(scenario.preemption_bound),
            iterations: match checker {
                Checker::Std => 20,
                _ => scenario.shuttle_iterations,
            },
            pct_depth: scenario.shuttle_pct_depth,
            ..Bounds::default()
        };
        CellSpec {
            scenario,
            version,
            checker,
            bounds,
            mutations: MutationSet::none(),
            capture: false,
            want_replay: false,
            loom_fence_events: true,
            profile: Profile::C11,
        }
    }
}

/// What a cell found.
#[derive(Clone, Debug)]
pub struct CellResult {
    /// The spec.
    pub spec: CellSpec,
    /// The checker's outcome.
    pub outcome: Outcome,
    /// Expected result (meaningful without mutations).
    pub expected: Expect,
    /// Each window and whether it was reached.
    pub windows: Vec<(&'static str, bool)>,
    /// The replay token, if any.
    pub replay: Option<String>,
}

impl CellResult {
    /// Whether the verdict is the expected one: same label, same kind, and for a
    /// passing run every window reached.
    pub fn matches(&self) -> bool {
        match (&self.expected, &self.outcome.verdict) {
            (Expect::Holds, Verdict::Holds) => self.windows.iter().all(|(_, r)| *r),
            (Expect::Violated { kind, .. }, Verdict::Violated { kind: k, .. }) => kind == k,
            _ => false,
        }
    }

    /// The windows a passing run did not reach.
    pub fn missed_windows(&self) -> Vec<&'static str> {
        self.windows.iter().filter(|(_, r)| !r).map(|(w, _)| *w).collect()
    }
}

fn program<P: Platform>(body: Body<P>, version: Version, obs: Arc<Obs>) -> Program<P> {
    Arc::new(move |rt: &Arc<Runtime<P>>| body(&Exec { rt: rt.clone(), version, obs: obs.clone() }))
}

/// The default run configuration for a checker, before the scenario adjusts it.
pub fn base_config(checker: Checker) -> RunConfig {
    let mut cfg = RunConfig::default();
    if checker == Checker::Loom {
        // Every model object is created anew in each execution: keep the
        // per-thread reader slots and the rcu_head arena to loom's size.
        cfg.max_threads = 5;
        cfg.max_heads = 12;
    }
    cfg
}

/// The run configuration a cell uses.
pub fn run_config(spec: &CellSpec, capture_id: u64) -> RunConfig {
    let mut cfg = base_config(spec.checker);
    (spec.scenario.configure)(spec.version.port(), &mut cfg);
    cfg.mutations = spec.mutations.clone();
    cfg.capture = capture_id;
    cfg.loom_fence_events = spec.loom_fence_events;
    cfg.profile = spec.profile;
    cfg
}

enum Mode {
    Explore,
    Record(u64),
    Replay(Schedule),
}

fn run_once(spec: &CellSpec, mode: Mode, cap: Option<&Capture>) -> Outcome {
    let obs = Arc::new(Obs::default());
    let cfg = run_config(spec, cap.map(|c| c.id()).unwrap_or(0));
    let b = &spec.bounds;
    let bodies = spec.scenario.bodies;
    let v = spec.version;
    match spec.checker {
        #[cfg(feature = "loom")]
        Checker::Loom => {
            let m = match mode {
                Mode::Explore => harness::LoomMode::Explore,
                Mode::Record(n) => harness::LoomMode::Record(n),
                Mode::Replay(Schedule::Loom(p)) => harness::LoomMode::Replay(p),
                Mode::Replay(Schedule::Shuttle(_)) => unreachable!("checked by the token decoder"),
            };
            harness::run_loom(program(bodies.loom, v, obs.clone()), cfg, b, m, obs, cap)
        }
        #[cfg(feature = "shuttle")]
        Checker::Shuttle => {
            let m = match mode {
                Mode::Replay(Schedule::Shuttle(s)) => harness::ShuttleMode::Replay(s),
                _ => harness::ShuttleMode::Explore,
            };
            harness::run_shuttle(program(bodies.shuttle, v, obs.clone()), cfg, b, m, obs, cap)
        }
        Checker::Std => harness::run_std(program(bodies.std, v, obs.clone()), cfg, b, obs, cap),
        #[allow(unreachable_patterns)]
        other => panic!("checker {other} is not compiled in (enable the `{other}` feature)"),
    }
}

/// Run a cell.
pub fn run_cell(spec: &CellSpec) -> CellResult {
    let cap = if spec.capture { Some(Capture::begin()) } else { None };
    let mut outcome = run_once(spec, Mode::Explore, cap.as_ref());
    let mut replay = None;
    if spec.want_replay && matches!(outcome.verdict, Verdict::Violated { .. }) {
        let schedule = match spec.checker {
            Checker::Loom => {
                // Re-explore to the failing execution and let loom save its path.
                let rec = run_once(spec, Mode::Record(outcome.executions), cap.as_ref());
                if rec.verdict == outcome.verdict || rec.verdict.kind() == outcome.verdict.kind() {
                    if !rec.trace.is_empty() {
                        outcome.trace = rec.trace.clone();
                    }
                    rec.schedule
                } else {
                    None
                }
            }
            _ => outcome.schedule.clone(),
        };
        replay = schedule.map(|s| Token::new(spec, s).encode());
    }
    finish_cell(spec, outcome, replay)
}

fn finish_cell(spec: &CellSpec, outcome: Outcome, replay: Option<String>) -> CellResult {
    let windows = spec.scenario.windows.iter().map(|w| (w.what, (w.reached)(&outcome.stats))).collect();
    let expected = if spec.scenario.scope == Scope::Primitive {
        (spec.scenario.expect)(Version::Master)
    } else {
        (spec.scenario.expect)(spec.version.port())
    };
    CellResult { spec: spec.clone(), outcome, expected, windows, replay }
}

// ---------------------------------------------------------------------------
// Replay tokens

/// A replay token: everything needed to re-execute one schedule.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Token {
    /// Format version.
    pub v: u32,
    /// `loom` or `shuttle`.
    pub checker: String,
    /// Scenario name.
    pub scenario: String,
    /// Version name.
    pub version: String,
    /// Mutations, `B12:drop,…`.
    pub mutations: String,
    /// loom preemption bound.
    pub preemption_bound: usize,
    /// loom max branches.
    pub max_branches: usize,
    /// The schedule: loom's checkpoint JSON, or shuttle's schedule string.
    pub schedule: String,
    /// Memory-model profile (`c11` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

const TOKEN_PREFIX: &str = "rcu1.";

impl Token {
    fn new(spec: &CellSpec, s: Schedule) -> Token {
        let (checker, schedule) = match s {
            Schedule::Loom(p) => ("loom", p),
            Schedule::Shuttle(p) => ("shuttle", p),
        };
        Token {
            v: 1,
            checker: checker.into(),
            scenario: spec.scenario.name.into(),
            version: spec.version.name().into(),
            mutations: spec.mutations.to_string(),
            preemption_bound: spec.bounds.preemption_bound,
            max_branches: spec.bounds.max_branches,
            schedule,
            profile: (spec.profile != Profile::C11).then(|| spec.profile.name().to_string()),
        }
    }

    /// `rcu1.<base64url(deflate(json))>`.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("token serialises");
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&json).expect("in-memory compression");
        let bytes = z.finish().expect("in-memory compression");
        format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Decode; `Err` is one line saying what is wrong.
    pub fn decode(s: &str) -> Result<Token, String> {
        let body = s.trim().strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
            format!("unreadable replay token: it must start with `{TOKEN_PREFIX}` (as printed by `rcu-check explain`)")
        })?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| format!("unreadable replay token: not base64url ({e})"))?;
        let mut json = Vec::new();
        flate2::read::DeflateDecoder::new(&bytes[..])
            .read_to_end(&mut json)
            .map_err(|e| format!("unreadable replay token: corrupt data ({e})"))?;
        let t: Token = serde_json::from_slice(&json).map_err(|e| format!("unreadable replay token: {e}"))?;
        if t.v != 1 {
            return Err(format!("unreadable replay token: format version {} (this rcu-check reads 1)", t.v));
        }
        Ok(t)
    }

    /// The cell and schedule this token replays.
    pub fn to_spec(&self) -> Result<(CellSpec, Schedule), String> {
        let scenario = crate::catalog::find(&self.scenario).map_err(|e| format!("replay token names an {e}"))?;
        let version: Version = self.version.parse().map_err(|e| format!("replay token names an {e}"))?;
        let checker = Checker::parse(&self.checker)?;
        let mutations = parse_mutations(&self.mutations)?;
        let schedule = match checker {
            Checker::Loom => {
                serde_json::from_str::<serde_json::Value>(&self.schedule)
                    .map_err(|_| "unreadable replay token: the loom path is not JSON".to_string())?;
                Schedule::Loom(self.schedule.clone())
            }
            Checker::Shuttle => {
                #[cfg(feature = "shuttle")]
                if !harness::shuttle_schedule_ok(&self.schedule) {
                    return Err("unreadable replay token: the shuttle schedule does not decode".into());
                }
                Schedule::Shuttle(self.schedule.clone())
            }
            Checker::Std => return Err("unreadable replay token: std runs cannot be replayed".into()),
        };
        let mut spec = CellSpec::new(scenario, version, checker);
        spec.mutations = mutations;
        spec.bounds.preemption_bound = self.preemption_bound;
        spec.bounds.max_branches = self.max_branches;
        if let Some(p) = &self.profile {
            spec.profile = Profile::parse(p).map_err(|e| format!("replay token names an {e}"))?;
        }
        Ok((spec, schedule))
    }
}

/// Re-execute the schedule of a token, capturing its trace.
pub fn replay(token: &str) -> Result<CellResult, String> {
    let t = Token::decode(token)?;
    let (mut spec, schedule) = t.to_spec()?;
    spec.capture = true;
    let cap = Capture::begin();
    let outcome = run_once(&spec, Mode::Replay(schedule), Some(&cap));
    drop(cap);
    Ok(finish_cell(&spec, outcome, Some(token.trim().to_string())))
}

/// Parse `B12:drop,B21:weaken:relaxed` against the known sites.
/// `B12:weaken:relaxed` → (`B12`, `weaken:relaxed`); a C site's ID has a
/// colon of its own: `util/rcu.c:124:drop` → (`util/rcu.c:124`, `drop`).
fn split_site(item: &str) -> Option<(&str, &str)> {
    let (a, rest) = item.split_once(':')?;
    if a.ends_with(".c") || a.ends_with(".h") {
        let (line, m) = rest.split_once(':')?;
        return Some((&item[..a.len() + 1 + line.len()], m));
    }
    Some((a, rest))
}

pub fn parse_mutations(s: &str) -> Result<MutationSet, String> {
    let mut set = MutationSet::none();
    for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let (id, m) = split_site(item)
            .ok_or_else(|| format!("bad mutation `{item}` (expected <site>:drop or <site>:weaken:<ordering>)"))?;
        let mutable = || rcu_core::site::mutable_site_ids().join(", ");
        let site = SITES
            .iter()
            .find(|x| x.id == id)
            .or_else(|| models::ctree::find_site(id))
            .ok_or_else(|| format!("unknown site `{id}` (valid: {}, or a C tree's FILE:LINE)", mutable()))?;
        let m = Mutation::parse(m)?;
        if site.kind.is_logic() || m.is_logic() {
            // A logic operator applies to a logic site of its kind only.
            if !site.mutations().contains(&m) {
                let valid: Vec<String> = site.mutations().iter().map(|m| m.to_string()).collect();
                let valid = if valid.is_empty() { "none".to_string() } else { valid.join(", ") };
                return Err(format!("mutation `{m}` does not apply to site {id} (valid for it: {valid})"));
            }
            set.insert(site.id, m);
            continue;
        }
        if !site.kind.is_mutable() {
            let what = match site.kind {
                SiteKind::Relaxed => "a relaxed access",
                SiteKind::Plain => "a plain access",
                SiteKind::Lock => "a lock operation",
                _ => "a call into QemuEvent/QemuSemaphore (mutate its own sites, B40-B47)",
            };
            return Err(format!("site {id} is {what} and cannot be mutated (mutable sites: {})", mutable()));
        }
        let applies = matches!(
            (m, site.kind),
            (Mutation::Drop | Mutation::Weaken(_), _)
                | (Mutation::Split, SiteKind::Rmw(_))
                | (Mutation::Plain, SiteKind::Access(_))
        );
        if !applies {
            let valid: Vec<String> = site.mutations().iter().map(|m| m.to_string()).collect();
            return Err(format!("mutation `{m}` does not apply to site {id} (valid for it: {})", valid.join(", ")));
        }
        set.insert(site.id, m);
    }
    Ok(set)
}

/// Trace lines and the thread names of a result (for rendering).
pub fn trace_of(r: &CellResult) -> (&[TraceLine], &[String]) {
    (&r.outcome.trace, &r.outcome.threads)
}

/// Aggregated counters of a result.
pub fn stats_of(r: &CellResult) -> &Stats {
    &r.outcome.stats
}
