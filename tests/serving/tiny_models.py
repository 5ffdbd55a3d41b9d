"""A real (small) champion and fallback, registered in MLflow and imported into BentoML
(the serving tests' models; `python -m benchmarks.backends --tiny-models` serves them too)."""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient

from smart_support.evaluation.evaluate import evaluate_model
from smart_support.models.pyfunc import log_router_model
from smart_support.tracking.packaging import import_registered
from smart_support.tracking.registry import Candidate, register_models
from tests.helpers import fit


def import_tiny_models(tracking: dict[str, Any], splits: dict[str, Any]) -> dict[str, Any]:
    """M2 as champion, M1 as fallback: trained, logged, registered, imported."""
    mlflow.set_tracking_uri(tracking["tracking_uri"])
    mlflow.set_experiment("serving-tests")
    example = splits["test"].frame[["subject", "body"]].head(2)
    runs, candidates = {}, {}
    for milestone in ("m1", "m2"):
        model = fit(milestone, splits, slot=milestone)
        with mlflow.start_run():
            runs[milestone] = {"model_uri": log_router_model(model, example)}
        scores = evaluate_model(model, splits["val"], 0.8).metrics
        # the service tests need a champion (M2) and a fallback (M1): M2 is set ahead
        val_f1 = scores["macro_f1"] + (milestone == "m2")
        candidates[milestone] = Candidate(milestone, val_f1, "three_way", 1.0, True)
    register_models(MlflowClient(), tracking, runs, candidates)
    imported = import_registered(tracking)
    mlflow.set_tracking_uri(None)
    return imported
