#!/usr/bin/env bash
# Download, on a machine with network, the wheels the GPU suite and the benchmarks need that the GPU image lacks,
# at the versions pinned in requirements/core.lock and requirements/unsloth.lock, for Linux x86-64 / CPython 3.12:
#
#   .gpu_wheels/          the core set (TRL 1.16, datasets, bitsandbytes, Liger, DeepSpeed, jsonschema, XGrammar, ...)
#   .gpu_wheels_unsloth/  what Unsloth's notebooks and runs need on top of it (Unsloth, unsloth_zoo, TRL 1.15, ...)
#
# Both folders are git-ignored; they travel to the GPU machine with the device tool's `carry` option (64 MiB per
# call in all), where tests/gpu/run_suite.sh and benchmarks/gpu_run.sh install them with `pip --target` into
# /tmp/cookbook-core-site and /tmp/cookbook-unsloth-site (Unsloth's first on PYTHONPATH for Unsloth runs only).
#
# The GPU image (listed with `pip list` there, 2026-11-29) has torch 2.11+cu130 (with triton 3.6, torchvision
# 0.26, torchaudio), transformers 5.17, accelerate 1.15, peft 0.21.0, pandas, matplotlib, pyarrow, safetensors,
# tokenizers, huggingface_hub, sentencepiece, protobuf, numpy, psutil, jinja2, pyyaml, regex, requests, tqdm,
# filelock, fsspec, xxhash, httpx, aiohttp, attrs, msgpack, ninja, py-cpuinfo, einops, rich, pillow, ... but no
# pydantic. The lists below are the dependency closure of what the notebooks, scripts/ and benchmarks/ import,
# minus that image (worked out from the environments' package metadata), plus a few the image has at other
# versions than the locks (peft, aiohttp and its parts), so the pins hold. Deliberately NOT shipped for Unsloth:
# torchvision, xformers and torchao. Their wheels in unsloth.lock are built for torch 2.14 and would break on the
# image's torch 2.11. Unsloth treats all three as optional: it skips its torchvision check when torchvision is
# absent, falls back from xformers to PyTorch attention, and imports torchao only for fp8/QAT. Also left out:
# diffusers (+ importlib_metadata, zipp) and hf_transfer, which Unsloth declares but never imports for text models
# (10 MiB). With bitsandbytes slimmed to its CUDA 13 libraries (below) both folders fit one call's 64 MiB;
# with SLIM_BNB=0 they do not (bitsandbytes alone is 41 MiB): then carry them in separate calls.
# benchmarks/sft_speed.py records which attention kernels Unsloth found (its HAS_* flags).
#
# DeepSpeed is published as a source archive only: it is built here into a pure-Python wheel (DS_BUILD_OPS=0, ops
# JIT-compiled on first use, as pip would install it), with this repository's .venv (which has torch).
#
# Usage: bash tests/gpu/fetch_wheels.sh [core|unsloth|both]     (default both; re-running replaces the folders)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
which=${1:-both}
LIMIT_MIB=60
PLATFORM=(--python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none
          --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 --platform any)
PY=${PYTHON:-$ROOT/.venv/bin/python}
# bitsandbytes' wheel (41 MiB) carries a library per CUDA/ROCm/XPU version; the GPU image's torch is 2.11+cu130, so
# by default only the CUDA 13.x and CPU libraries are kept (3 MiB), which lets both folders (56 MiB) travel in
# one call.
# SLIM_BNB=0 keeps the wheel as published; SLIM_BNB_KEEP is a regex of library names to keep.
SLIM_BNB=${SLIM_BNB:-1}
SLIM_BNB_KEEP=${SLIM_BNB_KEEP:-cuda13}
[ -x "$PY" ] || PY=python3

CORE=(trl peft datasets dill multiprocess bitsandbytes liger_kernel hjson ninja py-cpuinfo msgpack einops
      pydantic pydantic_core annotated-types typing-inspection
      jsonschema jsonschema-specifications referencing rpds-py attrs xgrammar apache-tvm-ffi
      aiohttp aiohappyeyeballs aiosignal frozenlist multidict propcache yarl
      sentencepiece  # the image's sentencepiece 0.2.2 cannot train the tiny tokenizer (required_chars): the lock's 0.2.3
      torchao auto-round)  # 10 and 11; torchao's C++ ops are built for torch 2.14 and stay unloaded on the image's 2.11
                           # (torchao says so and falls back): QAT's fake quantization and the conversion are Python
