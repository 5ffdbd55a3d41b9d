"""The BentoML service through its ASGI app, with small real models (no mocked outputs)."""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np
import pytest

from smart_support.serving.runtime import load_serve_settings
from tests.helpers import dedup_reference

TICKET = {
    "subject": "Invoice charged twice",
    "body": "My card was charged twice for invoice 1042, please refund.",
}


def test_route_returns_the_documented_fields(client) -> None:
    response = client.post("/route", json=TICKET)
    assert response.status_code < 500, response.text
    body = response.json()
    assert set(body) == {
        "ticket_id",
        "category",
        "confidence",
        "needs_review",
        "urgency_score",
        "urgency_level",
        "model_used",
        "agent",
        "queue_position",
        "dedup",
        "latency_ms",
    }
    assert body["category"] in {"Billing", "Technical", "Legal"}
    assert 0 <= body["urgency_score"] <= 1
    assert body["model_used"] == "m2"
    assert body["agent"] is not None or body["queue_position"] is not None


def test_batch_routes_every_ticket(client) -> None:
    response = client.post("/route/batch", json={"tickets": [TICKET] * 5})
    assert response.status_code < 500, response.text
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("/route", {"subject": "<b>", "body": "text"}, "subject"),
        ("/route", {"subject": "\u0001\u0007", "body": "text"}, "subject"),
        ("/route", {"subject": "ok", "body": "<i></i>"}, "body"),
        ("/route", {"subject": "", "body": "\u0000\u001b \u200b"}, "body"),
        ("/route", {"subject": "ok", "body": "\n\t "}, "body"),
        ("/route", {"subject": "ok"}, "body"),
        ("/route", {"subject": 5, "body": "text"}, "subject"),
        ("/route", {**TICKET, "priority": "high"}, "priority"),
        ("/route", {**TICKET, "body": "x" * 20001}, "20000"),
        ("/route/batch", {"tickets": [TICKET] * 101}, "100"),
        ("/route/batch", {"tickets": []}, "tickets"),
    ],
)
def test_bad_input_is_a_4xx_json_error(client, path: str, payload: dict, fragment: str) -> None:
    response = client.post(path, json=payload)
    assert 400 <= response.status_code < 500, response.text
    assert fragment in response.text


def test_lone_surrogates_are_never_a_500(client) -> None:
    ticket = {"subject": "\udd4f\u00f3", "body": "\u001b\u00fe|\udd4f broken text"}
    body = json.dumps({"tickets": [ticket, TICKET]}).encode()  # escaped: "\\udd4f" is valid JSON
    response = client.post(
        "/route/batch", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text  # readable text: routed, not refused
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize("subject", ["", "   "])
def test_a_ticket_without_a_subject_is_routed(client, subject: str) -> None:
    response = client.post("/route", json={"subject": subject, "body": TICKET["body"]})
    assert response.status_code == 200, response.text
    assert client.post("/route", json={"body": TICKET["body"]}).status_code == 200


def test_invalid_json_is_a_4xx(client) -> None:
    response = client.post(
        "/route", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/incidents/nope", "/route/async/nope"])
def test_unknown_ids_are_404(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "error" in response.json()


def test_resolve_unknown_ticket_is_404(client) -> None:
    assert client.post("/tickets/nope/resolve").status_code == 404


def test_an_async_ticket_over_the_body_limit_is_refused_with_413(client) -> None:
    response = client.post("/route/async", json={"subject": "Login", "body": "x" * 20001})
    assert response.status_code == 413
    assert "the limit is 20000" in response.json()["error"]


def test_async_job_is_accepted_and_completed(client) -> None:
    response = client.post("/route/async", json=TICKET)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 30  # the worker polls the shared store in the background
    while client.get(f"/route/async/{job_id}").json()["status"] in {"queued", "running"}:
        assert time.monotonic() < deadline, "job not done within 30 s"
        time.sleep(0.05)
    status = client.get(f"/route/async/{job_id}").json()
    assert status["status"] == "done", status
    assert status["result"]["category"] in {"Billing", "Technical", "Legal"}


def test_stats_count_what_was_routed(client) -> None:
    before = client.get("/stats").json()
    for _ in range(3):
        client.post("/route", json=TICKET)
    stats = client.get("/stats").json()
    assert stats["total_tickets"] == before["total_tickets"] + 3
    assert sum(stats["by_model"].values()) == stats["total_tickets"]
    assert sum(stats["urgency_histogram"]["counts"]) == stats["total_tickets"]


def test_language_is_detected_unless_the_client_gives_it(client) -> None:
    german = {
        "subject": "Rechnung doppelt belastet",
        "body": "Die Rechnung für März wurde zweimal abgebucht, bitte erstatten Sie den Betrag.",
    }
    detected = client.post("/route", json=german).json()["ticket_id"]
    given = client.post("/route", json={**german, "language": "EN"}).json()["ticket_id"]
    with sqlite3.connect(load_serve_settings().store.path) as db:
        rows = dict(db.execute("SELECT ticket_id, language FROM tickets").fetchall())
    assert (rows[detected], rows[given]) == ("de", "en")


def test_health_names_the_models_and_the_breaker(client) -> None:
    health = client.get("/health").json()
    assert health["models"]["champion"]["milestone"] == "m2"
    assert health["models"]["fallback"]["milestone"] == "m1"
    assert health["breaker"]["state"] == "closed"
    assert health["dedup_encoder"] == {  # as configured in conf/serve
        "model": "packaged:all-MiniLM-L6-v2",
        "backend": "onnx-int8",
        "max_seq_length": 64,
    }
    # the rule as configured in conf/serve, its usual rates from the test services' reference
    assert health["dedup_rule"] == {
        "rule": "burst",
        "threshold": 0.55,
        "min_matches": 3,
        "significance": 6.0,
        "near_copy": 0.85,
        "cohesion": 0.4,
        "usual_rate_tickets": len(np.load(dedup_reference())),
        "incident_after": 9,
        "window_s": 300.0,
    }


def test_resolving_frees_the_agent(client) -> None:
    # not TICKET, nor a refund like it: the session routes it often enough to make it an
    # incident, whose members hold no slot of their own (tests/serving/test_incidents_api.py)
    lone = {
        "subject": "Badge reader rejects my card",
        "body": "The badge reader at the side entrance rejects my new access card.",
    }
    routed = client.post("/route", json=lone).json()
    before = {a["id"]: a["load"] for a in client.get("/agents").json()["agents"]}
    answer = client.post(f"/tickets/{routed['ticket_id']}/resolve").json()
    after = {a["id"]: a["load"] for a in client.get("/agents").json()["agents"]}
    assert answer["freed_agent"] == routed["agent"]
    assert after[routed["agent"]] == before[routed["agent"]] - 1


def test_ui_page_and_assets_are_served(client) -> None:
    assert "ticket-form" in client.get("/ui").text
    assert client.get("/ui/app.js").status_code == 200
    assert client.get("/ui/nope.js").status_code == 404


def test_a_ticket_unlike_any_training_ticket_goes_to_review(client) -> None:
    """A recipe: the champion's out-of-domain check sends it to review, the ticket does not."""
    recipe = {
        "subject": "Apple cake",
        "body": "Preheat the oven to 180 degrees, whisk three eggs with sugar and butter, "
        "fold in the flour and bake the cake for forty minutes.",
    }
    routed = client.post("/route/batch", json={"tickets": [recipe, TICKET]}).json()["results"]
    assert [r["needs_review"] for r in routed] == [True, False]
