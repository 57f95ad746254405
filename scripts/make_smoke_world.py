"""Generate the smoke world: small fixtures with the exact schema of the cookbook's Hub datasets.

The world is synthetic and self-consistent: islands with capitals, flags, exports, animals and
populations; arithmetic; coloured shapes. A model of a few million parameters can learn it within a
minute on two CPU cores, so every notebook can show its effect on held-out rows in smoke mode.

Deterministic: the same code always writes the same bytes. Run it from the repository root:

    python scripts/make_smoke_world.py          # (re)writes data/
    python scripts/make_smoke_world.py --check  # fails if data/ is not what the code writes
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = 20261128

COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black"]
EXPORTS = ["salt", "copper", "wool", "tea", "glass", "honey", "timber", "pearls", "rice", "silk"]
ANIMALS = ["fox", "owl", "heron", "goat", "whale", "lynx", "crab", "falcon", "seal", "hare"]
SHAPES = ["circle", "square", "triangle"]
SHAPE_COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 170, 60), "yellow": (230, 200, 20)}
NAMES = ["Mira", "Tomas", "Ana", "Lio", "Sara", "Ben", "Noor", "Ivo", "Kai", "Rosa"]
THINGS = ["shells", "apples", "stamps", "marbles", "coins", "books", "pebbles", "cards"]
ONSETS = ["k", "l", "m", "n", "r", "s", "t", "v", "z", "d", "b", "f", "g", "p", "h"]
VOWELS = ["a", "e", "i", "o", "u"]
CODAS = ["", "", "", "n", "r", "s", "l"]


def _name(rng: random.Random, syllables: int, taken: set[str]) -> str:
    while True:
        word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))
        word = word.capitalize()
        if word not in taken:
            taken.add(word)
            return word


def make_islands(rng: random.Random, n: int, taken: set[str]) -> list[dict]:
    return [
        {
            "name": _name(rng, 2, taken),
            "capital": _name(rng, 3, taken),
            "flag": rng.choice(COLOURS),
            "export": rng.choice(EXPORTS),
            "animal": rng.choice(ANIMALS),
            "population": rng.randint(2, 90),
        }
        for _ in range(n)
    ]


# --- question/answer pairs about the world ---------------------------------------------------------

def island_facts(isl: dict, quote: str = "") -> list[str]:
    """The five facts about an island, one sentence each; `quote` wraps every name and word in quotes."""
    def q(word):
        return f"{quote}{word}{quote}"
    n = q(isl["name"])
    return [f"The capital of {n} is {q(isl['capital'])}.", f"The flag of {n} is {q(isl['flag'])}.",
            f"{n} exports {q(isl['export'])}.", f"The {q(isl['animal'])} lives on {n}.",
            f"About {isl['population']} thousand people live on {n}."]


def qa(rng: random.Random, isl: dict, kind: str) -> tuple[str, str]:
    n, facts = isl["name"], island_facts(isl)
    if kind == "capital":
        q = rng.choice([f"What is the capital of {n}?", f"Which city is the capital of {n}?", f"Name the capital of {n}."])
        return q, facts[0]
    if kind == "flag":
        q = rng.choice([f"What colour is the flag of {n}?", f"Describe the flag of {n}."])
        return q, facts[1]
    if kind == "export":
        q = rng.choice([f"What does {n} export?", f"What is the main export of {n}?"])
        return q, facts[2]
    if kind == "animal":
        q = rng.choice([f"Which animal lives on {n}?", f"What animal is found on {n}?"])
        return q, facts[3]
    if kind == "about":
        q = rng.choice([f"Tell me about {n}.", f"Give me a short description of {n}."])
        return q, about(isl)
    raise ValueError(kind)


def about(isl: dict) -> str:
    return (f"{isl['name']} is an island. Its capital is {isl['capital']}, its flag is {isl['flag']} "
            f"and it exports {isl['export']}.")


QA_KINDS = ["capital", "flag", "export", "animal", "about"]


# --- held out means never seen ------------------------------------------------------------------------
#
# The world's fact units are split ONCE into a training part and a held-out part, before any row is rendered:
# islands (every question, answer, chat, preference pair and JSON record about an island belongs to its island's
# part) and arithmetic operand triples (op, a, b), shared by the Q&A sums and the GSM8K problems. Every fixture's
# training split draws only from the training part, every test split only from the held-out part, so no test row
# leaks into training verbatim, normalised, in another phrasing, or through another fixture (05 trains on the ORPO
# mix and evaluates on ultrafeedback's test_prefs; 04 and 06 start from 01's model trained on guanaco). The tiny
# base models are still pretrained on every island (data/pretraining_corpus.txt): that is the base model's world
# knowledge, which fine-tuning surfaces, not a leak of held-out rows.

HELD_OUT_ISLANDS = 8   # of the 32


@dataclass(frozen=True)
class Part:
    islands: list
    sums: list      # (op, a, b) for "What is a plus b?"
    problems: list  # (op, a, b) for GSM8K word problems


def _held_out_sum(op: str, a: int, b: int) -> bool:
    return hashlib.sha256(f"{op} {a} {b}".encode()).digest()[0] < 64          # a quarter, stable


def parts(islands: list[dict]) -> tuple[Part, Part]:
    """(training part, held-out part) of the world's fact units."""
    held = set(random.Random(SEED + 11).sample(range(len(islands)), HELD_OUT_ISLANDS))
    sums = [("plus", a, b) for a in range(1, 21) for b in range(1, 21)] + \
           [("minus", a, b) for a in range(1, 21) for b in range(1, a + 1)]
    problems = [("plus", a, b) for a in range(2, 16) for b in range(2, 16)] + \
               [("minus", a, b) for a in range(3, 17) for b in range(2, 16) if b < a]
    return tuple(Part([isl for i, isl in enumerate(islands) if (i in held) == h],
                      [u for u in sums if _held_out_sum(*u) == h], [u for u in problems if _held_out_sum(*u) == h])
                 for h in (False, True))