CORE_SDIST=(deepspeed)
UNSLOTH=(unsloth unsloth_zoo trl cut-cross-entropy tyro docstring_parser typeguard msgspec nest-asyncio json5
         structlog)

pin() {  # the lock's pin of a package, matched case- and separator-insensitively: NAME==VERSION
  local lock=$1 name=$2
  "$PY" - "$lock" "$name" <<'PY'
import re, sys
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
want = norm(sys.argv[2])
for line in open(sys.argv[1]):
    line = line.split("#")[0].split(";")[0].strip()
    if "==" in line and norm(line.split("==")[0]) == want:
        print(line.replace(" ", ""))
        sys.exit(0)
sys.exit(f"{sys.argv[2]} is not pinned in {sys.argv[1]}")
PY
}

fetch() {  # fetch LOCK DEST NAMES...
  local lock=$1 dest=$2
  shift 2
  local reqs=()
  for n in "$@"; do reqs+=("$(pin "$lock" "$n")"); done
  "$PY" -m pip download -q --no-deps --only-binary=:all: "${PLATFORM[@]}" -d "$dest" "${reqs[@]}"
}

build_sdist() {  # build_sdist LOCK DEST NAMES...: pure-Python wheels from source archives
  local lock=$1 dest=$2
  shift 2
  for n in "$@"; do
    DS_BUILD_OPS=0 "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$dest" "$(pin "$lock" "$n")"
  done
}

slim_bnb() {  # slim_bnb DEST: keep only bitsandbytes' CUDA 13 and CPU libraries (the image's torch is +cu130)
  local whl tmp
  whl=$(ls "$1"/bitsandbytes-*.whl)
  tmp=$(mktemp -d)
  "$PY" - "$whl" "$tmp/$(basename "$whl")" "$SLIM_BNB_KEEP" <<'PY'
import re, sys, zipfile
src, dst, keep = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
lib = re.compile(r"bitsandbytes/libbitsandbytes_(cuda|rocm|xpu|mps)[^/]*\.(so|dll|dylib)$")
dropped = []
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        if lib.search(info.filename) and not keep.search(info.filename):
            dropped.append(info.filename)
            continue
        data = zin.read(info.filename)
        if info.filename.endswith(".dist-info/RECORD"):
            data = "".join(line for line in data.decode().splitlines(keepends=True)
                           if line.split(",")[0] not in dropped).encode()
        zout.writestr(info, data)
print(f"slim bitsandbytes: dropped {len(dropped)} GPU libraries not matching {keep.pattern!r}")
PY
  mv "$tmp/$(basename "$whl")" "$whl"
  rm -rf "$tmp"
}

report() {  # report DEST: size, and refuse a folder over the limit
  local dest=$1 mib
  mib=$(du -sm "$dest" | cut -f1)
  echo "$dest: $(ls "$dest"/*.whl | wc -l) wheels, $(du -sh "$dest" | cut -f1)"
  ls -S "$dest" | head -5 | sed 's/^/  largest: /'
  if [ "$mib" -gt "$LIMIT_MIB" ]; then
    echo "ERROR: $dest is over $LIMIT_MIB MiB" >&2
    return 1
  fi
}

if [ "$which" = core ] || [ "$which" = both ]; then
  rm -rf .gpu_wheels && mkdir -p .gpu_wheels
  fetch requirements/core.lock .gpu_wheels "${CORE[@]}"
  build_sdist requirements/core.lock .gpu_wheels "${CORE_SDIST[@]}"
  [ "$SLIM_BNB" = 1 ] && slim_bnb .gpu_wheels
  report .gpu_wheels
fi
if [ "$which" = unsloth ] || [ "$which" = both ]; then
  rm -rf .gpu_wheels_unsloth && mkdir -p .gpu_wheels_unsloth
  fetch requirements/unsloth.lock .gpu_wheels_unsloth "${UNSLOTH[@]}"
  report .gpu_wheels_unsloth
fi
if [ "$which" = both ]; then
  total=$(du -scm .gpu_wheels .gpu_wheels_unsloth | tail -1 | cut -f1)
  echo "both folders: ${total} MiB (the device tool carries 64 MiB per call in all)"
  [ "$total" -le 64 ] || echo "=> too large for one call: carry .gpu_wheels and .gpu_wheels_unsloth in separate calls"
fi
