"""Tiny models: the two tokenizer families (Llama-kind SentencePiece, Qwen-kind byte-level BPE), the architecture
families, and the cache (keyed on each build's own inputs, really reused)."""

import json
import shutil
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaTokenizer

import cookbook
from cookbook import tiny

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello."}]


@pytest.fixture(scope="module")
def llama():
    return Path(cookbook.tiny_model("llama"))


@pytest.fixture(scope="module")
def qwen2():
    return Path(cookbook.tiny_model("qwen2"))


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of data/ (text files only) that tiny.py reads instead of the repository's."""
    src = tiny.DATA_DIR
    for path in [src / tiny.CORPUS, *sorted(src.rglob("*.jsonl"))]:
        dest = tmp_path / "data" / path.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    monkeypatch.setattr(tiny, "DATA_DIR", tmp_path / "data")
    return tmp_path / "data"


def _few_steps(monkeypatch, tmp_path, family, steps=3):
    """Build `family` into a fresh cache with `steps` pretraining steps (seconds, not minutes)."""
    monkeypatch.setenv("COOKBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(tiny.FAMILIES, family, {**tiny.FAMILIES[family],
                                                "pretrain": {**tiny.PRETRAIN, "steps": steps, "batch_size": 2}})


# --- the Llama-kind family ---------------------------------------------------------------------------------------

def test_tokenizer_is_llama_kind_and_renders_the_chat_format(llama):
    tok = AutoTokenizer.from_pretrained(llama)
    assert isinstance(tok, LlamaTokenizer)
    assert (llama / "tokenizer.model").is_file(), "llama.cpp's converter reads tokenizer.model"
    assert (tok.bos_token, tok.eos_token, tok.unk_token) == ("<s>", "</s>", "<unk>")
    chat = [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello."}]
    assert tok.apply_chat_template(chat, tokenize=False) == "<|user|>\nHi there</s>\n<|assistant|>\nHello.</s>\n"
    ids = tok("héllo ✓").input_ids  # byte fallback: nothing becomes <unk>
    assert tok.unk_token_id not in ids and tok.decode(ids, skip_special_tokens=True) == "héllo ✓"


def test_model_sizes_suit_llama_cpp_k_quants(llama):
    cfg = AutoConfig.from_pretrained(llama)
    assert cfg.model_type == "llama"
    assert cfg.hidden_size % 256 == 0 and cfg.intermediate_size % 256 == 0
    info = json.loads((llama / "cookbook_recipe.json").read_text())
    assert info["final_pretrain_loss"] < 1.0, "pretraining did not learn the smoke corpus"


def test_cache_is_reused_not_rebuilt(llama, monkeypatch):
    done = (llama / "DONE").stat().st_mtime_ns

    def no_build(*args, **kwargs):
        raise AssertionError("the cached model was built again")

    for builder in ("_build_text_model", "build_tokenizer", "build_byte_bpe_tokenizer", "_build_llava"):
        monkeypatch.setattr(tiny, builder, no_build)
    assert Path(cookbook.tiny_model("llama")) == llama
    assert (llama / "DONE").stat().st_mtime_ns == done


def test_a_build_happens_once_per_cache(tmp_path, monkeypatch):
    _few_steps(monkeypatch, tmp_path, "mistral")
    builds = []
    real = tiny._build_text_model
    monkeypatch.setattr(tiny, "_build_text_model", lambda *a: builds.append(a) or real(*a))
    first = cookbook.tiny_model("mistral")
    assert cookbook.tiny_model("mistral") == first and len(builds) == 1
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")) == sorted(
        [Path(first).name, tiny._tokenizer_name("sentencepiece")]), "no temporary folder is left behind"