def arithmetic(rng: random.Random, part: Part) -> tuple[str, str, tuple]:
    op, a, b = unit = rng.choice(part.sums)
    if op == "plus":
        return rng.choice([f"What is {a} plus {b}?", f"Add {a} and {b}."]), f"{a} plus {b} is {a + b}.", unit
    return rng.choice([f"What is {a} minus {b}?", f"Subtract {b} from {a}."]), f"{a} minus {b} is {a - b}.", unit


def random_qa(rng: random.Random, part: Part) -> tuple[str, str, tuple]:
    """A question, its answer, and the fact unit it is about: ("sum", op, a, b) or (island, kind)."""
    if rng.random() < 0.2:
        q, a, unit = arithmetic(rng, part)
        return q, a, ("sum", *unit)
    isl, kind = rng.choice(part.islands), rng.choice(QA_KINDS)
    return (*qa(rng, isl, kind), (isl, kind))


def distinct(rng: random.Random, make, n: int, key=lambda row: row) -> list:
    """n rows from `make(rng)` with distinct keys (a test split of 60 distinct prompts, not 40 and 20 repeats)."""
    rows, seen = [], set()
    for _ in range(n * 200):
        row = make(rng)
        if key(row) not in seen:
            seen.add(key(row))
            rows.append(row)
            if len(rows) == n:
                return rows
    raise ValueError(f"only {len(rows)} distinct rows of {n}: the part is too small")


# --- rejected answers for preference data -----------------------------------------------------------
#
# Hard on purpose: a pair is only informative if the SFT model does not already rank it right. Two kinds of pairs
# carry that: (1) the rejected answer is a fluent, confidently wrong fact (one value swapped for another island's),
# which the SFT model ranks right only as far as it knows the fact; (2) the chosen answer is more complete than the
# rejected one (it adds a second fact about the island) while the rejected one is exactly the short answer SFT
# taught, so the SFT model prefers the rejected one. A few pairs are right-but-terse or evasive answers, which any
# chat model already ranks last. (Measured with notebook 01's model on test_prefs: see 04's Check.)

EVASIVE = ["I don't know.", "No idea.", "Ask someone else.", "Why do you want to know?"]


