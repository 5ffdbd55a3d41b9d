"""What every routing model offers the service, the batch CLI and the evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """Predictions for a batch of tickets, aligned with the input order."""

    categories: list[str]
    confidences: np.ndarray  # max class probability, shape (n,)
    urgency: np.ndarray  # urgency score S in [0, 1], shape (n,)
    probabilities: np.ndarray  # shape (n, len(labels))
    # Whether the nearest training ticket is close enough (NoveltyGate); None without the check.
    familiar: np.ndarray | None = None


def needs_review(confidence: Any, familiar: Any, review_threshold: float) -> Any:
    """Per ticket (scalars or arrays): the confidence is below `review_threshold`, or the
    ticket is unlike every training ticket (`familiar` False; None: not checked)."""
    low = np.asarray(confidence) < review_threshold
    return low if familiar is None else low | ~np.asarray(familiar, dtype=bool)


class TicketClassifier(Protocol):
    """A trained milestone model (M1, M2, M3)."""

    name: str  # "m1", "m2" or "m3"
    labels: list[str]
    uses_embeddings: bool  # True when predict() wants sentence embeddings

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> Prediction:
        """Classify cleaned ticket texts (see smart_support.text.ticket_text)."""
        ...
