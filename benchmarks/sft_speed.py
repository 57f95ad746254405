#!/usr/bin/env python3
"""LoRA SFT speed and memory, measured fairly: TRL recipes (01) against Unsloth (03), like for like.

    python benchmarks/sft_speed.py --suite fair            # the whole fair suite (~11 min on an H200), + plot
    python benchmarks/sft_speed.py --suite fair-trl        # its TRL half (~7 min: one device call)
    python benchmarks/sft_speed.py --suite fair-unsloth    # its Unsloth half (~5 min)
    python benchmarks/sft_speed.py --suite extra           # compile, FLCE alone, flex vs SDPA, SAC, offloading
    python benchmarks/sft_speed.py --quick                 # a subset (~5 min): one point per question
    python benchmarks/sft_speed.py --suite fair --plan     # list the runs and the estimated time; runs nothing
    python benchmarks/sft_speed.py --small --suite cpu     # logic check on a CPU (tiny random model, seconds)
    python benchmarks/sft_speed.py --merge a.json b.json   # merge two device calls' results (by run name), plot

On the GPU machine (no network), through benchmarks/gpu_run.sh, which installs the wheel sets made by
tests/gpu/fetch_wheels.sh (carry .gpu_wheels and .gpu_wheels_unsloth); the suite is two halves, each within one
10-minute device call:
    bash benchmarks/gpu_run.sh python3 benchmarks/sft_speed.py --suite fair-trl
    bash benchmarks/gpu_run.sh python3 benchmarks/sft_speed.py --suite fair-unsloth
Each merges into benchmarks/results/sft_speed_fair.json (+ .png) and copies both to $OUT; if the second call
did not see the first one's file, merge the two returned files with --merge.
    python benchmarks/sft_speed.py --variants trl-default,trl-packed-flex-liger --out benchmarks/results/sft_speed.json
                                                           # the earlier (unfair) table's variants

One command runs both frameworks: the driver starts every run in its own process (with a timeout, so one run's
peak memory cannot leak into another's) and picks the interpreter per framework. TRL runs use this interpreter
(core environment: TRL 1.16); Unsloth runs use --unsloth-python (default: .venvs/unsloth/bin/python when it
exists, else this interpreter) with --unsloth-site (default: $COOKBOOK_UNSLOTH_SITE, else
/tmp/cookbook-unsloth-site when it exists: the folder `benchmarks/gpu_run.sh` installs .gpu_wheels_unsloth/ into)
put first on PYTHONPATH. Results merge by run name into benchmarks/results/sft_speed_fair.json, then
benchmarks/plot_sft_speed.py draws benchmarks/results/sft_speed_fair.png (tokens/s against peak GiB).

What is held equal. Model: TinyLlama-1.1B's architecture with random weights (speed and memory depend on shapes,
not values). LoRA r=16, alpha 32, dropout 0 (Unsloth's fast path needs 0; TRL gets the same) on all seven linear
projections of every layer; batch 4 sequences of at most 2048 tokens; bf16 compute; AdamW; learning rate 2e-4.
Two row shapes, both for both frameworks and both base precisions (bf16 and 4-bit NF4):
  fixed     every row exactly 2048 tokens: no padding and nothing to pack (a plain loop over full rows);
  variable  rows of 200-1800 tokens (fixed seed), packed (TRL: packing=True, best-fit, padding-free positions;
            Unsloth: packing=True, its padding-free path).
Checkpointing is recorded per run: the same policy for both (plain gradient checkpointing of every decoder layer,
no offloading: TRL gradient_checkpointing=True, Unsloth use_gradient_checkpointing=True), each framework's
recommended one as extra rows (Unsloth "unsloth": checkpoints offloaded to CPU RAM; its TRL counterpart,
gradient_checkpointing_kwargs={"offload": True}), and none. Partial checkpointing (TRL): k of the 22 decoder
layers checkpointed (k = 22, 16, 11, 6, 0), through transformers 5.17's own switches: every_n_layers in
gradient_checkpointing_kwargs where some n gives ceil(22 / n) = k (11: n=2, 6: n=4), otherwise (16) the
`gradient_checkpointing` attribute of each decoder layer (a GradientCheckpointingLayer, which checks it in
__call__), left True on the first k layers and set False on the others by a callback at on_train_begin, after
the Trainer enabled checkpointing. tests/test_benchmarks.py counts the recomputed layers for both switches. Also:
TRL's selective checkpointing (gradient_checkpointing_kwargs={"selective": True}: attention output saved, the
rest recomputed) and TRL's activation_offloading, in the extra suite.
The attention backend each run actually used is read from the model's config at run time
(config._attn_implementation; for Unsloth also its own kernel flags).

Timing. The profiler is never on in a timed run (`--profile NAME` makes a separate, untimed run that writes a
torch.profiler table). After WARMUP steps (compilation, autotuning, allocator warm-up), REPEATS timing windows of
WINDOW optimizer steps each; tokens/s is reported as min/median/max over the windows (and over processes with
--process-repeats N, which repeats each run in N fresh processes). Tokens are real (non-padding) tokens.
Peak memory: torch.cuda.max_memory_allocated (and _reserved) over the whole training call.

FLOPs and MFU. Per trained token, with N_lin the decoder's linear weights (22 x 44.04M = 968.9M for TinyLlama),
N_head the LM head (32000 x 2048 = 65.5M), N_lora the adapters (12.6M at r=16), L layers, d the hidden size,
c the mean causal context per token (sum over rows of n(n+1)/2 divided by sum of n: 1024.5 for 2048-token rows),
and f the fraction of decoder layers checkpointed (recomputed once in the backward pass):
  forward                      2 N_lin + 2 N_head + 2 N_lora + 4 L d c        (QK^T and AV: 2 x 2 d c per layer)
  backward, activation grads   2 N_lin + 2 N_head + 2 N_lora + 8 L d c        (attention backward ~ 2x forward)
  backward, weight grads       2 N_lora only: the frozen base has no weight gradients (full fine-tuning: + 2 N)
  recomputation                f x (2 N_lin + 2 N_lora + 4 L d c)             (checkpointed layers' forward again)
model FLOPs = forward + backward (the work the step needs: 4 N + 6 N_lora + 12 L d c, ~ 4.78 GFLOP/token at 2048);
hardware FLOPs = model FLOPs + recomputation (~ 6.9 GFLOP/token with full checkpointing).
MFU = tokens/s x model FLOPs / peak, HFU = tokens/s x hardware FLOPs / peak, peak = the card's dense bf16 peak
(H100/H200 SXM: 989 TFLOP/s). Useful FLOPs only: padding, attention over masked-out positions (SDPA over a packed
row) and 4-bit dequantization are not counted; the 4-bit base's matmuls count as bf16 matmuls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]

MAX_LEN, BATCH, ROWS = 2048, 4, 400
WARMUP, WINDOW, REPEATS = 3, 3, 3      # steps: warm-up excluded, then REPEATS windows of WINDOW steps
LAYERS = 22                            # TinyLlama's decoder layers; partial checkpointing counts k of these
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
FAIR_OUT = ROOT / "benchmarks" / "results" / "sft_speed_fair.json"

# Dense bf16 peak of a card (TFLOP/s, no sparsity), matched on torch.cuda.get_device_name(); T4 has no bf16: fp16.
PEAK_TFLOPS = [("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("A100", 312.0), ("L40S", 362.0),
               ("L4", 121.0), ("A10G", 70.0), ("T4", 65.0)]

# A run: framework, base precision, row shape, packing, attention, Liger, checkpointing, compile, offloading.
# ckpt: TRL: number of the 22 decoder layers checkpointed (22 = all, 0 = off); Unsloth: "true" (plain, every
# layer), "unsloth" (its recommended offloaded checkpointing) or "none".
# ckpt_offload: the checkpointed layers' saved inputs in pinned host memory (transformers'
# gradient_checkpointing_kwargs={"offload": True}: the counterpart of Unsloth's "unsloth" mode); sac: TRL's selective
# activation checkpointing (saves attention's output, recomputes the rest); offload: TRL's activation_offloading.
BASE = dict(framework="trl", base="bf16", rows="fixed", packing=False, attn="sdpa", liger=False, ckpt=22,
            ckpt_offload=False, sac=False, compile=False, offload=False)


def V(**kw) -> dict:
    return {**BASE, **kw}


VARIANTS: dict[str, dict] = {
    # --- the fair grid: fixed 2048-token rows ---
    "trl-fixed-sdpa-ckpt": V(),
    "trl-fixed-sdpa-liger-ckpt": V(liger=True),
    "trl-fixed-sdpa-flce-ckpt": V(liger="flce"),            # Liger's fused linear cross-entropy alone
    "trl-fixed-flex-liger-ckpt": V(attn="flex_attention", liger=True),
    "trl-fixed-sdpa-liger-ckpt-compile": V(liger=True, compile=True),
    "trl-fixed-sdpa-liger-ckpt16": V(liger=True, ckpt=16),
    "trl-fixed-sdpa-liger-ckpt11": V(liger=True, ckpt=11),
    "trl-fixed-sdpa-liger-ckpt6": V(liger=True, ckpt=6),
    "trl-fixed-sdpa-liger-nockpt": V(liger=True, ckpt=0),
    "trl-fixed-sdpa-liger-ckpt-offload": V(liger=True, ckpt_offload=True),   # = Unsloth's recommended mode
    "trl-fixed-sdpa-liger-ckpt-sac": V(liger=True, sac=True),
    "trl-fixed-sdpa-liger-actoffload": V(liger=True, ckpt=0, offload=True),
    "trl-4bit-fixed-sdpa-liger-ckpt": V(base="4bit", liger=True),
    "trl-4bit-fixed-sdpa-liger-nockpt": V(base="4bit", liger=True, ckpt=0),
    "unsloth-fixed-ckpt": V(framework="unsloth", ckpt="true"),
    "unsloth-fixed-ckpt-unsloth": V(framework="unsloth", ckpt="unsloth"),
    "unsloth-fixed-nockpt": V(framework="unsloth", ckpt="none"),
    "unsloth-4bit-fixed-ckpt": V(framework="unsloth", base="4bit", ckpt="true"),
    "unsloth-4bit-fixed-ckpt-unsloth": V(framework="unsloth", base="4bit", ckpt="unsloth"),
    # --- variable rows, packed, both frameworks, both precisions ---
    "trl-packed-flex-liger-ckpt": V(rows="variable", packing=True, attn="flex_attention", liger=True),  # 01's recipe
    "trl-4bit-packed-flex-liger-ckpt": V(base="4bit", rows="variable", packing=True, attn="flex_attention",
                                         liger=True),
    "unsloth-packed-ckpt": V(framework="unsloth", rows="variable", packing=True, ckpt="true"),
    "unsloth-packed-ckpt-unsloth": V(framework="unsloth", rows="variable", packing=True, ckpt="unsloth"),
    "unsloth-4bit-packed-ckpt": V(framework="unsloth", base="4bit", rows="variable", packing=True, ckpt="true"),
    # --- CPU logic check only (no Liger on a CPU) ---
    "trl-fixed-sdpa-ckpt16": V(ckpt=16),
    "trl-fixed-sdpa-ckpt11": V(ckpt=11),
    "trl-fixed-sdpa-nockpt": V(ckpt=0),
    "trl-fixed-sdpa-ckpt-offload": V(ckpt_offload=True),
    "trl-fixed-sdpa-ckpt-sac": V(sac=True),
    # --- the earlier table's variants (variable rows; kept so its numbers can be regenerated) ---
    "trl-default": V(rows="variable"),
    "trl-packed": V(rows="variable", packing=True),
    "trl-packed-flex": V(rows="variable", packing=True, attn="flex_attention"),
    "trl-packed-liger": V(rows="variable", packing=True, liger=True),
    "trl-packed-flex-liger": V(rows="variable", packing=True, attn="flex_attention", liger=True),
    "trl-packed-flex-liger-nockpt": V(rows="variable", packing=True, attn="flex_attention", liger=True, ckpt=0),
    "trl-qlora-packed-flex-liger": V(base="4bit", rows="variable", packing=True, attn="flex_attention", liger=True),
    "unsloth-lora": V(framework="unsloth", rows="variable", ckpt="unsloth"),
    "unsloth-qlora": V(framework="unsloth", base="4bit", rows="variable", ckpt="unsloth"),
    "unsloth-lora-packed": V(framework="unsloth", rows="variable", packing=True, ckpt="unsloth"),
}

# The fair suite, in two halves that each fit one 10-minute device call (results merge by run name):
FAIR_TRL = ["trl-fixed-sdpa-liger-ckpt", "trl-fixed-sdpa-liger-ckpt16", "trl-fixed-sdpa-liger-ckpt11",
            "trl-fixed-sdpa-liger-ckpt6", "trl-fixed-sdpa-liger-nockpt",        # the frontier: k of 22 layers
            "trl-fixed-sdpa-liger-ckpt-offload", "trl-4bit-fixed-sdpa-liger-ckpt", "trl-packed-flex-liger-ckpt",
            "trl-4bit-packed-flex-liger-ckpt"]
FAIR_UNSLOTH = ["unsloth-fixed-ckpt", "unsloth-fixed-ckpt-unsloth", "unsloth-4bit-fixed-ckpt", "unsloth-packed-ckpt",
                "unsloth-4bit-packed-ckpt"]
SUITES = {
    "fair": FAIR_TRL + FAIR_UNSLOTH,
    "fair-trl": FAIR_TRL,
    "fair-unsloth": FAIR_UNSLOTH,
    # one more question each: Liger or not, FLCE alone, SDPA vs flex on full rows, torch.compile, activation
    # offloading, 4-bit without checkpointing, Unsloth without checkpointing and its recommended mode elsewhere
    "extra": ["trl-fixed-sdpa-ckpt", "trl-fixed-sdpa-flce-ckpt", "trl-fixed-flex-liger-ckpt",
              "trl-fixed-sdpa-liger-ckpt-compile", "trl-fixed-sdpa-liger-ckpt-sac", "trl-fixed-sdpa-liger-actoffload",
              "trl-4bit-fixed-sdpa-liger-nockpt",
              "unsloth-fixed-nockpt", "unsloth-4bit-fixed-ckpt-unsloth", "unsloth-packed-ckpt-unsloth"],
    "quick": ["trl-fixed-sdpa-liger-ckpt", "trl-fixed-sdpa-liger-ckpt11", "trl-fixed-sdpa-liger-nockpt",
              "trl-packed-flex-liger-ckpt", "unsloth-fixed-ckpt", "unsloth-fixed-ckpt-unsloth"],
    # what runs on a CPU: no Triton (Liger), no flex backward, no bitsandbytes 4-bit training, no Unsloth kernels
    "cpu": ["trl-fixed-sdpa-ckpt", "trl-fixed-sdpa-ckpt16", "trl-fixed-sdpa-ckpt11", "trl-fixed-sdpa-nockpt",
            "trl-fixed-sdpa-ckpt-offload", "trl-fixed-sdpa-ckpt-sac"],
    "legacy": ["trl-default", "trl-packed", "trl-packed-flex", "trl-packed-liger", "trl-packed-flex-liger",
               "trl-packed-flex-liger-nockpt", "trl-qlora-packed-flex-liger", "unsloth-lora", "unsloth-qlora",
               "unsloth-lora-packed"],
}


# ---------------------------------------------------------------------------------------------------------------
# Pure logic (tested in tests/test_benchmarks.py)

def stats(values: list[float]) -> dict:
    """min / median / max / n of repeated measurements (rounded to 1 decimal for tokens/s scale values)."""
    vals = [float(v) for v in values]
    if not vals:
        return {"min": None, "median": None, "max": None, "n": 0}
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


def mean_context(lengths: list[int], max_len: int = MAX_LEN) -> float:
    """Mean causal attention context per token: each token attends to itself and the earlier tokens of its row."""
    ls = [min(n, max_len) for n in lengths]
    return sum(n * (n + 1) / 2 for n in ls) / sum(ls)


def param_counts(cfg: dict, lora_r: int = 16, targets=TARGETS) -> dict:
    """Linear-weight counts of a Llama/Qwen2-style decoder from its config (dict of config.json's keys)."""
    h, inter, n_layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    head_dim = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * head_dim, cfg["num_key_value_heads"] * head_dim
    shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
              "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    per_layer = sum(i * o for i, o in shapes.values())
    lora = sum(lora_r * (i + o) for name, (i, o) in shapes.items() if name in targets) if lora_r else 0
    return {"n_lin": per_layer * n_layers, "n_head": cfg["vocab_size"] * h, "n_lora": lora * n_layers,
            "layers": n_layers, "hidden": h, "attn_width": q}


def flops_per_token(counts: dict, context: float, ckpt_fraction: float, full_finetune: bool = False,
                    recompute_attention: bool = True) -> dict:
    """Model and hardware FLOPs per trained token (see the module docstring for the terms)."""
    n_lin, n_head, n_lora = counts["n_lin"], counts["n_head"], counts["n_lora"]
    attn_fwd = 4 * counts["layers"] * counts["attn_width"] * context
    forward = 2 * (n_lin + n_head + n_lora) + attn_fwd
    backward = 2 * (n_lin + n_head + n_lora) + 2 * attn_fwd + 2 * n_lora
    if full_finetune:
        backward += 2 * (n_lin + n_head)
    recompute = ckpt_fraction * (2 * (n_lin + n_lora) + (attn_fwd if recompute_attention else 0))
    return {"forward": forward, "backward": backward, "recompute": recompute, "model": forward + backward,
            "hardware": forward + backward + recompute}


def checkpoint_kwargs(spec: dict, n_layers: int = LAYERS) -> tuple[dict, int | None]:
    """TRL/transformers checkpointing options for a TRL run, and k when the per-layer attribute must do it.

    k of LAYERS layers (scaled to the model's n_layers) via transformers' every_n_layers when some n gives
    ceil(n_layers / n) == k (22 -> n=1, 11 -> n=2, 6 -> n=4); otherwise (16) the first k layers keep the
    `gradient_checkpointing` flag that gradient_checkpointing_enable() set and the others are switched off."""
    kw: dict = {}
    partial_k = None
    k = spec["ckpt"]
    if k and k < LAYERS:
        k = max(1, round(k * n_layers / LAYERS))
        every = next((n for n in range(1, n_layers + 1) if -(-n_layers // n) == k), None)
        if every is None:
            partial_k = k
        elif every > 1:
            kw["every_n_layers"] = every
    if spec.get("ckpt_offload"):
        kw["offload"] = True
    if spec.get("sac"):
        kw["selective"] = True
    return kw, partial_k


def checkpoint_method(spec: dict, n_layers: int = LAYERS) -> str:
    if spec["framework"] == "unsloth":
        return {"true": "unsloth use_gradient_checkpointing=True", "unsloth": 'unsloth use_gradient_checkpointing='
                '"unsloth" (offloaded to CPU)', "none": "none"}[spec["ckpt"]]
    if not spec["ckpt"]:
        return "none" + (" (activation_offloading=True)" if spec["offload"] else "")
    kw, partial_k = checkpoint_kwargs(spec, n_layers)
    how = f"gradient_checkpointing=True, gradient_checkpointing_kwargs={kw}" if kw else "gradient_checkpointing=True"
    if partial_k is not None:
        how += f"; GradientCheckpointingLayer.gradient_checkpointing=False on layers {partial_k}..{n_layers - 1}"
    return how


def peak_tflops(device_name: str) -> float | None:
    for key, tf in PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return tf
    return None


def utilization(tokens_per_s: float, flops: dict, peak: float | None) -> dict:
    if not peak or not tokens_per_s:
        return {"mfu": None, "hfu": None, "model_tflops": None}
    return {"model_tflops": round(tokens_per_s * flops["model"] / 1e12, 1),
            "mfu": round(tokens_per_s * flops["model"] / (peak * 1e12), 4),
            "hfu": round(tokens_per_s * flops["hardware"] / (peak * 1e12), 4)}


def window_rates(marks: dict[int, tuple[float, int]], warmup: int, window: int, repeats: int) -> list[float]:
    """tokens/s of each timing window: marks maps optimizer step -> (time at its end, tokens seen so far)."""
    rates = []
    for i in range(repeats):
        a, b = warmup + i * window, warmup + (i + 1) * window
        if a in marks and b in marks and marks[b][0] > marks[a][0]:
            rates.append((marks[b][1] - marks[a][1]) / (marks[b][0] - marks[a][0]))
    return rates


def combine(runs: list[dict]) -> dict:
    """One result from the same variant run in several processes: windows pooled, memory as the worst run."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    out = dict(ok[0])
    rates = [x for r in ok for x in r["window_tokens_per_s"]]
    out["window_tokens_per_s"] = rates
    out["tokens_per_s"] = {k: (round(v) if isinstance(v, float) else v) for k, v in stats(rates).items()}
    for key in ("peak_allocated_gib", "peak_reserved_gib"):
        vals = [r[key] for r in ok if r.get(key) is not None]
        out[key] = max(vals) if vals else None
    out["processes"] = len(ok)
    if len(ok) < len(runs):
        out["failed_processes"] = [r.get("error", "")[-300:] for r in runs if "error" in r]
    peak = out.get("peak_tflops")
    out.update(utilization(out["tokens_per_s"]["median"], out["flops_per_token"], peak))
    return out


def merge(record: dict, result: dict) -> dict:
    """Put one run's result into the results record under its name (a newer run of a name replaces the older)."""
    record.setdefault("results", {})[result["name"]] = result
    return record


def estimate_seconds(spec: dict, steps: int) -> float:
    """Rough H200 wall time of one run, for --plan. Calibrated on the H200 wall times of 2026-11-29 (fair-trl's
    9 runs took 420 s, fair-unsloth's 5 took 295 s): besides their steps, TRL runs spend ~27 s and Unsloth runs
    ~50 s on interpreter, imports, Unsloth's patching and compiling, model load and trainer set-up; the first
    flex-attention run on a fresh machine compiles its kernels (~80 s more, cached for later runs:
    `plan_seconds` adds it once)."""
    unsloth = spec["framework"] == "unsloth"
    t = 50.0 if unsloth else 27.0
    if spec["base"] == "4bit":
        t += 4
    if spec["attn"] == "flex_attention":
        t += 8
    if spec["compile"]:
        t += 45
    rate = 20000.0
    if unsloth:
        rate = 30000.0
    elif spec["ckpt"] == 0:
        rate = 38000.0
    if spec["offload"]:
        rate = 14000.0
    if spec["base"] == "4bit":
        rate *= 0.8
    return t + steps * BATCH * MAX_LEN / rate


def plan_seconds(names: list[str], steps: int, process_repeats: int = 1, cold_flex: float = 85.0) -> float:
    total = sum(estimate_seconds(VARIANTS[n], steps) for n in names) * process_repeats
    if any(VARIANTS[n]["attn"] == "flex_attention" for n in names):
        total += cold_flex
    return total


# ---------------------------------------------------------------------------------------------------------------
# One run, in its own process

def make_rows(small: bool, fixed: bool, n: int = ROWS, max_len: int = MAX_LEN) -> list[list[int]]:
    """n rows of random token ids: 200-1800 tokens each (variable), or exactly max_len each (fixed)."""
    import torch

    g = torch.Generator().manual_seed(0)
    low, high = (20, 180) if small else (200, 1800)
    if fixed:
        low = high = max_len
    lengths = torch.randint(low, high + 1, (n,), generator=g).tolist()
    return [torch.randint(3, 2048, (k,), generator=g).tolist() for k in lengths]


def checkpointing_layers(model) -> list:
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def run_one(name: str, model_dir: str, small: bool, profile_dir: str | None = None) -> dict:
    spec = dict(VARIANTS[name])
    unsloth = spec["framework"] == "unsloth"
    if unsloth:
        import unsloth  # noqa: F401  (must be imported before transformers, to patch it)
        from unsloth import FastLanguageModel
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    qlora = spec["base"] == "4bit"
    max_len, batch = (128, 2) if small else (MAX_LEN, BATCH)
    warmup, window, repeats = (1, 1, 2) if small else (WARMUP, WINDOW, REPEATS)
    if profile_dir:
        repeats = 1
    steps = warmup + window * repeats
    rows = make_rows(small, spec["rows"] == "fixed", n=ROWS if spec["rows"] == "variable" else steps * batch + 8,
                     max_len=max_len)
    data = Dataset.from_dict({"input_ids": rows})
    dtype = torch.bfloat16 if cuda else torch.float32
    sft_kwargs: dict = {}
    if unsloth:
        model, tokenizer = FastLanguageModel.from_pretrained(model_dir, max_seq_length=max_len,
                                                             dtype=dtype if cuda else None, load_in_4bit=qlora)
        ug = {"true": True, "unsloth": "unsloth", "none": False}[spec["ckpt"]]
        model = FastLanguageModel.get_peft_model(model, r=16, lora_alpha=32, lora_dropout=0, target_modules=TARGETS,
                                                 use_gradient_checkpointing=ug, random_state=0)
        peft_config = None
        sft_kwargs["gradient_checkpointing"] = False  # Unsloth set its checkpointing up itself (above)
    else:
        from arch_model import synthetic_tokenizer

        tokenizer = synthetic_tokenizer("zephyr")  # AutoTokenizer would rebuild it as the model type's class
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16) if qlora else None
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation=spec["attn"],
                                                     quantization_config=quant,
                                                     device_map={"": "cuda" if cuda else "cpu"})
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
        sft_kwargs["gradient_checkpointing"] = spec["ckpt"] > 0
        gc_kwargs, partial_k = checkpoint_kwargs(spec, model.config.num_hidden_layers)
        if gc_kwargs:
            sft_kwargs["gradient_checkpointing_kwargs"] = gc_kwargs
        if spec["liger"]:
            sft_kwargs["use_liger_kernel"] = True
        if spec["liger"] == "flce":
            sft_kwargs["liger_kernel_config"] = {"rope": False, "swiglu": False, "rms_norm": False,
                                                 "cross_entropy": False, "fused_linear_cross_entropy": True}
        if spec["compile"]:
            sft_kwargs["torch_compile"] = True
        if spec["offload"]:
            sft_kwargs["activation_offloading"] = True
    n_layers = model.config.num_hidden_layers
    if unsloth:
        partial_k = None
    marks: dict[int, tuple[float, int]] = {}
    seen: dict = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kw):
            layers = checkpointing_layers(model)
            if partial_k is not None:  # k not of the form ceil(L / n): the layers' own switch, on the first k
                for i, layer in enumerate(layers):
                    if i >= partial_k:
                        layer.gradient_checkpointing = False
            seen["checkpointed_layers"] = sum(bool(getattr(m, "gradient_checkpointing", False)) for m in layers)
            seen["decoder_layers"] = len(layers)
            seen["attention"] = getattr(model.config, "_attn_implementation", None)
            seen["gradient_checkpointing_kwargs"] = {k: v for k, v in (args.gradient_checkpointing_kwargs or {}).items()
                                                     if isinstance(v, (bool, int, float, str))}
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()

        def on_step_end(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            marks[state.global_step] = (time.perf_counter(), int(state.num_input_tokens_seen))
            if profile_dir and state.global_step == warmup:
                prof.start()
            if profile_dir and state.global_step > warmup:
                prof.step()

    if profile_dir:
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                  torch.profiler.ProfilerActivity.CUDA],
                                      schedule=torch.profiler.schedule(wait=0, warmup=1, active=2, repeat=1))
    config = SFTConfig(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=batch,
                       gradient_accumulation_steps=1, learning_rate=2e-4, max_length=max_len, bf16=cuda,
                       packing=spec["packing"], logging_steps=1, save_strategy="no", report_to="none",
                       disable_tqdm=True, seed=0, include_num_input_tokens_seen="non_padding", **sft_kwargs)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[Clock()])
    t_train = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t_train
    if profile_dir:
        prof.stop()
        table = prof.key_averages().table(sort_by="cuda_time_total" if cuda else "cpu_time_total", row_limit=30)
        Path(profile_dir, f"profile-{name}.txt").write_text(table)
    rates = window_rates(marks, warmup, window, repeats)
    peak_alloc = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    peak_res = torch.cuda.max_memory_reserved() / 2**30 if cuda else None
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    cfg = model.config.to_dict()
    counts = param_counts(cfg)
    lengths = [min(len(r), max_len) for r in rows]
    context = mean_context(lengths, max_len)
    if unsloth:
        frac = 0.0 if spec["ckpt"] == "none" else 1.0  # both of Unsloth's modes recompute every layer
    else:
        frac = seen.get("checkpointed_layers", 0) / max(1, seen.get("decoder_layers", n_layers)) \
            if spec["ckpt"] else 0.0
    flops = flops_per_token(counts, context, frac, recompute_attention=not spec["sac"])
    device = torch.cuda.get_device_name(0) if cuda else "cpu (logic check only)"
    peak = peak_tflops(device) if cuda else None
    tps = {k: (round(v) if isinstance(v, float) else v) for k, v in stats(rates).items()}
    unsloth_kernels = {}
    if unsloth:
        try:
            import importlib.util

            import unsloth.models._utils as uu

            unsloth_kernels = {k: bool(v) for k, v in vars(uu).items() if k.startswith("HAS_") and
                               isinstance(v, bool)}
            unsloth_kernels.update({f"{m}_installed": importlib.util.find_spec(m) is not None
                                    for m in ("xformers", "flash_attn", "cut_cross_entropy")})
        except Exception as err:  # noqa: BLE001
            unsloth_kernels = {"error": repr(err)[:200]}
    result = {
        "name": name, "settings": spec, "framework": spec["framework"], "base": "4-bit NF4" if qlora else "bf16",
        "rows": spec["rows"], "packing": spec["packing"],
        "attention": seen.get("attention"), "attention_requested": None if unsloth else spec["attn"],
        "unsloth_kernels": unsloth_kernels or None,
        "checkpointing": {"policy": str(spec["ckpt"]) if unsloth else ("none" if not spec["ckpt"] else
                          "all layers" if spec["ckpt"] >= LAYERS else f"{spec['ckpt']} of {LAYERS} layers"),
                          "checkpointed_layers": seen.get("checkpointed_layers"),
                          "decoder_layers": seen.get("decoder_layers"),
                          "recomputed_fraction": frac,
                          "method": checkpoint_method(spec, n_layers),
                          "offloaded_to_cpu": spec["ckpt"] == "unsloth" or spec["offload"] or spec["ckpt_offload"],
                          "kwargs": seen.get("gradient_checkpointing_kwargs")},
        "window_tokens_per_s": [round(r, 1) for r in rates], "tokens_per_s": tps,
        "s_per_step": round(sum(marks[warmup + (i + 1) * window][0] - marks[warmup + i * window][0]
                                for i in range(len(rates))) / max(1, len(rates) * window), 4) if rates else None,
        "tokens_per_step": round((marks[steps][1] - marks[warmup][1]) / (steps - warmup)),
        "peak_allocated_gib": round(peak_alloc, 3) if cuda else None,
        "peak_reserved_gib": round(peak_res, 3) if cuda else None,
        "peak_rss_gib": None if cuda else round(__import__("resource").getrusage(
            __import__("resource").RUSAGE_SELF).ru_maxrss / 2**20, 3),  # CPU logic check: the process's RAM
        "flops_per_token": {k: round(v) for k, v in flops.items()}, "mean_context": round(context, 1),
        "peak_tflops": peak, **utilization(tps["median"], flops, peak),
        "final_loss": losses[-1] if losses else None, "trainable_params": trainable, "steps": steps,
        "warmup": warmup, "window": window, "train_seconds": round(train_seconds, 2),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                     **({"unsloth": __import__("unsloth").__version__} if unsloth else {}),
                     **({"liger_kernel": _version("liger_kernel")} if spec["liger"] else {}),
                     **({"bitsandbytes": _version("bitsandbytes")} if qlora else {})},
        "gpu": device, "profiled": bool(profile_dir),
    }
    return result


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# The driver

