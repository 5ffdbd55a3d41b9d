"""Two worker processes share one store: no agent over capacity, every job done once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.local_server import LocalServer
from tests.serving.conftest import NO_RATE_LIMIT, write_params

pytestmark = pytest.mark.e2e


def ticket(i: int) -> dict[str, str]:
    topics = [
        "Invoice {i} charged twice",
        "VPN {i} drops",
        "Contract {i} termination",
        "Login {i} fails",
    ]
    return {
        "subject": topics[i % 4].format(i=i),
        "body": f"Case {i}: please help, details follow {i * 7}.",
    }


def test_two_workers_keep_capacity_and_run_each_job_once(bento_models, tmp_path) -> None:
    params = write_params(tmp_path / "params.yaml", tmp_path / "state.db", limits=NO_RATE_LIMIT)
    env = {
        "SMART_SUPPORT_PARAMS": str(params),
        "BENTOML_CONFIG_OVERRIDES": json.dumps({"services": {"smart-support": {"workers": 2}}}),
    }
    log = tmp_path / "serve.log"
    with (
        LocalServer(env=env, log_path=log) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        with ThreadPoolExecutor(8) as pool:
            routed = list(pool.map(lambda i: http.post("/route", json=ticket(i)), range(60)))
            jobs = list(
                pool.map(lambda i: http.post("/route/async", json=ticket(100 + i)), range(20))
            )
        assert all(r.status_code == 200 for r in routed)
        assert all(j.status_code == 202 for j in jobs)
        job_ids = [j.json()["job_id"] for j in jobs]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [http.get(f"/route/async/{job_id}").json()["status"] for job_id in job_ids]
            if all(s == "done" for s in states):
                break
            time.sleep(0.2)
        assert states == ["done"] * 20
        agents = http.get("/agents").json()["agents"]
        assert all(a["load"] <= a["capacity"] for a in agents)
        stats = http.get("/stats").json()
        assert stats["total_tickets"] == 80  # each job routed exactly once
        results = [r.json() for r in routed]
        assert all(r["agent"] is not None or r["queue_position"] is not None for r in results)
    text = log.read_text()
    assert "smart-support:1" in text and "smart-support:2" in text  # two workers really ran
