#!/usr/bin/env bash
# Mutants job (scheduled): drop / weaken every barrier site of every version
# and require that each mutant is killed by a scenario or justified in
# proofs.md's survivor table.  Writes mutants.json (the stable JSON schema).
# Budget: 90 minutes on 2 cores (measured: 37 minutes with 2 jobs; see proofs.md, Survivors).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${MUTANTS_BUDGET_SECS:-5400}
cargo build --release --quiet -p scenarios --bin rcu-check
timeout "$budget" target/release/rcu-check mutants --json --jobs "${JOBS:-2}" > mutants.json
python3 - <<'PY'
import json, sys
d = json.load(open("mutants.json"))
s = d["summary"]
print(f'{s["mutants"]} mutants: {s["killed"]} killed, {s["justified"]} justified, {s["survived"]} unexplained')
bad = [m for m in d["mutants"] if m["status"] == "survived"]
for m in bad:
    print(f'  unexplained survivor: {m["version"]} {m["site"]} {m["mutation"]}', file=sys.stderr)
sys.exit(1 if bad else 0)
PY
