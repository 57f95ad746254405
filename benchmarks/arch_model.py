"""Architecture-true stand-ins for the notebooks' full-mode models when the Hub is out of reach.

Each model is its Hub config's sizes with random weights, plus a synthetic word-level tokenizer of 2,048 tokens
("w3" ... "w2047" and the family's special tokens, with its chat template): built without training, so decoding
random ids and encoding the text again gives the same ids, and synthetic rows have exactly the lengths asked for.
Every full-size embedding accepts those ids. Memory and speed depend on shapes, not on weight values.

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
    "tinyllama": dict(config="LlamaConfig", model="LlamaForCausalLM", sizes=TINYLLAMA, tokenizer="zephyr"),
    "qwen25_05b": dict(config="Qwen2Config", model="Qwen2ForCausalLM", sizes=QWEN25_05B, tokenizer="chatml"),
}
# Zephyr-style (TinyLlama-1.1B-Chat) and ChatML (Qwen2.5-Instruct) chat formats
ZEPHYR = ("{%- for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
          "{%- endfor %}{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}")
CHATML = ("{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
          "{%- endif %}")
TOKENIZERS = {  # specials first (ids 0, 1, 2), then the chat markers, then words up to 2,048 tokens
    "zephyr": dict(specials=["<unk>", "<s>", "</s>"], markers=["<|user|>", "<|assistant|>", "<|system|>"],
                   bos="<s>", eos="</s>", pad="</s>", unk="<unk>", template=ZEPHYR),
    "chatml": dict(specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], markers=["user", "assistant", "system"],
                   bos=None, eos="<|im_end|>", pad="<|endoftext|>", unk="<|endoftext|>", template=CHATML),
}
VOCAB = 2048


def synthetic_tokenizer(kind: str):
    """A word-level fast tokenizer of VOCAB tokens with the chat format of `kind` (no training, no files)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    t = TOKENIZERS[kind]
    tokens = t["specials"] + t["markers"]
    tokens += [f"w{i}" for i in range(len(tokens), VOCAB)]
    tk = Tokenizer(models.WordLevel({tok: i for i, tok in enumerate(tokens)}, unk_token=t["unk"]))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins tokens with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=t["bos"], eos_token=t["eos"], pad_token=t["pad"],
                                   unk_token=t["unk"], additional_special_tokens=t["specials"][1:],
                                   chat_template=t["template"], model_max_length=32768,
                                   clean_up_tokenization_spaces=False)


def arch_config(arch: str, small: bool = False) -> dict:
    sizes = dict(ARCHS[arch]["sizes"])
    if small:
        sizes.update(SMALL, vocab_size=4096, max_position_embeddings=2048)
    return sizes


def arch_model(folder: Path, arch: str = "tinyllama", dtype: str = "bfloat16", small: bool = False,
               tokenizer: str = "synthetic") -> Path:
    """Write the random-init model of `arch` (and a tokenizer) to `folder`, once; return the folder.

    tokenizer: "synthetic" (the word-level one above) or "cookbook" (the cookbook's tiny trained Llama-kind
    tokenizer, for runs on real text such as full_sft_strategies.py's)."""
    import torch
    import transformers

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    spec = ARCHS[arch]
    if tokenizer == "cookbook":
        from transformers import AutoTokenizer

        from cookbook.tiny import tokenizer_path

        tok = AutoTokenizer.from_pretrained(tokenizer_path())
    else:
        tok = synthetic_tokenizer(spec["tokenizer"])
    sizes = arch_config(arch, small)
    sizes.update(bos_token_id=tok.bos_token_id if tok.bos_token else tok.pad_token_id,
                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    config = getattr(transformers, spec["config"])(**sizes)
    model = getattr(transformers, spec["model"])(config).to(getattr(torch, dtype))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(folder)  # complete or absent: a killed run leaves no half-written model behind
    return folder


def tinyllama_arch(folder: Path, dtype: str = "bfloat16") -> Path:
    """Write the random-init TinyLlama-1.1B-architecture model (and the cookbook's tokenizer) to `folder`, once."""
    return arch_model(folder, "tinyllama", dtype, tokenizer="cookbook")
