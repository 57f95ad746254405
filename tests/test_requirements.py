"""The GPU requirement sets resolve for Linux x86-64 + CUDA (Python 3.12, as on Colab and the GPU machines).

A resolver dry run with uv: it reads package metadata from PyPI, downloads no wheels, installs nothing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GPU_SETS = ["requirements.txt", "requirements/unsloth.txt", "requirements/axolotl.txt", "requirements/vllm-gpu.txt"]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


@pytest.mark.skipif(UV is None, reason="uv is in requirements.txt; run `make setup`")
@pytest.mark.parametrize("requirements", GPU_SETS)
def test_gpu_set_resolves(requirements, tmp_path):
    out = subprocess.run(
        [UV, "pip", "compile", "--quiet", "--no-header", str(ROOT / requirements), "--python-version", "3.12",
         "--python-platform", "x86_64-manylinux_2_28", "-o", str(tmp_path / "resolved.txt")],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    resolved = (tmp_path / "resolved.txt").read_text()
    assert "torch==" in resolved and "nvidia-" in resolved, "expected a CUDA build of torch"


@pytest.mark.skipif(UV is None, reason="uv is in requirements.txt; run `make setup`")
def test_axolotl_lock_installs_on_a_clean_linux_machine(tmp_path):
    """The lock pins public versions only (no local build tags such as +cpu that only a local wheel folder has):
    uv resolves it from PyPI alone for Linux x86-64 / Python 3.11, picking the platform's torch build."""
    out = subprocess.run(
        [UV, "pip", "compile", "--quiet", "--no-header", str(ROOT / "requirements/axolotl.lock"), "--python-version",
         "3.11", "--python-platform", "x86_64-manylinux_2_28", "-o", str(tmp_path / "resolved.txt")],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]


def test_locks_pin_no_local_build_tags():
    for lock in sorted((ROOT / "requirements").glob("*.lock")):
        tagged = [line for line in lock.read_text().splitlines() if "==" in line and "+" in line.split("==")[1]]
        assert not tagged, f"{lock.name}: {tagged} resolve only where that local build lies"
