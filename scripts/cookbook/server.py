"""A local server for a notebook: bound to 127.0.0.1, API key required, health-checked, always stopped."""

from __future__ import annotations

import atexit
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Runs beside the server: when the process that started it dies without stopping it (a kernel killed, not shut
# down: no `finally`, no atexit), it stops the server's whole process group. It exits once that group is gone.
_WATCHDOG = """
import os, signal, sys, time
parent, group = int(sys.argv[1]), int(sys.argv[2])
def alive():
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
while alive():
    if os.getppid() != parent:
        os.killpg(group, signal.SIGTERM)
        for _ in range(150):
            time.sleep(0.1)
            if not alive():
                sys.exit(0)
        os.killpg(group, signal.SIGKILL)
        sys.exit(0)
    time.sleep(0.5)
"""


def tool_python(env: str) -> Path:
    """The Python of a command-line tool's own environment, `.venvs/<env>` (vllm, llama-server, axolotl), built
    by `scripts/setup_envs.py --env <env>` when it is missing. A server runs from it as a process, the way it is
    deployed, while the notebook's kernel stays in the core environment."""
    from .run import REPO_ROOT

    python = REPO_ROOT / ".venvs" / env / "bin" / "python"
    if not python.exists():
        print(f"building the {env} environment (.venvs/{env}) with scripts/setup_envs.py ...", flush=True)
        subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "setup_envs.py"), "--env", env], check=True)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


class LocalServer:
    """Start `command` (a list; "{port}" and "{api_key}" in it are filled in), wait for `health_path` to answer 200.

        with LocalServer(["vllm", "serve", model, "--host", "127.0.0.1", "--port", "{port}", "--api-key", "{api_key}"]) as srv:
            client = OpenAI(base_url=srv.url + "/v1", api_key=srv.api_key)

    or, across notebook cells, `server = LocalServer([...]).start()` ... `server.stop()`.

    The server is stopped when the block ends, also when a cell fails: in Jupyter/IPython a server started outside a
    `with` block is stopped after any cell that raises (`stop_on_error=False` keeps it), always at interpreter exit,
    and by a watchdog process if the interpreter is killed. `stop()` stops the whole process group (a server's worker
    processes too) and returns once its port is free. Output goes to `log_path`; `tail()` reads it back.
    """

    def __init__(self, command: list[str], health_path: str = "/health", timeout: float = 300,
                 log_path: Path | str | None = None, env: dict | None = None, port: int | None = None, *,
                 stop_on_error: bool = True):
        self.port = port or free_port()
        self.api_key = secrets.token_urlsafe(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [c.replace("{port}", str(self.port)).replace("{api_key}", self.api_key) for c in command]
        self.health_path, self.timeout = health_path, timeout
        self.log_path = Path(log_path) if log_path else Path(f"/tmp/cookbook-server-{self.port}.log")
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None   # seconds from launch until healthy
        self.stop_on_error = stop_on_error
        self._watchdog: subprocess.Popen | None = None
        self._in_with = False
        self._ipython_hook = None

    def __enter__(self) -> LocalServer:
        self._in_with = True
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> LocalServer:
        """Launch the server and wait until it is healthy; on any failure (also Ctrl-C) it is stopped again."""
        if self.running:
            return self
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        atexit.register(self.stop)
        self._watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.proc.pid)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = started + self.timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with code {self.proc.returncode} before it was healthy:\n"
                                       f"{self.tail()}")
                if self.healthy():
                    self.startup_s = time.monotonic() - started
                    if not self._in_with and self.stop_on_error:
                        self._stop_after_failing_cells()
                    return self
                time.sleep(0.5)
            raise TimeoutError(f"server not healthy after {self.timeout:.0f} s:\n{self.tail()}")
        except BaseException:
            self.stop()
            raise

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        request = urllib.request.Request(self.url + self.health_path, headers={"Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def stop(self) -> None:
        """Stop the server and every process it started; return once they are gone and the port is free."""
        if self.proc is not None:
            group = self.proc.pid
            if self.proc.poll() is None:
                # the server first, so that it shuts its workers down in order (signalling the whole group at once
                # kills vLLM's engine core under its API server, which then logs an EngineDeadError)
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    _signal_group(group, signal.SIGKILL)
                    self.proc.wait()
            deadline = time.monotonic() + 15          # its worker processes end too
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.1)
                if time.monotonic() > deadline - 10:
                    _signal_group(group, signal.SIGTERM)
            if _group_alive(group):
                _signal_group(group, signal.SIGKILL)
            while port_in_use(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)
        if self._watchdog is not None:
            if self._watchdog.poll() is None:
                self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None
        self._remove_ipython_hook()
        atexit.unregister(self.stop)

    def memory_mib(self) -> float:
        """Resident memory of the server and all its processes (MiB), from /proc through psutil."""
        import psutil

        if not self.running:
            return 0.0
        root = psutil.Process(self.proc.pid)
        total = 0
        for p in [root, *root.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) if self.log_path.exists() else ""

    # In IPython (Jupyter), stop the server after a cell that raised.
    def _stop_after_failing_cells(self) -> None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython else None
        if shell is None:
            return

        def after_cell(result):
            if result.error_in_exec is not None and self.running:
                print(f"A cell failed: stopping the server on port {self.port} (start it again to continue).")
                self.stop()

        self._ipython_hook = (shell, after_cell)
        shell.events.register("post_run_cell", after_cell)

    def _remove_ipython_hook(self) -> None:
        if self._ipython_hook is not None:
            shell, hook = self._ipython_hook
            self._ipython_hook = None
            try:
                shell.events.unregister("post_run_cell", hook)
            except ValueError:
                pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass
