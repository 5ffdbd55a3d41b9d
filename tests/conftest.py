"""Shared fixtures: a small synthetic ticket set (the real sample is never copied)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests import models into a throw-away BentoML store, never the user's ~/bentoml.
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="smart-support-bentoml-")

from smart_support.data.sources import load_tickets  # noqa: E402 - after the environment
from smart_support.models.training import SplitData  # noqa: E402
from tests.helpers import fit, make_tickets, splits_from  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = ROOT.parent / "shared" / "data" / "tickets.csv"


@pytest.fixture
def tickets() -> pd.DataFrame:
    return make_tickets()


@pytest.fixture
def tickets_csv(tmp_path: Path, tickets: pd.DataFrame) -> Path:
    path = tmp_path / "tickets.csv"
    tickets.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def real_sample() -> Path:
    """The shared real sample; CI (SMART_SUPPORT_REQUIRE_DATA=1) fails instead of skipping."""
    if not SHARED_SAMPLE.exists():
        if os.environ.get("SMART_SUPPORT_REQUIRE_DATA") == "1":
            pytest.fail(f"{SHARED_SAMPLE} is missing")
        pytest.skip(f"{SHARED_SAMPLE} not on this machine")
    return SHARED_SAMPLE


@pytest.fixture(scope="session")
def tiny_splits() -> dict[str, SplitData]:
    return splits_from(make_tickets(240))


@pytest.fixture(scope="session")
def tiny_m2(tiny_splits):
    return fit("m2", tiny_splits, slot="m2")


@pytest.fixture(scope="session")
def real_splits(real_sample) -> dict[str, SplitData]:
    """The shared real sample split as the pipeline's prepare stage splits it."""
    return splits_from(load_tickets(str(real_sample)))


@pytest.fixture(scope="session")
def real_m2(real_splits):
    """M2 trained on the shared real sample (default hyper-parameters, seconds)."""
    return fit("m2", real_splits, slot="m2")


@pytest.fixture(scope="session")
def burst_settings(real_splits, tmp_path_factory):
    """The served dedup setting (the significant burst) with the reference its usual rates
    read, built as the dedup_reference stage builds it: the real train split, embedded by the
    served encoder."""
    import numpy as np

    from smart_support.features.embeddings import dedup_encoder_model, shared_embedder
    from smart_support.serving.settings import DedupSettings

    configured = DedupSettings()
    model = dedup_encoder_model(configured.finetuned, ROOT)
    encoder = shared_embedder(model, configured.max_seq_length, configured.backend, 1)
    path = tmp_path_factory.mktemp("dedup") / "dedup_reference.npy"
    np.save(path, encoder.encode(real_splits["train"].texts))
    return DedupSettings(reference=str(path))


@pytest.fixture
def texts() -> list[str]:
    return ["Invoice 123 was charged twice, please refund", "Server down after update, error 500"]


@pytest.fixture(scope="session")
def postgres_database():
    """One PostgreSQL database for the session (tests/postgres.py), dropped afterwards."""
    from tests.postgres import TestDatabase

    database = TestDatabase()
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> str:
    """An empty state store on each backend: a fresh SQLite file, or the session's PostgreSQL
    database emptied (every store a test opens on it shares it, like replicas do)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    database = request.getfixturevalue("postgres_database")
    database.reset()
    return database.url


# As the session found it: a session-scoped fixture runs before a test's autouse fixture,
# so what a test sees on entry may already be another test's leak.
_REGISTRY_ENV = os.environ.get("MLFLOW_REGISTRY_URI")


@pytest.fixture(autouse=True)
def _mlflow_registry_uri_stays_in_its_test():
    """mlflow.set_registry_uri(uri) (the stages' `configure`) sets a process-wide registry and
    exports MLFLOW_REGISTRY_URI, and set_registry_uri(None) does not take the export back: a
    test's registry (a database dropped after it) would leak into the next test."""
    import mlflow

    yield
    mlflow.set_registry_uri(None)  # the registry follows the tracking URI again
    if _REGISTRY_ENV is None:
        os.environ.pop("MLFLOW_REGISTRY_URI", None)
    else:
        os.environ["MLFLOW_REGISTRY_URI"] = _REGISTRY_ENV
