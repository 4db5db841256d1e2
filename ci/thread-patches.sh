#!/usr/bin/env bash
# The patches of the force_rcu thread that `rcu-check review` checks (issue 12
# item 4), fetched from their public sources into OUTDIR, never into this
# repository (no QEMU code is committed here):
#
#   v1-1-5.mbox, v1-2-5.mbox, v1-4-5.mbox   force_rcu v1 1/5, 2/5, 4/5 (SEED is 4/5)
#   semaphore-draft.mbox                    Peter Xu's reply with "rcu: Make sync_event a semaphore"
#   semaphore-followup.mbox                 his next reply, with the fix on top of the draft
#   v3-3-5.patch, v3-4-5.patch              force_rcu v3 3/5 and 4/5 (git format-patch from the mirror)
#   trees/v3-0                              util/ include/ linux-headers/ of d03c3e522e, v3's base
#   trees/v3-3of5                           ... of 76873115f4 (v3 3/5), the base of the v3 4/5 review
#   trees/seed, trees/semaphore-draft, trees/semaphore-followup
#                                           v3-0 + v1 1/5 + v1 2/5 + v3 3/5 + v1 4/5 (+ the draft
#                                           (+ the follow-up)): the C the reviews check, for
#                                           `rcu-check matrix --c-tree DIR=seed --compare`
#
# The mails come from lore.kernel.org by Message-ID (its /raw form); with
# `--mails DIR` they are copied from DIR instead (same file names), which is
# how a machine without network checks mails it already has.  Every step is
# then checked by content: each patch must `git apply` in order, and the files
# it produces must have the git blob ids that the mails' `index` lines name
# (util/rcu.c 85f9333f5dff for SEED, dfe031a5c96e and aff98d9ee29c for the
# drafts, ...).  A mismatch exits 1 naming the file; the sha256 of each
# checked file is printed for the record.
#
#   QEMU_MIRROR=URL|DIR   the qemu-ci mirror: a git URL (default
#                         https://github.com/pbo-linaro/qemu-ci) or a local
#                         bare repository
#
# Why this base: v1 4/5's util/rcu.c hunk applies to blob 3c4af9d213c8, v3's
# post-3/5 file (v1 3/5 = v3 3/5 for util/rcu.c), but it calls v1 2/5's
# `bool qemu_event_timedwait()`, which v3 2/5 made `void`: on v3's own 3/5
# tree it does not compile.  v1 1/5 and 2/5 apply to v3's base d03c3e522e
# (their pre-image blobs are its files), so the SEED tree is that base with
# v1 1/5, v1 2/5, v3 3/5 and v1 4/5: every file v1 touches under util/ and
# include/ is v1's exact post-image (proofs.md, "SEED and the semaphore drafts
# reviewed as patches").
#
# Usage: ci/thread-patches.sh OUTDIR [--mails DIR]
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

