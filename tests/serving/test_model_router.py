"""Champion behind the breaker, fallback when open: injected latency and an injected clock."""

from __future__ import annotations

import threading

import pytest

from smart_support.features.embeddings import shared_embedder
from smart_support.routing.breaker import CircuitBreaker
from smart_support.serving.model_router import ModelRouter
from tests.fakes import FakeClock
from tests.helpers import fit, with_embeddings

TEXTS = ["Invoice charged twice, please refund.", "Server down after the update."]


@pytest.fixture(scope="module")
def models(tiny_splits):
    return fit("m2", tiny_splits, slot="m2"), fit("m1", tiny_splits, slot="m1")


def make_router(champion, fallback, clock: FakeClock) -> ModelRouter:
    """Injected delay advances the fake clock instead of sleeping."""
    breaker = CircuitBreaker(
        latency_threshold_s=0.5, slow_calls_to_open=3, cooldown_s=30, clock=clock
    )
    return ModelRouter(
        champion,
        fallback,
        breaker,
        shared_embedder("packaged:all-MiniLM-L6-v2", 128),
        sleep=clock.advance,
        timer=clock.now,
    )


def test_fast_champion_routes_everything(models) -> None:
    router = make_router(*models, FakeClock())
    assert {c.model_used for c in router.classify(TEXTS)} == {"m2"}
    assert router.breaker.state.value == "closed"


def test_slow_champion_opens_the_breaker_then_fallback_routes(models) -> None:
    clock = FakeClock()
    router = make_router(*models, clock)
    router.delay_s = 2.0  # 1 s per ticket: over the 0.5 s budget
    used = [router.classify(TEXTS)[0].model_used for _ in range(4)]
    assert used == ["m2", "m2", "m2", "m1"]
    assert router.breaker.state.value == "open" and router.breaker.trips == 1


def test_breaker_closes_after_cool_down_once_the_delay_is_gone(models) -> None:
    clock = FakeClock()
    router = make_router(*models, clock)
    router.delay_s = 2.0
    for _ in range(3):
        router.classify(TEXTS)
    router.delay_s = 0.0
    assert router.classify(TEXTS)[0].model_used == "m1"  # still cooling down
    clock.advance(31)
    assert router.classify(TEXTS)[0].model_used == "m2"  # half-open probe succeeds
    assert router.breaker.state.value == "closed"


def test_failing_champion_falls_back_without_failing_the_route(models) -> None:
    champion, fallback = models

    class Broken:
        name, labels, needs_embeddings, embedding = "m3", champion.labels, False, None

        def predict(self, texts, embeddings=None):
            raise RuntimeError("model crashed")

    router = make_router(Broken(), fallback, FakeClock())
    assert {c.model_used for c in router.classify(TEXTS)} == {"m1"}


def test_every_ticket_gets_a_unit_dedup_vector(models) -> None:
    vectors = [c.embedding for c in make_router(*models, FakeClock()).classify(TEXTS)]
    assert all(abs(float((v * v).sum()) - 1.0) < 1e-4 for v in vectors)


def test_embedding_champion_reuses_the_dedup_vectors(tiny_splits) -> None:
    splits = {name: with_embeddings(split) for name, split in tiny_splits.items()}
    m3, m1 = fit("m3", splits, slot="m3"), fit("m1", tiny_splits, slot="m1")
    router = make_router(m3, m1, FakeClock())
    calls = []
    original = router.embedder.encode
    router.embedder.encode = lambda texts, **kw: calls.append(len(texts)) or original(texts, **kw)  # type: ignore[method-assign]
    try:
        assert router.classify(TEXTS)[0].model_used == "m3"
    finally:
        router.embedder.encode = original  # type: ignore[method-assign]
    assert calls == [2]  # embedded once, used for classification and dedup


def test_each_ticket_gets_its_detected_language(models) -> None:
    texts = [*TEXTS, "Die Rechnung für März enthält eine doppelte Position, bitte korrigieren."]
    languages = [c.language for c in make_router(*models, FakeClock()).classify(texts)]
    assert languages == ["en", "en", "de"]


class Hanging:
    """Wraps a model; `predict` blocks until released (a hung champion)."""

    def __init__(self, model) -> None:
        self.model = model
        self.name = model.name
        self.needs_embeddings = model.needs_embeddings
        self.embedding = model.embedding
        self.release = threading.Event()

    def predict(self, texts, embeddings=None):
        self.release.wait(30)
        return self.model.predict(texts, embeddings)


def test_a_hung_champion_is_answered_for_by_the_fallback(models, caplog) -> None:
    """The champion never answers (it would, with "m2", after 30 s): each call returns the
    fallback's answer at its deadline, and the hung calls open the breaker."""
    champion, fallback = models
    hung = Hanging(champion)
    breaker = CircuitBreaker(latency_threshold_s=0.05, slow_calls_to_open=3, cooldown_s=30)
    router = ModelRouter(
        hung, fallback, breaker, shared_embedder("packaged:all-MiniLM-L6-v2", 128),
        max_pending_calls=2,
    )  # fmt: skip
    try:
        used = [router.classify(TEXTS[:1])[0].model_used for _ in range(3)]
        assert used == ["m1", "m1", "m1"] and not hung.release.is_set()
        assert breaker.state.value == "open" and breaker.trips == 1
        # only the first call waited for its deadline; while it hangs, later calls go
        # straight to the fallback (each counted by the breaker as slow)
        assert caplog.text.count("no answer for 1 ticket(s)") == 1
    finally:
        hung.release.set()


def test_a_batch_gets_a_deadline_per_ticket() -> None:
    breaker = CircuitBreaker(latency_threshold_s=0.5, batch_ticket_s=0.02, slow_calls_to_open=1)
    assert breaker.deadline_s(1) == 0.5
    assert breaker.deadline_s(101) == pytest.approx(2.5)
    breaker.record(2.4, batch_size=101)  # 24 ms per ticket: within the batch's deadline
    assert breaker.state.value == "closed"
    breaker.record(2.6, batch_size=101)  # a slow batch trips it (it did not before)
    assert breaker.state.value == "open"
