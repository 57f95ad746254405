"""vLLM's OpenAI-compatible server as the notebooks run it (Part 5): a request without the API key is refused, and a
server started in one notebook cell is gone, its port free, once a later cell fails.

One real server (the tiny Llama, vLLM's CPU build from .venvs/vllm) is started inside a notebook run by nbclient, as
nbmake runs the notebooks; about 30 s on two CPU cores. Skipped where the vLLM environment is not built.
"""

import json
import time

import pytest

import cookbook
from cookbook.run import REPO_ROOT
from cookbook.server import port_in_use

VLLM_PYTHON = REPO_ROOT / ".venvs" / "vllm" / "bin" / "python"
pytestmark = pytest.mark.skipif(not VLLM_PYTHON.exists(), reason="no vLLM environment (.venvs/vllm): make setup")

START = """
import json, pathlib, cookbook
command = [{python!r}, "-m", "vllm.entrypoints.openai.api_server", "--model", {model!r}, "--served-model-name", "tiny",
           "--host", "127.0.0.1", "--port", "{{port}}", "--api-key", "{{api_key}}", "--dtype", "float32",
           "--max-model-len", "512", "--kv-cache-memory-bytes", str(2**28), "--enforce-eager"]
server = cookbook.LocalServer(command, timeout=600, log_path={log!r}).start()
pathlib.Path({state!r}).write_text(json.dumps({{"port": server.port, "pid": server.proc.pid}}))
"""

QUERY = """
import urllib.error, urllib.request
from openai import OpenAI

def status(key):
    headers = {{"Authorization": f"Bearer {{key}}"}} if key else {{}}
    try:
        return urllib.request.urlopen(urllib.request.Request(server.url + "/v1/models", headers=headers), timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code

answer = OpenAI(base_url=server.url + "/v1", api_key=server.api_key).completions.create(
    model="tiny", prompt="The", max_tokens=4, temperature=0.0)
statuses = {{"no key": status(None), "wrong key": status("wrong"), "key": status(server.api_key),
            "tokens": answer.usage.completion_tokens}}
state = json.loads(pathlib.Path({state!r}).read_text())
pathlib.Path({state!r}).write_text(json.dumps({{**state, **statuses}}))
"""


@pytest.fixture(scope="module")
def failed_notebook(tmp_path_factory):
    """Run a notebook that starts a vLLM server, queries it with and without the key, then fails a cell."""
    import nbclient
    import nbformat

    tmp = tmp_path_factory.mktemp("vllm")
    fill = {"python": str(VLLM_PYTHON), "model": str(cookbook.tiny_model("llama")), "log": str(tmp / "server.log"),
            "state": str(tmp / "state.json")}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(START.format(**fill)), nbformat.v4.new_code_cell(QUERY.format(**fill)),
                nbformat.v4.new_code_cell("raise RuntimeError('a cell fails while the server runs')"),
                nbformat.v4.new_code_cell("server.stop()  # never reached")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    started = time.monotonic()
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
        nbclient.NotebookClient(nb, timeout=900, kernel_name="python3").execute()
    state = json.loads((tmp / "state.json").read_text()) if (tmp / "state.json").exists() else {}
    return {"error": str(failure.value), "state": state, "seconds": time.monotonic() - started,
            "log": (tmp / "server.log").read_text(errors="replace")[-3000:] if (tmp / "server.log").exists() else ""}


def test_a_request_without_the_key_is_refused(failed_notebook):
    state = failed_notebook["state"]
    assert "no key" in state, f"the notebook did not get to query the server:\n{failed_notebook['error'][-3000:]}"
    assert state["key"] == 200 and state["tokens"] > 0, state
    assert state["no key"] == 401 and state["wrong key"] == 401, f"the server answered without the key: {state}"


def test_the_server_is_gone_after_a_failing_cell(failed_notebook):
    import psutil

    assert "a cell fails while the server runs" in failed_notebook["error"]
    state = failed_notebook["state"]
    assert not port_in_use(state["port"]), f"port {state['port']} still answers after the failing notebook"
    leftovers = [p for p in psutil.process_iter(["pid"]) if _in_group(p, state["pid"])]
    assert not leftovers, f"server processes outlived the notebook: {leftovers}"


def _in_group(process, group):
    import os

    try:
        return os.getpgid(process.pid) == group
    except (ProcessLookupError, PermissionError):
        return False
