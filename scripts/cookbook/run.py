"""Run mode: `full` on a CUDA GPU (the plan's models and datasets), `smoke` otherwise (tiny local model, fixtures)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODES = ("smoke", "full")


def outputs_root() -> Path:
    return Path(os.environ.get("COOKBOOK_OUTPUTS", REPO_ROOT / "outputs"))


@dataclass(frozen=True)
class Run:
    notebook: str  # e.g. "01_SFT_with_TRL_and_LoRA"
    smoke: bool  # True: tiny local model + fixtures; False: the plan's Hub models and datasets
    device: str  # "cuda" or "cpu"
    bf16: bool  # compute in bfloat16 (a CUDA GPU that supports it); float32 otherwise
    out: Path  # this notebook's artifacts: outputs/<notebook>/
    seed: int
    gpus: int = 0  # CUDA GPUs on the machine; a notebook trains on one, multi-GPU runs are launched processes (02)

    @property
    def dtype(self):
        import torch

        return torch.bfloat16 if self.bf16 else torch.float32

    def upstream(self, notebook: str, *parts: str) -> Path | None:
        """An artifact written by an earlier notebook, or None when that notebook has not been run here."""
        path = outputs_root().joinpath(notebook, *parts)
        return path if path.exists() else None

    def require(self, notebook: str, *parts: str) -> Path:
        """An earlier notebook's artifact; when it is missing, run that notebook first (saying so), in this mode."""
        path = self.upstream(notebook, *parts)
        if path is None:
            print(f"{'/'.join((notebook, *parts))} is missing, so running notebook {notebook} first to make it ...",
                  flush=True)
            env = {**os.environ, "COOKBOOK_MODE": "smoke" if self.smoke else "full"}
            subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_notebook.py"), notebook], check=True, env=env)
            path = self.upstream(notebook, *parts)
            if path is None:
                raise FileNotFoundError(f"notebook {notebook} ran but did not write {'/'.join(parts)}")
        return path


def resolve_mode(env: str | None, cuda: bool) -> bool:
    """True for smoke mode. `env` is COOKBOOK_MODE: 'smoke', 'full' or unset (full on a GPU, smoke without)."""
    value = (env or "").strip().lower()
    if value and value not in MODES:
        raise ValueError(f"COOKBOOK_MODE must be one of {MODES} or unset, not {env!r}")
    return value == "smoke" or (not value and not cuda)


def machine_gpus() -> int:
    """NVIDIA GPUs on this machine (nvidia-smi), without initializing CUDA in this process."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def start(notebook: str, seed: int = 42) -> Run:
    """Pick the run mode, seed everything, create outputs/<notebook>/ and say in one line what will run."""
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
    bf16 = cuda and torch.cuda.is_bf16_supported()
    device = "cuda" if cuda else "cpu"
    if smoke and not cuda and not os.environ.get("COOKBOOK_MODE"):
        print("Smoke mode: no CUDA GPU found, so this runs a tiny local model on the fixtures in data/ "
              "(same code path; set COOKBOOK_MODE=full to force the real models).")
    elif smoke:
        print(f"Smoke mode on {device}: tiny local model, fixtures from data/ (COOKBOOK_MODE=smoke).")
    else:
        gpu = torch.cuda.get_device_name(0) if cuda else "CPU (slow!)"
        print(f"Full mode on {gpu}: the plan's models and datasets from the Hugging Face Hub.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out = outputs_root() / notebook
    out.mkdir(parents=True, exist_ok=True)
    return Run(notebook=notebook, smoke=smoke, device=device, bf16=bf16, out=out, seed=seed, gpus=gpus)
