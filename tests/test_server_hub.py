"""Local servers bind to loopback, require a key, are health-checked and always stopped; tokens never printed."""

import sys
import textwrap
import urllib.error
import urllib.request

import pytest

import cookbook

SERVER = textwrap.dedent("""
    import http.server, os, sys
    KEY = sys.argv[2]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.headers.get("Authorization") == f"Bearer {KEY}"
            self.send_response(200 if ok else 401); self.end_headers(); self.wfile.write(b"ok" if ok else b"no")
        def log_message(self, *a): pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
""")


def test_server_starts_answers_with_key_and_stops(tmp_path):
    script = tmp_path / "srv.py"
    script.write_text(SERVER)
    with cookbook.LocalServer([sys.executable, str(script), "{port}", "{api_key}"], health_path="/health",
                              timeout=30, log_path=tmp_path / "log") as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        with pytest.raises(urllib.error.HTTPError):  # no key, no answer
            urllib.request.urlopen(srv.url + "/health", timeout=5)
        assert srv.healthy()
        proc = srv.proc
    assert proc.poll() is not None, "server still running after the block"


def test_server_that_dies_reports_its_log(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        cookbook.LocalServer([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], timeout=30,
                             log_path=tmp_path / "log").start()


def test_hub_login_without_token_is_one_line(monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert cookbook.hub_login() is False
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


def test_hub_login_unreachable_never_prints_the_token(monkeypatch, capsys):
    token = "hf_" + "x" * 34
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert cookbook.hub_login() is False
    out = capsys.readouterr()
    assert token not in out.out + out.err
    assert len(out.out.strip().splitlines()) == 1


def _notebook(cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _start_cell(script, port_file):
    return (f"import cookbook, sys, pathlib\n"
            f"server = cookbook.LocalServer([sys.executable, {str(script)!r}, '{{port}}', '{{api_key}}'], timeout=30)"
            f".start()\npathlib.Path({str(port_file)!r}).write_text(str(server.port))")


def test_server_is_stopped_when_a_later_cell_fails(tmp_path):
    """A server started in one notebook cell (no `with`) is gone, its port free, after another cell fails."""
    import nbclient

    from cookbook.server import port_in_use

    script, port_file = tmp_path / "srv.py", tmp_path / "port"
    script.write_text(SERVER)
    nb = _notebook([_start_cell(script, port_file),
                    "import urllib.request; urllib.request.urlopen(server.url + '/health', timeout=5)",  # 401: fails
                    "print('never runs')"])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="401"):
        nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    port = int(port_file.read_text())
    assert not port_in_use(port), f"port {port} still answers after the failing notebook"


def test_watchdog_stops_the_server_when_the_kernel_is_killed(tmp_path):
    """No finally, no atexit: the Python process that started the server is SIGKILLed; the watchdog stops it."""
    import subprocess
    import time

    from cookbook.server import port_in_use

    script, port_file = tmp_path / "srv.py", tmp_path / "port"
    script.write_text(SERVER)
    code = _start_cell(script, port_file) + "\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -9
    port = int(port_file.read_text())
    deadline = time.monotonic() + 20
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_in_use(port), f"port {port} still answers 20 s after its parent was killed"


def test_ipython_stops_a_cross_cell_server_after_a_failing_cell(tmp_path):
    """Interactively (no kernel shutdown), the cell that raises is followed by the server's stop."""
    import nbclient

    from cookbook.server import port_in_use

    script, port_file = tmp_path / "srv.py", tmp_path / "port"
    script.write_text(SERVER)
    nb = _notebook([_start_cell(script, port_file), "1 / 0",
                    "from cookbook.server import port_in_use; assert not server.running and not port_in_use(server.port)"])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ZeroDivisionError"], errors
    assert not port_in_use(int(port_file.read_text()))
