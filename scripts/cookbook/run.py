"""Run mode: `full` on a CUDA GPU (the plan's models and datasets), `smoke` otherwise (tiny local model, fixtures).

Artifacts live under outputs/<mode>/<notebook>/ with a manifest.json (mode, recipe, parameters, commit, time),
so a smoke run and a full run never mix, and a later notebook refuses an upstream artifact made by another mode
or by an older version of the upstream notebook (it runs that notebook again instead).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODES = ("smoke", "full")


def outputs_root() -> Path:
    return Path(os.environ.get("COOKBOOK_OUTPUTS", REPO_ROOT / "outputs"))


def notebook_path(notebook: str) -> Path | None:
    """The .ipynb file of a notebook id such as "01_SFT_with_TRL_and_LoRA", or None outside a checkout."""
    found = sorted(REPO_ROOT.glob(f"Part_*/{notebook}.ipynb")) + sorted(REPO_ROOT.glob(f"Appendix/{notebook}.ipynb"))
    return found[0] if found else None


def recipe_of(notebook: str) -> str:
    """A hash of the notebook's code cells: a changed recipe means its old artifacts are stale."""
    path = notebook_path(notebook)
    if path is None:
        return "unknown"
    cells = json.loads(path.read_text())["cells"]
    code = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def git_commit() -> str:
    if os.environ.get("COOKBOOK_COMMIT"):  # set where the checkout travels without .git (the GPU machines)
        return os.environ["COOKBOOK_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def core_python() -> str:
    """The interpreter of the core environment (.venv), which runs notebooks on the core kernel; else this one."""
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


@dataclass(frozen=True)
class Run:
    notebook: str  # e.g. "01_SFT_with_TRL_and_LoRA"
    smoke: bool  # True: tiny local model + fixtures; False: the plan's Hub models and datasets
    device: str  # "cuda" or "cpu"
    precision: str  # "bf16" (GPUs of compute capability >= 8.0), "fp16" (T4, V100: mixed precision), "fp32" (CPU)
    out: Path  # this notebook's artifacts: outputs/<mode>/<notebook>/
    seed: int
    gpus: int = 0  # CUDA GPUs on the machine; a notebook trains on one, multi-GPU runs are launched processes (02)
    flex_attention: bool = False  # flex attention (block-sparse masks for packed rows) runs on compute capability >= 8.0

    @property
    def mode(self) -> str:
        return "smoke" if self.smoke else "full"

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    @property
    def fp16(self) -> bool:
        return self.precision == "fp16"

    @property
    def dtype(self):
        import torch

        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[self.precision]

    def upstream(self, notebook: str, *parts: str) -> Path | None:
        """An earlier notebook's artifact from a finished run of this mode and of its current recipe, or None."""
        folder = outputs_root() / self.mode / notebook
        path = folder.joinpath(*parts)
        if not path.exists():
            return None
        problem = stale_because(folder, self.mode, recipe_of(notebook))
        if problem:
            print(f"{notebook}: not using {'/'.join(parts)}: {problem}.", flush=True)
            return None
        return path

    def require(self, notebook: str, *parts: str) -> Path:
        """An earlier notebook's artifact; when it is missing or stale, run that notebook first (saying so)."""
        path = self.upstream(notebook, *parts)
        if path is None:
            print(f"Running notebook {notebook} first (mode {self.mode}) to make {'/'.join(parts)} ...", flush=True)
            self._run_upstream(notebook)
            path = self.upstream(notebook, *parts)
            if path is None:
                raise FileNotFoundError(f"notebook {notebook} ran but did not write {'/'.join(parts)}")
        return path

    def _run_upstream(self, notebook: str) -> None:
        env = {**os.environ, "COOKBOOK_MODE": self.mode}
        # A kernel with its own packages first on the path (03: Unsloth's) must not leak into the core notebooks.
        extra = os.environ.get("COOKBOOK_KERNEL_PATH")
        if extra and env.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.pathsep.join(p for p in env["PYTHONPATH"].split(os.pathsep) if p != extra)
        subprocess.run([core_python(), str(REPO_ROOT / "scripts" / "run_notebook.py"), notebook], check=True, env=env)

    def finish(self, namespace: dict, **results) -> Path:
        """Write this run's manifest: mode, recipe, commit, time and the notebook's parameters (its UPPERCASE
        settings); later notebooks accept this run's artifacts only when the manifest matches them."""
        params = {k: v for k, v in namespace.items()
                  if k.isupper() and isinstance(v, (str, int, float, bool, type(None)))}
        manifest = {"notebook": self.notebook, "mode": self.mode, "recipe": recipe_of(self.notebook),
                    "commit": git_commit(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "device": self.device, "precision": self.precision, "parameters": params, **results}
        path = self.out / "manifest.json"
        path.write_text(json.dumps(manifest, indent=1, default=str))
        return path


def stale_because(folder: Path, mode: str, recipe: str) -> str | None:
    """Why the artifacts in `folder` may not be used by a run of `mode`, or None when they may."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return "no manifest.json: that run did not finish"
    record = json.loads(manifest.read_text())
    if record.get("mode") != mode:
        return f"it was made in {record.get('mode')} mode, this run is {mode}"
    if recipe != "unknown" and record.get("recipe") != recipe:
        return "it was made by an older version of that notebook"
    return None


def resolve_mode(env: str | None, cuda: bool) -> bool:
    """True for smoke mode. `env` is COOKBOOK_MODE: 'smoke', 'full' or unset (full on a GPU, smoke without)."""
    value = (env or "").strip().lower()
    if value and value not in MODES:
        raise ValueError(f"COOKBOOK_MODE must be one of {MODES} or unset, not {env!r}")
    return value == "smoke" or (not value and not cuda)


def precision_for(capability: tuple[int, int] | None) -> str:
    """bf16 where the GPU computes it natively (compute capability >= 8.0: A100, L4, H100, ...), fp16 mixed
    precision on older GPUs (T4, V100: they report bf16 support but emulate it, slowly), fp32 on a CPU."""
    if capability is None:
        return "fp32"
    return "bf16" if capability >= (8, 0) else "fp16"


def machine_gpus() -> int:
    """NVIDIA GPUs on this machine (nvidia-smi), without initializing CUDA in this process."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def start(notebook: str, seed: int = 42) -> Run:
    """Pick the run mode and precision, seed everything, create outputs/<mode>/<notebook>/, say what will run."""
    gpus = machine_gpus()
    if gpus > 1 and "CUDA_VISIBLE_DEVICES" not in os.environ and "LOCAL_RANK" not in os.environ:
        # A Trainer that sees several GPUs in one process wraps the model in nn.DataParallel, which TRL refuses.
        # A notebook trains on one GPU; multi-GPU training runs as one launched process per GPU (notebook 02).
        os.environ["CUDA_VISIBLE_DEVICES"] = "0"
        print(f"{gpus} GPUs found: this notebook uses GPU 0 (multi-GPU runs are launched as processes, see 02).")
    import numpy as np
    import torch

    cuda = torch.cuda.is_available()
    smoke = resolve_mode(os.environ.get("COOKBOOK_MODE"), cuda)
    capability = torch.cuda.get_device_capability(0) if cuda else None
    precision = precision_for(capability)
    device = "cuda" if cuda else "cpu"
    if smoke and not cuda and not os.environ.get("COOKBOOK_MODE"):
        print("Smoke mode: no CUDA GPU found, so this runs a tiny local model on the fixtures in data/ "
              "(same code path; set COOKBOOK_MODE=full to force the real models).")
    elif smoke:
        print(f"Smoke mode on {device} ({precision}): tiny local model, fixtures from data/ (COOKBOOK_MODE=smoke).")
    else:
        gpu = f"{torch.cuda.get_device_name(0)} ({precision})" if cuda else "CPU (slow!)"
        print(f"Full mode on {gpu}: the plan's models and datasets from the Hugging Face Hub.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out = outputs_root() / ("smoke" if smoke else "full") / notebook
    out.mkdir(parents=True, exist_ok=True)
    stale = out / "manifest.json"
    if stale.exists():  # this run replaces the last one: its artifacts count only once this run finishes
        stale.unlink()
    return Run(notebook=notebook, smoke=smoke, device=device, precision=precision, out=out, seed=seed, gpus=gpus,
               flex_attention=capability is not None and capability >= (8, 0))
