"""Idempotency-Key on routing, below HTTP: a retry takes no second agent slot even when the
first attempt crashed before its answer was kept, or when both run at once (each backend)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from smart_support.serving.api_models import TicketIn
from smart_support.serving.idempotency import derived_id
from smart_support.serving.model_router import Classified
from smart_support.serving.runtime import Runtime
from smart_support.serving.settings import ServeSettings, StoreSettings
from tests.fakes import FakeClock
from tests.unit.test_store import AGENTS, DEDUP, vector

TICKET = TicketIn(subject="Refund missing", body="The refund for order 88 never arrived.")


def classify(texts: list[str]) -> list[Classified]:
    return [Classified("Billing", 0.9, 0.3, "m2", vector(i), "en") for i, _ in enumerate(texts)]


@pytest.fixture
def runtime(store_url: str) -> Iterator[Runtime]:
    settings = ServeSettings(agents=AGENTS, dedup=DEDUP, store=StoreSettings(url=store_url))
    runtime = Runtime.build(settings, classify, dict, FakeClock())
    runtime.store.database.ensure_schema()
    yield runtime
    runtime.close()


def _open_tickets(runtime: Runtime) -> int:
    return sum(a.load for a in runtime.store.workload.agent_loads()) + (
        runtime.store.workload.waiting_count()
    )


def test_a_retry_after_a_crash_before_the_answer_was_kept_takes_no_second_slot(
    runtime: Runtime,
) -> None:
    ticket_id = derived_id("route:anonymous", "k1")
    runtime.service.route([TICKET], [ticket_id])  # the first attempt, then the process died
    answer = runtime.route_one(TICKET, "k1")
    assert answer["ticket_id"] == ticket_id
    assert _open_tickets(runtime) == 1


def test_concurrent_requests_with_one_key_route_one_ticket(runtime: Runtime) -> None:
    answers: list[dict] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        answers.append(runtime.route_one(TICKET, "k2"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 4 and all(a == answers[0] for a in answers)
    assert _open_tickets(runtime) == 1


def test_keys_of_different_callers_do_not_collide(runtime: Runtime) -> None:
    first = runtime.route_one(TICKET, "same", caller="client-a")
    second = runtime.route_one(TICKET, "same", caller="client-b")
    assert first["ticket_id"] != second["ticket_id"]
    assert _open_tickets(runtime) == 2
