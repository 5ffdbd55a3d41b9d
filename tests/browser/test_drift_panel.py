"""The dashboard's drift panel in headless Chromium against a real `bentoml serve` that has a
(tiny) training reference: a German-only stream turns it `drifted` and the chart shows each
score against its threshold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.conftest import DRIFT, drift_reference, write_params  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "reports" / "screenshots" / "drift_panel.png"
TIMEOUT_MS = 20_000


@pytest.fixture
def served_with_reference(bento_models, drift_reference, tmp_path) -> Iterator[Any]:  # noqa: F811
    from tests.local_server import LocalServer

    params = write_params(
        tmp_path / "params.yaml",
        tmp_path / "state.db",
        drift={**DRIFT, "reference": str(drift_reference)},
    )
    with LocalServer(
        env={"SMART_SUPPORT_PARAMS": str(params)}, log_path=tmp_path / "serve.log"
    ) as server:
        yield server


def test_the_drift_panel_plots_a_shift_against_the_thresholds(
    browser_page, served_with_reference
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{served_with_reference.url}/ui")
    expect(page.locator("#drift-state")).to_have_text("warming_up")
    tickets = [
        {
            "subject": f"Rechnung {7000 + i} doppelt bezahlt",
            "body": f"Die Rechnung {7000 + i} wurde zweimal abgebucht, bitte erstatten.",
        }
        for i in range(DRIFT["window"])
    ]
    with httpx.Client(base_url=served_with_reference.url, timeout=60) as http:
        for start in range(0, len(tickets), 10):  # one evaluation per 10 tickets
            batch = {"tickets": tickets[start : start + 10]}
            assert http.post("/route/batch", json=batch).status_code == 200
    expect(page.locator("#drift-state")).to_have_text("drifted")
    expect(page.locator("#drift-chart polyline")).to_have_count(5)
    expect(page.locator("#drift-chart .drift-threshold")).to_have_count(1)
    expect(page.locator("#drift-chart .drift-item.over[data-feature=language]")).to_have_count(1)
    assert errors == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator("section[aria-labelledby=h-drift]").screenshot(path=str(SCREENSHOT))
