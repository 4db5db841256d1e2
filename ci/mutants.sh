#!/usr/bin/env bash
# Mutants job (scheduled): drop / weaken / split / make plain every ordering
# site (barrier mutants, B<n>) and drop a call or a store, negate or drop a
# condition, swap two statements (logic mutants, L<n>) of every version (C11
# profile), and require that each mutant is killed by a scenario or justified
# by a classed row of proofs.md's survivor table; an inconclusive mutant (a
# killer cell out of budget) fails the job too.
# Writes mutants.json (the stable JSON schema).  OPERATORS=drop,weaken (etc.,
# or the groups barrier / logic) and SITES=B12,L3 restrict the run (shards).
# Shards and their measured times (2 cores, proofs.md, Survivors and Logic
# mutants): OPERATORS=barrier about 60 minutes at 2 jobs (measured before
# no_force_after_drain joined the killers), OPERATORS=logic 22 minutes at 1 job
# (1312 s: master 388, unify 181, seed 210, semaphore-draft 114,
# semaphore-followup 137, v3 282).
# Budget: 90 minutes per shard.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${MUTANTS_BUDGET_SECS:-5400}
cargo build --release --quiet -p scenarios --bin rcu-check
args=(mutants --json --jobs "${JOBS:-2}")
[ -n "${OPERATORS:-}" ] && args+=(--operator "$OPERATORS")
[ -n "${SITES:-}" ] && args+=(--site "$SITES")
timeout "$budget" target/release/rcu-check "${args[@]}" > mutants.json || true
python3 - <<'PY'
import json, sys
d = json.load(open("mutants.json"))
s = d["summary"]
print(f'{s["mutants"]} mutants: {s["killed"]} killed, {s["justified"]} justified, '
      f'{s["inconclusive"]} inconclusive, {s["survived"]} unexplained; {s["wall_seconds"]:.0f} s')
for o in s["by_operator"]:
    print(f'  {o["operator"]}: {o["killed"]}/{o["mutants"]} killed')
for fam, f in s.get("families", {}).items():
    t = f["time_to_kill"]
    med = "-" if t["median_seconds"] is None else f'{t["median_seconds"]:.2f} s'
    mx = "-" if t["max_seconds"] is None else f'{t["max_seconds"]:.2f} s'
    cls = ", ".join(f"{n} {c}" for c, n in f["justified_by_class"].items())
    print(f'{fam} mutants: {f["killed"]}/{f["mutants"]} killed, {f["justified"]} justified ({cls}), '
          f'{f["inconclusive"]} inconclusive, {f["survived"]} unexplained; time to kill median {med}, max {mx}')
bad = [m for m in d["mutants"] if m["status"] in ("survived", "inconclusive")]
for m in bad:
    print(f'  {m["status"]}: {m["version"]} {m["site"]} {m["mutation"]}', file=sys.stderr)
sys.exit(1 if bad else 0)
PY
