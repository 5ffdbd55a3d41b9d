"""Register the milestones and move registry aliases (champion, fallback).

The champion is chosen on the validation split and the behavioural suite's dev part; test
metrics are for reporting only and never reach this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

SCORE_TAG = "val_macro_f1"
FLOOR_TAG = "behaviour_floor_passed"
MFT_TAG = "behaviour_dev_mft_worst_language"


@dataclass(frozen=True)
class Champion:
    version: str
    score: float
    labels: str
    milestone: str
    floor_passed: bool = True


@dataclass(frozen=True)
class Candidate:
    """What register knows of a milestone: validation macro-F1 and behavioural dev MFT."""

    milestone: str
    val_macro_f1: float
    labels: str
    mft_worst_language: float
    floor_passed: bool


def best_milestone(candidates: Mapping[str, Candidate], margin: float = 0.0) -> str:
    """Highest validation macro-F1 among those that pass the behavioural floor (all of them
    when none passes); the earliest (cheapest to serve) milestone within `margin` of it wins."""
    order = sorted(candidates)
    pool = [m for m in order if candidates[m].floor_passed] or order
    top = max(candidates[m].val_macro_f1 for m in pool)
    return next(m for m in pool if candidates[m].val_macro_f1 >= top - margin)


def should_promote(candidate: Candidate, current: Champion | None) -> bool:
    """Promote a candidate that passes the floor over a champion that does not, or one of
    another label set, or on a strictly better validation score. A candidate below the floor
    becomes champion only when there is none (a fresh registry: the service must start)."""
    if current is None:
        return True
    if not candidate.floor_passed:
        return False
    if current.labels != candidate.labels or not current.floor_passed:
        return True
    return candidate.val_macro_f1 > current.score


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
        floor_passed=tags.get(FLOOR_TAG) == "true",
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
    candidates: Mapping[str, Candidate],
    margin: float = 0.0,
) -> dict[str, Any]:
    """Register every milestone (alias = its name), move @champion to the best one on
    validation that passes the behavioural floor (`best_milestone`) when it beats the current
    champion, and @fallback to the fallback milestone (M1)."""
    name = str(tracking["registered_model"])
    best = best_milestone(candidates, margin)
    before = current_alias(client, name, tracking["champion_alias"])
    versions: dict[str, str] = {}
    for milestone in sorted(candidates):
        c = candidates[milestone]
        tags = {
            "milestone": milestone,
            "labels": c.labels,
            SCORE_TAG: c.val_macro_f1,
            MFT_TAG: c.mft_worst_language,
            FLOOR_TAG: str(c.floor_passed).lower(),
        }
        versions[milestone] = register_version(client, name, runs[milestone]["model_uri"], tags)
        client.set_registered_model_alias(name, milestone, versions[milestone])
    promoted = should_promote(candidates[best], before)
    if promoted:
        client.set_registered_model_alias(name, tracking["champion_alias"], versions[best])
    fallback = str(tracking["fallback_milestone"])
    client.set_registered_model_alias(name, tracking["fallback_alias"], versions[fallback])
    after = current_alias(client, name, tracking["champion_alias"])
    return {
        "registered_model": name,
        "chosen_on": "validation macro-F1; behavioural floor on the suite's dev part",
        "margin": margin,
        "best_milestone": best,
        "best_val_macro_f1": candidates[best].val_macro_f1,
        "promoted": promoted,
        "previous_champion": asdict(before) if before else None,
        "champion_version": int(after.version) if after else None,
        "champion_milestone": after.milestone if after else None,
        "champion_below_behaviour_floor": bool(after and not after.floor_passed),
        "fallback_version": int(versions[fallback]),
        "versions": {m: int(v) for m, v in versions.items()},
        "candidates": {m: asdict(c) for m, c in candidates.items()},
    }


def candidate_from(
    milestone: str, run: Mapping[str, Any], behaviour_dev: Mapping[str, float], floor: float
) -> Candidate:
    """A milestone's candidacy from its train run (validation) and the suite's dev part."""
    from smart_support.evaluation.behaviour import mft_floor_passed, worst_language_mft

    return Candidate(
        milestone=milestone,
        val_macro_f1=float(run["val_metrics"]["macro_f1"]),
        labels=str(run.get("labels", "")),
        mft_worst_language=worst_language_mft(dict(behaviour_dev)),
        floor_passed=mft_floor_passed(dict(behaviour_dev), floor),
    )
