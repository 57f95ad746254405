"""Held out means never seen: no test prompt or answer occurs in training, in any fixture or in-notebook split.

"Occurs" is checked exactly and normalised (case, spaces and punctuation ignored: cookbook.splits.normalise), within
a fixture and across fixtures (a model trained on one fixture is evaluated on another's test split: 04 and 06 start
from 01's model trained on guanaco, 05 trains on the ORPO mix and evaluates on ultrafeedback's test_prefs).
"""

import json
import re
import sys

import pytest

import cookbook
from cookbook import data
from cookbook.splits import leaks, normalise, split_held_out

sys.path.insert(0, str(data.REPO_ROOT / "scripts"))
import make_smoke_world as world  # noqa: E402

INST = re.compile(r"<s>\[INST\] (.*?) \[/INST\] (.*?) </s>", re.S)


def load(name, split):
    return list(cookbook.load_dataset(name, split, smoke=True))


def guanaco_qa(row):
    return INST.fullmatch(row["text"]).groups()


def chat_pairs(chat):
    """(user turn, the assistant answer that follows it) for every exchange of a chat."""
    return [(u["content"], a["content"]) for u, a in zip(chat[::2], chat[1::2])]


# Every fixture's held-out splits, as (prompt, answer) pairs: what a model evaluated on them must not have seen.
def held_out_pairs():
    uf, uc = "HuggingFaceH4/ultrafeedback_binarized", "HuggingFaceH4/ultrachat_200k"
    out = {f"{uf}:{s}": [p for r in load(uf, s) for p in chat_pairs(r["chosen"])] for s in ("test_prefs", "test_sft", "test_gen")}
    out.update({f"{uc}:{s}": [p for r in load(uc, s) for p in chat_pairs(r["messages"])] for s in ("test_sft", "test_gen")})
    out["openai/gsm8k:test"] = [(r["question"], r["answer"]) for r in load("openai/gsm8k", "test")]
    out["cookbook/json_extraction:test"] = [(r["text"], r["output"]) for r in load("cookbook/json_extraction", "test")]
    return out


# Every fixture's training splits, as text a model trained on them has seen (prompts and every answer, rejected too).
def training_texts():
    uf, uc = "HuggingFaceH4/ultrafeedback_binarized", "HuggingFaceH4/ultrachat_200k"
    texts = {}
    texts["mlabonne/guanaco-llama2-1k:train"] = [t for r in load("mlabonne/guanaco-llama2-1k", "train") for t in guanaco_qa(r)]
    for s in ("train_prefs", "train_sft", "train_gen"):
        texts[f"{uf}:{s}"] = [m["content"] for r in load(uf, s) for m in r["chosen"] + r["rejected"]]
    for s in ("train_sft", "train_gen"):
        texts[f"{uc}:{s}"] = [m["content"] for r in load(uc, s) for m in r["messages"]]
    texts["mlabonne/orpo-dpo-mix-40k:train"] = [m["content"] for r in load("mlabonne/orpo-dpo-mix-40k", "train")
                                                for m in r["chosen"] + r["rejected"]]
    texts["openai/gsm8k:train"] = [t for r in load("openai/gsm8k", "train") for t in (r["question"], r["answer"])]
    texts["openbmb/UltraFeedback:train"] = [t for r in load("openbmb/UltraFeedback", "train")
                                            for t in [r["instruction"]] + [c["response"] for c in r["completions"]]]
    texts["cookbook/json_extraction:train"] = [t for r in load("cookbook/json_extraction", "train")
                                               for t in (r["text"], r["output"])]
    return texts


# Exempt, and why: domain_corpus's test is a cloze of facts its train split teaches (continued pretraining must
# *recall* them); shapes_vqa's held-out unit is the image (answers are a dozen shape/colour labels by design).
EXEMPT = {"domain_corpus", "shapes_vqa"}


def test_every_fixture_split_is_covered_or_exempt():
    covered = {k.split(":")[0] for k in list(held_out_pairs()) + list(training_texts())}
    for name, spec in data.DATASETS.items():
        assert name in covered or spec.fixture in EXEMPT, f"{name} is in no held-out test and not exempt"


@pytest.fixture(scope="module")
def seen():
    return {normalise(t): k for k, texts in training_texts().items() for t in texts}


@pytest.mark.parametrize("split", sorted(held_out_pairs()))
def test_no_held_out_prompt_or_answer_occurs_in_any_training_split(split, seen):
    pairs = held_out_pairs()[split]
    assert pairs
    found = [f"{text!r} (in {seen[normalise(text)]})" for pair in pairs for text in pair if normalise(text) in seen]
    assert not found, f"{split}: {len(found)} held-out texts occur in training:\n" + "\n".join(found[:10])


def test_held_out_facts_are_absent_from_training_by_construction():
    """The split is made on the world's facts before rows are rendered: no training row names a held-out island
    or states a held-out sum, in any fixture."""
    w = json.loads((data.DATA_DIR / "world.json").read_text())
    train, held = world.parts(w["islands"])
    assert len(held.islands) == world.HELD_OUT_ISLANDS and set(map(str, held.sums)).isdisjoint(map(str, train.sums))
    names = [isl["name"] for isl in held.islands]
    sums = [f"{a} {op} {b} is {a + b if op == 'plus' else a - b}" for op, a, b in held.sums] + \
           [f"{a} {'+' if op == 'plus' else '-'} {b} = " for op, a, b in held.problems]
    for split, texts in training_texts().items():
        blob = "\n".join(texts)
        assert not [n for n in names if re.search(rf"\b{n}\b", blob)], f"{split} names a held-out island"
        assert not [s for s in sums if re.search(rf"(?<!\d){re.escape(s)}(?!\d)", blob)], f"{split} states a held-out sum"


