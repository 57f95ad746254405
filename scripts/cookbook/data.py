"""The cookbook's datasets: any Hub id or local file, validated for the *kind* of data a notebook needs.

`load_dataset(source, split, smoke=..., kind=...)` reads
- a local file or folder (JSON lines, JSON, CSV or Parquet, through `datasets`' own loaders), in either mode;
- in smoke mode, the fixture in data/ of a Hub dataset the cookbook registers (same columns and splits);
- in full mode, any Hub dataset (the registered ones with their config).
Every row is checked against the columns the kind needs; a malformed row raises FixtureError naming the file,
the row and the field. Nothing is silently dropped. Fixtures are checked strictly (no extra fields).
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
    kind: str | None = None  # the kind of data (KINDS): the columns a notebook needs
    about: str = ""


COMPLETION = {"model": str, "response": str, "overall_score": float, "critique": str}
PREFERENCE_PAIR = {"prompt": str, "prompt_id": str, "chosen": MESSAGES, "rejected": MESSAGES,
                   "messages": MESSAGES, "score_chosen": float, "score_rejected": float}

# The kinds of data the notebooks train on: the columns a notebook needs (other columns may be present).
# A notebook names its kind when it loads data, so your own dataset only has to have these columns.
KINDS: dict[str, dict] = {
    "llama2-text": {"text": str},  # '<s>[INST] question [/INST] answer </s>' rows (guanaco)
    "chat": {"messages": MESSAGES},  # conversations as lists of {role, content}
    "preference-pairs": {"chosen": MESSAGES, "rejected": MESSAGES},  # the same prompt turns, then two answers
    "json-extraction": {"text": str, "schema": str, "output": str},  # text -> JSON following a JSON schema
    "math-word-problems": {"question": str, "answer": str},  # the answer ends with '#### <number>'
    "ranked-completions": {"instruction": str, "completions": [{"response": str, "overall_score": float}]},
    "plain-text": {"text": str},  # raw text for (continued) pretraining
    "cloze": {"prompt": str, "answer": str, "distractors": [str]},
    "image-chat": {"messages": MESSAGES, "images": IMAGES},
}
SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}

# Keyed by Hub id: the Hub datasets the cookbook uses and the fixture that stands in for each in smoke mode.
# Datasets the cookbook made itself (no Hub twin) are keyed "cookbook/<name>" and load their fixture in both
# modes. Your own data needs no entry here: pass its Hub id or its file/folder path.
DATASETS: dict[str, Spec] = {
    "mlabonne/guanaco-llama2-1k": Spec("guanaco-llama2-1k", ("train",), {"text": str}, kind="llama2-text",
                                       about="instruction/answer pairs as Llama-2 '<s>[INST] q [/INST] a </s>' text"),
    "HuggingFaceH4/ultrachat_200k": Spec("ultrachat_200k", ("train_sft", "test_sft", "train_gen", "test_gen"),
                                         {"prompt": str, "prompt_id": str, "messages": MESSAGES}, kind="chat",
                                         about="multi-turn chats"),
    "HuggingFaceH4/ultrafeedback_binarized": Spec(
        "ultrafeedback_binarized", ("train_prefs", "test_prefs", "train_sft", "test_sft", "train_gen", "test_gen"),
        PREFERENCE_PAIR, kind="preference-pairs", about="preference pairs: chosen vs rejected chats, with scores"),
    "mlabonne/orpo-dpo-mix-40k": Spec("orpo-dpo-mix-40k", ("train",),
                                      {"source": str, "chosen": MESSAGES, "rejected": MESSAGES, "prompt": str,
                                       "question": str}, kind="preference-pairs", about="preference pairs for ORPO"),
    "openai/gsm8k": Spec("gsm8k", ("train", "test"), {"question": str, "answer": str}, config="main",
                         kind="math-word-problems", about="word problems; the answer ends with '#### <number>'"),
    "openbmb/UltraFeedback": Spec("ultrafeedback_ranked", ("train",),
                                  {"source": str, "instruction": str, "models": [str], "completions": [COMPLETION],
                                   "correct_answers": [str], "incorrect_answers": [str]}, kind="ranked-completions",
                                  about="K-wise preferences: one instruction, several scored completions"),
    "cookbook/domain_corpus": Spec("domain_corpus", ("train",), {"text": str}, kind="plain-text",
                                   about="new-domain text for continued pretraining"),
    "cookbook/domain_recall": Spec("domain_corpus", ("test",), {"prompt": str, "answer": str, "distractors": [str]},
                                   kind="cloze", about="cloze facts from the domain corpus, with wrong alternatives"),
    "cookbook/json_extraction": Spec("json_extraction", ("train", "test"), {"text": str, "schema": str, "output": str},
                                     kind="json-extraction", about="text -> JSON object following a JSON schema"),
    "HuggingFaceH4/llava-instruct-mix-vsft": Spec("shapes_vqa", ("train", "test"), {"messages": MESSAGES, "images": IMAGES},
                                                  kind="image-chat", about="image + text instructions"),
}


def load_dataset(source: str, split: str, *, smoke: bool, kind: str | None = None, config: str | None = None):
    """Load `split` of `source`, checking that every row has the columns of `kind` (see KINDS).

    `source` is a local file or folder (any mode), a Hub id the cookbook registers (its fixture in smoke mode),
    or any Hub id (full mode; `config` names its configuration if it has several). A single file is the split
    "train"; a folder holds one file per split, named after it (`train.jsonl`, `test_prefs.parquet`, ...).
    `kind` defaults to the registered dataset's kind."""
    spec = DATASETS.get(source)
    kind = kind or (spec.kind if spec else None)
    if kind is not None and kind not in KINDS:
        raise KeyError(f"unknown kind {kind!r}; the kinds are {sorted(KINDS)}")
    path = Path(source).expanduser()
    if spec is None and path.exists():
        return _from_files(path, split, kind)
    if spec is not None and (smoke or source.startswith("cookbook/")):
        if split not in spec.splits:
            raise KeyError(f"{source} has splits {spec.splits}, not {split!r}")
        return _from_fixture(spec, split)
    if spec is None and smoke:
        raise KeyError(f"unknown dataset {source!r}: no such file or folder, and smoke mode reads no Hub dataset "
                       f"except the cookbook's fixtures: {sorted(DATASETS)}")
    if spec is not None and split not in spec.splits:
        raise KeyError(f"{source} has splits {spec.splits} on the Hub, not {split!r}")
    import datasets

    ds = datasets.load_dataset(source, config or (spec.config if spec else None), split=split)
    if kind:
        check_rows(ds, KINDS[kind], f"{source} [{split}]", limit=2000)
    return ds


