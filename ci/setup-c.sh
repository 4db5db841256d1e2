#!/usr/bin/env bash
# Set-up for the C front end (models/cfront): clang-14, which compiles the C
# under test to LLVM 14 IR (the version the llvm-ir crate reads through
# llvm-14-dev), and glib's headers with pkg-config (a QEMU tree's util/rcu.c
# includes <glib.h>: cfront::CTree).  Installs them with apt when missing and
# run as root; otherwise prints one line saying what to install and exits 1.
set -euo pipefail
# Also installs llvm-14-dev (the crate links LLVM 14) where llvm-config-14 is
# missing (it is preinstalled on this project's machines).  `sudo` is used
# when not root and available (GitHub runners).
ready() {
    command -v clang-14 >/dev/null 2>&1 && command -v llvm-config-14 >/dev/null 2>&1 &&
        pkg-config --exists glib-2.0 2>/dev/null
}
ready && exit 0
as_root=()
[ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && as_root=(sudo); }
if { [ "$(id -u)" = 0 ] || [ ${#as_root[@]} -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq clang-14 llvm-14-dev libglib2.0-dev pkg-config >/dev/null
    ready && exit 0
fi
echo "ci/setup-c.sh: clang-14, llvm-14-dev or glib's headers are missing: install them as root with 'apt-get install -y clang-14 llvm-14-dev libglib2.0-dev pkg-config' (Debian 12)" >&2
exit 1
