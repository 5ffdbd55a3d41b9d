"""The pass conditions over HTTP against a real `bentoml serve` on loopback: a hung champion
(60 s injected) keeps /route fast and failure-free and the breaker closes once the fault is
gone; traffic past the limits gets 429s with Retry-After, never a 5xx, and the service
recovers; a network address without keys refuses to start."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.local_server import LocalServer
from tests.serving.conftest import (
    NO_RATE_LIMIT,
    bearer,
    jobs_not_done,
    keys_env,
    write_params,
)

pytestmark = pytest.mark.e2e

TICKET = {"subject": "Printer jam", "body": "The office printer jams on every page."}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_a_hung_champion_keeps_route_fast_and_the_breaker_recovers(bento_models, tmp_path):
    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "state.db",
        breaker={"latency_threshold_ms": 300, "slow_calls_to_open": 3, "cooldown_s": 2.0},
        limits=NO_RATE_LIMIT,  # 160 fast requests outrun 50/s (burst 100): measure the breaker
    )
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_FAULT_INJECTION": "1"}
    with (
        LocalServer(env=env, log_path=tmp_path / "serve.log") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert http.post("/route", json=TICKET).json()["model_used"] == "m2"
        http.post("/admin/faults", params={"delay_ms": 60_000}).raise_for_status()

        def timed(i: int) -> tuple[int, float, str]:
            start = time.perf_counter()
            response = http.post("/route", json={**TICKET, "body": f"{TICKET['body']} #{i}"})
            used = response.json().get("model_used", "") if response.status_code == 200 else ""
            return response.status_code, time.perf_counter() - start, used

        with ThreadPoolExecutor(2) as pool:  # 2 clients at once (2 cores), 160 requests
            results = list(pool.map(timed, range(160)))
        statuses = Counter(status for status, _, _ in results)
        latencies = [seconds for _, seconds, _ in results]
        print(
            f"hung champion: {dict(statuses)}, p50 {statistics.median(latencies):.3f} s, "
            f"p95 {p95(latencies):.3f} s, max {max(latencies):.3f} s"
        )
        assert statuses == {200: 160}
        assert p95(latencies) < 1.0
        # the onset: the first calls wait out one deadline while BentoML's batcher adapts
        assert max(latencies) < 5.0
        assert {used for _, _, used in results} == {"m1"}  # the fallback answered every one
        assert http.get("/health").json()["breaker"]["state"] == "open"

        http.post("/admin/faults", params={"delay_ms": 0}).raise_for_status()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if http.post("/route", json=TICKET).json()["model_used"] == "m2":
                break
            time.sleep(0.5)
        assert http.get("/health").json()["breaker"]["state"] == "closed"


def test_traffic_past_the_limits_gets_429s_never_5xx_then_recovers(bento_models, tmp_path):
    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "state.db",
        limits={"rate_per_s": 10, "burst": 20, "max_in_flight": 6, "max_queued_jobs": 15},
    )
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_API_KEYS": keys_env()}
    with (
        LocalServer(env=env, log_path=tmp_path / "serve.log") as server,
        httpx.Client(base_url=server.url, timeout=60, headers=bearer("router")) as http,
    ):

        def send(i: int) -> httpx.Response:
            if i % 3 == 0:
                return http.post("/route/async", json={**TICKET, "body": f"Job {i}: help."})
            if i % 3 == 1:
                return http.post("/route/batch", json={"tickets": [TICKET] * 20})
            return http.post("/route", json=TICKET)

        with ThreadPoolExecutor(12) as pool:  # 12 clients, 240 requests, as fast as they can
            responses = list(pool.map(send, range(240)))
        statuses = Counter(r.status_code for r in responses)
        print(f"overload: {dict(statuses)}")
        assert not [s for s in statuses if s >= 500], statuses
        assert set(statuses) <= {200, 202, 429}, statuses
        refused = [r for r in responses if r.status_code == 429]
        assert refused and all(int(r.headers["retry-after"]) >= 1 for r in refused)
        assert all("error" in r.json() for r in refused)

        time.sleep(max(int(r.headers["retry-after"]) for r in refused))
        assert http.post("/route", json=TICKET).status_code == 200  # recovered
        accepted = [r.json()["job_id"] for r in responses if r.status_code == 202]
        pending = jobs_not_done(http, accepted, timeout_s=60)
        assert not pending, f"{len(pending)} accepted jobs not done"
        assert http.post("/route/async", json=TICKET).status_code == 202  # the queue drained


def test_a_network_bind_without_keys_refuses_to_start(bento_models, tmp_path):
    params = write_params(tmp_path / "params.yaml", tmp_path / "state.db")
    log = tmp_path / "serve.log"
    server = LocalServer(env={"SMART_SUPPORT_PARAMS": str(params)}, log_path=log, host="0.0.0.0")
    with pytest.raises((RuntimeError, TimeoutError)):
        server.start(timeout_s=60)
    server.stop()
    assert "refusing to serve 0.0.0.0 without API keys" in log.read_text(errors="replace")
