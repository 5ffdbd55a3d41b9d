"""Department lexicon features: knowledge the training data lacks.

Each department has one list of English *and* German word stems (`features.lexicon` in
conf/features/default.yaml). A ticket gets one feature per department, log(1 + matches),
so a weight learned from German Legal tickets ("Vertrag", "DSGVO") also applies to English
ones ("contract", "GDPR") that the data never shows under Legal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

Lexicon = Mapping[str, Sequence[str]]


def _pattern(stems: Sequence[str]) -> re.Pattern[str]:
    """Stems match at a word start ("kündig" matches "Kündigung"); case-insensitive."""
    alternatives = sorted({re.escape(s.lower()) for s in stems}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


class DepartmentLexicon(TransformerMixin, BaseEstimator):
    """Texts → one column per department: weight * log(1 + stem matches)."""

    def __init__(self, terms: Lexicon | None = None, weight: float = 1.0) -> None:
        self.terms = terms
        self.weight = weight

    def fit(self, X: Any, y: Any = None) -> DepartmentLexicon:
        self.departments_ = sorted(self.terms or {})
        self.patterns_ = [_pattern((self.terms or {})[d]) for d in self.departments_]
        return self

    def counts(self, X: Any) -> np.ndarray:
        texts = [str(t) for t in X]
        return np.array([[len(p.findall(t)) for p in self.patterns_] for t in texts], dtype=float)

    def transform(self, X: Any) -> sparse.csr_matrix:
        return sparse.csr_matrix(self.weight * np.log1p(self.counts(X)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"lexicon_{d}" for d in self.departments_], dtype=object)


class WithLexicon(TransformerMixin, BaseEstimator):
    """A text vectorizer with other text features beside it (a second vectorizer, the
    department lexicon). Parameters it does not know go to the first vectorizer, so search
    spaces written for the bare vectorizer (`tfidf__min_df`) keep working."""

    def __init__(self, vectorizer: Any = None, lexicon: Any = None, words: Any = None) -> None:
        self.vectorizer = vectorizer
        self.lexicon = lexicon
        self.words = words

    def _parts(self) -> list[Any]:
        return [p for p in (self.vectorizer, self.words, self.lexicon) if p is not None]

    def set_params(self, **params: Any) -> WithLexicon:
        own = {
            k: v
            for k, v in params.items()
            if k.split("__")[0] in ("vectorizer", "lexicon", "words")
        }
        super().set_params(**own)
        rest = {k: v for k, v in params.items() if k not in own}
        if rest:
            self.vectorizer.set_params(**rest)
        return self

    def fit(self, X: Any, y: Any = None) -> WithLexicon:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> sparse.csr_matrix:
        return sparse.hstack([p.fit_transform(X) for p in self._parts()], format="csr")

    def transform(self, X: Any) -> sparse.csr_matrix:
        return sparse.hstack([p.transform(X) for p in self._parts()], format="csr")
