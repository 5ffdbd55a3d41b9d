"""A real (small) champion and fallback, registered in MLflow and imported into BentoML."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smart_support.config import compose_config, to_dict
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


def write_params(path: Path, store: Path, **serve: Any) -> Path:
    cfg = to_dict(compose_config())
    cfg["serve"]["store"]["path"] = str(store)
    cfg["serve"].update(serve)
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def client(bento_models, tmp_path_factory) -> Iterator[Any]:
    """The BentoML service through its ASGI app (dependencies run in-process).

    One app per session: BentoML registers process-wide metrics when an app starts.
    Tests therefore compare before/after numbers instead of assuming an empty store.
    """
    from starlette.testclient import TestClient

    root = tmp_path_factory.mktemp("service")
    os.environ["SMART_SUPPORT_PARAMS"] = str(write_params(root / "params.yaml", root / "state.db"))
    os.environ["SMART_SUPPORT_FAULT_INJECTION"] = "1"
    from bentos.service import SmartSupport

    with TestClient(SmartSupport.to_asgi()) as test_client:
        yield test_client


@pytest.fixture
def served(bento_models, tmp_path) -> Iterator[Any]:
    """`bentoml serve` on a loopback port with the fixture models (BENTOML_HOME is shared)."""
    from tests.local_server import LocalServer

    params = write_params(tmp_path / "params.yaml", tmp_path / "state.db")
    env = {"SMART_SUPPORT_PARAMS": str(params), "SMART_SUPPORT_FAULT_INJECTION": "1"}
    with LocalServer(env=env, log_path=tmp_path / "serve.log") as server:
        yield server
