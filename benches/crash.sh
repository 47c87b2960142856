#!/usr/bin/env bash
# The crash campaign at any size: KILLS runs of a small generated warehouse (3 CSS, one on Mozaïk,
# about 200 students, two nights alternated), each killed at a random moment (SIGKILL) or at an
# exact commit step (an aborting failpoint), the invariants checked after each (no torn state,
# no orphan left after the next open, marts built from the current CSS runs). It is the test
# `crates/socle-cli/tests/crash.rs` (CI runs it with 20 kills in debug), run here in release.
#   benches/crash.sh [KILLS=200] [SEED=random]
# Prints the seed (rerun with it to replay the same kills), the kills, torn states (0 expected),
# orphan files found and the time. PROFILE=debug runs the debug build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-200}
seed=${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
profile=()
if [ "${PROFILE:-release}" = release ]; then profile=(--release); fi
# Aborted processes must not write core files (the failpoints abort on purpose).
ulimit -c 0
echo "== crash campaign: $kills kills, seed $seed"
start=$(date +%s)
SOCLE_CRASH_KILLS=$kills SOCLE_CRASH_SEED=$seed \
  cargo test "${profile[@]}" -q -p socle-cli --test command -- crash::crash_campaign_leaves_every_css_whole --exact --nocapture
echo "== done in $(( $(date +%s) - start )) s (build included)"
