#!/usr/bin/env bash
# The GPU suite: every notebook (or those named) in smoke mode on a CUDA GPU, run by scripts/run_notebook.py's
# script engine (the GPU machine needs no Jupyter). Wheels in .gpu_wheels/ (tests/gpu/fetch_wheels.sh) are
# installed first, for machines without network; notebooks whose environment (notebooks.toml) is unsloth get the
# wheels of .gpu_wheels_unsloth/ first on their path. Results: benchmarks/results/gpu_suite.json (notebook,
# pass/fail, seconds, card, GPUs, commit, versions, merged per notebook by tests/gpu/suite_results.py), logs in
# $OUT (or outputs/gpu-suite).
# Usage: bash tests/gpu/run_suite.sh [Part_1*/01_*.ipynb ...]      (--install-only: the wheels, nothing else)
# Several GPUs, several notebooks at once: tests/gpu/run_lanes.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOGS=${OUT:-$ROOT/outputs/gpu-suite}
RESULTS=${GPU_SUITE_RESULTS:-$ROOT/benchmarks/results/gpu_suite.json}
mkdir -p "$LOGS"
install_wheels() {  # folder target: once per set of wheels (a stamp lists them), so a warm machine reuses it
  local stamp="$2/.cookbook-wheels"
  compgen -G "$1/*.whl" >/dev/null || return 0
  [ -f "$stamp" ] && [ "$(ls "$1")" = "$(cat "$stamp")" ] && return 0
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$2" "$1"/*.whl 2>&1 | tail -2
  ls "$1" > "$stamp"
}
SITE=/tmp/cookbook-core-site
UNSLOTH_SITE=/tmp/cookbook-unsloth-site
install_wheels .gpu_wheels "$SITE"
install_wheels .gpu_wheels_unsloth "$UNSLOTH_SITE"
[ "${1:-}" = --install-only ] && exit 0
export PYTHONPATH=$ROOT/scripts:$SITE${PYTHONPATH:+:$PYTHONPATH} COOKBOOK_MODE=${COOKBOOK_MODE:-smoke} PYTHONUNBUFFERED=1
card=$(python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name(0))") || exit 2
echo "$card, $(nvidia-smi -L | wc -l) GPU(s)"
notebooks=("$@")
[ ${#notebooks[@]} -eq 0 ] && notebooks=(Part_*/*.ipynb Appendix/*.ipynb)
records=$LOGS/records.jsonl
: > "$records"
failed=0
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  env=$(python3 scripts/manifest.py "$name" --field environment)
  skip=$(python3 scripts/manifest.py "$name" --field gpu_suite_skip)
  if [ -n "$skip" ]; then  # notebooks.toml says why this notebook cannot run on the GPU machines
    echo "$name: skipped ($skip)"
    python3 -c 'import json, sys; print(json.dumps({"notebook": sys.argv[1], "passed": None, "seconds": 0, "skipped": sys.argv[2]}))' "$name" "$skip" >> "$records"
    continue
  fi
  path=$PYTHONPATH
  [ "$env" = unsloth ] && path="$UNSLOTH_SITE:$PYTHONPATH"
  start=$(date +%s)
  COOKBOOK_KERNEL_PATH=$([ "$env" = unsloth ] && echo "$UNSLOTH_SITE") PYTHONPATH="$path" \
    python3 scripts/run_notebook.py "$nb" --engine script > "$LOGS/$name.log" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - start ))
  echo "$name: exit $rc in $seconds s (log: $LOGS/$name.log)"
  echo "{\"notebook\": \"$name\", \"passed\": $([ $rc -eq 0 ] && echo true || echo false), \"seconds\": $seconds}" >> "$records"
  [ $rc -ne 0 ] && { failed=1; tail -30 "$LOGS/$name.log"; }
done
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")   # those this run saw (CUDA_VISIBLE_DEVICES)
commit=${COOKBOOK_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
python3 tests/gpu/suite_results.py "$records" "$RESULTS" "$card" "$gpus" "$commit"
exit $failed
