"""Your own data: any local file or folder (JSON lines, JSON, CSV, Parquet), validated for the kind a notebook needs."""

import json

import pytest

import cookbook
from cookbook.data import KINDS, FixtureError

PAIR = {"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}]}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_a_local_file_of_any_format_loads_as_the_train_split(tmp_path, suffix):
    import pandas as pd

    rows = [{"text": f"<s>[INST] q{i} [/INST] a{i} </s>", "extra": i} for i in range(5)]
    path = tmp_path / f"mine{suffix}"
    frame = pd.DataFrame(rows)
    {".jsonl": lambda: frame.to_json(path, orient="records", lines=True),
     ".json": lambda: frame.to_json(path, orient="records"),
     ".csv": lambda: frame.to_csv(path, index=False),
     ".parquet": lambda: frame.to_parquet(path)}[suffix]()
    for smoke in (True, False):
        ds = cookbook.load_dataset(str(path), "train", smoke=smoke, kind="llama2-text")
        assert len(ds) == 5 and ds[3]["text"] == rows[3]["text"]  # extra columns are allowed


def test_a_folder_holds_one_file_per_split(tmp_path):
    _jsonl(tmp_path / "train_prefs.jsonl", [PAIR] * 3)
    _jsonl(tmp_path / "test_prefs.jsonl", [PAIR])
    assert len(cookbook.load_dataset(str(tmp_path), "test_prefs", smoke=True, kind="preference-pairs")) == 1
    with pytest.raises(KeyError, match="no file for the split 'dev'"):
        cookbook.load_dataset(str(tmp_path), "dev", smoke=True, kind="preference-pairs")


def test_a_single_file_has_only_the_train_split(tmp_path):
    path = _jsonl(tmp_path / "pairs.jsonl", [PAIR])
    with pytest.raises(KeyError, match="only split is 'train'"):
        cookbook.load_dataset(str(path), "test_prefs", smoke=True, kind="preference-pairs")


@pytest.mark.parametrize("row, message", [
    ({"chosen": PAIR["chosen"]}, "row 2, field 'rejected': missing"),
    ({**PAIR, "rejected": "Go away."}, "row 2, field 'rejected': expected a non-empty list"),
    ({**PAIR, "chosen": [{"role": "robot", "content": "x"}]}, "row 2, field 'chosen': message 0: role 'robot'"),
])
def test_bad_rows_name_the_file_the_row_and_the_field(tmp_path, row, message):
    path = _jsonl(tmp_path / "pairs.jsonl", [PAIR, row])
    with pytest.raises(FixtureError) as err:
        cookbook.load_dataset(str(path), "train", smoke=True, kind="preference-pairs")
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_file_without_a_needed_column_says_which(tmp_path):
    path = _jsonl(tmp_path / "pairs.jsonl", [{"chosen": PAIR["chosen"]}])
    with pytest.raises(FixtureError, match=r"lacks the columns \['rejected'\] this notebook needs"):
        cookbook.load_dataset(str(path), "train", smoke=True, kind="preference-pairs")


def test_unknown_kind_and_unknown_source_are_clear_errors(tmp_path):
    with pytest.raises(KeyError, match="unknown kind"):
        cookbook.load_dataset("mlabonne/guanaco-llama2-1k", "train", smoke=True, kind="tweets")
    with pytest.raises(KeyError, match="unknown dataset 'my-org/my-data'.*smoke mode reads no Hub dataset"):
        cookbook.load_dataset("my-org/my-data", "train", smoke=True, kind="chat")


def test_registered_datasets_have_a_kind_and_their_fixtures_fit_it():
    for name, spec in cookbook.DATASETS.items():
        assert spec.kind in KINDS, name
        assert set(KINDS[spec.kind]) <= set(spec.columns), f"{name}: fixture columns miss what its kind needs"
