#!/usr/bin/env python3
"""Peak VRAM and training throughput of notebook 01's full-mode recipe, on an architecture-true model.

The Hub is not reachable from our GPU machines, so the model is TinyLlama-1.1B's architecture (its config's
sizes) with random weights: memory and speed depend on shapes, not on weight values. Same recipe as notebook 01
in full mode: LoRA r=16 on all linear layers, batch 4 x grad-accum 4, max_length 1024, bf16, gradient
checkpointing; once with the base in 4-bit NF4 (QLoRA, what 01 does) and once in bf16 (plain LoRA).

    python benchmarks/sft_footprint.py [--steps 8]     # needs a CUDA GPU; writes benchmarks/results/*.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers
import trl
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM
from trl import SFTConfig, SFTTrainer

import cookbook

# TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json
TINYLLAMA = dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                 num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5,
                 rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
SEQ, BATCH, ACCUM = 1024, 4, 4


def run(model_dir: Path, tokenizer, quantized: bool, steps: int) -> dict:
    kwargs = {"dtype": torch.bfloat16, "device_map": {"": "cuda"}}
    if quantized:
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True,
                                                           bnb_4bit_compute_dtype=torch.bfloat16)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    weights_gib = torch.cuda.memory_allocated() / 2**30  # this process loaded nothing else before
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(3, 32000, (steps * BATCH * ACCUM + BATCH, SEQ), generator=g).tolist()
    data = Dataset.from_dict({"input_ids": rows})
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=BATCH,
                     gradient_accumulation_steps=ACCUM, learning_rate=2e-4, max_length=SEQ, bf16=True,
                     gradient_checkpointing=True, logging_steps=1, save_strategy="no", report_to="none",
                     disable_tqdm=True)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=lora)
    with cookbook.measure() as m:
        trainer.train()
    per_step = [e for e in trainer.state.log_history if "loss" in e]
    tokens = steps * BATCH * ACCUM * SEQ
    result = {"base": "4-bit NF4 (QLoRA)" if quantized else "bf16 (LoRA)", "steps": steps,
              "weights_GiB": round(weights_gib, 2), "peak_VRAM_GiB": round(m.peak_gib, 2),
              "seconds": round(m.seconds, 1), "tokens_per_s": round(tokens / m.seconds),
              "final_loss": per_step[-1]["loss"] if per_step else None}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sft_footprint.json")
    ap.add_argument("--variant", choices=["qlora", "lora"], help="(internal) run one variant in this process")
    ap.add_argument("--model-dir", type=Path, help="(internal)")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU"
    tokenizer = transformers.AutoTokenizer.from_pretrained(cookbook.tiny_model("llama"))
    if args.variant:  # one variant per process, so the peak memory of one cannot leak into the other
        print(json.dumps(run(args.model_dir, tokenizer, args.variant == "qlora", args.steps)))
        return
    model_dir = Path(tempfile.mkdtemp()) / "tinyllama-arch"
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**TINYLLAMA)).to(torch.bfloat16).save_pretrained(model_dir)
    results = []
    for variant in ("qlora", "lora"):
        out = subprocess.run([sys.executable, __file__, "--variant", variant, "--model-dir", str(model_dir),
                              "--steps", str(args.steps)], check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    record = {"benchmark": "notebook 01 full-mode recipe, TinyLlama-1.1B architecture (random init)",
              "gpu": torch.cuda.get_device_name(0), "date": time.strftime("%Y-%m-%d"),
              "shape": {"seq_len": SEQ, "batch": BATCH, "grad_accum": ACCUM, "lora_r": 16, "targets": "all-linear"},
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                           "python": platform.python_version()},
              "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
