"""Is a ticket like the tickets the model was trained on? Top-1 cosine in a TF-IDF space.

A ticket whose most similar training ticket is further away than almost every validation
ticket's (a recipe, gibberish, another language) is routed to review however confident the
classifier is: its probabilities come from words the model never learned. The space is the
milestones' own cheap one (word TF-IDF), so every milestone has the check without the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class NoveltyGate:
    """`similarity(texts)`: cosine to the nearest training ticket; `familiar(texts)`: at or
    above `threshold`, the `quantile` of the validation tickets' similarities (fitted by
    `calibrate`)."""

    def __init__(
        self,
        quantile: float = 0.0,
        margin: float = 1.0,
        analyzer: str = "word",
        ngram_max: int = 1,
        min_df: int = 2,
        max_df: float = 1.0,
        max_features: int | None = 50_000,
    ) -> None:
        if not 0.0 <= quantile < 1.0:
            raise ValueError(f"novelty quantile must be in [0, 1); got {quantile}")
        self.quantile = quantile
        self.margin = margin
        self.vectorizer = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=(3, 5) if analyzer != "word" else (1, ngram_max),
            min_df=min_df,
            max_df=max_df,
            max_features=max_features,
            sublinear_tf=True,
        )
        self.train_t: Any = None  # (features, training tickets), rows L2-normalised
        self.threshold = 0.0

    def fit(self, train_texts: Sequence[str]) -> NoveltyGate:
        matrix = self.vectorizer.fit_transform(list(train_texts)).astype(np.float32)
        self.train_t = matrix.T.tocsr()
        return self

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        if self.train_t is None:
            raise RuntimeError("NoveltyGate.fit must run before similarity")
        sims = self.vectorizer.transform(list(texts)) @ self.train_t
        return np.asarray(sims.max(axis=1).toarray()).ravel()

    def calibrate(self, val_texts: Sequence[str]) -> NoveltyGate:
        """The threshold: `margin` times the `quantile` of the validation tickets'
        similarities (quantile 0: the least similar validation ticket)."""
        sims = self.similarity(val_texts)
        self.threshold = self.margin * float(np.quantile(sims, self.quantile)) if len(sims) else 0.0
        return self

    def familiar(self, similarity: np.ndarray) -> np.ndarray:
        return np.asarray(similarity) >= self.threshold

    @property
    def report(self) -> dict[str, float]:
        return {"quantile": self.quantile, "margin": self.margin, "threshold": self.threshold}


def build_novelty(cfg: Any = None) -> NoveltyGate | None:
    """A gate from `novelty:` in conf/model/*.yaml; None (no check) when absent or disabled."""
    if not cfg or not cfg.get("enabled", True):
        return None
    return NoveltyGate(**{k: v for k, v in dict(cfg).items() if k != "enabled"})
