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
