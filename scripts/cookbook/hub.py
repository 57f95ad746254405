"""Hugging Face Hub credentials: from HF_TOKEN or notebook_login(), never printed."""

from __future__ import annotations

import os


def hub_login() -> bool:
    """Log in with HF_TOKEN when set. Prints one line either way; returns True when logged in.

    Public models and datasets need no token; gated ones (Llama, Mistral) do. Without HF_TOKEN, run
    `from huggingface_hub import notebook_login; notebook_login()` in a notebook cell instead.
    """
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        print("No HF_TOKEN set: public models and datasets load without one. For gated ones, set HF_TOKEN "
              "or run `from huggingface_hub import notebook_login; notebook_login()`.")
        return False
    try:
        from huggingface_hub import login, whoami

        login(token=token, add_to_git_credential=False)
        print(f"Logged in to the Hugging Face Hub as {whoami(token=token)['name']}.")
        return True
    except Exception as err:  # an unreachable Hub or a bad token: one line, no traceback, no token
        reason = type(err).__name__
        print(f"Could not log in to the Hugging Face Hub ({reason}); smoke mode needs no Hub, full mode does.")
        return False
