"""Tiny local models for smoke mode, of the same architecture families as the plan's full-mode models.

A SentencePiece BPE tokenizer of the Llama kind (the kind TinyLlama and Mistral use; llama.cpp's GGUF
converter reads it natively) is trained on the smoke world, then a small model per family is built from
a config and briefly pretrained on data/pretraining_corpus.txt, so it is a real, if small, base model.
Hidden and intermediate sizes are multiples of 256, which llama.cpp's k-quants need.

Each build is cached under $COOKBOOK_CACHE (default ~/.cache/llm-finetuning-cookbook) by a hash of its
recipe and inputs; the same recipe always rebuilds the same model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from .data import DATA_DIR

BUILD_VERSION = 1
# Zephyr-style chat format, as TinyLlama-1.1B-Chat uses: <|user|>\n...</s>\n<|assistant|>\n...</s>\n
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}"
)
TOKENIZER = {"model_type": "bpe", "vocab_size": 2048, "byte_fallback": True, "split_digits": True}
_TEXT = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
         "num_key_value_heads": 2, "max_position_embeddings": 1024, "rms_norm_eps": 1e-5,
         "tie_word_embeddings": False}
PRETRAIN = {"seq_len": 128, "batch_size": 16, "steps": 400, "lr": 3e-3, "warmup": 30, "seed": 0}
FAMILIES = {
    "llama": {"config": "LlamaConfig", "model": "LlamaForCausalLM", "kwargs": _TEXT, "pretrain": PRETRAIN},
    "mistral": {"config": "MistralConfig", "model": "MistralForCausalLM",
                "kwargs": {**_TEXT, "sliding_window": None}, "pretrain": PRETRAIN},
    "mixtral": {"config": "MixtralConfig", "model": "MixtralForCausalLM",
                "kwargs": {**_TEXT, "num_local_experts": 4, "num_experts_per_tok": 2,
                           "router_aux_loss_coef": 0.02, "output_router_logits": False},
                "pretrain": PRETRAIN},
}
# LLaVA-style VLM: a small CLIP vision tower (random init) + projector + the pretrained tiny Llama as language model.
# 64x64 images in 16x16 patches: 16 image tokens per image (the CLS token is dropped, strategy "default").
LLAVA = {"vision": {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                    "image_size": 64, "patch_size": 16, "projection_dim": 256},
         "vision_feature_select_strategy": "default", "vision_feature_layer": -1, "seed": 0}
VLM_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{%- if message['content'] is string %}{{ message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'image' %}{{ '<image>\n' }}{%- elif part['type'] == 'text' %}{{ part['text'] }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{ eos_token + '\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}"
)


def cache_dir() -> Path:
    return Path(os.environ.get("COOKBOOK_CACHE", Path.home() / ".cache" / "llm-finetuning-cookbook"))


def _fingerprint(*parts) -> str:
    import transformers

    h = hashlib.sha256(json.dumps([BUILD_VERSION, transformers.__version__, *parts], sort_keys=True).encode())
    for path in sorted(DATA_DIR.rglob("*.jsonl")) + [DATA_DIR / "pretraining_corpus.txt"]:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _cached(name: str, build) -> Path:
    """Return cache_dir()/name, building it in a temporary folder first when absent (atomic rename)."""
    target = cache_dir() / name
    if (target / "DONE").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=name + ".", dir=target.parent))
    try:
        build(tmp)
        (tmp / "DONE").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _world_texts() -> list[str]:
    """Every string of the smoke world, plus its chats rendered in the chat format, to train the tokenizer on."""
    texts = (DATA_DIR / "pretraining_corpus.txt").read_text().splitlines()

    def walk(x):
        if isinstance(x, str):
            texts.append(x)
        elif isinstance(x, dict):
            if set(x) == {"role", "content"} and isinstance(x["content"], str):
                texts.append(f"<|{x['role']}|>\n{x['content']}\n")
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for path in sorted(DATA_DIR.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            walk(json.loads(line))
    return texts


def build_tokenizer(folder: Path) -> None:
    """Train a Llama-kind SentencePiece BPE tokenizer and write tokenizer.model + tokenizer_config.json."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_world_texts()), model_prefix=str(folder / "tokenizer"),
        model_type=TOKENIZER["model_type"], vocab_size=TOKENIZER["vocab_size"], hard_vocab_limit=False,
        byte_fallback=TOKENIZER["byte_fallback"], split_digits=TOKENIZER["split_digits"], character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, num_threads=1, minloglevel=2)
    (folder / "tokenizer.vocab").unlink()
    config = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "pad_token": "</s>", "add_bos_token": True, "add_eos_token": False, "legacy": False,
              "model_max_length": _TEXT["max_position_embeddings"], "chat_template": CHAT_TEMPLATE}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def tokenizer_path() -> Path:
    return _cached(f"tokenizer-{_fingerprint(TOKENIZER, CHAT_TEMPLATE)}", build_tokenizer)


