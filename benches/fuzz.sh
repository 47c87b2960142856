#!/usr/bin/env bash
# The long fuzz campaign (issue 12): every fuzz property with CASES inputs each, then a summary of
# the inputs tried and the failures per target. The targets: the readers of GPI, JADE, Dofin and
# Mozaïk fed mutated committed fixtures and fixtures cut short, the dictionary loader fed mutated
# copies of schemas/ and the pipelines loader mutated copies of pipelines/. A failure prints its
# minimal input and is saved under the test's proptest-regressions/ folder (commit it with the fix).
#
# Usage: benches/fuzz.sh [CASES]        (default 5000 per property)
# Environment: PROFILE=debug skips the release build (about 17 minutes on 2 cores from cold),
#              at about ten times the time per input; CARGO_TARGET_DIR as usual.
set -uo pipefail
cd "$(dirname "$0")/.."
CASES=${1:-5000}
PROFILE=${PROFILE:-release}
flags=()
if [ "$PROFILE" = release ]; then flags=(--release); fi
logs=$(mktemp -d)
export PROPTEST_CASES=$CASES
targets=(socle-connect-gpi:fuzz socle-connect-jade:fuzz socle-connect-dofin:fuzz socle-connect-mozaik:fuzz socle-marts:fuzz_loaders)
failed=0
start=$(date +%s)
echo "fuzz campaign: $CASES cases per property, $PROFILE build, logs in $logs"
for spec in "${targets[@]}"; do
    crate=${spec%%:*}
    test=${spec##*:}
    log="$logs/$crate.log"
    if cargo test "${flags[@]}" -p "$crate" --test "$test" -- --nocapture >"$log" 2>&1; then
        echo "  $crate: passed"
    else
        echo "  $crate: FAILED (see $log)"
        grep -E "minimal failing input|panicked at" "$log" | head -5 | sed 's/^/      /'
        failed=1
    fi
done
echo
echo "target                              inputs tried   failures"
grep -h "^fuzz " "$logs"/*.log | sed -E 's/^fuzz ([^:]+): ([0-9]+) inputs tried, ([0-9]+) failures.*/\1|\2|\3/' |
    awk -F'|' '{ printf "%-35s %12d %10d\n", $1, $2, $3; inputs += $2; failures += $3 }
               END { printf "%-35s %12d %10d\n", "total", inputs, failures }'
echo "($(( $(date +%s) - start )) s)"
exit $failed
