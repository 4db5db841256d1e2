#!/usr/bin/env bash
# The differential matrix on QEMU's own C (issue 11): fetch util/, include/
# and linux-headers/ of the MASTER commit and of the force_rcu v3 branch head
# from the public mirror pbo-linaro/qemu-ci, then run every scenario on the
# compiled C beside its port (`rcu-check matrix --compare`), under loom and
# under shuttle.  Exit 1 when a C verdict differs from its port's.
#
#   QEMU_TREES=DIR   where the trees go (default: target/qemu-trees)
#   CHECKERS="loom shuttle"
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup-c.sh
TREES=${QEMU_TREES:-target/qemu-trees}
MIRROR=https://github.com/pbo-linaro/qemu-ci
# MASTER (merge ece408818d, 2026-02-13) and force_rcu v3 (Message-Id
# 20260115-force_rcu-v3-0-1f8bfaff4815@rsg.ci.i.u-tokyo.ac.jp, branch head).
declare -A COMMIT=(
  [master]=ece408818d27f745ef1b05fb3cc99a1e7a5bf580
  [v3]=36db4321c061e1c9430afcabb249771fffda62d3
)
for label in master v3; do
  dir=$TREES/$label
  if [ ! -f "$dir/util/rcu.c" ]; then
    rm -rf "$dir"
    git init -q "$dir"
    git -C "$dir" remote add origin "$MIRROR"
    git -C "$dir" sparse-checkout set util include linux-headers
    git -C "$dir" fetch -q --depth 1 --filter=blob:none origin "${COMMIT[$label]}"
    git -C "$dir" checkout -q FETCH_HEAD
  fi
done
cargo build --release --bin rcu-check
status=0
for checker in ${CHECKERS:-loom shuttle}; do
  echo "== $checker"
  ./target/release/rcu-check matrix --checker "$checker" --version master,v3 \
    --c-tree "$TREES/master=master" --c-tree "$TREES/v3=v3" --compare \
    --json > "qemu-c-$checker.json" || status=1
  python3 - "qemu-c-$checker.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["compare"]
for r in rows:
    print(f'{r["scenario"]:<34} {r["version"]:<9} C={r["c_verdict"]:<22} port={r["port_verdict"]:<22} '
          f'cost {r["cost_ratio"]:.1f}x {"" if r["same"] else "DIFFERS"}')
print(f'{len(rows)} compared, {sum(not r["same"] for r in rows)} differ')
PY
done
# The same trees compiled natively, on real threads: QEMU's rcutorture invariants.
echo "== native torture"
./target/release/rcu-check torture --version c:master,c:v3 \
  --c-tree "$TREES/master=master" --c-tree "$TREES/v3=v3" --seconds 10 --readers 8 || status=1
exit $status
