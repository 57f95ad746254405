"""The benchmarks' pure logic: FLOP counts and MFU, repeat statistics, result merging, checkpointing options,
the "fits on" rule, the suites' lists and time plans. Fast: no training (one toy forward/backward at most)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


speed = _load("sft_speed")
footprints = _load("notebook_footprints")
arch = _load("arch_model")
plot_mod = _load("plot_sft_speed")


def test_stats_min_median_max():
    assert speed.stats([3, 1, 2]) == {"min": 1.0, "median": 2.0, "max": 3.0, "n": 3}
    assert speed.stats([4, 1, 2, 3])["median"] == 2.5
    assert speed.stats([])["n"] == 0 and speed.stats([])["median"] is None


def test_window_rates_skip_warmup_and_split_windows():
    # step -> (seconds at its end, tokens seen); 1000 tokens per step, 1 s per step, then a 2 s step
    marks = {s: (float(s), 1000 * s) for s in range(0, 8)}
    marks[8] = (10.0, 8000)
    rates = speed.window_rates(marks, warmup=2, window=3, repeats=2)
    assert rates == [1000.0, 3000 / 5]
    assert speed.window_rates(marks, warmup=2, window=3, repeats=3) == rates  # a missing window is left out


def test_tinyllama_parameter_counts():
    c = speed.param_counts(arch.TINYLLAMA)
    # per layer: q, o 2048^2; k, v 2048 x 256; gate, up, down 2048 x 5632
    assert c["n_lin"] == 22 * (2 * 2048**2 + 2 * 2048 * 256 + 3 * 2048 * 5632) == 968_884_224
    assert c["n_head"] == 32000 * 2048
    assert c["n_lora"] == 22 * 16 * (2 * 4096 + 2 * (2048 + 256) + 3 * (2048 + 5632))
    assert c["n_lin"] + c["n_head"] + 32000 * 2048 + 45 * 2048 == pytest.approx(1.1e9, rel=0.01)  # + embedding, norms


def test_mean_context_is_causal_average():
    assert speed.mean_context([2048]) == pytest.approx(1024.5)
    assert speed.mean_context([1, 3]) == pytest.approx((1 + 6) / 4)
    assert speed.mean_context([4096], max_len=2048) == pytest.approx(1024.5)  # truncated at max_length


def test_flops_per_token_terms():
    c = {"n_lin": 100.0, "n_head": 10.0, "n_lora": 1.0, "layers": 2, "attn_width": 4, "hidden": 4}
    f = speed.flops_per_token(c, context=5.0, ckpt_fraction=0.0)
    attn = 4 * 2 * 4 * 5.0  # 4 L d c
    assert f["forward"] == 2 * 111 + attn
    assert f["backward"] == 2 * 111 + 2 * attn + 2 * 1  # activation grads + LoRA weight grads; frozen base: none
    assert f["recompute"] == 0 and f["hardware"] == f["model"] == f["forward"] + f["backward"]
    full = speed.flops_per_token(c, 5.0, 1.0)
    assert full["recompute"] == 2 * 101 + attn and full["model"] == f["model"]
    half = speed.flops_per_token(c, 5.0, 0.5)
    assert half["recompute"] == full["recompute"] / 2
    sac = speed.flops_per_token(c, 5.0, 1.0, recompute_attention=False)
    assert sac["recompute"] == 2 * 101
    ft = speed.flops_per_token(c, 5.0, 0.0, full_finetune=True)
    assert ft["backward"] == f["backward"] + 2 * 110


def test_tinyllama_flops_and_mfu_at_2048():
    counts = speed.param_counts(arch.TINYLLAMA)
    f = speed.flops_per_token(counts, speed.mean_context([2048]), 1.0)
    assert f["model"] / 1e9 == pytest.approx(4.77, abs=0.01)
    assert f["hardware"] / 1e9 == pytest.approx(6.91, abs=0.01)
    u = speed.utilization(21_100, f, speed.peak_tflops("NVIDIA H200"))
    assert u["mfu"] == pytest.approx(21_100 * f["model"] / 989e12, abs=1e-4)
    assert 0.09 < u["mfu"] < 0.11 and u["hfu"] > u["mfu"]
    assert speed.utilization(21_100, f, None)["mfu"] is None


def test_peak_tflops_matches_card_names():
    assert speed.peak_tflops("NVIDIA H200") == 989.0
    assert speed.peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert speed.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert speed.peak_tflops("NVIDIA A100-SXM4-40GB") == 312.0
    assert speed.peak_tflops("NVIDIA L4") == 121.0 and speed.peak_tflops("Tesla T4") == 65.0
    assert speed.peak_tflops("some other card") is None


def test_merge_replaces_by_name_and_keeps_others():
    record = {"results": {"a": {"name": "a", "v": 1}, "b": {"name": "b", "v": 1}}}
    speed.merge(record, {"name": "a", "v": 2})
    speed.merge(record, {"name": "c", "v": 3})
    assert record["results"] == {"a": {"name": "a", "v": 2}, "b": {"name": "b", "v": 1}, "c": {"name": "c", "v": 3}}
    assert speed.merge({}, {"name": "x"}) == {"results": {"x": {"name": "x"}}}


def _result(rates, alloc, **kw):
    f = {"model": 5e9, "hardware": 7e9}
    return {"name": "r", "window_tokens_per_s": rates, "peak_allocated_gib": alloc, "peak_reserved_gib": alloc + 1,
            "flops_per_token": f, "peak_tflops": 989.0, **kw}


def test_combine_pools_windows_and_keeps_worst_memory():
    out = speed.combine([_result([10.0, 12.0], 3.0), _result([11.0, 20.0], 3.5),
                         {"name": "r", "error": "boom"}])
    assert out["window_tokens_per_s"] == [10.0, 12.0, 11.0, 20.0]
    assert out["tokens_per_s"] == {"min": 10, "median": 12, "max": 20, "n": 4}  # median 11.5 rounds to 12
    assert out["peak_allocated_gib"] == 3.5 and out["peak_reserved_gib"] == 4.5
    assert out["processes"] == 2 and out["failed_processes"] == ["boom"]
    assert out["mfu"] == pytest.approx(round(12 * 5e9 / 989e12, 4))
    assert speed.combine([{"name": "r", "error": "x"}]) == {"name": "r", "error": "x"}


def test_checkpoint_kwargs_use_the_library_switches():
    v = speed.VARIANTS
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt"]) == ({}, None)
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt11"]) == ({"every_n_layers": 2}, None)
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt6"]) == ({"every_n_layers": 4}, None)
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt16"]) == ({}, 16)  # no n gives ceil(22/n) = 16
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt-offload"]) == ({"offload": True}, None)
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt-sac"]) == ({"selective": True}, None)
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt16"], n_layers=4) == ({}, 3)  # scaled: --small
    assert speed.checkpoint_kwargs(v["trl-fixed-sdpa-liger-ckpt11"], n_layers=4) == ({"every_n_layers": 2}, None)
    assert "every_n_layers" in speed.checkpoint_method(v["trl-fixed-sdpa-liger-ckpt11"])
    assert "offloaded" in speed.checkpoint_method(v["unsloth-fixed-ckpt-unsloth"])


@pytest.mark.slow  # imports transformers (seconds); the step itself is a toy model's
def test_partial_checkpointing_switches_recompute_per_layer():
    """transformers' switches really change which layers recompute: count MLP calls in one training step."""
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    m = LlamaForCausalLM(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                                     num_attention_heads=2, num_key_value_heads=1, vocab_size=64))
    counts = [0] * 4
    for i, layer in enumerate(m.model.layers):
        def fwd(*a, _orig=layer.mlp.forward, _i=i, **k):
            counts[_i] += 1
            return _orig(*a, **k)
        layer.mlp.forward = fwd

    def step():
        counts[:] = [0] * 4
        m.train()
        x = torch.randint(0, 64, (1, 8))
        m(input_ids=x, labels=x).loss.backward()
        return list(counts)

    assert step() == [1, 1, 1, 1]
    m.gradient_checkpointing_enable()
    assert step() == [2, 2, 2, 2]
    m.gradient_checkpointing_enable(every_n_layers=2)
    assert step() == [2, 1, 2, 1]
    m.gradient_checkpointing_enable()
    m.model.layers[3].gradient_checkpointing = False
    assert step() == [2, 2, 2, 1]


