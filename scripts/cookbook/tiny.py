"""Tiny local models for smoke mode, of the same architecture families as the plan's full-mode models.

Two tokenizer families, each trained on data/pretraining_corpus.txt plus the few strings its chat format
needs (the role markers, rendered in the template's format) and nothing from the fixtures:

- a SentencePiece BPE tokenizer of the Llama kind (TinyLlama, Mistral; byte fallback; llama.cpp's GGUF
  converter reads its tokenizer.model) with the Zephyr chat format TinyLlama-1.1B-Chat uses, for the
  llama, mistral and mixtral families (and the llava VLM built on the tiny Llama);
- a byte-level BPE tokenizer of the GPT-2/Qwen kind (tokenizer.json) with the ChatML chat format of
  Qwen2.5-Instruct, for the qwen2 family.

A small model per family is built from a config and briefly pretrained on the same corpus, so it is a real,
if small, base model that knows the smoke world. Hidden and intermediate sizes are multiples of 256, which
llama.cpp's k-quants need.

Each build is cached under $COOKBOOK_CACHE (default ~/.cache/llm-finetuning-cookbook) by a hash of its own
inputs only: the pretraining corpus, its recipe, its chat template and the library versions. Adding or changing
a fixture does not rebuild a tiny model; the same recipe always rebuilds the same model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import string
import tempfile
import time
from pathlib import Path

from .data import DATA_DIR

BUILD_VERSION = 2
CORPUS = "pretraining_corpus.txt"  # the only file in data/ a tiny model is built from
CHAT_ROLES = ("system", "user", "assistant")
# Zephyr-style chat format, as TinyLlama-1.1B-Chat uses: <|user|>\n...</s>\n<|assistant|>\n...</s>\n
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}"
)
# ChatML, as Qwen2.5-Instruct uses: <|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n...<|im_end|>
# A turn ends with <|im_end|>; the "\n" goes between turns (before each <|im_start|>) rather than after the last
# one, so a rendered chat ends with <|im_end|> and TRL's SFTTrainer, which trains everything after the prompt of a
# conversational prompt/completion and appends no EOS, trains <|im_end|> as the completion's last token. Between
# turns and in the generation prompt it renders exactly as Qwen2.5's template. The {% generation %} markers (no
# effect on the text) let TRL's assistant_only_loss mask everything but the assistant's turns.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if not loop.first %}{{ '\n' }}{%- endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{ message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{%- else %}{{ message['content'] + '<|im_end|>' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ ('\n' if messages else '') + '<|im_start|>assistant\n' }}{%- endif %}"
)
# required_chars: every printable ASCII character is a piece of its own, as in a real Llama tokenizer, even where
# the corpus lacks it (a question mark, a capital W): text beyond the corpus falls back to bytes only outside ASCII.
TOKENIZER = {"model_type": "bpe", "vocab_size": 2048, "byte_fallback": True, "split_digits": True,
             "required_chars": string.ascii_letters + string.digits + string.punctuation}
# Byte-level BPE of the GPT-2/Qwen kind, with Qwen2's normalizer and pre-tokenizer split (digits one by one).
BYTE_BPE_TOKENIZER = {
    "model_type": "byte_level_bpe", "vocab_size": 2048, "normalizer": "NFC",
    "split": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
# Which tokenizer (recipe, chat template, token that ends a pretraining sequence) each text family uses.
TOKENIZERS = {
    "sentencepiece": {"recipe": TOKENIZER, "chat_template": CHAT_TEMPLATE, "end_of_text": "</s>",
                      "eos_token": "</s>", "special_tokens": ["</s>"]},
    "byte_bpe": {"recipe": BYTE_BPE_TOKENIZER, "chat_template": CHATML_TEMPLATE, "end_of_text": "<|endoftext|>",
                 "eos_token": BYTE_BPE_TOKENIZER["eos_token"], "special_tokens": BYTE_BPE_TOKENIZER["special_tokens"]},
}
_TEXT = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
         "num_key_value_heads": 2, "max_position_embeddings": 1024, "rms_norm_eps": 1e-5,
         "tie_word_embeddings": False}
PRETRAIN = {"seq_len": 128, "batch_size": 16, "steps": 400, "lr": 3e-3, "warmup": 30, "seed": 0}
FAMILIES = {
    "llama": {"config": "LlamaConfig", "model": "LlamaForCausalLM", "tokenizer": "sentencepiece", "kwargs": _TEXT,
              "pretrain": PRETRAIN},
    "mistral": {"config": "MistralConfig", "model": "MistralForCausalLM", "tokenizer": "sentencepiece",
                "kwargs": {**_TEXT, "sliding_window": None}, "pretrain": PRETRAIN},
    "mixtral": {"config": "MixtralConfig", "model": "MixtralForCausalLM", "tokenizer": "sentencepiece",
                "kwargs": {**_TEXT, "num_local_experts": 4, "num_experts_per_tok": 2,
                           "router_aux_loss_coef": 0.02, "output_router_logits": False},
                # Pretrained with the load-balancing loss, as Mixtral was (its routers start balanced), and in fewer
                # steps than the dense families: an MoE step costs about twice as much on a CPU, and notebook 16
                # (which builds it in CI) must stay within its time budget.
                "pretrain": {**PRETRAIN, "steps": 120, "router_aux_loss": True}},
    # Qwen2 (Qwen2.5's architecture: biases on q/k/v), same sizes as the tiny Llama, byte-level BPE + ChatML.
    "qwen2": {"config": "Qwen2Config", "model": "Qwen2ForCausalLM", "tokenizer": "byte_bpe",
              "kwargs": {**_TEXT, "rms_norm_eps": 1e-6, "use_sliding_window": False}, "pretrain": PRETRAIN},
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
    """Hash of a build's own inputs: the recipe parts given, the library versions and the pretraining corpus."""
    import transformers

    h = hashlib.sha256(json.dumps([BUILD_VERSION, transformers.__version__, *parts], sort_keys=True).encode())
    h.update((DATA_DIR / CORPUS).read_bytes())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def _build_lock(path: Path):
    """An exclusive lock on `path` (POSIX flock): processes that need the same build wait for the first one to
    finish it instead of building it again at the same time (notebooks and tests share the cache and the CPUs)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, each process builds into its own temporary folder
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _cached(name: str, build) -> Path:
    """Return cache_dir()/name, building it in a temporary folder first when absent (atomic rename).

    A finished build is never replaced, so a process reading it is never disturbed."""
    target = cache_dir() / name
    if (target / "DONE").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target.parent / f".{name}.lock"):
        if (target / "DONE").is_file():  # another process built it while this one waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
        try:
            build(tmp)
            (tmp / "DONE").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
            if target.exists():  # an unfinished folder (no DONE), e.g. from an interrupted older layout
                shutil.rmtree(target)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _corpus_lines() -> list[str]:
    return (DATA_DIR / CORPUS).read_text().splitlines()


def chat_format_texts(kind: str) -> list[str]:
    """The strings tokenizer `kind`'s chat format adds to text: a chat of every role (empty contents) and the
    generation prompt, rendered by its chat template and cut at the special tokens (never learned as text)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    spec = TOKENIZERS[kind]
    specials = spec["special_tokens"]
    rendered, _ = render_jinja_template(
        conversations=[[{"role": role, "content": ""} for role in CHAT_ROLES]], chat_template=spec["chat_template"],
        add_generation_prompt=True, eos_token=spec["eos_token"], bos_token="")
    pieces = re.split("|".join(map(re.escape, specials)), rendered[0])
    return sorted({p for p in pieces if p.strip()})


