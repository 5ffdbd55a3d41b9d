"""The front door through the service's ASGI app: keys and roles, Host and Origin, JSON-only
bodies, the per-key rate limit, content checks and what personal data leaves the service."""

from __future__ import annotations

import sqlite3
import time

import pytest

from smart_support.serving.runtime import load_serve_settings
from tests.serving.conftest import KEYS, bearer

TICKET = {"subject": "Invoice charged twice", "body": "My card was charged twice, please refund."}
NO_KEY = {"Authorization": ""}  # overrides the client's default admin key


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/route"),
        ("POST", "/route/batch"),
        ("POST", "/route/async"),
        ("GET", "/route/async/abc"),
        ("GET", "/triage"),
        ("GET", "/incidents"),
        ("GET", "/agents"),
        ("GET", "/stats"),
        ("POST", "/tickets/abc/resolve"),
        ("POST", "/admin/faults"),
        ("GET", "/metrics"),
    ],
)
def test_every_endpoint_but_the_probes_needs_a_key(client, method: str, path: str) -> None:
    response = client.request(
        method, path, headers=NO_KEY, json=TICKET if method == "POST" else None
    )
    assert response.status_code == 401, response.text
    assert "API key" in response.json()["error"]
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = client.request(method, path, headers={**NO_KEY, "X-API-Key": "not-a-key"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    "path", ["/health", "/livez", "/readyz", "/ui", "/ui/app.js", "/docs.json"]
)
def test_probes_and_the_dashboard_shell_are_open(client, path: str) -> None:
    assert client.get(path, headers=NO_KEY).status_code == 200


@pytest.mark.parametrize(
    ("key", "method", "path"),
    [
        ("router", "GET", "/triage"),
        ("router", "GET", "/incidents"),
        ("router", "POST", "/tickets/abc/resolve"),
        ("router", "POST", "/admin/faults"),
        ("router", "GET", "/metrics"),
        ("agent", "POST", "/route"),
        ("agent", "POST", "/admin/faults"),
        ("agent", "GET", "/metrics"),
    ],
)
def test_a_key_without_the_role_is_forbidden(client, key: str, method: str, path: str) -> None:
    response = client.request(method, path, headers=bearer(key))
    assert response.status_code == 403, response.text
    assert "needs" in response.json()["error"]


def test_each_role_reaches_its_endpoints(client) -> None:
    routed = client.post("/route", json=TICKET, headers={**NO_KEY, "X-API-Key": KEYS["router"]})
    assert routed.status_code == 200, routed.text
    for path in ("/triage", "/incidents", "/agents", "/stats"):
        assert client.get(path, headers=bearer("agent")).status_code == 200, path
    resolved = client.post(
        f"/tickets/{routed.json()['ticket_id']}/resolve", headers=bearer("agent")
    )
    assert resolved.status_code == 200, resolved.text
    faults = client.post("/admin/faults", params={"delay_ms": 0}, headers=bearer("admin"))
    assert faults.status_code == 200, faults.text


def test_a_router_reads_only_its_own_jobs(client) -> None:
    accepted = client.post("/route/async", json=TICKET, headers=bearer("router"))
    assert accepted.status_code == 202, accepted.text
    path = f"/route/async/{accepted.json()['job_id']}"
    assert client.get(path, headers=bearer("router")).status_code == 200
    assert client.get(path, headers=bearer("other_router")).status_code == 404
    assert client.get(path, headers=bearer("admin")).status_code == 200


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        (
            {"content-type": "application/x-www-form-urlencoded", "origin": "https://evil.example"},
            b"subject=a&body=b",
            403,
        ),
        ({"content-type": "application/x-www-form-urlencoded"}, b"subject=a&body=b", 415),
        ({"content-type": "text/plain"}, b'{"subject": "a", "body": "b"}', 415),
        ({"content-type": "multipart/form-data; boundary=x"}, b"--x--", 415),
    ],
)
def test_cross_site_and_non_json_posts_are_refused(
    client, headers: dict, content: bytes, status: int
) -> None:
    response = client.post("/route", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_json_with_a_charset_is_accepted(client) -> None:
    response = client.post(
        "/route",
        content=b'{"subject": "a", "body": "The printer is broken."}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:3000", "10.0.0.5"])
def test_a_foreign_host_header_is_misdirected(client, host: str) -> None:
    for path in ("/incidents", "/health"):  # a DNS-rebinding page reads nothing
        response = client.get(path, headers={"host": host})
        assert response.status_code == 421, response.text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:3000", "[::1]:8080", "LOCALHOST:1"])
def test_loopback_names_are_served(client, host: str) -> None:
    assert client.get("/health", headers={"host": host}).status_code == 200


def test_cors_is_closed_by_default(client) -> None:
    preflight = client.options(
        "/route",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    same_origin = client.post("/route", json=TICKET, headers={"origin": "http://localhost:3000"})
    assert same_origin.status_code == 200  # the dashboard posts from the service's own origin


def test_the_rate_limit_answers_429_with_retry_after_then_recovers(client) -> None:
    """50 requests/s and bursts of 200 per key (conftest); the flood key alone is limited."""
    statuses = []
    for _ in range(1000):
        response = client.get("/agents", headers=bearer("flood"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
    assert len(statuses) > 200  # the burst passed first
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1 and "rate limit" in response.json()["error"]
    assert client.get("/agents", headers=bearer("agent")).status_code == 200  # per key
    time.sleep(retry_after)
    assert client.get("/agents", headers=bearer("flood")).status_code == 200


def test_personal_data_is_redacted_where_it_leaves_the_model_path(client) -> None:
    subject = "Call me at +49 30 12345678 or jane.doe@example.com, IBAN DE89370400440532013000"
    routed = client.post("/route", json={"subject": subject, "body": "Please call back."}).json()
    with sqlite3.connect(load_serve_settings().store.path) as db:
        (stored,) = db.execute(
            "SELECT subject FROM tickets WHERE ticket_id = ?", (routed["ticket_id"],)
        ).fetchone()
    assert stored == "Call me at [phone] or [email], IBAN [iban]"
    shown = client.get("/triage").text + client.get("/incidents").text
    assert "jane.doe" not in shown and "12345678" not in shown


def test_a_ticket_without_a_subject_is_stored_under_the_start_of_its_body(client) -> None:
    body = "Our VPN drops every five minutes. Write to ops@example.com."
    routed = client.post("/route", json={"subject": "", "body": body}).json()
    with sqlite3.connect(load_serve_settings().store.path) as db:
        (stored,) = db.execute(
            "SELECT subject FROM tickets WHERE ticket_id = ?", (routed["ticket_id"],)
        ).fetchone()
    assert stored == "Our VPN drops every five minutes. Write to [email]."
