#!/usr/bin/env python3
"""LoRA SFT speed and memory: TRL recipes (01) against Unsloth (03), same model, data, shapes and card.

    python benchmarks/sft_speed.py --variants trl-default,trl-packed-flex-liger      # core env (TRL 1.16)
    python benchmarks/sft_speed.py --variants unsloth-lora,unsloth-qlora             # unsloth env (TRL 1.15)

Model: TinyLlama-1.1B's architecture with random weights (the Hub is out of reach of our GPU machines; speed and
memory depend on shapes, not values). Data: rows of 200-1800 random tokens, fixed seed, the same for every
variant. LoRA r=16, alpha 32, dropout 0 (Unsloth's fast path needs 0; TRL gets the same) on all linear layers,
max_length 2048, 4 rows per step, bf16. Throughput counts real (non-padding) tokens, over the steps after the
first WARMUP (compilation, autotuning and allocator warm-up stay out). Each variant runs in its own process, so
one's peak memory cannot leak into another's; results are merged into benchmarks/results/sft_speed.json by name.
`--rows fixed` makes every row exactly max_length tokens (no padding, nothing to pack): the shape of a plain
PyTorch loop over full 2048-token rows; write those results to their own file with `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]

MAX_LEN, BATCH, ROWS, WARMUP = 2048, 4, 600, 5
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# name -> what differs from TRL's defaults (SFTConfig keyword arguments, plus model/loader options)
VARIANTS = {
    "trl-default": dict(),
    "trl-packed": dict(packing=True),
    "trl-packed-flex": dict(packing=True, attn="flex_attention"),
    "trl-packed-liger": dict(packing=True, use_liger_kernel=True),
    "trl-packed-flex-liger": dict(packing=True, attn="flex_attention", use_liger_kernel=True),
    "trl-packed-flex-liger-nockpt": dict(packing=True, attn="flex_attention", use_liger_kernel=True,
                                         gradient_checkpointing=False),
    "trl-packed-flex-liger-offload": dict(packing=True, attn="flex_attention", use_liger_kernel=True,
                                          gradient_checkpointing=False, activation_offloading=True),
    "trl-qlora-packed-flex-liger": dict(packing=True, attn="flex_attention", use_liger_kernel=True, qlora=True),
    "unsloth-lora": dict(unsloth=True),
    "unsloth-qlora": dict(unsloth=True, qlora=True),
    "unsloth-lora-packed": dict(unsloth=True, packing=True),
}


def make_rows(small: bool, fixed: bool = False):
    """ROWS rows of random token ids: 200-1800 tokens each (variable), or exactly MAX_LEN each (fixed)."""
    import torch

    g = torch.Generator().manual_seed(0)
    low, high = (20, 180) if small else (200, 1800)
    if fixed:
        low = high = 200 if small else MAX_LEN
    lengths = torch.randint(low, high + 1, (ROWS,), generator=g).tolist()
    return [torch.randint(3, 2048, (n,), generator=g).tolist() for n in lengths]


def run_variant(name: str, model_dir: str, steps: int, profile_dir: str | None, rows: str = "variable") -> dict:
    spec = dict(VARIANTS[name])
    unsloth = spec.pop("unsloth", False)
    if unsloth:
        import unsloth  # noqa: F401  (must be imported before transformers, to patch it)
        from unsloth import FastLanguageModel
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    import cookbook

    qlora = spec.pop("qlora", False)
    attn = spec.pop("attn", "sdpa")
    cuda = torch.cuda.is_available()  # False only for a logic check on a CPU (`--small`, the tiny smoke model)
    data = Dataset.from_dict({"input_ids": make_rows(small=not cuda, fixed=rows == "fixed")})
    if unsloth:
        model, tokenizer = FastLanguageModel.from_pretrained(model_dir, max_seq_length=MAX_LEN, dtype=torch.bfloat16 if cuda else None,
                                                             load_in_4bit=qlora)
        model = FastLanguageModel.get_peft_model(model, r=16, lora_alpha=32, lora_dropout=0, target_modules=TARGETS,
                                                 use_gradient_checkpointing="unsloth", random_state=0)
        peft_config = None
        spec.setdefault("gradient_checkpointing", False)  # Unsloth checkpoints (and offloads) by itself
    else:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16) if qlora else None
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if cuda else torch.float32,
                                                     attn_implementation=attn, quantization_config=quant,
                                                     device_map={"": "cuda" if cuda else "cpu"})
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")

    marks: dict[int, tuple[float, int]] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            marks[state.global_step] = (time.perf_counter(), int(state.num_input_tokens_seen))
            if profile_dir and state.global_step == WARMUP:
                prof.start()
            if profile_dir and WARMUP < state.global_step <= WARMUP + 3:
                prof.step()

    if profile_dir:
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                  torch.profiler.ProfilerActivity.CUDA],
                                      schedule=torch.profiler.schedule(wait=0, warmup=1, active=2, repeat=1))
    config = SFTConfig(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=BATCH,
                       gradient_accumulation_steps=1, learning_rate=2e-4, max_length=MAX_LEN, bf16=cuda,
                       logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True, seed=0,
                       include_num_input_tokens_seen="non_padding", **spec)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[Clock()])
    with cookbook.measure() as m:
        trainer.train()
    if profile_dir:
        prof.stop()
        table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=25)
        Path(profile_dir, f"profile-{name}.txt").write_text(table)
    (t0, n0), (t1, n1) = marks[WARMUP], marks[steps]
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    return {"name": name, "framework": "unsloth" if unsloth else "trl", "base": "4-bit NF4" if qlora else "bf16",
            "attention": "unsloth" if unsloth else attn, "settings": VARIANTS[name],
            "tokens_per_s": round((n1 - n0) / (t1 - t0)), "s_per_step": round((t1 - t0) / (steps - WARMUP), 4),
            "tokens_per_step": round((n1 - n0) / (steps - WARMUP)), "peak_vram_gib": round(m.peak_gib, 2),
            "final_loss": losses[-1] if losses else None, "rows": rows, "trainable_params": trainable, "steps": steps,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                         **({"unsloth": __import__("unsloth").__version__} if unsloth else {})},
            "gpu": torch.cuda.get_device_name(0) if cuda else "cpu (logic check only)"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sft_speed.json")
    ap.add_argument("--profile", default="", help="variants to profile (torch.profiler, 2 steps), comma-separated")
    ap.add_argument("--profile-dir", default=os.environ.get("OUT", "."))
    ap.add_argument("--model-dir", default=os.path.join(tempfile.gettempdir(), "tinyllama-arch-bf16"))
    ap.add_argument("--timeout", type=int, default=240, help="seconds per variant")
    ap.add_argument("--rows", choices=["variable", "fixed"], default="variable",
                    help="row lengths: variable (200-1800 tokens) or fixed (every row max_length tokens)")
    ap.add_argument("--one", help="(internal) run this variant in this process and print its JSON")
    args = ap.parse_args()
    if args.one:
        prof = args.profile_dir if args.one in args.profile.split(",") else None
        print("RESULT " + json.dumps(run_variant(args.one, args.model_dir, args.steps, prof, args.rows)), flush=True)
        return
    from arch_model import tinyllama_arch

    tinyllama_arch(Path(args.model_dir))
    record = json.loads(args.out.read_text()) if args.out.is_file() else {"results": {}}
    record.update(benchmark="LoRA SFT speed, TinyLlama-1.1B architecture (random init)",
                  shape={"max_length": MAX_LEN, "batch": BATCH, "row_tokens": "200-1800" if args.rows == "variable" else str(MAX_LEN), "lora_r": 16,
                         "targets": "all linear", "warmup_steps_excluded": WARMUP}, date=time.strftime("%Y-%m-%d"))
    for name in args.variants.split(","):
        t0 = time.time()
        cmd = [sys.executable, __file__, "--one", name, "--steps", str(args.steps), "--model-dir", args.model_dir,
               "--profile", args.profile, "--profile-dir", args.profile_dir, "--rows", args.rows]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired as err:
            proc = subprocess.CompletedProcess(cmd, -9, "", f"timed out after {err.timeout} s")
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if lines:
            result = json.loads(lines[-1][7:])
        else:
            tail = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-8:]
            result = {"name": name, "error": "\n".join(tail)}
        result["wall_seconds"] = round(time.time() - t0, 1)
        record["results"][name] = result
        print(json.dumps(result), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
