"""Import the registered router models into the BentoML model store and build the Bento."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

CHAMPION_TAG = "smart-support-champion"
FALLBACK_TAG = "smart-support-fallback"


def import_registered(tracking: Mapping[str, Any]) -> dict[str, Any]:
    """`bentoml.mlflow.import_model` for @champion and @fallback; returns their Bento tags."""
    import bentoml

    client = MlflowClient()
    name = str(tracking["registered_model"])
    imported: dict[str, Any] = {}
    for bento_name, alias in (
        (CHAMPION_TAG, tracking["champion_alias"]),
        (FALLBACK_TAG, tracking["fallback_alias"]),
    ):
        version = client.get_model_version_by_alias(name, alias)
        tags = version.tags or {}
        model = bentoml.mlflow.import_model(
            bento_name,
            f"models:/{name}@{alias}",
            labels={"alias": str(alias), "milestone": str(tags.get("milestone", ""))},
            metadata={
                "registered_model": name,
                "registry_version": str(version.version),
                "milestone": str(tags.get("milestone", "")),
                "labels": str(tags.get("labels", "")),
                "val_macro_f1": str(tags.get("val_macro_f1", "")),
                "behaviour_floor_passed": str(tags.get("behaviour_floor_passed", "")),
            },
        )
        imported[str(alias)] = {
            "bento_model": str(model.tag),
            "registry_version": int(version.version),
            "milestone": str(tags.get("milestone", "")),
        }
    return imported


class BentoBuildError(RuntimeError):
    """`bentoml build` failed; the message carries the end of its output."""


def build_bento(project: str | Path, bentofile: str = "bentos/bentofile.yaml") -> str:
    """`bentoml build` of `project` (the checkout) into the BentoML store; the Bento's tag.

    The Bento carries the service, `src/smart_support` (static files included), the composed
    params.yaml and the @champion/@fallback models, so it serves from the store alone.
    """
    build = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "-f", bentofile, ".", "--output", "tag"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise BentoBuildError(f"bentoml build failed:\n{(build.stderr or build.stdout)[-2000:]}")
    return build.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
