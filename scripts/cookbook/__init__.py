"""The cookbook's thin helper: what every notebook needs and no lesson is about.

Run mode and parameters (`start`), the datasets and their smoke fixtures (`load_dataset`), tiny local
models (`tiny_model`), wall time and peak memory (`measure`), plots (`plot_training`, `plot_comparison`),
local servers (`LocalServer`) and Hub credentials (`hub_login`). It never wraps a trainer: the library
calls a lesson is about stay in the notebook.
"""

import logging as _logging

# torchao (pulled in by transformers/peft) logs two deprecation warnings at import; they teach nothing.
_logging.getLogger("torch.utils._pytree").setLevel(_logging.ERROR)

from .data import DATASETS, FixtureError, load_dataset  # noqa: E402
from .hub import hub_login  # noqa: E402
from .measure import Measurement, measure  # noqa: E402
from .plots import plot_comparison, plot_training  # noqa: E402
from .run import REPO_ROOT, Run, start  # noqa: E402
from .server import LocalServer  # noqa: E402
from .tiny import tiny_model  # noqa: E402

__all__ = [
    "DATASETS", "FixtureError", "load_dataset", "hub_login", "Measurement", "measure", "plot_comparison",
    "plot_training", "REPO_ROOT", "Run", "start", "LocalServer", "tiny_model",
]
