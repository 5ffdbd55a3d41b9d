"""Evaluate a trained milestone on the held-out test split."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from smart_support.evaluation.metrics import classification_metrics, urgency_metrics
from smart_support.models.router_model import RouterModel
from smart_support.models.training import SplitData


@dataclass
class Evaluation:
    metrics: dict[str, float]
    y_true: list[str]
    y_pred: list[str]
    confidences: np.ndarray  # of the labelled tickets, aligned with y_true
    familiar: np.ndarray | None = None  # the same tickets: like the training tickets?

    @property
    def correct(self) -> np.ndarray:
        return np.asarray(self.y_true) == np.asarray(self.y_pred)


def evaluate_model(model: RouterModel, test: SplitData, alert_threshold: float) -> Evaluation:
    """Classification metrics on the labelled test tickets, urgency metrics on all of them."""
    prediction = model.predict(test.texts, model.feature_vectors(test.embeddings))
    labelled = test.labelled
    y_true = test.frame.loc[labelled, "category"].astype(str).tolist()
    y_pred = [c for c, keep in zip(prediction.categories, labelled, strict=True) if keep]
    metrics = classification_metrics(
        y_true, y_pred, model.labels, test.frame.loc[labelled, "language"].tolist()
    )
    metrics.update(
        urgency_metrics(test.frame["urgency"].to_numpy(), prediction.urgency, alert_threshold)
    )
    metrics["test_tickets"] = float(labelled.sum())
    familiar = None if prediction.familiar is None else np.asarray(prediction.familiar)
    if familiar is not None:
        metrics["unfamiliar_share"] = float(1.0 - familiar.mean()) if len(familiar) else 0.0
    return Evaluation(
        metrics,
        y_true,
        y_pred,
        np.asarray(prediction.confidences)[labelled],
        None if familiar is None else familiar[labelled],
    )


def latency_ms_per_ticket(model: RouterModel, texts: list[str], repeats: int = 1) -> dict[str, Any]:
    """Single-ticket latency, embedding included (what serving pays), over `texts`."""
    model.predict(texts[:2])  # warm-up: lazy loads are not latency
    samples = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            model.predict([text])
            samples.append(1000 * (time.perf_counter() - start))
    return {
        "latency_ms_mean": float(np.mean(samples)),
        "latency_ms_p50": float(np.percentile(samples, 50)),
        "latency_ms_p95": float(np.percentile(samples, 95)),
    }
