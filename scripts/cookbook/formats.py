"""Dataset formats shared by several notebooks. Each one is written out in the notebook that teaches it first
(01 for Llama-2 `[INST]` text) and imported from here by later notebooks and scripts."""

from __future__ import annotations

import re

INST_TURN = re.compile(r"\[INST\](.*?)\[/INST\](.*?)(?=\[INST\]|$)", re.S)


def inst_to_prompt_completion(row: dict, idx: int) -> dict:
    """One `<s>[INST] question [/INST] answer </s>` row -> TRL prompt/completion messages (notebook 01, step 2)."""
    body = row["text"].strip().removeprefix("<s>").removesuffix("</s>")
    turns = INST_TURN.findall(body.replace("</s><s>", ""))
    if not turns:
        raise ValueError(f"row {idx}: no [INST] ... [/INST] turn in {row['text'][:80]!r}")
    messages = []
    for user, assistant in turns:
        messages += [{"role": "user", "content": user.strip()}, {"role": "assistant", "content": assistant.strip()}]
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def held_out_split(rows, share: float, seed: int) -> tuple[list[int], list[int]]:
    """Notebook 01's held-out split of prompt/completion rows: (train indices, test indices), deduplicated, test
    chosen by a stable hash of the normalised prompt, training rid of every test prompt and answer (step 2)."""
    from .splits import split_held_out_indices

    return split_held_out_indices(rows, lambda r: r["prompt"][-1]["content"], lambda r: r["completion"][-1]["content"],
                                  share, seed)
