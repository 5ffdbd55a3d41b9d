"""What every routing model offers the service, the batch CLI and the evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """Predictions for a batch of tickets, aligned with the input order."""

    categories: list[str]
    confidences: np.ndarray  # max class probability, shape (n,)
    urgency: np.ndarray  # urgency score S in [0, 1], shape (n,)
    probabilities: np.ndarray  # shape (n, len(labels))


class TicketClassifier(Protocol):
    """A trained milestone model (M1, M2, M3)."""

    name: str  # "m1", "m2" or "m3"
    labels: list[str]
    uses_embeddings: bool  # True when predict() wants sentence embeddings

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> Prediction:
        """Classify cleaned ticket texts (see smart_support.text.ticket_text)."""
        ...
