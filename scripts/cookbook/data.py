"""The cookbook's datasets: the Hub dataset in full mode, its fixture in data/ (same columns) in smoke mode.

Every fixture row is checked against the dataset's schema; a malformed row raises FixtureError naming the
file, the row and the field. Nothing is silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .run import REPO_ROOT

DATA_DIR = REPO_ROOT / "data"
ROLES = {"system", "user", "assistant"}


class FixtureError(ValueError):
    pass


class _Messages:
    """A chat: a list of {"role", "content"}; content is a string or a list of typed parts (VLM datasets)."""


class _Images:
    """A list of image paths relative to the fixture folder; loaded as images."""


MESSAGES, IMAGES = _Messages(), _Images()


@dataclass(frozen=True)
class Spec:
    fixture: str  # folder under data/
    splits: tuple[str, ...]
    columns: dict = field(hash=False)  # column -> type: str, int, float, MESSAGES, IMAGES, [type], {key: type}
    config: str | None = None  # the Hub dataset's config name, if it has several
    about: str = ""


COMPLETION = {"model": str, "response": str, "overall_score": float, "critique": str}
PREFERENCE_PAIR = {"prompt": str, "prompt_id": str, "chosen": MESSAGES, "rejected": MESSAGES,
                   "messages": MESSAGES, "score_chosen": float, "score_rejected": float}

# Keyed by Hub id. Datasets the cookbook made itself (no Hub twin) are keyed "cookbook/<name>" and load
# their fixture in both modes: point the notebook at your own data with the same columns instead.
DATASETS: dict[str, Spec] = {
    "mlabonne/guanaco-llama2-1k": Spec("guanaco-llama2-1k", ("train",), {"text": str},
                                       about="instruction/answer pairs as Llama-2 '<s>[INST] q [/INST] a </s>' text"),
    "HuggingFaceH4/ultrachat_200k": Spec("ultrachat_200k", ("train_sft", "test_sft", "train_gen", "test_gen"),
                                         {"prompt": str, "prompt_id": str, "messages": MESSAGES},
                                         about="multi-turn chats"),
    "HuggingFaceH4/ultrafeedback_binarized": Spec(
        "ultrafeedback_binarized", ("train_prefs", "test_prefs", "train_sft", "test_sft", "train_gen", "test_gen"),
        PREFERENCE_PAIR, about="preference pairs: chosen vs rejected chats, with scores"),
    "mlabonne/orpo-dpo-mix-40k": Spec("orpo-dpo-mix-40k", ("train",),
                                      {"source": str, "chosen": MESSAGES, "rejected": MESSAGES, "prompt": str,
                                       "question": str}, about="preference pairs for ORPO"),
    "openai/gsm8k": Spec("gsm8k", ("train", "test"), {"question": str, "answer": str}, config="main",
                         about="word problems; the answer ends with '#### <number>'"),
    "openbmb/UltraFeedback": Spec("ultrafeedback_ranked", ("train", "test"),
                                  {"source": str, "instruction": str, "models": [str], "completions": [COMPLETION],
                                   "correct_answers": [str], "incorrect_answers": [str]},
                                  about="K-wise preferences: one instruction, several scored completions"),
    "cookbook/domain_corpus": Spec("domain_corpus", ("train",), {"text": str},
                                   about="new-domain text for continued pretraining"),
    "cookbook/domain_recall": Spec("domain_corpus", ("test",), {"prompt": str, "answer": str, "distractors": [str]},
                                   about="cloze facts from the domain corpus, with wrong alternatives"),
    "cookbook/json_extraction": Spec("json_extraction", ("train", "test"), {"text": str, "schema": str, "output": str},
                                     about="text -> JSON object following a JSON schema"),
    "HuggingFaceH4/llava-instruct-mix-vsft": Spec("shapes_vqa", ("train", "test"), {"messages": MESSAGES, "images": IMAGES},
                                                  about="image + text instructions"),
}


def load_dataset(name: str, split: str, *, smoke: bool):
    """Load `split` of dataset `name` (a key of DATASETS): from the Hub in full mode, the fixture in smoke mode."""
    import datasets

    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; the cookbook knows {sorted(DATASETS)}")
    spec = DATASETS[name]
    if split not in spec.splits:
        raise KeyError(f"{name} has splits {spec.splits}, not {split!r}")
    if smoke or name.startswith("cookbook/"):
        return _from_fixture(spec, split)
    ds = datasets.load_dataset(name, spec.config, split=split)
    missing = [c for c in spec.columns if c not in ds.column_names]
    if missing:
        raise FixtureError(f"{name} [{split}] lacks the columns {missing}; it has {ds.column_names}")
    return ds


def read_fixture(spec: Spec, split: str) -> list[dict]:
    """Read and validate one fixture file; raise FixtureError on the first bad row."""
    path = DATA_DIR / spec.fixture / f"{split}.jsonl"
    if not path.is_file():
        raise FixtureError(f"{path}: missing; run `python scripts/make_smoke_world.py`")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise FixtureError(f"{path}: row {number}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise FixtureError(f"{path}: row {number}: expected a JSON object, got {type(row).__name__}")
        for column, kind in spec.columns.items():
            if column not in row:
                raise FixtureError(f"{path}: row {number}, field '{column}': missing")
            problem = _problem(row[column], kind, path.parent)
            if problem:
                raise FixtureError(f"{path}: row {number}, field '{column}': {problem}")
        extra = sorted(set(row) - set(spec.columns))
        if extra:
            raise FixtureError(f"{path}: row {number}: unexpected fields {extra} (the schema has {list(spec.columns)})")
        rows.append(row)
    if not rows:
        raise FixtureError(f"{path}: no rows")
    return rows


def _from_fixture(spec: Spec, split: str):
    import datasets

    rows = read_fixture(spec, split)
    images = [c for c, kind in spec.columns.items() if kind is IMAGES]
    for row in rows:
        for column in images:
            row[column] = [str(DATA_DIR / spec.fixture / p) for p in row[column]]
    ds = datasets.Dataset.from_list(rows)
    for column in images:
        ds = ds.cast_column(column, datasets.Sequence(datasets.Image()))
    return ds


def _problem(value, kind, folder: Path) -> str | None:
    """Why `value` does not fit `kind`, or None."""
    got = type(value).__name__
    if kind is MESSAGES:
        if not isinstance(value, list) or not value:
            return f"expected a non-empty list of {{role, content}} messages, got {got}"
        for i, msg in enumerate(value):
            if not isinstance(msg, dict) or set(msg) != {"role", "content"}:
                return f"message {i}: expected {{role, content}}, got {msg!r:.80}"
            if msg["role"] not in ROLES:
                return f"message {i}: role {msg['role']!r} is not one of {sorted(ROLES)}"
            content = msg["content"]
            if not isinstance(content, str) and not (
                    isinstance(content, list) and all(isinstance(p, dict) and p.get("type") in {"text", "image"} for p in content)):
                return f"message {i}: content must be a string or a list of typed parts"
        return None
    if kind is IMAGES:
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            return f"expected a list of image paths, got {got}"
        absent = [p for p in value if not (folder / p).is_file()]
        return f"image files not found: {absent}" if absent else None
    if isinstance(kind, list):
        if not isinstance(value, list):
            return f"expected a list, got {got}"
        for i, item in enumerate(value):
            problem = _problem(item, kind[0], folder)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            return f"expected an object with {list(kind)}, got {got}"
        for key, sub in kind.items():
            if key not in value:
                return f"missing key '{key}'"
            problem = _problem(value[key], sub, folder)
            if problem:
                return f"key '{key}': {problem}"
        return None
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    return None if ok else f"expected {kind.__name__}, got {got}"
