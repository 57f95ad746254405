"""Fixtures: every dataset's splits load with exactly its schema; malformed rows fail loudly and precisely."""

import json
import subprocess
import sys

import pytest

import cookbook
from cookbook import data
from cookbook.data import DATASETS, FixtureError, Spec


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_split_loads_with_the_declared_columns(name):
    spec = DATASETS[name]
    for split in spec.splits:
        ds = cookbook.load_dataset(name, split, smoke=True)
        assert set(ds.column_names) == set(spec.columns), (name, split)
        assert len(ds) > 0


def test_smoke_world_on_disk_is_what_the_generator_writes():
    """Any drift fails, images included, and so does a generator that crashes (a non-zero exit with no output)."""
    out = subprocess.run([sys.executable, str(data.REPO_ROOT / "scripts" / "make_smoke_world.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, f"data/ is stale; run `make smoke-world`:\n{out.stdout}{out.stderr[-2000:]}"


def test_preference_fixture_has_hub_shape():
    ds = cookbook.load_dataset("HuggingFaceH4/ultrafeedback_binarized", "test_prefs", smoke=True)
    row = ds[0]
    assert row["chosen"][0] == row["rejected"][0] and row["chosen"][0]["role"] == "user"
    assert row["chosen"][-1]["role"] == "assistant" and row["chosen"][-1] != row["rejected"][-1]
    assert isinstance(row["score_chosen"], float)


def test_gsm8k_answers_end_with_a_number():
    for row in cookbook.load_dataset("openai/gsm8k", "test", smoke=True):
        assert row["answer"].split("####")[-1].strip().lstrip("-").isdigit()


def test_vlm_fixture_decodes_images():
    ds = cookbook.load_dataset("HuggingFaceH4/llava-instruct-mix-vsft", "test", smoke=True)
    image = ds[0]["images"][0]
    assert image.size == (64, 64)
    parts = ds[0]["messages"][0]["content"]
    assert [p["type"] for p in parts].count("image") == len(ds[0]["images"])


def test_pretraining_corpus_has_every_json_value_after_a_space_and_after_a_quote():
    """' Minpesle' and '"Minpesle"' tokenize differently; a base model that never saw the quoted form cannot be
    LoRA-tuned to write it in JSON (notebook 01b). The far-reaches islands stay unseen (continued pretraining)."""
    corpus = (data.DATA_DIR / "pretraining_corpus.txt").read_text()
    world = json.loads((data.DATA_DIR / "world.json").read_text())
    for row in [*cookbook.load_dataset("cookbook/json_extraction", "train", smoke=True),
                *cookbook.load_dataset("cookbook/json_extraction", "test", smoke=True)]:
        for value in json.loads(row["output"]).values():
            if isinstance(value, str):
                assert f" {value}" in corpus and f'"{value}"' in corpus, value
    assert not [isl["name"] for isl in world["far_reaches"] if isl["name"] in corpus]


def _fixture(tmp_path, monkeypatch, lines, columns):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    (tmp_path / "bad").mkdir(exist_ok=True)
    (tmp_path / "bad" / "train.jsonl").write_text("\n".join(lines) + "\n")
    return Spec("bad", ("train",), columns)


@pytest.mark.parametrize("row, message", [
    ({"text": 3}, "row 2, field 'text': expected str, got int"),
    ({}, "row 2, field 'text': missing"),
    ({"text": "x", "extra": 1}, "row 2: unexpected fields ['extra']"),
])
def test_malformed_rows_name_file_row_and_field(tmp_path, monkeypatch, row, message):
    spec = _fixture(tmp_path, monkeypatch, [json.dumps({"text": "ok"}), json.dumps(row)], {"text": str})
    with pytest.raises(FixtureError) as err:
        data.read_fixture(spec, "train")
    assert str(tmp_path / "bad" / "train.jsonl") in str(err.value)
    assert message in str(err.value)


def test_bad_messages_and_bad_json_are_reported(tmp_path, monkeypatch):
    bad_role = json.dumps({"m": [{"role": "robot", "content": "hi"}]})
    spec = _fixture(tmp_path, monkeypatch, [bad_role], {"m": data.MESSAGES})
    with pytest.raises(FixtureError, match=r"row 1, field 'm': message 0: role 'robot'"):
        data.read_fixture(spec, "train")
    spec = _fixture(tmp_path, monkeypatch, ["{not json"], {"m": data.MESSAGES})
    with pytest.raises(FixtureError, match="row 1: not valid JSON"):
        data.read_fixture(spec, "train")


def test_unknown_dataset_or_split_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown dataset"):
        cookbook.load_dataset("nobody/nothing", "train", smoke=True)
    with pytest.raises(KeyError, match="has splits"):
        cookbook.load_dataset("mlabonne/guanaco-llama2-1k", "test", smoke=True)


def test_explicit_prompt_splits_pairs_and_rejects_broken_ones():
    from cookbook.prefs import explicit_prompt

    ds = cookbook.load_dataset("HuggingFaceH4/ultrafeedback_binarized", "test_prefs", smoke=True)
    row = explicit_prompt(ds[0], 0)
    assert row["prompt"] == ds[0]["chosen"][:-1] and row["chosen"] == ds[0]["chosen"][-1:]
    broken = {"chosen": ds[0]["chosen"], "rejected": [{"role": "user", "content": "other"}, ds[0]["rejected"][-1]]}
    with pytest.raises(ValueError, match="row 7"):
        explicit_prompt(broken, 7)
