#!/usr/bin/env bash
# The char-model column of docs/cells.md: every named core but clstm, 10 minutes each on the
# bundled Shakespeare, one after another (about 160 minutes on 2 cores). Run it alone: nothing
# else on the machine while it runs, or the figures are not comparable.
#
#   bash benchmarks/cells_charlm.sh                    # all fifteen cores
#   CELLS="lstm gru" BUDGET=30s bash benchmarks/cells_charlm.sh   # some, shorter (a smoke run)
#   FLAGS="--precision fp32" bash benchmarks/cells_charlm.sh       # more flags for every run
#
# An AVX2-only CPU imitated on a newer one (torch, oneDNN and MKL held to AVX2; rnnkit's
# compiled loops are still built for the CPU itself, see docs/cells.md):
#   ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 \
#     MKL_ENABLE_INSTRUCTIONS=AVX2 FLAGS="--precision fp32" OUT=runs/avx2 \
#     CELLS="lstm lngru" bash benchmarks/cells_charlm.sh
#
# Each run's --json summary goes to $OUT/<cell>.json (a cell already there is skipped, so a
# stopped table goes on where it stopped); the table is printed at the end with the CPU.
set -euo pipefail
CELLS=${CELLS:-"rnn relu irnn lstm gru gru-lectures peephole lnlstm lngru mut1 mut2 mut3 mingru minlstm rglru"}
BUDGET=${BUDGET:-10m}
FLAGS=${FLAGS:-}
OUT=${OUT:-runs/cells-charlm}
RNNKIT=${RNNKIT:-rnnkit}
mkdir -p "$OUT"
lscpu | grep -E '^Model name' | sed 's/  */ /g' > "$OUT/cpu.txt"
for flag in avx2 avx512f avx512_bf16 amx_bf16; do
  if grep -qw "$flag" /proc/cpuinfo; then echo "flag $flag" >> "$OUT/cpu.txt"; fi
done
for var in ATEN_CPU_CAPABILITY ONEDNN_MAX_CPU_ISA DNNL_MAX_CPU_ISA MKL_ENABLE_INSTRUCTIONS; do
  if [ -n "${!var:-}" ]; then echo "held: $var=${!var}" >> "$OUT/cpu.txt"; fi
done
if [ -n "$FLAGS" ]; then echo "flags: $FLAGS" >> "$OUT/cpu.txt"; fi
for cell in $CELLS; do
  if [ -s "$OUT/$cell.json" ]; then echo "$cell: done before, kept" >&2; continue; fi
  echo "$(date -u +%H:%M:%S) $cell" >&2
  $RNNKIT train charlm --cell "$cell" --time-budget "$BUDGET" --out "$OUT-$cell" --json $FLAGS \
    > "$OUT/$cell.json.partial"
  mv "$OUT/$cell.json.partial" "$OUT/$cell.json"
done
python3 - "$OUT" $CELLS <<'EOF'
import json, sys
from pathlib import Path
out, cells = Path(sys.argv[1]), sys.argv[2:]
print(" ".join(out.joinpath("cpu.txt").read_text().split()))
print("| core | val nats/char | steps | tokens/s |")
print("|---|---|---|---|")
for cell in cells:
    path = out / f"{cell}.json"
    if not path.exists():
        print(f"| `{cell}` | not run | | |")
        continue
    row = json.loads(path.read_text().strip().splitlines()[-1])
    nats = row["val_nats"]
    shown = "none (never evaluated)" if nats is None else f"{nats:.3f}"
    print(f"| `{cell}` | {shown} | {row['steps']:,} | {row['tokens_per_s']:,.0f} |")
EOF
