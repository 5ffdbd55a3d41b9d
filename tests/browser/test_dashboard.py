"""The mission-control dashboard in headless Chromium against a real `bentoml serve`.

Submit a ticket through the form, watch the stats refresh, flood near-duplicates and see
the master incident appear, open it (size over time, members) and resolve it, resolve a ticket
from the triage queue, then stop the service
and see the error banner.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import httpx
import psutil
import pytest

from tests.floods.samples import EN_LOGIN_503, UNRELATED

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "reports" / "screenshots" / "dashboard.png"
TIMEOUT_MS = 20_000  # the dashboard refreshes every 2 s; slack for a busy CI machine
FIRST_ROUTE_MS = 60_000  # the first ticket also loads the embedding model
TICKET = {
    "subject": "VPN drops every minute",
    "body": "Since the update the VPN disconnects every minute, urgent, we cannot work.",
}


def test_dashboard_end_to_end(browser_page, served) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # assertions retry until then (no fixed sleeps)
    page = browser_page
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))

    page.goto(f"{served.url}/ui")
    # First refresh: every panel rendered from the real API, nothing failed.
    expect(page.locator("#stats-total")).to_have_text("0")
    expect(page.locator("#breaker-state")).to_have_text("closed")
    expect(page.locator("#breaker-trips")).to_have_text("0")
    expect(page.locator("#webhook-fires")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#model-versions [data-role=champion] strong")).to_have_text("m2")
    expect(page.locator("#agents [data-testid=agent]").first).to_be_visible()
    expect(page.locator("#agents [data-testid=agent] .chip").first).to_have_text(
        re.compile(r"^[A-Za-z]+\s*\d\.\d$")
    )
    expect(page.locator("#error-banner")).to_be_hidden()

    # Route a ticket through the form.
    page.fill("#subject", TICKET["subject"])
    page.fill("#body", TICKET["body"])
    page.click("#submit")
    result = page.locator("#result")
    expect(result.get_by_test_id("result-category")).to_have_text(
        re.compile(r"Billing|Technical|Legal|Triage"), timeout=FIRST_ROUTE_MS
    )
    expect(result.get_by_test_id("result-confidence")).to_have_text(re.compile(r"\d+%"))
    expect(result.get_by_test_id("result-urgency")).to_have_text(
        re.compile(r"\d\.\d\d\s*(low|medium|high|critical)")
    )
    expect(result.get_by_test_id("result-agent")).to_have_text(
        re.compile(r"Assigned to \w+|Queued")
    )
    expect(result.get_by_test_id("result-dedup")).to_have_text(re.compile(r"new|duplicate"))
    expect(result.get_by_test_id("result-model")).to_have_text("m2")
    expect(result.get_by_test_id("result-latency")).to_have_text(re.compile(r"^\d+\.\d ms$"))
    expect(page.locator("#stats-total")).to_have_text("1")
    expect(page.locator("#stats-by-model [data-key=m2] .bar-value")).to_have_text("1")

    # Traffic from elsewhere reaches the dashboard through its auto-refresh.
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert http.post("/route", json=TICKET).status_code == 200
        expect(page.locator("#stats-total")).to_have_text("2")
        expect(page.locator("#incidents [data-testid=incident]")).to_have_count(0)

        # A flood of near-duplicates (one outage, many customers) becomes a master incident.
        for subject, body in EN_LOGIN_503:
            response = http.post("/route", json={"subject": subject, "body": body})
            assert response.status_code == 200, response.text
        incidents = http.get("/incidents").json()["incidents"]
        assert len(incidents) == 1 and incidents[0]["size"] > 10

        incident = page.locator("#incidents [data-testid=incident]")
        expect(incident).to_have_count(1)
        expect(incident.get_by_test_id("incident-size")).to_have_text(str(incidents[0]["size"]))
        expect(page.locator("#stats-incidents")).to_have_text("1")
        expect(page.locator("#stats-total")).to_have_text(str(2 + len(EN_LOGIN_503)))

        # Open the incident: its size over time and its members; resolve it from the dashboard.
        flood_id, size = incidents[0]["id"], incidents[0]["size"]
        expect(incident.get_by_test_id("incident-status")).to_have_text("open")
        incident.locator("summary .incident-title").click()
        expect(incident.get_by_test_id("incident-timeline")).to_be_visible()
        expect(incident.get_by_test_id("incident-member")).to_have_count(min(20, size))
        held = incident.locator("[data-testid=incident-member]:not([data-status=linked])")
        expect(held).to_have_count(1)  # the owner; every other member is linked to it
        incident.get_by_role("button", name=f"Resolve incident {flood_id}").click()
        expect(page.locator("#incident-note")).to_have_text(
            re.compile(f"^Resolved incident {flood_id} · {size} tickets closed")
        )
        expect(incident.get_by_test_id("incident-status")).to_have_text("resolved")
        expect(
            incident.locator("[data-testid=incident-member][data-status=resolved]")
        ).to_have_count(min(20, size))
        assert http.get(f"/incidents/{flood_id}").json()["open_members"] == 0

        # Everyday traffic: the low-confidence tickets wait in the triage queue; resolve one.
        for subject, body in UNRELATED:
            assert http.post("/route", json={"subject": subject, "body": body}).status_code == 200
        triage = http.get("/triage").json()["tickets"]
    assert triage, "expected some low-confidence tickets in /triage"
    queue = page.locator("#triage [data-testid=triage-ticket]")
    expect(queue).to_have_count(len(triage))
    first = queue.first
    ticket_id = first.get_attribute("data-id")
    first.get_by_role("button", name=f"Resolve ticket {ticket_id}").click()
    expect(page.locator("#triage-note")).to_have_text(re.compile(f"^Resolved {ticket_id}"))
    expect(queue).to_have_count(len(triage) - 1)

    # Correct the next one: the agent's category sends it to its team (out of triage), and the
    # live-quality panel counts the correction.
    assert len(triage) >= 2, "expected a second ticket to correct"
    second = queue.first
    second_id = second.get_attribute("data-id")
    shown = second.locator(".tag").inner_text()
    other = next(c for c in ("Billing", "Technical", "Legal") if c != shown)
    second.get_by_test_id("correct-category").select_option(other)
    second.get_by_test_id("correct-urgency").select_option("high")
    second.get_by_test_id("correct-submit").click()
    expect(page.locator("#triage-note")).to_have_text(
        re.compile(f"^Corrected {second_id}: {shown} → {other}")
    )
    expect(queue).to_have_count(len(triage) - 2)
    expect(page.locator("#quality-corrected")).to_have_text(re.compile(r"^1 \(1 corrections"))
    expect(page.locator("#quality-agreement")).to_have_text("0%")
    expect(page.locator("#quality-by-model tr[data-key]")).to_have_count(1)
    expect(page.locator("#quality-shares [data-testid=share-bucket]").first).to_be_visible()
    expect(page.locator("#stats-total")).to_have_text(str(2 + len(EN_LOGIN_503) + len(UNRELATED)))
    expect(incident).to_have_count(1)
    expect(page.locator("#urgency-histogram [data-testid=histogram-bin]")).to_have_count(10)
    expect(page.locator("#error-banner")).to_be_hidden()
    assert errors == []

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    expect(incident.get_by_test_id("incident-timeline")).to_be_visible()  # opened above
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The service goes away: the banner says so while the page keeps retrying.
    workers = psutil.Process(served.process.pid).children(recursive=True)
    try:
        assert served.stop() is not None
        banner = page.locator("#error-banner")
        expect(banner).to_be_visible()
        expect(banner).to_have_text(re.compile("unreachable", re.I))
        expect(page.locator("body")).to_have_class(re.compile(r"\bstale\b"))
    finally:
        # BentoML workers run in sessions of their own: a SIGKILL of the server's process group
        # (LocalServer's fallback when SIGTERM takes too long) leaves them running.
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.terminate()
        for worker in psutil.wait_procs(workers, timeout=5)[1]:
            with contextlib.suppress(psutil.Error):
                worker.kill()