def test_json_test_records_are_about_islands_absent_from_json_training():
    train = {json.loads(r["output"])["island"] for r in load("cookbook/json_extraction", "train")}
    test = {json.loads(r["output"])["island"] for r in load("cookbook/json_extraction", "test")}
    assert test and train and not train & test


def test_test_splits_hold_distinct_prompts_and_training_fixtures_no_repeated_pairs():
    for split, pairs in held_out_pairs().items():
        if "ultrachat" in split:    # chats: first prompts are distinct, follow-up questions may repeat
            continue
        prompts = [normalise(p) for p, _ in pairs]
        assert len(set(prompts)) == len(prompts), f"{split} repeats a prompt"
    orpo = load("mlabonne/orpo-dpo-mix-40k", "train")
    assert len({json.dumps(r, sort_keys=True) for r in orpo}) == len(orpo), "the ORPO mix repeats a row"


def test_preference_pairs_are_hard_not_strawmen():
    """A pair is informative only if a fluent model could get it wrong: most rejected answers are wrong facts or
    right-but-terse answers, few are evasive."""
    rejected = [r["rejected"][-1]["content"] for r in load("HuggingFaceH4/ultrafeedback_binarized", "train_prefs")]
    evasive = sum(r in world.EVASIVE for r in rejected) / len(rejected)
    assert evasive < 0.25, evasive


# --- the split helper ----------------------------------------------------------------------------------

def test_normalise():
    assert normalise("  What is 2+3?\n") == "what is 2 3"
    assert normalise("The flag of Vasha is RED.") == normalise("the flag of vasha is red")


def qa_rows():
    rows = [{"q": f"What is {a} plus {b}?", "a": f"{a} plus {b} is {a + b}."} for a in range(8) for b in range(8)]
    rows += [dict(rows[3]), {"q": rows[5]["q"].upper(), "a": rows[5]["a"] + " "}]          # duplicates, exact and not
    rows += [{"q": f"Add {a} and {b}.", "a": f"{a} plus {b} is {a + b}."} for a in range(8) for b in range(8)]
    return rows


def test_split_held_out_dedupes_and_is_disjoint_in_prompts_and_answers():
    rows = qa_rows()
    train, test = split_held_out(rows, lambda r: r["q"], lambda r: r["a"], share=0.2, seed=1)
    assert 0 < len(test) < len(train)
    keys = [(normalise(r["q"]), normalise(r["a"])) for r in train + test]
    assert len(keys) == len(set(keys)), "a duplicate survived"
    assert not leaks(train, test, lambda r: r["q"], lambda r: r["a"])
    # the same answer asked two ways: the other phrasing is dropped from training, not left to leak the answer
    assert {normalise(r["a"]) for r in test}.isdisjoint(normalise(r["a"]) for r in train)


def test_split_held_out_is_stable_and_takes_datasets():
    import datasets

    rows = qa_rows()
    f = (lambda r: r["q"], lambda r: r["a"])
    _, test = split_held_out(rows, *f, share=0.2, seed=1)
    _, test_reversed = split_held_out(rows[::-1], *f, share=0.2, seed=1)
    assert sorted(normalise(r["q"]) for r in test) == sorted(normalise(r["q"]) for r in test_reversed)
    ds_train, ds_test = split_held_out(datasets.Dataset.from_list(rows), *f, share=0.2, seed=1)
    assert isinstance(ds_test, datasets.Dataset) and list(ds_test) == test
    with pytest.raises(ValueError, match="share"):
        split_held_out(rows, *f, share=1.5)


def test_leaks_finds_normalised_copies():
    train = [{"q": "What is the capital of Vasha?", "a": "Bonsulfa."}]
    assert leaks(train, [{"q": "what is the capital of VASHA", "a": "x"}], lambda r: r["q"], lambda r: r["a"])
    assert not leaks(train, [{"q": "Name the capital of Vasha.", "a": "x"}], lambda r: r["q"], lambda r: r["a"])


# --- splits the notebooks make ------------------------------------------------------------------------

def notebook_code(path):
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")


NOTEBOOKS = sorted(data.REPO_ROOT.glob("Part_*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:3] for p in NOTEBOOKS])
def test_notebooks_split_with_split_held_out(path):
    """A notebook that makes its own held-out split dedupes it and keeps it disjoint: cookbook.splits.split_held_out,
    never a plain random train_test_split (guanaco's 400 rows hold 265 distinct ones: a random 10% shares 22 of its
    40 rows with training)."""
    assert "train_test_split(" not in notebook_code(path), f"{path.name} splits with train_test_split"


@pytest.mark.parametrize("share", [0.1, 0.2])
def test_the_in_notebook_splits_of_the_fixtures_are_disjoint(share):
    guanaco = load("mlabonne/guanaco-llama2-1k", "train")                         # 01, 02, 03
    train, test = split_held_out(guanaco, lambda r: guanaco_qa(r)[0], lambda r: guanaco_qa(r)[1], share, seed=42)
    assert len(test) >= 10 and not leaks(train, test, lambda r: guanaco_qa(r)[0], lambda r: guanaco_qa(r)[1])
    orpo = load("mlabonne/orpo-dpo-mix-40k", "train")                             # 05's own eval split
    train, test = split_held_out(orpo, lambda r: r["prompt"], lambda r: r["chosen"][-1]["content"], share, seed=42)
    assert len(test) >= 10 and not leaks(train, test, lambda r: r["prompt"], lambda r: r["chosen"][-1]["content"])
