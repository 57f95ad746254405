"""An architecture-true stand-in for TinyLlama/TinyLlama-1.1B-Chat-v1.0 when the Hub is out of reach.

Its config's sizes with random weights, plus the cookbook's tiny tokenizer (token ids stay below the tokenizer's
2,048, which the 32,000-row embedding accepts). Memory and speed depend on shapes, not on weight values.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json
TINYLLAMA = dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                 num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5,
                 rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=2)


def tinyllama_arch(folder: Path, dtype: str = "bfloat16") -> Path:
    """Write the random-init TinyLlama-1.1B-architecture model (and a tokenizer) to `folder`, once."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cookbook.tiny import tokenizer_path

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINYLLAMA)).to(getattr(torch, dtype))
    model.save_pretrained(folder)
    tok = tokenizer_path()
    for f in tok.iterdir():
        if f.is_file() and f.name != "DONE":
            shutil.copy(f, folder / f.name)
    return folder
