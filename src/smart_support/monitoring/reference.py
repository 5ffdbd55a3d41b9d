"""The training reference that serving traffic is compared with (input and prediction drift).

The `drift_reference` pipeline stage runs the champion and the served dedup encoder over the
training split and saves what the service later compares its rolling window with: the
predicted category mix, a confidence histogram (fixed bins), the language mix, a histogram of
log text length (the reference's deciles as bins) and the embedding centroid with its spread.
The file travels in the Bento (`serve.drift.reference`); without it drift monitoring is off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Confidence bins: the top of the range, where most routed tickets sit, is split finely.
CONFIDENCE_EDGES = (0.0, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)
LENGTH_BINS = 10  # deciles of log(1 + characters) on the reference
MIN_LANGUAGE_SHARE = 0.01  # rarer languages of the reference are pooled as OTHER
OTHER = "other"


@dataclass(frozen=True)
class Histogram:
    """Shares of the reference in bins: `labels` (categorical) or `edges` (numeric)."""

    shares: tuple[float, ...]
    labels: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()


@dataclass(frozen=True)
class EmbeddingReference:
    centroid: tuple[float, ...]  # mean of the unit vectors (not re-normalised)
    spread: float  # mean cosine distance of a reference ticket to the centroid


@dataclass(frozen=True)
class DriftReference:
    category: Histogram
    confidence: Histogram
    language: Histogram
    length: Histogram
    embedding: EmbeddingReference | None
    tickets: int
    source: dict[str, Any] = field(default_factory=dict)  # model, split, encoder

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriftReference:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"drift reference format {data.get('format')!r}; expected 1")
        embedding = data.get("embedding")
        return cls(
            category=_histogram(data["category"]),
            confidence=_histogram(data["confidence"]),
            language=_histogram(data["language"]),
            length=_histogram(data["length"]),
            embedding=(
                EmbeddingReference(tuple(embedding["centroid"]), float(embedding["spread"]))
                if embedding
                else None
            ),
            tickets=int(data["tickets"]),
            source=dict(data.get("source", {})),
        )


def _histogram(data: Mapping[str, Any]) -> Histogram:
    return Histogram(
        tuple(float(s) for s in data["shares"]),
        tuple(str(x) for x in data.get("labels", ())),
        tuple(float(x) for x in data.get("edges", ())),
    )


def log_length(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.log1p(np.asarray(lengths, dtype=np.float64))


def categorical_shares(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Share of each label; values outside `labels` count as the label OTHER if present."""
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros(len(labels), dtype=np.float64)
    other = index.get(OTHER)
    for value in values:
        i = index.get(value, other)
        if i is not None:
            counts[i] += 1
    total = counts.sum()
    return counts / total if total else counts


def binned_shares(values: Sequence[float] | np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Share in each bin between `edges`; values outside fall in the first or last bin."""
    inner = np.asarray(edges, dtype=np.float64)[1:-1]
    counts = np.bincount(
        np.searchsorted(inner, np.asarray(values, dtype=np.float64), side="right"),
        minlength=len(edges) - 1,
    ).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def build_reference(
    categories: Sequence[str],
    confidences: Sequence[float] | np.ndarray,
    languages: Sequence[str],
    lengths: Sequence[int] | np.ndarray,
    embeddings: np.ndarray | None,
    category_labels: Sequence[str],
    source: Mapping[str, Any] | None = None,
) -> DriftReference:
    """The reference of one set of tickets (pure: the caller classified and embedded them)."""
    n = len(categories)
    if n == 0:
        raise ValueError("a drift reference needs at least one ticket")
    labels = tuple(sorted(set(category_labels) | set(categories)))
    category = Histogram(_rounded(categorical_shares(categories, labels)), labels=labels)
    confidence = Histogram(
        _rounded(binned_shares(confidences, CONFIDENCE_EDGES)), edges=CONFIDENCE_EDGES
    )
    seen, counts = np.unique(np.asarray(languages, dtype=str), return_counts=True)
    kept = sorted(str(s) for s, c in zip(seen, counts, strict=True) if c / n >= MIN_LANGUAGE_SHARE)
    language_labels = (*kept, OTHER)
    language = Histogram(
        _rounded(categorical_shares(languages, language_labels)), labels=language_labels
    )
    logs = log_length(lengths)
    inner = np.unique(np.quantile(logs, np.linspace(0, 1, LENGTH_BINS + 1)[1:-1]))
    length_edges = (0.0, *(round(float(e), 6) for e in inner), float(np.log1p(1e9)))
    length = Histogram(_rounded(binned_shares(logs, length_edges)), edges=length_edges)
    return DriftReference(
        category=category,
        confidence=confidence,
        language=language,
        length=length,
        embedding=embedding_reference(embeddings) if embeddings is not None else None,
        tickets=n,
        source=dict(source or {}),
    )


def embedding_reference(embeddings: np.ndarray) -> EmbeddingReference:
    vectors = np.asarray(embeddings, dtype=np.float64)
    centroid = vectors.mean(axis=0)
    spread = float(np.mean(1.0 - _cosines(vectors, centroid)))
    return EmbeddingReference(tuple(round(float(x), 7) for x in centroid), round(spread, 7))


def _cosines(vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(centroid) or 1.0)
    return np.asarray((vectors @ centroid) / np.where(norms > 0, norms, 1.0))


def _rounded(shares: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(s), 7) for s in shares)


def save_reference(reference: DriftReference, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference.to_json(), indent=1) + "\n")


def load_reference(path: str | Path | None) -> DriftReference | None:
    """The saved reference, or None (with a log line) when there is none or it is unreadable:
    drift monitoring is then disabled, never the service."""
    if not path:
        return None
    path = Path(path)
    if not path.exists():
        log.warning(
            "no drift reference at %s (dvc repro drift_reference): drift monitoring off", path
        )
        return None
    try:
        return DriftReference.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("drift reference %s is unreadable (%s): drift monitoring off", path, exc)
        return None
