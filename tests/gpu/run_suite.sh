#!/usr/bin/env bash
# The GPU suite: every notebook (or those named) in smoke mode on a CUDA GPU, run by scripts/run_notebook.py's
# script engine (the GPU machine needs no Jupyter). Wheels in .gpu_wheels/ (tests/gpu/fetch_wheels.sh) are
# installed first, for machines without network; notebooks whose environment (notebooks.toml) is unsloth get the
# wheels of .gpu_wheels_unsloth/ first on their path. Results: benchmarks/results/gpu_suite.json (notebook,
# pass/fail, seconds, card, commit), logs in $OUT (or outputs/gpu-suite).
# Usage: bash tests/gpu/run_suite.sh [Part_1*/01_*.ipynb ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOGS=${OUT:-$ROOT/outputs/gpu-suite}
RESULTS=${GPU_SUITE_RESULTS:-$ROOT/benchmarks/results/gpu_suite.json}
mkdir -p "$LOGS"
SITE=/tmp/cookbook-core-site
if compgen -G ".gpu_wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .gpu_wheels/*.whl 2>&1 | tail -2
fi
UNSLOTH_SITE=/tmp/cookbook-unsloth-site
if compgen -G ".gpu_wheels_unsloth/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$UNSLOTH_SITE" .gpu_wheels_unsloth/*.whl 2>&1 | tail -2
fi
export PYTHONPATH=$ROOT/scripts:$SITE${PYTHONPATH:+:$PYTHONPATH} COOKBOOK_MODE=${COOKBOOK_MODE:-smoke} PYTHONUNBUFFERED=1
card=$(python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name(0))") || exit 2
echo "$card, $(nvidia-smi -L | wc -l) GPU(s)"
notebooks=("$@")
[ ${#notebooks[@]} -eq 0 ] && notebooks=(Part_*/*.ipynb)
records=$LOGS/records.jsonl
: > "$records"
failed=0
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  env=$(python3 scripts/manifest.py "$name" --field environment)
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
python3 - "$records" "$RESULTS" "$card" <<'PY'
import json, subprocess, sys, time
from importlib import metadata
records = [json.loads(line) for line in open(sys.argv[1])]
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
import os
commit = os.environ.get("COOKBOOK_COMMIT") or subprocess.run(["git", "rev-parse", "--short=12", "HEAD"],
                                                             capture_output=True, text=True).stdout.strip()
gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.count("GPU ")
result = {"suite": "every notebook in smoke mode on CUDA (tests/gpu/run_suite.sh)", "card": sys.argv[3], "gpus": gpus,
          "commit": commit or "unknown (no git on the GPU machine: see the note that ran it)",
          "date": time.strftime("%Y-%m-%d"),
          "versions": {n: version(n) for n in ("torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes",
                                               "deepspeed", "liger-kernel", "pandas", "matplotlib")},
          "results": records}
open(sys.argv[2], "w").write(json.dumps(result, indent=1) + "\n")
print(f"wrote {sys.argv[2]}: {sum(r['passed'] for r in records)}/{len(records)} passed")
PY
exit $failed