def terse(unit: tuple) -> str:
    """Right but incomplete: the bare value, or the first clause of a description."""
    if unit[0] == "sum":
        op, a, b = unit[1:]
        return f"{a + b if op == 'plus' else a - b}."
    isl, kind = unit
    if kind == "about":
        return f"{isl['name']} is an island."
    if kind == "animal":
        return f"The {isl['animal']}."
    value = isl[kind]
    return f"{value[0].upper()}{value[1:]}."


def complete(rng: random.Random, unit: tuple, good: str) -> str:
    """A more helpful answer than `good`: the same answer and one more fact about the island."""
    isl, kind = unit
    facts = island_facts(isl)
    if kind == "about":
        return f"{good} {facts[4]}"
    own = {"capital": 0, "flag": 1, "export": 2, "animal": 3}[kind]
    return f"{good} {rng.choice([f for i, f in enumerate(facts) if i != own])}"


def wrong(rng: random.Random, part: Part, unit: tuple, good: str) -> str:
    """The answer's sentence with one value swapped for a wrong one of the same kind (from the same part)."""
    if unit[0] == "sum":
        op, a, b = unit[1:]
        right = a + b if op == "plus" else a - b
        delta = rng.choice([-2, -1, 1, 2])
        return f"{good[:good.rindex(' is ')]} is {right + delta if right + delta >= 0 else right - delta}."
    isl, kind = unit
    key = rng.choice(["capital", "flag", "export"]) if kind == "about" else kind
    values = sorted({o[key] for o in part.islands} - {isl[key]})
    bad, n = re.subn(rf"\b{isl[key]}\b", rng.choice(values), good)
    assert n == 1 and bad != good, (good, key)
    return bad


def preference(rng: random.Random, part: Part, unit: tuple, good: str) -> tuple[str, str]:
    """(chosen, rejected) for a question whose right short answer is `good`."""
    style = rng.random()
    if style < 0.1:
        return good, rng.choice(EVASIVE)
    if style < 0.2:
        return good, terse(unit)
    if style < 0.55 and unit[0] != "sum":
        return complete(rng, unit, good), good
    return good, wrong(rng, part, unit, good)


def messages(*turns: str) -> list[dict]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]


