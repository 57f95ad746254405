#!/usr/bin/env python3
"""How long a notebook's install cell takes in a fresh environment with an empty pip cache.

    python3 benchmarks/install_time.py 01                      # a bare venv: the cell installs torch too
    python3 benchmarks/install_time.py 01 --torch torch==2.13.0 # a venv that already has a torch (as Colab does)

The install cell is taken from the notebook itself and run with a fresh virtual environment's Python from the
repository root (so it finds the helper there, as in a checkout, and does not clone). pip's cache points to an
empty temporary folder. Results are added to benchmarks/results/install_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import manifest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook")
    ap.add_argument("--torch", help="install this torch first (not timed), like a runtime that ships one")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "install_time.json")
    args = ap.parse_args()
    (notebook_id,) = [i for i in manifest.notebooks() if i == args.notebook or i.startswith(args.notebook + "_")]
    cell = "".join(json.loads(manifest.notebooks()[notebook_id].read_text())["cells"][1]["source"])
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PIP_CACHE_DIR": f"{tmp}/pip-cache", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True)
        python = f"{tmp}/venv/bin/python"
        if args.torch:
            subprocess.run([python, "-m", "pip", "install", "-q", args.torch], check=True, env=env)
        (Path(tmp) / "cell.py").write_text(cell)
        t0 = time.perf_counter()
        proc = subprocess.run([python, f"{tmp}/cell.py"], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        check = subprocess.run([python, f"{tmp}/cell.py"], cwd=ROOT, env=env, capture_output=True, text=True)
        size = subprocess.run(["du", "-sm", f"{tmp}/venv"], capture_output=True, text=True).stdout.split()[0]
    record = {"notebook": notebook_id, "preinstalled_torch": args.torch, "seconds": round(seconds, 1),
              "exit_code": proc.returncode, "second_run_installs_nothing": check.stdout.strip() == "",
              "venv_mib": int(size), "machine": f"{platform.machine()}, {os.cpu_count()} cores (this repository's CI kind)",
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
              "installed": proc.stdout.strip().splitlines()[:1]}
    results = json.loads(args.out.read_text()) if args.out.is_file() else []
    results = [r for r in results if (r["notebook"], r["preinstalled_torch"]) != (notebook_id, args.torch)] + [record]
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
