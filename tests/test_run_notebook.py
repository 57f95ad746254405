"""scripts/run_notebook.py: parameters reach the cell after the one tagged `parameters`, with both engines."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_notebook  # noqa: E402


def _notebook(path: Path) -> Path:
    cells = [
        {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {"tags": ["parameters"]}, "outputs": [],
         "source": ["STEPS = 1\n", "DATA = 'fixture'\n"]},
        {"cell_type": "code", "execution_count": None, "id": "b", "metadata": {}, "outputs": [],
         "source": ["import pathlib\n", "pathlib.Path('result.txt').write_text(f'{STEPS} {DATA}')\n"]},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_parameters_are_python_literals_or_strings(tmp_path):
    (tmp_path / "mine.jsonl").write_text("{}\n")
    os.chdir(tmp_path)
    params = run_notebook.parse_parameters(["STEPS=60", "LR=2e-4", "FLAG=True", "NONE=None", "MODEL=org/model",
                                            "DATASET=mine.jsonl"])
    assert params == {"STEPS": 60, "LR": 2e-4, "FLAG": True, "NONE": None, "MODEL": "org/model",
                      "DATASET": str(tmp_path / "mine.jsonl")}, "an existing path is made absolute"
    with pytest.raises(SystemExit):
        run_notebook.parse_parameters(["no-equals-sign"])


@pytest.mark.parametrize("engine", ["script", "papermill"])
def test_both_engines_inject_the_parameters(tmp_path, engine):
    nb = _notebook(tmp_path / "99_Params.ipynb")
    env = {**os.environ, "COOKBOOK_OUTPUTS": str(tmp_path / "out"), "COOKBOOK_MODE": "smoke"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebook.py"), str(nb), "STEPS=7",
                           "DATA=mine", "--engine", engine], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "result.txt").read_text() == "7 mine"
    assert (tmp_path / "out" / "smoke" / "99_Params").is_dir(), "the executed copy lands under outputs/<mode>/"