def _from_files(path: Path, split: str, kind: str | None):
    """A local file (the split "train") or a folder with one file per split, through datasets' own loaders."""
    import datasets

    if path.is_file():
        if split != "train":
            raise KeyError(f"{path} is a single file, so its only split is 'train', not {split!r}: give a folder "
                           f"with one file per split (e.g. train.jsonl and {split}.jsonl) instead")
        file = path
    else:
        found = [p for p in sorted(path.iterdir()) if p.stem == split and p.suffix in SUFFIXES]
        if not found:
            have = sorted(p.name for p in path.iterdir() if p.suffix in SUFFIXES)
            raise KeyError(f"{path}: no file for the split {split!r} ({split}.jsonl/.json/.csv/.parquet); found {have}")
        file = found[0]
    if file.suffix not in SUFFIXES:
        raise FixtureError(f"{file}: unsupported file type; use one of {sorted(SUFFIXES)}")
    ds = datasets.load_dataset(SUFFIXES[file.suffix], data_files={split: str(file)}, split=split)
    if kind:
        check_rows(ds, KINDS[kind], str(file))
    return ds


def check_rows(rows, columns: dict, where: str, limit: int | None = None) -> None:
    """Raise FixtureError for the first row (1-based) that lacks a needed column or has a value of the wrong type."""
    names = getattr(rows, "column_names", None)
    if names is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise FixtureError(f"{where}: lacks the columns {missing} this notebook needs; it has {names}")
    for number, row in enumerate(rows, start=1):
        if limit and number > limit:
            break
        for column, kind in columns.items():
            if row.get(column) is None:  # `datasets` fills a column a row lacks with None
                raise FixtureError(f"{where}: row {number}, field '{column}': missing")
            problem = _problem(row[column], kind, None)
            if problem:
                raise FixtureError(f"{where}: row {number}, field '{column}': {problem}")


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
            if not isinstance(msg, dict) or not {"role", "content"} <= set(msg):
                return f"message {i}: expected {{role, content}}, got {msg!r:.80}"
            if msg["role"] not in ROLES:
                return f"message {i}: role {msg['role']!r} is not one of {sorted(ROLES)}"
            content = msg["content"]
            if not isinstance(content, str) and not (
                    isinstance(content, list) and all(isinstance(p, dict) and p.get("type") in {"text", "image"} for p in content)):
                return f"message {i}: content must be a string or a list of typed parts"
        return None
    if kind is IMAGES and folder is None:  # a loaded dataset: images already decoded by `datasets`
        return None if isinstance(value, list) and value else f"expected a non-empty list of images, got {got}"
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
