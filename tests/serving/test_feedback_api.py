"""Through the ASGI app: agents' corrections (issue 14) — POST /tickets/{id}/feedback, a
correction on resolve, the ticket's corrections and the live quality in /stats."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from smart_support.serving.runtime import load_serve_settings
from tests.serving.conftest import bearer

CATEGORIES = ["Billing", "Legal", "Technical"]  # the tiny champion's labels


def _route(client, text: str | None = None) -> dict[str, Any]:
    body = text or f"The invoice {uuid.uuid4().hex[:6]} was charged twice, please refund it."
    response = client.post("/route", json={"subject": "Refund", "body": body})
    assert response.status_code == 200, response.text
    return response.json()


def _ticket_row(ticket_id: str) -> sqlite3.Row:
    with sqlite3.connect(load_serve_settings().store.path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone()


def _other(category: str) -> str:
    return next(c for c in CATEGORIES if c != category)


def test_feedback_for_an_unknown_ticket_is_404(client) -> None:
    response = client.post("/tickets/no-such-ticket/feedback", json={"category": "Billing"})
    assert response.status_code == 404
    assert "no-such-ticket" in response.json()["error"]
    assert client.get("/tickets/no-such-ticket/feedback").status_code == 404


def test_an_unknown_category_is_422_naming_the_allowed_ones(client) -> None:
    ticket = _route(client)
    response = client.post(f"/tickets/{ticket['ticket_id']}/feedback", json={"category": "Sales"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert "'Sales'" in error and all(c in error for c in CATEGORIES)
    level = {"category": "Billing", "urgency_level": "urgent-ish"}
    response = client.post(f"/tickets/{ticket['ticket_id']}/feedback", json=level)
    assert response.status_code == 422
    assert "critical" in response.json()["error"]
    assert client.get(f"/tickets/{ticket['ticket_id']}/feedback").json()["corrections"] == []


def test_a_correction_keeps_the_prediction_and_a_second_one_wins(client) -> None:
    ticket = _route(client)
    tid, predicted = ticket["ticket_id"], ticket["category"]
    first = client.post(
        f"/tickets/{tid}/feedback",
        json={"category": _other(predicted), "urgency_level": "high"},
        headers=bearer("agent"),
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["predicted_category"], body["model_used"]) == (predicted, ticket["model_used"])
    assert body["predicted_urgency_level"] == ticket["urgency_level"]
    assert body["model_version"]  # the registry version that classified it
    assert body["corrected_by"] != "anonymous" and body["corrections"] == 1
    second = client.post(f"/tickets/{tid}/feedback", json={"category": predicted}).json()
    assert second["corrections"] == 2
    history = client.get(f"/tickets/{tid}/feedback").json()["corrections"]
    assert [c["category"] for c in history] == [_other(predicted), predicted]
    assert _ticket_row(tid)["category"] == predicted  # the prediction is never overwritten


def test_a_new_category_moves_the_ticket_off_its_agents_slot(client) -> None:
    ticket = _route(client)
    new = _other(ticket["category"])
    response = client.post(f"/tickets/{ticket['ticket_id']}/feedback", json={"category": new})
    body = response.json()
    assert body["rerouted"] and body["routing_category"] == new
    row = _ticket_row(ticket["ticket_id"])
    assert (row["routing_category"], row["agent_id"]) == (new, body["agent"])
    agents = {a["id"]: a for a in client.get("/agents").json()["agents"]}
    if ticket["agent"] is not None and body["agent"] != ticket["agent"]:
        assert body["freed_agent"] == ticket["agent"]
    assert body["agent"] is None or new in agents[body["agent"]]["skills"]


def test_a_correction_on_resolve_closes_and_corrects(client) -> None:
    ticket = _route(client)
    new = _other(ticket["category"])
    response = client.post(f"/tickets/{ticket['ticket_id']}/resolve", json={"category": new})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resolved" and body["correction"]["category"] == new
    assert _ticket_row(ticket["ticket_id"])["status"] == "resolved"
    bad = client.post(f"/tickets/{_route(client)['ticket_id']}/resolve", json={"category": "X"})
    assert bad.status_code == 422
    assert client.post(f"/tickets/{_route(client)['ticket_id']}/resolve").status_code == 200


def test_stats_show_the_live_quality(client) -> None:
    ticket = _route(client)
    client.post(f"/tickets/{ticket['ticket_id']}/feedback", json={"category": ticket["category"]})
    quality = client.get("/stats").json()["quality"]
    assert quality["corrected_tickets"] >= 1
    assert ticket["category"] in quality["by_predicted_category"]
    assert quality["category_share"]["buckets"][-1]["tickets"] >= 1
    assert 0.0 <= quality["review_rate"] <= 1.0


def test_a_router_key_may_not_correct(client) -> None:
    ticket = _route(client)
    response = client.post(
        f"/tickets/{ticket['ticket_id']}/feedback",
        json={"category": "Billing"},
        headers=bearer("router"),
    )
    assert response.status_code in {401, 403}


def test_the_body_kept_for_training_is_redacted(client) -> None:
    ticket = _route(client, "Please refund invoice 7781 and write to jane.doe@example.com.")
    body = _ticket_row(ticket["ticket_id"])["body"]
    assert "example.com" not in body and "[email]" in body and "7781" in body
