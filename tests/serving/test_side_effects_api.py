"""Through the ASGI app: idempotent requests, the webhook outbox, job payload deletion and
ticket erasure (issue 13, items 5 and 6)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any
from unittest.mock import ANY

from smart_support.serving.runtime import load_serve_settings

TICKET = {
    "subject": "Refund for order 5521",
    "body": "The refund for order 5521 has not arrived after two weeks.",
}


def _store() -> sqlite3.Connection:
    return sqlite3.connect(load_serve_settings().store.path)


def _loads(client) -> dict[str, int]:
    return {a["id"]: a["load"] for a in client.get("/agents").json()["agents"]}


def _open_tickets(client) -> int:
    """Assigned plus waiting tickets: a freed slot moves a waiting ticket, keeping the sum."""
    agents = client.get("/agents").json()
    return sum(a["load"] for a in agents["agents"]) + agents["waiting"]


def _wait_job(client, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (job := client.get(f"/route/async/{job_id}").json())["status"] in {"queued", "running"}:
        assert time.monotonic() < deadline, f"job {job_id} not done within {timeout_s} s"
        time.sleep(0.05)
    return job


def _wait_outbox_sent(client, timeout_s: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while (outbox := client.get("/stats").json()["webhook"]["outbox"])["pending"]:
        assert time.monotonic() < deadline, f"outbox not delivered: {outbox}"
        time.sleep(0.1)
    return outbox


def test_a_retried_route_gets_the_first_answer_and_takes_no_second_slot(client) -> None:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    total = client.get("/stats").json()["total_tickets"]
    first = client.post("/route", json=TICKET, headers=headers)
    assert first.status_code == 200, first.text
    loads = _loads(client)
    again = client.post("/route", json=TICKET, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()  # latency_ms included: the stored first answer
    assert _loads(client) == loads
    assert client.get("/stats").json()["total_tickets"] == total + 1
    other = client.post("/route", json=TICKET, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert other.json()["ticket_id"] != first.json()["ticket_id"]


def test_an_idempotency_key_reused_for_another_ticket_is_refused(client) -> None:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    assert client.post("/route", json=TICKET, headers=headers).status_code == 200
    changed = {**TICKET, "body": "Something else entirely."}
    response = client.post("/route", json=changed, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]


def test_an_overlong_idempotency_key_is_a_400(client) -> None:
    for path in ("/route", "/route/async"):
        response = client.post(path, json=TICKET, headers={"Idempotency-Key": "k" * 256})
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["error"]


def test_a_retried_async_request_returns_the_first_job(client) -> None:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/route/async", json=TICKET, headers=headers)
    again = client.post("/route/async", json=TICKET, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    other = client.post("/route/async", json=TICKET, headers={"Idempotency-Key": "another"})
    assert other.json()["job_id"] != first.json()["job_id"]
    assert _wait_job(client, first.json()["job_id"])["status"] == "done"


def test_a_finished_job_keeps_no_payload(client) -> None:
    job_id = client.post("/route/async", json=TICKET).json()["job_id"]
    assert _wait_job(client, job_id)["status"] == "done"
    with _store() as conn:
        [payload] = conn.execute("SELECT payload FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    assert payload is None or json.loads(payload) == {"_owner": ANY}  # no ticket text kept


def test_an_incident_alert_goes_through_the_outbox_once(client) -> None:
    flood = {"subject": f"Portal {uuid.uuid4().hex[:6]} down", "body": "Login page shows 502."}
    routed = [client.post("/route", json=flood).json() for _ in range(11)]
    incident = routed[-1]["dedup"]["master_incident_id"]
    assert incident is not None
    _wait_outbox_sent(client)
    with _store() as conn:
        rows = conn.execute(
            "SELECT status, payload FROM outbox WHERE message_id = ?",
            (f"master_incident:{incident}",),
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][0] == "sent"
    assert f'"idempotency_key": "master_incident:{incident}"' in rows[0][1]


def test_erasing_a_ticket_deletes_its_data(client) -> None:
    # not like TICKET: the session routes it often enough to make it an incident, and a
    # member of one holds no slot or queue place of its own
    secret = f"Account {uuid.uuid4().hex[:8]} locked"
    body = "My account was locked after three wrong passwords; please unlock it."
    routed = client.post("/route", json={"subject": secret, "body": body}).json()
    open_before = _open_tickets(client)
    response = client.delete(f"/tickets/{routed['ticket_id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {"ticket_id": routed["ticket_id"], "erased": True}
    with _store() as conn:
        found = conn.execute(
            "SELECT COUNT(*) FROM tickets WHERE subject = ? OR ticket_id = ?",
            (secret, routed["ticket_id"]),
        ).fetchone()[0]
    assert found == 0
    assert _open_tickets(client) == open_before - 1  # its slot or queue place is free
    assert client.post(f"/tickets/{routed['ticket_id']}/resolve").status_code == 404


def test_erasing_an_unknown_ticket_is_404(client) -> None:
    response = client.delete("/tickets/no-such-ticket")
    assert response.status_code == 404
    assert "error" in response.json()


def test_an_async_ticket_over_the_limits_is_refused_with_its_status(client) -> None:
    response = client.post("/route/async", json={**TICKET, "body": "x" * 20001})
    assert response.status_code == 413
    assert "20000" in response.json()["error"]
