"""Run mode selection, outputs and upstream artifacts."""

import pytest

import cookbook
from cookbook.run import resolve_mode


@pytest.mark.parametrize("env, cuda, smoke", [
    (None, False, True), (None, True, False), ("smoke", True, True), ("full", False, False),
    ("FULL", True, False), (" smoke ", False, True), ("", True, False),
])
def test_mode(env, cuda, smoke):
    assert resolve_mode(env, cuda) is smoke


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="COOKBOOK_MODE"):
        resolve_mode("fast", False)


def test_start_prints_one_line_and_makes_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.delenv("COOKBOOK_MODE", raising=False)
    run = cookbook.start("99_Test")
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "Smoke mode" in printed[0]
    assert run.smoke and run.device == "cpu" and not run.bf16 and run.out == tmp_path / "99_Test" and run.out.is_dir()
    assert run.upstream("98_Missing", "merged") is None
    (tmp_path / "98_There" / "merged").mkdir(parents=True)
    assert run.upstream("98_There", "merged") == tmp_path / "98_There" / "merged"


def test_require_returns_an_existing_artifact_without_running_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    (tmp_path / "01_Upstream" / "merged").mkdir(parents=True)
    run = cookbook.start("99_Test")
    assert run.require("01_Upstream", "merged") == tmp_path / "01_Upstream" / "merged"


def test_require_fails_loudly_when_the_upstream_notebook_cannot_run(tmp_path, monkeypatch):
    import subprocess

    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    run = cookbook.start("99_Test")
    with pytest.raises(subprocess.CalledProcessError):
        run.require("77_No_Such_Notebook", "merged")
