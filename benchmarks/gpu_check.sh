#!/usr/bin/env bash
# The GPU checks, in one short script: the full-data width-isolating accuracy experiment (four processes
# share the GPU, each training a quarter of the runs: these networks are launch-bound), a calibrated
# roofline profile of the GPU, and the latency study's grid timed on the GPU beside its prediction, with the
# calibrated profile compared with the shipped H100 datasheet one (results/gpu-full/latency/).
# Target: under 10 minutes on one H100-class GPU. Results: results/gpu-full/.
#
#   bash benchmarks/gpu_check.sh                 # on a machine with a CUDA GPU and a CUDA build of torch
#   DATA=/path/to/fashion-mnist bash benchmarks/gpu_check.sh
#   SMOKE=1 bash benchmarks/gpu_check.sh         # the same steps on the CPU at a tiny size (tests/ runs this)
#
# Reruns resume: finished runs are kept in results/gpu-full (one JSON per run), so a second call after a
# timeout trains only what is missing (results/gpu-full/runs). Summary: `skanalyze train summarize results/gpu-full/runs`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ] && [ -d shared/fashion-mnist ]; then DATA=shared/fashion-mnist; fi
DESIGNS="GConv(1)+PWGConv(1),GConv(2)+PWGConv(1),GConv(8)+PWGConv(2),GConv(16)+PWGConv(4)"
if [ "${SMOKE:-0}" = 1 ]; then
  OUT=${OUT:-results/gpu-smoke}
  DEVICE=cpu
  SIZE=(--epochs 1 --seeds 1 --limit-train 256 --limit-test 128 --threads 1)
  CALIBRATE=(--quick --threads 1)
  STUDY=(--quick --batch 1)
else
  OUT=${OUT:-results/gpu-full}
  DEVICE=cuda
  SIZE=(--epochs 15 --seeds 5)
  CALIBRATE=()
  STUDY=(--runs 1 --batch 1)
  "$PY" -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, torch.cuda.get_device_name() if ok else 'NO CUDA'); sys.exit(0 if ok else 2)"
fi
"$PY" -c "import sympy, typer, rich, numpy" 2>/dev/null || { echo "gpu_check: install skanalyze's dependencies first: pip install -e ." >&2; exit 2; }
RUNS="$OUT/runs"  # only result files: `train summarize` refuses a folder with anything else
mkdir -p "$RUNS"
start=$(date +%s)
# --force: a busy machine is recorded, not refused; the warnings are in the profile and its printout
"$PY" -m skanalyze device calibrate --device "$DEVICE" "${CALIBRATE[@]}" --name "gpu-check-$DEVICE" --out "$OUT/profile.json" --force | tee "$OUT/profile.txt"
seq 1 4 | xargs -P 4 -I{} "$PY" -m skanalyze train --designs "$DESIGNS" --bn --budget 75k "${SIZE[@]}" \
  --device "$DEVICE" --data "$DATA" --out "$RUNS" --shard {}/4 --format json > /dev/null
"$PY" benchmarks/latency_study.py --device "$DEVICE" "${STUDY[@]}" --out "$OUT/latency" > "$OUT/latency.txt"
"$PY" -m skanalyze train summarize "$RUNS" | tee "$OUT/summary.txt"
"$PY" -m skanalyze train summarize "$RUNS" --json > "$OUT/summary.json"
echo "wall time: $(( $(date +%s) - start )) s" | tee "$OUT/wall.txt"
