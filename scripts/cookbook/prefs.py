"""Preference-pair utilities first taught inline in notebook 04 (DPO), imported by later notebooks."""

from __future__ import annotations


def explicit_prompt(row: dict, idx: int) -> dict:
    """Turn a pair of whole conversations (`chosen`, `rejected`) into prompt / chosen answer / rejected answer.

    Raises on a broken pair (the two conversations do not share their prompt, or do not end with an answer)."""
    prompt = row["chosen"][:-1]
    if prompt != row["rejected"][:-1] or row["chosen"][-1]["role"] != "assistant":
        raise ValueError(f"row {idx}: chosen and rejected do not share a prompt and end with an assistant answer")
    return {"prompt": prompt, "chosen": row["chosen"][-1:], "rejected": row["rejected"][-1:]}


def completion_logprob(model, tokenizer, prompt: list[dict], completion: list[dict]) -> tuple[float, int]:
    """Summed log-probability of the completion's tokens given the prompt, in the chat format, and their count."""
    import torch

    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_dict=True)["input_ids"]
    full_ids = tokenizer.apply_chat_template(prompt + completion, return_dict=True)["input_ids"]
    ids = torch.tensor([full_ids], device=model.device)
    with torch.no_grad():
        logps = model(input_ids=ids).logits.float().log_softmax(-1)[0, :-1]
    token_logps = logps.gather(-1, ids[0, 1:, None])[:, 0][len(prompt_ids) - 1:]
    return token_logps.sum().item(), len(token_logps)
