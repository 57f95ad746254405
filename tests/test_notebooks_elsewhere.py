"""The notebooks on data and a model family they were not written on, through their parameters (papermill).

Nothing in a notebook may depend on the fixtures' content, the tiny Llama tokenizer or its chat template: here 01
and 04 run on data files this test writes (other content, same schema), and 01, 01b, 04 and 06 run on a tiny
Qwen2 model with a byte-level BPE tokenizer and a ChatML template whose turns end with <|im_end|>. Their Checks
must pass. Each run goes through scripts/run_notebook.py, the way `make run NB=.. P=".."` runs a notebook.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import cookbook

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

ANIMALS = {"cow": "moo", "dog": "woof", "cat": "meow", "duck": "quack", "sheep": "baa", "owl": "hoot",
           "lion": "roar", "frog": "croak", "bee": "buzz", "horse": "neigh", "pig": "oink", "crow": "caw",
           "mouse": "squeak", "snake": "hiss", "goose": "honk", "donkey": "bray", "wolf": "howl", "dove": "coo"}
FRUITS = {"banana": "yellow", "lime": "green", "plum": "purple", "cherry": "red", "orange": "orange",
          "blueberry": "blue", "lemon": "yellow", "grape": "purple", "kiwi": "brown", "coconut": "brown"}


def _qa(rng):
    if rng.random() < 0.6:
        animal = rng.choice(sorted(ANIMALS))
        q = rng.choice([f"What sound does a {animal} make?", f"How does a {animal} sound?", f"What does a {animal} say?"])
        return q, f"A {animal} says {ANIMALS[animal]}.", f"A {animal} says {ANIMALS[rng.choice(sorted(ANIMALS))]}."
    fruit = rng.choice(sorted(FRUITS))
    q = rng.choice([f"What colour is a ripe {fruit}?", f"Which colour does a {fruit} have?"])
    return q, f"A ripe {fruit} is {FRUITS[fruit]}.", f"A ripe {fruit} is {rng.choice(sorted(set(FRUITS.values())))}."


def _write(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(notebook: str, outputs: Path, **params):
    env = {**os.environ, "COOKBOOK_MODE": "smoke", "COOKBOOK_OUTPUTS": str(outputs)}
    args = [f"{k}={v}" for k, v in params.items()]
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebook.py"), notebook, *args], env=env,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"{notebook} {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    executed = next((outputs / "smoke").glob(f"{notebook}_*/*.ipynb"))
    text = executed.read_text()
    assert "Check passed" in text
    assert not params or "injected-parameters" in text, "the executed copy keeps the parameters"
    return executed


def test_01_and_04_on_data_files_the_test_writes(tmp_path):
    rng = random.Random(7)
    instructions, pairs = [], []
    for _ in range(300):
        q, good, bad = _qa(rng)
        instructions.append({"text": f"<s>[INST] {q} [/INST] {good} </s>"})
        if bad != good:
            pairs.append({"prompt": q, "chosen": [{"role": "user", "content": q}, {"role": "assistant", "content": good}],
                          "rejected": [{"role": "user", "content": q}, {"role": "assistant", "content": bad}]})
    mine = _write(tmp_path / "data" / "instructions.jsonl", instructions)
    questions = sorted({p["prompt"] for p in pairs})
    held = set(random.Random(1).sample(questions, len(questions) // 5))
    prefs = tmp_path / "data" / "prefs"
    _write(prefs / "train_prefs.jsonl", [p for p in pairs if p["prompt"] not in held])
    _write(prefs / "test_prefs.jsonl", [p for p in pairs if p["prompt"] in held][:60])
    _run("01", tmp_path / "out", DATASET=str(mine))
    _run("04", tmp_path / "out", DATASET=str(prefs))
    manifest = json.loads((tmp_path / "out" / "smoke" / "01_SFT_with_TRL_and_LoRA" / "manifest.json").read_text())
    assert manifest["parameters"]["DATASET"] == str(mine) and manifest["mode"] == "smoke"


def test_01_01b_04_06_on_a_qwen2_model_with_a_chatml_template(tmp_path):
    qwen = cookbook.tiny_model("qwen2")
    for notebook in ("01", "01b"):
        _run(notebook, tmp_path / "out", BASE_MODEL=qwen)
    for notebook in ("04", "06"):  # they start from 01's merged model: the Qwen one, in this outputs folder
        _run(notebook, tmp_path / "out")
    config = json.loads((tmp_path / "out" / "smoke" / "01_SFT_with_TRL_and_LoRA" / "merged" / "config.json").read_text())
    assert config["model_type"] == "qwen2"
