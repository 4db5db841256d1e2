#!/usr/bin/env bash
# Quick job (every push): formatting, lints, and the README's test command,
# which runs the full default verdict matrix on loom and shuttle, the litmus
# tests, proofs.md consistency, the CLI, proptest and the std smoke runs.
# Budget: 20 minutes on a 2-core machine (measured: see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${QUICK_BUDGET_SECS:-1200}
timeout "$budget" bash -euo pipefail -c '
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets --quiet -- -D warnings
cargo test --release
'
