#!/usr/bin/env python3
"""Measured full-mode footprint of each training notebook: peak VRAM and seconds per optimizer step, and the
cards it fits on. The source of every notebook's "Hardware (full mode)" line and of the README's "fits on" column.

    python benchmarks/notebook_footprints.py                    # the default configs (~6-7 min on an H200)
    python benchmarks/notebook_footprints.py --configs all      # + 02 with checkpointing only, and batch 1
    python benchmarks/notebook_footprints.py --configs 02,02-8bit-ckpt
    python benchmarks/notebook_footprints.py --plan             # the configs and the estimated time; runs nothing
    python benchmarks/notebook_footprints.py --small            # logic check on a CPU: toy shapes, 2 steps each

Each config is one notebook's full-mode training set-up, copied from its parameters cell and trainer cell, with
the notebook's own trainer (TRL 1.16's SFTTrainer, DPOTrainer, ORPOTrainer, GRPOTrainer; Unsloth's for 03):
architecture, sequence length, batch and accumulation, precision, quantization, LoRA or full fine-tuning,
checkpointing, attention, Liger, optimizer. The model is the full-mode model's architecture with random weights
(benchmarks/arch_model.py: TinyLlama-1.1B, Qwen2.5-0.5B-Instruct), the data synthetic token rows at the lengths
that matter for memory: every row at the notebook's max_length (the worst batch a real dataset can produce;
06: prompts of 128 tokens and completions of the full 256, which random weights always reach). Each config runs in
its own process (so peaks cannot leak), for WARMUP + TIMED optimizer steps.

Recorded per config: torch.cuda.max_memory_allocated and max_memory_reserved during training (reset when
training starts, so the weights count, loading transients do not) and over the whole process; seconds per
optimizer step (mean of the timed steps; the first step, with compilation and allocator warm-up, excluded).
"Fits on" rule: a card fits when peak reserved + HEADROOM_GIB (CUDA context, cuBLAS/cuDNN workspaces, the
notebook's other cells) <= the card's memory as the driver reports it. Memory is the same in fp16 (T4, no bf16)
as in bf16; a T4 run is slower, not larger.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]

OUT = ROOT / "benchmarks" / "results" / "notebook_footprints.json"
WARMUP, TIMED = 1, 2
HEADROOM_GIB = 1.5
# Memory each card reports (nvidia-smi's total, MiB), the cards of the README's "fits on" column.
CARDS = {"T4 16 GB": 15360, "L4 24 GB": 23034, "A100 40 GB": 40960, "H100 80 GB": 81559}

LORA = dict(r=16, alpha=32, dropout=0.05)
# One entry per notebook's full-mode training (and, for 02, the settings offered where the default does not fit).
CONFIGS: dict[str, dict] = {
    "01": dict(notebook="01_SFT_with_TRL_and_LoRA", trainer="sft", arch="tinyllama", quant="4bit", lora=LORA,
               max_length=1024, batch=4, accum=4, packing=True, attn="flex_attention", liger=True, ckpt=True,
               optim="adamw_torch_fused"),
    "01b": dict(notebook="01b_SFT_for_Structured_Output_JSON", trainer="sft", arch="tinyllama", quant=None,
                lora=LORA, max_length=512, row_tokens=250, batch=8, accum=2, packing=False, attn="sdpa",
                liger=False, ckpt=True, optim="adamw_torch_fused"),
    "02": dict(notebook="02_Full_Parameter_SFT_with_TRL", trainer="sft", arch="tinyllama", quant=None, lora=None,
               weights="float32", max_length=1024, batch=4, accum=4, packing=False, attn="sdpa", liger=False,
               ckpt=False, optim="adamw_torch_fused"),
    "02-ckpt": dict(notebook="02_Full_Parameter_SFT_with_TRL", trainer="sft", arch="tinyllama", quant=None,
                    lora=None, weights="float32", max_length=1024, batch=4, accum=4, packing=False, attn="sdpa",
                    liger=False, ckpt=True, optim="adamw_torch_fused"),
    "02-8bit-ckpt": dict(notebook="02_Full_Parameter_SFT_with_TRL", trainer="sft", arch="tinyllama", quant=None,
                         lora=None, weights="float32", max_length=1024, batch=4, accum=4, packing=False, attn="sdpa",
                         liger=False, ckpt=True, optim="adamw_8bit"),
    "02-paged8bit-ckpt-b2": dict(notebook="02_Full_Parameter_SFT_with_TRL", trainer="sft", arch="tinyllama",
                                 quant=None, lora=None, weights="float32", max_length=1024, batch=2, accum=8,
                                 packing=False, attn="sdpa", liger=False, ckpt=True, optim="paged_adamw_8bit"),
    "02-8bit-ckpt-b1": dict(notebook="02_Full_Parameter_SFT_with_TRL", trainer="sft", arch="tinyllama", quant=None,
                            lora=None, weights="float32", max_length=1024, batch=1, accum=16, packing=False,
                            attn="sdpa", liger=False, ckpt=True, optim="adamw_8bit"),
    "03": dict(notebook="03_Faster_SFT_with_Unsloth", trainer="unsloth-sft", arch="tinyllama", quant="4bit",
               lora=dict(r=16, alpha=32, dropout=0.0), max_length=1024, batch=4, accum=4, packing=True,
               attn="unsloth", liger=False, ckpt="unsloth", optim="adamw_torch_fused"),
    "04": dict(notebook="04_Aligning_with_DPO_using_TRL", trainer="dpo", arch="tinyllama", quant=None, lora=LORA,
               max_length=1024, prompt_tokens=256, batch=2, accum=8, attn="sdpa", liger=False, ckpt=True,
               optim="adamw_torch_fused"),
    "05": dict(notebook="05_Simplified_Alignment_with_ORPO", trainer="orpo", arch="tinyllama", quant=None,
               lora=LORA, max_length=1024, prompt_tokens=256, batch=2, accum=8, attn="sdpa", liger=False, ckpt=True,
               optim="adamw_torch_fused"),
    "06": dict(notebook="06_Advanced_RL_Alignment_with_GRPO", trainer="grpo", arch="qwen25_05b", quant=None,
               lora=dict(r=16, alpha=32, dropout=0.0), prompt_tokens=128, max_completion=256, batch=16,
               num_generations=8, accum=1, attn="sdpa", liger=False, ckpt=True, optim="adamw_torch_fused"),
}
# H200 seconds per config (process start, imports, model load, steps), for --plan; 01's flex attention compiles
# once per machine (~80 s more on a fresh one, then cached): added once when 01 is in the list.
ESTIMATE_S = {"01": 65, "01b": 33, "02": 31, "02-ckpt": 31, "02-8bit-ckpt": 30, "02-paged8bit-ckpt-b2": 34,
              "02-8bit-ckpt-b1": 40, "03": 55, "04": 37, "05": 33, "06": 85}  # measured on an H200, 2026-11-29
COLD_FLEX_S = 85
DEFAULT = ["01", "01b", "02", "02-8bit-ckpt", "02-paged8bit-ckpt-b2", "03", "04", "05", "06"]


# ---------------------------------------------------------------------------------------------------------------
# Pure logic (tested in tests/test_benchmarks.py)

def fits(peak_reserved_gib: float | None, headroom_gib: float = HEADROOM_GIB, cards: dict = CARDS) -> dict:
    """Which cards hold a run whose peak reserved memory is `peak_reserved_gib`: reserved + headroom <= card."""
    if peak_reserved_gib is None:
        return {}
    return {card: peak_reserved_gib + headroom_gib <= mib / 1024 for card, mib in cards.items()}


def smallest_card(fit: dict) -> str | None:
    return next((card for card, ok in fit.items() if ok), None)


# ---------------------------------------------------------------------------------------------------------------
# One config, in its own process

def synthetic_text(tok, n_tokens: int, rng: random.Random) -> str:
    """Text that tokenizes to about n_tokens tokens (random ordinary tokens of the tokenizer, decoded)."""
    specials = set(tok.all_special_ids)
    pool = [i for i in range(min(len(tok), 2048)) if i not in specials]
    ids = [rng.choice(pool) for _ in range(n_tokens)]
    text = tok.decode(ids, skip_special_tokens=True)
    ids2 = tok(text, add_special_tokens=False)["input_ids"]
    for _ in range(20):  # a tokenizer that merges tokens on the way back: top up (the synthetic one never does)
        if len(ids2) >= n_tokens:
            break
        text += " " + tok.decode([rng.choice(pool) for _ in range(n_tokens - len(ids2))], skip_special_tokens=True)
        ids2 = tok(text, add_special_tokens=False)["input_ids"]
    return tok.decode(ids2[:n_tokens], skip_special_tokens=True)


def run_config(key: str, model_dir: str, small: bool) -> dict:
    c = dict(CONFIGS[key])
    unsloth = c["trainer"] == "unsloth-sft"
    if unsloth:
        import unsloth  # noqa: F401
        from unsloth import FastLanguageModel
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, TrainerCallback

    cuda = torch.cuda.is_available()
    rng = random.Random(0)
    if small:  # toy shapes: the same code path in seconds on a CPU
        c.update(max_length=min(c.get("max_length", 128), 96), batch=min(c["batch"], 4) if c["trainer"] != "grpo"
                 else 8, accum=min(c["accum"], 2), prompt_tokens=min(c.get("prompt_tokens", 32), 32),
                 max_completion=min(c.get("max_completion", 16), 16), row_tokens=min(c.get("row_tokens", 64), 64),
                 num_generations=min(c.get("num_generations", 4), 4))
        if not cuda:
            c.update(attn="sdpa", liger=False, packing=False)
            if c["optim"] in ("adamw_8bit", "paged_adamw_8bit"):
                c["optim_requested"] = c["optim"]  # bitsandbytes' 8-bit optimizers need CUDA
                c["optim"] = "adamw_torch"
            if c["quant"]:
                c["quant_requested"], c["quant"] = c["quant"], None
    if not cuda and c["optim"] == "adamw_torch_fused":
        c["optim"] = "adamw_torch"
    steps = WARMUP + TIMED
    compute = torch.bfloat16 if cuda else torch.float32
    weights = torch.float32 if c.get("weights") == "float32" or not cuda else torch.bfloat16

    if unsloth:
        model, tok = FastLanguageModel.from_pretrained(model_dir, max_seq_length=c["max_length"],
                                                       load_in_4bit=c["quant"] == "4bit", dtype=None)
        model = FastLanguageModel.get_peft_model(model, r=c["lora"]["r"], lora_alpha=c["lora"]["alpha"],
                                                 lora_dropout=c["lora"]["dropout"],
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                                 "gate_proj", "up_proj", "down_proj"],
                                                 use_gradient_checkpointing="unsloth" if cuda else False,
                                                 random_state=0)
        peft_config = None
    else:
        from arch_model import ARCHS, synthetic_tokenizer

        tok = synthetic_tokenizer(ARCHS[c["arch"]]["tokenizer"])  # AutoTokenizer would rebuild it as another class
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=compute) if c["quant"] == "4bit" else None
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=weights, quantization_config=quant,
                                                     attn_implementation=c["attn"],
                                                     device_map={"": "cuda" if cuda else "cpu"})
        peft_config = None
        if c["lora"]:
            from peft import LoraConfig

            peft_config = LoraConfig(r=c["lora"]["r"], lora_alpha=c["lora"]["alpha"],
                                     lora_dropout=c["lora"]["dropout"], target_modules="all-linear",
                                     task_type="CAUSAL_LM")
    weights_gib = torch.cuda.memory_allocated() / 2**30 if cuda else None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token

    marks: dict[int, float] = {}
    mem: dict = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
                mem["before_train"] = torch.cuda.max_memory_allocated() / 2**30  # loading and set-up
                torch.cuda.reset_peak_memory_stats()

        def on_step_end(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            marks[state.global_step] = time.perf_counter()

        def on_train_end(self, args, state, control, **kw):
            if cuda:
                mem["allocated"] = torch.cuda.max_memory_allocated() / 2**30
                mem["reserved"] = torch.cuda.max_memory_reserved() / 2**30

    common = dict(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=c["batch"],
                  gradient_accumulation_steps=c["accum"], learning_rate=2e-5 if not c["lora"] else 2e-4,
                  bf16=cuda, gradient_checkpointing=bool(c["ckpt"]) and c["ckpt"] != "unsloth" and cuda,
                  logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True, seed=0,
                  optim=c["optim"])
    if c.get("liger"):
        common["use_liger_kernel"] = True
    n_rows = (steps + 1) * c["batch"] * c["accum"]
    t = c["trainer"]
    if t in ("sft", "unsloth-sft"):
        from trl import SFTConfig, SFTTrainer

        n = c.get("row_tokens") or c["max_length"]  # every row at max_length: the worst batch
        g = torch.Generator().manual_seed(0)
        rows = torch.randint(3, 2048, (n_rows * (1 if not c.get("packing") else 1), n), generator=g).tolist()
        data = Dataset.from_dict({"input_ids": rows})
        args = SFTConfig(max_length=c["max_length"], packing=c.get("packing", False), **common)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok,
                             peft_config=peft_config, callbacks=[Clock()])
    elif t in ("dpo", "orpo"):
        p_tok = c["prompt_tokens"]
        a_tok = c["max_length"] - p_tok  # prompt + answer = max_length exactly (after the chat template: truncated)
        data = Dataset.from_dict({
            "prompt": [[{"role": "user", "content": synthetic_text(tok, p_tok, rng)}] for _ in range(n_rows)],
            "chosen": [[{"role": "assistant", "content": synthetic_text(tok, a_tok, rng)}] for _ in range(n_rows)],
            "rejected": [[{"role": "assistant", "content": synthetic_text(tok, a_tok, rng)}] for _ in range(n_rows)]})
        if t == "dpo":
            from trl import DPOConfig, DPOTrainer

            args = DPOConfig(beta=0.1, max_length=c["max_length"], **common)
            trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=data, processing_class=tok,
                                 peft_config=peft_config, callbacks=[Clock()])
        else:
            from trl.experimental.orpo import ORPOConfig, ORPOTrainer

            args = ORPOConfig(beta=0.1, max_length=c["max_length"], **common)
            trainer = ORPOTrainer(model=model, args=args, train_dataset=data, processing_class=tok,
                                  peft_config=peft_config, callbacks=[Clock()])
    elif t == "grpo":
        from trl import GRPOConfig, GRPOTrainer

        tok.padding_side = "left"
        n_prompts = (steps + 1) * c["batch"] // c["num_generations"] * 2
        data = Dataset.from_dict({"prompt": [[{"role": "user", "content": synthetic_text(tok, c["prompt_tokens"],
                                                                                            rng)}]
                                             for _ in range(n_prompts)]})

        def length_reward(completions, **kw):  # any varied reward: memory and time do not depend on its values
            return [len(x[0]["content"]) / 100 + random.random() for x in completions]

        args = GRPOConfig(num_generations=c["num_generations"], max_completion_length=c["max_completion"],
                          temperature=0.7, use_vllm=False, **common)
        trainer = GRPOTrainer(model=model, reward_funcs=[length_reward], args=args, train_dataset=data,
                              processing_class=tok, peft_config=peft_config, callbacks=[Clock()])
    else:
        raise ValueError(t)
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    timed = [marks[i + 1] - marks[i] for i in range(WARMUP, steps) if i in marks and i + 1 in marks]
    sec = sum(timed) / len(timed) if timed else None
    tokens_per_step = (c["batch"] * c["accum"] * (c["max_length"] if t != "grpo" else
                                                  c["prompt_tokens"] + c["max_completion"]))
    if t in ("dpo", "orpo"):
        tokens_per_step *= 2  # chosen and rejected
    reserved = mem.get("reserved")
    logged = [e for e in trainer.state.log_history if "loss" in e]
    completion_len = [e.get("completions/mean_length") for e in logged if e.get("completions/mean_length")]
    result = {
        "config": key, "notebook": c["notebook"], "trainer": type(trainer).__name__,
        "settings": {k: v for k, v in c.items() if k != "notebook"},
        "model": {"arch": c["arch"], "parameters": sum(p.numel() for p in trainer.model.parameters()),
                  "trainable": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
                  "config": {k: v for k, v in model.config.to_dict().items()
                             if k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                      "num_key_value_heads", "vocab_size", "tie_word_embeddings")},
                  "attention": getattr(model.config, "_attn_implementation", None)},
        "weights_gib": round(weights_gib, 3) if weights_gib is not None else None,
        "peak_allocated_gib": round(mem["allocated"], 3) if cuda else None,
        "peak_reserved_gib": round(reserved, 3) if cuda else None,
        "process_peak_allocated_gib": round(max(mem["before_train"], mem["allocated"]), 3) if cuda else None,
        "seconds_per_step": round(sec, 3) if sec else None, "timed_steps": len(timed),
        "approx_tokens_per_step": tokens_per_step,
        "grpo_mean_completion_length": completion_len or None, "train_seconds": round(train_s, 1),
        "fits_on": fits(reserved + 0.0 if reserved is not None else None),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                     **({"unsloth": __import__("unsloth").__version__} if unsloth else {})},
        "gpu": torch.cuda.get_device_name(0) if cuda else "cpu (logic check only)",
    }
    if cuda:
        result["gpu_total_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    result["smallest_card"] = smallest_card(result["fits_on"])
    return result


# ---------------------------------------------------------------------------------------------------------------
# The driver

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default=",".join(DEFAULT),
                    help=f"comma-separated, or 'all'; known: {','.join(CONFIGS)}")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--timeout", type=int, default=240, help="seconds per config")
    ap.add_argument("--small", action="store_true", help="logic check: toy shapes, a few steps (CPU)")
    ap.add_argument("--plan", action="store_true")
    ap.add_argument("--unsloth-python", default=None)
    ap.add_argument("--unsloth-site", default=None)
    ap.add_argument("--one", help="(internal)")
    ap.add_argument("--model-dir", help="(internal)")
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_config(args.one, args.model_dir, args.small)), flush=True)
        return
    keys = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    unknown = [k for k in keys if k not in CONFIGS]
    if unknown:
        sys.exit(f"unknown configs {unknown}; known: {list(CONFIGS)}")
    total = sum(ESTIMATE_S[k] for k in keys) + (COLD_FLEX_S if "01" in keys else 0)
    print(f"{len(keys)} configs, estimated {total / 60:.1f} min on an H200 (with 01's cold flex compile): "
          + ", ".join(f"{k} ~{ESTIMATE_S[k]} s" for k in keys), flush=True)
    if args.plan:
        return
    from arch_model import arch_model
    from sft_speed import commit, interpreter

    out = args.out or (OUT if not args.small else Path(tempfile.gettempdir()) / "notebook_footprints_small.json")
    record = json.loads(out.read_text()) if out.is_file() else {}
    record.update(benchmark="full-mode training footprint of each notebook (architecture-true random weights, "
                            "synthetic rows at the notebooks' lengths)",
                  rule=f"fits when peak reserved + {HEADROOM_GIB} GiB <= the card's memory",
                  cards_mib=CARDS, headroom_gib=HEADROOM_GIB, warmup_steps=WARMUP, timed_steps=TIMED,
                  date=time.strftime("%Y-%m-%d"), commit=commit(), small=args.small)
    record.setdefault("results", {})
    tmp = Path(tempfile.gettempdir())
    for key in keys:
        c = CONFIGS[key]
        dtype = "float32" if c.get("weights") == "float32" else "bfloat16"
        folder = tmp / f"{c['arch']}-arch-synth-{'small-' if args.small else ''}{dtype}"
        model_dir = arch_model(folder, c["arch"], dtype=dtype, small=args.small)
        py, env = interpreter({"framework": "unsloth" if c["trainer"] == "unsloth-sft" else "trl"}, args)
        cmd = [py, str(Path(__file__).resolve()), "--one", key, "--model-dir", str(model_dir)]
        if args.small:
            cmd.append("--small")
        t0 = time.time()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired as err:
            so = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            proc = subprocess.CompletedProcess(cmd, -9, so, f"timed out after {err.timeout} s")
        if os.environ.get("OUT"):  # one log file for all configs (the device tool brings back only a few files)
            with open(Path(os.environ["OUT"], "notebook_footprints-runs.log"), "a") as log:
                text = proc.stdout + proc.stderr
                log.write(f"\n===== {key}: exit {proc.returncode}\n" + (text[-20000:] if proc.returncode else text[-3000:]))
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if lines:
            result = json.loads(lines[-1][7:])
        else:
            tail = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-10:]
            result = {"config": key, "notebook": c["notebook"], "error": "\n".join(tail)}
        result["wall_seconds"] = round(time.time() - t0, 1)
        record["results"][key] = result
        print(json.dumps({k: result.get(k) for k in ("config", "peak_allocated_gib", "peak_reserved_gib",
                                                      "seconds_per_step", "smallest_card", "wall_seconds",
                                                      "error")}), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        if os.environ.get("OUT"):  # after every config: a device call cut short still brings back what it measured
            Path(os.environ["OUT"], out.name).write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