usage() { echo "usage: $0 OUTDIR [--mails DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
MAILS=
while [ $# -gt 0 ]; do
  case $1 in
    --mails) [ $# -ge 2 ] || usage; MAILS=$2; shift 2 ;;
    *) usage ;;
  esac
done
MIRROR=${QEMU_MIRROR:-https://github.com/pbo-linaro/qemu-ci}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -z "$MAILS" ] || MAILS=$(cd "$MAILS" && pwd)

# Message-IDs (lore: https://lore.kernel.org/qemu-devel/<Message-ID>/raw).
declare -A MSGID=(
  [v1-1-5.mbox]=20251029-force_rcu-v1-1-bf860a6277a6@rsg.ci.i.u-tokyo.ac.jp
  [v1-2-5.mbox]=20251029-force_rcu-v1-2-bf860a6277a6@rsg.ci.i.u-tokyo.ac.jp
  [v1-4-5.mbox]=20251029-force_rcu-v1-4-bf860a6277a6@rsg.ci.i.u-tokyo.ac.jp
  [semaphore-draft.mbox]=aQ0Ys09WtlSPoapm@x1.local
  [semaphore-followup.mbox]=aQ37hd0fVJltYtt-@x1.local
)
# Commits of pbo-linaro/qemu-ci (force_rcu v3, Message-Id
# 20260115-force_rcu-v3-0-1f8bfaff4815@rsg.ci.i.u-tokyo.ac.jp).
V3_BASE=d03c3e522eb0696dcfc9c2cf643431eaaf51ca0f
V3_3=76873115f47a9278911152932c7e06df8651fbba
V3_4=04befc2b7ad8127131d23d0f6f059aef61ddea73

for f in "${!MSGID[@]}"; do
  if [ -n "$MAILS" ]; then
    [ -f "$MAILS/$f" ] || { echo "$MAILS/$f: no such file" >&2; exit 2; }
    cp "$MAILS/$f" "$OUT/$f"
  else
    curl -fsSL -o "$OUT/$f" "https://lore.kernel.org/qemu-devel/${MSGID[$f]}/raw"
  fi
done

# The v3 commits: from a local bare mirror with `git archive`, else as
# ci/qemu-c.sh fetches them (sparse, shallow, blobless; blobs on demand).
export_tree() { # commit dir
  rm -rf "$2"; mkdir -p "$2"
  if [ -d "$MIRROR" ]; then
    git --git-dir="$MIRROR" archive "$1" util include linux-headers | tar -x -C "$2"
  else
    git init -q "$2"
    git -C "$2" remote add origin "$MIRROR"
    git -C "$2" sparse-checkout set util include linux-headers
    git -C "$2" fetch -q --depth 2 --filter=blob:none origin "$1"
    git -C "$2" checkout -q FETCH_HEAD
  fi
}
format_patch() { # commit file
  if [ -d "$MIRROR" ]; then
    git --git-dir="$MIRROR" format-patch -1 --stdout "$1" > "$2"
  else
    git -C "$OUT/trees/v3-3of5" fetch -q --depth 2 --filter=blob:none origin "$1"
    git -C "$OUT/trees/v3-3of5" format-patch -1 --stdout "$1" > "$2"
  fi
}
export_tree "$V3_BASE" "$OUT/trees/v3-0"
export_tree "$V3_3" "$OUT/trees/v3-3of5"
format_patch "$V3_3" "$OUT/v3-3-5.patch"
format_patch "$V3_4" "$OUT/v3-4-5.patch"
# A copy of a tree without its git directory (the copies are not those commits).
copy() { rm -rf "$2"; mkdir -p "$2"; cp -r "$1"/util "$1"/include "$1"/linux-headers "$2"/; }

status=0
check() { # dir file expected-blob-prefix
  local got
  got=$(git hash-object "$1/$2")
  if [[ $got == "$3"* ]]; then
    printf '  ok  %-24s blob %s  sha256 %s\n' "$2" "${got:0:12}" "$(sha256sum < "$1/$2" | cut -c1-16)"
  else
    printf '  BAD %-24s blob %s, expected %s\n' "$2" "${got:0:12}" "$3"
    status=1
  fi
}
step() { # dir patch
  echo "$(basename "$1") + $2"
  # The copy is no repository: keep git from finding one around OUTDIR.
  (cd "$1" && GIT_CEILING_DIRECTORIES=$(dirname "$1") git apply --recount "$OUT/$2" 2>/dev/null) ||
    { echo "  BAD $2 does not apply"; exit 1; }
}

T=$OUT/trees/seed
copy "$OUT/trees/v3-0" "$T"
step "$T" v1-1-5.mbox;  check "$T" include/qemu/futex.h e5e56603d117
step "$T" v1-2-5.mbox;  check "$T" include/qemu/thread.h 3030458bb666; check "$T" util/event.c e22cc08a629b
step "$T" v3-3-5.patch; check "$T" util/rcu.c 3c4af9d213c8
step "$T" v1-4-5.mbox;  check "$T" util/rcu.c 85f9333f5dff; check "$T" include/qemu/rcu.h d6aa4e5854d3
D=$OUT/trees/semaphore-draft
copy "$T" "$D"
step "$D" semaphore-draft.mbox; check "$D" util/rcu.c dfe031a5c96e
F=$OUT/trees/semaphore-followup
copy "$D" "$F"
step "$F" semaphore-followup.mbox; check "$F" util/rcu.c aff98d9ee29c
V=$OUT/trees/v3-check
copy "$OUT/trees/v3-3of5" "$V"
check "$V" util/rcu.c 3c4af9d213c8
step "$V" v3-4-5.patch; check "$V" util/rcu.c 2f58f3627f74
rm -rf "$V"

if [ $status -ne 0 ]; then
  echo "some files differ from the blobs the mails name" >&2
  exit $status
fi
cat <<EOF
all files match. Reviews (see proofs.md for the measured runs):
  rcu-check review --base $OUT/trees/v3-0 --base-patch $OUT/v1-1-5.mbox --base-patch $OUT/v1-2-5.mbox \\
      --base-patch $OUT/v3-3-5.patch --patch $OUT/v1-4-5.mbox
  rcu-check review --base $OUT/trees/seed --patch $OUT/semaphore-draft.mbox
  rcu-check review --base $OUT/trees/semaphore-draft --patch $OUT/semaphore-followup.mbox
  rcu-check review --base $OUT/trees/v3-3of5 --patch $OUT/v3-4-5.patch
  rcu-check matrix --c-tree $OUT/trees/seed=seed --version seed --compare
EOF
