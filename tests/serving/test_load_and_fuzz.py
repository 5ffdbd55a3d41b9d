"""Short versions of `make loadtest` and `make fuzz` against a real `bentoml serve`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.fuzz import fuzz
from benchmarks.loadtest import run_loadtest
from tests.serving.conftest import KEYS, NO_RATE_LIMIT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, bento_models, tmp_path_factory) -> Iterator[Any]:
    """One `bentoml serve` per store backend for both tests (the load test runs first, on an
    empty store)."""
    from tests.local_server import LocalServer
    from tests.serving.conftest import keys_env, write_params

    root = tmp_path_factory.mktemp("load")
    # With API keys (as in production), without the rate limit
    params = write_params(root / "params.yaml", root / "state.db", limits=NO_RATE_LIMIT)
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_API_KEYS": keys_env()}
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres_database")
        database.reset()
        env["SMART_SUPPORT_STORE_URL"] = database.url
    with LocalServer(env=env, log_path=root / "serve.log") as s:
        yield s


def test_short_load_test_passes(server) -> None:
    """~12 s of mixed sync/batch/async traffic plus a 14-ticket outage flood."""
    summary = run_loadtest(duration_s=12, rate=4, url=server.url, api_key=KEYS["admin"])
    assert summary["passed"], summary["failures"]
    assert summary["incidents"] == 1 and summary["stats_total"] == summary["tickets_sent"]


def test_fuzzing_finds_no_server_error_or_schema_violation(server) -> None:
    """A few dozen generated requests per operation: no 5xx, responses match /docs.json."""
    results = fuzz(server.url, examples=25, api_key=KEYS["admin"])
    assert results and all(r["examples"] > 0 for r in results.values())
    failed = {name: r["failures"] for name, r in results.items() if r["failures"]}
    assert not failed, failed
