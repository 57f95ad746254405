"""Notebook 13 against the pinned vLLM: every server flag it passes, the runtime-LoRA switch and the LoRA ranks it
picks from exist in the vLLM environment (.venvs/vllm), so a vLLM upgrade that renames one fails here, not in a
two-minute notebook run. Skipped where that environment is not built."""

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "Part_5_Deployment_with_vLLM" / "13_Deploying_with_LoRA_Adapters_vLLM.ipynb"
VLLM_PYTHON = ROOT / ".venvs" / "vllm" / "bin" / "python"

pytestmark = pytest.mark.skipif(not VLLM_PYTHON.exists(), reason="no .venvs/vllm: `python3 scripts/setup_envs.py --env vllm`")

PROBE = """
import json, typing
from vllm import envs
from vllm.config.lora import MaxLoRARanks
from vllm.entrypoints.launchers.cli_args import make_arg_parser
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = make_arg_parser(FlexibleArgumentParser())
print(json.dumps({"flags": sorted(o for a in parser._actions for o in a.option_strings),
                  "ranks": list(typing.get_args(MaxLoRARanks)),
                  "runtime_lora": "VLLM_ALLOW_RUNTIME_LORA_UPDATING" in dir(envs)}))
"""


@pytest.fixture(scope="module")
def vllm_cli():
    out = subprocess.run([str(VLLM_PYTHON), "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def code():
    """The notebook's code after its install cell (whose git and pip flags are not vLLM's)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"][2:]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_every_flag_notebook_13_passes_exists(vllm_cli):
    flags = set(re.findall(r'"(--[a-z][a-z0-9-]+)"', code()))
    assert {"--enable-lora", "--lora-modules", "--max-lora-rank", "--max-loras", "--max-cpu-loras"} <= flags
    assert not flags - set(vllm_cli["flags"]), f"vLLM has no {sorted(flags - set(vllm_cli['flags']))}"


def test_runtime_lora_switch_and_ranks(vllm_cli):
    assert vllm_cli["runtime_lora"]
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING" in code()
    ranks = re.search(r"for r in \(([\d, ]+)\) if r >= max\(ranks\)", code()).group(1)
    assert [int(r) for r in ranks.split(",")] == vllm_cli["ranks"], "the notebook's --max-lora-rank choices drifted"
