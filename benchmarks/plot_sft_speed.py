#!/usr/bin/env python3
"""Plot benchmarks/results/sft_speed_fair.json: tokens/s (median, error bars min-max over the timing windows)
against peak allocated VRAM, one point per run; TRL's partial-checkpointing runs joined as the frontier.

    python benchmarks/plot_sft_speed.py [results.json] [out.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "benchmarks" / "results" / "sft_speed_fair.json"


def points(record: dict) -> list[dict]:
    """One plottable point per successful run, with the keys the plot needs."""
    out = []
    for name, r in record.get("results", {}).items():
        tps = r.get("tokens_per_s")
        mem = r.get("peak_allocated_gib")
        if mem is None:
            mem = r.get("peak_rss_gib")  # a CPU logic check: the process's peak RAM
        if "error" in r or not isinstance(tps, dict) or tps.get("median") is None or mem is None:
            continue
        s = r.get("settings", {})
        out.append({"name": name, "framework": r.get("framework", s.get("framework")), "base": s.get("base"),
                    "rows": s.get("rows"), "ckpt": s.get("ckpt"), "liger": s.get("liger"),
                    "attn": s.get("attn"), "compile": s.get("compile"), "offload": s.get("offload"),
                    "ckpt_offload": s.get("ckpt_offload"), "sac": s.get("sac"),
                    "y": tps["median"], "lo": tps["median"] - tps["min"], "hi": tps["max"] - tps["median"],
                    "x": mem, "mfu": r.get("mfu")})
    return out


def frontier(pts: list[dict]) -> list[dict]:
    """TRL, bf16, fixed rows, SDPA + Liger, plain checkpointing of k of the 22 layers (no compile, offloading or
    selective checkpointing): the frontier's points, by memory."""
    sel = [p for p in pts if p["framework"] == "trl" and p["base"] == "bf16" and p["rows"] == "fixed"
           and p["liger"] is True and p["attn"] == "sdpa" and not p["compile"] and not p["offload"]
           and not p["ckpt_offload"] and not p["sac"] and isinstance(p["ckpt"], int)]
    return sorted(sel, key=lambda p: p["x"])


def plot(src: Path = DEFAULT, png: Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = json.loads(Path(src).read_text())
    png = Path(png or Path(src).with_suffix(".png"))
    pts = points(record)
    fig, ax = plt.subplots(figsize=(10, 6.5))
    colors = {"trl": "tab:blue", "unsloth": "tab:green"}
    for p in pts:
        marker = "o" if p["base"] == "bf16" else "s"
        filled = p["rows"] == "fixed"
        c = colors.get(p["framework"], "gray")
        ax.errorbar(p["x"], p["y"], yerr=[[p["lo"]], [p["hi"]]], fmt=marker, color=c, ecolor=c, capsize=3,
                    markerfacecolor=c if filled else "white", markersize=7)
        label = p["name"].replace("trl-", "").replace("unsloth-", "U:")
        ax.annotate(label, (p["x"], p["y"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    f = frontier(pts)
    if len(f) > 1:
        ax.plot([p["x"] for p in f], [p["y"] for p in f], "-", color="tab:blue", alpha=0.4,
                label="TRL, checkpointing k of 22 layers")
    for fw, c in colors.items():
        ax.plot([], [], "o", color=c, label=fw.upper() if fw == "trl" else "Unsloth")
    ax.plot([], [], "o", color="gray", markerfacecolor="white", label="hollow: variable rows, packed")
    ax.plot([], [], "s", color="gray", label="square: 4-bit NF4 base")
    cpu = all(r.get("peak_allocated_gib") is None for r in record.get("results", {}).values())
    ax.set_xlabel("peak RAM of the process (GiB; CPU logic check)" if cpu else "peak VRAM allocated (GiB)")
    ax.set_ylabel("tokens/s (median; bars: min-max over timing windows)")
    gpu = next((r.get("gpu") for r in record.get("results", {}).values() if r.get("gpu")), "")
    ax.set_title(f"LoRA SFT, TinyLlama-1.1B arch, batch 4 x 2048, r=16 all linear — {gpu}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


if __name__ == "__main__":
    args = sys.argv[1:]
    print(plot(Path(args[0]) if args else DEFAULT, Path(args[1]) if len(args) > 1 else None))
