#!/usr/bin/env bash
# Deep job (scheduled): every loom cell at its scenario's default bound,
# including the cells the matrix runs at a lower bound to fit the quick budget
# (proofs.md §8.3), plus one more preemption for the small scenarios.
# Sharded: SHARD=i SHARDS=n runs every n-th cell starting at i (0-based).
# Budget: 90 minutes per shard on 2 cores (the largest cell, spurious_forcing
# × v3 at pb 2, takes about 2 minutes and 330 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
shard=${SHARD:-0}
shards=${SHARDS:-1}
budget=${DEEP_BUDGET_SECS:-5400}
cargo build --release --quiet -p scenarios --bin rcu-check
bin=target/release/rcu-check
cells=$("$bin" list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["scenarios"]:
    if s["checker"] != "loom":
        continue
    if s["scope"] == "versions":
        for v in d["versions"]:
            print(s["name"], v["name"], s["preemption_bound"])
    else:
        print(s["name"], "-", s["preemption_bound"] + 1)
')
start=$(date +%s)
i=0
fail=0
while read -r scenario version pb; do
    if (( i++ % shards != shard )); then continue; fi
    if (( $(date +%s) - start > budget )); then
        echo "budget of ${budget}s exhausted before ${scenario} × ${version}" >&2
        exit 1
    fi
    args=(matrix --scenario "$scenario" --preemptions "$pb" --budget 900 --no-replay)
    [[ "$version" != "-" ]] && args+=(--version "$version")
    echo "== ${scenario} × ${version} at pb ${pb}"
    "$bin" "${args[@]}" || fail=1
done <<< "$cells"
exit "$fail"
