"""Architecture-true stand-ins for the notebooks' full-mode models when the Hub is out of reach.

Each model is its Hub config's sizes with random weights, plus one of the cookbook's tiny tokenizers (token ids
stay below the tokenizer's 2,048 plus a few specials, which every full-size embedding accepts). Memory and speed
depend on shapes, not on weight values.

    tinyllama   TinyLlama/TinyLlama-1.1B-Chat-v1.0 (notebooks 01, 01b, 02, 03, 04; 05's TinyLlama_v1.1 has the
                same shapes); SentencePiece tokenizer
    qwen25_05b  Qwen/Qwen2.5-0.5B-Instruct (notebook 06); byte-level BPE tokenizer, ChatML

`small=True` gives the same architecture family at toy sizes, for logic checks on a CPU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json
TINYLLAMA = dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                 num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5,
                 rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=2)
# Qwen/Qwen2.5-0.5B-Instruct's config.json (q/k/v carry biases: Qwen2's architecture; 0.49B parameters, tied)
QWEN25_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
                  rope_theta=1000000.0, tie_word_embeddings=True, sliding_window=32768, use_sliding_window=False,
                  max_window_layers=21, bos_token_id=151643, eos_token_id=151645, pad_token_id=151643)
# toy sizes of each family, for --small logic checks (vocabulary kept above the tiny tokenizers' ids)
SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2)

ARCHS = {
    "tinyllama": dict(config="LlamaConfig", model="LlamaForCausalLM", sizes=TINYLLAMA, tokenizer="sentencepiece"),
    "qwen25_05b": dict(config="Qwen2Config", model="Qwen2ForCausalLM", sizes=QWEN25_05B, tokenizer="byte_bpe"),
}


def arch_config(arch: str, small: bool = False) -> dict:
    sizes = dict(ARCHS[arch]["sizes"])
    if small:
        sizes.update(SMALL, vocab_size=4096, max_position_embeddings=2048)
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            sizes[key] = min(sizes[key], 2) if arch == "tinyllama" else None
    return sizes


def arch_model(folder: Path, arch: str = "tinyllama", dtype: str = "bfloat16", small: bool = False) -> Path:
    """Write the random-init model of `arch` (and a tokenizer) to `folder`, once; return the folder."""
    import torch
    import transformers
    from transformers import AutoTokenizer

    from cookbook.tiny import tokenizer_path

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    spec = ARCHS[arch]
    try:
        tok_dir = tokenizer_path(spec["tokenizer"])
    except TypeError:  # a helper with one tokenizer kind only: the Llama kind's (ids < 2,048 fit either model)
        spec = {**spec, "tokenizer": "sentencepiece"}
        tok_dir = tokenizer_path()
    sizes = arch_config(arch, small)
    if spec["tokenizer"] == "byte_bpe":  # the tiny ChatML tokenizer's own special ids (all below 2,100)
        tok = AutoTokenizer.from_pretrained(tok_dir)
        sizes.update(bos_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    elif arch != "tinyllama":  # the Llama-kind tokenizer's ids: unk 0, bos 1, eos 2 (pad = eos)
        sizes.update(bos_token_id=1, eos_token_id=2, pad_token_id=2)
    torch.manual_seed(0)
    config = getattr(transformers, spec["config"])(**sizes)
    model = getattr(transformers, spec["model"])(config).to(getattr(torch, dtype))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for f in tok_dir.iterdir():
        if f.is_file() and f.name != "DONE":
            shutil.copy(f, tmp / f.name)
    tmp.rename(folder)  # complete or absent: a killed run leaves no half-written model behind
    return folder


def tinyllama_arch(folder: Path, dtype: str = "bfloat16") -> Path:
    """Write the random-init TinyLlama-1.1B-architecture model (and a tokenizer) to `folder`, once."""
    return arch_model(folder, "tinyllama", dtype)
