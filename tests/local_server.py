"""Start and stop `bentoml serve` on a loopback port (end-to-end tests, benchmarks, load tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]  # the checkout
SERVICE = "bentos.service:SmartSupport"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A real `bentoml serve` process; `env` adds variables (store path, params file, …)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
        cwd: str | Path = ROOT,
        service: str = SERVICE,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host  # the address bound; requests always go to loopback
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The in-process test client exports the test keys into os.environ; a server gets keys
        # only when its test passes them (`env`), like any other setting of its own.
        inherited = {k: v for k, v in os.environ.items() if k != "SMART_SUPPORT_API_KEYS"}
        self.env = {**inherited, "BENTOML_DO_NOT_TRACK": "true", **(env or {})}
        self.log_path = Path(log_path) if log_path else None
        self.extra_args = extra_args
        self.cwd = Path(cwd)  # another checkout (benchmarks: the baseline before a change)
        self.service = service  # or a Bento tag: serve it from the BentoML store
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0, wait_ready: bool = True) -> LocalServer:
        """Start the server; wait until /readyz answers 200 (`wait_ready`) or only /livez.
        A server that is running already is not started twice (its process would be lost)."""
        if self.running:
            raise RuntimeError(f"bentoml serve is already running on {self.url}")
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        command = [
            sys.executable, "-m", "bentoml", "serve", self.service,
            "--host", self.host, "--port", str(self.port), *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"bentoml serve exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                probe = "/readyz" if wait_ready else "/livez"
                if httpx.get(f"{self.url}{probe}", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"bentoml serve not ready on {self.url} after {timeout_s:.0f} s")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        """Signal the server and every worker (BentoML starts workers in their own process
        groups); SIGKILL whatever is still alive after `timeout_s`."""
        import psutil

        if not self.running:
            return None if self.process is None else self.process.returncode
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(sig)
        _, alive = psutil.wait_procs(tree, timeout=timeout_s)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=timeout_s)
        return self.process.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> LocalServer:
        """Starts the server unless it runs already (`with server.start(timeout_s=300):`)."""
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Debian's Chromium for the dashboard's browser test and the docs screenshots; without the
# background-networking flags it keeps dialling out on a closed network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