def test_suites_name_known_runs_and_cover_both_frameworks():
    for suite, names in speed.SUITES.items():
        assert names and all(n in speed.VARIANTS for n in names), suite
    fair = speed.SUITES["fair"]
    assert fair == speed.SUITES["fair-trl"] + speed.SUITES["fair-unsloth"]
    sets = {(speed.VARIANTS[n]["framework"], speed.VARIANTS[n]["base"], speed.VARIANTS[n]["rows"]) for n in fair}
    for fw in ("trl", "unsloth"):
        for base in ("bf16", "4bit"):
            for rows in ("fixed", "variable"):
                assert (fw, base, rows) in sets, (fw, base, rows)
    # the same checkpointing policy (every layer, plain) for both frameworks, in each of the four shapes
    for base in ("bf16", "4bit"):
        for rows in ("fixed", "variable"):
            assert any(speed.VARIANTS[n]["framework"] == "trl" and speed.VARIANTS[n]["ckpt"] == 22
                       and not speed.VARIANTS[n]["ckpt_offload"] and speed.VARIANTS[n]["base"] == base
                       and speed.VARIANTS[n]["rows"] == rows for n in fair)
            assert any(speed.VARIANTS[n]["framework"] == "unsloth" and speed.VARIANTS[n]["ckpt"] == "true"
                       and speed.VARIANTS[n]["base"] == base and speed.VARIANTS[n]["rows"] == rows for n in fair)
    assert {speed.VARIANTS[n]["ckpt"] for n in fair if speed.VARIANTS[n]["framework"] == "trl"} >= {22, 16, 11, 6, 0}
    for suite in ("fair-trl", "fair-unsloth", "quick"):  # each fits one 10-minute device call
        steps = speed.WARMUP + speed.WINDOW * speed.REPEATS
        assert speed.plan_seconds(speed.SUITES[suite], steps) < 600, suite


