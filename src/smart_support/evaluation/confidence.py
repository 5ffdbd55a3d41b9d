"""Coverage vs. accuracy: how many tickets route without review, and how often those are right."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smart_support.models.base import needs_review

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 1.0, 0.05))


def coverage_curve(
    confidences: np.ndarray,
    correct: np.ndarray,
    thresholds: Sequence[float] = THRESHOLDS,
    familiar: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """For each threshold t: the share of tickets routed without review (confidence >= t and,
    when `familiar` is given, like the training tickets) and the accuracy on those (1.0 when
    none is routed)."""
    conf, ok = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=bool)
    rows = []
    for t in thresholds:
        routed = ~needs_review(conf, familiar, t)
        rows.append(
            {
                "threshold": float(t),
                "coverage": float(routed.mean()) if len(conf) else 0.0,
                "accuracy": float(ok[routed].mean()) if routed.any() else 1.0,
            }
        )
    return rows


def choose_threshold(curve: Sequence[dict[str, float]], target_accuracy: float) -> float:
    """The lowest threshold (most coverage) whose routed tickets reach `target_accuracy`;
    the highest threshold of the curve when none does."""
    for row in sorted(curve, key=lambda r: r["threshold"]):
        if row["accuracy"] >= target_accuracy and row["coverage"] > 0:
            return float(row["threshold"])
    return float(max(r["threshold"] for r in curve))
