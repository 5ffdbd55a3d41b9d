"""MLflow set-up and logging helpers (no side effects at import time)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from typing import Any

import mlflow


def configure(tracking: Mapping[str, Any]) -> None:
    mlflow.set_tracking_uri(str(tracking["tracking_uri"]))
    mlflow.set_registry_uri(str(tracking["tracking_uri"]))
    mlflow.set_experiment(str(tracking["experiment"]))


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
