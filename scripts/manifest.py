"""notebooks.toml, read: what each notebook needs (environment, packages, tools, upstream artifacts, GPU-only cells,
timeout). Standard library only: setup runs it before any environment exists.

    python3 scripts/manifest.py 01 --requirements     # the pinned packages notebook 01 installs
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "notebooks.toml"


def load() -> dict:
    return tomllib.loads(MANIFEST.read_text())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def lock_pins(lock: str) -> dict[str, str]:
    """{canonical name: version} of a lock file."""
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name.split(";")[0])] = version.split(";")[0].strip()
    return pins


def notebook(notebook_id: str) -> dict:
    """The manifest entry of a notebook id (its file name without .ipynb), with defaults filled in."""
    entry = load()["notebooks"].get(notebook_id)
    if entry is None:
        raise KeyError(f"{notebook_id} has no entry in notebooks.toml")
    return {"environment": "core", "groups": ["base"], "tools": [], "upstream": [], "gpu_only": [], "timeout": 900,
            "gpu_suite_skip": "",
            **entry}


def packages(notebook_id: str) -> list[str]:
    """The distributions a notebook's install cell installs (names as in its environment's lock)."""
    m, entry = load(), notebook(notebook_id)
    env = m["environments"][entry["environment"]]
    if "requirements" in env:  # an environment of its own (03: Unsloth): its requirements file is the group
        kernel_only = {canonical(n) for n in env.get("kernel_only", [])}   # e.g. ipykernel: setup's, not the lesson's
        return [canonical(line.split("==")[0]) for line in (ROOT / env["requirements"]).read_text().splitlines()
                if "==" in line.split("#")[0] and canonical(line.split("==")[0]) not in kernel_only]
    names = []
    for group in entry["groups"]:
        names += [canonical(n) for n in m["groups"][group] if canonical(n) not in names]
    return names


def requirements(notebook_id: str) -> list[str]:
    """`name==version` for every package a notebook installs, versions from its environment's lock."""
    m, entry = load(), notebook(notebook_id)
    pins = lock_pins(m["environments"][entry["environment"]]["lock"])
    missing = [n for n in packages(notebook_id) if n not in pins]
    if missing:
        raise KeyError(f"{notebook_id}: {missing} are not in {m['environments'][entry['environment']]['lock']}")
    return [f"{n}=={pins[n]}" for n in packages(notebook_id)]


NOTEBOOK_FOLDERS = ("Part_*", "Appendix")   # where notebooks live, in reading order; the one list (tests hold the
                                            # Makefile, scripts/run_notebook.py and cookbook.run.notebook_path to it)


def notebooks() -> dict[str, Path]:
    """Every notebook file in the checkout, by id, in reading order (the Parts, then the Appendix)."""
    return {p.stem: p for folder in NOTEBOOK_FOLDERS for p in sorted(ROOT.glob(f"{folder}/*.ipynb"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook", help="id or number prefix")
    ap.add_argument("--requirements", action="store_true")
    ap.add_argument("--field", help="print one field of the entry")
    args = ap.parse_args()
    ids = [i for i in notebooks() if i == args.notebook or i.startswith(args.notebook + "_")]
    if len(ids) != 1:
        raise SystemExit(f"no single notebook matches {args.notebook!r}")
    if args.requirements:
        print("\n".join(requirements(ids[0])))
    elif args.field:
        value = notebook(ids[0])[args.field]
        print("\n".join(value) if isinstance(value, list) else value)
    else:
        print(ids[0], notebook(ids[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
