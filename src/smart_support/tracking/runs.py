"""MLflow set-up and logging helpers (no side effects at import time)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Mapping
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from smart_support.tracking.databases import ensure_database


def configure(tracking: Mapping[str, Any]) -> None:
    """Point MLflow's tracking and registry at `tracking_uri` (its PostgreSQL database is
    created on first use) and select the experiment, created with `artifact_location`."""
    uri = str(tracking["tracking_uri"])
    ensure_database(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    name = str(tracking["experiment"])
    location = tracking.get("artifact_location")
    if location and mlflow.get_experiment_by_name(name) is None:
        with contextlib.suppress(MlflowException):  # another worker created it first
            mlflow.create_experiment(name, artifact_location=str(location))
    mlflow.set_experiment(name)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config → dotted keys; long lists are summarised (MLflow caps param length)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list) and len(str(value)) > 250:
            flat[name] = f"<{len(value)} items>"
        else:
            flat[name] = value
    return flat


def log_metrics(metrics: Mapping[str, float], prefix: str) -> None:
    mlflow.log_metrics({f"{prefix}{k}": float(v) for k, v in metrics.items()})
