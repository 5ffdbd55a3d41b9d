"""The test harness's server handle: one process per server, stopped on leaving `with`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.local_server import LocalServer


def sleeper() -> subprocess.Popen[bytes]:
    """A stand-in for a started `bentoml serve` (no server is needed to check the handle)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_started_server_used_as_a_context_is_not_started_again_and_is_stopped() -> None:
    server = LocalServer()
    process = server.process = sleeper()  # what `server.start(timeout_s=300)` leaves
    with server as entered:
        assert entered is server and server.process is process
    assert process.poll() is not None  # stopped, not left behind


def test_a_running_server_refuses_a_second_start() -> None:
    server = LocalServer()
    server.process = sleeper()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start(timeout_s=1)
    finally:
        server.stop()
    assert not server.running
