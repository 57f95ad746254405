#!/usr/bin/env python3
"""Run one notebook top to bottom in a fresh kernel and keep the executed copy in outputs/<notebook>/.

    python scripts/run_notebook.py 01        # by number prefix, or by path
The run mode follows COOKBOOK_MODE (unset: full on a CUDA GPU, smoke otherwise). Plots the notebook saves land
beside the executed copy. Exit code 1 when a cell fails (the executed copy still shows where).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def find(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    matches = sorted(ROOT.glob(f"Part_*/{name}_*.ipynb")) + sorted(ROOT.glob(f"Part_*/{name}.ipynb"))
    if len(matches) != 1:
        raise SystemExit(f"no single notebook matches {name!r}: {[m.name for m in matches]}")
    return matches[0]


def main() -> int:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = find(sys.argv[1])
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    out_dir = Path(os.environ.get("COOKBOOK_OUTPUTS", ROOT / "outputs")) / path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / path.name
    print(f"running {path.relative_to(ROOT)} (kernel {kernel}) ...", flush=True)
    t0 = time.perf_counter()
    client = NotebookClient(nb, timeout=3600, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
        ok = True
    except CellExecutionError as err:
        print(str(err)[-3000:], file=sys.stderr)
        ok = False
    nbformat.write(nb, executed)
    print(f"{'done' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s; executed notebook: {executed}; "
          f"artifacts: {sorted(p.name for p in out_dir.iterdir())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
