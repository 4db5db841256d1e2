#!/usr/bin/env bash
# Regenerate the counterexample traces of proofs.md's findings section: one
# `rcu-check explain` per expected-violated cell of the default matrix, as
# markdown on stdout, one line per step (`step thread: action`) instead of
# explain's thread-column table.  Paste the output between the
# `traces:begin` and `traces:end` markers of proofs.md.
# Budget: about 6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p scenarios --bin rcu-check
bin=target/release/rcu-check
"$bin" list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["scenarios"]:
    if s["scope"] != "versions":
        continue
    for v, e in s["expected"].items():
        if e["expect"] == "violated":
            print(s["name"], v, e["kind"])
' | while read -r scenario version kind; do
    echo "<details><summary><code>${scenario}</code> × <code>${version}</code> (${kind})</summary>"
    echo
    echo '```text'
    timeout 600 "$bin" explain "$version" "$scenario" 2>/dev/null | python3 -c '
import sys
scenario, version = sys.argv[1], sys.argv[2]
cols = None
cur = []
out = []
for ln in sys.stdin.read().split("\n"):
    if ln.startswith("replay: "):
        ln = f"replay: cargo rcu-check explain {version} {scenario}  (prints the replay token)"
    if cols is None:
        if ln.startswith("step |"):
            cols = [c.strip() for c in ln.split("|")[1:]]
        else:
            out.append(ln)
        continue
    if ln.startswith("-----"):
        continue
    if "|" not in ln:
        cols = None
        out.extend(cur)
        cur = []
        out.append(ln)
        continue
    parts = ln.split("|")
    step, cells = parts[0].strip(), [c.strip() for c in parts[1:]]
    if step:
        out.extend(cur)
        cur = [[f"{step:>4} {name}: ", c, name] for c, name in zip(cells, cols) if c]
    else:
        for c, name in zip(cells, cols):
            for entry in cur:
                if c and entry[2] == name:
                    entry[1] += " " + c
out.extend(cur)
print("\n".join(x if isinstance(x, str) else x[0] + x[1] for x in out).rstrip("\n"))
' "$scenario" "$version"
    echo '```'
    echo
    echo '</details>'
    echo
done
