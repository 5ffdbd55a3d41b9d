"""`bentoml serve` killed with webhook messages still undelivered: after the restart every
message reaches the receiver (loopback) exactly once, async jobs included."""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from smart_support.serving.runtime import load_serve_settings
from tests.local_server import LocalServer
from tests.loopback_hook import LoopbackHook, QuietHandler
from tests.serving.conftest import write_params


class RecordingReceiver(LoopbackHook):
    """A webhook receiver on 127.0.0.1: answers 500 while `failing`, else 200 and records
    the message's idempotency key (header and payload must agree)."""

    def __init__(self) -> None:
        self.failing = True
        self.delivered: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    if receiver.failing:
                        receiver.refused += 1
                    else:
                        assert body["idempotency_key"] == key
                        receiver.delivered[key] += 1
                self.send_response(500 if receiver.failing else 200)
                self.end_headers()

        self.serve(Handler)


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    hook = RecordingReceiver()
    yield hook
    hook.close()


def _outbox(path: str) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT message_id, status FROM outbox").fetchall())


@pytest.mark.e2e
def test_undelivered_messages_are_delivered_once_after_kill_9(
    bento_models, receiver, tmp_path
) -> None:
    store = tmp_path / "state.db"
    params = write_params(
        tmp_path / "params.yaml",
        store,
        urgency={"alert_threshold": -1.0},  # every ticket outside an incident alerts
        webhook={
            "url": None,
            "timeout_s": 1.0,
            "retries": 50,
            "backoff_s": 0.1,
            "max_backoff_s": 0.5,
            "lease_s": 5.0,
            "poll_interval_s": 0.1,
        },
        jobs={"lease_s": 2.0, "poll_interval_s": 0.1, "max_attempts": 3},
    )
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_WEBHOOK_URL": receiver.url}
    first = LocalServer(env=env, log_path=tmp_path / "serve-1.log").start()
    with httpx.Client(base_url=first.url, timeout=30) as http:
        flood = {"subject": "Checkout page down", "body": "Payment page returns error 502."}
        routed = [http.post("/route", json=flood).json() for _ in range(11)]
        routed += [
            http.post("/route", json={"subject": f"Question {i}", "body": f"Order {i * 7}."}).json()
            for i in range(5)
        ]
        jobs = [
            http.post("/route/async", json={"subject": f"Async {i}", "body": f"Parcel {i}."})
            for i in range(8)
        ]
        assert all(j.status_code == 202 for j in jobs)
        deadline = time.monotonic() + 30
        while receiver.refused < 5 and time.monotonic() < deadline:  # the sender is trying
            time.sleep(0.1)
    first.stop(signal.SIGKILL)
    before = _outbox(str(store))
    assert receiver.refused >= 5 and not receiver.delivered
    assert any(status == "pending" for status in before.values())
    incident = routed[10]["dedup"]["master_incident_id"]
    assert f"master_incident:{incident}" in before

    receiver.failing = False
    with (
        LocalServer(env=env, log_path=tmp_path / "serve-2.log") as second,
        httpx.Client(base_url=second.url, timeout=30) as http,
    ):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            outbox = http.get("/stats").json()["webhook"]["outbox"]
            jobs_done = all(
                http.get(f"/route/async/{j.json()['job_id']}").json()["status"] == "done"
                for j in jobs
            )
            if jobs_done and outbox["pending"] == 0:
                break
            time.sleep(0.3)
        time.sleep(1.0)  # a duplicate delivery would arrive now
        after = _outbox(str(store))
    # one alert per ticket outside the incident, one per incident; async tickets included
    alerts = [k for k in after if k.startswith("urgent_ticket:")]
    before_incident = load_serve_settings(
        params
    ).dedup.incident_after  # flood tickets alerted alone
    assert len(alerts) == before_incident + 5 + 8 and len(after) == len(alerts) + 1
    assert set(after.values()) == {"sent"}
    assert set(receiver.delivered) == set(after)  # every message arrived ...
    assert max(receiver.delivered.values()) == 1  # ... and none twice