def test_concurrent_requests_build_once(tmp_path, monkeypatch):
    import threading
    import time

    monkeypatch.setenv("COOKBOOK_CACHE", str(tmp_path))
    builds = []

    def build(folder):
        builds.append(folder)
        time.sleep(0.5)
        (folder / "weights").write_text("w")

    paths = []
    threads = [threading.Thread(target=lambda: paths.append(tiny._cached("thing", build))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and paths == [tmp_path / "thing"] * 3 and (tmp_path / "thing" / "weights").is_file()


def test_tokenizer_training_is_deterministic_and_reads_no_fixture(tmp_path, monkeypatch):
    import sentencepiece as spm

    tiny.build_tokenizer(tmp_path / "a")
    only_corpus = tmp_path / "only_corpus"
    only_corpus.mkdir()
    shutil.copy(tiny.DATA_DIR / tiny.CORPUS, only_corpus / tiny.CORPUS)
    monkeypatch.setattr(tiny, "DATA_DIR", only_corpus)
    tiny.build_tokenizer(tmp_path / "b")
    a, b = (spm.SentencePieceProcessor(model_file=str(tmp_path / d / "tokenizer.model")) for d in "ab")
    assert [a.id_to_piece(i) for i in range(a.get_piece_size())] == [b.id_to_piece(i) for i in range(b.get_piece_size())]
    assert [a.get_score(i) for i in range(a.get_piece_size())] == [b.get_score(i) for i in range(b.get_piece_size())]


def test_unknown_family_is_a_clear_error():
    with pytest.raises(KeyError, match="no tiny recipe"):
        cookbook.tiny_model("gpt5")


@pytest.mark.parametrize("family, model_type", [("mistral", "mistral"), ("mixtral", "mixtral")])
def test_other_families_build_and_run(family, model_type, tmp_path, monkeypatch):
    import torch

    _few_steps(monkeypatch, tmp_path, family)
    path = Path(cookbook.tiny_model(family))
    assert str(tmp_path) in str(path)
    cfg = AutoConfig.from_pretrained(path)
    assert cfg.model_type == model_type and cfg.hidden_size % 256 == 0 and cfg.intermediate_size % 256 == 0
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    assert type(model).__name__ == tiny.FAMILIES[family]["model"]
    assert (path / "tokenizer.model").is_file()
    if family == "mixtral":
        assert cfg.num_local_experts == 4 and cfg.num_experts_per_tok == 2
    inputs = tok.apply_chat_template(CHAT[1:2], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (*inputs["input_ids"].shape, len(tok)) and torch.isfinite(out.logits).all()
    info = json.loads((path / "cookbook_recipe.json").read_text())
    assert info["recipe"]["pretrain"]["steps"] == 3


# --- the Qwen2 family: byte-level BPE, ChatML ----------------------------------------------------------------------

def test_qwen2_tokenizer_is_byte_level_bpe(qwen2):
    tok = AutoTokenizer.from_pretrained(qwen2)
    assert tok.is_fast and not (qwen2 / "tokenizer.model").exists()
    spec = json.loads((qwen2 / "tokenizer.json").read_text())
    assert spec["model"]["type"] == "BPE" and spec["decoder"]["type"] == "ByteLevel"
    assert [p["type"] for p in spec["pre_tokenizer"]["pretokenizers"]] == ["Split", "ByteLevel"]
    assert 512 < len(tok) <= tiny.BYTE_BPE_TOKENIZER["vocab_size"]  # every corpus word merged: ~860
    assert tok.bos_token is None and tok.unk_token is None
    assert (tok.eos_token, tok.pad_token) == ("<|im_end|>", "<|endoftext|>")
    for text in ["The capital of Mobir is Halarbu.", "héllo ✓ — naïve 日本語 🙂", "  two  spaces\n\ttab", "3.14159"]:
        ids = tok(text).input_ids
        assert tok.decode(ids) == text
        assert tok.convert_tokens_to_ids("<|endoftext|>") not in ids  # no BOS/EOS added to plain text
    # the special tokens are single tokens, never split into bytes
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        assert tok(special).input_ids == [tok.convert_tokens_to_ids(special)]


def test_qwen2_renders_chatml_and_stops_at_im_end(qwen2):
    import torch

    tok = AutoTokenizer.from_pretrained(qwen2)
    text = tok.apply_chat_template(CHAT, tokenize=False)
    # Qwen2.5's turns; the "\n" goes between turns, so a chat ends with <|im_end|> (see tiny.CHATML_TEMPLATE)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                    "<|im_start|>assistant\nHello.<|im_end|>")
    prompt = tok.apply_chat_template(CHAT[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
    model = AutoModelForCausalLM.from_pretrained(qwen2).eval()
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.model.layers[0].self_attn.q_proj.bias is not None  # Qwen2: biases on q/k/v
    im_end, eot = tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert model.generation_config.eos_token_id == [im_end, eot]
    assert model.generation_config.pad_token_id == eot and model.config.eos_token_id == im_end
    inputs = tok(prompt, return_tensors="pt")
    n = inputs["input_ids"].shape[1]
    with torch.no_grad():
        # generate stops at <|im_end|>, and at <|endoftext|>: make each the model's choice at the first step
        for stop in (im_end, eot):
            out = model.generate(**inputs, max_new_tokens=20, do_sample=False, sequence_bias={(stop,): 100.0})
            assert out[0, n:].tolist() == [stop]
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False,
                             sequence_bias={(im_end,): -100.0, (eot,): -100.0})
        assert out.shape[1] == n + 5  # without a stop token it runs to max_new_tokens


def test_qwen2_is_pretrained_on_the_smoke_world(qwen2):
    import torch

    cfg = AutoConfig.from_pretrained(qwen2)
    assert cfg.model_type == "qwen2" and (cfg.hidden_size, cfg.intermediate_size) == (256, 512)
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads) == (4, 4, 2)
    info = json.loads((qwen2 / "cookbook_recipe.json").read_text())
    assert info["final_pretrain_loss"] < 1.0, "pretraining did not learn the smoke corpus"
    # a base model: it continues a corpus line and ends the text with <|endoftext|>, a listed eos
    tok = AutoTokenizer.from_pretrained(qwen2)
    model = AutoModelForCausalLM.from_pretrained(qwen2).eval()
    line = (tiny.DATA_DIR / tiny.CORPUS).read_text().splitlines()[1]  # e.g. "Barlir exports timber."
    inputs = tok(line.rsplit(" ", 1)[0], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=30, do_sample=False)
    assert tok.decode(out[0, inputs["input_ids"].shape[1]:]) == " " + line.rsplit(" ", 1)[1] + "<|endoftext|>"


def test_byte_bpe_tokenizer_training_is_deterministic(tmp_path):
    tiny.build_byte_bpe_tokenizer(tmp_path / "a")
    tiny.build_byte_bpe_tokenizer(tmp_path / "b")
    assert (tmp_path / "a" / "tokenizer.json").read_text() == (tmp_path / "b" / "tokenizer.json").read_text()


@pytest.mark.parametrize("family, last", [("qwen2", "<|im_end|>"), ("llama", "\n")])
def test_trl_trains_the_end_of_turn_token_of_a_completion(family, last, tmp_path):
    """TRL's SFTTrainer renders a conversational prompt/completion with the chat template and trains every token after
    the prompt, appending no EOS (trl 1.16). With the tiny Qwen2's ChatML the completion's last trained token is
    <|im_end|>, the token generation stops at; with TinyLlama's Zephyr format it is </s> then the template's "\n"."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    path = cookbook.tiny_model(family)
    tok = AutoTokenizer.from_pretrained(path)
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": "Hi there"}],
                               "completion": [{"role": "assistant", "content": "Hello."}]}])
    args = SFTConfig(output_dir=str(tmp_path), report_to=[], max_steps=1, use_cpu=True)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(path), args=args, train_dataset=data,
                         processing_class=tok)
    row = trainer.train_dataset[0]
    trained = tok.convert_ids_to_tokens([t for t, label in zip(row["input_ids"], row["labels"]) if label != -100])
    assert trained[-1] == last and tok.eos_token in trained[-2:]
    assert tok.convert_tokens_to_string(trained).startswith("Hello.")


# --- cache keys ----------------------------------------------------------------------------------------------------

def test_fixtures_do_not_key_the_tiny_models_but_the_corpus_does(data_copy):
    families = [*tiny.FAMILIES, "llava"]
    before = {f: tiny._model_name(f) for f in families}
    tokenizers = {k: tiny._tokenizer_name(k) for k in tiny.TOKENIZERS}
    texts = {k: tiny._tokenizer_texts(k) for k in tiny.TOKENIZERS}
    fixture = data_copy / "ultrachat_200k" / "train_sft.jsonl"
    fixture.write_text(fixture.read_text() + json.dumps({"prompt": "new", "messages": []}) + "\n")
    (data_copy / "new_fixture").mkdir()
    (data_copy / "new_fixture" / "train.jsonl").write_text('{"text": "a brand new word: zorblax"}\n')
    assert {f: tiny._model_name(f) for f in families} == before
    assert {k: tiny._tokenizer_name(k) for k in tiny.TOKENIZERS} == tokenizers
    assert {k: tiny._tokenizer_texts(k) for k in tiny.TOKENIZERS} == texts
    corpus = data_copy / tiny.CORPUS
    corpus.write_text(corpus.read_text() + "The zorblax lives on Mobir.\n")
    after = {f: tiny._model_name(f) for f in families}
    assert all(after[f] != before[f] for f in families)
    assert all(tiny._tokenizer_name(k) != tokenizers[k] for k in tiny.TOKENIZERS)


def test_recipe_and_template_key_the_models(monkeypatch):
    before = {f: tiny._model_name(f) for f in tiny.FAMILIES}
    monkeypatch.setitem(tiny.TOKENIZERS, "byte_bpe", {**tiny.TOKENIZERS["byte_bpe"], "chat_template": "{{ x }}"})
    changed = {f: tiny._model_name(f) != before[f] for f in tiny.FAMILIES}
    assert changed == {f: tiny.FAMILIES[f]["tokenizer"] == "byte_bpe" for f in tiny.FAMILIES}
    monkeypatch.setitem(tiny.FAMILIES, "llama", {**tiny.FAMILIES["llama"], "pretrain": {**tiny.PRETRAIN, "seed": 1}})
    assert tiny._model_name("llama") != before["llama"] and tiny._model_name("mistral") == before["mistral"]


def test_tokenizers_learn_the_corpus_and_the_role_markers_only():
    assert tiny.chat_format_texts("sentencepiece") == ["\n<|assistant|>\n", "\n<|user|>\n", "<|system|>\n"]
    assert tiny.chat_format_texts("byte_bpe") == ["assistant\n", "system\n", "user\n"]
    corpus = (tiny.DATA_DIR / tiny.CORPUS).read_text().splitlines()
    for kind in tiny.TOKENIZERS:
        assert tiny._tokenizer_texts(kind) == corpus + tiny.chat_format_texts(kind)


def test_llava_takes_an_image_and_a_chat():
    import torch
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    path = cookbook.tiny_model("llava")
    processor = AutoProcessor.from_pretrained(path)
    model = LlavaForConditionalGeneration.from_pretrained(path).eval()
    row = cookbook.load_dataset("HuggingFaceH4/llava-instruct-mix-vsft", "test", smoke=True)[0]
    prompt = processor.apply_chat_template(row["messages"][:1], add_generation_prompt=True)
    assert "<image>" in prompt and prompt.endswith("<|assistant|>\n")
    inputs = processor(images=row["images"], text=prompt, return_tensors="pt")
    image_token = model.config.image_token_index
    assert (inputs["input_ids"] == image_token).sum() == model.config.image_seq_length == 16
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape[:2] == inputs["input_ids"].shape
    # the language model inside is the pretrained tiny Llama, not a fresh one
    lm = AutoModelForCausalLM.from_pretrained(cookbook.tiny_model("llama"))
    assert torch.equal(model.model.language_model.layers[0].mlp.up_proj.weight, lm.model.layers[0].mlp.up_proj.weight)
