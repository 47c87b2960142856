#!/usr/bin/env bash
# End-to-end benchmark of a night: generate STUDENTS students over CSS_COUNT CSS, then load them.
# Reports the generator's and the run's rows/s and peak memory (the run prints both itself;
# /usr/bin/time -v, if installed, confirms the peak RSS).
#   benches/nightly.sh [STUDENTS=100000] [CSS_COUNT=5]
# Environment: JOBS=n (CSS loaded at once; default the number of cores), BENCH_DIR=dir (keep the
# exports and warehouse there; an existing exports folder is reused).
set -euo pipefail
cd "$(dirname "$0")/.."
students=${1:-100000}
css_count=${2:-5}
work=${BENCH_DIR:-$(mktemp -d)}
cargo build --release -q -p socle-cli
bin=target/release/socle
echo "== generate: $students students, $css_count CSS, 2 school years (GPI, JADE, Dofin)"
if [ ! -d "$work/exports" ]; then
  $bin generate --out "$work/exports" --css-count "$css_count" --students "$students" --seed 1 --night 2025-11-20 --bad-rate 0.001 2>/dev/null
fi
rm -rf "$work/warehouse"
du -sh "$work/exports"
echo "== run"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "wall %es, peak RSS %M KiB" $bin run --exports "$work/exports" --warehouse "$work/warehouse" --demo-key ${JOBS:+--jobs $JOBS} 2>/dev/null | grep -E "Socle run|mart|night"
else
  $bin run --exports "$work/exports" --warehouse "$work/warehouse" --demo-key ${JOBS:+--jobs $JOBS} 2>/dev/null | grep -E "Socle run|mart|night"
fi
du -sh "$work/warehouse"
echo "== query the mart"
time $bin query --warehouse "$work/warehouse" "SELECT code_css, sum(nb_evalues) AS evalues, sum(nb_reussites) * 1.0 / sum(nb_evalues) AS taux FROM taux_reussite GROUP BY code_css ORDER BY code_css" 2>/dev/null
echo "(work folder: $work)"
