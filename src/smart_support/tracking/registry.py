"""Register the best milestone and move registry aliases (champion, fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

SCORE_TAG = "test_macro_f1"


@dataclass(frozen=True)
class Champion:
    version: str
    score: float
    labels: str
    milestone: str


def best_milestone(metrics: Mapping[str, Mapping[str, Any]], key: str = "macro_f1") -> str:
    """The milestone with the highest test score (ties: the earlier, cheaper milestone)."""
    return max(sorted(metrics), key=lambda m: (float(metrics[m][key]), -sorted(metrics).index(m)))


def should_promote(candidate: float, labels: str, current: Champion | None) -> bool:
    """Promote on a strictly better score; a champion of another label set is replaced."""
    if current is None or current.labels != labels:
        return True
    return candidate > current.score


def current_alias(client: MlflowClient, name: str, alias: str) -> Champion | None:
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    tags = version.tags or {}
    return Champion(
        version=str(version.version),
        score=float(tags.get(SCORE_TAG, "-inf")),
        labels=str(tags.get("labels", "")),
        milestone=str(tags.get("milestone", "")),
    )


def register_version(
    client: MlflowClient, name: str, model_uri: str, tags: Mapping[str, Any]
) -> str:
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    run_id = model_uri.split("/")[1] if model_uri.startswith("runs:/") else None
    version = client.create_model_version(
        name, source=model_uri, run_id=run_id, tags={k: str(v) for k, v in tags.items()}
    )
    return str(version.version)


def register_models(
    client: MlflowClient,
    tracking: Mapping[str, Any],
    runs: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Register every milestone (alias = its name), move @champion to the best one only
    when it beats the current champion, and @fallback to the fallback milestone (M1)."""
    name = str(tracking["registered_model"])
    best = best_milestone(metrics)
    labels = str(metrics[best].get("labels", ""))
    before = current_alias(client, name, tracking["champion_alias"])
    versions: dict[str, str] = {}
    for milestone in sorted(metrics):
        tags = {
            "milestone": milestone,
            "labels": metrics[milestone].get("labels", ""),
            SCORE_TAG: metrics[milestone]["macro_f1"],
        }
        versions[milestone] = register_version(client, name, runs[milestone]["model_uri"], tags)
        client.set_registered_model_alias(name, milestone, versions[milestone])
    promoted = should_promote(float(metrics[best]["macro_f1"]), labels, before)
    if promoted:
        client.set_registered_model_alias(name, tracking["champion_alias"], versions[best])
    fallback = str(tracking["fallback_milestone"])
    client.set_registered_model_alias(name, tracking["fallback_alias"], versions[fallback])
    after = current_alias(client, name, tracking["champion_alias"])
    return {
        "registered_model": name,
        "best_milestone": best,
        "best_macro_f1": float(metrics[best]["macro_f1"]),
        "promoted": promoted,
        "previous_champion": asdict(before) if before else None,
        "champion_version": int(after.version) if after else None,
        "champion_milestone": after.milestone if after else None,
        "fallback_version": int(versions[fallback]),
        "versions": {m: int(v) for m, v in versions.items()},
        "scores": {m: float(v["macro_f1"]) for m, v in metrics.items()},
    }
