"""Wall time and peak memory of a block of code: VRAM on a GPU, the process's resident memory on a CPU."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_gib: float = 0.0
    memory: str = ""  # what peak_gib measures

    def __str__(self) -> str:
        return f"{self.seconds:.1f} s, {self.memory} {self.peak_gib:.2f} GiB"

    def save(self, path, **extra) -> None:
        """Write the measurement (plus e.g. steps=...) as JSON, for later notebooks to compare against."""
        import json
        from pathlib import Path

        record = {"seconds": round(self.seconds, 2), "peak_gib": round(self.peak_gib, 3), "memory": self.memory, **extra}
        Path(path).write_text(json.dumps(record, indent=1))


@contextmanager
def measure():
    """`with measure() as m: ...` then `m.seconds`, `m.peak_gib`.

    On CUDA, peak_gib is PyTorch's peak allocated VRAM inside the block; on a CPU, the peak resident set
    size of this process while the block ran (sampled every 20 ms, so it includes the model already loaded).
    """
    import psutil
    import torch

    m = Measurement()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        yield m
        torch.cuda.synchronize()
        m.seconds = time.perf_counter() - t0
        m.peak_gib = torch.cuda.max_memory_allocated() / 2**30
        m.memory = "peak VRAM"
        return
    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        m.peak_gib = max(peak[0], proc.memory_info().rss) / 2**30
        m.memory = "peak RAM"
