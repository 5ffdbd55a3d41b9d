"""Incidents own their tickets, over HTTP: one agent slot per flood, resolve as a whole, pages.

The `client` fixture's store is shared by the whole session, so these tests look only at
their own flood's tickets and compare counters before and after."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from smart_support.serving.runtime import load_serve_settings

OUTAGE = {  # every customer pastes the same error: one dedup group (cosine 1)
    "subject": "Checkout rejects every card with error PX-4711",
    "body": "Since 10:02 our checkout page rejects every card payment with error PX-4711.",
}
OTHER_OUTAGE = {
    "subject": "Mobile app crashes on launch after update 7.3.1",
    "body": "After installing version 7.3.1 the mobile app closes immediately on start.",
}


def webhook_fires(client, want: int | None = None, timeout_s: float = 10.0) -> int:
    """The fired count once it reaches `want` (or stops moving when `want` is None)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        fires = client.get("/stats").json()["webhook"]["fires"]
        settled = fires == want if want is not None else fires == last
        if settled or time.monotonic() > deadline:
            return fires
        last = fires
        time.sleep(0.2)


def total_load(client) -> int:
    return sum(a["load"] for a in client.get("/agents").json()["agents"])


def flood(client, ticket: dict[str, str], n: int) -> list[dict[str, Any]]:
    results = []
    for _ in range(n):
        response = client.post("/route", json=ticket)
        assert response.status_code == 200, response.text
        results.append(response.json())
    return results


def test_a_flood_holds_one_agent_slot_until_its_incident_is_resolved(client) -> None:
    alerts = load_serve_settings().urgency
    fires = webhook_fires(client)
    results = flood(client, OUTAGE, 14)
    incident_id = results[10]["dedup"]["master_incident_id"]
    assert incident_id and {r["dedup"]["master_incident_id"] for r in results[10:]} == {incident_id}
    detail = client.get(f"/incidents/{incident_id}", params={"limit": 200}).json()
    held = Counter(t["status"] for t in detail["tickets"])
    assert detail["size"] == 14
    assert held["linked"] == 13 and held["assigned"] + held["waiting"] == 1
    # one message for the incident; tickets routed before it opened had their own alerts
    urgent_before = sum(alerts.is_alert(r["urgency_score"]) for r in results[:10])
    assert webhook_fires(client, fires + 1 + urgent_before) == fires + 1 + urgent_before

    load = total_load(client)
    fires = webhook_fires(client)
    answer = client.post(f"/incidents/{incident_id}/resolve")
    assert answer.status_code == 200, answer.text
    resolved = answer.json()
    assert resolved["resolved_tickets"] == 14
    owner_agent = detail["owner_agent"]
    assert resolved["freed_agents"] == ([owner_agent] if owner_agent else [])
    assert total_load(client) == load - len(resolved["freed_agents"]) + len(
        resolved["next_assigned"]
    )
    after = client.get(f"/incidents/{incident_id}", params={"limit": 200}).json()
    assert (after["status"], after["open_members"]) == ("resolved", 0)
    assert {t["status"] for t in after["tickets"]} == {"resolved"}
    assert webhook_fires(client, fires + 1) == fires + 1  # one "resolved" message

    again = client.post(f"/incidents/{incident_id}/resolve").json()
    assert again["resolved_tickets"] == 0
    assert webhook_fires(client) == fires + 1


def test_incidents_are_listed_with_counts_and_paged(client) -> None:
    incident_id = flood(client, OTHER_OUTAGE, 12)[11]["dedup"]["master_incident_id"]
    first = client.get("/incidents", params={"limit": 1}).json()
    assert set(first) == {"incidents", "next_cursor"}
    [newest] = first["incidents"]
    assert (newest["id"], newest["size"], newest["open_members"]) == (incident_id, 12, 12)
    assert "tickets" not in newest
    members = client.get(f"/incidents/{incident_id}", params={"limit": 5}).json()
    assert len(members["tickets"]) == 5 and members["next_cursor"]
    rest = client.get(
        f"/incidents/{incident_id}", params={"limit": 200, "cursor": members["next_cursor"]}
    ).json()
    assert len(rest["tickets"]) == 7 and rest["next_cursor"] is None
    assert sum(rest["timeline"]["counts"]) == 12


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "invalid request"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "WzEsMiwzXQ"}, "cursor"),
        ({"status": "closed"}, "status"),
    ],
)
def test_a_bad_incident_page_request_is_a_422_json_error(client, query, fragment) -> None:
    response = client.get("/incidents", params=query)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]


def test_a_bad_member_cursor_is_a_422_json_error(client) -> None:
    incident_id = flood(client, OTHER_OUTAGE, 11)[-1]["dedup"]["master_incident_id"]
    response = client.get(f"/incidents/{incident_id}", params={"cursor": "WyJ4Il0"})
    assert response.status_code == 422, response.text
    assert "cursor" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/incidents/nope"), ("post", "/incidents/nope/resolve")]
)
def test_an_unknown_incident_is_a_404_json_error(client, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert "nope" in response.json()["error"]
