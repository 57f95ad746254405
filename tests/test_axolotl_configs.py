"""Notebook 07's Axolotl configs: one source for smoke and full mode, and the values of the notebooks they replicate.

configs/07_sft_lora.yml replicates notebook 01 and configs/07_dpo.yml notebook 04, with full-mode values;
configs/07_smoke.yml lists what smoke mode changes. These tests fail when the smoke override touches the recipe
(adapter, LoRA settings, data, template, scheduler, seed) or when a value drifts from 01's or 04's parameters cell.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "Part_3_Advanced_Finetuning_with_Axolotl" / "configs"
# What a smoke override may change: sizes and the switches a CPU needs off. Everything else is the recipe.
SIZES = {"sequence_len", "micro_batch_size", "gradient_accumulation_steps", "max_steps", "learning_rate", "rl_beta",
         "sample_packing"}
HARDWARE = {"bf16", "fp16", "tf32", "gradient_checkpointing", "optimizer", "lora_mlp_kernel", "lora_qkv_kernel",
            "lora_o_kernel", "lora_embedding_kernel", "dataloader_num_workers", "dataloader_pin_memory",
            "dataset_num_proc"}


def config(name: str) -> dict:
    return yaml.safe_load((CONFIGS / f"07_{name}.yml").read_text())


SMOKE = config("smoke")


def resolved(name: str, smoke: bool) -> dict:
    """What notebook 07's write_config builds (without the run's base_model path and seed)."""
    return {**config(name), **(SMOKE["common"] | SMOKE[name] if smoke else {})}


def parameters(notebook: str) -> dict[str, tuple]:
    """{NAME: (smoke value, full value)} of a notebook's parameters cell: `X = a if SMOKE else b` and `X = a`."""
    path = next(ROOT.glob(f"Part_*/{notebook}.ipynb"))
    cell = next(c for c in json.loads(path.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {}
    for node in ast.parse("".join(cell["source"])).body:
        if not isinstance(node, ast.Assign):
            continue
        target, value = node.targets[0], node.value
        pairs = (zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                 else [(target, value)])
        for name, expr in pairs:
            if not isinstance(name, ast.Name):
                continue
            try:
                if isinstance(expr, ast.IfExp) and isinstance(expr.test, ast.Name) and expr.test.id == "SMOKE":
                    values[name.id] = (ast.literal_eval(expr.body), ast.literal_eval(expr.orelse))
                else:
                    values[name.id] = (ast.literal_eval(expr),) * 2
            except ValueError:
                continue   # a computed value (cookbook.tiny_model(...), run.seed): not a literal to compare
    return values


def test_smoke_override_touches_only_sizes_and_hardware_switches():
    assert set(SMOKE) == {"common", "sft_lora", "dpo"}
    assert set(SMOKE["common"]) <= HARDWARE, set(SMOKE["common"]) - HARDWARE
    for name in ("sft_lora", "dpo"):
        assert set(SMOKE[name]) <= SIZES | HARDWARE, set(SMOKE[name]) - SIZES - HARDWARE
        base = config(name)
        # a size the override changes must exist in the full-mode file (no setting only smoke mode has),
        # except max_steps where the full run counts epochs instead
        assert {k for k in SMOKE[name] if k in SIZES} - {"max_steps"} <= set(base), name


@pytest.mark.parametrize("smoke", [True, False], ids=["smoke", "full"])
def test_sft_config_is_notebook_01(smoke):
    p = {k: v[0 if smoke else 1] for k, v in parameters("01_SFT_with_TRL_and_LoRA").items()}
    c = resolved("sft_lora", smoke)
    assert (c["sequence_len"], c["micro_batch_size"], c["gradient_accumulation_steps"], c["learning_rate"]) == \
        (p["MAX_LENGTH"], p["BATCH_SIZE"], p["GRAD_ACCUM"], p["LEARNING_RATE"])
    assert (c["lora_r"], c["lora_alpha"], c["lora_dropout"]) == (p["LORA_R"], p["LORA_ALPHA"], p["LORA_DROPOUT"])
    assert c["load_in_4bit"] is True and c["adapter"] == "qlora" and c["lora_target_linear"] is True
    if p["MAX_STEPS"] > 0:
        assert c["max_steps"] == p["MAX_STEPS"]
    else:
        assert "max_steps" not in c and c["num_epochs"] == p["EPOCHS"]
    if not smoke:
        assert c["base_model"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert c["seed"] == 42   # cookbook.start's default seed, which 01 uses


@pytest.mark.parametrize("smoke", [True, False], ids=["smoke", "full"])
def test_dpo_config_is_notebook_04(smoke):
    p = {k: v[0 if smoke else 1] for k, v in parameters("04_Aligning_with_DPO_using_TRL").items()}
    c, sft = resolved("dpo", smoke), resolved("sft_lora", smoke)
    assert c["rl"] == "dpo" and c["adapter"] == "lora"
    assert (c["sequence_len"], c["micro_batch_size"], c["gradient_accumulation_steps"], c["learning_rate"],
            c["rl_beta"]) == (p["MAX_LENGTH"], p["BATCH_SIZE"], p["GRAD_ACCUM"], p["LEARNING_RATE"], p["BETA"])
    # 04's smoke run trains 80 steps; 07 trains fewer to fit the smoke suite's time budget (said in the notebook)
    assert c["max_steps"] == p["MAX_STEPS"] if not smoke else 0 < c["max_steps"] <= p["MAX_STEPS"]
    assert all(c[k] == sft[k] for k in ("lora_r", "lora_alpha", "lora_dropout", "lora_target_linear"))   # 04's LoRA
    assert c["base_model"] == f"{sft['output_dir']}/merged"   # starts from the merged SFT model


def test_sft_data_settings_train_the_answers_only():
    for entry in config("sft_lora")["datasets"] + config("sft_lora")["test_datasets"]:
        assert entry["type"] == "chat_template" and entry["roles_to_train"] == ["assistant"]
        assert entry["message_field_training"] == "train" and entry["train_on_eos"] == "turn"


# --- notebook 08: continued pretraining (configs/08_cpt.yml + configs/08_smoke.yml) ------------------------------

def cpt_config(name: str) -> dict:
    return yaml.safe_load((CONFIGS / f"08_{name}.yml").read_text())


def test_cpt_smoke_override_touches_only_sizes_and_hardware_switches():
    smoke, full = cpt_config("smoke"), cpt_config("cpt")
    assert set(smoke) == {"common", "cpt"}
    assert set(smoke["common"]) <= HARDWARE, set(smoke["common"]) - HARDWARE
    assert set(smoke["cpt"]) <= SIZES | HARDWARE, set(smoke["cpt"]) - SIZES - HARDWARE
    assert {k for k in smoke["cpt"] if k in SIZES} - {"max_steps"} <= set(full)


@pytest.mark.parametrize("smoke", [True, False], ids=["smoke", "full"])
def test_cpt_config_is_continued_pretraining(smoke):
    """Raw text, every token trained, every weight trained, the replay entry notebook 08 writes, its held-out file."""
    over = cpt_config("smoke")
    c = {**cpt_config("cpt"), **(over["common"] | over["cpt"] if smoke else {})}
    assert "adapter" not in c and "load_in_4bit" not in c and "load_in_8bit" not in c   # full-parameter training
    for entry in c["datasets"] + c["test_datasets"]:
        assert entry["type"] == "completion" and entry["field"] == "text" and entry["ds_type"] == "json"
    assert [d["path"] for d in c["datasets"]] == ["data/domain_train.jsonl", "data/replay.jsonl"]
    assert [d["path"] for d in c["test_datasets"]] == ["data/domain_test.jsonl"]
    assert "chat_template" not in c   # no prompt format
    assert c["seed"] == 42 and c["output_dir"] == "cpt" and c["lr_scheduler"] == "cosine" and c["warmup_ratio"] > 0
    if not smoke:
        assert c["base_model"] == "TinyLlama/TinyLlama_v1.1" and c["num_epochs"] == 1 and c["sample_packing"] is True
        assert c["learning_rate"] <= 1e-4   # well below TinyLlama's pretraining peak (4e-4)
    else:   # below the tiny model's own pretraining peak
        from cookbook.tiny import PRETRAIN
        assert c["learning_rate"] <= PRETRAIN["lr"] and c["sequence_len"] <= PRETRAIN["seq_len"]
