#!/usr/bin/env bash
# Mutants job (scheduled): drop / weaken / split / make plain every ordering
# site of every version (C11 profile) and require that each mutant is killed by
# a scenario or justified by a classed row of proofs.md's survivor table; an
# inconclusive mutant (a killer cell out of budget) fails the job too.
# Writes mutants.json (the stable JSON schema).  OPERATORS=drop,weaken (etc.)
# and SITES=B12,B17 restrict the run (shards).
# Budget: 90 minutes on 2 cores (measured: see proofs.md, Survivors).
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
bad = [m for m in d["mutants"] if m["status"] in ("survived", "inconclusive")]
for m in bad:
    print(f'  {m["status"]}: {m["version"]} {m["site"]} {m["mutation"]}', file=sys.stderr)
sys.exit(1 if bad else 0)
PY
