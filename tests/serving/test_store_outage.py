"""The state store's database down at start and lost while serving, on a real `bentoml serve`.

PostgreSQL sits behind a TCP proxy the test cuts and restores (tests/tcp_proxy.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from tests.local_server import LocalServer
from tests.serving.conftest import write_params
from tests.tcp_proxy import TcpProxy

TICKET = {"subject": "VPN drops", "body": "The VPN disconnects every few minutes since today."}
pytestmark = pytest.mark.e2e


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout_s:.0f} s")


def test_service_waits_for_its_database_and_survives_losing_it(
    bento_models, postgres_database, tmp_path
) -> None:
    postgres_database.reset()
    target = sa.make_url(postgres_database.url)
    proxy = TcpProxy(target.port or 5432, target.host or "127.0.0.1")  # cut: nothing listens
    url = target.set(port=proxy.port, password="s3cret")  # trust auth ignores the password
    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "unused.db",
        jobs={"lease_s": 2.0, "poll_interval_s": 0.2, "max_attempts": 5},
    )
    env = {
        "SMART_SUPPORT_PARAMS": str(params),
        "SMART_SUPPORT_STORE_URL": url.render_as_string(hide_password=False),
    }
    log_path = tmp_path / "serve.log"
    server = LocalServer(env=env, log_path=log_path).start(wait_ready=False)
    try:
        shown = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        wait_for(lambda: shown in log_path.read_text(), 90, "a log line naming the database")
        assert "s3cret" not in log_path.read_text()
        assert httpx.get(f"{server.url}/readyz").status_code != 200

        proxy.restore()  # the database comes up: the service gets ready by itself
        wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200, 60, "ready")
        assert httpx.post(f"{server.url}/route", json=TICKET, timeout=30).status_code == 200
        jobs = [
            httpx.post(f"{server.url}/route/async", json=TICKET, timeout=30).json()["job_id"]
            for _ in range(5)
        ]

        proxy.cut()  # lost while serving
        for method, path, body in (
            ("POST", "/route", TICKET),
            ("POST", "/route/async", TICKET),
            ("GET", "/stats", None),
            ("GET", f"/route/async/{jobs[0]}", None),
        ):
            started = time.monotonic()
            answer = httpx.request(method, f"{server.url}{path}", json=body, timeout=60)
            assert (answer.status_code, answer.json()) == (
                503,
                {"error": "the state store is unavailable; retry later"},
            ), path
            assert time.monotonic() - started < 15  # the store's timeouts, not the request's

        proxy.restore()  # back: no restart, no lost job
        wait_for(
            lambda: httpx.post(f"{server.url}/route", json=TICKET, timeout=30).status_code == 200,
            30,
            "routing after the database returned",
        )

        def all_done() -> bool:
            states = [httpx.get(f"{server.url}/route/async/{j}").json()["status"] for j in jobs]
            return states == ["done"] * len(jobs)

        wait_for(all_done, 60, "every accepted job done")
        stats = httpx.get(f"{server.url}/stats").json()
        assert stats["total_tickets"] == 2 + len(jobs)
    finally:
        server.stop()
        proxy.cut()
