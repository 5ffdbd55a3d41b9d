"""A zero-shot department prior: the ticket's sentence embedding against short descriptions.

`knowledge/departments.yaml` describes each department in English and German (written for
Smart-Support, not taken from the data). P_prior(department | ticket) is a softmax over the
best cosine to each department's descriptions; the served probabilities are the geometric
blend p^(1 - w) * P_prior^w, renormalised. It carries knowledge the data lacks (the sample has
no English Legal ticket) into every milestone, at the cost of embedding each ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

Encode = Callable[[Sequence[str]], np.ndarray]


def load_descriptions(path: str | Path) -> dict[str, list[str]]:
    """{department: [description, ...]}; a malformed file stops with its name."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the department descriptions ({exc})") from exc
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and v and all(isinstance(t, str) and t.strip() for t in v)
        for v in data.values()
    ):
        raise ValueError(f"{path}: expected department: [description, ...]")
    return {str(k): [str(t) for t in v] for k, v in data.items()}


class PrototypePrior:
    """Fitted with `fit(labels, encode)`; `blend(proba, embeddings)` for rows in `labels` order."""

    def __init__(
        self, descriptions: Mapping[str, Sequence[str]], weight: float, temperature: float
    ) -> None:
        if not 0.0 < weight <= 1.0 or temperature <= 0:
            raise ValueError(f"prototype weight must be in (0, 1], temperature > 0: {weight}, {temperature}")
        self.descriptions = {k: list(v) for k, v in descriptions.items()}
        self.weight = weight
        self.temperature = temperature
        self.vectors: list[np.ndarray] = []  # per label: (descriptions, dim), unit length

    def fit(self, labels: Sequence[str], encode: Encode) -> PrototypePrior:
        missing = [c for c in labels if c not in self.descriptions]
        if missing:
            raise ValueError(f"no department description for {', '.join(missing)}")
        self.vectors = [_unit(encode(self.descriptions[c])) for c in labels]
        return self

    def prior(self, embeddings: np.ndarray) -> np.ndarray:
        x = _unit(np.asarray(embeddings, dtype=np.float32))
        scores = np.stack([(x @ v.T).max(axis=1) for v in self.vectors], axis=1)
        scores = (scores - scores.max(axis=1, keepdims=True)) / self.temperature
        e = np.exp(scores)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def blend(self, proba: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        w = self.weight
        logp = (1 - w) * np.log(np.clip(proba, 1e-12, 1.0)) + w * np.log(
            np.clip(self.prior(embeddings), 1e-12, 1.0)
        )
        e = np.exp(logp - logp.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.asarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def build_prior(cfg: Any = None) -> PrototypePrior | None:
    """From `prototypes:` in conf/model/*.yaml; None when absent or its weight is 0."""
    if not cfg or float(cfg.get("weight", 0.0)) <= 0:
        return None
    return PrototypePrior(
        load_descriptions(cfg["path"]), float(cfg["weight"]), float(cfg["temperature"])
    )
