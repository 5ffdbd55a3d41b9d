"""Short versions of `make loadtest` and `make fuzz` against a real `bentoml serve`."""

from __future__ import annotations

import pytest

from benchmarks.fuzz import fuzz
from benchmarks.loadtest import run_loadtest

pytestmark = pytest.mark.e2e


def test_short_load_test_passes(served) -> None:
    """~12 s of mixed sync/batch/async traffic plus a 14-ticket outage flood."""
    summary = run_loadtest(duration_s=12, rate=4, url=served.url)
    assert summary["passed"], summary["failures"]
    assert summary["incidents"] == 1 and summary["stats_total"] == summary["tickets_sent"]


def test_fuzzing_finds_no_server_error_or_schema_violation(served) -> None:
    """A few dozen generated requests per operation: no 5xx, responses match /docs.json."""
    results = fuzz(served.url, examples=25)
    assert results and all(r["examples"] > 0 for r in results.values())
    failed = {name: r["failures"] for name, r in results.items() if r["failures"]}
    assert not failed, failed
