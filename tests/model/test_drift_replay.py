"""Drift on real tickets, through the routing service (store, outbox, /health's section).

The reference is what the `drift_reference` stage computes (a champion and the served dedup
encoder on the validation split of the shared sample); the test split replayed in random order
must stay `ok`, a German-only stream must turn it `drifted` with exactly one webhook message.
Skipped without the shared sample; CI (SMART_SUPPORT_REQUIRE_DATA=1) fails instead.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from smart_support.config import compose_config
from smart_support.monitoring.champion_reference import model_reference, served_view
from smart_support.monitoring.reference import save_reference
from smart_support.serving.api_models import TicketIn
from smart_support.serving.bento_models import dedup_encoder
from smart_support.serving.model_router import Classified
from smart_support.serving.runtime import Runtime
from smart_support.serving.settings import ServeSettings, StoreSettings
from smart_support.text import ticket_text, visible_text
from tests.fakes import FakeClock
from tests.helpers import splits_from

BATCH = 50


@pytest.fixture(scope="module")
def replay(real_sample, real_m2, tmp_path_factory) -> dict:
    """The reference file, the test split's tickets and what the service would classify."""
    from smart_support.data.sources import load_tickets

    splits = splits_from(load_tickets(str(real_sample)))
    serve = ServeSettings.from_config(compose_config().serve)
    encoder = dedup_encoder(serve)
    path = tmp_path_factory.mktemp("drift") / "drift_reference.json"
    save_reference(model_reference(real_m2, encoder, splits["val"].texts, {"split": "val"}), path)
    frame = splits["test"].frame
    tickets = [
        TicketIn(subject=s, body=b)
        for s, b in zip(frame["subject"], frame["body"], strict=True)
        if visible_text(b)
    ]
    texts = [ticket_text(t.subject, t.body) for t in tickets]
    view = served_view(real_m2, encoder, texts)
    classified = {
        text: Classified(c, float(p), 0.2, real_m2.name, v, lang)
        for text, c, p, lang, v in zip(
            texts, view.categories, view.confidences, view.languages, view.vectors, strict=True
        )
    }
    return {"reference": path, "tickets": tickets, "texts": texts, "classified": classified}


@pytest.fixture
def runtime(replay, burst_settings, tmp_path) -> Iterator[Runtime]:
    settings = ServeSettings(
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'state.db'}"),
        drift={"reference": str(replay["reference"])},
        dedup=burst_settings,  # the served dedup rule, its reference built from the sample
    )

    def classify(texts: list[str]) -> list[Classified]:
        return [replay["classified"][t] for t in texts]

    runtime = Runtime.build(settings, classify, dict, FakeClock())
    runtime.store.database.ensure_schema()
    yield runtime
    runtime.close()


def route_all(runtime: Runtime, tickets: list[TicketIn]) -> None:
    for start in range(0, len(tickets), BATCH):
        runtime.service.route(tickets[start : start + BATCH])


def drift_messages(runtime: Runtime) -> list[dict]:
    return [m for m in runtime.store.outbox.messages() if m["kind"] == "drift"]


def test_the_test_split_stays_ok_and_a_german_only_stream_drifts_once(replay, runtime) -> None:
    tickets = list(replay["tickets"])
    random.Random(7).shuffle(tickets)
    route_all(runtime, tickets)
    drift = runtime.health()["drift"]
    assert drift["status"] == "ok", drift
    assert drift["window"]["tickets"] == runtime.settings.drift.window
    assert max(drift["scores"].values()) < runtime.settings.drift.psi_threshold / 2, drift
    assert drift_messages(runtime) == []

    language = {t: c.language for t, c in replay["classified"].items()}
    german = [
        t
        for t, text in zip(replay["tickets"], replay["texts"], strict=True)
        if language[text] == "de"
    ]
    assert len(german) > runtime.settings.drift.window
    route_all(runtime, german)
    drift = runtime.health()["drift"]
    assert drift["status"] == "drifted", drift
    assert drift["scores"]["language"] > runtime.settings.drift.psi_threshold
    assert len(drift_messages(runtime)) == 1  # one turn, one message
    assert drift_messages(runtime)[0]["message_id"].startswith("drift:")
