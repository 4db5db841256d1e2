#!/usr/bin/env bash
# Set-up for the C front end (models/cfront): clang-14, which compiles the C
# under test to LLVM 14 IR (the version the llvm-ir crate reads through
# llvm-14-dev).  Installs it with apt when missing and run as root; otherwise
# prints one line saying what to install and exits 1.
set -euo pipefail
if command -v clang-14 >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 >/dev/null
    command -v clang-14 >/dev/null 2>&1 && exit 0
fi
echo "ci/setup-c.sh: clang-14 is missing: install it as root with 'apt-get install -y clang-14' (Debian 12)" >&2
exit 1
