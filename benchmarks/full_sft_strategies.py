#!/usr/bin/env python3
"""Full-parameter SFT of TinyLlama-1.1B's architecture: one GPU vs DeepSpeed ZeRO-2/ZeRO-3/ZeRO-3+offload and
FSDP2 on 2 GPUs, same data, seed and global batch. Per-GPU peak memory, tokens/s, held-out loss.

    python benchmarks/full_sft_strategies.py [--steps 30] [--gpus 2]   # needs >= 2 CUDA GPUs; run from the repo root

Runs scripts/train_full_sft.py (notebook 02's script) once per strategy, each in its own processes, on notebook
01's data (the smoke fixture of guanaco-llama2-1k: the Hub is out of reach of our GPU machines) and writes
benchmarks/results/full_sft_strategies.json.
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

from arch_model import tinyllama_arch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--gpus", type=int, default=2)
    ap.add_argument("--global-batch", type=int, default=16)
    ap.add_argument("--strategies", default="plain,zero2,zero3,fsdp,zero3_offload")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "full_sft_strategies.json")
    args = ap.parse_args()
    import torch

    assert torch.cuda.device_count() >= args.gpus, f"needs {args.gpus} CUDA GPUs"
    work = Path(tempfile.mkdtemp(prefix="full-sft-"))
    model = tinyllama_arch(work / "tinyllama-arch", dtype="float32")
    env = {**os.environ, "COOKBOOK_MODE": "smoke", "PYTHONUNBUFFERED": "1"}
    common = ["--model", str(model), "--max-steps", str(args.steps), "--lr", "2e-5", "--max-length", "1024"]
    results = []
    for strategy in args.strategies.split(","):
        out = work / strategy
        if strategy == "plain":
            cmd = [sys.executable, "scripts/train_full_sft.py", *common, "--batch-size", str(args.global_batch // 2),
                   "--grad-accum", "2", "--out", str(out)]
            run_env = {**env, "CUDA_VISIBLE_DEVICES": "0"}
        else:
            cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                   f"scripts/configs/accelerate/{strategy}.yaml", "--num_processes", str(args.gpus),
                   "scripts/train_full_sft.py", *common, "--batch-size", str(args.global_batch // 2 // args.gpus),
                   "--grad-accum", "2", "--out", str(out)]
            run_env = env
        t0 = time.time()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired as err:
            proc = subprocess.CompletedProcess(cmd, -9, str(err.stdout or ""), f"timed out after {err.timeout} s")
        (work / f"{strategy}.log").write_text(proc.stdout + proc.stderr)
        if os.environ.get("OUT"):
            Path(os.environ["OUT"], f"full_sft_{strategy}.log").write_text((proc.stdout + proc.stderr)[-200000:])
        if proc.returncode == 0 and (out / "result.json").is_file():
            result = json.loads((out / "result.json").read_text())
        else:
            tail = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-6:]
            result = {"error": "\n".join(tail)}
        result["name"] = strategy
        result["wall_seconds_incl_startup"] = round(time.time() - t0, 1)
        results.append(result)
        print(strategy, json.dumps({k: v for k, v in result.items() if k != "train_loss"}), flush=True)
    record = {"benchmark": "full-parameter SFT, TinyLlama-1.1B architecture (random init, float32 master weights, "
                           "bf16 mixed precision), notebook 01's data (smoke fixture)",
              "gpus": [torch.cuda.get_device_name(i) for i in range(args.gpus)], "date": time.strftime("%Y-%m-%d"),
              "steps": args.steps, "global_batch": args.global_batch, "max_length": 1024, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
