"""A champion registered below the behavioural floor (an empty registry) says so in /health."""

from __future__ import annotations

import json

import bentoml
import mlflow
from mlflow import MlflowClient

from smart_support.config import compose_config, to_dict
from smart_support.features.embeddings import shared_embedder
from smart_support.models.pyfunc import log_router_model
from smart_support.routing.breaker import CircuitBreaker
from smart_support.serving.bento_models import load_bento_router
from smart_support.serving.model_router import ModelRouter
from smart_support.tracking.packaging import import_registered
from smart_support.tracking.registry import Candidate, register_models
from tests.helpers import fit


def _health(champion_ref: str, fallback_ref: str) -> dict:
    champion, champion_info = load_bento_router(champion_ref)
    fallback, fallback_info = load_bento_router(fallback_ref)
    router = ModelRouter(
        champion,
        fallback,
        CircuitBreaker(latency_threshold_s=0.5, slow_calls_to_open=3, cooldown_s=30),
        shared_embedder("packaged:all-MiniLM-L6-v2", 128),
        info={"champion": champion_info, "fallback": fallback_info},
    )
    return json.loads(json.dumps(router.health()))  # what /health serialises


def test_health_reports_a_champion_below_the_behavioural_floor(
    bento_models, tiny_splits, tmp_path
) -> None:
    passing = _health(
        bento_models["champion"]["bento_model"], bento_models["fallback"]["bento_model"]
    )
    assert passing["models"]["champion"]["behaviour_floor_passed"] is True

    tracking = {
        **to_dict(compose_config().tracking),
        "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
        "registered_model": "router-below-floor",
    }
    mlflow.set_tracking_uri(tracking["tracking_uri"])
    mlflow.set_experiment("below-floor")
    model = fit("m1", tiny_splits, slot="m1")
    with mlflow.start_run():
        uri = log_router_model(model, tiny_splits["test"].frame[["subject", "body"]].head(2))
    below = {"m1": Candidate("m1", 0.8, "three_way", 0.5, False)}
    imported: dict = {}
    try:
        register_models(MlflowClient(), tracking, {"m1": {"model_uri": uri}}, below)
        imported = import_registered(tracking)
        health = _health(imported["champion"]["bento_model"], imported["fallback"]["bento_model"])
    finally:
        mlflow.set_tracking_uri(None)
        for entry in imported.values():  # the session's models stay the store's latest
            bentoml.models.delete(entry["bento_model"])
    assert health["models"]["champion"]["behaviour_floor_passed"] is False
    assert health["models"]["champion"]["milestone"] == "m1"
