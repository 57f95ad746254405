#!/usr/bin/env bash
# The GPU suite: every notebook (or those named) in smoke mode on a CUDA GPU, run as plain Python scripts so the
# GPU machine needs no Jupyter. Wheels in .gpu_wheels/ (if present) are installed first, for machines without
# network. Logs go to $OUT (or outputs/gpu-suite). Usage: bash tests/gpu/run_suite.sh [Part_1*/01_*.ipynb ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOGS=${OUT:-$ROOT/outputs/gpu-suite}
mkdir -p "$LOGS"
if compgen -G ".gpu_wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-deps .gpu_wheels/*.whl 2>&1 | tail -2
fi
export PYTHONPATH=$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} COOKBOOK_MODE=${COOKBOOK_MODE:-smoke} PYTHONUNBUFFERED=1
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name(0))" || exit 2
notebooks=("$@")
[ ${#notebooks[@]} -eq 0 ] && notebooks=(Part_*/*.ipynb)
failed=0
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  script="$LOGS/$name.py"
  python3 - "$nb" "$script" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
open(sys.argv[2], "w").write("\n\n".join(code) + "\n")
PY
  start=$(date +%s)
  (cd "$(dirname "$nb")" && python3 "$script") > "$LOGS/$name.log" 2>&1
  rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - start )) s (log: $LOGS/$name.log)"
  [ $rc -ne 0 ] && { failed=1; tail -30 "$LOGS/$name.log"; }
done
exit $failed
