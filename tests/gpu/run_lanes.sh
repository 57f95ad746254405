#!/usr/bin/env bash
# The GPU suite in lanes: one lane per GPU, the notebooks of a lane in order on that GPU alone
# (CUDA_VISIBLE_DEVICES), all lanes at once. A machine lent for a few minutes runs twice the notebooks per call.
# Lanes share one outputs root, so a notebook's upstream (notebooks.toml) must be in its lane, earlier. Notebooks
# that use several GPUs (02's multi-GPU cells) belong in a plain `run_suite.sh` run, not in a lane.
#
#   bash tests/gpu/run_lanes.sh "Part_1*/01_*.ipynb Part_7*/18_*.ipynb" "Part_7*/16_*.ipynb Appendix/*.ipynb"
#
# Each lane is a run_suite.sh run with its own logs ($OUT/laneN/) and results file; when all are done, they are
# merged into benchmarks/results/gpu_suite.json (or $GPU_SUITE_RESULTS) one after another.
set -uo pipefail
cd "$(dirname "$0")/../.."
LOGS=${OUT:-$PWD/outputs/gpu-suite}
RESULTS=${GPU_SUITE_RESULTS:-$PWD/benchmarks/results/gpu_suite.json}
gpus=$(nvidia-smi -L | grep -c "^GPU ")
[ $# -le "$gpus" ] || { echo "$# lanes for $gpus GPU(s)" >&2; exit 2; }
bash tests/gpu/run_suite.sh --install-only || exit 2   # the wheels once, before the lanes race for the same folder
# The CPU work of a lane (building a tiny model, tokenizing) gets its share of the cores: torch's OpenMP threads,
# one per core in every process, oversubscribe the cores when lanes run side by side, and a build that takes 20 s
# alone took over 9 minutes with two lanes (H200 x2, 32 cores, 2026-11-29).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / $# ))}
pids=()
for i in $(seq 0 $(($# - 1))); do
  lane=$((i + 1))
  # shellcheck disable=SC2086  # a lane is a list of globs
  CUDA_VISIBLE_DEVICES=$i OUT=$LOGS/lane$i GPU_SUITE_RESULTS=$LOGS/lane$i.json \
    bash tests/gpu/run_suite.sh ${!lane} > "$LOGS/lane$i.out" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
  echo "== lane $i (GPU $i)"
  cat "$LOGS/lane$i.out"
done
python3 tests/gpu/suite_results.py --merge "$RESULTS" "$LOGS"/lane*.json
exit $failed
