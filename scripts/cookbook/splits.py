"""Held-out splits that are really held out: no test prompt or answer occurs in training, verbatim or normalised.

A random `train_test_split` of a dataset with duplicates (most scraped and generated datasets have some) puts
copies of test rows into training, and a test set with a question phrased two ways puts its answer into training
through the other phrasing. Either way the "held-out" score measures memory. `split_held_out` dedupes first,
assigns rows to test by a stable hash of the normalised prompt (the same prompt always lands on the same side,
whatever the row order), and then drops from training every row whose normalised prompt or answer occurs in test.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, whitespace collapsed: 'What is 2+3?' -> 'what is 2 3'."""
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", str(text).lower())).strip()


def _in_test(key: str, share: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_held_out_indices(rows: Sequence, prompt_of: Callable, answer_of: Callable, share: float,
                           seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices (train, test) of `rows`: deduped, test by prompt hash, train rid of test's prompts and answers."""
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    seen, kept = set(), []
    for i, row in enumerate(rows):
        key = (normalise(prompt_of(row)), normalise(answer_of(row)))
        if key not in seen:
            seen.add(key)
            kept.append((i, *key))
    test = [(i, p, a) for i, p, a in kept if _in_test(p, share, seed)]
    test_prompts, test_answers = {p for _, p, _ in test}, {a for _, _, a in test}
    train = [i for i, p, a in kept if p not in test_prompts and a not in test_answers]
    return train, [i for i, _, _ in test]


def split_held_out(rows, prompt_of: Callable, answer_of: Callable, share: float, seed: int = 0):
    """(train, test) of `rows`, deduped and disjoint (exact and normalised) in prompts and answers.

    `rows` is a list (lists come back) or a `datasets.Dataset` (Datasets come back, via `select`);
    `prompt_of(row)` and `answer_of(row)` return the text a test row must not share with training;
    `share` is the test share before training rows are dropped for sharing a prompt or an answer with test."""
    train, test = split_held_out_indices(rows, prompt_of, answer_of, share, seed)
    if hasattr(rows, "select"):
        return rows.select(train), rows.select(test)
    return [rows[i] for i in train], [rows[i] for i in test]


def leaks(train: Sequence, test: Sequence, prompt_of: Callable, answer_of: Callable | None = None) -> list[str]:
    """Test prompts (and answers) that occur in training, exactly or normalised: empty when held out means unseen."""
    seen = {normalise(prompt_of(r)) for r in train}
    if answer_of is not None:
        seen |= {normalise(answer_of(r)) for r in train}
    found = []
    for row in test:
        for text in (prompt_of(row),) + ((answer_of(row),) if answer_of is not None else ()):
            if normalise(text) in seen:
                found.append(text)
    return found
