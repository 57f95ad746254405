#!/usr/bin/env python3
"""Full-parameter SFT (notebook 02's recipe) as a script: one process per GPU, launched by `accelerate launch`.

    # the baseline: one process, nothing sharded
    python scripts/train_full_sft.py --model TinyLlama/TinyLlama-1.1B-Chat-v1.0 --out outputs/full-sft/plain
    # DeepSpeed ZeRO-3 (or zero2 / zero3_offload / fsdp) on 2 GPUs, same global batch
    accelerate launch --config_file scripts/configs/accelerate/zero3.yaml --num_processes 2 \\
        scripts/train_full_sft.py --model TinyLlama/TinyLlama-1.1B-Chat-v1.0 --batch-size 2 --out outputs/full-sft/zero3

Same data and formatting as notebooks 01 and 02 (guanaco-llama2-1k parsed into prompt/completion messages, 10%
held out, loss on the answers only) and no LoraConfig: every weight trains. `--batch-size` is per process, so keep
batch-size x processes x grad-accum equal when you compare runs. Launch from the repository root (the accelerate
configs name the DeepSpeed JSON files by relative path). Rank 0 writes <out>/result.json: held-out loss before and
after, the loss curve, wall time, tokens/s and every rank's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the cookbook helper, without installing it

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

import cookbook  # noqa: E402
from cookbook.formats import held_out_split, inst_to_prompt_completion  # noqa: E402
from cookbook.run import precision_for, resolve_mode  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hub id or local path of the base model")
    ap.add_argument("--dataset", default="mlabonne/guanaco-llama2-1k")
    ap.add_argument("--out", type=Path, required=True, help="folder for result.json (and --save's model)")
    ap.add_argument("--max-steps", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=4, help="per process")
    ap.add_argument("--grad-accum", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--held-out", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--save", action="store_true", help="also save the trained model to <out>/model")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    smoke = resolve_mode(os.environ.get("COOKBOOK_MODE"), cuda)
    precision = precision_for(torch.cuda.get_device_capability(0) if cuda else None)
    rank = int(os.environ.get("RANK", "0"))

    raw = cookbook.load_dataset(args.dataset, "train", smoke=smoke, kind="llama2-text")
    rows = raw.map(inst_to_prompt_completion, with_indices=True, remove_columns=["text"])
    train_idx, test_idx = held_out_split(rows, args.held_out, args.seed)  # notebook 01's split: deduped, disjoint
    data = {"train": rows.select(train_idx), "test": rows.select(test_idx)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)

    # The config comes first: under ZeRO-3 it tells from_pretrained to load the weights already sharded.
    config = SFTConfig(
        output_dir=str(args.out / "checkpoints"),
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, args.max_steps // 20),
        max_length=args.max_length,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        gradient_checkpointing=args.gradient_checkpointing,
        logging_steps=max(1, args.max_steps // 20),
        eval_strategy="steps",
        eval_steps=args.max_steps,
        eval_on_start=True,             # the held-out loss before training, measured inside train(): DeepSpeed
        save_strategy="no",             # must wrap the model for training before anything else runs through it
        report_to="none",
        seed=args.seed,
        data_seed=args.seed,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=True,
    )
    # float32 master weights; with bf16=True the forward and backward run in bfloat16 (mixed precision): 16 bytes
    # per parameter (weights 4 + gradients 4 + Adam's two moments 8) in this process. DeepSpeed's bf16 mode keeps
    # the ZeRO paper's layout instead: 2 (bf16 weights) + 2 (bf16 gradients) + 12 (fp32 master, m, v) bytes.
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data["train"], eval_dataset=data["test"],
                         processing_class=tokenizer)
    with cookbook.measure() as cost:
        trainer.train()
    evals = [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]
    before, after = evals[0], evals[-1]

    peak = [round(cost.peak_gib, 3)]
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        peak = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(peak, round(cost.peak_gib, 3))
    state = trainer.accelerator.state
    strategy = str(state.distributed_type).split(".")[-1]
    if state.deepspeed_plugin is not None:
        strategy += f" ZeRO-{state.deepspeed_plugin.zero_stage}"
    tokens = int(trainer.state.num_input_tokens_seen)
    result = {
        "strategy": strategy, "processes": state.num_processes,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "model": args.model, "steps": args.max_steps,
        "global_batch": args.batch_size * args.grad_accum * state.num_processes,
        "eval_loss_before": before, "eval_loss_after": after,
        "train_loss": [(e["step"], e["loss"]) for e in trainer.state.log_history if "loss" in e],
        "seconds": round(cost.seconds, 2), "tokens": tokens, "tokens_per_s": round(tokens / cost.seconds, 1),
        "memory": cost.memory, "peak_gib_per_process": peak,
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "trl": __import__("trl").__version__},
    }
    if args.save:
        trainer.save_model(str(args.out / "model"))
    if rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "result.json").write_text(json.dumps(result, indent=1))
        print(f"{strategy} x{state.num_processes}: held-out loss {before:.4f} -> {after:.4f}, "
              f"{cost.seconds:.1f} s, {result['tokens_per_s']:.0f} tokens/s, {cost.memory} per process {peak} GiB")
    return result


if __name__ == "__main__":
    main()
