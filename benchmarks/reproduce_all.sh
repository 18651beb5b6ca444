#!/usr/bin/env bash
# Every published result, as docs/results.md's table needs it: fetch the data sets the entries
# name (once; nothing is downloaded again), then a full `rnnkit reproduce` on this machine,
# alone (its budgets are wall time: another job on the machine changes the figures), about
# 105 minutes on 2 CPU cores. The printed table and OUT/results.json go into docs/results.md.
#   bash benchmarks/reproduce_all.sh [OUT]   (default OUT: runs/reproduce-full; PYTHON=... picks
#                                             the interpreter, default python3)
# A smoke run of the same path in a few minutes: SCALE=0.02 bash benchmarks/reproduce_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
OUT="${1:-runs/reproduce-full}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

for name in names sentiment pos bible emoji airline digits; do "$PYTHON" -m rnnkit data fetch "$name"; done
mkdir -p "$(dirname "$OUT")"
"$PYTHON" -m rnnkit reproduce --list
"$PYTHON" -m rnnkit reproduce --runs-dir "$OUT" --scale "${SCALE:-1}" | tee "$OUT.txt"
echo "reproduce_all: table in $OUT.txt, rows and machine in $OUT/results.json"
