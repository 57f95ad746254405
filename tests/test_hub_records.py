"""The dataset registry against the Hub: data/hub_records.json holds what each dataset card says (splits, config,
features, licence, the card's URL and the date it was read). A fixture can invent a split or a column that the
Hub dataset lacks, and smoke mode never notices; full mode then crashes at its first data cell. These tests catch
that without network access: every split the registry offers in full mode must exist on the Hub, the config must
match, and the registry's columns must be among the Hub's features, with compatible types."""

import json

import pytest

from cookbook.data import DATA_DIR, DATASETS, IMAGES, MESSAGES

RECORDS = json.loads((DATA_DIR / "hub_records.json").read_text(encoding="utf-8"))["datasets"]
HUB_NAMES = sorted(name for name in DATASETS if not name.startswith("cookbook/"))

# Known registry errors waiting for a fix in scripts/cookbook/data.py, as {Hub id: what is wrong}. strict: once
# data.py is right the test passes, the xfail turns into a failure, and the entry must be deleted here. (The first
# one found, openbmb/UltraFeedback offering a `test` split the Hub lacks, is fixed.)
KNOWN_WRONG: dict[str, str] = {}


def full_mode_splits(spec):
    """The splits the registry lets a notebook load from the Hub (full mode). A registry that marks some splits as
    smoke-only (fixture-only) may say so with a `hub_splits` attribute; otherwise every split counts."""
    return tuple(getattr(spec, "hub_splits", None) or spec.splits)


def _mark(name):
    return pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_WRONG[name], strict=True)) \
        if name in KNOWN_WRONG else name


def test_every_registered_hub_dataset_has_a_record():
    missing = [name for name in HUB_NAMES if name not in RECORDS]
    assert not missing, f"no card record in data/hub_records.json for {missing}: read their cards and add them"


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_record_says_where_its_facts_come_from(name):
    record = RECORDS[name]
    assert record["card"] == f"https://huggingface.co/datasets/{name}"
    assert record["read"] and record["source"], name
    assert "license" in record and record["splits"] and record["features"] and record["configs"], name
    assert record["config"] is None or record["config"] in record["configs"], name
    assert (DATA_DIR.parent / record["fixture"]).is_dir(), f"{name}: fixture folder {record['fixture']} is missing"


@pytest.mark.parametrize("name", [_mark(n) for n in HUB_NAMES])
def test_full_mode_splits_exist_on_the_hub(name):
    spec, record = DATASETS[name], RECORDS[name]
    invented = [s for s in full_mode_splits(spec) if s not in record["splits"]]
    assert not invented, f"{name}: the registry offers {invented} in full mode, but the Hub has only " \
                         f"{sorted(record['splits'])} ({record['card']})"


@pytest.mark.parametrize("name", HUB_NAMES)
def test_config_matches_the_hub(name):
    spec, record = DATASETS[name], RECORDS[name]
    assert spec.config == record["config"], f"{name}: registry config {spec.config!r}, card {record['config']!r}"
    if len(record["configs"]) > 1:
        assert spec.config is not None, f"{name} has several configs {record['configs']}: the registry must pick one"


def _compatible(kind, feature) -> str | None:
    """Why a registry column type does not fit the card's feature, or None."""
    scalars = {str: "string", int: "int64", float: "float64"}
    if isinstance(kind, type) and kind in scalars:
        return None if feature == scalars[kind] else f"registry {kind.__name__}, card {feature!r}"
    if kind is MESSAGES:
        ok = isinstance(feature, list) and isinstance(feature[0], dict) and {"role", "content"} <= set(feature[0])
        return None if ok else f"registry messages, card {feature!r}"
    if kind is IMAGES:
        return None if feature == {"sequence": "image"} else f"registry images, card {feature!r}"
    if isinstance(kind, list):
        if not isinstance(feature, list):
            return f"registry list, card {feature!r}"
        return _compatible(kind[0], feature[0])
    if isinstance(kind, dict):
        if not isinstance(feature, dict):
            return f"registry struct, card {feature!r}"
        missing = sorted(set(kind) - set(feature))
        if missing:
            return f"struct keys {missing} not on the Hub (card has {sorted(feature)})"
        for key, sub in kind.items():
            if feature[key] != "struct":  # a nested struct the record does not spell out
                problem = _compatible(sub, feature[key])
                if problem:
                    return f"key {key!r}: {problem}"
        return None
    return f"unknown registry type {kind!r}"


@pytest.mark.parametrize("name", HUB_NAMES)
def test_registry_columns_are_hub_features(name):
    spec, record = DATASETS[name], RECORDS[name]
    absent = sorted(set(spec.columns) - set(record["features"]))
    assert not absent, f"{name}: registry columns {absent} are not features on the Hub ({sorted(record['features'])})"
    wrong = {c: p for c, kind in spec.columns.items() if (p := _compatible(kind, record["features"][c]))}
    assert not wrong, f"{name}: column types differ from the card: {wrong}"


def test_the_type_check_can_fail():
    assert _compatible(str, "float64")
    assert _compatible(MESSAGES, "string")
    assert _compatible([{"model": str, "rating": float}], [{"model": "string"}])
    assert _compatible(float, "float64") is None
