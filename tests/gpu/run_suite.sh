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
# Notebooks on the cookbook-unsloth kernel (03) need Unsloth's set (trl 1.15 ...): wheels in .gpu_wheels_unsloth/
# go to their own folder, put first on PYTHONPATH for those notebooks only.
UNSLOTH_SITE=/tmp/cookbook-unsloth-site
if compgen -G ".gpu_wheels_unsloth/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target "$UNSLOTH_SITE" .gpu_wheels_unsloth/*.whl 2>&1 | tail -2
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
  kernel=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metadata'].get('kernelspec',{}).get('name','python3'))" "$nb")
  extra=""
  [ "$kernel" = cookbook-unsloth ] && extra="$UNSLOTH_SITE:"
  start=$(date +%s)
  (cd "$(dirname "$nb")" && PYTHONPATH="$extra$PYTHONPATH" python3 "$script") > "$LOGS/$name.log" 2>&1
  rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - start )) s (log: $LOGS/$name.log)"
  [ $rc -ne 0 ] && { failed=1; tail -30 "$LOGS/$name.log"; }
done
exit $failed
