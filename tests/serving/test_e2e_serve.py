"""End to end: a real `bentoml serve` on loopback, routed over HTTP, then stopped."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_bentoml_serve_routes_tickets_over_http(served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        first = http.post(
            "/route", json={"subject": "VPN down", "body": "The VPN drops every minute."}
        )
        assert first.status_code == 200, first.text
        batch = http.post(
            "/route/batch",
            json={
                "tickets": [
                    {"subject": f"Invoice {i}", "body": "Charged twice, refund please."}
                    for i in range(10)
                ]
            },
        )
        assert batch.status_code == 200 and len(batch.json()["results"]) == 10
        job = http.post(
            "/route/async", json={"subject": "Login", "body": "Cannot log in since today."}
        )
        assert job.status_code == 202
        job_id = job.json()["job_id"]
        deadline = time.monotonic() + 30
        while (
            http.get(f"/route/async/{job_id}").json()["status"] != "done"
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert http.get(f"/route/async/{job_id}").json()["status"] == "done"
        assert http.get("/stats").json()["total_tickets"] == 12
        assert http.get("/health").json()["models"]["champion"]["milestone"] == "m2"
        assert http.get("/docs.json").status_code == 200
    assert served.stop() is not None
