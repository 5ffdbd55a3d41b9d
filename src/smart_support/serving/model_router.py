"""Classify tickets with the champion behind a circuit breaker, the fallback when it is open.

Each ticket is embedded once: when the champion classifies sentence embeddings with the same
encoder as dedup, the same vectors serve both. The ticket's language is detected here too, on
the thread that is not busy with the dedup embedding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from smart_support.features.embeddings import PACKAGED_MODEL, Embedder
from smart_support.models.base import Prediction
from smart_support.models.router_model import RouterModel
from smart_support.routing.breaker import CircuitBreaker
from smart_support.routing.language import detect_language

log = logging.getLogger(__name__)

# Warm-up, and the check that a model's serving fast path predicts what the model predicts.
SAMPLE_TICKETS = (
    "Warm-up ticket. The invoice was charged twice and the server is down.",
    "Please send us the termination clause of our service contract.",
    "Unser Produktionsserver ist seit 10 Minuten nicht erreichbar, bitte dringend prüfen.",
    "Die Rechnung für März enthält eine doppelte Position, bitte korrigieren.",
    "The VPN disconnects every few minutes since the last update.",
    "",
)


@dataclass(frozen=True)
class Classified:
    category: str
    confidence: float
    urgency: float
    model_used: str
    embedding: np.ndarray
    language: str  # detected (ISO 639-1 or "unknown"); a language the client gives wins


@dataclass
class ModelInfo:
    milestone: str
    version: str
    source: str
    # False when register made it champion without passing the behavioural floor (an empty
    # registry: the best on validation, so the service can start).
    behaviour_floor_passed: bool = True


class ModelRouter:
    """Champion (primary) → fallback switch; `delay_s` injects latency for fault tests."""

    def __init__(
        self,
        champion: RouterModel,
        fallback: RouterModel,
        breaker: CircuitBreaker,
        dedup_embedder: Embedder,
        info: dict[str, ModelInfo] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.champion = champion
        self.fallback = fallback
        self.breaker = breaker
        self.embedder = dedup_embedder
        self.info = info or {}
        self.delay_s = 0.0
        self._sleep = sleep
        self._timer = timer
        self._shared_vectors = _same_encoder(champion, dedup_embedder)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prediction")

    def classify(self, texts: Sequence[str]) -> list[Classified]:
        texts = list(texts)
        if not texts:
            return []
        if self._shared_vectors:
            vectors = self.embedder.encode(texts)
            prediction, used = self._predict(texts, vectors)
            languages = _languages(texts)
        else:
            # Independent: the prediction and languages (Python, holding the GIL) run on the pool
            # while this thread embeds; ONNX Runtime releases the GIL once its run starts. (The
            # other way round, the encoder's thread waits for the GIL until the prediction ends.)
            pending = self._pool.submit(lambda: (self._predict(texts, None), _languages(texts)))
            vectors = self.embedder.encode(texts)
            (prediction, used), languages = pending.result()
        return [
            Classified(
                category=prediction.categories[i],
                confidence=float(prediction.confidences[i]),
                urgency=float(prediction.urgency[i]),
                model_used=used,
                embedding=vectors[i],
                language=languages[i],
            )
            for i in range(len(texts))
        ]

    def _predict(self, texts: list[str], embeddings: np.ndarray | None) -> tuple[Prediction, str]:
        if self.breaker.allow_primary():
            start = self._timer()
            try:
                if self.delay_s > 0:
                    self._sleep(self.delay_s)
                prediction = self.champion.predict(texts, embeddings)
            except Exception:  # noqa: BLE001 - a failing champion must not fail the route
                log.exception("champion %s failed; routing by the fallback", self.champion.name)
                self.breaker.record(self._timer() - start, failed=True)
            else:
                self.breaker.record((self._timer() - start) / len(texts))
                return prediction, self.champion.name
        return self.fallback.predict(texts), self.fallback.name

    def warm_up(self) -> None:
        """Run every model once so the first request costs what the rest cost."""
        sample = list(SAMPLE_TICKETS[:1])
        vectors = self.embedder.encode(sample)
        self.champion.predict(sample, vectors if self._shared_vectors else None)
        self.fallback.predict(sample)
        detect_language(sample[0])

    def health(self) -> dict[str, Any]:
        return {
            "models": {role: vars(info) for role, info in self.info.items()},
            "breaker": self.breaker.snapshot(),
            "dedup_encoder": {
                "model": self.embedder.model_name,
                "backend": self.embedder.backend,
                "max_seq_length": self.embedder.max_seq_length,
            },
        }


def _languages(texts: Sequence[str]) -> list[str]:
    return [detect_language(text) for text in texts]


def _same_encoder(model: RouterModel, embedder: Embedder) -> bool:
    """The model was trained on the vectors dedup computes (same model, length and backend)."""
    cfg = model.embedding or {}
    return (
        model.needs_embeddings
        and str(cfg.get("model", PACKAGED_MODEL)) == embedder.model_name
        and int(cfg.get("max_seq_length", 128)) == embedder.max_seq_length
        and str(cfg.get("backend", "torch")) == embedder.backend
    )
