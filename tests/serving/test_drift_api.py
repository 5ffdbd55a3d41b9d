"""Through the ASGI app: drift in /health and GET /drift, its webhook message in the outbox,
and the service's own families in GET /metrics (the session's service has a small drift
window, tests/serving/conftest.py DRIFT)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.serving.conftest import DRIFT, bearer

GERMAN = {
    "subject": "Rechnung {n} doppelt bezahlt",
    "body": "Die Rechnung {n} wurde zweimal abgebucht. Bitte erstatten Sie den Betrag umgehend.",
}


def _runtime():
    from bentos.service import RUNTIMES

    return RUNTIMES[-1]


def _drift_messages() -> list[dict]:
    return [m for m in _runtime().store.outbox.messages() if m["kind"] == "drift"]


def test_health_reports_drift_and_a_shift_writes_one_outbox_message(client) -> None:
    health = client.get("/health").json()
    assert health["drift"]["status"] in {"warming_up", "ok", "drifted"}
    assert health["drift"]["reference"]["tickets"] > 0
    assert health["drift"]["window"]["size"] == DRIFT["window"]
    tickets = [{k: v.format(n=7000 + i) for k, v in GERMAN.items()} for i in range(DRIFT["window"])]
    assert client.post("/route/batch", json={"tickets": tickets}).status_code == 200
    drift = client.get("/health").json()["drift"]
    assert drift["status"] == "drifted", drift
    assert drift["scores"]["language"] > drift["threshold"]["psi"]
    assert health["status"] == client.get("/health").json()["status"]  # drift is not an outage
    messages = _drift_messages()
    assert len(messages) == _runtime().drift.alerts_raised >= 1
    assert messages[-1]["message_id"].startswith("drift:")
    more = [{k: v.format(n=8000 + i) for k, v in GERMAN.items()} for i in range(20)]
    client.post("/route/batch", json={"tickets": more})  # still drifted: no second message
    assert len(_drift_messages()) == len(messages)


def test_drift_history_is_an_agent_read(client) -> None:
    history = client.get("/drift", headers=bearer("agent"))
    assert history.status_code == 200
    body = history.json()
    assert set(body) >= {"status", "scores", "threshold", "window", "history", "features"}
    assert client.get("/drift", headers=bearer("router")).status_code == 403


def test_metrics_carry_the_service_families_for_the_metrics_role(client) -> None:
    client.post("/route", json={"subject": "VPN down", "body": "The VPN drops every minute."})
    response = client.get("/metrics", headers=bearer("metrics"))
    assert response.status_code == 200, response.text
    text = response.text
    for name in (
        "smart_support_routes_total",
        "smart_support_review_rate",
        "smart_support_breaker_open",
        "smart_support_queue_depth",
        "smart_support_webhook_failures_total",
        "smart_support_drift_score",
        "smart_support_drift_flag",
        "smart_support_store_up",
    ):
        assert re.search(rf"^{name}(\{{.*\}})? ", text, re.M), name
    routed = r'^smart_support_routes_total\{category="\w+",model="\w+"\} [1-9]'
    assert re.search(routed, text, re.M)
    assert "# TYPE smart_support_routes_total counter" in text
    assert client.get("/stats", headers=bearer("metrics")).status_code == 403  # metrics only


@pytest.mark.e2e
def test_bentoml_serve_appends_the_service_families_to_its_own(served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        routed = http.post("/route", json={"subject": "VPN down", "body": "It drops often."})
        assert routed.status_code == 200, routed.text
        text = http.get("/metrics").text
    assert "bentoml_service_request_total" in text  # BentoML's, in the same exposition
    assert re.search(r'^smart_support_routes_total\{category="\w+",model="\w+"\} 1\.0$', text, re.M)
    assert re.search(r"^smart_support_drift_enabled 0\.0$", text, re.M)  # no reference: off
    assert re.search(r"^smart_support_store_up 1\.0$", text, re.M)
