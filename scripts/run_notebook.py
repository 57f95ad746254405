#!/usr/bin/env python3
"""Run one notebook top to bottom in a fresh process, with your parameters, and keep the executed copy.

    python scripts/run_notebook.py 01                                  # by number prefix, or by path
    python scripts/run_notebook.py 01 DATASET=my.jsonl MAX_STEPS=60    # override values of the parameters cell
    python scripts/run_notebook.py 01 --engine script                  # without Jupyter (as the GPU suite runs)

Parameters replace values of the notebook's cell tagged `parameters` (papermill's convention): the executed copy,
outputs/<mode>/<notebook>/<notebook>.ipynb, records them in a cell injected right after it. Values are read as
Python literals when they parse as one (60, 2e-4, True, None, "x"), else as strings (paths, model ids).
The run mode follows COOKBOOK_MODE (unset: full on a CUDA GPU, smoke otherwise).

Engines: `papermill` (a Jupyter kernel, the notebook's own; the default when papermill is installed) and `script`
(the code cells run in this Python process, in order, from the notebook's folder; no Jupyter needed). Exit code 1
when a cell fails (the executed copy, papermill engine, still shows where).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    sys.path.insert(0, str(ROOT / "scripts"))
    from manifest import notebooks  # the one list of notebook folders

    matches = [path for stem, path in notebooks().items() if stem == name or stem.startswith(f"{name}_")]
    if len(matches) != 1:
        raise SystemExit(f"no single notebook matches {name!r}: {[m.name for m in matches]}")
    return matches[0]


def parse_parameters(items: list[str]) -> dict:
    """NAME=VALUE pairs -> {NAME: value}; VALUE is a Python literal when it parses as one, else a string."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise SystemExit(f"parameters are NAME=VALUE, not {item!r}")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
        if isinstance(params[name], str) and params[name] and Path(params[name]).exists():
            params[name] = str(Path(params[name]).resolve())  # the notebook runs from its own folder
    return params


def mode() -> str:
    value = os.environ.get("COOKBOOK_MODE", "").strip().lower()
    if value:
        return value
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return "full" if "GPU " in out else "smoke"


def code_cells(nb: dict, params: dict) -> list[str]:
    """The notebook's code cells, with the parameters injected right after the cell tagged `parameters`."""
    cells, tagged = [], False
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        cells.append("".join(cell["source"]))
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tagged = True
            if params:
                cells.append("".join(f"{k} = {v!r}\n" for k, v in params.items()))
    if params and not tagged:
        raise SystemExit("this notebook has no cell tagged 'parameters'")
    return cells


def run_script(path: Path, params: dict, script_out: Path) -> bool:
    """Run the code cells in this process from the notebook's folder (no Jupyter); keep them as a .py file."""
    cells = code_cells(json.loads(path.read_text()), params)
    script_out.write_text("\n\n".join(cells) + "\n")
    os.chdir(path.parent)
    sys.path.insert(0, str(ROOT / "scripts"))
    namespace = {"__name__": "__main__"}
    for i, source in enumerate(cells):
        try:
            exec(compile(source, f"{path.name} [code cell {i}]", "exec"), namespace)
        except Exception:
            traceback.print_exc()
            return False
    return True


def run_papermill(path: Path, params: dict, executed: Path) -> bool:
    import papermill

    nb = json.loads(path.read_text())
    kernel = nb["metadata"].get("kernelspec", {}).get("name", "python3")
    try:
        papermill.execute_notebook(str(path), str(executed), parameters=params, kernel_name=kernel,
                                   cwd=str(path.parent), progress_bar=False, log_output=False)
        return True
    except papermill.PapermillExecutionError as err:
        print(f"cell {err.cell_index} failed: {err.ename}: {err.evalue}", file=sys.stderr)
        print("".join(err.traceback[-3:])[-3000:], file=sys.stderr)
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook")
    ap.add_argument("parameters", nargs="*", help="NAME=VALUE")
    ap.add_argument("--engine", choices=["papermill", "script"], default=None)
    args = ap.parse_args()
    path = find(args.notebook)
    params = parse_parameters(args.parameters)
    engine = args.engine
    if engine is None:
        try:
            import papermill  # noqa: F401
            engine = "papermill"
        except ImportError:
            engine = "script"
    out_dir = Path(os.environ.get("COOKBOOK_OUTPUTS", ROOT / "outputs")) / mode() / path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"running {shown} ({engine}{', ' + str(params) if params else ''}) ...", flush=True)
    t0 = time.perf_counter()
    if engine == "papermill":
        executed = out_dir / path.name
        ok = run_papermill(path, params, executed)
    else:
        executed = out_dir / f"{path.stem}.py"
        ok = run_script(path, params, executed)
    print(f"{'done' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s; executed copy: {executed}; "
          f"artifacts: {sorted(p.name for p in out_dir.iterdir())}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