def test_plot_points_and_frontier(tmp_path):
    def res(name, med, gib, **settings):
        return {"name": name, "framework": settings.get("framework", "trl"),
                "settings": {**speed.BASE, **settings}, "tokens_per_s": {"min": med - 1, "median": med, "max": med + 2},
                "peak_allocated_gib": gib}

    record = {"results": {"k22": res("k22", 20, 4.0, liger=True), "k0": res("k0", 40, 15.0, liger=True, ckpt=0),
                          "k11": res("k11", 30, 9.0, liger=True, ckpt=11),
                          "u": res("u", 36, 2.9, framework="unsloth", ckpt="unsloth"),
                          "off": res("off", 20, 3.3, liger=True, ckpt_offload=True),
                          "sac": res("sac", 17, 4.5, liger=True, sac=True),
                          "bad": {"name": "bad", "error": "x"}}}
    pts = plot_mod.points(record)
    assert {p["name"] for p in pts} == {"k22", "k0", "k11", "u", "off", "sac"}
    assert [p["name"] for p in plot_mod.frontier(pts)] == ["k22", "k11", "k0"]
    k22 = next(p for p in pts if p["name"] == "k22")
    assert (k22["lo"], k22["hi"]) == (1, 2)
    src = tmp_path / "r.json"
    src.write_text(json.dumps(record))
    png = plot_mod.plot(src, tmp_path / "r.png")
    assert png.stat().st_size > 5000


def test_fits_rule_uses_reserved_plus_headroom():
    f = footprints.fits(13.4)  # 13.4 + 1.5 = 14.9 GiB <= T4's 15.0 GiB
    assert f == {"T4 16 GB": True, "L4 24 GB": True, "A100 40 GB": True, "H100 80 GB": True}
    f = footprints.fits(19.4)
    assert f["T4 16 GB"] is False and f["L4 24 GB"] is True and footprints.smallest_card(f) == "L4 24 GB"
    assert footprints.fits(13.6)["T4 16 GB"] is False
    assert footprints.smallest_card(footprints.fits(100.0)) is None and footprints.fits(None) == {}


def test_footprint_configs_copy_the_notebooks():
    c = footprints.CONFIGS
    assert c["01"]["quant"] == "4bit" and c["01"]["max_length"] == 1024 and (c["01"]["batch"], c["01"]["accum"]) == (4, 4)
    assert c["02"]["lora"] is None and c["02"]["weights"] == "float32" and c["02"]["ckpt"] is False
    assert c["06"]["arch"] == "qwen25_05b" and c["06"]["batch"] % c["06"]["num_generations"] == 0
    assert set(footprints.DEFAULT) <= set(c) and set(footprints.ESTIMATE_S) == set(c)
    for key, cfg in c.items():
        assert (ROOT / next(ROOT.glob(f"Part_*/{cfg['notebook']}.ipynb"))).is_file(), key


def test_qwen_arch_matches_hub_config():
    q = arch.QWEN25_05B
    assert (q["hidden_size"], q["intermediate_size"], q["num_hidden_layers"]) == (896, 4864, 24)
    assert (q["num_attention_heads"], q["num_key_value_heads"], q["vocab_size"]) == (14, 2, 151936)
    assert q["tie_word_embeddings"] is True
    small = arch.arch_config("qwen25_05b", small=True)
    assert small["num_hidden_layers"] == 4 and small["vocab_size"] == 4096
