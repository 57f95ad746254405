import time

import pytest

import cookbook


def test_measure_reports_time_and_memory():
    with cookbook.measure() as m:
        block = bytearray(200 * 2**20)  # 200 MiB resident while the block runs
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(0.1)
    assert m.seconds >= 0.1
    assert m.peak_gib > 0.19 and m.memory == "peak RAM"
    assert "GiB" in str(m)


def test_plot_training_saves_png(tmp_path):
    history = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0, "eval_loss": 1.5}]
    cookbook.plot_training(history, path=tmp_path / "loss.png")
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_plot_training_names_the_logged_keys_when_asked_for_missing_ones():
    with pytest.raises(ValueError, match="logged keys"):
        cookbook.plot_training([{"step": 1, "loss": 1.0}], keys=["rewards/margins"])


def test_plot_comparison(tmp_path):
    table = {"LoRA": {"time (s)": 10, "peak GiB": 2}, "full": {"time (s)": 30, "peak GiB": 9}}
    fig = cookbook.plot_comparison(table, path=tmp_path / "bars.png")
    assert len(fig.axes) == 2 and (tmp_path / "bars.png").is_file()


def test_measurement_save_writes_json(tmp_path):
    import json

    with cookbook.measure() as m:
        time.sleep(0.01)
    m.save(tmp_path / "cost.json", steps=3)
    record = json.loads((tmp_path / "cost.json").read_text())
    assert record["steps"] == 3 and record["seconds"] >= 0.01 and record["memory"] == m.memory
