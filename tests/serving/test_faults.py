"""Fault injection: slow champion, broken webhook receiver, killed server, missing/corrupt model."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smart_support.features.embeddings import shared_embedder
from smart_support.routing.breaker import CircuitBreaker
from smart_support.serving.bento_models import CHAMPION, FALLBACK, load_bento_router
from smart_support.serving.model_router import ModelRouter
from tests.fakes import FakeClock
from tests.local_server import LocalServer
from tests.loopback_hook import LoopbackHook, QuietHandler
from tests.serving.conftest import jobs_not_done, write_params


def test_slow_champion_opens_the_breaker_and_it_closes_after_the_cooldown(bento_models) -> None:
    """Injected delay and clock: no real waiting; the fallback keeps its own latency budget."""
    champion, _ = load_bento_router(CHAMPION)
    fallback, _ = load_bento_router(FALLBACK)
    clock, elapsed = FakeClock(), [0.0]
    breaker = CircuitBreaker(
        latency_threshold_s=0.5, slow_calls_to_open=3, cooldown_s=30, clock=clock
    )

    def fake_sleep(seconds: float) -> None:  # the delay shows in the timer, not in wall time
        elapsed[0] += seconds

    router = ModelRouter(
        champion,
        fallback,
        breaker,
        shared_embedder(),
        sleep=fake_sleep,
        timer=lambda: time.perf_counter() + elapsed[0],
    )
    text = ["The VPN drops every few minutes since this morning."]
    assert router.classify(text)[0].model_used == champion.name
    router.delay_s = 2.0
    for _ in range(3):
        router.classify(text)
    assert breaker.state.value == "open"
    delayed = elapsed[0]
    assert router.classify(text)[0].model_used == fallback.name
    assert elapsed[0] == delayed  # open: the slow champion is not called, no delay is paid
    router.delay_s = 0.0
    clock.advance(31)  # cool-down over: the next call is the probe, fast, so the breaker closes
    assert router.classify(text)[0].model_used == champion.name
    assert breaker.state.value == "closed"


class Receiver(LoopbackHook):
    """A webhook receiver on 127.0.0.1 whose behaviour a test switches: ok, slow, 500."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.hits = 0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.mode == "slow":
                    time.sleep(1.5)  # well past the notifier timeout
                self.send_response(500 if receiver.mode == "500" else 200)
                self.end_headers()

        self.serve(Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


def _flood(http: httpx.Client, subject: str, body: str, n: int = 11) -> list[float]:
    """`n` identical tickets: the 11th forms an incident, whose webhook event must go out."""
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        response = http.post("/route", json={"subject": subject, "body": body})
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return latencies


def _webhook_counts(http: httpx.Client, counter: str, above: int, timeout_s: float = 20) -> dict:
    """/stats' webhook counts once `counter` (fires or failures) is above `above`, or at the
    deadline. Only that counter: an earlier flood's events may still be going out, and they move
    the other one."""
    deadline = time.monotonic() + timeout_s
    while True:
        hook = http.get("/stats").json()["webhook"]
        if hook[counter] > above or time.monotonic() > deadline:
            return hook
        time.sleep(0.2)


@pytest.mark.e2e
def test_breaker_and_webhook_faults_over_http(bento_models, receiver, tmp_path) -> None:
    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "state.db",
        breaker={"latency_threshold_ms": 300, "slow_calls_to_open": 3, "cooldown_s": 1.0},
        webhook={"url": None, "timeout_s": 0.6, "retries": 2, "backoff_s": 0.05},
    )
    env = {
        "SMART_SUPPORT_PARAMS": str(params),
        "SMART_SUPPORT_FAULT_INJECTION": "1",
        "SMART_SUPPORT_WEBHOOK_URL": receiver.url,
    }
    log = tmp_path / "serve.log"
    with (
        LocalServer(env=env, log_path=log) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        # Breaker: a slow champion opens it, the fallback answers fast, it closes after cool-down.
        ticket = {"subject": "Printer jam", "body": "The office printer jams on every page."}
        assert http.post("/route", json=ticket).json()["model_used"] == "m2"
        http.post("/admin/faults", params={"delay_ms": 1500}).raise_for_status()
        for _ in range(3):
            http.post("/route", json=ticket).raise_for_status()
        assert http.get("/health").json()["breaker"]["state"] == "open"
        start = time.perf_counter()
        degraded = http.post("/route", json=ticket).json()
        assert degraded["model_used"] == "m1"
        assert time.perf_counter() - start < 1.5  # the injected delay is not paid any more
        http.post("/admin/faults", params={"delay_ms": 0}).raise_for_status()
        time.sleep(1.1)
        assert http.post("/route", json=ticket).json()["model_used"] == "m2"
        assert http.get("/health").json()["breaker"]["state"] == "closed"
        assert http.get("/stats").json()["breaker"]["trips"] >= 1

        # Webhook: a healthy receiver, then one answering 500, one too slow, one closed.
        floods = {
            "ok": ("Invoice charged twice", "We were billed twice for the March invoice."),
            "500": ("Contract termination", "We want to end our service contract by June."),
            "slow": ("VPN keeps dropping", "The VPN disconnects every few minutes today."),
            "closed": ("Password reset mail", "The password reset email never arrives."),
        }
        latency = {}
        for mode, (subject, body) in floods.items():
            if mode == "closed":
                receiver.close()
            else:
                receiver.mode = mode
            before = dict(http.get("/stats").json()["webhook"])
            hits = receiver.hits
            latency[mode] = statistics.median(_flood(http, subject, body))
            counter = "fires" if mode == "ok" else "failures"  # what this receiver moves
            hook = _webhook_counts(http, counter, before[counter])
            assert hook[counter] > before[counter], (mode, hook)
            if mode == "500":  # every failed event was retried: 1 + retries attempts
                failed = hook["failures"] - before["failures"]
                assert receiver.hits - hits >= failed * 3
        for mode in ("500", "slow", "closed"):  # routing does not wait for the webhook
            assert latency[mode] < 2 * latency["ok"] + 0.1, latency


def _submit_jobs(http: httpx.Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        response = http.post(
            "/route/async",
            json={"subject": f"Question {i} about order {i * 13}", "body": f"Details {i}."},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["job_id"])
    return ids


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_queued_jobs_complete_exactly_once_after_a_restart(bento_models, tmp_path, sig) -> None:
    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "state.db",
        jobs={"lease_s": 2.0, "poll_interval_s": 0.1, "max_attempts": 3},
    )
    env = {"SMART_SUPPORT_PARAMS": str(params)}
    first = LocalServer(env=env, log_path=tmp_path / "serve-1.log").start()
    with httpx.Client(base_url=first.url, timeout=30) as http:
        ids = _submit_jobs(http, 15)
    first.stop(sig)
    with (
        LocalServer(env=env, log_path=tmp_path / "serve-2.log") as second,
        httpx.Client(base_url=second.url, timeout=30) as http,
    ):
        pending = jobs_not_done(http, ids, timeout_s=90)
        assert not pending, f"{len(pending)} jobs not done after the restart"
        results = [http.get(f"/route/async/{j}").json()["result"] for j in ids]
        assert [r["ticket_id"] for r in results] == ids  # the job id is the ticket id
        assert http.get("/stats").json()["total_tickets"] == len(ids)  # each routed once


def _start_fails(env: dict[str, str], log: Path, timeout_s: float = 60) -> str:
    """The server exits (missing model) or never becomes ready (corrupt model: the classifier
    worker fails to initialise); either way no traffic is served. Returns the server's log."""
    server = LocalServer(env=env, log_path=log)
    with pytest.raises((RuntimeError, TimeoutError)):
        server.start(timeout_s=timeout_s)
    server.stop(signal.SIGKILL)
    return log.read_text(errors="replace")


@pytest.mark.e2e
def test_missing_or_corrupt_model_refuses_to_start(bento_models, tmp_path) -> None:
    params = write_params(tmp_path / "params.yaml", tmp_path / "state.db")
    empty = tmp_path / "empty-home"
    empty.mkdir()
    env = {"SMART_SUPPORT_PARAMS": str(params), "BENTOML_HOME": str(empty)}
    output = _start_fails(env, tmp_path / "missing.log")
    assert "smart-support-champion" in output

    corrupt = tmp_path / "corrupt-home"
    shutil.copytree(os.environ["BENTOML_HOME"], corrupt, symlinks=True)
    for path in (corrupt / "models" / "smart-support-champion").rglob("*.pkl"):
        path.write_bytes(b"not a pickle")
    env["BENTOML_HOME"] = str(corrupt)
    output = _start_fails(env, tmp_path / "corrupt.log")
    assert "cannot load model 'smart-support-champion" in output
