"""The drift reference of a model: its predictions and the served encoder's vectors on a split,
computed as the service computes them (one embedding per ticket, shared when the model was
trained on the dedup encoder's vectors; the language as the service detects it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smart_support.features.embeddings import Embedder
from smart_support.models.router_model import RouterModel
from smart_support.monitoring.drift import DriftObservation
from smart_support.monitoring.reference import DriftReference, build_reference
from smart_support.routing.language import detect_language
from smart_support.serving.model_router import same_encoder


@dataclass(frozen=True)
class ServedView:
    """What the service would see of each ticket: its routing and drift inputs."""

    texts: list[str]
    categories: list[str]
    confidences: np.ndarray
    languages: list[str]
    vectors: np.ndarray

    def observations(self) -> list[DriftObservation]:
        return [
            DriftObservation(c, float(p), lang, len(t), v)
            for t, c, p, lang, v in zip(
                self.texts,
                self.categories,
                self.confidences,
                self.languages,
                self.vectors,
                strict=True,
            )
        ]


def served_view(model: RouterModel, embedder: Embedder, texts: Sequence[str]) -> ServedView:
    """`texts` are model inputs (`smart_support.text.ticket_text`), e.g. a prepared split's
    `text` column."""
    texts = list(texts)
    vectors = embedder.encode(texts)
    prediction = model.predict(texts, vectors if same_encoder(model, embedder) else None)
    return ServedView(
        texts,
        list(prediction.categories),
        np.asarray(prediction.confidences, dtype=np.float64),
        [detect_language(t) for t in texts],
        vectors,
    )


def model_reference(
    model: RouterModel,
    embedder: Embedder,
    texts: Sequence[str],
    source: Mapping[str, Any] | None = None,
) -> DriftReference:
    view = served_view(model, embedder, texts)
    return build_reference(
        categories=view.categories,
        confidences=view.confidences,
        languages=view.languages,
        lengths=[len(t) for t in view.texts],
        embeddings=view.vectors,
        category_labels=list(model.labels),
        source={
            "model": model.name,
            "encoder": embedder.model_name,
            "encoder_backend": embedder.backend,
            "max_seq_length": embedder.max_seq_length,
            **(source or {}),
        },
    )
