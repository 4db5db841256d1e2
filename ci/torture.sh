#!/usr/bin/env bash
# Torture job (scheduled): QEMU's rcutorture, ported, on real threads for
# every version, with a stall watchdog.  Versions expected to hold must pass;
# the others are reported.  Budget: 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${TORTURE_SECONDS:-20}
cargo build --release --quiet -p scenarios --bin rcu-check
timeout "${TORTURE_BUDGET_SECS:-600}" target/release/rcu-check torture \
    --seconds "$seconds" --readers 8 --fake-updaters 4 --watchdog 60
