"""Drift of serving traffic from the training reference, over a rolling window of tickets.

Per feature one score: the population stability index (PSI) of the predicted category mix,
the confidence histogram, the language mix and the log-length histogram, and for the
embeddings the centroid shift: the cosine distance between the window's and the reference's
mean vectors, divided by the reference's spread (the mean cosine distance of a reference
ticket to its centroid), so 0.1 reads "the centre moved a tenth of a typical ticket's
distance from it".

`DriftMonitor` keeps the last `window` routed tickets of this process (each service worker
or replica judges the sample of traffic it sees), scores them every `evaluate_every`
tickets once `min_tickets` arrived, and keeps a short history for the dashboard. The state
turns `drifted` when a score crosses its threshold and back to `ok` only when every score is
below `clear_ratio` x its threshold (no flapping); each turn to `drifted` leaves one
`DriftAlert` to send (`take_alert`). Plain Python and numpy; time comes from a clock.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smart_support.clock import Clock
from smart_support.monitoring.reference import (
    DriftReference,
    Histogram,
    binned_shares,
    categorical_shares,
    log_length,
)
from smart_support.serving.settings import DriftSettings

PSI_FEATURES = ("category", "confidence", "language", "length")
EMBEDDING = "embedding"
FEATURES = (*PSI_FEATURES, EMBEDDING)


def psi(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, eps: float
) -> float:
    """Population stability index of two share vectors; `eps` is added to every share (and
    the vectors renormalised) so an empty bin costs a finite amount."""
    p = np.asarray(expected, dtype=np.float64) + eps
    q = np.asarray(actual, dtype=np.float64) + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def centroid_shift(vectors: np.ndarray, centroid: np.ndarray, spread: float) -> float:
    """Cosine distance between the mean of `vectors` and `centroid`, in units of `spread`."""
    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    ref = np.asarray(centroid, dtype=np.float64)
    denominator = float(np.linalg.norm(mean) * np.linalg.norm(ref))
    distance = 1.0 - float(mean @ ref) / denominator if denominator > 0 else 1.0
    return max(0.0, distance) / max(spread, 1e-9)


@dataclass(frozen=True)
class DriftObservation:
    """What the monitor keeps of one routed ticket."""

    category: str
    confidence: float
    language: str
    length: int  # characters of the model input
    embedding: np.ndarray | None = None  # the unit vector dedup used


@dataclass(frozen=True)
class DriftAlert:
    """A turn to `drifted`: the features over their threshold and every score then."""

    features: tuple[str, ...]
    scores: dict[str, float]
    thresholds: dict[str, float]
    window_start: float  # arrival time of the window's oldest ticket
    tickets: int
    at: float


class DriftMonitor:
    def __init__(
        self, reference: DriftReference | None, config: DriftSettings, clock: Clock
    ) -> None:
        self.reference = reference
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[tuple[float, DriftObservation]] = deque(maxlen=config.window)
        self._since_evaluation = 0
        self._scores: dict[str, float] = {}
        self._state = "disabled" if reference is None else "warming_up"
        self._changed_at: float | None = None
        self._history: deque[dict[str, Any]] = deque(maxlen=config.history_points)
        self._alert: DriftAlert | None = None
        self.alerts_raised = 0
        if reference is not None:
            self._centroid = (
                np.asarray(reference.embedding.centroid, dtype=np.float64)
                if reference.embedding
                else None
            )

    @property
    def enabled(self) -> bool:
        return self.reference is not None

    @property
    def state(self) -> str:
        return self._state

    def observe(self, observations: Sequence[DriftObservation]) -> None:
        """Add routed tickets; score the window when `evaluate_every` more arrived."""
        if self.reference is None or not observations:
            return
        now = self._clock.now()
        with self._lock:
            for observation in observations:
                self._window.append((now, observation))
            self._since_evaluation += len(observations)
            if len(self._window) < self.config.min_tickets:
                return
            if self._state != "warming_up" and self._since_evaluation < self.config.evaluate_every:
                return
            self._since_evaluation = 0
            self._evaluate(now)

    def _evaluate(self, now: float) -> None:
        self._scores = self.scores()
        over = tuple(f for f, s in self._scores.items() if s > self.config.threshold(f))
        if over and self._state != "drifted":
            self._turn("drifted", now)
            self._alert = DriftAlert(
                over,
                dict(self._scores),
                {f: self.config.threshold(f) for f in self._scores},
                self._window[0][0],
                len(self._window),
                now,
            )
            self.alerts_raised += 1
        elif (
            self._state == "drifted"
            and all(
                s < self.config.clear_ratio * self.config.threshold(f)
                for f, s in self._scores.items()
            )
            or self._state == "warming_up"
        ):
            self._turn("ok", now)
        self._history.append({"t": now, "state": self._state, "scores": dict(self._scores)})

    def _turn(self, state: str, now: float) -> None:
        self._state, self._changed_at = state, now

    def scores(self) -> dict[str, float]:
        """Every feature's score over the current window (call with the lock held)."""
        reference = self.reference
        assert reference is not None
        rows = [o for _, o in self._window]
        eps = self.config.epsilon
        scores = {
            "category": _psi_labels(reference.category, [o.category for o in rows], eps),
            "confidence": _psi_edges(reference.confidence, [o.confidence for o in rows], eps),
            "language": _psi_labels(reference.language, [o.language for o in rows], eps),
            "length": _psi_edges(reference.length, log_length([o.length for o in rows]), eps),
        }
        vectors = [o.embedding for o in rows if o.embedding is not None]
        if self._centroid is not None and reference.embedding and vectors:
            scores[EMBEDDING] = centroid_shift(
                np.stack(vectors), self._centroid, reference.embedding.spread
            )
        return {f: round(s, 5) if math.isfinite(s) else s for f, s in scores.items()}

    def take_alert(self) -> DriftAlert | None:
        """The alert of the last turn to `drifted`, once (the caller stores its message)."""
        with self._lock:
            alert, self._alert = self._alert, None
        return alert

    def restore_alert(self, alert: DriftAlert) -> None:
        """An alert whose message could not be stored: offered again by the next take."""
        with self._lock:
            self._alert = self._alert or alert

    def status(self) -> dict[str, Any]:
        """The `drift` section of /health."""
        reference = self.reference
        with self._lock:
            window_start = self._window[0][0] if self._window else None
            return {
                "status": self._state,
                "scores": dict(self._scores),
                "threshold": {
                    "psi": self.config.psi_threshold,
                    EMBEDDING: self.config.embedding_threshold,
                },
                "window": {
                    "size": self.config.window,
                    "tickets": len(self._window),
                    "min_tickets": self.config.min_tickets,
                    "since": window_start,
                },
                "since": self._changed_at,
                "scope": "worker",
                "reference": None
                if reference is None
                else {"tickets": reference.tickets, **reference.source},
            }

    def history(self) -> dict[str, Any]:
        """GET /drift: the status and every score over time (oldest first)."""
        with self._lock:
            points = list(self._history)
        return {**self.status(), "features": list(FEATURES), "history": points}


def _psi_labels(reference: Histogram, values: Sequence[str], eps: float) -> float:
    return psi(reference.shares, categorical_shares(values, reference.labels), eps)


def _psi_edges(reference: Histogram, values: Sequence[float] | np.ndarray, eps: float) -> float:
    return psi(reference.shares, binned_shares(values, reference.edges), eps)