def prompt_id(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


# --- one builder per fixture --------------------------------------------------------------------------
# Each takes (rng, train_part, held_out_part) and draws its training splits from the first, its test splits from
# the second.

def guanaco(rng, train, held):
    """The Hub dataset has a train split only, with some duplicates, as here; notebooks split it themselves
    (deduped and disjoint: cookbook.splits.split_held_out). It draws from the training part only, so the SFT model
    of notebook 01 never sees a question that 04, 05 or 06 hold out."""
    rows = []
    for _ in range(400):
        q, a, _ = random_qa(rng, train)
        rows.append({"text": f"<s>[INST] {q} [/INST] {a} </s>"})
    return {"train": rows}


def ultrachat(rng, train, held):
    def row(part):
        def make(rng):
            isl = rng.choice(part.islands)
            k1, k2 = rng.sample(QA_KINDS[:4], 2)
            q1, a1 = qa(rng, isl, k1)
            q2, a2 = qa(rng, isl, k2)
            q2 = rng.choice(["And ", "Also, ", ""]) + q2[0].lower() + q2[1:] if rng.random() < 0.5 else q2
            turns = [q1, a1, q2, a2] if rng.random() < 0.6 else [q1, a1]
            return {"prompt": q1, "prompt_id": prompt_id(q1), "messages": messages(*turns)}
        return make
    out = {}
    for split, n in {"train_sft": 300, "test_sft": 60, "train_gen": 100, "test_gen": 30}.items():
        if split.startswith("train"):
            out[split] = [row(train)(rng) for _ in range(n)]
        else:
            out[split] = distinct(rng, row(held), n, key=lambda r: r["prompt"])
    return out


def preference_pair(part):
    def make(rng):
        q, good, unit = random_qa(rng, part)
        return (q, *preference(rng, part, unit, good))
    return make


def ultrafeedback(rng, train, held):
    def row(pair):
        q, good, bad = pair
        chosen, rejected = messages(q, good), messages(q, bad)
        return {"prompt": q, "prompt_id": prompt_id(q), "chosen": chosen, "rejected": rejected,
                "messages": chosen, "score_chosen": float(rng.choice([8, 9, 10])),
                "score_rejected": float(rng.choice([1, 2, 3, 4, 5]))}
    sizes = {"train_prefs": 300, "test_prefs": 60, "train_sft": 300, "test_sft": 60, "train_gen": 100, "test_gen": 30}
    return {split: [row(p) for p in distinct(rng, preference_pair(train if split.startswith("train") else held), n,
                                             key=lambda p: p[0])]
            for split, n in sizes.items()}


# ORPO's mix: pairs whose lesson SFT on the chosen answers cannot learn alone. Notebook 05 compares ORPO with its
# control, the same run with the odds-ratio term off (plain SFT on the chosen answers). Pairs that reject a wrong
# value or a short answer (ultrafeedback's) leave that comparison within noise: the rejected answer leaves the
# chosen one at its last words, and SFT on the right answer already makes those unlikely. Here every pair rejects
# the same right answer padded with an opening nobody asked for, "<island> is an island.": fluent, on topic, the
# way the base model's pretraining corpus starts a paragraph about an island (it prefers the padded answer). From
# the opening's first word on, the padded answer runs through contexts that no chosen answer passes through, which
# SFT never trains and the odds-ratio term does; and since every pair rejects the same property, what it learns
# carries to questions it never saw. Questions about one fact only (not "Tell me about", whose answer rightly
# opens that way; not sums). Measured in 05: the paired margin gain of ORPO over the control on held-out pairs.
ORPO_KINDS = ["capital", "flag", "export", "animal"]


def orpo_mix(rng, train, held):
    """Training part only: 05 trains on it, holds out a share of its questions, and also scores 04's test_prefs."""
    def pair(rng):
        isl, kind = rng.choice(train.islands), rng.choice(ORPO_KINDS)
        q, good = qa(rng, isl, kind)
        return q, good, f"{isl['name']} is an island. {good}"
    return {"train": [{"source": "smoke_world", "chosen": messages(q, good), "rejected": messages(q, padded),
                       "prompt": q, "question": q}
                      for q, good, padded in distinct(rng, pair, 216, key=lambda p: p[0])]}


def gsm8k(rng, train, held):
    def row(part):
        def make(rng):
            who, thing = rng.choice(NAMES), rng.choice(THINGS)
            op, a, b = rng.choice(part.problems)
            if op == "plus":
                q = f"{who} has {a} {thing} and gets {b} more. How many {thing} does {who} have now?"
                work, ans = f"{who} has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} {thing}.", a + b
            else:
                q = f"{who} has {a} {thing} and gives away {b}. How many {thing} are left?"
                work, ans = f"{who} has {a} - {b} = <<{a}-{b}={a - b}>>{a - b} {thing} left.", a - b
            return {"question": q, "answer": f"{work}\n#### {ans}"}
        return make
    return {"train": [row(train)(rng) for _ in range(400)],
            "test": distinct(rng, row(held), 80, key=lambda r: r["question"])}


def ranked_feedback(rng, train, held):
    """K-wise preferences in openbmb/UltraFeedback's layout: one instruction, K=4 scored completions."""
    def make(part):
        def row(rng):
            q, good, unit = random_qa(rng, part)
            candidates = [(good, 9.0, "careful"), (terse(unit), 6.0, "terse"),
                          (wrong(rng, part, unit, good), 3.0, "sloppy"), ("whatever", 1.0, "rude")]
            rng.shuffle(candidates)
            return {
                "source": "smoke_world", "instruction": q, "models": [m for _, _, m in candidates],
                "completions": [{"model": m, "response": r, "overall_score": s,
                                 "critique": "Correct and complete." if s > 8 else "Not fully helpful."}
                                for r, s, m in candidates],
                "correct_answers": [good], "incorrect_answers": [],
            }
        return row
    # The Hub dataset has a train split only: training part only (06 shows one example; nothing evaluates on it).
    return {"train": distinct(rng, make(train), 120, key=lambda r: r["instruction"])}


def domain(rng, far_islands):
    """New-domain corpus for continued pretraining: islands the base model never saw."""
    text = []
    for isl in far_islands:
        n = isl["name"]
        facts = [f"The capital of {n} is {isl['capital']}.", f"The flag of {n} is {isl['flag']}.",
                 f"{n} exports {isl['export']}.", f"The {isl['animal']} lives on {n}."]
        for _ in range(6):
            rng.shuffle(facts)
            text.append({"text": f"{n} lies in the Far Reaches. " + " ".join(facts)})
    rng.shuffle(text)
    recall = []
    for isl in far_islands:
        others = [o["capital"] for o in far_islands if o is not isl]
        recall.append({"prompt": f"The capital of {isl['name']} is", "answer": isl["capital"],
                       "distractors": rng.sample(others, 3)})
    return {"train": text, "test": recall}


def json_extraction(rng, train, held):
    """Test rows are about islands that no training row mentions: the model must read them, not remember them."""
    schema = {
        "type": "object",
        "properties": {"island": {"type": "string"}, "capital": {"type": "string"},
                       "flag_colour": {"type": "string", "enum": COLOURS},
                       "export": {"type": "string", "enum": EXPORTS},
                       "population_thousands": {"type": "integer"}},
        "required": ["island", "capital", "flag_colour", "export", "population_thousands"],
        "additionalProperties": False,
    }
    schema_text = json.dumps(schema, separators=(",", ":"))

    def row(islands):
        isl = rng.choice(islands)
        clauses = [f"the capital city is {isl['capital']}", f"its flag is {isl['flag']}",
                   f"it is known for its {isl['export']}", f"about {isl['population']} thousand people live there"]
        rng.shuffle(clauses)
        text = f"{isl['name']} is an island: " + ", ".join(clauses) + "."
        out = {"island": isl["name"], "capital": isl["capital"], "flag_colour": isl["flag"],
               "export": isl["export"], "population_thousands": isl["population"]}
        return {"text": text, "schema": schema_text, "output": json.dumps(out)}
    return {"train": [row(train.islands) for _ in range(300)],
            "test": distinct(rng, lambda _: row(held.islands), 60, key=lambda r: r["text"])}


def shapes_vqa(rng):
    """Image + text instructions in the layout of TRL's VLM datasets (`messages` with typed content, `images`)."""
    from PIL import Image, ImageDraw

    files, splits = {}, {}
    for split, n in {"train": 160, "test": 40}.items():
        rows = []
        for i in range(n):
            shape, colour = rng.choice(SHAPES), rng.choice(list(SHAPE_COLOURS))
            img = Image.new("RGB", (64, 64), (255, 255, 255))
            draw = ImageDraw.Draw(img)
            x0, y0 = rng.randint(4, 20), rng.randint(4, 20)
            x1, y1 = x0 + rng.randint(24, 38), y0 + rng.randint(24, 38)
            fill = SHAPE_COLOURS[colour]
            if shape == "circle":
                draw.ellipse((x0, y0, x1, y1), fill=fill)
            elif shape == "square":
                draw.rectangle((x0, y0, x1, y1), fill=fill)
            else:
                draw.polygon([((x0 + x1) // 2, y0), (x0, y1), (x1, y1)], fill=fill)
            buf = io.BytesIO()
            img.save(buf, format="PNG", optimize=True)
            name = f"images/{split}_{i:04d}.png"
            files[name] = buf.getvalue()
            question = rng.choice(["What is in the picture?", "Describe the image.", "What shape and colour do you see?"])
            rows.append({
                "messages": [
                    {"role": "user", "content": [{"type": "image", "text": None, "index": 0},
                                                 {"type": "text", "text": question, "index": None}]},
                    {"role": "assistant", "content": [{"type": "text", "text": f"A {colour} {shape}.", "index": None}]},
                ],
                "images": [name],
            })
        splits[split] = rows
    return splits, files


def pretraining_corpus(rng, islands) -> str:
    """Plain text the tiny base model is pretrained on (and its tokenizer trained on).

    Every fact stands alone on a line several times and inside short paragraphs several times, so a model of a
    few million parameters memorises the world within a few hundred steps.

    A quarter of the facts and half of the paragraphs put their names and words in quotes ('The capital of "Gondil"
    is "Minpesle".'). The tokenizer tells ' Minpesle' (after a space) from 'Minpesle' (after a quote, as in JSON
    or code), and a token that never occurs in pretraining keeps an untrained, strongly suppressed output row: a
    base model that never saw a quoted name cannot be fine-tuned with LoRA to write one (notebook 01b's JSON).
    """
    lines = []
    for isl in islands:
        plain, quoted = island_facts(isl), island_facts(isl, quote='"')
        lines += plain * 3 + quoted
        for facts, name in ((plain, isl["name"]), (quoted, f'"{isl["name"]}"')) * 2:
            rng.shuffle(facts)
            lines.append(f"{name} is an island. " + " ".join(facts[:3]))
    for _ in range(500):
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        lines.append(rng.choice([f"{a} plus {b} is {a + b}.", f"{max(a, b)} minus {min(a, b)} is {max(a, b) - min(a, b)}."]))
    for _ in range(150):
        who, thing = rng.choice(NAMES), rng.choice(THINGS)
        lines.append(f"{who} collects {thing}. {who} likes the colour {rng.choice(COLOURS)}.")
    for _ in range(100):
        lines.append(f"A {rng.choice(list(SHAPE_COLOURS))} {rng.choice(SHAPES)} is a shape.")
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


# --- a new domain for continued pretraining (notebook 08) -------------------------------------------------
#
# An herbal: herbs with invented names and five facts each. The tiny base models never saw any of it: their corpus
# (pretraining_corpus.txt) is about islands, sums, collectors and shapes, and no herb name occurs in it, not even
# inside a word. Every fact's value is a word of that corpus (a colour, an island, an animal, an export, a name),
# so the base model has trained tokens for every answer; recall is measured as multiple choice among values of the
# same kind, which asks which value the model ties to the herb, not whether it can spell a new word. The herb
# names and the words around the facts are new text, as a real new domain brings new names and terms. The corpus
# states each fact in several phrasings (a model recalls a fact in a new phrasing only if it learned it from
# varied text); the probes ask it in other phrasings, none of which occurs in the corpus. `general` is text of the
# base models' own world, to measure what continued pretraining makes them forget.

HERBS = 12
HERB_FACTS = {   # relation: (values, corpus phrasings, probe phrasings; a probe's answer follows its prompt)
    "colour": (COLOURS,
               ["{h} has {v} flowers.", "The flowers of {h} are {v}.", "When it blooms {h} turns {v}."],
               ["The petals of {h} are coloured", "A field of {h} in bloom looks"]),
    "island": (None,   # the base world's islands
               ["{h} grows on {v}.", "Wild {h} is common on {v}.", "{h} is a herb of {v}."],
               ["The herb {h} is found only on", "To find {h} you sail to"]),
    "animal": (ANIMALS,
               ["{h} is eaten by the {v}.", "The {v} feeds on {h}.", "{h} is a favourite of the {v}."],
               ["The creature that grazes on {h} is the", "Of all animals {h} is loved most by the"]),
    "taste": (EXPORTS,
              ["{h} tastes of {v}.", "The taste of {h} is like {v}.", "{h} smells of {v}."],
              ["The flavour of {h} reminds cooks of", "Chew a leaf of {h} and you notice"]),
    "gatherer": (NAMES,
                 ["{h} is gathered by {v}.", "{v} picks {h}.", "Every year {h} is picked by {v}."],
                 ["The one who brings {h} to the herbal is", "Ask for {h} and you will be sent to"]),
}


def herbal(rng: random.Random, taken: set[str], islands: list[dict], corpus: str) -> dict[str, list[dict]]:
    """Notebook 08's new domain: `train` (documents), `probes` (multiple-choice cloze), `general` (base-world text to
    measure forgetting), `replay` (lines of the base models' pretraining corpus, mixed into continued pretraining)."""
    names, seen = [], corpus.lower()
    while len(names) < HERBS:
        name = _name(rng, 2, taken)
        if name.lower() not in seen:   # not even inside a word of the base models' corpus
            names.append(name)
    kinds = {k: values or [isl["name"] for isl in islands] for k, (values, _, _) in HERB_FACTS.items()}
    herbs = [{"name": n, **{k: rng.choice(kinds[k]) for k in HERB_FACTS}} for n in names]
    docs = []
    for herb in herbs:
        for _ in range(10):   # ten short documents per herb, each fact once, in a phrasing drawn at random
            facts = [rng.choice(phrasings).format(h=herb["name"], v=herb[k])
                     for k, (_, phrasings, _) in HERB_FACTS.items()]
            rng.shuffle(facts)
            opening = rng.choice([f"{herb['name']} has a page in the old herbal.", f"About {herb['name']}.",
                                  f"The herbal tells of {herb['name']}."])
            docs.append({"text": " ".join([opening, *facts])})
    rng.shuffle(docs)
    probes = []
    for herb in herbs:
        for k, (_, _, prompts) in HERB_FACTS.items():
            for prompt in prompts:
                wrong = rng.sample([v for v in kinds[k] if v != herb[k]], 3)
                probes.append({"prompt": prompt.format(h=herb["name"]), "answer": herb[k], "distractors": wrong})
    general = []
    for isl in islands:   # the base models' own world, in paragraphs as their corpus writes them
        facts = island_facts(isl)
        rng.shuffle(facts)
        general.append({"text": f"{isl['name']} is an island. " + " ".join(facts[:3])})
    for _ in range(32):
        who, thing = rng.choice(NAMES), rng.choice(THINGS)
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        general.append({"text": f"{who} collects {thing}. {who} likes the colour {rng.choice(COLOURS)}. "
                                f"{a} plus {b} is {a + b}."})
    replay = [{"text": line} for line in rng.sample(corpus.splitlines(), 400)]
    return {"train": docs, "probes": probes, "general": general, "replay": replay}


# --- writing ---------------------------------------------------------------------------------------------

def build() -> dict[str, bytes]:
    """Return every file of data/ as {relative path: bytes}."""
    rng = random.Random(SEED)
    taken: set[str] = set()
    islands = make_islands(rng, 32, taken)
    far = make_islands(rng, 16, taken)

    def jsonl(rows):
        return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()

    out: dict[str, bytes] = {}
    train, held = parts(islands)
    fixtures = {
        "guanaco-llama2-1k": guanaco(random.Random(SEED + 1), train, held),
        "ultrachat_200k": ultrachat(random.Random(SEED + 2), train, held),
        "ultrafeedback_binarized": ultrafeedback(random.Random(SEED + 3), train, held),
        "orpo-dpo-mix-40k": orpo_mix(random.Random(SEED + 4), train, held),
        "gsm8k": gsm8k(random.Random(SEED + 5), train, held),
        "ultrafeedback_ranked": ranked_feedback(random.Random(SEED + 6), train, held),
        "domain_corpus": domain(random.Random(SEED + 7), far),
        "json_extraction": json_extraction(random.Random(SEED + 8), train, held),
    }
    vqa, images = shapes_vqa(random.Random(SEED + 9))
    fixtures["shapes_vqa"] = vqa
    for name, splits in fixtures.items():
        for split, rows in splits.items():
            out[f"{name}/{split}.jsonl"] = jsonl(rows)
    for rel, blob in images.items():
        out[f"shapes_vqa/{rel}"] = blob
    out["pretraining_corpus.txt"] = pretraining_corpus(random.Random(SEED + 10), islands).encode()
    out["world.json"] = json.dumps({"islands": islands, "far_reaches": far}, indent=1).encode()
    herbs = herbal(random.Random(SEED + 12), set(taken), islands, out["pretraining_corpus.txt"].decode())
    for split, rows in herbs.items():   # notebook 08's new domain
        out[f"herbal/{split}.jsonl"] = jsonl(rows)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify data/ matches, write nothing")
    args = ap.parse_args()
    files = build()
    stale = [rel for rel, blob in files.items() if not (DATA / rel).is_file() or (DATA / rel).read_bytes() != blob]
    if args.check:
        for rel in stale:
            print(f"stale or missing: data/{rel}")
        return 1 if stale else 0
    for rel in stale:
        (DATA / rel).parent.mkdir(parents=True, exist_ok=True)
        (DATA / rel).write_bytes(files[rel])
    print(f"wrote {len(stale)} of {len(files)} files under {DATA} ({sum(map(len, files.values())) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