def interpreter(spec: dict, args) -> tuple[str, dict]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if spec["framework"] != "unsloth":
        return sys.executable, env
    py = args.unsloth_python or (str(ROOT / ".venvs/unsloth/bin/python")
                                 if (ROOT / ".venvs/unsloth/bin/python").is_file() else sys.executable)
    site = args.unsloth_site if args.unsloth_site is not None else os.environ.get("COOKBOOK_UNSLOTH_SITE", "")
    if not site and Path("/tmp/cookbook-unsloth-site").is_dir():
        site = "/tmp/cookbook-unsloth-site"
    if site:
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
    return py, env


def launch(name: str, args, profile: bool = False) -> dict:
    spec = VARIANTS[name]
    py, env = interpreter(spec, args)
    cmd = [py, str(Path(__file__).resolve()), "--one", name, "--model-dir", str(Path(args.model_dir).resolve())]
    if args.small:
        cmd.append("--small")
    if profile:
        cmd += ["--profile-dir", args.profile_dir]
    t0 = time.time()
    try:
        # cwd: a scratch folder, where Unsloth writes its unsloth_compiled_cache/ (not the repository)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        proc = subprocess.CompletedProcess(cmd, -9, out, f"timed out after {err.timeout} s")
    if os.environ.get("OUT"):  # one log file for all runs (the device tool brings back only a few files)
        with open(Path(os.environ["OUT"], "sft_speed-runs.log"), "a") as log:
            text = proc.stdout + proc.stderr
            log.write(f"\n===== {name}{' (profile)' if profile else ''}: exit {proc.returncode}\n"
                      + (text[-20000:] if proc.returncode else text[-3000:]))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if lines:
        result = json.loads(lines[-1][7:])
    else:
        tail = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-10:]
        result = {"name": name, "settings": spec, "error": "\n".join(tail)}
    result["wall_seconds"] = round(time.time() - t0, 1)
    return result


def commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=sorted(SUITES), help="a named list of runs (default: fair)")
    ap.add_argument("--quick", action="store_true", help="same as --suite quick")
    ap.add_argument("--variants", help="comma-separated run names (instead of --suite)")
    ap.add_argument("--out", type=Path, help=f"results JSON (default: {FAIR_OUT.relative_to(ROOT)})")
    ap.add_argument("--process-repeats", type=int, default=1, help="repeat each run in this many fresh processes")
    ap.add_argument("--profile", default="", help="runs to profile, comma-separated: each gets its own untimed run")
    ap.add_argument("--profile-dir", default=os.environ.get("OUT", "."))
    ap.add_argument("--model-dir", default=None, help="model folder (default: a random-init TinyLlama-1.1B arch)")
    ap.add_argument("--timeout", type=int, default=240, help="seconds per run")
    ap.add_argument("--unsloth-python", default=None, help="interpreter for Unsloth runs")
    ap.add_argument("--unsloth-site", default=None, help="folder put first on PYTHONPATH for Unsloth runs")
    ap.add_argument("--small", action="store_true", help="logic check: tiny random model, 128-token rows, 3 steps")
    ap.add_argument("--plan", action="store_true", help="print the runs and the estimated H200 time; run nothing")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                    help="merge these results files (e.g. two device calls' halves) into --out and plot; run nothing")
    ap.add_argument("--one", help="(internal) run this variant in this process and print its JSON")
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.model_dir, args.small,
                                             args.profile_dir if "--profile-dir" in sys.argv else None)),
              flush=True)
        return
    if args.merge:
        out = args.out or FAIR_OUT
        record = json.loads(out.read_text()) if out.is_file() else {}
        for f in args.merge:
            other = json.loads(f.read_text())
            for key, value in other.items():
                if key != "results":
                    record.setdefault(key, value)
            for result in other.get("results", {}).values():
                merge(record, result)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        from plot_sft_speed import plot

        print(f"merged {len(args.merge)} files into {out} ({len(record.get('results', {}))} runs); "
              f"plot: {plot(out, out.with_suffix('.png'))}")
        return
    names = args.variants.split(",") if args.variants else SUITES["quick" if args.quick else args.suite or "fair"]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown runs {unknown}; known: {list(VARIANTS)}")
    profiles = [p for p in args.profile.split(",") if p]
    steps = WARMUP + WINDOW * REPEATS
    est = [(n, estimate_seconds(VARIANTS[n], steps) * args.process_repeats) for n in names]
    est += [(f"{p} (profile)", estimate_seconds(VARIANTS[p], WARMUP + WINDOW)) for p in profiles]
    total = plan_seconds(names, steps, args.process_repeats) + sum(s for n, s in est if n.endswith("(profile)"))
    print(f"{len(est)} runs, estimated {total / 60:.1f} min on an H200 (with a cold flex-attention compile; "
          f"{WARMUP} warm-up + {REPEATS} x {WINDOW} timed steps each):", flush=True)
    for n, s in est:
        print(f"  {n:40s} ~{s:4.0f} s", flush=True)
    if args.plan:
        return
    out = args.out or (FAIR_OUT if not args.small else Path(tempfile.gettempdir()) / "sft_speed_small.json")
    if args.model_dir is None:
        from arch_model import arch_model

        args.model_dir = str(arch_model(Path(tempfile.gettempdir()) / ("tinyllama-arch-synth-small" if args.small
                                                                         else "tinyllama-arch-synth-bf16"),
                                        "tinyllama", small=args.small))
    record = json.loads(out.read_text()) if out.is_file() else {}
    counts_ref = param_counts(__import__("arch_model").TINYLLAMA)
    record.update(
        benchmark="LoRA SFT speed, measured fairly: TinyLlama-1.1B architecture (random init), TRL vs Unsloth",
        shape={"max_length": MAX_LEN, "batch": BATCH, "rows": {"fixed": f"every row {MAX_LEN} tokens",
                                                               "variable": "200-1800 tokens, packed"},
               "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "targets": TARGETS},
               "warmup_steps_excluded": WARMUP, "timing_windows": REPEATS, "steps_per_window": WINDOW},
        flops={"formula": __doc__[__doc__.index("FLOPs and MFU."):].strip(),
               "tinyllama_counts": counts_ref,
               "per_token_2048_rows": {"full_ckpt": flops_per_token(counts_ref, mean_context([MAX_LEN]), 1.0),
                                       "no_ckpt": flops_per_token(counts_ref, mean_context([MAX_LEN]), 0.0)}},
        date=time.strftime("%Y-%m-%d"), commit=commit(), small=args.small)
    for name in names:
        runs = [launch(name, args) for _ in range(args.process_repeats)]
        result = combine(runs) if len(runs) > 1 else runs[0]
        merge(record, result)
        brief = {k: result.get(k) for k in ("name", "attention", "tokens_per_s", "peak_allocated_gib", "mfu",
                                             "wall_seconds", "error")}
        print(json.dumps(brief), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        if os.environ.get("OUT"):  # after every run: a device call cut short still brings back what it measured
            Path(os.environ["OUT"], out.name).write_text(json.dumps(record, indent=1))
    for name in profiles:
        result = launch(name, args, profile=True)
        print("profile", name, "->", args.profile_dir, result.get("error", "ok"), flush=True)
    png = out.with_suffix(".png")
    if not args.no_plot:
        from plot_sft_speed import plot

        plot(out, png)
        print(f"wrote {out} and {png}")
    if os.environ.get("OUT"):  # the device tool brings back only what is under $OUT
        import shutil

        for f in (out, png):
            if f.is_file():
                shutil.copy(f, Path(os.environ["OUT"], f.name))


if __name__ == "__main__":
    main()
