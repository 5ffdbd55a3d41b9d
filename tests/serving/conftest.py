"""A real (small) champion and fallback, registered in MLflow and imported into BentoML."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smart_support.config import compose_config, to_dict
from smart_support.serving.access import hash_key
from tests.helpers import dedup_reference
from tests.serving.tiny_models import import_tiny_models


@pytest.fixture(scope="session")
def tracking(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow")
    tracking = to_dict(compose_config().tracking)
    tracking["tracking_uri"] = f"sqlite:///{root}/mlflow.db"
    return tracking


@pytest.fixture(scope="session")
def bento_models(tracking, tiny_splits) -> dict[str, Any]:
    """M2 as champion, M1 as fallback: trained, logged, registered, imported."""
    return import_tiny_models(tracking, tiny_splits)


# API keys of the test services (their hashes go in SMART_SUPPORT_API_KEYS, as in production).
KEYS = {
    "admin": "test-admin-key",
    "router": "test-router-key",
    "other_router": "test-other-router-key",
    "agent": "test-agent-key",
    "flood": "test-flood-key",  # an agent key only the rate-limit test spends
    "metrics": "test-metrics-key",  # a Prometheus scraper's
}
ROLES = {"admin": "admin", "router": "router", "other_router": "router", "agent": "agent"}
ROLES["flood"] = "agent"
ROLES["metrics"] = "metrics"


def keys_env() -> str:
    return ",".join(f"{hash_key(KEYS[name])}:{role}" for name, role in ROLES.items())


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def jobs_not_done(http: Any, job_ids: list[str], timeout_s: float) -> set[str]:
    """Poll `GET /route/async/{id}` until every job is done or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    pending = set(job_ids)
    while pending and time.monotonic() < deadline:
        pending = {j for j in pending if http.get(f"/route/async/{j}").json()["status"] != "done"}
        time.sleep(0.3)
    return pending


def write_params(path: Path, store: Path, **serve: Any) -> Path:
    cfg = to_dict(compose_config())
    cfg["serve"]["store"]["path"] = str(store)
    # never the checkout's models/drift_reference.json (a leftover of `make repro`): a test
    # that wants a reference passes `drift=`
    cfg["serve"]["drift"]["reference"] = str(path.parent / "no_drift_reference.json")
    # nor its models/dedup_reference.npy, which a fresh clone lacks
    cfg["serve"]["dedup"]["reference"] = str(dedup_reference())
    cfg["serve"].update(serve)
    path.write_text(yaml.safe_dump(cfg))
    return path


# Limits high enough that a test measures the API, not the rate limit (test_exposure_e2e's
# limit test drives the limits): at 100+ requests/s the default 50/s (burst 100) would 429.
NO_RATE_LIMIT = {"rate_per_s": 1000, "burst": 1000}

# Drift settings of the session's service: a small window, so a test can shift it.
DRIFT = {"window": 60, "min_tickets": 30, "evaluate_every": 10}


@pytest.fixture(scope="session")
def drift_reference(tiny_m2, tiny_splits, tmp_path_factory) -> Path:
    """The tiny champion's reference on the tiny validation split, with the served encoder."""
    from smart_support.monitoring.champion_reference import model_reference
    from smart_support.monitoring.reference import save_reference
    from smart_support.serving.bento_models import dedup_encoder
    from smart_support.serving.settings import ServeSettings

    encoder = dedup_encoder(ServeSettings.from_config(compose_config().serve))
    path = tmp_path_factory.mktemp("drift") / "drift_reference.json"
    save_reference(model_reference(tiny_m2, encoder, tiny_splits["val"].texts), path)
    return path


@pytest.fixture(scope="session")
def client(bento_models, drift_reference, tmp_path_factory) -> Iterator[Any]:
    """The BentoML service through its ASGI app (dependencies run in-process).

    One app per session: BentoML registers process-wide metrics when an app starts.
    Tests therefore compare before/after numbers instead of assuming an empty store.
    """
    from starlette.testclient import TestClient

    root = tmp_path_factory.mktemp("service")
    params = write_params(
        root / "params.yaml",
        root / "state.db",
        limits={"rate_per_s": 50, "burst": 200},
        drift={**DRIFT, "reference": str(drift_reference)},
    )
    os.environ["SMART_SUPPORT_PARAMS"] = str(params)
    os.environ["SMART_SUPPORT_FAULT_INJECTION"] = "1"
    os.environ["SMART_SUPPORT_API_KEYS"] = keys_env()
    # BentoML's /metrics reads prometheus_client's multiprocess files; `bentoml serve` sets
    # this directory, the in-process app does not.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(tmp_path_factory.mktemp("prometheus")))
    from bentos.service import SmartSupport

    # An admin key by default (tests of roles send their own); a Host the service allows.
    with TestClient(
        SmartSupport.to_asgi(), base_url="http://localhost:3000", headers=bearer("admin")
    ) as test_client:
        yield test_client


@pytest.fixture
def served(bento_models, tmp_path) -> Iterator[Any]:
    """`bentoml serve` on a loopback port with the fixture models (BENTOML_HOME is shared)."""
    from tests.local_server import LocalServer

    params = write_params(tmp_path / "params.yaml", tmp_path / "state.db")
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_FAULT_INJECTION": "1"}
    with LocalServer(env=env, log_path=tmp_path / "serve.log") as server:
        yield server
