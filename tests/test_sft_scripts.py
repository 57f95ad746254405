"""Part 1's shared pieces: the [INST] parser, the launch configs, the full-SFT script's CLI, multi-GPU masking."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cookbook
from cookbook import run as run_module
from cookbook.formats import inst_to_prompt_completion

ROOT = Path(__file__).resolve().parent.parent


def test_inst_parser_single_and_multi_turn():
    one = inst_to_prompt_completion({"text": "<s>[INST] Hi there [/INST] Hello! </s>"}, 0)
    assert one == {"prompt": [{"role": "user", "content": "Hi there"}],
                   "completion": [{"role": "assistant", "content": "Hello!"}]}
    two = inst_to_prompt_completion({"text": "<s>[INST] a [/INST] b </s><s>[INST] c [/INST] d </s>"}, 1)
    assert [m["content"] for m in two["prompt"]] == ["a", "b", "c"] and two["completion"][0]["content"] == "d"


def test_inst_parser_names_the_bad_row():
    with pytest.raises(ValueError, match="row 7"):
        inst_to_prompt_completion({"text": "no tags here"}, 7)


@pytest.mark.parametrize("config", sorted((ROOT / "scripts/configs/accelerate").glob("*.yaml")), ids=lambda p: p.stem)
def test_accelerate_configs_point_at_valid_files(config):
    cfg = yaml.safe_load(config.read_text())
    assert cfg["distributed_type"] in {"DEEPSPEED", "FSDP"}
    if cfg["distributed_type"] == "DEEPSPEED":
        ds_file = ROOT / cfg["deepspeed_config"]["deepspeed_config_file"]
        ds = json.loads(ds_file.read_text())
        stage = ds["zero_optimization"]["stage"]
        assert f"zero{stage}" in config.stem and (stage == 3) == cfg["deepspeed_config"]["zero3_init_flag"]
        assert ("offload" in config.stem) == ("offload_optimizer" in ds["zero_optimization"])
        # batch sizes must come from the training script, or a different GPU count breaks DeepSpeed's check
        assert ds["train_batch_size"] == ds["train_micro_batch_size_per_gpu"] == "auto"
    else:
        assert cfg["fsdp_config"]["fsdp_version"] == 2


def test_full_sft_script_help_runs():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/train_full_sft.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "accelerate launch" in out and "--batch-size" in out


def test_multi_gpu_machine_trains_notebooks_on_one_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(run_module, "machine_gpus", lambda: 2)
    run = cookbook.start("99_Test")
    assert run.gpus == 2 and os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("LOCAL_RANK", "1")  # inside a launched process: leave the launcher's choice alone
    cookbook.start("99_Test")
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
