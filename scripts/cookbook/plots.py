"""The two plots most notebooks need: training curves from a Trainer's log history, and comparison bars."""

from __future__ import annotations

from pathlib import Path


def plot_training(log_history: list[dict], keys=("loss", "eval_loss"), title: str = "Training", path: Path | None = None):
    """Plot the given logged keys against the step; returns the figure and saves it as PNG when `path` is set."""
    import matplotlib.pyplot as plt

    keys = [keys] if isinstance(keys, str) else list(keys)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plotted = False
    for key in keys:
        points = [(e["step"], e[key]) for e in log_history if key in e and "step" in e]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, label=key)
            plotted = True
    if not plotted:
        raise ValueError(f"none of {keys} is in the log history; logged keys: {sorted({k for e in log_history for k in e})}")
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_comparison(table: dict[str, dict[str, float]], title: str = "", path: Path | None = None):
    """One bar chart per metric: `table` maps a run's label to {metric: value}, e.g. {"LoRA": {"time (s)": 12}}."""
    import matplotlib.pyplot as plt

    labels = list(table)
    metrics = list(dict.fromkeys(m for row in table.values() for m in row))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = [table[label].get(metric, float("nan")) for label in labels]
        bars = ax.bar(labels, values, color=[f"C{i}" for i in range(len(labels))])
        ax.bar_label(bars, fmt="%.3g")
        ax.set_title(metric)
        plt.setp(ax.get_xticklabels(), rotation=25, ha="right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
