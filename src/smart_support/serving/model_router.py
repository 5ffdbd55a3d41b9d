"""Classify tickets with the champion behind a circuit breaker, the fallback when it is open.

Each ticket is embedded once: when the champion classifies sentence embeddings with the same
encoder as dedup, the same vectors serve both. The ticket's language is detected here too, on
the thread that is not busy with the dedup embedding.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
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
    model_version: str = ""  # the registry version of the model that answered
    # False when the ticket is unlike every training ticket (the model's NoveltyGate): review.
    familiar: bool = True


@dataclass
class _ChampionCall:
    size: int  # tickets
    started: float  # by the injected timer (the latency the breaker judges)
    started_monotonic: float  # real time (how long to wait)
    future: Future[tuple[Prediction, float]] = field(default_factory=Future)


@dataclass
class ModelInfo:
    milestone: str
    version: str
    source: str
    # False when register made it champion without passing the behavioural floor (an empty
    # registry: the best on validation, so the service can start).
    behaviour_floor_passed: bool = True
    labels: list[str] = field(default_factory=list)  # the categories it predicts


class ModelRouter:
    """Champion (primary) → fallback switch; `delay_s` injects latency for fault tests.

    The champion runs on its own threads and is waited for only until the breaker's deadline:
    a slow or hung champion costs a request at most that long, then the fallback answers (and
    the call counts towards opening the breaker). While a call is past its deadline and still
    running, new calls do not wait for the champion at all: the fallback answers at once and
    each counts as slow, so a hung champion opens the breaker after one deadline, not
    `slow_calls_to_open` of them in a row (BentoML's batcher runs those one after another).
    At most `max_pending_calls` champion calls run at once.
    """

    def __init__(
        self,
        champion: RouterModel,
        fallback: RouterModel,
        breaker: CircuitBreaker,
        dedup_embedder: Embedder,
        info: dict[str, ModelInfo] | None = None,
        sleep: Callable[[float], None] | None = None,
        timer: Callable[[], float] = time.perf_counter,
        max_pending_calls: int = 8,
    ) -> None:
        self.champion = champion
        self.fallback = fallback
        self.breaker = breaker
        self.embedder = dedup_embedder
        self.info = info or {}
        self._delay_s = 0.0
        self._fault_cleared = threading.Event()
        self._sleep = sleep or self._injected_wait
        self._timer = timer
        self._shared_vectors = same_encoder(champion, dedup_embedder)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prediction")
        self._champion_pool = ThreadPoolExecutor(max_pending_calls, thread_name_prefix="champion")
        self._free_slots = threading.BoundedSemaphore(max_pending_calls)
        self._overdue = 0  # champion calls past their deadline and still running
        self._overdue_lock = threading.Lock()

    @property
    def delay_s(self) -> float:
        return self._delay_s

    @delay_s.setter
    def delay_s(self, seconds: float) -> None:
        """Injected champion latency; clearing it also wakes the calls still sleeping."""
        self._delay_s = seconds
        if seconds <= 0:
            self._fault_cleared.set()
            self._fault_cleared = threading.Event()

    def _injected_wait(self, seconds: float) -> None:
        self._fault_cleared.wait(seconds)

    def classify(self, texts: Sequence[str]) -> list[Classified]:
        texts = list(texts)
        if not texts:
            return []
        if self._shared_vectors:
            vectors = self.embedder.encode(texts)
            prediction, used = self._predict(texts, vectors)
            languages = _languages(texts)
        else:
            # Independent: the champion (its own threads) and the languages (the pool; Python,
            # holding the GIL) run while this thread embeds; ONNX Runtime releases the GIL once
            # its run starts. (The other way round, the encoder's thread waits for the GIL.)
            call = self._start_champion(texts, None)
            pending_languages = self._pool.submit(_languages, texts)
            vectors = self.embedder.encode(texts)
            prediction, used = self._finish(call, texts)
            languages = pending_languages.result()
        version = self._version(used)
        return [
            Classified(
                category=prediction.categories[i],
                confidence=float(prediction.confidences[i]),
                urgency=float(prediction.urgency[i]),
                model_used=used,
                embedding=vectors[i],
                language=languages[i],
                model_version=version,
                familiar=True if prediction.familiar is None else bool(prediction.familiar[i]),
            )
            for i in range(len(texts))
        ]

    def _version(self, used: str) -> str:
        """The registry version of the model named `used` (champion's or fallback's)."""
        role = "champion" if used == self.champion.name else "fallback"
        info = self.info.get(role)
        return info.version if info is not None else ""

    def _predict(self, texts: list[str], embeddings: np.ndarray | None) -> tuple[Prediction, str]:
        return self._finish(self._start_champion(texts, embeddings), texts)

    def _start_champion(
        self, texts: list[str], embeddings: np.ndarray | None
    ) -> _ChampionCall | None:
        """The champion's call, started on its threads; None when the breaker is open or every
        champion thread is taken (which the breaker counts as a slow call)."""
        if not self.breaker.allow_primary():
            return None
        n = len(texts)
        if self._overdue:  # a call already hangs: this one would only wait its deadline too
            self.breaker.record(self.breaker.deadline_s(n), failed=True, batch_size=n)
            return None
        if not self._free_slots.acquire(blocking=False):
            log.warning("champion %s: every call slot is busy; fallback", self.champion.name)
            self.breaker.record(self.breaker.deadline_s(n), failed=True, batch_size=n)
            return None
        call = _ChampionCall(n, self._timer(), time.monotonic())
        try:
            call.future = self._champion_pool.submit(self._run_champion, texts, embeddings)
        except RuntimeError:  # the pool is shut down (the worker is stopping)
            self._free_slots.release()
            raise
        call.future.add_done_callback(lambda _: self._free_slots.release())
        return call

    def _finish(self, call: _ChampionCall | None, texts: list[str]) -> tuple[Prediction, str]:
        prediction = self._champion_result(call) if call is not None else None
        if prediction is not None:
            return prediction, self.champion.name
        return self.fallback.predict(texts), self.fallback.name

    def _champion_result(self, call: _ChampionCall) -> Prediction | None:
        """The champion's prediction if it arrives by the deadline (real time from its start);
        None when it failed or was late, each counted by the breaker as a slow call."""
        deadline = self.breaker.deadline_s(call.size)
        remaining = max(0.0, deadline - (time.monotonic() - call.started_monotonic))
        try:
            prediction, took = call.future.result(timeout=remaining)
        except FutureTimeout:
            self._mark_overdue(call.future)
            log.warning(
                "champion %s: no answer for %d ticket(s) within %.0f ms; fallback",
                self.champion.name,
                call.size,
                deadline * 1000,
            )
            self.breaker.record(self._timer() - call.started, failed=True, batch_size=call.size)
            return None
        except Exception:  # noqa: BLE001 - a failing champion must not fail the route
            log.exception("champion %s failed; routing by the fallback", self.champion.name)
            self.breaker.record(self._timer() - call.started, failed=True, batch_size=call.size)
            return None
        self.breaker.record(took, batch_size=call.size)  # its own time, not the wait's
        return prediction

    def _mark_overdue(self, future: Future[tuple[Prediction, float]]) -> None:
        """Until this call ends, new calls go to the fallback at once (and count as slow)."""
        with self._overdue_lock:
            self._overdue += 1

        def done(_: object) -> None:
            with self._overdue_lock:
                self._overdue -= 1

        future.add_done_callback(done)

    def _run_champion(
        self, texts: list[str], embeddings: np.ndarray | None
    ) -> tuple[Prediction, float]:
        """The prediction and how long it took (the injected delay included)."""
        start = self._timer()
        if self.delay_s > 0:
            self._sleep(self.delay_s)
        return self.champion.predict(texts, embeddings), self._timer() - start

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


def same_encoder(model: RouterModel, embedder: Embedder) -> bool:
    """The model was trained on the vectors dedup computes (same model, length and backend)."""
    cfg = model.embedding or {}
    return (
        model.needs_embeddings
        and str(cfg.get("model", PACKAGED_MODEL)) == embedder.model_name
        and int(cfg.get("max_seq_length", 128)) == embedder.max_seq_length
        and str(cfg.get("backend", "torch")) == embedder.backend
    )
