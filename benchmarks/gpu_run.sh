#!/usr/bin/env bash
# Run a benchmark on the GPU machine (no network) with the cookbook's wheel sets, installed as tests/gpu/run_suite.sh
# installs them: .gpu_wheels/ -> /tmp/cookbook-core-site (on PYTHONPATH for every run), .gpu_wheels_unsloth/ ->
# /tmp/cookbook-unsloth-site (put first on PYTHONPATH by the benchmarks for their Unsloth runs only). Each folder is
# installed once per machine (a stamp records which wheels; the /tmp sites stay while the machine is warm). Make
# both with tests/gpu/fetch_wheels.sh on a machine with network; carry both (56 MiB together).
#
#   bash benchmarks/gpu_run.sh python3 benchmarks/sft_speed.py --suite fair-trl
#   bash benchmarks/gpu_run.sh python3 benchmarks/sft_speed.py --suite fair-unsloth
#   bash benchmarks/gpu_run.sh python3 benchmarks/notebook_footprints.py
#   bash benchmarks/gpu_run.sh true                                                      # only install
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SITE=/tmp/cookbook-core-site
UNSLOTH_SITE=/tmp/cookbook-unsloth-site

install_once() {  # install_once WHEEL_DIR TARGET
  local src=$1 dest=$2 stamp
  compgen -G "$src/*.whl" >/dev/null || return 0
  stamp=$(cd "$src" && ls ./*.whl | sort | md5sum | cut -c1-12)
  [ -f "$dest/.installed-$stamp" ] && return 0
  rm -rf "$dest"
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$dest" "$src"/*.whl 2>&1 | grep -v WARNING | tail -3
  touch "$dest/.installed-$stamp"
  echo "installed $(ls "$src"/*.whl | wc -l) wheels from $src into $dest"
}
install_once .gpu_wheels "$SITE"
install_once .gpu_wheels_unsloth "$UNSLOTH_SITE"
[ -d "$SITE" ] || echo "note: no core wheel site ($SITE): carry .gpu_wheels (tests/gpu/fetch_wheels.sh)" >&2
export PYTHONPATH=$ROOT/scripts:$SITE${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
[ -d "$UNSLOTH_SITE" ] && export COOKBOOK_UNSLOTH_SITE=$UNSLOTH_SITE
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA GPU')"
exec "$@"
