"""Urgency score S in [0, 1]: a raw scorer plus a calibration that makes S > 0.8 mean 'alert'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from smart_support.features.urgency import UrgencyFeatures, keyword_score


class KeywordUrgency:
    """M1: the EN/DE regex scorer; nothing to learn."""

    def __init__(self, terms: Mapping[str, Sequence[str]]) -> None:
        self.features = UrgencyFeatures(terms)

    def fit(self, texts: Sequence[str], y: np.ndarray, embeddings: np.ndarray | None = None) -> Any:
        return self

    def score(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return keyword_score(self.features.transform(texts))


class RidgeUrgency:
    """Ridge on word TF-IDF + hand-made cues (+ sentence embeddings when given)."""

    def __init__(self, terms: Mapping[str, Sequence[str]], alpha: float, use_embeddings: bool):
        self.features = UrgencyFeatures(terms)
        self.tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.scaler = StandardScaler()
        self.ridge = Ridge(alpha=alpha)
        self.use_embeddings = use_embeddings

    def _matrix(self, texts: Sequence[str], embeddings: np.ndarray | None, fit: bool) -> Any:
        words = self.tfidf.fit_transform(texts) if fit else self.tfidf.transform(texts)
        cues = self.features.transform(texts)
        cues = self.scaler.fit_transform(cues) if fit else self.scaler.transform(cues)
        blocks = [words, sparse.csr_matrix(cues)]
        if self.use_embeddings:
            if embeddings is None:
                raise ValueError("this urgency model needs sentence embeddings")
            blocks.append(sparse.csr_matrix(embeddings))
        return sparse.hstack(blocks).tocsr()

    def fit(self, texts: Sequence[str], y: np.ndarray, embeddings: np.ndarray | None = None) -> Any:
        self.ridge.fit(self._matrix(texts, embeddings, fit=True), y)
        return self

    def score(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(self.ridge.predict(self._matrix(texts, embeddings, fit=False)))


class AlertCalibrator:
    """Monotone map raw score → S, fitted on validation data.

    The alert cut is the lowest raw score at which at most `max_false_alarm_rate` of the
    medium-or-lower tickets would alert; it is mapped to exactly `alert_threshold`, so
    S > alert_threshold ⇔ raw > cut. Being monotone, it keeps the Spearman correlation.
    """

    def __init__(self, alert_threshold: float = 0.8, max_false_alarm_rate: float = 0.05):
        self.alert_threshold = alert_threshold
        self.max_false_alarm_rate = max_false_alarm_rate
        self.knots_x: np.ndarray = np.array([0.0, 0.5, 1.0])
        self.knots_y: np.ndarray = np.array([0.0, alert_threshold, 1.0])

    def fit(self, raw: np.ndarray, target: np.ndarray) -> AlertCalibrator:
        calm = raw[target <= 0.5]
        cut = float(np.quantile(calm, 1.0 - self.max_false_alarm_rate)) if len(calm) else 0.5
        lo, mid, hi = float(raw.min()), float(np.median(raw)), float(raw.max())
        mid = min(mid, cut - 1e-9)
        lo = min(lo, mid - 1e-9)
        hi = max(hi, cut + 1e-9)
        self.knots_x = np.array([lo, mid, cut, hi])
        self.knots_y = np.array([0.0, 0.5 * self.alert_threshold, self.alert_threshold, 1.0])
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(raw, self.knots_x, self.knots_y), 0.0, 1.0)
