"""Notebook hygiene: stored stripped, the cookbook's anatomy present, no secrets, pins consistent."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("Part_*/*.ipynb")) + sorted(ROOT.glob("Appendix/*.ipynb"))
REPO = tomllib.loads((ROOT / "notebooks.toml").read_text())["repository"]["url"].removeprefix("https://github.com/")
SECRET = re.compile(r"hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}")


def pins(path):
    out = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name.strip().lower())] = version if sep else None
    return out


def load(nb):
    return json.loads(nb.read_text())


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_stripped(nb):
    for cell in load(nb)["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{nb.name} has outputs"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_anatomy(nb):
    cells = load(nb)["cells"]
    text = ["".join(c["source"]) for c in cells]
    kinds = [c["cell_type"] for c in cells]
    md = "\n".join(t for t, k in zip(text, kinds) if k == "markdown")
    number = "A" if nb.parent.name == "Appendix" else nb.stem.split("_")[0]
    assert text[0].startswith(f"# {number} · "), "first cell: '# NN · title'"
    rel = nb.relative_to(ROOT).as_posix()
    assert f"https://colab.research.google.com/github/{REPO}/blob/main/{rel}" in text[0], "Colab badge"
    assert "run.finish(globals())" in "\n".join(text), "the Check ends with run.finish(globals()) (the manifest)"
    for heading in ("**What you will learn**", "**Prerequisites**", "**Hardware", "## Parameters", "## Check",
                    "## What we learned"):
        assert heading in md, f"missing {heading!r}"
    assert kinds[1] == "code" and "Tested with" in text[1], "second cell: the install cell"
    assert f'cookbook.start("{nb.stem}")' in "\n".join(text), "parameters cell must call cookbook.start(<notebook>)"
    check = next(i for i, t in enumerate(text) if re.search(r"^## Check", t, re.M))
    assert any(kinds[i] == "code" and "assert " in text[i] for i in range(check, len(cells))), "Check must assert"
    steps = re.findall(r"^## (\d+)\. ", md, re.M)
    assert steps and steps == [str(i) for i in range(1, len(steps) + 1)], "numbered steps 1..n"


def test_frames_are_what_the_manifest_writes():
    """Badge, install cell, kernel and parameters tag come from notebooks.toml via scripts/frame.py; none drifted."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "frame.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, f"run `make frame`:\n{out.stdout}{out.stderr}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_tagged_and_only_assigns(nb):
    """papermill injects overrides after the cell tagged `parameters`: it must exist, once, and print nothing."""
    tagged = [c for c in load(nb)["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "print(" not in "".join(tagged[0]["source"]), "the parameters cell only assigns values"


def test_requirements_are_pinned_and_locked():
    core = pins("requirements.txt")
    assert all(core.values()), f"unpinned: {[n for n, v in core.items() if not v]}"
    lock = pins("requirements/core.lock")
    for name, version in core.items():
        assert lock.get(name) == version, f"{name}=={version} not in core.lock"


def test_no_secrets_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for rel in files:
        path = ROOT / rel
        if path.suffix in {".png", ".model"} or not path.is_file():
            continue
        found = SECRET.findall(path.read_text(errors="ignore"))
        assert not found, f"{rel} contains what looks like a secret"


def test_lint():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is in requirements.txt; run `make setup`")
    out = subprocess.run([str(ruff), "check", "scripts", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


def test_every_environment_has_its_requirements_and_lock():
    sys.path.insert(0, str(ROOT / "scripts"))
    import setup_envs

    for name, spec in setup_envs.ENVS.items():
        assert (ROOT / spec["requirements"]).is_file(), f"{name}: {spec['requirements']} missing"
        if "gpu" not in spec["lock"]:  # locks are written on the CPU machine; the GPU vLLM set is resolve-tested
            assert (ROOT / spec["lock"]).is_file(), f"{name}: {spec['lock']} missing (setup_envs.py --lock {name})"
        assert all(v for v in pins(spec["requirements"]).values()), f"{name}: unpinned requirement"
