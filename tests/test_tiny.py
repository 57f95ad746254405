"""Tiny models: Llama-kind SentencePiece tokenizer, architecture families, cache."""

import json
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoTokenizer, LlamaTokenizer

import cookbook
from cookbook import tiny


@pytest.fixture(scope="module")
def llama():
    return Path(cookbook.tiny_model("llama"))


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


def test_cache_is_reused(llama):
    assert Path(cookbook.tiny_model("llama")) == llama


def test_tokenizer_training_is_deterministic(tmp_path):
    tiny.build_tokenizer(tmp_path / "a")
    tiny.build_tokenizer(tmp_path / "b")
    import sentencepiece as spm

    a, b = (spm.SentencePieceProcessor(model_file=str(tmp_path / d / "tokenizer.model")) for d in "ab")
    assert [a.id_to_piece(i) for i in range(a.get_piece_size())] == [b.id_to_piece(i) for i in range(b.get_piece_size())]
    assert [a.get_score(i) for i in range(a.get_piece_size())] == [b.get_score(i) for i in range(b.get_piece_size())]


def test_unknown_family_is_a_clear_error():
    with pytest.raises(KeyError, match="no tiny recipe"):
        cookbook.tiny_model("gpt5")


@pytest.mark.parametrize("family, model_type", [("mistral", "mistral"), ("mixtral", "mixtral")])
def test_other_families_config(family, model_type):
    recipe = tiny.FAMILIES[family]
    import transformers

    cfg = getattr(transformers, recipe["config"])(**recipe["kwargs"])
    assert cfg.model_type == model_type and cfg.hidden_size % 256 == 0


def test_llava_takes_an_image_and_a_chat():
    import torch
    from transformers import AutoModelForCausalLM, AutoProcessor, LlavaForConditionalGeneration

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
