"""The GPU suite's results file: a run (or lanes run side by side) replaces only the entries of the notebooks it ran."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("suite_results", Path(__file__).parent / "gpu" / "suite_results.py")
suite_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite_results)

RUN = {"card": "NVIDIA H200", "gpus": 1, "commit": "abc", "date": "2026-11-29", "versions": {}}


def test_a_run_replaces_only_its_notebooks():
    old = {"notebooks": {"01": {"passed": True, "commit": "old"}, "02": {"passed": True, "commit": "old"}}}
    new = suite_results.merge([{"notebook": "02", "passed": False, "seconds": 9, "parameters": {"X": "1"}}], old, RUN)
    assert new["notebooks"]["01"] == {"passed": True, "commit": "old"}
    assert new["notebooks"]["02"]["passed"] is False and new["notebooks"]["02"]["commit"] == "abc"
    assert new["notebooks"]["02"]["parameters"] == {"X": "1"}


def test_lanes_fold_into_the_results_in_notebook_order():
    old = {"notebooks": {"01": {"passed": False}, "05": {"passed": True}}}
    lane0 = suite_results.merge([{"notebook": "01", "passed": True, "seconds": 1}], {}, RUN)
    lane1 = suite_results.merge([{"notebook": "16", "passed": True, "seconds": 2}], {}, {**RUN, "gpus": 1})
    merged = suite_results.merge_runs(old, [lane0, lane1])
    assert list(merged["notebooks"]) == ["01", "05", "16"]
    assert merged["notebooks"]["01"]["passed"] is True and merged["notebooks"]["05"] == {"passed": True}
