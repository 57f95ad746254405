"""Inline first, import later — without drift: each function a notebook writes out inline and a later notebook
imports from the helper must behave exactly like its helper twin."""

import ast
import json
import random
from pathlib import Path

import pytest

import cookbook
from cookbook import formats, splits

ROOT = Path(__file__).resolve().parent.parent


def inline(notebook: str, name: str, **namespace):
    """The function `name` as a notebook defines it, compiled on its own (with its cell's imports)."""
    path = next(ROOT.glob(f"Part_*/{notebook}_*.ipynb"))
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        nodes += [n for n in tree.body if isinstance(n, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper()
                                                                             for t in n.targets)]
        found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        helpers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != name]
        if found:
            module = ast.Module(body=nodes + helpers + found, type_ignores=[])
            exec(compile(module, f"{path.name}:{name}", "exec"), namespace)
            return namespace[name]
    raise LookupError(f"{notebook} defines no function {name}")


def _guanaco_rows():
    return [formats.inst_to_prompt_completion(r, i)
            for i, r in enumerate(cookbook.load_dataset("mlabonne/guanaco-llama2-1k", "train", smoke=True))]


def test_01_inst_parser_is_formats_inst_to_prompt_completion():
    mine = inline("01", "to_prompt_completion", re=__import__("re"))
    rows = list(cookbook.load_dataset("mlabonne/guanaco-llama2-1k", "train", smoke=True))
    rows += [{"text": "<s>[INST] a [/INST] b </s><s>[INST] c [/INST] d </s>"}, {"text": "[INST]x[/INST]y"}]
    for i, row in enumerate(rows):
        assert mine(row, i) == formats.inst_to_prompt_completion(row, i)
    for bad in ({"text": "no tags"}, {"text": ""}):
        with pytest.raises(ValueError, match="row 3"):
            mine(bad, 3)
        with pytest.raises(ValueError, match="row 3"):
            formats.inst_to_prompt_completion(bad, 3)


def test_01_held_out_split_is_splits_split_held_out():
    held_out_split = inline("01", "held_out_split", re=__import__("re"))
    normalise = inline("01", "normalise", re=__import__("re"))
    rows = _guanaco_rows()
    rng = random.Random(0)
    noisy = rows + [{"prompt": [{"role": "user", "content": r["prompt"][-1]["content"].upper() + " ?"}],
                     "completion": r["completion"]} for r in rng.sample(rows, 40)]
    for data in (rows, noisy):
        for share, seed in ((0.1, 42), (0.3, 0)):
            ours = held_out_split(data, share, seed)
            theirs = splits.split_held_out_indices(data, lambda r: r["prompt"][-1]["content"],
                                                   lambda r: r["completion"][-1]["content"], share, seed)
            assert ours == theirs == formats.held_out_split(data, share, seed)
    for text in ("What is 2+3?", "  A_b  C!", "Ünïcode, too."):
        assert normalise(text) == splits.normalise(text)


def _ultrafeedback_pairs(n):
    rows = cookbook.load_dataset("HuggingFaceH4/ultrafeedback_binarized", "test_prefs", smoke=True,
                                 kind="preference-pairs")
    return [rows[i] for i in range(n)]


def test_04_explicit_prompt_is_prefs_explicit_prompt():
    from cookbook import prefs

    mine = inline("04", "to_explicit_prompt")
    for i, row in enumerate(_ultrafeedback_pairs(20)):
        assert mine(row, i) == prefs.explicit_prompt(row, i)
    broken = {"chosen": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
              "rejected": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "c"}]}
    for fn in (mine, prefs.explicit_prompt):
        with pytest.raises(ValueError, match="row 7"):
            fn(broken, 7)


def test_04_completion_logprob_is_prefs_completion_logprob():
    """04 scores held-out pairs with its inline function; 05 imports the helper's: same numbers on the tiny model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cookbook import prefs

    path = cookbook.tiny_model("llama")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    mine = inline("04", "completion_logprob", tokenizer=tokenizer, torch=torch, SMOKE=True)
    for row in _ultrafeedback_pairs(5):
        pair = prefs.explicit_prompt(row, 0)
        for key in ("chosen", "rejected"):
            got, n = mine(model, pair["prompt"], pair[key])
            want, m = prefs.completion_logprob(model, tokenizer, pair["prompt"], pair[key])
            assert n == m and n > 0 and abs(got - want) < 1e-4 * max(1.0, abs(want)), (got, want)


def _body(notebook: str, name: str) -> str:
    """The statements of a function a notebook defines (its name, arguments and defaults aside)."""
    path = next(ROOT.glob(f"Part_*/{notebook}_*.ipynb"))
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    return "\n".join(ast.dump(stmt) for stmt in node.body if not (
                        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)))
    raise LookupError(f"{notebook} defines no function {name}")


def test_03_and_07_generate_as_01_does():
    """03 (Unsloth) and 07 (Axolotl) compare their models with 01's by generating the same way: their copies of 01's
    greedy `answer` (stop at the model's end-of-turn ids, report whether it stopped) must not drift from 01's."""
    assert _body("03", "answer") == _body("01", "answer")
    assert _body("07", "generate") == _body("01", "answer")



def _function(notebook: str, name: str, **namespace):
    """The function `name` as a notebook defines it, compiled alone (for functions that need only `namespace`)."""
    path = next(ROOT.glob(f"Part_*/{notebook}_*.ipynb"))
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    exec(compile(ast.Module(body=[node], type_ignores=[]), f"{path.name}:{name}", "exec"), namespace)
                    return namespace[name]
    raise LookupError(f"{notebook} defines no function {name}")


@pytest.mark.parametrize("notebook", ["12", "13", "18"])
def test_later_notebooks_render_schemas_as_01b_trained_on(notebook):
    """12, 13 and 18 prompt 01b's JSON model with their own copy of 01b's `describe` (the schema in its system prompt):
    a copy that renders a schema differently prompts the model out of its training format, silently."""
    rows = [json.loads(line) for split in ("train", "test")
            for line in (ROOT / "data" / "json_extraction" / f"{split}.jsonl").read_text().splitlines()]
    schemas = [json.loads(s) for s in {r["schema"] for r in rows}] + [   # the fixture's, and other flat ones
        {"type": "object", "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}, "x": {"type": "number"}}},
        {"type": "object", "properties": {"c": {"type": "string", "enum": ["a", "b b", "c\"d"]}, "s": {"type": "string"}}},
        {"type": "object", "properties": {"level": {"type": "integer", "enum": [1, 2, 3]}}, "required": ["level"]}]
    want, got = _function("01b", "describe", json=json), _function(notebook, "describe", json=json)
    for schema in schemas:
        assert got(schema) == want(schema), schema
