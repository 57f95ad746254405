"""Notebook 08's new domain (data/herbal, written by scripts/make_smoke_world.py's `herbal`).

What the Check relies on: the tiny base models cannot know the herbal (no herb name in their pretraining corpus), the
probes ask facts the corpus states but never in the corpus's words, every probe's options are values of the same kind
with one right answer, every option is a word the base models were pretrained on (so recall does not hinge on how the
tiny tokenizer splits a new word), the general text is the base models' own world, and the replay rows are lines of their pretraining corpus.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from cookbook import data
from cookbook.splits import normalise

sys.path.insert(0, str(data.REPO_ROOT / "scripts"))
import make_smoke_world as world  # noqa: E402

HERBAL = data.DATA_DIR / "herbal"


def rows(split: str) -> list[dict]:
    return [json.loads(line) for line in (HERBAL / f"{split}.jsonl").read_text().splitlines()]


CORPUS = (data.DATA_DIR / "pretraining_corpus.txt").read_text()
DOCS, PROBES, GENERAL = rows("train"), rows("probes"), rows("general")
NAMES = sorted({re.match(r"(?:About |The herbal tells of )?([A-Z][a-z]+)", d["text"]).group(1) for d in DOCS})


def test_schemas_and_sizes():
    assert {tuple(sorted(r)) for r in DOCS} == {("text",)} and {tuple(sorted(r)) for r in GENERAL} == {("text",)}
    assert {tuple(sorted(r)) for r in PROBES} == {("answer", "distractors", "prompt")}
    assert len(NAMES) == world.HERBS and len(DOCS) == 10 * world.HERBS
    assert len(PROBES) == world.HERBS * sum(len(p) for _, _, p in world.HERB_FACTS.values())


def test_the_base_models_never_saw_a_herb():
    for name in NAMES:
        assert name.lower() not in CORPUS.lower(), f"{name} occurs in the tiny models' pretraining corpus"
    world_names = json.loads((data.DATA_DIR / "world.json").read_text())
    known = {v for isl in world_names["islands"] + world_names["far_reaches"] for v in (isl["name"], isl["capital"])}
    assert not set(NAMES) & known


def test_probes_ask_in_phrasings_the_corpus_never_uses():
    corpus = " ".join(normalise(d["text"]) for d in DOCS)
    for p in PROBES:
        assert normalise(p["prompt"]) not in corpus, p["prompt"]
        template = re.sub(r"[A-Z][a-z]+", "", p["prompt"]).strip()   # the words around the herb's name
        for phrasing in (ph for _, phrasings, _ in world.HERB_FACTS.values() for ph in phrasings):
            assert normalise(template) not in normalise(phrasing.replace("{h}", "").replace("{v}", ""))


def test_every_probe_has_one_right_answer_that_the_corpus_states():
    herb_of = {p["prompt"]: next(n for n in NAMES if re.search(rf"\b{n}\b", p["prompt"])) for p in PROBES}
    for p in PROBES:
        options = [p["answer"], *p["distractors"]]
        assert len(set(options)) == 4
        docs = [d["text"] for d in DOCS if re.search(rf"\b{herb_of[p['prompt']]}\b", d["text"])]
        assert len(docs) == 10
        stated = sum(bool(re.search(rf"\b{p['answer']}\b", d)) for d in docs)
        assert stated == 10, f"{p['prompt']!r}: the answer {p['answer']!r} is in {stated} of its herb's 10 documents"
        for wrong in p["distractors"]:   # a distractor is never a fact of the same kind about this herb
            assert not all(re.search(rf"\b{wrong}\b", d) for d in docs), (p["prompt"], wrong)


def test_every_option_is_a_word_the_base_models_were_pretrained_on():
    words = set(re.findall(r"[A-Za-z]+", CORPUS))
    for p in PROBES:
        for option in [p["answer"], *p["distractors"]]:
            assert option in words, f"{option!r} is not a word of the pretraining corpus"


@pytest.mark.parametrize("kind", ["sentencepiece", "byte_bpe"])
def test_options_are_tokens_the_base_models_trained(kind):
    """Each option, after a space, tokenizes into tokens that occur in the tokenized pretraining corpus (trained
    embedding and output rows), for both tiny tokenizer families."""
    from transformers import AutoTokenizer

    from cookbook import tiny

    tok = AutoTokenizer.from_pretrained(tiny.tokenizer_path(kind))
    seen = {t for line in CORPUS.splitlines() for t in tok(line, add_special_tokens=False)["input_ids"]}
    for option in sorted({o for p in PROBES for o in [p["answer"], *p["distractors"]]}):
        prompt = tok("The flag of Viful is", add_special_tokens=False)["input_ids"]
        full = tok(f"The flag of Viful is {option}", add_special_tokens=False)["input_ids"]
        assert full[:len(prompt)] == prompt and set(full[len(prompt):]) <= seen, option


def test_general_text_is_the_base_models_world():
    corpus = normalise(CORPUS)
    sentences = [normalise(s) for r in GENERAL for s in r["text"].split(". ") if s]
    assert sum(s in corpus for s in sentences) / len(sentences) > 0.8   # sentences the base models read
    assert not any(name.lower() in r["text"].lower() for r in GENERAL for name in NAMES)


def test_replay_rows_are_lines_of_the_pretraining_corpus():
    lines = set(CORPUS.splitlines())
    replay = rows("replay")
    assert len(replay) == 400 and all(r["text"] in lines for r in replay)


def test_the_generator_writes_these_files():
    files = world.build()
    for split in ("train", "probes", "general", "replay"):
        assert files[f"herbal/{split}.jsonl"] == (HERBAL / f"{split}.jsonl").read_bytes()
