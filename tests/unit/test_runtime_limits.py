"""The routing use case with a recording classifier: what the model sees, what is kept and
sent, the async queue bound and job ownership (no server, no models)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from smart_support.serving.api_models import TicketIn
from smart_support.serving.model_router import Classified
from smart_support.serving.runtime import NotFound, QueueFull, Runtime
from smart_support.serving.settings import ServeSettings
from smart_support.text import ticket_text
from tests.fakes import FakeClock
from tests.helpers import dedup_reference

PII_SUBJECT = "Rückruf +49 30 12345678, jane.doe@example.com"
PII_BODY = "Karte 4111 1111 1111 1111 wurde doppelt belastet, IBAN DE89370400440532013000."


class Recorder:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.rng = np.random.default_rng(0)

    def classify(self, texts: list[str]) -> list[Classified]:
        self.texts.extend(texts)
        vectors = self.rng.normal(size=(len(texts), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return [Classified("Billing", 0.9, 0.95, "m2", v, "de") for v in vectors]


def alert_titles(built: Runtime) -> list[str]:
    """The titles of the webhook messages waiting in the outbox."""
    return [m.payload["text"] for m in built.store.outbox.claim("test", limit=100)]


@pytest.fixture
def runtime(tmp_path):
    settings = ServeSettings.from_config(
        {
            "store": {"path": str(tmp_path / "state.db")},
            "limits": {"max_queued_jobs": 2},
            "dedup": {"reference": str(dedup_reference())},
        }
    )
    recorder = Recorder()
    built = Runtime.build(settings, recorder.classify, lambda: {}, clock=FakeClock())
    yield built, recorder
    built.close()


def test_the_model_sees_the_original_text_and_the_rest_sees_it_redacted(runtime) -> None:
    built, recorder = runtime
    result = built.service.route([TicketIn(subject=PII_SUBJECT, body=PII_BODY)])[0]
    assert recorder.texts == [ticket_text(PII_SUBJECT, PII_BODY)]  # routing input unchanged
    assert (result["category"], result["urgency_score"]) == ("Billing", 0.95)
    (title,) = alert_titles(built)  # the urgent-ticket alert (S = 0.95 > 0.8), from the outbox
    assert title == "Urgent ticket (S=0.95): Rückruf [phone], [email]"
    with sqlite3.connect(built.settings.store.path) as db:
        stored = db.execute("SELECT subject FROM tickets").fetchall()
    assert stored == [("Rückruf [phone], [email]",)]


def test_an_urgent_ticket_without_a_subject_alerts_with_the_start_of_its_body(runtime) -> None:
    built, recorder = runtime
    built.service.route([TicketIn(subject="  ", body="<p>Alle Server sind down!</p>")])
    assert alert_titles(built) == ["Urgent ticket (S=0.95): Alle Server sind down!"]


def test_the_async_queue_is_bounded_and_frees_as_jobs_finish(runtime) -> None:
    built, _ = runtime
    ticket = TicketIn(subject="Invoice", body="Charged twice.")
    first, _second = built.submit(ticket), built.submit(ticket)
    with pytest.raises(QueueFull) as refused:
        built.submit(ticket)
    assert refused.value.status == 429 and refused.value.retry_after_s > 0
    assert built.worker.run_once()  # one job done: room for one more
    assert built.job(first)["status"] == "done"
    built.submit(ticket)
    assert built.queue_depth() == 2


def test_a_job_is_visible_only_to_the_key_that_submitted_it(runtime) -> None:
    built, _ = runtime
    job_id = built.submit(TicketIn(subject="Invoice", body="Charged twice."), caller="key-a")
    assert built.job(job_id, owner="key-a")["status"] == "queued"
    with pytest.raises(NotFound):
        built.job(job_id, owner="key-b")
    assert built.worker.run_once() and built.job(job_id)["status"] == "done"


def test_unknown_ids_are_not_found(runtime) -> None:
    built, _ = runtime
    for lookup in (built.job, built.incident, built.resolve):
        with pytest.raises(NotFound, match="nope"):
            lookup("nope")


def test_a_confident_but_unfamiliar_ticket_goes_to_review(tmp_path) -> None:
    """The model's out-of-domain check wins over a high confidence; the flag survives the
    classifier service's wire format."""
    from smart_support.serving.vectors import from_wire, to_wire

    def classify(texts: list[str]) -> list[Classified]:
        vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
        made = [
            Classified("Billing", 0.99, 0.1, "m1", vector, "en", familiar=i == 0)
            for i in range(len(texts))
        ]
        return [from_wire(to_wire(c)) for c in made]

    settings = ServeSettings.from_config(
        {
            "store": {"path": str(tmp_path / "state.db")},
            "dedup": {"reference": str(dedup_reference())},
        }
    )
    built = Runtime.build(settings, classify, lambda: {}, clock=FakeClock())
    try:
        tickets = [TicketIn(subject="Invoice", body=f"charged twice {i}") for i in range(2)]
        results = built.service.route(tickets)
    finally:
        built.close()
    assert [r["needs_review"] for r in results] == [False, True]