def tiny_model(family: str = "llama") -> str:
    """Path of a tiny model of `family` (llama, mistral, mixtral: pretrained; llava: a VLM), built once and cached."""
    if family == "llava":
        llama = Path(tiny_model("llama"))
        name = f"tiny-llava-{_fingerprint(LLAVA, VLM_CHAT_TEMPLATE, llama.name)}"
        return str(_cached(name, lambda folder: _build_llava(folder, llama)))
    if family not in FAMILIES:
        raise KeyError(f"no tiny recipe for {family!r}; families: {sorted(FAMILIES) + ['llava']}")
    recipe = FAMILIES[family]
    tok_dir = tokenizer_path()
    name = f"tiny-{family}-{_fingerprint(recipe, TOKENIZER, CHAT_TEMPLATE)}"
    return str(_cached(name, lambda folder: _build_text_model(folder, recipe, tok_dir)))


def _build_text_model(folder: Path, recipe: dict, tok_dir: Path) -> None:
    import torch
    import transformers

    print(f"Building a tiny {recipe['model']} (cached for next time) ...", flush=True)
    t0 = time.perf_counter()
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    config = getattr(transformers, recipe["config"])(
        vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, **recipe["kwargs"])
    p = recipe["pretrain"]
    torch.manual_seed(p["seed"])
    model = getattr(transformers, recipe["model"])(config)
    ids: list[int] = []
    for line in (DATA_DIR / "pretraining_corpus.txt").read_text().splitlines():
        ids += tok(line).input_ids + [tok.eos_token_id]
    blocks = torch.tensor(ids[: len(ids) // p["seq_len"] * p["seq_len"]]).view(-1, p["seq_len"])
    opt = torch.optim.AdamW(model.parameters(), lr=p["lr"], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / p["warmup"]) * 0.5 * (1 + math.cos(math.pi * s / p["steps"])))
    gen = torch.Generator().manual_seed(p["seed"])
    model.train()
    for _ in range(p["steps"]):
        batch = blocks[torch.randint(0, len(blocks), (p["batch_size"],), generator=gen)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    shutil.copy(tok_dir / "tokenizer.model", folder / "tokenizer.model")  # llama.cpp's converter reads it
    info = {"recipe": recipe, "final_pretrain_loss": round(loss.item(), 4),
            "parameters": sum(t.numel() for t in model.parameters()), "seconds": round(time.perf_counter() - t0, 1)}
    (folder / "cookbook_recipe.json").write_text(json.dumps(info, indent=2))
    print(f"  {info['parameters'] / 1e6:.1f}M parameters, pretrain loss {info['final_pretrain_loss']}, "
          f"{info['seconds']} s", flush=True)


def _build_llava(folder: Path, llama: Path) -> None:
    """LLaVA layout: vision tower -> multi-modal projector -> language model; processor with an <image> token."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(llama)
    tok.add_tokens(["<image>"], special_tokens=True)
    lm = transformers.AutoModelForCausalLM.from_pretrained(llama)
    lm.resize_token_embeddings(len(tok))
    vision = transformers.CLIPVisionConfig(**LLAVA["vision"])
    config = transformers.LlavaConfig(
        vision_config=vision, text_config=lm.config, image_token_index=tok.convert_tokens_to_ids("<image>"),
        image_seq_length=(vision.image_size // vision.patch_size) ** 2,
        vision_feature_select_strategy=LLAVA["vision_feature_select_strategy"],
        vision_feature_layer=LLAVA["vision_feature_layer"])
    torch.manual_seed(LLAVA["seed"])
    model = transformers.LlavaForConditionalGeneration(config)
    model.model.language_model.load_state_dict(lm.model.state_dict())
    model.lm_head.load_state_dict(lm.lm_head.state_dict())
    model.generation_config.pad_token_id = tok.pad_token_id
    size = vision.image_size
    processor = transformers.LlavaProcessor(
        image_processor=transformers.CLIPImageProcessor(size={"shortest_edge": size},
                                                        crop_size={"height": size, "width": size}),
        tokenizer=tok, patch_size=vision.patch_size, num_additional_image_tokens=1,
        vision_feature_select_strategy=LLAVA["vision_feature_select_strategy"], chat_template=VLM_CHAT_TEMPLATE)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    info = {"recipe": LLAVA, "language_model": llama.name, "parameters": sum(t.numel() for t in model.parameters())}
    (folder / "cookbook_recipe.json").write_text(json.dumps(info, indent=2))
