"""A trained milestone: category classifier + urgency scorer + alert calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smart_support.features.embeddings import shared_embedder
from smart_support.models.base import Prediction
from smart_support.models.decision import DecisionRule
from smart_support.models.novelty import NoveltyGate
from smart_support.models.prototypes import PrototypePrior
from smart_support.models.urgency import AlertCalibrator


def stack_text_and_vectors(texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    """One object array per ticket row: the text in column 0, its vector in columns 1.."""
    out = np.empty((len(texts), 1 + embeddings.shape[1]), dtype=object)
    out[:, 0] = list(texts)
    out[:, 1:] = embeddings
    return out


@dataclass
class RouterModel:
    """Implements smart_support.models.base.TicketClassifier; picklable."""

    name: str
    classifier: Any  # sklearn-style: fit(X, y), predict_proba(X), classes_
    urgency: Any  # fit(texts, y, embeddings), score(texts, embeddings)
    uses_embeddings: bool = False
    urgency_uses_embeddings: bool = False
    embedding: Mapping[str, Any] | None = None  # {model, max_seq_length, backend}
    calibrator: AlertCalibrator = field(default_factory=AlertCalibrator)
    labels: list[str] = field(default_factory=list)
    decision: DecisionRule = field(default_factory=DecisionRule)
    # With uses_embeddings: the classifier reads the text too (column 0, then the vector).
    stacks_text: bool = False
    # Top-1 similarity to the training tickets; unfamiliar tickets go to review (None: off).
    novelty: NoveltyGate | None = None
    # Zero-shot department prior blended into the probabilities (needs embeddings; None: off).
    prior: PrototypePrior | None = None

    @property
    def reads_feature_vectors(self) -> bool:
        """The classifier or the urgency scorer reads the featurize stage's vectors."""
        return self.uses_embeddings or self.urgency_uses_embeddings

    def feature_vectors(self, embeddings: np.ndarray | None) -> np.ndarray | None:
        """The featurize stage's vectors when this model reads them, else None (the model then
        embeds with its own `embedding`, e.g. the prior's ONNX int8 encoder)."""
        return embeddings if self.reads_feature_vectors else None

    @property
    def needs_embeddings(self) -> bool:
        return self.uses_embeddings or self.urgency_uses_embeddings or self.prior is not None

    def probabilities(self, texts: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        """Class probabilities (columns in `labels` order), the prior blended in if any."""
        proba = np.asarray(self.classifier.predict_proba(self.classifier_input(texts, embeddings)))
        if self.prior is None:
            return proba
        if embeddings is None:
            embeddings = self.embed(texts)
        return self.prior.blend(proba, embeddings)

    def classifier_input(self, texts: Sequence[str], embeddings: np.ndarray | None) -> Any:
        if not self.uses_embeddings:
            return np.asarray(texts, dtype=object)
        if embeddings is None:
            raise ValueError(f"{self.name} classifies sentence embeddings; none were given")
        if self.stacks_text:
            return stack_text_and_vectors(texts, embeddings)
        return embeddings

    def fit_classifier(
        self, texts: Sequence[str], y: Sequence[str], embeddings: np.ndarray | None = None
    ) -> RouterModel:
        self.classifier.fit(self.classifier_input(texts, embeddings), np.asarray(y))
        self.labels = [str(c) for c in self.classifier.classes_]
        return self

    def fit_decision(
        self, texts: Sequence[str], y: Sequence[str], embeddings: np.ndarray | None = None
    ) -> RouterModel:
        """Fit the decision rule on held-out (validation) tickets; unknown labels are skipped."""
        known = np.isin(np.asarray(y, dtype=str), self.labels)
        proba = self.probabilities(
            [t for t, k in zip(texts, known, strict=True) if k],
            None if embeddings is None else embeddings[known],
        )
        target = np.array([self.labels.index(str(c)) for c in np.asarray(y)[known]], dtype=int)
        self.decision.fit(proba, target)
        return self

    def fit_novelty(self, train_texts: Sequence[str], val_texts: Sequence[str]) -> RouterModel:
        """Index the training tickets; the threshold comes from the validation tickets."""
        if self.novelty is not None:
            self.novelty.fit(train_texts).calibrate(val_texts)
        return self

    def fit_urgency(
        self,
        texts: Sequence[str],
        target: np.ndarray,
        embeddings: np.ndarray | None = None,
    ) -> RouterModel:
        self.urgency.fit(texts, target, embeddings if self.urgency_uses_embeddings else None)
        return self

    def calibrate_urgency(
        self, texts: Sequence[str], target: np.ndarray, embeddings: np.ndarray | None = None
    ) -> RouterModel:
        self.calibrator.fit(self.raw_urgency(texts, embeddings), target)
        return self

    def raw_urgency(self, texts: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        return np.asarray(
            self.urgency.score(texts, embeddings if self.urgency_uses_embeddings else None)
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """`texts` embedded as `embedding` says (model, max_seq_length, backend); an ONNX
        backend is exported on first use into SMART_SUPPORT_CACHE, as the dedup encoder is."""
        cfg = self.embedding or {}
        embedder = shared_embedder(
            str(cfg["model"]),
            int(cfg.get("max_seq_length", 128)),
            str(cfg.get("backend", "torch")),
            int(cfg.get("threads", 0)),
        )
        return embedder.encode(list(texts))

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> Prediction:
        if self.needs_embeddings and embeddings is None:
            embeddings = self.embed(texts)
        proba = self.probabilities(texts, embeddings)
        best = self.decision.choose(proba)
        return Prediction(
            categories=[self.labels[i] for i in best],
            confidences=proba[np.arange(len(best)), best],
            urgency=self.calibrator.transform(self.raw_urgency(texts, embeddings)),
            probabilities=proba,
            familiar=None if self.novelty is None else self.novelty.familiar(texts),
        )