def _tokenizer_texts(kind: str) -> list[str]:
    """What a tokenizer is trained on: the pretraining corpus and its chat format's strings, nothing else."""
    return _corpus_lines() + chat_format_texts(kind)


def build_tokenizer(folder: Path) -> None:
    """Train a Llama-kind SentencePiece BPE tokenizer and write tokenizer.model + tokenizer_config.json."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_tokenizer_texts("sentencepiece")), model_prefix=str(folder / "tokenizer"),
        model_type=TOKENIZER["model_type"], vocab_size=TOKENIZER["vocab_size"], hard_vocab_limit=False,
        byte_fallback=TOKENIZER["byte_fallback"], split_digits=TOKENIZER["split_digits"], character_coverage=1.0,
        required_chars=TOKENIZER["required_chars"],
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, num_threads=1, minloglevel=2)
    (folder / "tokenizer.vocab").unlink()
    config = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "pad_token": "</s>", "add_bos_token": True, "add_eos_token": False, "legacy": False,
              "model_max_length": _TEXT["max_position_embeddings"], "chat_template": CHAT_TEMPLATE}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def build_byte_bpe_tokenizer(folder: Path) -> None:
    """Train a byte-level BPE tokenizer of the GPT-2/Qwen kind and save it as a fast tokenizer (tokenizer.json)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    r = BYTE_BPE_TOKENIZER
    tk = Tokenizer(models.BPE(byte_fallback=False))
    tk.normalizer = getattr(normalizers, r["normalizer"])()
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r["split"]), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=r["vocab_size"], special_tokens=r["special_tokens"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(_tokenizer_texts("byte_bpe"), trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, eos_token=r["eos_token"], pad_token=r["pad_token"], bos_token=None, unk_token=None,
        additional_special_tokens=r["special_tokens"][1:], model_max_length=_TEXT["max_position_embeddings"],
        chat_template=CHATML_TEMPLATE, clean_up_tokenization_spaces=False)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(folder)


def _tokenizer_name(kind: str = "sentencepiece") -> str:
    spec = TOKENIZERS[kind]
    if kind == "sentencepiece":
        import sentencepiece as lib
    else:
        import tokenizers as lib
    return f"tokenizer-{kind.replace('_', '-')}-" + _fingerprint(
        spec, lib.__version__)


def tokenizer_path(kind: str = "sentencepiece") -> Path:
    """Folder of the cached tokenizer of `kind` (sentencepiece: Llama kind; byte_bpe: GPT-2/Qwen kind)."""
    build = build_tokenizer if kind == "sentencepiece" else build_byte_bpe_tokenizer
    return _cached(_tokenizer_name(kind), build)


def _model_name(family: str) -> str:
    """Cache name of a tiny model: a hash of its recipe, its tokenizer's cache name and the pretraining corpus."""
    if family == "llava":
        return f"tiny-llava-{_fingerprint(LLAVA, VLM_CHAT_TEMPLATE, _model_name('llama'))}"
    if family not in FAMILIES:
        raise KeyError(f"no tiny recipe for {family!r}; families: {sorted(FAMILIES) + ['llava']}")
    recipe = FAMILIES[family]
    return f"tiny-{family}-{_fingerprint(recipe, _tokenizer_name(recipe['tokenizer']))}"


def tiny_model(family: str = "llama") -> str:
    """Path of a tiny model of `family`, built once and cached.

    llama, mistral, mixtral: pretrained, SentencePiece tokenizer, Zephyr chat format (TinyLlama-Chat's);
    qwen2: pretrained, byte-level BPE tokenizer, ChatML chat format (Qwen2.5-Instruct's); llava: a VLM."""
    name = _model_name(family)
    if family == "llava":
        llama = Path(tiny_model("llama"))
        return str(_cached(name, lambda folder: _build_llava(folder, llama)))
    recipe = FAMILIES[family]
    tok_dir = tokenizer_path(recipe["tokenizer"])
    return str(_cached(name, lambda folder: _build_text_model(folder, recipe, tok_dir)))


# Threads the CPU pretraining of a tiny model runs on, wherever it is built. Float sums are split among threads, so
# the thread count changes the rounding, and a few hundred training steps turn that into a different model under the
# same cache key: measured 2026-11-29, final pretraining loss 0.3269 on CI's 2 cores, 0.2788 with 32 threads and
# 0.3341 with 16 on a GPU host, and two notebooks' Checks passed with one of those models and failed with another.
# CI's count, so that a build anywhere is CI's model (the tokenizers train on one thread for the same reason).
BUILD_THREADS = 2


def _build_text_model(folder: Path, recipe: dict, tok_dir: Path) -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(BUILD_THREADS)
    try:
        _pretrain(folder, recipe, tok_dir)
    finally:
        torch.set_num_threads(threads)


def _pretrain(folder: Path, recipe: dict, tok_dir: Path) -> None:
    import torch
    import transformers

    print(f"Building a tiny {recipe['model']} (cached for next time) ...", flush=True)
    t0 = time.perf_counter()
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    end_of_text = tok.convert_tokens_to_ids(TOKENIZERS[recipe["tokenizer"]]["end_of_text"])
    # A ChatML tokenizer's eos is <|im_end|> (the end of a chat turn), as in Qwen2.5-Instruct; <|endoftext|> ends a text.
    config = getattr(transformers, recipe["config"])(
        vocab_size=len(tok), bos_token_id=tok.bos_token_id if tok.bos_token else end_of_text,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **recipe["kwargs"])
    p = recipe["pretrain"]
    torch.manual_seed(p["seed"])
    model = getattr(transformers, recipe["model"])(config)
    ids: list[int] = []
    for line in _corpus_lines():  # each sequence ends with the end-of-text token (</s>, <|endoftext|>)
        ids += tok(line).input_ids + [end_of_text]
    blocks = torch.tensor(ids[: len(ids) // p["seq_len"] * p["seq_len"]]).view(-1, p["seq_len"])
    opt = torch.optim.AdamW(model.parameters(), lr=p["lr"], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / p["warmup"]) * 0.5 * (1 + math.cos(math.pi * s / p["steps"])))
    gen = torch.Generator().manual_seed(p["seed"])
    model.train()
    for _ in range(p["steps"]):
        batch = blocks[torch.randint(0, len(blocks), (p["batch_size"],), generator=gen)]
        moe = {"output_router_logits": True} if p.get("router_aux_loss") else {}  # + coef * load-balancing loss
        loss = model(input_ids=batch, labels=batch, **moe).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    if tok.eos_token_id != end_of_text:  # stop at the end of a chat turn and at the end of a text, like Qwen2.5
        model.generation_config.eos_token_id = [tok.eos_token_id, end_of_text]
        model.generation_config.bos_token_id = end_of_text
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    if (tok_dir / "tokenizer.model").is_file():
        shutil.copy(tok_dir / "tokenizer.model", folder / "tokenizer.model")  # llama.cpp's converter reads it
    info = {"recipe": recipe, "tokenizer": tok_dir.name, "final_pretrain_loss": round(loss.item(), 4),
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
