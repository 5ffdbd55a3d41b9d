"""Is a ticket like the tickets the model was trained on? Top-1 cosine in a TF-IDF space.

A ticket whose most similar training ticket is further away than almost every validation
ticket's (a recipe, gibberish, another language) is routed to review however confident the
classifier is: its probabilities come from words the model never learned. The space is the
milestones' own cheap kind (TF-IDF; by default character 3-5-grams within word boundaries), so
every milestone has the check without the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


# Screening stages of `familiar`: the query's n-grams in rising document frequency (a share of
# the training tickets). Rare n-grams have short postings lists and carry most of the evidence.
SCREEN_STAGES = (0.02, 0.1, 1.0)
# Sums taken in another order differ in the last float32 digits; a similarity this close below
# the threshold counts as reaching it, in `familiar` and `similar_enough` alike.
TOLERANCE = 1e-6


class NoveltyGate:
    """`similarity(texts)`: cosine to the nearest training ticket; `familiar(texts)`: at or
    above `threshold`, `margin` times the `quantile` of the validation tickets' similarities
    (fitted by `calibrate`).

    `familiar` decides exactly as a full scan would, at a fraction of its cost (p50 2.75 ms
    instead of 14.0 ms per test ticket on the real sample, benchmarks/novelty_screen.py): it
    adds the training tickets' scores n-gram by n-gram, rarest first, and stops as soon as one
    ticket reaches the threshold, or when even a perfect match on the n-grams left could not
    lift the best one to it (TF-IDF weights are non-negative and rows unit length, so the rest
    adds at most the norm of the query's remaining weights).
    """

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
        self.doc_freq: np.ndarray | None = None  # per feature: share of training tickets
        self.threshold = 0.0

    def fit(self, train_texts: Sequence[str]) -> NoveltyGate:
        matrix = self.vectorizer.fit_transform(list(train_texts)).astype(np.float32)
        self.train_t = matrix.T.tocsr()
        self.doc_freq = np.diff(self.train_t.indptr) / max(matrix.shape[0], 1)
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

    def similar_enough(self, similarity: np.ndarray) -> np.ndarray:
        """The full scan's decision for similarities already computed."""
        return np.asarray(similarity) >= self.threshold - TOLERANCE

    def familiar(self, texts: Sequence[str]) -> np.ndarray:
        """Whether each ticket's nearest training ticket is at or above the threshold."""
        if self.train_t is None or self.doc_freq is None:
            raise RuntimeError("NoveltyGate.fit must run before familiar")
        rows = self.vectorizer.transform(list(texts)).astype(np.float32).tocsr()
        return np.array([self._familiar_row(rows[i]) for i in range(rows.shape[0])], dtype=bool)

    def _familiar_row(self, row: Any) -> bool:
        terms, weights = row.indices, row.data
        freq = self.doc_freq[terms]  # type: ignore[index]
        left = np.ones(len(terms), dtype=bool)
        scores = np.zeros(self.train_t.shape[1])
        for cut in SCREEN_STAGES:
            stage = left & (freq <= cut)
            scores += self._postings_sum(terms[stage], weights[stage])
            left &= ~stage
            best = float(scores.max(initial=0.0))
            if best >= self.threshold - TOLERANCE:
                return True
            if best + float(np.sqrt(np.square(weights[left]).sum())) < self.threshold - TOLERANCE:
                return False
        return False

    def _postings_sum(self, terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each training ticket's dot product with the query restricted to `terms`."""
        indptr, n_docs = self.train_t.indptr, self.train_t.shape[1]
        starts = indptr[terms]
        lengths = indptr[terms + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(n_docs)
        first = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - first, lengths) + np.arange(total)
        products = self.train_t.data[positions] * np.repeat(weights, lengths)
        return np.bincount(self.train_t.indices[positions], weights=products, minlength=n_docs)

    @property
    def report(self) -> dict[str, float]:
        return {"quantile": self.quantile, "margin": self.margin, "threshold": self.threshold}


def build_novelty(cfg: Any = None) -> NoveltyGate | None:
    """A gate from `novelty:` in conf/model/*.yaml; None (no check) when absent or disabled."""
    if not cfg or not cfg.get("enabled", True):
        return None
    return NoveltyGate(**{k: v for k, v in dict(cfg).items() if k != "enabled"})
