"""Run mode, precision, outputs by mode, manifests, and upstream artifacts that know their run."""

import json

import pytest

import cookbook
from cookbook import run as run_module
from cookbook.run import precision_for, resolve_mode


@pytest.mark.parametrize("env, cuda, smoke", [
    (None, False, True), (None, True, False), ("smoke", True, True), ("full", False, False),
    ("FULL", True, False), (" smoke ", False, True), ("", True, False),
])
def test_mode(env, cuda, smoke):
    assert resolve_mode(env, cuda) is smoke


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="COOKBOOK_MODE"):
        resolve_mode("fast", False)


@pytest.mark.parametrize("capability, precision", [
    (None, "fp32"), ((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((8, 9), "bf16"), ((9, 0), "bf16")])
def test_precision_follows_the_card(capability, precision):
    """T4 (7.5) and V100 (7.0) report bf16 support but emulate it: fp16 mixed precision there."""
    assert precision_for(capability) == precision


def test_start_prints_one_line_and_makes_outputs_by_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.delenv("COOKBOOK_MODE", raising=False)
    run = cookbook.start("99_Test")
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "Smoke mode" in printed[0]
    assert run.smoke and run.device == "cpu" and not run.bf16 and not run.fp16 and run.precision == "fp32"
    assert run.out == tmp_path / "smoke" / "99_Test" and run.out.is_dir()


def _finished(tmp_path, mode, notebook, recipe, parts=("merged",)):
    folder = tmp_path / mode / notebook
    folder.joinpath(*parts).mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"mode": mode, "recipe": recipe}))
    return folder


def test_require_uses_a_finished_artifact_of_this_mode_and_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.setattr(run_module, "recipe_of", lambda nb: "r1")
    monkeypatch.setattr(run_module.Run, "_run_upstream", lambda self, nb: pytest.fail("must not run"))
    folder = _finished(tmp_path, "smoke", "01_Upstream", "r1")
    run = cookbook.start("99_Test")
    assert run.require("01_Upstream", "merged") == folder / "merged"


@pytest.mark.parametrize("mode, recipe, manifest, why", [
    ("full", "r1", True, "made in full mode"),      # a full-mode run's folder ... (never read by smoke: other folder)
    ("smoke", "old", True, "older version"),         # the upstream notebook changed since
    ("smoke", "r1", False, "did not finish"),        # no manifest: the run stopped half way
])
def test_require_refuses_another_mode_an_older_recipe_or_an_unfinished_run(tmp_path, monkeypatch, capsys, mode,
                                                                            recipe, manifest, why):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.setattr(run_module, "recipe_of", lambda nb: "r1")
    folder = _finished(tmp_path, "smoke", "01_Upstream", recipe)
    record = {"mode": mode, "recipe": recipe}
    if manifest:
        (folder / "manifest.json").write_text(json.dumps(record))
    else:
        (folder / "manifest.json").unlink()
    ran = []

    def rebuild(self, notebook):
        ran.append(notebook)
        (folder / "manifest.json").write_text(json.dumps({"mode": "smoke", "recipe": "r1"}))

    monkeypatch.setattr(run_module.Run, "_run_upstream", rebuild)
    run = cookbook.start("99_Test")
    assert run.require("01_Upstream", "merged") == folder / "merged"
    assert ran == ["01_Upstream"], "the stale artifact must be rebuilt"
    assert why.split()[-1] in capsys.readouterr().out


def test_smoke_and_full_never_share_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.setattr(run_module, "recipe_of", lambda nb: "r1")
    _finished(tmp_path, "full", "01_Upstream", "r1")
    run = cookbook.start("99_Test")
    assert run.upstream("01_Upstream", "merged") is None


def test_finish_writes_the_manifest_with_the_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    run = cookbook.start("99_Test")
    path = run.finish({"MAX_STEPS": 3, "DATASET": "x.jsonl", "run": run, "lower": 1, "MODEL_OBJECT": object()})
    record = json.loads(path.read_text())
    assert record["mode"] == "smoke" and record["parameters"] == {"MAX_STEPS": 3, "DATASET": "x.jsonl"}
    assert {"recipe", "commit", "finished", "precision"} <= set(record)
    cookbook.start("99_Test")
    assert not path.exists(), "a new run of the same notebook invalidates the old manifest until it finishes"


def test_require_runs_the_upstream_with_the_core_interpreter_without_the_kernel_path(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    monkeypatch.setenv("COOKBOOK_KERNEL_PATH", "/opt/unsloth-site")
    monkeypatch.setenv("PYTHONPATH", "/opt/unsloth-site:/repo/scripts")
    calls = []
    run = cookbook.start("99_Test")
    monkeypatch.setattr(run_module.subprocess, "run", lambda cmd, check, env: calls.append((cmd, env)))
    run._run_upstream("01_Upstream")
    (cmd, env), = calls
    assert cmd[0] == run_module.core_python() and cmd[-1] == "01_Upstream" and cmd[1].endswith("run_notebook.py")
    assert env["PYTHONPATH"] == "/repo/scripts" and env["COOKBOOK_MODE"] == "smoke"


def test_require_fails_loudly_when_the_upstream_notebook_cannot_run(tmp_path, monkeypatch):
    import subprocess

    monkeypatch.setenv("COOKBOOK_OUTPUTS", str(tmp_path))
    run = cookbook.start("99_Test")
    with pytest.raises(subprocess.CalledProcessError):
        run.require("77_No_Such_Notebook", "merged")
