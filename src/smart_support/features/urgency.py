"""Hand-made urgency features (EN and DE urgency words, punctuation, length)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

FEATURE_NAMES = [
    "strong_terms",
    "moderate_terms",
    "exclamations",
    "questions",
    "upper_ratio",
    "log_length",
]


def _pattern(terms: Sequence[str]) -> re.Pattern[str]:
    words = sorted((re.escape(t.lower()) for t in terms), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)") if words else re.compile(r"$^")


class UrgencyFeatures(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Texts → a small dense matrix of urgency cues; stateless."""

    def __init__(self, terms: Mapping[str, Sequence[str]] | None = None) -> None:
        self.terms = terms

    def fit(self, texts: Sequence[str], y: object = None) -> UrgencyFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        terms = self.terms or {}
        strong = _pattern(list(terms.get("strong", [])))
        moderate = _pattern(list(terms.get("moderate", [])))
        rows = []
        for text in texts:
            lower = text.lower()
            letters = [c for c in text if c.isalpha()]
            upper = sum(c.isupper() for c in letters) / max(len(letters), 1)
            rows.append(
                [
                    len(strong.findall(lower)),
                    len(moderate.findall(lower)),
                    min(text.count("!"), 5),
                    min(text.count("?"), 5),
                    upper,
                    np.log1p(len(text)),
                ]
            )
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)


def keyword_score(features: np.ndarray) -> np.ndarray:
    """M1's regex scorer: a fixed weighting of the cues, squashed into [0, 1]."""
    raw = 1.2 * features[:, 0] + 0.4 * features[:, 1] + 0.3 * features[:, 2] + 1.5 * features[:, 4]
    return 1.0 - np.exp(-raw)
