"""A local server for a notebook: bound to 127.0.0.1, API key required, health-checked, always stopped."""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """Start `command` (a list; "{port}" and "{api_key}" in it are filled in), wait for `health_path` to answer 200.

        with LocalServer(["vllm", "serve", model, "--host", "127.0.0.1", "--port", "{port}", "--api-key", "{api_key}"]) as srv:
            client = OpenAI(base_url=srv.url + "/v1", api_key=srv.api_key)

    The server is stopped when the block ends, also when a cell fails, and at interpreter exit.
    Its output goes to `log_path`, which `tail()` reads back when it fails to start.
    """

    def __init__(self, command: list[str], health_path: str = "/health", timeout: float = 300,
                 log_path: Path | str | None = None, env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.api_key = secrets.token_urlsafe(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [c.replace("{port}", str(self.port)).replace("{api_key}", self.api_key) for c in command]
        self.health_path, self.timeout = health_path, timeout
        self.log_path = Path(log_path) if log_path else Path(f"/tmp/cookbook-server-{self.port}.log")
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode} before it was healthy:\n{self.tail()}")
            if self.healthy():
                return
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"server not healthy after {self.timeout:.0f} s:\n{self.tail()}")

    def healthy(self) -> bool:
        request = urllib.request.Request(self.url + self.health_path, headers={"Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) if self.log_path.exists() else ""
